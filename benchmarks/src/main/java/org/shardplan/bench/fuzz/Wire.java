package org.shardplan.bench.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A protobuf message as a list of fields, each a varint, a fixed-size number or a length-delimited
 * payload (which may itself be parsed as a message). Enough to edit ONNX files structurally without
 * a schema: field numbers come from {@code onnx.proto}. Parsing and writing are O(bytes).
 */
final class Wire {

    /** One field: {@code wire} 0 (varint, {@code value}), 1 / 5 (fixed, {@code value}), 2 ({@code bytes}). */
    static final class Field {
        final int number;
        final int wire;
        long value;
        byte[] bytes;

        Field(int number, int wire, long value, byte[] bytes) {
            this.number = number;
            this.wire = wire;
            this.value = value;
            this.bytes = bytes;
        }

        Field copy() {
            return new Field(number, wire, value, bytes == null ? null : bytes.clone());
        }

        String text() {
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    final List<Field> fields = new ArrayList<>();

    /** Parses a message; null when the bytes are not one (truncated, bad wire type). */
    static Wire parse(byte[] b) {
        Wire m = new Wire();
        int[] pos = {0};
        try {
            while (pos[0] < b.length) {
                long tag = varint(b, pos);
                int number = (int) (tag >>> 3);
                int wire = (int) (tag & 7);
                if (number <= 0) {
                    return null;
                }
                switch (wire) {
                    case 0 -> m.fields.add(new Field(number, 0, varint(b, pos), null));
                    case 1 -> {
                        m.fields.add(new Field(number, 1, fixed(b, pos, 8), null));
                    }
                    case 5 -> m.fields.add(new Field(number, 5, fixed(b, pos, 4), null));
                    case 2 -> {
                        long len = varint(b, pos);
                        if (len < 0 || pos[0] + len > b.length) {
                            return null;
                        }
                        byte[] x = new byte[(int) len];
                        System.arraycopy(b, pos[0], x, 0, (int) len);
                        pos[0] += (int) len;
                        m.fields.add(new Field(number, 2, 0, x));
                    }
                    default -> {
                        return null;
                    }
                }
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            return null;
        }
        return m;
    }

    private static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int x = b[pos[0]++] & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new ArrayIndexOutOfBoundsException("varint too long");
    }

    private static long fixed(byte[] b, int[] pos, int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (b[pos[0]++] & 0xff) << (8 * i);
        }
        return v;
    }

    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Field f : fields) {
            raw(out, (long) f.number << 3 | f.wire);
            switch (f.wire) {
                case 0 -> raw(out, f.value);
                case 1, 5 -> {
                    for (int i = 0; i < (f.wire == 1 ? 8 : 4); i++) {
                        out.write((int) (f.value >>> (8 * i)) & 0xff);
                    }
                }
                default -> {
                    raw(out, f.bytes.length);
                    out.writeBytes(f.bytes);
                }
            }
        }
        return out.toByteArray();
    }

    private static void raw(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    /** The fields of a number. */
    List<Field> all(int number) {
        List<Field> r = new ArrayList<>();
        for (Field f : fields) {
            if (f.number == number) {
                r.add(f);
            }
        }
        return r;
    }

    Field first(int number) {
        for (Field f : fields) {
            if (f.number == number) {
                return f;
            }
        }
        return null;
    }

    Wire varint(int number, long v) {
        fields.add(new Field(number, 0, v, null));
        return this;
    }

    Wire bytes(int number, byte[] b) {
        fields.add(new Field(number, 2, 0, b));
        return this;
    }

    Wire string(int number, String s) {
        return bytes(number, s.getBytes(StandardCharsets.UTF_8));
    }

    Wire message(int number, Wire m) {
        return bytes(number, m.bytes());
    }

    Wire fixed32(int number, float f) {
        fields.add(new Field(number, 5, Float.floatToIntBits(f) & 0xffffffffL, null));
        return this;
    }
}
