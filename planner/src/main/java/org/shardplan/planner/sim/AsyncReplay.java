package org.shardplan.planner.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.shardplan.planner.pipeline.StageProfile;

/**
 * Replays the asynchronous runtime of {@link org.shardplan.planner.pipeline.Amp} as message passing: a
 * controller that keeps at most {@code K} instances active, one worker per stage that runs the forward
 * (activation) and backward (gradient) messages in the order they arrived, links that carry one transfer at a
 * time per direction, and a local update (gradient reduction over the stage's replicas, then the optimizer
 * step) after every {@code M}-th backward of a stage, before its worker takes another message. It shares
 * no code with the closed form and knows no schedule by name.
 *
 * <p>It runs {@code 3W} instances ({@code W} a multiple of {@code M} of at least {@code max(32, 4K, 4P)}) and
 * measures the middle {@code W}: the time per instance is the spacing of their releases (ends of their
 * backward on stage 0), and the staleness of each is the stage's weight version at the start of its
 * backward minus that at the start of its forward. The first {@code W} let the pipeline fill, the last keep
 * it full while the middle ones finish. Memory is the peak over the whole run. Running time
 * {@code O(W P log(W P))}.
 */
final class AsyncReplay {

    private final List<StageProfile> stages;
    private final int p;
    private final int keys;
    private final int every;
    private final int n;
    private final int window;
    private final PriorityQueue<Happening> queue = new PriorityQueue<>();
    private long sequence;
    private final List<Event> events = new ArrayList<>();
    // per stage
    private final ArrayDeque<Message>[] messages;
    private final boolean[] busy;
    private final boolean[] updateDue;
    private final int[] gradients;
    private final int[] version;
    private final int[] held;
    private final int[] peakHeld;
    private final double[] peakBytes;
    private final int[][] forwardVersion;
    private final int[][] stale;
    // links: [0][s] carries activations s -> s+1, [1][s] gradients s+1 -> s
    private final boolean[][] linkBusy;
    private final ArrayDeque<Transfer>[][] linkWaiting;
    private final double[] released;
    private int admitted;
    private int active;

    /** The most keys in flight the replay takes: it runs at least 24 instances per key. */
    static final int MAX_KEYS = 4096;

    @SuppressWarnings("unchecked")
    AsyncReplay(List<StageProfile> stages, int keys, int every) {
        if (keys > MAX_KEYS || every > MAX_KEYS) {
            throw new IllegalArgumentException("the asynchronous replay takes at most " + MAX_KEYS + " keys in flight and "
                    + MAX_KEYS + " gradients per update, found " + keys + " and " + every);
        }
        this.stages = List.copyOf(stages);
        this.p = stages.size();
        this.keys = keys;
        this.every = every;
        int w = Math.max(128, 8 * Math.max(keys, p));
        this.window = (w + every - 1) / every * every;
        this.n = 3 * window;
        messages = new ArrayDeque[p];
        linkWaiting = new ArrayDeque[2][p];
        for (int s = 0; s < p; s++) {
            messages[s] = new ArrayDeque<>();
            linkWaiting[0][s] = new ArrayDeque<>();
            linkWaiting[1][s] = new ArrayDeque<>();
        }
        busy = new boolean[p];
        updateDue = new boolean[p];
        gradients = new int[p];
        version = new int[p];
        held = new int[p];
        peakHeld = new int[p];
        peakBytes = new double[p];
        forwardVersion = new int[p][n];
        stale = new int[p][n];
        linkBusy = new boolean[2][p];
        released = new double[n];
    }

    Result run(int microBatches) {
        while (admitted < n && active < keys) {
            admit();
        }
        tryStart(0, 0.0);
        while (!queue.isEmpty()) {
            Happening h = queue.poll();
            switch (h.kind) {
                case OP -> finishOp(h);
                case UPDATE -> finishUpdate(h);
                case TRANSFER -> arrive(h.transfer, h.time);
                default -> throw new AssertionError(h.kind);
            }
        }
        for (int s = 0; s < p; s++) {
            if (busy[s] || !messages[s].isEmpty()) {
                throw new IllegalStateException("the asynchronous replay must finish every instance, found stage " + s
                        + " with messages left");
            }
        }
        double perInstance = (released[2 * window - 1] - released[window - 1]) / window;
        double step = microBatches * perInstance;
        double work = 0;
        List<DeviceResult> devices = new ArrayList<>();
        List<StalenessDistribution> staleness = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            StageProfile st = stages.get(s);
            double compute = microBatches * (st.forwardSeconds() + st.backwardSeconds());
            work += compute;
            devices.add(new DeviceResult(compute, step, st.staticBytes() + peakBytes[s], peakHeld[s]));
            int most = 0;
            for (int i = window; i < 2 * window; i++) {
                most = Math.max(most, stale[s][i]);
            }
            long[] counts = new long[most + 1];
            for (int i = window; i < 2 * window; i++) {
                counts[stale[s][i]]++;
            }
            staleness.add(new StalenessDistribution(counts));
        }
        double bubble = step <= 0 ? 0.0 : 1.0 - work / (p * step);
        events.sort(Comparator.comparingDouble(Event::start).thenComparingInt(Event::device)
                .thenComparingDouble(Event::end));
        return new Result(step, bubble, devices, events, perInstance, staleness);
    }

    /** The controller admits the next instance into stage 0's forward queue. */
    private void admit() {
        messages[0].add(new Message(admitted++, false));
        active++;
    }

    /** Worker {@code s}, if idle: its due update, else the oldest message in its queue. */
    private void tryStart(int s, double now) {
        if (busy[s]) {
            return;
        }
        StageProfile st = stages.get(s);
        if (updateDue[s]) {
            updateDue[s] = false;
            busy[s] = true;
            double t = st.gradientSyncSeconds() + st.updateSeconds();
            queue.add(new Happening(now + t, sequence++, Kind.UPDATE, s, gradients[s] - 1, false, now, null));
            return;
        }
        Message next = messages[s].poll();
        if (next == null) {
            return;
        }
        int i = next.instance();
        busy[s] = true;
        if (next.backward()) {
            stale[s][i] = version[s] - forwardVersion[s][i];
            queue.add(new Happening(now + st.backwardSeconds(), sequence++, Kind.OP, s, i, true, now, null));
        } else {
            forwardVersion[s][i] = version[s];
            held[s]++;
            peakHeld[s] = Math.max(peakHeld[s], held[s]);
            peakBytes[s] = Math.max(peakBytes[s], held[s] * st.activationBytesPerMicroBatch());
            queue.add(new Happening(now + st.forwardSeconds(), sequence++, Kind.OP, s, i, false, now, null));
        }
    }

    private void finishOp(Happening h) {
        int s = h.stage;
        int i = h.instance;
        busy[s] = false;
        events.add(new Event(s, h.backward ? Event.Kind.BACKWARD : Event.Kind.FORWARD, i, 0, h.start, h.time));
        if (!h.backward) {
            if (s + 1 < p) {
                send(new Transfer(0, s, s + 1, i), h.time);
            } else {
                messages[s].add(new Message(i, true)); // the loss: the last stage's backward follows its forward
            }
        } else {
            held[s]--;
            if (++gradients[s] % every == 0) {
                updateDue[s] = true;
            }
            if (s > 0) {
                send(new Transfer(1, s - 1, s - 1, i), h.time);
            } else {
                released[i] = h.time;
                active--;
                if (admitted < n) {
                    admit();
                }
            }
        }
        tryStart(s, h.time);
    }

    private void finishUpdate(Happening h) {
        int s = h.stage;
        busy[s] = false;
        version[s]++;
        if (h.time > h.start) {
            events.add(new Event(s, Event.Kind.LOCAL_UPDATE, h.instance, 0, h.start, h.time));
        }
        tryStart(s, h.time);
    }

    /** Issues a transfer on its link; a free transfer arrives at once. */
    private void send(Transfer t, double now) {
        if (stages.get(t.link).sendSeconds() <= 0) {
            deliver(t, now);
            return;
        }
        linkWaiting[t.direction][t.link].add(t);
        if (!linkBusy[t.direction][t.link]) {
            startNext(t.direction, t.link, now);
        }
    }

    private void startNext(int direction, int link, double now) {
        Transfer t = linkWaiting[direction][link].poll();
        if (t == null) {
            linkBusy[direction][link] = false;
            return;
        }
        linkBusy[direction][link] = true;
        double seconds = stages.get(link).sendSeconds();
        queue.add(new Happening(now + seconds, sequence++, Kind.TRANSFER, t.to, t.instance, t.direction == 1, now, t));
    }

    private void arrive(Transfer t, double now) {
        double seconds = stages.get(t.link).sendSeconds();
        int from = t.direction == 0 ? t.link : t.link + 1;
        events.add(new Event(from, t.direction == 0 ? Event.Kind.SEND_ACTIVATION : Event.Kind.SEND_GRADIENT, t.instance,
                0, now - seconds, now));
        deliver(t, now);
        startNext(t.direction, t.link, now);
    }

    private void deliver(Transfer t, double now) {
        messages[t.to].add(new Message(t.instance, t.direction == 1));
        tryStart(t.to, now);
    }

    private enum Kind { OP, UPDATE, TRANSFER }

    /** A message in a worker's queue: the forward or the backward of an instance. */
    private record Message(int instance, boolean backward) {
    }

    /** A time in the event queue: an op or update of a worker ends, or a transfer arrives. */
    private record Happening(double time, long sequence, Kind kind, int stage, int instance, boolean backward,
            double start, Transfer transfer) implements Comparable<Happening> {
        @Override
        public int compareTo(Happening o) {
            int c = Double.compare(time, o.time);
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }

    /**
     * An activation ({@code direction} 0, link {@code s -> s+1}) or gradient (1, link {@code s+1 -> s}) of an
     * instance on its way to stage {@code to}; {@code link} is the lower stage's index.
     */
    private record Transfer(int direction, int link, int to, int instance) {
    }
}
