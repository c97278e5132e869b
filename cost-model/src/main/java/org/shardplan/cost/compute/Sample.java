package org.shardplan.cost.compute;

import java.util.Objects;
import org.shardplan.graph.DType;

/**
 * One measured kernel: what it was, how much work it did and how long it took.
 *
 * @param signature the operator signature it was measured under (for holding it out)
 * @param opType operator type
 * @param shapeClass shape class
 * @param flops FLOPs
 * @param bytes bytes read and written
 * @param dtype element type it computed in
 * @param seconds measured median time
 * @param calls inner kernel invocations (see {@link Kernel#calls()})
 */
public record Sample(String signature, String opType, String shapeClass, double flops, double bytes, DType dtype,
        double seconds, long calls) {

    /** A sample of a kernel run as one call. */
    public Sample(String signature, String opType, String shapeClass, double flops, double bytes, DType dtype,
            double seconds) {
        this(signature, opType, shapeClass, flops, bytes, dtype, seconds, 1);
    }

    public Sample {
        Objects.requireNonNull(signature, "signature");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(shapeClass, "shapeClass");
        Objects.requireNonNull(dtype, "dtype");
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("a measured time must be positive and finite, found " + seconds);
        }
    }
}
