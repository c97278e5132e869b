#!/usr/bin/env python3
"""Calibrates a GPU for shardplan's cost model: times operators with PyTorch on CUDA and writes a
calibration file (format shardplan-calibration/1, docs/calibration.md) that the Java cost model
learns efficiencies from (org.shardplan.cost.calib.Calibrations).

    python3 dev/gpu-calibrate.py --out calibration/a100-40gb-20261122.json
    python3 dev/gpu-calibrate.py --device h100-sxm --dtype float32 --dtype bfloat16 --out calibration/h100.json
    python3 dev/gpu-calibrate.py --dry-run          # list the cases, no GPU or torch needed

Each case is one operator at one shape. Timing: --warmup runs first, then the median of --repeats samples, each
a batch of runs issued back to back between two CUDA events (enough runs for about 2 ms; one run for
an operator that takes longer) divided by its runs: a kernel is timed as a training step runs it,
queued behind the one before, not with the idle time of issuing it. FLOPs and bytes are counted as shardplan's graph module counts
them (a multiply-add is 2 FLOPs; bytes are the distinct inputs read plus the outputs written), and
signatures and shape classes are written exactly as shardplan builds them, so the entries join the
Java model's groups (op type and shape class, op type, category). Float32 matrix products run
without TF32 unless --tf32 is given (then they are recorded under dtype tf32).
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import sys

from gputiming import per_run_seconds

# Device profile names (cost-model/src/main/resources/org/shardplan/cost/devices) by GPU name.
DEVICE_NAMES = [("H200", "h200"), ("H100", "h100-sxm"), ("A100-SXM4-80GB", "a100-80gb"), ("A100 80GB", "a100-80gb"),
                ("A100", "a100-40gb"), ("V100", "v100"), ("2080 Ti", "rtx-2080ti"), ("1080 Ti", "gtx-1080ti")]

ELEM_BYTES = {"float32": 4, "tf32": 4, "float16": 2, "bfloat16": 2}


def shape_text(dims):
    return "[" + ",".join(str(d) for d in dims) + "]"


def value_text(dtype, dims, kind):
    # kind: a = activation fed at run time, p = weight; outputs have no suffix
    return ("float32" if dtype == "tf32" else dtype) + shape_text(dims) + kind


def signature(op, attrs, inputs, outputs):
    a = ";".join("%s=%s" % (k, attrs[k]) for k in sorted(attrs))
    return "%s|%s|%s|%s" % (op, a, ";".join(inputs), ";".join(outputs))


def numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


def ints(xs):
    return ",".join(str(x) for x in xs)


class Case:
    """One operator at one shape: what to run and how shardplan describes it."""

    def __init__(self, op, shape_class, attrs, ins, outs, flops, make):
        self.op, self.shape_class, self.attrs = op, shape_class, attrs
        self.ins, self.outs, self.flops, self.make = ins, outs, flops, make  # ins: (dims, kind)

    def bytes(self, eb):
        return eb * (sum(numel(d) for d, _ in self.ins) + sum(numel(d) for d in self.outs))

    def signature(self, dtype):
        return signature(self.op, self.attrs, [value_text(dtype, d, k) for d, k in self.ins],
                         [value_text(dtype, d, "") for d in self.outs])


def cases(quick):
    """The sweep: matrix products, convolutions, element-wise, normalizations, pooling, data movement."""
    out = []
    sizes = [256, 1024, 4096] if quick else [128, 256, 512, 1024, 2048, 4096, 8192]
    for m in sizes:
        for k, n in [(m, m), (m, 4 * m)] if m <= 4096 else [(m, m)]:
            out.append(Case("MatMul", "2d/weight", {}, [([m, k], "a"), ([k, n], "p")], [[m, n]], 2 * m * n * k,
                            lambda t, m=m, k=k, n=n: (lambda a, b: a @ b, [t(m, k), t(k, n)])))
    for b, s, d in ([(8, 512, 1024)] if quick else [(1, 128, 768), (8, 512, 1024), (16, 512, 4096), (32, 1024, 1024)]):
        out.append(Case("MatMul", "stacked/weight", {}, [([b, s, d], "a"), ([d, d], "p")], [[b, s, d]], 2 * b * s * d * d,
                        lambda t, b=b, s=s, d=d: (lambda x, w: x @ w, [t(b, s, d), t(d, d)])))
    for b, h, s, dh in ([(8, 16, 512, 64)] if quick else [(1, 12, 128, 64), (8, 16, 512, 64), (16, 32, 1024, 128)]):
        out.append(Case("MatMul", "batched/act", {}, [([b, h, s, dh], "a"), ([b, h, dh, s], "a")], [[b, h, s, s]],
                        2 * b * h * s * s * dh,
                        lambda t, b=b, h=h, s=s, dh=dh: (lambda q, k: q @ k, [t(b, h, s, dh), t(b, h, dh, s)])))
    for m, k, n in ([(1024, 1024, 1024)] if quick else [(256, 1024, 1024), (1024, 1024, 4096), (4096, 4096, 4096)]):
        out.append(Case("Gemm", "transB=1/weight", {"transB": 1}, [([m, k], "a"), ([n, k], "p"), ([n], "p")], [[m, n]],
                        2 * m * n * k + m * n,
                        lambda t, m=m, k=k, n=n: (lambda a, w, c: __import__("torch").nn.functional.linear(a, w, c),
                                                  [t(m, k), t(n, k), t(n)])))
    convs = [(32, 64, 56, 3, 1, 1), (32, 256, 14, 3, 1, 1), (32, 64, 56, 1, 1, 1), (32, 128, 28, 3, 2, 1),
             (32, 96, 112, 3, 1, 96), (32, 512, 7, 1, 1, 1)]
    for nb, c, hw, kk, st, g in (convs[:2] if quick else convs):
        cout = c if g == 1 else c
        pad = kk // 2
        ho = (hw + 2 * pad - kk) // st + 1
        y = [nb, cout, ho, ho]
        cls = "k%dx%d/s%d/%s" % (kk, kk, st, "dense" if g == 1 else "depthwise" if g == c else "grouped")
        attrs = {"dilations": "1,1", "group": g, "kernel_shape": ints([kk, kk]), "pads": ints([pad] * 4),
                 "strides": ints([st, st])}
        out.append(Case("Conv", cls, attrs, [([nb, c, hw, hw], "a"), ([cout, c // g, kk, kk], "p"), ([cout], "p")], [y],
                        2 * numel(y) * (c // g) * kk * kk + numel(y),
                        lambda t, nb=nb, c=c, hw=hw, kk=kk, st=st, g=g, pad=pad, cout=cout: (
                            lambda x, w, bias: __import__("torch").nn.functional.conv2d(x, w, bias, st, pad, 1, g),
                            [t(nb, c, hw, hw), t(cout, c // g, kk, kk), t(cout)])))
    elem = [1 << 16, 1 << 20, 1 << 24] if quick else [1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24, 1 << 26]
    unary = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Erf": "erf"}
    for n in elem:
        for op in ["Add", "Mul", "Div", "Sub"]:
            fn = {"Add": lambda a, b: a + b, "Mul": lambda a, b: a * b, "Div": lambda a, b: a / b,
                  "Sub": lambda a, b: a - b}[op]
            out.append(Case(op, "same", {}, [([n], "a"), ([n], "a")], [[n]], n,
                            lambda t, n=n, fn=fn: (fn, [t(n), t(n)])))
        rows = n // 1024
        out.append(Case("Add", "broadcast", {}, [([rows, 1024], "a"), ([1024], "p")], [[rows, 1024]], n,
                        lambda t, rows=rows: (lambda a, b: a + b, [t(rows, 1024), t(1024)])))
        for op, name in unary.items():
            out.append(Case(op, "same", {}, [([n], "a")], [[n]], n,
                            lambda t, n=n, name=name: (getattr(__import__("torch"), name), [t(n)])))
    for rows, d in ([(4096, 1024)] if quick else [(512, 768), (4096, 1024), (16384, 1024), (65536, 4096)]):
        x = [rows, d]
        out.append(Case("Softmax", "any", {"axis": -1}, [(x, "a")], [x], 5 * rows * d,
                        lambda t, rows=rows, d=d: (lambda a: a.softmax(-1), [t(rows, d)])))
        out.append(Case("LayerNormalization", "any", {"axis": -1, "epsilon": 1e-05},
                        [(x, "a"), ([d], "p"), ([d], "p")], [x], 8 * rows * d,
                        lambda t, rows=rows, d=d: (
                            lambda a, w, b: __import__("torch").nn.functional.layer_norm(a, (a.shape[-1],), w, b),
                            [t(rows, d), t(d), t(d)])))
        out.append(Case("ReduceMean", "any", {"axes": "-1"}, [(x, "a")], [[rows, 1]], rows * d,
                        lambda t, rows=rows, d=d: (lambda a: a.mean(-1, keepdim=True), [t(rows, d)])))
        out.append(Case("Transpose", "any", {"perm": "1,0"}, [(x, "a")], [[d, rows]], 0,
                        lambda t, rows=rows, d=d: (lambda a: a.t().contiguous(), [t(rows, d)])))
    for nb, c, hw in ([(32, 64, 56)] if quick else [(32, 64, 56), (32, 256, 28), (64, 512, 14)]):
        x = [nb, c, hw, hw]
        out.append(Case("BatchNormalization", "any", {"epsilon": 1e-05, "momentum": 0.9},
                        [(x, "a"), ([c], "p"), ([c], "p"), ([c], "p"), ([c], "p")], [x], 2 * numel(x),
                        lambda t, nb=nb, c=c, hw=hw: (
                            lambda a, w, b, m, v: __import__("torch").nn.functional.batch_norm(a, m, v, w, b),
                            [t(nb, c, hw, hw), t(c), t(c), t(c), t(c).abs()])))
        y = [nb, c, hw // 2, hw // 2]
        out.append(Case("MaxPool", "k3x3", {"kernel_shape": "3,3", "pads": "1,1,1,1", "strides": "2,2"}, [(x, "a")], [y],
                        numel(y) * 9,
                        lambda t, nb=nb, c=c, hw=hw: (
                            lambda a: __import__("torch").nn.functional.max_pool2d(a, 3, 2, 1), [t(nb, c, hw, hw)])))
        out.append(Case("GlobalAveragePool", "any", {}, [(x, "a")], [[nb, c, 1, 1]], numel(x),
                        lambda t, nb=nb, c=c, hw=hw: (lambda a: a.mean((2, 3), keepdim=True), [t(nb, c, hw, hw)])))
    return out


def device_name(gpu):
    for key, name in DEVICE_NAMES:
        if key in gpu:
            return name
    return None


def time_case(torch, case, dtype, warmup, repeats):
    tdt = {"float32": torch.float32, "tf32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]

    def t(*dims):
        return torch.randn(*dims, device="cuda", dtype=tdt)

    fn, args = case.make(t)
    with torch.no_grad():
        for _ in range(warmup):
            fn(*args)
        torch.cuda.synchronize()
        return per_run_seconds(torch, lambda: fn(*args), repeats)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="calibration file to write (default calibration/<device>-<date>.json)")
    p.add_argument("--device", help="shardplan device profile name (default: from the GPU's name)")
    p.add_argument("--dtype", action="append", choices=["float32", "float16", "bfloat16"],
                   help="data types to time (repeatable; default float32 and float16)")
    p.add_argument("--tf32", action="store_true", help="let float32 matrix products use TF32 (recorded as tf32)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--quick", action="store_true", help="a smaller sweep (a few minutes)")
    p.add_argument("--dry-run", action="store_true", help="list the cases and exit (no GPU needed)")
    a = p.parse_args()
    dtypes = a.dtype or ["float32", "float16"]
    todo = cases(a.quick)
    if a.dry_run:
        for c in todo:
            for dt in dtypes:
                print("%-20s %-18s %s" % (c.op, c.shape_class, c.signature(dt)))
        print("%d cases x %d data types" % (len(todo), len(dtypes)), file=sys.stderr)
        return 0
    import torch
    if not torch.cuda.is_available():
        print("gpu-calibrate: no CUDA device", file=sys.stderr)
        return 2
    gpu = torch.cuda.get_device_name(0)
    dev = a.device or device_name(gpu)
    if dev is None:
        print("gpu-calibrate: unknown GPU %r; give --device with a shardplan profile name" % gpu, file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    runtime = "torch %s cuda %s" % (torch.__version__, torch.version.cuda)
    fp = {"device": dev, "processor": gpu, "logicalCpus": os.cpu_count() or 0, "threads": 0,
          "runtime": runtime, "os": "%s %s" % (platform.system(), platform.machine())}
    ident = "|".join([fp["device"], fp["processor"], str(fp["logicalCpus"]), str(fp["threads"]), fp["runtime"], fp["os"]])
    fp = dict(id=hashlib.sha256(ident.encode()).hexdigest()[:12], **fp)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = {}
    total = len(todo) * len(dtypes)
    done = 0
    for dt in dtypes:
        for c in todo:
            done += 1
            rec_dt = "tf32" if (dt == "float32" and a.tf32 and c.op in ("MatMul", "Gemm", "Conv")) else dt
            try:
                s = time_case(torch, c, dt, a.warmup, a.repeats)
            except RuntimeError as e:  # out of memory or unsupported: nothing is written for it
                print("gpu-calibrate: %s %s skipped: %s" % (c.op, c.signature(dt), str(e).splitlines()[0]),
                      file=sys.stderr)
                torch.cuda.empty_cache()
                continue
            if not (s > 0 and math.isfinite(s)):
                continue
            sig = c.signature(dt)
            entries[sig] = {"signature": sig, "op": c.op, "shapeClass": c.shape_class, "dtype": rec_dt,
                            "flops": float(c.flops), "bytes": float(c.bytes(ELEM_BYTES[dt])), "seconds": s,
                            "repeats": a.repeats}
            print("[%d/%d] %-18s %-10s %10.1f us" % (done, total, c.op, dt, s * 1e6), file=sys.stderr)
    out = a.out or os.path.join("calibration", "%s-%s.json" % (dev, now[:10].replace("-", "")))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    doc = {"format": "shardplan-calibration/1", "fingerprint": fp, "created": now, "updated": now,
           "entries": [entries[k] for k in sorted(entries)]}
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(out + ".tmp", out)
    print("gpu-calibrate: %d entries for %s (%s) written to %s" % (len(entries), dev, gpu, out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
