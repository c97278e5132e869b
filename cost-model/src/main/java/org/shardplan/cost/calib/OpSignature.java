package org.shardplan.cost.calib;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * The identity of one operator measurement: op type and domain, attributes (sorted by name), and
 * the type and shape of every input and output; inputs whose values matter to the kernel (small
 * integer constants such as a Reshape's target shape or a Slice's starts) carry their values. Two
 * nodes with the same signature cost the same on a given machine.
 *
 * <p>Example: {@code Conv|dilations=1,1;group=1;kernel_shape=3,3;pads=1,1,1,1;strides=1,1
 * |float32[1,64,56,56]a;float32[64,64,3,3]p;float32[64]p|float32[1,64,56,56]}
 * (suffix a: activation fed at run time, p: parameter, c: constant with values).
 */
public final class OpSignature {
    private OpSignature() {}

    /** The signature string of a node whose shapes are known. */
    public static String of(Node node) {
        StringBuilder b = new StringBuilder();
        if (!node.domain().isEmpty()) {
            b.append(node.domain()).append(':');
        }
        b.append(node.opType()).append('|');
        Map<String, Attribute> sorted = new TreeMap<>(node.attributes());
        List<String> attrs = new ArrayList<>();
        for (Attribute a : sorted.values()) {
            attrs.add(a.name() + "=" + attributeText(a));
        }
        b.append(String.join(";", attrs)).append('|');
        List<String> ins = new ArrayList<>();
        for (Value v : node.inputs()) {
            ins.add(valueText(v, true));
        }
        b.append(String.join(";", ins)).append('|');
        List<String> outs = new ArrayList<>();
        for (Value v : node.outputs()) {
            outs.add(valueText(v, false));
        }
        b.append(String.join(";", outs));
        return b.toString();
    }

    private static String valueText(Value v, boolean input) {
        if (v.isAbsent()) {
            return "-";
        }
        String s = v.dtype() + v.shape().toString().replace(" ", "");
        if (!input) {
            return s;
        }
        return switch (v.kind()) {
            case PARAMETER -> s + "p";
            case CONSTANT -> s + "c" + constantText(v);
            default -> v.constant().isPresent() ? s + "c" + constantText(v) : s + "a";
        };
    }

    private static String constantText(Value v) {
        if (v.constant().isEmpty()) {
            return "";
        }
        Tensor t = v.constant().get();
        if (t.isIntegral() && t.numElements() <= 16 && t.longs().isPresent()) {
            return Arrays.toString(t.longs().get()).replace(" ", "");
        }
        return "";
    }

    /** A canonical text of an attribute's value. */
    public static String attributeText(Attribute a) {
        return switch (a.kind()) {
            case INT -> Long.toString(a.asInt());
            case FLOAT -> Float.toString(a.asFloat());
            case STRING -> a.asString();
            case INTS -> joinLongs(a.asInts());
            case FLOATS -> {
                float[] f = a.asFloats();
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < f.length; i++) {
                    s.append(i == 0 ? "" : ",").append(f[i]);
                }
                yield s.toString();
            }
            case STRINGS -> String.join(",", a.asStrings());
            case TENSOR -> {
                Tensor t = a.asTensor();
                String head = t.dtype() + joinLongs(t.dims());
                yield t.numElements() <= 16 && t.longs().isPresent() ? head + Arrays.toString(t.longs().get())
                        : t.numElements() <= 16 && t.doubles().isPresent() ? head + Arrays.toString(t.doubles().get())
                        : head;
            }
            default -> a.kind().toString().toLowerCase();
        };
    }

    private static String joinLongs(long[] v) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ",").append(v[i]);
        }
        return s.toString();
    }
}
