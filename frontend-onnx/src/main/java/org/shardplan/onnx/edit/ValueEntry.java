package org.shardplan.onnx.edit;

import java.util.ArrayList;
import java.util.List;

/**
 * One {@code ValueInfoProto} of a graph (an input, an output or a {@code value_info} entry): its name
 * decoded and the message kept as written, type and shape included.
 *
 * @param name the value's name
 * @param raw  the serialized message
 */
public record ValueEntry(String name, byte[] raw) {
    /** ValueInfoProto field numbers. */
    static final int NAME = 1;
    static final int TYPE = 2;

    /** Decodes a serialized {@code ValueInfoProto}. */
    public static ValueEntry parse(byte[] raw) {
        String name = "";
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() == NAME && f.wire() == 2) {
                name = f.string();
            }
        }
        return new ValueEntry(name, raw);
    }

    /**
     * A tensor value of the given element type and shape.
     *
     * @param elemType the ONNX data type number (1 float, 7 int64, ...)
     * @param dims     one entry per dimension: a {@link Number} for a fixed size, a {@link String} for a
     *                 named (symbolic) size, {@code null} for an unknown one; {@code null} for the whole
     *                 list when the rank is unknown
     */
    public static ValueEntry tensor(String name, int elemType, List<?> dims) {
        Proto tensor = new Proto().varint(1, elemType);
        if (dims != null) {
            Proto shape = new Proto();
            for (Object d : dims) {
                Proto dim = new Proto();
                if (d instanceof Number n) {
                    dim.varint(1, n.longValue());
                } else if (d instanceof String s) {
                    dim.string(2, s);
                } else if (d != null) {
                    throw new IllegalArgumentException("a dimension of '" + name
                            + "' must be a number, a name or null, found " + d.getClass().getSimpleName());
                }
                shape.message(1, dim);
            }
            tensor.message(2, shape);
        }
        Proto type = new Proto().message(1, tensor);
        return parse(new Proto().string(NAME, name).message(TYPE, type).bytes());
    }

    /**
     * The dimensions of a tensor value, as {@link #tensor} takes them: a {@link Long} for a fixed size,
     * a {@link String} for a named one, {@code null} for an unknown one; empty when the type gives no
     * shape. Linear in the message's size.
     */
    public List<Object> dims() {
        List<Object> out = new ArrayList<>();
        // ValueInfoProto type 2 -> TypeProto tensor_type 1 -> shape 2 -> dim 1 -> dim_value 1 | dim_param 2
        for (byte[] type : payloads(raw, TYPE)) {
            for (byte[] tensor : payloads(type, 1)) {
                for (byte[] shape : payloads(tensor, 2)) {
                    for (byte[] dim : payloads(shape, 1)) {
                        Object d = null;
                        for (Wire.Field x : Wire.fields(dim)) {
                            if (x.number() == 1 && x.wire() == 0) {
                                d = x.value();
                            } else if (x.number() == 2 && x.wire() == 2) {
                                d = x.string();
                            }
                        }
                        out.add(d);
                    }
                }
            }
        }
        return out;
    }

    /** The payloads of a message's length-delimited fields numbered {@code number}, in order. */
    private static List<byte[]> payloads(byte[] message, int number) {
        List<byte[]> r = new ArrayList<>();
        for (Wire.Field f : Wire.fields(message)) {
            if (f.number() == number && f.wire() == 2) {
                r.add(f.payload());
            }
        }
        return r;
    }

    /** The same value under another name. */
    public ValueEntry withName(String newName) {
        Proto p = new Proto().string(NAME, newName);
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() != NAME) {
                p.rawFields(f.whole());
            }
        }
        return parse(p.bytes());
    }
}
