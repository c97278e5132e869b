package org.shardplan.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.shardplan.onnx.edit.Proto;

/**
 * Writes ONNX protobuf messages for test fixtures, field by field (numbers from onnx.proto), so that
 * tests can build exactly the malformed or unusual models they need. The wire format is {@link Proto}'s.
 */
final class OnnxWriter {
    private final Proto out = new Proto();

    byte[] bytes() {
        return out.bytes();
    }

    OnnxWriter varint(int field, long v) {
        out.varint(field, v);
        return this;
    }

    OnnxWriter string(int field, String s) {
        out.string(field, s);
        return this;
    }

    OnnxWriter bytes(int field, byte[] b) {
        out.bytes(field, b);
        return this;
    }

    OnnxWriter message(int field, OnnxWriter m) {
        return bytes(field, m.bytes());
    }

    OnnxWriter fixed32(int field, float f) {
        out.float32(field, f);
        return this;
    }

    // ---- ONNX messages

    /** ModelProto with one default-domain opset import. */
    static OnnxWriter model(long opset, OnnxWriter graph) {
        return new OnnxWriter().varint(1, 8).string(2, "shardplan-test").string(3, "1")
                .message(7, graph).message(8, new OnnxWriter().string(1, "").varint(2, opset));
    }

    static OnnxWriter graph(String name) {
        return new OnnxWriter().string(2, name);
    }

    OnnxWriter node(OnnxWriter n) {
        return message(1, n);
    }

    OnnxWriter input(OnnxWriter vi) {
        return message(11, vi);
    }

    OnnxWriter output(OnnxWriter vi) {
        return message(12, vi);
    }

    OnnxWriter valueInfo(OnnxWriter vi) {
        return message(13, vi);
    }

    OnnxWriter initializer(OnnxWriter t) {
        return message(5, t);
    }

    /** NodeProto: inputs ("" for a left-out optional input), outputs, name, op type. */
    static OnnxWriter node(String name, String op, String[] inputs, String[] outputs, OnnxWriter... attrs) {
        OnnxWriter n = new OnnxWriter();
        for (String i : inputs) {
            n.string(1, i);
        }
        for (String o : outputs) {
            n.string(2, o);
        }
        n.string(3, name).string(4, op);
        for (OnnxWriter a : attrs) {
            n.message(5, a);
        }
        return n;
    }

    OnnxWriter domain(String d) {
        return string(7, d);
    }

    static OnnxWriter intAttr(String name, long v) {
        return new OnnxWriter().string(1, name).varint(3, v).varint(20, 2);
    }

    static OnnxWriter intsAttr(String name, long... v) {
        OnnxWriter a = new OnnxWriter().string(1, name);
        for (long x : v) {
            a.varint(8, x);
        }
        return a.varint(20, 7);
    }

    static OnnxWriter tensorAttr(String name, OnnxWriter t) {
        return new OnnxWriter().string(1, name).message(5, t).varint(20, 4);
    }

    static OnnxWriter graphAttr(String name, OnnxWriter g) {
        return new OnnxWriter().string(1, name).message(6, g).varint(20, 5);
    }

    /** ValueInfoProto of a tensor; dims are Long (value), String (symbol) or null (unknown). */
    static OnnxWriter tensorInfo(String name, int elemType, Object... dims) {
        OnnxWriter shape = new OnnxWriter();
        for (Object d : dims) {
            OnnxWriter dim = new OnnxWriter();
            if (d instanceof Number n) {
                dim.varint(1, n.longValue());
            } else if (d instanceof String s) {
                dim.string(2, s);
            }
            shape.message(1, dim);
        }
        OnnxWriter tensor = new OnnxWriter().varint(1, elemType).message(2, shape);
        return new OnnxWriter().string(1, name).message(2, new OnnxWriter().message(1, tensor));
    }

    /** An int64 TensorProto with raw data. */
    static OnnxWriter int64Tensor(String name, long[] dims, long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        OnnxWriter t = new OnnxWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, 7).string(8, name).bytes(9, b.array());
    }

    /** A float32 TensorProto of zeros with raw data. */
    static OnnxWriter floatTensor(String name, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        OnnxWriter t = new OnnxWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, 1).string(8, name).bytes(9, new byte[(int) (4 * n)]);
    }

    /** A float32 TensorProto stored in an external file. */
    static OnnxWriter externalTensor(String name, String location, long offset, long length, long... dims) {
        OnnxWriter t = new OnnxWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        t.varint(2, 1).string(8, name);
        t.message(13, new OnnxWriter().string(1, "location").string(2, location));
        t.message(13, new OnnxWriter().string(1, "offset").string(2, Long.toString(offset)));
        t.message(13, new OnnxWriter().string(1, "length").string(2, Long.toString(length)));
        return t.varint(14, 1);
    }

    Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }
}
