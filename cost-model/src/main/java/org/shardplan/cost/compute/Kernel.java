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
 */
public record Kernel(String role, String opType, String shapeClass, Work work, DType dtype, long calls) {

    /** A kernel run as one call. */
    public Kernel(String role, String opType, String shapeClass, Work work, DType dtype) {
        this(role, opType, shapeClass, work, dtype, 1);
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
    }
}
