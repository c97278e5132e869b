package org.shardplan.planner.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.shardplan.planner.pipeline.Op;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.StageProfile;

/**
 * Replays one training step of a pipeline schedule as timed events: the independent check of the
 * schedules' closed forms ({@link Schedule#estimate}), as the plan evaluator is of the per-layer costs.
 *
 * <p>Model of a step (the same for every schedule; nothing here depends on a schedule's name):
 * <ul>
 *   <li>Device {@code d} runs the ops of {@link Schedule#order} for {@code d} one at a time, in that
 *       order. An op starts when the device has finished its previous op and the op's inputs are there:
 *       <ul>
 *         <li>forward of micro-batch {@code i} at model stage {@code j > 0}: the forward of {@code i} at
 *             {@code j-1} has ended and its output activation has arrived;</li>
 *         <li>backward (or input-gradient backward) of {@code i} at {@code j}: the forward of {@code i} at
 *             {@code j} has ended and, for {@code j} below the last stage, the input gradient of {@code i} from
 *             stage {@code j+1} has arrived;</li>
 *         <li>weight-gradient backward of {@code i} at {@code j}: the input-gradient backward of {@code i} at
 *             {@code j} has ended.</li>
 *       </ul></li>
 *   <li>A transfer between stages {@code j} and {@code j+1} takes {@code sendSeconds} of stage {@code j},
 *       in either direction. It starts when the producing op ends and the directed link from the sending
 *       device to the receiving device is free: transfers on one directed link are serialised in the
 *       order they are issued, the two directions are independent (full duplex), and transfers do not
 *       occupy compute. Stages on the same device pass their data for free.</li>
 *   <li>After a device's last op, its gradient synchronisation: the sum of {@code gradientSyncSeconds}
 *       of its stages. The step ends when the last device's synchronisation ends.</li>
 *   <li>Memory of a device: the static bytes of its stages plus the activation bytes of every (micro-batch,
 *       stage) whose forward has started and whose backward (or weight-gradient backward) has not ended.</li>
 * </ul>
 * The replay takes ops in dependency order (a device never reorders its list), so each start time is the
 * maximum over already-known end and arrival times; a cycle (an op waiting for an op that waits for it) is
 * reported as a deadlock. Running time {@code O(P * N + N log N)} for {@code N} ops on {@code P} devices.
 */
public final class Simulator {

    private Simulator() {
    }

    /**
     * Simulates one step.
     *
     * @param stages        {@code p * v} profiles in model order (profile {@code j} on device {@code j % p})
     * @param schedule      the schedule whose {@link Schedule#order} is replayed
     * @param microBatches  {@code m}
     * @param virtualStages {@code v}
     * @throws IllegalArgumentException when the shape is invalid for the schedule
     * @throws IllegalStateException    when the schedule's order is inconsistent (an op twice, missing, or a
     *                                  deadlock)
     */
    public static Result run(List<StageProfile> stages, Schedule schedule, int microBatches, int virtualStages) {
        if (virtualStages < 1 || stages.isEmpty() || stages.size() % virtualStages != 0) {
            throw new IllegalArgumentException("stage profiles must be a positive multiple of the virtual stages "
                    + virtualStages + ", found " + stages.size());
        }
        int devices = stages.size() / virtualStages;
        schedule.requireValid(devices, microBatches, virtualStages);
        return new Replay(stages, schedule, devices, microBatches, virtualStages).run();
    }

    /** The state of one replay. */
    private static final class Replay {
        private final List<StageProfile> stages;
        private final Schedule schedule;
        private final int devices;
        private final int m;
        private final int v;
        private final int count;
        private final List<List<Op>> order;
        // Per model stage and micro-batch; NaN until known.
        private final double[][] forwardEnd;
        private final double[][] inputGradEnd;
        private final double[][] weightGradEnd;
        private final double[][] activationArrives;
        private final double[][] gradientArrives;
        private final double[][] linkFree;
        private final double[] deviceFree;
        private final double[] busy;
        private final List<Event> events = new ArrayList<>();

        Replay(List<StageProfile> stages, Schedule schedule, int devices, int m, int v) {
            this.stages = List.copyOf(stages);
            this.schedule = schedule;
            this.devices = devices;
            this.m = m;
            this.v = v;
            this.count = stages.size();
            this.order = schedule.order(devices, m, v);
            if (order.size() != devices) {
                throw new IllegalStateException("schedule " + schedule.name() + " must give an op list per device ("
                        + devices + "), found " + order.size());
            }
            forwardEnd = nan(count, m);
            inputGradEnd = nan(count, m);
            weightGradEnd = nan(count, m);
            activationArrives = nan(count, m);
            gradientArrives = nan(count, m);
            linkFree = new double[devices][devices];
            deviceFree = new double[devices];
            busy = new double[devices];
        }

        Result run() {
            int[] next = new int[devices];
            int total = order.stream().mapToInt(List::size).sum();
            int done = 0;
            boolean progress = true;
            while (progress && done < total) {
                progress = false;
                for (int d = 0; d < devices; d++) {
                    List<Op> ops = order.get(d);
                    while (next[d] < ops.size() && tryRun(d, ops.get(next[d]))) {
                        next[d]++;
                        done++;
                        progress = true;
                    }
                }
            }
            if (done < total) {
                StringBuilder waiting = new StringBuilder();
                for (int d = 0; d < devices; d++) {
                    if (next[d] < order.get(d).size()) {
                        waiting.append(waiting.length() == 0 ? "" : ", ").append("device ").append(d).append(" at ")
                                .append(order.get(d).get(next[d]));
                    }
                }
                throw new IllegalStateException("schedule " + schedule.name() + " must not deadlock, found ops waiting on each other: "
                        + waiting);
            }
            requireComplete();
            double step = 0;
            double[] end = new double[devices];
            for (int d = 0; d < devices; d++) {
                double sync = 0;
                for (int c = 0; c < v; c++) {
                    sync += stages.get(c * devices + d).gradientSyncSeconds();
                }
                end[d] = deviceFree[d] + sync;
                if (sync > 0) {
                    events.add(new Event(d, Event.Kind.GRADIENT_SYNC, -1, -1, deviceFree[d], end[d]));
                }
                step = Math.max(step, end[d]);
            }
            double busyTotal = Arrays.stream(busy).sum();
            double bubble = step <= 0 ? 0.0 : 1.0 - busyTotal / (devices * step);
            events.sort(Comparator.comparingDouble(Event::start).thenComparingInt(Event::device)
                    .thenComparingDouble(Event::end));
            List<DeviceResult> results = new ArrayList<>();
            for (int d = 0; d < devices; d++) {
                double[] mem = memory(d);
                results.add(new DeviceResult(busy[d], end[d], mem[0], (int) mem[1]));
            }
            return new Result(step, bubble, results, events);
        }

        /** Runs {@code op} on device {@code d} if its inputs are known; false when it must wait. */
        private boolean tryRun(int d, Op op) {
            int i = op.microBatch();
            if (i >= m || op.chunk() >= v) {
                throw new IllegalStateException("schedule " + schedule.name() + " must use micro-batches below " + m
                        + " and chunks below " + v + ", found " + op + " on device " + d);
            }
            int s = op.chunk() * devices + d;
            StageProfile st = stages.get(s);
            double ready;
            double seconds;
            switch (op.kind()) {
                case FORWARD -> {
                    requireUnset(forwardEnd[s][i], op, d);
                    ready = s == 0 ? 0.0 : activationArrives[s][i];
                    seconds = st.forwardSeconds();
                }
                case BACKWARD, BACKWARD_INPUT -> {
                    requireUnset(inputGradEnd[s][i], op, d);
                    ready = Math.max(forwardEnd[s][i], s == count - 1 ? 0.0 : gradientArrives[s][i]);
                    seconds = op.kind() == Op.Kind.BACKWARD ? st.backwardSeconds() : st.backwardInputSeconds();
                }
                case BACKWARD_WEIGHT -> {
                    requireUnset(weightGradEnd[s][i], op, d);
                    ready = inputGradEnd[s][i];
                    seconds = st.backwardWeightSeconds();
                }
                default -> throw new AssertionError(op.kind());
            }
            if (Double.isNaN(ready)) {
                return false;
            }
            double start = Math.max(ready, deviceFree[d]);
            double end = start + seconds;
            deviceFree[d] = end;
            busy[d] += seconds;
            events.add(new Event(d, Event.Kind.valueOf(op.kind().name()), i, op.chunk(), start, end));
            switch (op.kind()) {
                case FORWARD -> {
                    forwardEnd[s][i] = end;
                    if (s + 1 < count) {
                        activationArrives[s + 1][i] = send(d, (s + 1) % devices, end, st.sendSeconds(),
                                Event.Kind.SEND_ACTIVATION, op);
                    }
                }
                case BACKWARD, BACKWARD_INPUT -> {
                    inputGradEnd[s][i] = end;
                    if (op.kind() == Op.Kind.BACKWARD) {
                        weightGradEnd[s][i] = end;
                    }
                    if (s > 0) {
                        gradientArrives[s - 1][i] = send(d, (s - 1) % devices, end, stages.get(s - 1).sendSeconds(),
                                Event.Kind.SEND_GRADIENT, op);
                    }
                }
                case BACKWARD_WEIGHT -> weightGradEnd[s][i] = end;
                default -> throw new AssertionError(op.kind());
            }
            return true;
        }

        /** Arrival time of a transfer issued at {@code ready} from device {@code from} to {@code to}. */
        private double send(int from, int to, double ready, double seconds, Event.Kind kind, Op op) {
            if (from == to) {
                return ready;
            }
            double start = Math.max(ready, linkFree[from][to]);
            double end = start + seconds;
            linkFree[from][to] = end;
            if (seconds > 0) {
                events.add(new Event(from, kind, op.microBatch(), op.chunk(), start, end));
            }
            return end;
        }

        private void requireUnset(double value, Op op, int d) {
            if (!Double.isNaN(value)) {
                throw new IllegalStateException("schedule " + schedule.name() + " must run each op once, found " + op
                        + " again on device " + d);
            }
        }

        private void requireComplete() {
            for (int s = 0; s < count; s++) {
                for (int i = 0; i < m; i++) {
                    if (Double.isNaN(forwardEnd[s][i]) || Double.isNaN(weightGradEnd[s][i])) {
                        throw new IllegalStateException("schedule " + schedule.name()
                                + " must run the forward and the whole backward of every micro-batch at every stage, found micro-batch "
                                + i + " of stage " + s + " incomplete");
                    }
                }
            }
        }

        /** {peak bytes, most (micro-batch, chunk) activations held at once} of device {@code d}. */
        private double[] memory(int d) {
            double base = 0;
            for (int c = 0; c < v; c++) {
                base += stages.get(c * devices + d).staticBytes();
            }
            // (time, delta bytes, delta count); frees before allocations at equal times.
            List<double[]> changes = new ArrayList<>();
            for (Event e : events) {
                if (e.device() != d) {
                    continue;
                }
                switch (e.kind()) {
                    case FORWARD -> changes.add(new double[] {e.start(), activation(e), 1});
                    case BACKWARD, BACKWARD_WEIGHT -> changes.add(new double[] {e.end(), -activation(e), -1});
                    default -> {
                    }
                }
            }
            changes.sort(Comparator.<double[]>comparingDouble(c -> c[0]).thenComparingDouble(c -> c[2]));
            double bytes = 0;
            double peakBytes = 0;
            int held = 0;
            int peakHeld = 0;
            for (double[] c : changes) {
                bytes += c[1];
                held += (int) c[2];
                peakBytes = Math.max(peakBytes, bytes);
                peakHeld = Math.max(peakHeld, held);
            }
            return new double[] {base + peakBytes, peakHeld};
        }

        private double activation(Event e) {
            return stages.get(e.chunk() * devices + e.device()).activationBytesPerMicroBatch();
        }

        private static double[][] nan(int rows, int cols) {
            double[][] a = new double[rows][cols];
            for (double[] row : a) {
                Arrays.fill(row, Double.NaN);
            }
            return a;
        }
    }
}
