#!/usr/bin/env bash
# More devices never make a slower plan: the model zoo planned at 8, 16, 32 and 64 A100s with one stage,
# with the default options and, with FEWER=false, without the plan on fewer devices among the candidates
# (-Dshardplan.fewerDevices=false). One line per model and device count: step ms, solver status, search
# seconds (the plan's own count), candidates, and the process's CPU seconds (GNU time, user + sys).
# Usage: benchmarks/more-devices.sh [MODEL...]  (MODEL as in the table below; default: all)
# PIPELINE=auto lets the search pipeline (the default options' --pipeline-parallel auto) instead of fixing one stage;
# BATCH=B plans batch B instead of 8.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
declare -A dims=(
  [gpt2_style]="--dim seq=128"
  [transformer_seq2seq]="--dim src_seq=32 --dim tgt_seq=32"
  [all-minilm-l6-v2]="--dim sequence_length=128"
  [lstm_lm]="--dim seq=35"
)
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=(gpt2_style transformer_seq2seq all-minilm-l6-v2 lstm_lm resnet18 resnet50 mobilenet_v2 inception_v3 alexnet vgg11 densenet121)
fi
pp=(--pipeline-parallel off)
if [ "${PIPELINE:-off}" = auto ]; then
  pp=()
fi
batch="${BATCH:-8}"
opts="-Xmx2g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
if [ "${FEWER:-true}" = false ]; then
  opts="$opts -Dshardplan.fewerDevices=false"
fi
for m in "${models[@]}"; do
  for n in 8 16 32 64; do
    out="$(mktemp)"
    # shellcheck disable=SC2086
    SHARDPLAN_JAVA_OPTS="$opts" /usr/bin/time -f "%U %S" -o "$out.time" "$root/shardplan" plan "$root/build-data/models/$m.onnx" \
      --batch "$batch" --devices "$n" "${pp[@]}" --json ${dims[$m]:-} > "$out" 2>/dev/null
    python3 - "$m" "$n" "$out" "$out.time" <<'PY'
import json, sys
m, n, f, t = sys.argv[1:5]
d = json.load(open(f))
u, s = open(t).read().split()[-2:]
print(f"{m} {n} {d['totals']['stepSeconds']*1e3:.3f} {d['solver']['status']} {d['solver']['name']} "
      f"{d['solver']['seconds']:.2f} {d['solver']['strategies']} P={d['parallelism']['pipeline']} {float(u)+float(s):.2f}")
PY
    rm -f "$out" "$out.time"
  done
done
