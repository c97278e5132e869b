/**
 * The event simulator of pipeline steps ({@link org.shardplan.planner.sim.Simulator}): replays the op
 * order of any {@link org.shardplan.planner.pipeline.Schedule} on per-stage costs, with point-to-point
 * transfers on serialised links and the gradient synchronisation at the end, and reports the step
 * time, the bubble, each device's busy time and peak memory, and every event. A schedule without a fixed
 * order (the asynchronous AMP) is replayed as message passing: keys in flight, per-stage message queues,
 * local updates every M gradients, with the time per instance and each stage's staleness distribution
 * ({@link org.shardplan.planner.sim.StalenessDistribution}). It knows no schedule by name and is the
 * independent check of the schedules' closed forms.
 */
package org.shardplan.planner.sim;
