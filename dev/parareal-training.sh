#!/usr/bin/env bash
# Trains two residual networks and their parareal rewrites (2 and 4 segments) on the MNIST digits of
# dev/setup-test-data, from the same seed, and prints test accuracy per epoch (columns: epoch, train
# loss, test loss, test accuracy, seconds; the evidence in benchmarks/results/parareal.md, "Training"):
#   resmlp  - MLP 784-128-10 with eight blocks h + Relu(Gemm(h)) of width 128
#   resconv - Conv 3x3 stride-2 stem to 8 maps of 14x14, six blocks h + Relu(Conv3x3(h)), Gemm to 10
# (SGD learning rate 0.1 for resmlp, 0.05 for resconv, which has no normalization layer; not tuned)
# FAMILIES=resmlp or FAMILIES=resconv runs one. Needs a built checkout (./shardplan builds on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
epochs="${EPOCHS:-5}"
families="${FAMILIES:-resmlp resconv}"
sp="$root/shardplan"
for f in $families; do
  case "$f" in
    resmlp) "$sp" train --write-model "$out/$f.onnx" --layers 784,128,10 --residual 8; lr=0.1 ;;
    resconv) "$sp" train --write-model "$out/$f.onnx" --conv 8 --residual 6; lr=0.05 ;;
    *) echo "unknown family $f (resmlp or resconv)" >&2; exit 2 ;;
  esac
  for n in 2 4; do
    "$sp" plan "$out/$f.onnx" --batch 64 --devices 4 --device cpu-local --pipeline-parallel off \
        --parareal "$n" --out "$out/$f-plan$n.json" | grep '^parareal'
    "$sp" export parareal "$out/$f-plan$n.json" "$out/$f.onnx" --out "$out/$f-parareal$n.onnx"
  done
  for m in "$f" "$f-parareal2" "$f-parareal4"; do
    echo "== $m"
    "$sp" train "$out/$m.onnx" --stages 1 --schedule sync --epochs "$epochs" --lr "$lr" | grep -E '^ +[0-9]+ ' || true
  done
done
echo "models and plans in $out"
