# Shared by the checks that consume the packed packages (sourced, not run: .ci/run runs .ci/checks/*.sh only).

# pack_finetuning FEED PACKAGE...: packs src/FineTuning.<PACKAGE> (Release) into FEED; prints the log on failure.
pack_finetuning() {
  local feed="$1"; shift
  local package log
  for package in "$@"; do
    log="$(mktemp)"
    if ! dotnet pack "$repo/src/FineTuning.$package" -c Release -o "$feed" -v quiet -nologo >"$log" 2>&1; then
      cat "$log"; rm -f "$log"; echo "packing FineTuning.$package failed" >&2; return 1
    fi
    rm -f "$log"
  done
}

# isolate_finetuning_restore DIR: restores go into DIR/packages, so that a FineTuning of the same version left in the
# machine's NuGet cache can never stand in for the packages just packed; every other package is read from the
# machine's cache (a read-only fallback, through links that leave FineTuning's folders out) or fetched from the
# machine's default sources.
isolate_finetuning_restore() {
  local dir="$1" global entry
  global="$(dotnet nuget locals global-packages --list | sed -E 's/^global-packages: //')"
  mkdir -p "$dir/fallback"
  if [ -d "$global" ]; then
    for entry in "$global"/*; do
      case "$(basename "$entry")" in finetuning.*) ;; *) ln -s "$entry" "$dir/fallback/" ;; esac
    done
  fi
  export NUGET_PACKAGES="$dir/packages" NUGET_FALLBACK_PACKAGES="$dir/fallback"
}
