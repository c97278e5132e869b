package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Asynchronous model-parallel training, AMP (Gaunt, Johnson, Riechert, Tarlow, Tomioka, Vytiniotis and
 * Webster, "AMPNet: Asynchronous Model-Parallel Training for Dynamic Neural Networks", arXiv:1705.09786,
 * 2017). There is no step barrier and no pipeline flush: every stage runs on its own worker, forward and
 * backward messages carry an instance key, at most {@code K} instances ({@code max_active_keys}) are in
 * flight, and a stage updates its own weights each time it has collected {@code M} gradients
 * ({@code min_update_frequency}). No bubble, at the price of stale weights: an instance's backward on a
 * stage may run on weights that updates made after its forward have already moved (AMPNet does not keep
 * the forward's weights for the backward, as PipeDream's weight stashing does). Not exact ({@link #exact()}
 * is false): the training math changes.
 *
 * <p><b>The runtime this schedule prices</b> (the definitions the simulator replays and a real trainer
 * implements; an instance is one micro-batch):
 * <ul>
 *   <li>Stages {@code 0 .. P-1} in a chain, one worker each (a stage's data-parallel replicas act as one
 *       worker). Instances are numbered {@code 0, 1, 2, ...} in the order they enter.</li>
 *   <li>A controller admits instance {@code i} into stage 0's queue while fewer than {@code K} instances are
 *       active; an instance is active from its admission until its backward on stage 0 ends.</li>
 *   <li>Each worker keeps one first-in first-out queue of messages, forward (an activation) and backward
 *       (a gradient), and runs them in the order they arrived.</li>
 *   <li>A forward on stage {@code s} takes {@code f_s} and sends its output to stage {@code s+1} over the
 *       link ({@code c_s}); on the last stage it queues the instance's backward there (the loss). A backward
 *       takes {@code b_s} and sends the input gradient to stage {@code s-1} ({@code c_{s-1}}). Links
 *       carry one transfer at a time per direction, in the order they were issued.</li>
 *   <li><i>Local update</i>: when a stage's count of backwards reaches a multiple of {@code M}, its worker,
 *       before taking another message, reduces the gradients over the stage's data-parallel replicas
 *       ({@code g_s}, {@link StageProfile#gradientSyncSeconds}) and runs the optimizer step ({@code u_s},
 *       {@link StageProfile#updateSeconds}); the stage's weight version {@code v_s} goes up by one when it
 *       ends. There is no all-reduce or barrier across stages.</li>
 *   <li><i>Staleness</i> of instance {@code i} on stage {@code s}: {@code v_s} when its backward on
 *       {@code s} starts minus {@code v_s} when its forward on {@code s} started, the number of local updates
 *       between the two.</li>
 * </ul>
 * With {@code K = 1} an instance enters only when the one before has left, after every update it caused:
 * staleness 0 on every stage, and with {@code M = 1} it is sequential SGD on one instance at a time.
 *
 * <p><b>Closed form</b> (a closed cycle of {@code K} keys through the machines of the chain). Per
 * instance, worker {@code s} is busy {@code L_s = f_s + b_s + (g_s + u_s) / M} and each link {@code c_s}
 * per direction. The round trip of a key that never waits is
 * <pre>  R = sum(f_s + b_s) + 2 sum(c_s) + (g_0 + u_0) / M</pre>
 * (stage 0's update lies between one instance's release and the next admission; the other stages' updates
 * overlap the key's travel). In the steady state the time per instance is
 * <pre>  T = max( max_s L_s, max_s c_s, R / K )</pre>
 * the slowest machine, or {@code K} keys sharing the round trip; the step of {@code m} instances is
 * {@code m T} (no fill, no drain, no final synchronisation). When the machines bound ({@code T > R / K})
 * each key waits {@code Q = K T - R} per round trip, in the queues of the busiest machines (shared evenly
 * when several tie; at a worker half of a share before the forward, half before the backward, since its
 * queue serves both in arrival order). The time from the start of an instance's forward on {@code s} to the
 * start of its backward there is
 * <pre>  W_s = f_s + sum_{t > s}(f_t + b_t) + 2 sum_{t >= s}(c_t) + (the waiting downstream of F_s)</pre>
 * and since backwards on a stage start one per {@code T} in instance order, the number of earlier
 * instances whose backward starts in that window is {@code d_s = ceil(W_s / T) - 1}. Updates fall on every
 * {@code M}-th gradient, so instance {@code i} sees {@code floor(i/M) - floor((i - d_s)/M)} of them:
 * <pre>  expected staleness d_s / M,   largest ceil(d_s / M)</pre>
 * Memory: a stage may hold the activations of all {@code K} instances (when they are admitted together, at
 * the start or after a slow stretch, they pass each stage as a convoy before any backward returns); the
 * steady state holds {@code d_s + 1}. Balanced stages with
 * {@code K = P}: {@code d_s = P - s - 1}, the 1F1B steady state (about {@code P - s} stale updates with
 * {@code M = 1}, stage {@code s} holding {@code P - s} instances), with the step {@code m (f + b)} instead of
 * 1F1B's {@code (m + P - 1)(f + b)}.
 *
 * <p>The closed form is a bound on the throughput: at {@code K = 1} the simulator agrees with it exactly and
 * beyond the knee {@code K* = ceil(R / max L)} within 2% on the tests' shapes; up to the knee keys meet at
 * the workers (one's backward arrives while another's forward runs) and the replay is up to 25% slower. The
 * simulator ({@code org.shardplan.planner.sim.Simulator}) replays the runtime above and is the check
 * (docs/schedules.md gives the tolerances). Running time {@code O(P)}.
 *
 * @param maxActiveKeys      {@code K >= 1}
 * @param minUpdateFrequency {@code M >= 1}
 */
public record Amp(int maxActiveKeys, int minUpdateFrequency) implements Schedule {

    /** The name in options and plans. */
    public static final String NAME = "amp";

    public Amp {
        if (maxActiveKeys < 1) {
            throw new IllegalArgumentException("max active keys must be at least 1, found " + maxActiveKeys);
        }
        if (minUpdateFrequency < 1) {
            throw new IllegalArgumentException("min update frequency must be at least 1, found " + minUpdateFrequency);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean exact() {
        return false;
    }

    @Override
    public boolean fixedOrder() {
        return false;
    }

    @Override
    public ScheduleParameters parameters() {
        return ScheduleParameters.of(maxActiveKeys, minUpdateFrequency);
    }

    @Override
    public Schedule withParameters(ScheduleParameters p) {
        return new Amp(p.maxActiveKeys().orElse(maxActiveKeys), p.minUpdateFrequency().orElse(minUpdateFrequency));
    }

    /**
     * {@code K} in {@code 1 .. 2P} (the throughput stops growing at {@code ceil(R / max L_s)}, near
     * {@code P} for balanced stages; more keys only add staleness and memory) and {@code M} in the powers of
     * two below {@code m} and {@code m} itself ({@code M = m} updates once per {@code m} instances, the samples
     * of one synchronous step), where the options leave them open; in increasing order, so that among equal
     * step times the search keeps the fewest keys and the most frequent updates.
     */
    @Override
    public List<Schedule> variants(int stages, int microBatches, ScheduleParameters requested) {
        TreeSet<Integer> ks = new TreeSet<>();
        if (requested.maxActiveKeys().isPresent()) {
            ks.add(requested.maxActiveKeys().getAsInt());
        } else {
            for (int k = 1; k <= 2 * Math.max(1, stages); k++) {
                ks.add(k);
            }
        }
        TreeSet<Integer> ms = new TreeSet<>();
        if (requested.minUpdateFrequency().isPresent()) {
            ms.add(requested.minUpdateFrequency().getAsInt());
        } else {
            for (int m = 1; m < microBatches; m *= 2) {
                ms.add(m);
            }
            ms.add(Math.max(1, microBatches));
        }
        List<Schedule> r = new ArrayList<>();
        for (int m : ms) {
            for (int k : ks) {
                r.add(new Amp(k, m));
            }
        }
        return List.copyOf(r);
    }

    @Override
    public Optional<String> check(int stages, int microBatches, int virtualStages) {
        return Shapes.oneChunk(name(), stages, microBatches, virtualStages);
    }

    @Override
    public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
        int p = Shapes.devices(this, stages, microBatches, virtualStages);
        SteadyState ss = steadyState(stages, maxActiveKeys, minUpdateFrequency);
        double[] peak = new double[p];
        int[] inFlight = new int[p];
        List<Staleness> staleness = new ArrayList<>();
        double busy = 0;
        for (int s = 0; s < p; s++) {
            StageProfile st = stages.get(s);
            int d = ss.earlier()[s];
            inFlight[s] = maxActiveKeys;
            peak[s] = st.staticBytes() + inFlight[s] * st.activationBytesPerMicroBatch();
            staleness.add(new Staleness((double) d / minUpdateFrequency, ceilDiv(d, minUpdateFrequency)));
            busy += st.forwardSeconds() + st.backwardSeconds();
        }
        double step = microBatches * ss.secondsPerInstance();
        double bubble = step <= 0 ? 0.0 : 1.0 - microBatches * busy / (p * step);
        return new Estimate(step, bubble, peak, inFlight, staleness);
    }

    /**
     * The steady state of the closed form.
     *
     * @param secondsPerInstance {@code T}
     * @param roundTripSeconds   {@code R}
     * @param earlier            per stage, {@code d_s}: earlier instances whose backward on the stage starts
     *                           between an instance's forward and its backward there
     */
    public record SteadyState(double secondsPerInstance, double roundTripSeconds, int[] earlier) {
        public SteadyState {
            earlier = earlier.clone();
        }

        @Override
        public int[] earlier() {
            return earlier.clone();
        }
    }

    /** The closed form of the class comment for {@code K} keys and updates every {@code M} gradients. */
    public static SteadyState steadyState(List<StageProfile> stages, int keys, int updateEvery) {
        int p = stages.size();
        // machines in forward order: worker 0, link 0, worker 1, ..., worker p-1 (index 2s and 2s+1)
        double[] load = new double[2 * p - 1];
        double round = 0;
        for (int s = 0; s < p; s++) {
            StageProfile st = stages.get(s);
            load[2 * s] = st.forwardSeconds() + st.backwardSeconds()
                    + (st.gradientSyncSeconds() + st.updateSeconds()) / updateEvery;
            round += st.forwardSeconds() + st.backwardSeconds();
            if (s < p - 1) {
                load[2 * s + 1] = st.sendSeconds();
                round += 2 * st.sendSeconds();
            }
        }
        round += (stages.get(0).gradientSyncSeconds() + stages.get(0).updateSeconds()) / updateEvery;
        double busiest = 0;
        for (double l : load) {
            busiest = Math.max(busiest, l);
        }
        double t = Math.max(busiest, round / keys);
        int[] earlier = new int[p];
        if (!(t > 0)) {
            return new SteadyState(0, round, earlier);
        }
        // the keys wait Q = K T - R per round trip when the machines bound the throughput, shared evenly by
        // the busiest machines (several when they tie); at a worker half of its share lies before the
        // forward and half before the backward (its queue serves both in arrival order)
        double wait = busiest > round / keys ? keys * t - round : 0;
        int tied = 0;
        for (double l : load) {
            if (l >= busiest * (1 - 1e-9)) {
                tied++;
            }
        }
        double share = wait / tied;
        for (int s = 0; s < p; s++) {
            // W_s: forward on s, then down the chain and back to the start of the backward on s
            double w = stages.get(s).forwardSeconds();
            for (int u = s + 1; u < p; u++) {
                w += stages.get(u).forwardSeconds() + stages.get(u).backwardSeconds();
            }
            for (int u = s; u < p - 1; u++) {
                w += 2 * stages.get(u).sendSeconds();
            }
            for (int a = 2 * s; a < load.length; a++) {
                if (load[a] >= busiest * (1 - 1e-9)) {
                    w += a == 2 * s ? share / 2 : share;
                }
            }
            earlier[s] = Math.max(0, (int) Math.ceil(w / t - 1e-9) - 1);
        }
        return new SteadyState(t, round, earlier);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    /** AMP has no fixed op order: its workers run the messages that arrive (see the class comment). */
    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        throw new UnsupportedOperationException("amp has no fixed op order: its workers run the messages that arrive;"
                + " the simulator replays it as message passing");
    }
}
