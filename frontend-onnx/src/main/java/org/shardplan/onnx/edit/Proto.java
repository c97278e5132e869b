package org.shardplan.onnx.edit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A protobuf message being written field by field in wire format. Field numbers are those of
 * {@code onnx.proto}; a message is finished with {@link #bytes()} and nested with {@link #message}.
 * Fields may be written in any order and repeated fields by repeating the call, as the wire format
 * allows. Writing is linear in the bytes written.
 */
public final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

    /** The message written so far. */
    public byte[] bytes() {
        return out.toByteArray();
    }

    /** Bytes written so far. */
    public int size() {
        return out.size();
    }

    /** A varint field (wire type 0): int32, int64, uint64, bool and enum fields. */
    public Proto varint(int field, long v) {
        tag(field, 0);
        raw(v);
        return this;
    }

    /** A UTF-8 string field. */
    public Proto string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    /** A length-delimited field with the given contents. */
    public Proto bytes(int field, byte[] b) {
        tag(field, 2);
        raw(b.length);
        out.writeBytes(b);
        return this;
    }

    /** A nested message. */
    public Proto message(int field, Proto m) {
        return bytes(field, m.bytes());
    }

    /** A fixed32 field (wire type 5), such as a float. */
    public Proto raw32(int field, int bits) {
        tag(field, 5);
        for (int i = 0; i < 4; i++) {
            out.write((bits >>> (8 * i)) & 0xff);
        }
        return this;
    }

    /** A float field (wire type 5). */
    public Proto float32(int field, float v) {
        return raw32(field, Float.floatToRawIntBits(v));
    }

    /** A packed repeated varint field (int64s, int32s). */
    public Proto packedVarints(int field, long[] values) {
        Proto p = new Proto();
        for (long v : values) {
            p.raw(v);
        }
        return bytes(field, p.bytes());
    }

    /** A packed repeated float field. */
    public Proto packedFloats(int field, float[] values) {
        byte[] b = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            for (int k = 0; k < 4; k++) {
                b[4 * i + k] = (byte) (bits >>> (8 * k));
            }
        }
        return bytes(field, b);
    }

    /** Bytes already in wire format (one or more whole fields), appended as they are. */
    public Proto rawFields(byte[] fields) {
        out.writeBytes(fields);
        return this;
    }

    private void tag(int field, int wire) {
        if (field <= 0) {
            throw new IllegalArgumentException("field number must be positive, found " + field);
        }
        raw((long) field << 3 | wire);
    }

    private void raw(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
