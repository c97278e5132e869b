package org.shardplan.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.pipeline.StepGraph;
import org.shardplan.planner.solver.DoublesKey;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * A lower bound on the step of every pipeline plan of a configuration (P stages, m micro-batches,
 * recomputation, ZeRO stage) under one synchronous schedule: the least over every partition at the cut
 * positions of the schedule's own step, priced with each chunk's profile at a lower bound of every
 * profile its layouts can have.
 *
 * <p><b>Why it is a bound.</b> A synchronous schedule's step, as the search prices it ({@link
 * Schedule#estimate} plus {@link PipelineSearch#updateAfter}), is the longest path of the op order's
 * dependency graph ({@link org.shardplan.planner.pipeline.CriticalPath}; the closed forms equal it where
 * they apply) plus each device's gradient synchronisation after its last op, plus the largest optimizer
 * step: a maximum of sums of the profiles' forward {@code f}, input gradient {@code b - b_w}, weight
 * gradient {@code b_w}, send {@code c}, synchronisation {@code g} and update {@code u} times with
 * non-negative coefficients, so monotone in each. For a fixed partition every plan's profiles are at least
 * (component by component):
 * <ul>
 * <li>{@code f}: the sum over the chunk's segments (the ranges between consecutive cut positions) of
 *     each segment's exact least forward time: its nodes' forward compute and half their collectives,
 *     half the resharding between its nodes, an exact dynamic program over the segment's candidates
 *     (links between segments dropped, all terms non-negative: a relaxation);</li>
 * <li>{@code b - b_w}: the same with the input-gradient part (backward compute and half the
 *     collectives less the weight part, half the resharding); {@code b_w}: the sum of the nodes' least
 *     weight parts; {@code b}: their sum;</li>
 * <li>{@code c}: exact, since the bytes crossing a cut do not depend on the layouts (the values produced
 *     before the cut and read after it, over the stage's devices, on the link the stages cross);</li>
 * <li>{@code g}: the exposed reduction {@code max(G/k, G - b) >= G/k >= Gmin / K}, with {@code Gmin} the
 *     sum of the nodes' least reduction times (where the chunk is one of several stages, at least the largest of
 *     its nodes' least latencies: the stage runs a collective of its own) and {@code K} the buckets of the largest
 *     volume the chunk's nodes can have; {@code G} itself where nothing overlaps;</li>
 * <li>{@code u}: the optimizer step of the nodes' least static bytes (linear in the bytes).</li>
 * </ul>
 * So the step of every plan with that partition is at least the step of these profiles, and the least of
 * that over partitions bounds every plan of the configuration under the schedule, fitting the memory limit
 * or not. The partitions are enumerated depth first, chunk by chunk in model order, and a partial one is
 * cut off once a path every completion keeps reaches the threshold: device {@code d}'s first op waits for
 * micro-batch 0's forward through chunks {@code 0..d-1} and their sends, it runs its {@code m} forwards
 * and backwards of each of its chunks one after another, and (all but zero bubble, whose weight-gradient ops
 * may run last) its last op, micro-batch {@code m - 1}'s backward through its first chunk, is followed by
 * that backward through chunks {@code d-1..0}; the devices' work shares sum to {@code m} times the total, so
 * the largest of those paths is at least their mean. Every partition is priced or cut off at a path of its
 * own at least the threshold, so the result is {@code min(threshold, least step)}.
 *
 * <p>What the separate least parts lose is given back on the longest paths: per forward-backward pair of a chunk
 * what every layout adds to their sum ({@link #chunkJoint}), and once more, where the path ends on the chunk's
 * device, what every layout adds to its forward, backward and gradient reduction together ({@link #chunkOwn}: the
 * reduction traded against the work it saves). Each device's longest path with those bonuses spread over its ops is
 * taken too, with its own length ({@link Paths#step}): every path with its own bonuses is a bound. Where the partitions are too many to enumerate ({@link
 * #ENUMERATED_PARTITIONS}), or their enumeration runs past its first share of the budget ({@link #enumerationFirst}),
 * the least over them is bounded by Lagrangian duality over the op order's paths ({@link #dual}), and the enumeration
 * runs again with those paths cutting off partial partitions ({@link #guided}). The enumeration's partitions below the
 * least so far are tightened, best first, with their chunks' layouts solved exactly ({@link #partitionBound}: Lagrangian
 * duality over the paths, one dynamic program per chunk and round), whose best columns are plans to price. Their chunk
 * problems are answered by sweeps where the problem's frontier is narrow ({@link ChunkSweep}: one pass per combination
 * and start answers every end, one backward pass every start of a last chunk), so that thousands of partitions fit the
 * budgets ({@link #SWEPT_NODE_SOLVES}, {@link #SWEEP_WORK}); solved one by one, not where they are far more than the
 * budgets could solve ({@link #TIGHTEN_REACH}).
 *
 * <p>Running time: a few exact dynamic programs per distinct segment problem (layers share them; problems of at
 * most {@link #ENUMERATE} assignments are tried in full instead), then per schedule at most {@code budget}
 * partitions priced, O(p m v) each (64 partial partitions cut off count as one priced); the number of partitions is
 * at most {@code C(K - 1, p v - 1)} for K segments, most cut off on balanced chains; or the dual's rounds, each
 * O(p v K^2) and a small linear program; per partition tightened, at most {@link #PARTITION_ROUNDS} rounds of one exact
 * dynamic program per chunk, {@link #PARTITION_NODE_SOLVES} node solves in all.
 */
final class PipelineBound {

    /** Per segment: least forward, input-gradient and weight-gradient times of one micro-batch. */
    private final double[] forward;
    private final double[] backwardInput;
    private final double[] backwardWeight;
    /**
     * Per segment: the exact least forward and backward time together less the sum of the separate least
     * parts (at least 0): what every layout adds to the parts' least times in one part or the other.
     */
    private final double[] joint;
    /**
     * Per segment after the first: the same least parts with the resharding into it from the segment before
     * counted (half to each part, as the profiles count it), for a segment that is not its chunk's first.
     */
    private final double[] afterForward;
    private final double[] afterInput;
    private final double[] afterJoint;
    /**
     * Per segment k after the first: the least of half of segment k - 1, half of segment k and the resharding
     * between them (forward, input gradient, both with the weight gradient); with half of a chunk's first and last
     * segments alone these add up to a bound on the chunk that sees the resharding between its segments.
     */
    private final double[] pairForward;
    private final double[] pairInput;
    private final double[] pairWork;
    /**
     * Per segment, as {@link #work}, {@link #afterJoint} with its parts and {@link #pairWork} for the forward and the input
     * gradient together (no weight gradient): the least of {@code f + b_in} of the segment alone, with the resharding into it,
     * and of the halved neighbouring pair. A zero-bubble path holds forwards and input gradients of chunks whose weight
     * gradients it does not (micro-batch 0's forward and the last micro-batch's input gradient through the chunks before
     * the bottleneck stage, the last stage's forwards and input gradients): what one layout cannot do for both is not in
     * {@link #joint}, which prices triples only ({@link #chunkInto}'s fifth value, {@link Paths#step}).
     */
    private final double[] ownFI;
    private final double[] afterFI;
    private final double[] pairFI;
    /**
     * Per bucket count {@code levels[l]} and segment: the exact least of its forward, backward and gradient reduction
     * together, the reduction at what every layout of a chunk of at most {@code levels[l]} buckets exposes at least
     * ({@code f + b + G / levels[l]}), links to other segments dropped: with the chunk's separate least parts, what every
     * layout adds to a chunk whose forward, backward and reduction all lie on a path ({@link #chunkOwn}).
     */
    private final double[][] reduceJoint;
    /**
     * Per segment: the exact least of its forward and whole reduction ({@code f + G}, where the reduction overlaps: the
     * exposed part is at least {@code G - b}; 0 where it does not). A chunk's sum of these and its sum of {@link
     * #reduceJoint} bound the same whole apart, so they are summed apart and the larger taken ({@link
     * #reduceJoint(int, int)}): the larger of the two per segment, summed, is no bound (a segment of large reduction
     * and little backward beside one of large backward and no reduction sums to more than their chunk's whole).
     */
    private final double[] reduceAll;
    /**
     * As {@link #reduceJoint} with the optimizer step of the segment's layouts added to the three (the update is linear in
     * a layout's static bytes): what every layout adds to a chunk whose forward, backward, reduction and update all lie on
     * one device's path ({@link #chunkOwnUpdate}).
     */
    private final double[][] reduceJointU;
    /**
     * Where a chunk's reduction is at least one collective's latency ({@link #chunkFloor}): the classes of plans by the
     * largest latency {@code M} of their layouts' reductions, each with the layouts it allows (latency at most {@code
     * classCap[j]}) and the latency it adds ({@code classAdds[j] <= M}): {@code M = 0} (nothing reduced), each of the
     * {@link #LATENCY_CLASSES} largest latencies alone, and the rest together. Null where the floor is off.
     */
    private double[] classCap;
    private double[] classAdds;
    /**
     * Per class {@code j}, bucket count {@code levels[l]} and segment: the exact least of its forward, backward and
     * reduction over the buckets without the reduction's latency shares ({@code f + b + (G - shares) / levels[l]}) over
     * the class's layouts; infinite where a node has none.
     */
    private double[][][] classBare;
    /** The largest latencies that form classes of their own ({@link #classCap}). */
    static final int LATENCY_CLASSES = 3;
    /** The optimizer step's seconds per static byte ({@link ComputeModel#optimizerStepSeconds} is linear in the bytes). */
    private final double updateRate;
    /**
     * The bucket counts {@link #reduceJoint} is solved for, increasing: the powers of two below the buckets of the whole
     * model's largest gradient volume (at least any chunk's), where that is at most {@link #BUCKET_LEVELS}, and that
     * count itself (only 1 where the reduction does not overlap).
     */
    private final double[] levels;
    /** The most bucket count whose powers of two below it are solved apart ({@link #levels}). */
    static final int BUCKET_LEVELS = 64;
    /** The bucket count {@link #solve} prices the reduction with ({@code REDUCE_BUCKET}). */
    private double buckets;
    /** Per node: its layout in its segment's least forward and backward time (a plan the bound suggests). */
    private final int[] workLayouts;
    /** Per segment: least gradient-reduction seconds, largest gradient volume (bytes), least static bytes. */
    private final double[] gradient;
    private final double[] mostVolume;
    private final double[] leastStatic;
    /**
     * Per segment: the largest, over its nodes, of a node's least reduction latency over its allowed layouts ({@link
     * ProblemBuilder.Cost#gradientLatencySeconds}; 0 where a layout reduces nothing); range maxima over chunks after
     * {@link #prefixes}.
     */
    private final double[] leastLatency;
    private RangeMax latencyFloor;
    /** Per segment boundary 0..K: the send time of a stage ending there (0 at both ends). */
    private final double[] sendAt;
    private final boolean overlap;
    /** The gradient bucket's size in bytes ({@link ComputeModel#gradientBucketBytes}). */
    private final double bucket;
    private final ComputeModel compute;
    private final OptimizerSpec optimizer;
    private final int segments;
    /** The exact dynamic programs run for the segments (distinct problems only). */
    private int solves;
    private final ProblemBuilder.Built built;
    private final StageProblem.Filter filter;
    private final List<Integer> positions;
    private final boolean recompute;
    /**
     * Whether this is the basic bound: per segment only its least forward, input gradient and work are solved (three
     * dynamic programs over the segment alone); every other part takes what it is at least without its solve (the
     * resharding into a segment and between neighbours, the joint with the reduction and update, the latency floor,
     * the forward with the input gradient together and the windows: 0 or the sum of the separate parts), so it is a
     * weaker bound of the same plans, and {@link #least} only enumerates (no dual, no partition tightened). A caller
     * that only needs to know whether some plan can come below a threshold asks this first ({@code
     * PipelineSearch.scheduleBound}).
     */
    private final boolean basic;

    /** The keys of the problems solved that count against {@link #MAX_SOLVES} (here or ahead, {@link #prefetch}). */
    private final java.util.Set<Fingerprint> counted = new java.util.HashSet<>();

    /** Segment and chunk problems solved, by their key's {@link Fingerprint}. */
    private final Map<Fingerprint, Solved> seen = new HashMap<>();
    /** The layouts of the last problem solved ({@link #solve}), per node from its first. */
    private int[] lastLayouts;
    /** Chunk solves ({@link #partitionBound}) do not count against {@link #MAX_SOLVES}. */
    private boolean unbudgeted;
    /** Window solves ({@link #windows}) do not count against {@link #MAX_SOLVES} either. */
    private boolean windowing;
    /** The chunk problems {@link #partitionBound} solved. */
    private int chunkSolves;

    /** The chunk problems {@link #partitionBound} solved. */
    int chunkSolves() {
        return chunkSolves;
    }

    /**
     * @param b the configuration's problem (one submesh: a stage's devices)
     * @param filter the candidates the fixed degrees allow
     * @param positions the cut positions, 0 first and the node count last (segments between consecutive ones)
     * @param sendAt per position, the seconds a stage ending there sends (its output to the next stage, one
     *     micro-batch); ignored at both ends
     * @param recompute whether activations are recomputed (the second forward is backward work, not weight work)
     * @param compute the compute model (the optimizer's rate; whether the reduction overlaps)
     * @param optimizer the optimizer
     * @param secondsLeft the time left; a segment whose solve does not finish keeps its nodes' least times
     */
    PipelineBound(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> positions, double[] sendAt,
            boolean recompute, ComputeModel compute, OptimizerSpec optimizer, DoubleSupplier secondsLeft) {
        this(b, filter, positions, sendAt, recompute, compute, optimizer, secondsLeft, false);
    }

    /**
     * As above; with {@code parallel}, the segment problems are solved ahead on the processors ({@link #prefetch}):
     * for a caller with the other cores idle (a bound computed after the search, not beside it).
     */
    PipelineBound(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> positions, double[] sendAt,
            boolean recompute, ComputeModel compute, OptimizerSpec optimizer, DoubleSupplier secondsLeft, boolean parallel) {
        this(b, filter, positions, sendAt, recompute, compute, optimizer, secondsLeft, parallel, false, null);
    }

    /**
     * As above; with {@code basic}, the bound of the segments' three parts alone ({@link #basic}); {@code earlier}, where
     * not null, is a bound of the same problem, cut positions and filter whose solved problems this one takes (each
     * counted as a solve where this one meets it, as if solved here).
     */
    PipelineBound(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> positions, double[] sendAt,
            boolean recompute, ComputeModel compute, OptimizerSpec optimizer, DoubleSupplier secondsLeft, boolean parallel,
            boolean basic, PipelineBound earlier) {
        this.basic = basic;
        if (earlier != null) {
            if (earlier.built != b || earlier.filter != filter || !earlier.positions.equals(positions)
                    || earlier.recompute != recompute) {
                throw new IllegalArgumentException("the earlier bound must be of the same problem, filter, cut positions"
                        + " and recomputation");
            }
            seen.putAll(earlier.seen);
            prefetched.addAll(earlier.counted); // each counts as a solve of this bound where met, as it did there
        }
        if (positions.size() < 2 || positions.get(0) != 0 || positions.get(positions.size() - 1) != b.units().size()) {
            throw new IllegalArgumentException("cut positions must run from 0 to " + b.units().size() + ", found " + positions);
        }
        if (sendAt.length != positions.size()) {
            throw new IllegalArgumentException("send times must be one per cut position (" + positions.size() + "), found "
                    + sendAt.length);
        }
        this.segments = positions.size() - 1;
        this.sendAt = sendAt.clone();
        this.built = b;
        this.filter = filter;
        this.positions = List.copyOf(positions);
        this.recompute = recompute;
        this.overlap = compute.gradientOverlap();
        this.bucket = compute.gradientBucketBytes();
        this.compute = compute;
        this.optimizer = optimizer;
        forward = new double[segments];
        backwardInput = new double[segments];
        backwardWeight = new double[segments];
        joint = new double[segments];
        afterForward = new double[segments];
        afterInput = new double[segments];
        afterJoint = new double[segments];
        pairForward = new double[segments];
        pairInput = new double[segments];
        pairWork = new double[segments];
        ownFI = new double[segments];
        afterFI = new double[segments];
        pairFI = new double[segments];
        workLayouts = new int[b.units().size()];
        gradient = new double[segments];
        mostVolume = new double[segments];
        leastStatic = new double[segments];
        leastLatency = new double[segments];
        double volume = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            double v = 0;
            for (int c = 0; c < u.costs().size(); c++) {
                if (filter.allows(u, c)) {
                    v = Math.max(v, u.costs().get(c).gradientBytes() / 2);
                }
            }
            volume += v;
        }
        double most = overlap ? OverlapBound.bucketsOf(volume, bucket) : 1;
        List<Double> ls = new ArrayList<>();
        for (double x = 1; x < most && most <= BUCKET_LEVELS; x *= 2) {
            ls.add(x);
        }
        ls.add(most);
        levels = new double[ls.size()];
        for (int l = 0; l < levels.length; l++) {
            levels[l] = ls.get(l);
        }
        reduceJoint = new double[levels.length][segments];
        reduceJointU = new double[levels.length][segments];
        reduceAll = new double[segments];
        if (ProblemBuilder.stageLatencyFloor && segments > 1 && !basic) {
            latencyClasses();
        }
        updateRate = Math.max(0, compute.optimizerStepSeconds(1, optimizer));
        if (parallel && prefetchOn) {
            prefetch(secondsLeft);
            if (exhausted) {
                return; // no bound: the caller asks for none of the rest
            }
        }
        segmentParts(secondsLeft);
        prefixes();
        windows(secondsLeft);
    }

    /**
     * A bound that solves chunk problems for {@code of} on another thread ({@link #tightenAhead}): {@code of}'s segment
     * parts by reference (read only), its own work fields and caches; each chunk problem it solves to optimality goes into
     * {@code deposit}, where {@code of}'s {@link #solve} finds it. Only {@link #solve} is called on it.
     */
    private PipelineBound(PipelineBound of, Map<Fingerprint, Solved> deposit) {
        this.deposit = deposit;
        forward = of.forward;
        backwardInput = of.backwardInput;
        backwardWeight = of.backwardWeight;
        joint = of.joint;
        afterForward = of.afterForward;
        afterInput = of.afterInput;
        afterJoint = of.afterJoint;
        pairForward = of.pairForward;
        pairInput = of.pairInput;
        pairWork = of.pairWork;
        ownFI = of.ownFI;
        afterFI = of.afterFI;
        pairFI = of.pairFI;
        reduceJoint = of.reduceJoint;
        reduceAll = of.reduceAll;
        reduceJointU = of.reduceJointU;
        updateRate = of.updateRate;
        levels = of.levels;
        workLayouts = new int[of.workLayouts.length];
        gradient = of.gradient;
        mostVolume = of.mostVolume;
        leastStatic = of.leastStatic;
        leastLatency = of.leastLatency;
        sendAt = of.sendAt;
        overlap = of.overlap;
        bucket = of.bucket;
        compute = of.compute;
        optimizer = of.optimizer;
        segments = of.segments;
        built = of.built;
        filter = of.filter;
        positions = of.positions;
        recompute = of.recompute;
        basic = of.basic;
        unbudgeted = true; // chunk problems only
    }

    /** Where not null, the chunk problems this bound solves to optimality go here too (a twin's, {@link #tightenAhead}). */
    private Map<Fingerprint, Solved> deposit;

    /**
     * Where not null, chunk problems solved ahead for this bound by a twin on another thread ({@link #tightenAhead}):
     * {@link #solve} takes a problem it has not met from here before solving it, as if solved here.
     */
    private volatile Map<Fingerprint, Solved> ahead;

    /**
     * The distinct problems {@link #prefetch}'s collection met before {@link #forwardInput}'s: each one a solve the pass
     * makes, and past {@link #MAX_SOLVES} of them it gives up ({@link #exhausted}).
     */
    private int requiredCollected;

    /**
     * Whether {@link #prefetch} gives the bound up at once where the collected problems the pass must solve are more
     * than {@link #MAX_SOLVES} (the pass would solve that many and then give it up; {@code
     * -Dshardplan.certainExhaustion=false}: the pass runs; tests compare).
     */
    static boolean certainExhaustion = !"false".equals(System.getProperty("shardplan.certainExhaustion"));

    /** Whether {@link #prefetch} runs where asked for ({@code -Dshardplan.boundPrefetch=false}: never; tests compare). */
    static boolean prefetchOn = !"false".equals(System.getProperty("shardplan.boundPrefetch"));

    /** The most threads {@link #prefetch} solves on. */
    private static final int PREFETCH_THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /**
     * Where not null, {@link #solve} collects the problems it would give the solver (by key) instead of solving them
     * ({@link #prefetch}).
     */
    private Map<Fingerprint, Problem> pending;
    /** The problems {@link #prefetch} solved that {@link #solve} has not met yet: each counts as a solve when met. */
    private final java.util.Set<Fingerprint> prefetched = new java.util.HashSet<>();
    /** The quick keys ({@link #quickKey}) of the problems {@link #pending} collected, and their keys. */
    private final Map<List<Object>, Met> pendingQuick = new HashMap<>();
    /** The problems {@link #prefetch} solved. */
    private int solvedAhead;
    /** The quick keys of {@link #prefetched}'s problems not met yet. */
    private final java.util.Set<List<Object>> prefetchedQuick = new java.util.HashSet<>();

    /**
     * Solves ahead, on up to {@link #PREFETCH_THREADS} threads, the distinct problems {@link #segmentParts} gives the
     * solver: a first pass collects them (each part's problem depends on the cut positions and the part alone, not on
     * what the problems before it gave), they are solved in parallel into {@link #seen}, and the pass that follows finds
     * them there. The same problems, solves and answers as one pass alone (each counted as a solve where that pass meets
     * it); nothing ahead where they are fewer than two or would pass {@link #MAX_SOLVES} (the pass alone then stops at
     * the budget as before). EfficientNet-B4's 51 segment solves at 64 A100s, two cores: 0.96 s alone.
     */
    private void prefetch(DoubleSupplier secondsLeft) {
        long t0 = System.nanoTime();
        pending = new LinkedHashMap<>();
        try {
            segmentParts(secondsLeft);
        } finally {
            // the pass's sums start again from nothing
            java.util.Arrays.fill(backwardWeight, 0);
            java.util.Arrays.fill(gradient, 0);
            java.util.Arrays.fill(mostVolume, 0);
            java.util.Arrays.fill(leastStatic, 0);
        }
        List<Map.Entry<Fingerprint, Problem>> todo = new ArrayList<>(pending.entrySet());
        pending = null;
        int threads = Math.min(PREFETCH_THREADS, todo.size());
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  bound prefetch: %d problems collected in %.2f s%n", todo.size(),
                    (System.nanoTime() - t0) / 1e9);
        }
        if (certainExhaustion && solves + requiredCollected > MAX_SOLVES) {
            // the pass would solve MAX_SOLVES of them and then give up, with no bound: given up now
            exhausted = true;
            pendingQuick.clear();
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  bound prefetch: %d distinct segment problems the pass must"
                        + " solve, more than %d: none%n", requiredCollected, MAX_SOLVES - solves);
            }
            return;
        }
        if (threads < 2 || solves + todo.size() > MAX_SOLVES) {
            pendingQuick.clear();
            return;
        }
        Solved[] out = new Solved[todo.size()];
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        Throwable[] failure = new Throwable[threads];
        org.shardplan.planner.solver.SolverThreads.runAll(threads, "shardplan-bound", false, id -> () -> {
            try {
                for (int i = next.getAndIncrement(); i < out.length; i = next.getAndIncrement()) {
                    double left = secondsLeft.getAsDouble();
                    if (left <= 0.05) {
                        continue; // past the time: left to the pass, which then keeps the nodes' least
                    }
                    Solution sol = new DpSolver().solve(todo.get(i).getValue(), Solver.Options.withTimeLimit(left));
                    double v = sol.status() == Status.OPTIMAL ? sol.objective() : sol.lowerBound();
                    out[i] = new Solved(Double.isFinite(v) ? Math.max(0, v) : 0, sol.hasChoices() ? sol.choices() : null);
                }
            } catch (RuntimeException | Error e) {
                failure[id] = e;
                next.set(out.length);
            }
        });
        for (Throwable f : failure) {
            org.shardplan.planner.solver.SolverThreads.rethrowUnchecked(f);
        }
        for (int i = 0; i < out.length; i++) {
            if (out[i] != null) {
                seen.put(todo.get(i).getKey(), out[i]);
                prefetched.add(todo.get(i).getKey());
                counted.add(todo.get(i).getKey());
                solvedAhead++;
            }
        }
        for (Map.Entry<List<Object>, Met> e : pendingQuick.entrySet()) {
            Solved sv = seen.get(e.getValue().key());
            if (sv != null && prefetched.contains(e.getValue().key())) {
                quickKeysMet.put(e.getKey(), new Met(sv, e.getValue().cells(), e.getValue().key()));
                prefetchedQuick.add(e.getKey());
            }
        }
        pendingQuick.clear();
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  bound prefetch: solved on %d threads, %.2f s in all%n", threads,
                    (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * Each segment's parts (its least forward, input gradient, work and reductions, alone, after the segment before,
     * and half of each with the resharding between them), then {@link #forwardInput}.
     */
    private void segmentParts(DoubleSupplier secondsLeft) {
        for (int k = 0; k < segments; k++) {
            int from = positions.get(k);
            int to = positions.get(k + 1);
            if (to <= from) {
                throw new IllegalArgumentException("cut positions must increase, found " + positions);
            }
            double[] fl = new double[to - from];
            double[] il = new double[to - from];
            for (int i = from; i < to; i++) {
                ProblemBuilder.Unit u = built.units().get(i);
                double f = Double.POSITIVE_INFINITY;
                double in = Double.POSITIVE_INFINITY;
                double w = Double.POSITIVE_INFINITY;
                double g = Double.POSITIVE_INFINITY;
                double v = 0;
                double st = Double.POSITIVE_INFINITY;
                double lat = Double.POSITIVE_INFINITY;
                for (int c = 0; c < u.costs().size(); c++) {
                    if (!filter.allows(u, c)) {
                        continue;
                    }
                    ProblemBuilder.Cost x = u.costs().get(c);
                    lat = Math.min(lat, x.gradientLatencySeconds());
                    f = Math.min(f, forwardPart(x));
                    in = Math.min(in, inputPart(x, recompute));
                    w = Math.min(w, weightPart(x, recompute));
                    g = Math.min(g, x.gradientSeconds());
                    v = Math.max(v, x.gradientBytes() / 2);
                    st = Math.min(st, x.parameterBytes());
                }
                if (f == Double.POSITIVE_INFINITY) {
                    throw new IllegalArgumentException("node '" + u.name() + "' has no candidate layout left under the"
                            + " fixed parallelism degrees");
                }
                fl[i - from] = f;
                il[i - from] = in;
                backwardWeight[k] += w;
                gradient[k] += g;
                mostVolume[k] += v;
                leastStatic[k] += st;
                leastLatency[k] = Math.max(leastLatency[k], lat);
            }
            forward[k] = Math.max(sum(fl), solve(built, filter, from, to, FORWARD, recompute, seen, secondsLeft));
            backwardInput[k] = Math.max(sum(il), solve(built, filter, from, to, INPUT, recompute, seen, secondsLeft));
            double work = solve(built, filter, from, to, WORK, recompute, seen, secondsLeft);
            if (basic) {
                // the parts below at what they are without their solves: the reductions' joints and the floor add
                // nothing, a segment after another costs at least its own parts, a pair of halves nothing
                reduceJointU[0][k] = updateRate * leastStatic[k];
                for (int l = 1; l < levels.length; l++) {
                    reduceJointU[l][k] = reduceJointU[0][k];
                }
                joint[k] = Math.max(0, work - forward[k] - backwardInput[k] - backwardWeight[k]);
                afterForward[k] = forward[k];
                afterInput[k] = backwardInput[k];
                afterJoint[k] = joint[k];
                continue;
            }
            reduceAll[k] = overlap ? solve(built, filter, from, to, REDUCE_ALL, recompute, seen, secondsLeft) : 0;
            for (int l = 0; l < levels.length; l++) {
                buckets = levels[l];
                reduceJoint[l][k] = solve(built, filter, from, to, REDUCE_BUCKET, recompute, seen, secondsLeft);
                reduceJointU[l][k] = Math.max(reduceJoint[l][k] + updateRate * leastStatic[k], updateRate > 0
                        ? solve(built, filter, from, to, REDUCE_BUCKET_U, recompute, seen, secondsLeft) : 0);
            }
            if (classBare != null) {
                floorParts(k, from, to, secondsLeft);
            }
            joint[k] = Math.max(0, work - forward[k] - backwardInput[k] - backwardWeight[k]);
            if (k == 0) {
                afterForward[k] = forward[k];
                afterInput[k] = backwardInput[k];
                afterJoint[k] = joint[k];
            } else {
                int lo = positions.get(k - 1);
                afterForward[k] = Math.max(forward[k], solve(built, filter, lo, from, to, FORWARD, recompute, seen, secondsLeft));
                afterInput[k] = Math.max(backwardInput[k], solve(built, filter, lo, from, to, INPUT, recompute, seen, secondsLeft));
                double after = solve(built, filter, lo, from, to, WORK, recompute, seen, secondsLeft);
                afterJoint[k] = Math.max(0, after - afterForward[k] - afterInput[k] - backwardWeight[k]);
                // half of each of the two segments and the resharding between them
                pairForward[k] = solve(built, filter, lo, from, to, FORWARD, 0.5, 0.5, recompute, seen, secondsLeft);
                pairInput[k] = solve(built, filter, lo, from, to, INPUT, 0.5, 0.5, recompute, seen, secondsLeft);
                pairWork[k] = solve(built, filter, lo, from, to, WORK, 0.5, 0.5, recompute, seen, secondsLeft);
            }
        }
        forwardInput(secondsLeft);
    }

    /**
     * The segments' least forward and input gradient together ({@link #ownFI}, {@link #afterFI}, {@link #pairFI}), after
     * every other segment problem: each starts from the sum of its parts' least (a valid bound) and is raised by its
     * exact solve where that is enumerated or the budget of {@link #MAX_SOLVES} has room, so these solves never use up
     * what the other parts need.
     */
    private void forwardInput(DoubleSupplier secondsLeft) {
        if (pending != null) {
            requiredCollected = pending.size(); // the problems before these: each one a solve the pass cannot skip
        }
        for (int k = 0; k < segments; k++) {
            int from = positions.get(k);
            int to = positions.get(k + 1);
            ownFI[k] = forward[k] + backwardInput[k];
            afterFI[k] = k == 0 ? ownFI[k] : afterForward[k] + afterInput[k];
            pairFI[k] = k == 0 ? 0 : pairForward[k] + pairInput[k];
            if (basic || solves >= MAX_SOLVES || secondsLeft.getAsDouble() <= 0.05) {
                continue;
            }
            ownFI[k] = Math.max(ownFI[k], solve(built, filter, from, to, FORWARD_INPUT, recompute, seen, secondsLeft));
            if (k == 0 || solves >= MAX_SOLVES) {
                afterFI[k] = k == 0 ? ownFI[k] : afterFI[k];
                continue;
            }
            int lo = positions.get(k - 1);
            afterFI[k] = Math.max(afterFI[k], solve(built, filter, lo, from, to, FORWARD_INPUT, recompute, seen, secondsLeft));
            if (solves < MAX_SOLVES) {
                pairFI[k] = Math.max(pairFI[k], solve(built, filter, lo, from, to, FORWARD_INPUT, 0.5, 0.5, recompute, seen,
                        secondsLeft));
            }
        }
    }

    /**
     * Windows of consecutive segments ({@link #windows}): their count, 0 where none are solved. A chunk's part is at least
     * the sum over the windows that overlap it of the window's least ({@link #windowBound}).
     */
    private int width;
    /** Per part (forward, input gradient, work) and window {@code [x, x + len)}: {@code win[part][x][len - 1]}. */
    private double[][][] win;
    /** Per part: the prefix sums of the whole windows ({@code [t, t + width)}), over {@code t}. */
    private double[][] preWin;
    /** Per part and segment i: the windows cut by a chunk starting at i, and by a chunk ending at i. */
    private double[][] winLeft;
    private double[][] winRight;

    /** Whether {@link #windows} are solved ({@code -Dshardplan.boundWindows=false}: not; tests set it). */
    static boolean windowsOn = !"false".equals(System.getProperty("shardplan.boundWindows"));

    /** The widest window of segments solved ({@link #windows}). */
    static final int WINDOW_SEGMENTS = 6;
    /** The most nodes of a window problem; past it windows are not solved. */
    static final int WINDOW_NODES = 12;
    /** The most window problems (distinct or not) solved for one bound. */
    static final int WINDOW_PROBLEMS = 8192;

    /**
     * The bound of a chunk that sees the links skipping over segments (a dense block's concatenations, a U-Net's skip
     * connections), which the segments alone and their neighbouring pairs drop. With {@code w} one more than the
     * longest link in segments (at most {@link #WINDOW_SEGMENTS}), the chunk {@code [i, j)} is covered by the windows
     * {@code [t, t + w)} clipped to it, {@code t = i - w + 1 .. j - 1}: every segment lies in exactly {@code w} of them,
     * a link from segment {@code a} to {@code b} in exactly {@code w - (b - a)}. So each window's problem weights its
     * nodes' terms {@code 1 / w} and each link {@code 1 / (w - (b - a))} (longer links left out: resharding is never
     * negative), and the chunk's least is at least the sum of its windows' least. Interior windows are shared by
     * every chunk that holds them (prefix sums), the clipped ones depend on the chunk's first or last segment alone.
     * Solved only where some link skips a segment and every window has at most {@link #WINDOW_NODES} nodes, each by
     * {@link #frontier} (a window past its share of {@link #WINDOW_WORK} counts 0); none once the time is short.
     */
    private void windows(DoubleSupplier secondsLeft) {
        int[] seg = new int[built.units().size()];
        for (int k = 0; k < segments; k++) {
            for (int i = positions.get(k); i < positions.get(k + 1); i++) {
                seg[i] = k;
            }
        }
        int span = 0;
        for (ProblemBuilder.Link l : built.links()) {
            span = Math.max(span, Math.abs(seg[l.to()] - seg[l.from()]));
        }
        int w = Math.min(span + 1, WINDOW_SEGMENTS);
        if (basic || !windowsOn || w < 3 || w > segments || (long) segments * w * 3 > WINDOW_PROBLEMS) {
            return;
        }
        for (int k = 0; k + w <= segments; k++) {
            if (positions.get(k + w) - positions.get(k) > WINDOW_NODES) {
                return;
            }
        }
        // the forward and input gradient together last, where the budget has room for them: the other three as before
        int[] parts = (long) segments * w * 4 > WINDOW_PROBLEMS ? new int[] {FORWARD, INPUT, WORK}
                : new int[] {FORWARD, INPUT, WORK, FORWARD_INPUT};
        double[][][] v = new double[parts.length][segments][w];
        windowParts:
        for (int q = 0; q < parts.length; q++) {
            int part = parts[q];
            for (int x = 0; x < segments; x++) {
                if (secondsLeft.getAsDouble() <= 0.05) {
                    if (q < 3) {
                        return; // out of time: no windows (the bounds without them stand)
                    }
                    v = java.util.Arrays.copyOf(v, 3); // the first three stand, the forward with the input gradient does not
                    break windowParts;
                }
                for (int len = 1; len <= w && x + len <= segments; len++) {
                    Weights wt = new Weights(i -> 1.0 / w, (f, t) -> {
                        int d = Math.abs(seg[t] - seg[f]);
                        return d < w ? 1.0 / (w - d) : 0;
                    });
                    windowing = true; // bounded by WINDOW_PROBLEMS, not MAX_SOLVES
                    v[q][x][len - 1] = solve(built, filter, positions.get(x), positions.get(x + len), part, wt,
                            new double[] {part, -w}, recompute, seen, secondsLeft);
                    windowing = false;
                }
            }
        }
        width = w;
        win = v;
        preWin = new double[v.length][segments + 1];
        winLeft = new double[v.length][segments + 1];
        winRight = new double[v.length][segments + 1];
        for (int q = 0; q < v.length; q++) {
            for (int t = 0; t < segments; t++) {
                preWin[q][t + 1] = preWin[q][t] + (t + w <= segments ? v[q][t][w - 1] : 0);
            }
            for (int i = 0; i <= segments; i++) {
                for (int e = i + 1; e <= Math.min(i + w - 1, segments); e++) {
                    winLeft[q][i] += v[q][i][e - i - 1];
                }
                for (int st = Math.max(0, i - w + 1); st < i; st++) {
                    winRight[q][i] += v[q][st][i - st - 1];
                }
            }
        }
    }

    /**
     * The exact least of part {@code q} (0 forward, 1 input gradient, 2 work, 3 forward and input gradient: {@link
     * #windowBound}'s parts) of the chunk of
     * segments {@code [from, to)}, every link inside it counted: what {@link #chunk}'s parts bound. One dynamic program.
     */
    double exactPart(int q, int from, int to) {
        Weights one = new Weights(i -> 1, (f, t) -> 1);
        int part = new int[] {FORWARD, INPUT, WORK, FORWARD_INPUT}[q];
        boolean was = unbudgeted;
        unbudgeted = true;
        try {
            return solve(built, filter, positions.get(from), positions.get(to), part, one, new double[] {part, -1}, recompute,
                    seen, () -> 600);
        } finally {
            unbudgeted = was;
        }
    }

    /**
     * The windows' bound ({@link #windows}) on part {@code q} (0 forward, 1 input gradient, 2 work, 3 forward and input
     * gradient) of chunk {@code [i, j)}; 0 without windows. O(width).
     */
    private double windowBound(int q, int i, int j) {
        int w = width;
        if (w == 0 || q >= win.length) {
            return 0;
        }
        if (j - i >= w) {
            return preWin[q][j - w + 1] - preWin[q][i] + winLeft[q][i] + winRight[q][j];
        }
        double r = 0;
        for (int t = i - w + 1; t < j; t++) {
            int x = Math.max(t, i);
            r += win[q][x][Math.min(t + w, j) - x - 1];
        }
        return r;
    }

    /** Prefix sums over segments (index k: segments 0..k-1) for {@link #chunk}. */
    private double[] preAfterF;
    private double[] preAfterI;
    private double[] preAfterW;
    private double[] prePairF;
    private double[] prePairI;
    private double[] prePairW;
    private double[] preAfterFI;
    private double[] prePairFI;
    private double[] preWeight;
    private double[] preGradient;
    private double[] preVolume;
    private double[] preStatic;
    private double[][] preReduce;
    private double[][] preReduceU;
    private double[] preAll;
    /** Prefix sums over segments of {@link #classBare} (infinite ones left out) and counts of the infinite ones. */
    private double[][][] preClass;
    private int[][] preNone;

    private void prefixes() {
        int k = segments;
        preAfterF = new double[k + 1];
        preAfterI = new double[k + 1];
        preAfterW = new double[k + 1];
        prePairF = new double[k + 1];
        prePairI = new double[k + 1];
        prePairW = new double[k + 1];
        preAfterFI = new double[k + 1];
        prePairFI = new double[k + 1];
        preWeight = new double[k + 1];
        preGradient = new double[k + 1];
        preVolume = new double[k + 1];
        preStatic = new double[k + 1];
        preReduce = new double[levels.length][k + 1];
        preReduceU = new double[levels.length][k + 1];
        latencyFloor = new RangeMax(leastLatency);
        if (classBare != null) {
            preClass = new double[classCap.length][levels.length][k + 1];
            preNone = new int[classCap.length][k + 1];
            for (int j = 0; j < classCap.length; j++) {
                for (int i = 0; i < k; i++) {
                    boolean none = classBare[j][0][i] == Double.POSITIVE_INFINITY;
                    preNone[j][i + 1] = preNone[j][i] + (none ? 1 : 0);
                    for (int l = 0; l < levels.length; l++) {
                        preClass[j][l][i + 1] = preClass[j][l][i] + (none ? 0 : classBare[j][l][i]);
                    }
                }
            }
        }
        preAll = new double[k + 1];
        for (int i = 0; i < k; i++) {
            preAll[i + 1] = preAll[i] + reduceAll[i];
            for (int l = 0; l < levels.length; l++) {
                preReduce[l][i + 1] = preReduce[l][i] + reduceJoint[l][i];
                preReduceU[l][i + 1] = preReduceU[l][i] + reduceJointU[l][i];
            }
            preGradient[i + 1] = preGradient[i] + gradient[i];
            preVolume[i + 1] = preVolume[i] + mostVolume[i];
            preStatic[i + 1] = preStatic[i] + leastStatic[i];
            preAfterF[i + 1] = preAfterF[i] + afterForward[i];
            preAfterI[i + 1] = preAfterI[i] + afterInput[i];
            preAfterW[i + 1] = preAfterW[i] + afterForward[i] + afterInput[i] + backwardWeight[i] + afterJoint[i];
            prePairF[i + 1] = prePairF[i] + pairForward[i];
            prePairI[i + 1] = prePairI[i] + pairInput[i];
            prePairW[i + 1] = prePairW[i] + pairWork[i];
            preAfterFI[i + 1] = preAfterFI[i] + afterFI[i];
            prePairFI[i + 1] = prePairFI[i] + pairFI[i];
            preWeight[i + 1] = preWeight[i] + backwardWeight[i];
        }
    }

    /** {@link #classCap} and {@link #classAdds} from the latencies of the layouts the filter allows. */
    private void latencyClasses() {
        java.util.TreeSet<Double> all = new java.util.TreeSet<>();
        for (ProblemBuilder.Unit u : built.units()) {
            for (int c = 0; c < u.costs().size(); c++) {
                if (filter.allows(u, c)) {
                    all.add(latencyOf(u.costs().get(c)));
                }
            }
        }
        all.remove(0.0);
        if (all.isEmpty()) {
            return; // nothing reduces with a latency: the floor adds nothing
        }
        List<Double> down = new ArrayList<>(all.descendingSet());
        int alone = Math.min(LATENCY_CLASSES, down.size());
        int n = 1 + alone + (down.size() > alone ? 1 : 0);
        classCap = new double[n];
        classAdds = new double[n];
        for (int j = 0; j < alone; j++) {
            classCap[1 + j] = down.get(j);
            classAdds[1 + j] = down.get(j);
        }
        if (down.size() > alone) {
            classCap[n - 1] = down.get(alone);
            classAdds[n - 1] = all.first();
        }
        classBare = new double[n][levels.length][segments];
    }

    /**
     * Segment {@code k}'s parts of {@link #chunkFloor}: per latency class, its least {@link #classBare} at each bucket
     * level. A segment whose layouts reduce nothing with a latency takes its {@link #reduceJoint} in every class.
     */
    private void floorParts(int k, int from, int to, DoubleSupplier secondsLeft) {
        boolean loud = false; // some layout of the segment reduces with a latency
        for (int i = from; i < to && !loud; i++) {
            ProblemBuilder.Unit u = built.units().get(i);
            for (int c = 0; c < u.costs().size() && !loud; c++) {
                loud = filter.allows(u, c) && latencyOf(u.costs().get(c)) > 0;
            }
        }
        for (int j = 0; j < classCap.length; j++) {
            StageProblem.Filter within = classFilter(classCap[j]);
            boolean each = everyNodeHas(from, to, within);
            for (int l = 0; l < levels.length; l++) {
                buckets = levels[l];
                classBare[j][l][k] = !loud ? reduceJoint[l][k] : !each ? Double.POSITIVE_INFINITY
                        : solve(built, within, from, to, REDUCE_BARE, recompute, seen, secondsLeft);
            }
        }
    }

    /** The layouts of the latency class of cap {@code cap} ({@link #classCap}): those allowed that reduce with at most that latency. */
    private StageProblem.Filter classFilter(double cap) {
        // one filter per cap, so that the chunk sweeps of a class ({@link #bySweep}) are found again by it
        return classFilters.computeIfAbsent(cap, k -> (u, c) -> filter.allows(u, c) && latencyOf(u.costs().get(c)) <= k);
    }

    /** {@link #classFilter}'s filters by their cap. */
    private final Map<Double, StageProblem.Filter> classFilters = new HashMap<>();

    /** Whether every node of {@code [from, to)} has a layout {@code f} allows. O(candidates). */
    private boolean everyNodeHas(int from, int to, StageProblem.Filter f) {
        for (int i = from; i < to; i++) {
            ProblemBuilder.Unit u = built.units().get(i);
            boolean any = false;
            for (int c = 0; c < u.costs().size() && !any; c++) {
                any = f.allows(u, c);
            }
            if (!any) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether nodes {@code [lo, hi)} are the whole model: a chunk that is not is one of several stages, which reduces in
     * buckets of its own ({@link ProblemBuilder.Cost#stageReduction}).
     */
    private boolean wholeModel(int lo, int hi) {
        return lo == 0 && hi == built.units().size();
    }

    /** A layout's reduction latency as the classes count it: 0 where it reduces nothing. */
    private static double latencyOf(ProblemBuilder.Cost x) {
        return x.gradientSeconds() > 0 ? x.gradientLatencySeconds() : 0;
    }

    /** A segment's own joint least forward and backward. */
    private double work(int k) {
        return forward[k] + backwardInput[k] + backwardWeight[k] + joint[k];
    }

    /**
     * A chunk of segments {@code [from, to)}: its least forward, input-gradient and weight-gradient times, what
     * every layout adds to their sum and what it adds to the sum of the first two ({@code {f, b_in, b_w, joint, jointFI}}), each the larger of two bounds: the first
     * segment alone and each later one with the resharding into it; half the first and last segments alone and
     * each pair of neighbours halved with the resharding between them. O(1).
     */
    double[] chunk(int from, int to) {
        double[] r = new double[CHUNK_PARTS];
        chunkInto(from, to, r);
        return r;
    }

    /** {@link #chunk} written into {@code r}. O(1). */
    void chunkInto(int from, int to, double[] r) {
        int last = to - 1;
        double fa = forward[from] + preAfterF[to] - preAfterF[from + 1];
        double ia = backwardInput[from] + preAfterI[to] - preAfterI[from + 1];
        double wa = work(from) + preAfterW[to] - preAfterW[from + 1];
        double fp = (forward[from] + forward[last]) / 2 + prePairF[to] - prePairF[from + 1];
        double ip = (backwardInput[from] + backwardInput[last]) / 2 + prePairI[to] - prePairI[from + 1];
        double wp = (work(from) + work(last)) / 2 + prePairW[to] - prePairW[from + 1];
        double f = Math.max(Math.max(fa, fp), windowBound(0, from, to));
        double in = Math.max(Math.max(ia, ip), windowBound(1, from, to));
        double w = preWeight[to] - preWeight[from];
        double wk = Math.max(Math.max(wa, wp), windowBound(2, from, to));
        r[0] = f;
        r[1] = in;
        r[2] = w;
        r[3] = Math.max(0, wk - f - in - w);
        double fia = ownFI[from] + preAfterFI[to] - preAfterFI[from + 1];
        double fip = (ownFI[from] + ownFI[last]) / 2 + prePairFI[to] - prePairFI[from + 1];
        r[4] = Math.max(0, Math.max(Math.max(fia, fip), windowBound(3, from, to)) - f - in);
        if (exactChunkSegments > 0 && to - from <= exactChunkSegments) {
            double ef = Math.max(f, exactPart(0, from, to));
            double ei = Math.max(in, exactPart(1, from, to));
            double ew = Math.max(wk, exactPart(2, from, to));
            double efi = Math.max(f + in + r[4], exactPart(3, from, to));
            r[0] = ef;
            r[1] = ei;
            r[3] = Math.max(0, ew - ef - ei - w);
            r[4] = Math.max(0, efi - ef - ei);
        }
    }

    /**
     * A measurement, not a search setting ({@code ExactChunkExperiment}; 0, off, everywhere else): chunks of at most this
     * many segments take the exact least of each part over the whole chunk ({@link #exactPart}, the links inside it
     * counted) and of their work with the reduction ({@link #exactReduce}), where the bound otherwise sums segments,
     * neighbouring pairs and windows. One dynamic program per chunk and part: what the finer prices are worth on one
     * partition, not a price every partition could pay for.
     */
    int exactChunkSegments;

    /** The values of {@link #chunk}: forward, input gradient, weight gradient, the joint of the three, the joint of the first two. */
    static final int CHUNK_PARTS = 5;

    /**
     * What every layout adds, beyond the chunk's least forward, backward and exposed reduction and beyond what {@link
     * #chunk} already counts for one forward-backward pair, to the three together: a path holding a pair of the chunk and
     * ending on its device (its reduction after it) gains this once more. Any plan's {@code f + b + g} is at least the sum
     * of its segments' {@link #reduceJoint} at the least level of at least the chunk's buckets (links between segments
     * dropped; {@code g >= max(G - b, G / k)}, the chunk's {@code k} the buckets of its largest volume). O(log levels).
     */
    double chunkOwn(int from, int to) {
        double[] c = chunk(from, to);
        return Math.max(0, reduceJoint(from, to) - (c[0] + c[1] + c[2] + chunkSync(from, to) + c[3]));
    }

    /**
     * As {@link #chunkOwn} with the chunk's optimizer step in the joint too: what every layout adds, beyond the chunk's
     * least forward, backward, exposed reduction and update and beyond {@link #chunkJoint}, to the four together; at
     * least {@link #chunkOwn}. A path ending on the chunk's device that holds a pair of it, followed by that device's
     * reduction and update, gains this once. O(log levels).
     */
    double chunkOwnUpdate(int from, int to) {
        double[] c = chunk(from, to);
        return chunkOwnUpdate(from, to, c, chunkSync(from, to));
    }

    /** {@link #chunkOwnUpdate} given the chunk's least parts {@code c} ({@link #chunkInto}) and least reduction. O(log levels). */
    private double chunkOwnUpdate(int from, int to, double[] c, double sync) {
        double parts = c[0] + c[1] + c[2] + sync + c[3];
        int l = level(from, to);
        double r = Math.max(0, reduceJoint(from, to) - parts);
        double u = preReduceU[l][to] - preReduceU[l][from];
        if (exactChunkSegments > 0 && to - from <= exactChunkSegments && updateRate > 0) {
            u = Math.max(u, exactReduce(from, to, l, true));
        }
        return Math.max(r, u - parts - profileUpdate(from, to));
    }

    /**
     * The larger of the sums of a chunk's segments' {@link #reduceJoint} at the least level of at least its buckets, of
     * their {@link #reduceAll}, and of its {@link #chunkFloor}. O(log levels + classes).
     */
    private double reduceJoint(int from, int to) {
        int l = level(from, to);
        double r = Math.max(Math.max(preReduce[l][to] - preReduce[l][from], preAll[to] - preAll[from]),
                chunkFloor(from, to, l));
        if (exactChunkSegments > 0 && to - from <= exactChunkSegments) {
            r = Math.max(r, exactReduce(from, to, l, false));
        }
        return r;
    }

    /**
     * The exact least over chunk {@code [from, to)}'s layouts of its work and reduction as {@link #reduceJoint} prices
     * them per segment (at bucket level {@code l}; with the optimizer step: {@code u}), the links inside it counted; for
     * {@link #exactChunkSegments}. One or two dynamic programs.
     */
    double exactReduce(int from, int to, int l, boolean u) {
        Weights one = new Weights(i -> 1, (f, t) -> 1);
        boolean was = unbudgeted;
        double keep = buckets;
        unbudgeted = true;
        buckets = levels[l];
        try {
            double all = overlap ? solve(built, filter, positions.get(from), positions.get(to), REDUCE_ALL, one,
                    new double[] {REDUCE_ALL, -1, buckets}, recompute, seen, () -> 600) : 0;
            int part = u ? REDUCE_BUCKET_U : REDUCE_BUCKET;
            return Math.max(all, solve(built, filter, positions.get(from), positions.get(to), part, one,
                    new double[] {part, -1, buckets}, recompute, seen, () -> 600));
        } finally {
            unbudgeted = was;
            buckets = keep;
        }
    }

    /**
     * A chunk's least forward, backward and exposed reduction together where it is one of several stages, so that its
     * reduction is {@code G - shares + max(M, shares) >= G - shares + M} with {@code M} the largest latency of its
     * layouts' reductions ({@link ProblemBuilder.Cost#stageReduction}): the least over the latency classes ({@link
     * #classCap}) of the sum of the segments' {@link #classBare} at bucket level {@code l} plus the class's least {@code
     * M} over {@code levels[l]}; links between segments dropped. 0 where the floor is off or the chunk is the whole model.
     * O(classes).
     */
    double chunkFloor(int from, int to, int l) {
        if (classBare == null || wholeModel(positions.get(from), positions.get(to))) {
            return 0;
        }
        double r = Double.POSITIVE_INFINITY;
        for (int j = 0; j < classCap.length; j++) {
            if (preNone[j][to] == preNone[j][from]) {
                r = Math.min(r, preClass[j][l][to] - preClass[j][l][from] + classAdds[j] / levels[l]);
            }
        }
        return r == Double.POSITIVE_INFINITY ? 0 : r;
    }

    /** The least level of {@link #levels} of at least a chunk's buckets. O(log levels). */
    private int level(int from, int to) {
        double k = overlap ? OverlapBound.bucketsOf(preVolume[to] - preVolume[from], bucket) : 1;
        int l = java.util.Arrays.binarySearch(levels, k);
        return l >= 0 ? l : Math.min(levels.length - 1, -l - 1);
    }

    /**
     * The least exposed gradient reduction of a chunk of segments {@code [from, to)}, as {@link #profile} has it:
     * {@code G / K} ({@code G} where nothing overlaps), with {@code G} the sum of the nodes' least reductions and, where
     * the chunk is one of several stages, at least the largest of its nodes' least latencies ({@link
     * ProblemBuilder.Cost#stageReduction}: a stage runs at least one collective of each node's group). O(1).
     */
    double chunkSync(int from, int to) {
        double g = preGradient[to] - preGradient[from];
        if (ProblemBuilder.stageLatencyFloor && !wholeModel(positions.get(from), positions.get(to))) {
            g = Math.max(g, latencyFloor.max(from, to));
        }
        double v = preVolume[to] - preVolume[from];
        return g <= 0 ? 0 : overlap ? g / OverlapBound.bucketsOf(v, bucket) : g;
    }

    /** A node's forward time of one micro-batch as the stage profiles count it: compute and half the collectives. */
    static double forwardPart(ProblemBuilder.Cost x) {
        return x.forwardSeconds() + x.microCommunicationSeconds() / 2;
    }

    /** A node's weight-gradient time of one micro-batch as the stage profiles count it. */
    static double weightPart(ProblemBuilder.Cost x, boolean recompute) {
        double back = x.microComputeSeconds() - x.forwardSeconds();
        return x.parameterBytes() > 0 ? Math.max(0, (back - (recompute ? x.forwardSeconds() : 0)) / 2) : 0;
    }

    /** A node's input-gradient time: its backward compute and half the collectives, less its weight part. */
    static double inputPart(ProblemBuilder.Cost x, boolean recompute) {
        double back = x.microComputeSeconds() - x.forwardSeconds();
        return back + x.microCommunicationSeconds() / 2 - weightPart(x, recompute);
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double x : a) {
            s += x;
        }
        return s;
    }

    /**
     * The exact least forward ({@code forward}) or input-gradient time of one micro-batch of nodes
     * {@code [from, to)}: the node parts plus half of each link's resharding inside the range; 0 where the
     * solve does not finish (the caller keeps the nodes' least times). Identical problems are solved once.
     */
    private static final int FORWARD = 0;
    private static final int INPUT = 1;
    private static final int WORK = 2;
    /** The forward and the whole gradient reduction: {@code f + b + g >= f + G} (the exposed part is at least {@code G - b}). */
    private static final int REDUCE_ALL = 3;
    /** The forward, the backward and the reduction over the most buckets: {@code f + b + g >= f + b + G / K}. */
    private static final int REDUCE_BUCKET = 4;
    /** {@link #REDUCE_BUCKET} with the optimizer step of the layout's static bytes. */
    private static final int REDUCE_BUCKET_U = 5;
    /** {@link #REDUCE_BUCKET} without the reduction's latency shares: {@code f + b + (G - shares) / K} ({@link #classBare}). */
    private static final int REDUCE_BARE = 6;
    /**
     * A weighted sum of a layout's terms ({@link #combo}: forward, input gradient, weight gradient, whole reduction, reduction
     * over the most buckets, update; links weighted as half forward, half input gradient): {@link #partitionBound}'s
     * columns.
     */
    private static final int COMBO = 7;
    /** The forward and the input gradient together (links in full: half each). */
    private static final int FORWARD_INPUT = 8;
    /** {@link #COMBO} with the reduction's latency shares left out of both reduction terms ({@link #floorCombo}). */
    private static final int COMBO_BARE = 9;
    /** The weights of {@link #COMBO}: per term of {@link #TERMS}. */
    private final double[] combo = new double[TERMS];
    /**
     * {@link #COMBO}'s price of the gradient volume, per byte each node's volume lies below its largest candidate's (0:
     * none): the multiplier of {@link #splitChunk}'s floor on a chunk's volume.
     */
    private double comboVolume;
    /** Per node, the most gradient bytes of its candidates under the filter; made on first use. */
    private double[] mostGradient;

    /** The most gradient bytes of node {@code i}'s candidates under the filter. O(1) after the first call. */
    private double mostGradient(int i) {
        if (mostGradient == null) {
            double[] m = new double[built.units().size()];
            for (ProblemBuilder.Unit u : built.units()) {
                for (int k = 0; k < u.layouts().size(); k++) {
                    if (filter.allows(u, k)) {
                        m[u.index()] = Math.max(m[u.index()], u.costs().get(k).gradientBytes());
                    }
                }
            }
            mostGradient = m;
        }
        return mostGradient[i];
    }
    /** Terms of a chunk's layouts: forward, input gradient, weight gradient, reduction, reduction / most buckets, update. */
    static final int TERMS = 6;

    private double solve(ProblemBuilder.Built b, StageProblem.Filter filter, int from, int to, int part,
            boolean recompute, Map<Fingerprint, Solved> seen, DoubleSupplier secondsLeft) {
        return solve(b, filter, from, from, to, part, recompute, seen, secondsLeft);
    }

    /**
     * As {@link #solve(ProblemBuilder.Built, StageProblem.Filter, int, int, int, boolean, Map, DoubleSupplier)}, with
     * the nodes {@code [lo, from)} (the segment before) in the problem at no cost of their own, and the links from
     * them into {@code [from, to)} counted: the least of the segment's part together with the resharding into it
     * from the segment before, whatever that segment's layouts.
     */
    private double solve(ProblemBuilder.Built b, StageProblem.Filter filter, int lo, int from, int to, int part,
            boolean recompute, Map<Fingerprint, Solved> seen, DoubleSupplier secondsLeft) {
        return solve(b, filter, lo, from, to, part, 0, 1, recompute, seen, secondsLeft);
    }

    /**
     * The exact least of a part over nodes {@code [lo, to)}: the nodes {@code [lo, from)} and the links between them
     * weighted {@code before}, the nodes {@code [from, to)} and the links between them weighted {@code self}, the
     * links from the first run into the second in full. 0 where the solve does not finish.
     */
    private double solve(ProblemBuilder.Built b, StageProblem.Filter filter, int lo, int from, int to, int part,
            double before, double self, boolean recompute, Map<Fingerprint, Solved> seen, DoubleSupplier secondsLeft) {
        Weights wt = new Weights(i -> i < from ? before : self, (f, t) -> t < from ? before : f >= from ? self : 1);
        double r = solve(b, filter, lo, to, part, wt, new double[] {part, from - lo, before, self}, recompute, seen, secondsLeft);
        if (part == WORK && lo == from) {
            for (int i = 0; i < to - lo; i++) {
                workLayouts[from + i] = lastLayouts[i];
            }
        }
        return r;
    }

    /**
     * The weights of a segment problem's node terms and link terms, by node index in the built problem; a link weighted 0
     * is left out.
     */
    private record Weights(java.util.function.IntToDoubleFunction node, LinkWeight link) {
    }

    /** The weight of the links from node {@code from} to node {@code to}. */
    @FunctionalInterface
    private interface LinkWeight {
        double of(int from, int to);
    }

    /**
     * The exact least of a part over nodes {@code [lo, to)}, each node's term and each link's resharding (inside the
     * range) weighted by {@code wt}; 0 where the solve does not finish. Identical problems (by their weighted costs)
     * are solved once; {@link #lastLayouts} holds the minimiser.
     */
    private double solve(ProblemBuilder.Built b, StageProblem.Filter filter, int lo, int to, int part, Weights wt,
            double[] header, boolean recompute, Map<Fingerprint, Solved> seen, DoubleSupplier secondsLeft) {
        if (sweeping && b == built && header[1] == 0 && header[3] == 1 && unbudgeted && !windowing && pending == null) {
            double r = bySweep(filter, lo, to, part, recompute);
            if (!Double.isNaN(r)) {
                return r;
            }
        }
        int n = to - lo;
        int[][] allowed = new int[n][];
        List<Problem.Node> nodes = new ArrayList<>();
        Doubles key = new Doubles();
        for (double h : header) {
            key.add(h);
        }
        for (int i = 0; i < n; i++) {
            allowed[i] = allowedLayouts(filter, b.units().get(lo + i));
        }
        // the problem's key is its costs and link tables, millions of entries for a chunk of a decoder's layers; the
        // builder's units of one class share their cost lists and its links of one class their tables, so what the key
        // would hold is known from those (by identity), the allowed layouts and the weights, in far fewer entries: a
        // problem met before by these is not built again
        List<Object> quick = quickKeys && seen == this.seen ? quickKey(b, lo, to, part, wt, header, recompute, allowed) : null;
        Met met = quick == null ? null : quickKeysMet.get(quick);
        Solved metSolved = met == null ? null : met.solved();
        if (metSolved != null && !prefetchedQuick.isEmpty() && prefetchedQuick.remove(quick) && prefetched.remove(met.key())) {
            solves++; // solved ahead (prefetch): a solve of this pass (once, whichever key meets it first)
        }
        if (metSolved != null) {
            if (unbudgeted) {
                partitionCells += met.cells();
            }
            lastLayouts = new int[n];
            for (int i = 0; i < n; i++) {
                lastLayouts[i] = allowed[i][metSolved.choices() == null ? 0 : metSolved.choices()[i]];
            }
            return metSolved.value();
        }
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(lo + i);
            int c = allowed[i].length;
            double[] cost = new double[c];
            key.add((double) -c);
            for (int s = 0; s < c; s++) {
                ProblemBuilder.Cost x = u.costs().get(allowed[i][s]);
                double own = own(part, x, lo + i, recompute);
                cost[s] = wt.node().applyAsDouble(lo + i) * own;
                key.add(cost[s]);
                key.add((double) allowed[i][s]);
            }
            nodes.add(new Problem.Node(u.name(), cost, null, null));
        }
        Map<Long, double[]> sums = new LinkedHashMap<>();
        double factor = linkFactor(part);
        for (ProblemBuilder.Link l : b.links()) {
            double weight = weightWithin(l, lo, to, wt);
            if (weight == 0) {
                continue;
            }
            int[] ra = allowed[l.from() - lo];
            int[] ca = allowed[l.to() - lo];
            int cols = b.units().get(l.to()).layouts().size();
            double[] acc = sums.computeIfAbsent((long) (l.from() - lo) * n + (l.to() - lo),
                    k -> new double[ra.length * ca.length]);
            for (int s = 0; s < ra.length; s++) {
                for (int q = 0; q < ca.length; q++) {
                    acc[s * ca.length + q] += weight * l.seconds()[ra[s] * cols + ca[q]] * factor;
                }
            }
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (Map.Entry<Long, double[]> e : sums.entrySet()) {
            int f = (int) (e.getKey() / n);
            int t = (int) (e.getKey() % n);
            edges.add(new Problem.Edge(f, t, allowed[f].length, allowed[t].length, e.getValue()));
            key.add((double) -1 - f);
            key.add((double) -1 - t);
            for (double x : e.getValue()) {
                key.add(x);
            }
        }
        if (unbudgeted) {
            partitionCells += key.n; // the problem's costs and link tables: what its key and its solve read
        }
        Fingerprint dk = key.fingerprint();
        Solved known = seen.get(dk);
        if (known != null && !prefetched.isEmpty() && prefetched.remove(dk)) {
            solves++; // solved ahead (prefetch): a solve of this pass
        }
        Map<Fingerprint, Solved> fromTwin = ahead;
        if (known == null && fromTwin != null && unbudgeted && !windowing && pending == null
                && secondsLeft.getAsDouble() > 0.05) {
            // a chunk problem the twin solved ahead: its optimum, as this solve would have found it
            known = fromTwin.get(dk);
            if (known != null) {
                solvedByTwin++;
                seen.put(dk, known);
            }
        }
        if (known == null && assignments(nodes) <= ENUMERATE) {
            known = enumerate(nodes, edges);
            enumerated++;
            seen.put(dk, known);
        }
        if (known == null && windowing) {
            // a window past its share of work is left at 0 (a valid, weaker bound), not given to the solver
            known = frontier(nodes, edges, Math.min(FRONTIER_WORK, WINDOW_WORK - windowWork[0]), windowWork);
            known = known != null ? known : new Solved(0, null);
            seen.put(dk, known);
        }
        if (known == null && pending != null) {
            // collected for prefetch, solved there (and found by its quick key after)
            pending.putIfAbsent(dk, new Problem(b.name() + " [segment part " + part + "]", nodes, edges));
            if (quick != null) {
                pendingQuick.put(quick, new Met(null, key.n, dk));
            }
            lastLayouts = new int[n];
            for (int i = 0; i < n; i++) {
                lastLayouts[i] = allowed[i][0];
            }
            return 0;
        }
        if (known == null) {
            double r = 0;
            int[] choice = null;
            if (solves >= MAX_SOLVES && !unbudgeted && !windowing) {
                exhausted = true;
            } else if (secondsLeft.getAsDouble() > 0.05) {
                Solution s = new DpSolver().solve(new Problem(b.name() + " [segment part " + part + "]", nodes, edges),
                        Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
                solves += unbudgeted || windowing ? 0 : 1;
                if (!unbudgeted && !windowing) {
                    counted.add(dk);
                }
                double v = s.status() == Status.OPTIMAL ? s.objective() : s.lowerBound();
                r = Double.isFinite(v) ? Math.max(0, v) : 0;
                choice = s.hasChoices() ? s.choices() : null;
                if (deposit != null && s.status() == Status.OPTIMAL && Double.isFinite(v)) {
                    deposit.put(dk, new Solved(r, choice));
                }
            }
            known = new Solved(r, choice);
            seen.put(dk, known);
        }
        if (quick != null) {
            quickKeysMet.put(quick, new Met(known, key.n, dk));
        }
        lastLayouts = new int[n];
        for (int i = 0; i < n; i++) {
            lastLayouts[i] = allowed[i][known.choices() == null ? 0 : known.choices()[i]];
        }
        return known.value();
    }

    /** The layouts of unit {@code u} that filter {@code f} allows, by index, increasing. O(layouts). */
    private static int[] allowedLayouts(StageProblem.Filter f, ProblemBuilder.Unit u) {
        int[] a = new int[u.layouts().size()];
        int c = 0;
        for (int k = 0; k < a.length; k++) {
            if (f.allows(u, k)) {
                a[c++] = k;
            }
        }
        return java.util.Arrays.copyOf(a, c);
    }

    /** Layout cost {@code x}'s term in a problem of part {@code part} ({@link #solve}), for node {@code node}. O(1). */
    private double own(int part, ProblemBuilder.Cost x, int node, boolean recompute) {
        return switch (part) {
            case FORWARD -> forwardPart(x);
            case INPUT -> inputPart(x, recompute);
            case WORK -> forwardPart(x) + inputPart(x, recompute) + weightPart(x, recompute);
            case FORWARD_INPUT -> forwardPart(x) + inputPart(x, recompute);
            case REDUCE_ALL -> forwardPart(x) + x.gradientSeconds();
            case COMBO -> combo[0] * forwardPart(x) + combo[1] * inputPart(x, recompute)
                    + combo[2] * weightPart(x, recompute) + combo[3] * x.gradientSeconds()
                    + combo[4] * x.gradientSeconds() / buckets + combo[5] * updateRate * x.parameterBytes()
                    + (comboVolume > 0 ? comboVolume * (mostGradient(node) - x.gradientBytes()) / 2 : 0);
            case REDUCE_BUCKET_U -> forwardPart(x) + inputPart(x, recompute) + weightPart(x, recompute)
                    + x.gradientSeconds() / buckets + updateRate * x.parameterBytes();
            case COMBO_BARE -> combo[0] * forwardPart(x) + combo[1] * inputPart(x, recompute)
                    + combo[2] * weightPart(x, recompute)
                    + (combo[3] + combo[4] / buckets) * Math.max(0, x.gradientSeconds() - x.gradientLatencyShares())
                    + combo[5] * updateRate * x.parameterBytes();
            case REDUCE_BARE -> forwardPart(x) + inputPart(x, recompute) + weightPart(x, recompute)
                    + Math.max(0, x.gradientSeconds() - x.gradientLatencyShares()) / buckets;
            default -> forwardPart(x) + inputPart(x, recompute) + weightPart(x, recompute)
                    + x.gradientSeconds() / buckets;
        };
    }

    /** The weight of the links' resharding in a problem of part {@code part} ({@link #solve}). */
    private double linkFactor(int part) {
        return part == WORK || part == FORWARD_INPUT || part == REDUCE_BUCKET || part == REDUCE_BUCKET_U
                || part == REDUCE_BARE ? 1 : part == COMBO || part == COMBO_BARE ? (combo[0] + combo[1]) / 2 : 0.5;
    }

    /**
     * Whether {@link #tighten}'s chunk problems (a chunk's nodes alone, every term weighted 1) are answered by sweeps
     * ({@link ChunkSweep}: one pass per objective and start answers every end) instead of a solve each ({@code
     * -Dshardplan.chunkSweeps=false}: a solve each; tests compare). The same optima, found as the solver's are; where
     * several layouts reach one, the sweep's minimiser may be another.
     */
    static boolean chunkSweeps = !"false".equals(System.getProperty("shardplan.chunkSweeps"));

    /**
     * Whether {@link #solve} answers chunk problems from {@link #sweeps} now ({@link #tighten} under {@link #chunkSweeps};
     * tests set it around {@link #partitionBound}).
     */
    boolean sweeping;

    /** The sweeps by objective and start, the least recently used first. */
    private final LinkedHashMap<SweepKey, ChunkSweep> sweeps = new LinkedHashMap<>(64, 0.75f, true);

    /**
     * The most entries of the sweeps' ways back ({@link ChunkSweep#backEntries}) kept at once (4 bytes each); past it the
     * least recently used sweeps are dropped (met again, swept again).
     */
    static final long SWEEP_BACK = 30_000_000;

    /** The most entries of the sweeps' ways back this bound keeps: {@link #SWEEP_BACK} (tests: less). */
    long sweepBackBudget = SWEEP_BACK;

    /** The entries of the ways back the sweeps hold now. */
    private long sweepBack;

    /** The sweeps dropped to keep their ways back within {@link #sweepBackBudget} (tests). */
    private int sweepsDropped;

    /** {@link #sweepsDropped}. */
    int sweepsDropped() {
        return sweepsDropped;
    }

    /** The work of the sweeps so far ({@link ChunkSweep#work}). */
    private long sweepWork;

    /** The chunk problems the sweeps answered. */
    private int sweepAnswers;

    /** {@link #sweepWork}. */
    long sweepWork() {
        return sweepWork;
    }

    /** {@link #sweepAnswers}. */
    int sweepAnswers() {
        return sweepAnswers;
    }

    /**
     * A sweep's objective and start: the filter (by identity), the part, the weights its terms read, the first node (a
     * sweep forward) or the end (backward: {@code lo} is the node count).
     */
    private record SweepKey(Same filter, int part, int lo, boolean backward, DoublesKey weights) {
    }

    /**
     * The model's nodes under a filter as sweeps read them: per node its allowed layouts, the last node it has a link to
     * and the first (itself where none), the links whose later end it is and whose earlier end it is (indices into the
     * built problem's links); and, made for a node when a sweep first takes it, the links into it from earlier nodes
     * ({@link #forward}: their tables summed per pair over the allowed layouts, the earlier node's the rows) and from
     * later ones ({@link #backward}: transposed, the later node's the rows). Only the nodes sweeps take have tables made
     * (a decoder's link tables run to 10^5 entries, most of its chunks never swept).
     */
    private final class SweepGraph {
        final int[][] allowed;
        final int[] lastUse;
        final int[] firstUse;
        private final int[][] laterEnd;
        private final int[][] earlierEnd;
        private final ChunkSweep.Into[] forward;
        private final ChunkSweep.Into[] backward;

        SweepGraph(StageProblem.Filter f) {
            List<ProblemBuilder.Unit> units = built.units();
            int nodes = units.size();
            allowed = new int[nodes][];
            lastUse = new int[nodes];
            firstUse = new int[nodes];
            for (int i = 0; i < nodes; i++) {
                allowed[i] = allowedLayouts(f, units.get(i));
                lastUse[i] = i;
                firstUse[i] = i;
            }
            int[] later = new int[nodes];
            int[] earlier = new int[nodes];
            List<ProblemBuilder.Link> links = built.links();
            for (ProblemBuilder.Link l : links) {
                int lo = Math.min(l.from(), l.to());
                int hi = Math.max(l.from(), l.to());
                if (lo != hi) {
                    later[hi]++;
                    earlier[lo]++;
                    lastUse[lo] = Math.max(lastUse[lo], hi);
                    firstUse[hi] = Math.min(firstUse[hi], lo);
                }
            }
            laterEnd = new int[nodes][];
            earlierEnd = new int[nodes][];
            for (int i = 0; i < nodes; i++) {
                laterEnd[i] = new int[later[i]];
                earlierEnd[i] = new int[earlier[i]];
                later[i] = 0;
                earlier[i] = 0;
            }
            for (int q = 0; q < links.size(); q++) {
                ProblemBuilder.Link l = links.get(q);
                int lo = Math.min(l.from(), l.to());
                int hi = Math.max(l.from(), l.to());
                if (lo != hi) {
                    laterEnd[hi][later[hi]++] = q;
                    earlierEnd[lo][earlier[lo]++] = q;
                }
            }
            forward = new ChunkSweep.Into[nodes];
            backward = new ChunkSweep.Into[nodes];
        }

        /**
         * The links into node {@code z} from earlier nodes (by node index, increasing), one table per earlier node (its
         * links summed), rows the earlier node's allowed layouts; made on first use. O(the links' table entries).
         */
        ChunkSweep.Into forward(int z) {
            if (forward[z] == null) {
                forward[z] = into(z, laterEnd[z], false);
            }
            return forward[z];
        }

        /** As {@link #forward}, for the links into node {@code a} from later nodes, rows the later node's layouts. */
        ChunkSweep.Into backward(int a) {
            if (backward[a] == null) {
                backward[a] = into(a, earlierEnd[a], true);
            }
            return backward[a];
        }

        private ChunkSweep.Into into(int node, int[] ids, boolean fromLater) {
            java.util.TreeMap<Integer, double[]> byOther = new java.util.TreeMap<>();
            for (int q : ids) {
                ProblemBuilder.Link l = built.links().get(q);
                int other = l.from() == node ? l.to() : l.from();
                int[] ro = allowed[other];
                int[] co = allowed[node];
                double[] acc = byOther.computeIfAbsent(other, k -> new double[ro.length * co.length]);
                int cols = built.units().get(l.to()).layouts().size();
                for (int s = 0; s < ro.length; s++) {
                    for (int c = 0; c < co.length; c++) {
                        // rows the other node's layouts, columns this node's
                        acc[s * co.length + c] += l.from() == other ? l.seconds()[ro[s] * cols + co[c]]
                                : l.seconds()[co[c] * cols + ro[s]];
                    }
                }
            }
            int[] from = new int[byOther.size()];
            double[][] tables = new double[byOther.size()][];
            int k = 0;
            for (Map.Entry<Integer, double[]> e : (fromLater ? byOther.descendingMap() : byOther).entrySet()) {
                from[k] = e.getKey();
                tables[k++] = e.getValue();
            }
            return new ChunkSweep.Into(from, tables);
        }
    }

    /** {@link #sweepGraph}'s graphs by filter: a tightening's own ({@link #tighten} drops them). */
    private final Map<Same, SweepGraph> sweepGraphs = new HashMap<>();

    /** The model's nodes under filter {@code f} as sweeps read them. O(nodes + links + candidates) once per filter. */
    private SweepGraph sweepGraph(StageProblem.Filter f) {
        return sweepGraphs.computeIfAbsent(new Same(f), k -> new SweepGraph(f));
    }

    /**
     * The shape of a sweep under a filter, whatever its objective: per node of the sweep (from its start) the last node
     * of the sweep it has a link to, and how many nodes it can take before its frontier grows too wide ({@link
     * ChunkSweep#reach}).
     */
    private record SweepShape(int[] lastUse, int reach) {
    }

    /** {@link #sweepShape}'s shapes by filter, start and direction: a tightening's own ({@link #tighten} drops them). */
    private final Map<List<Object>, SweepShape> sweepShapes = new HashMap<>();

    /**
     * The shape of the sweep that would answer chunk {@code [lo, to)} under filter {@code f}: backward from the model's
     * end where the chunk ends there (and is not the whole model), else forward from {@code lo}. O(nodes frontier) once
     * per filter, start and direction.
     */
    private SweepShape sweepShape(StageProblem.Filter f, int lo, int to) {
        int nodes = built.units().size();
        boolean backward = to == nodes && lo > 0;
        return sweepShapes.computeIfAbsent(List.of(new Same(f), backward ? nodes : lo, backward), key -> {
            SweepGraph g = sweepGraph(f);
            int base = backward ? nodes - 1 : lo;
            int sign = backward ? -1 : 1;
            int[] lastUse = new int[backward ? nodes : nodes - lo];
            int[] radix = new int[lastUse.length];
            for (int i = 0; i < lastUse.length; i++) {
                int node = base + sign * i;
                lastUse[i] = sign * ((backward ? g.firstUse : g.lastUse)[node] - base);
                radix[i] = g.allowed[node].length;
            }
            return new SweepShape(lastUse, ChunkSweep.reach(radix, lastUse));
        });
    }

    /**
     * Whether every chunk of the partition ending at {@code ends} (segment indices) would be answered from a sweep now
     * under the filter (not where sweeps are off, nor where a chunk's frontier is too wide).
     */
    private boolean sweptWhole(int[] ends) {
        for (int j = 0; j < ends.length; j++) {
            if (!sweepable(positions.get(j == 0 ? 0 : ends[j - 1]), positions.get(ends[j]))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@link #solve} would answer chunk {@code [lo, hi)} under the filter from a sweep now. */
    private boolean sweepable(int lo, int hi) {
        return sweeping && sweepShape(filter, lo, hi).reach() >= hi - lo;
    }

    /**
     * Chunk {@code [lo, to)}'s exact least of part {@code part} under filter {@code f} (every term weighted 1, the links
     * inside it counted) from the sweep of its objective and start, {@link #lastLayouts} its minimiser; NaN where the
     * sweep's frontier grew too wide to reach {@code to} (the caller solves it). A chunk that ends at the model's end
     * (a pipeline's last stage, whatever its start) is read from one sweep backward from there. A sweep met again is
     * extended, not redone.
     */
    private double bySweep(StageProblem.Filter f, int lo, int to, int part, boolean recompute) {
        // the bucket count is in the objective only through the combination's bucketed reduction (the chunk problems
        // the tightening asks for are combinations)
        boolean bucketed = part != COMBO && part != COMBO_BARE || combo[4] != 0;
        List<ProblemBuilder.Unit> units = built.units();
        int nodes = units.size();
        boolean backward = to == nodes && lo > 0;
        SweepKey k = new SweepKey(new Same(f), part, backward ? nodes : lo, backward, new DoublesKey(new double[] {
                recompute ? 1 : 0, bucketed ? buckets : 0, combo[0], combo[1], combo[2], combo[3], combo[4], combo[5],
                comboVolume}));
        SweepGraph g = sweepGraph(f);
        SweepShape shape = sweepShape(f, lo, to);
        int count = to - lo;
        if (shape.reach() < count) {
            return Double.NaN; // the frontier grows too wide before the chunk's end, whatever the objective
        }
        ChunkSweep s = sweeps.get(k);
        if (s == null) {
            // forward from lo: sweep node i is node lo + i; backward from the end: sweep node i is node nodes - 1 - i
            int base = backward ? nodes - 1 : lo;
            int sign = backward ? -1 : 1;
            int[] lastUse = shape.lastUse();
            s = new ChunkSweep(new ChunkSweep.Source() {
                @Override
                public double[] cost(int i) {
                    int node = base + sign * i;
                    ProblemBuilder.Unit u = units.get(node);
                    int[] a = g.allowed[node];
                    double[] c = new double[a.length];
                    for (int q = 0; q < a.length; q++) {
                        c[q] = own(part, u.costs().get(a[q]), node, recompute);
                    }
                    return c;
                }

                @Override
                public ChunkSweep.Into into(int i) {
                    int node = base + sign * i;
                    ChunkSweep.Into all = backward ? g.backward(node) : g.forward(node);
                    // the links from nodes the sweep has taken (forward: none from before its start), by sweep index
                    int[] other = all.from();
                    int c = 0;
                    for (int o : other) {
                        c += sign * (o - base) >= 0 ? 1 : 0;
                    }
                    if (c == 0) {
                        return null;
                    }
                    int[] rel = new int[c];
                    double[][] t = new double[c][];
                    c = 0;
                    for (int q = 0; q < other.length; q++) {
                        if (sign * (other[q] - base) >= 0) {
                            rel[c] = sign * (other[q] - base);
                            t[c++] = all.table()[q];
                        }
                    }
                    return new ChunkSweep.Into(rel, t);
                }
            }, lastUse, linkFactor(part), true);
            sweeps.put(k, s);
        }
        long work = s.work();
        long held = s.backEntries();
        s.extendTo(count);
        sweepWork += s.work() - work;
        sweepBack += s.backEntries() - held;
        for (java.util.Iterator<Map.Entry<SweepKey, ChunkSweep>> it = sweeps.entrySet().iterator();
                sweepBack > sweepBackBudget && it.hasNext();) {
            ChunkSweep old = it.next().getValue();
            if (old != s) {
                sweepBack -= old.backEntries();
                it.remove();
                sweepsDropped++;
            }
        }
        if (s.reached() < count) {
            return Double.NaN;
        }
        double v = s.least(count);
        int[] ch = s.choices(count);
        lastLayouts = new int[count];
        for (int i = 0; i < count; i++) {
            int node = backward ? to - 1 - i : lo + i;
            lastLayouts[node - lo] = g.allowed[node][ch == null ? 0 : ch[i]];
        }
        sweepAnswers++;
        return Double.isFinite(v) ? Math.max(0, v) : 0;
    }

    /**
     * {@link #solve}'s problems by what determines their keys ({@link #quickKey}): what {@link #seen} holds for their keys
     * (which it keeps once it has it) and their keys' lengths.
     */
    private final Map<List<Object>, Met> quickKeysMet = new HashMap<>();

    /**
     * Whether {@link #solve} finds the problems it met before by {@link #quickKey} ({@code -Dshardplan.quickKeys=false}:
     * by their whole keys only): the same solutions, fewer keys built. Read as a bound is made (tests: set, then reset).
     */
    static boolean quickKeysByDefault = !"false".equals(System.getProperty("shardplan.quickKeys"));

    /** {@link #quickKeysByDefault} as this bound was made. */
    private final boolean quickKeys = quickKeysByDefault;

    /** A problem {@link #solve} met: its solution and the length of its key (the cells it reads). */
    private record Met(Solved solved, int cells, Fingerprint key) {
    }

    /**
     * What determines the key {@link #solve} builds for a problem (the same list, the same key): the header, the part's
     * weights, per node its cost list and layouts (by identity), allowed layouts and weight, per link inside the range
     * its ends, table (by identity) and weight. O(nodes + links + allowed layouts).
     */
    private List<Object> quickKey(ProblemBuilder.Built b, int lo, int to, int part, Weights wt, double[] header,
            boolean recompute, int[][] allowed) {
        int n = to - lo;
        List<Object> q = new ArrayList<>(4 * n + 16);
        q.add(new Same(b));
        q.add(new DoublesKey(header.clone()));
        q.add(new DoublesKey(new double[] {part, recompute ? 1 : 0, buckets, updateRate, combo[0], combo[1], combo[2],
                combo[3], combo[4], combo[5], comboVolume}));
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(lo + i);
            q.add(new Same(u.costs()));
            q.add(new Same(u.layouts()));
            q.add(java.nio.IntBuffer.wrap(allowed[i]));
            q.add(wt.node().applyAsDouble(lo + i));
        }
        for (ProblemBuilder.Link l : b.links()) {
            double weight = weightWithin(l, lo, to, wt);
            if (weight == 0) {
                continue;
            }
            q.add(l.from() - lo);
            q.add(l.to() - lo);
            q.add(new Same(l.seconds()));
            q.add(weight);
        }
        return q;
    }

    /**
     * Link {@code l}'s weight in a problem of the units {@code [lo, to)}: 0 where an end lies outside the range (as where
     * its weight is 0). The one filter of {@link #solve}'s key and {@link #quickKey}, which must list the same links. O(1).
     */
    private static double weightWithin(ProblemBuilder.Link l, int lo, int to, Weights wt) {
        return l.from() < lo || l.from() >= to || l.to() < lo || l.to() >= to ? 0 : wt.link().of(l.from(), l.to());
    }

    /** An object compared by identity, as part of a key (cost lists and tables shared within a block class). */
    record Same(Object o) {
        @Override
        public boolean equals(Object x) {
            return x instanceof Same y && y.o == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(o);
        }
    }

    /** A problem's key as {@link #solve} builds it, value by value: its {@link Fingerprint} and length, no values kept. */
    private static final class Doubles {
        private long a = 0x243F6A8885A308D3L;
        private long b = 0x13198A2E03707344L;
        private int n;

        void add(double x) {
            long bits = Double.doubleToRawLongBits(x);
            a = mix(a ^ bits) + 0x9E3779B97F4A7C15L;
            b = mix(b + bits * 0xC2B2AE3D27D4EB4FL + n) ^ 0xA4093822299F31D0L;
            n++;
        }

        /** The sequence's fingerprint. */
        Fingerprint fingerprint() {
            return new Fingerprint(a, b, n);
        }

        /** A bijective 64-bit mixer (the finaliser of SplitMix64). */
        private static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }

    /**
     * A segment problem's key ({@link #solve}): two independent 64-bit hashes of its costs and link tables in order and
     * their count, in place of the values themselves, which run to millions for a chunk of wide layers and would be kept
     * as long as the bound (the collector copied them again and again). Two problems with the same fingerprint are taken
     * as the same: for distinct ones the chance is about 2^-128 per pair.
     */
    record Fingerprint(long a, long b, int n) {
    }

    /** A segment problem's least value and its minimiser (strategy indices; null where none was found). */
    record Solved(double value, int[] choices) {
    }

    /**
     * The most assignments of a segment problem solved by trying every one ({@link #enumerate}) instead of a dynamic
     * program: a node alone or two neighbours (the segments of a graph cut at every node, such as DenseNet-121's)
     * cost a few hundred additions, not a solver's set-up, and do not count against {@link #MAX_SOLVES}.
     */
    static final long ENUMERATE = 4096;

    /** The product of the nodes' candidate counts (capped above {@link #ENUMERATE}). */
    private static long assignments(List<Problem.Node> nodes) {
        long r = 1;
        for (Problem.Node n : nodes) {
            r *= n.costs().length;
            if (r > ENUMERATE) {
                return ENUMERATE + 1;
            }
        }
        return r;
    }

    /**
     * The exact least of a small problem by trying every assignment (an odometer over the candidates): node costs plus
     * edge costs, the first least assignment kept. O(assignments * (nodes + edges)).
     */
    static Solved enumerate(List<Problem.Node> nodes, List<Problem.Edge> edges) {
        int n = nodes.size();
        int[] x = new int[n];
        int[] best = null;
        double least = Double.POSITIVE_INFINITY;
        // the cost arrays read once (the records' accessors copy them)
        double[][] nc = new double[n][];
        for (int i = 0; i < n; i++) {
            nc[i] = nodes.get(i).costs();
        }
        double[][] ec = new double[edges.size()][];
        int[] ef = new int[ec.length];
        int[] et = new int[ec.length];
        int[] cols = new int[ec.length];
        for (int q = 0; q < ec.length; q++) {
            Problem.Edge e = edges.get(q);
            ec[q] = e.costs();
            ef[q] = e.from();
            et[q] = e.to();
            cols[q] = e.cols();
        }
        while (true) {
            double c = 0;
            for (int i = 0; i < n; i++) {
                c += nc[i][x[i]];
            }
            for (int q = 0; q < ec.length; q++) {
                c += ec[q][x[ef[q]] * cols[q] + x[et[q]]];
            }
            if (c < least) {
                least = c;
                best = x.clone();
            }
            int i = 0;
            while (i < n && ++x[i] == nc[i].length) {
                x[i++] = 0;
            }
            if (i == n) {
                break;
            }
        }
        return new Solved(Double.isFinite(least) ? Math.max(0, least) : 0, best);
    }

    /** The most table entries times candidates {@link #frontier} computes for one window before it gives up. */
    static final long FRONTIER_WORK = 1_000_000;
    /** The most table entries times candidates of all the windows of one bound ({@link #windows}). */
    static final long WINDOW_WORK = 50_000_000;
    /** The work {@link #frontier} spent on this bound's windows. */
    private final long[] windowWork = new long[1];

    /**
     * The exact least of a small problem by a dynamic program over its nodes in order: after node {@code i}, a table over
     * the layouts of the nodes up to {@code i} that still have links to later nodes (the frontier), each entry the least
     * cost of the nodes so far; the next node's layouts extend it, and nodes without later links are minimised out. A
     * window of a few nodes whose links are short ({@link #windows}) has a frontier of a few nodes. The pass of a {@link
     * ChunkSweep} read at its end; no minimiser is kept. Null past {@code limit} entry extensions or table entries; the
     * extensions are added to {@code spent[0]}. O(limit (1 + edges)).
     */
    static Solved frontier(List<Problem.Node> nodes, List<Problem.Edge> edges, long limit, long[] spent) {
        return frontier(nodes, edges, limit, limit, spent);
    }

    /** {@link #frontier}, null past {@code states} table entries or {@code limit} entry extensions. */
    static Solved frontier(List<Problem.Node> nodes, List<Problem.Edge> edges, long states, long limit, long[] spent) {
        int n = nodes.size();
        if (n == 0) {
            return new Solved(0, null);
        }
        int[] lastUse = new int[n];
        int[] count = new int[n];
        for (int i = 0; i < n; i++) {
            lastUse[i] = i;
        }
        for (Problem.Edge e : edges) {
            int lo = Math.min(e.from(), e.to());
            int hi = Math.max(e.from(), e.to());
            lastUse[lo] = Math.max(lastUse[lo], hi);
            count[hi]++;
        }
        ChunkSweep.Into[] into = new ChunkSweep.Into[n];
        for (int i = 0; i < n; i++) {
            into[i] = count[i] == 0 ? null : new ChunkSweep.Into(new int[count[i]], new double[count[i]][]);
            count[i] = 0;
        }
        for (Problem.Edge e : edges) {
            int lo = Math.min(e.from(), e.to());
            int hi = Math.max(e.from(), e.to());
            double[] t = e.costs();
            if (e.from() > e.to()) {
                // rows the earlier node's layouts, as the sweep reads them
                int rows = e.rows();
                int cols = e.cols();
                double[] tr = new double[t.length];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        tr[c * rows + r] = t[r * cols + c];
                    }
                }
                t = tr;
            }
            into[hi].from()[count[hi]] = lo;
            into[hi].table()[count[hi]++] = t;
        }
        ChunkSweep s = new ChunkSweep(new ChunkSweep.Source() {
            @Override
            public double[] cost(int i) {
                return nodes.get(i).costs();
            }

            @Override
            public ChunkSweep.Into into(int i) {
                return into[i];
            }
        }, lastUse, 1, false, states, limit).extendTo(n);
        spent[0] += s.extensions();
        if (s.reached() < n) {
            return null;
        }
        double least = s.least(n);
        return Double.isFinite(least) ? new Solved(Math.max(0, least), null) : null;
    }

    /** The segment problems solved by {@link #enumerate}. */
    private int enumerated;

    /** The segment problems small enough to be solved by trying every assignment. */
    int enumerated() {
        return enumerated;
    }

    /**
     * Per node, its layout in the least forward and backward time of its segment (the links between segments not
     * counted): a plan whose work is each segment's least, to be priced as a candidate.
     */
    int[] workLayouts() {
        return workLayouts.clone();
    }

    /**
     * The most distinct segment problems solved: a chain of repeated layers needs a few dozen, a graph
     * without repeated layers one per segment and pair (DenseNet-121: far more), whose bound would cost more than
     * the search; past it the bound is not computed ({@link #exhausted}).
     */
    static final int MAX_SOLVES = 128;

    /** Whether the segments needed more than {@link #MAX_SOLVES} distinct solves (no bound from this). */
    private boolean exhausted;

    /** Whether the segments needed more than {@link #MAX_SOLVES} distinct solves: the caller has no bound from this. */
    boolean exhausted() {
        return exhausted;
    }

    /** The partitions the basic bound's enumerations priced and visited ({@link #basic}), for the trace. */
    private long basicPriced;
    private long basicVisited;

    /** The partitions the basic bound's enumerations priced, for the trace. */
    long enumerationPriced() {
        return basicPriced;
    }

    /** The partitions the basic bound's enumerations visited, for the trace. */
    long enumerationVisited() {
        return basicVisited;
    }

    /** The exact dynamic programs run for the segments. */
    int solves() {
        return solves;
    }

    /** The segment problems {@link #prefetch} solved ahead (tests). */
    int solvedAhead() {
        return solvedAhead;
    }

    /** The number of segments. */
    int segments() {
        return segments;
    }

    /**
     * What every layout adds to the least forward and backward of a chunk of segments {@code [from, to)}: the joint
     * least of each segment (the later ones with the resharding into them) less the least of its parts. O(to - from).
     */
    double chunkJoint(int from, int to) {
        return chunk(from, to)[3];
    }

    /** The least optimizer step of a chunk of segments {@code [from, to)}. */
    double profileUpdate(int from, int to) {
        return compute.optimizerStepSeconds(preStatic[to] - preStatic[from], optimizer);
    }

    /** The profile of a chunk of segments {@code [from, to)}: each part at its lower bound. O(to - from). */
    StageProfile profile(int from, int to) {
        double[] c = chunk(from, to);
        double send = to < segments ? sendAt[to] : 0;
        return new StageProfile(c[0], c[1] + c[2], c[2], send, chunkSync(from, to), 0, 0, profileUpdate(from, to));
    }

    /**
     * The least over partitions into {@code p v} chunks of the step of schedule {@code sch} (with the
     * optimizer step after it) on the chunks' least profiles, or {@code threshold} where none is below it;
     * NaN where more than {@code budget} partitions would have to be priced (64 partial partitions cut off
     * counting as one) or the time ran out (no bound).
     *
     * @param sch a synchronous schedule ({@link Schedule#exact}) whose shape {@code (p, m, v)} is valid
     */
    double step(Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
        return least(sch, p, m, v, threshold, budget, secondsLeft).step();
    }

    /**
     * The least step and its partition.
     *
     * @param step as {@link #step}
     * @param ends the segment each chunk of the minimiser ends at ({@code p v} of them, the last the segment count);
     *     null where no partition was below the threshold or there is no bound
     * @param priced the partitions priced
     * @param visited the partial partitions visited (priced or cut off)
     * @param layouts per node, the layouts of the minimiser's exact solves ({@link #partitionBound}): a plan to price;
     *     null where it was not tightened
     */
    record Least(double step, int[] ends, long priced, long visited, int[] layouts) {
        Least(double step, int[] ends, long priced, long visited) {
            this(step, ends, priced, visited, null);
        }
    }

    /** {@link #step} with the minimising partition. */
    Least least(Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
        if (!sch.exact()) {
            throw new IllegalArgumentException("the schedule must be synchronous, found " + sch.name());
        }
        int chunks = p * v;
        if (chunks > segments) {
            return new Least(Double.POSITIVE_INFINITY, null, 0, 0); // no partition: no plan
        }
        if (basic) {
            // enumerated or nothing: no dual, no partition tightened
            if (tooManyToEnumerate(chunks) || budget <= 0) {
                return new Least(Double.NaN, null, 0, 0);
            }
            Search s = new Search(sch, p, m, v, threshold, budget, secondsLeft);
            s.dfs(0, 0);
            basicPriced += s.priced;
            basicVisited += s.visited;
            return new Least(s.aborted ? Double.NaN : s.best, s.aborted ? null : s.bestEnds, s.priced, s.visited);
        }
        if (tooManyToEnumerate(chunks) || budget <= 0) {
            // too many partitions to enumerate, or no budget left to enumerate any (the schedules before spent it)
            return guided(dualBound(sch, p, m, v, threshold, secondsLeft), sch, p, m, v, threshold, budget, secondsLeft);
        }
        long first = enumerationFirst > 0 ? Math.min(budget, enumerationFirst) : budget;
        Search s = new Search(sch, p, m, v, threshold, first, secondsLeft);
        s.dfs(0, 0);
        if (s.aborted) {
            // the enumeration ran past its share of the budget: the dual bound over the same partitions, if time is
            // left, and the enumeration again with the dual's paths cutting off partial partitions, within the rest
            Least d = secondsLeft.getAsDouble() > 0.05 ? dualBound(sch, p, m, v, threshold, secondsLeft) : null;
            if (d == null) {
                return new Least(Double.NaN, null, s.priced, s.visited);
            }
            long left = first < budget ? budget - s.spent() : 0;
            Least g = left > 0 ? guided(d, sch, p, m, v, threshold, left, secondsLeft) : d;
            return new Least(g.step(), g.ends(), s.priced + g.priced(), s.visited + g.visited(), g.layouts());
        }
        if (s.bestEnds == null || !tightenPartitions) {
            return new Least(s.best, s.bestEnds, s.priced, s.visited);
        }
        return tighten(s, sch, p, m, v, budget, secondsLeft);
    }

    /** The dual over every partition of the shape, its cuts branched and its pivot rows priced ({@link #least}'s). */
    private Least dualBound(Schedule sch, int p, int m, int v, double threshold, DoubleSupplier secondsLeft) {
        return withPivot(branchCuts(dual(sch, p, m, v, threshold, secondsLeft), sch, p, m, v, threshold, secondsLeft),
                sch, p, m, v, threshold, secondsLeft);
    }

    /**
     * The partitions {@link #least} prices in its first enumeration of a shape that is not too many to enumerate; past
     * them, the dual and the enumeration again with the dual's paths ({@link #guided}) within the rest of the budget
     * ({@code -Dshardplan.enumerationFirst=N}; 0: the whole budget, then the dual alone).
     */
    static long enumerationFirst = Long.getLong("shardplan.enumerationFirst", 2_000);

    /**
     * Whether {@link #guided} enumerates the partitions past a dual with its paths as bounds ({@code
     * -Dshardplan.guidedEnumeration=false}: not; tests set it).
     */
    static boolean guidedOn = !"false".equals(System.getProperty("shardplan.guidedEnumeration"));

    /**
     * The most partitions of a shape {@link #guided} enumerates: past them a dual's paths do not cut off enough of them
     * within the budget (DenseNet-121's 254 segments into 16 chunks, about 10^23: 40 s of cuts for nothing; SqueezeNet's
     * 39 into 16, 10^10: complete in 0.6 s).
     */
    static final double GUIDED_PARTITIONS = 1e12;

    /** The path bounds' reads ({@link Search#pathSpent}) that count as one partition priced against the budget. */
    static final long PATH_WORK = 1024;

    /** Whether the last {@link #guided} enumerated every partition, and the paths it bounded them with (for tests). */
    boolean guidedComplete;
    List<Path> guidedRows = List.of();

    /** The most paths of a dual {@link #guided} starts from (the ones the game played last). */
    static final int GUIDE_ROWS = 48;
    /** The most paths {@link #guided} bounds partial partitions with, those its partitions show added. */
    static final int GUIDE_MOST = 256;

    /**
     * After a dual {@code d} below the threshold: the partitions enumerated as where they are few, each partial one also
     * cut off by the dual's paths ({@link Search#pathRows}), within what is left of the budget of partitions. The
     * dual's mixture of paths is a bound over fractional partitions too; a single partition must make one of its paths
     * long, and where the segments are few and coarse (SqueezeNet's 39 at 16 stages) the paths see it early in the
     * enumeration. Where it finishes, its least partition and those below that one's exact step solved exactly ({@link
     * #tighten}), the larger of that and the dual's bound, with the partition; else {@code d} as it was.
     */
    Least guided(Least d, Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
        guidedComplete = false;
        DualState st = lastDual(sch, p, m, v);
        if (!guidedOn || budget <= 0 || st == null || st.rows().isEmpty() || !(d.step() < threshold)
                || partitions(segments - 1, p * v - 1) > GUIDED_PARTITIONS || secondsLeft.getAsDouble() <= 0.05) {
            return d;
        }
        long t0 = System.nanoTime();
        List<Path> rows = st.rows();
        Search s = new Search(sch, p, m, v, threshold, budget, secondsLeft);
        s.pathRows(rows.subList(0, Math.min(rows.size(), GUIDE_ROWS)), GUIDE_MOST); // the ones the game played last first
        if (s.rowCount == 0) {
            return d;
        }
        s.dfs(0, 0);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  guided enumeration %s v %d: %s %.6f s (dual %.6f s; %d partitions priced,"
                    + " %d visited, %d cut by %d paths, path work %d, %.2f s)%n", sch.name(), v, s.aborted ? "stopped, best"
                    : "complete,", s.best, d.step(), s.priced, s.visited, s.pathCuts, s.rowCount, s.pathSpent,
                    (System.nanoTime() - t0) / 1e9);
        }
        guidedComplete = !s.aborted;
        guidedRows = s.rowList;
        // the path bounds' work counted as partitions priced, against the budget the schedules share
        long priced = d.priced() + s.priced + s.pathSpent / PATH_WORK;
        long visited = d.visited() + s.visited;
        if (s.aborted || s.best <= d.step()) {
            return new Least(d.step(), d.ends(), priced, visited, d.layouts());
        }
        if (s.bestEnds == null || !tightenPartitions) {
            return new Least(s.best, s.bestEnds, priced, visited);
        }
        // its least partition and those below that one's exact step solved exactly, as an enumeration's are
        Least t = tighten(s, sch, p, m, v, budget, secondsLeft);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  guided enumeration %s v %d tightened: %.6f s%n", sch.name(), v, t.step());
        }
        return new Least(Math.max(d.step(), t.step()), t.ends(), d.priced() + t.priced(), d.visited() + t.visited(),
                t.layouts());
    }

    /**
     * The least step over partitions with each partition's layouts solved exactly ({@link #partitionBound}), best first:
     * the least partition on the least profiles ({@code s}'s) is solved, giving {@code T}; a second enumeration collects
     * every partition whose least profiles' step is below {@code T} (at most {@link #TIGHTEN_LEAVES}); they are solved in
     * increasing order of that step, {@code T} the least so far, until the next one's is at least {@code T} (none of the
     * rest can be below it) or the budget of node solves ({@link #PARTITION_NODE_SOLVES}) or of cells
     * ({@link #PARTITION_CELLS}) is spent (then the next one's
     * least-profile step bounds the rest). The result is at most {@code s}'s threshold and at least {@code s}'s least.
     */
    private Least tighten(Search s, Schedule sch, int p, int m, int v, long budget, DoubleSupplier secondsLeft) {
        boolean was = sweeping;
        sweeping = chunkSweeps;
        try {
            return tightenSwept(s, sch, p, m, v, budget, secondsLeft);
        } finally {
            sweeping = was;
            sweptBudgets = false;
            // the passes (their ways back up to SWEEP_BACK entries) and their graphs' tables are a tightening's own: not kept
            // while the bound lives on
            sweeps.clear();
            sweepBack = 0;
            sweepGraphs.clear();
            sweepShapes.clear();
        }
    }

    /** {@link #tighten}, its chunk problems answered by sweeps where {@link #sweeping}. */
    private Least tightenSwept(Search s, Schedule sch, int p, int m, int v, long budget, DoubleSupplier secondsLeft) {
        Paths paths = s.paths;
        double t = s.best;
        int[] ends = s.bestEnds;
        sweptBudgets = sweeping && sweptWhole(ends);
        int[] layouts = null;
        long t0 = System.nanoTime();
        long nodesBefore = nodeSolves;
        long cellsBefore = partitionCells;
        PartitionBound first = solvePartition(paths, p, ends, s.threshold, secondsLeft);
        double firstSeconds = (System.nanoTime() - t0) / 1e9;
        long firstNodes = nodeSolves - nodesBefore;
        long firstCells = partitionCells - cellsBefore;
        if (first != null) {
            t = Math.max(t, first.bound());
            layouts = first.layouts();
        }
        if (t <= s.best) {
            return new Least(t, ends, s.priced + s.pathSpent / PATH_WORK, s.visited, layouts);
        }
        Search all = new Search(sch, p, m, v, t, Math.max(0, budget - s.spent()), secondsLeft);
        all.collect = new ArrayList<>();
        if (s.rowCount > 0) {
            all.pathRows(s.rowList, GUIDE_MOST); // the paths that cut off the first enumeration's partitions cut these too
        }
        all.dfs(0, 0);
        long priced = s.priced + all.priced + (s.pathSpent + all.pathSpent) / PATH_WORK;
        long visited = s.visited + all.visited;
        if (all.aborted) {
            return new Least(s.best, s.bestEnds, priced, visited, layouts); // the least profiles' least stands
        }
        all.collect.sort(java.util.Comparator.comparingDouble(x -> x.step()));
        List<Leaf> todo = new ArrayList<>();
        for (Leaf leaf : all.collect) {
            if (leaf.step() >= t) {
                break;
            }
            if (!java.util.Arrays.equals(leaf.ends(), ends)) {
                todo.add(leaf); // the first was solved first
            }
        }
        long affordable = affordable(firstNodes, firstCells);
        if (!sweptBudgets && !todo.isEmpty() && todo.size() > TIGHTEN_REACH * affordable) {
            // more partitions below the first's exact step than the budgets could solve, were each a quarter of the
            // first's solve: the tightening cannot reach its end, and would only raise the bound to the least-profile
            // step of the last partition it solved (DenseNet-121 at batch 8 on 32 A100s, four stages of one
            // micro-batch: 5,285 partitions below, 44 solved in 1.3-2.6 s for 4.731 -> 4.750 ms against a 4.819 ms
            // plan); the least-profile step of the first of them bounds them all. With sweeps the partitions cost a
            // fraction of that (the same row: 1,313 of them in 0.7 s, 4.784 ms), and the tightening goes as far as its
            // budgets, each partition solved raising the bound to the next one's least-profile step
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  tightening %s left out: %d partitions below %.6f s, about %d within"
                        + " the budgets; least profiles %.6f s%n", sch.name(), todo.size(), t, affordable, todo.get(0).step());
            }
            return new Least(Math.min(t, todo.get(0).step()), ends, priced, visited, layouts);
        }
        // a twin only where the chunks are solved one by one (sweeps share their passes by start, a twin's would not)
        Twin twin = tightenAhead && !sweptBudgets && otherCores != null && todo.size() >= 2 ? new Twin(todo, t, secondsLeft)
                : null;
        try {
            for (int k = 0; k < todo.size(); k++) {
                Leaf leaf = todo.get(k);
                if (leaf.step() >= t) {
                    break;
                }
                if (twin != null) {
                    twin.at(k, t);
                }
                PartitionBound pb = solvePartition(paths, p, leaf.ends(), t, secondsLeft);
                if (pb == null) {
                    t = leaf.step(); // no more solves: the least profiles' step of the rest bounds them
                    break;
                }
                double x = Math.max(leaf.step(), pb.bound());
                if (x < t) {
                    t = x;
                    ends = leaf.ends();
                    layouts = pb.layouts();
                }
            }
        } finally {
            if (twin != null) {
                twin.stop();
            }
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  tightened %s: least profiles %.6f s at %s, its partition solved %.6f s"
                    + " (%.2f s; chunk problems: %d solved whole, %d from their segments, of %d), %d below it collected, %d"
                    + " partitions tightened so far: %.6f s at %s; %d chunk problems solved ahead by a twin; %d answered by"
                    + " %d sweeps (work %d)%n",
                    sch.name(), s.best, java.util.Arrays.toString(s.bestEnds), first == null ? Double.NaN : first.bound(), firstSeconds,
                    chunkProblems, chunksCertified, chunkSolves,
                    all.collect.size(), tightened, t, java.util.Arrays.toString(ends), solvedByTwin, sweepAnswers,
                    sweeps.size(), sweepWork);
        }
        return new Least(t, ends, priced, visited, layouts);
    }

    /**
     * Whether {@link #tighten} has a twin of this bound solve, on a thread of its own, the first columns' chunk problems of
     * the partitions it is about to tighten ({@link #partitionBound}'s first two combinations: they do not depend on
     * anything solved before them), at most {@link #AHEAD_LEAVES} partitions ahead, while {@link #otherCores} says another
     * core is free (the search's thread waits for this bound, the reported bound computed beside) ({@code
     * -Dshardplan.tightenAhead=false}: not; tests compare). The same problems, answers and budgets as without: each is
     * taken as if solved here (a problem the twin has not finished is solved here too, the same way). Only where the chunk
     * problems are solved one by one ({@code -Dshardplan.chunkSweeps=false}, or chunks whose frontier is too wide for a
     * sweep, such as a decoder's layers): sweeps share their work by start, which a twin's own sweeps would not.
     */
    static boolean tightenAhead = !"false".equals(System.getProperty("shardplan.tightenAhead"));

    /**
     * Whether another core may work for this bound now (the search's thread waits for it, or nothing runs beside it):
     * {@link #tighten}'s twin solves only while it says so ({@link #tightenAhead}); null (the default): no twin, as with
     * one thread ({@code --threads 1}).
     */
    java.util.function.BooleanSupplier otherCores;

    /** How many partitions ahead of {@link #tighten} its twin may solve ({@link #tightenAhead}). */
    static final int AHEAD_LEAVES = 3;

    /** The chunk problems {@link #solve} took from a twin ({@link #tightenAhead}; tests, the trace). */
    private int solvedByTwin;

    /** {@link #solvedByTwin}. */
    int solvedByTwin() {
        return solvedByTwin;
    }

    /**
     * {@link #tightenAhead}'s twin at work: a thread that, for each partition of {@code todo} in turn (each skipped once
     * its least-profile step reaches the step {@link #tighten} has reached, and never more than {@link #AHEAD_LEAVES}
     * past the one being tightened), solves its chunks under {@link #partitionBound}'s two first combinations on a twin
     * of this bound, depositing the optima where {@link #solve} looks ({@link #ahead}).
     */
    private final class Twin {
        private final java.util.concurrent.ConcurrentHashMap<Fingerprint, Solved> deposit
                = new java.util.concurrent.ConcurrentHashMap<>();
        private volatile int at;
        private volatile double reached;
        private volatile boolean stopped;
        private final Thread thread;

        Twin(List<Leaf> todo, double t, DoubleSupplier secondsLeft) {
            reached = t;
            ahead = deposit;
            PipelineBound twin = new PipelineBound(PipelineBound.this, deposit);
            thread = new Thread(() -> run(twin, todo, secondsLeft), "shardplan-tighten-ahead");
            thread.setDaemon(true);
            thread.start();
        }

        /** {@link #tighten} is at partition {@code k} of its list, its least step so far {@code t}. */
        void at(int k, double t) {
            reached = t;
            at = k;
        }

        /**
         * Takes the deposit away and ends the thread after the solve it is in (not waited for: a chunk of a decoder's
         * layers can take seconds, and its answer is no longer read).
         */
        void stop() {
            stopped = true;
            ahead = null;
        }

        /** Waits while the other cores are not this bound's to use ({@link #otherCores}); false once stopped. */
        private boolean mayRun() {
            while (!stopped && !otherCores.getAsBoolean()) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
            return !stopped;
        }

        private void run(PipelineBound twin, List<Leaf> todo, DoubleSupplier secondsLeft) {
            try {
                for (int k = 1; k < todo.size() && !stopped; k++) {
                    while (k > at + AHEAD_LEAVES && !stopped) {
                        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                    }
                    Leaf leaf = todo.get(k);
                    if (!mayRun() || leaf.step() >= reached || k <= at) {
                        continue; // stopped, past the least step found, or being tightened already
                    }
                    int[] ends = leaf.ends();
                    int chunks = ends.length;
                    for (int first = 0; first < 2 && !stopped; first++) {
                        firstCombination(twin.combo, first);
                        for (int j = 0; j < chunks && mayRun() && secondsLeft.getAsDouble() > 0.05; j++) {
                            int from = j == 0 ? 0 : ends[j - 1];
                            twin.buckets = levels[level(from, ends[j])];
                            int lo = positions.get(from);
                            int hi = positions.get(ends[j]);
                            twin.solve(built, filter, lo, lo, hi, COMBO, recompute, twin.seen, secondsLeft);
                        }
                    }
                }
            } catch (RuntimeException | OutOfMemoryError e) {
                // the twin only saves solves: where it fails, tighten solves them itself
            }
        }
    }

    /** {@link #partitionBound}'s first columns' combination {@code first} (0 or 1) into {@code combo}. */
    private static void firstCombination(double[] combo, int first) {
        java.util.Arrays.fill(combo, first == 0 ? 0 : 1);
        combo[0] = 1;
        combo[1] = 1;
        combo[2] = 1;
        combo[3] = 0;
    }

    /** -Dshardplan.trace=true: {@link #tighten} prints its partitions and what their solves gave. */
    private static final boolean TRACE = Boolean.getBoolean("shardplan.trace");

    /** A partition and its step on the least profiles, collected by {@link #tighten}'s second enumeration. */
    record Leaf(double step, int[] ends) {
    }

    /** The most partitions {@link #tighten} collects; past it the least profiles' least stands. */
    static final int TIGHTEN_LEAVES = 10_000;

    /** {@link #partitionBound} of a partition within the budget of node solves; null past it or the time. */
    private PartitionBound solvePartition(Paths paths, int p, int[] ends, double threshold, DoubleSupplier secondsLeft) {
        if (nodeSolves >= nodeBudget() || partitionCells >= cellBudget || (sweeping && sweepWork >= SWEEP_WORK)
                || secondsLeft.getAsDouble() <= 0.05) {
            return null;
        }
        int before = chunkSolves;
        PartitionBound pb = partitionBound(paths, p, ends, threshold, PARTITION_ROUNDS, secondsLeft);
        nodeSolves += (long) (chunkSolves - before) * positions.get(segments) / Math.max(1, ends.length);
        tightened++;
        return pb;
    }

    /**
     * Whether {@link #partitionBound}'s chunk solves are of the combination scaled to a largest weight of 1 (the same
     * minimisers, the least scaled back), so that combinations that differ by a factor are solved once; tests: off.
     */
    boolean normaliseCombos = true;

    /** The chunk problems {@link #partitionBound} solved (the rest were known: equal problems, one solve). */
    private int chunkProblems;

    /** {@link #chunkProblems}. */
    int chunkProblems() {
        return chunkProblems;
    }

    /**
     * How many times the partitions {@link #tighten} could solve within what is left of its budgets (at the first
     * partition's cost each) the partitions it collected may be before it gives up: each later one may stop sooner (at the
     * step reached), so a few times what the first's cost allows may still finish.
     */
    static final int TIGHTEN_REACH = 4;

    /**
     * The partitions the rest of the node and cell budgets ({@link #PARTITION_NODE_SOLVES}, {@link #cellBudget}) allow at
     * {@code nodes} node solves and {@code cells} cells each; unbounded where the first spent nothing (its chunks known).
     */
    private long affordable(long nodes, long cells) {
        long byNodes = nodes > 0 ? Math.max(0, nodeBudget() - nodeSolves) / nodes : Long.MAX_VALUE / 8;
        long byCells = cells > 0 ? Math.max(0, cellBudget - partitionCells) / cells : Long.MAX_VALUE / 8;
        return Math.min(byNodes, byCells);
    }

    /** The rounds of {@link #partitionBound} per partition the enumeration tightens. */
    static final int PARTITION_ROUNDS = 20;

    /**
     * The most node solves (a chunk's exact dynamic program counts its nodes) the enumeration spends tightening partitions
     * with {@link #partitionBound}; past it, the partitions keep their least profiles' step (a valid, weaker bound).
     */
    static final long PARTITION_NODE_SOLVES = 200_000;

    /**
     * The node solves (as {@link #PARTITION_NODE_SOLVES} counts them: a chunk's problem asked for counts its nodes) the
     * tightening spends while its chunk problems are answered by sweeps ({@link #chunkSweeps}). A chunk problem then costs
     * little once its sweep has passed its end; what each partition still costs is its rounds (the games, the rows'
     * longest paths, the columns' terms), in proportion to these: DenseNet-121 at batch 8 on 32 A100s (four stages of one
     * micro-batch) asks for 762 a partition, at about 0.4 us each on a 2-core host (2026-12-06), so this budget is about
     * 1,300 of its 5,286 partitions below the plan, about half a second of their rounds.
     */
    static final long SWEPT_NODE_SOLVES = 1_000_000;

    /**
     * The most work of the sweeps ({@link ChunkSweep#work}: table entries times candidates, and the rows made) of one
     * bound's tightening; past it, as past {@link #SWEPT_NODE_SOLVES}. DenseNet-121's 1,300 partitions above sweep 2.1e8
     * (about half a second on the same host).
     */
    static final long SWEEP_WORK = 400_000_000;

    /**
     * The node solves the tightening may spend: {@link #SWEPT_NODE_SOLVES} where its chunks are swept ({@link
     * #sweptBudgets}), else {@link #PARTITION_NODE_SOLVES}.
     */
    private long nodeBudget() {
        return sweptBudgets ? SWEPT_NODE_SOLVES : PARTITION_NODE_SOLVES;
    }

    /**
     * Whether the tightening under way has its chunk problems answered by sweeps (its first partition's chunks all
     * narrow enough, {@link #sweptWhole}): then its budget of node solves is {@link #SWEPT_NODE_SOLVES}, it goes on where
     * its partitions are more than the budgets (no {@link #TIGHTEN_REACH}) and no twin solves ahead; else all as with a
     * solve per chunk problem (a decoder's layers).
     */
    private boolean sweptBudgets;

    /**
     * The most cells (node costs and link-table entries of the chunk problems, {@link #partitionCells}) the enumeration
     * spends tightening partitions with {@link #partitionBound}; past it, as past {@link #PARTITION_NODE_SOLVES}. A
     * chunk of a decoder's layers has hundreds of layouts per node and link tables of 10^4 to 10^5 entries, where a
     * dense CNN's chunk has tens: counted in nodes alone, the tightening of GPT-145.6B's reported bound (20 partitions
     * of 4 chunks) read 5.5e8 cells in 34 s within the node budget, while the CNNs' and U-Net's read at most 4e6. At
     * this budget GPT-1.7B at 4 stages keeps its tightened bound and plan, and GPT-145.6B's zero-bubble bound stops after
     * its first partition (16.05 s instead of 16.13 s, against a 16.15 s step; 8 s instead of 34 s; megatron.md). That
     * first partition's solve is the whole cost there, and what it buys is its layouts, priced as the plan (16.1485 s ->
     * 16.1477 s): the bound that 145.6B reports is the least over the schedules, the interleaved dual's 14.83 s.
     */
    static final long PARTITION_CELLS = 40_000_000;

    /** The budget of cells of this bound's tightening: {@link #PARTITION_CELLS} (tests: less). */
    long cellBudget = PARTITION_CELLS;

    /** The cells of the chunk problems {@link #partitionBound} built so far (see {@link #PARTITION_CELLS}). */
    private long partitionCells;
    /** The node solves spent in {@link #partitionBound} by the enumerations so far. */
    private long nodeSolves;
    /** The partitions {@link #partitionBound} tightened. */
    private int tightened;

    /**
     * The cells of the whole model's problem, its nodes' layouts and its links' tables: at least what one round of {@link
     * #partitionBound} reads over the chunks of any partition (see {@link #PARTITION_CELLS}). O(nodes + links).
     */
    long cells() {
        long r = 0;
        for (ProblemBuilder.Unit u : built.units()) {
            r += u.layouts().size();
        }
        for (ProblemBuilder.Link l : built.links()) {
            r += l.seconds().length;
        }
        return r;
    }

    /** Whether the enumeration tightens its partitions below the least so far with {@link #partitionBound} (tests: off). */
    boolean tightenPartitions = true;

    /** The partitions the enumerations tightened with {@link #partitionBound}. */
    int tightened() {
        return tightened;
    }

    /**
     * The most partitions {@link #least} enumerates ({@code C(K - 1, p v - 1)} for K segments; the pruning visits far
     * fewer): beyond it, {@link #dual} bounds the least step without enumerating. A chain of a few dozen layers stays
     * below it (GPT-1.7B with 16 chunks: about 3 million), a graph cut at every node is far above it (DenseNet-121's 254
     * segments into 16 chunks: about 10^23).
     */
    static final double ENUMERATED_PARTITIONS = 1e8;

    /**
     * Whether this bound's segments cut into {@code chunks} chunks are too many partitions to enumerate
     * ({@link #ENUMERATED_PARTITIONS}): such a shape is bounded by {@link #dual}. O(chunks).
     */
    boolean tooManyToEnumerate(int chunks) {
        return tooManyToEnumerate(segments, chunks);
    }

    /** {@link #tooManyToEnumerate(int)} for a bound of {@code segments} segments. O(chunks). */
    static boolean tooManyToEnumerate(int segments, int chunks) {
        return partitions(segments - 1, chunks - 1) > ENUMERATED_PARTITIONS;
    }

    /** {@code C(n, r)} in floating point. O(r). */
    static double partitions(int n, int r) {
        if (r < 0 || r > n) {
            return 0;
        }
        double c = 1;
        for (int i = 1; i <= Math.min(r, n - r); i++) {
            c = c * (n - Math.min(r, n - r) + i) / i;
        }
        return c;
    }

    /**
     * A path of a schedule's op order to device {@code device}'s last op, as a bound on the step of any partition: per
     * chunk {@code j} the coefficients {@code coef[j * PARTS + k]} of the chunk's least forward ({@code k = 0}),
     * input-gradient (1) and weight-gradient (2) times, of what every layout adds to a forward-backward pair (3), of
     * its send (4) and of what every layout adds once more where the path holds a pair of the chunk and ends on its
     * device ({@link PipelineBound#chunkOwn}, 5), and (backward split into input and weight gradients) of what every layout
     * adds to a forward with an input gradient, for the pairs of the chunk left over by its triples (6: with {@code t} the
     * triples, {@code min(F - t, B_in - t)}; {@code n_F f + n_I b_in + n_W b_w} is {@code t} triples, that many pairs and
     * single parts, each at least its least); the device's gradient reduction and optimizer step follow. On every plan with
     * the partition the path is at most as long as the step ({@link #length}).
     */
    record Path(int device, double[] coef) {
        /** Coefficients per chunk. */
        static final int PARTS = 7;
        /** Values per chunk of a partition ({@link PipelineBound#values}): the six parts, the reduction, the update. */
        static final int VALUES = 9;
        /** Where a chunk's least exposed reduction and optimizer step lie among its values. */
        static final int SYNC = 7;
        static final int UPDATE = 8;

        /**
         * The path's length on a partition's least chunk values ({@code VALUES} per chunk), its device's reduction and
         * optimizer step added: at most the step of every plan with that partition. O(chunks).
         */
        double length(double[] values, int p) {
            int chunks = coef.length / PARTS;
            double r = 0;
            for (int j = 0; j < chunks; j++) {
                for (int k = 0; k < PARTS; k++) {
                    r += coef[j * PARTS + k] * values[j * VALUES + k];
                }
                if (j % p == device) {
                    r += values[j * VALUES + SYNC] + values[j * VALUES + UPDATE];
                }
            }
            return r;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Path q && q.device == device && java.util.Arrays.equals(q.coef, coef);
        }

        @Override
        public int hashCode() {
            return 31 * device + java.util.Arrays.hashCode(coef);
        }
    }

    /** A partition's least chunk values ({@link Path#VALUES} per chunk) for the chunks ending at {@code ends}. O(chunks). */
    double[] values(int[] ends) {
        double[] r = new double[ends.length * Path.VALUES];
        double[] ch = new double[CHUNK_PARTS];
        int from = 0;
        for (int j = 0; j < ends.length; j++) {
            valuesInto(from, ends[j], ch, r, j * Path.VALUES);
            from = ends[j];
        }
        return r;
    }

    /** The least values ({@link Path#VALUES}) of the chunk of segments {@code [from, to)} into {@code r} at {@code off}. O(1). */
    private void valuesInto(int from, int to, double[] ch, double[] r, int off) {
        chunkInto(from, to, ch);
        System.arraycopy(ch, 0, r, off, 4);
        r[off + 4] = to < segments ? sendAt[to] : 0;
        r[off + 5] = chunkOwnUpdate(from, to);
        r[off + 6] = ch[4];
        r[off + Path.SYNC] = chunkSync(from, to);
        r[off + Path.UPDATE] = profileUpdate(from, to);
    }

    /** Profiles of chunk values ({@link #values}, or a mixture of them), for tracing the longest paths. */
    static List<StageProfile> profiles(double[] values, int chunks) {
        List<StageProfile> r = new ArrayList<>(chunks);
        for (int j = 0; j < chunks; j++) {
            int o = j * Path.VALUES;
            r.add(new StageProfile(values[o], values[o + 1] + values[o + 2], values[o + 2], values[o + 4], values[o + Path.SYNC],
                    0, 0, values[o + Path.UPDATE]));
        }
        return r;
    }

    /** The most rounds of {@link #dual}: each one dynamic program over the partitions and a small matrix game. */
    static final int DUAL_ROUNDS = 80;

    /**
     * The rounds a path stays among {@link #dual}'s rows, and a partition among its columns, without the game playing it:
     * the game's linear program grows with both, and rows long unplayed seldom return (DenseNet-121, 32 chunks: 2,500 rows
     * after 80 rounds without it). With the smoothed strategy, 5 rounds for both instead of 10 for the rows alone: on
     * DenseNet-121 at batch 128 (16 stages, 16 micro-batches) interleaved with 4 chunks a device 9.94 ms in 1.9 s of CPU
     * instead of 10.04 ms in 3.6 s, zero bubble and 2 chunks within 0.5% of what they reached.
     */
    static final int DUAL_KEEP = 5;

    /** A row of {@link #dual}'s game: a path, its payoffs against the columns so far, the last round the game played it. */
    private static final class Row {
        final Path path;
        double[] pay = new double[8];
        int filled;
        int played;

        Row(Path path, int round) {
            this.path = path;
            this.played = round;
        }

        /** The path's length on each column's values, the new columns' computed. O(new columns * chunks). */
        double[] payoffs(List<double[]> cols, int p) {
            if (pay.length < cols.size()) {
                pay = java.util.Arrays.copyOf(pay, Math.max(cols.size(), 2 * pay.length));
            }
            for (; filled < cols.size(); filled++) {
                pay[filled] = path.length(cols.get(filled), p);
            }
            return java.util.Arrays.copyOf(pay, cols.size());
        }

        /** The payoffs with the columns {@code gone} (indices into the columns before) left out. O(columns). */
        void drop(boolean[] gone) {
            int w = 0;
            for (int c = 0; c < filled; c++) {
                if (!gone[c]) {
                    pay[w++] = pay[c];
                }
            }
            filled = w;
        }
    }

    /**
     * The weight of the best strategy so far in {@link #dual}'s smoothed strategy ({@code -Dshardplan.dualSmoothing=false}:
     * 0, the game's strategy alone; tests set it). On DenseNet-121 at 64 A100s, batch 128, 16 stages, 16 micro-batches:
     * interleaved with 4 chunks a device stalled at 7.73 ms without it (its bound swinging between 6.6 and 7.7 ms from
     * round to round), 10.04 ms with it (9.94 ms with {@link #DUAL_KEEP}'s 5 rounds); zero bubble reaches the same bound in
     * fewer rounds.
     */
    static double smoothing = "false".equals(System.getProperty("shardplan.dualSmoothing")) ? 0 : 0.8;

    /** {@link #dual} stops after {@link #DUAL_PATIENCE} rounds in a row that raise its bound by less than this share. */
    static final double DUAL_STALL = 1e-3;
    static final int DUAL_PATIENCE = 20;
    /** {@link #partitionBound} stops after this many rounds in a row that raise its bound by less than {@link #DUAL_STALL}. */
    static final int PARTITION_PATIENCE = 6;

    /**
     * A lower bound on {@link #least}'s step without enumerating partitions, for models with too many cut positions to
     * enumerate (a graph cut at every node): Lagrangian duality over the paths of the op order. Every path {@code pi}
     * to a device's last op, with that device's gradient reduction and optimizer step, is at most the step of every plan
     * with partition {@code P} ({@link Path#length}), so for any distribution {@code lambda} over a set of paths
     *
     * <pre>  least step &gt;= min_P max_pi L_pi(P) &gt;= min_P sum_pi lambda_pi L_pi(P)</pre>
     *
     * and the right side is additive over chunks: a dynamic program over (chunk, end position) with each chunk's cost
     * {@code sum_pi lambda_pi} times its terms in {@code L_pi}, exact, O(p v K^2) for K segments. Each round adds the
     * minimising partition as a column and the longest paths of its least profiles (and of the mixture of the columns
     * the game plays) as rows, and takes {@code lambda} as the rows' optimal strategy in the matrix game of rows against
     * columns ({@link #game}, a linear program): a double-oracle scheme whose every round's dynamic program is a valid
     * bound, whatever {@code lambda}. It stops at the threshold, after {@link #DUAL_ROUNDS} rounds, when neither side
     * has a new answer, or when {@link #DUAL_PATIENCE} rounds in a row gained less than {@link #DUAL_STALL}.
     *
     * <p>What it leaves: the game's value is the least over mixtures of partitions, which can share the work among the
     * chunks in ways no single partition can (a chunk's forward from one partition, its backward from another), so it
     * stays below the least over partitions (DenseNet-121 at 64 devices, 16 stages, zero bubble: 4.41 ms, where the
     * plan's own partition has 4.70 ms on the same least profiles). Capped at {@code threshold}; no minimising partition
     * is returned (the plan is left as it is). O(rounds (p v K^2 + game)).
     */
    Least dual(Schedule sch, int p, int m, int v, double threshold, DoubleSupplier secondsLeft) {
        if (!sch.exact()) {
            throw new IllegalArgumentException("the schedule must be synchronous, found " + sch.name());
        }
        int chunks = p * v;
        if (chunks > segments) {
            return new Least(Double.POSITIVE_INFINITY, null, 0, 0);
        }
        Paths paths = new Paths(sch, p, m, v);
        List<Row> rows = new ArrayList<>();
        java.util.Set<Path> known = new java.util.HashSet<>();
        List<double[]> cols = new ArrayList<>();
        java.util.Set<List<Integer>> seenCols = new java.util.HashSet<>();
        List<List<Integer>> colKeys = new ArrayList<>();
        List<Integer> colPlayed = new ArrayList<>();
        double best = 0;
        int rounds = 0;
        int[] ends = balanced(chunks);
        int[] also = null;
        double[] bestAgg = null;
        double[] bestDev = null;
        int stall = 0;
        java.util.Set<List<Integer>> played = new java.util.LinkedHashSet<>();
        dualColumns.put(shapeKey(sch, p, m, v), played);
        if (dwellSeed && 2 * chunks > DUAL_ROUNDS && chunks <= DUAL_ROUNDS) {
            dwellRows(paths, p, chunks, values(ends), rows, known);
        }
        while (true) {
            for (int[] e : new int[][] {ends, also}) {
                if (e != null && seenCols.add(toList(e))) {
                    played.add(toList(e));
                    double[] vals = values(e);
                    cols.add(vals);
                    colKeys.add(toList(e));
                    colPlayed.add(rounds);
                    for (Path x : paths.trace(profiles(vals, chunks), vals)) {
                        if (known.add(x)) {
                            rows.add(new Row(x, rounds));
                        }
                    }
                }
            }
            if (rounds >= DUAL_ROUNDS || best >= threshold || secondsLeft.getAsDouble() <= 0.05) {
                break;
            }
            rounds++;
            double[][] a = new double[rows.size()][];
            for (int r = 0; r < a.length; r++) {
                // not clipped at the threshold: clipping flattens the payoffs of the columns above it, and the
                // rows' strategy then weighs the paths that make them long less (DenseNet-121, 16 stages: the
                // duals stalled 7-30% lower)
                a[r] = rows.get(r).payoffs(cols, p);
            }
            double[][] mixed = game(a);
            double[] lambda = mixed[0];
            for (int c = 0; c < cols.size(); c++) {
                if (mixed[1][c] > 0) {
                    colPlayed.set(c, rounds);
                }
            }
            // the rows' best answer to the columns' mixture: the longest paths of its mean values
            double[] mean = new double[chunks * Path.VALUES];
            for (int c = 0; c < cols.size(); c++) {
                for (int i = 0; i < mean.length; i++) {
                    mean[i] += mixed[1][c] * cols.get(c)[i];
                }
            }
            int before = rows.size();
            for (Path x : paths.trace(profiles(mean, chunks), mean)) {
                if (known.add(x)) {
                    rows.add(new Row(x, rounds));
                }
            }
            for (int r = 0; r < lambda.length; r++) {
                if (lambda[r] > 0) {
                    rows.get(r).played = rounds;
                }
            }
            double[][] w = weights(lambda, r -> rows.get(r).path, chunks, p);
            double[] agg = w[0];
            double[] dev = w[1];
            int[] next = new int[chunks];
            double got = partition(agg, dev, chunks, next);
            also = null;
            if (bestAgg != null && smoothing > 0) {
                // the weights between the best so far and the game's (Wentges's smoothing): the bound is concave in
                // lambda, so the point between is at least the two's mix, and the game's strategy, which swings from
                // round to round with the columns it has seen, moves the bound from where it stands rather than anew
                double[] sAgg = between(smoothing, bestAgg, agg);
                double[] sDev = between(smoothing, bestDev, dev);
                int[] sNext = new int[chunks];
                double sGot = partition(sAgg, sDev, chunks, sNext);
                also = sNext;
                if (sGot > got) {
                    got = sGot;
                    agg = sAgg;
                    dev = sDev;
                }
            }
            stall = got > best * (1 + DUAL_STALL) ? 0 : stall + 1;
            if (got > best) {
                bestAgg = agg;
                bestDev = dev;
            }
            best = Math.max(best, got);
            if (stall >= DUAL_PATIENCE) {
                break; // the last rounds raised the bound by less than DUAL_STALL: more would cost more than they give
            }
            boolean newColumn = !seenCols.contains(toList(next)) || also != null && !seenCols.contains(toList(also));
            if (!newColumn && rows.size() == before) {
                break; // neither side has a new answer: the game's value over these rows and columns is reached
            }
            // rows the game has not played for DUAL_KEEP rounds leave it (any rows give a valid bound; they may come back)
            final int now = rounds;
            rows.removeIf(r -> now - r.played > DUAL_KEEP && known.remove(r.path));
            // and so do columns (the game's linear program grows with them too; they may come back)
            boolean[] gone = new boolean[cols.size()];
            boolean any = false;
            for (int c = 0; c < gone.length; c++) {
                gone[c] = now - colPlayed.get(c) > DUAL_KEEP;
                any |= gone[c];
            }
            if (any) {
                for (Row r : rows) {
                    r.drop(gone);
                }
                for (int c = gone.length - 1; c >= 0; c--) {
                    if (gone[c]) {
                        seenCols.remove(colKeys.remove(c));
                        cols.remove(c);
                        colPlayed.remove(c);
                    }
                }
            }
            ends = next;
        }
        // the paths the game played last first
        List<Row> byPlay = new ArrayList<>(rows);
        byPlay.sort((a, b) -> Integer.compare(b.played, a.played));
        List<Path> kept = new ArrayList<>(rows.size());
        for (Row r : byPlay) {
            kept.add(r.path);
        }
        List<int[]> taken = new ArrayList<>(colKeys.size());
        for (List<Integer> c : colKeys) {
            taken.add(c.stream().mapToInt(Integer::intValue).toArray());
        }
        lastDual = new DualState(shapeKey(sch, p, m, v), best, kept, bestAgg, bestDev, taken);
        return new Least(Math.min(threshold, best), null, rounds, rounds);
    }

    /**
     * The weights a mixture {@code lambda} of paths ({@code path.apply(r)} the r-th) puts on a partition's terms: {@code
     * {agg, dev}}, per chunk the mixed paths' coefficients ({@link Path#PARTS} a chunk) and the weight of the paths of the
     * chunk's device (the devices' reductions and updates). Rows of weight 0 add nothing. O(rows chunks).
     */
    static double[][] weights(double[] lambda, java.util.function.IntFunction<Path> path, int chunks, int p) {
        double[] agg = new double[chunks * Path.PARTS];
        double[] dev = new double[chunks];
        for (int r = 0; r < lambda.length; r++) {
            if (!(lambda[r] > 0)) {
                continue;
            }
            Path x = path.apply(r);
            for (int i = 0; i < agg.length; i++) {
                agg[i] += lambda[r] * x.coef()[i];
            }
            for (int j = x.device(); j < chunks; j += p) {
                dev[j] += lambda[r];
            }
        }
        return new double[][] {agg, dev};
    }

    /** {@code s best + (1 - s) now}, element by element: weights smoothed towards the best so far. O(length). */
    static double[] between(double s, double[] best, double[] now) {
        double[] r = new double[now.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = s * best[i] + (1 - s) * now[i];
        }
        return r;
    }

    /**
     * Where the last {@link #dual} stopped: its shape ({@link #shapeKey}), its bound, the paths it kept as rows and the
     * weights of its best strategy (per chunk, the paths' coefficients and the devices' reductions and updates; null
     * where no round ran) and the partitions (chunk ends) it kept as columns: {@link CutBranch} starts its nodes from them.
     */
    record DualState(String shape, double bound, List<Path> rows, double[] agg, double[] dev, List<int[]> columns) {
    }

    private DualState lastDual;

    /** {@link DualState} of the last {@link #dual} of shape {@code (sch, p, m, v)}; null where another ran after it. */
    DualState lastDual(Schedule sch, int p, int m, int v) {
        return lastDual != null && lastDual.shape().equals(shapeKey(sch, p, m, v)) ? lastDual : null;
    }

    /**
     * The seconds {@link #branchCuts} may spend on each dual's shape ({@code -Dshardplan.cutBranchSeconds}; 0, the
     * default: none). Off by default: on DenseNet-121 (254 segments) 20 s of it raised interleaved's dual at 64 A100s,
     * batch 128 (64 chunks) by 0.09% and 10 s at 16 and 8 A100s (16 chunks) by 0.02%, where on a small decoder (a few
     * dozen segments) it closes most of the dual's gap to the fastest plan in a few nodes (docs/schedules.md).
     */
    static double branchSeconds = Double.parseDouble(System.getProperty("shardplan.cutBranchSeconds", "0"));

    /**
     * The most of a dual's rows, the last played first, that {@link ChunkDwellBound} prices after it, beside the dual's
     * best weights as one more row (so never below the dual) ({@code -Dshardplan.chunkDwellRows}; 0, the default: none).
     * Off by default: on DenseNet-121 over 32 rows it raised the duals that set the configurations' bounds by 0.02-0.25%
     * (interleaved with 4 chunks a device at 16 A100s, batch 128: 20.855 -> 20.860 ms; zero bubble at 64 A100s, batch 8:
     * 4.470 -> 4.473 ms, at 16 A100s, batch 8: 5.454 -> 5.467 ms) and zero bubble's at 64 A100s, batch 128 by 0.8%
     * (11.159 -> 11.247 ms, below interleaved's plans there), at 0.3-1.4 s a shape (docs/schedules.md).
     */
    static int dwellRowsUsed = Integer.getInteger("shardplan.chunkDwellRows", 0);

    /**
     * The dual {@code d} of shape {@code (sch, p, m, v)} raised by a branch over the cuts ({@link CutBranch}) for at most
     * {@link #branchSeconds}, stopping early where the time is short: still a bound over every partition, at least {@code
     * d}'s, at most the threshold. {@code d} as it is where the branch is off or the dual reached the threshold.
     */
    private Least branchCuts(Least d, Schedule sch, int p, int m, int v, double threshold, DoubleSupplier secondsLeft) {
        DualState st = lastDual(sch, p, m, v);
        if (dwellRowsUsed > 0 && st != null && d.step() < threshold) {
            long t0 = System.nanoTime();
            ChunkDwellBound cd = new ChunkDwellBound(this, p, p * v);
            double b = cd.bound(st.rows(), dwellRowsUsed, st.agg(), st.dev(), threshold, secondsLeft, 0.05);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  chunk dwell bound %s v %d: %.6f s over %d rows against the dual's %.6f s"
                        + " (%.2f s)%n", sch.name(), v, b, cd.rowsUsed, d.step(), (System.nanoTime() - t0) / 1e9);
            }
            if (b > d.step()) {
                d = new Least(b, null, d.priced(), d.visited());
            }
        }
        if (branchSeconds <= 0 || st == null || !(d.step() < threshold)) {
            return d;
        }
        long t0 = System.nanoTime();
        CutBranch cb = new CutBranch(this, sch, p, m, v);
        double stopAt = Math.max(0.05, secondsLeft.getAsDouble() - branchSeconds);
        double b = Math.max(d.step(), cb.bound(st, threshold, secondsLeft, stopAt));
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  cut branch %s v %d: dual %.6f s -> %.6f s (%d nodes, %s, %.2f s)%n",
                    sch.name(), v, d.step(), b, cb.nodes, cb.complete ? "complete" : "stopped",
                    (System.nanoTime() - t0) / 1e9);
        }
        return new Least(b, null, d.priced(), d.visited());
    }

    /** The partitions (chunk ends) that each shape's last {@link #dual} took as columns, by {@link #shapeKey}. */
    private final java.util.Map<String, java.util.Set<List<Integer>>> dualColumns = new java.util.HashMap<>();

    private static String shapeKey(Schedule sch, int p, int m, int v) {
        return sch.name() + " " + p + " " + m + " " + v;
    }

    /** How many times {@link #dualStart} ran its descents on threads (for tests). */
    int threadedDescents;

    /** How many of {@link #dualStart}'s columns, least step first, it moves by a local search. */
    static final int DUAL_STARTS = 4;

    /**
     * A start for the local searches over the cuts from the partitions {@link #dual} took as columns under this shape
     * (null where it has not run): the {@link #DUAL_STARTS} with the least step on the least profiles, each moved by
     * {@link #descend}, the one that ends lowest (the first of equals). The columns minimise a weighted sum of the op
     * order's paths, so they spread the work as the schedule's paths weigh it, where equal shares of the work do not; on
     * DenseNet-121 the local searches end at different partitions from different starts (at 64 A100s, batch 512, 8
     * stages of 8 micro-batches under zero bubble: plans of 33.633 ms from equal shares, 33.183 ms from the columns,
     * {@code PipelineBoundTest.theDualsColumnsStartALocalSearchToAFasterPlan}). With {@code parallel} (the other cores idle: the search waits for this bound) the descents run on up to
     * {@link #PREFETCH_THREADS} threads, each with its own {@link Paths} and {@link Leaves} (the bound's tables are only
     * read), with the same answer. Not a bound: a partition to solve and price as a plan. O(columns (segments + ops) +
     * DUAL_STARTS descents).
     */
    int[] dualStart(Paths paths, Schedule sch, int p, int m, int v, DoubleSupplier secondsLeft, boolean parallel) {
        java.util.Set<List<Integer>> cols = dualColumns.get(shapeKey(sch, p, m, v));
        if (cols == null || cols.isEmpty()) {
            return null;
        }
        int chunks = p * v;
        Leaves leaves = new Leaves(paths, chunks);
        List<int[]> starts = new ArrayList<>();
        List<Double> steps = new ArrayList<>();
        for (List<Integer> c : cols) {
            int[] e = c.stream().mapToInt(Integer::intValue).toArray();
            starts.add(e);
            steps.add(leaves.step(e));
        }
        Integer[] order = new Integer[starts.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingDouble(steps::get)); // stable: ties in column order
        int n = Math.min(DUAL_STARTS, order.length);
        int[][] moved = new int[n][];
        double[] ended = new double[n];
        java.util.Arrays.fill(ended, Double.NaN);
        int threads = parallel ? Math.min(PREFETCH_THREADS, n) : 1;
        if (threads > 1) {
            threadedDescents++;
        }
        // one thread: the caller's alone, with the chunks above
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        Throwable[] failure = new Throwable[threads];
        org.shardplan.planner.solver.SolverThreads.runAll(threads, "shardplan-descent", false, id -> () -> {
            try {
                Leaves own = id == threads - 1 ? leaves : new Leaves(new Paths(sch, p, m, v), chunks);
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    if (secondsLeft.getAsDouble() <= 0.05) {
                        continue;
                    }
                    int[] e = starts.get(order[i]).clone();
                    ended[i] = descend(own, e, PipelineSearch.DESCENT_PASSES, secondsLeft);
                    moved[i] = e;
                }
            } catch (RuntimeException | Error e) {
                failure[id] = e;
                next.set(n);
            }
        });
        for (Throwable f : failure) {
            org.shardplan.planner.solver.SolverThreads.rethrowUnchecked(f);
        }
        int[] best = null;
        double least = Double.POSITIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (moved[i] != null && ended[i] < least) {
                least = ended[i];
                best = moved[i];
            }
        }
        return best;
    }

    /**
     * A dual's bound {@code d} raised to {@link #pivot}'s where that is higher (and {@code d} below the threshold); the
     * rest of {@code d} as it was. O(pivot).
     */
    private Least withPivot(Least d, Schedule sch, int p, int m, int v, double threshold, DoubleSupplier secondsLeft) {
        if (!pivotOn || !(d.step() < threshold)) {
            return d;
        }
        long t0 = System.nanoTime();
        Least pv = pivot(sch, p, m, v, threshold, secondsLeft);
        if (TRACE && pv != null) {
            System.err.printf(java.util.Locale.ROOT, "  pivot rows %s v %d: %.6f s (dual %.6f s, %.2f s)%n", sch.name(), v,
                    pv.step(), d.step(), (System.nanoTime() - t0) / 1e9);
        }
        return pv != null && pv.step() > d.step() ? new Least(pv.step(), d.ends(), d.priced(), d.visited(), d.layouts()) : d;
    }

    /** Whether {@link #least} raises its dual with {@link #pivot} ({@code -Dshardplan.pivotRows=false}: not; tests set it). */
    static boolean pivotOn = !"false".equals(System.getProperty("shardplan.pivotRows"));

    /**
     * How much heavier {@link #pivot}'s families make the pivot chunk, one family a factor: on DenseNet-201 at 64 A100s
     * five (1.2 to 5) give 13.054 ms and a start that ends at a 13.759 ms plan, these eleven 13.088 ms and 13.679 ms,
     * for 0.2 s more of tables.
     */
    static final double[] PIVOT_SCALES = {1.1, 1.2, 1.35, 1.5, 1.75, 2, 2.5, 3, 4, 6, 10};

    /** The most cells (chunks times (segments + 1) squared) of {@link #pivot}'s table; past it no pivot bound. */
    static final long PIVOT_CELLS = 12_000_000;

    /**
     * The most cells (a chunk over a range of segments, for one row's program after its pivot or for the pivots' table)
     * {@link #pivot} reads; past them no pivot bound (DenseNet-201's 32 chunks at 64 A100s: 34 million).
     */
    static final long PIVOT_WORK = 300_000_000;

    /** The relative width at which {@link #pivot}'s bisection stops. */
    static final double PIVOT_PRECISION = 1e-4;

    /** The partition of the last {@link #pivot}'s least, by {@link #shapeKey} (a start for the local searches). */
    private final java.util.Map<String, int[]> pivotEnds = new java.util.HashMap<>();

    /** The partition of the last {@link #pivot} of shape {@code (sch, p, m, v)}'s least; null where none ran. */
    int[] pivotStart(Schedule sch, int p, int m, int v) {
        int[] e = pivotEnds.get(shapeKey(sch, p, m, v));
        return e == null ? null : e.clone();
    }

    /**
     * A bound on {@link #least}'s step that keeps the integrality of the cuts for one family of paths at a time: the
     * least over single partitions (not mixtures, as {@link #dual}'s game) of the largest of rows that each pivot on one
     * chunk. A row of family {@code f} for chunk {@code k} is the path to device 0's last op traced on the balanced
     * partition's least values with chunk {@code k}'s made {@code PIVOT_SCALES[f]} times heavier (where one micro-batch
     * runs forward through every chunk and back, the round trip the step of a deep pipeline with few micro-batches
     * is made of, and dwells on {@code k}); on a partition it keeps its own coefficients on chunk {@code k} and on the
     * chunks after it, and on each chunk {@code j} before it the least coefficient that any row pivoting after {@code j}
     * has there (the values are at least 0, so that row is at most the path's length, {@link Path#length}, which is at
     * most the step of every plan with the partition; device 0's reduction and update are kept only where it holds the
     * pivot). The largest row of a partition is then at most {@code T} where a dynamic program over (chunk, end) finds
     * it: the chunks before the pivot summed exactly along the partition (the least such sum kept per state, which
     * only loosens the later tests), the pivot exact, the chunks after it the least over every partition of them into the
     * chunks left; so where no partition passes at {@code T}, none of the rows' least over partitions is below it, and a
     * bisection over {@code T} gives the bound, capped at {@code threshold}. DenseNet-201 at 64 A100s, batch 64 (zero
     * bubble, 32 stages, 16 micro-batches, 414 segments): 13.088 ms against the dual's 12.775 ms; and its partition is a
     * start for the local searches ({@link #pivotStart}). One chunk a device only (interleaved, a path reaches few of
     * the chunks before its pivot, and the shared coefficients are 0). Null where it does not apply, past {@link
     * #TABLE_SEGMENTS} segments (the chunks' values are a table of K^2), {@link #PIVOT_CELLS} or {@link #PIVOT_WORK}, or
     * out of time.
     * O(families chunks^2 K^2 + bisection steps chunks K^2) time, O(chunks K^2) memory.
     */
    Least pivot(Schedule sch, int p, int m, int v, double threshold, DoubleSupplier secondsLeft) {
        int chunks = p * v;
        int k1 = segments + 1;
        if (!pivotOn || v != 1 || chunks < 2 || chunks > segments || segments > TABLE_SEGMENTS || !sch.exact()
                || (long) chunks * k1 * k1 > PIVOT_CELLS || secondsLeft.getAsDouble() <= 0.05) {
            return null;
        }
        int parts = Path.PARTS;
        int nv = Path.VALUES;
        Paths paths = new Paths(sch, p, m, v);
        double[] base = values(balanced(chunks));
        int fams = PIVOT_SCALES.length;
        double[][][] coef = new double[fams][chunks][];
        for (int f = 0; f < fams; f++) {
            for (int k = 0; k < chunks; k++) {
                double[] heavy = base.clone();
                for (int i = 0; i < nv; i++) {
                    heavy[k * nv + i] *= PIVOT_SCALES[f];
                }
                coef[f][k] = paths.trace(profiles(heavy, chunks)).get(0).coef(); // device 0's
            }
        }
        // every chunk's values, flat: (from, to) at (from * k1 + to) * VALUES
        double[] val = new double[k1 * k1 * nv];
        double[] ch = new double[CHUNK_PARTS];
        for (int a = 0; a < segments; a++) {
            for (int b = a + 1; b <= segments; b++) {
                valuesInto(a, b, ch, val, (a * k1 + b) * nv);
            }
        }
        // per chunk j: the least coefficients of the rows pivoting after it
        double[][] before = new double[chunks][parts];
        for (double[] r : before) {
            java.util.Arrays.fill(r, Double.POSITIVE_INFINITY);
        }
        for (int f = 0; f < fams; f++) {
            for (int k = 1; k < chunks; k++) {
                for (int j = 0; j < k; j++) {
                    for (int q = 0; q < parts; q++) {
                        before[j][q] = Math.min(before[j][q], coef[f][k][j * parts + q]);
                    }
                }
            }
        }
        // per row: the least over partitions of the chunks after its pivot, from each end on; rows whose coefficients
        // agree from a chunk on share the least from there (memoised by that tail)
        java.util.Map<Tail, double[]> tails = new java.util.HashMap<>();
        long work = 0;
        long pairs = (long) segments * k1 / 2; // the ranges of segments
        double[] none = new double[k1];
        java.util.Arrays.fill(none, Double.POSITIVE_INFINITY);
        none[segments] = 0;
        // the pivots' table: per chunk j and (from, to), the largest over the families of pivot plus least after
        float[] piv = new float[chunks * k1 * k1];
        java.util.Arrays.fill(piv, Float.NEGATIVE_INFINITY);
        for (int f = 0; f < fams; f++) {
            for (int k = 0; k < chunks; k++) {
                if (secondsLeft.getAsDouble() <= 0.05) {
                    return null;
                }
                double[] c = coef[f][k];
                double[] after = none;
                for (int j = chunks - 1; j > k; j--) {
                    Tail key = new Tail(j, java.util.Arrays.copyOfRange(c, j * parts, chunks * parts));
                    double[] known = tails.get(key);
                    if (known == null) {
                        work += pairs;
                        if (work > PIVOT_WORK) {
                            return null;
                        }
                        known = leastAfter(c, j, after, val);
                        tails.put(key, known);
                    }
                    after = known;
                }
                work += pairs;
                if (work > PIVOT_WORK) {
                    return null;
                }
                // the row's coefficients of chunk k in locals, the sum unrolled in the loop's order (the same bits): the
                // quick compiler alone reloads and range-checks each array read of the innermost loop
                int ck = k * parts;
                double c0 = c[ck];
                double c1 = c[ck + 1];
                double c2 = c[ck + 2];
                double c3 = c[ck + 3];
                double c4 = c[ck + 4];
                double c5 = c[ck + 5];
                double c6 = c[ck + 6];
                for (int a = 0; a < segments; a++) {
                    for (int b = a + 1; b <= segments; b++) {
                        if (after[b] == Double.POSITIVE_INFINITY) {
                            continue;
                        }
                        int o = (a * k1 + b) * nv;
                        double x = after[b] + (k == 0 ? val[o + Path.SYNC] + val[o + Path.UPDATE] : 0);
                        x = x + c0 * val[o] + c1 * val[o + 1] + c2 * val[o + 2] + c3 * val[o + 3] + c4 * val[o + 4]
                                + c5 * val[o + 5] + c6 * val[o + 6];
                        float lower = (float) x;
                        if (lower > x) {
                            lower = Math.nextDown(lower); // rounded down: a row is never read above its length
                        }
                        int at = (k * k1 + a) * k1 + b;
                        piv[at] = Math.max(piv[at], lower);
                    }
                }
            }
        }
        int[] ends = new int[chunks];
        double lo = 0;
        double hi = threshold;
        if (Double.isFinite(threshold)) {
            if (!pivotFeasible(threshold, chunks, piv, before, val, ends)) {
                return new Least(threshold, null, 0, 0);
            }
        } else {
            hi = 1;
            for (int i = 0; !pivotFeasible(hi, chunks, piv, before, val, ends); i++) {
                if (i >= 64 || secondsLeft.getAsDouble() <= 0.05) {
                    return null; // values past any step (not finite): no bound from the rows
                }
                lo = hi;
                hi *= 2;
            }
        }
        int[] found = ends.clone();
        while (hi - lo > PIVOT_PRECISION * hi && secondsLeft.getAsDouble() > 0.05) {
            double mid = (lo + hi) / 2;
            if (pivotFeasible(mid, chunks, piv, before, val, ends)) {
                hi = mid;
                found = ends.clone();
            } else {
                lo = mid;
            }
        }
        pivotEnds.put(shapeKey(sch, p, m, v), found);
        return new Least(lo * (1 - 1e-12), found, 0, 0); // below the sums' rounding
    }

    /** A row's coefficients from chunk {@code j} on ({@link #pivot}'s memo). */
    private record Tail(int j, double[] coef) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Tail t && t.j == j && java.util.Arrays.equals(t.coef, coef);
        }

        @Override
        public int hashCode() {
            return 31 * j + java.util.Arrays.hashCode(coef);
        }
    }

    /**
     * Per end {@code e}: the least over partitions of segments {@code [e, K)} into chunks {@code j ..} of the row's
     * coefficients {@code c} times their values, given {@code next}, the same from chunk {@code j + 1} on. O(K^2).
     */
    private double[] leastAfter(double[] c, int j, double[] next, double[] val) {
        int parts = Path.PARTS;
        int nv = Path.VALUES;
        int k1 = segments + 1;
        double[] cur = new double[k1];
        java.util.Arrays.fill(cur, Double.POSITIVE_INFINITY);
        // the coefficients in locals and the sum unrolled in the loop's order, the least by Least.min: the same bits
        int cj = j * parts;
        double c0 = c[cj];
        double c1 = c[cj + 1];
        double c2 = c[cj + 2];
        double c3 = c[cj + 3];
        double c4 = c[cj + 4];
        double c5 = c[cj + 5];
        double c6 = c[cj + 6];
        for (int e = 0; e < segments; e++) {
            double best = Double.POSITIVE_INFINITY;
            for (int t = e + 1; t <= segments; t++) {
                double nt = next[t];
                if (nt == Double.POSITIVE_INFINITY) {
                    continue;
                }
                int o = (e * k1 + t) * nv;
                double x = nt + c0 * val[o] + c1 * val[o + 1] + c2 * val[o + 2] + c3 * val[o + 3] + c4 * val[o + 4]
                        + c5 * val[o + 5] + c6 * val[o + 6];
                best = org.shardplan.planner.Least.min(best, x);
            }
            cur[e] = best;
        }
        return cur;
    }

    /**
     * Whether some partition passes {@link #pivot}'s test at {@code bound}: every chunk's pivot value plus the chunks
     * before it (summed along the partition with {@code before}'s coefficients) at most {@code bound}; where one does,
     * its chunk ends into {@code ends}. O(chunks K^2).
     */
    private boolean pivotFeasible(double bound, int chunks, float[] piv, double[][] before, double[] val, int[] ends) {
        int k1 = segments + 1;
        int parts = Path.PARTS;
        int nv = Path.VALUES;
        double[] pre = new double[k1];
        java.util.Arrays.fill(pre, Double.POSITIVE_INFINITY);
        pre[0] = 0;
        int[][] from = new int[chunks][k1];
        for (int j = 0; j < chunks; j++) {
            double[] next = new double[k1];
            java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
            double[] cb = before[j];
            for (int a = 0; a < segments; a++) {
                double pa = pre[a];
                if (pa == Double.POSITIVE_INFINITY) {
                    continue;
                }
                int row = (j * k1 + a) * k1;
                for (int b = a + 1; b <= segments; b++) {
                    if (pa + piv[row + b] > bound) {
                        continue;
                    }
                    double x = pa;
                    if (j + 1 < chunks) {
                        int o = (a * k1 + b) * nv;
                        for (int q = 0; q < parts; q++) {
                            x += cb[q] * val[o + q];
                        }
                    }
                    if (x < next[b]) {
                        next[b] = x;
                        from[j][b] = a;
                    }
                }
            }
            pre = next;
        }
        if (pre[segments] == Double.POSITIVE_INFINITY) {
            return false;
        }
        for (int j = chunks - 1, e = segments; j >= 0; j--) {
            ends[j] = e;
            e = from[j][e];
        }
        return true;
    }

    /** How much heavier {@link #dwellRows} makes each chunk in turn: enough that the longest path dwells on it. */
    static final double DWELL_SCALE = 1.5;

    /** Whether {@link #dual} starts with {@link #dwellRows} ({@code -Dshardplan.dualDwell=false}: without; tests set it). */
    static boolean dwellSeed = !"false".equals(System.getProperty("shardplan.dualDwell"));

    /**
     * {@link #dual}'s first rows besides the first column's own longest paths: for each chunk {@code k}, the longest path
     * of the first column's values with chunk {@code k}'s made {@link #DWELL_SCALE} times heavier (the path that runs the
     * micro-batches through that chunk, wherever the partition puts the heavy one). Each is a path of the op order, so
     * any weights over them keep the bound valid; what they change is where the game's strategy starts: spread over the
     * chunks, where the columns' own paths dwell on the few chunks their partitions left largest, and the double oracle
     * took most of its rounds to find the rest. On DenseNet-121 at 64 A100s, batch 128 (16 stages, 16 micro-batches,
     * interleaved with 4 chunks a device) the 80 rounds reach 10.25 ms instead of 9.94 (the game's value over every
     * path and partition, about 10.44 ms after 250 rounds, is the most any number of rounds can reach). Only where the
     * chunks are more than half of {@link #DUAL_ROUNDS}: with fewer, the rounds find the dwelling paths themselves (the
     * same model at 16 and 8 A100s, 16 chunks: 80 to 400 rounds move the dual by 0.02% and 0.1%), and starting from them
     * only moves where the 80 rounds end, by -0.07% to +0.02% on DenseNet-121's 16- and 32-chunk duals. Nor where the
     * chunks are more than {@link #DUAL_ROUNDS}: the seeds then cost more path traces than the game's own rounds (GPT-1T's
     * 128-chunk duals), and on GPT-145.6B they took 9 s of a 37 s search (quiet machine, 2026-12-03) without moving its
     * plan or bound. O(chunks (ops + transfers)).
     */
    private static void dwellRows(Paths paths, int p, int chunks, double[] base, List<Row> rows, java.util.Set<Path> known) {
        for (int k = 0; k < chunks; k++) {
            double[] heavy = base.clone();
            for (int i = 0; i < Path.VALUES; i++) {
                heavy[k * Path.VALUES + i] *= DWELL_SCALE;
            }
            Path top = null;
            double most = -1;
            for (Path x : paths.trace(profiles(heavy, chunks))) {
                double len = x.length(heavy, p);
                if (len > most) {
                    most = len;
                    top = x;
                }
            }
            if (top != null && known.add(top)) {
                rows.add(new Row(top, 0));
            }
        }
    }

    /**
     * A partition's bound with its chunks' layouts solved exactly: the least step over every layout of a fixed partition
     * under schedule {@code sch}, bounded by Lagrangian duality. Every path {@code pi} of the op order to device {@code
     * d}'s last op, followed by {@code d}'s exposed reductions (each at least {@code G / K}, {@code K} the buckets of its
     * chunk's largest volume, and at least {@code G - b}) and by any device {@code d'}'s update, is at most the step of
     * every plan with the partition; its length is a sum over chunks of the chunk's terms ({@link #TERMS}) with fixed
     * coefficients plus the sends (exact), so for any distribution {@code lambda} over such rows the least over layouts
     * of {@code sum lambda_r L_r} splits into one exact dynamic program per chunk over its nodes and the links inside it
     * ({@link #COMBO}): a bound on the partition's least step, whatever {@code lambda}. The rows and columns (layout
     * assignments, one per round) are found as in {@link #dual}: each round's columns' mixture gives the longest paths of
     * its mean terms as new rows, the game ({@link #game}) gives {@code lambda}. Stops at {@code threshold}, after {@code
     * rounds} rounds, when neither side has a new answer or the time is short.
     *
     * @return the bound (at most {@code threshold}) and the layouts of the column whose rows' largest value is least (a
     *     plan to price; null where no round ran)
     */
    PartitionBound partitionBound(Paths paths, int p, int[] ends, double threshold, int rounds, DoubleSupplier secondsLeft) {
        int chunks = ends.length;
        int[] lo = new int[chunks];
        int[] hi = new int[chunks];
        double[] most = new double[chunks];
        for (int j = 0; j < chunks; j++) {
            int from = j == 0 ? 0 : ends[j - 1];
            lo[j] = positions.get(from);
            hi[j] = positions.get(ends[j]);
            most[j] = levels[level(from, ends[j])];
        }
        double[] sends = new double[chunks];
        for (int j = 0; j < chunks; j++) {
            sends[j] = ends[j] < segments ? sendAt[ends[j]] : 0;
        }
        List<double[]> rows = new ArrayList<>(); // chunks * TERMS coefficients, then the constant
        java.util.Set<List<Double>> knownRows = new java.util.HashSet<>();
        List<double[]> cols = new ArrayList<>(); // chunks * TERMS terms
        List<int[]> layouts = new ArrayList<>();
        List<Double> steps = new ArrayList<>(); // each column's own step, as the search prices it
        List<StageProfile[]> profiles = new ArrayList<>(); // each column's chunks' profiles, that step's
        double best = 0;
        double plain = 0; // the best without splitChunk, which the stall counts by
        // the first columns: each chunk's least forward and backward, and its least of all its terms together
        int[] x = new int[built.units().size()];
        for (int first = 0; first < 2; first++) {
            firstCombination(combo, first);
            double[] col = new double[chunks * TERMS];
            comboColumn(lo, hi, most, col, x, secondsLeft);
            if (cols.isEmpty() || !java.util.Arrays.equals(cols.get(0), col)) {
                cols.add(col);
                layouts.add(x.clone());
                StageProfile[] pr = chunkProfiles(lo, hi, x, sends);
                profiles.add(pr);
                steps.add(paths.step(java.util.Arrays.asList(pr), null, null, null));
                addRows(paths, p, chunks, col, sends, rows, knownRows);
            }
        }
        int stall = 0;
        for (int round = 0; round < rounds && best < threshold && secondsLeft.getAsDouble() > 0.05; round++) {
            double[][] a = new double[rows.size()][cols.size()];
            for (int r = 0; r < a.length; r++) {
                for (int c = 0; c < cols.size(); c++) {
                    // not clipped at the threshold: the rounds are the same whatever it is, so that it only caps
                    a[r][c] = rowValue(rows.get(r), cols.get(c));
                }
            }
            double[][] mixed = game(a);
            double[] agg = new double[chunks * TERMS];
            double constant = 0;
            for (int r = 0; r < rows.size(); r++) {
                double[] row = rows.get(r);
                for (int i = 0; i < agg.length; i++) {
                    agg[i] += mixed[0][r] * row[i];
                }
                constant += mixed[0][r] * row[agg.length];
            }
            double got = constant;
            double split = constant; // the same with the chunks bounded by their bucket counts (splitChunk)
            double[] next = new double[chunks * TERMS];
            for (int j = 0; j < chunks; j++) {
                System.arraycopy(agg, j * TERMS, combo, 0, TERMS);
                buckets = most[j];
                double v = comboChunk(j, lo, hi, most, next, x, secondsLeft);
                got += v;
                if (splitBuckets && overlap && most[j] > 1 && agg[j * TERMS + 4] > 0) {
                    System.arraycopy(agg, j * TERMS, combo, 0, TERMS);
                    v = Math.max(v, splitChunk(lo[j], hi[j], most[j], v, x, secondsLeft));
                }
                split += v;
            }
            // the rounds go as without the split (the stall counted on the plain values), so that the bound is at least
            // what it was
            stall = got > plain * (1 + DUAL_STALL) ? 0 : stall + 1;
            plain = Math.max(plain, got);
            best = Math.max(best, split);
            if (stall >= PARTITION_PATIENCE) {
                break;
            }
            double[] mean = new double[chunks * TERMS];
            for (int c = 0; c < cols.size(); c++) {
                for (int i = 0; i < mean.length; i++) {
                    mean[i] += mixed[1][c] * cols.get(c)[i];
                }
            }
            int before = rows.size();
            addRows(paths, p, chunks, mean, sends, rows, knownRows);
            addRows(paths, p, chunks, next, sends, rows, knownRows);
            boolean newColumn = true;
            for (double[] c : cols) {
                newColumn &= !java.util.Arrays.equals(c, next);
            }
            if (!newColumn && rows.size() == before) {
                break;
            }
            if (newColumn) {
                cols.add(next);
                layouts.add(x.clone());
                StageProfile[] pr = chunkProfiles(lo, hi, x, sends);
                profiles.add(pr);
                steps.add(paths.step(java.util.Arrays.asList(pr), null, null, null));
            }
        }
        // the column whose own step is least: the plan these solves suggest
        int arg = 0;
        for (int c = 1; c < cols.size(); c++) {
            arg = steps.get(c) < steps.get(arg) ? c : arg;
        }
        int[] plan = layouts.get(arg);
        double planStep = steps.get(arg);
        if (recombineColumns && cols.size() > 1 && secondsLeft.getAsDouble() > 0.05) {
            int[] pick = new int[chunks];
            double st = recombined(paths, profiles, arg, pick);
            if (st < planStep * (1 - 1e-12)) {
                plan = layouts.get(arg).clone();
                for (int j = 0; j < chunks; j++) {
                    System.arraycopy(layouts.get(pick[j]), lo[j], plan, lo[j], hi[j] - lo[j]);
                }
                planStep = st;
            }
        }
        return new PartitionBound(Math.min(threshold, best), plan, planStep, rows.size(), cols.size());
    }

    /**
     * Whether {@link #partitionBound} bounds a chunk of more than one bucket apart for the plans whose chunk has one bucket
     * and those with more ({@link #splitChunk}; {@code -Dshardplan.splitChunkBuckets=false}: not; tests toggle it).
     */
    static boolean splitBuckets = !"false".equals(System.getProperty("shardplan.splitChunkBuckets"));

    /** The most exact solves {@link #splitChunk} spends on its multiplier, per chunk and round. */
    static final int SPLIT_CHUNK_SOLVES = 4;

    /** The gradient volume of nodes {@code [lo, hi)} under layouts {@code x}: half their gradient bytes. O(nodes). */
    private double chunkVolume(int lo, int hi, int[] x) {
        double v = 0;
        for (int i = lo; i < hi; i++) {
            v += built.units().get(i).costs().get(x[i]).gradientBytes() / 2;
        }
        return v;
    }

    /**
     * A chunk's least of the combination {@link #combo} (nodes {@code [lo, hi)}, at most {@code most} buckets) with its
     * reduction at each plan's own bucket count, at least {@code v} (the least with {@code G / most}, its minimiser in
     * {@code x}). The plans of one bucket expose their whole reduction: their least is the combination at one bucket
     * (an exact solve). The plans of more have more than one bucket of volume: for every {@code mu >= 0} their least is
     * at least the least of the combination at {@code G / most} less {@code mu} times their volume above one bucket
     * (Lagrangian relaxation of that floor), maximised over {@code mu} by cutting planes (at most {@link
     * #SPLIT_CHUNK_SOLVES} solves, each an exact solve with the volume priced). The chunk's least is the smaller of the
     * two. Where {@code v}'s minimiser has more than one bucket, {@code v} is already both's least (the one-bucket plans'
     * least is at least {@code v}), and nothing is solved. {@code x} keeps {@code v}'s minimiser.
     */
    private double splitChunk(int lo, int hi, double most, double v, int[] x, DoubleSupplier secondsLeft) {
        if (OverlapBound.bucketsOf(chunkVolume(lo, hi, x), bucket) > 1) {
            return v;
        }
        double keep = buckets;
        boolean was = unbudgeted;
        long cells = partitionCells;
        unbudgeted = true; // as the chunk's own solves: not against the segment solves' budget
        try {
            buckets = 1;
            double one = solve(built, filter, lo, lo, hi, COMBO, recompute, seen, secondsLeft);
            if (!(one > v)) {
                return v;
            }
            buckets = most;
            double floor = bucket;
            double top = 0;
            for (int i = lo; i < hi; i++) {
                top += mostGradient(i) / 2;
            }
            if (top <= floor) {
                return one; // no plan of the chunk has more than one bucket
            }
            // g(mu) = least of (combination + mu (top - V)) - mu (top - floor); slope floor - V(x_mu); g(0) = v, slope > 0
            double s0 = floor - chunkVolume(lo, hi, x);
            MultiplierCuts cuts = new MultiplierCuts(v, s0);
            double best = v;
            double t = (one - v) / s0; // where the first line reaches the one-bucket plans' least
            for (int used = 0; used < SPLIT_CHUNK_SOLVES && best < one && secondsLeft.getAsDouble() > 0.05; used++) {
                comboVolume = t;
                double d;
                try {
                    d = solve(built, filter, lo, lo, hi, COMBO, recompute, seen, secondsLeft);
                } finally {
                    comboVolume = 0;
                }
                double value = d - t * (top - floor);
                best = Math.max(best, value);
                int[] xm = x.clone();
                System.arraycopy(lastLayouts, 0, xm, lo, hi - lo);
                t = cuts.next(t, value, floor - chunkVolume(lo, hi, xm), best);
                if (Double.isNaN(t)) {
                    break;
                }
            }
            return Math.max(v, Math.min(one, best));
        } finally {
            buckets = keep;
            unbudgeted = was;
            // nor against the partitions' budget of cells: the rounds, and so the partitions tightened, are those without
            // the split (at most 1 + SPLIT_CHUNK_SOLVES solves of the chunk per chunk solve the budget counts)
            partitionCells = cells;
        }
    }

    /**
     * Whether {@link #partitionBound}'s plan takes each chunk's layouts from whichever of its columns makes the step least
     * ({@link #recombined}; {@code -Dshardplan.recombineColumns=false}: the least column as it is; tests toggle it).
     */
    static boolean recombineColumns = !"false".equals(System.getProperty("shardplan.recombineColumns"));

    /** The most sweeps over the chunks {@link #recombined} makes. */
    static final int RECOMBINE_SWEEPS = 4;

    /**
     * The most ops and dependencies {@link #recombined}'s first sweep may read (its steps priced times {@link
     * Paths#size}); past it nothing is recombined. GPT-1T's 128 chunks of 64 stages and 256 micro-batches would read
     * about 10^9 (`MegatronBenchmark --only gpt-1t`: 46.4 s with no cap against 28.5 s without recombining and 25.6 s
     * with this cap, the same plan); Inception-v3's two chunks read a few thousand.
     */
    static final long RECOMBINE_WORK = 30_000_000;

    /**
     * The step of the plan whose chunk {@code j} takes its layouts from column {@code pick[j]}, the columns chosen into
     * {@code pick}; column {@code arg}'s own step where nothing is faster or the work is over the cap. A column's layouts
     * of chunk {@code j} come from that chunk's own exact solve, its links inside it counted and the transfers at its
     * ends fixed by the cuts, so any chunk's layouts may be taken from any column and the step of the plan so made is
     * its chunks' profiles ({@code profiles}: per column, as {@link #chunkProfiles} made them) on the op order's longest
     * paths. From {@code arg} for every chunk, each chunk in turn takes the column that lowers the step most, while a
     * sweep lowers it, at most {@link #RECOMBINE_SWEEPS} sweeps; none where a sweep would read more than {@link
     * #RECOMBINE_WORK}. O(sweeps chunks columns ops).
     */
    private static double recombined(Paths paths, List<StageProfile[]> profiles, int arg, int[] pick) {
        int chunks = pick.length;
        int cols = profiles.size();
        java.util.Arrays.fill(pick, arg);
        List<StageProfile> ps = new ArrayList<>(java.util.Arrays.asList(profiles.get(arg)));
        double now = paths.step(ps, null, null, null);
        if ((long) chunks * (cols - 1) * paths.size() > RECOMBINE_WORK) {
            return now;
        }
        for (int sweep = 0; sweep < RECOMBINE_SWEEPS; sweep++) {
            boolean moved = false;
            for (int j = 0; j < chunks; j++) {
                int keep = pick[j];
                for (int c = 0; c < cols; c++) {
                    if (c == pick[j]) {
                        continue;
                    }
                    ps.set(j, profiles.get(c)[j]);
                    double st = paths.step(ps, null, null, null);
                    if (st < now * (1 - 1e-12)) {
                        now = st;
                        keep = c;
                    }
                }
                moved |= keep != pick[j];
                pick[j] = keep;
                ps.set(j, profiles.get(keep)[j]);
            }
            if (!moved) {
                break;
            }
        }
        return now;
    }

    /**
     * {@link #partitionBound}'s result: the bound, a plan's layouts (per node) and its step on the partition's chunks,
     * the rows and columns the game used.
     */
    record PartitionBound(double bound, int[] layouts, double step, int rows, int columns) {
    }

    /**
     * The profiles of chunks {@code [lo_j, hi_j)} under layouts {@code x} as the search prices them (the reduction
     * exposed as {@link PipelineSearch#exposedGradientSeconds} leaves it); the op order's longest paths over them and the
     * largest update after them ({@link Paths#step}) are the step of those layouts. O(chunks (nodes + links)).
     */
    private StageProfile[] chunkProfiles(int[] lo, int[] hi, int[] x, double[] sends) {
        StageProfile[] ps = new StageProfile[lo.length];
        for (int j = 0; j < lo.length; j++) {
            ps[j] = chunkProfile(lo[j], hi[j], x, sends[j]);
        }
        return ps;
    }

    /**
     * The profile of the chunk of nodes {@code [lo, hi)} under layouts {@code x}, sending {@code send} at its end; its
     * reduction {@link #terms}' (at least one collective's latency where the chunk is not the whole model).
     */
    private StageProfile chunkProfile(int lo, int hi, int[] x, double send) {
        double[] t = terms(lo, hi, 1, x);
        double volume = 0;
        double bytes = 0;
        for (int i = lo; i < hi; i++) {
            ProblemBuilder.Cost c = built.units().get(i).costs().get(x[i]);
            volume += c.gradientBytes() / 2;
            bytes += c.parameterBytes();
        }
        double b = t[1] + t[2];
        double sync = overlap ? PipelineSearch.exposedGradientSeconds(t[3], volume, b, bucket) : t[3];
        return new StageProfile(t[0], b, Math.max(0, Math.min(t[2], b)), send, sync, 0, 0,
                compute.optimizerStepSeconds(bytes, optimizer));
    }

    /** A row's value on a column: its coefficients times the column's terms, plus its constant. O(chunks). */
    private static double rowValue(double[] row, double[] col) {
        double r = row[col.length];
        for (int i = 0; i < col.length; i++) {
            r += row[i] * col[i];
        }
        return r;
    }

    /** Every chunk's least of {@link #combo} (already set) into {@code col} and {@code x}. */
    private void comboColumn(int[] lo, int[] hi, double[] most, double[] col, int[] x, DoubleSupplier secondsLeft) {
        for (int j = 0; j < lo.length; j++) {
            buckets = most[j];
            comboChunk(j, lo, hi, most, col, x, secondsLeft);
        }
    }

    /**
     * Chunk {@code j}'s exact least of {@link #combo} over its nodes (the links inside it counted): returns the least,
     * writes its layouts into {@code x} and their terms into {@code col}.
     */
    private double comboChunk(int j, int[] lo, int[] hi, double[] most, double[] col, int[] x, DoubleSupplier secondsLeft) {
        // a combination and its positive multiples have the same minimisers: it is solved with its largest weight 1 and
        // its least scaled back, so that chunks and rounds whose combinations differ by a factor share one solve (the
        // middle chunks of a decoder's partition, whose paths weigh the forward and the input gradient alike round
        // after round, whatever the mixture's weights)
        double scale = 0;
        for (double c : combo) {
            scale = Math.max(scale, Math.abs(c));
        }
        double[] given = combo.clone();
        boolean scaled = normaliseCombos && scale > 0 && scale != 1 && Double.isFinite(scale);
        int known = seen.size();
        if (scaled) {
            for (int i = 0; i < combo.length; i++) {
                combo[i] /= scale;
            }
        }
        unbudgeted = true;
        double v = Double.NaN;
        try {
            if (segmentCertificates && !sweepable(lo[j], hi[j])) {
                v = bySegments(lo[j], hi[j], most[j], given, scaled ? scale : 1, x, secondsLeft);
            }
            if (Double.isNaN(v)) {
                v = solve(built, filter, lo[j], lo[j], hi[j], COMBO, recompute, seen, secondsLeft);
                if (scaled) {
                    v *= scale;
                }
                chunkProblems += seen.size() > known ? 1 : 0;
                System.arraycopy(lastLayouts, 0, x, lo[j], hi[j] - lo[j]);
                remember(lo[j], hi[j], lastLayouts);
            }
            v = Math.max(v, floorCombo(lo[j], hi[j], v / (scaled ? scale : 1), x, secondsLeft) * (scaled ? scale : 1));
        } finally {
            unbudgeted = false;
            System.arraycopy(given, 0, combo, 0, combo.length);
        }
        double[] t = terms(lo[j], hi[j], most[j], x);
        System.arraycopy(t, 0, col, j * TERMS, TERMS);
        chunkSolves++;
        return v;
    }

    /**
     * Chunk {@code [lo, hi)}'s least of {@link #combo} (at {@link #buckets}) with its reduction at least one collective's
     * latency, as {@link #terms} prices a chunk of several ({@link ProblemBuilder.Cost#stageReduction}), given its least
     * {@code v} without ({@code x} its minimiser): {@code v} where that minimiser's own reduction is not raised (it is
     * then the least), else the least over the latency classes ({@link #classCap}) of the combination with each layout's
     * latency shares left out ({@link #COMBO_BARE}), over the class's layouts, plus the class's least latency in both
     * reduction terms; {@code x} then holds that class's minimiser. 0 where the floor is off or the chunk is the whole
     * model (the caller keeps {@code v}). At most one exact solve per class.
     */
    private double floorCombo(int lo, int hi, double v, int[] x, DoubleSupplier secondsLeft) {
        double w = combo[3] + combo[4] / buckets;
        if (classCap == null || wholeModel(lo, hi) || !(w > 0) || comboVolume != 0) {
            return 0;
        }
        double[] reduction = new double[3];
        for (int i = lo; i < hi; i++) {
            built.units().get(i).costs().get(x[i]).addReduction(reduction);
        }
        if (ProblemBuilder.Cost.stageReduction(reduction, 2) <= reduction[0]) {
            return v; // x pays no more with the floor: it is still a minimiser
        }
        double best = Double.POSITIVE_INFINITY;
        int[] arg = null;
        for (int c = 0; c < classCap.length && secondsLeft.getAsDouble() > 0.05; c++) {
            StageProblem.Filter within = classFilter(classCap[c]);
            if (!everyNodeHas(lo, hi, within)) {
                continue;
            }
            double d = solve(built, within, lo, lo, hi, COMBO_BARE, recompute, seen, secondsLeft);
            if (d <= 0) {
                return 0; // the solve did not finish: no floor
            }
            d += w * classAdds[c];
            if (d < best) {
                best = d;
                arg = lastLayouts.clone();
            }
        }
        if (arg == null || secondsLeft.getAsDouble() <= 0.05) {
            return 0;
        }
        if (best > v) {
            System.arraycopy(arg, 0, x, lo, hi - lo);
        }
        return best;
    }

    /**
     * Chunk {@code [lo, hi)}'s least of the combination {@code given} ({@link #combo} holds it divided by {@code scale})
     * from its segments, where that is exact: the sum over its segments of each one's least (the first on its own, each
     * other with the links from the segment before it, whose nodes are free) is at most the chunk's least (each term of
     * the chunk's objective is in at most one of them, and none is negative), and where layouts of the whole chunk reach
     * it (the segments' own, joined, or a minimiser of an earlier combination of the chunk's) they are a minimiser and
     * it is the least. Writes those layouts into {@code x} and returns the sum; NaN where no layouts reach it (or the
     * chunk is one segment), and then the solve of the whole chunk decides. The cells counted ({@link #partitionCells})
     * are the whole chunk's, as its own solve counts them, either way. A decoder's chunk of tens of layers: a few
     * solves of one layer instead of one of tens.
     */
    private double bySegments(int lo, int hi, double most, double[] given, double scale, int[] x, DoubleSupplier secondsLeft) {
        int s0 = positions.indexOf(lo);
        int s1 = positions.indexOf(hi);
        if (s0 < 0 || s1 < 0 || s1 - s0 < 2) {
            return Double.NaN;
        }
        long cells = partitionCells;
        int[] joined = new int[hi - lo];
        double least = 0;
        for (int g = s0; g < s1; g++) {
            int from = positions.get(g);
            int to = positions.get(g + 1);
            int start = g == s0 ? from : positions.get(g - 1);
            least += solve(built, filter, start, from, to, COMBO, recompute, seen, secondsLeft);
            System.arraycopy(lastLayouts, from - start, joined, from - lo, to - from);
        }
        partitionCells = cells + chunkCells(lo, hi);
        least *= scale;
        int[] whole = x.clone();
        double best = Double.POSITIVE_INFINITY;
        int[] arg = null;
        List<int[]> tries = new ArrayList<>();
        tries.add(joined);
        tries.addAll(chunkLayouts.getOrDefault(((long) lo << 32) | hi, List.of()));
        for (int[] y : tries) {
            System.arraycopy(y, 0, whole, lo, hi - lo);
            double[] t = terms(lo, hi, most, whole);
            double value = 0;
            for (int i = 0; i < TERMS; i++) {
                value += given[i] * t[i];
            }
            if (value < best) {
                best = value;
                arg = y;
            }
        }
        if (!(best <= least * (1 + CERTIFIED))) {
            partitionCells = cells; // the whole chunk's solve counts them
            return Double.NaN;
        }
        System.arraycopy(arg, 0, x, lo, hi - lo);
        remember(lo, hi, arg);
        chunksCertified++;
        return Math.min(least, best);
    }

    /**
     * How far above the segments' sum ({@link #bySegments}) a chunk's layouts may come and still count as reaching it:
     * the rounding of sums of the same terms in other orders.
     */
    static final double CERTIFIED = 1e-12;

    /** Whether {@link #partitionBound}'s chunks are first tried from their segments ({@link #bySegments}; tests: off). */
    boolean segmentCertificates = true;

    /** The chunks {@link #bySegments} answered. */
    private int chunksCertified;

    /** {@link #chunksCertified}. */
    int chunksCertified() {
        return chunksCertified;
    }

    /** {@link #partitionCells}. */
    long partitionCells() {
        return partitionCells;
    }

    /** Per chunk {@code lo << 32 | hi}, the distinct minimisers its combinations had (at most {@link #REMEMBERED}). */
    private final Map<Long, List<int[]>> chunkLayouts = new HashMap<>();

    /** The most minimisers {@link #chunkLayouts} keeps per chunk. */
    private static final int REMEMBERED = 8;

    private void remember(int lo, int hi, int[] layouts) {
        List<int[]> known = chunkLayouts.computeIfAbsent(((long) lo << 32) | hi, k -> new ArrayList<>());
        int[] y = java.util.Arrays.copyOf(layouts, hi - lo);
        for (int[] k : known) {
            if (java.util.Arrays.equals(k, y)) {
                return;
            }
        }
        if (known.size() < REMEMBERED) {
            known.add(y);
        }
    }

    /**
     * The length of the key {@link #solve} builds for chunk {@code [lo, hi)}'s combination ({@link #COMBO}, no segment
     * before): the header, per node its allowed layouts' count and their costs and indices, per pair of nodes linked
     * inside it their ends and table. O(nodes + links + allowed layouts).
     */
    private long chunkCells(int lo, int hi) {
        long r = 4;
        int[] count = new int[hi - lo];
        for (int i = lo; i < hi; i++) {
            ProblemBuilder.Unit u = built.units().get(i);
            int c = 0;
            for (int k = 0; k < u.layouts().size(); k++) {
                c += filter.allows(u, k) ? 1 : 0;
            }
            count[i - lo] = c;
            r += 1 + 2L * c;
        }
        java.util.Set<Long> pairs = new java.util.HashSet<>();
        for (ProblemBuilder.Link l : built.links()) {
            if (l.from() < lo || l.from() >= hi || l.to() < lo || l.to() >= hi) {
                continue;
            }
            if (pairs.add((long) (l.from() - lo) * (hi - lo) + (l.to() - lo))) {
                r += 2 + (long) count[l.from() - lo] * count[l.to() - lo];
            }
        }
        return r;
    }

    /** The terms ({@link #TERMS}) of nodes {@code [lo, hi)} with layouts {@code x}: as the stage profiles count them. */
    double[] terms(int lo, int hi, double most, int[] x) {
        double[] t = new double[TERMS];
        double[] reduction = new double[3];
        for (int i = lo; i < hi; i++) {
            ProblemBuilder.Cost c = built.units().get(i).costs().get(x[i]);
            t[0] += forwardPart(c);
            t[1] += inputPart(c, recompute);
            t[2] += weightPart(c, recompute);
            c.addReduction(reduction);
            t[5] += updateRate * c.parameterBytes();
        }
        // one stage of several (not the whole model) reduces in buckets of its own, at least one latency
        t[3] = ProblemBuilder.Cost.stageReduction(reduction, wholeModel(lo, hi) ? 1 : 2);
        for (ProblemBuilder.Link l : built.links()) {
            if (l.from() >= lo && l.from() < hi && l.to() >= lo && l.to() < hi) {
                double sec = l.seconds()[x[l.from()] * built.units().get(l.to()).layouts().size() + x[l.to()]];
                t[0] += sec / 2;
                t[1] += sec / 2;
            }
        }
        t[4] = t[3] / most;
        return t;
    }

    /**
     * The rows of the longest paths of a column's (or mixture's) terms: per device, its traced path with its reductions
     * at {@code G / K} and (where the reduction overlaps) at {@code G - b}, each followed by its own update and by the
     * update of the device whose update is largest.
     */
    private void addRows(Paths paths, int p, int chunks, double[] col, double[] sends, List<double[]> rows,
            java.util.Set<List<Double>> known) {
        List<StageProfile> ps = new ArrayList<>(chunks);
        double[] upd = new double[p];
        for (int j = 0; j < chunks; j++) {
            int o = j * TERMS;
            double b = col[o + 1] + col[o + 2];
            double sync = overlap ? Math.max(col[o + 4], col[o + 3] - b) : col[o + 3];
            ps.add(new StageProfile(col[o], b, col[o + 2], sends[j], sync, 0, 0, col[o + 5]));
            upd[j % p] += col[o + 5];
        }
        int top = 0;
        for (int d = 1; d < p; d++) {
            top = upd[d] > upd[top] ? d : top;
        }
        for (Path path : paths.trace(ps)) {
            int d = path.device();
            for (int variant = 0; variant < (overlap ? 2 : 1); variant++) {
                for (int u : d == top ? new int[] {d} : new int[] {d, top}) {
                    double[] row = new double[chunks * TERMS + 1];
                    for (int j = 0; j < chunks; j++) {
                        int o = j * TERMS;
                        row[o] = path.coef()[j * Path.PARTS];
                        row[o + 1] = path.coef()[j * Path.PARTS + 1];
                        row[o + 2] = path.coef()[j * Path.PARTS + 2];
                        row[chunks * TERMS] += path.coef()[j * Path.PARTS + 4] * sends[j];
                        if (j % p == d) {
                            if (!overlap) {
                                row[o + 3] += 1;
                            } else if (variant == 0) {
                                row[o + 4] += 1;
                            } else {
                                row[o + 3] += 1;
                                row[o + 1] -= 1;
                                row[o + 2] -= 1;
                            }
                        }
                        if (j % p == u) {
                            row[o + 5] += 1;
                        }
                    }
                    List<Double> key = new ArrayList<>(row.length);
                    for (double c : row) {
                        key.add(c);
                    }
                    if (known.add(key)) {
                        rows.add(row);
                    }
                }
            }
        }
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> r = new ArrayList<>(a.length);
        for (int x : a) {
            r.add(x);
        }
        return r;
    }

    /**
     * The least over partitions into {@code chunks} chunks of {@code sum_j agg_j . (f, b_in, b_w, joint, send, own, jointFI)_j +
     * dev_j (sync_j + update_j)}, by a dynamic program over (chunk, end segment); its minimiser's ends into {@code
     * ends}. O(chunks K^2).
     */
    double partition(double[] agg, double[] dev, int chunks, int[] ends) {
        return partition(agg, dev, chunks, ends, null, null);
    }

    /**
     * {@link #partition(double[], double[], int, int[])} over the partitions whose chunk {@code j} ends within {@code
     * [endLo[j], endHi[j]]} (both null: every partition): the same program with the other ends left out; infinite where
     * no partition is within them. O(p v K^2).
     */
    double partition(double[] agg, double[] dev, int chunks, int[] ends, int[] endLo, int[] endHi) {
        double[] t = table();
        if (t == null) {
            return chunkDp(chunks, false, ends, (j, st, e, ch) -> {
                if (endLo != null && (e < endLo[j] || e > endHi[j])) {
                    return Double.POSITIVE_INFINITY;
                }
                int o = j * Path.PARTS;
                double c = agg[o] * ch[0] + agg[o + 1] * ch[1] + agg[o + 2] * ch[2] + agg[o + 3] * ch[3]
                        + agg[o + 4] * (e < segments ? sendAt[e] : 0) + agg[o + 6] * ch[4];
                if (dev[j] > 0 || agg[o + 5] > 0) {
                    double sync = chunkSync(st, e);
                    c += dev[j] * (sync + profileUpdate(st, e));
                    if (agg[o + 5] > 0) {
                        c += agg[o + 5] * chunkOwnUpdate(st, e, ch, sync);
                    }
                }
                return c;
            });
        }
        // the same sums from the chunks' values computed once ({@link #table}): the same numbers, in the same order
        int k = segments;
        double[][] lead = skipStarts ? leads() : null;
        double[] hmin = lead == null ? null : new double[k + 1];
        double[][] best = new double[chunks][k + 1];
        int[][] from = new int[chunks][k + 1];
        for (int j = 0; j < chunks; j++) {
            java.util.Arrays.fill(best[j], Double.POSITIVE_INFINITY);
            int o = j * Path.PARTS;
            double a0 = agg[o];
            double a1 = agg[o + 1];
            double a2 = agg[o + 2];
            double a3 = agg[o + 3];
            double a4 = agg[o + 4];
            double a5 = agg[o + 5];
            double a6 = agg[o + 6];
            double dj = dev[j];
            boolean tail = dj > 0 || a5 > 0;
            // every weight at least 0: the starts below one are bounded together ({@link #leads}), and the loop over
            // the starts stops where that bound is above the least so far
            boolean prune = lead != null && j > 0 && a0 >= 0 && a1 >= 0 && a2 >= 0 && a3 >= 0 && a4 >= 0 && a6 >= 0
                    && dj >= 0;
            double scale = 0;
            int lo = j == chunks - 1 ? k : j + 1;
            int hi = k - (chunks - 1 - j);
            if (endLo != null) {
                lo = Math.max(lo, endLo[j]);
                hi = Math.min(hi, endHi[j]);
            }
            // the rows and the running least held in locals: the quick compiler alone (the launcher's) reloads and
            // range-checks every array read in the innermost loop, so each one left out of it counts
            double[] before = j == 0 ? null : best[j - 1];
            double[] bestJ = best[j];
            int[] fromJ = from[j];
            int stLo = j == 0 ? 0 : j;
            if (prune) {
                // hmin[s]: the least over the starts st <= s of the chunks before less this chunk's lead terms at st
                double[] q0 = lead[1];
                double[] q1 = lead[3];
                double[] q2 = lead[5];
                for (int st = stLo; st < hi; st++) {
                    double h = before[st] - (a0 * q0[st] + a1 * q1[st] + a2 * q2[st]);
                    hmin[st] = st == stLo ? h : Math.min(hmin[st - 1], h);
                }
                scale = a0 * lead[0][k] + a1 * lead[2][k] + a2 * lead[4][k];
            }
            for (int e = lo; e <= hi; e++) {
                int sHi = j == 0 ? 0 : e - 1;
                double least = Double.POSITIVE_INFINITY;
                int arg = 0;
                double he = prune ? a0 * lead[0][e] + a1 * lead[2][e] + a2 * lead[4][e] + a4 * (e < k ? sendAt[e] : 0) : 0;
                // the starts from the last down: the same least, and of the starts that reach it the first (as the loop
                // up with a strict test had it); past a start where every start below is bounded above the least, none
                int x = (e * k + sHi) * Path.VALUES;
                for (int st = sHi; st >= stLo; st--, x -= Path.VALUES) {
                    double prev = before == null ? 0 : before[st];
                    if (prev != Double.POSITIVE_INFINITY) {
                        double c = a0 * t[x] + a1 * t[x + 1] + a2 * t[x + 2] + a3 * t[x + 3] + a4 * t[x + 4] + a6 * t[x + 6];
                        if (tail) {
                            c += dj * (t[x + Path.SYNC] + t[x + Path.UPDATE]);
                            if (a5 > 0) {
                                c += a5 * t[x + 5];
                            }
                        }
                        c += prev;
                        if (c < least || c == least && c < Double.POSITIVE_INFINITY) {
                            least = c;
                            arg = st;
                        }
                    }
                    if (prune && st > stLo && he + hmin[st - 1] - least > LEAD_SLACK * (scale + least)) {
                        skippedStarts += st - stLo;
                        break;
                    }
                }
                bestJ[e] = least;
                fromJ[e] = arg;
            }
        }
        if (best[chunks - 1][k] == Double.POSITIVE_INFINITY) {
            return Double.POSITIVE_INFINITY; // no partition within the ranges
        }
        traceEnds(from, chunks, k, ends);
        return best[chunks - 1][k];
    }

    /** The chunks' last segments, read back from a partition program's choices ({@code from[j][e]}: chunk j's start). */
    private static void traceEnds(int[][] from, int chunks, int k, int[] ends) {
        int e = k;
        for (int j = chunks - 1; j >= 0; j--) {
            ends[j] = e;
            e = from[j][e];
        }
    }

    /** The most segments whose chunks' values {@link #table} keeps (K (K + 1) 9 numbers: 4.7 MB for DenseNet-121's 254). */
    static final int TABLE_SEGMENTS = 512;

    /**
     * Per chunk {@code [st, e)} at {@code (e K + st) VALUES}: its values ({@link #values}); null past {@link
     * #TABLE_SEGMENTS}. By end, then start: {@link #partition}'s innermost loop runs over the starts of one end, so
     * it reads the table in order (by start first, each read lay (K + 1) 9 values past the last, 18 KB for
     * DenseNet-121's 254 segments: a cache line and often a page of its own). The same values, the same sums.
     */
    private double[] table;

    /** Whether {@link #partition} leaves out the starts a bound shows cannot reach its least (true); tests turn it off to compare. */
    static boolean skipStarts = true;

    /**
     * The share of the sums' size by which {@link #partition}'s bound on the starts left must exceed the least before
     * they are left out: far above the rounding of sums of a few hundred terms (1e-13 of their size), so that the starts
     * left out are those whose computed price exceeds the least, as the loop over every start computes it.
     */
    static final double LEAD_SLACK = 1e-9;

    /** The starts {@link #partition} left out, in all (for tests). */
    long skippedStarts;

    /**
     * The lead terms of a chunk's values from {@link #table}: {@code {P0, Q0, P1, Q1, P2, Q2}} with the chunk {@code [st, e)}'s
     * forward at least {@code P0[e] - Q0[st]} (its first segment's own least and the others' with the resharding into
     * them: {@link #chunkInto}'s first bound), its input gradient at least {@code P1[e] - Q1[st]}, its weight gradient
     * {@code P2[e] - Q2[st]}. Then with {@code a >= 0} the weights of a partition program's chunk, every chunk {@code
     * [s, e)} with {@code s <= st} and the chunks before it cost at least {@code a . P[e] + min over s <= st of (before[s]
     * - a . Q[s])}, the chunk's other terms (at least 0) left out. Null where a value of {@link #table} is negative or not
     * finite. O(K).
     */
    private double[][] leads;
    private boolean leadsDone;

    private double[][] leads() {
        if (!leadsDone) {
            leadsDone = true;
            double[] t = table();
            if (t == null) {
                return null;
            }
            for (double v : t) {
                if (!(v >= 0 && v < Double.POSITIVE_INFINITY)) {
                    return null;
                }
            }
            int k = segments;
            double[][] r = new double[6][k + 1];
            for (int i = 0; i <= k; i++) {
                r[0][i] = preAfterF[i];
                r[2][i] = preAfterI[i];
                r[4][i] = preWeight[i];
                if (i < k) {
                    r[1][i] = preAfterF[i + 1] - forward[i];
                    r[3][i] = preAfterI[i + 1] - backwardInput[i];
                    r[5][i] = preWeight[i];
                }
            }
            leads = r;
        }
        return leads;
    }

    /** Whether {@link #partition} reads its chunks' values from {@link #table} (true); tests turn it off to compare. */
    boolean tabled = true;

    /** {@link #table}, computed on first use; null where {@link #tabled} is off. O(K^2). */
    double[] table() {
        if (!tabled) {
            return null;
        }
        if (table == null && segments <= TABLE_SEGMENTS) {
            int k = segments;
            double[] t = new double[k * (k + 1) * Path.VALUES];
            double[] ch = new double[CHUNK_PARTS];
            for (int st = 0; st < k; st++) {
                for (int e = st + 1; e <= k; e++) {
                    chunkInto(st, e, ch);
                    int x = (e * k + st) * Path.VALUES;
                    System.arraycopy(ch, 0, t, x, 4);
                    t[x + 4] = e < segments ? sendAt[e] : 0;
                    double sync = chunkSync(st, e);
                    t[x + 5] = chunkOwnUpdate(st, e, ch, sync);
                    t[x + 6] = ch[4];
                    t[x + Path.SYNC] = sync;
                    t[x + Path.UPDATE] = profileUpdate(st, e);
                }
            }
            table = t;
        }
        return table;
    }

    /**
     * The ends of the partition that cuts the model's least work (each segment's least forward and backward) into
     * {@code chunks} equal shares: chunk {@code j} ends at the first segment where the work before reaches {@code j + 1}
     * shares, at least one segment a chunk. A start for {@link #descend}, not a bound. O(K + chunks).
     */
    int[] evenShares(int chunks) {
        int k = segments;
        double[] w = new double[k + 1];
        for (int i = 0; i < k; i++) {
            StageProfile pr = profile(i, i + 1);
            w[i + 1] = w[i] + pr.forwardSeconds() + pr.backwardSeconds();
        }
        int[] ends = new int[chunks];
        for (int j = 0; j < chunks; j++) {
            int e = j == 0 ? 1 : ends[j - 1] + 1;
            while (e < k - (chunks - 1 - j) && w[e] < w[k] * (j + 1) / chunks) {
                e++;
            }
            ends[j] = j == chunks - 1 ? k : e;
        }
        return ends;
    }

    /**
     * The ends of the partition whose largest chunk work (forward and backward, least) is least: each dual's first
     * column, the same for every shape of as many chunks, so computed once per count (from {@link #table} where there is
     * one: the same sums of the same values). O(chunks K^2) the first time.
     */
    int[] balanced(int chunks) {
        double[] t = table();
        if (t == null) {
            int[] ends = new int[chunks];
            chunkDp(chunks, true, ends, (j, st, e, ch) -> ch[0] + ch[1] + ch[2] + ch[3]);
            return ends;
        }
        synchronized (balancedEnds) {
            int[] known = balancedEnds.get(chunks);
            if (known == null) {
                known = balancedTabled(chunks, t);
                balancedEnds.put(chunks, known);
            }
            return known.clone();
        }
    }

    /** {@link #balanced}'s answers by chunk count. */
    private final java.util.Map<Integer, int[]> balancedEnds = new java.util.HashMap<>();

    /** {@link #chunkDp}'s bottleneck program over the chunks' work, {@code f + b_in + b_w + joint}, read from the table. */
    private int[] balancedTabled(int chunks, double[] t) {
        int k = segments;
        double[][] best = new double[chunks][k + 1];
        int[][] from = new int[chunks][k + 1];
        for (int j = 0; j < chunks; j++) {
            java.util.Arrays.fill(best[j], Double.POSITIVE_INFINITY);
            int lo = j == chunks - 1 ? k : j + 1;
            int hi = k - (chunks - 1 - j);
            double[] before = j == 0 ? null : best[j - 1];
            double[] bestJ = best[j];
            int[] fromJ = from[j];
            for (int e = lo; e <= hi; e++) {
                int sHi = j == 0 ? 0 : e - 1;
                int stLo = j == 0 ? 0 : j;
                int x = (e * k + stLo) * Path.VALUES;
                for (int st = stLo; st <= sHi; st++, x += Path.VALUES) {
                    double prev = before == null ? 0 : before[st];
                    if (prev == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    double c = Math.max(prev, t[x] + t[x + 1] + t[x + 2] + t[x + 3]);
                    if (c < bestJ[e]) {
                        bestJ[e] = c;
                        fromJ[e] = st;
                    }
                }
            }
        }
        int[] ends = new int[chunks];
        traceEnds(from, chunks, k, ends);
        return ends;
    }

    /** The price of chunk {@code j} over segments {@code [st, e)}, given its least parts {@code ch} ({@link #chunkInto}). */
    @FunctionalInterface
    private interface ChunkPrice {
        double of(int j, int st, int e, double[] ch);
    }

    /**
     * The least over partitions of the segments into {@code chunks} contiguous non-empty chunks of the sum of the
     * chunks' prices ({@code bottleneck}: of the largest), by a dynamic program over (chunk, end segment); its
     * minimiser's ends into {@code ends}. O(chunks K^2) prices.
     */
    private double chunkDp(int chunks, boolean bottleneck, int[] ends, ChunkPrice price) {
        int k = segments;
        double[][] best = new double[chunks][k + 1];
        int[][] from = new int[chunks][k + 1];
        double[] ch = new double[CHUNK_PARTS];
        for (int j = 0; j < chunks; j++) {
            java.util.Arrays.fill(best[j], Double.POSITIVE_INFINITY);
            int lo = j == chunks - 1 ? k : j + 1;
            int hi = k - (chunks - 1 - j);
            for (int e = lo; e <= hi; e++) {
                int sHi = j == 0 ? 0 : e - 1;
                for (int st = j == 0 ? 0 : j; st <= sHi; st++) {
                    double prev = j == 0 ? 0 : best[j - 1][st];
                    if (prev == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    chunkInto(st, e, ch);
                    double p = price.of(j, st, e, ch);
                    double c = bottleneck ? Math.max(prev, p) : prev + p;
                    if (c < best[j][e]) {
                        best[j][e] = c;
                        from[j][e] = st;
                    }
                }
            }
        }
        traceEnds(from, chunks, k, ends);
        return best[chunks - 1][k];
    }

    /**
     * Optimal mixed strategies of the zero-sum game {@code a[r][c]} (the row player maximises): {rows' strategy, columns'
     * strategy}. The payoffs are mapped into [1, 2] ({@code M}), and the columns' linear program {@code max sum y} subject
     * to {@code M y <= 1}, {@code y >= 0} (its origin feasible) is solved by the simplex method, the entering column the
     * one of most negative reduced cost (Dantzig's rule) until {@link #DEGENERATE_PIVOTS} pivots have left the objective
     * where it was, then the first of negative reduced cost (Bland's rule, which cannot cycle) to the end; the
     * columns' strategy is {@code y / sum y}, the rows' the constraints' shadow prices normalised (the rows' program is
     * its dual). Any distribution over the rows makes {@link #dual}'s bound valid; an optimal one makes it highest. At
     * most {@code 10 columns + 50} pivots (few columns enter the basis) of O(rows (rows + columns)) each. Bland's rule
     * from the start took about as many pivots as there are rows (DenseNet-121 on 64 A100s, batch 128: 154 games of
     * 253 rows and 36 columns on average, 38,941 pivots), Dantzig's 42% of them; where a game has several optimal
     * strategies the two rules can end at different ones (docs/schedules.md, "The matrix game's pivots").
     */
    static double[][] game(double[][] a) {
        return game(a, null);
    }

    /**
     * The simplex method's pivots while Dantzig's rule is kept, at most (each leaving the objective where it was), before
     * Bland's rule takes over: Dantzig's rule can cycle on a degenerate program, Bland's cannot.
     */
    static final int DEGENERATE_PIVOTS = 50;

    /** -Dshardplan.gamePivots=bland: {@link #game}'s pivots by Bland's rule throughout (as before Dantzig's was used). */
    static boolean blandOnly = "bland".equals(System.getProperty("shardplan.gamePivots"));

    /**
     * {@link #game(double[][])}, counting into {@code stats} (where not null) its pivots ({@code stats[0]}), those that
     * left the objective where it was ({@code stats[1]}) and whether Bland's rule took over ({@code stats[2]}: 1), for
     * tests.
     */
    static double[][] game(double[][] a, int[] stats) {
        int n = a.length;
        int k = a[0].length;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] row : a) {
            for (double x : row) {
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        double[] rowsMix = new double[n];
        double[] colsMix = new double[k];
        if (!(hi > lo)) {
            java.util.Arrays.fill(rowsMix, 1.0 / n);
            java.util.Arrays.fill(colsMix, 1.0 / k);
            return new double[][] {rowsMix, colsMix};
        }
        int width = k + n + 1;
        double[][] t = new double[n + 1][width];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                t[r][c] = (a[r][c] - lo) / (hi - lo) + 1;
            }
            t[r][k + r] = 1;
            t[r][width - 1] = 1;
        }
        double[] obj = t[n];
        for (int c = 0; c < k; c++) {
            obj[c] = -1;
        }
        int[] basis = new int[n];
        for (int r = 0; r < n; r++) {
            basis[r] = k + r;
        }
        final double eps = 1e-11;
        int[] nz = new int[width];
        int degenerate = 0;
        for (int pivots = 0; pivots < 10 * k + 50; pivots++) {
            int enter = -1;
            if (!blandOnly && degenerate < DEGENERATE_PIVOTS) {
                double most = -eps;
                for (int c = 0; c < width - 1; c++) {
                    if (obj[c] < most) {
                        most = obj[c];
                        enter = c;
                    }
                }
            } else {
                if (stats != null && !blandOnly) {
                    stats[2] = 1;
                }
                for (int c = 0; c < width - 1; c++) {
                    if (obj[c] < -eps) {
                        enter = c;
                        break;
                    }
                }
            }
            if (enter < 0) {
                break; // optimal
            }
            int leave = -1;
            double ratio = Double.POSITIVE_INFINITY;
            for (int r = 0; r < n; r++) {
                if (t[r][enter] > eps) {
                    double q = t[r][width - 1] / t[r][enter];
                    if (q < ratio - 1e-14 || q <= ratio + 1e-14 && leave >= 0 && basis[r] < basis[leave]) {
                        ratio = q;
                        leave = r;
                    }
                }
            }
            if (leave < 0) {
                break; // unbounded: cannot happen with payoffs of at least 1
            }
            double[] pr = t[leave];
            double pv = pr[enter];
            if (!(pr[width - 1] > 1e-14)) {
                degenerate++; // a step of (nearly) zero length: the objective stays where it was
                if (stats != null) {
                    stats[1]++;
                }
            }
            if (stats != null) {
                stats[0]++;
            }
            int nonzero = 0;
            for (int c = 0; c < width; c++) {
                pr[c] /= pv;
                if (pr[c] != 0) {
                    nz[nonzero++] = c;
                }
            }
            // only the pivot row's nonzero columns change the others (its slack part is a row of the basis inverse,
            // nonzero only where earlier pivots left): the same arithmetic, without the zeros
            for (int r = 0; r <= n; r++) {
                if (r != leave) {
                    double f = t[r][enter];
                    if (f != 0) {
                        double[] row = t[r];
                        for (int q = 0; q < nonzero; q++) {
                            int c = nz[q];
                            row[c] -= f * pr[c];
                        }
                    }
                }
            }
            basis[leave] = enter;
        }
        double sy = 0;
        for (int r = 0; r < n; r++) {
            if (basis[r] < k) {
                colsMix[basis[r]] = Math.max(0, t[r][width - 1]);
                sy += colsMix[basis[r]];
            }
        }
        double su = 0;
        for (int r = 0; r < n; r++) {
            rowsMix[r] = Math.max(0, obj[k + r]);
            su += rowsMix[r];
        }
        for (int r = 0; r < n; r++) {
            rowsMix[r] = su > 0 ? rowsMix[r] / su : 1.0 / n;
        }
        for (int c = 0; c < k; c++) {
            colsMix[c] = sy > 0 ? colsMix[c] / sy : 1.0 / k;
        }
        return new double[][] {rowsMix, colsMix};
    }

    /**
     * The dependency graph of a schedule's op order ({@link StepGraph}, the graph the schedules' critical-path
     * estimates weight), built once per shape, with the longest path to each device's last op traced back so
     * that its ops can be counted per chunk.
     */
    static final class Paths {
        private static final int F = org.shardplan.planner.pipeline.Op.Kind.FORWARD.ordinal();
        private static final int B = org.shardplan.planner.pipeline.Op.Kind.BACKWARD.ordinal();
        private static final int BI = org.shardplan.planner.pipeline.Op.Kind.BACKWARD_INPUT.ordinal();
        private static final int W = org.shardplan.planner.pipeline.Op.Kind.BACKWARD_WEIGHT.ordinal();
        private static final int SEND = StepGraph.SEND;
        private final int p;
        private final int chunks;
        private final StepGraph graph;
        private final int[] kind;
        private final int[] chunk;
        private final int[] topo;
        private final int[] predStart;
        private final int[] preds;
        private final int[] last;
        private final boolean split;

        Paths(Schedule sch, int p, int m, int v) {
            this.p = p;
            this.chunks = p * v;
            graph = StepGraph.of(sch.order(p, m, v), m, v);
            int nodes = graph.nodes();
            kind = new int[nodes];
            chunk = new int[nodes];
            for (int n = 0; n < nodes; n++) {
                kind[n] = graph.kind(n);
                chunk[n] = graph.chunk(n);
            }
            topo = graph.topologicalOrder();
            predStart = graph.predecessorStart();
            preds = graph.predecessors();
            split = graph.split();
            last = new int[p];
            for (int d = 0; d < p; d++) {
                last[d] = graph.lastOp(d);
            }
            ends = new double[nodes];
            args = new int[nodes];
            walk = new int[nodes];
            code = new int[nodes];
            reaches = new double[p];
            shares = new double[chunks * KINDS];
            for (int n = 0; n < nodes; n++) {
                code[n] = chunk[n] * KINDS + kind[n];
            }
            durations = new double[chunks * KINDS];
            counts = new int[chunks * KINDS];
            opCount = new int[chunks][SEND];
            for (int n = 0; n < nodes; n++) {
                if (kind[n] != SEND) {
                    opCount[chunk[n]][kind[n]]++;
                }
            }
            // the device's ops are numbered in its order, device after device: its first op follows the last one before
            fill = new int[p];
            for (int d = 0, first = 0; d < p; d++) {
                if (last[d] >= first && kind[first] == F) {
                    fill[d] = chunk[first];
                }
                if (last[d] >= 0) {
                    first = last[d] + 1;
                }
            }
        }

        /** What one {@link #step} reads: the op order's ops and their dependencies. */
        long size() {
            return topo.length + preds.length;
        }

        /**
         * Per device, the chunk of its first op where that is a forward (0 otherwise): that forward's micro-batch has gone
         * forward through every chunk before it first.
         */
        private final int[] fill;

        /** Per chunk and kind of op, the ops of the schedule (sends not counted). */
        private final int[][] opCount;

        /**
         * A bound below {@link #step(List, double[], double[], double[], double[])} (any bonuses, pairs and own terms at
         * least 0) and {@link #step(List, double[], double[], double[])} with the largest device's update after: each
         * device runs its ops one after another, the first (a forward) after its micro-batch's forwards through the
         * chunks before and the sends between them, so its last op ends no earlier than the sum of those times; with its
         * reduction and the largest update after it. O(chunks).
         */
        double floor(List<StageProfile> ps) {
            double[] busy = new double[p];
            double[] sync = new double[p];
            double[] upd = new double[p];
            double most = 0;
            for (int j = 0; j < chunks; j++) {
                StageProfile s = ps.get(j);
                int[] c = opCount[j];
                busy[j % p] += c[F] * s.forwardSeconds() + c[B] * s.backwardSeconds() + c[BI] * s.backwardInputSeconds()
                        + c[W] * s.backwardWeightSeconds();
                sync[j % p] += s.gradientSyncSeconds();
                upd[j % p] += s.updateSeconds();
                most = Math.max(most, upd[j % p]);
            }
            // the forwards of one micro-batch through the chunks before a device's first op, with the sends between devices
            double[] before = new double[chunks + 1];
            for (int j = 0; j < chunks; j++) {
                StageProfile s = ps.get(j);
                before[j + 1] = before[j] + s.forwardSeconds() + ((j + 1) % p != j % p ? s.sendSeconds() : 0);
            }
            double best = 0;
            for (int d = 0; d < p; d++) {
                best = Math.max(best, before[fill[d]] + busy[d] + sync[d]);
            }
            return best + most;
        }

        /** The kinds of op and transfer an op's time is looked up by ({@link StepGraph#SEND} the last). */
        private static final int KINDS = SEND + 1;

        /** Per op, its chunk and kind as an index into {@link #durations}. */
        private final int[] code;

        /** Per chunk and kind, the time of one op under the profiles {@link #longest} was last given. */
        private final double[] durations;

        /** Work arrays of {@link #step} (one evaluation at a time). */
        private final double[] ends;
        private final int[] args;
        /** The ops of one path walked back ({@link #step}'s paths with bonuses). */
        private final int[] walk;
        /**
         * Per device, its longest path's end and reduction with the most its chunks' op counts could add ({@link #step},
         * where it leaves walks out): above every path's value to that device.
         */
        private final double[] reaches;
        /** Per chunk and kind, an op's share of its chunk's bonuses ({@link #longestWith}). */
        private final double[] shares;
        private final int[] counts;

        /**
         * The largest over devices of its last op's end plus its gradient synchronisation, each end plus
         * {@code bonus[j]} times the pairs of a forward and a backward op (with the backward split: triples of a
         * forward, an input-gradient and a weight-gradient op) of chunk {@code j} on the longest path to it (all
         * bonuses 0: the step of the schedule's estimate). O(ops + transfers).
         */
        double step(List<StageProfile> ps, double[] bonus) {
            return step(ps, bonus, null);
        }

        /**
         * {@link #step(List, double[])} with {@code own[j]} more, once, for each chunk {@code j} of the device the path
         * ends on of which it holds a pair (a triple) ({@link PipelineBound#chunkOwn}). O(ops + transfers).
         */
        double step(List<StageProfile> ps, double[] bonus, double[] own) {
            return step(ps, bonus, null, own, null, false);
        }

        /**
         * The step with the optimizer step after it: the largest over devices {@code d} of its last op's end, its
         * reduction, the pairs' {@code bonus} and the larger of {@code own} (summed over {@code d}'s chunks with a pair
         * on the path) plus the largest device's update, and {@code ownUpdate} (the same with the update in the joint:
         * {@link PipelineBound#chunkOwnUpdate}) plus {@code d}'s own update. Both are below the step of every plan: it
         * is at least {@code d}'s path, reduction and update, and at least its path and reduction plus any device's
         * update. {@code ownUpdate} null: {@link #step(List, double[], double[])} plus the largest update. O(ops +
         * transfers).
         */
        double step(List<StageProfile> ps, double[] bonus, double[] own, double[] ownUpdate) {
            return step(ps, bonus, null, own, ownUpdate, true);
        }

        /**
         * {@link #step(List, double[], double[], double[])} with {@code pairs[j]} more for each pair of a forward and an
         * input-gradient op of chunk {@code j} on the path beyond its triples (backward split: the path's {@code
         * min(F - t, B_in - t)}, {@code t} its triples; none otherwise), {@link PipelineBound#chunkInto}'s fifth value.
         */
        double step(List<StageProfile> ps, double[] bonus, double[] pairs, double[] own, double[] ownUpdate) {
            return step(ps, bonus, pairs, own, ownUpdate, true);
        }

        private double step(List<StageProfile> ps, double[] bonus, double[] fi, double[] own, double[] ownUpdate,
                boolean update) {
            longest(ps);
            double[] end = ends;
            int[] arg = args;
            double[] sync = new double[p];
            double[] upd = new double[p];
            double most = 0;
            for (int j = 0; j < chunks; j++) {
                sync[j % p] += ps.get(j).gradientSyncSeconds();
                upd[j % p] += ps.get(j).updateSeconds();
                most = Math.max(most, upd[j % p]);
            }
            double best = 0;
            int[] count = counts; // per chunk and kind (sends counted too, and not read)
            int[] c = code;
            // where every term is at least 0, what a device's path can add is at most its chunks' op counts' worth: the
            // devices are taken by their last op's end and reduction, latest first, and one whose end with that most
            // added cannot pass the largest so far is not walked (the largest is the same)
            double extraMost = 0;
            double[] ownMost = null;
            double[] ownUMost = null;
            boolean skip = bonus != null && skipWalks;
            if (skip) {
                ownMost = new double[p];
                ownUMost = new double[p];
                for (int j = 0; j < chunks && skip; j++) {
                    int[] o = opCount[j];
                    int pm = split ? Math.min(o[F], Math.min(o[BI], o[W])) : Math.min(o[F], o[B]);
                    double fj = split && fi != null ? fi[j] : 0;
                    double oj = own != null ? own[j] : 0;
                    double uj = ownUpdate != null ? ownUpdate[j] : 0;
                    skip = bonus[j] >= 0 && fj >= 0 && oj >= 0 && uj >= 0;
                    extraMost += pm * bonus[j] + (fj > 0 ? Math.min(o[F], o[BI]) * fj : 0);
                    ownMost[j % p] += oj;
                    ownUMost[j % p] += uj;
                }
            }
            Integer[] order = null;
            if (skip) {
                order = new Integer[p];
                for (int d = 0; d < p; d++) {
                    order[d] = d;
                }
                java.util.Arrays.sort(order, (x, y) -> Double.compare(base(y, sync), base(x, sync)));
            }
            double[] reach = reaches;
            for (int i = 0; i < p; i++) {
                int d = skip ? order[i] : i;
                if (skip) {
                    double tailMost = update ? Math.max(ownMost[d] + most, ownUpdate == null ? 0 : ownUMost[d] + upd[d])
                            : ownMost[d];
                    reach[d] = base(d, sync) + extraMost + tailMost;
                    if (reach[d] <= best) {
                        continue;
                    }
                }
                double value;
                if (bonus != null) {
                    java.util.Arrays.fill(count, 0);
                    for (int n = last[d]; n >= 0; n = arg[n]) {
                        count[c[n]]++;
                    }
                    value = valued(d, base(d, sync), bonus, fi, own, ownUpdate, update, most, upd[d]);
                } else {
                    value = base(d, sync) + (update ? Math.max(most, ownUpdate == null ? 0 : upd[d]) : 0);
                }
                best = Math.max(best, value);
            }
            if (bonus == null || !bonusPaths) {
                return best;
            }
            // the longest paths weigh the ops alone; a path a little shorter may hold pairs whose bonuses make it longer
            // (ties among balanced chunks are many). Each device's longest path with the bonuses spread over its ops is
            // walked too, and its own length with its own bonuses taken: any path's is a bound.
            longestWith(ps, bonus, fi);
            double[] dur = durations;
            for (int i = 0; i < p; i++) {
                int d = skip ? order[i] : i;
                // a path's value is at most its device's longest path's with the most its chunks' op counts could add
                if (last[d] < 0 || skip && reach[d] <= best) {
                    continue;
                }
                java.util.Arrays.fill(count, 0);
                int[] w = walk;
                int k = 0;
                for (int n = last[d]; n >= 0; n = arg[n]) {
                    count[c[n]]++;
                    w[k++] = n;
                }
                // the path's length summed from its first op, as the ends are: a path's sum is at most its last op's end
                // to the bit, and the longest path's is its end
                double len = 0;
                while (k > 0) {
                    len += dur[c[w[--k]]];
                }
                best = Math.max(best, valued(d, len + sync[d], bonus, fi, own, ownUpdate, update, most, upd[d]));
            }
            return best;
        }

        /**
         * The value of the path to device {@code d}'s last op whose ops {@link #counts} holds (per chunk and kind): {@code
         * base} (its length and {@code d}'s reduction), its pairs' (triples') {@code bonus}, its forwards with input
         * gradients left over by the triples' {@code fi}, and the tail: the larger of {@code own} over {@code d}'s chunks
         * with a pair on it plus the largest update {@code most}, and the same with {@code ownUpdate} plus {@code d}'s own
         * update {@code upd} ({@code own} alone without the update). O(chunks).
         */
        private double valued(int d, double base, double[] bonus, double[] fi, double[] own, double[] ownUpdate,
                boolean update, double most, double upd) {
            int[] count = counts;
            double extra = 0;
            double mine = 0;
            double mineU = 0;
            for (int j = 0, at = 0; j < chunks; j++, at += KINDS) {
                int pairs = split ? Math.min(count[at + F], Math.min(count[at + BI], count[at + W]))
                        : Math.min(count[at + F], count[at + B]);
                extra += pairs * bonus[j];
                if (split && fi != null) {
                    // forwards with input gradients left over by the triples
                    extra += Math.min(count[at + F] - pairs, count[at + BI] - pairs) * fi[j];
                }
                if (pairs > 0 && j % p == d) {
                    mine += own != null ? own[j] : 0;
                    mineU += ownUpdate != null ? ownUpdate[j] : 0;
                }
            }
            double tail = update ? Math.max(mine + most, ownUpdate == null ? 0 : mineU + upd) : mine;
            return base + extra + tail;
        }

        /**
         * Whether {@link #step} and {@link #trace(List, double[])} also take the longest paths with the pairs' bonuses
         * spread over their ops ({@code -Dshardplan.bonusPaths=false}: not; tests compare).
         */
        static boolean bonusPaths = !"false".equals(System.getProperty("shardplan.bonusPaths"));

        /**
         * {@link #longest} with each op's time raised by its share of its chunk's bonuses: a pair's {@code bonus[j]} half
         * on the forward and half on the backward (a third on each of a triple's ops with the backward split, and a pair
         * of a forward and an input gradient's {@code fi[j]} half on each). The ends are then no path's length; {@link
         * #durations} keeps the plain times, so that a path walked back sums its own. O(ops + transfers).
         */
        private void longestWith(List<StageProfile> ps, double[] bonus, double[] fi) {
            double[] add = shares;
            for (int j = 0; j < chunks; j++) {
                int at = j * KINDS;
                double b = Math.max(0, bonus[j]);
                double f = split && fi != null ? Math.max(0, fi[j]) : 0;
                if (split) {
                    add[at + F] = b / 3 + f / 2;
                    add[at + BI] = b / 3 + f / 2;
                    add[at + W] = b / 3;
                } else {
                    add[at + F] = b / 2;
                    add[at + B] = b / 2;
                }
            }
            longest(ps, add);
        }

        /** Whether {@link #step} leaves out the walks that cannot raise its answer (tests compare with every walk). */
        static boolean skipWalks = true;

        /** Device {@code d}'s last op's end (as {@link #longest} last left it) and its reduction. */
        private double base(int d, double[] sync) {
            return (last[d] >= 0 ? ends[last[d]] : 0) + sync[d];
        }

        /**
         * The longest path to each device's last op under {@code ps}, as the coefficients of a path bound ({@link
         * Path}): per chunk the forwards, the input-gradient and weight-gradient parts (a whole backward counts in both),
         * the forward-backward pairs (with the backward split: triples) and the sends on it. O(ops + transfers).
         */
        List<Path> trace(List<StageProfile> ps) {
            longest(ps);
            return traced();
        }

        /**
         * {@link #trace(List)} and, where {@link #bonusPaths}, the longest paths with the pairs' bonuses of chunk values
         * {@code values} ({@link Path#VALUES} per chunk) spread over their ops ({@link #longestWith}), those that differ.
         */
        List<Path> trace(List<StageProfile> ps, double[] values) {
            List<Path> r = trace(ps);
            if (!bonusPaths || values == null) {
                return r;
            }
            double[] bonus = new double[chunks];
            double[] fi = new double[chunks];
            for (int j = 0; j < chunks; j++) {
                bonus[j] = values[j * Path.VALUES + 3];
                fi[j] = values[j * Path.VALUES + 6];
            }
            longestWith(ps, bonus, fi);
            for (Path x : traced()) {
                if (!r.contains(x)) {
                    r.add(x);
                }
            }
            return r;
        }

        /** The paths to each device's last op as {@link #longest} last left them. */
        private List<Path> traced() {
            List<Path> r = new ArrayList<>(p);
            for (int d = 0; d < p; d++) {
                int[][] c = new int[chunks][SEND + 1];
                for (int n = last[d]; n >= 0; n = args[n]) {
                    c[chunk[n]][kind[n]]++;
                }
                double[] coef = new double[chunks * Path.PARTS];
                for (int j = 0; j < chunks; j++) {
                    int[] x = c[j];
                    coef[j * Path.PARTS] = x[F];
                    coef[j * Path.PARTS + 1] = x[B] + x[BI];
                    coef[j * Path.PARTS + 2] = x[B] + x[W];
                    coef[j * Path.PARTS + 3] = split ? Math.min(x[F], Math.min(x[BI], x[W])) : Math.min(x[F], x[B]);
                    coef[j * Path.PARTS + 4] = x[SEND];
                    coef[j * Path.PARTS + 5] = j % p == d && coef[j * Path.PARTS + 3] > 0 ? 1 : 0;
                    double t = coef[j * Path.PARTS + 3];
                    coef[j * Path.PARTS + 6] = split ? Math.min(x[F] - t, x[BI] - t) : 0;
                }
                r.add(new Path(d, coef));
            }
            return r;
        }

        /** The end of every op and transfer and its latest predecessor ({@link #ends}, {@link #args}). */
        private void longest(List<StageProfile> ps) {
            longest(ps, null);
        }

        /**
         * {@link #longest} with each op's time raised by {@code add} (per chunk and kind; null: nothing), {@link
         * #durations} left at the plain times.
         */
        private void longest(List<StageProfile> ps, double[] add) {
            double[] end = ends;
            int[] arg = args;
            double[] dur = durations;
            for (int j = 0; j < chunks; j++) {
                StageProfile s = ps.get(j);
                int at = j * KINDS;
                dur[at + F] = s.forwardSeconds();
                dur[at + B] = s.backwardSeconds();
                dur[at + BI] = s.backwardInputSeconds();
                dur[at + W] = s.backwardWeightSeconds();
                dur[at + SEND] = s.sendSeconds();
            }
            int[] c = code;
            int[] from = predStart;
            int[] pr = preds;
            for (int n : topo) {
                double start = 0;
                int a = -1;
                for (int x = from[n], to = from[n + 1]; x < to; x++) {
                    int q = pr[x];
                    double e = end[q];
                    if (e > start || a < 0 && e >= start) {
                        start = e;
                        a = q;
                    }
                }
                end[n] = start + dur[c[n]] + (add != null ? add[c[n]] : 0);
                arg[n] = a;
            }
        }
    }

    /** The chunks of a partition of one shape, priced one at a time, and the step of the schedule over them. */
    interface Chunks {
        /** Chunk {@code j} over segments {@code [from, to)}. */
        void set(int j, int from, int to);

        /** The step of the chunks as {@link #set} last. */
        double step();

        /** A bound below {@link #step()} of the chunks as {@link #set} last (minus infinity: none). */
        default double floor() {
            return Double.NEGATIVE_INFINITY;
        }

        /** The step of the partition whose chunks end at {@code ends}. */
        default double step(int[] ends) {
            int from = 0;
            for (int j = 0; j < ends.length; j++) {
                set(j, from, ends[j]);
                from = ends[j];
            }
            return step();
        }
    }

    /** Range maxima of non-negative values over index ranges (a sparse table): O(n log n) to build, O(1) a query. */
    static final class RangeMax {
        /** At {@code [l][g]}: the largest value in {@code [g, g + 2^l)}. */
        private final double[][] max;

        RangeMax(double[] values) {
            int n = values.length;
            int levels = 1;
            while ((1 << levels) <= n) {
                levels++;
            }
            max = new double[levels][];
            max[0] = values.clone();
            for (int l = 1; l < levels; l++) {
                max[l] = new double[Math.max(0, n - (1 << l) + 1)];
                for (int g = 0; g < max[l].length; g++) {
                    max[l][g] = Math.max(max[l - 1][g], max[l - 1][g + (1 << (l - 1))]);
                }
            }
        }

        /** The largest value in {@code [from, to)} (0 where empty). O(1). */
        double max(int from, int to) {
            if (to <= from) {
                return 0;
            }
            int l = 31 - Integer.numberOfLeadingZeros(to - from);
            return Math.max(max[l][from], max[l][to - (1 << l)]);
        }
    }

    /**
     * The chunks of one plan's layouts {@code x} (per node), priced as {@link PipelineSearch#profiles} prices a stage and
     * the schedule's estimate with the optimizer step after it: each chunk's forward, input and weight gradients, reduction
     * (exposed as {@link PipelineSearch#exposedGradientSeconds} leaves it), update and the resharding of the links inside
     * it from sums kept per segment and per range of segments, so that a chunk costs O(1). Only where the segments are
     * at most {@link #TABLE_SEGMENTS} ({@link #fixed}).
     */
    final class Fixed implements Chunks {
        private final Paths paths;
        private final List<StageProfile> ps;
        /**
         * Per segment boundary, the sums before it of the nodes' forward, input and weight gradients, reduction, volume,
         * static bytes and the reduction's latency shares ({@link ProblemBuilder.Cost#stageReduction}).
         */
        private final double[][] pre = new double[7][segments + 1];
        /** The largest reduction latency of a node in a range of segments. */
        private final RangeMax latency;
        /** At {@code e K + st}: the resharding seconds of the links whose ends both lie in segments {@code [st, e)}. */
        private final double[] inside;

        Fixed(Paths paths, int chunks, int[] x) {
            this.paths = paths;
            ps = new ArrayList<>(java.util.Collections.nCopies(chunks, (StageProfile) null));
            int k = segments;
            int[] segOf = new int[built.units().size()];
            double[] segLatency = new double[k];
            for (int g = 0; g < k; g++) {
                for (int i = positions.get(g); i < positions.get(g + 1); i++) {
                    segOf[i] = g;
                }
                double[] t = new double[7];
                for (int i = positions.get(g); i < positions.get(g + 1); i++) {
                    ProblemBuilder.Cost c = built.units().get(i).costs().get(x[i]);
                    t[0] += forwardPart(c);
                    t[1] += inputPart(c, recompute);
                    t[2] += weightPart(c, recompute);
                    t[3] += c.gradientSeconds();
                    t[4] += c.gradientBytes() / 2;
                    t[5] += c.parameterBytes();
                    t[6] += c.gradientLatencyShares();
                    segLatency[g] = Math.max(segLatency[g], c.gradientLatencySeconds());
                }
                for (int q = 0; q < 7; q++) {
                    pre[q][g + 1] = pre[q][g] + t[q];
                }
            }
            latency = new RangeMax(segLatency);
            // per (first, last) segment of a link's ends, its seconds; then, per last segment, summed over the firsts
            // from each start on, and per chunk over its last segments
            double[] span = new double[k * k];
            for (ProblemBuilder.Link l : built.links()) {
                int a = Math.min(segOf[l.from()], segOf[l.to()]);
                int b = Math.max(segOf[l.from()], segOf[l.to()]);
                span[b * k + a] += l.seconds()[x[l.from()] * built.units().get(l.to()).layouts().size() + x[l.to()]];
            }
            for (int b = 0; b < k; b++) {
                for (int a = b - 1; a >= 0; a--) {
                    span[b * k + a] += span[b * k + a + 1];
                }
            }
            inside = new double[(k + 1) * k];
            for (int st = 0; st < k; st++) {
                double r = 0;
                for (int e = st + 1; e <= k; e++) {
                    r += span[(e - 1) * k + st];
                    inside[e * k + st] = r;
                }
            }
        }

        @Override
        public void set(int j, int from, int to) {
            double in = inside[to * segments + from] / 2;
            double f = pre[0][to] - pre[0][from] + in;
            double b = pre[1][to] - pre[1][from] + in + pre[2][to] - pre[2][from];
            double w = pre[2][to] - pre[2][from];
            // a stage's reduction, at least one collective's latency, as the search's profiles price it
            double g = ProblemBuilder.Cost.stageReduction(new double[] {pre[3][to] - pre[3][from],
                    pre[6][to] - pre[6][from], latency.max(from, to)}, ps.size());
            double sync = overlap ? PipelineSearch.exposedGradientSeconds(g, pre[4][to] - pre[4][from], b, bucket) : g;
            ps.set(j, new StageProfile(f, b, Math.max(0, Math.min(w, b)), to < segments ? sendAt[to] : 0, sync, 0, 0,
                    compute.optimizerStepSeconds(pre[5][to] - pre[5][from], optimizer)));
        }


        @Override
        public double step() {
            return paths.step(ps, null, null, null);
        }

        /** Chunk {@code j}'s profile with the plan's layouts, as {@link #set} last. */
        StageProfile profileOf(int j) {
            return ps.get(j);
        }

        @Override
        public double floor() {
            return paths.floor(ps);
        }
    }

    /** {@link Fixed} for layouts {@code x} and chunks of {@code paths}' shape; null past {@link #TABLE_SEGMENTS} segments. */
    Fixed fixed(Paths paths, int chunks, int[] x) {
        return segments <= TABLE_SEGMENTS ? new Fixed(paths, chunks, x) : null;
    }

    /**
     * The step of partitions of one shape on their chunks' least profiles, as the enumeration prices them: the longest
     * paths of the op order (the schedule's estimate, closed form or critical path, is their largest end), each with what
     * every layout adds to its chunks' forward and backward pairs (a segment's joint least less its parts' least), to its
     * forwards with input gradients, and to the reduction and update of the device it ends on. Each chunk's values are
     * kept, so that a partition differing from the last one in a few chunks is priced without the others ({@link #set}).
     */
    final class Leaves implements Chunks {
        private final Paths paths;
        private final List<StageProfile> ps;
        private final double[] bonus;
        private final double[] fi;
        private final double[] own;
        private final double[] ownU;

        Leaves(Paths paths, int chunks) {
            this.paths = paths;
            ps = new ArrayList<>(java.util.Collections.nCopies(chunks, (StageProfile) null));
            bonus = new double[chunks];
            fi = new double[chunks];
            own = new double[chunks];
            ownU = new double[chunks];
        }

        /** Chunk {@code j} over segments {@code [from, to)}. O(to - from). */
        @Override
        public void set(int j, int from, int to) {
            ps.set(j, profile(from, to));
            double[] ch = chunk(from, to);
            bonus[j] = ch[3];
            fi[j] = ch[4];
            own[j] = chunkOwn(from, to);
            ownU[j] = chunkOwnUpdate(from, to);
        }

        /** The step of the chunks as {@link #set} last. O(ops + transfers). */
        @Override
        public double step() {
            return paths.step(ps, bonus, fi, own, ownU);
        }

        /**
         * The step of the chunks as {@link #set} last with chunk {@code j}'s profile replaced by {@code p} (a plan's) and
         * what the bound adds for its pairs and reduction dropped: how much of a plan's step that chunk's least profile
         * misses (a measurement: {@code ExactChunkExperiment}).
         */
        double stepWith(int j, StageProfile p) {
            StageProfile keep = ps.get(j);
            double[] k = {bonus[j], fi[j], own[j], ownU[j]};
            ps.set(j, p);
            bonus[j] = 0;
            fi[j] = 0;
            own[j] = 0;
            ownU[j] = 0;
            double r = paths.step(ps, bonus, fi, own, ownU);
            ps.set(j, keep);
            bonus[j] = k[0];
            fi[j] = k[1];
            own[j] = k[2];
            ownU[j] = k[3];
            return r;
        }

        /** Chunk {@code j}'s least profile as {@link #set} last. */
        StageProfile profileOf(int j) {
            return ps.get(j);
        }

        @Override
        public double floor() {
            return paths.floor(ps);
        }
    }

    /**
     * A local search over a partition's cuts on the least profiles ({@link Leaves}), in place: each cut in turn moved to
     * the place between its neighbours where the step is least, and where none moves, runs of consecutive cuts shifted
     * together ({@link #shiftRuns}), until neither moves, at most {@code passes} times over the cuts or until the time is
     * short. Not a bound (the least over partitions is {@link #least}'s): it points at
     * partitions whose plans may be faster than the one the search balanced, to be solved ({@link #partitionBound}) and
     * priced. Returns the step of the partition it ends at. O(passes K (segments + ops)).
     */
    double descend(Paths paths, int[] ends, int passes, DoubleSupplier secondsLeft) {
        return descend(new Leaves(paths, ends.length), ends, passes, secondsLeft);
    }

    /** Whether {@link #descend} leaves out the moves whose {@link Chunks#floor} shows they cannot be taken (true); tests turn it off. */
    static boolean descentFloor = true;

    /**
     * The share by which a floor is lowered before {@link #descend} compares it: far above the rounding of its sums in
     * another order than the longest path's (1e-15 of their size).
     */
    static final double FLOOR_SLACK = 1e-9;

    /** The moves {@link #descend} left out by their floor, and those it priced, in all (for tests and the trace). */
    final java.util.concurrent.atomic.LongAdder floored = new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder descentMoves = new java.util.concurrent.atomic.LongAdder();

    /**
     * {@link #descend(Paths, int[], int, DoubleSupplier)} with the chunks priced by {@code leaves}: the least profiles
     * ({@link Leaves}) or one plan's layouts ({@link Fixed}). O(passes K (chunk price + ops)).
     */
    double descend(Chunks leaves, int[] ends, int passes, DoubleSupplier secondsLeft) {
        int chunks = ends.length;
        double cur = leaves.step(ends);
        boolean moved = true;
        for (int pass = 0; moved && pass < passes && secondsLeft.getAsDouble() > 0.05; pass++) {
            moved = false;
            for (int j = 0; j + 1 < chunks; j++) {
                int start = j == 0 ? 0 : ends[j - 1];
                int arg = ends[j];
                for (int e = start + 1; e < ends[j + 1]; e++) {
                    if (e == arg) {
                        continue;
                    }
                    leaves.set(j, start, e);
                    leaves.set(j + 1, e, ends[j + 1]);
                    double s = moveStep(leaves, cur);
                    if (s < cur * (1 - 1e-12)) {
                        cur = s;
                        arg = e;
                        moved = true;
                    }
                }
                ends[j] = arg;
                leaves.set(j, start, arg);
                leaves.set(j + 1, arg, ends[j + 1]);
            }
            if (!moved && blockMoves && secondsLeft.getAsDouble() > 0.05) {
                double s = shiftRuns(leaves, ends, cur);
                moved = s < cur;
                cur = Math.min(cur, s);
            }
        }
        return cur;
    }

    /**
     * The step of a move of {@link #descend} (the chunks as {@link Chunks#set} last), or infinity where its floor shows it
     * cannot be taken (its step is at least the floor, and the floor at least {@code cur}); counted in {@link #floored}
     * or {@link #descentMoves}.
     */
    private double moveStep(Chunks leaves, double cur) {
        if (descentFloor && leaves.floor() * (1 - FLOOR_SLACK) >= cur * (1 - 1e-12)) {
            floored.increment();
            return Double.POSITIVE_INFINITY;
        }
        descentMoves.increment();
        return leaves.step();
    }

    /** Whether {@link #descend} also shifts runs of consecutive cuts together ({@code -Dshardplan.blockMoves=false}: not). */
    static boolean blockMoves = !"false".equals(System.getProperty("shardplan.blockMoves"));

    /** The most cuts {@link #shiftRuns} shifts together, and the most segments it shifts them by. */
    static final int RUN_CUTS = 6;
    static final int RUN_SHIFT = 2;

    /**
     * One sweep of {@link #descend}'s second kind of move: every run of 2 to {@link #RUN_CUTS} consecutive cuts shifted
     * together by 1 to {@link #RUN_SHIFT} segments either way (the chunks inside the run keep their lengths; the first
     * and the one after it grow and shrink), the best shift of each run taken where it lowers the step. A single cut's
     * move cannot make such a change where each cut alone would unbalance its neighbours. {@code ends} and {@code leaves}
     * left at the partition reached; returns its step. O(chunks RUN_CUTS RUN_SHIFT (RUN_CUTS chunk prices + ops)).
     */
    private double shiftRuns(Chunks leaves, int[] ends, double cur) {
        int chunks = ends.length;
        for (int j = 0; j + 1 < chunks; j++) {
            for (int len = 2; len <= RUN_CUTS && j + len < chunks; len++) {
                int start = j == 0 ? 0 : ends[j - 1];
                int after = ends[j + len];
                int bestShift = 0;
                for (int d = -RUN_SHIFT; d <= RUN_SHIFT; d++) {
                    if (d == 0 || ends[j] + d <= start || ends[j + len - 1] + d >= after) {
                        continue;
                    }
                    placeRun(leaves, ends, j, len, start, d);
                    double s = moveStep(leaves, cur);
                    if (s < cur * (1 - 1e-12)) {
                        cur = s;
                        bestShift = d;
                    }
                }
                for (int q = j; q < j + len; q++) {
                    ends[q] += bestShift;
                }
                placeRun(leaves, ends, j, len, start, 0);
            }
        }
        return cur;
    }

    /**
     * {@code leaves}' chunks {@code j .. j + len} from {@code start}: the run's {@code len} cuts at {@code ends} shifted by
     * {@code d}, the chunk after them to its own end.
     */
    private static void placeRun(Chunks leaves, int[] ends, int j, int len, int start, int d) {
        int from = start;
        for (int q = j; q < j + len; q++) {
            leaves.set(q, from, ends[q] + d);
            from = ends[q] + d;
        }
        leaves.set(j + len, from, ends[j + len]);
    }

    private final class Search {
        final Schedule sch;
        final int p;
        final int m;
        final int v;
        final int chunks;
        final boolean drain;
        final long budget;
        final DoubleSupplier secondsLeft;
        final int[] end;
        final double[] work;
        final double[] chain;
        final double[] prefixF;
        final double[] prefixB;
        final double[] prefixA;
        final double[] prefixJ;
        final double[] prefixW;
        final double[] update;
        final double[] drainPart;
        final double[] firstForwards;
        final boolean interleaved;
        final double leastSegment;
        final PipelineBound least = PipelineBound.this;
        double best;
        final double threshold;
        int[] bestEnds;
        /** Where not null: the partitions below {@code best} are collected here, {@code best} left as it is. */
        List<Leaf> collect;
        Paths paths;
        Leaves leaves;
        long priced;
        long visited;
        boolean aborted;
        /** Paths of the op order bounding partial partitions ({@link #pathRows}); none: 0. */
        int rowCount;
        /** Per path: its coefficients ({@link Path#PARTS} per chunk) and device. */
        private double[][] rowCoef;
        private int[] rowDevice;
        /** Per path, chunk {@code j} and start {@code s}: the least of its terms over chunks {@code j..} from {@code s}. */
        private double[][][] rowRest;
        /** Per depth {@code j} and path: its terms over chunks {@code 0..j-1} as they are cut. */
        private double[][] rowDone;
        /** The chunks' values ({@link #table}) the path bounds read. */
        private double[] values;
        /** Partial partitions the path bounds cut off (for tests and the trace). */
        long pathCuts;
        /**
         * The work of the path bounds: a path's terms read on a partial partition count 1, a path added {@code chunks K^2
         * / 2}; {@link #PATH_WORK} of it count as one partition priced against the budget.
         */
        long pathSpent;

        Search(Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
            this.sch = sch;
            this.p = p;
            this.m = m;
            this.v = v;
            this.chunks = p * v;
            // every schedule's device d but zero bubble's ends with micro-batch m - 1's backward through its first chunk
            this.drain = !sch.name().equals("zero-bubble");
            this.budget = budget;
            this.secondsLeft = secondsLeft;
            this.best = threshold;
            this.threshold = threshold;
            end = new int[chunks];
            work = new double[p];
            chain = new double[p];
            prefixF = new double[segments + 1];
            prefixB = new double[segments + 1];
            prefixA = new double[segments + 1];
            prefixJ = new double[segments + 1];
            prefixW = new double[segments + 1];
            update = new double[p];
            drainPart = new double[p];
            firstForwards = new double[p];
            interleaved = sch.name().equals("interleaved") && v > 1 && m >= p;
            double fewest = Double.POSITIVE_INFINITY;
            for (int k = 0; k < segments; k++) {
                prefixF[k + 1] = prefixF[k] + forward[k];
                prefixB[k + 1] = prefixB[k] + backwardInput[k] + backwardWeight[k];
                prefixA[k + 1] = prefixF[k + 1] + prefixB[k + 1];
                prefixJ[k + 1] = prefixJ[k] + joint[k];
                // a device's m forwards and backwards of a chunk: m pairs, each at least the segments' joint least
                prefixW[k + 1] = prefixA[k + 1] + prefixJ[k + 1];
                fewest = Math.min(fewest, prefixW[k + 1] - prefixW[k]);
            }
            leastSegment = fewest;
        }

        /**
         * Bounds every partial partition by paths of the op order too: a path's length on a partition (its chunks' least
         * values with its coefficients, {@link Path#length}) is at most the step of every plan with that partition, and on
         * every completion of chunks {@code 0..j-1} it is at least its terms over those chunks plus the least of its terms
         * over the ways to cut the rest ({@link #rowRest}, one partition program from the end per path). A partial partition
         * is cut off once one path's is above the best found. Only where the chunks' values are tabled ({@link #table}).
         * O(paths chunks K^2) once.
         */
        void pathRows(List<Path> paths, int most) {
            double[] t = table();
            if (t == null || paths.isEmpty()) {
                return;
            }
            rowCoef = new double[most][];
            rowDevice = new int[most];
            rowRest = new double[most][][];
            rowDone = new double[chunks + 1][most];
            values = t;
            for (Path x : paths) {
                addRow(x);
            }
        }

        /** The paths bounding partial partitions, to find a path once, and in the order they came. */
        private final java.util.Set<Path> rowSet = new java.util.HashSet<>();
        final List<Path> rowList = new ArrayList<>();

        /**
         * Adds a path to the bounds ({@link #pathRows}), its terms over the chunks cut so far ({@code end}) included: where
         * the paths are fewer than their most and it is not among them. O(chunks K^2).
         */
        private void addRow(Path x) {
            if (rowCount >= rowCoef.length || !rowSet.add(x)) {
                return;
            }
            rowList.add(x);
            int r = rowCount;
            int k = segments;
            pathSpent += (long) chunks * k * k / 2;
            rowCoef[r] = x.coef();
            rowDevice[r] = x.device();
            double[][] rest = new double[chunks + 1][k + 1];
            rowRest[r] = rest;
            for (double[] y : rest) {
                java.util.Arrays.fill(y, Double.POSITIVE_INFINITY);
            }
            rest[chunks][k] = 0;
            for (int j = chunks - 1; j >= 0; j--) {
                int sHi = j == 0 ? 0 : k - (chunks - j);
                int eHi = j == chunks - 1 ? k : k - (chunks - j - 1);
                for (int st = j == 0 ? 0 : j; st <= sHi; st++) {
                    double least = Double.POSITIVE_INFINITY;
                    for (int e = j == chunks - 1 ? k : st + 1; e <= eHi; e++) {
                        double after = rest[j + 1][e];
                        if (after < Double.POSITIVE_INFINITY) {
                            least = Math.min(least, rowTerms(r, j, st, e) + after);
                        }
                    }
                    rest[j][st] = least;
                }
            }
            // its terms over the chunks cut so far, depth by depth (the partial partition the enumeration stands at)
            double done = 0;
            for (int j = 0; j < chunks; j++) {
                rowDone[j][r] = done;
                if (end[j] <= (j == 0 ? 0 : end[j - 1])) {
                    break; // not cut yet: the depths past it are written as the enumeration goes down
                }
                done += rowTerms(r, j, j == 0 ? 0 : end[j - 1], end[j]);
                rowDone[j + 1][r] = done;
            }
            rowCount++;
        }

        /**
         * After a partition is priced at or above the best found: its longest paths that show it (their length on its
         * least values at least the best) join the bounds, so that partial partitions they make as long are cut off
         * before their last chunk (the paths of a dual see only its columns' longest). O(chunks (ops + K^2)).
         */
        private void learn() {
            if (rowCount == 0 || rowCount >= rowCoef.length) {
                return;
            }
            double[] vals = values(end);
            for (Path x : paths.trace(profiles(vals, chunks), vals)) {
                if (x.length(vals, p) >= best) {
                    addRow(x);
                }
            }
        }

        /** Path {@code r}'s terms over chunk {@code j} of segments {@code [st, e)}. O(1). */
        private double rowTerms(int r, int j, int st, int e) {
            double[] c = rowCoef[r];
            int o = j * Path.PARTS;
            int x = (e * segments + st) * Path.VALUES;
            double[] t = values;
            double sum = c[o] * t[x] + c[o + 1] * t[x + 1] + c[o + 2] * t[x + 2] + c[o + 3] * t[x + 3] + c[o + 4] * t[x + 4]
                    + c[o + 5] * t[x + 5] + c[o + 6] * t[x + 6];
            return j % p == rowDevice[r] ? sum + t[x + Path.SYNC] + t[x + Path.UPDATE] : sum;
        }

        /**
         * Whether some path shows that every completion of chunks {@code 0..j-1} with chunk {@code j} over {@code [st, e)}
         * is above the best found (or the budget is spent: then aborted); else writes the paths' terms so far for depth
         * {@code j + 1}. O(paths).
         */
        private boolean pathCut(int j, int st, int e) {
            double[] done = rowDone[j];
            double[] next = rowDone[j + 1];
            double top = best * (1 + FLOOR_SLACK);
            // the path that cut off the last partial partition first: neighbouring ones are often cut off by the same
            int first = lastCut < rowCount ? lastCut : 0;
            for (int i = 0; i < rowCount; i++) {
                int r = i == 0 ? first : i == first ? 0 : i;
                if ((++pathSpent & 4095) == 0 && spent() > budget) {
                    aborted = true;
                    return true;
                }
                double x = done[r] + rowTerms(r, j, st, e);
                if (x + rowRest[r][j + 1][e] > top) {
                    pathCuts++;
                    lastCut = r;
                    return true;
                }
                next[r] = x;
            }
            return false;
        }

        /** The path that cut off the last partial partition ({@link #pathCut}). */
        private int lastCut;

        /** Chunks {@code 0..j-1} end at {@code end[0..j-1]}, the last at segment {@code start}; {@code sends} their sends. */
        void dfs(int j, double sends) {
            if (aborted) {
                return;
            }
            // partial partitions cost too: 64 of them count as one partition priced against the budget (a
            // partition priced takes about as long as 64 partial ones cut off), the time checked as they go
            visited++;
            if (spent() > budget || (visited % 4096 == 0 && secondsLeft.getAsDouble() <= 0.05)) {
                aborted = true;
                return;
            }
            int start = j == 0 ? 0 : end[j - 1];
            if (j == chunks) {
                price();
                return;
            }
            int d = j % p;
            if (j < p) {
                // device d's first op waits for micro-batch 0's forward through chunks 0..j-1 (and its backward after)
                chain[d] = chainAt(start, sends);
                drainPart[d] = drain ? prefixB[start] + prefixJ[start] + sends : 0;
            }
            // interleaved (Megatron's order): device d runs p forwards of each of its chunks before the first
            // forward of the next, so its ops from micro-batch 0's forward through chunk j = d + c p on wait for
            // that micro-batch's forward through chunks 0..j-1: all of d's work but those c p forwards after it
            double ring = interleaved && j >= p ? prefixF[start] + sends + drainPart[d] - p * firstForwards[d] : 0;
            int last = segments - (chunks - j - 1);
            // the last chunk ends with the model
            for (int e = j == chunks - 1 ? segments : start + 1; e <= last; e++) {
                double[] ch = chunk(start, e);
                double a = ch[0] + ch[1] + ch[2] + ch[3];
                double dev = Math.max(chain[d], ring) + m * (work[d] + a) + update[d] + least.profileUpdate(start, e);
                if (dev >= best) {
                    break; // longer chunks only lengthen this device's path
                }
                work[d] += a;
                boolean cut = fill(j, e, sends) >= best || rowCount > 0 && pathCut(j, start, e);
                if (!cut) {
                    double u = least.profileUpdate(start, e);
                    double ff = ch[0] + ch[3];
                    update[d] += u;
                    firstForwards[d] += ff;
                    end[j] = e;
                    dfs(j + 1, sends + (e < segments ? sendAt[e] : 0));
                    update[d] -= u;
                    firstForwards[d] -= ff;
                }
                work[d] -= a;
                if (aborted) {
                    return;
                }
            }
        }

        /** The path every device's first op waits for and (but zero bubble) its last op is followed by, at a chunk start. */
        private double chainAt(int start, double sends) {
            return prefixF[start] + sends + (drain ? prefixB[start] + prefixJ[start] + sends : 0);
        }

        /**
         * With chunks {@code 0..j} ending at {@code e}: the least over the ways to share the rest of the work among
         * the devices of the largest path of a device (its chain, m times its work, each chunk still to come at
         * least one segment's work), by water-filling. O(p log p).
         */
        private double fill(int j, int e, double sends) {
            double later = chainAt(e, sends);
            double[] base = new double[p];
            int remaining = chunks - j - 1;
            double top = 0;
            for (int q = 0; q < p; q++) {
                int mine = 0;
                for (int c = j + 1; c < chunks; c++) {
                    mine += c % p == q ? 1 : 0;
                }
                base[q] = (q <= j ? chain[q] : later) + m * (work[q] + mine * leastSegment);
                top = Math.max(top, base[q]);
            }
            double rest = m * Math.max(0, prefixW[segments] - prefixW[e] - remaining * leastSegment);
            java.util.Arrays.sort(base);
            double sum = 0;
            for (int k = 1; k <= p; k++) {
                sum += base[k - 1];
                double level = (rest + sum) / k;
                if (k == p || level <= base[k]) {
                    return Math.max(top, level);
                }
            }
            return top;
        }

        /**
         * The budget spent: partitions priced, 64 partial ones visited as one, {@link #PATH_WORK} of the path bounds' work as
         * one.
         */
        long spent() {
            return priced + visited / 64 + pathSpent / PATH_WORK;
        }

        void price() {
            priced++;
            if (spent() > budget || (priced % 1024 == 0 && secondsLeft.getAsDouble() <= 0.05)) {
                aborted = true;
                return;
            }
            if (paths == null) {
                paths = new Paths(sch, p, m, v);
                leaves = new Leaves(paths, chunks);
            }
            double step = leaves.step(end);
            if (step >= best) {
                learn();
            }
            if (collect != null) {
                if (step < best) {
                    if (collect.size() >= TIGHTEN_LEAVES) {
                        aborted = true;
                        return;
                    }
                    collect.add(new Leaf(step, end.clone()));
                }
                return;
            }
            if (step < best) {
                best = step;
                bestEnds = end.clone();
            }
        }
    }
}
