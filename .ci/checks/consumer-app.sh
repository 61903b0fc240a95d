#!/usr/bin/env bash
# Consumer check: packs the library packages to a temporary local feed, creates a NEW console app outside the
# repository, adds the packages with exactly the `dotnet add package` lines of the README's Install section, and runs
# .ci/checks/consumer-app/Program.cs (LoRA on stories260K or a tiny LLaMA: the loss must fall, then it generates, and
# WithReport from FineTuning.Reporting must write the HTML report with its charts); then a .NET 10 file-based app
# (`dotnet run app.cs`, `#:package` lines, reflection-based JSON off) runs .ci/checks/consumer-app/FileBased.cs.
# Exits non-zero on any failure. Takes about 2-4 minutes (most of it packing and building).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(sed -nE 's:.*<Version>(.*)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -1)"

# shellcheck source=lib/packages.sh
. "$repo/.ci/checks/lib/packages.sh"
echo "consumer-app: packing FineTuning $version to a local feed"
pack_finetuning "$work/feed" Core Lora Quantization Rlhf Reporting Runtime.Cpu
isolate_finetuning_restore "$work"

mkdir "$work/app"
cd "$work/app"
dotnet new console --framework net10.0 --name ConsumerApp --output . >/dev/null
# Adds the local feed; the machine's default sources stay (no <clear/>).
cat > nuget.config <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="finetuning-local" value="$work/feed" />
  </packageSources>
</configuration>
CONFIG

lines="$(sed -n '/<!-- install-lines/,/<!-- \/install-lines -->/p' "$repo/README.md" | grep -E '^dotnet add package ' || true)"
[ -n "$lines" ] || { echo "consumer-app: no 'dotnet add package' lines between the install-lines markers in README.md" >&2; exit 1; }
while IFS= read -r line; do
  echo "consumer-app: $line"
  $line >"$work/add.log" 2>&1 || { cat "$work/add.log"; echo "consumer-app: '$line' failed" >&2; exit 1; }
done <<<"$lines"

# The FineTuning packages must have come from the local feed, not from anywhere else under the same name.
for meta in "$NUGET_PACKAGES"/finetuning.*/*/.nupkg.metadata; do
  grep -q "$work/feed" "$meta" || { echo "consumer-app: $meta was not restored from the local feed" >&2; exit 1; }
done
ls "$NUGET_PACKAGES" | grep -q '^finetuning.core$' || { echo "consumer-app: FineTuning.Core was not restored" >&2; exit 1; }

cp "$repo/.ci/checks/consumer-app/Program.cs" Program.cs
echo "consumer-app: building and running"
dotnet build -c Release -v quiet -nologo >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "consumer-app: build failed" >&2; exit 1; }
timeout 300 dotnet run -c Release --no-build

# A file-based app: the same local feed, the packages as #:package directives. Such apps turn reflection-based JSON
# off by default, which the library's checkpoints, adapter files and Hugging Face configs must survive.
mkdir "$work/app-file"
cp nuget.config "$work/app-file/nuget.config"
{
  for package in FineTuning.Lora FineTuning.Quantization FineTuning.Runtime.Cpu; do echo "#:package $package@$version"; done
  cat "$repo/.ci/checks/consumer-app/FileBased.cs"
} > "$work/app-file/app.cs"
cd "$work/app-file"
echo "consumer-app: running a file-based app (dotnet run app.cs)"
timeout 600 dotnet run -c Release app.cs
