#!/usr/bin/env python3
"""The throughput benchmark's eager PyTorch step (docs/benchmarks/throughput.md).

The same LLaMA-shaped model, batch and step as benchmarks/FineTuning.Benchmarks/Throughput: RMSNorm, rotary
embeddings, causal attention, SwiGLU MLP, LoRA (r=16, alpha=32) on the seven projections of every layer or full
fine-tuning, cross-entropy of the next token, gradient clipping at 1.0, AdamW. Written for Debian's python3-torch
(PyTorch 1.13: no scaled_dot_product_attention, so attention is the explicit masked softmax). Prints one RESULT line.
"""
import argparse
import sys
import math
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn


class Projection(nn.Module):
    def __init__(self, inp, out, rank):
        super().__init__()
        self.linear = nn.Linear(inp, out, bias=False)
        self.rank = rank
        if rank > 0:
            self.lora_A = nn.Parameter(torch.randn(rank, inp) / math.sqrt(inp))
            self.lora_B = nn.Parameter(torch.zeros(out, rank))
            self.scale = 2.0  # alpha 32 / r 16

    def forward(self, x):
        y = self.linear(x)
        if self.rank > 0:
            y = y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale
        return y


def rms(x, weight):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * weight


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Layer(nn.Module):
    def __init__(self, hidden, heads, inter, rank):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (Projection(hidden, hidden, rank) for _ in range(4))
        self.gate = Projection(hidden, inter, rank)
        self.up = Projection(hidden, inter, rank)
        self.down = Projection(inter, hidden, rank)
        self.norm1 = nn.Parameter(torch.ones(hidden))
        self.norm2 = nn.Parameter(torch.ones(hidden))

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        a = rms(x, self.norm1)
        split = lambda p: p(a).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = rope(split(self.q), cos, sin), rope(split(self.k), cos, sin), split(self.v)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        att = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(b, t, d))
        m = rms(x, self.norm2)
        return x + self.down(F.silu(self.gate(m)) * self.up(m))


class Llama(nn.Module):
    def __init__(self, a, rank):
        super().__init__()
        self.embed = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Layer(a.hidden, a.heads, a.intermediate, rank) for _ in range(a.layers))
        self.norm = nn.Parameter(torch.ones(a.hidden))
        self.head = nn.Linear(a.hidden, a.vocab, bias=False)
        head_dim = a.hidden // a.heads
        inv = 10000.0 ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv)
        emb = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)
        self.register_buffer("mask", torch.ones(a.seq, a.seq, dtype=torch.bool).triu(1), persistent=False)
        if rank > 0:
            for name, p in self.named_parameters():
                p.requires_grad = "lora_" in name

    def forward(self, ids):
        h = self.embed(ids)
        cos, sin = self.cos.to(h.dtype), self.sin.to(h.dtype)
        for layer in self.layers:
            h = layer(h, cos, sin, self.mask)
        return self.head(rms(h, self.norm))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", default="pytorch-lora")
    p.add_argument("--adapter", choices=["lora", "full"], default="lora")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--lockstep", action="store_true", help="print WAIT and read a line before each step, STEP <seconds> after it")
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--intermediate", type=int, default=1376)
    p.add_argument("--vocab", type=int, default=8000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1234)
    model = Llama(a, 16 if a.adapter == "lora" else 0)
    if a.bf16:
        model = model.to(torch.bfloat16)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.0)
    generator = torch.Generator().manual_seed(7)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=generator)
    times = []
    for _ in range(a.warmup + a.steps):
        if a.lockstep:
            print("WAIT", flush=True)
            if not sys.stdin.readline():
                raise SystemExit("lockstep: the parent closed standard input")
        start = time.perf_counter()
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        del logits, loss
        times.append(time.perf_counter() - start)
        if a.lockstep:
            print(f"STEP {times[-1]!r}", flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    seconds = ",".join(repr(t) for t in times[a.warmup:])
    print(f"RESULT {a.name} peak_rss_mib={peak_mib:.0f} step_seconds={seconds}", flush=True)


if __name__ == "__main__":
    main()
