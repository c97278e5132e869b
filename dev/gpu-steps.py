#!/usr/bin/env python3
"""Times whole training steps on one CUDA GPU, to check shardplan's predicted step of the same model
on one device (benchmarks/results/gpu-h200.md says how the two are compared).

    python3 dev/gpu-steps.py --out steps.json                 # every case
    python3 dev/gpu-steps.py --case gpt-1.7b-shape --out x.json
    python3 dev/gpu-steps.py --list                           # the cases and the shardplan command of each
    python3 dev/gpu-steps.py --smoke --out /tmp/s.json        # tiny shapes on the CPU: checks the script

The models are written here in plain torch.nn with the shapes, operators and parameters of
shardplan's built-in decoders (docs/models.md: GPT pre-LayerNorm with fused QKV, exact GELU, tied
embeddings; Llama with RMSNorm written out as Hugging Face writes it, rotary embeddings, SwiGLU,
grouped-query attention by repeating the KV heads) and torchvision's ResNet-50 (the model
dev/export-models.py exports). A step is what an eager PyTorch user runs: zero the gradients, the
forward pass to the loss, the backward pass, one fused AdamW step. Decoders run with
scaled_dot_product_attention (a FlashAttention-class kernel), either under bfloat16 autocast with
float32 parameters (precision "bf16-autocast") or held in bfloat16 ("bf16", the Llama then with
torch's fused rms_norm); some cases recompute each block in the backward pass (torch.utils.checkpoint)
or accumulate gradients over micro-batches. ResNet-50 runs in float32, once with TF32 off (what
shardplan's float32 rate prices) and once with PyTorch's defaults (cuDNN may use TF32 for
convolutions). Each case: --warmup steps, then the median of --steps steps timed with CUDA events, with
the forward (of the last micro-batch), backward (the rest) and optimizer parts, and the peak memory
PyTorch allocated.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def attention(q, k, v):
    """Causal attention of [B, a, S, d] tensors: the fused kernel where torch has it."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    s = q.shape[-2]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(s, s, dtype=torch.bool, device=q.device).triu(1)
    return scores.masked_fill(mask, float("-inf")).softmax(-1) @ v


class GptBlock(nn.Module):
    def __init__(self, h, a):
        super().__init__()
        self.a = a
        self.ln_1, self.ln_2 = nn.LayerNorm(h), nn.LayerNorm(h)
        self.c_attn, self.c_proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
        self.c_fc, self.mlp_proj = nn.Linear(h, 4 * h), nn.Linear(4 * h, h)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(h, dim=-1)
        q, k, v = (t.view(b, s, self.a, h // self.a).transpose(1, 2) for t in (q, k, v))
        y = attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, layers, h, a, seq, vocab):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, h), nn.Embedding(seq, h)
        self.h = nn.ModuleList(GptBlock(h, a) for _ in range(layers))
        self.recompute = False  # activation recomputation: each block's forward again in the backward pass
        self.ln_f = nn.LayerNorm(h)

    def forward(self, ids, labels):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for blk in self.h:
            x = checkpoint(blk, x, use_reentrant=False) if self.recompute else blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied output layer
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))


class RmsNorm(nn.Module):
    """Written out as Hugging Face's LlamaRMSNorm (float32 variance, rsqrt, two products), or, fused,
    torch's own rms_norm (one kernel each way where torch has one)."""

    def __init__(self, h, eps=1e-5, fused=False):
        super().__init__()
        self.weight, self.eps, self.fused = nn.Parameter(torch.ones(h)), eps, fused

    def forward(self, x):
        if self.fused:
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, h, a, kv, ffn, fused_norm=False):
        super().__init__()
        self.a, self.kv, self.d = a, kv, h // a
        self.input_layernorm = RmsNorm(h, fused=fused_norm)
        self.post_attention_layernorm = RmsNorm(h, fused=fused_norm)
        self.q_proj = nn.Linear(h, h, bias=False)
        self.k_proj = nn.Linear(h, kv * self.d, bias=False)
        self.v_proj = nn.Linear(h, kv * self.d, bias=False)
        self.o_proj = nn.Linear(h, h, bias=False)
        self.gate_proj = nn.Linear(h, ffn, bias=False)
        self.up_proj = nn.Linear(h, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, h, bias=False)

    def forward(self, x, cos, sin):
        b, s, h = x.shape
        y = self.input_layernorm(x)
        q = self.q_proj(y).view(b, s, self.a, self.d).transpose(1, 2)
        k = self.k_proj(y).view(b, s, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(y).view(b, s, self.kv, self.d).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.a // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        x = x + self.o_proj(attention(q, k, v).transpose(1, 2).reshape(b, s, h))
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class Llama(nn.Module):
    def __init__(self, layers, h, a, kv, ffn, seq, vocab, fused_norm=False):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, h)
        self.layers = nn.ModuleList(LlamaBlock(h, a, kv, ffn, fused_norm) for _ in range(layers))
        self.recompute = False
        self.norm = RmsNorm(h, fused=fused_norm)
        self.lm_head = nn.Linear(h, vocab, bias=False)
        d = h // a
        inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
        ang = torch.outer(torch.arange(seq).float(), inv)
        emb = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids, labels):
        s = ids.shape[1]
        dt = self.embed_tokens.weight.dtype  # float32 under autocast (as Hugging Face's), else the weights' type
        cos, sin = self.cos[:s].to(dt), self.sin[:s].to(dt)
        x = self.embed_tokens(ids)
        for blk in self.layers:
            x = checkpoint(blk, x, cos, sin, use_reentrant=False) if self.recompute else blk(x, cos, sin)
        logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))


class Case:
    def __init__(self, name, kind, shardplan, batch, make, dims, precision, tf32=False, recompute=False,
                 micro_batches=1):
        self.name, self.kind, self.shardplan, self.batch = name, kind, shardplan, batch
        self.make, self.dims, self.precision, self.tf32 = make, dims, precision, tf32
        self.recompute, self.micro_batches = recompute, micro_batches


def cases():
    out = []
    for name, L, h, a, s, b in [("gpt-small", 12, 768, 12, 1024, 16),
                                ("gpt-1.7b-shape", 24, 2304, 24, 2048, 8),
                                ("gpt-wide", 8, 4096, 32, 2048, 8)]:
        spec = "builtin:gpt?layers=%d,hidden=%d,heads=%d,seq=%d,dtype=bf16" % (L, h, a, s)
        out.append(Case(name, "lm", spec, b, lambda L=L, h=h, a=a, s=s: Gpt(L, h, a, s, 51200),
                        {"seq": s, "vocab": 51200}, "bf16-autocast"))
    for name, L, h, a, kv, ffn, s, b in [("llama-8-layers", 8, 4096, 32, 8, 14336, 4096, 4)]:
        spec = "builtin:llama?layers=%d,hidden=%d,heads=%d,kv-heads=%d,ffn=%d,seq=%d" % (L, h, a, kv, ffn, s)
        out.append(Case(name, "lm", spec, b, lambda L=L, h=h, a=a, kv=kv, ffn=ffn, s=s: Llama(L, h, a, kv, ffn, s, 32000),
                        {"seq": s, "vocab": 32000}, "bf16-autocast"))
    # The same decoders held in bfloat16 (no casts of the weights at each use, as stacks that keep float32
    # master weights in the optimizer run them), Llama with torch's fused rms_norm; and other batch sizes.
    for name, L, h, a, s, b in [("gpt-1.7b-shape-bf16", 24, 2304, 24, 2048, 8), ("gpt-1.7b-shape-bf16-b16", 24, 2304, 24, 2048, 16),
                                ("gpt-small-bf16-b32", 12, 768, 12, 1024, 32)]:
        spec = "builtin:gpt?layers=%d,hidden=%d,heads=%d,seq=%d,dtype=bf16" % (L, h, a, s)
        out.append(Case(name, "lm", spec, b, lambda L=L, h=h, a=a, s=s: Gpt(L, h, a, s, 51200),
                        {"seq": s, "vocab": 51200}, "bf16"))
    for name, L, h, a, kv, ffn, s, b in [("llama-8-layers-bf16-fused-norm", 8, 4096, 32, 8, 14336, 4096, 4),
                                         ("llama-8-layers-bf16-fused-norm-b8", 8, 4096, 32, 8, 14336, 4096, 8)]:
        spec = "builtin:llama?layers=%d,hidden=%d,heads=%d,kv-heads=%d,ffn=%d,seq=%d" % (L, h, a, kv, ffn, s)
        out.append(Case(name, "lm", spec, b,
                        lambda L=L, h=h, a=a, kv=kv, ffn=ffn, s=s: Llama(L, h, a, kv, ffn, s, 32000, fused_norm=True),
                        {"seq": s, "vocab": 32000}, "bf16"))
    # activation recomputation (each block checkpointed) and gradient accumulation, in bfloat16
    g17 = "builtin:gpt?layers=24,hidden=2304,heads=24,seq=2048,dtype=bf16"
    l8 = "builtin:llama?layers=8,hidden=4096,heads=32,kv-heads=8,ffn=14336,seq=4096"
    out.append(Case("gpt-1.7b-shape-bf16-recompute", "lm", g17, 8, lambda: Gpt(24, 2304, 24, 2048, 51200),
                    {"seq": 2048, "vocab": 51200}, "bf16", recompute=True))
    out.append(Case("gpt-1.7b-shape-bf16-b16-m4", "lm", g17, 16, lambda: Gpt(24, 2304, 24, 2048, 51200),
                    {"seq": 2048, "vocab": 51200}, "bf16", micro_batches=4))
    out.append(Case("llama-8-layers-bf16-fused-norm-recompute", "lm", l8, 4,
                    lambda: Llama(8, 4096, 32, 8, 14336, 4096, 32000, fused_norm=True), {"seq": 4096, "vocab": 32000},
                    "bf16", recompute=True))
    # a whole preset: Llama 3 8B (32 layers, vocabulary 128,256, sequence 8,192), one sequence a step, recomputed and
    # not (without recomputation it may not fit: the case then records its error)
    for name, rc in [("llama3-8b-bf16-recompute", True), ("llama3-8b-bf16", False)]:
        out.append(Case(name, "lm", "builtin:llama3-8b", 1,
                        lambda: Llama(32, 4096, 32, 8, 14336, 8192, 128256, fused_norm=True), {"seq": 8192, "vocab": 128256},
                        "bf16", recompute=rc))
    import_tv = lambda: __import__("torchvision").models.resnet50(weights=None)
    out.append(Case("resnet50-fp32", "image", "build-data/models/resnet50.onnx", 128, import_tv, {"hw": 224},
                    "float32", tf32=False))
    out.append(Case("resnet50-fp32-tf32", "image", "build-data/models/resnet50.onnx", 128, import_tv, {"hw": 224},
                    "float32 (PyTorch defaults: cuDNN TF32 on)", tf32=True))
    return out


def smoke_cases():
    """The same code at tiny shapes, for a CPU check of the script."""
    return [Case("gpt-tiny", "lm", "-", 2, lambda: Gpt(2, 64, 4, 32, 512), {"seq": 32, "vocab": 512}, "float32"),
            Case("gpt-tiny-recompute-m2", "lm", "-", 4, lambda: Gpt(2, 64, 4, 32, 512), {"seq": 32, "vocab": 512},
                 "float32", recompute=True, micro_batches=2),
            Case("llama-tiny", "lm", "-", 2, lambda: Llama(2, 64, 4, 2, 128, 32, 512), {"seq": 32, "vocab": 512},
                 "float32"),
            Case("resnet-tiny", "image", "-", 2, lambda: __import__("torchvision").models.resnet18(weights=None),
                 {"hw": 64}, "float32")]


def run_case(c, dev, warmup, steps, profile=None):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = c.tf32
    torch.backends.cudnn.benchmark = True
    if hasattr(torch, "get_default_device"):  # torch >= 2.3: build on the device (a CPU init of 2B parameters is slow)
        with torch.device(dev):
            model = c.make()
    else:
        model = c.make().to(dev)
    if c.precision == "bf16" and dev.type == "cuda":
        model = model.to(torch.bfloat16)
    if c.recompute:
        model.recompute = True
    params = sum(p.numel() for p in model.parameters())
    kw = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, **kw)
    if c.kind == "lm":
        ids = torch.randint(0, c.dims["vocab"], (c.batch, c.dims["seq"]), device=dev)
        labels = torch.randint(0, c.dims["vocab"], (c.batch, c.dims["seq"]), device=dev)
        step_in = lambda j=0: model(*(t.chunk(c.micro_batches)[j] for t in (ids, labels)))
    else:
        x = torch.randn(c.batch, 3, c.dims["hw"], c.dims["hw"], device=dev)
        y = torch.randint(0, 1000, (c.batch,), device=dev)
        step_in = lambda j=0: F.cross_entropy(model(x.chunk(c.micro_batches)[j]), y.chunk(c.micro_batches)[j])
    bf16 = c.precision.startswith("bf16") and dev.type == "cuda"
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rows = []
    for i in range(warmup + steps):
        if cuda:
            ev = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
        t = []
        mark = (lambda k: ev[k].record()) if cuda else (lambda k: t.append(time.perf_counter()))
        mark(0)
        opt.zero_grad(set_to_none=True)
        # with micro-batches (gradient accumulation), the forward and backward of all but the last one are
        # counted in the backward part
        for j in range(c.micro_batches):
            if bf16:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = step_in(j) / c.micro_batches
            else:
                loss = step_in(j) / c.micro_batches
            if j == c.micro_batches - 1:
                mark(1)
            loss.backward()
        mark(2)
        opt.step()
        mark(3)
        if cuda:
            ev[3].synchronize()
            t = [0.0] + [ev[0].elapsed_time(ev[k]) / 1000.0 for k in (1, 2, 3)]
        else:
            t = [x - t[0] for x in t]
        if not math.isfinite(loss.item()):
            raise RuntimeError("loss is not finite")
        if i >= warmup:
            rows.append((t[3], t[1], t[2] - t[1], t[3] - t[2]))
    if profile and dev.type == "cuda":  # one more step under the profiler: where the time goes, by kernel
        from torch.profiler import profile as prof, ProfilerActivity
        with prof(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as pr:
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                loss = step_in()
            loss.backward()
            opt.step()
            torch.cuda.synchronize()
        with open(profile, "a") as f:
            f.write("== %s (batch %d, %s)\n" % (c.name, c.batch, c.precision))
            try:
                table = pr.key_averages().table(sort_by="self_device_time_total", row_limit=40, max_name_column_width=60)
            except (KeyError, AttributeError, RuntimeError):  # older torch names the column after CUDA
                table = pr.key_averages().table(sort_by="self_cuda_time_total", row_limit=40, max_name_column_width=60)
            f.write(table)
            f.write("\n")
    med = lambda j: statistics.median(r[j] for r in rows)
    res = {"case": c.name, "shardplan": c.shardplan, "batch": c.batch, "precision": c.precision,
           "recompute": c.recompute, "microBatches": c.micro_batches,
           "parameters": params, "stepSeconds": med(0), "forwardSeconds": med(1), "backwardSeconds": med(2),
           "optimizerSeconds": med(3), "steps": [r[0] for r in rows],
           "peakAllocatedBytes": torch.cuda.max_memory_allocated() if cuda else None}
    del model, opt
    if cuda:
        torch.cuda.empty_cache()
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="JSON file to write (default: standard output)")
    p.add_argument("--case", action="append", help="run only this case (repeatable)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--profile", help="append each case's kernel table (one profiled step) to this file")
    p.add_argument("--list", action="store_true", help="list the cases and their shardplan models")
    p.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU (checks the script)")
    a = p.parse_args()
    todo = smoke_cases() if a.smoke else cases()
    if a.case:
        unknown = set(a.case) - {c.name for c in todo}
        if unknown:
            print("gpu-steps: unknown case %s; known: %s" % (", ".join(sorted(unknown)),
                                                            ", ".join(c.name for c in todo)), file=sys.stderr)
            return 2
        todo = [c for c in todo if c.name in a.case]
    if a.list:
        for c in todo:
            print("%-20s batch %-4d %-44s %s" % (c.name, c.batch, c.precision, c.shardplan))
        return 0
    if a.smoke:
        dev = torch.device("cpu")
    elif not torch.cuda.is_available():
        print("gpu-steps: no CUDA device", file=sys.stderr)
        return 2
    else:
        dev = torch.device("cuda")
    doc = {"format": "shardplan-gpu-steps/1", "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
           "runtime": "torch %s cuda %s" % (torch.__version__, torch.version.cuda),
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "warmup": a.warmup, "cases": []}
    if dev.type == "cuda":
        free, total = torch.cuda.mem_get_info()
        doc["memoryBytes"] = total
    for c in todo:
        try:
            r = run_case(c, dev, a.warmup, a.steps, a.profile)
        except (RuntimeError, torch.cuda.OutOfMemoryError if hasattr(torch.cuda, "OutOfMemoryError") else RuntimeError) as e:
            print("gpu-steps: %s failed: %s" % (c.name, str(e).splitlines()[0]), file=sys.stderr)
            doc["cases"].append({"case": c.name, "error": str(e).splitlines()[0]})
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            continue
        doc["cases"].append(r)
        print("%-20s step %8.2f ms (fwd %.2f, bwd %.2f, opt %.2f), peak %s" % (
            c.name, r["stepSeconds"] * 1e3, r["forwardSeconds"] * 1e3, r["backwardSeconds"] * 1e3,
            r["optimizerSeconds"] * 1e3,
            "%.1f GiB" % (r["peakAllocatedBytes"] / 2 ** 30) if r["peakAllocatedBytes"] else "-"), file=sys.stderr)
        if a.out:  # written after every case, so that a run cut short keeps what it measured
            with open(a.out, "w") as f:
                json.dump(doc, f, indent=2)
    text = json.dumps(doc, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
