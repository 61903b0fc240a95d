#!/usr/bin/env bash
# Report check: trains examples/09-Overfitting for a few epochs on stories260K (it writes report.html with its charts),
# opens the report in headless Chromium (installed from the Debian archive when missing), takes a 1200x2000 screenshot,
# and fails unless the HTML holds the expected chart <img> tags and the screenshot shows them (pixel variance, non-white
# and strongly coloured fractions, measured by .ci/checks/report-screenshot/ImageCheck with SkiaSharp). With
# REPORT_SCREENSHOT_OUT=<file> the screenshot is also copied there (how docs/images/report.png was made).
# Needs FINETUNING_MODELS_DIR (set by .ci/run). Takes about 30-60 s after the solution is built.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ -z "${FINETUNING_MODELS_DIR:-}" ] || [ ! -f "$FINETUNING_MODELS_DIR/stories260K/stories260K.bin" ]; then
  echo "report-screenshot: FINETUNING_MODELS_DIR must point at a folder containing stories260K/" >&2
  exit 1
fi

browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "report-screenshot: installing chromium from apt"
  if [ "$(id -u)" -eq 0 ]; then apt_get=(apt-get); else apt_get=(sudo -n apt-get); fi
  "${apt_get[@]}" install -y chromium >"$work/apt.log" 2>&1 ||
    { "${apt_get[@]}" update >>"$work/apt.log" 2>&1 && "${apt_get[@]}" install -y chromium >>"$work/apt.log" 2>&1; } ||
    { tail -20 "$work/apt.log"; echo "report-screenshot: could not install chromium" >&2; exit 1; }
  browser="$(command -v chromium)"
fi

echo "report-screenshot: building examples/09-Overfitting and the image check"
for project in "$repo/examples/09-Overfitting" "$repo/.ci/checks/report-screenshot"; do
  dotnet build "$project" -c Release -v quiet -nologo >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; echo "report-screenshot: building $project failed" >&2; exit 1; }
done

echo "report-screenshot: a short overfitting run"
timeout 300 dotnet "$repo/examples/09-Overfitting/bin/Release/net10.0/Overfitting.dll" --out "$work/out" --epochs 16 >"$work/run.log" 2>&1 ||
  { cat "$work/run.log"; echo "report-screenshot: the example failed" >&2; exit 1; }
report="$work/out/report/report.html"
[ -f "$report" ] || { cat "$work/run.log"; echo "report-screenshot: no report.html was written" >&2; exit 1; }

# The charts every run with a validation set has, embedded as PNG images.
for chart in loss learning_rate grad_norm eval_loss; do
  grep -q "<img src=\"data:image/png;base64,[A-Za-z0-9+/=]\{200,\}\" alt=\"[^\"]*\" data-chart=\"$chart\">" "$report" ||
    { echo "report-screenshot: report.html has no embedded chart '$chart'" >&2; exit 1; }
done
grep -q 'stopped early' "$report" || { echo "report-screenshot: the report does not say the run stopped early" >&2; exit 1; }

echo "report-screenshot: headless chromium"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2000 \
  --screenshot="$work/shot.png" "file://$report" >"$work/chromium.log" 2>&1 ||
  { cat "$work/chromium.log"; echo "report-screenshot: chromium failed" >&2; exit 1; }
[ -s "$work/shot.png" ] || { cat "$work/chromium.log"; echo "report-screenshot: no screenshot was written" >&2; exit 1; }

# Measured on the 1200x2000 shot: with charts, luminance variance 0.012, 4.7 % non-white, 0.31 % strongly coloured
# pixels (the chart lines); the same page with its <img> tags removed: 0.012, 4.6 %, 0.000 %; a blank page: 0, 0, 0.
# So the coloured fraction is what proves the charts rendered; the other two catch a blank or broken page.
dotnet "$repo/.ci/checks/report-screenshot/bin/Release/net10.0/ImageCheck.dll" "$work/shot.png" 0.005 0.02 0.001 1000
if [ -n "${REPORT_SCREENSHOT_OUT:-}" ]; then cp "$work/shot.png" "$REPORT_SCREENSHOT_OUT"; fi
echo "report-screenshot: passed"
