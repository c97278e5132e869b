package org.shardplan.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.DType;
import org.shardplan.graph.ExternalData;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Triangle;

/**
 * A decoder for the ONNX protobuf messages shardplan needs, reading the wire format straight from a
 * {@link MappedFile}: {@code ModelProto}, {@code GraphProto}, {@code NodeProto},
 * {@code AttributeProto}, {@code TensorProto}, {@code ValueInfoProto}, {@code TypeProto}. Field numbers
 * follow {@code onnx.proto3} (ONNX 1.17). Tensor data are never copied unless the tensor is small
 * enough to be kept ({@link Fold#MAX_ELEMENTS}); the rest is skipped by length. Linear in the number of
 * fields read.
 */
final class Pb {
    private Pb() {
    }

    // ---- message types

    /** TensorShapeProto.Dimension: a value, a parameter name, or neither. */
    record DimP(boolean hasValue, long value, String param) {
    }

    /** TypeProto reduced to what shardplan uses. kind: 1 tensor, 2 sparse tensor, 3 sequence, 4 optional, 0 other. */
    record TypeP(int kind, int elemType, List<DimP> shape) {
    }

    record ValueInfoP(String name, TypeP type) {
    }

    record AttrP(String name, int type, float f, long i, String s, RawModel.Init t, GraphP g, float[] floats,
                 long[] ints, List<String> strings, List<RawModel.Init> tensors, List<GraphP> graphs,
                 RawModel.Init sparse, List<RawModel.Init> sparses, String refAttrName, TypeP tp, List<TypeP> tps) {
        /** The same attribute under another name. */
        AttrP renamed(String newName) {
            return new AttrP(newName, type, f, i, s, t, g, floats, ints, strings, tensors, graphs, sparse, sparses, "",
                    tp, tps);
        }
    }

    /** FunctionProto: a model-local function, called by nodes of its domain and name. */
    record FunctionP(String name, String domain, List<String> inputs, List<String> outputs, List<String> attributes,
                     List<AttrP> attributeDefaults, List<NodeP> nodes) {
    }

    record NodeP(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                 List<AttrP> attributes) {
    }

    /** GraphProto. */
    static final class GraphP {
        String name = "";
        final List<NodeP> nodes = new ArrayList<>();
        final List<RawModel.Init> initializers = new ArrayList<>();
        final List<ValueInfoP> inputs = new ArrayList<>();
        final List<ValueInfoP> outputs = new ArrayList<>();
        final List<ValueInfoP> valueInfo = new ArrayList<>();
    }

    // Attribute kinds (AttributeProto.AttributeType).
    static final int A_UNDEFINED = 0;
    static final int A_FLOAT = 1;
    static final int A_INT = 2;
    static final int A_STRING = 3;
    static final int A_TENSOR = 4;
    static final int A_GRAPH = 5;
    static final int A_FLOATS = 6;
    static final int A_INTS = 7;
    static final int A_STRINGS = 8;
    static final int A_TENSORS = 9;
    static final int A_GRAPHS = 10;
    static final int A_SPARSE_TENSOR = 11;
    static final int A_SPARSE_TENSORS = 12;
    static final int A_TYPE_PROTO = 13;
    static final int A_TYPE_PROTOS = 14;

    private static final int VARINT = 0;
    private static final int I64 = 1;
    private static final int LEN = 2;
    private static final int I32 = 5;

    /**
     * How deep graphs (the branches and bodies of {@code If}, {@code Loop}, {@code Scan}) and types
     * (sequences of sequences, optionals) may nest. Real models nest a few levels; the limit keeps a
     * malformed file from exhausting the stack of the recursive reading and inference (protobuf's own
     * parsers stop at 100 nested messages by default).
     */
    static final int MAX_NESTING = 64;

    /** Nesting depth of the graph and type being read, per thread. */
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[2]);

    /** A file whose graphs or types nest more than {@link #MAX_NESTING} deep. */
    static final class TooDeepException extends MappedFile.WireException {
        private static final long serialVersionUID = 1L;

        TooDeepException(String message) {
            super(message);
        }
    }

    private static void enter(int kind, String what, long at) {
        int[] d = DEPTH.get();
        if (++d[kind] > MAX_NESTING) {
            d[kind] = 0;
            throw new TooDeepException(what + " must nest at most " + MAX_NESTING + " deep, found deeper nesting at byte " + at);
        }
    }

    private static void leave(int kind) {
        int[] d = DEPTH.get();
        d[kind] = Math.max(0, d[kind] - 1);
    }

    /** Forgets the nesting depth (before reading a new file, after an error). */
    static void resetNesting() {
        int[] d = DEPTH.get();
        d[0] = 0;
        d[1] = 0;
    }

    // ---- decoding

    static GraphP graph(MappedFile f, long start, long end, String where) {
        enter(0, "graphs (If, Loop and Scan bodies)", start);
        try {
            return graph0(f, start, end, where);
        } finally {
            leave(0);
        }
    }

    private static GraphP graph0(MappedFile f, long start, long end, String where) {
        GraphP g = new GraphP();
        MappedFile.Cursor c = f.cursor(start, end);
        for (int field; (field = c.nextBytes()) != 0; ) {
            long s = c.fieldStart;
            long len = c.fieldLength;
            switch (field) {
                case 1 -> g.nodes.add(node(f, s, s + len, where));
                case 2 -> g.name = string(f, s, len);
                case 5 -> g.initializers.add(tensor(f, s, s + len, where));
                case 15 -> g.initializers.add(sparse(f, s, s + len, where));
                case 11 -> g.inputs.add(valueInfo(f, s, s + len));
                case 12 -> g.outputs.add(valueInfo(f, s, s + len));
                case 13 -> g.valueInfo.add(valueInfo(f, s, s + len));
                default -> {
                }
            }
        }
        return g;
    }

    static String string(MappedFile f, long s, long len) {
        if (len > Integer.MAX_VALUE - 8) {
            throw new MappedFile.WireException("string of " + len + " bytes at byte " + s);
        }
        return new String(f.bytes(s, (int) len), java.nio.charset.StandardCharsets.UTF_8);
    }

    static NodeP node(MappedFile f, long start, long end, String where) {
        MappedFile.Cursor c = f.cursor(start, end);
        String name = "";
        String op = "";
        String domain = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        List<AttrP> attrs = new ArrayList<>();
        for (int field; (field = c.nextBytes()) != 0; ) {
            long s = c.fieldStart;
            long len = c.fieldLength;
            switch (field) {
                case 1 -> in.add(string(f, s, len));
                case 2 -> out.add(string(f, s, len));
                case 3 -> name = string(f, s, len);
                case 4 -> op = string(f, s, len);
                case 5 -> attrs.add(attribute(f, s, s + len, where));
                case 7 -> domain = string(f, s, len);
                default -> {
                }
            }
        }
        return new NodeP(name, op, domain, List.copyOf(in), List.copyOf(out), List.copyOf(attrs));
    }

    static AttrP attribute(MappedFile f, long start, long end, String where) {
        MappedFile.Cursor c = f.cursor(start, end);
        String name = "";
        int type = A_UNDEFINED;
        float fl = 0;
        long i = 0;
        String s = null;
        RawModel.Init t = null;
        GraphP g = null;
        List<Float> floats = new ArrayList<>();
        List<Long> ints = new ArrayList<>();
        List<String> strings = new ArrayList<>();
        List<RawModel.Init> tensors = new ArrayList<>();
        List<GraphP> graphs = new ArrayList<>();
        RawModel.Init sp = null;
        List<RawModel.Init> sps = new ArrayList<>();
        boolean hasF = false;
        boolean hasI = false;
        String ref = "";
        TypeP tp = null;
        List<TypeP> tps = new ArrayList<>();
        while (!c.atEnd()) {
            int tag = c.tag();
            int field = tag >>> 3;
            int wire = tag & 7;
            if (field == 2 && wire == I32) {
                fl = Float.intBitsToFloat(fixed32(c));
                hasF = true;
            } else if (field == 3 && wire == VARINT) {
                i = c.varint();
                hasI = true;
            } else if (field == 20 && wire == VARINT) {
                type = (int) c.varint();
            } else if (field == 7 && wire == I32) {
                floats.add(Float.intBitsToFloat(fixed32(c)));
            } else if (field == 8 && wire == VARINT) {
                ints.add(c.varint());
            } else if (wire == LEN) {
                long len = c.length();
                long p = c.pos;
                switch (field) {
                    case 1 -> name = string(f, p, len);
                    case 4 -> s = string(f, p, len);
                    case 5 -> t = tensor(f, p, p + len, where);
                    case 6 -> g = graph(f, p, p + len, where);
                    case 7 -> {
                        MappedFile.Cursor q = f.cursor(p, p + len);
                        while (!q.atEnd()) {
                            floats.add(Float.intBitsToFloat(fixed32(q)));
                        }
                    }
                    case 8 -> {
                        MappedFile.Cursor q = f.cursor(p, p + len);
                        while (!q.atEnd()) {
                            ints.add(q.varint());
                        }
                    }
                    case 9 -> strings.add(string(f, p, len));
                    case 10 -> tensors.add(tensor(f, p, p + len, where));
                    case 11 -> graphs.add(graph(f, p, p + len, where));
                    case 14 -> tp = type(f, p, p + len);
                    case 15 -> tps.add(type(f, p, p + len));
                    case 21 -> ref = string(f, p, len);
                    case 22 -> sp = sparse(f, p, p + len, where);
                    case 23 -> sps.add(sparse(f, p, p + len, where));
                    default -> {
                    }
                }
                c.pos = p + len;
            } else {
                c.skip(tag);
            }
        }
        if (type == A_UNDEFINED) {
            type = g != null ? A_GRAPH : !graphs.isEmpty() ? A_GRAPHS : t != null ? A_TENSOR : s != null ? A_STRING
                    : hasF ? A_FLOAT : !ints.isEmpty() ? A_INTS : !floats.isEmpty() ? A_FLOATS
                    : !strings.isEmpty() ? A_STRINGS : !tensors.isEmpty() ? A_TENSORS : hasI ? A_INT : A_INT;
        }
        float[] fa = new float[floats.size()];
        for (int k = 0; k < fa.length; k++) {
            fa[k] = floats.get(k);
        }
        long[] ia = ints.stream().mapToLong(Long::longValue).toArray();
        return new AttrP(name, type, fl, i, s == null ? "" : s, t, g, fa, ia, List.copyOf(strings), List.copyOf(tensors),
                List.copyOf(graphs), sp, List.copyOf(sps), ref, tp, List.copyOf(tps));
    }

    private static int fixed32(MappedFile.Cursor c) {
        if (c.pos + 4 > c.end) {
            throw new MappedFile.WireException("truncated fixed32 at byte " + c.pos);
        }
        long p = c.pos;
        MappedFile f = c.file();
        int v = f.byteAt(p) | f.byteAt(p + 1) << 8 | f.byteAt(p + 2) << 16 | f.byteAt(p + 3) << 24;
        c.pos += 4;
        return v;
    }

    /** FunctionProto: name 1, input 4, output 5, attribute 6, node 7, domain 10, attribute_proto 11. */
    static FunctionP function(MappedFile f, long start, long end, String where) {
        MappedFile.Cursor c = f.cursor(start, end);
        String name = "";
        String domain = "";
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        List<String> attrs = new ArrayList<>();
        List<AttrP> defaults = new ArrayList<>();
        List<NodeP> nodes = new ArrayList<>();
        for (int field; (field = c.nextBytes()) != 0; ) {
            long s = c.fieldStart;
            long len = c.fieldLength;
            switch (field) {
                case 1 -> name = string(f, s, len);
                case 4 -> in.add(string(f, s, len));
                case 5 -> out.add(string(f, s, len));
                case 6 -> attrs.add(string(f, s, len));
                case 7 -> nodes.add(node(f, s, s + len, where));
                case 10 -> domain = string(f, s, len);
                case 11 -> defaults.add(attribute(f, s, s + len, where));
                default -> {
                }
            }
        }
        return new FunctionP(name, domain, List.copyOf(in), List.copyOf(out), List.copyOf(attrs), List.copyOf(defaults),
                List.copyOf(nodes));
    }

    static ValueInfoP valueInfo(MappedFile f, long start, long end) {
        MappedFile.Cursor c = f.cursor(start, end);
        String name = "";
        TypeP type = null;
        for (int field; (field = c.nextBytes()) != 0; ) {
            long s = c.fieldStart;
            long len = c.fieldLength;
            if (field == 1) {
                name = string(f, s, len);
            } else if (field == 2) {
                type = type(f, s, s + len);
            }
        }
        return new ValueInfoP(name, type);
    }

    static TypeP type(MappedFile f, long start, long end) {
        enter(1, "types (sequence and optional types)", start);
        try {
            return type0(f, start, end);
        } finally {
            leave(1);
        }
    }

    private static TypeP type0(MappedFile f, long start, long end) {
        MappedFile.Cursor c = f.cursor(start, end);
        TypeP r = new TypeP(0, 0, null);
        for (int field; (field = c.nextBytes()) != 0; ) {
            long s = c.fieldStart;
            long len = c.fieldLength;
            if (field == 1 || field == 8) {
                TypeP t = tensorType(f, s, s + len);
                r = new TypeP(field == 1 ? 1 : 2, t.elemType(), t.shape());
            } else if (field == 4 || field == 9) {
                // Sequence / Optional: elem_type (field 1) is a TypeProto.
                MappedFile.Cursor q = f.cursor(s, s + len);
                TypeP inner = new TypeP(0, 0, null);
                while (!q.atEnd()) {
                    int t2 = q.tag();
                    if (t2 == (1 << 3 | LEN)) {
                        long l2 = q.length();
                        inner = type(f, q.pos, q.pos + l2);
                        q.pos += l2;
                    } else {
                        q.skip(t2);
                    }
                }
                r = new TypeP(field == 4 ? 3 : 4, inner.elemType(), field == 9 && inner.kind() == 1 ? inner.shape() : null);
            }
        }
        return r;
    }

    private static TypeP tensorType(MappedFile f, long start, long end) {
        MappedFile.Cursor c = f.cursor(start, end);
        int elem = 0;
        List<DimP> shape = null;
        while (!c.atEnd()) {
            int tag = c.tag();
            if (tag == (1 << 3 | VARINT)) {
                elem = (int) c.varint();
            } else if (tag == (2 << 3 | LEN)) {
                long len = c.length();
                shape = shape(f, c.pos, c.pos + len);
                c.pos += len;
            } else {
                c.skip(tag);
            }
        }
        return new TypeP(1, elem, shape);
    }

    private static List<DimP> shape(MappedFile f, long start, long end) {
        MappedFile.Cursor c = f.cursor(start, end);
        List<DimP> dims = new ArrayList<>();
        while (!c.atEnd()) {
            int tag = c.tag();
            if (tag != (1 << 3 | LEN)) {
                c.skip(tag);
                continue;
            }
            long len = c.length();
            MappedFile.Cursor d = f.cursor(c.pos, c.pos + len);
            boolean has = false;
            long v = 0;
            String p = "";
            while (!d.atEnd()) {
                int t = d.tag();
                if (t == (1 << 3 | VARINT)) {
                    v = d.varint();
                    has = true;
                } else if (t == (2 << 3 | LEN)) {
                    p = d.string();
                } else {
                    d.skip(t);
                }
            }
            dims.add(new DimP(has, v, p));
            c.pos += len;
        }
        return dims;
    }

    /** SparseTensorProto: values (1, a TensorProto), dims (3). Kept as metadata of the dense tensor. */
    static RawModel.Init sparse(MappedFile f, long start, long end, String where) {
        MappedFile.Cursor c = f.cursor(start, end);
        RawModel.Init values = null;
        List<Long> dims = new ArrayList<>();
        while (!c.atEnd()) {
            int tag = c.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == LEN) {
                long len = c.length();
                values = tensor(f, c.pos, c.pos + len, where);
                c.pos += len;
            } else if (field == 3 && (tag & 7) == VARINT) {
                dims.add(c.varint());
            } else if (field == 3 && (tag & 7) == LEN) {
                long len = c.length();
                MappedFile.Cursor q = f.cursor(c.pos, c.pos + len);
                while (!q.atEnd()) {
                    dims.add(q.varint());
                }
                c.pos += len;
            } else {
                c.skip(tag);
            }
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        String name = values == null ? "" : values.name();
        int dt = values == null ? 0 : values.dataType();
        return new RawModel.Init(name, dt, d, null, null, values == null ? 0 : values.dataBytes(), null);
    }

    /**
     * TensorProto: metadata always; contents decoded only when the tensor has at most
     * {@link Fold#MAX_ELEMENTS} elements of a numeric type and is stored in the file.
     */
    static RawModel.Init tensor(MappedFile f, long start, long end, String where) {
        MappedFile.Cursor c = f.cursor(start, end);
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        boolean externalLoc = false;
        Map<String, String> ext = new LinkedHashMap<>();
        long rawPos = -1;
        long rawLen = 0;
        // Typed data fields: (field, wire, pos, len) for later decoding.
        List<long[]> typed = new ArrayList<>();
        while (!c.atEnd()) {
            int tag = c.tag();
            int field = tag >>> 3;
            int wire = tag & 7;
            if (field == 1 && wire == VARINT) {
                dims.add(c.varint());
            } else if (field == 1 && wire == LEN) {
                long len = c.length();
                MappedFile.Cursor p = f.cursor(c.pos, c.pos + len);
                while (!p.atEnd()) {
                    dims.add(p.varint());
                }
                c.pos += len;
            } else if (field == 2 && wire == VARINT) {
                dataType = (int) c.varint();
            } else if (field == 8 && wire == LEN) {
                name = c.string();
            } else if (field == 9 && wire == LEN) {
                rawLen = c.length();
                rawPos = c.pos;
                c.pos += rawLen;
            } else if (field == 13 && wire == LEN) {
                long len = c.length();
                MappedFile.Cursor p = f.cursor(c.pos, c.pos + len);
                String k = "";
                String v = "";
                while (!p.atEnd()) {
                    int t = p.tag();
                    if (t == (1 << 3 | LEN)) {
                        k = p.string();
                    } else if (t == (2 << 3 | LEN)) {
                        v = p.string();
                    } else {
                        p.skip(t);
                    }
                }
                ext.put(k, v);
                c.pos += len;
            } else if (field == 14 && wire == VARINT) {
                externalLoc = c.varint() == 1;
            } else if ((field == 4 || field == 5 || field == 7 || field == 10 || field == 11)) {
                long p0 = c.pos;
                c.skip(tag);
                typed.add(new long[] {field, wire, p0, c.pos - p0});
            } else {
                c.skip(tag);
            }
        }
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
        }
        ExternalData x = null;
        if (externalLoc || !ext.isEmpty()) {
            String loc = ext.get("location");
            long off = parseLong(ext.get("offset"), 0);
            long len = parseLong(ext.get("length"), -1);
            x = loc == null ? null : new ExternalData(loc, Math.max(0, off), len);
            if (loc == null) {
                x = new ExternalData("", 0, -1);
            }
        }
        Tensor contents = null;
        boolean negative = false;
        for (long v : d) {
            negative |= v < 0;
        }
        DType type = DType.fromOnnx(dataType).orElse(null);
        if (x == null && type != null && !negative) {
            contents = decode(f, type, d, rawPos, rawLen, typed);
        }
        long dataBytes = x != null ? -1 : Math.max(0, rawLen);
        for (long[] t : typed) {
            dataBytes += t[3];
        }
        Triangle tri = null;
        if (contents != null && contents.hasValues()) {
            tri = Triangle.of(contents).orElse(null);
        } else if (x == null && type != null && !negative && rawPos >= 0) {
            tri = triangle(f, type, d, rawPos, rawLen);
        }
        return new RawModel.Init(name, dataType, d, contents, x, dataBytes, tri);
    }

    /** Bytes decoded at a time by {@link #triangle}. */
    private static final int SCAN_CHUNK = 1 << 16;

    /**
     * The {@link Triangle} summary of a tensor's {@code raw_data}, read from the mapped file in chunks of
     * {@value #SCAN_CHUNK} bytes (nothing kept); null when it has none, is not eligible or is not a
     * numeric type. Stops at the first element that breaks the triangle (a trained weight: within its
     * first row). O(n) for a mask buffer of n elements, O(1) memory.
     */
    private static Triangle triangle(MappedFile f, DType type, long[] dims, long rawPos, long rawLen) {
        if (!Triangle.eligible(dims)) {
            return null;
        }
        int size = switch (type) {
            case FLOAT64, INT64, UINT64 -> 8;
            case FLOAT32, INT32, UINT32 -> 4;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            case INT8, UINT8, BOOL -> 1;
            default -> 0;
        };
        long n;
        try {
            n = Fold.numel(dims);
            if (size == 0 || rawLen < Math.multiplyExact(n, (long) size)) {
                return null;
            }
        } catch (ArithmeticException e) {
            return null;
        }
        Triangle.Scan scan = new Triangle.Scan(dims);
        long done = 0;
        while (done < n) {
            int k = (int) Math.min(n - done, SCAN_CHUNK / size);
            ByteBuffer bb = ByteBuffer.wrap(f.bytes(rawPos + done * size, k * size)).order(ByteOrder.LITTLE_ENDIAN);
            for (int e = 0; e < k; e++) {
                double v = switch (type) {
                    case FLOAT64 -> bb.getDouble(8 * e);
                    case FLOAT32 -> bb.getFloat(4 * e);
                    case FLOAT16 -> halfToFloat(bb.getShort(2 * e) & 0xffff);
                    case BFLOAT16 -> Float.intBitsToFloat((bb.getShort(2 * e) & 0xffff) << 16);
                    case INT64 -> bb.getLong(8 * e);
                    case UINT64 -> Double.parseDouble(Long.toUnsignedString(bb.getLong(8 * e)));
                    case INT32 -> bb.getInt(4 * e);
                    case UINT32 -> bb.getInt(4 * e) & 0xffffffffL;
                    case INT16 -> bb.getShort(2 * e);
                    case UINT16 -> bb.getShort(2 * e) & 0xffff;
                    case INT8 -> bb.get(e);
                    default -> bb.get(e) & 0xff;
                };
                if (!scan.accept(v)) {
                    return null;
                }
            }
            done += k;
        }
        return scan.result().orElse(null);
    }

    private static long parseLong(String s, long dflt) {
        if (s == null) {
            return dflt;
        }
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    private static Tensor decode(MappedFile f, DType type, long[] dims, long rawPos, long rawLen, List<long[]> typed) {
        long n;
        try {
            n = Fold.numel(dims);
        } catch (ArithmeticException e) {
            return null;
        }
        if (n > Fold.MAX_ELEMENTS) {
            return Tensor.metadata(type, dims);
        }
        int k = (int) n;
        try {
            if (rawPos >= 0) {
                if (rawLen < type.byteSize(n)) {
                    return Tensor.metadata(type, dims);
                }
                ByteBuffer bb = ByteBuffer.wrap(f.bytes(rawPos, (int) rawLen)).order(ByteOrder.LITTLE_ENDIAN);
                return switch (type) {
                    case FLOAT32, FLOAT64, FLOAT16, BFLOAT16 -> {
                        double[] v = new double[k];
                        for (int i = 0; i < k; i++) {
                            v[i] = switch (type) {
                                case FLOAT32 -> bb.getFloat(4 * i);
                                case FLOAT64 -> bb.getDouble(8 * i);
                                case FLOAT16 -> halfToFloat(bb.getShort(2 * i) & 0xffff);
                                default -> Float.intBitsToFloat((bb.getShort(2 * i) & 0xffff) << 16);
                            };
                        }
                        yield Tensor.ofDoubles(type, dims, v);
                    }
                    case INT64, UINT64, INT32, UINT32, INT16, UINT16, INT8, UINT8, BOOL -> {
                        long[] v = new long[k];
                        for (int i = 0; i < k; i++) {
                            v[i] = switch (type) {
                                case INT64, UINT64 -> bb.getLong(8 * i);
                                case INT32 -> bb.getInt(4 * i);
                                case UINT32 -> bb.getInt(4 * i) & 0xffffffffL;
                                case INT16 -> bb.getShort(2 * i);
                                case UINT16 -> bb.getShort(2 * i) & 0xffff;
                                case INT8 -> bb.get(i);
                                default -> bb.get(i) & 0xff;
                            };
                        }
                        yield Tensor.ofLongs(type, dims, v);
                    }
                    default -> Tensor.metadata(type, dims);
                };
            }
            // Typed fields.
            List<Long> ints = new ArrayList<>();
            List<Double> reals = new ArrayList<>();
            for (long[] t : typed) {
                int field = (int) t[0];
                int wire = (int) t[1];
                MappedFile.Cursor c = f.cursor(t[2], t[2] + t[3]);
                long end = t[2] + t[3];
                if (wire == LEN) {
                    long len = c.length();
                    end = c.pos + len;
                }
                while (c.pos < end) {
                    switch (field) {
                        case 4 -> reals.add((double) Float.intBitsToFloat(fixed32(c)));
                        case 10 -> {
                            long lo = fixed32(c) & 0xffffffffL;
                            long hi = fixed32(c) & 0xffffffffL;
                            reals.add(Double.longBitsToDouble(hi << 32 | lo));
                        }
                        default -> ints.add(c.varint());
                    }
                }
            }
            if (type.isFloatingPoint() && (type == DType.FLOAT32 || type == DType.FLOAT64)) {
                if (reals.size() < k) {
                    return k == 0 ? Tensor.ofDoubles(type, dims, new double[0]) : Tensor.metadata(type, dims);
                }
                double[] v = new double[k];
                for (int i = 0; i < k; i++) {
                    v[i] = reals.get(i);
                }
                return Tensor.ofDoubles(type, dims, v);
            }
            if (type == DType.FLOAT16 || type == DType.BFLOAT16) {
                if (ints.size() < k) {
                    return Tensor.metadata(type, dims);
                }
                double[] v = new double[k];
                for (int i = 0; i < k; i++) {
                    int bits = (int) (ints.get(i) & 0xffff);
                    v[i] = type == DType.FLOAT16 ? halfToFloat(bits) : Float.intBitsToFloat(bits << 16);
                }
                return Tensor.ofDoubles(type, dims, v);
            }
            if (type.isInteger() && type.bits() >= 8 || type == DType.BOOL) {
                if (ints.size() < k) {
                    return k == 0 ? Tensor.ofLongs(type, dims, new long[0]) : Tensor.metadata(type, dims);
                }
                long[] v = new long[k];
                for (int i = 0; i < k; i++) {
                    long x = ints.get(i);
                    v[i] = type == DType.INT32 ? (int) x : type == DType.INT16 ? (short) x : type == DType.INT8 ? (byte) x : x;
                }
                return Tensor.ofLongs(type, dims, v);
            }
            return Tensor.metadata(type, dims);
        } catch (RuntimeException e) {
            return Tensor.metadata(type, dims);
        }
    }

    /** IEEE 754 half precision to float. */
    static float halfToFloat(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        float v;
        if (exp == 0) {
            v = (float) (mant * Math.pow(2, -24));
        } else if (exp == 31) {
            v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            v = (float) ((1 + mant / 1024.0) * Math.pow(2, exp - 15));
        }
        return sign == 1 ? -v : v;
    }
}
