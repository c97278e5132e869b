package org.shardplan.onnx.edit;

import java.util.ArrayList;
import java.util.List;

/**
 * One initializer of a model ({@code TensorProto}, or a {@code SparseTensorProto} when {@code sparse}),
 * kept as written. Its data stay where they were: inline in {@code raw}, or in an external file named
 * relative to the model's directory when {@link #external()}.
 *
 * @param name     the tensor's name
 * @param dataType the ONNX data type number (1 float, 7 int64, ...); 0 for a sparse tensor
 * @param dims     the shape
 * @param external true when the data are stored in an external file ({@code data_location = EXTERNAL})
 * @param sparse   true for a sparse initializer ({@code GraphProto.sparse_initializer})
 * @param raw      the serialized message
 */
public record TensorEntry(String name, int dataType, long[] dims, boolean external, boolean sparse, byte[] raw) {
    /** TensorProto field numbers. */
    static final int DIMS = 1;
    static final int DATA_TYPE = 2;
    static final int NAME = 8;
    static final int DATA_LOCATION = 14;

    /** Decodes a serialized dense {@code TensorProto}. */
    public static TensorEntry parse(byte[] raw) {
        String name = "";
        int type = 0;
        List<Long> dims = new ArrayList<>();
        boolean external = false;
        for (Wire.Field f : Wire.fields(raw)) {
            switch (f.number()) {
                case DIMS -> {
                    if (f.wire() == 0) {
                        dims.add(f.value());
                    } else if (f.wire() == 2) {
                        byte[] b = f.payload();
                        int[] pos = {0};
                        while (pos[0] < b.length) {
                            dims.add(Wire.varint(b, pos, b.length));
                        }
                    }
                }
                case DATA_TYPE -> type = (int) f.value();
                case NAME -> name = f.wire() == 2 ? f.string() : name;
                case DATA_LOCATION -> external = f.value() == 1;
                default -> {
                }
            }
        }
        return new TensorEntry(name, type, dims.stream().mapToLong(Long::longValue).toArray(), external, false, raw);
    }

    /** Decodes a serialized {@code SparseTensorProto} (values 1, indices 2, dims 3); its name is that of its values. */
    public static TensorEntry parseSparse(byte[] raw) {
        String name = "";
        List<Long> dims = new ArrayList<>();
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() == 1 && f.wire() == 2) {
                name = parse(f.payload()).name();
            } else if (f.number() == 3 && f.wire() == 0) {
                dims.add(f.value());
            } else if (f.number() == 3 && f.wire() == 2) {
                byte[] b = f.payload();
                int[] pos = {0};
                while (pos[0] < b.length) {
                    dims.add(Wire.varint(b, pos, b.length));
                }
            }
        }
        return new TensorEntry(name, 0, dims.stream().mapToLong(Long::longValue).toArray(), false, true, raw);
    }

    /** A dense float tensor with its data inline ({@code raw_data}, little-endian). */
    public static TensorEntry floats(String name, long[] dims, float[] data) {
        requireCount(name, dims, data.length);
        byte[] b = new byte[data.length * 4];
        for (int i = 0; i < data.length; i++) {
            int bits = Float.floatToRawIntBits(data[i]);
            for (int k = 0; k < 4; k++) {
                b[4 * i + k] = (byte) (bits >>> (8 * k));
            }
        }
        return dense(name, 1, dims, b);
    }

    /** A dense int64 tensor with its data inline. */
    public static TensorEntry longs(String name, long[] dims, long[] data) {
        requireCount(name, dims, data.length);
        byte[] b = new byte[data.length * 8];
        for (int i = 0; i < data.length; i++) {
            for (int k = 0; k < 8; k++) {
                b[8 * i + k] = (byte) (data[i] >>> (8 * k));
            }
        }
        return dense(name, 7, dims, b);
    }

    private static TensorEntry dense(String name, int type, long[] dims, byte[] rawData) {
        Proto p = new Proto();
        for (long d : dims) {
            p.varint(DIMS, d);
        }
        p.varint(DATA_TYPE, type).string(NAME, name).bytes(9, rawData);
        return parse(p.bytes());
    }

    private static void requireCount(String name, long[] dims, int count) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("dims of tensor '" + name + "' must be non-negative, found " + d);
            }
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException("tensor '" + name + "' must have " + n + " elements for its dims, found " + count);
        }
    }

    /**
     * Where the data of an external tensor are, relative to the model's directory
     * ({@code external_data} entry {@code location}); empty for inline data.
     */
    public java.util.Optional<String> externalLocation() {
        if (!external) {
            return java.util.Optional.empty();
        }
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() == 13 && f.wire() == 2) {
                String key = "";
                String value = "";
                for (Wire.Field kv : Wire.fields(f.payload())) {
                    if (kv.number() == 1 && kv.wire() == 2) {
                        key = kv.string();
                    } else if (kv.number() == 2 && kv.wire() == 2) {
                        value = kv.string();
                    }
                }
                if (key.equals("location")) {
                    return java.util.Optional.of(value);
                }
            }
        }
        return java.util.Optional.empty();
    }

    /** The same tensor under another name (for a sparse tensor, its values' name). */
    public TensorEntry withName(String newName) {
        if (sparse) {
            Proto p = new Proto();
            for (Wire.Field f : Wire.fields(raw)) {
                if (f.number() == 1 && f.wire() == 2) {
                    p.bytes(1, parse(f.payload()).withName(newName).raw());
                } else {
                    p.rawFields(f.whole());
                }
            }
            return parseSparse(p.bytes());
        }
        Proto p = new Proto().string(NAME, newName);
        for (Wire.Field f : Wire.fields(raw)) {
            if (f.number() != NAME) {
                p.rawFields(f.whole());
            }
        }
        return parse(p.bytes());
    }
}
