#!/usr/bin/env bash
# Plans models no test uses (torchvision exports: dev/export-models.py --survey build-data/survey) with the command
# line and prints one markdown row per run: the search line's solver, status and time, the step, the lower bound and
# the gap between them, wall time and peak resident memory (GNU time).
#   benchmarks/model-survey.sh [BATCH [DEVICES...]]     (default: batch 64 at 8 and 64 devices)
# MODELS (a directory) replaces build-data/survey; HEAP the heap limit (default -Xmx2g, the `solve` command's budget;
# the launcher's other options for `plan` kept: the quick compiler, the serial collector).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${MODELS:-$root/build-data/survey}"
batch="${1:-64}"
shift || true
devices=("$@")
[ ${#devices[@]} -gt 0 ] || devices=(8 64)
echo "| model | batch | devices | exit | search | step ms | bound ms | gap | wall s, peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "$dir"/*.onnx; do
  for d in "${devices[@]}"; do
    out="$(mktemp)"; tm="$(mktemp)"
    rc=0
    SHARDPLAN_JAVA_OPTS="${HEAP:--Xmx2g} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC" /usr/bin/time -f "%e %M" -o "$tm" "$root/shardplan" plan "$f" --batch "$batch" \
      --devices "$d" --time-limit 60 >"$out" 2>/dev/null || rc=$?
    step="$(grep -oE '^step [0-9.]+ ms' "$out" | cut -d' ' -f2 || true)"
    bound="$(grep -oE '^lower bound [0-9.]+ ms' "$out" | cut -d' ' -f3 || true)"
    search="$(grep -oE '^search: [a-z+-]+ [A-Z]+ in [0-9.]+ s' "$out" | sed 's/^search: //' || true)"
    gap="$(python3 -c "import sys; s, b = sys.argv[1:]; print('%.2f%%' % (100 * (1 - float(b) / float(s))) if s and b else '')" \
      "$step" "$bound")"
    read -r wall rss <"$tm"
    echo "| $(basename "$f" .onnx) | $batch | $d | $rc | $search | $step | $bound | $gap | $wall s, $((rss / 1024)) MiB |"
    rm -f "$out" "$tm"
  done
done
