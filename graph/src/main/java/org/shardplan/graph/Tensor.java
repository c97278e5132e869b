package org.shardplan.graph;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * A tensor whose element type and shape are known, with its values when they are kept in memory.
 *
 * <p>shardplan keeps values only for small tensors (constants that take part in shape arithmetic,
 * folded results of {@code Shape}/{@code Gather}/{@code Concat}... chains). Integer and boolean
 * elements are held as {@code long}s (booleans as 0/1), floating-point elements as {@code double}s,
 * strings as {@code String}s. A tensor built with {@link #metadata} has no values: only its type.
 * Instances are immutable; array accessors return copies.
 */
public final class Tensor {
    private final DType dtype;
    private final long[] dims;
    private final long[] longs;
    private final double[] doubles;
    private final String[] strings;

    private Tensor(DType dtype, long[] dims, long[] longs, double[] doubles, String[] strings) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.dims = dims.clone();
        for (long d : this.dims) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor dimension must be >= 0, found " + d);
            }
        }
        this.longs = longs;
        this.doubles = doubles;
        this.strings = strings;
        long n = numElements();
        int have = longs != null ? longs.length : doubles != null ? doubles.length : strings != null ? strings.length : -1;
        if (have >= 0 && have != n) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(dims) + " must have " + n
                    + " elements, found " + have);
        }
    }

    /** An integer or boolean tensor with values. */
    public static Tensor ofLongs(DType dtype, long[] dims, long[] values) {
        if (dtype.isFloatingPoint() || dtype == DType.STRING) {
            throw new IllegalArgumentException("ofLongs needs an integer or bool type, found " + dtype);
        }
        return new Tensor(dtype, dims, values.clone(), null, null);
    }

    /** A floating-point tensor with values. */
    public static Tensor ofDoubles(DType dtype, long[] dims, double[] values) {
        if (!dtype.isFloatingPoint() && dtype != DType.COMPLEX64 && dtype != DType.COMPLEX128) {
            throw new IllegalArgumentException("ofDoubles needs a floating-point type, found " + dtype);
        }
        return new Tensor(dtype, dims, null, values.clone(), null);
    }

    /** A string tensor with values. */
    public static Tensor ofStrings(long[] dims, String[] values) {
        return new Tensor(DType.STRING, dims, null, null, values.clone());
    }

    /** A tensor of which only the type is kept. */
    public static Tensor metadata(DType dtype, long[] dims) {
        return new Tensor(dtype, dims, null, null, null);
    }

    /** A rank-1 int64 tensor. */
    public static Tensor int64Vector(long... values) {
        return ofLongs(DType.INT64, new long[] {values.length}, values);
    }

    /** A rank-0 int64 tensor. */
    public static Tensor int64Scalar(long value) {
        return ofLongs(DType.INT64, new long[0], new long[] {value});
    }

    public DType dtype() {
        return dtype;
    }

    /** The sizes of the dimensions (a copy). */
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public Shape shape() {
        return Shape.of(dims);
    }

    public TensorType type() {
        return new TensorType(dtype, shape());
    }

    /** Number of elements; throws ArithmeticException on overflow. */
    public long numElements() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Size in bytes of the packed elements (0 for strings). */
    public long byteSize() {
        return dtype.byteSize(numElements());
    }

    /** Whether the values are held. */
    public boolean hasValues() {
        return longs != null || doubles != null || strings != null;
    }

    /** Whether the values are held as integers (integer and bool types). */
    public boolean isIntegral() {
        return longs != null;
    }

    /** Element {@code i} (row-major) as a long; floating-point values are truncated toward zero. */
    public long getLong(int i) {
        if (longs != null) {
            return longs[i];
        }
        if (doubles != null) {
            return (long) doubles[i];
        }
        throw new IllegalStateException("tensor of " + dtype + " has no numeric values");
    }

    /** Element {@code i} (row-major) as a double. */
    public double getDouble(int i) {
        if (doubles != null) {
            return doubles[i];
        }
        if (longs != null) {
            return dtype == DType.UINT64 ? Double.parseDouble(Long.toUnsignedString(longs[i])) : longs[i];
        }
        throw new IllegalStateException("tensor of " + dtype + " has no numeric values");
    }

    /** All values as longs, if numeric values are held. */
    public Optional<long[]> longs() {
        if (longs != null) {
            return Optional.of(longs.clone());
        }
        if (doubles != null) {
            long[] r = new long[doubles.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = (long) doubles[i];
            }
            return Optional.of(r);
        }
        return Optional.empty();
    }

    /** All values as doubles, if numeric values are held. */
    public Optional<double[]> doubles() {
        if (doubles != null) {
            return Optional.of(doubles.clone());
        }
        if (longs != null) {
            double[] r = new double[longs.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = getDouble(i);
            }
            return Optional.of(r);
        }
        return Optional.empty();
    }

    /** All values as strings, if this is a string tensor with values. */
    public Optional<String[]> strings() {
        return strings == null ? Optional.empty() : Optional.of(strings.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && dtype == t.dtype && Arrays.equals(dims, t.dims)
                && Arrays.equals(longs, t.longs) && Arrays.equals(doubles, t.doubles)
                && Arrays.equals(strings, t.strings);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(dims), Arrays.hashCode(longs), Arrays.hashCode(doubles),
                Arrays.hashCode(strings));
    }

    @Override
    public String toString() {
        String v;
        if (longs != null) {
            v = longs.length <= 16 ? Arrays.toString(longs) : "[" + longs.length + " values]";
        } else if (doubles != null) {
            v = doubles.length <= 16 ? Arrays.toString(doubles) : "[" + doubles.length + " values]";
        } else if (strings != null) {
            v = strings.length <= 16 ? Arrays.toString(strings) : "[" + strings.length + " values]";
        } else {
            v = "(values not kept)";
        }
        return dtype + Arrays.toString(dims) + " " + v;
    }
}
