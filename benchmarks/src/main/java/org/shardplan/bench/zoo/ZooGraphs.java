package org.shardplan.bench.zoo;

import java.util.ArrayList;
import java.util.List;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

/**
 * Transformer graphs built in code, for models too large to export to ONNX here (BERT-large, GPT-style
 * decoders up to GPT-3's 175 billion parameters). The operators are the ONNX ones an exporter emits
 * for these layers: Gather for the embeddings, LayerNormalization, Einsum for the attention
 * projections and products ({@code bsh,hnd->bnsd}, {@code bnsd,bntd->bnst}, {@code bnst,bntd->bnsd},
 * {@code bnsd,ndh->bsh}), Softmax, MatMul with Add and Gelu for the feed-forward block, and a residual
 * Add after each half. Weights and activations are float16, as in mixed-precision training (the
 * optimizer's float32 copies are counted by the memory model). Built in O(layers).
 */
public final class ZooGraphs {
    private ZooGraphs() {
    }

    /**
     * A transformer stack.
     *
     * @param name the graph's name
     * @param layers number of layers
     * @param hidden hidden size
     * @param heads attention heads (hidden divisible by heads)
     * @param seq sequence length
     * @param batch batch size
     * @param vocab vocabulary size
     */
    public static Graph transformer(String name, int layers, long hidden, long heads, long seq, long batch, long vocab) {
        Graph.Builder g = Graph.builder(name);
        long dh = hidden / heads;
        Value ids = Value.input("ids", TensorType.of(DType.INT64, batch, seq));
        g.addInput(ids);
        Value table = param(g, "embed.table", vocab, hidden);
        Value pos = param(g, "embed.pos", seq, hidden);
        Value e = act("embed.out", batch, seq, hidden);
        g.addNode(node("embed/Gather", "Gather", List.of(table, ids), e));
        Value x = act("embed.sum", batch, seq, hidden);
        g.addNode(node("embed/Add", "Add", List.of(e, pos), x));
        for (int l = 0; l < layers; l++) {
            String p = "layer" + l + "/";
            Value ln1 = layerNorm(g, p + "ln1", x, hidden, batch, seq);
            Value[] qkv = new Value[3];
            String[] names = {"q", "k", "v"};
            for (int i = 0; i < 3; i++) {
                Value w = param(g, p + names[i] + ".weight", hidden, heads, dh);
                qkv[i] = act(p + names[i], batch, heads, seq, dh);
                g.addNode(einsum(p + names[i] + "/Einsum", "bsh,hnd->bnsd", List.of(ln1, w), qkv[i]));
            }
            Value scores = act(p + "scores", batch, heads, seq, seq);
            g.addNode(einsum(p + "scores/Einsum", "bnsd,bntd->bnst", List.of(qkv[0], qkv[1]), scores));
            Value probs = act(p + "probs", batch, heads, seq, seq);
            g.addNode(new Node(p + "Softmax", "Softmax", "", List.of(scores), List.of(probs),
                    List.of(Attribute.ofInt("axis", -1))));
            Value ctx = act(p + "ctx", batch, heads, seq, dh);
            g.addNode(einsum(p + "ctx/Einsum", "bnst,bntd->bnsd", List.of(probs, qkv[2]), ctx));
            Value wo = param(g, p + "o.weight", heads, dh, hidden);
            Value o = act(p + "o", batch, seq, hidden);
            g.addNode(einsum(p + "o/Einsum", "bnsd,ndh->bsh", List.of(ctx, wo), o));
            Value ob = act(p + "o.biased", batch, seq, hidden);
            g.addNode(node(p + "o/Add", "Add", List.of(o, param(g, p + "o.bias", hidden)), ob));
            Value x2 = act(p + "res1", batch, seq, hidden);
            g.addNode(node(p + "res1/Add", "Add", List.of(x, ob), x2));
            Value ln2 = layerNorm(g, p + "ln2", x2, hidden, batch, seq);
            Value f1 = act(p + "ff1", batch, seq, 4 * hidden);
            g.addNode(node(p + "ff1/MatMul", "MatMul", List.of(ln2, param(g, p + "ff1.weight", hidden, 4 * hidden)), f1));
            Value f1b = act(p + "ff1.biased", batch, seq, 4 * hidden);
            g.addNode(node(p + "ff1/Add", "Add", List.of(f1, param(g, p + "ff1.bias", 4 * hidden)), f1b));
            Value gl = act(p + "gelu", batch, seq, 4 * hidden);
            g.addNode(node(p + "Gelu", "Gelu", List.of(f1b), gl));
            Value f2 = act(p + "ff2", batch, seq, hidden);
            g.addNode(node(p + "ff2/MatMul", "MatMul", List.of(gl, param(g, p + "ff2.weight", 4 * hidden, hidden)), f2));
            Value f2b = act(p + "ff2.biased", batch, seq, hidden);
            g.addNode(node(p + "ff2/Add", "Add", List.of(f2, param(g, p + "ff2.bias", hidden)), f2b));
            Value x3 = act(p + "res2", batch, seq, hidden);
            g.addNode(node(p + "res2/Add", "Add", List.of(x2, f2b), x3));
            x = x3;
        }
        Value lnf = layerNorm(g, "final/ln", x, hidden, batch, seq);
        Value logits = act("logits", batch, seq, vocab);
        g.addNode(node("head/MatMul", "MatMul", List.of(lnf, param(g, "head.weight", hidden, vocab)), logits));
        g.addOutput(logits);
        return g.build();
    }

    private static Value layerNorm(Graph.Builder g, String p, Value x, long hidden, long batch, long seq) {
        Value y = act(p + ".out", batch, seq, hidden);
        g.addNode(new Node(p + "/LayerNormalization", "LayerNormalization", "",
                List.of(x, param(g, p + ".weight", hidden), param(g, p + ".bias", hidden)), List.of(y),
                List.of(Attribute.ofInt("axis", -1))));
        return y;
    }

    private static Value param(Graph.Builder g, String name, long... dims) {
        Value v = Value.parameter(name, TensorType.of(DType.FLOAT16, dims));
        g.addParameter(v);
        return v;
    }

    private static Value act(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT16, dims));
    }

    private static Node node(String name, String op, List<Value> in, Value out) {
        return new Node(name, op, "", new ArrayList<>(in), List.of(out), List.of());
    }

    private static Node einsum(String name, String eq, List<Value> in, Value out) {
        return new Node(name, "Einsum", "", in, List.of(out), List.of(Attribute.ofString("equation", eq)));
    }

    /** BERT-large: 24 layers, hidden 1024, 16 heads, sequence 512. */
    public static Graph bertLarge(long batch) {
        return transformer("bert-large", 24, 1024, 16, 512, batch, 30528);
    }

    /** A GPT-style decoder of the given size (GPT-2/3 shapes, vocabulary padded to 50304). */
    public static Graph gpt(String name, int layers, long hidden, long heads, long batch) {
        return transformer(name, layers, hidden, heads, 2048, batch, 50304);
    }
}
