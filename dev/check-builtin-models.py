#!/usr/bin/python3
"""Checks that the built-in decoder graphs compute GPT and Llama: runs the small models that
BuiltinModelsTest writes (frontend-onnx/target/builtin-models/*.onnx) with random weights and
compares their logits with plain numpy implementations of GPT-2 (pre-LayerNorm, exact GELU, tied
output layer) and Llama (RMSNorm, rotary embeddings, grouped-query attention, SwiGLU).

    mvn -B -o -pl frontend-onnx -am test-compile surefire:test -Dtest=BuiltinModelsTest -Dsurefire.failIfNoSpecifiedTests=false
    /usr/bin/python3 dev/check-builtin-models.py [DIR]

Needs numpy and onnx (Debian: python3-onnx); uses onnxruntime when it is installed, else the onnx
package's reference evaluator. The weights go into the external-data file the model names (which
does not exist otherwise) and are removed afterwards. Exits 1 when a difference exceeds 1e-4.
"""
import glob
import os
import sys
from math import erf, sqrt

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fill_weights(path, rng):
    """Writes random float32 weights (norm scales near 1) into the model's external-data file."""
    m = onnx.load(path, load_external_data=False)
    weights, chunks, loc = {}, [], None
    for t in m.graph.initializer:
        kv = {e.key: e.value for e in t.external_data}
        if "location" not in kv:
            continue
        loc = kv["location"]
        a = (rng.standard_normal(tuple(t.dims)) * 0.1).astype(np.float32)
        if "norm" in t.name or "ln_" in t.name:
            a = (1 + a).astype(np.float32)
        weights[t.name] = a
        chunks.append((int(kv["offset"]), a.tobytes()))
    data = os.path.join(os.path.dirname(path), loc)
    with open(data, "wb") as w:
        for off, b in chunks:
            w.seek(off)
            w.write(b)
    return weights, data


def run(path, ids, labels):
    """The model's outputs (logits, and the loss when the graph has one) for the ids and labels."""
    feeds = {"input_ids": ids}
    if any(i.name == "labels" for i in onnx.load(path, load_external_data=False).graph.input):
        feeds["labels"] = labels
    try:
        import onnxruntime as ort
        return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
    except ImportError:
        from onnx.reference import ReferenceEvaluator
        return ReferenceEvaluator(onnx.load(path)).run(None, feeds)


def cross_entropy(logits, labels):
    """Mean over the tokens of -log softmax(logits)[label], in float64."""
    x = logits.astype(np.float64)
    x = x - x.max(-1, keepdims=True)
    logp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return float(-np.take_along_axis(logp, labels[..., None], -1).mean())


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def causal(s):
    return np.where(np.arange(s)[None, :] > np.arange(s)[:, None], -3e38, 0).astype(np.float32)


def layer_norm(x, g, b):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * g + b


gelu = np.vectorize(lambda u: 0.5 * u * (1 + erf(u / sqrt(2))))


def gpt(w, ids, layers, heads):
    b, s = ids.shape
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:s]
    h = x.shape[-1]
    d = h // heads
    for i in range(layers):
        p = f"transformer.h.{i}."
        y = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"]) @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = [t.reshape(b, s, heads, d).transpose(0, 2, 1, 3) for t in np.split(y, 3, -1)]
        o = softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + causal(s)) @ v
        x = x + o.transpose(0, 2, 1, 3).reshape(b, s, h) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        u = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"]) @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
        x = x + gelu(u) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    return layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"]) @ w["transformer.wte.weight"].T


def rms_norm(x, g):
    return g * (x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5))


def llama(w, ids, layers, heads, kv):
    b, s = ids.shape
    x = w["model.embed_tokens.weight"][ids]
    h = x.shape[-1]
    d = h // heads
    inv = 1.0 / (10000.0 ** (np.arange(0, d, 2) / d))
    freqs = np.arange(s)[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], -1)
    cos, sin = np.cos(emb), np.sin(emb)

    def rotary(t):
        return t * cos + np.concatenate([-t[..., d // 2:], t[..., :d // 2]], -1) * sin

    for i in range(layers):
        p = f"model.layers.{i}."
        y = rms_norm(x, w[p + "input_layernorm.weight"])
        q = rotary((y @ w[p + "self_attn.q_proj.weight"]).reshape(b, s, heads, d).transpose(0, 2, 1, 3))
        k = rotary((y @ w[p + "self_attn.k_proj.weight"]).reshape(b, s, kv, d).transpose(0, 2, 1, 3))
        v = (y @ w[p + "self_attn.v_proj.weight"]).reshape(b, s, kv, d).transpose(0, 2, 1, 3)
        k = np.repeat(k, heads // kv, axis=1)
        v = np.repeat(v, heads // kv, axis=1)
        o = softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + causal(s)) @ v
        x = x + o.transpose(0, 2, 1, 3).reshape(b, s, h) @ w[p + "self_attn.o_proj.weight"]
        y = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        g = y @ w[p + "mlp.gate_proj.weight"]
        x = x + ((g / (1 + np.exp(-g))) * (y @ w[p + "mlp.up_proj.weight"])) @ w[p + "mlp.down_proj.weight"]
    return rms_norm(x, w["model.norm.weight"]) @ w["lm_head.weight"]


# The models BuiltinModelsTest writes: file name -> (reference, keyword arguments).
MODELS = {
    "gpt.onnx": (gpt, {"layers": 2, "heads": 4}),
    "llama-gqa.onnx": (llama, {"layers": 2, "heads": 8, "kv": 2}),
    "llama-mha.onnx": (llama, {"layers": 2, "heads": 4, "kv": 4}),
}


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "frontend-onnx/target/builtin-models")
    rng = np.random.default_rng(1)
    worst = 0.0
    found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, "*.onnx")))
    if not found:
        sys.exit(f"check-builtin-models: no models in {folder}; run BuiltinModelsTest first")
    for name in found:
        ref, kw = MODELS[name]
        path = os.path.join(folder, name)
        w, data = fill_weights(path, rng)
        try:
            ids = rng.integers(0, 100, size=(3, 32)).astype(np.int64)
            labels = rng.integers(0, 100, size=(3, 32)).astype(np.int64)
            out = run(path, ids, labels)
            logits = ref(w, ids, **kw)
            diff = float(np.abs(out[0] - logits).max())
            if len(out) > 1:
                # the loss: the graph's float32 cross-entropy against the reference's logits
                diff = max(diff, abs(float(out[1]) - cross_entropy(logits, labels)))
        finally:
            os.remove(data)
        worst = max(worst, diff)
        print(f"{name}: largest difference from the numpy reference {diff:.2e}")
    sys.exit(0 if worst <= 1e-4 else 1)


if __name__ == "__main__":
    main()
