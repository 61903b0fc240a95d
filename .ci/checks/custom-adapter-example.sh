#!/usr/bin/env bash
# Runs examples/07-CustomAdapter: a custom adapter written against FineTuning.Core alone trains on stories260K, saves
# through AdapterFiles and reloads onto a fresh base; the program exits non-zero unless the loss fell and the reloaded
# model's logits are identical. Needs FINETUNING_MODELS_DIR (.ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${FINETUNING_MODELS_DIR:-}" ]; then
  echo "FINETUNING_MODELS_DIR is not set: the custom-adapter example needs stories260K." >&2
  exit 1
fi
dotnet run --project examples/07-CustomAdapter -c Release
