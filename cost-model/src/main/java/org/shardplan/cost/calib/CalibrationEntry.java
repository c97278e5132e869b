package org.shardplan.cost.calib;

import java.util.Objects;
import org.shardplan.cost.compute.Sample;
import org.shardplan.graph.DType;

/**
 * One measured operator: its signature, what the compute model needs to learn from it, and the
 * measured median time.
 *
 * @param signature {@link OpSignature} of the measured node
 * @param op operator type
 * @param shapeClass shape class ({@code OpClass.shapeClass})
 * @param dtype element type
 * @param flops forward FLOPs
 * @param bytes bytes read and written
 * @param seconds median time of one run, the runtime's call overhead subtracted
 * @param repeats timed runs the median is taken over
 * @param calls inner kernel invocations (batch times groups for grouped convolutions, else 1)
 * @param spread how far the measurement's rounds disagreed: (largest - smallest) / smallest of the
 *     round medians (0 when measured in one round or not known)
 */
public record CalibrationEntry(String signature, String op, String shapeClass, String dtype, double flops,
        double bytes, double seconds, int repeats, long calls, double spread) {

    /** An entry whose measurement spread is not known. */
    public CalibrationEntry(String signature, String op, String shapeClass, String dtype, double flops,
            double bytes, double seconds, int repeats, long calls) {
        this(signature, op, shapeClass, dtype, flops, bytes, seconds, repeats, calls, 0);
    }

    /** An entry of a kernel run as one call. */
    public CalibrationEntry(String signature, String op, String shapeClass, String dtype, double flops,
            double bytes, double seconds, int repeats) {
        this(signature, op, shapeClass, dtype, flops, bytes, seconds, repeats, 1);
    }

    public CalibrationEntry {
        Objects.requireNonNull(signature, "signature");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(shapeClass, "shapeClass");
        Objects.requireNonNull(dtype, "dtype");
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("calibration entry " + op + ": seconds must be positive, found " + seconds);
        }
        if (!(spread >= 0) || Double.isInfinite(spread)) {
            throw new IllegalArgumentException("calibration entry " + op + ": spread must be >= 0, found " + spread);
        }
        if (!(flops >= 0) || !(bytes >= 0)) {
            throw new IllegalArgumentException("calibration entry " + op + ": flops and bytes must be >= 0, found "
                    + flops + ", " + bytes);
        }
    }

    /** The entry as a sample for the efficiency model. */
    public Sample toSample() {
        return new Sample(signature, op, shapeClass, flops, bytes, DType.fromName(dtype).orElse(DType.FLOAT32),
                seconds, Math.max(1, calls));
    }
}
