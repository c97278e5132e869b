#!/usr/bin/env bash
# Every command that reads a plan, on plans of the model zoo: each model (build-data exports and built-in models)
# is planned at 8 and 64 devices and with two pipeline stages on 16, and each plan is then given to explain,
# simulate, evaluate, report (text and HTML) and every export format (with --approximate where it applies). A run
# fails when it exits with anything but 0, 2 (a clear refusal) or 3 (no plan fits), or prints a stack trace.
# Prints a markdown table (one row per command, its exits) and then every exit 2 with its first line, to read
# whether each refusal is one a user should get.
# Usage: benchmarks/plan-commands.sh [MODEL...]  (MODEL: a file name of build-data/models without .onnx, or
# builtin:NAME; default: all)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 2
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
dims() {
  case "$1" in
    transformer_seq2seq) echo "--dim src_seq=32 --dim tgt_seq=32" ;;
    lstm_lm | llama_gqa | llama_gqa_no_weights | gpt2_style) echo "--dim seq=128" ;;
    all-minilm-l6-v2) echo "--dim sequence_length=128" ;;
  esac
}
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for f in build-data/models/*.onnx; do models+=("$(basename "$f" .onnx)"); done
  models+=("builtin:cnn" "builtin:transformer" "builtin:gpt?layers=4,hidden=256,heads=8")
fi
declare -A runs ok refused nofit failed
refusals=()
failures=()
record() { # kind rc stderr-file label
  local kind=$1 rc=$2
  runs[$kind]=$((${runs[$kind]:-0} + 1))
  if grep -q $'\tat \|Exception' "$3" || { [ "$rc" != 0 ] && [ "$rc" != 2 ] && [ "$rc" != 3 ]; }; then
    failed[$kind]=$((${failed[$kind]:-0} + 1))
    failures+=("$4: exit $rc: $(head -c 300 "$3" | tr '\n' ' ')")
  elif [ "$rc" = 0 ]; then
    ok[$kind]=$((${ok[$kind]:-0} + 1))
  elif [ "$rc" = 3 ]; then
    nofit[$kind]=$((${nofit[$kind]:-0} + 1))
  else
    refused[$kind]=$((${refused[$kind]:-0} + 1))
    refusals+=("$4: $(head -n 1 "$3" | cut -c1-240)")
  fi
}
kinds=(plan explain simulate evaluate report "report --html" "export megatron" "export deepspeed" "export torchtitan"
  "export dtensor" "export onnx" "export stages" "export parareal")
start=$(date +%s)
for m in "${models[@]}"; do
  if [[ "$m" == builtin:* ]]; then f="$m"; else f="build-data/models/$m.onnx"; fi
  tag=$(echo "$m" | tr -c 'A-Za-z0-9_.\n-' '_')
  for v in "8" "64" "16 --pipeline-parallel 2"; do
    read -r -a extra <<< "$v"
    d=${extra[0]}
    t="$tag-$d${extra[1]:+-pp}"
    p="$out/$t.json"
    # shellcheck disable=SC2046
    ./shardplan plan "$f" --batch 16 $(dims "$m") --devices "$d" "${extra[@]:1}" --time-limit 30 --out "$p" \
      > "$out/plan.out" 2> "$out/plan.err"
    rc=$?
    record plan $rc "$out/plan.err" "plan $m --devices $v"
    [ $rc = 0 ] || continue
    for k in "${kinds[@]:1}"; do
      case "$k" in
        explain) args=(explain "$p") ;;
        simulate) args=(simulate "$p" --json) ;;
        evaluate) args=(evaluate "$p" "$f") ;;
        report) args=(report "$p") ;;
        "report --html") args=(report "$p" --html "$out/$t.html") ;;
        "export onnx") args=(export onnx "$p" "$f" --out "$out/$t.annotated.onnx" --approximate) ;;
        "export stages") args=(export stages "$p" "$f" --out "$out/$t.stages") ;;
        "export parareal") args=(export parareal "$p" "$f" --out "$out/$t.parareal") ;;
        *) args=($k "$p" "$f" --approximate) ;;
      esac
      ./shardplan "${args[@]}" > "$out/cmd.out" 2> "$out/cmd.err"
      record "$k" $? "$out/cmd.err" "$t: ${args[*]}"
    done
  done
done
echo "| command | runs | exit 0 | exit 2 | exit 3 | failures |"
echo "|---|---:|---:|---:|---:|---:|"
for k in "${kinds[@]}"; do
  echo "| $k | ${runs[$k]:-0} | ${ok[$k]:-0} | ${refused[$k]:-0} | ${nofit[$k]:-0} | ${failed[$k]:-0} |"
done
echo
echo "${#models[@]} models, $(($(date +%s) - start)) s; files in $out"
echo
echo "Failures:"
for x in "${failures[@]+"${failures[@]}"}"; do echo "- $x"; done
echo
echo "Refusals (exit 2):"
for x in "${refusals[@]+"${refusals[@]}"}"; do echo "- $x"; done
