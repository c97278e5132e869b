package org.shardplan.graph;

/**
 * The forward work of a node or graph: floating-point operations (a multiply-add counts 2) and the
 * bytes of tensors read and written.
 *
 * @param flops forward floating-point operations
 * @param bytesRead bytes of the inputs the node reads (for gathers, only the rows it reads)
 * @param bytesWritten bytes of the outputs
 * @param complete false when a shape was not fully known or the operator has no FLOP formula; the
 *     numbers then count only what was known (a lower bound)
 */
public record Work(long flops, long bytesRead, long bytesWritten, boolean complete) {

    public static final Work ZERO = new Work(0, 0, 0, true);

    public Work {
        if (flops < 0 || bytesRead < 0 || bytesWritten < 0) {
            throw new IllegalArgumentException("work must be >= 0, found flops=" + flops + " read=" + bytesRead
                    + " written=" + bytesWritten);
        }
    }

    /** Sum of both (complete only if both are). */
    public Work plus(Work o) {
        return new Work(Math.addExact(flops, o.flops), Math.addExact(bytesRead, o.bytesRead),
                Math.addExact(bytesWritten, o.bytesWritten), complete && o.complete);
    }

    /** This work repeated {@code times} times. */
    public Work times(long times) {
        return new Work(Math.multiplyExact(flops, times), Math.multiplyExact(bytesRead, times),
                Math.multiplyExact(bytesWritten, times), complete);
    }

    /** Bytes read plus bytes written. */
    public long bytes() {
        return Math.addExact(bytesRead, bytesWritten);
    }

    /** FLOPs per byte moved (0 when no bytes move). */
    public double arithmeticIntensity() {
        long b = bytes();
        return b == 0 ? 0 : (double) flops / b;
    }
}
