#!/usr/bin/env python3
"""Fits a GPU profile's kernel efficiencies (cost-model KernelModel: gemmEfficiency, memoryEfficiency,
launchUs) to a calibration file written by dev/gpu-calibrate.py, and prints them with the samples
they come from. The profile's peaks, bandwidth, SM count and tile are read from its resource file.

    python3 dev/fit-gpu-kernels.py --profile h200 calibration/h200-20261204.json

- gemmEfficiency: the median over the float16 and bfloat16 MatMul/Gemm samples of at least 2e10 FLOPs
  (compute-bound, well past the launch) of F / (peak x t x shape), where shape is the KernelModel's
  tile-and-wave factor of the product's M, N, K (KernelModel.gemmEfficiency with gemmEfficiency 1).
- memoryEfficiency: the median over element-wise samples of at least 128 MiB moved (past the 60 MB L2
  of an H100/H200) of bytes / (t x bandwidth).
- launchUs: the median time of the samples whose roofline time is under 1 us: what one operator costs
  when operators are issued back to back (the dispatch rate of eager PyTorch on that host).
- with --attention FILE (dev/gpu-attention.py): the fused-attention efficiencies of its causal cases,
  e_f = F / (peak x t_forward) and e_b = 2.5 F / (peak x t_backward), F the products' forward FLOPs as
  shardplan prices a causal chain, (S+1)/(2S) of 4 B H S^2 D (ComputeModel: forward F at the forward
  efficiency, backward 2.5 F at the backward one), fitted as KernelModel prices them,
  e = E x S / (S + attentionSeqHalf) x D / (D + attentionHeadDimHalf): the two half-points on a grid (50
  keys, 4 head dimensions apart) shared by both directions, E per direction the geometric mean, least
  squares of the logarithms. Their medians (the constant efficiencies of a profile without half-points)
  and the non-causal cases are printed beside them: the planner's decoders are causal.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

HALVINGS = [(1, 1), (2, 1), (1, 2), (2, 2), (4, 2), (2, 4), (4, 4)]
ELEMENTWISE = ("Add", "Mul", "Sub", "Div", "Relu", "Sigmoid", "Tanh", "Erf")


def shape_factor(k, b, m, n, kk):
    """KernelModel.gemmEfficiency(b, m, n, kk) / gemmEfficiency."""
    best = 0.0
    for f0, f1 in HALVINGS:
        tm, tn = max(16, k["tileM"] / f0), max(16, k["tileN"] / f1)
        t = b * math.ceil(m / tm) * math.ceil(n / tn)
        area = b * m * n / (t * tm * tn)
        waves = t / (math.ceil(t / k["sms"]) * k["sms"])
        reuse = (tm * tn / (tm + tn)) / (k["tileM"] * k["tileN"] / (k["tileM"] + k["tileN"]))
        best = max(best, reuse * area * waves)
    return best * kk / (kk + k["gemmKHalf"])


def gemm_dims(op, dims):
    a, w = dims[0], dims[1]
    if op == "Gemm":  # transB=1: [m, k] x [n, k]
        return 1, a[0], w[0], a[1]
    if len(w) == 2:
        return 1, math.prod(a[:-1]), w[1], w[0]
    return math.prod(a[:-2]), a[-2], w[-1], a[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", required=True, help="device profile name (cost-model resources)")
    p.add_argument("--attention", help="fused-attention timings written by dev/gpu-attention.py")
    p.add_argument("files", nargs="+", help="calibration files (shardplan-calibration/1)")
    a = p.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    prof = json.load(open(os.path.join(root, "cost-model/src/main/resources/org/shardplan/cost/devices",
                                       a.profile + ".json")))
    k = prof["kernels"]
    peak = {dt: v * 1e12 for dt, v in prof["peakTflops"].items()}
    bw = prof["memoryBandwidthGBps"] * 1e9
    gemm, mem, launch = [], [], []
    for f in a.files:
        for e in json.load(open(f))["entries"]:
            t, dt, op = e["seconds"], e["dtype"], e["op"]
            dims = [list(map(int, x.split(","))) for x in re.findall(r"\[([0-9,]+)\]", e["signature"])]
            if op in ("MatMul", "Gemm") and dt in ("float16", "bfloat16") and e["flops"] >= 2e10:
                eff = e["flops"] / (peak[dt] * t * shape_factor(k, *gemm_dims(op, dims)))
                gemm.append(eff)
                print("gemm   %-72s %9.1f us  %.3f" % (e["signature"][:72], t * 1e6, eff))
            if op in ELEMENTWISE and e["bytes"] >= 2 ** 27:
                mem.append(e["bytes"] / (t * bw))
                print("memory %-72s %9.1f us  %.3f" % (e["signature"][:72], t * 1e6, mem[-1]))
            roofline = max(e["flops"] / peak.get(dt, peak["float32"]), e["bytes"] / bw)
            if roofline < 1e-6:
                launch.append(t)
    if not gemm or not mem or not launch:
        print("fit-gpu-kernels: too few samples (gemm %d, memory %d, launch %d)" % (len(gemm), len(mem), len(launch)),
              file=sys.stderr)
        return 2
    print("\nfitted from %d GEMMs, %d streaming kernels, %d launch-bound kernels:" % (len(gemm), len(mem), len(launch)))
    print("  gemmEfficiency   %.3f (profile %.3f; range %.3f-%.3f)" % (statistics.median(gemm), k["gemmEfficiency"],
                                                                      min(gemm), max(gemm)))
    print("  memoryEfficiency %.3f (profile %.3f; range %.3f-%.3f)" % (statistics.median(mem), k["memoryEfficiency"],
                                                                      min(mem), max(mem)))
    print("  launchUs         %.1f (profile %.1f; range %.1f-%.1f)" % (statistics.median(launch) * 1e6, k["launchUs"],
                                                                      min(launch) * 1e6, max(launch) * 1e6))
    if a.attention:
        fits = {True: ([], []), False: ([], [])}
        doc = json.load(open(a.attention))
        pk = peak[doc.get("dtype", "bfloat16")]
        for c in doc["cases"]:
            s = c["seq"]
            f = c["flops"] * ((s + 1) / (2 * s) if c["causal"] else 1)
            ef, eb = f / (pk * c["forwardSeconds"]), 2.5 * f / (pk * c["backwardSeconds"])
            fits[c["causal"]][0].append(ef)
            fits[c["causal"]][1].append(eb)
            print("attention b%d h%d s%d d%d %-10s forward %.3f backward %.3f" % (
                c["batch"], c["heads"], s, c["headDim"], "causal" if c["causal"] else "non-causal", ef, eb))
        pts = [(c["seq"], c["headDim"], c["forwardSeconds"], c["backwardSeconds"], c["flops"] * (c["seq"] + 1)
                / (2 * c["seq"])) for c in doc["cases"] if c["causal"]]
        best = None
        for s0 in (range(0, 8001, 50) if pts else ()):
            for d0 in range(0, 257, 4):
                err, es = 0.0, []
                for j in (2, 3):
                    logs = [math.log((2.5 if j == 3 else 1) * f / (pk * x[j])) - math.log(x[0] / (x[0] + s0))
                            - math.log(x[1] / (x[1] + d0)) for x in pts for f in [x[4]]]
                    m = sum(logs) / len(logs)
                    es.append(math.exp(m))
                    err += sum((v - m) ** 2 for v in logs)
                if best is None or err < best[0] - 1e-15:
                    best = (err, s0, d0, es)
        if best:
            err, s0, d0, es = best
            print("  causal, fitted: attentionForwardEfficiency %.3f, attentionBackwardEfficiency %.3f, attentionSeqHalf %d,"
                  " attentionHeadDimHalf %d (rms error of the logarithms %.3f)" % (es[0], es[1], s0, d0,
                                                                                 math.sqrt(err / (2 * len(pts)))))
        for causal in (True, False):
            f, b = fits[causal]
            if f:
                print("  %s, medians: attentionForwardEfficiency %.3f, attentionBackwardEfficiency %.3f (%d cases)%s" % (
                    "causal" if causal else "non-causal", statistics.median(f), statistics.median(b), len(f),
                    " (profile %.3f, %.3f)" % (k["attentionForwardEfficiency"], k["attentionBackwardEfficiency"])
                    if causal else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
