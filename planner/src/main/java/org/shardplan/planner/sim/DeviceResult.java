package org.shardplan.planner.sim;

/**
 * One device's totals in a simulated step.
 *
 * @param busySeconds          time spent in compute ops (not transfers or synchronisation)
 * @param endSeconds           when its gradient synchronisation ends (its last op ends when it has none)
 * @param peakMemoryBytes      static bytes of its stages plus the largest sum of activations it held at once
 * @param microBatchesInFlight the number of (micro-batch, chunk) activations it held at that peak
 */
public record DeviceResult(double busySeconds, double endSeconds, double peakMemoryBytes, int microBatchesInFlight) {
}
