package org.shardplan.cost.compute;

import java.util.Objects;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/**
 * One piece of work a device runs: a forward node, or one of the kernels of a node's backward
 * pass, priced as if it were an operator of type {@code opType} and class {@code shapeClass}.
 *
 * @param role "forward", "grad-input", "grad-weight", "grad-bias" or "grad"
 * @param opType operator type the kernel is priced as
 * @param shapeClass shape class (see {@link OpClass#shapeClass})
 * @param work FLOPs and bytes of the kernel
 * @param dtype the element type it computes in
 * @param calls inner kernel invocations the runtime makes for it (batch times groups for a grouped
 *     or depthwise convolution, which CPU runtimes run group by group; 1 otherwise)
 * @param gemm the GEMM the kernel runs as (batch, M, N, K), for matrix products whose operand
 *     shapes are known; empty otherwise
 * @param weightBytes bytes of the trained weights (parameters and constants) a matrix product
 *     reads, which stay in memory between calls ({@link Backward#weightBytes}); 0 for other kernels
 * @param parts the loops the runtime runs for this kernel, each written as a kernel of the operator
 *     whose loop it is ({@link Backward#parts}: a ConvTranspose's GEMM and output scatter, the three
 *     broadcast passes of a Where), used where the kernel's own operator type was never measured;
 *     empty for kernels that are one loop
 */
public record Kernel(String role, String opType, String shapeClass, Work work, DType dtype, long calls,
        java.util.Optional<Gemm> gemm, double weightBytes, java.util.List<Kernel> parts) {

    /** A kernel that is one loop ({@link #parts} empty). */
    public Kernel(String role, String opType, String shapeClass, Work work, DType dtype, long calls,
            java.util.Optional<Gemm> gemm, double weightBytes) {
        this(role, opType, shapeClass, work, dtype, calls, gemm, weightBytes, java.util.List.of());
    }

    /** A kernel that reads no weights a cache could lose between calls. */
    public Kernel(String role, String opType, String shapeClass, Work work, DType dtype, long calls,
            java.util.Optional<Gemm> gemm) {
        this(role, opType, shapeClass, work, dtype, calls, gemm, 0);
    }

    /**
     * The shape of a (batched) GEMM: {@code batch} independent products of an {@code m x k} and a
     * {@code k x n} matrix.
     */
    public record Gemm(double batch, double m, double n, double k) {
        public Gemm {
            if (!(batch >= 1 && m >= 1 && n >= 1 && k >= 1)) {
                throw new IllegalArgumentException("GEMM sizes must be at least 1, found batch " + batch + ", m " + m
                        + ", n " + n + ", k " + k);
            }
        }
    }

    /** A kernel run as one call. */
    public Kernel(String role, String opType, String shapeClass, Work work, DType dtype) {
        this(role, opType, shapeClass, work, dtype, 1);
    }

    /** A kernel that is not known as a GEMM. */
    public Kernel(String role, String opType, String shapeClass, Work work, DType dtype, long calls) {
        this(role, opType, shapeClass, work, dtype, calls, java.util.Optional.empty());
    }

    /** This kernel known as the GEMM {@code g}. */
    public Kernel withGemm(Gemm g) {
        return new Kernel(role, opType, shapeClass, work, dtype, calls, java.util.Optional.ofNullable(g), weightBytes, parts);
    }

    /** This kernel run as the loops {@code ps} ({@link #parts}). */
    public Kernel withParts(java.util.List<Kernel> ps) {
        return new Kernel(role, opType, shapeClass, work, dtype, calls, gemm, weightBytes, ps);
    }

    /** This kernel reading {@code bytes} of weights. */
    public Kernel withWeightBytes(double bytes) {
        return new Kernel(role, opType, shapeClass, work, dtype, calls, gemm, bytes, parts);
    }

    public Kernel {
        if (calls < 1) {
            throw new IllegalArgumentException("calls must be at least 1, found " + calls);
        }
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(shapeClass, "shapeClass");
        Objects.requireNonNull(work, "work");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(gemm, "gemm");
        parts = java.util.List.copyOf(parts);
        if (!(weightBytes >= 0) || Double.isInfinite(weightBytes)) {
            throw new IllegalArgumentException("weight bytes must be finite and at least 0, found " + weightBytes);
        }
    }
}
