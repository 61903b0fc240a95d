#!/usr/bin/env bash
# Smoke run of the throughput benchmark (docs/benchmarks/throughput.md) at a tiny batch, so the runner, its child
# processes and the results table keep working: one step of each of our configurations and of the plain TorchSharp
# loop, plus eager PyTorch when the interpreter in $PYTHON (default python3) has torch, in lockstep (the default: one
# step of each process in turn) and once more round by round (--lockstep false). Times are not checked here.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
configs="plain-lora,ours-lora,ours-qlora:dq,ours-full,ours-lora:tune=true,ours-lora:ckpt,ours-lora:glibc,ours-lora:profile"
if "$python" -c "import torch" 2>/dev/null; then configs="pytorch-lora,$configs"; fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
dotnet run -c Release --project benchmarks/FineTuning.Benchmarks -- throughput --configs "$configs" \
  --batch 1 --seq 16 --steps 2 --warmup 0 --rounds 1 --threads 1 --python "$python" --out "$out"
# Every configuration must have a row with its median step time.
IFS=',' read -ra names <<< "$configs"
for name in "${names[@]}"; do
  if ! grep -E "^\| ${name} \| [0-9]+\.[0-9]+ s \|" "$out" > /dev/null; then
    echo "no result row for $name in:" >&2
    cat "$out" >&2
    exit 1
  fi
done
# Lockstep runs also print the paired ratios against the plain loop.
if ! grep -E "^\| ours-lora \| plain-lora \| 2 \| [0-9]+\.[0-9]+x \|" "$out" > /dev/null; then
  echo "no paired ratio row for ours-lora in:" >&2
  cat "$out" >&2
  exit 1
fi
dotnet run -c Release --project benchmarks/FineTuning.Benchmarks --no-build -- throughput --configs plain-lora,ours-lora \
  --batch 1 --seq 16 --steps 1 --warmup 0 --rounds 1 --threads 1 --lockstep false --out "$out"
grep -E "^\| ours-lora \| [0-9]+\.[0-9]+ s \|" "$out" > /dev/null || { echo "no result row for ours-lora (--lockstep false) in:" >&2; cat "$out" >&2; exit 1; }
echo "throughput benchmark smoke run: ${#names[@]} configurations measured"
