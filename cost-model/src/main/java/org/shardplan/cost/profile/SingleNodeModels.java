package org.shardplan.cost.profile;

import ai.onnx.proto.OnnxMl;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * Turns one node of a graph into a one-node ONNX model ready to time: activations become graph
 * inputs fed with random data, weights become initializers with random values (as in the original
 * model, so ONNX Runtime pre-packs them alike), constants keep their values (a Reshape's shape,
 * a Slice's starts). Nodes that cannot stand alone (a subgraph attribute, an unknown shape, a
 * string tensor) are refused with the reason.
 */
public final class SingleNodeModels {
    private SingleNodeModels() {}

    /** Why a node cannot be measured alone. */
    public static final class NotMeasurable extends Exception {
        private static final long serialVersionUID = 1L;

        public NotMeasurable(String message) {
            super(message);
        }
    }

    /** An input fed at run time. */
    public record Feed(String name, int elemType, long[] dims) {}

    /**
     * A built model, what to feed it, and its outputs (each with its shape when known, so that
     * a timing loop can hand ONNX Runtime preallocated output buffers).
     */
    public record Probe(OnnxMl.ModelProto model, List<Feed> feeds, List<Feed> outputs) {
        public Probe(OnnxMl.ModelProto model, List<Feed> feeds) {
            this(model, feeds, List.of());
        }
    }

    /**
     * Builds the one-node model of {@code node}.
     *
     * @param opsets opset version per domain of the original model ("" the default domain)
     */
    public static Probe build(Node node, Map<String, Long> opsets, SplittableRandom rnd) throws NotMeasurable {
        return build(node, opsets, rnd, 1);
    }

    /**
     * Builds a model holding {@code copies} copies of the node side by side: the same inputs,
     * each copy with its own outputs ({@code name}, {@code name__1}, ...). Timing it against the
     * one-copy model gives the time of one more node without the cost of the call itself.
     */
    public static Probe build(Node node, Map<String, Long> opsets, SplittableRandom rnd, int copies)
            throws NotMeasurable {
        if (copies < 1) {
            throw new IllegalArgumentException("copies must be at least 1, found " + copies);
        }
        OnnxMl.NodeProto.Builder nb = OnnxMl.NodeProto.newBuilder().setOpType(node.opType())
                .setName(node.name()).setDomain(node.domain());
        List<OnnxMl.ValueInfoProto> inputs = new ArrayList<>();
        List<OnnxMl.TensorProto> inits = new ArrayList<>();
        List<Feed> feeds = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (Value v : node.inputs()) {
            if (v.isAbsent()) {
                nb.addInput("");
                continue;
            }
            nb.addInput(v.name());
            if (!seen.add(v.name())) {
                continue;
            }
            long[] dims = dims(node, v);
            int et = elemType(node, v);
            if (v.constant().isPresent() && v.constant().get().hasValues()) {
                inits.add(tensorProto(v.name(), v.constant().get()));
            } else if (v.kind() == Value.Kind.PARAMETER || v.kind() == Value.Kind.CONSTANT) {
                inits.add(OnnxModels.randomTensor(v.name(), et, dims, rnd));
            } else {
                inputs.add(OnnxModels.valueInfo(v.name(), et, dims));
                feeds.add(new Feed(v.name(), et, dims));
            }
        }
        List<OnnxMl.ValueInfoProto> outputs = new ArrayList<>();
        List<Feed> outSpecs = new ArrayList<>();
        boolean outShapesKnown = true;
        for (Value v : node.outputs()) {
            nb.addOutput(v.name());
            if (v.shape().rankKnown() && v.shape().isFullyKnown()
                    && OnnxModels.elementBytes(v.dtype().onnxCode()) > 0) {
                outSpecs.add(new Feed(v.name(), v.dtype().onnxCode(), v.shape().toLongs()));
            } else {
                outShapesKnown = false;
            }
            if (v.dtype() == DType.UNDEFINED || v.dtype() == DType.STRING) {
                throw new NotMeasurable("output '" + v.name() + "' has element type " + v.dtype());
            }
            outputs.add(OnnxModels.valueInfo(v.name(), v.dtype().onnxCode(), null));
        }
        for (Attribute a : node.attributes().values()) {
            nb.addAttribute(attribute(node, a));
        }
        long opset = opsets.getOrDefault("", 17L);
        OnnxMl.NodeProto first = nb.build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(first, inputs, inits, outputs, opset);
        if (copies > 1) {
            OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
            for (int c = 1; c < copies; c++) {
                OnnxMl.NodeProto.Builder copy = first.toBuilder().setName(first.getName() + "__" + c).clearOutput();
                for (int o = 0; o < first.getOutputCount(); o++) {
                    String out = first.getOutput(o) + "__" + c;
                    copy.addOutput(out);
                    g.addOutput(outputs.get(o).toBuilder().setName(out));
                    if (outShapesKnown) {
                        Feed f = outSpecs.get(o);
                        outSpecs.add(new Feed(out, f.elemType(), f.dims()));
                    }
                }
                g.addNode(copy);
            }
            m = m.toBuilder().setGraph(g).build();
        }
        if (!node.domain().isEmpty()) {
            // replace the default version 1 of the node's domain with the model's
            long v = opsets.getOrDefault(node.domain(), 1L);
            OnnxMl.ModelProto.Builder mb = m.toBuilder().clearOpsetImport();
            mb.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
            mb.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(node.domain()).setVersion(v));
            m = mb.build();
        }
        return new Probe(m, feeds, outShapesKnown ? outSpecs : List.of());
    }

    /**
     * Builds a model holding {@code copies} copies of the node in a chain: each copy after the
     * first takes the previous copy's output in place of one activation input of the same type
     * and shape (the other inputs shared), and only the last copy's output leaves the model.
     * Inside a model a node reads what its producer has just written and writes into a buffer of
     * the runtime's arena that is reused; copies side by side ({@link #build(Node, Map,
     * SplittableRandom, int)}) instead each write an output of their own, and for outputs of a
     * few hundred kilobytes and more those buffers no longer fit in the caches, which a timing of
     * the copies then counts as the node's own time. Present only for an operator of
     * {@link #CHAINABLE} (whose time does not depend on the values it computes on, and whose
     * values stay of the same kind through a chain) with one output whose shape and element
     * type one of its fed inputs has. Not for operators such as Pow, Sqrt, Mul or Div: through a
     * chain of them random data goes to zero, infinity or not-a-number, on which such kernels take
     * other paths and other times.
     */
    public static Optional<Probe> chain(Node node, Map<String, Long> opsets, SplittableRandom rnd, int copies)
            throws NotMeasurable {
        if (copies < 1) {
            throw new IllegalArgumentException("copies must be at least 1, found " + copies);
        }
        if (!node.domain().isEmpty() || !CHAINABLE.contains(node.opType())) {
            return Optional.empty();
        }
        Probe one = build(node, opsets, rnd, 1);
        if (node.outputs().size() != 1 || one.outputs().size() != 1) {
            return Optional.empty();
        }
        Feed out = one.outputs().get(0);
        OnnxMl.GraphProto graph = one.model().getGraph();
        OnnxMl.NodeProto first = graph.getNode(0);
        int chained = -1;
        for (int i = 0; i < first.getInputCount() && chained < 0; i++) {
            for (Feed f : one.feeds()) {
                if (f.name().equals(first.getInput(i)) && f.elemType() == out.elemType()
                        && java.util.Arrays.equals(f.dims(), out.dims())) {
                    chained = i;
                    break;
                }
            }
        }
        if (chained < 0) {
            return Optional.empty();
        }
        if (copies == 1) {
            return Optional.of(one);
        }
        OnnxMl.GraphProto.Builder g = graph.toBuilder().clearNode();
        String previous = null;
        for (int c = 0; c < copies; c++) {
            OnnxMl.NodeProto.Builder copy = first.toBuilder().setName(first.getName() + "__" + c).clearOutput();
            if (previous != null) {
                copy.setInput(chained, previous);
            }
            String o = c == copies - 1 ? out.name() : out.name() + "__" + c;
            copy.addOutput(o);
            g.addNode(copy);
            previous = o;
        }
        return Optional.of(new Probe(one.model().toBuilder().setGraph(g).build(), one.feeds(), one.outputs()));
    }

    /**
     * Operators {@link #chain} chains: additions, clipping and piecewise-linear activations,
     * normalizations and convolutions, whose kernels do the same work whatever the values.
     */
    public static final Set<String> CHAINABLE = Set.of("Add", "Sub", "Relu", "LeakyRelu", "Clip", "HardSigmoid",
            "BatchNormalization", "Conv", "Neg", "Abs", "Identity", "MaxPool", "AveragePool");

    private static long[] dims(Node node, Value v) throws NotMeasurable {
        if (!v.shape().rankKnown() || !v.shape().isFullyKnown()) {
            throw new NotMeasurable("input '" + v.name() + "' has unknown shape " + v.shape());
        }
        return v.shape().toLongs();
    }

    private static int elemType(Node node, Value v) throws NotMeasurable {
        if (OnnxModels.elementBytes(v.dtype().onnxCode()) == 0) {
            throw new NotMeasurable("input '" + v.name() + "' has element type " + v.dtype());
        }
        return v.dtype().onnxCode();
    }

    /** An ONNX tensor holding a shardplan tensor's values. */
    static OnnxMl.TensorProto tensorProto(String name, Tensor t) throws NotMeasurable {
        int et = t.dtype().onnxCode();
        int eb = OnnxModels.elementBytes(et);
        long n = t.numElements();
        if (eb == 0 || n * eb > Integer.MAX_VALUE) {
            throw new NotMeasurable("constant '" + name + "' of type " + t.dtype() + " cannot be written");
        }
        ByteBuffer b = ByteBuffer.allocate((int) (n * eb)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (t.dtype()) {
                case FLOAT32 -> b.putFloat((float) t.getDouble(i));
                case FLOAT64 -> b.putDouble(t.getDouble(i));
                case FLOAT16 -> b.putShort(toHalf((float) t.getDouble(i)));
                case INT64, UINT64 -> b.putLong(t.getLong(i));
                case INT32, UINT32 -> b.putInt((int) t.getLong(i));
                case INT16, UINT16 -> b.putShort((short) t.getLong(i));
                case INT8, UINT8, BOOL -> b.put((byte) t.getLong(i));
                default -> throw new NotMeasurable("constant '" + name + "' of type " + t.dtype() + " cannot be written");
            }
        }
        return OnnxModels.rawTensor(name, et, t.dims(), b.array());
    }

    /** IEEE 754 half precision bits of a float (round toward zero; overflow to infinity). */
    static short toHalf(float f) {
        int x = Float.floatToIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int exp = ((x >>> 23) & 0xff) - 127 + 15;
        int mant = x & 0x7fffff;
        if (((x >>> 23) & 0xff) == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        if (exp >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (exp <= 0) {
            if (exp < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            return (short) (sign | (mant >> (14 - exp)));
        }
        return (short) (sign | (exp << 10) | (mant >> 13));
    }

    private static OnnxMl.AttributeProto attribute(Node node, Attribute a) throws NotMeasurable {
        OnnxMl.AttributeProto.Builder b = OnnxMl.AttributeProto.newBuilder().setName(a.name());
        switch (a.kind()) {
            case INT -> b.setType(OnnxMl.AttributeProto.AttributeType.INT).setI(a.asInt());
            case FLOAT -> b.setType(OnnxMl.AttributeProto.AttributeType.FLOAT).setF(a.asFloat());
            case STRING -> b.setType(OnnxMl.AttributeProto.AttributeType.STRING)
                    .setS(com.google.protobuf.ByteString.copyFromUtf8(a.asString()));
            case INTS -> {
                b.setType(OnnxMl.AttributeProto.AttributeType.INTS);
                for (long x : a.asInts()) {
                    b.addInts(x);
                }
            }
            case FLOATS -> {
                b.setType(OnnxMl.AttributeProto.AttributeType.FLOATS);
                for (float x : a.asFloats()) {
                    b.addFloats(x);
                }
            }
            case STRINGS -> {
                b.setType(OnnxMl.AttributeProto.AttributeType.STRINGS);
                for (String x : a.asStrings()) {
                    b.addStrings(com.google.protobuf.ByteString.copyFromUtf8(x));
                }
            }
            case TENSOR -> {
                Tensor t = a.asTensor();
                if (!t.hasValues()) {
                    throw new NotMeasurable("attribute '" + a.name() + "' holds a tensor without values");
                }
                b.setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(tensorProto(a.name(), t));
            }
            default -> throw new NotMeasurable("attribute '" + a.name() + "' of kind " + a.kind()
                    + " (a subgraph or type) cannot be measured alone");
        }
        return b.build();
    }

    /** Opset versions by domain, for tests and models that do not say. */
    public static Map<String, Long> defaultOpsets() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("", 17L);
        m.put("com.microsoft", 1L);
        return m;
    }
}
