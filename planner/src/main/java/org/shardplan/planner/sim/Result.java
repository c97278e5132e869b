package org.shardplan.planner.sim;

import java.util.List;

/**
 * A simulated step.
 *
 * @param stepSeconds    when the last device ends its gradient synchronisation
 * @param bubbleFraction {@code 1 - sum of busy seconds / (devices * stepSeconds)}, the definition of
 *                       {@link org.shardplan.planner.pipeline.Estimate}
 * @param devices        per device
 * @param events         every compute op, transfer and synchronisation, ordered by start time, then device
 * @param secondsPerInstance for an asynchronous schedule, the measured steady-state time per instance
 *                       (micro-batch), of which {@code stepSeconds} is {@code m} times; 0 for a synchronous one
 * @param staleness      for an asynchronous schedule, per device, the distribution of local updates between an
 *                       instance's forward and its backward in the steady state; empty for a synchronous one
 */
public record Result(double stepSeconds, double bubbleFraction, List<DeviceResult> devices, List<Event> events,
        double secondsPerInstance, List<StalenessDistribution> staleness) {

    public Result {
        devices = List.copyOf(devices);
        events = List.copyOf(events);
        staleness = List.copyOf(staleness);
    }

    /** The result of a synchronous step. */
    public Result(double stepSeconds, double bubbleFraction, List<DeviceResult> devices, List<Event> events) {
        this(stepSeconds, bubbleFraction, devices, events, 0, List.of());
    }

    /** The largest per-device peak memory. */
    public double maxPeakMemoryBytes() {
        return devices.stream().mapToDouble(DeviceResult::peakMemoryBytes).max().orElse(0);
    }
}
