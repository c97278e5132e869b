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
 */
public record Kernel(String role, String opType, String shapeClass, Work work, DType dtype) {
    public Kernel {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(shapeClass, "shapeClass");
        Objects.requireNonNull(work, "work");
        Objects.requireNonNull(dtype, "dtype");
    }
}
