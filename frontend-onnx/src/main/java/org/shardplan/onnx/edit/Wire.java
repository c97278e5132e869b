package org.shardplan.onnx.edit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of one protobuf message held in memory, split without decoding their contents: each
 * {@link Field} keeps its number, wire type, the bytes of the whole field (tag included) and, for
 * length-delimited fields, the bounds of its payload. Splitting is linear in the message's length.
 */
public final class Wire {
    private Wire() {
    }

    /**
     * One field of a message.
     *
     * @param number  the field number
     * @param wire    the wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32)
     * @param whole   the field as written, tag included: appending it to a message adds the field
     * @param value   for varints the value, for length-delimited fields the payload's offset in {@code whole}
     */
    public record Field(int number, int wire, byte[] whole, long value) {
        /** The payload of a length-delimited field. */
        public byte[] payload() {
            if (wire != 2) {
                throw new IllegalStateException("field " + number + " must be length-delimited, found wire type " + wire);
            }
            byte[] p = new byte[whole.length - (int) value];
            System.arraycopy(whole, (int) value, p, 0, p.length);
            return p;
        }

        /** The payload of a length-delimited field read as UTF-8. */
        public String string() {
            if (wire != 2) {
                throw new IllegalStateException("field " + number + " must be length-delimited, found wire type " + wire);
            }
            return new String(whole, (int) value, whole.length - (int) value, StandardCharsets.UTF_8);
        }
    }

    /**
     * Splits a message into its fields, in the order written.
     *
     * @throws IllegalArgumentException naming the byte offset when the message is truncated or not protobuf
     */
    public static List<Field> fields(byte[] message) {
        return fields(message, 0, message.length);
    }

    /** {@link #fields(byte[])} over {@code message[from, to)}. */
    public static List<Field> fields(byte[] message, int from, int to) {
        List<Field> out = new ArrayList<>();
        int[] pos = {from};
        while (pos[0] < to) {
            int start = pos[0];
            long tag = varint(message, pos, to);
            int number = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (number <= 0) {
                throw new IllegalArgumentException("field number must be positive, found " + number + " at byte " + start);
            }
            long value;
            switch (wire) {
                case 0 -> value = varint(message, pos, to);
                case 1 -> {
                    need(message, pos[0], 8, to);
                    pos[0] += 8;
                    value = 0;
                }
                case 5 -> {
                    need(message, pos[0], 4, to);
                    pos[0] += 4;
                    value = 0;
                }
                case 2 -> {
                    long len = varint(message, pos, to);
                    if (len < 0 || len > to - pos[0]) {
                        throw new IllegalArgumentException("field " + number + " at byte " + start + " claims "
                                + len + " bytes, but " + (to - pos[0]) + " remain");
                    }
                    value = pos[0] - start;
                    pos[0] += (int) len;
                }
                default -> throw new IllegalArgumentException("wire type must be 0, 1, 2 or 5, found " + wire
                        + " at byte " + start);
            }
            byte[] whole = new byte[pos[0] - start];
            System.arraycopy(message, start, whole, 0, whole.length);
            out.add(new Field(number, wire, whole, value));
        }
        return out;
    }

    private static void need(byte[] b, int at, int n, int to) {
        if (to - at < n) {
            throw new IllegalArgumentException("message truncated at byte " + at + ": " + n + " bytes needed");
        }
    }

    /**
     * Reads the varint at {@code pos[0]} (advanced past it), not reading at or beyond {@code to}.
     *
     * @throws IllegalArgumentException when the varint is truncated or longer than 10 bytes
     */
    static long varint(byte[] b, int[] pos, int to) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= to) {
                throw new IllegalArgumentException("message truncated inside a varint at byte " + pos[0]);
            }
            int x = b[pos[0]++] & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("varint longer than 10 bytes before byte " + pos[0]);
    }
}
