#!/usr/bin/env python3
"""Compares shardplan's predicted step on one GPU with training steps measured there (dev/gpu-steps.py)
and writes a results table.

    python3 benchmarks/gpu-steps.py --device h200 benchmarks/results/gpu-h200-steps-run*.json \\
        --out benchmarks/target/gpu-steps-table.md

For each measured case (the median step of each run given) it runs `./shardplan plan MODEL --device D
--devices 1 --batch B --pipeline-parallel off --micro-batches 1 --recompute off --zero 0` with the
optimizer of the measured run (adam-amp for the decoders under autocast, adam-mixed for those held in
bfloat16, adam-fp32 for float32 models), its
recomputation and micro-batches (--recompute on, --micro-batches M where the case says so) and the
memory limit lifted (the measured runs fit; shardplan's estimate is reported beside PyTorch's
peak), and prints measured, predicted and the error. Cases whose model file is missing are listed as
such (build-data/ comes from dev/setup-test-data).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def predict(model, device, batch, optimizer, recompute=False, micro_batches=1):
    cmd = [os.path.join(ROOT, "shardplan"), "plan", model, "--device", device, "--devices", "1", "--batch", str(batch),
           "--pipeline-parallel", "off", "--micro-batches", str(micro_batches), "--recompute", "on" if recompute else "off",
           "--zero", "0",
           "--optimizer", optimizer, "--memory-limit", "1000GiB", "--json"]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError("shardplan plan exited %d: %s" % (r.returncode, last.replace("|", "/")))
    return json.loads(r.stdout)["totals"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", required=True, help="shardplan device profile of the measured GPU")
    p.add_argument("--out", help="markdown table to write (default: standard output only)")
    p.add_argument("files", nargs="+", help="measurements written by dev/gpu-steps.py")
    a = p.parse_args()
    runs = [json.load(open(f)) for f in a.files]
    order, measured, failed = [], {}, {}
    for doc in runs:
        for c in doc["cases"]:
            if "error" in c:  # listed below where no run measured it
                failed.setdefault(c["case"], c["error"])
                continue
            if c["case"] not in measured:
                order.append(c["case"])
                measured[c["case"]] = {"case": c, "steps": []}
            measured[c["case"]]["steps"].append(c["stepSeconds"])
    lines = ["| case | shardplan model | batch | precision measured, recomputation, micro-batches | measured step (runs) | predicted step |"
             " error | PyTorch peak | shardplan memory |", "|---|---|---|---|---|---|---|---|---|"]
    errors = []
    for name in order:
        c, steps = measured[name]["case"], measured[name]["steps"]
        m = statistics.mean(steps)
        how = c["precision"] + (", recomputed" if c.get("recompute") else "") + (
            ", %d micro-batches" % c["microBatches"] if c.get("microBatches", 1) > 1 else "")
        runs_text = " / ".join("%.1f" % (s * 1e3) for s in steps)
        opt = ("adam-fp32" if c["precision"].startswith("float32") else "adam-amp" if c["precision"] == "bf16-autocast"
               else "adam-mixed")
        model = c["shardplan"]
        if model.endswith(".onnx") and not os.path.exists(os.path.join(ROOT, model)):
            lines.append("| %s | `%s` | %d | %s | %.1f ms (%s) | model file missing | - | - | - |" % (
                name, model, c["batch"], how, m * 1e3, runs_text))
            continue
        try:
            t = predict(model, a.device, c["batch"], opt, c.get("recompute", False), c.get("microBatches", 1))
        except RuntimeError as e:
            lines.append("| %s | `%s` | %d | %s | %.1f ms (%s) | %s | - | - | - |" % (
                name, model, c["batch"], how, m * 1e3, runs_text, e))
            continue
        err = t["stepSeconds"] / m - 1
        errors.append((abs(err), name))
        lines.append("| %s | `%s` | %d | %s | %.1f ms (%s) | %.1f ms | %+.1f%% | %.1f GiB | %.1f GiB |" % (
            name, model, c["batch"], how, m * 1e3, runs_text, t["stepSeconds"] * 1e3, 100 * err,
            (c.get("peakAllocatedBytes") or 0) / 2 ** 30, t["peakMemoryBytesPerDevice"] / 2 ** 30))
    for name, why in failed.items():
        if name not in measured:
            lines.append("| %s | - | - | - | not measured: %s | - | - | - | - |" % (name, why.replace("|", "/")))
    e = sorted(x for x, _ in errors)
    summary = "%d cases priced; median |error| %.1f%%; largest %.1f%% (%s)" % (
        len(e), 100 * statistics.median(e), 100 * e[-1], max(errors)[1]) if e else "no case priced"
    text = "\n".join(lines) + "\n\n" + summary + "\n"
    print(text)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
