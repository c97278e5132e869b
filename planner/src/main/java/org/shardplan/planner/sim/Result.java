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
 */
public record Result(double stepSeconds, double bubbleFraction, List<DeviceResult> devices, List<Event> events) {

    public Result {
        devices = List.copyOf(devices);
        events = List.copyOf(events);
    }

    /** The largest per-device peak memory. */
    public double maxPeakMemoryBytes() {
        return devices.stream().mapToDouble(DeviceResult::peakMemoryBytes).max().orElse(0);
    }
}
