package org.shardplan.onnx.edit;

import java.util.ArrayList;
import java.util.List;

/**
 * One {@code NodeProto} of a model: its name, operator, domain and value names decoded, and the whole
 * message kept as written ({@code raw}), so that a node copied into another model keeps every
 * attribute, subgraph and annotation it had. The {@code with...} methods return a changed copy;
 * each is linear in the size of the message.
 *
 * @param name    the node's name ("" when unnamed)
 * @param opType  the operator
 * @param domain  the operator set domain ("" for the default ONNX domain)
 * @param inputs  input value names in order ("" for an omitted optional input)
 * @param outputs output value names in order
 * @param raw     the serialized {@code NodeProto}
 */
public record NodeEntry(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                        byte[] raw) {
    /** NodeProto field numbers. */
    static final int INPUT = 1;
    static final int OUTPUT = 2;
    static final int NAME = 3;
    static final int OP_TYPE = 4;
    static final int ATTRIBUTE = 5;
    static final int DOMAIN = 7;

    public NodeEntry {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** Decodes a serialized {@code NodeProto}. */
    public static NodeEntry parse(byte[] raw) {
        String name = "";
        String op = "";
        String domain = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.wire() != 2) {
                continue;
            }
            switch (f.number()) {
                case INPUT -> in.add(f.string());
                case OUTPUT -> out.add(f.string());
                case NAME -> name = f.string();
                case OP_TYPE -> op = f.string();
                case DOMAIN -> domain = f.string();
                default -> {
                }
            }
        }
        return new NodeEntry(name, op, domain, in, out, raw);
    }

    /**
     * The values of the enclosing graphs that this node's subgraphs ({@code If} branches, {@code Loop} and
     * {@code Scan} bodies, at any depth) read without taking them as inputs, in order of first use: to the graph
     * around it they are inputs of the node as much as {@link #inputs} are. Empty for a node without subgraphs.
     * Linear in the size of the message.
     */
    public List<String> capturedInputs() {
        java.util.LinkedHashSet<String> r = new java.util.LinkedHashSet<>();
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() == ATTRIBUTE && f.wire() == 2) {
                for (byte[] g : subgraphs(f.payload())) {
                    captured(g, r);
                }
            }
        }
        return List.copyOf(r);
    }

    /** The GraphProtos of an AttributeProto ({@code g}, 6, and {@code graphs}, 11). */
    private static List<byte[]> subgraphs(byte[] attribute) {
        List<byte[]> r = new ArrayList<>();
        for (Wire.Field f : Wire.fields(attribute)) {
            if ((f.number() == 6 || f.number() == 11) && f.wire() == 2) {
                r.add(f.payload());
            }
        }
        return r;
    }

    /** Adds to {@code out} the names that graph {@code g} reads from outside itself. */
    private static void captured(byte[] g, java.util.Set<String> out) {
        java.util.Set<String> defined = new java.util.HashSet<>();
        List<NodeEntry> nodes = new ArrayList<>();
        for (Wire.Field f : Wire.fields(g)) {
            if (f.wire() != 2) {
                continue;
            }
            switch (f.number()) {
                case 1 -> nodes.add(parse(f.payload()));
                case 5, 11 -> { // initializer (TensorProto.name = 8), input (ValueInfoProto.name = 1)
                    int nameField = f.number() == 5 ? 8 : 1;
                    for (Wire.Field x : Wire.fields(f.payload())) {
                        if (x.number() == nameField && x.wire() == 2) {
                            defined.add(x.string());
                        }
                    }
                }
                default -> {
                }
            }
        }
        for (NodeEntry n : nodes) {
            n.outputs().forEach(defined::add);
        }
        for (NodeEntry n : nodes) {
            List<String> reads = new ArrayList<>(n.inputs());
            reads.addAll(n.capturedInputs());
            for (String in : reads) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    out.add(in);
                }
            }
        }
    }

    /** The same node reading {@code newInputs} instead of its inputs. */
    public NodeEntry withInputs(List<String> newInputs) {
        Proto p = new Proto();
        newInputs.forEach(s -> p.string(INPUT, s));
        return parse(replace(INPUT, p));
    }

    /** The same node writing {@code newOutputs} instead of its outputs. */
    public NodeEntry withOutputs(List<String> newOutputs) {
        Proto p = new Proto();
        newOutputs.forEach(s -> p.string(OUTPUT, s));
        return parse(replace(OUTPUT, p));
    }

    /** The same node under another name. */
    public NodeEntry withName(String newName) {
        return parse(replace(NAME, new Proto().string(NAME, newName)));
    }

    /** The same node with the given fields (whole fields in wire format, e.g. an annotation) appended. */
    public NodeEntry withFields(Proto fields) {
        return parse(new Proto().rawFields(raw).rawFields(fields.bytes()).bytes());
    }

    /** The same node without any field numbered {@code number}. */
    public NodeEntry withoutField(int number) {
        return parse(replace(number, new Proto()));
    }

    /** The message with every field numbered {@code number} replaced by {@code replacement}'s fields, written first. */
    private byte[] replace(int number, Proto replacement) {
        Proto p = new Proto().rawFields(replacement.bytes());
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() != number) {
                p.rawFields(f.whole());
            }
        }
        return p.bytes();
    }

    @Override
    public String toString() {
        return opType + " '" + name + "' " + inputs + " -> " + outputs;
    }
}
