package org.shardplan.onnx.models;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A protobuf message being written field by field in wire format (varints and length-delimited
 * fields only, which is all an ONNX graph without weight data needs). Field numbers are those of
 * {@code onnx.proto}. Writing is linear in the bytes written.
 */
final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

    byte[] bytes() {
        return out.toByteArray();
    }

    Proto varint(int field, long v) {
        tag(field, 0);
        raw(v);
        return this;
    }

    Proto string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    Proto bytes(int field, byte[] b) {
        tag(field, 2);
        raw(b.length);
        out.writeBytes(b);
        return this;
    }

    Proto message(int field, Proto m) {
        return bytes(field, m.bytes());
    }

    /** A fixed32 field (wire type 5), such as a float attribute. */
    Proto raw32(int field, int bits) {
        tag(field, 5);
        for (int i = 0; i < 4; i++) {
            out.write((bits >>> (8 * i)) & 0xff);
        }
        return this;
    }

    private void tag(int field, int wire) {
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
