package org.shardplan.planner.pipeline;

import java.util.Arrays;

/**
 * A schedule's closed-form prediction for one training step.
 *
 * <p>The bubble is defined once for the closed forms and the simulator: with {@code P} devices,
 * step time {@code T} and {@code busy_d} the compute time of device {@code d} (its forward and
 * backward ops, {@code m} times the forward and backward of each of its stages; transfers and the
 * gradient synchronisation are not compute),
 * <pre>
 *   bubbleFraction = 1 - (busy_0 + ... + busy_{P-1}) / (P * T),
 * </pre>
 * the idle share of the devices' time, averaged over devices. The papers' bubble is idle time over
 * useful time ({@code (p-1)/m} for GPipe and 1F1B, Narayanan et al. 2021); that is
 * {@link #bubbleOverhead()}, {@code bubbleFraction / (1 - bubbleFraction)}.
 *
 * @param stepSeconds          time of one step: the last device's end of gradient synchronisation
 * @param bubbleFraction       the idle share defined above, in {@code [0, 1)}
 * @param peakMemoryBytes      per device: static bytes of its stages plus the activations it holds at its
 *                             peak
 * @param microBatchesInFlight per device: how many micro-batches' activations it holds at its peak (summed
 *                             over its chunks with interleaving)
 * @param staleness            per device, for an asynchronous schedule: local updates between an instance's
 *                             forward and its backward ({@link Staleness}); empty for a synchronous schedule
 */
public record Estimate(double stepSeconds, double bubbleFraction, double[] peakMemoryBytes, int[] microBatchesInFlight,
        java.util.List<Staleness> staleness) {

    public Estimate {
        peakMemoryBytes = peakMemoryBytes.clone();
        microBatchesInFlight = microBatchesInFlight.clone();
        staleness = java.util.List.copyOf(staleness);
        if (peakMemoryBytes.length != microBatchesInFlight.length) {
            throw new IllegalArgumentException("peak memory and micro-batches in flight must have one entry per device, found "
                    + peakMemoryBytes.length + " and " + microBatchesInFlight.length);
        }
        if (!staleness.isEmpty() && staleness.size() != peakMemoryBytes.length) {
            throw new IllegalArgumentException("staleness must be empty or have one entry per device ("
                    + peakMemoryBytes.length + "), found " + staleness.size());
        }
    }

    /** The estimate of a synchronous schedule: no staleness. */
    public Estimate(double stepSeconds, double bubbleFraction, double[] peakMemoryBytes, int[] microBatchesInFlight) {
        this(stepSeconds, bubbleFraction, peakMemoryBytes, microBatchesInFlight, java.util.List.of());
    }

    /** The largest staleness of any device ({@link Staleness#largest}); 0 for a synchronous schedule. */
    public int maxStaleness() {
        return staleness.stream().mapToInt(Staleness::largest).max().orElse(0);
    }

    /** The step time and bubble of busy times {@code busy} (one per device) ending at {@code stepSeconds}. */
    static double bubble(double stepSeconds, double[] busy) {
        double sum = 0;
        for (double b : busy) {
            sum += b;
        }
        return stepSeconds <= 0 ? 0.0 : 1.0 - sum / (busy.length * stepSeconds);
    }

    @Override
    public double[] peakMemoryBytes() {
        return peakMemoryBytes.clone();
    }

    @Override
    public int[] microBatchesInFlight() {
        return microBatchesInFlight.clone();
    }

    /** Number of devices. */
    public int devices() {
        return peakMemoryBytes.length;
    }

    /** The largest per-device peak, the number a memory limit is checked against. */
    public double maxPeakMemoryBytes() {
        return Arrays.stream(peakMemoryBytes).max().orElse(0);
    }

    /** Idle time over compute time, the papers' bubble: {@code bubbleFraction / (1 - bubbleFraction)}. */
    public double bubbleOverhead() {
        return bubbleFraction / (1 - bubbleFraction);
    }

    @Override
    public String toString() {
        return "Estimate[step=" + stepSeconds + ", bubble=" + bubbleFraction + ", peak=" + Arrays.toString(peakMemoryBytes)
                + ", inFlight=" + Arrays.toString(microBatchesInFlight) + (staleness.isEmpty() ? "" : ", staleness=" + staleness)
                + "]";
    }
}
