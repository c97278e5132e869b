package org.shardplan.runtime.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.Wire;

/**
 * The scalar and integer-list attributes of a node ({@code AttributeProto} fields 1 name, 2 f, 3 i,
 * 8 ints), decoded from the node's raw bytes: what the translated operators read (axis, transA,
 * transB, alpha, beta; a convolution's strides, pads, dilations, kernel_shape, group).
 */
final class Attributes {

    private static final int NODE_ATTRIBUTE = 5;

    private final Map<String, Long> ints = new HashMap<>();
    private final Map<String, Float> floats = new HashMap<>();
    private final Map<String, long[]> lists = new HashMap<>();

    private Attributes() {}

    static Attributes of(NodeEntry n) {
        Attributes a = new Attributes();
        for (Wire.Field f : Wire.fields(n.raw())) {
            if (f.number() != NODE_ATTRIBUTE || f.wire() != 2) {
                continue;
            }
            String name = null;
            Long i = null;
            Float x = null;
            java.util.List<Long> ints = new java.util.ArrayList<>();
            for (Wire.Field g : Wire.fields(f.payload())) {
                switch (g.number()) {
                    case 1 -> name = g.string();
                    case 2 -> {
                        if (g.wire() == 5) {
                            byte[] w = g.whole();
                            x = ByteBuffer.wrap(w, w.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
                        }
                    }
                    case 3 -> {
                        if (g.wire() == 0) {
                            i = g.value();
                        }
                    }
                    case 8 -> {
                        if (g.wire() == 0) {
                            ints.add(g.value());
                        } else if (g.wire() == 2) {
                            packed(g.payload(), ints);
                        }
                    }
                    default -> {
                        // other kinds (tensors, graphs, float lists) are not read by the translated operators
                    }
                }
            }
            if (name != null) {
                if (i != null) {
                    a.ints.put(name, i);
                }
                if (x != null) {
                    a.floats.put(name, x);
                }
                if (!ints.isEmpty()) {
                    a.lists.put(name, ints.stream().mapToLong(Long::longValue).toArray());
                }
            }
        }
        return a;
    }

    /** Packed varints (a repeated int64 field written packed), appended to {@code out}. */
    private static void packed(byte[] b, java.util.List<Long> out) {
        int pos = 0;
        while (pos < b.length) {
            long v = 0;
            int shift = 0;
            while (true) {
                if (pos >= b.length || shift > 63) {
                    throw new IllegalArgumentException("a packed integer list attribute is truncated");
                }
                int c = b[pos++] & 0xff;
                v |= (long) (c & 0x7f) << shift;
                shift += 7;
                if ((c & 0x80) == 0) {
                    break;
                }
            }
            out.add(v);
        }
    }

    /** The integer list {@code name}, or {@code dflt} when the node has none. */
    long[] ints(String name, long[] dflt) {
        long[] v = lists.get(name);
        return v == null ? dflt : v.clone();
    }

    long i(String name, long dflt) {
        return ints.getOrDefault(name, dflt);
    }

    float f(String name, float dflt) {
        return floats.getOrDefault(name, dflt);
    }
}
