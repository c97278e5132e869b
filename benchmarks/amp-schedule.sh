#!/usr/bin/env bash
# The asynchronous schedule against 1F1B and GPipe: step time of the same pipeline (stages, micro-batches)
# under each schedule, and amp's predicted against simulated staleness. Writes a markdown table on stdout.
# Usage: benchmarks/amp-schedule.sh   (after: mvn -pl cli -am -DskipTests install)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
if [ $# -eq 0 ]; then
printf '| model | stages | micro-batches | gpipe ms | 1f1b ms | amp ms (K, M) | amp / 1f1b | amp simulated ms | staleness per stage: predicted expected / simulated mean (largest / max) |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
fi
run() { # model batch devices device stages micro
  local model=$1 batch=$2 devices=$3 device=$4 p=$5 m=$6
  local step=()
  for s in gpipe 1f1b amp; do
    rm -f "$out/$s.json"
    ./shardplan plan "$model" --batch "$batch" --devices "$devices" --device "$device" --pipeline-parallel "$p" \
      --micro-batches "$m" --schedule "$s" --recompute off --zero 1 --time-limit 60 --out "$out/$s.json" >/dev/null \
      2>"$out/$s.err" || true
    if [ -f "$out/$s.json" ]; then
      step+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['stepSeconds'])" "$out/$s.json")")
    else
      step+=("nan")  # no plan fits (GPipe holds every micro-batch's activations)
    fi
  done
  ./shardplan simulate "$out/amp.json" --json > "$out/sim.json"
  python3 - "$model" "$p" "$m" "${step[@]}" "$out/amp.json" "$out/sim.json" <<'PY'
import json, sys
model, p, m, g, f, a, planf, simf = sys.argv[1:]
plan = json.load(open(planf)); sim = json.load(open(simf))
sc = plan['schedule']
cells = []
for pred, s in zip(sc['staleness'], sim['staleness']):
    cells.append(f"{pred['expected']:.2f}/{s['mean']:.2f} ({pred['largest']}/{s['max']})")
g, f, a = float(g), float(f), float(a)
ms = lambda x: "does not fit" if x != x else f"{x*1e3:.1f}"
print(f"| {model} | {p} | {m} | {ms(g)} | {ms(f)} | {a*1e3:.1f} ({sc['maxActiveKeys']}, {sc['minUpdateFrequency']}) "
      f"| {a/f:.3f} | {sim['stepSeconds']*1e3:.1f} | {'; '.join(cells)} |")
PY
}
# rows: model,batch,devices,device,stages,micro-batches (16 stages of gpt-1.7b need two devices each without
# recomputation; builtin:cnn has 2 places to cut, ResNet-50 5, DenseNet-121 one per dense layer); give rows as
# arguments to run only those
rows=("builtin:gpt-1.7b,64,16,a100-80gb,4,16" "builtin:gpt-1.7b,64,16,a100-80gb,8,16" "builtin:gpt-1.7b,64,32,a100-80gb,16,16"
      "builtin:cnn,256,16,a100-80gb,2,16"
      "build-data/models/resnet50.onnx,256,16,a100-80gb,4,16" "build-data/models/densenet121.onnx,256,16,a100-80gb,4,16"
      "build-data/models/densenet121.onnx,256,16,a100-80gb,8,16" "build-data/models/densenet121.onnx,256,16,a100-80gb,16,16")
[ $# -gt 0 ] && rows=("$@")
for r in "${rows[@]}"; do
  IFS=, read -r model batch devices device p m <<< "$r"
  run "$model" "$batch" "$devices" "$device" "$p" "$m"
done
rm -rf "$out"
