package org.shardplan.planner.pipeline;

/**
 * One compute op of a device's schedule: a forward or backward pass of one micro-batch through one
 * of the device's model chunks.
 *
 * @param kind       which pass
 * @param microBatch the micro-batch, {@code 0 .. m-1}
 * @param chunk      the virtual stage on this device, {@code 0 .. v-1}; on device {@code d} of {@code p}
 *                   it is model stage {@code chunk * p + d} ({@code 0} without interleaving)
 */
public record Op(Kind kind, int microBatch, int chunk) {

    /** The passes a schedule orders. */
    public enum Kind {
        /** Forward pass; keeps the micro-batch's activations. */
        FORWARD,
        /** Whole backward pass (input and weight gradients); frees the activations. */
        BACKWARD,
        /** Input-gradient half of a split backward (B of Qi et al. 2024); sends the gradient on. */
        BACKWARD_INPUT,
        /** Weight-gradient half of a split backward (W of Qi et al. 2024); frees the activations. */
        BACKWARD_WEIGHT
    }

    public Op {
        if (kind == null) {
            throw new IllegalArgumentException("op kind must be given, found null");
        }
        if (microBatch < 0 || chunk < 0) {
            throw new IllegalArgumentException("micro-batch and chunk must be >= 0, found " + microBatch + " and " + chunk);
        }
    }

    public static Op forward(int microBatch, int chunk) {
        return new Op(Kind.FORWARD, microBatch, chunk);
    }

    public static Op backward(int microBatch, int chunk) {
        return new Op(Kind.BACKWARD, microBatch, chunk);
    }

    public static Op backwardInput(int microBatch, int chunk) {
        return new Op(Kind.BACKWARD_INPUT, microBatch, chunk);
    }

    public static Op backwardWeight(int microBatch, int chunk) {
        return new Op(Kind.BACKWARD_WEIGHT, microBatch, chunk);
    }

    @Override
    public String toString() {
        String k = switch (kind) {
            case FORWARD -> "F";
            case BACKWARD -> "B";
            case BACKWARD_INPUT -> "Bi";
            case BACKWARD_WEIGHT -> "W";
        };
        return k + microBatch + (chunk == 0 ? "" : "." + chunk);
    }
}
