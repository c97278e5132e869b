package org.shardplan.bench.importer;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a synthetic ONNX model of any size without holding it in memory: an MLP of {@code layers}
 * {@code MatMul + Relu} pairs over {@code [batch, width]} activations, each with a float32 weight of
 * {@code width x width} stored inline as {@code raw_data} (zeros). The protobuf length prefixes are
 * computed arithmetically, so the weights stream straight to disk. With width 4096 each layer holds
 * 64 MiB; 17 layers exceed 1 GiB, 34 layers exceed the 2 GiB protobuf message limit.
 */
final class LargeModelWriter {
    private LargeModelWriter() {
    }

    /** Writes the model and returns the number of weight bytes in it. */
    static long write(Path file, int layers, int width) throws IOException {
        long weightBytes = 4L * width * width;
        // Graph = name + input + output + per layer (2 nodes + 1 initializer header + raw data).
        ByteArrayOutputStream fixed = new ByteArrayOutputStream();
        bytes(fixed, 2, "mlp".getBytes(StandardCharsets.UTF_8));
        bytes(fixed, 11, valueInfo("h0", width));
        bytes(fixed, 12, valueInfo("h" + layers, width));
        long graphLen = fixed.size();
        for (int i = 0; i < layers; i++) {
            graphLen += fieldLen(node("mm" + i, "MatMul", new String[] {"h" + i, "w" + i}, "a" + i).length);
            graphLen += fieldLen(node("relu" + i, "Relu", new String[] {"a" + i}, "h" + (i + 1)).length);
            graphLen += fieldLen(tensorHeader("w" + i, width).length + rawPrefixLen(weightBytes) + weightBytes);
        }
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            varintField(out, 1, 8); // ir_version
            bytes(out, 2, "shardplan-bench".getBytes(StandardCharsets.UTF_8));
            ByteArrayOutputStream opset = new ByteArrayOutputStream();
            varintField(opset, 2, 13);
            bytes(out, 8, opset.toByteArray());
            tag(out, 7, 2);
            varint(out, graphLen);
            out.write(fixed.toByteArray());
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < layers; i++) {
                bytes(out, 1, node("mm" + i, "MatMul", new String[] {"h" + i, "w" + i}, "a" + i));
                bytes(out, 1, node("relu" + i, "Relu", new String[] {"a" + i}, "h" + (i + 1)));
                byte[] header = tensorHeader("w" + i, width);
                tag(out, 5, 2);
                varint(out, header.length + rawPrefixLen(weightBytes) + weightBytes);
                out.write(header);
                tag(out, 9, 2);
                varint(out, weightBytes);
                for (long left = weightBytes; left > 0; left -= zeros.length) {
                    out.write(zeros, 0, (int) Math.min(zeros.length, left));
                }
            }
        }
        return weightBytes * layers;
    }

    private static byte[] valueInfo(String name, int width) throws IOException {
        ByteArrayOutputStream dimB = new ByteArrayOutputStream();
        bytes(dimB, 2, "batch".getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream dimW = new ByteArrayOutputStream();
        varintField(dimW, 1, width);
        ByteArrayOutputStream shape = new ByteArrayOutputStream();
        bytes(shape, 1, dimB.toByteArray());
        bytes(shape, 1, dimW.toByteArray());
        ByteArrayOutputStream tensor = new ByteArrayOutputStream();
        varintField(tensor, 1, 1);
        bytes(tensor, 2, shape.toByteArray());
        ByteArrayOutputStream type = new ByteArrayOutputStream();
        bytes(type, 1, tensor.toByteArray());
        ByteArrayOutputStream vi = new ByteArrayOutputStream();
        bytes(vi, 1, name.getBytes(StandardCharsets.UTF_8));
        bytes(vi, 2, type.toByteArray());
        return vi.toByteArray();
    }

    private static byte[] node(String name, String op, String[] in, String out) throws IOException {
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        for (String i : in) {
            bytes(n, 1, i.getBytes(StandardCharsets.UTF_8));
        }
        bytes(n, 2, out.getBytes(StandardCharsets.UTF_8));
        bytes(n, 3, name.getBytes(StandardCharsets.UTF_8));
        bytes(n, 4, op.getBytes(StandardCharsets.UTF_8));
        return n.toByteArray();
    }

    private static byte[] tensorHeader(String name, int width) throws IOException {
        ByteArrayOutputStream t = new ByteArrayOutputStream();
        varintField(t, 1, width);
        varintField(t, 1, width);
        varintField(t, 2, 1);
        bytes(t, 8, name.getBytes(StandardCharsets.UTF_8));
        return t.toByteArray();
    }

    private static long fieldLen(long payload) {
        return 1 + varintLen(payload) + payload;
    }

    private static long rawPrefixLen(long n) {
        return 1 + varintLen(n);
    }

    private static int varintLen(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    private static void tag(OutputStream o, int field, int wire) throws IOException {
        varint(o, (long) field << 3 | wire);
    }

    private static void varint(OutputStream o, long v) throws IOException {
        while ((v & ~0x7fL) != 0) {
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void varintField(OutputStream o, int field, long v) throws IOException {
        tag(o, field, 0);
        varint(o, v);
    }

    private static void bytes(OutputStream o, int field, byte[] b) throws IOException {
        tag(o, field, 2);
        varint(o, b.length);
        o.write(b);
    }
}
