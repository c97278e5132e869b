#!/usr/bin/env bash
# The gap between a plan's step and its reported lower bound, across the model zoo (one stage, batch 8,
# 8 and 64 A100-40GB) and the built-in GPT families with pipelines. One line per case: model, devices,
# options, step ms, lower bound ms, gap % ((step - bound) / step), status, solver, configurations,
# search seconds, the bound's scope.
# Usage: benchmarks/gap.sh [CASE...]  (CASE: a model name of the tables below; default: all)
# JAR=path/to/shardplan.jar runs that jar (with its lib/ beside it) instead of the launcher; EXTRA="-D..." adds JVM
# options (e.g. -Dshardplan.scheduleBound=false: pipeline plans without the schedule bound and its minimisers).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
declare -A dims=(
  [gpt2_style]="--dim seq=128"
  [transformer_seq2seq]="--dim src_seq=32 --dim tgt_seq=32"
)
zoo=(resnet50 mobilenet_v2 densenet121 inception_v3 gpt2_style transformer_seq2seq unet_small alexnet resnet18 vgg11)
pipes=(
  "builtin:gpt-1.7b|--device a100-80gb --devices 32 --batch 64 --pipeline-parallel 4"
  "builtin:gpt-1.7b|--device a100-80gb --devices 64 --batch 128 --pipeline-parallel 8"
  "builtin:gpt-7.5b|--device a100-80gb --devices 64 --batch 128 --pipeline-parallel auto"
  "densenet121|--devices 64 --batch 8"
  "unet_small|--devices 64 --batch 8"
  "inception_v3|--devices 64 --batch 8"
)
want=("$@")
wanted() { [ ${#want[@]} -eq 0 ] && return 0; for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
opts="-Xmx2g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${EXTRA:-}"
run() {
  if [ -n "${JAR:-}" ]; then
    # shellcheck disable=SC2086
    java $opts -jar "$JAR" "$@"
  else
    # shellcheck disable=SC2086
    SHARDPLAN_JAVA_OPTS="$opts" "$root/shardplan" "$@"
  fi
}
report() {
  python3 - "$@" <<'PY'
import json, sys
name, n, o, f = sys.argv[1:5]
try:
    d = json.load(open(f))
except Exception as e:
    print(f"| {name} | {n} | {o} | no plan | | | | | | | |")
    sys.exit(0)
s = d['solver']; step = d['totals']['stepSeconds']; lb = s.get('lowerBound')
gap = '' if lb is None else f"{(step - lb) / step * 100:.2f}"
p = d['parallelism']
cfg = f"DP{p['data']} TP{p['tensor']} PP{p['pipeline']} m{p['microBatches']} {d['schedule']['name']}"
print(f"| {name} | {n} | {o} | {cfg} | {step*1e3:.4f} | {'' if lb is None else f'{lb*1e3:.4f}'} | {gap} | {s['status']} | "
      f"{s['name']} | {s['configurations']} | {s['seconds']:.1f} | {s['boundScope']} |")
PY
}
echo "| model | devices | options | plan | step ms | lower bound ms | gap % | status | solver | configurations | search s | bound over |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in "${zoo[@]}"; do
  wanted "$m" || continue
  for n in 8 64; do
    out="$(mktemp)"
    # shellcheck disable=SC2086
    run plan "$root/build-data/models/$m.onnx" --batch 8 --devices "$n" --pipeline-parallel off --json ${dims[$m]:-} \
      > "$out" 2>/dev/null || true
    report "$m" "$n" "batch 8, one stage" "$out"
    rm -f "$out"
  done
done
for c in "${pipes[@]}"; do
  m="${c%%|*}"; o="${c#*|}"
  wanted "$m" || continue
  out="$(mktemp)"
  src="$m"
  [ -f "$root/build-data/models/$m.onnx" ] && src="$root/build-data/models/$m.onnx"
  # shellcheck disable=SC2086
  run plan "$src" $o --json > "$out" 2>/dev/null || true
  n="$(echo "$o" | sed -E 's/.*--devices ([0-9]+).*/\1/')"
  report "$m" "$n" "$(echo "$o" | sed -E 's/--devices [0-9]+ //')" "$out"
  rm -f "$out"
done
