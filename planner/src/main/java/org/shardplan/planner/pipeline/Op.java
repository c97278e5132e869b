package org.shardplan.planner.pipeline;

/**
 * One compute op of a device's schedule: a forward or backward pass of one micro-batch through one
 * of the device's model chunks.
 *
 * @param kind         which pass
 * @param microBatch   the micro-batch, {@code 0 .. m-1}
 * @param virtualStage the model chunk on this device, {@code 0 .. v-1}; on device {@code d} of {@code p} it is
 *                     model stage {@code virtualStage * p + d} ({@code 0} without interleaving)
 */
public record Op(Kind kind, int microBatch, int virtualStage) {

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
        if (microBatch < 0 || virtualStage < 0) {
            throw new IllegalArgumentException("micro-batch and virtual stage must be >= 0, found " + microBatch + " and " + virtualStage);
        }
    }

    public static Op forward(int microBatch, int virtualStage) {
        return new Op(Kind.FORWARD, microBatch, virtualStage);
    }

    public static Op backward(int microBatch, int virtualStage) {
        return new Op(Kind.BACKWARD, microBatch, virtualStage);
    }

    public static Op backwardInput(int microBatch, int virtualStage) {
        return new Op(Kind.BACKWARD_INPUT, microBatch, virtualStage);
    }

    public static Op backwardWeight(int microBatch, int virtualStage) {
        return new Op(Kind.BACKWARD_WEIGHT, microBatch, virtualStage);
    }

    @Override
    public String toString() {
        String k = switch (kind) {
            case FORWARD -> "F";
            case BACKWARD -> "B";
            case BACKWARD_INPUT -> "Bi";
            case BACKWARD_WEIGHT -> "W";
        };
        return k + microBatch + (virtualStage == 0 ? "" : "." + virtualStage);
    }
}
