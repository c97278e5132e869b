package org.shardplan.graph;

import java.util.Optional;

/**
 * A compact summary of a tensor whose values are not kept: over its last two axes (row {@code i}, column
 * {@code j}, every leading index alike) it holds the one value {@code below} on and below the diagonal
 * ({@code j <= i}) and the one value {@code above} above it ({@code j > i}). It is what a causal-mask
 * buffer is: {@code torch.tril(torch.ones(n, n))} is {@code (1, 0)}, {@code torch.triu(full(-inf), 1)}
 * is {@code (0, -inf)}. The importer computes it for a tensor of rank 2 or more whose last two axes
 * have at least two elements each, scanning its stored bytes once without keeping them
 * ({@link Scan}); a tensor that is not two-valued this way (any trained weight) has none, and the scan
 * stops at its first counter-example, typically within the first row.
 *
 * @param below the value of every element with {@code j <= i}
 * @param above the value of every element with {@code j > i}
 */
public record Triangle(double below, double above) {

    /** The summary of a tensor with values, if it has one (see the record). O(n). */
    public static Optional<Triangle> of(Tensor t) {
        if (!t.hasValues() || t.dtype() == DType.STRING || !eligible(t.dims())) {
            return Optional.empty();
        }
        Scan s = new Scan(t.dims());
        long n = t.numElements();
        for (int k = 0; k < n; k++) {
            if (!s.accept(t.getDouble(k))) {
                return Optional.empty();
            }
        }
        return s.result();
    }

    /** Whether a tensor of these dims can have a summary: rank 2 or more, the last two axes 2 or more. */
    public static boolean eligible(long[] dims) {
        return dims.length >= 2 && dims[dims.length - 1] >= 2 && dims[dims.length - 2] >= 2;
    }

    /**
     * A summary computed from a tensor's elements given one by one in row-major order, in O(1) memory:
     * {@link #accept} returns false from the first element that breaks the two-valued triangle (a caller
     * stops reading there), {@link #result} gives the summary once every element was accepted.
     */
    public static final class Scan {
        private final long rows;
        private final long cols;
        private final long total;
        private long index;
        private long i;
        private long j;
        private double below = Double.NaN;
        private double above = Double.NaN;
        private boolean failed;

        /** A scan of a tensor of these dims, which must be {@link #eligible}. */
        public Scan(long[] dims) {
            if (!eligible(dims)) {
                throw new IllegalArgumentException("a triangle summary needs rank 2 or more with the last two axes"
                        + " of 2 or more elements, found dims " + java.util.Arrays.toString(dims));
            }
            rows = dims[dims.length - 2];
            cols = dims[dims.length - 1];
            long n = 1;
            for (long d : dims) {
                n = Math.multiplyExact(n, d);
            }
            total = n;
        }

        /** Takes the next element; false once the elements read so far are not two-valued by the triangle. */
        public boolean accept(double x) {
            if (failed) {
                return false;
            }
            if (index >= total) {
                failed = true;
                return false;
            }
            if (j <= i) {
                if (index == 0) {
                    below = x;
                } else if (!(x == below)) {
                    failed = true;
                }
            } else {
                if (j == 1 && i == 0 && index == 1) {
                    above = x;
                } else if (!(x == above)) {
                    failed = true;
                }
            }
            index++;
            if (++j == cols) {
                j = 0;
                if (++i == rows) {
                    i = 0;
                }
            }
            return !failed;
        }

        /** The summary, when every element was accepted; empty otherwise (or when elements are missing). */
        public Optional<Triangle> result() {
            return failed || index != total ? Optional.empty() : Optional.of(new Triangle(below, above));
        }
    }
}
