package org.shardplan.onnx.models;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.DType;
import org.shardplan.onnx.edit.Proto;

/**
 * Writes a {@link DecoderSpec} as an ONNX model (a {@code ModelProto}, opset 17) laid out the way
 * {@code torch.onnx.export} lays out such a model, so that it is imported, coarsened and planned
 * exactly as a real export would be.
 *
 * <p>The weights are initializers with their shapes and an external-data reference to a file that
 * does not exist ({@code NAME.weights}): the model carries no weight bytes, as a large export whose
 * weights were left behind. Shape constants (Reshape targets, Split sizes, axes) and scalars are
 * ordinary initializers with their contents, shared by all layers as the exporter's deduplication
 * shares them.
 *
 * <p>GPT layers (names after Hugging Face's GPT-2): {@code LayerNormalization}; fused QKV
 * {@code MatMul} and bias {@code Add}; {@code Split} into q, k, v; {@code Reshape} to heads and
 * {@code Transpose} (k to {@code [B, a, d, S]}); {@code MatMul} QK^T, {@code Div} by sqrt(d), causal
 * mask {@code Add}, {@code Softmax}, {@code MatMul} with V; {@code Transpose}/{@code Reshape} back;
 * output projection {@code MatMul}, bias and residual {@code Add}; {@code LayerNormalization}; MLP
 * {@code MatMul}, bias, GELU written out as {@code Div, Erf, Add, Mul, Mul} (exact GELU as torch
 * exports it before opset 20), {@code MatMul}, bias, residual. Token and position embeddings are
 * {@code Gather}s; the output layer is a {@code MatMul} with the {@code Transpose} of the token
 * embedding (tied weights).
 *
 * <p>Llama layers (names after Hugging Face's Llama): RMSNorm written out as {@code Pow, ReduceMean,
 * Add, Sqrt, Div, Mul}; separate q, k, v projections; {@code Reshape}/{@code Transpose} to heads;
 * rotary embeddings {@code q cos + rotate_half(q) sin} with {@code rotate_half} as {@code Slice,
 * Slice, Neg, Concat}; grouped-query attention repeats the key/value heads with {@code Unsqueeze,
 * Expand, Reshape}; attention as for GPT; SwiGLU MLP {@code MatMul} gate, {@code Sigmoid}, {@code Mul},
 * {@code MatMul} up, {@code Mul}, {@code MatMul} down; residual {@code Add}s; untied output layer.
 * The rotary tables are computed in the graph from the positions, as the export of a model with a
 * dynamic sequence length computes them.
 *
 * <p>With a dropout probability above 0, a training {@code Dropout} follows the embeddings, the
 * attention probabilities and each block's attention and MLP output projections (before the residual
 * {@code Add}), where Megatron-LM and Hugging Face's GPT-2 and Llama place theirs.
 *
 * <p>The graph input is {@code input_ids: int64 [batch, seq]} and the output {@code logits:
 * [batch, seq, vocab]}, both dimensions symbolic; with the loss ({@link DecoderSpec#loss}) also the
 * input {@code labels: int64 [batch, seq]} and the output {@code loss}, a float32 scalar. Running time and size linear in the number of layers.
 */
public final class DecoderWriter {
    /** The ONNX opset the graph imports. */
    public static final int OPSET = 17;
    private static final int INT64 = 7;
    private static final int FLOAT = 1;
    private static final int BOOL = 9;

    private final DecoderSpec spec;
    private final int elem;
    private final String weightsFile;
    private final List<Proto> nodes = new ArrayList<>();
    private final List<Proto> initializers = new ArrayList<>();
    private final Map<String, String> constants = new HashMap<>();
    private long externalOffset;

    private DecoderWriter(DecoderSpec spec) {
        this.spec = spec;
        this.elem = spec.dtype().onnxCode();
        this.weightsFile = fileName(spec.name()) + ".weights";
    }

    /** The model's bytes ({@code ModelProto}). Linear in the number of layers. */
    public static byte[] write(DecoderSpec spec) {
        return new DecoderWriter(spec).model();
    }

    private static String fileName(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private byte[] model() {
        if (spec.family() == DecoderSpec.Family.GPT) {
            gpt();
        } else {
            llama();
        }
        Proto g = new Proto();
        for (Proto n : nodes) {
            g.message(1, n);
        }
        g.string(2, spec.name());
        for (Proto t : initializers) {
            g.message(5, t);
        }
        g.message(11, valueInfo("input_ids", INT64, "batch", "seq"));
        if (spec.loss()) {
            g.message(11, valueInfo("labels", INT64, "batch", "seq"));
        }
        g.message(12, valueInfo("logits", elem, "batch", "seq", spec.vocab()));
        if (spec.loss()) {
            g.message(12, valueInfo("loss", FLOAT));
        }
        return new Proto().varint(1, 8).string(2, "shardplan").string(3, "builtin")
                .message(7, g).message(8, new Proto().string(1, "").varint(2, OPSET)).bytes();
    }

    // ---- the two families

    private void gpt() {
        long h = spec.hidden();
        long d = spec.headDim();
        String x = embeddings("transformer.wte.weight", "/transformer/wte");
        String pos = positions();
        String pe = node("/transformer/wpe/Gather", "Gather", List.of(weight("transformer.wpe.weight", spec.seq(), h),
                unsqueeze("/transformer/Unsqueeze_pos", pos, 0)));
        x = dropout("/transformer/drop", node("/transformer/Add", "Add", List.of(x, pe)));
        String mask = causalMask(pos);
        for (int i = 0; i < spec.layers(); i++) {
            org.shardplan.graph.Deadline.check("writing the built-in model");
            String p = "transformer.h." + i + ".";
            String s = "/transformer/h." + i;
            String a = layerNorm(s + "/ln_1", x, p + "ln_1");
            String qkv = linear(s + "/attn/c_attn", a, p + "attn.c_attn", h, 3 * h, true);
            List<String> parts = nodeN(s + "/attn/Split", "Split", List.of(qkv, ints(h, h, h)), 3, attrInt("axis", 2));
            String shape = ints(0, 0, spec.heads(), d);
            String q = transpose(s + "/attn/Transpose", reshape(s + "/attn/Reshape", parts.get(0), shape), 0, 2, 1, 3);
            String kT = transpose(s + "/attn/Transpose_1", reshape(s + "/attn/Reshape_1", parts.get(1), shape), 0, 2, 3, 1);
            String v = transpose(s + "/attn/Transpose_2", reshape(s + "/attn/Reshape_2", parts.get(2), shape), 0, 2, 1, 3);
            String o = attention(s + "/attn", q, kT, v, mask);
            String proj = dropout(s + "/attn/resid_dropout", linear(s + "/attn/c_proj", o, p + "attn.c_proj", h, h, true));
            x = node(s + "/Add", "Add", List.of(x, proj));
            String b = layerNorm(s + "/ln_2", x, p + "ln_2");
            String u = linear(s + "/mlp/c_fc", b, p + "mlp.c_fc", h, spec.ffn(), true);
            String g = gelu(s + "/mlp/act", u);
            String m = dropout(s + "/mlp/dropout", linear(s + "/mlp/c_proj", g, p + "mlp.c_proj", spec.ffn(), h, true));
            x = node(s + "/Add_1", "Add", List.of(x, m));
        }
        String y = layerNorm("/transformer/ln_f", x, "transformer.ln_f");
        String wT = node("/lm_head/Transpose", "Transpose", List.of("transformer.wte.weight"), attrInts("perm", 1, 0));
        nodeTo("/lm_head/MatMul", "MatMul", List.of(y, wT), List.of("logits"));
        loss();
    }

    private void llama() {
        long h = spec.hidden();
        long d = spec.headDim();
        int a = spec.heads();
        int kv = spec.kvHeads();
        String x = dropout("/model/drop", embeddings("model.embed_tokens.weight", "/model/embed_tokens"));
        String pos = positions();
        String[] rope = rotaryTables(pos);
        String mask = causalMask(pos);
        for (int i = 0; i < spec.layers(); i++) {
            org.shardplan.graph.Deadline.check("writing the built-in model");
            String p = "model.layers." + i + ".";
            String s = "/model/layers." + i;
            String n1 = rmsNorm(s + "/input_layernorm", x, p + "input_layernorm.weight");
            String q = linear(s + "/self_attn/q_proj", n1, p + "self_attn.q_proj", h, a * d, false);
            String k = linear(s + "/self_attn/k_proj", n1, p + "self_attn.k_proj", h, kv * d, false);
            String v = linear(s + "/self_attn/v_proj", n1, p + "self_attn.v_proj", h, kv * d, false);
            q = transpose(s + "/self_attn/Transpose", reshape(s + "/self_attn/Reshape", q, ints(0, 0, a, d)), 0, 2, 1, 3);
            k = transpose(s + "/self_attn/Transpose_1", reshape(s + "/self_attn/Reshape_1", k, ints(0, 0, kv, d)), 0, 2, 1, 3);
            v = transpose(s + "/self_attn/Transpose_2", reshape(s + "/self_attn/Reshape_2", v, ints(0, 0, kv, d)), 0, 2, 1, 3);
            q = applyRotary(s + "/self_attn/rotary_q", q, rope);
            k = applyRotary(s + "/self_attn/rotary_k", k, rope);
            if (kv != a) {
                k = repeatKv(s + "/self_attn/repeat_kv", k);
                v = repeatKv(s + "/self_attn/repeat_kv_1", v);
            }
            String kT = transpose(s + "/self_attn/Transpose_3", k, 0, 1, 3, 2);
            String o = attention(s + "/self_attn", q, kT, v, mask);
            String out = dropout(s + "/self_attn/resid_dropout", linear(s + "/self_attn/o_proj", o, p + "self_attn.o_proj",
                    a * d, h, false));
            x = node(s + "/Add", "Add", List.of(x, out));
            String n2 = rmsNorm(s + "/post_attention_layernorm", x, p + "post_attention_layernorm.weight");
            String gate = linear(s + "/mlp/gate_proj", n2, p + "mlp.gate_proj", h, spec.ffn(), false);
            String sig = node(s + "/mlp/act_fn/Sigmoid", "Sigmoid", List.of(gate));
            String silu = node(s + "/mlp/act_fn/Mul", "Mul", List.of(gate, sig));
            String up = linear(s + "/mlp/up_proj", n2, p + "mlp.up_proj", h, spec.ffn(), false);
            String prod = node(s + "/mlp/Mul", "Mul", List.of(silu, up));
            String down = dropout(s + "/mlp/dropout", linear(s + "/mlp/down_proj", prod, p + "mlp.down_proj", spec.ffn(), h,
                    false));
            x = node(s + "/Add_1", "Add", List.of(x, down));
        }
        String y = rmsNorm("/model/norm", x, "model.norm.weight");
        nodeTo("/lm_head/MatMul", "MatMul", List.of(y, weight("lm_head.weight", h, spec.vocab())), List.of("logits"));
        loss();
    }

    // ---- pieces shared by both families

    private String embeddings(String table, String scope) {
        return node(scope + "/Gather", "Gather", List.of(weight(table, spec.vocab(), spec.hidden()), "input_ids"));
    }

    /** {@code Range(0, seq)} from the input's shape: int64 {@code [seq]}. */
    private String positions() {
        String shape = node("/Shape", "Shape", List.of("input_ids"));
        String len = node("/Gather", "Gather", List.of(shape, scalarInt(1)), attrInt("axis", 0));
        return node("/Range", "Range", List.of(scalarInt(0), len, scalarInt(1)));
    }

    /** The additive causal mask {@code [seq, seq]}: 0 on and below the diagonal, the dtype's lowest value above. */
    private String causalMask(String pos) {
        String rows = unsqueeze("/mask/Unsqueeze", pos, 1);
        String cols = unsqueeze("/mask/Unsqueeze_1", pos, 0);
        String future = node("/mask/Greater", "Greater", List.of(cols, rows));
        float lowest = spec.dtype() == DType.FLOAT16 ? -65504f : -3.0e38f;
        return node("/mask/Where", "Where", List.of(future, scalar(lowest), scalar(0f)));
    }

    /** Scores, scale, mask, softmax, values, heads merged back: {@code [B, S, a d]}. */
    private String attention(String s, String q, String kT, String v, String mask) {
        String scores = node(s + "/MatMul", "MatMul", List.of(q, kT));
        String scaled = node(s + "/Div", "Div", List.of(scores, scalar((float) Math.sqrt(spec.headDim()))));
        String masked = node(s + "/Add", "Add", List.of(scaled, mask));
        String probs = dropout(s + "/attn_dropout", node(s + "/Softmax", "Softmax", List.of(masked), attrInt("axis", -1)));
        String ctx = node(s + "/MatMul_1", "MatMul", List.of(probs, v));
        String t = transpose(s + "/Transpose_out", ctx, 0, 2, 1, 3);
        return reshape(s + "/Reshape_out", t, ints(0, 0, (long) spec.heads() * spec.headDim()));
    }

    /**
     * A training Dropout of the spec's probability ({@code x} itself when it is 0): inputs {@code x},
     * {@code ratio} (float32 scalar) and {@code training_mode} (a constant true), outputs the result
     * and the mask, as {@code torch.onnx.export} writes {@code nn.Dropout} in training mode (opset 12+).
     */
    private String dropout(String s, String x) {
        if (spec.dropout() <= 0) {
            return x;
        }
        return nodeN(s + "/Dropout", "Dropout", List.of(x, scalarFloat32((float) spec.dropout()), scalarBool(true)), 2)
                .get(0);
    }

    /**
     * The language-model loss, when the spec asks for it: the logits {@code [B, S, V]} cast to float32
     * (Megatron-LM computes its cross-entropy in float32 unless told otherwise), flattened to
     * {@code [B S, V]} with the labels to {@code [B S]}, a {@code SoftmaxCrossEntropyLoss} per token
     * ({@code reduction = "none"}) and its mean: the graph output {@code loss}. The next-token shift of
     * the labels is the data loader's; the graph takes {@code labels: int64 [batch, seq]} as given.
     */
    private void loss() {
        if (!spec.loss()) {
            return;
        }
        String f = node("/loss/Cast", "Cast", List.of("logits"), attrInt("to", FLOAT));
        String flat = reshape("/loss/Reshape", f, ints(-1, spec.vocab()));
        String labels = reshape("/loss/Reshape_1", "labels", ints(-1));
        String each = node("/loss/SoftmaxCrossEntropyLoss", "SoftmaxCrossEntropyLoss", List.of(flat, labels),
                attrString("reduction", "none"));
        nodeTo("/loss/ReduceMean", "ReduceMean", List.of(each), List.of("loss"), attrInt("keepdims", 0));
    }

    /** {@code x W (+ b)}, the weight stored {@code [in, out]} as exports of linear layers store it. */
    private String linear(String s, String x, String prefix, long in, long out, boolean bias) {
        String y = node(s + "/MatMul", "MatMul", List.of(x, weight(prefix + ".weight", in, out)));
        return bias ? node(s + "/Add", "Add", List.of(y, weight(prefix + ".bias", out))) : y;
    }

    private String layerNorm(String s, String x, String prefix) {
        return node(s + "/LayerNormalization", "LayerNormalization",
                List.of(x, weight(prefix + ".weight", spec.hidden()), weight(prefix + ".bias", spec.hidden())),
                attrInt("axis", -1), attrFloat("epsilon", 1e-5f));
    }

    /** RMSNorm written out: {@code w * x / sqrt(mean(x^2) + eps)}. */
    private String rmsNorm(String s, String x, String weight) {
        String sq = node(s + "/Pow", "Pow", List.of(x, scalar(2f)));
        String mean = node(s + "/ReduceMean", "ReduceMean", List.of(sq), attrInts("axes", -1), attrInt("keepdims", 1));
        String eps = node(s + "/Add", "Add", List.of(mean, scalar(1e-5f)));
        String root = node(s + "/Sqrt", "Sqrt", List.of(eps));
        String normed = node(s + "/Div", "Div", List.of(x, root));
        return node(s + "/Mul", "Mul", List.of(weight(weight, spec.hidden()), normed));
    }

    /** Exact GELU as torch exports it: {@code x * (erf(x / sqrt 2) + 1) * 0.5}. */
    private String gelu(String s, String x) {
        String div = node(s + "/Div", "Div", List.of(x, scalar((float) Math.sqrt(2))));
        String erf = node(s + "/Erf", "Erf", List.of(div));
        String add = node(s + "/Add", "Add", List.of(erf, scalar(1f)));
        String mul = node(s + "/Mul", "Mul", List.of(x, add));
        return node(s + "/Mul_1", "Mul", List.of(mul, scalar(0.5f)));
    }

    /**
     * cos and sin tables {@code [seq, d]} of the rotary embedding. The frequency base is 10000 (Llama 2's;
     * Llama 3 uses 500000): it changes values only, never shapes or costs.
     */
    private String[] rotaryTables(String pos) {
        long d = spec.headDim();
        float theta = 10_000f;
        String s = "/model/rotary_emb";
        String idx = node(s + "/Range", "Range", List.of(scalarInt(0), scalarInt(d), scalarInt(2)));
        String idxF = node(s + "/Cast", "Cast", List.of(idx), attrInt("to", FLOAT));
        String frac = node(s + "/Div", "Div", List.of(idxF, scalarFloat32(d)));
        String pw = node(s + "/Pow", "Pow", List.of(scalarFloat32(theta), frac));
        String inv = node(s + "/Reciprocal", "Reciprocal", List.of(pw));
        String posF = node(s + "/Cast_1", "Cast", List.of(pos), attrInt("to", FLOAT));
        String freqs = node(s + "/Mul", "Mul", List.of(unsqueeze(s + "/Unsqueeze", posF, 1),
                unsqueeze(s + "/Unsqueeze_1", inv, 0)));
        String emb = node(s + "/Concat", "Concat", List.of(freqs, freqs), attrInt("axis", -1));
        String cos = node(s + "/Cast_2", "Cast", List.of(node(s + "/Cos", "Cos", List.of(emb))), attrInt("to", elem));
        String sin = node(s + "/Cast_3", "Cast", List.of(node(s + "/Sin", "Sin", List.of(emb))), attrInt("to", elem));
        return new String[] {cos, sin};
    }

    /** {@code x cos + rotate_half(x) sin}, {@code rotate_half(x) = concat(-x2, x1)} over the head axis. */
    private String applyRotary(String s, String x, String[] rope) {
        long d = spec.headDim();
        String xc = node(s + "/Mul", "Mul", List.of(x, rope[0]));
        String x1 = node(s + "/Slice", "Slice", List.of(x, ints(0), ints(d / 2), ints(3)));
        String x2 = node(s + "/Slice_1", "Slice", List.of(x, ints(d / 2), ints(d), ints(3)));
        String neg = node(s + "/Neg", "Neg", List.of(x2));
        String rot = node(s + "/Concat", "Concat", List.of(neg, x1), attrInt("axis", -1));
        String rs = node(s + "/Mul_1", "Mul", List.of(rot, rope[1]));
        return node(s + "/Add", "Add", List.of(xc, rs));
    }

    /** Key/value heads repeated for grouped-query attention: {@code [B, kv, S, d] -> [B, a, S, d]}. */
    private String repeatKv(String s, String x) {
        int rep = spec.heads() / spec.kvHeads();
        String u = unsqueeze(s + "/Unsqueeze", x, 2);
        String e = node(s + "/Expand", "Expand", List.of(u, ints(1, 1, rep, 1, 1)));
        return reshape(s + "/Reshape", e, ints(0, spec.heads(), -1, spec.headDim()));
    }

    private String reshape(String name, String x, String shape) {
        return node(name, "Reshape", List.of(x, shape));
    }

    private String transpose(String name, String x, long... perm) {
        return node(name, "Transpose", List.of(x), attrInts("perm", perm));
    }

    private String unsqueeze(String name, String x, long axis) {
        return node(name, "Unsqueeze", List.of(x, ints(axis)));
    }

    // ---- nodes

    private String node(String name, String op, List<String> inputs, Proto... attrs) {
        return nodeN(name, op, inputs, 1, attrs).get(0);
    }

    private List<String> nodeN(String name, String op, List<String> inputs, int outputs, Proto... attrs) {
        List<String> outs = new ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            outs.add(name + "_output_" + i);
        }
        nodeTo(name, op, inputs, outs, attrs);
        return outs;
    }

    private void nodeTo(String name, String op, List<String> inputs, List<String> outputs, Proto... attrs) {
        Proto n = new Proto();
        for (String i : inputs) {
            n.string(1, i);
        }
        for (String o : outputs) {
            n.string(2, o);
        }
        n.string(3, name).string(4, op);
        for (Proto a : attrs) {
            n.message(5, a);
        }
        nodes.add(n);
    }

    private static Proto attrInt(String name, long v) {
        return new Proto().string(1, name).varint(3, v).varint(20, 2);
    }

    private static Proto attrString(String name, String v) {
        return new Proto().string(1, name).string(4, v).varint(20, 3);
    }

    private static Proto attrFloat(String name, float v) {
        Proto p = new Proto().string(1, name);
        // field 2 (f), wire type 5 (fixed32)
        return p.raw32(2, Float.floatToIntBits(v)).varint(20, 1);
    }

    private static Proto attrInts(String name, long... v) {
        Proto a = new Proto().string(1, name);
        for (long x : v) {
            a.varint(8, x);
        }
        return a.varint(20, 7);
    }

    // ---- initializers

    /** A weight: shape only, its data in the absent external file. */
    private String weight(String name, long... dims) {
        if (constants.containsKey("W:" + name)) {
            return name;
        }
        constants.put("W:" + name, name);
        long n = 1;
        for (long x : dims) {
            n *= x;
        }
        long length = n * spec.dtype().bits() / 8;
        Proto t = new Proto();
        for (long x : dims) {
            t.varint(1, x);
        }
        t.varint(2, elem).string(8, name);
        t.message(13, new Proto().string(1, "location").string(2, weightsFile));
        t.message(13, new Proto().string(1, "offset").string(2, Long.toString(externalOffset)));
        t.message(13, new Proto().string(1, "length").string(2, Long.toString(length)));
        t.varint(14, 1);
        externalOffset += length;
        initializers.add(t);
        return name;
    }

    /** A shared int64 vector constant. */
    private String ints(long... values) {
        StringBuilder key = new StringBuilder("I");
        for (long v : values) {
            key.append(':').append(v);
        }
        return constants.computeIfAbsent(key.toString(), k -> {
            String name = "onnx::const_ints_" + constants.size();
            ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                b.putLong(v);
            }
            initializers.add(new Proto().varint(1, values.length).varint(2, INT64).string(8, name).bytes(9, b.array()));
            return name;
        });
    }

    private String scalarInt(long v) {
        return constants.computeIfAbsent("i:" + v, k -> {
            String name = "onnx::const_int_" + constants.size();
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
            initializers.add(new Proto().varint(2, INT64).string(8, name).bytes(9, b.array()));
            return name;
        });
    }

    /** A shared scalar of the model's element type. */
    private String scalar(float v) {
        return constants.computeIfAbsent("f:" + Float.floatToIntBits(v), k -> {
            String name = "onnx::const_scalar_" + constants.size();
            initializers.add(new Proto().varint(2, elem).string(8, name).bytes(9, encode(v, spec.dtype())));
            return name;
        });
    }

    private String scalarBool(boolean v) {
        return constants.computeIfAbsent("b:" + v, k -> {
            String name = "onnx::const_bool_" + constants.size();
            initializers.add(new Proto().varint(2, BOOL).string(8, name).bytes(9, new byte[] {(byte) (v ? 1 : 0)}));
            return name;
        });
    }

    private String scalarFloat32(float v) {
        return constants.computeIfAbsent("F:" + Float.floatToIntBits(v), k -> {
            String name = "onnx::const_float_" + constants.size();
            initializers.add(new Proto().varint(2, FLOAT).string(8, name).bytes(9, encode(v, DType.FLOAT32)));
            return name;
        });
    }

    /** Little-endian bytes of one value in float32, float16 (round to nearest even) or bfloat16. */
    static byte[] encode(float v, DType t) {
        if (t == DType.FLOAT32) {
            return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array();
        }
        int bits = t == DType.FLOAT16 ? toHalf(v) : toBfloat16(v);
        return new byte[] {(byte) bits, (byte) (bits >>> 8)};
    }

    static int toBfloat16(float f) {
        int bits = Float.floatToIntBits(f);
        if (Float.isNaN(f)) {
            return 0x7fc0;
        }
        int lsb = (bits >>> 16) & 1;
        return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
    }

    static int toHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int e = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (e == 0xff) {
            return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
        }
        int exp = e - 127 + 15;
        if (exp >= 0x1f) {
            return sign | 0x7c00;
        }
        if (exp <= 0) {
            if (exp < -10) {
                return sign;
            }
            mant |= 0x800000;
            int shift = 14 - exp;
            int h = mant >>> shift;
            int rem = mant & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (h & 1) != 0)) {
                h++;
            }
            return sign | h;
        }
        int h = (exp << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) {
            h++;
        }
        return sign | h;
    }

    private static Proto valueInfo(String name, int elemType, Object... dims) {
        Proto shape = new Proto();
        for (Object d : dims) {
            Proto dim = new Proto();
            if (d instanceof Number n) {
                dim.varint(1, n.longValue());
            } else {
                dim.string(2, (String) d);
            }
            shape.message(1, dim);
        }
        Proto tensor = new Proto().varint(1, elemType).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensor));
    }
}
