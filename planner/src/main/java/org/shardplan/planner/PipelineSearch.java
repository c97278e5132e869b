package org.shardplan.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterNode;
import org.shardplan.cost.cluster.Link;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Deadline;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.baseline.BatchDims;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.Reshards;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.Estimate;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StagePartition;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.solver.AutoSolver;
import org.shardplan.planner.solver.DoublesKey;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;
import org.shardplan.planner.strategy.Layout;

/**
 * The search over pipeline stages, micro-batches, recomputation and ZeRO stage around the exact
 * per-layer search. A configuration is (P stages, m micro-batches, recomputation, ZeRO stage); the
 * devices split into P equal, contiguous submeshes of N/P devices (whole nodes, or equal parts of
 * one node), and the model is bound at the micro-batch's size (global batch / m).
 *
 * <p>For one configuration:
 * <ol>
 * <li>the strategy problem of the coarse graph on one submesh is built once (cost tables shared by
 *     every repeated node);</li>
 * <li>with P &gt; 1, the coarse graph is cut into P contiguous stages at the boundaries between the
 *     instances of its largest repeated block (layers): the per-layer problem of the whole model with
 *     layers tied is solved exactly without memory limit, and the cuts minimise the slowest stage
 *     under those per-node times. The recurrence, over cut positions c_0 = 0 &lt; ... &lt; c_K = n,
 *     <pre>
 *     T[1][j] = t(0, c_j);   T[k][j] = min over i &lt; j of max(T[k-1][i], t(c_i, c_j))
 *     </pre>
 *     with t(a, b) the summed time of nodes a..b-1, is Alpa's and Piper's stage-balancing DP on a
 *     chain (Zheng et al., OSDI'22; Tarnawski et al., NeurIPS'21), O(P K^2). That balanced partition
 *     then bounds the exact one ({@link #exactBounds}, {@link StagePartition}): the partition at the
 *     cuts minimising {@code sum + (m - 1) max} of the stages' own exact solves (Alpa's objective,
 *     enumerating the bottleneck), stage solves shared by range shape; the optimum, its runners-up and
 *     the balanced partition are priced by the schedules and the fastest kept. The balanced partition
 *     alone where the time limit runs out first;</li>
 * <li>each stage's own per-layer problem is solved with its memory limit (exact dynamic programming,
 *     the limit priced by Lagrangian relaxation when it binds), its micro-batch work weighted by
 *     m + P - 1 (the step of GPipe and 1F1B: Narayanan et al., SC'21) and its activations by the
 *     micro-batches it holds under 1F1B, min(P - s, m) at stage s;</li>
 * <li>the stages' per-micro-batch profiles go to the closed form of every schedule the options allow
 *     ({@link Schedule}; those that change the training math, the asynchronous {@code amp}, only with
 *     {@code --allow async} or by name), in each of the configured variants it offers ({@link
 *     Schedule#variants}: the keys in flight and update frequency of {@code amp}) and virtual stages;
 *     the fastest that fits (and keeps within {@code --max-staleness}) is kept.</li>
 * </ol>
 * Configurations are enumerated with pruning that cannot lose a better plan under the cost model:
 * more micro-batches only slow a single stage down, so they are tried only while the memory limit
 * binds; recomputation and higher ZeRO stages only add time or equal it, so they are tried only where
 * the configuration without them is bound by memory. One configuration costs one build of cost
 * tables and P + 1 solves of problems whose size does not grow with the layers (tied blocks).
 */
final class PipelineSearch {

    /** A priced configuration: its plan choices and figures. */
    record Outcome(int stages, int microBatches, boolean recompute, int zero, Schedule schedule, int virtual,
            long micro, ProblemBuilder.Built built, ProblemBuilder builder, int[] choice, int[] bounds,
            List<StageProfile> profiles, Estimate estimate, double stepSeconds, boolean fits, boolean proven,
            double lowerBound, boolean tied, boolean memoryBound, String solver) {

        /**
         * A configuration left unpriced because its lower bound ({@code stepSeconds}) could not beat a plan
         * already found: it has no plan of its own and never becomes the result.
         */
        static Outcome bounded(int stages, int microBatches, boolean recompute, int zero, double bound) {
            return new Outcome(stages, microBatches, recompute, zero, Schedules.of("none"), 1, 0, null, null, null, null,
                    List.of(), null, bound, true, false, bound, false, false, "bound");
        }

        /** Whether this is a {@link #bounded} configuration, not a plan. */
        boolean isBounded() {
            return built == null;
        }
    }

    private record Key(long micro, int devices, boolean recompute, int zero) {
    }

    private final Planner planner;
    private final SearchOptions opts;
    private final ModelSource source;
    private final long batch;
    private final double limit;
    private final Cluster cluster;
    private final long deadline;
    /** Read without a lock (a thread beside prepares configurations, {@link #prepareAhead}); written under this's. */
    private final Map<Long, CoarseGraph> coarse = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Long, Graph> graphs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Key, ProblemBuilder.Built> builds = new HashMap<>();
    private final Map<Key, ProblemBuilder> builders = new HashMap<>();
    private final Map<String, ProblemBuilder.Shared> shared = new HashMap<>();
    /** Resharding prices by submesh size, shared by the builders of every micro-batch size on it. */
    private final Map<Integer, Reshards> reshards = new HashMap<>();
    /** Per-device nodes' prices by micro-batch size (one graph), shared by its builders on every submesh. */
    private final Map<Long, ProblemBuilder.PerDeviceWork> perDeviceWork = new HashMap<>();
    /** The compute model's prices of per-device nodes by their contents, shared by the graphs of every micro-batch size. */
    private final org.shardplan.planner.build.LocalPrices localPrices = new org.shardplan.planner.build.LocalPrices();
    private final Map<Long, List<Integer>> cuts = new java.util.concurrent.ConcurrentHashMap<>();
    int configurations;
    /** The first configuration the fixed degrees left without a layout, said in words; null when none. */
    String noLayout;

    /** Records configuration (stages, m, micro) as {@link #noLayout}, the fixed degrees' {@code why}, where none is yet. */
    private void noLayoutAt(int stages, int m, long micro, IllegalArgumentException why) {
        if (noLayout == null) {
            noLayout = stages + " pipeline stage" + (stages == 1 ? "" : "s") + " and " + m + " micro-batch"
                    + (m == 1 ? "" : "es") + " of " + micro + " samples: " + why.getMessage();
        }
    }
    final List<String> notes = new ArrayList<>();

    PipelineSearch(Planner planner, SearchOptions opts, ModelSource source, long batch, double timeLimit) {
        this.planner = planner;
        this.opts = opts;
        this.source = source;
        this.batch = batch;
        this.limit = planner.memoryLimit();
        this.cluster = planner.cluster();
        this.deadline = System.nanoTime() + (long) (timeLimit * 1e9);
    }

    Graph graph(long micro) throws ShardplanException {
        Graph g = graphs.get(micro);
        return g != null ? g : graphLocked(micro);
    }

    private synchronized Graph graphLocked(long micro) throws ShardplanException {
        Graph g = graphs.get(micro);
        if (g == null) {
            long t = System.nanoTime();
            g = source.at(micro);
            tick("import", t);
            graphs.put(micro, g);
        }
        return g;
    }

    CoarseGraph coarse(long micro) throws ShardplanException {
        CoarseGraph cg = coarse.get(micro);
        return cg != null ? cg : coarseLocked(micro);
    }

    private synchronized CoarseGraph coarseLocked(long micro) throws ShardplanException {
        CoarseGraph cg = coarse.get(micro);
        if (cg == null) {
            Graph g = graph(micro);
            long t = System.nanoTime();
            cg = Coarsening.coarsen(g);
            tick("coarsen", t);
            coarse.put(micro, cg);
        }
        return cg;
    }

    /** The pipeline degrees to try. */
    List<Integer> pipelineCandidates() throws ShardplanException {
        int n = cluster.deviceCount();
        int dpn = cluster.devicesPerNode();
        CoarseGraph cg = coarse(batch);
        int maxStages = cuts(cg, batch).size() + 1;
        // the interleaved schedule alone: each stage holds V chunks of layers (V virtual stages, at least 2)
        boolean onlyInterleaved = opts.schedule().isPresent() && opts.schedule().get().equals("interleaved");
        int chunks = onlyInterleaved ? Math.max(2, opts.virtualStages().orElse(2)) : 1;
        if (opts.pipeline().isPresent()) {
            int p = opts.pipeline().getAsInt();
            if (n % p != 0) {
                throw new ShardplanException("--pipeline-parallel must divide the " + n + " devices, found " + p);
            }
            if (p > 1 && !cluster.isHomogeneous()) {
                throw new ShardplanException("--pipeline-parallel " + p + " needs a homogeneous cluster (equal nodes), found "
                        + cluster.name() + " with nodes of different devices or sizes");
            }
            int per = n / p;
            if (p > 1 && per % dpn != 0 && dpn % per != 0) {
                throw new ShardplanException("--pipeline-parallel " + p + " gives stages of " + per + " devices, which must"
                        + " be whole nodes or equal parts of a node of " + dpn + " devices");
            }
            if (p > maxStages) {
                throw new ShardplanException("--pipeline-parallel must be at most " + maxStages + " for this model (its"
                        + " layers give " + (maxStages - 1) + " places to cut), found " + p);
            }
            if (p > 1 && (long) p * chunks > maxStages) {
                throw new ShardplanException("--schedule interleaved with --pipeline-parallel " + p + " needs " + p * chunks
                        + " chunks of layers (" + chunks + " virtual stages per stage), but this model's layers give at most "
                        + maxStages + (maxStages / chunks >= 2 ? ": take --pipeline-parallel " + maxStages / chunks + " or less" : "")
                        + " (or another --schedule)");
            }
            return List.of(p);
        }
        List<Integer> r = new ArrayList<>();
        for (int p = 1; p <= Math.min(n, maxStages); p++) {
            if (n % p != 0) {
                continue;
            }
            int per = n / p;
            if (p > 1 && (!cluster.isHomogeneous() || (per % dpn != 0 && dpn % per != 0))) {
                continue;
            }
            if (p > 1 && (long) p * chunks > maxStages) {
                continue; // too few layers for the interleaved schedule's chunks
            }
            if (opts.tensor().isPresent() && per % opts.tensor().getAsInt() != 0) {
                continue;
            }
            if (opts.data().isPresent() && per % opts.data().getAsInt() != 0) {
                continue;
            }
            r.add(p);
        }
        if (r.isEmpty()) {
            List<String> fixed = new ArrayList<>();
            opts.tensor().ifPresent(t -> fixed.add("--tensor-parallel " + t));
            opts.data().ifPresent(d -> fixed.add("--data-parallel " + d));
            throw new ShardplanException("no pipeline degree fits the fixed degrees: " + String.join(" and ", fixed)
                    + (fixed.size() > 1 ? " must each" : " must") + " divide the devices of one stage (the " + n
                    + " devices over a pipeline degree of at most " + Math.min(n, maxStages) + " that divides them)");
        }
        return r;
    }

    private int maxPipeline = 1;

    /** The micro-batch counts to try, in increasing order (after {@link #pipelineCandidates}). */
    List<Integer> microCandidates() throws ShardplanException {
        if (opts.data().isPresent() && batch > 0 && batch % opts.data().getAsInt() != 0) {
            // no micro-batch count gives each replica a whole share of the batch
            throw new ShardplanException("--data-parallel " + opts.data().getAsInt() + " must divide the global batch "
                    + batch);
        }
        if (opts.microBatches().isPresent()) {
            int m = opts.microBatches().getAsInt();
            if (m > 1 && (batch <= 0 || batch % m != 0)) {
                throw new ShardplanException("--micro-batches must divide the global batch " + batch + ", found " + m);
            }
            if (m > 1 && !source.rebindable()) {
                throw new ShardplanException("--micro-batches " + m + " needs a model whose batch can be bound again"
                        + " (a model file or a built-in model)");
            }
            return List.of(m);
        }
        // at least one sample per micro-batch on every data-parallel replica of the smallest stage whose
        // tensor parallelism stays inside a node: m <= batch * P / (devices / devices per node), P <= devices
        long most = Math.max(1, batch * (long) cluster.devicesPerNode() / Math.max(1, cluster.deviceCount())
                * Math.max(1, maxPipeline));
        List<Integer> r = new ArrayList<>();
        r.add(1);
        if (batch > 1 && source.rebindable()) {
            for (long m = 2; m <= Math.min(batch, most); m *= 2) {
                if (batch % m == 0) {
                    r.add((int) m);
                }
            }
        }
        return r;
    }

    /** What the search was doing when the time limit stopped it, in words; null when it was not stopped. */
    String stoppedWhile;

    /** Whether the coarse graph at this micro-batch size has been made. */
    boolean hasCoarse(long micro) {
        return coarse.containsKey(micro);
    }

    boolean timeLeft() {
        return System.nanoTime() < deadline && !dropped();
    }

    /**
     * Whether the work this thread does beside the search is no longer wanted ({@link #reportAhead}: the plan it
     * bounds is no longer the plan found): its time is then up, so that it stops at its next look at the clock.
     */
    private boolean dropped() {
        Drop d = droppedHere.get();
        if (d == null) {
            return false;
        }
        d.yieldToSearch();
        return d.get();
    }

    private final ThreadLocal<Drop> droppedHere = new ThreadLocal<>();

    /**
     * The flag that drops work done beside the search ({@link #reportAhead}), and whether that work gives way to the
     * search's threads: at each look at the clock a bound started during the passes waits while the threads beside
     * the search are busy ({@link #searchBusy}), at most {@link #YIELD_NANOS} a look (a wait can never hold the search up
     * for long, even where this thread holds a lock another needs), so that it takes only the time they leave idle.
     */
    final class Drop extends java.util.concurrent.atomic.AtomicBoolean {
        private static final long serialVersionUID = 1L;
        /** Whether the work gives way; cleared once the search waits for its answer. */
        volatile boolean yielding;
        /** The nanoseconds it waited (for the trace). */
        long waited;

        Drop(boolean yielding) {
            this.yielding = yielding;
        }

        /** When it last looked at the clock, the longest time between two looks, and how many (for the trace). */
        long lastLook;
        long maxGap;
        long looks;

        void yieldToSearch() {
            long t0 = System.nanoTime();
            if (lastLook != 0) {
                maxGap = Math.max(maxGap, t0 - lastLook);
            }
            lastLook = t0;
            looks++;
            if (!yielding || get() || Thread.holdsLock(PipelineSearch.this) || !searchBusy()) {
                return;
            }
            long start = System.nanoTime();
            long until = start + YIELD_NANOS;
            long now = start;
            while (yielding && !get() && now < until && searchBusy()) {
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                now = System.nanoTime();
            }
            waited += now - start;
            lastLook = System.nanoTime();
        }
    }

    /** The longest a bound beside the passes waits at one look at the clock ({@link Drop#yieldToSearch}). */
    static final long YIELD_NANOS = 200_000_000L;

    /**
     * Seconds of the time limit left, and at least 0.05: the solvers called one after another for a
     * stage each stop at their own limit, so a larger floor would add up past the user's limit.
     */
    double secondsLeft() {
        if (dropped()) {
            return 0.05;
        }
        return Math.max(0.05, (deadline - System.nanoTime()) / 1e9);
    }

    /** The submesh of one stage: the first {@code devices} devices. */
    Cluster submesh(int devices) {
        return submesh(cluster, devices);
    }

    /** The first {@code devices} devices of a cluster (whole nodes, or part of the first node). */
    static Cluster submesh(Cluster cluster, int devices) {
        if (devices == cluster.deviceCount()) {
            return cluster;
        }
        ClusterNode first = cluster.nodes().get(0);
        List<ClusterNode> nodes = new ArrayList<>();
        if (devices < first.devices()) {
            nodes.add(new ClusterNode(first.name(), first.device(), devices, first.intraNode()));
        } else {
            for (int i = 0; i < devices / first.devices(); i++) {
                nodes.add(cluster.nodes().get(i));
            }
        }
        return new Cluster(cluster.name() + " (stage of " + devices + ")", nodes, cluster.interNode());
    }

    ProblemBuilder builder(long micro, int devices, boolean recompute, int zero) throws ShardplanException {
        Key k = new Key(micro, devices, recompute, zero);
        ProblemBuilder pb = builders.get(k);
        if (pb == null) {
            Prepared ready = takeAhead(k);
            if (ready != null) {
                return ready.pb();
            }
            pb = newBuilder(k, sharedOf(micro, devices), coarse(micro));
            builders.put(k, pb);
        }
        return pb;
    }

    /**
     * The memos the builders of one graph on one submesh share, candidates and resharding tables: only the memory
     * model (recomputation, ZeRO) tells them apart. This thread's.
     */
    private ProblemBuilder.Shared sharedOf(long micro, int devices) {
        return shared.computeIfAbsent(micro + "/" + devices,
                x -> new ProblemBuilder.Shared(reshards.computeIfAbsent(devices, d -> new Reshards()),
                        perDeviceWork.computeIfAbsent(micro, y -> new ProblemBuilder.PerDeviceWork(localPrices))));
    }

    /** A builder of the configuration's problems ({@code k}) with the memos {@code sh}. */
    private ProblemBuilder newBuilder(Key k, ProblemBuilder.Shared sh, CoarseGraph cg) {
        ProblemBuilder.Settings base = planner.settings().forModel(cg);
        MemoryModel mm = new MemoryModel(base.memory().optimizer(), k.zero(), k.recompute());
        ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(submesh(k.devices()), base.compute(), mm,
                base.maxLayouts(), base.memoryLimit(), base.gradientBucketBytes()), cg.nodes().size(), sh);
        pb.stopAt(deadline); // building checks the time limit too (ProblemBuilder.OutOfTime, caught in run)
        return pb;
    }

    /**
     * What a thread beside made of one configuration's problems ahead of its pricing ({@link #prepareAhead}): its
     * builder, the required layouts, the memory parts (null where every plan fits whatever its layouts: {@link
     * #fitsWhatever}), its step's lower bound (NaN: not computed) and the built problem (null where its bound reached
     * the plan found, or where only the parts were asked for).
     */
    private record Prepared(ProblemBuilder pb, Map<String, List<Layout>> req, double[][][] parts, double bound,
            ProblemBuilder.Built built) {
    }

    /** The preparations started on the thread beside and not taken yet, by configuration key (this thread only). */
    private final Map<Key, BesideWork<Prepared>> ahead = new HashMap<>();

    /**
     * Whether the problems of the configurations likely priced next are built ahead on a thread beside ({@code
     * -Dshardplan.prepareAhead=false}: not); tests turn it off to compare.
     */
    boolean prepareAheadOn = !"false".equals(System.getProperty("shardplan.prepareAhead"));

    /** Preparations made beside and taken by the search (for tests and the trace). */
    int preparedAhead;

    /**
     * Starts, on a thread beside, what the pricing of configuration (stages, m, recompute, zero) builds before any
     * solve: the graph at its micro-batch size, coarsened, the standard layouts, the candidates' memory parts and,
     * with {@code build}, the strategy problem ({@link #built}); where there is a thread beside, it is idle enough to
     * take it, and nothing of the configuration is built yet. The search's thread takes the answer when it gets there
     * ({@link #takeAhead}), or does the work itself where the thread beside has not started it. The thread beside
     * shares the search's candidates, resharding tables and prices (concurrent maps) and keeps per-device prices and
     * baselines' memos of its own ({@link #besideWork}), so the answer is the one the search's thread would have
     * built, bit for bit.
     */
    void prepareAhead(int stages, int m, boolean recompute, int zero, boolean build) {
        if (!prepareAheadOn || !beside || batch <= 0 || batch % m != 0 || helpers() == null || !timeLeft()) {
            return;
        }
        if (boundYields && reportedDrop != null && !reportedDrop.yielding && reportedAhead != null && !reportedAhead.isDone()) {
            return; // the reported bound goes first ({@link #reportAhead}); the pricing makes what it needs itself
        }
        long micro = batch / m;
        int devices = cluster.deviceCount() / stages;
        Key k = new Key(micro, devices, recompute, zero);
        if (builders.containsKey(k) || ahead.containsKey(k) || (build && builds.containsKey(k))) {
            return;
        }
        ProblemBuilder.Shared tables = sharedOf(micro, devices);
        Map<String, Layout> more = devices == cluster.deviceCount() ? extra.get(micro) : null;
        ahead.put(k, new BesideWork<>(helpers(), () -> prepare(k, tables, more, build)));
    }

    /** Whether the configuration's problem has been built (for tests). */
    boolean hasBuilt(long micro, int devices, boolean recompute, int zero) {
        return builds.containsKey(new Key(micro, devices, recompute, zero));
    }

    /** Whether every preparation asked for and not taken has ended beside (for tests). */
    boolean preparedBeside() {
        return ahead.values().stream().allMatch(BesideWork::isDone);
    }

    /** Keeps the preparations not started from starting (the search's thread makes those it needs itself). */
    private void dropAhead() {
        ahead.values().removeIf(BesideWork::dropUnstarted); // those started stay, to be taken
    }

    /**
     * The per-device prices and the baselines' memos of the preparations made on each thread beside, by micro-batch
     * size: those memos are not thread-safe, so each thread beside keeps its own, as the search's thread keeps its own
     * ({@link #perDeviceWork}, {@link #baselineMemo}).
     */
    private final ThreadLocal<Map<Long, ProblemBuilder.PerDeviceWork>> besideWork = ThreadLocal.withInitial(HashMap::new);
    private final ThreadLocal<Map<Long, Baselines.Memo>> besideMemo = ThreadLocal.withInitial(HashMap::new);

    /** {@link #prepareAhead}'s work, on the thread beside; null where anything fails (the search then does it itself). */
    private Prepared prepare(Key k, ProblemBuilder.Shared tables, Map<String, Layout> more, boolean build) {
        try {
            CoarseGraph cg = coarse(k.micro());
            ProblemBuilder.PerDeviceWork work = besideWork.get().computeIfAbsent(k.micro(),
                    x -> new ProblemBuilder.PerDeviceWork(localPrices));
            ProblemBuilder.Shared sh = new ProblemBuilder.Shared(tables, work);
            ProblemBuilder pb = newBuilder(k, sh, cg);
            long t = System.nanoTime();
            Map<String, List<Layout>> req = requiredCache.get(requiredKey(k.micro(), pb)); // the search's, where made
            if (req == null) {
                req = requiredOf(cg, k.micro(), pb, besideMemo.get().compute(k.micro(), (x, m) -> m != null
                        && m.isOf(cg, k.micro()) ? m : new Baselines.Memo(cg, k.micro(), pb.spacesOf(cg),
                        pb.signaturesOf(cg))), more);
                t = tick("required", t);
            }
            int stages = cluster.deviceCount() / k.devices();
            int m = (int) (batch / k.micro());
            // none where every plan fits whatever its layouts (fitsWhatever, as the memory tests ask it: the whole batch's
            // activations once, a micro-batch's m times)
            double[][][] parts = null;
            if (!(fitsWhatever && replicatedFits(pb.replicatedMemory(cg), k.micro() == batch ? 1 : m))) {
                parts = pb.memoryOnlyParts(cg, req);
                t = tick(k.micro() == batch ? "memoryParts (whole batch)" : "memoryParts", t);
            }
            // its bound (stepLowerBound, a function of the builder and the standard layouts), and no build where that
            // bound already reaches the plan found by now: the pricing leaves such a configuration unpriced (where
            // the plan found is another by then, the pricing builds what it needs itself)
            double bound = Double.NaN;
            if (build && useBound) { // parts alone (the whole batch's) are asked for no configuration's pricing
                bound = stepLowerBound(cg, k.micro(), pb, req, stages, m, true);
                t = tick("bound", t);
            }
            Outcome found = incumbent;
            ProblemBuilder.Built b = null;
            if (build && (found == null || !(bound >= found.stepSeconds()))) {
                b = pb.build(cg, req);
                tick("build", t);
            }
            return new Prepared(pb, req, parts, bound, b);
        } catch (ShardplanException | RuntimeException e) {
            return null; // the search's thread does it again and meets the same failure there
        }
    }

    /**
     * The preparation of configuration key {@code k} made beside, installed in this search's memos as if this thread
     * had made it; null where none was asked for, or the thread beside had not started it (dropped: this thread
     * makes it) or it failed.
     */
    private Prepared takeAhead(Key k) {
        BesideWork<Prepared> w = ahead.remove(k);
        if (w == null) {
            return null;
        }
        Prepared p = w.get(() -> null);
        if (p == null) {
            return null;
        }
        preparedAhead++;
        builders.put(k, p.pb());
        // the standard layouts as this search keeps them (equal content), so that the parts' check finds them
        Map<String, List<Layout>> req = requiredCache.putIfAbsent(requiredKey(k.micro(), p.pb()), p.req());
        req = req != null ? req : p.req();
        if (p.parts() != null) {
            memoryPartsOf.put(p.pb(), p.parts());
            memoryPartsReq.put(p.pb(), req);
        }
        if (!Double.isNaN(p.bound())) {
            lowerBounds.putIfAbsent(new BoundKey(coarse.get(k.micro()), p.pb(), req, cluster.deviceCount() / k.devices(),
                    (int) (batch / k.micro()), true, exposedReductionBound), p.bound());
        }
        if (k.micro() == batch && p.parts() != null) {
            fullBatchParts.putIfAbsent(k, p.parts());
        }
        if (p.built() != null) {
            builds.putIfAbsent(k, p.built());
        }
        return p;
    }

    ProblemBuilder.Built built(long micro, int devices, boolean recompute, int zero) throws ShardplanException {
        Key k = new Key(micro, devices, recompute, zero);
        ProblemBuilder.Built b = builds.get(k);
        if (b == null) {
            CoarseGraph cg = coarse(micro);
            ProblemBuilder pb = builder(micro, devices, recompute, zero);
            Map<String, List<Layout>> req = requiredFor(cg, micro, pb);
            long t = System.nanoTime();
            b = pb.build(cg, req);
            tick("build", t);
            builds.put(k, b);
        }
        return b;
    }

    /** Read by the thread beside too ({@link #prepare}), written by the search's thread. */
    private final Map<String, Map<String, List<Layout>>> requiredCache = new java.util.concurrent.ConcurrentHashMap<>();

    private Map<String, List<Layout>> requiredFor(CoarseGraph cg, long micro, ProblemBuilder pb) {
        return requiredCache.computeIfAbsent(requiredKey(micro, pb), k -> {
            long t = System.nanoTime();
            Map<String, List<Layout>> r = requiredOf(cg, micro, pb,
                    baselineMemo.compute(micro, (x, m) -> m != null && m.isOf(cg, micro) ? m
                            : new Baselines.Memo(cg, micro, pb.spacesOf(cg), pb.signaturesOf(cg))),
                    pb.settings().cluster().deviceCount() == cluster.deviceCount() ? extra.get(micro) : null);
            tick("required", t);
            return r;
        });
    }

    /** The key of {@link #requiredCache}: the standard layouts depend on the micro-batch size and the devices alone. */
    private static String requiredKey(long micro, ProblemBuilder pb) {
        return micro + "/" + pb.digits().size() + "/" + pb.settings().cluster().deviceCount();
    }

    /** The baselines' layouts of the graph ({@code memo} their memo) with {@code more} (null: none) added. */
    private static Map<String, List<Layout>> requiredOf(CoarseGraph cg, long micro, ProblemBuilder pb, Baselines.Memo memo,
            Map<String, Layout> more) {
        Map<String, List<Layout>> r = Baselines.familyLayouts(cg, micro, pb.digits(), memo);
        if (more == null) {
            return r;
        }
        Map<String, List<Layout>> merged = new java.util.LinkedHashMap<>(r);
        more.forEach((node, l) -> {
            List<Layout> ls = new ArrayList<>(merged.getOrDefault(node, List.of()));
            if (!ls.contains(l)) {
                ls.add(l);
            }
            merged.put(node, ls);
        });
        return merged;
    }

    private final Map<Long, Map<String, Layout>> extra = new HashMap<>();

    /** The baselines of the graph at each micro-batch size, per device set ({@link Baselines#familyLayouts}'s memo). */
    private final Map<Long, Baselines.Memo> baselineMemo = new HashMap<>();

    /**
     * Layouts that must be candidates, besides the baselines', of the problems on all the devices at this
     * micro-batch size (the plan on fewer devices, copied over the others: {@link Planner}). Call before
     * the search.
     */
    void require(long micro, Map<String, Layout> layouts) {
        extra.put(micro, Map.copyOf(layouts));
        requiredCache.clear();
    }

    /** Takes the graphs another search of the same model has bound and coarsened (the plan on fewer devices). */
    void adoptModels(PipelineSearch other) {
        graphs.putAll(other.graphs);
        coarse.putAll(other.coarse);
    }

    /**
     * Takes {@code other}'s builders of stages on fewer devices than {@code other}'s cluster (and at most this one's)
     * whose submeshes are alike in both (the same nodes and links, the names aside: a search on the first half of
     * {@code other}'s devices has the same stage of 8 devices, and its one stage is {@code other}'s stage of two), with
     * the problems they built and the standard layouts they were built with: each builder prices its stage alone, so
     * the same builder gives this search the same candidates and costs it would work out again (Planner's copies on
     * fewer devices a stage, whose stages {@code other}'s configurations of more stages had already). Only between
     * homogeneous clusters (one device, one compute model) and where neither search requires layouts beside the
     * baselines' ({@link #require}). Called before this search makes any builder of its own; {@code other}'s thread must
     * be done with them. O(builders).
     */
    void adoptBuilders(PipelineSearch other) {
        // a homogeneous cluster's compute model is its one device's, on any part of it; the layouts required beside the
        // baselines (require) are of the problems on all of a search's devices: none in either
        // and only once every preparation asked of other's threads beside has ended: a builder made there shares its
        // per-device prices (not thread-safe) with the preparations after it on that thread
        if (!adoptBuilders || !cluster.isHomogeneous() || !other.cluster.isHomogeneous() || !extra.isEmpty()
                || !other.extra.isEmpty() || !other.preparedBeside()) {
            return;
        }
        for (Map.Entry<Key, ProblemBuilder> e : other.builders.entrySet()) {
            Key k = e.getKey();
            if (k.devices() > cluster.deviceCount() || k.devices() >= other.cluster.deviceCount()
                    || builders.containsKey(k) || !sameMesh(submesh(k.devices()), other.submesh(k.devices()))) {
                continue;
            }
            ProblemBuilder pb = e.getValue();
            builders.put(k, pb);
            ProblemBuilder.Built b = other.builds.get(k);
            if (b != null) {
                builds.put(k, b);
            }
            String rk = requiredKey(k.micro(), pb);
            Map<String, List<Layout>> req = other.requiredCache.get(rk);
            if (req != null) {
                requiredCache.putIfAbsent(rk, req);
            }
            adopted++;
        }
    }

    /** Whether this search has made or taken the builder of a configuration's stages (tests). */
    boolean hasBuilder(long micro, int devices, boolean recompute, int zero) {
        return builders.containsKey(new Key(micro, devices, recompute, zero));
    }

    /** Whether {@link #adoptBuilders} takes anything ({@code -Dshardplan.adoptBuilders=false}: not; tests compare). */
    static boolean adoptBuilders = !"false".equals(System.getProperty("shardplan.adoptBuilders"));

    /** The builders {@link #adoptBuilders} took (tests, the trace). */
    int adopted;

    /** Whether two clusters have the same nodes (devices, counts, links within) and the same link between them. */
    private static boolean sameMesh(Cluster a, Cluster b) {
        return a.nodes().size() == b.nodes().size() && a.interNode().equals(b.interNode()) && java.util.stream.IntStream
                .range(0, a.nodes().size()).allMatch(i -> sameNode(a.nodes().get(i), b.nodes().get(i)));
    }

    private static boolean sameNode(ClusterNode a, ClusterNode b) {
        return a.device().equals(b.device()) && a.devices() == b.devices() && a.intraNode().equals(b.intraNode());
    }

    /** The baselines' layouts (and the same families' on fewer devices, copied), which must be among the candidates. */
    static Map<String, List<Layout>> required(CoarseGraph cg, long micro, ProblemBuilder pb) {
        return Baselines.familyLayouts(cg, micro, pb.digits());
    }

    /**
     * Where the coarse graph may be cut into stages: before each instance of its largest block class
     * (by nodes covered) whose earlier instances all lie before it; without repeated blocks, before
     * every node that the nodes before it reach through at most two distinct tensors.
     */
    List<Integer> cuts(CoarseGraph cg, long micro) {
        List<Integer> r = cuts.get(micro);
        return r != null ? r : cutsLocked(cg, micro);
    }

    private synchronized List<Integer> cutsLocked(CoarseGraph cg, long micro) {
        List<Integer> r = cuts.get(micro);
        if (r != null) {
            return r;
        }
        r = new ArrayList<>();
        BlockClass main = mainBlock(cg);
        int n = cg.nodes().size();
        if (main != null) {
            int maxBefore = -1;
            for (List<CoarseNode> inst : main.instances()) {
                int lo = Integer.MAX_VALUE;
                int hi = -1;
                for (CoarseNode c : inst) {
                    lo = Math.min(lo, c.index());
                    hi = Math.max(hi, c.index());
                }
                if (lo > maxBefore && lo > 0) {
                    r.add(lo);
                }
                maxBefore = Math.max(maxBefore, hi);
            }
            // after the last instance (the head can be a stage of its own only with layers)
        } else {
            // distinct tensors crossing each boundary: a sweep over the edges
            int[] open = new int[n + 1];
            Map<String, int[]> span = new HashMap<>();
            for (CoarseEdge e : cg.edges()) {
                int[] s = span.computeIfAbsent(e.value().name(), k -> new int[] {e.from(), e.to()});
                s[1] = Math.max(s[1], e.to());
            }
            for (int[] s : span.values()) {
                open[s[0] + 1]++;
                open[s[1] + 1]--;
            }
            int cur = 0;
            for (int c = 1; c < n; c++) {
                cur += open[c];
                if (cur <= 2) {
                    r.add(c);
                }
            }
        }
        r = List.copyOf(new java.util.TreeSet<>(r));
        cuts.put(micro, r);
        return r;
    }

    /** The block class the cuts are made at: the largest by nodes covered of at least two instances; null when none. */
    static BlockClass mainBlock(CoarseGraph cg) {
        BlockClass main = null;
        for (BlockClass bc : cg.blockClasses()) {
            if (bc.count() >= 2 && (main == null || bc.count() * bc.blockSize() > main.count() * main.blockSize())) {
                main = bc;
            }
        }
        return main;
    }

    /** The layouts a node may take under fixed data- or tensor-parallel degrees. */
    StageProblem.Filter filter(CoarseGraph cg, long micro, int devices) {
        if (opts.data().isEmpty() && opts.tensor().isEmpty()) {
            return StageProblem.Filter.ALL;
        }
        int d = opts.data().isPresent() ? opts.data().getAsInt() : devices / opts.tensor().getAsInt();
        Map<String, String> dims = BatchDims.of(cg, micro);
        return (u, k) -> {
            String dim = dims.get(u.name());
            if (dim == null || u.space().isEmpty()) {
                return true;
            }
            return u.layouts().get(k).strategy().factor(dim) == d;
        };
    }

    /**
     * A necessary condition for a configuration to fit, from the nodes' least memory alone (no edge
     * priced, nothing solved): one stage must fit the sum of its nodes' least memory; P stages cannot
     * all fit when the sum over the model, each node's activations counted once, exceeds P times the
     * limit (the fullest stage holds at least the average), nor when a node alone does not fit; and
     * the stages are solved with the activations of the micro-batches 1F1B holds at stage s,
     * min(P - s, m), so some partition at the cuts must give every stage a least memory within the
     * limit ({@link #stageMemoryFits}).
     */
    private boolean mayFit(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m) {
        // a stage holds at most m micro-batches' activations (one with one stage): where every node replicated, with m
        // micro-batches' activations, fits, every stage of every partition fits whatever its layouts
        if (fitsWhatever(cg, pb, m)) {
            return stages == 1 || cutPositions(cg.nodes().size(), cuts(cg, micro)).size() - 1 >= stages;
        }
        Map<String, List<Layout>> req = requiredFor(cg, micro, pb);
        // the same builder and candidates give the same parts: once per builder (a configuration's micro-batch
        // size, devices, recomputation and ZeRO stage), whatever its stages and micro-batch count
        double[][][] parts = memoryPartsOf.get(pb);
        if (parts == null || memoryPartsReq.get(pb) != req) {
            long t = System.nanoTime();
            // memory alone (bit for bit the full pricing's parameter and activation bytes): a configuration
            // this test turns down prices no time; one it passes prices its costs when bounded or built
            parts = pb.memoryOnlyParts(cg, req);
            tick("memoryParts", t);
            memoryPartsOf.put(pb, parts);
            memoryPartsReq.put(pb, req);
        }
        return leastFits(parts, 1, stages) && (stages == 1 || stageMemoryFits(parts, cuts(cg, micro), stages, m, limit));
    }

    /**
     * Whether the nodes of {@code pb}'s problem, each replicated ({@link ProblemBuilder#replicatedMemory}, at least every
     * candidate's memory) with {@code copies} micro-batches' activations, fit the limit together: then every plan of
     * the configuration fits whatever its layouts and partition, and the memory tests need no candidate's memory
     * ({@code -Dshardplan.fitsWhatever=false}: they compute it; tests compare). O(nodes) once per builder.
     */
    private boolean fitsWhatever(CoarseGraph cg, ProblemBuilder pb, double copies) {
        if (!fitsWhatever) {
            return false;
        }
        boolean fits = within(replicatedSums.computeIfAbsent(pb, x -> sums(x.replicatedMemory(cg))), copies);
        if (fits) {
            fitWhatever++;
        }
        return fits;
    }

    /** {@link #fitsWhatever}'s test on the nodes' replicated memory {@code rep}, on any thread. */
    private boolean replicatedFits(double[][] rep, double copies) {
        return within(sums(rep), copies);
    }

    /** Whether parameters {@code sum[0]} with {@code copies} times activations {@code sum[1]} are within the limit. */
    private boolean within(double[] sum, double copies) {
        return sum[0] + copies * sum[1] <= limit;
    }

    /** The sums over the nodes of {@link ProblemBuilder#replicatedMemory}'s pairs. */
    private static double[] sums(double[][] rep) {
        double[] t = new double[2];
        for (double[] node : rep) {
            t[0] += node[0];
            t[1] += node[1];
        }
        return t;
    }

    /** Whether {@link #fitsWhatever} is asked ({@code -Dshardplan.fitsWhatever=false}: not). */
    static boolean fitsWhatever = !"false".equals(System.getProperty("shardplan.fitsWhatever"));

    /** The memory tests {@link #fitsWhatever} answered (tests, the trace). */
    int fitWhatever;

    /** {@link #fitsWhatever}'s sums per builder (by identity): its graph is the builder's micro-batch size's. */
    private final Map<ProblemBuilder, double[]> replicatedSums = new java.util.IdentityHashMap<>();

    /** {@link ProblemBuilder#memoryOnlyParts} per builder, and the required layouts they were made with (by identity). */
    final Map<ProblemBuilder, double[][][]> memoryPartsOf = new java.util.IdentityHashMap<>();
    private final Map<ProblemBuilder, Map<String, List<Layout>>> memoryPartsReq = new java.util.IdentityHashMap<>();

    /** 0, the cuts strictly inside {@code (0, n)} in their order, and n: the positions a stage may start or end at. */
    static List<Integer> cutPositions(int n, List<Integer> cuts) {
        List<Integer> pos = new ArrayList<>();
        pos.add(0);
        for (int c : cuts) {
            if (c > 0 && c < n) {
                pos.add(c);
            }
        }
        pos.add(n);
        return pos;
    }

    /**
     * Whether nodes {@code [0, n)} split at the cuts into {@code stages} contiguous stages such that
     * at every stage s the sum over its nodes of their least memory with {@code min(stages - s, m)}
     * micro-batches of activations ({@code parts[i][k] = {static, activation}} per candidate k) is
     * within {@code limit}: the stage-balancing recurrence with a stage's cost depending on its index.
     * O(P K^2 + P n L) for K cut positions, n nodes of L candidates.
     */
    static boolean stageMemoryFits(double[][][] parts, List<Integer> cuts, int stages, int m, double limit) {
        int n = parts.length;
        List<Integer> pos = cutPositions(n, cuts);
        int k = pos.size();
        if (k - 1 < stages) {
            return false;
        }
        // prefix sums of the least memory per node for each count of micro-batches held
        Map<Integer, double[]> prefix = new HashMap<>();
        for (int s = 0; s < stages; s++) {
            int copies = Math.min(stages - s, m);
            prefix.computeIfAbsent(copies, c -> {
                double[] pre = new double[n + 1];
                Map<double[][], Double> seen = new java.util.IdentityHashMap<>();
                for (int i = 0; i < n; i++) {
                    pre[i + 1] = pre[i] + seen.computeIfAbsent(parts[i], node -> {
                        double least = Double.POSITIVE_INFINITY;
                        for (double[] x : node) {
                            least = Math.min(least, x[0] + c * x[1]);
                        }
                        return least;
                    });
                }
                return pre;
            });
        }
        double cap = limit * (1 + 1e-9);
        // reach[j]: positions j that the first s stages can end at, every stage within the limit
        boolean[] reach = new boolean[k];
        reach[0] = true;
        for (int s = 0; s < stages; s++) {
            double[] pre = prefix.get(Math.min(stages - s, m));
            boolean[] next = new boolean[k];
            for (int j = s + 1; j < k; j++) {
                for (int i = s; i < j && !next[j]; i++) {
                    next[j] = reach[i] && pre[pos.get(j)] - pre[pos.get(i)] <= cap;
                }
            }
            reach = next;
        }
        return reach[k - 1];
    }

    /**
     * Whether no node's least memory exceeds the limit and their sum does not exceed {@code stages}
     * limits, each candidate's memory taken as its parameters plus {@code activationScale} times its
     * activations.
     */
    private boolean leastFits(double[][][] parts, double activationScale, int stages) {
        double total = 0;
        for (double[][] node : parts) {
            double least = Double.POSITIVE_INFINITY;
            for (double[] c : node) {
                least = Least.min(least, c[0] + activationScale * c[1]);
            }
            if (least > limit * (1 + 1e-9)) {
                return false;
            }
            total += least;
        }
        return total <= limit * stages * (1 + 1e-9);
    }

    private final Map<Key, double[][][]> fullBatchParts = new HashMap<>();

    /**
     * Whether m micro-batches may fit on P stages, judged from the whole batch's graph without binding
     * the model at the micro-batch's size: a candidate's activations scale with the samples it holds
     * (1/m of the batch), and a smaller batch offers no candidate the whole batch lacks, so with one
     * stage the least memory found this way is a lower bound and the test a necessary condition, as
     * {@link #mayFit}'s; with P stages the activations count the micro-batches a stage holds on average,
     * which makes it a heuristic (see below), and then stage by stage at some partition at the cuts
     * ({@link #stageMemoryFits}).
     */
    private boolean mayFitScaled(int stages, int m, boolean recompute, int zero) throws ShardplanException {
        int devices = cluster.deviceCount() / stages;
        Key k = new Key(batch, devices, recompute, zero);
        double[][][] parts = fullBatchParts.get(k);
        if (parts == null) {
            CoarseGraph cg = coarse(batch);
            ProblemBuilder pb = builder(batch, devices, recompute, zero);
            parts = fullBatchParts.get(k); // made beside (prepareAhead), where it was
            // the tests below count at most the whole batch's activations on a stage (copies / m of them, or min(P - s,
            // m) micro-batches of 1/m each): where every node replicated with them fits, they pass whatever the layouts
            if (parts == null && fitsWhatever(cg, pb, 1)) {
                return stages == 1 || cutPositions(cg.nodes().size(), cuts(cg, batch)).size() - 1 >= stages;
            }
            if (parts == null) {
                Map<String, List<Layout>> req = requiredFor(cg, batch, pb);
                long t = System.nanoTime();
                // memory alone: this builder's problem is built only when it is a configuration's (one stage)
                parts = pb.memoryOnlyParts(cg, req);
                tick("memoryParts (whole batch)", t);
                fullBatchParts.put(k, parts);
            }
        }
        // the micro-batches a stage holds under 1F1B, min(P - s, m), averaged over the stages: with
        // balanced stages the fullest holds at least that many (a heuristic for P > 1: stages are
        // balanced by time, not memory; a count skipped wrongly only costs the next count's plan)
        double copies = 0;
        for (int s = 0; s < stages; s++) {
            copies += Math.min(stages - s, m);
        }
        copies /= stages;
        if (!leastFits(parts, copies / m, stages)) {
            return false;
        }
        if (stages == 1) {
            return true;
        }
        // and stage by stage, with the micro-batches 1F1B holds at each (the stage solves' test,
        // stageMemoryFits), the activations of one micro-batch taken as 1/m of the whole batch's
        Map<double[][], double[][]> scaled = new java.util.IdentityHashMap<>();
        double[][][] perMicro = new double[parts.length][][];
        for (int i = 0; i < parts.length; i++) {
            perMicro[i] = scaled.computeIfAbsent(parts[i], node -> {
                double[][] x = new double[node.length][];
                for (int c = 0; c < node.length; c++) {
                    x[c] = new double[] {node[c][0], node[c][1] / m};
                }
                return x;
            });
        }
        return stageMemoryFits(perMicro, cuts(coarse(batch), batch), stages, m, limit);
    }

    /** Prices one configuration; empty when it has no plan (nothing fits, or no layout matches the fixed degrees). */
    Optional<Outcome> price(int stages, int m, boolean recompute, int zero) throws ShardplanException {
        return price(stages, m, recompute, zero, Double.NEGATIVE_INFINITY);
    }

    /**
     * {@link #price(int, int, boolean, int)} with {@code known} a lower bound on the step of the configuration's
     * plans that fit (a configuration put off because memory binds: the bound it was put off with).
     */
    private Optional<Outcome> price(int stages, int m, boolean recompute, int zero, double known) throws ShardplanException {
        long t0 = System.nanoTime();
        Map<String, Long> before = TRACE ? phaseNanos() : null;
        Optional<Outcome> o = priceOnce(stages, m, recompute, zero, known);
        reportAhead();
        if (TRACE) {
            StringBuilder d = new StringBuilder();
            phaseNanos().forEach((k, v) -> {
                long x = v - before.getOrDefault(k, 0L);
                if (x > 5_000_000) {
                    d.append(String.format(java.util.Locale.ROOT, " %s %.2f", k, x / 1e9));
                }
            });
            System.err.println("  phases:" + d);
            System.err.printf(java.util.Locale.ROOT, "config P=%d m=%d recompute=%s zero=%d: %s in %.2f s%n", stages, m,
                    recompute, zero, o.map(x -> x.isBounded() ? "bounded" : (x.fits() ? "fits " : "over ") + x.schedule().name() + " step " + x.stepSeconds()
                            + (x.memoryBound() ? " (memory bound)" : "")).orElse("no plan"), (System.nanoTime() - t0) / 1e9);
        }
        return o;
    }

    /** -Dshardplan.trace=true: one line per configuration on stderr. */
    private static final boolean TRACE = Boolean.getBoolean("shardplan.trace");

    /** Nanoseconds spent per phase of the search (for the trace). */
    private final Map<String, long[]> phases = new LinkedHashMap<>();

    private long tick(String phase, long since) {
        long now = System.nanoTime();
        synchronized (phases) { // the threads beside count their phases too
            long[] a = phases.computeIfAbsent(phase, k -> new long[2]);
            a[0] += now - since;
            a[1]++;
        }
        return now;
    }

    /** Each phase's nanoseconds so far (for the trace). */
    private Map<String, Long> phaseNanos() {
        Map<String, Long> r = new LinkedHashMap<>();
        synchronized (phases) {
            phases.forEach((k, v) -> r.put(k, v[0]));
        }
        return r;
    }

    /** The phases' times, one line. */
    String phaseSummary() {
        synchronized (phases) {
            return phaseSummaryHeld();
        }
    }

    private String phaseSummaryHeld() {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, long[]> e : phases.entrySet()) {
            b.append(String.format(java.util.Locale.ROOT, "%s %.2f s (%d), ", e.getKey(), e.getValue()[0] / 1e9,
                    e.getValue()[1]));
        }
        return b.toString();
    }

    /**
     * A configuration's balanced partition, by built problem and filter (both by identity), stages and
     * micro-batches: the whole model's tied problem without the limit solved exactly and its node times cut
     * ({@link #partition}), all fixed by these four. A configuration put off because memory binds is priced again
     * later ({@link #defer}), and its balanced partition is then this one, not built and solved a second time
     * (on GPT-145.6B the whole model's problem sums the tables of every layer). Kept where that solve was proven
     * optimal only (the same answer as solving again).
     */
    private record Balanced(ProblemBuilder.Built b, StageProblem.Filter f, int stages, int m) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Balanced x && x.b == b && x.f == f && x.stages == stages && x.m == m;
        }

        @Override
        public int hashCode() {
            return ((System.identityHashCode(b) * 31 + System.identityHashCode(f)) * 31 + stages) * 31 + m;
        }
    }

    private final Map<Balanced, int[]> balancedBounds = new HashMap<>();

    /**
     * A lower bound on the step of the configuration's plans under every schedule the options allow but the
     * interleaved one: {@link #stepLowerBound}'s without it, and where memory binds (a configuration put off for it,
     * {@code memoryBinds}) and that is below {@code target}, the memory-aware bounds' without it ({@link
     * MemoryAwareBound}, then with the repeated blocks tied, {@link #tiedBound}'s forest), each taken only while the
     * one before stays below the target. 0 where an asynchronous schedule is allowed.
     */
    private double othersBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m, boolean memoryBinds,
            double target) throws ShardplanException {
        double o = stepLowerBound(cg, micro, pb, stages, m, false);
        if (o >= target || !memoryBinds || !useMemoryBound) {
            return o;
        }
        Set<MemoryAwareBound.Kind> kinds = boundKinds(stages, m, cuts(cg, micro));
        if (kinds == null) {
            return o;
        }
        kinds.remove(MemoryAwareBound.Kind.INTERLEAVED);
        long t = System.nanoTime();
        o = Math.max(o, untiedMemoryBound(cg, micro, pb).step(stages, m, kinds, target));
        tick("memory bound", t);
        if (o < target && useTiedBound) {
            t = System.nanoTime();
            o = Math.max(o, tiedMemoryBound(tiedBounds, keyOf(micro, pb), cg, pb, MemoryAwareBound.TiedBlocks.forest)
                    .step(stages, m, kinds, target));
            tick("tied bound", t);
        }
        return o;
    }

    /**
     * Whether a configuration whose bound without the interleaved schedule reaches the plan found is priced for the
     * interleaved schedule alone, with the balanced partition ({@code -Dshardplan.interleavedAlone=false}: priced in
     * full, as any other).
     */
    boolean interleavedAlone = !"false".equals(System.getProperty("shardplan.interleavedAlone"));

    /** Configurations priced for the interleaved schedule alone ({@link #interleavedAlone}; for tests and the trace). */
    int interleavedOnly;

    /** Exact partitions started ({@link #exactBounds}; for tests). */
    int exactPartitions;

    /**
     * Whether a pipeline configuration whose memory-blind bound is below the plan found is held against it again with
     * {@link #segmentBounds} before its partition and stage solves ({@code -Dshardplan.segmentBound=false}: not).
     */
    boolean useSegmentBound = !"false".equals(System.getProperty("shardplan.segmentBound"));

    /** Configurations {@link #useSegmentBound} left unpriced (for tests and the trace). */
    int segmentBounded;

    /** Configurations whose balanced partition {@link #balancedBounds} answered (for tests; guarded by it). */
    int balancedShared;

    private Optional<Outcome> priceOnce(int stages, int m, boolean recompute, int zero, double known)
            throws ShardplanException {
        Outcome incumbentBefore = incumbent;
        configurations++;
        triedStages.add(stages);
        triedMicro.add(m);
        triedMemory.add("recomputation " + (recompute ? "on" : "off") + " with ZeRO " + zero);
        long micro = batch > 0 ? batch / m : 0;
        CoarseGraph cg = coarse(micro);
        int devices = cluster.deviceCount() / stages;
        ProblemBuilder pb = builder(micro, devices, recompute, zero);
        if (!mayFit(cg, micro, pb, stages, m)) {
            return Optional.empty();
        }
        if (incumbent != null && useBound) {
            long tl = System.nanoTime();
            double lb = stepLowerBound(cg, micro, pb, stages, m);
            tick("bound", tl);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  bound %.4f s%n", lb);
            }
            if (lb >= incumbent.stepSeconds()) {
                bounded++;
                configurations--; // not priced
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  bound %.4f s >= %.4f s found: not priced%n", lb,
                            incumbent.stepSeconds());
                }
                return Optional.of(Outcome.bounded(stages, m, recompute, zero, lb));
            }
        }
        // where only the interleaved schedule's bound lies below the plan found (m A / P and its fill: the other
        // schedules' bubbles lift theirs), the configuration is priced for that schedule alone, and without the exact
        // partition: its stages are what the other schedules run, while the interleaved one re-cuts the stages' layouts
        // into P v chunks of its own; the balanced partition's stage solves give those layouts
        double others = Double.NaN;
        if (incumbent != null && useBound && stages > 1 && interleavedAlone) {
            double o = othersBound(cg, micro, pb, stages, m, known > 0, incumbent.stepSeconds());
            if (o >= incumbent.stepSeconds()) {
                others = Math.max(o, known);
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  bound without the interleaved schedule %.4f s >= %.4f s"
                            + " found: the interleaved schedule alone%n", o, incumbent.stepSeconds());
                }
            }
        }
        boolean onlyInterleaved = !Double.isNaN(others); // also set by the segment bound below
        long tb = System.nanoTime();
        ProblemBuilder.Built b = built(micro, devices, recompute, zero);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  build %.2f s%n", (System.nanoTime() - tb) / 1e9);
        }
        StageProblem.Filter f = filter(cg, micro, devices);
        if (incumbent != null && useBound && stages > 1 && useSegmentBound) {
            // the bound again with each segment between cuts solved exactly (its links priced): a few small solves of
            // the model's distinct segments, against the configuration's partitions and stage solves
            long ts = System.nanoTime();
            double[] sb = segmentBounds(b, f, cg, micro, stages, m, recompute);
            tick("segment bound", ts);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  segment bound %.4f s, without the interleaved schedule %.4f s"
                        + " (%.2f s)%n", sb[0], sb[1], (System.nanoTime() - ts) / 1e9);
            }
            if (sb[0] >= incumbent.stepSeconds()) {
                bounded++;
                segmentBounded++;
                configurations--; // not priced
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  segment bound %.4f s >= %.4f s found: not priced%n", sb[0],
                            incumbent.stepSeconds());
                }
                return Optional.of(Outcome.bounded(stages, m, recompute, zero, sb[0]));
            }
            if (interleavedAlone && !onlyInterleaved && sb[1] >= incumbent.stepSeconds()) {
                others = Math.max(sb[1], known);
                onlyInterleaved = true;
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  segment bound without the interleaved schedule %.4f s >="
                            + " %.4f s found: the interleaved schedule alone%n", sb[1], incumbent.stepSeconds());
                }
            }
        }
        int n = b.units().size();
        int[] bounds;
        long tp = System.nanoTime();
        try {
            if (stages == 1) {
                bounds = new int[] {0, n};
            } else {
                List<Integer> cut = cuts(cg, micro);
                if (cut.size() < stages - 1) {
                    return Optional.empty();
                }
                Balanced key = new Balanced(b, f, stages, m);
                int[] remembered;
                synchronized (balancedBounds) {
                    remembered = balancedBounds.get(key);
                    if (remembered != null) {
                        balancedShared++;
                    }
                }
                if (remembered != null) {
                    bounds = remembered.clone();
                } else {
                    StageProblem whole = StageProblem.of(b, 0, n, new ProblemBuilder.Repeat(m + stages - 1, 1), f,
                            OptionalDouble.empty(), true);
                    Solution s = new DpSolver().solve(whole.problem(), Solver.Options.withTimeLimit(secondsLeft()));
                    if (!s.hasChoices()) {
                        return Optional.empty();
                    }
                    int[] ch = whole.expand(s.choices());
                    bounds = partition(nodeTimes(b, ch), cut, stages);
                    if (s.status() == Status.OPTIMAL) {
                        synchronized (balancedBounds) {
                            balancedBounds.put(key, bounds.clone());
                        }
                    }
                }
                if (exactPartition && !onlyInterleaved) {
                    // the exact partition (StagePartition over the stages' own solves), the balanced one among
                    // its candidates and its fallback when the time limit runs out
                    bounds = exactBounds(b, pb, cg, micro, stages, m, f, devices, recompute, bounds);
                }
            }
        } catch (MemoryBound e) {
            // a stage the exact partition needs binds its memory limit: as in the stage solves below
            defer(cg, micro, pb, stages, m, recompute, zero);
            configurations--; // not priced yet
            tick("partition", tp);
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            // the fixed degrees leave a node without a layout
            noLayoutAt(stages, m, micro, e);
            return Optional.empty();
        }
        tp = tick("partition", tp);
        int[] choice = new int[n];
        boolean proven = true;
        boolean tied = stages > 1;
        boolean bound = false;
        double lower = 0;
        String solver = "dp";
        double weight = stages == 1 ? m : m + stages - 1;
        boolean hiddenOn = stages == 1 && planner.gradientOverlap()
                && !"false".equals(System.getProperty("shardplan.hiddenGradients"));
        // the second one-stage solve (the gradient reduction hidden) does not depend on the first: it runs on
        // the thread beside while the first solves its untied problem, started once the first's tied problem is
        // known to fit (where it does not, memory binds: the configuration is put off, or priced with the limit,
        // and the second solve would go unused); only while the passes put such configurations off
        List<BesideWork<Optional<Solved>>> hiddenSolves = new ArrayList<>(1);
        Runnable startHidden = hiddenOn && defer && beside && helpers() != null
                ? () -> {
                    dropAhead(); // the solve first: the preparations not started yet give way
                    hiddenSolves.add(new BesideWork<>(helpers(), () -> solveStage(b, 0, n, new ProblemBuilder.Repeat(m, 1, 0), f, false)));
                }
                : null;
        for (int s = 0; s < stages; s++) {
            int copies = stages == 1 ? 1 : Math.min(stages - s, m);
            ProblemBuilder.Repeat r = new ProblemBuilder.Repeat(weight, copies);
            Optional<Solved> so;
            try {
                so = solveStage(b, bounds[s], bounds[s + 1], r, f, stages > 1, stages == 1 ? startHidden : null);
            } catch (IllegalArgumentException e) {
                // the fixed degrees leave a node of the stage without a layout (as in the partition above)
                noLayoutAt(stages, m, micro, e);
                return Optional.empty();
            } catch (MemoryBound e) {
                // priced at the end, in order of its bound, where that can still beat the plan found
                defer(cg, micro, pb, stages, m, recompute, zero);
                configurations--; // not priced yet
                tick("stage solves", tp);
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  memory binds at stage %d: deferred%n", s);
                }
                return Optional.empty();
            }
            if (so.isEmpty()) {
                // no layouts of the stage fit: where only the interleaved schedule was left, the others stay bounded
                return onlyInterleaved ? Optional.of(Outcome.bounded(stages, m, recompute, zero, others)) : Optional.empty();
            }
            Solved x = so.get();
            System.arraycopy(x.choices(), 0, choice, bounds[s], x.choices().length);
            proven &= x.proven();
            tied |= x.tied();
            bound |= x.memoryBound();
            lower = Math.max(lower, x.lowerBound());
            if (!x.solver().equals("dp")) {
                solver = x.solver();
            }
        }
        boolean overlapping = stages == 1 && pb.settings().compute().gradientOverlap();
        if (overlapping) {
            // the per-layer objective counts the gradient reduction in full, the step only what the backward
            // pass leaves exposed: that objective's bound is not a bound of the step (only the bounds below are)
            lower = Double.NEGATIVE_INFINITY;
        }
        if (hiddenOn && !bound) {
            // the plan that treats the reduction as wholly hidden is priced too, and the faster kept; its
            // objective bounds the step from below (the step is at least the work without the reduction)
            Hidden h = hiddenGradients(b, n, m, f, pb, choice, bounds, devices, recompute,
                    hiddenSolves.isEmpty() ? null : hiddenSolves.get(0));
            if (h != null) {
                lower = h.lowerBound();
                if (h.choice() != null) {
                    choice = h.choice();
                    proven = false;
                }
            }
        }
        // a configuration put off because memory binds comes with its bound on the step (memory-blind and
        // memory-aware, as deferred): the least step of its plans that fit is at least that
        lower = Math.max(lower, known);
        tp = tick("stage solves", tp);
        boolean pendingBound = false;
        if (stages == 1 && useOverlapBound) {
            double step = oneStageStep(b, pb, m, choice, devices, recompute);
            if (lazyStepBound) {
                // the step's own bound is put off to the end of the search, where the plan found by then tells
                // which configurations it can still matter for (resolvePending)
                pendingBound = !(lower >= stepTarget(step));
            } else if (lower >= stepBoundsBelow) {
                // no plan of the configuration beats what the caller looks for: its bound and minimisers go unused
                stepBoundsLeftOut++;
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  step bound left out: at least %.6f s, the caller keeps"
                            + " plans below %.6f s%n", lower, stepBoundsBelow);
                }
            } else {
                StepBounded sb = stepBound(b, pb, m, f, devices, recompute, choice, lower);
                choice = sb.choice();
                lower = sb.lower();
                step = sb.step();
                tp = tick("step bound", tp);
            }
            proven = lower >= step * (1 - PROVEN);
        }
        // a pipeline's bound across its stages: the configuration's (every partition at the cuts, every layout),
        // from each node's least time (the plan kept gets the segments' bound too: reportedBound)
        double across = stages == 1 ? lower : stepLowerBound(cg, micro, pb, stages, m);
        if (stages > 1 && !(across > 0)) {
            across = Double.NEGATIVE_INFINITY; // none (an asynchronous schedule allowed)
        }
        List<StageProfile> profiles = profiles(b, pb, choice, bounds, devices, recompute);
        // schedules: those named, else every one the options allow (exact ones, and the others with --allow async)
        Outcome best = null;
        // the fastest schedule variant that does not fit: where it beats the one kept, memory binds the schedule
        double fastestMisfit = Double.POSITIVE_INFINITY;
        List<Schedule> schedules = stages == 1 ? List.of(Schedules.of("none")) : pipelineSchedules();
        java.util.OptionalInt staleLimit = opts.scheduleParameters().maxStaleness();
        pricing:
        for (Schedule named : schedules) {
            if (onlyInterleaved && !named.name().equals("interleaved")) {
                continue; // bounded above by the plan found
            }
            for (Schedule sch : named.variants(stages, m, opts.scheduleParameters())) {
                for (int v : sch.virtualStageCandidates(opts.virtualStages())) {
                    if (!timeLeft()) {
                        if (best != null) {
                            break pricing; // the schedules priced so far
                        }
                        checkTime("pricing the schedules of a configuration");
                    }
                    if (sch.check(stages, m, v).isPresent()) {
                        continue;
                    }
                    int[] bs = bounds;
                    List<StageProfile> ps = profiles;
                    if (v > 1) {
                        List<Integer> cut = cuts(cg, micro);
                        if (cut.size() < stages * v - 1) {
                            continue;
                        }
                        bs = partition(nodeTimes(b, choice, weight), cut, stages * v);
                        ps = profiles(b, pb, choice, bs, devices, recompute);
                    }
                    Estimate e = sch.estimate(ps, m, v);
                    if (staleLimit.isPresent() && e.maxStaleness() > staleLimit.getAsInt()) {
                        continue;
                    }
                    if (!sch.fixedOrder()) {
                        // the closed form is a bound (replays come within 2% below it at the least): a variant
                        // whose bound cannot beat the best so far is not replayed
                        if (best != null && best.fits() && e.stepSeconds() * (1 - REPLAY_BELOW) >= best.stepSeconds()) {
                            continue;
                        }
                        e = estimate(sch, ps, m, v);
                    }
                    double step = planStep(b, choice, ps, sch, e, stages, m);
                    boolean fits = fitsLimit(e);
                    Outcome o = new Outcome(stages, m, recompute, zero, sch, v, micro, b, pb, choice, bs, ps,
                            e, step, fits, proven, across, tied, bound, solver);
                    if (best == null || better(o, best)) {
                        best = o;
                    }
                    if (!fits) {
                        fastestMisfit = Math.min(fastestMisfit, step);
                    }
                }
            }
        }
        // the step of the plan kept, or where the interleaved schedule alone was priced and did not fit, the other
        // schedules' bound
        double kept = best != null && best.fits() ? best.stepSeconds() : onlyInterleaved ? others : Double.NaN;
        if (scheduleBinds && !Double.isNaN(kept) && fastestMisfit < kept * (1 - PROVEN)
                && (incumbent == null || fastestMisfit < incumbent.stepSeconds())) {
            // a faster schedule (interleaved, GPipe: more activations in flight) did not fit, and would beat the
            // plan found: the search prices the configuration at the next ZeRO stage too, where it may fit
            // (GPT-145.6B: interleaved at ZeRO 2, 4% faster than zero bubble at ZeRO 1)
            nextZero.add(new int[] {stages, m, recompute ? 1 : 0, zero});
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  a faster schedule does not fit: %.6f s against %.6f s kept"
                        + " (plan found %s): to be priced at the next ZeRO stage%n", fastestMisfit, kept,
                        incumbent == null ? "none" : String.format(java.util.Locale.ROOT, "%.6f s", incumbent.stepSeconds()));
            }
        }
        tick("schedules", tp);
        if (onlyInterleaved) {
            interleavedOnly++;
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the interleaved schedule alone: %s%n", best == null ? "no plan"
                        : String.format(java.util.Locale.ROOT, "step %.6f s, %s, v %d", best.stepSeconds(),
                        best.fits() ? "fits" : "does not fit", best.virtual()));
            }
            if (best == null || !best.fits() || !better(best, incumbent)) {
                // no interleaved plan beats the plan found, nor can the configuration's others: bounded, as the
                // sweeps over micro-batch counts read it (a count that is slower)
                return Optional.of(Outcome.bounded(stages, m, recompute, zero, others));
            }
        }
        if (pendingBound && best != null) {
            pending.add(new PendingBound(best, f, devices));
            presolveStepBound(b, pb, m, f);
        }
        if (best != null && best.fits() && (incumbent == null || better(best, incumbent))) {
            incumbent = best;
        }
        if (pendingBound && best != null || incumbent != incumbentBefore) {
            speculate(); // the end's first step bound, or its target, may have changed
        }
        return Optional.ofNullable(best);
    }

    /**
     * The step a one-stage configuration's bound must reach to matter: its own step (then it is proven
     * optimal), or the plan found where that is faster (then no plan of the configuration can win). O(1).
     */
    private double stepTarget(double step) {
        double target = step * (1 - PROVEN);
        if (incumbent != null && useBound) {
            target = Math.min(target, incumbent.stepSeconds());
        }
        return target;
    }

    /**
     * Whether a configuration whose faster schedule does not fit (and would beat the plan found) is priced at the
     * next ZeRO stage too, where that schedule may fit ({@link #nextZero}); {@code
     * -Dshardplan.scheduleBinds=false}: not (tests compare).
     */
    static boolean scheduleBinds = !"false".equals(System.getProperty("shardplan.scheduleBinds"));

    /**
     * The configurations {@code {stages, m, recompute (1) or not (0), zero}} to price at the next ZeRO stage the
     * options allow after the second pass (where that is not priced yet), in the order noted: those whose faster
     * schedule did not fit and would have beaten the plan found when priced, and the counts a second-pass sweep put
     * off because memory binds where the count it kept is not bound ({@link #deferredBinds}).
     */
    final List<int[]> nextZero = new ArrayList<>();

    /** A one-stage plan after {@link #stepBound}: its layouts, its lower bound and its step. */
    private record StepBounded(int[] choice, double lower, double step) {
    }

    /**
     * The one-stage configuration's step bound ({@link OverlapBound}): exact solves of problems below the step,
     * each minimiser a plan priced too, until the bound reaches {@link #stepTarget}; the fastest plan that fits
     * of {@code choice} and those minimisers, and the larger of {@code lower} and the bound. One to a few exact
     * solves of the whole problem.
     */
    private StepBounded stepBound(ProblemBuilder.Built b, ProblemBuilder pb, int m, StageProblem.Filter f, int devices,
            boolean recompute, int[] choice, double lower) {
        double step = oneStageStep(b, pb, m, choice, devices, recompute);
        // once the bound reaches the incumbent's step no plan of this configuration can win, and the
        // least bound over the configurations is the incumbent's own or below: the solves stop there
        double target = stepTarget(step);
        if (lower >= target) {
            return new StepBounded(choice, lower, step);
        }
        return adopt(boundStep(b, pb, m, f, devices, recompute, choice, lower, target, this::secondsLeft,
                overlapBound(b, pb, m, f)));
    }

    /**
     * A step bound run ({@link #boundStep}): the plan and bound, how many solves it ran, whether it stopped below
     * the configuration's bound so far, and for the trace its own bound, the buckets and the least minimiser's step.
     */
    private record StepRun(StepBounded bounded, int solves, boolean stopped, double bound, double buckets, double floor,
            double ceiling) {
    }

    /** Counts a step bound run as the search's ({@link #stepBounds}, the trace) and returns its plan and bound. */
    private StepBounded adopt(StepRun r) {
        stepBounds++;
        stepBoundSolves += r.solves();
        if (r.stopped()) {
            stepBoundsStopped++;
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  step bound: %.6f s after %d solves (K = %.0f), step %.6f s, bound before %.6f s, least minimiser %.6f s%n",
                    r.bound(), r.solves(), r.buckets(), r.bounded().step(), r.floor(), r.ceiling());
        }
        return r.bounded();
    }

    /**
     * The step's own bound (OverlapBound {@code ob}) of a one-stage configuration aiming at {@code target}: exact
     * solves of problems below the step, each minimiser a plan priced too; the plan is proven optimal once the bound
     * reaches its step. A function of its arguments and the time ({@code secondsLeft}) alone, so it may run on a
     * thread beside ({@link #speculate}).
     */
    private StepRun boundStep(ProblemBuilder.Built b, ProblemBuilder pb, int m, StageProblem.Filter f, int devices,
            boolean recompute, int[] choice, double lower, double target, java.util.function.DoubleSupplier secondsLeft, OverlapBound ob) {
        double step = oneStageStep(b, pb, m, choice, devices, recompute);
        // the bound is at most the step of every plan, those that do not fit included: once a minimiser's
        // step is below the configuration's bound so far (it then does not fit), no solve can raise that
        // bound, and the solves stop as at the time limit (on 145.6B's memory-bound one-stage
        // configurations: 1 solve instead of 17, the same bound)
        double floor = stopStepBoundBelow ? lower : Double.NEGATIVE_INFINITY;
        double[] ceiling = {Double.POSITIVE_INFINITY};
        OverlapBound.Result r = ob.maximise(target, () -> ceiling[0] < floor ? 0 : secondsLeft.getAsDouble(), x -> {
            double st = oneStageStep(b, pb, m, x, devices, recompute);
            ceiling[0] = Math.min(ceiling[0], st);
            return oneStageFits(b, x) ? st : Double.POSITIVE_INFINITY;
        });
        lower = Math.max(lower, r.lowerBound());
        for (int[] x : r.plans()) {
            if (oneStageFits(b, x)) {
                double st = oneStageStep(b, pb, m, x, devices, recompute);
                if (st < step * (1 - 1e-12)) {
                    choice = x;
                    step = st;
                }
            }
        }
        return new StepRun(new StepBounded(choice, lower, step), r.solves(), ceiling[0] < floor, r.lowerBound(),
                ob.buckets(), floor, ceiling[0]);
    }

    /**
     * A step bound run started ahead on the thread beside ({@link #speculate}) for the one-stage configuration put off
     * to the end ({@link #pending}) whose outcome is {@code outcome}: the target it aims at, its work, and a flag that
     * stops its solves once the target it aims at can no longer be the one the end asks for.
     */
    private record Speculation(Outcome outcome, double target, BesideWork<StepRun> work,
            java.util.concurrent.atomic.AtomicBoolean stop) {
    }

    /** The step bound run ahead, if any (one at a time). */
    private Speculation runAhead;

    /**
     * Whether the step bound of the one-stage plan found is run ahead on the thread beside ({@link #speculate};
     * {@code -Dshardplan.speculateStepBound=false}: off; tests turn it off to compare).
     */
    boolean speculateStepBounds = !"false".equals(System.getProperty("shardplan.speculateStepBound"));

    /** How many step bounds were run ahead, and how many of those the end took (for tests and the trace). */
    int stepBoundsSpeculated;
    int stepBoundsTaken;

    /** The target {@link #stepBound} aims at for pending configuration {@code pb}, as of now. O(nodes + links). */
    private double endTarget(PendingBound pb) {
        Outcome o = pb.outcome();
        return stepTarget(oneStageStep(o.built(), o.builder(), o.microBatches(), o.choice(), pb.devices(), o.recompute()));
    }

    /** The run ahead where it bounds {@code pb}, is not stopped and aims at {@code target}, which is below its bound; else null. */
    private Speculation aimingAt(PendingBound pb, double target) {
        Speculation sp = runAhead;
        boolean aims = sp != null && sp.outcome() == pb.outcome() && !sp.stop().get() && sp.target() == target
                && !(pb.outcome().lowerBound() >= target);
        return aims ? sp : null;
    }

    /**
     * Runs ahead, on the thread beside, the step bound the end of the search will compute first ({@link
     * #resolvePending}): that of the first configuration put off whose bound is below the target it would aim at if no
     * faster plan were found by then ({@link #stepTarget} now). Called whenever a bound is put off or the plan found
     * changes; a run aiming elsewhere is stopped. The end takes its answer only where it aims at the very target the
     * end's computation would (the run is a function of the configuration, the target and the time alone: the same
     * answer as computing it there), else computes its own. On Swin-T at 64 A100s the step bound, ten whole-model
     * solves, otherwise ran alone at the search's end while the second core was idle through the two-stage
     * configurations priced before it.
     */
    private void speculate() {
        if (!beside || !speculateStepBounds || !lazyStepBound || helpers() == null) {
            return;
        }
        PendingBound first = null;
        double target = 0;
        for (PendingBound pb : pending) {
            double t = endTarget(pb);
            if (!(pb.outcome().lowerBound() >= t)) {
                first = pb;
                target = t;
                break;
            }
        }
        if (first != null && aimingAt(first, target) != null) {
            return; // already aiming there
        }
        stopAhead();
        if (first == null) {
            return;
        }
        Outcome o = first.outcome();
        StageProblem.Filter f = first.filter();
        int devices = first.devices();
        OverlapBound ob;
        try {
            ob = overlapBound(o.built(), o.builder(), o.microBatches(), f);
        } catch (IllegalArgumentException e) {
            return;
        }
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        // stopped: no time left (the bound's loops end after the solve under way, and a solve started gets 1 ms)
        java.util.function.DoubleSupplier left = () -> stop.get() ? 1e-3 : secondsLeft();
        double aim = target;
        BesideWork<StepRun> work = new BesideWork<>(helpers(), () -> boundStep(o.built(), o.builder(), o.microBatches(), f,
                devices, o.recompute(), o.choice(), o.lowerBound(), aim, left, ob));
        runAhead = new Speculation(o, target, work, stop);
        stepBoundsSpeculated++;
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  step bound of %s, %d micro-batches: run ahead beside, aiming at %.6f s%n",
                    o.built().name(), o.microBatches(), target);
        }
    }

    /** Stops the step bound run ahead, if any (its answer is not taken: the target it aims at has changed). */
    private void stopAhead() {
        if (runAhead != null) {
            runAhead.stop().set(true);
            runAhead.work().drop();
            runAhead = null;
        }
    }

    /**
     * The step bound of pending configuration {@code pb} run ahead ({@link #speculate}), where it aims at the target
     * {@link #stepBound} would and has ended (not waited for); null otherwise.
     */
    private StepBounded endedAhead(PendingBound pb) {
        Speculation sp = aimingAt(pb, endTarget(pb));
        if (sp == null || !sp.work().isDone()) {
            return null;
        }
        StepRun r;
        try {
            r = sp.work().get(() -> null);
        } catch (RuntimeException e) {
            return null;
        }
        if (r == null) {
            return null;
        }
        runAhead = null;
        stepBoundsTaken++;
        return adopt(r);
    }

    /**
     * The step bound of pending configuration {@code pb} ({@link #stepBound}): the run started ahead where it aims at
     * the target stepBound would (waited for, or run here if it has not started), else computed here.
     */
    private StepBounded resolveStep(PendingBound pb) {
        Outcome o = pb.outcome();
        double target = endTarget(pb);
        Speculation sp = aimingAt(pb, target);
        if (sp != null) {
            runAhead = null;
            StepRun r = sp.work().get(() -> boundStep(o.built(), o.builder(), o.microBatches(), pb.filter(), pb.devices(),
                    o.recompute(), o.choice(), o.lowerBound(), target, this::secondsLeft,
                    overlapBound(o.built(), o.builder(), o.microBatches(), pb.filter())));
            stepBoundsTaken++;
            return adopt(r);
        }
        stopAhead();
        return stepBound(o.built(), o.builder(), o.microBatches(), pb.filter(), pb.devices(), o.recompute(), o.choice(),
                o.lowerBound());
    }

    /**
     * Whether {@link #run} puts the one-stage configurations' step bounds ({@link #stepBound}) off to the end
     * of the search ({@code -Dshardplan.lazyStepBound=false}: each is computed as its configuration is priced,
     * as {@link #price} does when called alone). A configuration's bound matters only for its own plan, where
     * that is the one kept (its proof), or where the bound's minimisers could make it faster than the plan
     * found: at the end the plan found is the fastest, and configurations whose bound without it is already at
     * or above that plan's step need none (on Megatron's 39.1B row: two of three).
     */
    private boolean lazyStepBound;

    /**
     * Where the step bounds are not put off ({@link #lazyStepBound}), a one-stage configuration whose plans are all at
     * least this slow (its bound before the step's own, the objective of the plan with the reduction hidden, at or
     * above it) gets no step bound ({@link #stepBound}), its plan the solve's and its bound the one before: for a caller
     * that looks only for plans faster than this (the copies' searches on fewer devices, {@code Planner.descend}), the
     * step bound would only prove a plan it passes over, and the faster plans its minimisers may give are no faster
     * than the bound. Infinite (the default): every one gets its bound.
     */
    double stepBoundsBelow = Double.POSITIVE_INFINITY;

    /** Whether callers set {@link #stepBoundsBelow} ({@code -Dshardplan.stepBoundsBelow=false}: never; tests compare). */
    static boolean stepBoundsBelowOn = !"false".equals(System.getProperty("shardplan.stepBoundsBelow"));

    /** The step bounds {@link #stepBoundsBelow} left out (tests, the trace). */
    int stepBoundsLeftOut;

    /** {@link #lazyStepBound} in {@link #run} ({@code -Dshardplan.lazyStepBound=false}: off); tests turn it off to compare. */
    boolean lazyStepBounds = !"false".equals(System.getProperty("shardplan.lazyStepBound"));

    /** The one-stage step bounds ({@link OverlapBound}) computed so far (for tests and the trace). */
    int stepBounds;

    /** The whole-model solves those step bounds ran, and how many of them stopped below their bound so far. */
    int stepBoundSolves;
    int stepBoundsStopped;

    /**
     * Whether a step bound stops once a minimiser's step (fitting or not) is below the configuration's bound so
     * far (the bound is at most every plan's step, so no further solve can raise the configuration's bound;
     * they could only find plans, and where memory binds those minimisers do not fit); tests turn it off.
     */
    boolean stopStepBoundBelow = true;

    /**
     * The step bounds ({@link OverlapBound}) whose first solve was started ahead on a thread beside
     * ({@link #presolveStepBound}), by the configuration's built problem (its micro-batch size, devices,
     * recomputation and ZeRO stage: one object per configuration, {@link #built}) and micro-batch count.
     */
    private final Map<ProblemBuilder.Built, Map<Integer, OverlapBound>> stepBoundsAhead = new java.util.IdentityHashMap<>();

    /** How many step bounds' first solves were started ahead ({@link #presolveStepBound}), for tests and the trace. */
    int stepBoundsPresolved;

    /**
     * Whether the first solves of the step bounds likely needed are started ahead on the threads beside
     * ({@code -Dshardplan.presolveStepBounds=false}: off); tests turn it off to compare.
     */
    boolean presolveStepBounds = !"false".equals(System.getProperty("shardplan.presolveStepBounds"));

    /** The step bound of one-stage configuration {@code (b, m)}: the one started ahead, if any, else a new one. */
    private OverlapBound overlapBound(ProblemBuilder.Built b, ProblemBuilder pb, int m, StageProblem.Filter f) {
        Map<Integer, OverlapBound> byM = stepBoundsAhead.get(b);
        OverlapBound ob = byM == null ? null : byM.get(m);
        return ob != null ? ob : new OverlapBound(b, pb, m, f);
    }

    /**
     * Starts the first exact solve of the step bound of the one-stage configuration {@code (b, m)} on a thread
     * beside ({@link OverlapBound#presolve}), where there is one: the search's thread goes on with the rest, and
     * {@link #stepBound} takes the answer when it gets there (the same optimum and minimiser it would have
     * solved for: the first solve depends on the configuration alone, not on the plan found). On Megatron's
     * 145.6B row the two one-stage step bounds are two whole-model dynamic programs of seconds each, computed at
     * the search's end one after the other; started ahead they run beside the configurations priced last. Work
     * done for a bound that is not needed in the end (its configuration is bounded, or the plan found makes its
     * bound moot) only costs the thread beside.
     */
    private void presolveStepBound(ProblemBuilder.Built b, ProblemBuilder pb, int m, StageProblem.Filter f) {
        if (!beside || !presolveStepBounds || !useOverlapBound || helpers() == null) {
            return;
        }
        Map<Integer, OverlapBound> byM = stepBoundsAhead.computeIfAbsent(b, k -> new HashMap<>());
        if (byM.containsKey(m)) {
            return;
        }
        OverlapBound ob;
        try {
            ob = new OverlapBound(b, pb, m, f);
        } catch (IllegalArgumentException e) {
            return; // a node without a layout: the pricing says so
        }
        dropAhead(); // the solve first: the preparations not started yet give way
        ob.presolve(helpers(), secondsLeft());
        stepBoundsPresolved++;
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  step bound of %s, %d micro-batches: first solve started beside%n",
                    b.name(), m);
        }
        byM.put(m, ob);
    }

    /** A one-stage configuration priced without its step bound, for {@link #resolvePending}. */
    private record PendingBound(Outcome outcome, StageProblem.Filter filter, int devices) {
    }

    private final List<PendingBound> pending = new ArrayList<>();

    /**
     * The step bounds put off ({@link #lazyStepBound}), in the order their configurations were priced: each
     * whose bound is below {@link #stepTarget} (the plan found, or its own step) is computed as the pricing
     * would have, its configuration's outcome replaced by the one with the bound (and the faster plan of its
     * minimisers, when one is: it becomes the plan found where it is faster). Returns {@code best}, replaced
     * where its configuration's outcome was.
     */
    private Outcome resolvePending(Outcome best) throws ShardplanException {
        List<PendingBound> todo = new ArrayList<>(pending);
        pending.clear();
        for (PendingBound pb : todo) {
            Outcome o = pb.outcome();
            if (o.lowerBound() >= stepTarget(o.stepSeconds())) {
                continue;
            }
            long t = System.nanoTime();
            StepBounded sb;
            if (!timeLeft()) {
                // as the pricing would have: the bound's solves stop at the time limit; a run ahead that has ended is
                // still taken (the answer the end would have computed with the time)
                sb = endedAhead(pb);
                if (sb == null) {
                    break;
                }
            } else {
                sb = resolveStep(pb);
            }
            tick("step bound", t);
            Outcome n = oneStageOutcome(o, sb.choice(), sb.lower(), pb.devices());
            if (o == incumbent || (n.fits() && (incumbent == null || better(n, incumbent)))) {
                incumbent = n;
            }
            if (o == best) {
                best = n;
            }
        }
        stopAhead(); // those not needed (their configuration's bound reaches the plan found)
        return best;
    }

    /**
     * The outcome of a one-stage configuration {@code o} with the layouts {@code choice} and the lower bound
     * {@code lower}, priced as {@link #priceOnce} prices one stage (its profile, the schedule {@code none}, the
     * step from the weighted objective less the hidden gradient reduction). O(nodes + links).
     */
    private Outcome oneStageOutcome(Outcome o, int[] choice, double lower, int devices) {
        ProblemBuilder.Built b = o.built();
        ProblemBuilder pb = o.builder();
        int m = o.microBatches();
        int[] bounds = {0, b.units().size()};
        List<StageProfile> ps = profiles(b, pb, choice, bounds, devices, o.recompute());
        Schedule sch = o.schedule();
        Estimate e = sch.estimate(ps, m, o.virtual());
        double step = planStep(b, choice, ps, sch, e, 1, m);
        boolean fits = fitsLimit(e);
        boolean proven = lower >= step * (1 - PROVEN);
        return new Outcome(o.stages(), m, o.recompute(), o.zero(), sch, o.virtual(), o.micro(), b, pb, choice, bounds, ps, e,
                step, fits, proven, lower, o.tied(), o.memoryBound(), o.solver());
    }

    /**
     * The step of a plan whose stages' profiles {@code ps} run {@code e} under {@code sch}: with one stage the weighted
     * objective less the gradient reduction its backward pass hides; with more, the schedule's step and the optimizer
     * step after it ({@link #updateAfter}). O(nodes + stages).
     */
    static double planStep(ProblemBuilder.Built b, int[] choice, List<StageProfile> ps, Schedule sch, Estimate e,
            int stages, int m) {
        return stages == 1 ? weightedObjective(b, m, choice) - overlapped(b, choice, ps)
                : e.stepSeconds() + updateAfter(sch, ps, stages);
    }

    /** Whether every device's peak memory in {@code e} is within the memory limit (rounding allowed). O(devices). */
    boolean fitsLimit(Estimate e) {
        boolean fits = true;
        for (double mem : e.peakMemoryBytes()) {
            fits &= mem <= limit * (1 + 1e-12);
        }
        return fits;
    }

    /** A one-stage plan is proven optimal when its bound is within this share of its step (rounding). */
    static final double PROVEN = 1e-9;

    /**
     * Whether the one-stage search tightens its lower bound with {@link OverlapBound} ({@code
     * -Dshardplan.stepBound=false}: off, the bound of the solves alone).
     */
    boolean useOverlapBound = !"false".equals(System.getProperty("shardplan.stepBound"));

    /** The step of a one-stage plan of {@code m} micro-batches, as the schedule loop prices it. O(nodes + links). */
    double oneStageStep(ProblemBuilder.Built b, ProblemBuilder pb, int m, int[] x, int devices, boolean recompute) {
        int[] whole = {0, b.units().size()};
        return weightedObjective(b, m, x) - overlapped(b, x, profiles(b, pb, x, whole, devices, recompute));
    }

    /** Whether a one-stage plan's weights, optimizer state and one micro-batch of activations fit the limit. */
    private boolean oneStageFits(ProblemBuilder.Built b, int[] x) {
        double mem = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            ProblemBuilder.Cost c = u.costs().get(x[u.index()]);
            mem += c.parameterBytes() + c.activationBytes();
        }
        return mem <= limit;
    }

    /**
     * The one-stage plan solved with the gradient reduction counted as wholly hidden: its layouts when
     * its step (priced in full, the reduction overlapped as the schedule runs it) beats {@code choice}'s,
     * else null; and its objective's lower bound, a lower bound on the step of every plan of the
     * configuration. Null when it cannot be solved within the limits.
     */
    private record Hidden(int[] choice, double lowerBound) {
    }

    private Hidden hiddenGradients(ProblemBuilder.Built b, int n, int m, StageProblem.Filter f, ProblemBuilder pb,
            int[] choice, int[] bounds, int devices, boolean recompute,
            BesideWork<Optional<Solved>> pending) {
        Optional<Solved> so;
        try {
            so = pending != null ? pending.get(() -> solveStage(b, 0, n, new ProblemBuilder.Repeat(m, 1, 0), f, false))
                    : solveStage(b, 0, n, new ProblemBuilder.Repeat(m, 1, 0), f, false);
        } catch (IllegalArgumentException | MemoryBound e) {
            return null;
        }
        if (so.isEmpty()) {
            return null;
        }
        int[] alt = so.get().choices();
        double lowerBound = so.get().lowerBound();
        if (java.util.Arrays.equals(alt, choice)) {
            return new Hidden(null, lowerBound);
        }
        double now = weightedObjective(b, m, choice) - overlapped(b, choice, profiles(b, pb, choice, bounds, devices, recompute));
        double other = weightedObjective(b, m, alt) - overlapped(b, alt, profiles(b, pb, alt, bounds, devices, recompute));
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  gradients hidden: %.6f s against %.6f s counted in full%n", other, now);
        }
        return new Hidden(other < now * (1 - 1e-12) ? alt : null, lowerBound);
    }

    /**
     * The threads this search runs its independent solves on: {@link SearchOptions#threads} ({@code --threads}),
     * else {@code -Dshardplan.searchThreads}, else the available processors. One: every solve in turn on the
     * search's own thread.
     */
    int threads() {
        if (opts.threads() > 0) {
            return opts.threads();
        }
        String p = System.getProperty("shardplan.searchThreads");
        if (p != null) {
            try {
                return Math.max(1, Integer.parseInt(p.trim()));
            } catch (NumberFormatException e) {
                // not a number: the default
            }
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Threads beside the search's ({@link #threads} less one; null with one thread), for solves that do not
     * depend on what the search does at the same time: the one-stage solve with the gradient reduction hidden,
     * the first exact solve of a one-stage configuration's step bound ({@link #presolveStepBound}). Each such
     * solve is a function of its problem alone and gives the same answer whichever thread runs it and whenever;
     * the search reads the answers in its own fixed order, so the plans, their statuses and bounds do not depend
     * on the timing or the number of threads (only the time limit can cut a solve short, as before). Daemon
     * threads that end when idle, so nothing needs closing.
     */
    private java.util.concurrent.ExecutorService helpers;

    java.util.concurrent.ExecutorService helpers() {
        if (helpers == null && threads() > 1) {
            java.util.concurrent.atomic.AtomicInteger id = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(threads() - 1,
                    threads() - 1, 2, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
                    r -> {
                        Thread t = new Thread(r, "shardplan-search-" + id.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    }) {
                @Override
                protected void beforeExecute(Thread t, Runnable r) {
                    helpersRunning.incrementAndGet();
                }

                @Override
                protected void afterExecute(Runnable r, Throwable t) {
                    helpersRunning.decrementAndGet();
                }
            };
            pool.allowCoreThreadTimeOut(true);
            helpers = pool;
        }
        return helpers;
    }

    /** The tasks {@link #helpers} run at this moment. */
    private final java.util.concurrent.atomic.AtomicInteger helpersRunning = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The thread the reported bound of a plan found during the passes runs on ({@link #reportAhead}), beside {@link
     * #helpers}: it gives way to them ({@link Drop#yieldToSearch}), so that it only takes the time the search's own
     * threads leave idle. A daemon thread that ends when idle.
     */
    private java.util.concurrent.ExecutorService boundThread;

    private java.util.concurrent.ExecutorService boundThread() {
        if (boundThread == null && threads() > 1) {
            java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(1, 1, 2,
                    java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                        Thread t = new Thread(r, "shardplan-bound");
                        t.setDaemon(true);
                        return t;
                    });
            pool.allowCoreThreadTimeOut(true);
            boundThread = pool;
        }
        return boundThread;
    }

    /**
     * Whether the search's other threads are busy: a task of {@link #helpers}, the common fork-join pool's workers
     * (the solvers' parallel loops) or the dual's part threads ({@link org.shardplan.planner.solver.SolverThreads}).
     */
    private boolean searchBusy() {
        return helpersRunning.get() > 0 || java.util.concurrent.ForkJoinPool.commonPool().getActiveThreadCount() > 0
                || org.shardplan.planner.solver.SolverThreads.running() > 0;
    }

    /** Whether this search uses its threads beside ({@link #helpers}, where there are any); tests turn it off to compare. */
    boolean beside = true;

    /**
     * Puts a configuration in which memory binds off, with the larger of its memory-blind bound and
     * (unless turned off) its memory-aware one: it is priced at the end, in order of its bound, where
     * that can still beat the plan found.
     */
    private void defer(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m, boolean recompute, int zero) {
        double blind = stepLowerBound(cg, micro, pb, stages, m);
        double withMemory = useMemoryBound ? Math.max(blind, memoryAwareBound(cg, micro, pb, stages, m)) : blind;
        deferred.add(new Deferred(stages, m, recompute, zero, withMemory, blind));
    }

    /** The fastest fitting plan priced so far (the bound of {@link #stepLowerBound} is held against it; tests set it). */
    volatile Outcome incumbent; // read by the preparations beside (prepare), which only skip work by it
    /** A stage whose solution without the memory limit does not fit, while memory-bound stages are put off. */
    private static final class MemoryBound extends RuntimeException {
        MemoryBound() {
            super(null, null, false, false);
        }
    }

    /** A configuration put off because memory binds in one of its stages, with its lower bound. */
    private record Deferred(int stages, int microBatches, boolean recompute, int zero, double bound, double blindBound) {
    }

    /**
     * Whether configurations in which memory binds (a stage whose exact solution without the limit does
     * not fit, which the Lagrangian memory pricing then solves many times over) are put off until the
     * passes over the others are done: they are then priced in order of their lower bound, while it can
     * beat the plan found and time is left.
     */
    boolean defer = !"false".equals(System.getProperty("shardplan.bound"));
    private final List<Deferred> deferred = new ArrayList<>();

    /** How many configurations were put off because memory binds. */
    int deferredCount() {
        return deferred.size();
    }

    /** Configurations whose lower bound could not beat the incumbent, left unpriced. */
    int bounded;

    /** Of those put off because memory binds, the ones only the memory-aware bound left unpriced. */
    int memoryBounded;

    /**
     * -Dshardplan.bound=false: every configuration the search reaches is priced where it is reached,
     * none skipped by its bound or put off because memory binds (to check that neither changes the
     * plan); true by default.
     */
    boolean useBound = !"false".equals(System.getProperty("shardplan.bound"));

    /**
     * Per node, the least over its candidates of its forward time {@code f}, its forward and backward
     * time {@code a} and its forward and input-gradient time {@code c} for one micro-batch, as the stage
     * profiles count them ({@link #profiles}: the node's collectives split evenly between forward and
     * backward; resharding between nodes, which only adds, left out). {@code {f, a, c}} per node. O(nodes ·
     * layouts), the nodes of a class once.
     */
    static double[][] leastTimes(List<List<ProblemBuilder.Cost>> costs, boolean recompute) {
        Map<List<ProblemBuilder.Cost>, double[]> seen = new java.util.IdentityHashMap<>();
        double[][] r = new double[costs.size()][];
        for (int i = 0; i < r.length; i++) {
            r[i] = seen.computeIfAbsent(costs.get(i), cs -> {
                double f = Double.POSITIVE_INFINITY;
                double a = Double.POSITIVE_INFINITY;
                double c = Double.POSITIVE_INFINITY;
                for (ProblemBuilder.Cost x : cs) {
                    double fwd = x.forwardSeconds() + x.microCommunicationSeconds() / 2;
                    double all = x.microComputeSeconds() + x.microCommunicationSeconds();
                    double w = PipelineBound.weightPart(x, recompute);
                    f = Math.min(f, fwd);
                    a = Math.min(a, all);
                    c = Math.min(c, all - w);
                }
                return new double[] {f, a, c};
            });
        }
        return r;
    }

    /**
     * A lower bound on the step of every plan of the configuration (P stages, m micro-batches) the
     * search could price, from each node's least times ({@link #leastTimes}) alone: no edge priced,
     * nothing solved. With one stage the step is m times the micro-batch's work plus resharding and the
     * exposed gradient reduction, so at least m times the sum of the nodes' least {@code a}. With P
     * stages, for the schedules the options allow, taking the least:
     * <ul>
     * <li>GPipe and 1F1B: stage s's device starts after micro-batch 0's forward has crossed stages
     *     0..s-1, runs the m forwards and backwards of its stage, and its last backward is followed by
     *     that micro-batch's backward through stages s-1..0: step &gt;= A(stages &lt; s) + m A(stage s);</li>
     * <li>zero-bubble (ZB-H1), whose weight-gradient ops may run after the backward chain has moved on:
     *     step &gt;= max(F(stages &lt; s) + m A(s), C(stages &lt; s) + m C(s));</li>
     * <li>interleaved: device d's first op is micro-batch 0's forward through model stage d (its first
     *     chunk), its last micro-batch m - 1's backward through it, so step &gt;= A(stages &lt; d) + m
     *     A(device d's chunks), with each stage at least one segment and the devices' shares summing to A:
     *     the least over the shares by water-filling ({@link MemoryAwareBound#fillDrain}), at least m A / P;</li>
     * <li>an asynchronous schedule ({@code amp}) allowed: no bound (0).</li>
     * </ul>
     * The partition is any one at the allowed cuts: the least over them of the largest per-stage bound
     * is found by the same stage-balancing recurrence as {@link #partition} with these stage costs,
     * O(P K^2) for K cut positions. Each per-stage bound holds for the critical path of the schedule's
     * op order ({@link org.shardplan.planner.pipeline.CriticalPath}), the step the search prices.
     */
    double stepLowerBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m) {
        return stepLowerBound(cg, micro, pb, stages, m, true);
    }

    /**
     * {@link #stepLowerBound} over the schedules the options allow, the interleaved one left out unless {@code
     * interleaved}: the bound of the configuration's plans under every other schedule.
     */
    double stepLowerBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m, boolean interleaved) {
        checkTime("bounding a configuration");
        // the same graph, builder and required layouts give the same bound: the configuration's test before
        // it is priced and its bound across the stages after are one computation
        Map<String, List<Layout>> req = requiredFor(cg, micro, pb);
        BoundKey key = new BoundKey(cg, pb, req, stages, m, interleaved, exposedReductionBound);
        Double kept = lowerBounds.get(key);
        if (kept != null) {
            return kept;
        }
        double lb = stepLowerBound(cg, micro, pb, req, stages, m, interleaved);
        lowerBounds.put(key, lb);
        return lb;
    }

    /**
     * A configuration's {@link #stepLowerBound}: its graph, builder and required layouts by identity, P, m, whether
     * the interleaved schedule is among those bounded and whether the exposed reduction is counted.
     */
    private record BoundKey(Object cg, Object pb, Object req, int stages, int m, boolean interleaved, boolean exposed) {
        @Override
        public boolean equals(Object o) {
            return o instanceof BoundKey k && k.cg == cg && k.pb == pb && k.req == req && k.stages == stages && k.m == m
                    && k.interleaved == interleaved && k.exposed == exposed;
        }

        @Override
        public int hashCode() {
            return (((System.identityHashCode(cg) * 31 + System.identityHashCode(pb)) * 31 + System.identityHashCode(req))
                    * 31 * 31 + stages * 31 + m) * 2 + (interleaved ? 1 : 0);
        }
    }

    /**
     * Whether the step bounds' stage balancing searches for the crossing of its monotone terms ({@link
     * #bottleneck(int, List, int, StageCost, boolean)}; {@code -Dshardplan.fastBottleneck=false}: every start priced).
     */
    static boolean fastBottleneck = !"false".equals(System.getProperty("shardplan.fastBottleneck"));

    /** {@link #stepLowerBound}'s answers, computed once per configuration. */
    private final Map<BoundKey, Double> lowerBounds = new HashMap<>();

    private double stepLowerBound(CoarseGraph cg, long micro, ProblemBuilder pb, Map<String, List<Layout>> req, int stages,
            int m, boolean interleaved) {
        List<List<ProblemBuilder.Cost>> nodeCosts = pb.nodeCosts(cg, req);
        double[][] least = leastTimes(nodeCosts, pb.settings().memory().recompute());
        int n = least.length;
        double[] pf = new double[n + 1];
        double[] pa = new double[n + 1];
        double[] pc = new double[n + 1];
        for (int i = 0; i < n; i++) {
            pf[i + 1] = pf[i] + least[i][0];
            pa[i + 1] = pa[i] + least[i][1];
            pc[i + 1] = pc[i] + least[i][2];
        }
        if (stages == 1) {
            return m * pa[n];
        }
        List<Integer> cut = cuts(cg, micro);
        Set<MemoryAwareBound.Kind> kinds = boundKinds(stages, m, cut);
        if (kinds == null) {
            return 0;
        }
        if (!interleaved) {
            kinds.remove(MemoryAwareBound.Kind.INTERLEAVED);
        }
        Exposed ex = exposedReductionBound ? Exposed.of(nodeCosts, m, pb.settings().compute().gradientOverlap(),
                pb.settings().compute().gradientBucketBytes()) : null;
        double[] unc = ex != null ? ex.allUncovered : exposedReductionBound ? Exposed.uncovered(nodeCosts, m,
                pb.settings().compute().gradientOverlap()) : null;
        return stepLowerBound(n, cut, stages, m, kinds, pf, pa, pc, ex, unc);
    }

    /**
     * {@link #stepLowerBound}'s terms over the partitions at {@code cut} for the schedules {@code kinds}, from the
     * prefix sums of the nodes' least forward {@code pf}, work {@code pa} and work without the weight gradients {@code
     * pc} (per micro-batch), and where the exposed reduction is counted, {@link Exposed}'s sums {@code ex} (null where
     * not made) and {@link Exposed#allUncovered} {@code unc} (null where the reduction is not overlapped or not counted).
     * Package-private for tests, which hold it against the schedules' own steps.
     */
    static double stepLowerBound(int n, List<Integer> cut, int stages, int m, Set<MemoryAwareBound.Kind> kinds,
            double[] pf, double[] pa, double[] pc, Exposed ex, double[] unc) {
        double lb = Double.POSITIVE_INFINITY;
        // a device's reductions run after its last op, beside the backward that drains the stages before it: so where
        // they are counted, the device is taken to wait only for micro-batch 0's forward through those stages
        if (kinds.contains(MemoryAwareBound.Kind.INTERLEAVED)) {
            // device d waits for micro-batch 0's forward through the first d stages (at least one segment
            // each) and ends before micro-batch m - 1's backward through them
            List<Integer> at = cutPositions(n, cut);
            double[] g = new double[stages];
            double[] gf = new double[stages];
            for (int d = 0; d < stages; d++) {
                g[d] = pa[at.get(d)];
                gf[d] = pf[at.get(d)];
            }
            double work = m * pa[n];
            double il = MemoryAwareBound.fillDrain(g, work);
            if (ex != null || unc != null) {
                // and each device's chunks' exposed reductions after its last op: the work and the reductions of
                // every chunk, each at most Kmax buckets (or what one micro-batch's backward leaves uncovered), summed
                // over the devices
                double reduced = Math.max(ex != null ? ex.all[ex.top][n] : 0, unc != null ? unc[n] : 0);
                il = Math.max(il, MemoryAwareBound.fillDrain(gf, Math.max(work, reduced)));
            }
            lb = Math.min(lb, il);
        }
        // each stage at its own bucket count prices every start (its costs are not monotone in the start): where that
        // is too many, every stage at the model's largest count (monotone, so the crossing search; a weaker bound)
        boolean perStage = ex != null && (long) stages * cut.size() * cut.size() <= Exposed.perStageWork;
        if (kinds.contains(MemoryAwareBound.Kind.FILL_DRAIN)) {
            double fd = fillDrainBottleneck(n, cut, stages, m, pa);
            if (perStage) {
                fd = Math.max(fd, bottleneck(n, cut, stages, (i, j) -> Math.max(pa[i] + m * (pa[j] - pa[i]),
                        pf[i] + ex.reduced(i, j)), false));
            } else {
                if (ex != null) {
                    fd = Math.max(fd, fillDrainBottleneck(n, cut, stages, m, pf, perMicroBatch(ex.all[ex.top], m)));
                }
                if (unc != null) {
                    fd = Math.max(fd, fillDrainBottleneck(n, cut, stages, m, pf, perMicroBatch(unc, m)));
                }
            }
            lb = Math.min(lb, fd);
        }
        if (kinds.contains(MemoryAwareBound.Kind.ZERO_BUBBLE)) {
            double zb = zeroBubbleBottleneck(n, cut, stages, m, pf, pa, pc);
            if (perStage) {
                zb = Math.max(zb, bottleneck(n, cut, stages, (i, j) -> Math.max(pf[i] + ex.reduced(i, j),
                        pc[i] + m * (pc[j] - pc[i])), false));
            } else {
                if (ex != null) {
                    zb = Math.max(zb, zeroBubbleBottleneck(n, cut, stages, m, pf, perMicroBatch(ex.all[ex.top], m), pc,
                            pc));
                }
                if (unc != null) {
                    zb = Math.max(zb, zeroBubbleBottleneck(n, cut, stages, m, pf, perMicroBatch(unc, m), pc, pc));
                }
            }
            lb = Math.min(lb, zb);
        }
        return lb == Double.POSITIVE_INFINITY ? 0 : lb;
    }

    /**
     * Whether the step bound of pipeline configurations ({@link #stepLowerBound}) counts each stage's exposed gradient
     * reduction ({@link Exposed}; {@code -Dshardplan.exposedReductionBound=false}: not, as before; tests compare).
     */
    static boolean exposedReductionBound = !"false".equals(System.getProperty("shardplan.exposedReductionBound"));

    /**
     * The least of a stage's own work and its exposed gradient reduction, node by node, for {@link #stepLowerBound}.
     * Every schedule ends a device's step with its chunks' reductions after its last op ({@code max_d (end[d] +
     * sync[d])}), each chunk's exposed part {@code max(G / k, G - B)} at least {@code G / k}, and its bucket count {@code
     * k} at most {@code K(s) = max(1, ceil(Vmax(s) / bucket))}, {@code Vmax(s)} the sum over the stage's nodes of their
     * largest gradient volume (all of {@code G} where the reduction is not overlapped: {@code K = 1}). So a stage's
     * {@code m A(s) + E(s)} is at least the sum over its nodes of the least over their layouts of {@code m a + g /
     * K(s)} (the work and the reduction of one layout, where the least times alone take each from its own best
     * layout). Prefix sums per bucket count {@code 1..Kmax}.
     *
     * <p>The reductions run after the device's last op, beside what follows it on the other devices (the backward that
     * drains the stages before it): so {@link #stepLowerBound} adds {@code m A(s) + E(s)} to the forward of the stages
     * before alone, never to their backward, and leaves the exposed part out of ZB-H1's chain of input gradients (whose
     * last one need not be the device's last op).
     */
    static final class Exposed {
        /** Per bucket count K (index K - 1): prefix sums of each node's least {@code m a + g / K}. */
        final double[][] all;
        /** Prefix sums of each node's largest gradient volume (half its largest gradient bytes). */
        final double[] volume;
        /** The largest bucket count less one (the index of Kmax), 0 where the reduction is not overlapped. */
        final int top;
        /** The gradient bucket's size in bytes ({@link org.shardplan.cost.compute.ComputeModel#gradientBucketBytes}). */
        final double bucket;

        /**
         * The sums of a configuration's node costs; null where the model's largest gradient volume has more than {@link
         * #MAX_BUCKETS} buckets (its last bucket is then a small share of its reduction, and the sums would cost more
         * than they add: GPT-1T's search took 7-10% longer with them).
         */
        static Exposed of(List<List<ProblemBuilder.Cost>> costs, int m, boolean overlap, double bucket) {
            int n = costs.size();
            double[] volume = new double[n + 1];
            for (int i = 0; i < n; i++) {
                double most = 0;
                for (ProblemBuilder.Cost x : costs.get(i)) {
                    most = Math.max(most, x.gradientBytes() / 2);
                }
                volume[i + 1] = volume[i] + most;
            }
            if (overlap && OverlapBound.bucketsOf(volume[n], bucket) > MAX_BUCKETS) {
                return null;
            }
            return new Exposed(costs, m, overlap, bucket, volume);
        }

        private Exposed(List<List<ProblemBuilder.Cost>> costs, int m, boolean overlap, double bucket, double[] volume) {
            this.volume = volume;
            this.bucket = bucket;
            int n = costs.size();
            int kmax = overlap ? OverlapBound.bucketsOf(volume[n], bucket) : 1;
            top = kmax - 1;
            all = new double[kmax][n + 1];
            allUncovered = uncovered(costs, m, overlap);
            double[] a = new double[kmax];
            for (int i = 0; i < n; i++) {
                java.util.Arrays.fill(a, Double.POSITIVE_INFINITY);
                for (ProblemBuilder.Cost x : costs.get(i)) {
                    double work = x.microComputeSeconds() + x.microCommunicationSeconds();
                    for (int k = 0; k < kmax; k++) {
                        a[k] = Math.min(a[k], m * work + x.gradientSeconds() / (k + 1));
                    }
                }
                for (int k = 0; k < kmax; k++) {
                    all[k][i + 1] = all[k][i] + a[k];
                }
            }
        }

        /** {@link #allUncovered} of a configuration's node costs (also where the sums per bucket count are not made). */
        static double[] uncovered(List<List<ProblemBuilder.Cost>> costs, int m, boolean overlap) {
            if (!overlap) {
                return null;
            }
            int n = costs.size();
            double[] sums = new double[n + 1];
            for (int i = 0; i < n; i++) {
                double least = Double.POSITIVE_INFINITY;
                for (ProblemBuilder.Cost x : costs.get(i)) {
                    double work = x.microComputeSeconds() + x.microCommunicationSeconds();
                    // the node's share of the stage's backward of one micro-batch, which the reduction may hide under
                    double back = x.microComputeSeconds() - x.forwardSeconds() + x.microCommunicationSeconds() / 2;
                    least = Math.min(least, m * work + x.gradientSeconds() - back);
                }
                sums[i + 1] = sums[i] + least;
            }
            return sums;
        }

        /**
         * Where the reduction is overlapped: prefix sums of each node's least {@code m a + g - b}, {@code b} its share of
         * one micro-batch's backward (its backward compute and half its collectives). A stage's exposed part is at least
         * {@code G - B} ({@link #exposedGradientSeconds}), its backward {@code B} the sum of its nodes' {@code b} and half
         * its inner links, which its {@code m A} counts m times in full: so {@code m A + E} is at least the sum of these,
         * whatever the bucket count. Where one micro-batch's backward is short against the stage's reduction (few
         * micro-batches on many devices a stage) this is the larger bound. Null where the reduction is not overlapped
         * ({@link #all} counts it in full there).
         */
        final double[] allUncovered;

        /**
         * Nodes {@code i..j-1} as one stage: a bound on its {@code m A + E}, the larger of {@link #stage} over {@link
         * #all} and the sum of {@link #allUncovered}.
         */
        double reduced(int i, int j) {
            double r = stage(all, i, j);
            return allUncovered == null ? r : Math.max(r, allUncovered[j] - allUncovered[i]);
        }

        /** Nodes {@code i..j-1} as one stage: the prefix difference at the stage's own bucket count. */
        double stage(double[][] sums, int i, int j) {
            int k = top == 0 ? 0 : Math.min(top, OverlapBound.bucketsOf(volume[j] - volume[i], bucket) - 1);
            return sums[k][j] - sums[k][i];
        }

        /** The most buckets of a model's largest gradient volume for which the sums are made. */
        static final int MAX_BUCKETS = 16;

        /**
         * The most stage costs (stages times cut positions squared) the recurrence prices with each stage at its own
         * bucket count (DenseNet-121's 254 cut positions at 16 stages: 1.0e6); beyond, every stage at the model's
         * (tests set it).
         */
        static long perStageWork = 1_200_000;
    }


    /** Prefix sums divided by the micro-batch count (a stage's own work per micro-batch, as the recurrences take it). */
    private static double[] perMicroBatch(double[] sums, int m) {
        double[] r = new double[sums.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = sums[i] / m;
        }
        return r;
    }

    /**
     * GPipe's and 1F1B's term of the step bounds over the partitions at {@code cuts}: the least of the largest
     * {@code A(stages before s) + m A(s)}, {@code pa} the prefix sums of the work ({@link #bottleneck}; by the crossing
     * search where the prefix never falls, checked).
     */
    private static double fillDrainBottleneck(int n, List<Integer> cuts, int stages, int m, double[] pa) {
        return fillDrainBottleneck(n, cuts, stages, m, pa, pa);
    }

    /** {@link #fillDrainBottleneck} with the stage's own work per micro-batch from the prefix sums {@code own}. */
    private static double fillDrainBottleneck(int n, List<Integer> cuts, int stages, int m, double[] pa, double[] own) {
        return bottleneck(n, cuts, stages, (i, j) -> pa[i] + m * (own[j] - own[i]),
                fastBottleneck && fallsWithStart(cutPositions(n, cuts), pa, own, m));
    }

    /**
     * ZB-H1's term of the step bounds over the partitions at {@code cuts}: the least of the largest {@code max(F(stages
     * before s) + m A(s), C(stages before s) + m C(s))}, {@code pf, pa, pc} the prefix sums of the forward, the work and
     * the work without the weight gradients ({@link #bottleneck}; by the crossing search where each stretch between
     * cuts adds at most m times as much to the prefix as to the stage's work, checked: a node's least forward is at most
     * its least work).
     */
    private static double zeroBubbleBottleneck(int n, List<Integer> cuts, int stages, int m, double[] pf, double[] pa,
            double[] pc) {
        return zeroBubbleBottleneck(n, cuts, stages, m, pf, pa, pc, pc);
    }

    /**
     * {@link #zeroBubbleBottleneck} with the stage's own work and own work without the weight gradients per micro-batch
     * from the prefix sums {@code ownA} and {@code ownC}.
     */
    private static double zeroBubbleBottleneck(int n, List<Integer> cuts, int stages, int m, double[] pf, double[] ownA,
            double[] pc, double[] ownC) {
        List<Integer> at = cutPositions(n, cuts);
        return bottleneck(n, cuts, stages, (i, j) -> Math.max(pf[i] + m * (ownA[j] - ownA[i]),
                pc[i] + m * (ownC[j] - ownC[i])),
                fastBottleneck && fallsWithStart(at, pf, ownA, m) && fallsWithStart(at, pc, ownC, m));
    }

    /**
     * The bound of {@link #stepLowerBound} for GPipe, 1F1B and interleaved schedules with each stage's work
     * per micro-batch taken from exact solves instead of each node's least time: the work of a stage,
     * {@code A(s)} = the forward and backward of its nodes (compute and collectives) and the resharding
     * between them, is a sum of non-negative node and link terms, so over any layouts it is at least the sum,
     * over the segments between consecutive cut positions that make it up, of each segment's own optimum
     * (the links between segments dropped, but those between neighbouring one-node segments: {@link #linkedWork}).
     * Each segment is solved once, exactly (the configuration's
     * candidates and fixed degrees, untied, no memory limit: a relaxation); where a solve does not finish,
     * its nodes' least times stand. Then as in {@link #stepLowerBound}: for GPipe and 1F1B the least over
     * partitions at the cuts of the largest {@code A(before s) + m A(s)}, for interleaved {@code m A / P};
     * 0 where ZB-H1 or an asynchronous schedule is allowed (its bound needs the forward alone), so that the
     * caller's maximum keeps the other. O(segments) small exact solves + O(P K^2).
     */
    double segmentBound(ProblemBuilder.Built b, StageProblem.Filter f, CoarseGraph cg, long micro, int stages, int m,
            boolean rc) {
        return segmentBounds(b, f, cg, micro, stages, m, rc)[0];
    }

    /**
     * {@link #segmentBound} over the schedules the options allow, and over them without the interleaved one (the bound
     * of the configuration's plans under every other schedule): {@code {with, without}}, each 0 where no bound holds.
     */
    double[] segmentBounds(ProblemBuilder.Built b, StageProblem.Filter f, CoarseGraph cg, long micro, int stages, int m,
            boolean rc) {
        SegmentKey key = new SegmentKey(b, f, stages, m, rc);
        double[] known;
        synchronized (segmentBoundsKnown) {
            known = segmentBoundsKnown.get(key);
        }
        if (known != null) {
            segmentBoundsShared.incrementAndGet();
            return known.clone();
        }
        double[] r = segmentBoundsOnce(b, f, cg, micro, stages, m, rc);
        synchronized (segmentBoundsKnown) {
            segmentBoundsKnown.put(key, r.clone());
        }
        return r;
    }

    /**
     * A configuration's {@link #segmentBounds}, by built problem and filter (both by identity), stages, micro-batches and
     * recomputation: a configuration put off because memory binds is held against the plan found again when it is
     * priced at the end, and the plan reported takes its configuration's bound.
     */
    private record SegmentKey(ProblemBuilder.Built b, StageProblem.Filter f, int stages, int m, boolean rc) {
        @Override
        public boolean equals(Object o) {
            return o instanceof SegmentKey x && x.b == b && x.f == f && x.stages == stages && x.m == m && x.rc == rc;
        }

        @Override
        public int hashCode() {
            return (((System.identityHashCode(b) * 31 + System.identityHashCode(f)) * 31 + stages) * 31 + m) * 2
                    + (rc ? 1 : 0);
        }
    }

    private final Map<SegmentKey, double[]> segmentBoundsKnown = new HashMap<>();

    /** {@link #segmentBounds} answered from an earlier one (for tests and the trace). */
    final java.util.concurrent.atomic.AtomicInteger segmentBoundsShared = new java.util.concurrent.atomic.AtomicInteger();

    private double[] segmentBoundsOnce(ProblemBuilder.Built b, StageProblem.Filter f, CoarseGraph cg, long micro, int stages,
            int m, boolean rc) {
        List<Integer> cut = cuts(cg, micro);
        Set<MemoryAwareBound.Kind> kinds = boundKinds(stages, m, cut);
        if (kinds == null || kinds.isEmpty()) {
            return new double[] {0, 0};
        }
        int n = b.units().size();
        // each node's least forward and forward-plus-input-gradient times (ZB-H1's terms, as leastTimes)
        double[] pf = new double[n + 1];
        double[] pc = new double[n + 1];
        double[] leastA = new double[n];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(i);
            double fl = Double.POSITIVE_INFINITY;
            double al = Double.POSITIVE_INFINITY;
            double cl = Double.POSITIVE_INFINITY;
            for (int c = 0; c < u.costs().size(); c++) {
                if (f.allows(u, c)) {
                    ProblemBuilder.Cost x = u.costs().get(c);
                    double all = x.microComputeSeconds() + x.microCommunicationSeconds();
                    double w = PipelineBound.weightPart(x, rc);
                    fl = Math.min(fl, x.forwardSeconds() + x.microCommunicationSeconds() / 2);
                    al = Math.min(al, all);
                    cl = Math.min(cl, all - w);
                }
            }
            pf[i + 1] = pf[i] + fl;
            pc[i + 1] = pc[i] + cl;
            leastA[i] = al;
        }
        List<Integer> pos = cutPositions(n, cut);
        double[] pa = new double[n + 1];
        // segments whose problems are equal (a decoder's layers) are solved once: first told apart by what their
        // problems are made of, by identity (the units' cost lists and layouts, shared within a block class; the
        // candidates the filter allows; the inner links' ends and tables), then by their problems' content
        int[] segOf = segmentOf(n, pos);
        List<List<Object>> inner = new ArrayList<>();
        for (int k = 0; k + 1 < pos.size(); k++) {
            inner.add(new ArrayList<>());
        }
        for (ProblemBuilder.Link l : b.links()) {
            int g = segOf[l.from()];
            if (g == segOf[l.to()]) {
                inner.get(g).add(List.of(l.from() - pos.get(g), l.to() - pos.get(g), new PipelineBound.Same(l.seconds())));
            }
        }
        Map<List<Object>, Double> byParts = new HashMap<>();
        Map<List<Object>, Double> solvedSegments = new HashMap<>();
        for (int k = 0; k + 1 < pos.size(); k++) {
            checkTime("bounding a configuration from its segments");
            int from = pos.get(k);
            int to = pos.get(k + 1);
            double seg = 0;
            try {
                List<Object> parts = new ArrayList<>(3 * (to - from) + 1);
                for (int i = from; i < to; i++) {
                    ProblemBuilder.Unit u = b.units().get(i);
                    int[] allowed = new int[u.costs().size()];
                    int count = 0;
                    for (int c = 0; c < allowed.length; c++) {
                        if (f.allows(u, c)) {
                            allowed[count++] = c;
                        }
                    }
                    parts.add(new PipelineBound.Same(u.costs()));
                    parts.add(new PipelineBound.Same(u.layouts()));
                    parts.add(java.nio.IntBuffer.wrap(allowed, 0, count));
                }
                parts.add(inner.get(k));
                Double known = byParts.get(parts);
                if (known == null) {
                    StageProblem sp = StageProblem.of(b, from, to, new ProblemBuilder.Repeat(1, 1, 0), f,
                            OptionalDouble.empty(), false);
                    List<Object> key = contentKey(sp.problem());
                    known = solvedSegments.get(key);
                    if (known == null) {
                        Solution sol = new DpSolver().solve(sp.problem(), Solver.Options.withTimeLimit(secondsLeft()));
                        known = sol.status() == Status.OPTIMAL ? sol.objective() : sol.lowerBound();
                        solvedSegments.put(key, known);
                    }
                    byParts.put(parts, known);
                }
                seg = known;
            } catch (IllegalArgumentException e) {
                return new double[] {0, 0}; // a node without a candidate: no plan here, no bound from this
            }
            double least = 0;
            for (int i = from; i < to; i++) {
                least += leastA[i];
            }
            pa[to] = pa[from] + (Double.isFinite(seg) ? Math.max(seg, least) : least);
        }
        // the resharding into each one-node segment from the one-node segment before it, which the segments' own
        // solves leave out
        LinkedWork lw = segmentLinks ? linkedWork(b, f, rc, pos, stages, pa, pc) : null;
        double others = Double.POSITIVE_INFINITY;
        if (lw != null) {
            if (kinds.contains(MemoryAwareBound.Kind.FILL_DRAIN)) {
                others = Math.min(others, bottleneck(n, cut, stages, (i, j) -> lw.beforeA()[i] + m * lw.stageA(i, j),
                        fastBottleneck && fallsWithStart(pos, lw.beforeA(), lw.startA(), m)));
            }
            if (kinds.contains(MemoryAwareBound.Kind.ZERO_BUBBLE)) {
                others = Math.min(others, bottleneck(n, cut, stages, (i, j) -> Math.max(pf[i] + m * lw.stageA(i, j),
                        lw.beforeC()[i] + m * lw.stageC(i, j)), fastBottleneck && fallsWithStart(pos, pf, lw.startA(), m)
                        && fallsWithStart(pos, lw.beforeC(), lw.startC(), m)));
            }
        } else {
            if (kinds.contains(MemoryAwareBound.Kind.FILL_DRAIN)) {
                others = Math.min(others, fillDrainBottleneck(n, cut, stages, m, pa));
            }
            if (kinds.contains(MemoryAwareBound.Kind.ZERO_BUBBLE)) {
                others = Math.min(others, zeroBubbleBottleneck(n, cut, stages, m, pf, pa, pc));
            }
        }
        double total = pa[n];
        if (lw != null && kinds.contains(MemoryAwareBound.Kind.INTERLEAVED)) {
            // every chunk but the first leaves its first segment's gain out: at most the P v - 1 largest, v the most
            // virtual stages the options allow here
            total = Math.max(total, lw.total(stages * mostVirtual(stages, m, cut) - 1));
        }
        double lb = kinds.contains(MemoryAwareBound.Kind.INTERLEAVED) ? Math.min(others, m * total / stages) : others;
        return new double[] {lb == Double.POSITIVE_INFINITY ? 0 : lb, others == Double.POSITIVE_INFINITY ? 0 : others};
    }

    /**
     * Whether {@link #segmentBounds} adds the resharding between neighbouring one-node segments ({@link #linkGains};
     * {@code -Dshardplan.segmentLinks=false}: not).
     */
    static boolean segmentLinks = !"false".equals(System.getProperty("shardplan.segmentLinks"));

    /**
     * Lower bounds on a stage's work per micro-batch (its nodes' compute and collectives and the resharding between them)
     * that count the resharding between neighbouring one-node segments ({@link #linkGains}), at the cut positions:
     * {@code ownA}, the prefix sums of each segment's least work plus its gain (the links from the segment before it);
     * {@code startA}, those sums with the gain of the segment at the position added, so that a stage {@code [i, j)} is at
     * least {@code ownA[j] - startA[i]} (its first segment's links come from the stage before: a send, not resharding);
     * {@code beforeA}, the stages before a stage starting at {@code i} together, at least {@code ownA[i]} less the P - 1
     * largest gains before {@code i} (their first segments') and at least the sums without gains; {@code C} the same for
     * the work without the weight gradients (per node); {@code gainA} the gains.
     */
    record LinkedWork(double[] ownA, double[] startA, double[] beforeA, double[] ownC, double[] startC, double[] beforeC,
            double[] gainA) {
        /** The work of stage {@code [i, j)} at least. */
        double stageA(int i, int j) {
            return ownA[j] - startA[i];
        }

        /** The work without the weight gradients of stage {@code [i, j)} at least. */
        double stageC(int i, int j) {
            return ownC[j] - startC[i];
        }

        /** The whole model's work cut into chunks with at most {@code starts} starts after the first, at least. */
        double total(int starts) {
            double[] g = gainA.clone();
            java.util.Arrays.sort(g);
            double with = ownA[ownA.length - 1];
            for (int i = 0; i < starts && i < g.length; i++) {
                with -= g[g.length - 1 - i];
            }
            return with;
        }
    }

    /**
     * {@link LinkedWork} of built problem {@code b} at cut positions {@code pos} (with {@code pa}, the prefix sums of the
     * segments' least work, and {@code pc}, of the nodes' least work without the weight gradients) for {@code stages}
     * stages; null where no link adds anything (no two neighbouring one-node segments, or their least layouts meet).
     * O(nodes + links + the layouts' pairs of neighbouring one-node segments).
     */
    static LinkedWork linkedWork(ProblemBuilder.Built b, StageProblem.Filter f, boolean rc, List<Integer> pos, int stages,
            double[] pa, double[] pc) {
        int n = b.units().size();
        int[] segOf = segmentOf(n, pos);
        double[] gainA = new double[n + 1];
        double[] gainC = new double[n + 1];
        if (!linkGains(b, f, rc, pos, segOf, gainA, gainC)) {
            return null;
        }
        double[] ownA = new double[n + 1];
        double[] ownC = new double[n + 1];
        for (int k = 0; k + 1 < pos.size(); k++) {
            ownA[pos.get(k + 1)] = ownA[pos.get(k)] + (pa[pos.get(k + 1)] - pa[pos.get(k)]) + gainA[pos.get(k)];
        }
        for (int i = 0; i < n; i++) {
            ownC[i + 1] = ownC[i] + (pc[i + 1] - pc[i]) + gainC[i];
        }
        double[] startA = new double[n + 1];
        double[] startC = new double[n + 1];
        for (int i = 0; i <= n; i++) {
            startA[i] = ownA[i] + gainA[i];
            startC[i] = ownC[i] + gainC[i];
        }
        return new LinkedWork(ownA, startA, beforeWithGains(pos, ownA, gainA, stages - 1, pa), ownC, startC,
                beforeWithGains(pos, ownC, gainC, stages - 1, pc), gainA);
    }

    /** For each of {@code n} nodes, the segment between cut positions {@code pos} that holds it. O(n). */
    static int[] segmentOf(int n, List<Integer> pos) {
        int[] segOf = new int[n];
        for (int k = 0; k + 1 < pos.size(); k++) {
            for (int i = pos.get(k); i < pos.get(k + 1); i++) {
                segOf[i] = k;
            }
        }
        return segOf;
    }

    /**
     * For each segment of one node {@code v} whose segment before is one node {@code u}: what the links from {@code u}
     * into {@code v} add to {@code v}'s least work ({@code gainA}) and least work without the weight gradient ({@code
     * gainC}), at {@code v}'s position: the least over the pairs of layouts the filter allows of {@code v}'s term and the
     * links' resharding, less {@code v}'s least term. Any plan's stage holding {@code u} and {@code v} pays at least that
     * sum for {@code v} and those links together, terms no other segment's least counts. True where some gain is above 0.
     * O(sum over such pairs of their layouts' product times their links).
     */
    private static boolean linkGains(ProblemBuilder.Built b, StageProblem.Filter f, boolean rc, List<Integer> pos,
            int[] segOf, double[] gainA, double[] gainC) {
        Map<Integer, List<ProblemBuilder.Link>> into = new HashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            int sv = segOf[l.to()];
            int su = segOf[l.from()];
            if (su == sv - 1 && pos.get(sv + 1) - pos.get(sv) == 1 && pos.get(su + 1) - pos.get(su) == 1) {
                into.computeIfAbsent(l.to(), x -> new ArrayList<>()).add(l);
            }
        }
        boolean any = false;
        for (Map.Entry<Integer, List<ProblemBuilder.Link>> e : into.entrySet()) {
            int v = e.getKey();
            int u = v - 1;
            ProblemBuilder.Unit uu = b.units().get(u);
            ProblemBuilder.Unit vu = b.units().get(v);
            int cols = vu.layouts().size();
            double leastA = Double.POSITIVE_INFINITY;
            double leastC = Double.POSITIVE_INFINITY;
            double bestA = Double.POSITIVE_INFINITY;
            double bestC = Double.POSITIVE_INFINITY;
            for (int xv = 0; xv < vu.costs().size(); xv++) {
                if (!f.allows(vu, xv)) {
                    continue;
                }
                ProblemBuilder.Cost c = vu.costs().get(xv);
                double all = c.microComputeSeconds() + c.microCommunicationSeconds();
                double cv = all - PipelineBound.weightPart(c, rc);
                leastA = Math.min(leastA, all);
                leastC = Math.min(leastC, cv);
                double link = Double.POSITIVE_INFINITY;
                for (int xu = 0; xu < uu.costs().size(); xu++) {
                    if (!f.allows(uu, xu)) {
                        continue;
                    }
                    double sum = 0;
                    for (ProblemBuilder.Link l : e.getValue()) {
                        sum += l.seconds()[xu * cols + xv];
                    }
                    link = Math.min(link, sum);
                }
                bestA = Math.min(bestA, all + link);
                bestC = Math.min(bestC, cv + link);
            }
            if (bestA < Double.POSITIVE_INFINITY && leastA < Double.POSITIVE_INFINITY) {
                gainA[v] = Math.max(0, bestA - leastA);
                gainC[v] = Math.max(0, bestC - leastC);
                any |= gainA[v] > 0 || gainC[v] > 0;
            }
        }
        return any;
    }

    /**
     * What a problem's optimum depends on, without its names: each node's costs and each edge's ends and table (and the
     * memory limit with the nodes' memory, where there is one). Equal keys, equal problems up to names. O(cells).
     */
    static List<Object> contentKey(Problem p) {
        List<Object> key = new ArrayList<>(2 * p.nodes().size() + p.edges().size() + 1);
        key.add(p.memoryLimit());
        for (Problem.Node nd : p.nodes()) {
            key.add(nd.costsKey());
            DoublesKey mk = p.memoryLimit().isPresent() ? nd.memoryKey() : null;
            key.add(mk != null ? mk : "");
        }
        for (Problem.Edge e : p.edges()) {
            key.add(List.of(e.from(), e.to(), e.rows(), e.cols(), e.costsKey()));
        }
        return key;
    }

    /**
     * The lower bound a plan reports: for a pipeline the largest of its configuration's bound from the nodes'
     * least times, {@link #segmentBound} and {@link #scheduleBound} (computed for the plan kept only, while the
     * time limit lasts: past it, the first); a one-stage plan's own.
     */
    double reportedBound(Outcome o) {
        return reported(o).lowerBound();
    }

    /**
     * A plan as reported and its bound: {@code plan} is {@code o}, or the fastest that fits of the minimisers of
     * {@link #scheduleBound} priced with {@code o}'s layouts (each a partition of the same configuration under one
     * schedule) where one is faster; {@code lowerBound} as {@link #reportedBound}, which holds for both.
     */
    record Reported(Outcome plan, double lowerBound) {
    }

    /** {@link #reportedBound} with the bound's minimisers priced as plans ({@link Reported}). */
    Reported reported(Outcome o) {
        if (nextAhead != null && nextFor == o) {
            BesideWork<Reported> f = nextAhead;
            Drop d = nextDrop;
            nextAhead = null;
            nextFor = null;
            nextDrop = null;
            return taken(o, f, d, " (next)");
        }
        if (reportedAhead != null && reportedFor == o) {
            BesideWork<Reported> f = reportedAhead;
            Drop d = reportedDrop;
            reportedAhead = null;
            reportedFor = null;
            reportedDrop = null;
            return taken(o, f, d, "");
        }
        dropReportedAhead();
        long t = System.nanoTime();
        awaitingReport = true;
        Reported r;
        try {
            r = reportedHere(o);
        } finally {
            awaitingReport = false;
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "reported bound computed in %.2f s%n", (System.nanoTime() - t) / 1e9);
        }
        return r;
    }

    /**
     * {@link #reported}'s answer for {@code o} from the run {@code f} beside (its drop flag {@code d}, null where none),
     * waited for with the other cores the bound's to take; {@code which} names the slot in the trace.
     */
    private Reported taken(Outcome o, BesideWork<Reported> f, Drop d, String which) {
        reportsTaken++;
        if (d != null) {
            d.yielding = false; // the search waits for it now
        }
        long t = System.nanoTime();
        awaitingReport = true; // the search's own threads idle from here: the bound may take the other cores
        Reported r;
        try {
            r = f.get(() -> reportedHere(o));
        } finally {
            awaitingReport = false;
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "reported bound taken from beside%s after %.2f s%s%n", which,
                    (System.nanoTime() - t) / 1e9, d == null || d.waited == 0 ? ""
                    : String.format(java.util.Locale.ROOT, " (it gave way to the search for %.2f s; %d looks, longest gap %.3f s)", d.waited / 1e9, d.looks, d.maxGap / 1e9));
        }
        return r;
    }

    /**
     * Set while {@link #reported} waits for the bound (or computes it on the search's thread): nothing else of the search
     * runs then, so parts of the bound may run on the other cores ({@link PipelineBound#dualStart}).
     */
    private volatile boolean awaitingReport;

    /** The plan found so far whose {@link #reported} bound {@link #reportedAhead} computes; null when none. */
    private Outcome reportedFor;
    /** {@link #reported} of {@link #reportedFor}, started on a thread beside ({@link #reportAhead}). */
    private BesideWork<Reported> reportedAhead;
    /** Set to stop {@link #reportedAhead} once it is not wanted ({@link #dropped}). */
    private Drop reportedDrop;

    /**
     * Whether the first pass over the pipeline degrees is done. In it the plan found changes with almost every degree,
     * and a pipeline plan found there may lose to one stage later (Megatron's 1T row: a 32-stage plan found in the first
     * pass, whose bound takes 8 s); so a bound started before ({@link #boundYields}) gives way to the search's threads.
     * From then on, where nothing was put off, the plan found is often the one kept (DenseNet-121's on 64 devices) and its
     * bound goes first; where configurations were put off because memory binds (GPT-145.6B, 1T), the bound keeps giving
     * way until the search waits for it (started on the thread beside in the second pass, it took the second core from
     * the passes' own work: 145.6B's search took 1.1-2.4 s longer in two alternated pairs). With {@code boundYields} off,
     * nothing is started before this, nor before the passes are done where something was put off.
     */
    private boolean reportAheadNow;

    /**
     * Whether the reported bound of the plan found runs from the first configuration priced on, on a thread of its own
     * that gives way to the search's threads ({@link Drop#yieldToSearch}: it takes only the time they leave idle, so a
     * bound that is dropped costs the search little), rather than from the second pass on the threads beside, where it
     * would take the second core from the preparations ({@code -Dshardplan.boundYields=false}: the latter; tests set it).
     */
    boolean boundYields = !"false".equals(System.getProperty("shardplan.boundYields"));

    /** Whether {@link #run} runs the passes (configurations priced one by one, as tests do, start no bound beside). */
    private boolean searching;

    /** Whether the passes over the configurations are done: from then on {@link #reportAhead} starts bounds whatever was put off. */
    private boolean passesDone;

    /** How many reported bounds were started ahead during the passes, and during the first of them, for tests. */
    int reportsStartedEarly;
    int reportsInFirstPass;

    /** How many times {@link #reportAhead} started the reported bound of a plan found, and {@link #reported} took one, for tests. */
    int reportsAhead;
    int reportsTaken;
    /** How many times a reported bound was computed, on any thread (for tests: none twice). */
    final java.util.concurrent.atomic.AtomicInteger reportsComputed = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Whether the reported bound of the plan found so far is computed ahead on a thread beside
     * ({@code -Dshardplan.reportAhead=false}: off); tests turn it off to compare.
     */
    boolean reportAheadOn = !"false".equals(System.getProperty("shardplan.reportAhead"));

    /**
     * Starts {@link #reported} of the plan found so far (a pipeline's: its segment and schedule bounds, the
     * tightenings' exact solves) on a thread beside, where there is one and it is not started yet: the plan found
     * early is often the one kept (Megatron's 145.6B row finds its plan about 3 s into the first pass, then prices and
     * bounds the other configurations for about 6 s), and its bound is then ready when the search ends. The bound is
     * a function of the plan alone (and of the time limit, which only stops it), so the answer taken is the one
     * computed after the search; where the plan found changes, the bound of the one before is dropped (it stops at
     * its next look at the clock, {@link #dropped}) and the new one's started. With {@link #boundYields} (the default) it
     * runs on {@link #boundThread} and gives way to the search's threads until {@link #reportAheadNow} where nothing was
     * put off (then it goes first), or until the search waits for it. Called after each configuration priced, and
     * after each pass.
     */
    private void reportAhead() {
        if (!(reportAheadNow || boundYields && searching) || !beside || !reportAheadOn || helpers() == null) {
            return;
        }
        // from the second pass on, where nothing was put off, the bound goes first (DenseNet-121 on 64 A100s: the bound of
        // the plan found in the first pass, the search's last wait, given way to the preparations, ended 0.8 s later)
        boolean first = reportAheadNow && deferred.isEmpty();
        if (incumbent == reportedFor) {
            if (first && reportedDrop != null && reportedDrop.yielding) {
                reportedDrop.yielding = false;
                dropAhead();
            }
            return;
        }
        if (wantedBeside(incumbent)) {
            nextBeside(incumbent); // and, once it has ended, the next pipeline looked at beside
            return; // the pipeline's bound goes on: it is looked at beside the one-stage plan found
        }
        dropReportedAhead(); // the bound of the plan found before, not wanted any more
        if (!boundYields && !passesDone && !deferred.isEmpty()) {
            return; // configurations put off: the bound runs beside them at the end, not against the passes
        }
        Outcome found = incumbent;
        // a one-stage plan found: the pipeline plan Planner.othersReported will look at first beside it, where there is
        // one (its reported bound is a function of that plan alone); it gives way to the search's threads throughout,
        // since a faster one-stage plan or pipeline may yet leave it unasked for
        boolean other = found != null && found.stages() == 1;
        if (other && (!boundYields || !othersAhead)) {
            return;
        }
        Outcome o = other ? firstBeside(found) : found;
        if (o == null || o.stages() == 1 || o.built() == null || !timeLeft()) {
            return;
        }
        try {
            coarse(o.micro()); // known already: the thread beside only reads it
        } catch (ShardplanException e) {
            return;
        }
        Drop drop = new Drop(boundYields && (!first || other));
        reportedFor = o;
        reportedDrop = drop;
        if (!passesDone) {
            reportsStartedEarly++;
        }
        if (!reportAheadNow) {
            reportsInFirstPass++;
        }
        reportsAhead++;
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  reported bound of P=%d m=%d recompute=%s zero=%d started beside%n",
                    o.stages(), o.microBatches(), o.recompute(), o.zero());
        }
        if (!drop.yielding) {
            dropAhead(); // the bound first: the configurations prepared and not started yet are built here when priced
        }
        reportedAhead = besideReport(boundYields ? boundThread() : helpers(), o, drop);
    }

    /**
     * Whether the reported bound running ahead ({@link #reportedFor}'s) is one {@link Planner#othersReported} asks for
     * beside {@code kept}, the plan found ({@link Planner#looksBeside}): the ahead bound then goes on rather than being
     * dropped and computed again there (EfficientNet-B4 at 64 A100s, batch 64, 1.5 s on the search's thread). O(1).
     */
    private boolean wantedBeside(Outcome kept) {
        return reportedFor != null && kept != null && Planner.looksBeside(reportedFor, kept);
    }

    /**
     * Whether {@link #reportAhead} starts, while the plan found has one stage, the reported bound of the pipeline plan
     * {@link Planner#othersReported} will look at first ({@link #firstBeside}) ({@code -Dshardplan.othersAhead=false}: not;
     * tests compare).
     */
    boolean othersAhead = !"false".equals(System.getProperty("shardplan.othersAhead"));

    /**
     * The pipeline plan {@link Planner#othersReported} would look at first beside the one-stage plan {@code kept} if the
     * search ended now: the fastest plan priced that {@link Planner#looksBeside} it (the first priced of equal steps, as
     * that method's stable sort keeps them) and was built; null where none. O(configurations priced).
     */
    private Outcome firstBeside(Outcome kept) {
        Outcome best = null;
        for (Outcome x : pricedPlans()) {
            if (x.built() != null && Planner.looksBeside(x, kept) && (best == null || x.stepSeconds() < best.stepSeconds())) {
                best = x;
            }
        }
        return best;
    }

    /**
     * The second pipeline plan {@link Planner#othersReported} looks at beside a one-stage plan, whose reported bound runs
     * ahead once the first one's has ended ({@link #nextBeside}), its run and the flag that drops it; null when none.
     */
    private Outcome nextFor;
    private BesideWork<Reported> nextAhead;
    private Drop nextDrop;

    /**
     * Where the reported bound running ahead beside the one-stage plan {@code kept} ({@link #reportedFor}) has ended,
     * starts that of the fastest other plan priced that {@link Planner#looksBeside} {@code kept} on the bound's thread,
     * giving way to the search's threads ({@link Planner#othersReported} looks at the two fastest); one where it is
     * still looked at beside {@code kept} goes on, one that is not is dropped. O(configurations priced).
     */
    private void nextBeside(Outcome kept) {
        if (nextFor != null) {
            if (Planner.looksBeside(nextFor, kept)) {
                return;
            }
            dropNextAhead();
        }
        if (kept.stages() != 1 || !othersAhead || !boundYields || reportedAhead == null || !reportedAhead.isDone()
                || !timeLeft()) {
            return;
        }
        Outcome o = null;
        for (Outcome x : pricedPlans()) {
            if (x != reportedFor && x.built() != null && Planner.looksBeside(x, kept)
                    && (o == null || x.stepSeconds() < o.stepSeconds())) {
                o = x;
            }
        }
        if (o == null) {
            return;
        }
        Drop drop = new Drop(true);
        nextFor = o;
        nextDrop = drop;
        reportsAhead++;
        if (!passesDone) {
            reportsStartedEarly++;
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  reported bound of P=%d m=%d recompute=%s zero=%d started beside, next%n",
                    o.stages(), o.microBatches(), o.recompute(), o.zero());
        }
        nextAhead = besideReport(boundThread(), o, drop);
    }

    /** Stops and forgets {@link #nextAhead}, where there is one. */
    private void dropNextAhead() {
        stop(nextDrop, nextAhead);
        nextAhead = null;
        nextFor = null;
        nextDrop = null;
    }

    /** {@link #reportedHere} of {@code o} queued on {@code pool}, stopped by {@code drop} (its run's {@link #droppedHere}). */
    private BesideWork<Reported> besideReport(java.util.concurrent.ExecutorService pool, Outcome o, Drop drop) {
        return new BesideWork<>(pool, () -> {
            droppedHere.set(drop);
            try {
                return reportedHere(o);
            } finally {
                droppedHere.remove();
            }
        });
    }

    /** Stops a reported bound's run beside: its flag {@code d} set (where any), its work not started dropped. */
    private static void stop(Drop d, BesideWork<Reported> w) {
        if (d != null) {
            d.set(true);
        }
        if (w != null) {
            w.drop();
        }
    }

    /** Stops the reported bounds running ahead, where any are (once no more are asked for: Planner.othersReported). */
    void dropReportsAhead() {
        dropReportedAhead();
    }

    /** The plan whose reported bound runs ahead on a thread beside ({@link #reportAhead}); null when none. */
    Outcome reportingAhead() {
        return reportedFor;
    }

    /** Stops and forgets {@link #reportedAhead}, where there is one. */
    private void dropReportedAhead() {
        dropNextAhead();
        stop(reportedDrop, reportedAhead);
        reportedAhead = null;
        reportedFor = null;
        reportedDrop = null;
    }

    private Reported reportedHere(Outcome o) {
        return reportedHere(o, Double.POSITIVE_INFINITY);
    }

    /**
     * {@link #reported} of a plan that matters only where it comes below {@code threshold} (a faster plan found
     * elsewhere: {@link Planner}'s copies from fewer devices): nothing beyond the segment bound where that reaches the
     * threshold, else the schedule bound's enumerations stopped at it (their bound capped there, which only weakens a
     * lower bound); the plan is {@code o} or the fastest of the minimisers found. Computed here, on the caller's
     * thread.
     */
    Reported reportedBelow(Outcome o, double threshold) {
        return reportedHere(o, threshold);
    }

    private Reported reportedHere(Outcome o, double threshold) {
        if (o.stages() == 1 || o.built() == null || !timeLeft()) {
            return new Reported(o, o.lowerBound());
        }
        reportsComputed.incrementAndGet();
        // a plan of the configuration matters only below the fastest one found (o's own step where o is that one): the
        // bound may stop there, capped, which only weakens it where it is not o's reported bound at all
        double useful = usefulBelow(o); // read once: the plans reported do not depend on when the search finds others
        threshold = Math.min(threshold, useful); // at most o's own step
        // with an asynchronous schedule allowed there is no bound (-infinity), but the minimisers are still plans
        boolean none = !(o.lowerBound() > Double.NEGATIVE_INFINITY);
        double lb = o.lowerBound();
        try {
            CoarseGraph cg = coarse(o.micro());
            int devices = cluster.deviceCount() / o.stages();
            lb = Math.max(lb, segmentBound(o.built(), filter(cg, o.micro(), devices), cg, o.micro(),
                    o.stages(), o.microBatches(), o.recompute()));
            if (!useScheduleBound || !timeLeft() || (!none && lb >= threshold)) {
                return new Reported(o, none ? o.lowerBound() : lb);
            }
            List<Object[]> minimisers = new ArrayList<>();
            // a configuration whose plan is not the fastest found (looked at beside a one-stage plan kept) is searched for
            // plans first, without the duals: its bound is of use only where a plan of it beats that one
            boolean plansOnly = plansFirst && useful < o.stepSeconds() * (1 - 1e-12);
            // the local searches the plans sought first ran are run again by the whole bound where it follows (the same
            // starts on a bound of the same segments): their plans are taken from the first look instead
            Replays replays = plansOnly && replayLocalSearches ? new Replays() : null;
            double sb = scheduleBound(o, threshold, minimisers, plansOnly, useful, replays);
            Outcome best = bestOf(o, minimisers, devices);
            if (Double.isNaN(sb) && best.stepSeconds() < useful * (1 - 1e-12)) {
                // a plan that is of use: the bound it reports is its configuration's, duals and all
                plansFirstFound.incrementAndGet();
                List<Object[]> more = new ArrayList<>();
                if (replays != null) {
                    replays.replaying = true;
                }
                sb = scheduleBound(o, threshold, more, false, useful, replays);
                Outcome b2 = bestOf(o, more, devices);
                best = b2.stepSeconds() < best.stepSeconds() * (1 - 1e-12) ? b2 : best;
            }
            lb = Math.max(lb, Double.isNaN(sb) ? 0 : sb);
            return new Reported(best, none ? o.lowerBound() : lb);
        } catch (Deadline.Expired | IllegalArgumentException | ShardplanException e) {
            return new Reported(o, none ? o.lowerBound() : lb);
        }
    }

    /** The fastest that fits of {@code o} and its configuration's {@code minimisers}, each priced with both layouts. */
    private Outcome bestOf(Outcome o, List<Object[]> minimisers, int devices) throws ShardplanException {
        Outcome best = o;
        for (Object[] mz : minimisers) {
            for (int[] choice : List.of(o.choice(), (int[]) mz[3])) {
                Outcome c = priced(o, mz, choice, devices);
                if (c != null && c.stepSeconds() < best.stepSeconds() * (1 - 1e-12)) {
                    best = c;
                }
            }
        }
        return best;
    }

    /**
     * Whether {@link #reportedHere} seeks the plans of a configuration that is not the fastest found without the duals
     * first ({@code -Dshardplan.plansFirst=false}: with them; tests compare).
     */
    static boolean plansFirst = !"false".equals(System.getProperty("shardplan.plansFirst"));

    /** How many times {@link #reportedHere}'s search for plans first found one of use, and the duals ran after it, for tests. */
    final java.util.concurrent.atomic.AtomicInteger plansFirstFound = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The plan of {@code o}'s configuration with a bound's minimiser {@code mz} ({schedule, virtual stages, stage bounds,
     * layouts}: {@link #scheduleBound}'s) for its schedule and partition and {@code choice} for its layouts, priced as the
     * search prices a plan; null where it does not fit the memory limit.
     */
    private Outcome priced(Outcome o, Object[] mz, int[] choice, int devices) throws ShardplanException {
        Schedule sch = (Schedule) mz[0];
        int v = (Integer) mz[1];
        int[] bs = (int[]) mz[2];
        List<StageProfile> ps = profiles(o.built(), o.builder(), choice, bs, devices, o.recompute());
        Estimate e = sch.estimate(ps, o.microBatches(), v);
        double step = e.stepSeconds() + updateAfter(sch, ps, o.stages());
        boolean fits = fitsLimit(e);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  bound's minimiser %s v %d priced with the %s layouts: %.6f s%s%n",
                    sch.name(), v, choice == o.choice() ? "plan's" : "its own", step, fits ? "" : " (does not fit)");
        }
        return !fits ? null : new Outcome(o.stages(), o.microBatches(), o.recompute(), o.zero(), sch, v, o.micro(), o.built(),
                o.builder(), choice, bs, ps, e, step, true, o.proven(), o.lowerBound(), o.tied() && choice == o.choice(),
                o.memoryBound(), o.solver());
    }

    /**
     * Whether {@link #scheduleBound} solves its segment problems on the processors ({@link PipelineBound#prefetch}): for
     * a search whose bounds run with the other cores idle ({@link Planner}'s copies on fewer devices a stage).
     */
    boolean parallelBounds;

    /** -Dshardplan.scheduleBound=false: a pipeline plan reports the bounds above without {@link #scheduleBound}. */
    boolean useScheduleBound = !"false".equals(System.getProperty("shardplan.scheduleBound"));

    /**
     * The most partitions {@link #scheduleBound} prices over all its schedules together (64 partial partitions
     * cut off counting as one): about 3 s on 2 cores, deterministic. Past it a schedule's enumeration, and every
     * schedule after it, is bounded by {@link PipelineBound#dual} instead (before, the schedules after it had no
     * bound and the configuration kept only the bounds from the nodes' least: DenseNet-121 at 16 A100s, batch 8,
     * GPipe over 4 stages spent the budget and the plan's bound fell to 3.88 ms against its 6.36 ms).
     */
    static final long SCHEDULE_BOUND_PARTITIONS = 200_000;

    /**
     * The bound of {@link PipelineBound} over the configuration of {@code o}: the least over the schedules the
     * options allow (each variant and virtual-stage count the search could price) of the least step over every
     * partition at the cuts, each chunk at its least profile (segments solved exactly, sends exact, the gradient
     * reduction and the optimizer step at their least), capped at {@code threshold}; 0 where an asynchronous
     * schedule is allowed or the time runs out (past {@link #SCHEDULE_BOUND_PARTITIONS} the dual bounds the rest). O(distinct segments) small exact solves + the partitions priced, O(P m v) each, at most
     * {@link #SCHEDULE_BOUND_PARTITIONS} over all the schedules.
     */
    double scheduleBound(Outcome o, double threshold) throws ShardplanException {
        return scheduleBound(o, threshold, new ArrayList<>());
    }

    /** {@link #scheduleBound(Outcome, double, List, boolean, double)} with every shape bounded, plans of use below o's. */
    double scheduleBound(Outcome o, double threshold, List<Object[]> minimisers) throws ShardplanException {
        return scheduleBound(o, threshold, minimisers, false, o.stepSeconds());
    }

    /**
     * {@link #scheduleBound(Outcome, double)}, adding to {@code minimisers} each schedule's minimising partition
     * found below the threshold: {schedule, virtual stages, node bounds of its {@code P v} chunks}. With {@code
     * plansOnly}, the shapes with too many partitions to enumerate (bounded by a dual) are left out, and with them the
     * local searches' starts from their duals: the plans are sought, and where a shape was left out the value returned is
     * NaN (no bound). The local searches solve only partitions whose plans could come below {@code useful} ({@link
     * #descendFrom}).
     */
    double scheduleBound(Outcome o, double threshold, List<Object[]> minimisers, boolean plansOnly, double useful)
            throws ShardplanException {
        return scheduleBound(o, threshold, minimisers, plansOnly, useful, null);
    }

    /**
     * Whether {@link #reportedHere}'s whole bound, where it follows the plans sought first, takes the plans of the local
     * searches both run from the first look ({@link Replays}) instead of running them again ({@code
     * -Dshardplan.replayLocalSearches=false}: runs them again; tests compare).
     */
    static boolean replayLocalSearches = !"false".equals(System.getProperty("shardplan.replayLocalSearches"));

    /**
     * The plans (a bound's minimisers, {@link #scheduleBound}'s) that each local search of {@link #reportedHere}'s first
     * look, the plans sought first, added, and its value, by the search's name: the whole bound that follows starts the
     * same searches from the same partitions on the least profiles of the same segments, and with {@code replaying} set
     * takes what they found here. A local search that starts from the duals' partitions (which the first look does not
     * compute) is not among them.
     */
    static final class Replays {
        private final Map<String, List<Object[]>> added = new HashMap<>();
        private final Map<String, Double> values = new HashMap<>();
        boolean replaying;
    }

    /** The local searches {@link #reportedHere}'s whole bound took from its first look ({@link Replays}; tests). */
    final java.util.concurrent.atomic.AtomicInteger localSearchesReplayed = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * {@code run}, a local search named {@code name} that adds plans to {@code minimisers}, recorded in {@code rp} on the
     * first look and replayed from it on the second (where it ran on the first); its value.
     */
    private double replayed(Replays rp, String name, List<Object[]> minimisers, java.util.function.DoubleSupplier run) {
        if (rp != null && rp.replaying && rp.added.containsKey(name)) {
            minimisers.addAll(rp.added.get(name));
            localSearchesReplayed.incrementAndGet();
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the %s local search taken from the plans sought first%n", name);
            }
            return rp.values.get(name);
        }
        int before = minimisers.size();
        double v = run.getAsDouble();
        if (rp != null && !rp.replaying) {
            rp.added.put(name, new ArrayList<>(minimisers.subList(before, minimisers.size())));
            rp.values.put(name, v);
        }
        return v;
    }

    private double scheduleBound(Outcome o, double threshold, List<Object[]> minimisers, boolean plansOnly, double useful,
            Replays rp) throws ShardplanException {
        int stages = o.stages();
        int m = o.microBatches();
        CoarseGraph cg = coarse(o.micro());
        int devices = cluster.deviceCount() / stages;
        ProblemBuilder.Built b = o.built();
        ProblemBuilder pb = o.builder();
        List<Integer> cut = cuts(cg, o.micro());
        List<Integer> pos = cutPositions(b.units().size(), cut);
        StageProblem.Filter filter = filter(cg, o.micro(), devices);
        double[] sends = sendsAt(b, pos, devices);
        int segments = pos.size() - 1;
        // the schedules and virtual-stage counts the search could price, fewest chunks first (the cheapest to
        // enumerate, whose least then cuts off more of the others)
        List<Object[]> shapes = new ArrayList<>();
        // no bound holds for the asynchronous schedule; the synchronous ones' minimisers are still plans
        boolean async = boundShapes(o, cut, shapes);
        // where the partitions are too many to enumerate (the dual), most chunks first: theirs is the weakest dual, and
        // the others stop once they reach it (the least over the shapes is the same in any order: a dual's rounds do
        // not depend on its threshold, which only stops them)
        // among enumerated shapes of as many chunks, zero bubble first: its step is the least of a partition's (the
        // others' fill and drain hold whole backwards), so its least caps the others' enumerations lowest and they cut
        // off more (DenseNet-121 at 16 A100s, 4 stages: GPipe first spent the whole budget reaching the plan's step)
        shapes.sort(java.util.Comparator.comparingDouble(x -> {
            int v = (Integer) x[1];
            boolean zb = ((Schedule) x[0]).name().equals("zero-bubble");
            return PipelineBound.tooManyToEnumerate(segments, stages * v) ? 1e6 - v : v - (zb ? 0.5 : 0);
        }));
        PipelineBound basic = null;
        // the basic bound only enumerates: nothing to ask of it where a shape has too many partitions for that
        if (basicFirst && threshold < o.stepSeconds() * (1 - 1e-12) && !async
                && shapes.stream().noneMatch(x -> PipelineBound.tooManyToEnumerate(segments, stages * (Integer) x[1]))) {
            // a plan of the configuration is sought only below the threshold: the basic bound first, whose three solves a
            // segment the full one reuses, and where it reaches the threshold under every schedule nothing more is done
            long t0 = System.nanoTime();
            basic = new PipelineBound(b, filter, pos, sends, o.recompute(), pb.settings().compute(),
                    pb.settings().memory().optimizer(), this::secondsLeft, parallelBounds, true, null);
            double least = basicBound(basic, shapes, o, threshold);
            tick("schedule bound", t0);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  basic schedule bound: %.6f s against %.6f s (%d solves, %d partitions"
                        + " priced, %d visited, %.2f s)%n", least, threshold, basic.solves(), basic.enumerationPriced(),
                        basic.enumerationVisited(), (System.nanoTime() - t0) / 1e9);
            }
            if (least >= threshold * (1 - 1e-12)) {
                basicReached.incrementAndGet();
                return least;
            }
            if (basic.exhausted()) {
                basic = null;
            }
        }
        PipelineBound pbound = new PipelineBound(b, filter, pos, sends, o.recompute(), pb.settings().compute(),
                pb.settings().memory().optimizer(), this::secondsLeft, parallelBounds, false, basic);
        if (threads() > 1) {
            pbound.otherCores = () -> parallelBounds || awaitingReport; // as the dual's columns take them
        }
        if (pbound.exhausted()) {
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  schedule bound: more than %d distinct segment solves, none%n",
                        PipelineBound.MAX_SOLVES);
            }
            return 0;
        }
        double lb = Double.POSITIVE_INFINITY;
        if (TRACE) {
            StageProfile all = pbound.profile(0, pbound.segments());
            System.err.printf(java.util.Locale.ROOT, "  schedule bound: %d segments (%d solves), f %.6f b %.6f b_w %.6f g %.6f u %.6f%n",
                    pbound.segments(), pbound.solves(), all.forwardSeconds(), all.backwardSeconds(), all.backwardWeightSeconds(),
                    all.gradientSyncSeconds(), all.updateSeconds());

        }
        // the plan's own partition and the one a local search moves it to, solved exactly: plans to price, and the
        // fastest of them that fits caps the bound (a lower cap only weakens a lower bound, and the plan reported is at
        // most that fast), so that the duals below stop sooner. The local search only where these solves are cheap
        // (within the tightening's budget of cells: a dense CNN's small layers, not a decoder's wide ones); first where
        // the plan's shape has too many partitions to enumerate, else only where the enumerations leave the plan's
        // schedule without a partition solved exactly (below: where they do, they found the least-profile partitions
        // of that schedule and solved them exactly, best first, which the local search would only repeat)
        boolean cheap = pbound.cells() * PipelineBound.PARTITION_ROUNDS <= PipelineBound.PARTITION_CELLS;
        boolean ownFirst = cheap && pbound.tooManyToEnumerate(stages * o.virtual());
        if (ownFirst) {
            replayed(rp, "plan's own (first)", minimisers, () -> {
                planOwnPartition(o, pos, pbound, minimisers, true, useful);
                return 0;
            });
        }
        for (Object[] mz : minimisers) {
            for (int[] choice : List.of(o.choice(), (int[]) mz[3])) {
                Outcome c = priced(o, mz, choice, devices);
                if (c != null) {
                    threshold = Math.min(threshold, c.stepSeconds());
                }
            }
        }
        long budget = SCHEDULE_BOUND_PARTITIONS; // shared by the schedules: what one spends the next cannot
        boolean ownSolved = ownFirst; // a minimiser of the plan's schedule with its layouts solved exactly
        boolean skipped = false; // a shape left out (plansOnly): the least over the others is no bound
        for (Object[] shape : shapes) {
            // past the budget the schedules left are bounded by the dual, which enumerates nothing
            Schedule sch = (Schedule) shape[0];
            if (plansOnly && (budget <= 0 || pbound.tooManyToEnumerate(stages * (Integer) shape[1]))) {
                skipped = true;
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "  schedule bound %s v %d: left out, plans sought first%n",
                            sch.name(), (Integer) shape[1]);
                }
                continue;
            }
            {
                {
                    int v = (Integer) shape[1];
                    long t0 = System.nanoTime();
                    PipelineBound.Least least = pbound.least(sch, stages, m, v, Math.min(threshold, lb),
                            Math.max(0, budget), this::secondsLeft);
                    budget -= least.priced() + least.visited() / 64;
                    tick("schedule bound", t0);
                    double s = least.step();
                    if (TRACE) {
                        System.err.printf(java.util.Locale.ROOT, "  schedule bound %s v %d: %.6f s (%d partitions priced, %d visited, %.2f s)%s%n",
                                sch.name(), v, s, least.priced(), least.visited(), (System.nanoTime() - t0) / 1e9, least.ends() == null ? "" : " at " + java.util.Arrays.toString(least.ends()));
                    }
                    if (Double.isNaN(s)) {
                        return 0; // one schedule without a bound leaves the configuration without one
                    }
                    if (least.ends() != null) {
                        minimisers.add(new Object[] {sch, v, stageBounds(pos, least.ends()), least.layouts() != null ? least.layouts() : pbound.workLayouts()});
                        ownSolved |= least.layouts() != null && sch.name().equals(o.schedule().name()) && v == o.virtual();
                    }
                    lb = Math.min(lb, s);
                }
            }
        }
        // where the bound reaches the cap, no plan of the configuration is faster than the cap: the plans below would
        // only be priced (a copied configuration on fewer devices a stage, whose cap is the fastest plan so far:
        // EfficientNet-B4 at 64 A100s, batch 64, 0.23 s of its own partition's exact solve)
        boolean reached = !skipped && lb < Double.POSITIVE_INFINITY && !async && lb >= threshold * (1 - 1e-12);
        if (!ownSolved && !reached) {
            // no minimiser of the plan's schedule solved exactly
            replayed(rp, "plan's own (after the bounds)", minimisers, () -> {
                planOwnPartition(o, pos, pbound, minimisers, cheap, useful);
                return 0;
            });
        }
        if (cheap && (ownFirst || !ownSolved) && !reached) {
            // a second start of the local searches, after the bounds (which it leaves their time): plans only
            planFromEvenShares(o, pos, pbound, minimisers, useful, rp);
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  the local searches' moves: %d priced, %d below their floor skipped;"
                    + " the partition programs' starts: %d left out%n", pbound.descentMoves.sum(), pbound.floored.sum(),
                    pbound.skippedStarts);
        }
        if (skipped) {
            return Double.NaN;
        }
        return lb == Double.POSITIVE_INFINITY || async ? 0 : lb;
    }

    /**
     * The shapes {@link #scheduleBound} bounds for {@code o}'s configuration added to {@code shapes}: each synchronous
     * schedule the options allow with each virtual-stage count it can run with P stages and m micro-batches, {schedule,
     * v}, where the cuts leave enough segments for its chunks; true where an asynchronous schedule is allowed too (no
     * bound holds for it).
     */
    private boolean boundShapes(Outcome o, List<Integer> cut, List<Object[]> shapes) {
        int stages = o.stages();
        int m = o.microBatches();
        boolean async = false;
        for (Schedule named : pipelineSchedules()) {
            for (Schedule sch : named.variants(stages, m, opts.scheduleParameters())) {
                if (!sch.exact()) {
                    async = true;
                    continue;
                }
                for (int v : sch.virtualStageCandidates(opts.virtualStages())) {
                    if (sch.check(stages, m, v).isEmpty() && (v == 1 || cut.size() >= stages * v - 1)) {
                        shapes.add(new Object[] {sch, v});
                    }
                }
            }
        }
        return async;
    }

    /**
     * Whether {@link #scheduleBound} asks the basic bound first where it seeks plans below a threshold under the plan's
     * own step ({@code -Dshardplan.basicFirst=false}: never; tests compare).
     */
    static boolean basicFirst = !"false".equals(System.getProperty("shardplan.basicFirst"));

    /**
     * The most partitions the basic bound's enumerations price over all the schedules together ({@link #basicBound}; 64
     * partial ones cut off counting as one), a twentieth of {@link #SCHEDULE_BOUND_PARTITIONS}: where its weaker terms
     * cut off too few, the full bound follows soon (DenseNet-121 at 64 A100s, batch 8, four stages on 4 devices a stage:
     * 1.9 s spent on the basic bound's enumeration with the full budget, no bound).
     */
    static final long BASIC_PARTITIONS = SCHEDULE_BOUND_PARTITIONS / 20;

    /** How many times the basic bound reached {@link #scheduleBound}'s threshold (tests, the trace). */
    final java.util.concurrent.atomic.AtomicInteger basicReached = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The least over {@code shapes} (every one enumerable: {@link #scheduleBound}'s, in its order) of {@code basic}'s
     * enumeration, each stopped at {@code threshold} (so at most it); NaN where an enumeration runs past its budget or the segments needed too many solves:
     * then no bound from it. Stops at the first shape below the threshold.
     */
    private double basicBound(PipelineBound basic, List<Object[]> shapes, Outcome o, double threshold) {
        if (basic.exhausted()) {
            return Double.NaN;
        }
        double lb = Double.POSITIVE_INFINITY;
        long budget = BASIC_PARTITIONS;
        for (Object[] shape : shapes) {
            PipelineBound.Least least = basic.least((Schedule) shape[0], o.stages(), o.microBatches(), (Integer) shape[1],
                    threshold, budget, this::secondsLeft);
            budget -= least.priced() + least.visited() / 64;
            double s = least.step();
            if (!(s >= threshold * (1 - 1e-12))) {
                return Double.isNaN(s) ? Double.NaN : s; // below the threshold (or no bound): not reached
            }
            lb = Math.min(lb, s);
        }
        return lb == Double.POSITIVE_INFINITY ? Double.NaN : lb;
    }

    /**
     * The plan's own partition with its chunks' layouts solved exactly ({@link PipelineBound#partitionBound}) under its
     * schedule, added to {@code minimisers} as a plan to price: where the partitions are too many to enumerate the
     * bound has no minimiser of its own. With {@code descend}, also the partitions local searches over the cuts reach
     * from it ({@link PipelineBound#descend}: first on the least profiles, then on the step of the layouts each exact
     * solve finds), each solved exactly, up to {@link #DESCENT_ROUNDS} solves. Nothing where the plan's stage bounds are
     * not at the cut positions.
     */
    private void planOwnPartition(Outcome o, List<Integer> pos, PipelineBound pbound, List<Object[]> minimisers,
            boolean descend, double useful) {
        if (!o.schedule().exact() || secondsLeft() <= 0.05) {
            return;
        }
        int[] ends = new int[o.bounds().length - 1];
        for (int j = 0; j < ends.length; j++) {
            ends[j] = pos.indexOf(o.bounds()[j + 1]);
            if (ends[j] < 0) {
                return;
            }
        }
        long t0 = System.nanoTime();
        PipelineBound.Paths paths = new PipelineBound.Paths(o.schedule(), o.stages(), o.microBatches(), o.virtual());
        // every plan of the partition is at least its least-profile step: where that is at useful or more (a plan looked
        // at beside a faster one), no plan of it would be kept, and it is not solved (the local searches from it still run)
        double leastOwn = pruneDescents ? pbound.descend(paths, ends.clone(), 0, this::secondsLeft) : Double.NEGATIVE_INFINITY;
        int[] solved = null;
        if (noPlanOfUse(leastOwn, useful)) {
            ownPartitionsUnsolved.incrementAndGet();
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the plan's partition not solved: least profiles %.6f s, no plan of"
                        + " it below %.6f s%n", leastOwn, useful);
            }
        } else {
            PipelineBound.PartitionBound pb = pbound.partitionBound(paths, o.stages(), ends, o.stepSeconds(),
                    PipelineBound.PARTITION_ROUNDS, this::secondsLeft);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the plan's partition solved exactly: at least %.6f s (%d rows, %d columns, %.2f s)%n",
                        pb.bound(), pb.rows(), pb.columns(), (System.nanoTime() - t0) / 1e9);
            }
            minimisers.add(new Object[] {o.schedule(), o.virtual(), o.bounds(), pb.layouts()});
            solved = ends;
        }
        tick("schedule bound", t0);
        if (!descend) {
            return;
        }
        // the search balanced the plan's stages; a partition its own schedule prefers may have faster plans: the cuts
        // moved by a local search on the least profiles, that partition solved exactly and priced as a plan; then, in
        // turn, the cuts moved by a local search on the step of the layouts found (a plan's own price) and the partition
        // reached solved exactly again, while that moves them
        descendFrom(o, pos, pbound, paths, "plan's", ends, solved, minimisers, Double.POSITIVE_INFINITY, useful);
    }

    /**
     * {@link #planOwnPartition}'s local searches from a second start, the model's least work cut into equal shares
     * ({@link PipelineBound#evenShares}), under the plan's schedule: they end where no single cut move helps, and the
     * search's balance of per-node times is one start of many (DenseNet-121 at 16 A100s, batch 128, interleaved over 16
     * chunks: from the plan's partition 22.649 ms, from equal shares 22.393 ms); then from the partition of the pivot
     * rows' least ({@link PipelineBound#pivotStart}) and from the dual's columns ({@link PipelineBound#dualStart}), where
     * they ran for the plan's shape. Plans to price only.
     */
    private void planFromEvenShares(Outcome o, List<Integer> pos, PipelineBound pbound, List<Object[]> minimisers,
            double useful, Replays rp) {
        if (!o.schedule().exact() || secondsLeft() <= 0.05) {
            return;
        }
        int[] even = pbound.evenShares(o.bounds().length - 1);
        PipelineBound.Paths paths = new PipelineBound.Paths(o.schedule(), o.stages(), o.microBatches(), o.virtual());
        double cap = o.stepSeconds();
        if (!java.util.Arrays.equals(stageBounds(pos, even), o.bounds())) {
            double got = replayed(rp, "even shares'", minimisers, () -> descendFrom(o, pos, pbound, paths, "even shares'",
                    even, null, minimisers, Double.POSITIVE_INFINITY, useful));
            cap = Math.min(cap, Double.isNaN(got) ? cap : got);
        }
        // from the partition of the pivot rows' least (PipelineBound.pivot), where it ran for the plan's shape: it
        // balances the round trips a deep pipeline's step is made of (DenseNet-201 at 64 A100s: 13.891 -> 13.679 ms)
        int[] piv = secondsLeft() > 0.05 ? pbound.pivotStart(o.schedule(), o.stages(), o.microBatches(), o.virtual()) : null;
        if (piv != null && !java.util.Arrays.equals(stageBounds(pos, piv), o.bounds())) {
            double got = descendFrom(o, pos, pbound, paths, "pivot rows'", piv, null, minimisers, Double.POSITIVE_INFINITY, useful);
            cap = Math.min(cap, Double.isNaN(got) ? cap : got);
        }
        // and from the best of the partitions the dual over them took as columns, where it ran for the plan's shape; its
        // solves go on only while the plan its last one moved to is faster than the plans before (on DenseNet-121 at 8
        // and 16 A100s, batch 8, the first was slower and the two after it stayed slower)
        int[] col = secondsLeft() > 0.05
                ? pbound.dualStart(paths, o.schedule(), o.stages(), o.microBatches(), o.virtual(), this::secondsLeft,
                        parallelBounds || awaitingReport) : null;
        if (col != null && !java.util.Arrays.equals(stageBounds(pos, col), o.bounds())) {
            descendFrom(o, pos, pbound, paths, "dual's columns'", col, null, minimisers, cap, useful);
        }
    }

    /**
     * {@link #planOwnPartition}'s local searches from the partition {@code start} (chunk ends at segments; {@code from}
     * names it in the trace): on the least profiles, then on the step of the layouts of each exact solve, each partition
     * reached solved exactly and added to {@code minimisers}, up to {@link #DESCENT_ROUNDS} solves; {@code solved} the
     * partition already solved (or null). Stops after a solve whose layouts, moved on, price at {@code cap} or more, and
     * before the first solve where the least-profile step the search ends at is at {@code useful} or more (no plan of that
     * partition is below it: {@link #usefulBelow}). Returns the step the last solve's layouts moved on to (NaN where none
     * ran).
     */
    private double descendFrom(Outcome o, List<Integer> pos, PipelineBound pbound, PipelineBound.Paths paths, String from,
            int[] start, int[] solved, List<Object[]> minimisers, double cap, double useful) {
        long t0 = System.nanoTime();
        int[] moved = start.clone();
        double leaf = pbound.descend(paths, moved, DESCENT_PASSES, this::secondsLeft);
        if (noPlanOfUse(leaf, useful)) {
            // every plan of the partition reached is at least its least-profile step: none would be kept
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the %s partition moved by a local search (least profiles %.6f s):"
                        + " not solved, no plan of it below %.6f s%n", from, leaf, useful);
            }
            skippedDescents.incrementAndGet();
            tick("schedule bound", t0);
            return Double.NaN;
        }
        double last = Double.NaN;
        for (int round = 0; round < DESCENT_ROUNDS && !java.util.Arrays.equals(moved, solved) && secondsLeft() > 0.05; round++) {
            PipelineBound.PartitionBound mb = pbound.partitionBound(paths, o.stages(), moved, o.stepSeconds(),
                    PipelineBound.PARTITION_ROUNDS, this::secondsLeft);
            minimisers.add(new Object[] {o.schedule(), o.virtual(), stageBounds(pos, moved), mb.layouts()});
            solved = moved.clone();
            PipelineBound.Fixed priced = pbound.fixed(paths, moved.length, mb.layouts());
            double step = priced == null ? Double.NaN : pbound.descend(priced, moved, DESCENT_PASSES, this::secondsLeft);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  the %s partition moved by a local search (%s): solved exactly"
                        + " at least %.6f s, its best column %.6f s; moved on with its layouts: %.6f s%n",
                        from,
                        round == 0 ? String.format(java.util.Locale.ROOT, "least profiles %.6f s", leaf) : "a plan's layouts",
                        mb.bound(), mb.step(), step);
            }
            if (!java.util.Arrays.equals(moved, solved)) {
                minimisers.add(new Object[] {o.schedule(), o.virtual(), stageBounds(pos, moved), mb.layouts()});
            }
            last = step;
            if (!(step < cap)) {
                break;
            }
        }
        tick("schedule bound", t0);
        return last;
    }

    /**
     * The step a plan of {@code o}'s configuration must come below to be of use: {@code o}'s own, or the fastest plan
     * that fits the search has found ({@link #incumbent}, which only gets faster) where that is faster. A bound's
     * minimiser priced at it or more is never reported: {@link #reportedHere} keeps the fastest of {@code o} and its
     * minimisers, and {@link Planner}'s look beside a one-stage plan keeps one only below that plan's step. O(1).
     */
    double usefulBelow(Outcome o) {
        Outcome inc = incumbent;
        double s = o.stepSeconds();
        return inc != null && inc.fits() && inc.stepSeconds() < s ? inc.stepSeconds() : s;
    }

    /**
     * Whether {@link #descendFrom} leaves a partition unsolved where its least-profile step is at or above {@link
     * #usefulBelow} ({@code -Dshardplan.pruneDescents=false}: solves it; tests compare).
     */
    static boolean pruneDescents = !"false".equals(System.getProperty("shardplan.pruneDescents"));

    /**
     * Whether a partition whose least-profile step is {@code least} has no plan below {@code useful} ({@link #usefulBelow}):
     * every plan of it is at least that step. Always false with {@link #pruneDescents} off. O(1).
     */
    private static boolean noPlanOfUse(double least, double useful) {
        return pruneDescents && least >= useful * (1 - 1e-12);
    }

    /** How many plans' own partitions {@link #planOwnPartition} left unsolved, no plan of them being of use (for tests). */
    final java.util.concurrent.atomic.AtomicInteger ownPartitionsUnsolved = new java.util.concurrent.atomic.AtomicInteger();

    /** How many of {@link #descendFrom}'s local searches ended at a partition no plan of which is of use, for tests. */
    final java.util.concurrent.atomic.AtomicInteger skippedDescents = new java.util.concurrent.atomic.AtomicInteger();

    /** The stage bounds (node positions) of chunks ending at segments {@code ends}. */
    static int[] stageBounds(List<Integer> pos, int[] ends) {
        int[] bs = new int[ends.length + 1];
        for (int j = 0; j < ends.length; j++) {
            bs[j + 1] = pos.get(ends[j]);
        }
        return bs;
    }

    /** The most rounds of {@link #planOwnPartition}'s exact solves of partitions its local searches reach. */
    static final int DESCENT_ROUNDS = 4;

    /** The most passes over the cuts of {@link #planOwnPartition}'s local search ({@link PipelineBound#descend}). */
    static final int DESCENT_PASSES = 20;

    /**
     * Per cut position, the seconds a stage ending there sends per micro-batch as {@link #profiles} prices it: the
     * values produced before the position and read at or after it, each once, over the stage's devices, on the link
     * between stages; 0 at both ends. The bytes depend on the position only, not on the layouts. O(links + positions).
     */
    private double[] sendsAt(ProblemBuilder.Built b, List<Integer> pos, int devices) {
        Map<String, int[]> span = new LinkedHashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            int[] sp = span.computeIfAbsent(l.value(), k -> new int[] {l.from(), l.to()});
            sp[1] = Math.max(sp[1], l.to());
        }
        double[] bytes = new double[pos.size()];
        for (Map.Entry<String, int[]> e : span.entrySet()) {
            double vb = valueBytes(b.coarse(), e.getValue()[0], e.getKey()) / devices;
            for (int k = 1; k + 1 < pos.size(); k++) {
                if (e.getValue()[0] < pos.get(k) && e.getValue()[1] >= pos.get(k)) {
                    bytes[k] += vb;
                }
            }
        }
        Link link = devices < cluster.devicesPerNode() ? cluster.nodes().get(0).intraNode() : cluster.interNode();
        double[] r = new double[pos.size()];
        for (int k = 0; k < r.length; k++) {
            r[k] = bytes[k] > 0 ? link.transferSeconds(bytes[k]) : 0;
        }
        return r;
    }

    /** The schedules a pipeline may run under the options: the one named, else every exact one (and the others with --allow async). */
    private List<Schedule> pipelineSchedules() {
        if (opts.schedule().isPresent()) {
            return List.of(Schedules.of(opts.schedule().get()));
        }
        List<Schedule> schedules = new ArrayList<>();
        for (Schedule sch : Schedules.all()) {
            if (sch.exact() || opts.allowAsync()) {
                schedules.add(sch);
            }
        }
        return schedules;
    }

    /**
     * The schedule families a pipeline of P stages and m micro-batches may run under the options, for
     * the bounds: GPipe and 1F1B ({@code FILL_DRAIN}), ZB-H1, interleaved (with some virtual-stage count
     * the cuts allow); null when an asynchronous schedule is allowed (no bound).
     */
    private Set<MemoryAwareBound.Kind> boundKinds(int stages, int m, List<Integer> cut) {
        List<Schedule> schedules = pipelineSchedules();
        Set<MemoryAwareBound.Kind> kinds = java.util.EnumSet.noneOf(MemoryAwareBound.Kind.class);
        for (Schedule named : schedules) {
            String name = named.name();
            if (name.equals("none")) {
                continue; // one stage only
            }
            if (!name.equals("gpipe") && !name.equals("1f1b") && !name.equals("zero-bubble") && !name.equals("interleaved")) {
                return null;
            }
            if (name.equals("interleaved")) {
                if (mostVirtual(named, stages, m, cut) > 0) {
                    kinds.add(MemoryAwareBound.Kind.INTERLEAVED);
                }
                continue;
            }
            if (named.check(stages, m, 1).isPresent()) {
                continue;
            }
            kinds.add(name.equals("zero-bubble") ? MemoryAwareBound.Kind.ZERO_BUBBLE : MemoryAwareBound.Kind.FILL_DRAIN);
        }
        return kinds;
    }

    /**
     * At each cut position {@code i} of {@code at}: {@code own[i]} (prefix sums with each segment's gain) less the sum of
     * the {@code most} largest gains at positions before {@code i} (the first segments of the stages before, whose links
     * from the stage before them are sends), and at least {@code plain[i]} (the prefix without gains). O(K log most).
     */
    private static double[] beforeWithGains(List<Integer> at, double[] own, double[] gain, int most, double[] plain) {
        double[] r = plain.clone();
        java.util.PriorityQueue<Double> top = new java.util.PriorityQueue<>();
        double topSum = 0;
        for (int x = 0; x < at.size(); x++) {
            int i = at.get(x);
            r[i] = Math.max(plain[i], own[i] - topSum);
            if (most > 0 && gain[i] > 0) {
                top.add(gain[i]);
                topSum += gain[i];
                if (top.size() > most) {
                    topSum -= top.poll();
                }
            }
        }
        return r;
    }

    /** The most virtual stages a device's chunks can number under the interleaved schedule here ({@link #boundKinds}'s). */
    private int mostVirtual(int stages, int m, List<Integer> cut) {
        int most = 1;
        for (Schedule named : pipelineSchedules()) {
            if (named.name().equals("interleaved")) {
                most = Math.max(most, mostVirtual(named, stages, m, cut));
            }
        }
        return most;
    }

    /**
     * The most virtual stages the interleaved schedule {@code named} can run with {@code stages} stages and {@code m}
     * micro-batches over the cuts {@code cut} (a candidate the options allow, the schedule accepts and the cuts can
     * chunk); 0 where none can.
     */
    private int mostVirtual(Schedule named, int stages, int m, List<Integer> cut) {
        int most = 0;
        for (int v : named.virtualStageCandidates(opts.virtualStages())) {
            if (named.check(stages, m, v).isEmpty() && cut.size() >= stages * v - 1) {
                most = Math.max(most, v);
            }
        }
        return most;
    }

    private final Map<Key, MemoryAwareBound> memoryBounds = new HashMap<>();
    private final Map<Key, MemoryAwareBound> tiedBounds = new HashMap<>();

    /**
     * A configuration put off because memory binds whose memory-aware bound is below the plan found is held
     * against it again with {@link #tiedBound} before it is priced ({@code -Dshardplan.tiedBound=false}: not).
     * Its block is solved as a forest ({@link MemoryAwareBound.TiedBlocks#forest}: microseconds a price) and its
     * stages' searches stop once they reach the plan found: on Megatron's 145.6B row it costs less than the
     * pricing it saves, on 1T about as much (benchmarks/results/megatron.md); the plans are the same either way.
     */
    boolean useTiedBound = !"false".equals(System.getProperty("shardplan.tiedBound"));

    /** Of those put off because memory binds, the ones only {@link #tiedBound} left unpriced. */
    int tiedBounded;

    /**
     * The memory-aware bound of {@link #memoryAwareBound} with each stage's instances of the repeated block
     * (the one the cuts are made at) tied to one set of layouts, as the stage solves of a pipeline tie them
     * ({@link MemoryAwareBound.TiedBlocks}: the block's own problem with half the resharding into the next
     * instance, its memory priced); the plain memory-aware bound where the blocks cannot be tied so. A bound
     * on every plan the search prices for a configuration of P &gt; 1 stages (its stages are solved tied), not
     * on every plan there is: only the pruning of configurations put off because memory binds uses it.
     * O(block nodes · layouts^2) to set up per (micro-batch size, devices, recomputation, ZeRO), then one
     * dynamic program of the block per grid point and count of micro-batches held that the bound visits.
     */
    double tiedBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m) throws ShardplanException {
        return tiedBound(cg, micro, pb, stages, m, Double.POSITIVE_INFINITY);
    }

    /**
     * {@link #tiedBound} for the comparison with the plan found, {@code target}: its stages' searches over the
     * prices of memory stop once a stage alone reaches the target ({@link MemoryAwareBound#step(int, int, Set,
     * double)}).
     */
    double tiedBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m, double target)
            throws ShardplanException {
        checkTime("bounding a configuration under its memory limit");
        long t = System.nanoTime();
        Key key = keyOf(micro, pb);
        MemoryAwareBound mb = tiedMemoryBound(tiedBounds, key, cg, pb, MemoryAwareBound.TiedBlocks.forest);
        Set<MemoryAwareBound.Kind> kinds = stages == 1 ? Set.of() : boundKinds(stages, m, cuts(cg, micro));
        double r = kinds == null ? 0 : mb.step(stages, m, kinds, target);
        tick("tied bound", t);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  tied bound %.4f s (%.2f s, %d block solves so far)%n", r,
                    (System.nanoTime() - t) / 1e9, mb.tiedSolves());
        }
        if (kinds != null && MemoryAwareBound.TiedBlocks.forest && r < target && r >= target * (1 - closedWithin)
                && !leftToInterleaved(mb, stages, m, kinds, target)) {
            // within closedWithin of the plan found: the closed block's bound, at least the forest's (a relaxation of
            // it), which lifts most such configurations past the plan for less than their pricing
            long tc = System.nanoTime();
            MemoryAwareBound cb = tiedMemoryBound(closedBounds, key, cg, pb, false);
            double closed = cb.step(stages, m, kinds, target);
            closedTied++;
            tick("tied bound (closed block)", tc);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  tied bound of the closed block %.4f s (%.2f s, %d block solves so"
                        + " far)%n", closed, (System.nanoTime() - tc) / 1e9, cb.tiedSolves());
            }
            r = Math.max(r, closed);
        }
        return r;
    }

    private final Map<Key, MemoryAwareBound> closedBounds = new HashMap<>();

    /**
     * Whether a configuration below {@code target} only through the interleaved schedule, by the forest's bound of the
     * other schedules ({@code mb}), is left to its pricing for that schedule alone ({@link #interleavedAlone}: the
     * balanced partition's stage solves and one schedule, where the closed block's bound costs a dynamic program of
     * the block per price: on GPT-145.6B 1.9 s against 0.2 s). Counted in {@link #closedLeft}. One pass of the forest
     * per price.
     */
    private boolean leftToInterleaved(MemoryAwareBound mb, int stages, int m, Set<MemoryAwareBound.Kind> kinds,
            double target) {
        if (!interleavedAlone || !closedLeaves || !kinds.contains(MemoryAwareBound.Kind.INTERLEAVED)) {
            return false;
        }
        double o = withoutInterleaved(mb, stages, m, kinds, target);
        if (!(o >= target)) {
            return false;
        }
        closedLeft++;
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  tied bound without the interleaved schedule %.4f s >= %.4f s found:"
                    + " no closed block, the interleaved schedule alone%n", o, target);
        }
        return true;
    }

    /**
     * {@code mb}'s bound over {@code kinds} but the interleaved schedule, its stages' searches stopped at {@code target}
     * ({@link MemoryAwareBound#step(int, int, Set, double)}); NaN where the interleaved schedule is the only one (its
     * pricing is then the whole pricing).
     */
    private static double withoutInterleaved(MemoryAwareBound mb, int stages, int m, Set<MemoryAwareBound.Kind> kinds,
            double target) {
        Set<MemoryAwareBound.Kind> others = java.util.EnumSet.copyOf(kinds);
        others.remove(MemoryAwareBound.Kind.INTERLEAVED);
        return others.isEmpty() ? Double.NaN : mb.step(stages, m, others, target);
    }

    /** {@link #tiedBound}'s forest bound without the interleaved schedule (for tests); NaN where it is the only one. */
    double tiedBoundWithoutInterleaved(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m)
            throws ShardplanException {
        MemoryAwareBound mb = tiedMemoryBound(tiedBounds, keyOf(micro, pb), cg, pb, MemoryAwareBound.TiedBlocks.forest);
        Set<MemoryAwareBound.Kind> kinds = boundKinds(stages, m, cuts(cg, micro));
        return kinds == null ? Double.NaN : withoutInterleaved(mb, stages, m, kinds, Double.POSITIVE_INFINITY);
    }

    /**
     * Whether {@link #tiedBound} leaves a configuration bounded without the interleaved schedule to that schedule's
     * pricing instead of the closed block ({@code -Dshardplan.closedLeaves=false}: never).
     */
    boolean closedLeaves = !"false".equals(System.getProperty("shardplan.closedLeaves"));

    /** Configurations {@link #leftToInterleaved} kept from the closed block (for tests and the trace). */
    int closedLeft;

    /**
     * The tied memory-aware bound of configuration {@code key} kept in {@code cache}, set up on first use: the repeated
     * block relaxed to a forest where {@code asForest}, else closed ({@link MemoryAwareBound.TiedBlocks#of}).
     */
    private MemoryAwareBound tiedMemoryBound(Map<Key, MemoryAwareBound> cache, Key key, CoarseGraph cg, ProblemBuilder pb,
            boolean asForest) throws ShardplanException {
        MemoryAwareBound mb = cache.get(key);
        if (mb == null) {
            long micro = key.micro();
            ProblemBuilder.Built b = built(micro, key.devices(), key.recompute(), key.zero());
            MemoryAwareBound.TiedBlocks tb = MemoryAwareBound.TiedBlocks.of(b, mainBlock(cg),
                    cutPositions(b.units().size(), cuts(cg, micro)), filter(cg, micro, key.devices()), asForest);
            mb = new MemoryAwareBound(pb.nodeCosts(cg, requiredFor(cg, micro, pb)), key.recompute(), cuts(cg, micro), limit,
                    tb, this::secondsLeft);
            cache.put(key, mb);
        }
        return mb;
    }

    /**
     * A configuration whose tied bound from the block's forest lies below the plan found by at most this share of it
     * is bounded again with the block closed ({@link MemoryAwareBound.TiedBlocks#of}: every edge kept, one dynamic
     * program of the block per price, tens of milliseconds where the forest's pass takes one); {@code
     * -Dshardplan.tiedClosedWithin=0} never. The closed block costs about ten times the forest over a whole search,
     * so only the configurations it is likely to lift past the plan get it: on Megatron's 1T row all six within 2%,
     * on 145.6B both (megatron.md).
     */
    double closedWithin = share("shardplan.tiedClosedWithin", 0.02);

    /**
     * A share in [0, 1] from a system property, or {@code fallback} where it is unset; a value that is not such a
     * number is named in a warning on stderr and the fallback used (a developer's property: the plan is unaffected
     * but for its search time).
     */
    static double share(String property, double fallback) {
        String v = System.getProperty(property);
        if (v == null) {
            return fallback;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (d >= 0 && d <= 1) {
                return d;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        System.err.printf(java.util.Locale.ROOT, "warning: -D%s=%s is not a number from 0 to 1; %s used%n", property, v,
                fallback);
        return fallback;
    }

    /** The configurations {@link #tiedBound} bounded with the closed block too (for the trace and tests). */
    int closedTied;

    /**
     * -Dshardplan.memoryBound=false: configurations put off because memory binds are held against the
     * plan found with the memory-blind bound alone (to check that the memory-aware one changes no plan).
     */
    boolean useMemoryBound = !"false".equals(System.getProperty("shardplan.memoryBound"));

    /**
     * The memory-aware bound of {@link MemoryAwareBound} on the configuration (0 where an asynchronous
     * schedule is allowed): a configuration put off because memory binds keeps the larger of it and
     * {@link #stepLowerBound}, and is priced at the end only while that can beat the plan found.
     * O(nodes · layouts · grid) the first time per (micro-batch size, devices, recomputation, ZeRO),
     * then O(P K^2 log G) for K cut positions.
     */
    double memoryAwareBound(CoarseGraph cg, long micro, ProblemBuilder pb, int stages, int m) {
        checkTime("bounding a configuration under its memory limit");
        long t = System.nanoTime();
        MemoryAwareBound mb = untiedMemoryBound(cg, micro, pb);
        Set<MemoryAwareBound.Kind> kinds = stages == 1 ? Set.of() : boundKinds(stages, m, cuts(cg, micro));
        double r = kinds == null ? 0 : mb.step(stages, m, kinds);
        tick("memory bound", t);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  memory-aware bound %.4f s%n", r);
        }
        return r;
    }

    /** The key of the problems, builds and bounds of micro-batch size {@code micro} under {@code pb}'s settings. */
    private static Key keyOf(long micro, ProblemBuilder pb) {
        return new Key(micro, pb.settings().cluster().deviceCount(), pb.settings().memory().recompute(),
                pb.settings().memory().zeroStage());
    }

    /** The memory-aware bound of {@code pb}'s configurations without tied blocks, set up on first use ({@link #memoryBounds}). */
    private MemoryAwareBound untiedMemoryBound(CoarseGraph cg, long micro, ProblemBuilder pb) {
        Key key = keyOf(micro, pb);
        MemoryAwareBound mb = memoryBounds.get(key);
        if (mb == null) {
            mb = new MemoryAwareBound(pb.nodeCosts(cg, requiredFor(cg, micro, pb)), key.recompute(), cuts(cg, micro), limit);
            memoryBounds.put(key, mb);
        }
        return mb;
    }

    /** The cost of a stage of nodes {@code [i, j)}. */
    @FunctionalInterface
    interface StageCost {
        double of(int from, int to);
    }

    /**
     * The least over partitions of nodes {@code [0, n)} into {@code stages} contiguous stages at the
     * cuts of the largest stage cost (infinite when the cuts allow fewer stages). O(P K^2), fewer stages
     * priced where the best stages before a start already reach the best found for an end.
     */
    static double bottleneck(int n, List<Integer> cuts, int stages, StageCost cost) {
        return bottleneck(n, cuts, stages, cost, false);
    }

    /**
     * {@link #bottleneck}, where {@code monotone} says that a stage's cost never rises as its start moves later nor
     * falls as its end does (the step bounds' costs: a prefix of the stages before plus m times the stage's own work).
     * Then at each stage count whose best prefixes never fall with their end (checked), the largest of a start's best
     * prefix and its stage's cost falls and then rises with the start, and its least over the starts lies where the two
     * cross: a binary search for the crossing and the starts beside it, O(log K) costs an end instead of O(K). The same
     * value where the costs are so ordered in floating point; a stage count whose prefixes are not ordered is priced in
     * full. O(P K log K).
     */
    static double bottleneck(int n, List<Integer> cuts, int stages, StageCost cost, boolean monotone) {
        int[] pos = cutPositions(n, cuts).stream().mapToInt(Integer::intValue).toArray();
        int k = pos.length;
        double[] prev = new double[k];
        double[] cur = new double[k];
        java.util.Arrays.fill(prev, Double.POSITIVE_INFINITY);
        prev[0] = 0;
        for (int s = 1; s <= stages; s++) {
            java.util.Arrays.fill(cur, Double.POSITIVE_INFINITY);
            if (monotone && ordered(prev, s - 1)) {
                for (int j = s; j < k; j++) {
                    // the first start whose best prefix reaches its stage's cost: before it the stage's cost decides
                    // (falling), from it the prefix (rising)
                    int lo = s - 1;
                    int hi = j;
                    while (lo < hi) {
                        int mid = (lo + hi) >>> 1;
                        if (prev[mid] >= cost.of(pos[mid], pos[j])) {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    for (int i = Math.max(s - 1, lo - 2); i <= Math.min(j - 1, lo + 1); i++) {
                        cur[j] = Math.min(cur[j], Math.max(prev[i], cost.of(pos[i], pos[j])));
                    }
                }
                double[] t = prev;
                prev = cur;
                cur = t;
                continue;
            }
            int last = s - 1; // the start of the best last stage ending at the position before
            for (int j = s; j < k; j++) {
                // the previous position's best start first (the best of neighbouring ends are near): then a
                // start whose first stages alone reach the best so far cannot lower it (max(prev, c) >= prev)
                // and its stage is not priced; the minimum over the same terms, so the same value
                int first = Math.max(s - 1, Math.min(last, j - 1));
                if (prev[first] != Double.POSITIVE_INFINITY) {
                    double v = Math.max(prev[first], cost.of(pos[first], pos[j]));
                    if (v < cur[j]) {
                        cur[j] = v;
                        last = first;
                    }
                }
                for (int i = s - 1; i < j; i++) {
                    if (prev[i] >= cur[j] || i == first) {
                        continue;
                    }
                    double v = Math.max(prev[i], cost.of(pos[i], pos[j]));
                    if (v < cur[j]) {
                        cur[j] = v;
                        last = i;
                    }
                }
            }
            double[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[k - 1];
    }

    /**
     * Whether {@code lo[i] + m (hi[j] - hi[i])} never rises as {@code i} moves later nor falls as {@code j} does, over
     * the positions {@code at}: between consecutive ones {@code hi} never falls and {@code lo} rises by at most {@code m}
     * times what {@code hi} does. O(K).
     */
    static boolean fallsWithStart(List<Integer> at, double[] lo, double[] hi, int m) {
        for (int x = 1; x < at.size(); x++) {
            int a = at.get(x - 1);
            int b = at.get(x);
            double dh = hi[b] - hi[a];
            if (!(dh >= 0) || !(lo[b] - lo[a] <= m * dh)) {
                return false;
            }
        }
        return m >= 1;
    }

    /** Whether {@code a[from..]} is finite and never falls. O(K). */
    private static boolean ordered(double[] a, int from) {
        for (int i = from; i < a.length; i++) {
            if (!(a[i] < Double.POSITIVE_INFINITY) || (i > from && a[i] < a[i - 1])) {
                return false;
            }
        }
        return true;
    }

    /** How far below its closed form the replay of an asynchronous schedule may come (docs/schedules.md). */
    static final double REPLAY_BELOW = 0.02;

    /**
     * The estimate the planner and the evaluator price a schedule with: its closed form, and for a
     * schedule without a fixed op order (asynchronous: keys meet at the workers, which no closed form
     * follows exactly) the step of the simulator's replay where that is slower, so that a plan never
     * promises a step its own replay does not reach. Memory, bubble and staleness stay the closed
     * form's. {@code O(P)} for a fixed order; a replay of a few hundred instances otherwise.
     */
    static Estimate estimate(Schedule sch, List<StageProfile> ps, int m, int v) {
        Estimate e = sch.estimate(ps, m, v);
        if (sch.fixedOrder()) {
            return e;
        }
        org.shardplan.planner.sim.Result replay;
        try {
            replay = org.shardplan.planner.sim.Simulator.run(ps, sch, m, v);
        } catch (IllegalArgumentException tooLarge) {
            return e; // beyond what the replay takes (thousands of keys): the closed form alone
        }
        if (!(replay.stepSeconds() > e.stepSeconds())) {
            return e;
        }
        return new Estimate(replay.stepSeconds(), replay.bubbleFraction(), e.peakMemoryBytes(), e.microBatchesInFlight(),
                e.staleness());
    }

    static boolean better(Outcome a, Outcome b) {
        if (a.fits() != b.fits()) {
            return a.fits();
        }
        return a.stepSeconds() < b.stepSeconds() * (1 - 1e-12);
    }

    /**
     * The objective of {@link #weighted}{@code (b, m)} under {@code choice} without building that
     * problem: each node's micro-batch work times m plus its gradient reduction, and the resharding
     * times m. O(nodes + edges).
     */
    static double weightedObjective(ProblemBuilder.Built b, int m, int[] choice) {
        double total = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            ProblemBuilder.Cost c = u.costs().get(choice[u.index()]);
            total += m * (c.microComputeSeconds() + c.microCommunicationSeconds()) + c.gradientSeconds();
        }
        for (ProblemBuilder.Link l : b.links()) {
            int cols = b.units().get(l.to()).layouts().size();
            total += m * l.seconds()[choice[l.from()] * cols + choice[l.to()]];
        }
        return total;
    }

    /** The problem of the whole graph on one stage's devices with micro-batch work weighted by m (one stage). */
    static Problem weighted(ProblemBuilder.Built b, int m) {
        return StageProblem.of(b, 0, b.units().size(), new ProblemBuilder.Repeat(m, 1), StageProblem.Filter.ALL,
                OptionalDouble.empty(), false).problem();
    }

    private record Solved(int[] choices, boolean proven, double lowerBound, boolean tied, boolean memoryBound,
            String solver) {
    }

    /**
     * Solves one stage: exactly by dynamic programming without the memory limit (untied for a single
     * stage, as the whole-model planner does); when that does not fit, the limit priced on the
     * tied problem; failing that the auto solver (DP, ILP, local search) within the time left.
     */
    private Optional<Solved> solveStage(ProblemBuilder.Built b, int from, int to, ProblemBuilder.Repeat r,
            StageProblem.Filter f, boolean tie) {
        return solveStage(b, from, to, r, f, tie, null);
    }

    /**
     * {@link #solveStage}, running {@code untied} (where not null) when an untied solve is about to start: the
     * tied problem's optimum fits the limit ({@link #solveStageOnce}). Not run when the answer is known.
     */
    private Optional<Solved> solveStage(ProblemBuilder.Built b, int from, int to, ProblemBuilder.Repeat r,
            StageProblem.Filter f, boolean tie, Runnable untied) {
        // the exact partition solves the stages it compares, and the stages of the partition kept are then
        // solved again here: the answer of the same stage (same built problem and filter) is remembered
        // the one-stage solve with the gradient reduction hidden runs on the thread beside: the memo is shared
        Map<List<Object>, Optional<Solved>> known;
        List<Object> key = List.of(from, to, r, tie);
        Optional<Solved> x;
        synchronized (stageSolves) {
            known = stageSolves.computeIfAbsent(b, k -> new IdentityHashMap<>()).computeIfAbsent(f, k -> new HashMap<>());
            x = known.get(key);
        }
        if (x == null) {
            x = solveStageOnce(b, from, to, r, f, tie, untied);
            synchronized (stageSolves) {
                known.put(key, x);
            }
        }
        return x;
    }

    /**
     * The stage solves of this search, by built problem and filter (both by identity) and by range, weights
     * and tying (the stages' answers do not change within a configuration).
     */
    private final Map<ProblemBuilder.Built, Map<StageProblem.Filter, Map<List<Object>, Optional<Solved>>>> stageSolves =
            new IdentityHashMap<>();

    /**
     * The stage problems' exact solves without the memory limit, by content: the nodes' costs and labels and
     * the links' tables, all that the dynamic program reads without a limit (memory enters it only with a
     * limit). The exact partition's solve of a range without the limit ({@link ExactPartition}, one
     * micro-batch held) and this search's stage solve of the same range at the micro-batches its position
     * holds ({@link #solveStageOnce}) are one such problem (on GPT-1T nearly every stage solve's), solved
     * once. The last 64 kept (each key holds its tables: tens of megabytes in all).
     */
    private final Map<Content, Solution> unlimitedSolves = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Content, Solution> eldest) {
            return size() > 64;
        }
    };

    /**
     * A problem's content as {@link #unlimitedSolves} keys it, its hash computed once (a look-up and the put after a
     * miss hash the cost tables of every node and edge otherwise twice); equal keys: equal hashes and parts.
     */
    private record Content(List<Object> parts, int hash) {
        Content(List<Object> parts) {
            this(parts, parts.hashCode());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Content c && hash == c.hash && parts.equals(c.parts);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** The exact dynamic program on a problem without a memory limit, solved once per content ({@link #unlimitedSolves}). */
    Solution solveUnlimited(Problem free) {
        if (free.memoryLimit().isPresent()) {
            throw new IllegalArgumentException("the problem must have no memory limit, found " + free.memoryLimit());
        }
        List<Object> parts = new ArrayList<>(2 * free.size() + free.edges().size());
        for (Problem.Node nd : free.nodes()) {
            parts.add(nd.costsKey());
            parts.add(nd.labels());
        }
        for (Problem.Edge e : free.edges()) {
            parts.add(List.of(e.from(), e.to(), e.rows(), e.cols(), e.costsKey()));
        }
        Content key = new Content(parts);
        synchronized (unlimitedSolves) {
            Solution known = unlimitedSolves.get(key);
            if (known != null) {
                unlimitedShared++;
                return known;
            }
        }
        Solution s = new DpSolver().solve(free, Solver.Options.withTimeLimit(secondsLeft()));
        if (s.status() == Status.OPTIMAL) {
            synchronized (unlimitedSolves) {
                unlimitedSolves.put(key, s);
            }
        }
        return s;
    }

    /** Solves {@link #solveUnlimited} answered from an earlier one (for tests and the trace). */
    int unlimitedShared;

    private Optional<Solved> solveStageOnce(ProblemBuilder.Built b, int from, int to, ProblemBuilder.Repeat r,
            StageProblem.Filter f, boolean tie, Runnable untied) {
        StageProblem tp = StageProblem.of(b, from, to, r, f, OptionalDouble.of(limit), true);
        if (System.getProperty("shardplan.dumpProblems") != null) {
            dump(tp.problem(), false);
            dump(StageProblem.of(b, from, to, r, f, OptionalDouble.of(limit), false).problem(), true);
        }
        double least = 0;
        for (Problem.Node nd : tp.problem().nodes()) {
            double mm = Double.POSITIVE_INFINITY;
            for (int k = 0; k < nd.strategies(); k++) {
                mm = Math.min(mm, nd.memory(k));
            }
            least += mm;
        }
        if (least > limit) {
            return Optional.empty();
        }
        // the tied problem without the limit: exact over tied layouts, and small
        Problem tiedFree = tp.problem().withMemoryLimit(OptionalDouble.empty());
        Solution td = solveUnlimited(tiedFree);
        trace("tied dp", td);
        boolean tiedFits = td.hasChoices() && Evaluator.evaluate(tp.problem(), td.choices()).memory() <= limit;
        double tiedLower = td.status() == Status.OPTIMAL ? td.objective() : td.lowerBound();
        if (tiedFits && !tie) {
            if (untied != null) {
                untied.run();
            }
            // one stage: the untied problem, exact over every layout (the whole-model planner's answer)
            StageProblem sp = StageProblem.of(b, from, to, r, f, OptionalDouble.of(limit), false);
            // nothing tied (as many nodes as units, e.g. DenseNet's all-different layers): the same problem
            Solution dp = tp.problem().size() == to - from ? td
                    : new DpSolver().solve(sp.problem().withMemoryLimit(OptionalDouble.empty()),
                            Solver.Options.withTimeLimit(secondsLeft()));
            if (dp.hasChoices() && Evaluator.evaluate(sp.problem(), dp.choices()).memory() <= limit
                    && dp.objective() <= td.objective() * (1 + 1e-9) + 1e-15) {
                boolean proven = dp.status() == Status.OPTIMAL;
                return Optional.of(new Solved(sp.expand(dp.choices()), proven,
                        proven ? dp.objective() : dp.lowerBound(), false, false, "dp"));
            }
            double lower = dp.status() == Status.OPTIMAL ? dp.objective() : Double.NEGATIVE_INFINITY;
            return Optional.of(new Solved(tp.expand(td.choices()), false, lower, true, false, "dp"));
        }
        if (tiedFits) {
            return Optional.of(new Solved(tp.expand(td.choices()), td.status() == Status.OPTIMAL, tiedLower, true, false,
                    "dp"));
        }
        if (defer) {
            throw new MemoryBound();
        }
        // memory pricing runs the same elimination as the tied dynamic program several times: where
        // that one did not finish (a table over the budget, or the time limit), neither would these; where
        // it did, its answer is the pricing's at price 0 (the same problem without the limit)
        MemoryPricing.Result priced = td.status() == Status.UNKNOWN ? null
                : MemoryPricing.solve(tp.problem(), secondsLeft(), td.status() == Status.OPTIMAL ? td.choices() : null);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  memory pricing: %s, %.2f s left (%d pricings, %d priced dynamic"
                    + " programs so far; %d solves without the limit shared)%n", priced == null ? "nothing" : "found",
                    (deadline - System.nanoTime()) / 1e9, MemoryPricing.PRICINGS.get(), MemoryPricing.PROBES.get(),
                    unlimitedShared);
        }
        if (priced != null) {
            double lower = Math.max(tiedLower, priced.lowerBound());
            boolean proven = priced.objective() - lower <= 1e-9 * Math.max(1, Math.abs(priced.objective()));
            return Optional.of(new Solved(tp.expand(priced.choices()), proven, Math.min(lower, priced.objective()), true,
                    true, "dp-priced"));
        }
        Solution a = new AutoSolver().solve(tp.problem(), Solver.Options.withTimeLimit(secondsLeft()));
        trace("auto", a);
        if (!a.hasChoices() || a.status() == Status.INFEASIBLE) {
            return Optional.empty();
        }
        // the tied problem's bound without the limit (an LP bound where its elimination did not finish)
        // bounds this one too
        double autoLower = Math.min(a.objective(), Math.max(a.lowerBound(), tiedLower));
        return Optional.of(new Solved(tp.expand(a.choices()), a.status() == Status.OPTIMAL, autoLower, true, true,
                a.solver()));
    }

    /**
     * -Dshardplan.dumpProblems=DIR: each stage problem is written to DIR (problem format, for the
     * solve command and the solver benchmarks), tied and untied.
     */
    private static void dump(Problem p, boolean untied) {
        String dir = System.getProperty("shardplan.dumpProblems");
        if (dir == null) {
            return;
        }
        try {
            java.nio.file.Path d = java.nio.file.Path.of(dir);
            java.nio.file.Files.createDirectories(d);
            String name = p.name().replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + p.nodes().size() + (untied ? "-untied" : "-tied");
            org.shardplan.planner.solver.ProblemIo.writeProblem(p, d.resolve(name + ".json"));
        } catch (java.io.IOException e) {
            System.err.println("shardplan: cannot write the problem to " + dir + ": " + e.getMessage());
        }
    }

    private void trace(String what, Solution s) {
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "  %s: %s in %.2f s, %.2f s left%n", what, s.status(), s.seconds(),
                    (deadline - System.nanoTime()) / 1e9);
        }
    }

    /** Per node: its micro-batch time (compute, collectives, resharding of its inputs) under the choice. */
    static double[] nodeTimes(ProblemBuilder.Built b, int[] choice) {
        return nodeTimes(b, choice, 1);
    }

    static double[] nodeTimes(ProblemBuilder.Built b, int[] choice, double weight) {
        int n = b.units().size();
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Cost c = b.units().get(i).costs().get(choice[i]);
            t[i] = weight * (c.microComputeSeconds() + c.microCommunicationSeconds()) + c.gradientSeconds();
        }
        for (ProblemBuilder.Link l : b.links()) {
            int cols = b.units().get(l.to()).layouts().size();
            t[l.to()] += weight * l.seconds()[choice[l.from()] * cols + choice[l.to()]];
        }
        return t;
    }

    /** Cuts minimising the slowest of {@code stages} contiguous stages (the recurrence in the class comment). */
    static int[] partition(double[] t, List<Integer> cuts, int stages) {
        int n = t.length;
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) {
            prefix[i + 1] = prefix[i] + t[i];
        }
        List<Integer> pos = cutPositions(n, cuts);
        int k = pos.size();
        // the prefix sums at the cut positions, unboxed once for the O(P K^2) loop
        double[] at = new double[k];
        for (int x = 0; x < k; x++) {
            at[x] = prefix[pos.get(x)];
        }
        double[][] best = new double[stages + 1][k];
        int[][] from = new int[stages + 1][k];
        for (double[] row : best) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        boolean rising = fastBottleneck && ordered(at, 0);
        for (int s = 1; s <= stages; s++) {
            if (rising && ordered(best[s - 1], s - 1)) {
                for (int j = s; j < k; j++) {
                    crossing(best[s - 1], at, s - 1, j, best[s], from[s]);
                }
                continue;
            }
            for (int j = s; j < k; j++) {
                for (int i = s - 1; i < j; i++) {
                    if (best[s - 1][i] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    double v = Math.max(best[s - 1][i], at[j] - at[i]);
                    if (v < best[s][j]) {
                        best[s][j] = v;
                        from[s][j] = i;
                    }
                }
            }
        }
        if (best[stages][k - 1] == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("stages must be at most the " + (k - 1) + " parts the cuts allow, found "
                    + stages);
        }
        int[] bounds = new int[stages + 1];
        int j = k - 1;
        for (int s = stages; s >= 1; s--) {
            bounds[s] = pos.get(j);
            j = from[s][j];
        }
        bounds[0] = 0;
        return bounds;
    }

    /**
     * {@link #partition}'s recurrence at one end {@code j}: the first start {@code i} in {@code [lo, j)} with the
     * least {@code max(prev[i], at[j] - at[i])}, into {@code best[j]} and {@code from[j]}, where {@code prev} (the best
     * prefixes, finite from {@code lo}) and {@code at} (the prefix sums at the cut positions) never fall. The prefix
     * then rises with the start and the stage's own time falls, so the least lies beside their crossing: the first
     * start whose prefix reaches its stage's time, found by binary search. From there on the maximum is the prefix,
     * least at the crossing; before it the stage's time, least just before the crossing, where the first start of
     * that same time (a plateau of zero-time nodes) is found by a second binary search. The same start and value as
     * trying every start in order and keeping the first strictly smaller (floating-point subtraction never falls as
     * its first operand rises or its second falls). O(log K) instead of O(K).
     */
    private static void crossing(double[] prev, double[] at, int lo, int j, double[] best, int[] from) {
        int a = lo;
        int b = j;
        while (a < b) {
            int mid = (a + b) >>> 1;
            if (prev[mid] >= at[j] - at[mid]) {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        int c = a; // the crossing: prev decides from c on, the stage's time before c
        double right = c < j ? prev[c] : Double.POSITIVE_INFINITY;
        double left = c > lo ? at[j] - at[c - 1] : Double.POSITIVE_INFINITY;
        if (left <= right && c > lo) {
            // the first start before the crossing whose stage's time is already as low as just before it
            int x = lo;
            int y = c - 1;
            while (x < y) {
                int mid = (x + y) >>> 1;
                if (at[j] - at[mid] <= left) {
                    y = mid;
                } else {
                    x = mid + 1;
                }
            }
            best[j] = left;
            from[j] = x;
        } else if (c < j) {
            best[j] = right;
            from[j] = c;
        }
    }

    /**
     * Whether the stages are cut by the exact partition ({@link #exactBounds}); false
     * ({@code -Dshardplan.partition=balanced}): by the balanced partition of the whole model's per-node
     * times alone ({@link #partition}).
     */
    boolean exactPartition = !"balanced".equals(System.getProperty("shardplan.partition"));

    /** Configurations cut by the balanced partition because the time limit ran out during the exact one. */
    int balancedFallbacks;

    /**
     * Configurations cut by the balanced partition because their exact partition needed more than
     * {@link #partitionSolves} distinct stage solves.
     */
    int overBudget;

    /**
     * The distinct stage solves the exact partition of a configuration of {@code stages} stages may run
     * before the balanced partition is kept instead: {@code 16 + 4 P}, or {@code -Dshardplan.partitionSolves=N}
     * (0: no limit). A chain of repeated layers needs few (6-15 on Megatron's GPT rows with stages that
     * fit, 51-66 where memory binds), a graph without repeated layers one per range reached (DenseNet-121:
     * 250-800 per configuration, each cheap, but together most of its search); the budget keeps the
     * second kind from spending the search on partitions, deterministically (a count, not a time). O(1).
     */
    static int partitionSolves(int stages) {
        int fixed = Integer.getInteger("shardplan.partitionSolves", -1);
        if (fixed == 0) {
            return Integer.MAX_VALUE;
        }
        return fixed > 0 ? fixed : 16 + 4 * stages;
    }

    /**
     * Whether the exact partition is certain to run more distinct stage solves than {@code budget}
     * allows, before it starts: the lower bounds of its ranges need a solve per segment shape
     * ({@link ExactPartition#segmentSolves}), or the ranges {@link StagePartition#solve} costs whatever
     * the costs turn out to be ({@link StagePartition#certainRanges}) need more solves than the budget
     * leaves ({@link ExactPartition#newSolves}). The partition would then stop at the budget and keep the
     * balanced partition, which is what the caller keeps at once, without the enumeration over the
     * lower bounds and the solves before the budget runs out (on graphs without repeated layers, where
     * every range is a solve of its own, most of the exact partition's time). O(P K^2).
     */
    private static boolean certainlyOverBudget(ExactPartition costs, int segments, int stages, int m, int budget) {
        if (segments < stages || m < 1) {
            return false; // the partition refuses these before any solve
        }
        int left = budget - costs.solves;
        // the lower bounds' own solves (one per segment shape) come first, then the ranges costed whatever the costs
        return costs.segmentSolves(left) > left
                || costs.newSolves(StagePartition.certainRanges(segments, stages, m, costs), left) > left;
    }

    /**
     * Whether {@link #exactBounds} first asks {@link #certainlyOverBudget} (true); tests turn it off to
     * compare the plans.
     */
    boolean budgetCheck = true;

    /**
     * Whether the exact partitions answer the solves without the limit of a family of ranges between two with the
     * same optimum by interpolation ({@link ExactPartition#interpolate}); tests turn it off to compare.
     */
    boolean interpolateShapes = ExactPartition.INTERPOLATE;

    /** The exact partitions' solves without the limit answered by interpolation, in all (for tests). */
    int interpolatedSolves;

    /**
     * Configurations whose exact partition stopped before the solves that could not fit its budget: not
     * started ({@link #certainlyOverBudget}) or stopped when it announced the ranges it would cost
     * ({@link ExactPartition#willCost}); also counted in {@link #overBudget}.
     */
    int certainOverBudget;

    /** Partitions besides the exact optimum that {@link #exactBounds} prices with the schedules. */
    static final int ALTERNATIVES = 4;

    /**
     * How the last configuration's stages were cut: {@code bounds} (node indices) the partition kept;
     * {@code optimum} the exact partition's optimum of {@code sum + (m - 1) max} of the stage costs and
     * {@code objective} its value (null and NaN where the balanced partition was used alone);
     * {@code balanced} the balanced partition; {@code exact} whether the exact partition ran to the end.
     */
    record Cut(int[] bounds, int[] optimum, double objective, int[] balanced, boolean exact, int solves) {
    }

    /** The last {@link Cut} of a configuration with more than one stage (for tests and the trace). */
    Cut lastCut;

    /**
     * The stage bounds of a configuration by the exact partition: {@link StagePartition} over the cut
     * positions with each stage costed by its own exact solve ({@link ExactPartition}: the tied problem of
     * its nodes, the micro-batches 1F1B holds at its position against the memory limit, its transfers),
     * the balanced partition {@code balanced} giving the upper bound; then the optimum, up to
     * {@link #ALTERNATIVES} runners-up of the bottleneck enumeration and the balanced partition priced by
     * the schedules the options allow (their estimates on the stages' profiles, one chunk per device; the
     * optimizer step after), the fastest that fits kept, the optimum on ties. Where the time limit runs out
     * before the end, the balanced partition. Running time: see {@link StagePartition}; one tied dynamic
     * program per distinct stage shape asked for, O(K) with K cut positions on a chain of repeated layers.
     *
     * @throws MemoryBound when a stage it needs binds its memory limit and such configurations are put off
     */
    private int[] exactBounds(ProblemBuilder.Built b, ProblemBuilder pb, CoarseGraph cg, long micro, int stages, int m,
            StageProblem.Filter f, int devices, boolean recompute, int[] balanced) {
        exactPartitions++;
        long t0 = System.nanoTime();
        boolean overBudgetEarly = false;
        int n = b.units().size();
        List<Integer> pos = cutPositions(n, cuts(cg, micro));
        // the distinct stage solves allowed (PARTITION_SOLVES): beyond them the balanced partition is kept
        int budget = partitionSolves(stages);
        ExactPartition[] self = new ExactPartition[1];
        ExactPartition costs = new ExactPartition(b, f, pos, stages, m, limit, sendAtNode(b, cg, devices),
                (from, to, r) -> solveStage(b, from, to, r, f, true).map(Solved::choices), this::secondsLeft,
                () -> timeLeft() && (self[0] == null || self[0].solves < budget));
        self[0] = costs;
        costs.unlimited = this::solveUnlimited;
        costs.interpolate = interpolateShapes;
        if (budgetCheck) {
            costs.budget = budget; // the ranges of the partition's look-ups checked against it (willCost)
        }
        int[] bal = new int[stages + 1];
        for (int s = 0; s <= stages; s++) {
            bal[s] = pos.indexOf(balanced[s]);
        }
        // the optimum of each round of the partition's refinement, as found (kept where its budget stops it)
        List<int[]> roundOptima = new ArrayList<>();
        try {
            // the balanced partition's objective bounds the optimum from above
            double sum = 0;
            double slowest = 0;
            for (int s = 0; s < stages; s++) {
                costs.refine(bal[s], bal[s + 1], s);
                double c = costs.cost(bal[s], bal[s + 1], s);
                sum += c;
                slowest = Math.max(slowest, c);
            }
            double upper = sum + (m - 1) * slowest;
            if (upper < Double.POSITIVE_INFINITY) {
                // every stage of the balanced partition fits the micro-batches 1F1B holds there, and yet no
                // schedule allowed fits it: they hold more (GPipe holds all m on every stage), which the stage
                // costs do not see, so no partition of them would be told apart by fitting: the balanced one
                int[] choice = new int[n];
                for (int s = 0; s < stages; s++) {
                    int[] c = costs.choice(bal[s], bal[s + 1], s).orElseThrow();
                    System.arraycopy(c, 0, choice, balanced[s], c.length);
                }
                double[] rank = rank(profiles(b, pb, choice, balanced, devices, recompute), stages, m);
                if (rank != null && rank[0] > 0) {
                    lastCut = new Cut(balanced, null, Double.NaN, balanced, false, costs.solves);
                    if (TRACE) {
                        System.err.printf(java.util.Locale.ROOT, "  exact partition skipped: no schedule fits the"
                                + " balanced partition %s%n", java.util.Arrays.toString(balanced));
                    }
                    return balanced;
                }
            }
            if (budgetCheck && budget < Integer.MAX_VALUE && certainlyOverBudget(costs, pos.size() - 1, stages, m, budget)) {
                overBudgetEarly = true;
                certainOverBudget++;
                throw new ExactPartition.OutOfTime();
            }
            StagePartition.Result r = StagePartition.solve(pos.size() - 1, stages, m, costs, upper, ALTERNATIVES,
                    roundOptima::add);
            List<int[]> candidates = new ArrayList<>();
            for (StagePartition.Partition x : r.partitions()) {
                candidates.add(x.bounds());
            }
            if (upper < Double.POSITIVE_INFINITY && candidates.stream().noneMatch(x -> java.util.Arrays.equals(x, bal))) {
                candidates.add(bal);
            }
            int[] best = fastest(b, pb, costs, candidates, stages, m, devices, recompute);
            Optional<StagePartition.Partition> opt = r.best();
            int[] optimum = opt.map(x -> {
                int[] nb = new int[stages + 1];
                for (int s = 0; s <= stages; s++) {
                    nb[s] = costs.node(x.bounds()[s]);
                }
                return nb;
            }).orElse(null);
            int[] chosen = best == null ? balanced : best;
            if (shareStageSolves) {
                shareStageSolves(b, f, costs, pos, chosen, stages, m);
            }
            lastCut = new Cut(chosen, optimum, opt.map(StagePartition.Partition::objective).orElse(Double.NaN), balanced,
                    true, costs.solves);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  exact partition %s (balanced %s): %d segments, %d solves (%d"
                        + " interpolated), %d bottlenecks, %.2f s%n", java.util.Arrays.toString(chosen),
                        java.util.Arrays.toString(balanced), pos.size() - 1, costs.solves, costs.interpolated,
                        r.bottlenecks(), (System.nanoTime() - t0) / 1e9);
            }
            return chosen;
        } catch (ExactPartition.OutOfTime e) {
            if (costs.stoppedAtBudget && !overBudgetEarly) {
                certainOverBudget++;
            }
            if ((overBudgetEarly || costs.stoppedAtBudget || costs.solves >= budget) && timeLeft()) {
                overBudget++;
            } else {
                balancedFallbacks++;
            }
            // the balanced partition, or a faster one among the rounds' optima whose stages were all solved
            int[] kept = balanced;
            List<int[]> solved = new ArrayList<>();
            for (int[] x : roundOptima) {
                if (allExact(costs, x, stages) && !java.util.Arrays.equals(x, bal)
                        && solved.stream().noneMatch(y -> java.util.Arrays.equals(x, y))) {
                    solved.add(x);
                }
            }
            if (!solved.isEmpty() && timeLeft()) {
                if (allExact(costs, bal, stages)) {
                    solved.add(0, bal); // first: it keeps ties
                }
                kept = fastest(b, pb, costs, solved, stages, m, devices, recompute);
                if (kept == null) {
                    kept = balanced;
                } else if (!java.util.Arrays.equals(kept, balanced)) {
                    roundOptimumKept++;
                }
            }
            lastCut = new Cut(kept, null, Double.NaN, balanced, false, costs.solves);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "  exact partition: %s after %d solves, %s %s%n",
                        overBudgetEarly || costs.stoppedAtBudget ? "certain to exceed its budget" : "out of time", costs.solves,
                        java.util.Arrays.equals(kept, balanced) ? "balanced" : "an optimum of an earlier round", java.util.Arrays.toString(kept));
            }
            return kept;
        } finally {
            interpolatedSolves += costs.interpolated;
            tick("exact partition", t0);
        }
    }

    /**
     * Configurations whose exact partition stopped at its budget and kept, instead of the balanced partition, a
     * faster optimum of an earlier round of its refinement (for tests and the trace).
     */
    int roundOptimumKept;

    /** Whether every stage of partition {@code x} (segment indices) has its exact cost known, no solve run. */
    private static boolean allExact(ExactPartition costs, int[] x, int stages) {
        for (int s = 0; s < stages; s++) {
            if (!costs.known(x[s], x[s + 1], s)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Of the partitions {@code candidates} (segment indices; every stage's cost exact), the node bounds of the one
     * the schedules rank first: fitting first, then the faster step; ties (and no schedule to rank by) keep the
     * earlier; null where none is feasible. O(candidates (nodes + links)).
     */
    private int[] fastest(ProblemBuilder.Built b, ProblemBuilder pb, ExactPartition costs, List<int[]> candidates,
            int stages, int m, int devices, boolean recompute) {
        int n = b.units().size();
        int[] best = null;
        double[] bestRank = null;
        for (int[] x : candidates) {
            int[] choice = new int[n];
            boolean feasible = true;
            for (int s = 0; s < stages && feasible; s++) {
                Optional<int[]> ch = costs.choice(x[s], x[s + 1], s);
                feasible = ch.isPresent();
                if (feasible) {
                    System.arraycopy(ch.get(), 0, choice, costs.node(x[s]), ch.get().length);
                }
            }
            if (!feasible) {
                continue;
            }
            int[] nb = new int[stages + 1];
            for (int s = 0; s <= stages; s++) {
                nb[s] = costs.node(x[s]);
            }
            double[] rank = rank(profiles(b, pb, choice, nb, devices, recompute), stages, m);
            if (best == null || (rank != null && (bestRank == null || rank[0] < bestRank[0]
                    || (rank[0] == bestRank[0] && rank[1] < bestRank[1] * (1 - 1e-12))))) {
                best = nb;
                bestRank = rank;
            }
        }
        return best;
    }

    /**
     * Whether {@link #exactBounds} hands the stage solves of the partition kept the answers of the ranges of
     * the same shape it solved with the limit ({@link #shareStageSolves}); tests turn it off to compare.
     */
    boolean shareStageSolves = true;

    /**
     * The stages of the partition kept whose exact partition cost came from the solve with the limit of
     * another range of the same shape and micro-batches held ({@link ExactPartition#solvedBy}): the same
     * stage problem, so that range's remembered answer is this one's, and the stage solves after the
     * partition do not solve it again (on GPT-1T each such stage is a memory pricing of about 50 dynamic
     * programs). O(P K).
     */
    private void shareStageSolves(ProblemBuilder.Built b, StageProblem.Filter f, ExactPartition costs, List<Integer> pos,
            int[] chosen, int stages, int m) {
        synchronized (stageSolves) { // shared with the thread beside (solveStage)
            shareStageSolvesLocked(b, f, costs, pos, chosen, stages, m);
        }
    }

    private void shareStageSolvesLocked(ProblemBuilder.Built b, StageProblem.Filter f, ExactPartition costs,
            List<Integer> pos, int[] chosen, int stages, int m) {
        Map<List<Object>, Optional<Solved>> known = stageSolves.computeIfAbsent(b, k -> new IdentityHashMap<>())
                .computeIfAbsent(f, k -> new HashMap<>());
        for (int s = 0; s < stages; s++) {
            int[] by = costs.solvedBy(pos.indexOf(chosen[s]), pos.indexOf(chosen[s + 1]), s);
            if (by == null) {
                continue;
            }
            // the Repeat of the stage solves below (and of the exact partition's)
            ProblemBuilder.Repeat r = new ProblemBuilder.Repeat(m + stages - 1, Math.min(stages - s, m));
            Optional<Solved> x = known.get(List.of(by[0], by[1], r, true));
            if (x != null) {
                known.putIfAbsent(List.of(chosen[s], chosen[s + 1], r, true), x);
            }
        }
    }

    /**
     * {@code {0 if it fits else 1, step}} of the fastest schedule the options allow on these stage profiles
     * with one chunk per device (closed forms, the optimizer step after); null when none applies.
     */
    private double[] rank(List<StageProfile> ps, int stages, int m) {
        List<Schedule> schedules = pipelineSchedules();
        double[] best = null;
        for (Schedule named : schedules) {
            for (Schedule sch : named.variants(stages, m, opts.scheduleParameters())) {
                if (sch.check(stages, m, 1).isPresent()) {
                    continue;
                }
                Estimate e = sch.estimate(ps, m, 1);
                double step = e.stepSeconds() + updateAfter(sch, ps, stages);
                double[] r = {fitsLimit(e) ? 0 : 1, step};
                if (best == null || r[0] < best[0] || (r[0] == best[0] && r[1] < best[1])) {
                    best = r;
                }
            }
        }
        return best;
    }

    /**
     * Per node index c, the time to send one way, over the link between two stages of {@code devices}
     * devices, each device's share of one micro-batch's tensors produced before c and used at or after
     * it: what a stage ending at c sends (as {@link #profiles} prices it). O(nodes + links).
     */
    private double[] sendAtNode(ProblemBuilder.Built b, CoarseGraph cg, int devices) {
        int n = b.units().size();
        Map<String, int[]> span = new LinkedHashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            int[] sp = span.computeIfAbsent(l.value(), k -> new int[] {l.from(), l.to()});
            sp[1] = Math.max(sp[1], l.to());
        }
        double[] diff = new double[n + 2];
        int[] open = new int[n + 2];
        for (Map.Entry<String, int[]> e : span.entrySet()) {
            int from = e.getValue()[0];
            int last = e.getValue()[1];
            if (last <= from) {
                continue;
            }
            double bytes = valueBytes(cg, from, e.getKey()) / devices;
            // crosses every c with from < c <= last
            diff[from + 1] += bytes;
            diff[last + 1] -= bytes;
            open[from + 1]++;
            open[last + 1]--;
        }
        Link link = devices < cluster.devicesPerNode() ? cluster.nodes().get(0).intraNode() : cluster.interNode();
        double[] r = new double[n + 1];
        double bytes = 0;
        int crossing = 0;
        for (int c = 0; c <= n; c++) {
            bytes += diff[c];
            crossing += open[c];
            // summed in the order profiles sums them, so that the two agree to the last bit where it matters
            r[c] = crossing > 0 && bytes > 0 ? link.transferSeconds(bytes) : 0;
        }
        return r;
    }

    /**
     * The per-micro-batch profile of each stage: forward = forward compute plus half of the
     * micro-batch's collectives and resharding; backward = the rest of the compute (with
     * recomputation, the second forward) plus the other half; the weight-gradient part = half of the
     * backward compute of nodes with parameters (for MatMul and convolution the weight gradient costs
     * as much as the input gradient); the gradient reduction once per step; the send = the tensors
     * crossing to later stages, each device sending its share (1/devices of each) over the link
     * between the two submeshes; the optimizer step = the bytes the optimizer moves for the stage's
     * parameters at the device's streaming rate ({@link org.shardplan.cost.compute.ComputeModel#optimizerStepSeconds}).
     * The reduction is exposed as {@link #exposedGradientSeconds} leaves it when the compute model
     * overlaps it with the backward pass, whole when it runs after the backward pass.
     */
    List<StageProfile> profiles(ProblemBuilder.Built b, ProblemBuilder pb, int[] choice, int[] bounds, int devices,
            boolean recompute) {
        int stages = bounds.length - 1;
        int n = b.units().size();
        int[] stageOf = new int[n];
        for (int s = 0; s < stages; s++) {
            for (int i = bounds[s]; i < bounds[s + 1]; i++) {
                stageOf[i] = s;
            }
        }
        double[] fwd = new double[stages];
        double[] bwd = new double[stages];
        double[] wgt = new double[stages];
        double[][] reduction = new double[stages][3];
        double[] stat = new double[stages];
        double[] act = new double[stages];
        double[] moved = new double[stages];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Cost c = b.units().get(i).costs().get(choice[i]);
            int s = stageOf[i];
            double back = c.microComputeSeconds() - c.forwardSeconds();
            fwd[s] += c.forwardSeconds() + c.microCommunicationSeconds() / 2;
            bwd[s] += back + c.microCommunicationSeconds() / 2;
            if (c.parameterBytes() > 0) {
                wgt[s] += (back - (recompute ? c.forwardSeconds() : 0)) / 2;
            }
            c.addReduction(reduction[s]);
            moved[s] += c.gradientBytes();
            stat[s] += c.parameterBytes();
            act[s] += c.activationBytes();
        }
        double[] sendBytes = new double[stages];
        Map<String, int[]> span = new LinkedHashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            int cols = b.units().get(l.to()).layouts().size();
            double sec = l.seconds()[choice[l.from()] * cols + choice[l.to()]];
            int sf = stageOf[l.from()];
            int st = stageOf[l.to()];
            if (sf == st) {
                fwd[sf] += sec / 2;
                bwd[sf] += sec / 2;
            } else {
                int[] sp = span.computeIfAbsent(l.value(), k -> new int[] {sf, st, l.from()});
                sp[1] = Math.max(sp[1], st);
            }
        }
        Set<String> seen = new LinkedHashSet<>();
        CoarseGraph cg = b.coarse();
        for (Map.Entry<String, int[]> e : span.entrySet()) {
            if (!seen.add(e.getKey())) {
                continue;
            }
            double bytes = valueBytes(cg, e.getValue()[2], e.getKey()) / devices;
            for (int s = e.getValue()[0]; s < e.getValue()[1]; s++) {
                sendBytes[s] += bytes;
            }
        }
        Link link = devices < cluster.devicesPerNode() ? cluster.nodes().get(0).intraNode() : cluster.interNode();
        org.shardplan.cost.compute.ComputeModel cm = pb.settings().compute();
        boolean overlap = cm.gradientOverlap();
        List<StageProfile> r = new ArrayList<>();
        for (int s = 0; s < stages; s++) {
            double send = sendBytes[s] > 0 ? link.transferSeconds(sendBytes[s]) : 0;
            // a pipeline stage's reduction runs in buckets of its own: at least one collective's latency
            double sync = ProblemBuilder.Cost.stageReduction(reduction[s], stages);
            double exposed = overlap ? exposedGradientSeconds(sync, moved[s] / 2, bwd[s], cm.gradientBucketBytes()) : sync;
            r.add(new StageProfile(fwd[s], bwd[s], Math.max(0, Math.min(wgt[s], bwd[s])), send, exposed, stat[s], act[s],
                    cm.optimizerStepSeconds(stat[s], pb.settings().memory().optimizer())));
        }
        return r;
    }

    /**
     * What a one-stage step differs from the per-layer objective by: the gradient reduction it hides behind
     * its backward pass (the full reduction of the chosen layouts, which the objective counts, less what
     * the profiles leave exposed) less the optimizer step that follows the reduction, which the objective
     * does not count (so the result may be negative). O(nodes).
     */
    static double overlapped(ProblemBuilder.Built b, int[] choice, List<StageProfile> ps) {
        double full = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            full += u.costs().get(choice[u.index()]).gradientSeconds();
        }
        double exposed = 0;
        double update = 0;
        for (StageProfile p : ps) {
            exposed += p.gradientSyncSeconds();
            update += p.updateSeconds();
        }
        return Math.max(0, full - exposed) - update;
    }

    /**
     * The optimizer step a synchronous schedule's step ends with, after each device's gradient reduction:
     * the largest over the {@code devices} pipeline devices of the update times of the stages (model
     * chunks, chunk j on device j mod devices) it holds. An asynchronous schedule ({@link Schedule#exact}
     * false) prices its local updates itself: 0. O(stages).
     */
    static double updateAfter(Schedule sch, List<StageProfile> ps, int devices) {
        if (!sch.exact()) {
            return 0;
        }
        double[] u = new double[devices];
        double max = 0;
        for (int j = 0; j < ps.size(); j++) {
            u[j % devices] += ps.get(j).updateSeconds();
            max = Math.max(max, u[j % devices]);
        }
        return max;
    }

    /**
     * The part of a stage's gradient reduction the step waits for. The gradients are reduced in
     * buckets of {@code bucket} bytes as the backward pass of the step's last micro-batch produces
     * them, each bucket's collective running while the backward goes on (Li et al., "PyTorch
     * Distributed: Experiences on Accelerating Data Parallel Training", VLDB 2020, Section 3.2.3): with
     * k = ceil(volume / bucket) buckets, the last bucket (1/k of the reduction) always runs after the
     * backward, and whatever the backward of one micro-batch cannot cover is exposed too:
     * {@code max(total / k, total - backward)}. {@code volume} is the gradient's size (half the bytes
     * an all-reduce moves per device). O(1).
     */
    public static double exposedGradientSeconds(double total, double volume, double backward, double bucket) {
        if (total <= 0) {
            return 0;
        }
        double k = OverlapBound.bucketsOf(volume, bucket);
        return Math.max(total / k, total - backward);
    }

    private static double valueBytes(CoarseGraph cg, int producer, String value) {
        for (CoarseEdge e : cg.outEdges(producer)) {
            if (e.value().name().equals(value)) {
                return e.value().type().byteSize().orElse(0);
            }
        }
        return 0;
    }

    /**
     * Searches the configurations; the best outcome (fitting first, then fastest). For each pipeline
     * degree, recomputation (off first) and ZeRO stage (0 first): the fewest micro-batches that fit
     * are found counting up the candidate counts (memory only falls as micro-batches grow: each
     * holds fewer samples), then more micro-batches are tried while the step keeps falling (a pipeline's
     * bubble shrinks) or the memory limit still binds. Recomputation and higher ZeRO stages add time
     * or change nothing when memory does not bind, so they are tried only while it does.
     */
    Optional<Outcome> run() throws ShardplanException {
        try {
            Optional<Outcome> r = search();
            if (reportedFor != null && reportedFor != r.orElse(null) && !wantedBeside(r.orElse(null))) {
                dropReportedAhead(); // the plan kept is another: its bound is computed when asked for
            }
            return r;
        } catch (ProblemBuilder.OutOfTime e) {
            // building a problem reached the time limit: the fastest fitting plan priced before it, if any
            stoppedWhile = "the search built a strategy problem";
            notes.add("the time limit stopped the search while it built a strategy problem: the plan is the fastest"
                    + " of those priced before, or a baseline");
            takeEndedAhead();
            return Optional.ofNullable(incumbent);
        } catch (Deadline.Expired e) {
            // another phase reached it (coarsening, the standard layouts, a bound, the schedules)
            stoppedWhile = "the search was " + e.phase();
            notes.add("the time limit stopped the search while " + e.phase() + ": the plan is the fastest of those"
                    + " priced before, or a baseline");
            takeEndedAhead();
            return Optional.ofNullable(incumbent);
        } finally {
            dropAhead(); // the search is over: nothing prepared is taken any more
            stopAhead();
        }
    }

    /**
     * At the time limit: the step bounds run ahead that have ended are taken for their configurations, as {@link
     * #resolvePending} takes them once the time is out (in the order priced, up to the first that has not ended); the
     * plan found is the faster of it and their minimisers. Anything failing here leaves the plan found as it is.
     */
    private void takeEndedAhead() {
        try {
            resolvePending(null);
        } catch (ShardplanException | RuntimeException e) {
            // the plan found stands
        }
    }

    /**
     * Throws {@link Deadline.Expired} naming {@code phase} once the search's deadline has passed (phases
     * without a solver's own limit: the bounds, the schedules' estimates). O(1).
     */
    void checkTime(String phase) {
        if (System.nanoTime() - deadline >= 0 || dropped()) {
            throw new Deadline.Expired(phase);
        }
    }

    /**
     * Where {@code --schedule} names a pipeline schedule and every pipeline degree left is above 1, some degree, micro-batch
     * count and virtual-stage count of those searched must be a shape it runs (interleaved: micro-batches a multiple
     * of the stages); else a one-line error with the schedule's own reason, not a search that finds nothing.
     */
    private void requireScheduleShape(List<Integer> ps, List<Integer> ms) throws ShardplanException {
        if (opts.schedule().isEmpty() || ps.contains(1)) {
            return;
        }
        Schedule sch = Schedules.of(opts.schedule().get());
        String why = null;
        for (int p : ps) {
            for (int m : ms) {
                for (int v : sch.virtualStageCandidates(opts.virtualStages())) {
                    Optional<String> c = sch.check(p, m, v);
                    if (c.isEmpty()) {
                        return;
                    }
                    why = why == null ? c.get() : why;
                }
            }
        }
        throw new ShardplanException("--schedule " + opts.schedule().get() + " cannot run " + (ps.size() == 1
                ? ps.get(0) + " pipeline stages" : "the pipelines searched") + " with " + (ms.size() == 1
                ? (ms.get(0) == 1 ? "1 micro-batch" : ms.get(0) + " micro-batches") : "the micro-batch counts the batch allows")
                + ": " + why);
    }

    private Optional<Outcome> search() throws ShardplanException {
        Optional<String> inconsistent = opts.check();
        if (inconsistent.isPresent()) {
            throw new ShardplanException(inconsistent.get());
        }
        lazyStepBound = useOverlapBound && lazyStepBounds;
        searching = true;
        List<Integer> ps = pipelineCandidates();
        maxPipeline = ps.get(ps.size() - 1);
        List<Integer> all = microCandidates();
        requireScheduleShape(ps, all);
        List<Boolean> rcs = opts.recompute().map(List::of).orElse(List.of(false, true));
        // ZeRO 1 shards the optimizer state at the cost of ZeRO 0 (reduce-scatter + all-gather = all-reduce):
        // stage 0 is never better, so the search starts at 1
        List<Integer> zs = opts.zeroStage().isPresent() ? List.of(opts.zeroStage().getAsInt()) : List.of(1, 2, 3);
        Map<String, Sweep> done = new HashMap<>();
        Outcome best = null;
        // first pass: every pipeline degree once, so that the time limit is less likely to leave a degree
        // unseen: at the first memory setting (recomputation off before on, lower ZeRO stages first) whose
        // least memory may fit some micro-batch count, or the most lenient one where none may, with the
        // fewest micro-batches that fit (for a pipeline, from P micro-batches up: fewer leave most of the
        // pipeline idle); second pass: the degrees in order of that first step time, more micro-batches
        // while the step falls (for a pipeline also fewer, below P, while it falls), recomputation and
        // higher ZeRO stages where memory binds
        Map<Integer, Double> first = new LinkedHashMap<>();
        for (int pi = 0; pi < ps.size(); pi++) {
            int p = ps.get(pi);
            if (best != null && !timeLeft()) {
                notes.add("the time limit stopped the search before " + p + " pipeline stages");
                break;
            }
            if (p > 1 && pi + 1 < ps.size()) {
                // the next degree's whole batch's memory parts, which its first memory setting is judged from, and its
                // first configuration as the first pass most often starts it: at least as many micro-batches as stages,
                // recomputation off, the lowest ZeRO stage (not while one stage is priced: its pricing runs a solve
                // beside of its own, the gradient reduction hidden, which a build there would delay)
                int next = ps.get(pi + 1);
                prepareAhead(next, 1, rcs.get(0), zs.get(0), false);
                for (int m : micros(all, next)) {
                    if (m >= next) {
                        prepareAhead(next, m, rcs.get(0), zs.get(0), true);
                        break;
                    }
                }
            }
            List<Integer> ms = micros(all, p);
            boolean[] setting = firstSetting(p, ms, rcs, zs);
            Optional<Outcome> lead = p == 1 && !setting[1] && zs.size() > 1 && leadZero
                    ? leadAtHighestZero(ms, setting[0], zs.get(0), zs.get(zs.size() - 1)) : Optional.empty();
            Sweep sw = sweep(p, setting[0], setting[1] ? zs.get(zs.size() - 1) : zs.get(0), ms, false);
            if (lead.isPresent() && (sw.best() == null || sw.best().isBounded() || better(lead.get(), sw.best()))) {
                sw = new Sweep(lead.get(), sw.memoryBound());
            }
            if (!setting[1] && zs.size() > 1) {
                sw = fewerAtNextZero(p, setting[0], zs.get(0), zs.get(1), sw);
            }
            first.put(p, sw.best() != null && sw.best().fits() ? sw.best().stepSeconds() : Double.POSITIVE_INFINITY);
            if (sw.best() != null && !sw.best().isBounded() && (best == null || better(sw.best(), best))) {
                best = sw.best();
            }
        }
        // the plan found's reported bound from here on, beside the second pass (where nothing was put off)
        reportAheadNow = true;
        reportAhead();
        List<Integer> order = new ArrayList<>(first.keySet());
        order.sort(java.util.Comparator.comparingDouble(first::get));
        for (int p : order) {
            for (boolean rc : rcs) {
                boolean rcNeeded = false;
                for (int z : zs) {
                    if (!timeLeft()) {
                        break;
                    }
                    String key = p + "/" + rc + "/" + z;
                    Sweep sw = done.get(key);
                    if (sw == null) {
                        sw = sweep(p, rc, z, micros(all, p), true);
                        done.put(key, sw);
                    }
                    if (sw.best() != null && !sw.best().isBounded() && (best == null || better(sw.best(), best))) {
                        best = sw.best();
                    }
                    rcNeeded |= sw.memoryBound();
                    if (!sw.memoryBound()) {
                        break;
                    }
                }
                if (!rcNeeded) {
                    break;
                }
            }
        }
        // the configurations noted (a faster schedule that did not fit, counts put off for memory where the sweep's
        // kept count is not bound) at the next ZeRO stage, which frees the memory of gradients, then of weights: one
        // configuration each, not a sweep of micro-batch counts; those noted again on the way are priced too
        for (int i = 0; i < nextZero.size() && timeLeft(); i++) {
            int[] c = nextZero.get(i);
            int at = zs.indexOf(c[3]);
            if (at < 0 || at + 1 >= zs.size()
                    || priced.containsKey(pricedKey(c[0], c[1], c[2] == 1, zs.get(at + 1)))) {
                continue;
            }
            Optional<Outcome> o = memoPrice(c[0], c[1], c[2] == 1, zs.get(at + 1));
            if (o.isPresent() && o.get().fits() && !o.get().isBounded() && (best == null || better(o.get(), best))) {
                best = o.get();
            }
        }
        if (!timeLeft() && order.size() > 0) {
            notes.add("the time limit cut the search of recomputation and ZeRO stages short");
        }
        // the configurations put off because memory binds, in order of their bound
        defer = false;
        deferred.sort(java.util.Comparator.comparingDouble(Deferred::bound));
        if (lazyStepBound) {
            // the one-stage configurations among them that the plan found cannot yet rule out are priced below, and
            // their step bounds' first solves (the costliest part of their bounds) are started now, beside the rest
            for (Deferred d : deferred) {
                if (d.stages() == 1 && (incumbent == null || !useBound || d.bound() < incumbent.stepSeconds())) {
                    long micro = batch > 0 ? batch / d.microBatches() : 0;
                    ProblemBuilder.Built b = builds.get(new Key(micro, cluster.deviceCount(), d.recompute(), d.zero()));
                    if (b != null) {
                        presolveStepBound(b, builder(micro, cluster.deviceCount(), d.recompute(), d.zero()), d.microBatches(),
                                filter(coarse(micro), micro, cluster.deviceCount()));
                    }
                }
            }
        }
        // the plan found's reported bound, beside the configurations put off (after the step bounds' first solves,
        // which the search needs first), and again wherever the plan found changes from here on; one started
        // during the passes and not dropped goes on (the plan found is the same)
        passesDone = true;
        reportAhead();
        boolean cut = false;
        for (Deferred d : deferred) {
            if (incumbent != null && useBound && d.bound() >= incumbent.stepSeconds()) {
                bounded++;
                if (d.blindBound() < incumbent.stepSeconds()) {
                    memoryBounded++;
                }
                continue;
            }
            if (!timeLeft() && (best != null || incumbent != null)) {
                cut = true;
                continue;
            }
            if (incumbent != null && useBound && useMemoryBound && useTiedBound && d.stages() > 1) {
                // the plan found has not reached the bound: the bound again with the stages' repeated blocks
                // tied as the stage solves tie them (one small exact solve per price of memory), before those
                // solves, which under a binding limit cost far more
                long micro = batch > 0 ? batch / d.microBatches() : 0;
                int devices = cluster.deviceCount() / d.stages();
                double tb = tiedBound(coarse(micro), micro, builder(micro, devices, d.recompute(), d.zero()), d.stages(),
                        d.microBatches(), incumbent.stepSeconds());
                if (tb >= incumbent.stepSeconds()) {
                    bounded++;
                    memoryBounded++;
                    tiedBounded++;
                    if (TRACE) {
                        System.err.printf(java.util.Locale.ROOT, "config P=%d m=%d recompute=%s zero=%d: tied bound %.4f s"
                                + " >= %.4f s found: not priced%n", d.stages(), d.microBatches(), d.recompute(), d.zero(), tb,
                                incumbent.stepSeconds());
                    }
                    continue;
                }
            }
            Optional<Outcome> o = price(d.stages(), d.microBatches(), d.recompute(), d.zero(), d.bound());
            if (o.isPresent() && !o.get().isBounded() && (best == null || better(o.get(), best))) {
                best = o.get();
            }
        }
        if (cut) {
            notes.add("the time limit left configurations in which memory binds unpriced");
        }
        if (overBudget > 0) {
            notes.add(overBudget + " pipeline configuration" + (overBudget == 1 ? "" : "s") + " kept the balanced partition"
                    + " of the whole model's layer times" + (roundOptimumKept > 0 ? " (" + roundOptimumKept + " a faster"
                    + " partition the exact one had solved by then)" : "") + ": the exact one needed more than 16 + 4 P"
                    + " distinct stage solves (a graph with few repeated layers, or stages where memory binds;"
                    + " -Dshardplan.partitionSolves=0 lifts the limit)");
        }
        if (balancedFallbacks > 0) {
            notes.add("the time limit left " + balancedFallbacks + " pipeline configuration" + (balancedFallbacks == 1 ? ""
                    : "s") + " with the balanced partition of the whole model's layer times instead of the exact one");
        }
        best = resolvePending(best);
        if (TRACE) {
            System.err.println("phases: " + phaseSummary() + configurations + " configurations, " + bounded + " bounded ("
                    + memoryBounded + " by memory, " + tiedBounded + " of them tied), " + deferred.size() + " deferred, "
                    + preparedAhead + " prepared beside (" + ahead.size() + " not taken), " + stepBoundsSpeculated
                    + " step bounds run ahead (" + stepBoundsTaken + " taken)");
        }
        // a configuration priced in passing (the control flow above keeps only what it compares) may be the best
        if (incumbent != null && (best == null || better(incumbent, best))) {
            best = incumbent;
        }
        return Optional.ofNullable(best);
    }

    /**
     * The memory setting the first pass tries for P stages: {@code {recompute, highest ZeRO}}. In order
     * (recomputation off, ZeRO from the lowest; then on), the first whose least memory
     * ({@link #mayFitScaled}) may fit one of the counts {@code ms}; where none may, the most lenient
     * (recomputation on if searched, the highest ZeRO stage). Only ZeRO's first and last stages are
     * told apart: the second pass tries the ones between.
     */
    private boolean[] firstSetting(int p, List<Integer> ms, List<Boolean> rcs, List<Integer> zs)
            throws ShardplanException {
        if (batch <= 0) {
            return new boolean[] {rcs.get(0), false};
        }
        for (boolean rc : rcs) {
            for (int zi : new int[] {0, zs.size() - 1}) {
                for (int m : ms) {
                    if (mayFitScaled(p, m, rc, zs.get(zi))) {
                        return new boolean[] {rc, zi > 0};
                    }
                }
                if (zs.size() == 1) {
                    break;
                }
            }
        }
        return new boolean[] {rcs.get(rcs.size() - 1), zs.size() > 1};
    }

    /**
     * The first pass at one stage, before its sweep at the first memory setting ({@code zLow}): where the fewest
     * micro-batches whose least memory ({@link #mayFitScaled}) may fit are put off there because memory binds, the
     * same count is priced with ZeRO's highest stage {@code zHigh} (the same recomputation) before the sweep goes on
     * to more micro-batches (only where the sweep has more to try: Megatron's 1T row puts off its last count at
     * ZeRO 1, and there ZeRO 3 is left to the second pass, where its bound drops it). The second pass tries higher
     * ZeRO stages where memory binds, but only up to the first whose sweep is not bound by memory, so the highest
     * may not be priced there: this configuration is then one more (Megatron's 7.5B row: ZeRO 2 at 1 micro-batch
     * fits and the second pass stopped there at 1.94 s; ZeRO 3 at 1 gives 1.91 s). Both through the memo the passes
     * share, so nothing is priced twice. Fewer, larger micro-batches at a higher ZeRO stage are often faster than
     * more at a lower one (Megatron's 39.1B row: 7.20 s at 2 micro-batches with ZeRO 3 against 7.78 s at 4 with
     * ZeRO 1), and a faster plan found early lets the configurations' lower bounds leave more of the rest unpriced
     * (there: the 4 micro-batches with ZeRO 1 and 2). The plan found there if it fits, else empty. At most two
     * configurations priced, one of which the sweep prices anyway.
     */
    private Optional<Outcome> leadAtHighestZero(List<Integer> ms, boolean rc, int zLow, int zHigh)
            throws ShardplanException {
        if (batch <= 0) {
            return Optional.empty();
        }
        for (int m : ms) {
            if (!mayFitScaled(1, m, rc, zLow)) {
                continue;
            }
            int before = deferred.size();
            memoPrice(1, m, rc, zLow);
            if (deferred.size() == before || !timeLeft()) {
                return Optional.empty(); // priced (or no plan at all): the sweep goes on as before
            }
            boolean more = false;
            for (int x : ms) {
                more |= x > m && mayFitScaled(1, x, rc, zLow);
            }
            if (!more) {
                return Optional.empty(); // no more micro-batches to price first: the passes' order is kept
            }
            leads++;
            Optional<Outcome> o = memoPrice(1, m, rc, zHigh);
            return o.isPresent() && !o.get().isBounded() && o.get().fits() ? o : Optional.empty();
        }
        return Optional.empty();
    }

    /**
     * Whether the first pass tries ZeRO's highest stage at one stage's fewest micro-batches where memory binds
     * there ({@link #leadAtHighestZero}; {@code -Dshardplan.leadZero=false}: off); tests turn it off to compare.
     */
    boolean leadZero = !"false".equals(System.getProperty("shardplan.leadZero"));

    /**
     * Whether the first pass prices, at the next ZeRO stage, the micro-batch counts its sweep put off for memory below the
     * count it kept ({@link #fewerAtNextZero}; {@code -Dshardplan.earlyZero=false}: after the second pass, with the
     * other configurations noted for the next stage); tests turn it off to compare.
     */
    boolean earlyZero = !"false".equals(System.getProperty("shardplan.earlyZero"));

    /** How many times {@link #fewerAtNextZero} found a faster plan than its sweep's, for tests. */
    int fewerKept;

    /**
     * The first pass's sweep of P stages at ZeRO stage {@code z}, with the counts it put off because memory binds
     * there, fewer than the count it kept, priced at ZeRO stage {@code next} now: a pipeline's fewer, larger
     * micro-batches are faster where they fit, and the plan they give then bounds the rest of the pass (GPT-145.6B on
     * 1,536 A100s: at 2 stages ZeRO 1 keeps 16 micro-batches at 28.5 s and puts 4 and 8 off; ZeRO 2 fits 8 at 15.1 s,
     * the plan kept, found at the second degree of the first pass instead of after the second pass). One price per
     * count, through the passes' memo, which the later pricing of the counts noted for the next ZeRO stage ({@link
     * #nextZero}) then finds priced.
     */
    private Sweep fewerAtNextZero(int p, boolean rc, int z, int next, Sweep sw) throws ShardplanException {
        if (!earlyZero || sw.best() == null || !sw.best().fits() || sw.best().isBounded()) {
            return sw;
        }
        for (Deferred d : new ArrayList<>(deferred)) {
            if (d.stages() == p && d.recompute() == rc && d.zero() == z && d.microBatches() < sw.best().microBatches()
                    && timeLeft()) {
                Optional<Outcome> o = memoPrice(p, d.microBatches(), rc, next);
                if (o.isPresent() && o.get().fits() && !o.get().isBounded() && better(o.get(), sw.best())) {
                    sw = new Sweep(o.get(), sw.memoryBound());
                    fewerKept++;
                }
            }
        }
        return sw;
    }

    /** How many times {@link #leadAtHighestZero} went on to ZeRO's highest stage. */
    int leads;

    /** The key of a configuration in {@link #priced}, the passes' memo. */
    private static String pricedKey(int p, int m, boolean rc, int z) {
        return p + "/" + m + "/" + rc + "/" + z;
    }

    /** {@link #price} through the memo of the passes ({@link #sweep}'s). */
    private Optional<Outcome> memoPrice(int p, int m, boolean rc, int z) throws ShardplanException {
        String key = pricedKey(p, m, rc, z);
        Optional<Outcome> o = priced.get(key);
        if (o == null) {
            o = price(p, m, rc, z);
            priced.put(key, o);
        }
        return o;
    }

    /** The micro-batch counts worth trying with P stages. */
    private List<Integer> micros(List<Integer> all, int p) {
        List<Integer> ms = new ArrayList<>();
        for (int m : all) {
            // a micro-batch count above the per-stage bound only starves the replicas
            if (m == 1 || opts.microBatches().isPresent()
                    || (long) m <= Math.max(1, batch * (long) cluster.devicesPerNode() * p / cluster.deviceCount())) {
                ms.add(m);
            }
        }
        return ms;
    }

    /** The best outcome over micro-batch counts for one (stages, recomputation, ZeRO), and whether memory bound it. */
    private record Sweep(Outcome best, boolean memoryBound) {
    }

    private final Map<String, Optional<Outcome>> priced = new HashMap<>();

    /** The plans the passes priced that fit, one per configuration ({@link #priced}'s), in no set order. */
    List<Outcome> pricedPlans() {
        List<Outcome> r = new ArrayList<>();
        for (Optional<Outcome> o : priced.values()) {
            o.filter(x -> !x.isBounded() && x.fits()).ifPresent(r::add);
        }
        return r;
    }

    /**
     * The counts in a row, slower than the best or bounded, after which {@link #sweep} stops, above its first count
     * and below it alike.
     */
    static final int SWEEP_SLOWER_COUNTS = 2;

    /**
     * The micro-batch counts for one (stages, recomputation, ZeRO): the fewest that fit and, with
     * {@code refine}, more (and for a pipeline fewer, below its first count) until {@link #SWEEP_SLOWER_COUNTS}
     * counts in a row are slower or bounded; configurations priced before are not priced again.
     */
    private Sweep sweep(int p, boolean rc, int z, List<Integer> ms, boolean refine) throws ShardplanException {
        java.util.function.IntFunction<Optional<Outcome>> at = i -> priced.computeIfAbsent(
                pricedKey(p, ms.get(i), rc, z), k -> {
                    try {
                        if (p > 1 && i + 1 < ms.size()) {
                            // the count the sweep most often prices next; not for one stage, whose pricing runs a
                            // solve beside of its own (the gradient reduction hidden), which a build there would delay
                            prepareAhead(p, ms.get(i + 1), rc, z, true);
                        }
                        return price(p, ms.get(i), rc, z);
                    } catch (ShardplanException e) {
                        throw new IllegalStateException(e);
                    }
                });
        try {
            // the fewest micro-batches that fit, counting up: a count that does not fit is rejected by
            // its least memory before any solve, so the misses are cheap
            int lo = 0;
            while (lo < ms.size() - 1 && batch > 0 && !mayFitScaled(p, ms.get(lo), rc, z)) {
                lo++; // cannot fit: skipped without binding the model at that size
            }
            if (p == 1 && batch > 0 && !mayFitScaled(p, ms.get(lo), rc, z)) {
                // with one stage the least memory is a necessary condition: no count can fit
                return new Sweep(null, true);
            }
            // a pipeline starts at the first count of at least P micro-batches that fits (fewer leave most
            // of it idle), and looks below that only while the step keeps falling; one stage starts at the
            // fewest that fit
            int start = lo;
            if (p > 1) {
                while (start < ms.size() - 1 && ms.get(start) < p) {
                    start++;
                }
                int s = start;
                while (s < ms.size() && !fits(at.apply(s)) && timeLeft()) {
                    s++;
                }
                start = s < ms.size() && fits(at.apply(s)) ? s : lo;
            }
            if (start == lo) {
                while (lo < ms.size() && !fits(at.apply(lo))) {
                    if (!timeLeft()) {
                        return new Sweep(at.apply(lo).orElse(null), true);
                    }
                    lo++;
                }
                if (lo == ms.size()) {
                    return new Sweep(at.apply(lo - 1).orElse(null), true);
                }
                start = lo;
            }
            Outcome best = at.apply(start).get();
            // with one stage, needing more than one micro-batch means memory binds; a pipeline wants them anyway
            boolean bound = best.memoryBound() || (p == 1 && start > 0);
            int worse = 0;
            for (int i = start + 1; refine && i < ms.size() && timeLeft(); i++) {
                Outcome prev = at.apply(i - 1).orElse(null);
                if (p == 1 && prev != null && !prev.memoryBound()) {
                    break; // more micro-batches only slow a single stage down once memory does not bind
                }
                Optional<Outcome> o = at.apply(i);
                if (o.isEmpty() || !o.get().fits()) {
                    continue;
                }
                if (o.get().isBounded()) {
                    // cannot beat the plan found: as a count that is slower
                    if (++worse >= SWEEP_SLOWER_COUNTS) {
                        break;
                    }
                    continue;
                }
                if (better(o.get(), best)) {
                    best = o.get();
                    worse = 0;
                } else if (++worse >= SWEEP_SLOWER_COUNTS) {
                    break;
                }
            }
            // below the start (a pipeline only): fewer, larger micro-batches until SWEEP_SLOWER_COUNTS counts in a row
            // are slower or bounded, as above (the steps are not monotone in the count: an LSTM language model at batch 8 on 64
            // A100s, four stages, bounded at 4 and 2 micro-batches by the plan found then, runs 0.301 ms at 1, where
            // the search had kept two stages at 0.354 ms); none below a count that does not fit (fewer hold more)
            int fewerWorse = 0;
            for (int i = start - 1; refine && p > 1 && i >= lo && timeLeft(); i--) {
                Optional<Outcome> o = at.apply(i);
                if (o.isEmpty() || !o.get().fits()) {
                    break;
                }
                if (o.get().isBounded() || !better(o.get(), best)) {
                    if (++fewerWorse >= SWEEP_SLOWER_COUNTS) {
                        break;
                    }
                    continue;
                }
                best = o.get();
                fewerWorse = 0;
            }
            if (deferredBinds && refine && !bound) {
                // counts put off because a stage's solve did not fit, where the count kept is not bound by memory
                // (so that the second pass does not go on to higher ZeRO stages): each is priced at the next ZeRO
                // stage after the second pass (GPT-145.6B, P 2: 8 micro-batches put off at ZeRO 1, where the
                // count kept is 16 at 28.5 s; at ZeRO 2 the 8 fit at 15.1 s)
                for (Deferred d : deferred) {
                    if (d.stages() == p && d.recompute() == rc && d.zero() == z) {
                        nextZero.add(new int[] {p, d.microBatches(), rc ? 1 : 0, z});
                    }
                }
            }
            return new Sweep(best, bound);
        } catch (IllegalStateException e) {
            if (e.getCause() instanceof ShardplanException se) {
                throw se;
            }
            throw e;
        }
    }

    /**
     * Whether the counts a second-pass sweep put off because memory binds, where the count it keeps is not bound, are
     * priced at the next ZeRO stage ({@link #nextZero}); {@code -Dshardplan.deferredBinds=false}: not (tests
     * compare).
     */
    static boolean deferredBinds = !"false".equals(System.getProperty("shardplan.deferredBinds"));

    private static boolean fits(Optional<Outcome> o) {
        return o.isPresent() && o.get().fits();
    }

    private final java.util.TreeSet<Integer> triedStages = new java.util.TreeSet<>();
    private final java.util.TreeSet<Integer> triedMicro = new java.util.TreeSet<>();
    private final java.util.TreeSet<String> triedMemory = new java.util.TreeSet<>();

    /** What the configurations priced covered, for messages. */
    String searched() {
        return "pipeline stages " + triedStages + ", micro-batches " + triedMicro + ", " + String.join(", ", triedMemory);
    }

    /** The graph the outcome was planned on. */
    Graph graphOf(Outcome o) throws ShardplanException {
        return graph(o.micro() > 0 ? o.micro() : batch);
    }
}
