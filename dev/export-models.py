#!/usr/bin/python3
"""Exports the PyTorch models shardplan's tests and defaults use to ONNX, with random weights.

Run with Debian's python3 (python3-torch, python3-torchvision; nothing is downloaded):

    /usr/bin/python3 dev/export-models.py --out build-data/models      # test models (git-ignored)
    /usr/bin/python3 dev/export-models.py --bundled cli/src/main/resources/models   # the two defaults
    /usr/bin/python3 dev/export-models.py --survey build-data/survey     # models no test uses (surveys)
    /usr/bin/python3 dev/export-models.py --survey-deep build-data/survey-deep   # deeper ones (1,000-2,600 nodes)
    /usr/bin/python3 dev/export-models.py --other build-data/other       # detection, video, optical flow, more (robustness)

Every model gets dynamic axes (batch, and sequence for the sequence models), so that shapes stay
symbolic in the file and must be bound with --dim when inspected. A model already present is kept.
Seeds are fixed, so the exported files are reproducible for a given torch version.
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn


class Encoder(nn.Module):
    """A small transformer encoder written with plain matmuls (the bundled default 'transformer')."""

    def __init__(self, vocab=1000, d=64, heads=4, ff=256, layers=4, max_len=512):
        super().__init__()
        self.heads = heads
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(max_len, d)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict({
                "qkv": nn.Linear(d, 3 * d), "out": nn.Linear(d, d), "ln1": nn.LayerNorm(d),
                "ff1": nn.Linear(d, ff), "ff2": nn.Linear(ff, d), "ln2": nn.LayerNorm(d)}))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        b, s = ids.shape
        pos = torch.arange(s, device=ids.device).unsqueeze(0)
        x = self.tok(ids) + self.pos(pos)
        d = x.shape[-1]
        h = self.heads
        for l in self.layers:
            q, k, v = l["qkv"](x).split(d, dim=-1)
            q = q.reshape(b, s, h, d // h).transpose(1, 2)
            k = k.reshape(b, s, h, d // h).transpose(1, 2)
            v = v.reshape(b, s, h, d // h).transpose(1, 2)
            att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // h), dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, d)
            x = l["ln1"](x + l["out"](y))
            x = l["ln2"](x + l["ff2"](torch.nn.functional.gelu(l["ff1"](x))))
        return self.head(self.norm(x))


class SmallCnn(nn.Module):
    """A small residual CNN for 32x32 images (the bundled default 'cnn')."""

    def __init__(self, classes=10):
        super().__init__()

        def block(cin, cout, stride):
            return nn.ModuleDict({
                "c1": nn.Conv2d(cin, cout, 3, stride, 1, bias=False), "b1": nn.BatchNorm2d(cout),
                "c2": nn.Conv2d(cout, cout, 3, 1, 1, bias=False), "b2": nn.BatchNorm2d(cout),
                "sc": nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else nn.Identity()})

        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.blocks = nn.ModuleList([block(16, 16, 1), block(16, 16, 1), block(16, 32, 2), block(32, 32, 1),
                                     block(32, 64, 2), block(64, 64, 1)])
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        for b in self.blocks:
            y = torch.relu(b["b1"](b["c1"](x)))
            y = b["b2"](b["c2"](y))
            x = torch.relu(y + b["sc"](x))
        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class LstmLm(nn.Module):
    """A two-layer LSTM language model."""

    def __init__(self, vocab=5000, d=256, hidden=512):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, num_layers=2)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids):  # ids: [seq, batch]
        y, _ = self.lstm(self.emb(ids))
        return self.out(y)


class Seq2Seq(nn.Module):
    """torch.nn.Transformer with token embeddings."""

    def __init__(self, vocab=1000, d=128):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.t = nn.Transformer(d_model=d, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                                dim_feedforward=256, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, vocab)

    def forward(self, src, tgt):
        return self.out(self.t(self.emb(src), self.emb(tgt)))


class RmsNorm(nn.Module):
    """RMSNorm written out (Zhang and Sennrich, 2019): x / sqrt(mean(x^2) + eps) * weight."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    # The half size is read from the tensor, as Hugging Face's Llama does; the exporter then no longer knows
    # the KV head count, and repeat_interleave becomes SplitToSequence / Loop / ConcatFromSequence.
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LlamaLike(nn.Module):
    """A small Llama-style decoder (Touvron et al., 2023): RMSNorm before each sublayer, rotary position
    embeddings (Su et al., 2021), a SwiGLU MLP (Shazeer, 2020) and grouped-query attention (Ainslie et al.,
    2023) whose KV heads are repeated for the query heads with repeat_interleave (Hugging Face's repeat_kv
    computes the same with expand and reshape). torch 1.13 writes the Reshape of that export with zeros that
    count the axes before its Unsqueeze; shardplan reads them as torch meant (frontend-onnx Lowering)."""

    def __init__(self, vocab=1000, d=256, heads=8, kv_heads=2, ff=688, layers=4, rope_base=10000.0):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.tok = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict({
                "attn_norm": RmsNorm(d),
                "q": nn.Linear(d, heads * self.hd, bias=False),
                "k": nn.Linear(d, kv_heads * self.hd, bias=False),
                "v": nn.Linear(d, kv_heads * self.hd, bias=False),
                "o": nn.Linear(heads * self.hd, d, bias=False),
                "mlp_norm": RmsNorm(d),
                "gate": nn.Linear(d, ff, bias=False),
                "up": nn.Linear(d, ff, bias=False),
                "down": nn.Linear(ff, d, bias=False)}))
        self.norm = RmsNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("inv_freq", 1.0 / rope_base ** (torch.arange(0, self.hd, 2).float() / self.hd),
                             persistent=False)

    def forward(self, ids):
        b, s = ids.shape
        t = torch.arange(s, device=ids.device).float()
        freqs = torch.outer(t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((s, s), float("-inf"), device=ids.device).triu(1)
        x = self.tok(ids)
        rep = self.heads // self.kv_heads
        for l in self.layers:
            h = l["attn_norm"](x)
            q = l["q"](h).view(b, s, self.heads, self.hd).transpose(1, 2)
            k = l["k"](h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
            v = l["v"](h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.hd) + mask, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, self.heads * self.hd)
            x = x + l["o"](y)
            h = l["mlp_norm"](x)
            x = x + l["down"](torch.nn.functional.silu(l["gate"](h)) * l["up"](h))
        return self.head(self.norm(x))


class Gpt2Style(nn.Module):
    """A GPT-2-style decoder (Radford et al., 2019): pre-LN layers, one fused QKV projection split into
    Q, K and V, a causal mask, tanh GELU, the output layer tied to the token embedding; narrower than
    GPT-2 small (d 256, 8 heads, 4 layers) with Megatron's padded vocabulary of 50304."""

    def __init__(self, vocab=50304, d=256, heads=8, ff=1024, layers=4, ctx=1024):
        super().__init__()
        self.heads = heads
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.ModuleList()
        for _ in range(layers):
            self.h.append(nn.ModuleDict({
                "ln_1": nn.LayerNorm(d), "c_attn": nn.Linear(d, 3 * d), "c_proj": nn.Linear(d, d),
                "ln_2": nn.LayerNorm(d), "c_fc": nn.Linear(d, ff), "mlp_proj": nn.Linear(ff, d)}))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    def forward(self, ids):
        b, s = ids.shape
        pos = torch.arange(s, device=ids.device).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        d = x.shape[-1]
        nh = self.heads
        for l in self.h:
            q, k, v = l["c_attn"](l["ln_1"](x)).split(d, dim=2)
            q = q.view(b, s, nh, d // nh).transpose(1, 2)
            k = k.view(b, s, nh, d // nh).transpose(1, 2)
            v = v.view(b, s, nh, d // nh).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // nh))
            att = torch.softmax(att.masked_fill(self.mask[:, :, :s, :s] == 0, float("-inf")), dim=-1)
            x = x + l["c_proj"]((att @ v).transpose(1, 2).reshape(b, s, d))
            x = x + l["mlp_proj"](torch.nn.functional.gelu(l["c_fc"](l["ln_2"](x)), approximate="tanh"))
        return self.lm_head(self.ln_f(x))


class RelPosAttention(nn.Module):
    """One MViT-style attention block (Li et al., "MViTv2", CVPR 2022): a class token, the query normalised and scaled,
    and a relative-position term added to the scores of the tokens by a slice assignment (torch exports it as a
    ScatterND whose indices it builds from Range, Expand and Concat); narrow (d 32, 2 heads, 64 tokens)."""

    def __init__(self, d=32, heads=2, tokens=64):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.norm_q = nn.LayerNorm(d // heads)
        self.rel = nn.Parameter(torch.randn(heads, tokens, tokens) * 0.02)
        self.proj = nn.Linear(d, d)
        self.scale = (d // heads) ** -0.5

    def forward(self, x):  # x: [batch, 1 + tokens, d]
        b, t, d = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = self.norm_q(q) * self.scale
        attn = q @ k.transpose(-2, -1)
        attn[:, :, 1:, 1:] = attn[:, :, 1:, 1:] + self.rel
        y = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        return x + self.proj(y)


class KMaxTextCnn(nn.Module):
    """A text CNN with k-max pooling (Kalchbrenner et al., "A Convolutional Neural Network for Modelling Sentences", ACL
    2014): per channel the k largest activations, in their order (TopK, Sort, GatherElements), and a copy scattered
    back in place (ScatterElements); embedding 64, 128 channels, k 8."""

    def __init__(self, vocab=1000, d=64, channels=128, k=8, classes=10):
        super().__init__()
        self.k = k
        self.emb = nn.Embedding(vocab, d)
        self.conv = nn.Conv1d(d, channels, 5, padding=2)
        self.fc = nn.Linear(channels * k, classes)

    def forward(self, ids):  # ids: [batch, seq]
        h = torch.relu(self.conv(self.emb(ids).transpose(1, 2)))
        top = h.topk(self.k, dim=2).indices.sort(dim=2).values
        kept = h.gather(2, top)
        mask = torch.zeros_like(h).scatter(2, top, kept)
        return self.fc(kept.flatten(1)) + mask.mean()


class SmallUNet(nn.Module):
    """A small U-Net (Ronneberger et al., 2015): an encoder of double 3x3 convolutions with max
    pooling, a decoder of transposed convolutions, each decoder level concatenating the encoder's
    output at the same resolution (the skip connections); 3 levels below the top, 16 base channels."""

    def __init__(self, cin=3, classes=2, base=16, depth=3):
        super().__init__()

        def double(ci, co):
            return nn.Sequential(nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU(),
                                 nn.Conv2d(co, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.ReLU())

        chans = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([double(cin, chans[0])] +
                                  [double(chans[i], chans[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.dec = nn.ModuleList([double(2 * chans[i], chans[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, d in enumerate(self.down):
            x = d(x if i == 0 else torch.nn.functional.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


def image_model(name):
    import torchvision.models as tv
    kwargs = {"weights": None}
    if name == "inception_v3":
        kwargs.update(aux_logits=False, init_weights=False)
    return getattr(tv, name)(**kwargs)


def export(model, args, names, dynamic, path, opset, export_params=True):
    if os.path.exists(path):
        print(f"export-models: {path} exists, kept", file=sys.stderr)
        return
    model.eval()
    tmp = path + ".tmp"
    # Gradients stay enabled: torch.nn's transformer layers otherwise take a fused fast path that
    # has no ONNX export.
    with torch.enable_grad():
        torch.onnx.export(model, args, tmp, input_names=names[0], output_names=names[1],
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True,
                          export_params=export_params)
    os.replace(tmp, path)
    print(f"export-models: wrote {path} ({os.path.getsize(path)} bytes, opset {opset})", file=sys.stderr)


def bundled(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1)
    ids = torch.randint(0, 1000, (2, 16))
    export(Encoder(), (ids,), (["input_ids"], ["logits"]),
           {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
           os.path.join(out, "transformer.onnx"), 17)
    torch.manual_seed(2)
    export(SmallCnn(), (torch.randn(2, 3, 32, 32),), (["image"], ["logits"]),
           {"image": {0: "batch"}, "logits": {0: "batch"}}, os.path.join(out, "cnn.onnx"), 13)


def test_models(out):
    os.makedirs(out, exist_ok=True)
    img = {"image": {0: "batch"}, "logits": {0: "batch"}}
    for name, opset, size in [("resnet18", 11, 224), ("resnet50", 13, 224), ("alexnet", 9, 224),
                              ("vgg11", 13, 224), ("inception_v3", 13, 299), ("mobilenet_v2", 12, 224),
                              ("densenet121", 13, 224), ("squeezenet1_0", 13, 224)]:
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            print(f"export-models: {path} exists, kept", file=sys.stderr)
            continue
        torch.manual_seed(3)
        export(image_model(name), (torch.randn(2, 3, size, size),), (["image"], ["logits"]), img, path, opset)
    # The same AlexNet without its weights (export_params=False): every parameter is a graph input.
    torch.manual_seed(3)
    export(image_model("alexnet"), (torch.randn(2, 3, 224, 224),), (["image"], ["logits"]), img,
           os.path.join(out, "alexnet_no_weights.onnx"), 9, export_params=False)
    # RegNetY-3.2GF (345 ONNX nodes) without its weights (78 KB instead of 78 MB): at 32 A100s, batch 64, the fastest
    # one-stage plan hides a faster pipeline unless the pipelines' reported plans are sought (OtherPipelinesReportedTest).
    torch.manual_seed(3)
    export(image_model("regnet_y_3_2gf"), (torch.randn(2, 3, 224, 224),), (["image"], ["logits"]), img,
           os.path.join(out, "regnet_y_3_2gf_no_weights.onnx"), 13, export_params=False)
    # MnasNet 0.5 (166 ONNX nodes) without its weights: at batch 64 on 32 A100s its four-stage plan was slower than the
    # two-stage one on 16, which copies of fewer devices a stage keep (MoreDevicesWithPipelinesTest).
    torch.manual_seed(3)
    export(image_model("mnasnet0_5"), (torch.randn(2, 3, 224, 224),), (["image"], ["logits"]), img,
           os.path.join(out, "mnasnet0_5_no_weights.onnx"), 13, export_params=False)
    torch.manual_seed(4)
    export(LstmLm(), (torch.randint(0, 5000, (12, 2)),), (["ids"], ["logits"]),
           {"ids": {0: "seq", 1: "batch"}, "logits": {0: "seq", 1: "batch"}},
           os.path.join(out, "lstm_lm.onnx"), 13)
    torch.manual_seed(5)
    export(Seq2Seq(), (torch.randint(0, 1000, (2, 10)), torch.randint(0, 1000, (2, 7))),
           (["src", "tgt"], ["logits"]),
           {"src": {0: "batch", 1: "src_seq"}, "tgt": {0: "batch", 1: "tgt_seq"},
            "logits": {0: "batch", 1: "tgt_seq"}},
           os.path.join(out, "transformer_seq2seq.onnx"), 14)
    # A Llama-style decoder; its repeat_interleave becomes SplitToSequence / Loop / ConcatFromSequence.
    torch.manual_seed(6)
    export(LlamaLike(), (torch.randint(0, 1000, (2, 16)),), (["input_ids"], ["logits"]),
           {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
           os.path.join(out, "llama_gqa.onnx"), 14)
    torch.manual_seed(6)
    export(LlamaLike(), (torch.randint(0, 1000, (2, 16)),), (["input_ids"], ["logits"]),
           {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
           os.path.join(out, "llama_gqa_no_weights.onnx"), 14, export_params=False)
    torch.manual_seed(6)
    export(Gpt2Style(), (torch.randint(0, 50304, (2, 16)),), (["input_ids"], ["logits"]),
           {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
           os.path.join(out, "gpt2_style.onnx"), 17)
    torch.manual_seed(8)
    export(RelPosAttention(), (torch.randn(2, 65, 32),), (["tokens"], ["out"]),
           {"tokens": {0: "batch"}, "out": {0: "batch"}}, os.path.join(out, "relpos_attention.onnx"), 16)
    torch.manual_seed(9)
    export(KMaxTextCnn(), (torch.randint(0, 1000, (2, 64)),), (["ids"], ["logits"]),
           {"ids": {0: "batch"}, "logits": {0: "batch"}}, os.path.join(out, "kmax_textcnn.onnx"), 13)
    torch.manual_seed(7)
    export(SmallUNet(), (torch.randn(2, 3, 128, 128),), (["image"], ["mask"]),
           {"image": {0: "batch"}, "mask": {0: "batch"}}, os.path.join(out, "unet_small.onnx"), 13)


# torchvision models no test uses, for surveys of how the planner does on models it was not tuned on
# (benchmarks/results/model-survey.md): name (a sub-package and a colon where it is not the top one), input shape
SURVEY = [("efficientnet_b0", (2, 3, 224, 224)), ("squeezenet1_0", (2, 3, 224, 224)),
          ("shufflenet_v2_x1_0", (2, 3, 224, 224)), ("googlenet", (2, 3, 224, 224)),
          ("regnet_y_400mf", (2, 3, 224, 224)), ("mnasnet0_5", (2, 3, 224, 224)), ("convnext_tiny", (2, 3, 224, 224)),
          ("vit_b_16", (2, 3, 224, 224)), ("swin_t", (2, 3, 224, 224)),
          ("segmentation:lraspp_mobilenet_v3_large", (2, 3, 224, 224)),
          ("segmentation:deeplabv3_mobilenet_v3_large", (2, 3, 224, 224)), ("video:r3d_18", (2, 3, 8, 112, 112))]


# deeper variants (many more ONNX nodes: 1,000-2,600), for the same survey's question at the node counts the dense-graph
# goal names (models of up to 2,000 ONNX nodes)
SURVEY_DEEP = [("densenet201", (2, 3, 224, 224)), ("resnet152", (2, 3, 224, 224)), ("efficientnet_b4", (2, 3, 224, 224)),
               ("convnext_small", (2, 3, 224, 224)), ("swin_s", (2, 3, 224, 224)), ("regnet_y_3_2gf", (2, 3, 224, 224))]


def survey_models(out, models=SURVEY):
    import torchvision.models as tv
    os.makedirs(out, exist_ok=True)
    for name, shape in models:
        pkg, _, fn = name.rpartition(":")
        factory = getattr(getattr(tv, pkg) if pkg else tv, fn)
        kwargs = {"weights": None}
        if pkg == "segmentation":
            kwargs["weights_backbone"] = None
        if fn == "googlenet":
            kwargs.update(aux_logits=False, init_weights=False)
        torch.manual_seed(8)
        export(factory(**kwargs), (torch.randn(*shape),), (["image"], ["logits"]),
               {"image": {0: "batch"}, "logits": {0: "batch"}}, os.path.join(out, fn + ".onnx"), 14)


# torchvision models of other kinds, for how the planner takes exports nobody tuned it on (benchmarks/results/import.md,
# "Other kinds of export"): detection models (a list of images in, boxes out: NonMaxSuppression, RoiAlign, TopK, If and
# Loop; the image [3, height, width] has no batch axis), video models and an optical-flow model (grid sampling)
OTHER_DETECTION = ["fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large", "retinanet_resnet50_fpn",
                   "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "fcos_resnet50_fpn"]
OTHER_VIDEO = [("mvit_v2_s", (1, 3, 16, 224, 224)), ("r2plus1d_18", (1, 3, 8, 112, 112))]
# and image, segmentation and video models of layouts the surveys lack: windowed and grid attention with relative
# position tables (MaxViT; Swin V2's export fails in torch 1.13: aten::zero has no ONNX symbol), pooling attention (MViT V1), separable 3D convolutions (S3D, MC3), dilated
# convolutions (FCN), fused MBConv blocks (EfficientNet V2), a wide RegNet; and the VGG-based SSD (detection, opset 11)
OTHER_IMAGE = [("maxvit_t", (1, 3, 224, 224)), ("efficientnet_v2_s", (1, 3, 384, 384)),
               ("regnet_y_16gf", (1, 3, 224, 224)), ("segmentation:fcn_resnet50", (1, 3, 520, 520)),
               ("video:mvit_v1_b", (1, 3, 16, 224, 224)), ("video:s3d", (1, 3, 16, 224, 224)),
               ("video:mc3_18", (1, 3, 16, 112, 112))]


def other_models(out):
    import torchvision.models as tv
    os.makedirs(out, exist_ok=True)
    for name in OTHER_DETECTION:
        torch.manual_seed(9)
        model = getattr(tv.detection, name)(weights=None, weights_backbone=None)
        export(model, ([torch.rand(3, 320, 320)],), (["images"], ["boxes", "labels", "scores"]),
               {"images": {1: "height", 2: "width"}}, os.path.join(out, name + ".onnx"), 11)
    for name, shape in OTHER_VIDEO:
        torch.manual_seed(9)
        export(getattr(tv.video, name)(weights=None), (torch.rand(*shape),), (["video"], ["logits"]),
               {"video": {0: "batch"}}, os.path.join(out, name + ".onnx"), 14)
    for name, shape in OTHER_IMAGE:
        pkg, _, fn = name.rpartition(":")
        kwargs = {"weights": None}
        if pkg == "segmentation":
            kwargs.update(weights_backbone=None, aux_loss=False)
        torch.manual_seed(9)
        dynamic = {"image": {0: "batch"}, "logits": {0: "batch"}}
        export(getattr(getattr(tv, pkg) if pkg else tv, fn)(**kwargs), (torch.rand(*shape),), (["image"], ["logits"]),
               dynamic, os.path.join(out, fn + ".onnx"), 16 if pkg == "video" else 14)
    torch.manual_seed(9)
    export(tv.detection.ssd300_vgg16(weights=None, weights_backbone=None), ([torch.rand(3, 300, 300)],),
           (["images"], ["boxes", "labels", "scores"]), {"images": {1: "height", 2: "width"}},
           os.path.join(out, "ssd300_vgg16.onnx"), 11)
    torch.manual_seed(9)
    export(tv.optical_flow.raft_small(weights=None), (torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)),
           (["image1", "image2"], ["flow"]), {"image1": {0: "batch"}, "image2": {0: "batch"}},
           os.path.join(out, "raft_small.onnx"), 16)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="directory for the test models")
    p.add_argument("--bundled", help="directory for the two bundled default models")
    p.add_argument("--survey", help="directory for the survey's models (torchvision models no test uses; 900 MB)")
    p.add_argument("--survey-deep", help="directory for the survey's deeper models (1,000-2,600 ONNX nodes; 800 MB)")
    p.add_argument("--other", help="directory for detection, video, optical-flow and other image models (robustness; 2.4 GB)")
    a = p.parse_args()
    if not a.out and not a.bundled and not a.survey and not a.survey_deep and not a.other:
        p.error("give --out, --bundled, --survey, --survey-deep and/or --other")
    if a.bundled:
        bundled(a.bundled)
    if a.out:
        test_models(a.out)
    if a.survey:
        survey_models(a.survey)
    if a.survey_deep:
        survey_models(a.survey_deep, SURVEY_DEEP)
    if a.other:
        other_models(a.other)


if __name__ == "__main__":
    main()
