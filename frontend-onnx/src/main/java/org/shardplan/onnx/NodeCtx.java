package org.shardplan.onnx;

import java.util.List;
import java.util.Map;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Tensor;

/** The inputs, attributes and opset of one node, as inference rules see them. */
final class NodeCtx {
    final String name;
    final String op;
    final String domain;
    final int opset;
    final Map<String, Attribute> attrs;
    final List<Info> inputs;
    final int numOutputs;

    NodeCtx(String name, String op, String domain, int opset, Map<String, Attribute> attrs, List<Info> inputs,
            int numOutputs) {
        this.name = name;
        this.op = op;
        this.domain = domain;
        this.opset = opset;
        this.attrs = attrs;
        this.inputs = inputs;
        this.numOutputs = numOutputs;
    }

    /** Input i, or null when absent. */
    Info in(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    boolean has(int i) {
        return in(i) != null;
    }

    int inputCount() {
        return inputs.size();
    }

    long attrInt(String n, long dflt) {
        Attribute a = attrs.get(n);
        return a == null ? dflt : a.asInt();
    }

    long[] attrInts(String n) {
        Attribute a = attrs.get(n);
        return a == null ? null : a.asInts();
    }

    float attrFloat(String n, float dflt) {
        Attribute a = attrs.get(n);
        return a == null ? dflt : a.asFloat();
    }

    float[] attrFloats(String n) {
        Attribute a = attrs.get(n);
        return a == null ? null : a.asFloats();
    }

    String attrString(String n, String dflt) {
        Attribute a = attrs.get(n);
        return a == null ? dflt : a.asString();
    }

    Tensor attrTensor(String n) {
        Attribute a = attrs.get(n);
        return a == null ? null : a.asTensor();
    }

    boolean hasAttr(String n) {
        return attrs.containsKey(n);
    }

    /** Known contents of input i as longs, or null. */
    long[] longs(int i) {
        Info x = in(i);
        if (x == null) {
            return null;
        }
        long[] v = x.longs();
        return v != null ? v : Elems.nums(x.elements());
    }

    /** Known contents of input i as doubles, or null. */
    double[] doubles(int i) {
        Info x = in(i);
        return x == null || x.value() == null ? null : x.value().doubles().orElse(null);
    }

    /** Integer list from input i (newer opsets) or else attribute n (older opsets), or null. */
    long[] intsFromInputOrAttr(int i, String n) {
        if (has(i)) {
            return longs(i);
        }
        return attrInts(n);
    }
}
