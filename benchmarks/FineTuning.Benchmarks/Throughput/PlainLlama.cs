using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks.Throughput;

/// <summary>
/// The baseline: the same LLaMA step written directly in TorchSharp, as a developer would without this library
/// (TorchSharp modules, <c>scaled_dot_product_attention</c>, <c>torch.optim.AdamW</c>, one dispose scope per step).
/// With <c>rank</c> > 0 every projection gets a LoRA pair (A, B) and only those train.
/// </summary>
internal sealed class PlainLlama : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<PlainLayer> layers = new();
    private readonly Parameter norm;
    private readonly Linear head;
    private readonly Tensor cos;
    private readonly Tensor sin;

    public PlainLlama(ThroughputShape shape, int rank)
        : base(nameof(PlainLlama))
    {
        embed = nn.Embedding(shape.Vocab, shape.Hidden);
        for (int i = 0; i < shape.Layers; i++) layers.Add(new PlainLayer(shape, rank));
        norm = nn.Parameter(torch.ones(shape.Hidden));
        head = nn.Linear(shape.Hidden, shape.Vocab, hasBias: false);
        int headDim = shape.Hidden / shape.Heads;
        Tensor inv = torch.pow(10000.0, -torch.arange(0, headDim, 2, dtype: ScalarType.Float32) / headDim);
        Tensor angles = torch.outer(torch.arange(shape.Sequence, dtype: ScalarType.Float32), inv);
        Tensor emb = torch.cat(new[] { angles, angles }, -1);
        cos = emb.cos().DetachFromDisposeScope();
        sin = emb.sin().DetachFromDisposeScope();
        RegisterComponents();
        if (rank > 0)
        {
            foreach ((string name, Parameter p) in named_parameters()) p.requires_grad = name.Contains("lora_", StringComparison.Ordinal);
        }
    }

    public override Tensor forward(Tensor input)
    {
        Tensor h = embed.call(input);
        foreach (PlainLayer layer in layers) h = layer.Forward(h, cos, sin);
        return head.call(Rms(h, norm));
    }

    internal static Tensor Rms(Tensor x, Tensor weight) => x * torch.rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-6) * weight;

    private sealed class PlainLayer : nn.Module
    {
        private readonly Projection q, k, v, o, gate, up, down;
        private readonly Parameter norm1, norm2;
        private readonly int heads;

        public PlainLayer(ThroughputShape shape, int rank)
            : base(nameof(PlainLayer))
        {
            heads = shape.Heads;
            q = new Projection(shape.Hidden, shape.Hidden, rank);
            k = new Projection(shape.Hidden, shape.Hidden, rank);
            v = new Projection(shape.Hidden, shape.Hidden, rank);
            o = new Projection(shape.Hidden, shape.Hidden, rank);
            gate = new Projection(shape.Hidden, shape.Intermediate, rank);
            up = new Projection(shape.Hidden, shape.Intermediate, rank);
            down = new Projection(shape.Intermediate, shape.Hidden, rank);
            norm1 = nn.Parameter(torch.ones(shape.Hidden));
            norm2 = nn.Parameter(torch.ones(shape.Hidden));
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin)
        {
            long b = x.shape[0], t = x.shape[1], d = x.shape[2];
            Tensor a = Rms(x, norm1);
            Tensor Heads(Projection p) => p.call(a).view(b, t, heads, d / heads).transpose(1, 2);
            Tensor qh = Rope(Heads(q), cos, sin), kh = Rope(Heads(k), cos, sin), vh = Heads(v);
            Tensor att = nn.functional.scaled_dot_product_attention(qh, kh, vh, is_casual: true);
            x = x + o.call(att.transpose(1, 2).reshape(b, t, d));
            Tensor m = Rms(x, norm2);
            return x + down.call(nn.functional.silu(gate.call(m)) * up.call(m));
        }

        private static Tensor Rope(Tensor x, Tensor cos, Tensor sin)
        {
            long half = x.shape[^1] / 2;
            Tensor rotated = torch.cat(new[] { -x.narrow(-1, half, half), x.narrow(-1, 0, half) }, -1);
            return (x * cos) + (rotated * sin);
        }
    }

    /// <summary>A linear layer without bias, plus <c>B(A(x)) * alpha / r</c> when rank > 0 (B starts at zero, as LoRA).</summary>
    private sealed class Projection : nn.Module<Tensor, Tensor>
    {
        private readonly Linear linear;
        private readonly Parameter? lora_A;
        private readonly Parameter? lora_B;
        private readonly double scale;

        public Projection(int input, int output, int rank)
            : base(nameof(Projection))
        {
            linear = nn.Linear(input, output, hasBias: false);
            if (rank > 0)
            {
                lora_A = nn.Parameter(torch.randn(rank, input) * (1.0 / Math.Sqrt(input)));
                lora_B = nn.Parameter(torch.zeros(output, rank));
                scale = 2.0; // alpha 32 / r 16
            }

            RegisterComponents();
        }

        public override Tensor forward(Tensor x) =>
            lora_A is null ? linear.call(x) : linear.call(x) + (nn.functional.linear(nn.functional.linear(x, lora_A), lora_B!) * scale);
    }

    /// <summary>The trainable parameters (the LoRA factors, or everything).</summary>
    public IList<Parameter> Trainable()
    {
        var list = new List<Parameter>();
        foreach (Parameter p in parameters()) if (p.requires_grad) list.Add(p);
        return list;
    }
}
