package org.shardplan.onnx.edit;

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
