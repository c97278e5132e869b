package org.shardplan.planner;

/**
 * The whole plan's predicted cost per training step.
 *
 * @param stepSeconds predicted time of one training step (forward, backward and communication; the
 *     cost model adds them without overlap)
 * @param computeSeconds the compute part of {@link #stepSeconds}
 * @param communicationSeconds the communication part of {@link #stepSeconds}
 * @param peakMemoryBytesPerDevice memory per device (weights, gradients, optimizer state, saved
 *     activations) on the most loaded device
 * @param communicationBytes bytes one device sends or receives per step
 * @param memoryLimitBytes the per-device limit the plan was searched under
 * @param fits whether the peak memory is within the limit
 */
public record PlanTotals(double stepSeconds, double computeSeconds, double communicationSeconds,
        double peakMemoryBytesPerDevice, double communicationBytes, double memoryLimitBytes, boolean fits) {
}
