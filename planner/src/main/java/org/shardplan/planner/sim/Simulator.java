package org.shardplan.planner.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.shardplan.planner.pipeline.Op;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.StageProfile;

/**
 * Replays one training step of a pipeline schedule as timed events: the independent check of the
 * schedules' estimates ({@link Schedule#estimate}), as the plan evaluator is of the per-layer costs.
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
 * It is a discrete-event simulation: a queue of the times at which an op ends or a transfer arrives,
 * taken in time order; at each, the device or link concerned starts its next op or transfer if it can
 * (an idle device with its next op's inputs there, a free link with a transfer waiting). When the queue
 * runs dry with ops left, the devices wait on each other and the order is reported as a deadlock.
 * Running time {@code O(N log N)} for {@code N} ops and transfers.
 *
 * <p>A schedule without a fixed order ({@link Schedule#fixedOrder()} false: the asynchronous
 * {@link org.shardplan.planner.pipeline.Amp}) is replayed as message passing instead, with the keys in
 * flight and the update frequency of its {@link Schedule#parameters()}: {@link AsyncReplay}. Its result
 * also gives the measured time per instance and the staleness distribution of every stage.
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
        if (!schedule.fixedOrder()) {
            var k = schedule.parameters().maxActiveKeys();
            var every = schedule.parameters().minUpdateFrequency();
            if (k.isEmpty() || every.isEmpty()) {
                throw new IllegalArgumentException("schedule " + schedule.name() + " must give its keys in flight and"
                        + " update frequency to be replayed, found " + schedule.parameters());
            }
            return new AsyncReplay(stages, k.getAsInt(), every.getAsInt()).run(microBatches);
        }
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
        // Per model stage and micro-batch: when it ended or arrived; NaN until then.
        private final double[][] forwardEnd;
        private final double[][] inputGradEnd;
        private final double[][] weightGradEnd;
        private final double[][] activationArrived;
        private final double[][] gradientArrived;
        // Per device: the next op of its list, whether it is computing and since when, when it last finished.
        private final int[] next;
        private final boolean[] computing;
        private final double[] opStart;
        private final double[] lastEnd;
        private final double[] busy;
        private final Link[][] links;
        private final PriorityQueue<Happening> queue = new PriorityQueue<>();
        private long sequence;
        private final List<Event> events = new ArrayList<>();
        private final List<List<Event>> computeEvents = new ArrayList<>();

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
            activationArrived = nan(count, m);
            gradientArrived = nan(count, m);
            next = new int[devices];
            computing = new boolean[devices];
            opStart = new double[devices];
            lastEnd = new double[devices];
            busy = new double[devices];
            links = new Link[devices][devices];
            for (int d = 0; d < devices; d++) {
                computeEvents.add(new ArrayList<>());
                for (int e = 0; e < devices; e++) {
                    links[d][e] = new Link();
                }
            }
            requireEachOpOnce();
        }

        Result run() {
            for (int d = 0; d < devices; d++) {
                tryStart(d, 0.0);
            }
            while (!queue.isEmpty()) {
                Happening h = queue.poll();
                if (h.transfer == null) {
                    finish(h.device, h.time);
                } else {
                    arrive(h.transfer, h.time);
                }
            }
            requireAllRan();
            double step = 0;
            double[] end = new double[devices];
            for (int d = 0; d < devices; d++) {
                double sync = 0;
                for (int c = 0; c < v; c++) {
                    sync += stages.get(c * devices + d).gradientSyncSeconds();
                }
                end[d] = lastEnd[d] + sync;
                if (sync > 0) {
                    events.add(new Event(d, Event.Kind.GRADIENT_SYNC, -1, -1, lastEnd[d], end[d]));
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

        /** Starts device {@code d}'s next op at {@code now} if the device is idle and the op's inputs are there. */
        private void tryStart(int d, double now) {
            List<Op> ops = order.get(d);
            if (computing[d] || next[d] == ops.size()) {
                return;
            }
            Op op = ops.get(next[d]);
            int i = op.microBatch();
            int s = stage(d, op);
            boolean ready = switch (op.kind()) {
                case FORWARD -> s == 0 || !Double.isNaN(activationArrived[s][i]);
                case BACKWARD, BACKWARD_INPUT -> !Double.isNaN(forwardEnd[s][i])
                        && (s == count - 1 || !Double.isNaN(gradientArrived[s][i]));
                case BACKWARD_WEIGHT -> !Double.isNaN(inputGradEnd[s][i]);
            };
            if (!ready) {
                return;
            }
            computing[d] = true;
            opStart[d] = now;
            queue.add(new Happening(now + seconds(stages.get(s), op), sequence++, d, null));
        }

        /** Device {@code d}'s current op ends at {@code now}: record it, send its output, start the next op. */
        private void finish(int d, double now) {
            Op op = order.get(d).get(next[d]);
            int i = op.microBatch();
            int s = stage(d, op);
            computing[d] = false;
            next[d]++;
            lastEnd[d] = now;
            busy[d] += now - opStart[d];
            Event event = new Event(d, kind(op), i, op.virtualStage(), opStart[d], now);
            events.add(event);
            computeEvents.get(d).add(event);
            switch (op.kind()) {
                case FORWARD -> {
                    forwardEnd[s][i] = now;
                    if (s + 1 < count) {
                        send(new Transfer(d, (s + 1) % devices, s + 1, op, stages.get(s).sendSeconds(), false), now);
                    }
                }
                case BACKWARD, BACKWARD_INPUT -> {
                    inputGradEnd[s][i] = now;
                    if (op.kind() == Op.Kind.BACKWARD) {
                        weightGradEnd[s][i] = now;
                    }
                    if (s > 0) {
                        send(new Transfer(d, (s - 1) % devices, s - 1, op, stages.get(s - 1).sendSeconds(), true), now);
                    }
                }
                case BACKWARD_WEIGHT -> weightGradEnd[s][i] = now;
                default -> throw new AssertionError(op.kind());
            }
            tryStart(d, now);
        }

        /** Issues a transfer at {@code now}: on its own device it arrives at once, else it queues on its link. */
        private void send(Transfer t, double now) {
            if (t.from == t.to) {
                delivered(t, now);
                return;
            }
            Link link = links[t.from][t.to];
            link.waiting.add(t);
            if (!link.sending) {
                startNext(link, now);
            }
        }

        private void startNext(Link link, double now) {
            Transfer t = link.waiting.poll();
            if (t == null) {
                link.sending = false;
                return;
            }
            link.sending = true;
            t.start = now;
            queue.add(new Happening(now + t.seconds, sequence++, t.from, t));
        }

        /** A transfer ends at {@code now}: its data is at the receiving device; the link takes the next one. */
        private void arrive(Transfer t, double now) {
            if (t.seconds > 0) {
                events.add(new Event(t.from, t.gradient ? Event.Kind.SEND_GRADIENT : Event.Kind.SEND_ACTIVATION,
                        t.op.microBatch(), t.op.virtualStage(), t.start, now));
            }
            delivered(t, now);
            startNext(links[t.from][t.to], now);
        }

        private void delivered(Transfer t, double now) {
            (t.gradient ? gradientArrived : activationArrived)[t.stage][t.op.microBatch()] = now;
            tryStart(t.to, now);
        }

        private int stage(int d, Op op) {
            return op.virtualStage() * devices + d;
        }

        private static double seconds(StageProfile s, Op op) {
            return switch (op.kind()) {
                case FORWARD -> s.forwardSeconds();
                case BACKWARD -> s.backwardSeconds();
                case BACKWARD_INPUT -> s.backwardInputSeconds();
                case BACKWARD_WEIGHT -> s.backwardWeightSeconds();
            };
        }

        private static Event.Kind kind(Op op) {
            return switch (op.kind()) {
                case FORWARD -> Event.Kind.FORWARD;
                case BACKWARD -> Event.Kind.BACKWARD;
                case BACKWARD_INPUT -> Event.Kind.BACKWARD_INPUT;
                case BACKWARD_WEIGHT -> Event.Kind.BACKWARD_WEIGHT;
            };
        }

        /** Each op names a valid micro-batch and chunk and appears once; a backward is whole or split, not both. */
        private void requireEachOpOnce() {
            boolean[][][] seen = new boolean[3][count][m];
            for (int d = 0; d < devices; d++) {
                for (Op op : order.get(d)) {
                    if (op.microBatch() >= m || op.virtualStage() >= v) {
                        throw new IllegalStateException("schedule " + schedule.name() + " must use micro-batches below " + m
                                + " and chunks below " + v + ", found " + op + " on device " + d);
                    }
                    int slot = switch (op.kind()) {
                        case FORWARD -> 0;
                        case BACKWARD, BACKWARD_INPUT -> 1;
                        case BACKWARD_WEIGHT -> 2;
                    };
                    int s = stage(d, op);
                    if (seen[slot][s][op.microBatch()] || (op.kind() == Op.Kind.BACKWARD && seen[2][s][op.microBatch()])) {
                        throw new IllegalStateException("schedule " + schedule.name() + " must run each op once, found "
                                + op + " again on device " + d);
                    }
                    seen[slot][s][op.microBatch()] = true;
                    if (op.kind() == Op.Kind.BACKWARD) {
                        seen[2][s][op.microBatch()] = true;
                    }
                }
            }
        }

        /** Every device got through its list (else they wait on each other) and every pass of every stage ran. */
        private void requireAllRan() {
            StringBuilder waiting = new StringBuilder();
            for (int d = 0; d < devices; d++) {
                if (next[d] < order.get(d).size()) {
                    waiting.append(waiting.length() == 0 ? "" : ", ").append("device ").append(d).append(" at ")
                            .append(order.get(d).get(next[d]));
                }
            }
            if (waiting.length() > 0) {
                throw new IllegalStateException("schedule " + schedule.name()
                        + " must not deadlock, found ops waiting on each other: " + waiting);
            }
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
            for (Event e : computeEvents.get(d)) {
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
            return stages.get(e.virtualStage() * devices + e.device()).activationBytesPerMicroBatch();
        }

        private static double[][] nan(int rows, int cols) {
            double[][] a = new double[rows][cols];
            for (double[] row : a) {
                Arrays.fill(row, Double.NaN);
            }
            return a;
        }
    }

    /** A time in the event queue: device {@code device}'s op ends, or {@code transfer} arrives. */
    private record Happening(double time, long sequence, int device, Transfer transfer) implements Comparable<Happening> {
        @Override
        public int compareTo(Happening o) {
            int c = Double.compare(time, o.time);
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }

    /** One activation or gradient on its way from device {@code from} to model stage {@code stage} on device {@code to}. */
    private static final class Transfer {
        final int from;
        final int to;
        final int stage;
        final Op op;
        final double seconds;
        final boolean gradient;
        double start;

        Transfer(int from, int to, int stage, Op op, double seconds, boolean gradient) {
            this.from = from;
            this.to = to;
            this.stage = stage;
            this.op = op;
            this.seconds = seconds;
            this.gradient = gradient;
        }
    }

    /** A directed link: the transfer on it, if any, and those waiting in the order they were issued. */
    private static final class Link {
        final ArrayDeque<Transfer> waiting = new ArrayDeque<>();
        boolean sending;
    }
}
