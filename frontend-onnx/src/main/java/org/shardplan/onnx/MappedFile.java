package org.shardplan.onnx;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A read-only memory map of a whole file of any size (split into 1 GiB segments), with the few
 * protobuf wire-format reads the importer needs at arbitrary {@code long} offsets. Reading through it
 * never copies the file onto the Java heap except for the slices asked for.
 */
final class MappedFile implements AutoCloseable {
    private static final int SEGMENT_BITS = 30;
    private static final long SEGMENT = 1L << SEGMENT_BITS;

    private final FileChannel channel;
    private final MappedByteBuffer[] segments;
    private final long size;

    MappedFile(Path path) throws IOException {
        this.channel = FileChannel.open(path, StandardOpenOption.READ);
        this.size = channel.size();
        int n = (int) ((size + SEGMENT - 1) / SEGMENT);
        this.segments = new MappedByteBuffer[n];
        for (int i = 0; i < n; i++) {
            long start = i * SEGMENT;
            segments[i] = channel.map(FileChannel.MapMode.READ_ONLY, start, Math.min(SEGMENT, size - start));
        }
    }

    long size() {
        return size;
    }

    int byteAt(long pos) {
        return segments[(int) (pos >>> SEGMENT_BITS)].get((int) (pos & (SEGMENT - 1))) & 0xff;
    }

    /** Copies {@code len} bytes starting at {@code pos}. */
    byte[] bytes(long pos, int len) {
        byte[] out = new byte[len];
        int done = 0;
        while (done < len) {
            long p = pos + done;
            MappedByteBuffer seg = segments[(int) (p >>> SEGMENT_BITS)];
            int off = (int) (p & (SEGMENT - 1));
            int n = Math.min(len - done, seg.limit() - off);
            seg.get(off, out, done, n);
            done += n;
        }
        return out;
    }

    /** The file's bytes as read-only buffers in order (views of the mapped segments). */
    java.util.List<java.nio.ByteBuffer> segments() {
        java.util.List<java.nio.ByteBuffer> out = new java.util.ArrayList<>(segments.length);
        for (MappedByteBuffer seg : segments) {
            out.add(seg.asReadOnlyBuffer());
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** A cursor reading protobuf wire format within {@code [pos, end)}. */
    final class Cursor {
        long pos;
        final long end;

        Cursor(long pos, long end) {
            this.pos = pos;
            this.end = end;
        }

        MappedFile file() {
            return MappedFile.this;
        }

        boolean atEnd() {
            return pos >= end;
        }

        long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new WireException("truncated varint at byte " + pos);
                }
                int b = byteAt(pos++);
                result |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) {
                    return result;
                }
            }
            throw new WireException("malformed varint at byte " + pos);
        }

        /** Reads a tag; checks the field number and wire type are valid. */
        int tag() {
            long start = pos;
            long t = varint();
            int wire = (int) (t & 7);
            long field = t >>> 3;
            if (field == 0 || field > (1 << 29) || wire == 6 || wire == 7 || wire == 3 || wire == 4) {
                throw new WireException("invalid protobuf field tag " + t + " at byte " + start);
            }
            return (int) t;
        }

        /** Reads a length prefix and checks it fits. */
        long length() {
            long start = pos;
            long len = varint();
            if (len < 0 || len > end - pos) {
                throw new WireException("field at byte " + start + " says it has " + len + " bytes but only "
                        + (end - pos) + " remain");
            }
            return len;
        }

        String string() {
            long len = length();
            if (len > Integer.MAX_VALUE) {
                throw new WireException("string field of " + len + " bytes at byte " + pos);
            }
            byte[] b = bytes(pos, (int) len);
            pos += len;
            return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        }

        /** Start of the field {@link #nextBytes} found. */
        long fieldStart;
        /** Length in bytes of the field {@link #nextBytes} found. */
        long fieldLength;

        /**
         * Moves to the next length-delimited field (strings, bytes, embedded messages), skipping
         * fields of the other wire types, and past it: its bytes are {@link #fieldStart} and
         * {@link #fieldLength}. Returns its field number, or 0 at the end.
         */
        int nextBytes() {
            while (!atEnd()) {
                int tag = tag();
                if ((tag & 7) != 2) {
                    skip(tag);
                    continue;
                }
                fieldLength = length();
                fieldStart = pos;
                pos += fieldLength;
                return tag >>> 3;
            }
            return 0;
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> {
                    long len = length(); // read before adding: pos moves past the length prefix
                    pos += len;
                }
                case 5 -> advance(4);
                default -> throw new WireException("unsupported wire type " + (tag & 7) + " at byte " + pos);
            }
        }

        private void advance(long n) {
            if (pos + n > end) {
                throw new WireException("truncated fixed-size field at byte " + pos);
            }
            pos += n;
        }
    }

    Cursor cursor(long start, long end) {
        return new Cursor(start, end);
    }

    /** A malformed or truncated wire format. */
    static class WireException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        WireException(String message) {
            super(message);
        }
    }
}
