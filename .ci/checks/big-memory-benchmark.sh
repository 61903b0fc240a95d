#!/usr/bin/env bash
# Smoke run of the QLoRA benchmarks (docs/benchmarks/qlora-memory.md) on a 1-layer model, so the big-memory runner (each
# configuration built in its own child process, meta device then materialised) and the per-layer profile keep working.
# Memory and times are not checked here.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
dotnet build -c Release benchmarks/FineTuning.Benchmarks > /dev/null
dotnet run -c Release --no-build --project benchmarks/FineTuning.Benchmarks -- big-memory --layers 1 --vocab 512 --seq 16 --steps 1 --warmup 0 --threads 1 \
  --configs lora,lora-bf16,qlora,qlora-dq,qlora-head,qlora-from-fp32,qlora:glibc,qlora-head:mmap=1024,qlora-from-fp32:lowmem=1024,qlora-embed:early=1024,lora-load,qlora-embed-load:early=1024 --phases --out "$out"
for name in lora lora-bf16 qlora qlora-dq qlora-head qlora-from-fp32 qlora:glibc qlora-head:mmap=1024 qlora-from-fp32:lowmem=1024 qlora-embed:early=1024 lora-load qlora-embed-load:early=1024; do
  if ! grep -E "^\| ${name} \| [0-9]+ MiB \|" "$out" > /dev/null; then
    echo "no result row for $name in:" >&2
    cat "$out" >&2
    exit 1
  fi
done
profile="$(dotnet run -c Release --no-build --project benchmarks/FineTuning.Benchmarks -- qlora-profile --tokens 16 --rounds 1 --threads 1)"
if ! grep -E "qlinear fwd\+bwd +[0-9.]+ ms" <<< "$profile" > /dev/null; then
  echo "no qlinear timing in the profile output:" >&2
  echo "$profile" >&2
  exit 1
fi
echo "QLoRA benchmark smoke run: 12 configurations and the profile measured"
