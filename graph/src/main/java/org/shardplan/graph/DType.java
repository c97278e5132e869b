package org.shardplan.graph;

import java.util.Locale;
import java.util.Optional;

/**
 * Element types of tensors: every data type ONNX defines, with its ONNX enum number, its short name
 * as shardplan prints it (for example {@code "float32"}) and its size in bits.
 *
 * <p>Sub-byte types ({@link #INT4}, {@link #UINT4}, {@link #FLOAT4E2M1}) are packed, so a tensor's
 * byte size is {@code ceil(elements * bits / 8)} (see {@link #byteSize(long)}). {@link #STRING} has no
 * fixed size and reports 0 bits.
 */
public enum DType {
    UNDEFINED(0, "undefined", 0),
    FLOAT32(1, "float32", 32),
    UINT8(2, "uint8", 8),
    INT8(3, "int8", 8),
    UINT16(4, "uint16", 16),
    INT16(5, "int16", 16),
    INT32(6, "int32", 32),
    INT64(7, "int64", 64),
    STRING(8, "string", 0),
    BOOL(9, "bool", 8),
    FLOAT16(10, "float16", 16),
    FLOAT64(11, "float64", 64),
    UINT32(12, "uint32", 32),
    UINT64(13, "uint64", 64),
    COMPLEX64(14, "complex64", 64),
    COMPLEX128(15, "complex128", 128),
    BFLOAT16(16, "bfloat16", 16),
    FLOAT8E4M3FN(17, "float8e4m3fn", 8),
    FLOAT8E4M3FNUZ(18, "float8e4m3fnuz", 8),
    FLOAT8E5M2(19, "float8e5m2", 8),
    FLOAT8E5M2FNUZ(20, "float8e5m2fnuz", 8),
    UINT4(21, "uint4", 4),
    INT4(22, "int4", 4),
    FLOAT4E2M1(23, "float4e2m1", 4),
    FLOAT8E8M0(24, "float8e8m0", 8);

    private static final DType[] BY_ONNX = new DType[25];

    static {
        for (DType t : values()) {
            BY_ONNX[t.onnxCode] = t;
        }
    }

    private final int onnxCode;
    private final String displayName;
    private final int bits;

    DType(int onnxCode, String displayName, int bits) {
        this.onnxCode = onnxCode;
        this.displayName = displayName;
        this.bits = bits;
    }

    /** The {@code TensorProto.DataType} number of this type. */
    public int onnxCode() {
        return onnxCode;
    }

    /** Short lower-case name, for example {@code "float32"}, {@code "int64"}, {@code "bfloat16"}. */
    public String displayName() {
        return displayName;
    }

    /** Size of one element in bits (4 for packed 4-bit types, 0 for {@link #STRING} and {@link #UNDEFINED}). */
    public int bits() {
        return bits;
    }

    /** Size of one element in bytes, rounded up (0 for {@link #STRING} and {@link #UNDEFINED}). */
    public int byteSize() {
        return (bits + 7) / 8;
    }

    /** Bytes taken by {@code elements} packed elements of this type: {@code ceil(elements * bits / 8)}. */
    public long byteSize(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("element count must be >= 0, found " + elements);
        }
        return Math.addExact(Math.multiplyExact(elements, (long) bits), 7) / 8;
    }

    /** Whether this is a floating-point type (including float8/float4 variants and bfloat16). */
    public boolean isFloatingPoint() {
        return switch (this) {
            case FLOAT32, FLOAT16, FLOAT64, BFLOAT16, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2,
                    FLOAT8E5M2FNUZ, FLOAT4E2M1, FLOAT8E8M0 -> true;
            default -> false;
        };
    }

    /** Whether this is an integer type (signed or unsigned, any width). {@link #BOOL} is not. */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64, UINT4, INT4 -> true;
            default -> false;
        };
    }

    /** The type with the given ONNX {@code DataType} number, if ONNX defines it. */
    public static Optional<DType> fromOnnx(int code) {
        return code >= 0 && code < BY_ONNX.length ? Optional.ofNullable(BY_ONNX[code]) : Optional.empty();
    }

    /** The type with the given {@link #displayName()} (case-insensitive), or the enum constant name. */
    public static Optional<DType> fromName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (DType t : values()) {
            if (t.displayName.equals(n) || t.name().toLowerCase(Locale.ROOT).equals(n)) {
                return Optional.of(t);
            }
        }
        return switch (n) {
            case "float" -> Optional.of(FLOAT32);
            case "double" -> Optional.of(FLOAT64);
            default -> Optional.empty();
        };
    }

    @Override
    public String toString() {
        return displayName;
    }
}
