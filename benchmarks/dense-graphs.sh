#!/usr/bin/env bash
# Plans densely connected models with the command line and prints one markdown row per run:
# wall time, CPU time, peak resident memory (GNU time), the search line of the report, the step, the lower bound and the
# gap between them ((step - bound) / step, over the space the report's bound names).
#   benchmarks/dense-graphs.sh [ROW...]   ROW = model:batch:devices[:time-limit[:FLAGS]]
# FLAGS, joined by '+': "auto" plans with the default --pipeline-parallel auto (pipeline stages and
# micro-batches searched too) instead of one stage (--pipeline-parallel 1); "unchained" turns off the
# chaining of growing concatenations (-Dshardplan.concatChains=false) to show what it changes.
# Without ROWs: DenseNet-121 (batch 128), the small U-Net (batch 32) and Inception-v3 (batch 128) at 8
# and 64 A100s, one stage and auto. EXTRA_OPTS adds JVM options to every run
# (e.g. -Dshardplan.fewerDevices=false); HEAP replaces the heap limit (default -Xmx8g; -Xmx2g checks
# that the search fits the `solve` command's 2 GB budget). Models: dev/setup-test-data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows=("$@")
if [ ${#rows[@]} -eq 0 ]; then
  rows=()
  for m in densenet121:128 unet_small:32 inception_v3:128; do
    for d in 8 64; do
      rows+=("$m:$d" "$m:$d:60:auto")
    done
  done
fi
defaults="${HEAP:--Xmx8g} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${EXTRA_OPTS:-}"
echo "| model | batch | devices | pipeline | time limit s | concatenations | wall s | CPU s (user+sys) | peak RSS MiB | status (solver) | search s | step ms | nodes / edges / candidates | bound ms | gap % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS=: read -r model batch devices limit flags <<<"$row"
  limit="${limit:-60}"
  opts="$defaults"
  pipeline=1
  chains=chained
  case "+${flags:-}+" in *+unchained+*) opts="$defaults -Dshardplan.concatChains=false"; chains=unchained ;; esac
  case "+${flags:-}+" in *+auto+*) pipeline=auto ;; esac
  out="$(mktemp)"; tm="$(mktemp)"
  SHARDPLAN_JAVA_OPTS="$opts" /usr/bin/time -f "%e %U %S %M" -o "$tm" "$root/shardplan" plan \
    "$root/build-data/models/$model.onnx" --batch "$batch" --devices "$devices" --pipeline-parallel "$pipeline" \
    --time-limit "$limit" >"$out" 2>/dev/null || true
  read -r wall user sys rss <"$tm"
  search="$(grep '^search:' "$out" || echo 'search: failed')"
  status="$(sed -E 's/^search: ([^ ]+) ([A-Z]+) in ([0-9.]+) s.*/\2 (\1)/' <<<"$search")"
  secs="$(sed -E 's/^search: [^ ]+ [A-Z]+ in ([0-9.]+) s.*/\1/' <<<"$search")"
  sizes="$(sed -E 's/.*; ([0-9]+) nodes, ([0-9]+) edges, ([0-9]+) candidate.*/\1 \/ \2 \/ \3/' <<<"$search")"
  step="$(sed -nE 's/^step ([0-9.]+) ms.*/\1/p' "$out")"
  bound="$(sed -nE 's/^lower bound ([0-9.]+) ms.*/\1/p' "$out")"
  gap="$(awk -v s="${step:-0}" -v b="${bound:-}" 'BEGIN{if (b == "" || s <= 0) print ""; else printf "%.2f", 100 * (s - b) / s}')"
  cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')"
  echo "| $model | $batch | $devices | $pipeline | $limit | $chains | $wall | $cpu | $((rss / 1024)) | $status | $secs | ${step:-} | $sizes | ${bound:-} | ${gap:-} |"
  rm -f "$out" "$tm"
done
