#!/usr/bin/env bash
# Runs examples/06-ServeAnywhere: LoRA on stories260K, merge_and_unload, an HF folder reloaded to the same greedy answer,
# GGUF F16 and Q8_0 run by llama.cpp (LLamaSharp) beside our generator, and the IChatClient. The program exits non-zero
# unless the merged, reloaded and F16-GGUF answers equal the adapter model's. Needs FINETUNING_MODELS_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${FINETUNING_MODELS_DIR:-}" ]; then
  echo "FINETUNING_MODELS_DIR is not set: the serve-anywhere example needs stories260K." >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet run --project examples/06-ServeAnywhere -c Release -- "$out/stories260K-merged"
