#!/usr/bin/env bash
# Smoke run of the throughput benchmark (docs/benchmarks/throughput.md) at a tiny batch, so the runner, its child
# processes and the results table keep working: one step of each of our configurations and of the plain TorchSharp
# loop, plus eager PyTorch when the interpreter in $PYTHON (default python3) has torch. Times are not checked here.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
configs="plain-lora,ours-lora,ours-qlora:dq,ours-full,ours-lora:tune=true,ours-lora:ckpt,ours-lora:glibc,ours-lora:profile"
if "$python" -c "import torch" 2>/dev/null; then configs="pytorch-lora,$configs"; fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
dotnet run -c Release --project benchmarks/FineTuning.Benchmarks -- throughput --configs "$configs" \
  --batch 1 --seq 16 --steps 1 --warmup 0 --rounds 1 --threads 1 --python "$python" --out "$out"
# Every configuration must have a row with its median step time.
IFS=',' read -ra names <<< "$configs"
for name in "${names[@]}"; do
  if ! grep -E "^\| ${name} \| [0-9]+\.[0-9]+ s \|" "$out" > /dev/null; then
    echo "no result row for $name in:" >&2
    cat "$out" >&2
    exit 1
  fi
done
echo "throughput benchmark smoke run: ${#names[@]} configurations measured"
