package org.shardplan.cost.memory;

/**
 * Memory of one device, in bytes, by kind.
 *
 * @param weights weights this device holds
 * @param gradients gradients this device holds
 * @param optimizerState optimizer state this device holds
 * @param activations activations kept for the backward pass (checkpoints and the largest
 *     recomputed segment under recomputation)
 */
public record MemoryBreakdown(double weights, double gradients, double optimizerState, double activations) {

    /** The sum of all parts. */
    public double total() {
        return weights + gradients + optimizerState + activations;
    }

    /** Part by part sum. */
    public MemoryBreakdown plus(MemoryBreakdown o) {
        return new MemoryBreakdown(weights + o.weights, gradients + o.gradients,
                optimizerState + o.optimizerState, activations + o.activations);
    }
}
