#!/usr/bin/env bash
# Notebook check: executes every examples/notebooks/*.ipynb (or the notebooks given as arguments) headlessly with
# Jupyter's nbconvert and the .NET Interactive kernel, against the library packages packed to a local feed (each
# notebook's `#i "nuget: .../artifacts/feed"`), and fails when a cell fails. No MSBuild target runs in a notebook, so
# this also proves the runtime native-load path (FineTuningRuntime). Installs what it needs when missing: Debian's jupyter-nbconvert and python3-ipykernel (apt) and
# the Microsoft.dotnet-interactive tool 1.0.712001 (NuGet) into a per-user tool folder. Bounded: 10 minutes a notebook.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
interactive_version=1.0.712001
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "${FINETUNING_MODELS_DIR:-}" ] || [ ! -f "$FINETUNING_MODELS_DIR/stories260K/stories260K.bin" ]; then
  echo "notebooks: FINETUNING_MODELS_DIR must name the folder holding stories260K/ (the notebooks load it)" >&2
  exit 1
fi

# 1. Jupyter (Debian's packages; the system python3, whatever python3 is first on PATH).
if ! command -v jupyter-nbconvert >/dev/null 2>&1 || ! /usr/bin/python3 -c 'import ipykernel' >/dev/null 2>&1; then
  echo "notebooks: installing jupyter-nbconvert and python3-ipykernel"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jupyter-nbconvert python3-ipykernel >"$work/apt.log" 2>&1; then
    apt-get update -qq >"$work/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jupyter-nbconvert python3-ipykernel >>"$work/apt.log" 2>&1 ||
      { cat "$work/apt.log"; echo "notebooks: could not install Jupyter" >&2; exit 1; }
  fi
fi

# 2. The .NET Interactive kernel, as a tool in a per-user folder (kept between runs), its kernel specs in this run's folder.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/finetuning/tools/dotnet-interactive-$interactive_version"
if [ ! -x "$tools/dotnet-interactive" ]; then
  echo "notebooks: installing Microsoft.dotnet-interactive $interactive_version"
  dotnet tool install Microsoft.dotnet-interactive --version "$interactive_version" --tool-path "$tools" >"$work/tool.log" 2>&1 ||
    { cat "$work/tool.log"; echo "notebooks: could not install dotnet-interactive" >&2; exit 1; }
fi
export PATH="$tools:$PATH" JUPYTER_PATH="$work/jupyter"
mkdir -p "$work/jupyter/kernels"
dotnet interactive jupyter install --path "$work/jupyter/kernels" >"$work/kernel.log" 2>&1 ||
  { cat "$work/kernel.log"; echo "notebooks: could not install the .NET kernel spec" >&2; exit 1; }

# 3. The packages, packed to a local feed that each notebook's #i line is pointed at below, restored privately.
# shellcheck source=lib/packages.sh
. "$repo/.ci/checks/lib/packages.sh"
echo "notebooks: packing the library packages"
pack_finetuning "$work/checkout/artifacts/feed" Core Lora Quantization Rlhf
mkdir -p "$work/checkout/examples/notebooks"
isolate_finetuning_restore "$work"
# The native cache is this run's too, so every run proves the runtime patch from scratch.
export FINETUNING_NATIVE_CACHE_DIR="$work/native"

status=0
# Arguments: the notebooks to run (default: every examples/notebooks/*.ipynb).
if [ "$#" -gt 0 ]; then notebooks=("$@"); else notebooks=("$repo"/examples/notebooks/*.ipynb); fi
for notebook in "${notebooks[@]}"; do
  name="$(basename "$notebook")"
  # The notebook's #i line names the feed by absolute path (.NET Interactive takes no relative one): point it at ours.
  if ! /usr/bin/python3 - "$notebook" "$work/checkout/examples/notebooks/$name" "$work/checkout/artifacts/feed" <<'PY'
import json, re, sys
notebook = json.load(open(sys.argv[1]))
found = False
for cell in notebook["cells"]:
    source = "".join(cell["source"])
    replaced = re.sub(r'#i "nuget: [^"]*artifacts/feed"', '#i "nuget: ' + sys.argv[3] + '"', source)
    found |= replaced != source
    cell["source"] = replaced
json.dump(notebook, open(sys.argv[2], "w"))
sys.exit(0 if found else 1)
PY
  then
    echo "notebooks: $name has no '#i \"nuget: .../artifacts/feed\"' line to point at the local feed" >&2; status=1; continue
  fi
  echo "notebooks: executing $name"
  start=$SECONDS
  if (cd "$work/checkout/examples/notebooks" && timeout 600 jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=540 \
        --ExecutePreprocessor.kernel_name=.net-csharp --output "executed-$name" "$name" >"$work/nbconvert.log" 2>&1); then
    echo "notebooks: $name passed in $((SECONDS - start)) s"
    # Show what the notebook printed (text outputs only).
    /usr/bin/python3 - "$work/checkout/examples/notebooks/executed-$name" <<'PY'
import json, sys
for cell in json.load(open(sys.argv[1]))["cells"]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            sys.stdout.write("  | " + "".join(out["text"]).replace("\n", "\n  | ").rstrip("| ") + "\n")
PY
  else
    tail -40 "$work/nbconvert.log"
    echo "notebooks: $name FAILED" >&2
    status=1
  fi
done
exit $status
