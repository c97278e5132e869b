package org.shardplan.onnx.edit;

import java.util.ArrayList;
import java.util.List;

/**
 * A new node being written: operator, name, inputs, outputs and attributes, finished into a
 * {@link NodeEntry} by {@link #entry()}. Attribute field numbers and type codes follow
 * {@code AttributeProto} of {@code onnx.proto}.
 */
public final class NodeSpec {
    private final String opType;
    private final String name;
    private String domain = "";
    private final List<String> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();
    private final List<Proto> attributes = new ArrayList<>();

    private NodeSpec(String opType, String name) {
        this.opType = opType;
        this.name = name;
    }

    /** A node of the default ONNX domain. */
    public static NodeSpec of(String opType, String name) {
        return new NodeSpec(opType, name);
    }

    public NodeSpec domain(String d) {
        this.domain = d;
        return this;
    }

    public NodeSpec inputs(String... names) {
        inputs.addAll(List.of(names));
        return this;
    }

    public NodeSpec outputs(String... names) {
        outputs.addAll(List.of(names));
        return this;
    }

    /** An INT attribute. */
    public NodeSpec attr(String attr, long v) {
        attributes.add(new Proto().string(1, attr).varint(3, v).varint(20, 2));
        return this;
    }

    /** A FLOAT attribute. */
    public NodeSpec attr(String attr, float v) {
        attributes.add(new Proto().string(1, attr).float32(2, v).varint(20, 1));
        return this;
    }

    /** A STRING attribute. */
    public NodeSpec attr(String attr, String v) {
        attributes.add(new Proto().string(1, attr).string(4, v).varint(20, 3));
        return this;
    }

    /** An INTS attribute. */
    public NodeSpec attr(String attr, long[] v) {
        Proto a = new Proto().string(1, attr);
        for (long x : v) {
            a.varint(8, x);
        }
        attributes.add(a.varint(20, 7));
        return this;
    }

    /** A FLOATS attribute. */
    public NodeSpec attr(String attr, float[] v) {
        Proto a = new Proto().string(1, attr);
        for (float x : v) {
            a.float32(7, x);
        }
        attributes.add(a.varint(20, 6));
        return this;
    }

    /** A TENSOR attribute (e.g. the {@code value} of a Constant); the tensor's own name is kept. */
    public NodeSpec attr(String attr, TensorEntry t) {
        attributes.add(new Proto().string(1, attr).bytes(5, t.raw()).varint(20, 4));
        return this;
    }

    /** The finished node. */
    public NodeEntry entry() {
        Proto p = new Proto();
        inputs.forEach(s -> p.string(NodeEntry.INPUT, s));
        outputs.forEach(s -> p.string(NodeEntry.OUTPUT, s));
        p.string(NodeEntry.NAME, name).string(NodeEntry.OP_TYPE, opType);
        attributes.forEach(a -> p.message(NodeEntry.ATTRIBUTE, a));
        if (!domain.isEmpty()) {
            p.string(NodeEntry.DOMAIN, domain);
        }
        return NodeEntry.parse(p.bytes());
    }
}
