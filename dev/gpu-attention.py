#!/usr/bin/env python3
"""Times fused attention (torch's scaled_dot_product_attention, a FlashAttention-class kernel) forward
and backward on one CUDA GPU, for fitting a device profile's attention efficiencies
(dev/fit-gpu-kernels.py --attention FILE).

    python3 dev/gpu-attention.py --out calibration/h200-attention-20261204.json
    python3 dev/gpu-attention.py --smoke --out /tmp/a.json     # tiny shapes on the CPU: checks the script

Each case is one [B, H, S, D] attention in bfloat16, with and without the causal mask: --warmup runs,
then the median of --repeats timed forward passes and, separately, of --repeats backward passes
(CUDA events, each sample a batch of back-to-back runs of about 2 ms: dev/gputiming.py).
The FLOPs written are the two products' forward FLOPs, 4 B H S^2 D, whole (the causal kernel skips the
masked blocks; the fit counts what shardplan prices for a causal chain, (S+1)/(2S) of them).
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from gputiming import per_run_seconds

SHAPES = [(4, 16, 2048, 128), (2, 32, 4096, 128), (16, 16, 1024, 64), (8, 32, 2048, 64)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    cuda = not a.smoke
    if cuda and not torch.cuda.is_available():
        print("gpu-attention: no CUDA device", file=sys.stderr)
        return 2
    dev = "cuda" if cuda else "cpu"
    dt = torch.bfloat16 if cuda else torch.float32
    shapes = [(1, 2, 64, 16)] if a.smoke else SHAPES
    sdpa = getattr(F, "scaled_dot_product_attention", None)
    if sdpa is None:
        def sdpa(q, k, v, is_causal=False):
            s = q.shape[-2]
            w = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
            if is_causal:
                w = w.masked_fill(torch.ones(s, s, dtype=torch.bool).triu(1), float("-inf"))
            return w.softmax(-1) @ v
    doc = {"format": "shardplan-gpu-attention/1",
           "device": torch.cuda.get_device_name(0) if cuda else "cpu",
           "runtime": "torch %s cuda %s" % (torch.__version__, torch.version.cuda),
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "dtype": str(dt).replace("torch.", ""),
           "cases": []}
    for b, h, s, d in shapes:
        for causal in (False, True):
            q, k, v = (torch.randn(b, h, s, d, device=dev, dtype=dt, requires_grad=True) for _ in range(3))
            g = torch.randn(b, h, s, d, device=dev, dtype=dt)
            fwd = lambda: sdpa(q, k, v, is_causal=causal)
            for _ in range(a.warmup):
                fwd().backward(g)
            with torch.no_grad():
                tf = per_run_seconds(torch, lambda: sdpa(q, k, v, is_causal=causal), a.repeats, cuda)
            out = fwd()
            tb = per_run_seconds(torch, lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True), a.repeats,
                                 cuda)
            doc["cases"].append({"batch": b, "heads": h, "seq": s, "headDim": d, "causal": causal,
                                 "flops": 4.0 * b * h * s * s * d, "forwardSeconds": tf, "backwardSeconds": tb})
            print("attention b%d h%d s%d d%d causal=%s: forward %.1f us, backward %.1f us"
                  % (b, h, s, d, causal, tf * 1e6, tb * 1e6), file=sys.stderr)
            del q, k, v, g, out
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
