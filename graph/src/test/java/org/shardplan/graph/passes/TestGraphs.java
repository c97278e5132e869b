package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

/** Graphs built in code the way exporters write them: a BERT-style encoder and a ResNet-style CNN. */
final class TestGraphs {
    private final Graph.Builder b;
    private int counter;

    private TestGraphs(String name) {
        b = Graph.builder(name);
    }

    /** An empty graph under construction, for tests that write their own nodes. */
    static TestGraphs named(String name) {
        return new TestGraphs(name);
    }

    /** The graph with these outputs. */
    Graph build(List<Value> outputs) {
        outputs.forEach(b::addOutput);
        return b.build();
    }

    private String fresh(String p) {
        return p + "_" + (counter++);
    }

    Value input(String name, DType t, long... dims) {
        Value v = Value.input(name, TensorType.of(t, dims));
        b.addInput(v);
        return v;
    }

    Value param(long... dims) {
        Value v = Value.parameter(fresh("w"), TensorType.of(DType.FLOAT32, dims));
        b.addParameter(v);
        return v;
    }

    Value constScalar(double x) {
        Value v = Value.constant(fresh("c"), Tensor.ofDoubles(DType.FLOAT32, new long[0], new double[] {x}));
        b.addConstant(v);
        return v;
    }

    Value constInts(long... xs) {
        Value v = Value.constant(fresh("i"), Tensor.int64Vector(xs));
        b.addConstant(v);
        return v;
    }

    Value op(String op, List<Value> ins, TensorType out, Attribute... attrs) {
        Value o = Value.intermediate(fresh(op.toLowerCase() + "_out"), out);
        b.addNode(new Node(fresh(op), op, "", ins, List.of(o), Arrays.asList(attrs)));
        return o;
    }

    Value f(String op, List<Value> ins, long[] dims, Attribute... attrs) {
        return op(op, ins, TensorType.of(DType.FLOAT32, dims), attrs);
    }

    /** Reshape whose target is computed from Shape(x) by Gather/Unsqueeze/Concat, left unfolded. */
    Value reshapeViaShapeArithmetic(Value x, long[] target) {
        Value shape = op("Shape", List.of(x), TensorType.of(DType.INT64, x.shape().rank()));
        Value idx = Value.constant(fresh("idx"), Tensor.int64Scalar(0));
        b.addConstant(idx);
        Value batch = op("Gather", List.of(shape, idx), TensorType.of(DType.INT64), Attribute.ofInt("axis", 0));
        Value un = op("Unsqueeze", List.of(batch, constInts(0)), TensorType.of(DType.INT64, 1));
        long[] rest = Arrays.copyOfRange(target, 1, target.length);
        Value cat = op("Concat", List.of(un, constInts(rest)), TensorType.of(DType.INT64, target.length),
                Attribute.ofInt("axis", 0));
        return f("Reshape", List.of(x, cat), target);
    }

    Value layerNorm(Value x) {
        long[] s = x.shape().toLongs();
        long[] red = s.clone();
        red[red.length - 1] = 1;
        Value mean = f("ReduceMean", List.of(x), red, Attribute.ofInts("axes", -1));
        Value d = f("Sub", List.of(x, mean), s);
        Value sq = f("Pow", List.of(d, constScalar(2)), s);
        Value var = f("ReduceMean", List.of(sq), red, Attribute.ofInts("axes", -1));
        Value ve = f("Add", List.of(var, constScalar(1e-12)), red);
        Value sd = f("Sqrt", List.of(ve), red);
        Value nrm = f("Div", List.of(d, sd), s);
        Value sc = f("Mul", List.of(nrm, param(s[s.length - 1])), s);
        return f("Add", List.of(sc, param(s[s.length - 1])), s);
    }

    Value linear(Value x, long outDim) {
        long[] s = x.shape().toLongs();
        long[] o = s.clone();
        o[o.length - 1] = outDim;
        Value mm = f("MatMul", List.of(x, param(s[s.length - 1], outDim)), o);
        return f("Add", List.of(mm, param(outDim)), o);
    }

    /** A BERT-style encoder: embeddings with a mask, then {@code layers} post-LN layers. */
    static Graph bert(int layers, long batch, long seq, long hidden, long heads, long vocab) {
        TestGraphs t = new TestGraphs("bert");
        long dh = hidden / heads;
        long[] bsh = {batch, seq, hidden};
        Value ids = t.input("input_ids", DType.INT64, batch, seq);
        Value mask = t.input("attention_mask", DType.INT64, batch, seq);
        Value we = t.f("Gather", List.of(t.param(vocab, hidden), ids), bsh);
        Value pos = t.constInts(java.util.stream.LongStream.range(0, seq).toArray());
        Value pe = t.f("Gather", List.of(t.param(512, hidden), pos), new long[] {seq, hidden});
        Value emb = t.f("Add", List.of(we, pe), bsh);
        Value x = t.layerNorm(emb);
        x = t.f("Dropout", List.of(x), bsh);
        Value m1 = t.op("Unsqueeze", List.of(mask, t.constInts(1, 2)), TensorType.of(DType.INT64, batch, 1, 1, seq));
        Value m2 = t.f("Cast", List.of(m1), new long[] {batch, 1, 1, seq}, Attribute.ofInt("to", 1));
        Value m3 = t.f("Sub", List.of(t.constScalar(1.0), m2), new long[] {batch, 1, 1, seq});
        Value ext = t.f("Mul", List.of(m3, t.constScalar(-10000.0)), new long[] {batch, 1, 1, seq});
        for (int l = 0; l < layers; l++) {
            long[] split = {batch, seq, heads, dh};
            long[] bhsd = {batch, heads, seq, dh};
            Value q = t.linear(x, hidden);
            Value k = t.linear(x, hidden);
            Value v = t.linear(x, hidden);
            Value qh = t.f("Transpose", List.of(t.reshapeViaShapeArithmetic(q, split)), bhsd,
                    Attribute.ofInts("perm", 0, 2, 1, 3));
            Value kh = t.f("Transpose", List.of(t.reshapeViaShapeArithmetic(k, split)), new long[] {batch, heads, dh, seq},
                    Attribute.ofInts("perm", 0, 2, 3, 1));
            Value vh = t.f("Transpose", List.of(t.reshapeViaShapeArithmetic(v, split)), bhsd,
                    Attribute.ofInts("perm", 0, 2, 1, 3));
            long[] bhss = {batch, heads, seq, seq};
            Value sc = t.f("MatMul", List.of(qh, kh), bhss);
            sc = t.f("Div", List.of(sc, t.constScalar(Math.sqrt(dh))), bhss);
            sc = t.f("Add", List.of(sc, ext), bhss);
            Value pr = t.f("Softmax", List.of(sc), bhss, Attribute.ofInt("axis", -1));
            pr = t.f("Dropout", List.of(pr), bhss);
            Value ctx = t.f("MatMul", List.of(pr, vh), bhsd);
            ctx = t.f("Transpose", List.of(ctx), split, Attribute.ofInts("perm", 0, 2, 1, 3));
            ctx = t.reshapeViaShapeArithmetic(ctx, bsh);
            Value ao = t.linear(ctx, hidden);
            ao = t.f("Identity", List.of(ao), bsh);
            Value r1 = t.f("Add", List.of(ao, x), bsh);
            Value h1 = t.layerNorm(r1);
            Value in = t.linear(h1, 4 * hidden);
            long[] bsi = {batch, seq, 4 * hidden};
            Value g1 = t.f("Div", List.of(in, t.constScalar(Math.sqrt(2))), bsi);
            Value g2 = t.f("Erf", List.of(g1), bsi);
            Value g3 = t.f("Add", List.of(g2, t.constScalar(1)), bsi);
            Value g4 = t.f("Mul", List.of(in, g3), bsi);
            Value g5 = t.f("Mul", List.of(g4, t.constScalar(0.5)), bsi);
            Value o = t.linear(g5, hidden);
            Value r2 = t.f("Add", List.of(o, h1), bsh);
            x = t.layerNorm(r2);
        }
        t.b.addOutput(x);
        return t.b.build();
    }

    /** A GPT-style pre-LN decoder: {@code layers} layers, then a final LayerNorm. */
    static Graph gpt(int layers, long batch, long seq, long hidden) {
        TestGraphs t = new TestGraphs("gpt");
        long[] bsh = {batch, seq, hidden};
        Value x = t.input("x", DType.FLOAT32, bsh);
        for (int l = 0; l < layers; l++) {
            Value h = t.layerNorm(x);
            Value q = t.linear(h, hidden);
            Value k = t.linear(h, hidden);
            Value v = t.linear(h, hidden);
            Value kt = t.f("Transpose", List.of(k), new long[] {batch, hidden, seq}, Attribute.ofInts("perm", 0, 2, 1));
            long[] bss = {batch, seq, seq};
            Value sc = t.f("MatMul", List.of(q, kt), bss);
            Value pr = t.f("Softmax", List.of(sc), bss, Attribute.ofInt("axis", -1));
            Value ctx = t.f("MatMul", List.of(pr, v), bsh);
            Value r1 = t.f("Add", List.of(t.linear(ctx, hidden), x), bsh);
            Value h2 = t.layerNorm(r1);
            Value ff = t.f("Relu", List.of(t.linear(h2, 4 * hidden)), new long[] {batch, seq, 4 * hidden});
            x = t.f("Add", List.of(t.linear(ff, hidden), r1), bsh);
        }
        t.b.addOutput(t.layerNorm(x));
        return t.b.build();
    }

    Value convBn(Value x, long cout, long k, long stride, boolean relu) {
        long[] s = x.shape().toLongs();
        long pad = k / 2;
        long oh = (s[2] + 2 * pad - k) / stride + 1;
        long[] o = {s[0], cout, oh, oh};
        Value c = f("Conv", List.of(x, param(cout, s[1], k, k)), o, Attribute.ofInts("kernel_shape", k, k),
                Attribute.ofInts("strides", stride, stride), Attribute.ofInts("pads", pad, pad, pad, pad));
        Value bn = f("BatchNormalization", List.of(c, param(cout), param(cout), param(cout), param(cout)), o);
        return relu ? f("Relu", List.of(bn), o) : bn;
    }

    /** A ResNet-style CNN: stem, one stage of {@code blocks} bottlenecks (the first with a downsample), head. */
    static Graph resnet(int blocks, long batch) {
        TestGraphs t = new TestGraphs("resnet");
        Value x = t.input("image", DType.FLOAT32, batch, 3, 64, 64);
        x = t.convBn(x, 16, 7, 2, true);
        x = t.f("MaxPool", List.of(x), new long[] {batch, 16, 16, 16}, Attribute.ofInts("kernel_shape", 3, 3),
                Attribute.ofInts("strides", 2, 2), Attribute.ofInts("pads", 1, 1, 1, 1));
        for (int i = 0; i < blocks; i++) {
            Value y = t.convBn(x, 16, 1, 1, true);
            y = t.convBn(y, 16, 3, 1, true);
            y = t.convBn(y, 64, 1, 1, false);
            Value id = i == 0 ? t.convBn(x, 64, 1, 1, false) : x;
            long[] s = y.shape().toLongs();
            x = t.f("Relu", List.of(t.f("Add", List.of(y, id), s)), s);
        }
        x = t.f("GlobalAveragePool", List.of(x), new long[] {batch, 64, 1, 1});
        x = t.f("Flatten", List.of(x), new long[] {batch, 64}, Attribute.ofInt("axis", 1));
        x = t.f("Gemm", List.of(x, t.param(10, 64), t.param(10)), new long[] {batch, 10}, Attribute.ofInt("transB", 1));
        t.b.addOutput(x);
        return t.b.build();
    }

    /**
     * A dense block as torchvision's DenseNet exports it (Huang et al., CVPR 2017): layer l reads the
     * Concat (on channels) of the block input and every earlier layer's output, a 3x3 conv of
     * {@code growth} channels; the block ends with the Concat of all of them. {@code axis} is the
     * Concat axis as written (1 or -3).
     */
    static Graph denseBlock(int layers, long batch, long growth, long axis) {
        TestGraphs t = new TestGraphs("dense");
        Value x = t.input("image", DType.FLOAT32, batch, 3, 16, 16);
        List<Value> features = new ArrayList<>();
        features.add(t.convBn(x, 2 * growth, 3, 1, true));
        for (int l = 0; l < layers; l++) {
            long ch = 2 * growth + l * growth;
            Value in = features.size() == 1 ? features.get(0)
                    : t.f("Concat", List.copyOf(features), new long[] {batch, ch, 16, 16}, Attribute.ofInt("axis", axis));
            features.add(t.convBn(in, growth, 3, 1, true));
        }
        long ch = 2 * growth + layers * growth;
        Value out = t.f("Concat", List.copyOf(features), new long[] {batch, ch, 16, 16}, Attribute.ofInt("axis", axis));
        t.b.addOutput(out);
        return t.b.build();
    }

    static List<String> ops(List<CoarseNode> ns) {
        List<String> r = new ArrayList<>();
        ns.forEach(n -> r.add(n.opType()));
        return r;
    }
}
