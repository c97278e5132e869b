package org.shardplan.runtime.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.Wire;

/**
 * The scalar attributes of a node ({@code AttributeProto} fields 1 name, 2 f, 3 i), decoded from the
 * node's raw bytes: what the translated operators read (axis, transA, transB, alpha, beta).
 */
final class Attributes {

    private static final int NODE_ATTRIBUTE = 5;

    private final Map<String, Long> ints = new HashMap<>();
    private final Map<String, Float> floats = new HashMap<>();

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
                    default -> {
                        // other kinds (tensors, graphs, lists) are not read by the translated operators
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
            }
        }
        return a;
    }

    long i(String name, long dflt) {
        return ints.getOrDefault(name, dflt);
    }

    float f(String name, float dflt) {
        return floats.getOrDefault(name, dflt);
    }
}
