package org.shardplan.graph;

/**
 * The forward work of a node or graph: floating-point operations (a multiply-add counts 2) and the
 * bytes of tensors read and written. Counts are doubles: exact integers up to 2^53 (9e15), and
 * rounded to 16 significant digits beyond, where a trillion-parameter model's output layer alone
 * does 1.6e19 FLOPs over Megatron-LM's batch of 3,072 sequences.
 *
 * @param flops forward floating-point operations
 * @param bytesRead bytes of the inputs the node reads (for gathers, only the rows it reads)
 * @param bytesWritten bytes of the outputs
 * @param complete false when a shape was not fully known or the operator has no FLOP formula; the
 *     numbers then count only what was known (a lower bound)
 */
public record Work(double flops, double bytesRead, double bytesWritten, boolean complete) {

    public static final Work ZERO = new Work(0, 0, 0, true);

    public Work {
        if (!(flops >= 0 && bytesRead >= 0 && bytesWritten >= 0) || Double.isInfinite(flops + bytesRead + bytesWritten)) {
            throw new IllegalArgumentException("work must be >= 0, found flops=" + flops + " read=" + bytesRead
                    + " written=" + bytesWritten);
        }
    }

    /** Sum of both (complete only if both are). */
    public Work plus(Work o) {
        return new Work(flops + o.flops, bytesRead + o.bytesRead, bytesWritten + o.bytesWritten,
                complete && o.complete);
    }

    /** This work repeated {@code times} times. */
    public Work times(double times) {
        return new Work(flops * times, bytesRead * times, bytesWritten * times, complete);
    }

    /** Bytes read plus bytes written. */
    public double bytes() {
        return bytesRead + bytesWritten;
    }

    /** FLOPs per byte moved (0 when no bytes move). */
    public double arithmeticIntensity() {
        double b = bytes();
        return b == 0 ? 0 : flops / b;
    }
}
