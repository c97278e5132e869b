#!/usr/bin/env bash
# How far past --time-limit `plan` answers, on inputs whose phases are long: a 30,000-node decoder
# (2,000 layers), builtin:gpt-1t on 3,072 A100-80GB, DenseNet-121 at batch 128. One line per case:
# the limit, the wall time of the process (JVM start included, GNU time), the time past the limit, the
# exit code, and what answered (solver and status, or the first line of the error).
# Usage: benchmarks/time-limit.sh   (JAR=path/to/shardplan.jar runs that jar, with its lib/ beside it)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jar="${JAR:-$root/cli/target/shardplan.jar}"
cases=(
  "builtin:gpt?layers=2000,hidden=256,heads=4,seq=128,vocab=1000|--batch 8 --devices 8"
  "builtin:gpt-1t|--device a100-80gb --devices 3072 --batch 3072"
  "$root/build-data/models/densenet121.onnx|--batch 128 --devices 8"
)
echo "| model | options | --time-limit s | wall s | past the limit s | exit | answer |"
echo "|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  m="${c%%|*}"; o="${c#*|}"
  for tl in ${LIMITS:-1 5}; do
    out="$(mktemp)"; err="$(mktemp)"
    set +e
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e" -o "$out.time" java -Xmx8g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar "$jar" plan "$m" $o \
      --time-limit "$tl" --json > "$out" 2> "$err"
    rc=$?
    set -e
    wall="$(tail -1 "$out.time")"
    answer="$(python3 - "$out" "$err" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    s = d['solver']
    w = [x for x in d.get('warnings', []) if 'time limit' in x]
    print(f"{s['name']} {s['status']}, step {d['totals']['stepSeconds']:.4g} s" + (f"; {w[0][:90]}" if w else ""))
except Exception:
    lines = [l for l in open(sys.argv[2]).read().splitlines() if l.strip()]
    print(lines[-1][:160] if lines else "?")
PY
)"
    past="$(python3 -c "print(f'{max(0.0, $wall - $tl):.1f}')")"
    echo "| ${m##*/} | $o | $tl | $wall | $past | $rc | $answer |"
    rm -f "$out" "$err" "$out.time"
  done
done
