package org.shardplan.cost.profile;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SplittableRandom;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.compute.Kernel;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;

/**
 * Measures a model on this CPU with ONNX Runtime and compares the cost model with the
 * measurements.
 *
 * <ol>
 * <li>The cost of one ONNX Runtime call from Java is measured (a Neg of one element) and
 *     subtracted from every single-operator time, since inside a model that cost is paid once.
 * <li>Every distinct operator signature ({@link OpSignature}) is looked up in the calibration
 *     file; missing ones are measured as one-node models ({@link SingleNodeModels}) with warm-up,
 *     repeats and the median ({@link Timing}) and added to the file. A node that cannot be built
 *     alone or fails in ONNX Runtime is flagged, predicted analytically, and nothing is recorded
 *     for it. Nodes whose outputs are all constants (folded shape arithmetic) cost nothing.
 * <li>Each signature is predicted from the calibration data of all other signatures (its own
 *     measurement held out), by the {@link EfficiencyModel}.
 * <li>The whole model is run end to end on random inputs (graph inputs that are parameters
 *     included) and timed the same way.
 * </ol>
 * Running time: one session per distinct signature, each timed for at least
 * {@link Timing#minSeconds()}; predictions O(s·n) for s signatures and n samples.
 */
public final class Profiler {

    /**
     * How to measure.
     *
     * @param threads intra-op threads (0: ONNX Runtime's default)
     * @param timing warm-up and repeats
     * @param optimization ONNX Runtime graph optimization level the whole model runs at: none, basic,
     *     extended or all. The graph profiled must be the one ONNX Runtime runs at that level
     *     ({@link OptimizedGraph#write}, imported): its nodes are measured as one-node models without
     *     graph optimization, since they already are what the optimized session runs
     * @param wholeModel whether to time the whole model too
     * @param rounds rounds each measurement is taken in, the smallest round median kept
     *     ({@link Timing#roundsSeconds}); 1 for a single median
     * @param maxSpread relative spread of the round medians above which more rounds are run
     * @param sweep whether to measure, for every distinct signature, the same operator at
     *     neighbouring sizes as well ({@link SizeSweep}), each under its own signature, so that a
     *     node's held-out prediction can interpolate between other shapes of its family
     * @param chain whether a small node timed differentially is timed as a chain of copies, each
     *     reading the previous one's output ({@link SingleNodeModels#chain}), where its inputs and
     *     output allow, rather than as copies side by side
     * @param wholeStatistic how the whole model's runs are summarised: the median of each round
     *     (the quietest round kept), or the fastest of all its runs, which noise on a shared machine
     *     cannot make faster ({@link Timing.Statistic#MIN})
     */
    public record Options(int threads, Timing timing, String optimization, boolean wholeModel, int rounds,
            double maxSpread, boolean sweep, boolean chain, Timing.Statistic wholeStatistic) {
        /** One thread per core, default timing, no graph rewriting, the whole model timed, 3 rounds, no sweep, chains. */
        public static final Options DEFAULT = new Options(0, Timing.DEFAULT, "none", true, 3, 0.1, false, true);

        /** Options with the whole model summarised as its node measurements are. */
        public Options(int threads, Timing timing, String optimization, boolean wholeModel, int rounds,
                double maxSpread, boolean sweep, boolean chain) {
            this(threads, timing, optimization, wholeModel, rounds, maxSpread, sweep, chain, timing.statistic());
        }

        /** The same options with another whole-model statistic. */
        public Options withWholeStatistic(Timing.Statistic s) {
            return new Options(threads, timing, optimization, wholeModel, rounds, maxSpread, sweep, chain, s);
        }

        /** Options timing small nodes as chains of copies where they can be. */
        public Options(int threads, Timing timing, String optimization, boolean wholeModel, int rounds,
                double maxSpread, boolean sweep) {
            this(threads, timing, optimization, wholeModel, rounds, maxSpread, sweep, true);
        }

        /** Options measuring in one round (a single median). */
        public Options(int threads, Timing timing, String optimization, boolean wholeModel) {
            this(threads, timing, optimization, wholeModel, 1, 0.1, false);
        }

        /** Options without size sweeps. */
        public Options(int threads, Timing timing, String optimization, boolean wholeModel, int rounds,
                double maxSpread) {
            this(threads, timing, optimization, wholeModel, rounds, maxSpread, false);
        }

        public Options {
            Ort.optLevel(optimization);
            java.util.Objects.requireNonNull(wholeStatistic, "wholeStatistic");
            if (rounds < 1 || !(maxSpread >= 0)) {
                throw new IllegalArgumentException("profiling needs rounds >= 1 and maxSpread >= 0, found " + rounds
                        + ", " + maxSpread);
            }
        }
    }

    /**
     * The statistic {@code shardplan profile} and the accuracy benchmark summarise a node's runs
     * with unless told otherwise: the low quantile of all runs pooled over the rounds, which load
     * on a shared machine moves far less than a median ({@code benchmarks/results/cost-accuracy-held-out.md},
     * repeatability).
     */
    public static final Timing.Statistic DEFAULT_STATISTIC = Timing.Statistic.LOW;

    /** Told about progress: {@code done} of {@code total} steps, now working on {@code what}. */
    @FunctionalInterface
    public interface Listener {
        void progress(int done, int total, String what);
    }

    private final Options options;
    private final DeviceSpec device;
    private final QuietGate gate;
    /** The largest round spread of the timings since it was last reset (one node's measurement). */
    private double lastSpread;

    /**
     * A profiler. With one intra-op thread, ONNX Runtime runs on the calling thread and every
     * time is that thread's CPU time ({@link Timing.Clock#THREAD_CPU}); with more, the wall clock.
     */
    public Profiler(DeviceSpec device, Options options) {
        this(device, options, QuietGate.off());
    }

    /**
     * A profiler that waits for a quiet machine ({@link QuietGate#await}) before each
     * measurement: every operator, every size-sweep neighbour and every round of the whole model.
     */
    public Profiler(DeviceSpec device, Options options, QuietGate gate) {
        this.device = device;
        this.gate = java.util.Objects.requireNonNull(gate, "gate");
        this.options = options.threads() == 1
                ? new Options(1, options.timing().withClock(Timing.Clock.THREAD_CPU), options.optimization(),
                        options.wholeModel(), options.rounds(), options.maxSpread(), options.sweep(), options.chain(),
                        options.wholeStatistic())
                : options;
    }

    /**
     * Rewrites a reused entry's derived fields (shape class, FLOPs, bytes, inner calls) as the
     * current compute model computes them for {@code n}, keeping its measurement: an entry written
     * by an earlier version whose work formulas differed (a file kept between versions) would
     * otherwise sit in the efficiency curves at the old roofline time. O(1) beyond the node's work.
     */
    public static void refresh(CalibrationFile calibration, String signature, Node n) {
        CalibrationEntry old = calibration.get(signature).orElseThrow();
        Kernel k = Backward.forward(n);
        if (old.flops() != k.work().flops() || old.bytes() != k.work().bytes() || !old.shapeClass().equals(k.shapeClass())
                || old.calls() != k.calls()) {
            calibration.put(new CalibrationEntry(signature, old.op(), k.shapeClass(), old.dtype(), k.work().flops(),
                    k.work().bytes(), old.seconds(), old.repeats(), k.calls(), old.spread()));
        }
    }

    /** The gate waited on before each measurement. */
    public QuietGate gate() {
        return gate;
    }

    /** The clock the measurements are read from. */
    public Timing.Clock clock() {
        return options.timing().clock();
    }

    /**
     * Profiles a graph.
     *
     * @param modelName name for the report
     * @param graph the model with shapes bound (inputs' sizes fixed)
     * @param modelFile the ONNX file for the whole-model run (null: not run)
     * @param opsets opset version per domain of the model
     * @param calibration measurements so far (new ones are added to it)
     * @param listener progress (may be null)
     */
    public ProfileReport profile(String modelName, Graph graph, Path modelFile, Map<String, Long> opsets,
            CalibrationFile calibration, Listener listener) throws ProfileException {
        Listener l = listener != null ? listener : (d, t, w) -> { };
        double overhead = callOverhead();
        // distinct signatures, in first-use order
        Map<String, Node> bySig = new LinkedHashMap<>();
        List<String> sigs = new ArrayList<>();
        for (Node n : graph.nodes()) {
            String s = folded(n) ? null : OpSignature.of(n);
            sigs.add(s);
            if (s != null) {
                bySig.putIfAbsent(s, n);
            }
        }
        int total = bySig.size() * (options.sweep() ? 2 : 1) + (options.wholeModel() && modelFile != null ? 1 : 0);
        int done = 0;
        int measured = 0;
        int reused = 0;
        Map<String, String> failures = new HashMap<>();
        Set<String> before = new java.util.HashSet<>();
        for (String s : bySig.keySet()) {
            if (calibration.get(s).isPresent()) {
                before.add(s);
            }
        }
        SplittableRandom rnd = new SplittableRandom(42);
        Map<String, Node> again = new LinkedHashMap<>();
        // the whole model is timed in rounds spread over the node measurements (one before the
        // first, one after each equal share of the signatures, the last at the end), so that it
        // sees the same conditions of a shared machine as its nodes; the quietest round is kept
        WholeModelRun wm = options.wholeModel() && modelFile != null ? new WholeModelRun(modelFile, graph, rnd) : null;
        int wholeRounds = Math.max(1, options.rounds());
        Timing t0 = options.timing();
        Timing wholeTiming = wholeTiming(wholeRounds);
        List<Double> wholeTimes = new ArrayList<>();
        int every = Math.max(1, (int) Math.ceil(bySig.size() / (double) Math.max(1, wholeRounds - 1)));
        int index = 0;
        try {
            if (wm != null) {
                wm.warmUp(t0.warmup());
                if (wholeRounds > 1) {
                    wholeTimes.add(wm.round(wholeTiming));
                }
            }
            for (Map.Entry<String, Node> e : bySig.entrySet()) {
                if (wm != null && wholeRounds > 2 && index > 0 && index % every == 0 && wholeTimes.size() < wholeRounds - 1) {
                    wholeTimes.add(wm.round(wholeTiming));
                }
                index++;
                Node n = e.getValue();
                l.progress(done, total, n.opType() + " " + n.name());
                if (calibration.get(e.getKey()).isPresent()) {
                    reused++;
                    refresh(calibration, e.getKey(), n);
                } else {
                    try {
                        lastSpread = 0;
                        double t = measure(n, opsets, rnd, overhead);
                        Kernel k = Backward.forward(n);
                        calibration.put(new CalibrationEntry(e.getKey(), n.opType(), k.shapeClass(), k.dtype().toString(),
                                k.work().flops(), k.work().bytes(), t, options.timing().minRepeats(), k.calls(),
                                lastSpread));
                        if (unsettled(lastSpread)) {
                            again.put(e.getKey(), n);
                        }
                        measured++;
                    } catch (SingleNodeModels.NotMeasurable ex) {
                        failures.put(e.getKey(), "cannot run alone: " + ex.getMessage());
                    } catch (Exception ex) {
                        failures.put(e.getKey(), "ONNX Runtime failed: " + oneLine(ex));
                    }
                }
                done++;
                if (options.sweep()) {
                    // right after the node itself, so that the node and its neighbours are measured
                    // under the same conditions of the machine
                    l.progress(done, total, "sizes around " + n.opType() + " " + n.name());
                    if (calibration.get(e.getKey()).isPresent()) {
                        sweep(n, opsets, rnd, overhead, calibration);
                    }
                    done++;
                }
            }
            // measurements whose rounds disagreed are taken once more, minutes after the first,
            // and the one whose rounds agreed better is kept: a disturbance that lasted through
            // every round of the first seldom lasts until the second
            for (Map.Entry<String, Node> e : again.entrySet()) {
                l.progress(done, total, "again " + e.getValue().opType() + " " + e.getValue().name());
                remeasure(e.getKey(), e.getValue(), opsets, rnd, overhead, calibration);
            }
            // held-out predictions, by the model plan and evaluate price this machine with
            // (CpuLocalModel: bytes at the bandwidth of their footprint, weights beyond the caches
            // streamed from memory)
            EfficiencyModel full = CpuLocalModel.efficiency(device, calibration.samples());
            Map<String, EfficiencyModel.Prediction> predictions = new HashMap<>();
            for (Map.Entry<String, Node> e : bySig.entrySet()) {
                EfficiencyModel held = full.without(Set.of(e.getKey()));
                predictions.put(e.getKey(), held.predict(Backward.forward(e.getValue()), e.getKey()));
            }
            List<ProfileReport.NodeResult> results = new ArrayList<>();
            for (int i = 0; i < graph.nodes().size(); i++) {
                Node n = graph.nodes().get(i);
                String s = sigs.get(i);
                if (s == null) {
                    results.add(new ProfileReport.NodeResult(n.name(), n.opType(), "", 0.0, OptionalDouble.of(0.0),
                            "folded", "", false));
                    continue;
                }
                Optional<CalibrationEntry> m = calibration.get(s);
                EfficiencyModel.Prediction p = predictions.get(s);
                String flag = failures.containsKey(s) ? failures.get(s) + "; analytic fallback" : "";
                results.add(new ProfileReport.NodeResult(n.name(), n.opType(), s, p.seconds(),
                        m.isPresent() ? OptionalDouble.of(m.get().seconds()) : OptionalDouble.empty(),
                        p.source(), flag, before.contains(s)));
            }
            OptionalDouble whole = OptionalDouble.empty();
            Optional<String> wholeError = Optional.empty();
            if (wm != null) {
                l.progress(done, total, "whole model");
                while (wholeTimes.size() < wholeRounds) {
                    wholeTimes.add(wm.round(wholeTiming));
                }
                whole = OptionalDouble.of(wholeTimes.stream().mapToDouble(Double::doubleValue).min().getAsDouble());
                done++;
            } else if (modelFile == null) {
                wholeError = Optional.of("no model file given");
            }
            l.progress(done, total, "done");
            // inside the whole model each node reads its weights, and the run its activation buffers, from memory once per run
            double cold = full.coldActivationSeconds(graph);
            for (int i = 0; i < graph.nodes().size(); i++) {
                if (sigs.get(i) != null) {
                    cold += full.coldWeightSeconds(graph.nodes().get(i));
                }
            }
            return new ProfileReport(modelName, device.name(), calibration.fingerprint().id(), overhead, results, whole,
                    wholeError, measured, reused, Optional.empty(), cold);
        } finally {
            if (wm != null) {
                wm.close();
            }
        }
    }

    /**
     * Rounds spread above which a measurement is taken again ({@link #unsettled}): (largest −
     * smallest) / smallest of the rounds' statistics, or for a differential timing the spread of
     * the rounds' differences over their result.
     */
    static final double REMEASURE_SPREAD = 0.25;

    /**
     * Whether a measurement whose rounds spread by {@code spread} is taken again: only with a
     * statistic that ignores disturbed runs (minimum, low quantile) and in several rounds; with
     * the median one measurement stands, as before.
     */
    boolean unsettled(double spread) {
        return options.timing().statistic() != Timing.Statistic.MEDIAN && options.rounds() > 1
                && spread > REMEASURE_SPREAD;
    }

    /**
     * Measures {@code n} once more and keeps whichever of its entry's measurement and the new one
     * had the rounds that agreed better (the smaller spread): a disturbance shows as rounds that
     * disagree, and it can move a measurement either way (a differential timing whose one-copy
     * runs were slowed comes out too small). A failure keeps the entry as it was. O(one
     * measurement).
     */
    void remeasure(String sig, Node n, Map<String, Long> opsets, SplittableRandom rnd, double overhead,
            CalibrationFile calibration) {
        CalibrationEntry old = calibration.get(sig).orElseThrow();
        try {
            double spread = lastSpread;
            lastSpread = 0;
            double t = measure(n, opsets, rnd, overhead);
            double s2 = lastSpread;
            lastSpread = spread;
            if (s2 < old.spread()) {
                calibration.put(new CalibrationEntry(sig, old.op(), old.shapeClass(), old.dtype(), old.flops(),
                        old.bytes(), t, old.repeats(), old.calls(), s2));
            }
        } catch (Exception ex) {
            // the first measurement stands
        }
    }

    /** Candidate pairs of neighbouring sizes tried per signature before giving up. */
    static final int SWEEP_TRIES = 3;

    /**
     * Measures the neighbouring sizes of a node ({@link SizeSweep#candidates}) into the
     * calibration: the first candidate set whose every member ONNX Runtime runs with the scaled
     * output shapes (members already in the calibration count as accepted) is measured, at most
     * {@link #SWEEP_TRIES} sets tried. Failures leave nothing behind.
     *
     * @return the number of entries added
     */
    int sweep(Node n, Map<String, Long> opsets, SplittableRandom rnd, double overhead, CalibrationFile calibration) {
        int tries = 0;
        for (List<Node> set : SizeSweep.candidates(n)) {
            if (tries++ >= SWEEP_TRIES) {
                break;
            }
            boolean ok = true;
            for (Node c : set) {
                if (calibration.get(OpSignature.of(c)).isEmpty() && !runsAsBuilt(c, opsets, rnd)) {
                    ok = false;
                    break;
                }
            }
            if (!ok) {
                continue;
            }
            int added = 0;
            for (Node c : set) {
                String sig = OpSignature.of(c);
                if (calibration.get(sig).isPresent()) {
                    continue;
                }
                try {
                    lastSpread = 0;
                    double t = measure(c, opsets, rnd, overhead);
                    Kernel k = Backward.forward(c);
                    calibration.put(new CalibrationEntry(sig, c.opType(), k.shapeClass(), k.dtype().toString(),
                            k.work().flops(), k.work().bytes(), t, options.timing().minRepeats(), k.calls(),
                            lastSpread));
                    added++;
                } catch (Exception ex) {
                    // a neighbour that fails is left out; the node's own measurement stands
                }
            }
            return added;
        }
        return 0;
    }

    /** True when ONNX Runtime runs the one-node model of {@code n} and its outputs have the declared shapes. */
    boolean runsAsBuilt(Node n, Map<String, Long> opsets, SplittableRandom rnd) {
        SingleNodeModels.Probe probe;
        try {
            probe = SingleNodeModels.build(n, opsets, rnd);
        } catch (SingleNodeModels.NotMeasurable e) {
            return false;
        }
        if (probe.outputs().size() != n.outputs().size()) {
            return false;
        }
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try (OrtSession.SessionOptions o = Ort.options(options.threads(), PROBE_LEVEL);
                OrtSession s = Ort.environment().createSession(probe.model().toByteArray(), o)) {
            for (SingleNodeModels.Feed f : probe.feeds()) {
                feeds.put(f.name(), Feeds.random(f.elemType(), f.dims(), rnd));
            }
            try (OrtSession.Result r = s.run(feeds)) {
                for (SingleNodeModels.Feed f : probe.outputs()) {
                    Optional<ai.onnxruntime.OnnxValue> v = r.get(f.name());
                    if (v.isEmpty() || !(v.get().getInfo() instanceof TensorInfo ti)
                            || !java.util.Arrays.equals(ti.getShape(), f.dims())) {
                        return false;
                    }
                }
            }
            return true;
        } catch (Exception e) {
            return false;
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
    }

    /**
     * Seconds one node takes inside a model, without the cost of the call. A node that takes at
     * least {@link #DIRECT_FACTOR} call overheads is timed alone, the overhead subtracted. A
     * smaller one, whose time would drown in the overhead, is timed differentially: a model of
     * N copies against the model of one, {@code (t_N - t_1) / (N - 1)}, with N chosen so the
     * copies take about {@link #DIRECT_FACTOR} overheads ({@link #copies}); the two models are
     * timed in alternating rounds ({@link Timing#differenceSeconds}). With {@link Options#chain}
     * the copies form a chain where the operator allows ({@link SingleNodeModels#chain}), else
     * they stand side by side sharing their inputs; ONNX Runtime does not merge them when graph
     * optimization is off (one-node models always run without it: {@link #PROBE_LEVEL}). The
     * {@link QuietGate} is waited on first.
     */
    double measure(Node n, Map<String, Long> opsets, SplittableRandom rnd, double overhead) throws Exception {
        gate.await();
        double t1 = time(SingleNodeModels.build(n, opsets, rnd), rnd);
        if (t1 >= DIRECT_FACTOR * overhead) {
            return Math.max(t1 - overhead, MIN_SECONDS);
        }
        int copies = copies(DIRECT_FACTOR * overhead / Math.max(t1 - overhead, overhead / 10));
        Optional<SingleNodeModels.Probe> chain = options.chain()
                ? SingleNodeModels.chain(n, opsets, rnd, copies) : Optional.empty();
        try (Session one = new Session(SingleNodeModels.build(n, opsets, rnd), rnd);
                Session many = new Session(chain.isPresent() ? chain.get()
                        : SingleNodeModels.build(n, opsets, rnd, copies), rnd)) {
            double diff;
            if (options.rounds() <= 1) {
                diff = options.timing().medianSeconds(many::run) - options.timing().medianSeconds(one::run);
            } else {
                // one copy and N copies timed in alternating rounds, so that a change in the
                // machine's load between them does not enter the difference
                Timing.Rounds r = options.timing().differenceSeconds(one::run, many::run, Math.max(3, options.rounds()),
                        options.maxSpread());
                lastSpread = Math.max(lastSpread, r.spread());
                diff = r.seconds();
            }
            return Math.max(diff / (copies - 1), MIN_SECONDS);
        }
    }

    /**
     * Measures one node now, the same way a profile does (call overhead measured first), without
     * touching any calibration file: for checking how repeatable measurements are.
     *
     * @return the node's time, or empty when it cannot be measured alone or ONNX Runtime fails
     */
    public OptionalDouble measureOnce(Node n, Map<String, Long> opsets) throws ProfileException {
        double overhead = callOverhead();
        try {
            SplittableRandom rnd = new SplittableRandom(43);
            lastSpread = 0;
            double t = measure(n, opsets, rnd, overhead);
            double spread = lastSpread;
            if (unsettled(spread)) {
                // as a profile takes it again (there minutes later, here at once)
                lastSpread = 0;
                double t2 = measure(n, opsets, rnd, overhead);
                t = lastSpread < spread ? t2 : t;
            }
            return OptionalDouble.of(t);
        } catch (Exception e) {
            return OptionalDouble.empty();
        }
    }

    /** One of {@code rounds} timings of the whole model: the node timing's share of time, the whole-model statistic. */
    private Timing wholeTiming(int rounds) {
        Timing t0 = options.timing();
        return new Timing(0, t0.minRepeats(), t0.maxRepeats(), t0.minSeconds() / rounds, t0.clock(), options.wholeStatistic());
    }

    /**
     * Times the whole model once more, as a profile times it (the same random inputs, warm-up, then
     * the options' rounds, here one after the other, each waiting for a quiet machine) and returns the
     * fastest round: a second timing minutes after the first, so that the whole model's reference,
     * the fastest of its runs, spans the same moments as a node's lesser of two passes.
     *
     * @param modelFile the ONNX file (run at the options' optimization level)
     * @param graph the model with shapes bound, for the inputs' sizes
     * @throws ProfileException when ONNX Runtime cannot load or run the model
     */
    public double timeWholeAgain(Path modelFile, Graph graph) throws ProfileException {
        int rounds = Math.max(1, options.rounds());
        Timing wholeTiming = wholeTiming(rounds);
        try (WholeModelRun wm = new WholeModelRun(modelFile, graph, new SplittableRandom(42))) {
            wm.warmUp(options.timing().warmup());
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < rounds; i++) {
                best = Math.min(best, wm.round(wholeTiming));
            }
            return best;
        }
    }

    /**
     * The copies of a small node timed against one: the power of two (2 to 32) at or above
     * {@code wanted}. Powers of two only, so that a node whose first timing wobbles is still timed
     * with the same number of copies the next time (per-copy time depends a little on the count:
     * the copies share their inputs, which the first copy brings into cache).
     */
    static int copies(double wanted) {
        int c = 2;
        while (c < 32 && c < wanted) {
            c *= 2;
        }
        return c;
    }

    /**
     * The graph-optimization level of every one-node model: none. A profiled graph is the one ONNX
     * Runtime runs at {@link Options#optimization} (for a level above none, its optimized graph), so
     * each node is already what the session runs; optimizing a one-node model again would time
     * something else (at level all, a plain Conv would be timed with the reorders into and out of
     * the blocked layout around it).
     */
    static final OrtSession.SessionOptions.OptLevel PROBE_LEVEL = OrtSession.SessionOptions.OptLevel.NO_OPT;

    /** Nodes taking this many call overheads or more are timed alone. */
    static final double DIRECT_FACTOR = 20;
    /** The smallest time recorded for a node (0.1 µs). */
    static final double MIN_SECONDS = 1e-7;

    /** True when every output of the node is a known constant (folded away before run time). */
    static boolean folded(Node n) {
        if (n.outputs().isEmpty()) {
            return false;
        }
        for (Value v : n.outputs()) {
            if (v.constant().isEmpty()) {
                return false;
            }
        }
        return true;
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        m = m.replace('\n', ' ').trim();
        return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }

    /** Median seconds of one ONNX Runtime call on a one-element Neg. */
    public double callOverhead() throws ProfileException {
        gate.await();
        try {
            ai.onnx.proto.OnnxMl.NodeProto node = ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setOpType("Neg")
                    .addInput("x").addOutput("y").build();
            long[] one = {1};
            SingleNodeModels.Probe p = new SingleNodeModels.Probe(OnnxModels.singleNode(node,
                    List.of(OnnxModels.valueInfo("x", OnnxModels.FLOAT, one)), List.of(),
                    List.of(OnnxModels.valueInfo("y", OnnxModels.FLOAT, one)), 17),
                    List.of(new SingleNodeModels.Feed("x", OnnxModels.FLOAT, one)),
                    List.of(new SingleNodeModels.Feed("y", OnnxModels.FLOAT, one)));
            // the first calls into a fresh JVM are slow: warm up well before taking the median
            return time(p, new SplittableRandom(7), new Timing(200, 200, 2000, 0.2, options.timing().clock(),
                    options.timing().statistic()));
        } catch (Exception e) {
            throw new ProfileException("ONNX Runtime cannot run a one-node model on this machine: " + oneLine(e), e);
        }
    }

    /** Times work in the configured rounds, noting their spread. */
    private double timed(Timing timing, Timing.Run work) throws Exception {
        if (options.rounds() <= 1) {
            return timing.medianSeconds(work);
        }
        Timing.Rounds r = timing.roundsSeconds(work, options.rounds(), options.maxSpread());
        lastSpread = Math.max(lastSpread, r.spread());
        return r.seconds();
    }

    private double time(SingleNodeModels.Probe probe, SplittableRandom rnd) throws Exception {
        return time(probe, rnd, options.timing());
    }

    private double time(SingleNodeModels.Probe probe, SplittableRandom rnd, Timing timing) throws Exception {
        try (Session s = new Session(probe, rnd)) {
            return timed(timing, s::run);
        }
    }

    /**
     * One built probe in an open ONNX Runtime session, its inputs fed with random data and its
     * outputs going to buffers allocated once: inside a model, intermediate tensors come from
     * ONNX Runtime's arena, and a fresh allocation per run (page faults for large outputs) would
     * be timed as if it were the operator's work.
     */
    private final class Session implements AutoCloseable {
        private final OrtSession.SessionOptions o;
        private final OrtSession s;
        private final Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        private final Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
        private final boolean usePinned;

        Session(SingleNodeModels.Probe probe, SplittableRandom rnd) throws OrtException {
            o = Ort.options(options.threads(), PROBE_LEVEL);
            OrtSession created = null;
            try {
                created = Ort.environment().createSession(probe.model().toByteArray(), o);
                for (SingleNodeModels.Feed f : probe.feeds()) {
                    feeds.put(f.name(), Feeds.random(f.elemType(), f.dims(), rnd));
                }
                for (SingleNodeModels.Feed f : probe.outputs()) {
                    pinned.put(f.name(), Feeds.random(f.elemType(), f.dims(), rnd));
                }
                boolean pin = !pinned.isEmpty();
                if (pin) {
                    try (OrtSession.Result r = created.run(feeds, pinned)) {
                        r.size();
                    } catch (OrtException e) {
                        pin = false;
                    }
                }
                usePinned = pin;
                s = created;
            } catch (OrtException | RuntimeException e) {
                closeTensors();
                if (created != null) {
                    created.close();
                }
                o.close();
                throw e;
            }
        }

        void run() throws OrtException {
            try (OrtSession.Result r = usePinned ? s.run(feeds, pinned) : s.run(feeds)) {
                r.size();
            }
        }

        private void closeTensors() {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
            for (OnnxTensor t : pinned.values()) {
                t.close();
            }
        }

        @Override
        public void close() throws OrtException {
            closeTensors();
            try {
                s.close();
            } finally {
                o.close();
            }
        }
    }

    /**
     * The whole model in an open session, fed random inputs once (every session input, weights
     * that are graph inputs included), timed round by round.
     */
    private final class WholeModelRun implements AutoCloseable {
        private final Path file;
        private final OrtSession s;
        private final OrtSession.SessionOptions o;
        private final Map<String, OnnxTensor> feeds = new LinkedHashMap<>();

        WholeModelRun(Path modelFile, Graph graph, SplittableRandom rnd) throws ProfileException {
            file = modelFile;
            try {
                o = Ort.options(options.threads(), Ort.optLevel(options.optimization()));
                s = Ort.environment().createSession(modelFile.toString(), o);
            } catch (OrtException e) {
                throw new ProfileException(modelFile + ": ONNX Runtime cannot load the model: " + oneLine(e), e);
            }
            try {
                for (Map.Entry<String, NodeInfo> in : s.getInputInfo().entrySet()) {
                    String name = in.getKey();
                    if (!(in.getValue().getInfo() instanceof TensorInfo ti)) {
                        throw new ProfileException(modelFile + ": input '" + name + "' must be a tensor, found "
                                + in.getValue().getInfo());
                    }
                    long[] dims;
                    Optional<Value> v = graph.value(name);
                    if (v.isPresent() && v.get().shape().rankKnown() && v.get().shape().isFullyKnown()) {
                        dims = v.get().shape().toLongs();
                    } else {
                        dims = ti.getShape().clone();
                        for (long d : dims) {
                            if (d < 0) {
                                throw new ProfileException(modelFile + ": input '" + name
                                        + "' has a dimension of unknown size; give it with --dim or --input-shape");
                            }
                        }
                    }
                    feeds.put(name, Feeds.random(Feeds.elemType(ti.type), dims, rnd));
                }
            } catch (ProfileException e) {
                close();
                throw e;
            } catch (Exception e) {
                close();
                throw new ProfileException(modelFile + ": ONNX Runtime failed to run the model on random inputs: "
                        + oneLine(e), e);
            }
        }

        private void run() throws OrtException {
            try (OrtSession.Result r = s.run(feeds)) {
                r.size();
            }
        }

        /** Runs the model {@code n} times untimed. */
        void warmUp(int n) throws ProfileException {
            try {
                for (int i = 0; i < n; i++) {
                    run();
                }
            } catch (OrtException e) {
                throw new ProfileException(file + ": ONNX Runtime failed to run the model on random inputs: "
                        + oneLine(e), e);
            }
        }

        /** One timing of the model ({@link Timing#medianSeconds}). */
        double round(Timing t) throws ProfileException {
            gate.await();
            try {
                return t.medianSeconds(this::run);
            } catch (Exception e) {
                throw new ProfileException(file + ": ONNX Runtime failed to run the model on random inputs: "
                        + oneLine(e), e);
            }
        }

        @Override
        public void close() {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
            try {
                s.close();
                o.close();
            } catch (OrtException e) {
                // closing failed after the measurement: nothing to report
            }
        }
    }
}
