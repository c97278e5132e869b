#!/usr/bin/env bash
# Trains a residual MLP and its parareal rewrites (2 and 4 segments) on the MNIST digits of
# dev/setup-test-data, from the same seed, and prints test accuracy per epoch (columns: epoch, train loss, test loss, test accuracy, seconds; the evidence in
# benchmarks/results/parareal.md, "Training"). Needs a built checkout (./shardplan builds on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
epochs="${EPOCHS:-5}"
sp="$root/shardplan"
"$sp" train --write-model "$out/resmlp.onnx" --layers 784,128,10 --residual 8
for n in 2 4; do
  "$sp" plan "$out/resmlp.onnx" --batch 64 --devices 4 --device cpu-local --pipeline-parallel off \
      --parareal "$n" --out "$out/plan$n.json" | grep '^parareal'
  "$sp" export parareal "$out/plan$n.json" "$out/resmlp.onnx" --out "$out/resmlp-parareal$n.onnx"
done
for m in resmlp resmlp-parareal2 resmlp-parareal4; do
  echo "== $m"
  "$sp" train "$out/$m.onnx" --stages 1 --schedule sync --epochs "$epochs" | grep -E '^ +[0-9]+ ' || true
done
echo "models and plans in $out"
