package org.shardplan.planner;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.ClusterFiles;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.baseline.BatchDims;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.eval.PlanEvaluator;
import org.shardplan.planner.solver.AutoSolver;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * Finds the fastest plan for training a graph on a cluster. Immutable: each {@code with...} method
 * returns a changed copy.
 *
 * <pre>{@code
 * Plan plan = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 64))
 *         .withBatch(256)
 *         .plan(graph);
 * }</pre>
 *
 * <p>{@link #plan} searches the configurations the {@link SearchOptions} leave open (pipeline stages,
 * micro-batches, recomputation, ZeRO stage: {@link PipelineSearch}); in each, every stage's strategy
 * problem ({@link ProblemBuilder}, with the baselines' layouts among the candidates, {@link
 * Baselines}) is solved by exact dynamic programming when the memory limit does not bind, else with
 * the limit priced by Lagrangian relaxation on the problem with repeated blocks tied to one set of
 * layouts ({@link org.shardplan.planner.build.StageProblem}), else by the {@link AutoSolver}; the
 * fastest configuration that fits becomes a {@link Plan}. Since the baselines are candidates of the
 * one-stage problem, the plan's step time is never above a baseline's that fits where the options
 * allow one stage and one micro-batch; if the search stops at its time limit with something worse,
 * the best fitting baseline is returned instead.
 */
public final class Planner {

    /** The settings of a planner: copied and changed by the {@code with} methods ({@link #with}), never changed after. */
    private static final class Config implements Cloneable {
        Cluster cluster;
        long batch;
        Map<String, Long> dims = Map.of();
        OptionalDouble memoryLimit = OptionalDouble.empty();
        MemoryModel memory = MemoryModel.DEFAULT;
        double timeLimit = 60;
        int maxLayouts = 64;
        Optional<ComputeModel> compute = Optional.empty();
        String calibration = "analytic";
        String version = "unknown";
        String modelName = "";
        String sha256 = "";
        SearchOptions search = SearchOptions.AUTO.withPipeline(1).withMicroBatches(1);
        boolean fusedAttention = true;
        boolean gradientOverlap = true;
        double gradientBucketBytes = ComputeModel.DEFAULT_GRADIENT_BUCKET_BYTES;

        Config copy() {
            try {
                return (Config) clone();
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private final Config c;

    /** The request key a plan records a gradient reduction run after the backward pass under. */
    public static final String GRADIENT_REDUCTION = "gradient-reduction";
    /** Its value: the reduction after the backward pass ({@link #withGradientOverlap} false). */
    public static final String AFTER_BACKWARD = "after-backward";
    /**
     * The request key a plan records the gradient buckets' size under, in MiB ({@link #withGradientBucketBytes}),
     * where it is not the default 25.
     */
    public static final String GRADIENT_BUCKET_MB = "gradient-bucket-mb";

    private Planner(Config c) {
        this.c = c;
    }

    /** A planner with this one's settings but for what {@code change} sets on a copy of them. */
    private Planner with(java.util.function.Consumer<Config> change) {
        Config n = c.copy();
        change.accept(n);
        return new Planner(n);
    }

    /** A planner for the cluster with the defaults: no batch, the devices' memory, Adam in mixed precision. */
    public static Planner forCluster(Cluster cluster) {
        Config c = new Config();
        c.cluster = Objects.requireNonNull(cluster, "cluster");
        return new Planner(c);
    }

    /** The global batch size (used to find each node's batch dimension; 0: the first axis of each input). */
    public Planner withBatch(long batch) {
        if (batch < 0) {
            throw new IllegalArgumentException("batch must be >= 0, found " + batch);
        }
        return with(n -> n.batch = batch);
    }

    /** The symbolic dimension bindings the graph was imported with (recorded in the plan). */
    public Planner withDims(Map<String, Long> dims) {
        return with(n -> n.dims = new LinkedHashMap<>(dims));
    }

    /** A per-device memory limit in bytes (default: the smallest device's memory). */
    public Planner withMemoryLimit(double bytes) {
        if (!(bytes > 0) || Double.isInfinite(bytes)) {
            throw new IllegalArgumentException("memory limit must be a positive number of bytes, found " + bytes);
        }
        return with(n -> n.memoryLimit = OptionalDouble.of(bytes));
    }

    /** Optimizer, ZeRO stage (0-3) and activation recomputation, all three fixed. */
    public Planner withMemoryModel(MemoryModel m) {
        Objects.requireNonNull(m);
        return with(n -> {
            n.memory = m;
            n.search = c.search.withZeroStage(m.zeroStage()).withRecompute(m.recompute());
        });
    }

    /** The optimizer preset, keeping the ZeRO and recomputation choices. */
    public Planner withOptimizer(OptimizerSpec o) {
        return with(n -> n.memory = new MemoryModel(o, c.memory.zeroStage(), c.memory.recompute()));
    }

    /** Sharded data parallelism fixed to ZeRO stage 0 to 3. */
    public Planner withZeroStage(int stage) {
        return withMemoryModel(new MemoryModel(c.memory.optimizer(), stage, c.memory.recompute()));
    }

    /** Activation recomputation fixed on or off. */
    public Planner withRecompute(boolean on) {
        return withMemoryModel(new MemoryModel(c.memory.optimizer(), c.memory.zeroStage(), on));
    }

    /**
     * What the search decides (pipeline stages, degrees, schedule, micro-batches, recomputation, ZeRO):
     * {@link SearchOptions#AUTO} lets it choose everything. The default is one stage and one
     * micro-batch, with recomputation and ZeRO chosen.
     */
    public Planner withSearch(SearchOptions s) {
        MemoryModel m = new MemoryModel(c.memory.optimizer(), s.zeroStage().orElse(c.memory.zeroStage()),
                s.recompute().orElse(c.memory.recompute()));
        Objects.requireNonNull(s, "search");
        return with(n -> {
            n.memory = m;
            n.search = s;
        });
    }

    /**
     * Attention priced as one fused kernel (true, the default: what current stacks run, FlashAttention
     * and its kin) or as the separate operators the graph writes, over materialised scores (false).
     */
    public Planner withAttention(boolean fused) {
        return with(n -> n.fusedAttention = fused);
    }

    /**
     * The data-parallel gradient reduction overlapped with the backward pass (true, the default: PyTorch
     * DDP and FSDP) or run after it (false: Megatron-LM's own data parallelism of 2021,
     * {@link ComputeModel#withGradientOverlap}).
     */
    public Planner withGradientOverlap(boolean overlap) {
        return with(n -> n.gradientOverlap = overlap);
    }

    /**
     * The data-parallel gradient reduction run in buckets of {@code bytes} (default 25 MiB, PyTorch DDP's
     * {@code bucket_cap_mb}; {@link ComputeModel#withGradientBucketBytes}). Recorded in the plan's
     * {@code options.requested} as {@value #GRADIENT_BUCKET_MB} in MiB where it is not the default.
     */
    public Planner withGradientBucketBytes(double bytes) {
        if (!(bytes > 0) || Double.isInfinite(bytes)) {
            throw new IllegalArgumentException("gradient bucket must be a positive number of bytes, found " + bytes);
        }
        return with(n -> n.gradientBucketBytes = bytes);
    }

    /** The size in bytes of the buckets the data-parallel gradient reduction is priced in. */
    public double gradientBucketBytes() {
        return c.gradientBucketBytes;
    }

    /** Whether the data-parallel gradient reduction is priced overlapped with the backward pass. */
    public boolean gradientOverlap() {
        return c.gradientOverlap;
    }

    /** Whether attention is priced fused. */
    public boolean fusedAttention() {
        return c.fusedAttention;
    }

    /** The search options in force. */
    public SearchOptions search() {
        return c.search;
    }

    /** The solver's wall-clock limit in seconds (default 60). */
    public Planner withTimeLimit(double seconds) {
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("time limit must be positive, found " + seconds);
        }
        return with(n -> n.timeLimit = seconds);
    }

    /** The most candidate layouts per node besides the baselines' (default 64; 0: all). */
    public Planner withMaxLayouts(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("max layouts must be >= 0, found " + n);
        }
        return with(x -> x.maxLayouts = n);
    }

    /** A calibrated compute model and the name of its calibration (default: analytic roofline). */
    public Planner withComputeModel(ComputeModel m, String calibrationName) {
        return with(n -> {
            n.compute = Optional.of(m);
            n.calibration = calibrationName;
        });
    }

    /** The model's name and file hash recorded in the plan. */
    public Planner withModel(String name, String sha256) {
        return with(n -> {
            n.modelName = name;
            n.sha256 = sha256;
        });
    }

    /** The shardplan version recorded in the plan. */
    public Planner withVersion(String version) {
        return with(n -> n.version = version);
    }

    /** The planner a plan was made with (cluster, batch, dims, memory options, model), to re-cost it. */
    public static Planner forPlan(Plan p) throws PlanFormatException {
        Cluster cl;
        try {
            cl = ClusterFiles.parse(p.cluster().definition(), "plan cluster.definition");
        } catch (ClusterException e) {
            throw new PlanFormatException(e.getMessage(), e);
        }
        OptimizerSpec o;
        try {
            o = OptimizerSpec.of(p.options().optimizer());
        } catch (ClusterException e) {
            throw new PlanFormatException("options.optimizer: " + e.getMessage(), e);
        }
        SearchOptions so = SearchOptions.AUTO.withPipeline(p.parallelism().pipeline())
                .withMicroBatches(p.parallelism().microBatches()).withRecompute(p.options().recompute())
                .withZeroStage(p.options().zeroStage());
        if (p.parallelism().copies() == 1) {
            // the plan's degrees are a data x tensor mesh per stage: reported as such again (no copies)
            so = so.withTensor(p.parallelism().tensor()).withData(p.parallelism().data());
        }
        if (SearchOptions.SCHEDULES.contains(p.schedule().name())) {
            so = so.withSchedule(p.schedule().name()).withVirtualStages(p.schedule().virtualStages());
        }
        if (p.schedule().maxActiveKeys() > 0) {
            so = so.withMaxActiveKeys(p.schedule().maxActiveKeys()).withMinUpdateFrequency(p.schedule().minUpdateFrequency());
        }
        Planner r;
        try {
            r = forCluster(cl).withBatch(p.batch()).withDims(p.dims())
                    .withMemoryModel(new MemoryModel(o, p.options().zeroStage(), p.options().recompute()))
                    .withSearch(so).withModel(p.model().name(), p.model().sha256());
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException(e.getMessage(), e);
        }
        r = r.withAttention(!"unfused".equals(p.options().requested().get("attention")));
        r = r.withGradientOverlap(!AFTER_BACKWARD.equals(p.options().requested().get(GRADIENT_REDUCTION)));
        r = r.withGradientBucketBytes(gradientBucketBytesOf(p));
        return p.options().memoryLimitBytes() > 0 ? r.withMemoryLimit(p.options().memoryLimitBytes()) : r;
    }

    /**
     * The size in bytes of the buckets a plan's data-parallel gradient reduction was priced in: its
     * {@code options.requested} {@value #GRADIENT_BUCKET_MB} in MiB, else the default 25 MiB.
     *
     * @throws PlanFormatException where the recorded size is not a positive number
     */
    public static double gradientBucketBytesOf(Plan p) throws PlanFormatException {
        String mb = p.options().requested().get(GRADIENT_BUCKET_MB);
        if (mb == null) {
            return ComputeModel.DEFAULT_GRADIENT_BUCKET_BYTES;
        }
        double bytes;
        try {
            bytes = Double.parseDouble(mb) * 1024 * 1024;
        } catch (NumberFormatException e) {
            bytes = Double.NaN;
        }
        if (!(bytes > 0) || Double.isInfinite(bytes)) {
            throw new PlanFormatException("options.requested." + GRADIENT_BUCKET_MB + ": must be a positive number of"
                    + " MiB, found '" + mb + "'");
        }
        return bytes;
    }

    public Cluster cluster() {
        return c.cluster;
    }

    /** The per-device memory limit in force. */
    public double memoryLimit() {
        return c.memoryLimit.orElse(c.cluster.minDeviceMemoryBytes());
    }

    /** The cost-model settings of this planner. */
    public ProblemBuilder.Settings settings() {
        ComputeModel cm = c.compute.orElseGet(() -> ComputeModel.analytic(slowestDevice(c.cluster)))
                .withAttention(c.fusedAttention).withGradientOverlap(c.gradientOverlap)
                .withGradientBucketBytes(c.gradientBucketBytes);
        return new ProblemBuilder.Settings(c.cluster, cm, c.memory, c.maxLayouts, OptionalDouble.of(memoryLimit()));
    }

    /**
     * The device a synchronous step waits for: the one with the lowest float32 peak (on a homogeneous
     * cluster, the only type).
     */
    static org.shardplan.cost.cluster.DeviceSpec slowestDevice(Cluster cl) {
        org.shardplan.cost.cluster.DeviceSpec slow = cl.nodes().get(0).device();
        for (org.shardplan.cost.cluster.ClusterNode n : cl.nodes()) {
            if (n.device().peakFlops("float32") < slow.peakFlops("float32")) {
                slow = n.device();
            }
        }
        return slow;
    }

    /** A problem builder for a coarse graph. */
    public ProblemBuilder problemBuilder(CoarseGraph cg) {
        return new ProblemBuilder(settings().forModel(cg), cg.nodes().size());
    }

    /** Re-costs a plan (for example one edited by hand) on the graph, bound at the plan's batch. */
    public PlanEvaluator.Result evaluate(Plan plan, Graph g) throws PlanFormatException {
        try {
            return evaluate(plan, ModelSource.fixed(g, c.batch));
        } catch (PlanFormatException e) {
            throw e;
        } catch (ShardplanException e) {
            throw new PlanFormatException(e.getMessage(), e);
        }
    }

    /**
     * Re-costs a plan (for example one edited by hand) independently of the search: the model bound
     * at the plan's micro-batch size, every node's layout rebuilt on its stage's devices and priced
     * again ({@link PlanEvaluator#singleCandidate}), the stages' profiles and the schedule's closed form
     * computed again, and the memory checked against the limit.
     *
     * @throws PlanFormatException when the plan does not match the model or its degrees do not fit the cluster
     * @throws ShardplanException when the model cannot be bound at the plan's micro-batch size
     */
    public PlanEvaluator.Result evaluate(Plan plan, ModelSource source) throws ShardplanException {
        int used = plan.cluster().devices();
        if (used != c.cluster.deviceCount()) {
            // a plan on fewer devices (the others idle, as the search leaves them where they only slow it) runs on the
            // first ones: whole nodes, or part of the first node
            int perNode = c.cluster.nodes().get(0).devices();
            if (used < 1 || used > c.cluster.deviceCount() || used > perNode && used % perNode != 0) {
                throw new PlanFormatException("cluster.devices: the plan runs on " + used + " devices, which are not the"
                        + " first whole nodes (or part of the first node) of the cluster's " + c.cluster.deviceCount()
                        + " devices (" + perNode + " per node)");
            }
            return withCluster(PipelineSearch.submesh(c.cluster, used)).evaluate(plan, source);
        }
        int p = plan.parallelism().pipeline();
        int m = plan.parallelism().microBatches();
        int devices = c.cluster.deviceCount();
        if (p < 1 || devices % p != 0) {
            throw new PlanFormatException("parallelism.pipeline must divide the cluster's " + devices + " devices, found " + p);
        }
        if (m > 1 && (c.batch <= 0 || c.batch % m != 0)) {
            throw new PlanFormatException("parallelism.microBatches must divide the batch " + c.batch + ", found " + m);
        }
        int v = plan.schedule().virtualStages();
        String name = p == 1 ? "none" : plan.schedule().name();
        org.shardplan.planner.pipeline.Schedule sch;
        try {
            sch = org.shardplan.planner.pipeline.Schedules.of(name);
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException("schedule.name: " + e.getMessage(), e);
        }
        try {
            sch = sch.withParameters(p == 1 ? org.shardplan.planner.pipeline.ScheduleParameters.NONE
                    : plan.schedule().parameters());
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException("schedule: " + e.getMessage(), e);
        }
        if (p > 1) {
            java.util.Optional<String> bad = sch.check(p, m, v);
            if (bad.isPresent()) {
                throw new PlanFormatException("schedule: " + bad.get());
            }
        }
        int vstages = p == 1 ? 1 : p * (name.equals("interleaved") ? v : 1);
        if (plan.stages().size() != vstages) {
            throw new PlanFormatException("stages must have " + vstages + " entries (" + p + " pipeline stages"
                    + (vstages > p ? " x " + v + " virtual stages" : "") + "), found " + plan.stages().size());
        }
        PipelineSearch ps = new PipelineSearch(this, c.search, source, c.batch, c.timeLimit);
        long micro = c.batch > 0 ? c.batch / m : 0;
        Graph g = ps.graph(c.batch);
        CoarseGraph cg = ps.coarse(micro);
        ProblemBuilder pb = ps.builder(micro, devices / p, plan.options().recompute(), plan.options().zeroStage());
        pb.noDeadline(); // re-costing one layout per node is not a search: it runs to its end
        ProblemBuilder.Built one = PlanEvaluator.singleCandidate(plan, cg, pb);
        int n = one.units().size();
        int[] choice = new int[n];
        int[] bounds = new int[vstages + 1];
        Map<String, Integer> stageOf = new java.util.HashMap<>();
        plan.nodes().forEach(x -> stageOf.put(x.name(), x.stage()));
        for (int s = 0, i = 0; s < vstages; s++) {
            while (i < n && stageOf.get(one.units().get(i).name()) == s) {
                i++;
            }
            if (i == bounds[s]) {
                throw new PlanFormatException("stages[" + s + "] must hold at least one node, found none");
            }
            bounds[s + 1] = i;
        }
        if (bounds[vstages] != n) {
            throw new PlanFormatException("every node must belong to a stage between 0 and " + (vstages - 1));
        }
        boolean rc = plan.options().recompute();
        List<org.shardplan.planner.pipeline.StageProfile> profiles = ps.profiles(one, pb, choice, bounds, devices / p, rc);
        org.shardplan.planner.pipeline.Estimate e = PipelineSearch.estimate(sch, profiles, m, v);
        double step = p == 1 ? Evaluator.objective(PipelineSearch.weighted(one, m), choice)
                - PipelineSearch.overlapped(one, choice, profiles) : e.stepSeconds() + PipelineSearch.updateAfter(sch, profiles, p);
        boolean fits = ps.fitsLimit(e); // the search's limit: this planner's memory limit
        PipelineSearch.Outcome o = new PipelineSearch.Outcome(p, m, rc, plan.options().zeroStage(), sch, v, micro, one, pb,
                choice, bounds, profiles, e, step, fits, false, Double.NEGATIVE_INFINITY, false, false,
                plan.solver().name());
        Plan fresh = assemble(g, o, plan.baselines(), plan.solver(), new ArrayList<>(plan.warnings()), ps);
        Plan recosted = plan.withCosts(fresh.nodes(), fresh.parallelism(), fresh.schedule(), fresh.stages(), fresh.totals());
        List<String> violations = new ArrayList<>();
        if (!recosted.totals().fits()) {
            violations.add(String.format(java.util.Locale.ROOT, "memory per device %.3f GiB exceeds the limit %.3f GiB",
                    recosted.totals().peakMemoryBytesPerDevice() / (1L << 30), memoryLimit() / (1L << 30)));
        }
        return new PlanEvaluator.Result(recosted, violations, PlanEvaluator.difference(plan, recosted));
    }

    /**
     * Plans the graph as given: one stage, the whole batch at once, unless the search options fix
     * other degrees. Micro-batches need a model whose batch can be bound again: {@link #plan(ModelSource)}.
     *
     * @throws PlanInfeasibleException when no plan fits the memory limit
     */
    public Plan plan(Graph g) throws PlanInfeasibleException {
        try {
            return plan(ModelSource.fixed(g, c.batch));
        } catch (PlanInfeasibleException e) {
            throw e;
        } catch (ShardplanException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Plans the model: pipeline stages, micro-batches, recomputation and ZeRO stage as the search
     * options allow ({@link PipelineSearch}), and within every stage the exact per-layer search.
     *
     * @throws PlanInfeasibleException when no plan fits the memory limit
     * @throws ShardplanException when the options cannot apply to the model or cluster (naming the option)
     */
    public Plan plan(ModelSource source) throws ShardplanException {
        Planned r = search(source, fewerDevicesOn() && c.timeLimit >= FEWER_DEVICES_MIN_SECONDS);
        Plan exact = r.plan();
        Planner by = r.by() != null ? r.by() : this; // the planner of the devices the plan uses
        return c.search.parareal().enabled()
                ? by.withParareal(exact, r.search(), exact.options().recompute(), exact.options().zeroStage()) : exact;
    }

    /**
     * Whether a one-stage plan is searched with the plan on fewer devices, copied over the others, among its
     * candidates ({@link #fewerDevices}); on unless {@code -Dshardplan.fewerDevices=false}.
     */
    static boolean fewerDevicesOn() {
        return !"false".equals(System.getProperty("shardplan.fewerDevices"));
    }

    /**
     * The least time limit with which the plan on fewer devices is searched first: the chain of plans
     * about doubles the search, which a short limit (asked for a quick answer) does not leave room for.
     * The plans of the chain are searched with it whatever their share of the limit, so that each is the
     * plan that device count gets on its own.
     */
    static final double FEWER_DEVICES_MIN_SECONDS = 10;

    /**
     * A plan, its layout per coarse node (one stage), the micro-batch size it was planned at and the
     * search that made it (whose bound and coarse graphs a plan on more devices reuses).
     */
    private record Planned(Plan plan, Map<String, Layout> layouts, long micro, PipelineSearch search, Planner by) {
        /** A plan on this planner's cluster. */
        Planned(Plan plan, Map<String, Layout> layouts, long micro, PipelineSearch search) {
            this(plan, layouts, micro, search, null);
        }
    }

    /**
     * The plan on the devices without the most significant digit of this cluster's device index
     * ({@link DeviceDigits#withoutTopDigit}: 32 of 64, 4 of 8), itself planned the same way, so down to one
     * device: the plan of {@link #plan} for that many devices. Only when the options fix one stage and
     * no data- or tensor-parallel degree; empty for one device or when nothing fits there. The search on
     * all the devices takes its layouts, copied over the other devices ({@link StrategySpace#copied}: each
     * device computes what the device of the smaller set with the same low digits computes, and copies
     * need no collective between them), as candidates, so that its plan is never slower than this one:
     * more devices never make a slower plan. Only when the time limit is at least
     * {@link #FEWER_DEVICES_MIN_SECONDS} (the default is 60 s). Its time limit is half this planner's (and half of that
     * goes to the plan on fewer devices still).
     */
    private Optional<Planned> fewerDevices(ModelSource source, boolean chain) throws ShardplanException {
        SearchOptions so = c.search;
        if (!chain || so.pipeline().orElse(0) != 1 || so.tensor().isPresent() || so.data().isPresent()) {
            return Optional.empty();
        }
        Optional<DeviceDigits> sub = DeviceDigits.of(c.cluster.deviceCount(), c.cluster.devicesPerNode()).withoutTopDigit();
        if (sub.isEmpty()) {
            return Optional.empty();
        }
        Planner fewer = withCluster(PipelineSearch.submesh(c.cluster, sub.get().devices()))
                .withTimeLimit(Math.max(0.05, 0.5 * c.timeLimit))
                .withSearch(so.withParareal(SearchOptions.Parareal.OFF));
        try {
            return Optional.of(fewer.search(source, true));
        } catch (PlanInfeasibleException e) {
            return Optional.empty();
        }
    }

    /** The layouts of the plan on fewer devices copied over all the devices; nodes whose layout cannot be are left out. */
    private static Map<String, Layout> lift(Map<String, Layout> small, DeviceDigits dd) {
        Map<String, Layout> r = new LinkedHashMap<>();
        small.forEach((node, l) -> {
            try {
                r.put(node, StrategySpace.copied(l, dd));
            } catch (IllegalArgumentException e) {
                // not on the low digits: not a layout the larger set can copy
            }
        });
        return r;
    }

    private Planned search(ModelSource source, boolean chain) throws ShardplanException {
        long t0 = System.nanoTime();
        SearchOptions so = c.search;
        Optional<Planned> fewer = fewerDevices(source, chain);
        double left = c.timeLimit - (System.nanoTime() - t0) / 1e9;
        // what is left of the limit, however little: building and solving check it and answer with what they have
        PipelineSearch ps = new PipelineSearch(this, so, source, c.batch, Math.max(1e-9, left));
        DeviceDigits all = DeviceDigits.of(c.cluster.deviceCount(), c.cluster.devicesPerNode());
        Map<String, Layout> lifted = Map.of();
        if (fewer.isPresent()) {
            ps.adoptModels(fewer.get().search());
            lifted = lift(fewer.get().layouts(), all);
            ps.require(fewer.get().micro(), lifted);
        }
        Graph g = ps.graph(c.batch);
        if (so.parareal().segments().isPresent()) {
            // a parareal request that cannot apply fails before the search
            org.shardplan.planner.parareal.PararealSearch.check(ps.coarse(c.batch), c.cluster.deviceCount(),
                    so.parareal().segments().getAsInt(), "--parareal");
        }
        Optional<PipelineSearch.Outcome> found = ps.run();
        // where the command's time limit ran out, the answer is still assembled (the plan priced, or a baseline);
        // on a large graph with the data-parallel baseline alone, on the problem of its own layouts where the
        // whole one was not built, and not at all where even its coarse graph was not made (that is the
        // command's one-line message)
        boolean late = org.shardplan.graph.Deadline.passed()
                && g.nodes().size() > LATE_BASELINE_NODES;
        // the search stopped by a time limit (the command's, or its own): its answer stands
        boolean stopped = org.shardplan.graph.Deadline.passed() || ps.stoppedWhile != null || !ps.timeLeft();
        if (late && found.isEmpty() && !ps.hasCoarse(c.batch)) {
            throw new org.shardplan.graph.Deadline.Expired(ps.stoppedWhile != null ? ps.stoppedWhile
                    : "coarsening the graph");
        }
        try (org.shardplan.graph.Deadline.Scope answer = org.shardplan.graph.Deadline.lifted()) {
            double solveSeconds = (System.nanoTime() - t0) / 1e9;
            // the baselines: one stage, one micro-batch, under the memory options of the plan found
            boolean rc = found.map(PipelineSearch.Outcome::recompute).orElse(so.recompute().orElse(false));
            int z = found.map(PipelineSearch.Outcome::zero).orElse(so.zeroStage().orElse(0));
            double limit = memoryLimit();
            Map<String, Plan.Baseline> baselines = new LinkedHashMap<>();
            Map<String, int[]> baselineChoices = new LinkedHashMap<>();
            ProblemBuilder pbOne = ps.builder(c.batch, c.cluster.deviceCount(), rc, z);
            ProblemBuilder.Built one;
            try {
                one = ps.built(c.batch, c.cluster.deviceCount(), rc, z);
            } catch (ProblemBuilder.OutOfTime e) {
                // the one-stage problem was not built within the time limit: the baselines are priced on the
                // problem whose candidates are their own layouts (the same node and edge costs, fewer candidates)
                CoarseGraph whole = ps.coarse(c.batch);
                one = pbOne.buildRequiredOnly(whole, late ? dataParallelOnly(whole, c.batch, pbOne)
                        : PipelineSearch.required(whole, c.batch, pbOne));
            }
            CoarseGraph cg = one.coarse();
            Problem freeMem = PipelineSearch.weighted(one, 1);
            Baselines.Baseline dp = Baselines.dataParallel(cg, c.batch, pbOne.digits());
            int[] dpChoice = choices(one, dp);
            Evaluator.Evaluation dpEval = Evaluator.evaluate(freeMem, dpChoice);
            baselineChoices.put(Baselines.DATA_PARALLEL, dpChoice);
            baselines.put(Baselines.DATA_PARALLEL, new Plan.Baseline(dp.name(),
                    dpEval.total() - oneStageOverlap(ps, one, pbOne, dpChoice, rc), dpEval.memory(), dpEval.memory() <= limit));
            // the expert: of its variants (Megatron's tensor-parallel degrees), the fastest that fits, else the fastest
            if (late) {
                ps.notes.add("the time limit ran out before the expert's baseline was priced: data parallelism is the"
                        + " only baseline");
            }
            for (Baselines.Baseline e : late ? List.<Baselines.Baseline>of() : Baselines.experts(cg, c.batch, pbOne.digits())) {
                int[] ch = choices(one, e);
                Evaluator.Evaluation ev = Evaluator.evaluate(freeMem, ch);
                Plan.Baseline b = new Plan.Baseline(e.name(), ev.total() - oneStageOverlap(ps, one, pbOne, ch, rc), ev.memory(),
                        ev.memory() <= limit);
                Plan.Baseline old = baselines.get(Baselines.EXPERT);
                if (old == null || (b.fits() && !old.fits()) || (b.fits() == old.fits() && b.stepSeconds() < old.stepSeconds())) {
                    baselines.put(Baselines.EXPERT, b);
                    baselineChoices.put(Baselines.EXPERT, ch);
                }
            }
            PipelineSearch.Outcome best = found.filter(PipelineSearch.Outcome::fits).orElse(null);
            String solverName = best == null ? "" : best.stages() > 1 ? "pipeline+" + best.solver() : best.solver();
            boolean fixedConfig = so.pipeline().orElse(0) == 1 && so.microBatches().orElse(0) == 1
                    && so.recompute().isPresent() && so.zeroStage().isPresent();
            // a baseline is a plan of one stage and one micro-batch, kept when the options allow one
            boolean baselineAllowed = so.pipeline().orElse(1) == 1 && so.microBatches().orElse(1) == 1
                    && so.tensor().isEmpty() && so.data().isEmpty();
            for (Map.Entry<String, int[]> e : baselineChoices.entrySet()) {
                Plan.Baseline b = baselines.get(e.getKey());
                if (baselineAllowed && b.fits() && (best == null || b.stepSeconds() < best.stepSeconds() * (1 - 1e-12))) {
                    int[] ch = e.getValue();
                    ProblemBuilder.Built bb = one;
                    // a bound proven by the search of the same configuration (one stage, one micro-batch)
                    // bounds the baseline's configuration too
                    boolean same = best != null && best.stages() == 1 && best.microBatches() == 1 && best.recompute() == rc
                            && best.zero() == z;
                    double kept = same ? best.lowerBound() : Double.NEGATIVE_INFINITY;
                    boolean keptTied = same && best.tied();
                    best = new PipelineSearch.Outcome(1, 1, rc, z, org.shardplan.planner.pipeline.Schedules.of("none"), 1, c.batch,
                            bb, pbOne, ch,
                            new int[] {0, bb.units().size()},
                            ps.profiles(bb, pbOne, ch, new int[] {0, bb.units().size()}, c.cluster.deviceCount(), rc),
                            null, b.stepSeconds(), true, false, Math.min(kept, b.stepSeconds()), keptTied, false,
                            "baseline:" + b.name());
                    solverName = "baseline:" + b.name();
                }
            }
            // the plan on fewer devices, copied: its layouts are candidates of the search, which finds it or a
            // faster plan when it is exact; where it is not (time limit, other memory settings), compared here
            if (fewer.isPresent() && baselineAllowed && !late) {
                Optional<PipelineSearch.Outcome> copiedPlan = copiedOutcome(ps, fewer.get(), lifted);
                if (copiedPlan.isPresent() && (best == null || copiedPlan.get().stepSeconds() < best.stepSeconds() * (1 - 1e-12))) {
                    PipelineSearch.Outcome cp = copiedPlan.get();
                    // its layouts are candidates of the search's problem of the same configuration, whose bound
                    // then bounds it too
                    boolean same = best != null && best.stages() == 1 && best.microBatches() == cp.microBatches()
                            && best.recompute() == cp.recompute() && best.zero() == cp.zero() && best.micro() == cp.micro();
                    if (same && Double.isFinite(best.lowerBound())) {
                        cp = new PipelineSearch.Outcome(cp.stages(), cp.microBatches(), cp.recompute(), cp.zero(),
                                cp.schedule(), cp.virtual(), cp.micro(), cp.built(), cp.builder(), cp.choice(), cp.bounds(),
                                cp.profiles(), cp.estimate(), cp.stepSeconds(), cp.fits(),
                                best.lowerBound() >= cp.stepSeconds() * (1 - PipelineSearch.PROVEN),
                                Math.min(best.lowerBound(), cp.stepSeconds()), best.tied(), cp.memoryBound(), cp.solver());
                    }
                    best = cp;
                    solverName = best.solver();
                }
            }
            // the chosen configuration on fewer devices per stage, copied over the others, where pipelines are allowed
            // (with one stage fixed, the plan on fewer devices is searched first, fewerDevices, where the time limit
            // allows); the search's plan as reported (a pipeline's: its bound's minimisers priced too) is what a
            // copied plan must beat
            Lifted copied = null;
            PipelineSearch.Reported own = null;
            PipelineSearch.Outcome searched = best;
            boolean pipelines = best != null && !stopped && so.pipeline().orElse(0) != 1;
            if (pipelines && best.stages() == 1 && othersReportedOn) {
                // a one-stage plan kept: the pipelines priced near it, as they would be reported if kept
                PipelineSearch.Reported other = othersReported(ps, best);
                if (other != null) {
                    own = other;
                    best = other.plan();
                    searched = best;
                    solverName = "pipeline+" + best.solver();
                }
            }
            if (fewer.isEmpty() && pipelines && copiedStagesOn() && so.tensor().isEmpty() && so.data().isEmpty()) {
                if (own == null) {
                    own = best.stages() > 1 ? ps.reported(best) : new PipelineSearch.Reported(best, best.lowerBound());
                }
                try {
                    copied = copiedStages(source, ps, own).orElse(null);
                } catch (ShardplanException | IllegalArgumentException e) {
                    // a step that can only make the plan faster: the search's plan stands, and the plan says why
                    ps.notes.add("the chosen configuration was not priced on fewer devices a stage: " + e.getMessage());
                }
                if (copied != null) {
                    best = copied.plan();
                    solverName = best.stages() > 1 ? "pipeline+" + best.solver() : best.solver();
                }
            }
            if (best == null && found.isEmpty() && ps.noLayout != null) {
                // nothing was over the memory limit: the options themselves leave no plan
                throw new ShardplanException("the fixed options leave no plan: with " + ps.noLayout
                        + " (fewer micro-batches or other degrees would give each micro-batch enough samples to split)");
            }
            if (best == null && late) {
                // the problem priced here holds the data-parallel layouts alone: it tells nothing of what other
                // plans need
                Plan.Baseline dpb = baselines.get(Baselines.DATA_PARALLEL);
                throw new PlanInfeasibleException(String.format(java.util.Locale.ROOT, "no plan found within the %.3g s"
                        + " of the time limit the search had fits: it priced %d configuration%s before it ran out (%s), and the"
                        + " data-parallel baseline needs %.2f GiB per device against %.2f GiB; a larger --time-limit"
                        + " lets the search look further", c.timeLimit, ps.configurations, ps.configurations == 1 ? "" : "s",
                        ps.stoppedWhile == null ? "after it" : "while " + ps.stoppedWhile,
                        dpb.peakMemoryBytesPerDevice() / (1L << 30), limit / (1L << 30)));
            }
            if (best == null) {
                throw new PlanInfeasibleException(Infeasible.explain(this, cg, one, limit) + "; searched " + ps.configurations
                        + " configuration" + (ps.configurations == 1 ? "" : "s") + " (" + ps.searched() + ")"
                        + (ps.timeLeft() ? "" : ", stopped by the time limit of " + c.timeLimit + " s"));
            }
            // OPTIMAL only with a proven bound equal to the step (over the space boundScope names)
            String status = best.stages() == 1 && best.proven() && best.solver().equals(solverName)
                    ? Status.OPTIMAL.name() : Status.FEASIBLE.name();
            double lower = best.lowerBound();
            if (copied != null) {
                // the configuration's bound over its plans on all the stage's devices and over those copied from fewer,
                // the copied ones' bound as their configuration's on the fewer devices, priced there: on all the devices
                // a copied plan can price a little differently (its optimizer step and transfers on other devices and
                // links), so the two bounds do not prove a copied plan optimal here
                lower = Math.min(own.lowerBound(), copied.bound());
                status = Status.FEASIBLE.name();
            } else if (best.stages() > 1) {
                // a pipeline's bound over its configuration, whose minimisers may be faster plans of it
                PipelineSearch.Reported reported = own != null ? own : ps.reported(best); // own: best's, where computed
                best = reported.plan();
                lower = reported.lowerBound();
                if (lower >= best.stepSeconds() * (1 - 1e-9)) {
                    status = Status.OPTIMAL.name(); // the configuration's bound reaches the step
                }
            }
            lower = Math.min(lower, best.stepSeconds());
            long strategies = 0;
            // the problem the search solved (a plan copied from fewer devices is priced on one of its layouts alone)
            ProblemBuilder.Built solved = copied != null ? searched.built() : best.built();
            for (ProblemBuilder.Unit u : solved.units()) {
                strategies += u.layouts().size();
            }
            double seconds = (System.nanoTime() - t0) / 1e9; // the bound's time included
            String scope;
            if (fixedConfig && best.stages() == 1) {
                scope = best.tied() ? "layouts tied across the instances of each repeated block" : "full";
            } else {
                scope = "the chosen configuration only (" + best.stages() + " stage" + (best.stages() == 1 ? "" : "s")
                        + ", " + best.microBatches() + " micro-batch" + (best.microBatches() == 1 ? "" : "es") + ", recomputation "
                        + (best.recompute() ? "on" : "off") + ", ZeRO " + best.zero()
                        + (best.tied() ? ", layouts tied across the instances of each repeated block" : "")
                        + (best.stages() > 1 ? ", bounded across stages by each schedule's step over every partition at the"
                                + " cuts with each chunk's least profile, docs/schedules.md" : "")
                        + (copied != null ? "; and its plans on " + copied.smallPlan().builder().digits().devices()
                                + " devices a stage, bounded there, " + (copied.idle() != null ? "the other devices idle"
                                : "copied over the others") : "") + ")";
            }
            Plan.SolverInfo si = new Plan.SolverInfo(solverName, status, best.stepSeconds(), lower, seconds, solveSeconds,
                    solved.problem().size(), solved.problem().edges().size(), strategies, scope, ps.configurations);
            List<String> warnings = new ArrayList<>(ps.notes);
            if (copied != null && best.solver().equals("fewer-devices")) {
                int small = copied.smallPlan().builder().digits().devices();
                warnings.add(String.format(java.util.Locale.ROOT, "no plan found that uses all %d devices of each stage is"
                        + " faster than this configuration's plan on %d devices a stage (%.4g s), which this plan is, its work"
                        + " copied over the other devices (copies compute the same values and gradients: no collective runs"
                        + " between them)", c.cluster.deviceCount() / best.stages(), small, copied.smallPlan().stepSeconds()));
            }
            Planner by = this; // the planner of the cluster the plan runs on
            if (copied != null && copied.idle() != null) {
                // a plan on the first devices alone: its cluster is theirs, named after the whole one
                int used = best.stages() * copied.smallPlan().builder().digits().devices();
                Cluster sub = PipelineSearch.submesh(c.cluster, used);
                by = withCluster(new Cluster(c.cluster.name() + " (" + used + " of its " + c.cluster.deviceCount()
                        + " devices)", sub.nodes(), sub.interNode()));
                warnings.add(String.format(java.util.Locale.ROOT, "%d of the %d devices are left idle: this plan on the first %d"
                        + " (%.4g s a step) is faster than every plan found that uses all %d (the fastest %.4g s, %.2f%%"
                        + " slower), its copies over them included; the cluster of this plan is those %d",
                        c.cluster.deviceCount() - used, c.cluster.deviceCount(), used, best.stepSeconds(),
                        c.cluster.deviceCount(), copied.allDevices(), 100 * (copied.allDevices() / best.stepSeconds() - 1), used));
            }
            Map<String, Layout> chosen = new LinkedHashMap<>();
            boolean allCopied = best.stages() == 1 && fewer.isPresent();
            for (ProblemBuilder.Unit u : best.built().units()) {
                Layout l = u.layouts().get(best.choice()[u.index()]);
                chosen.put(u.name(), l);
                allCopied &= l.equals(lifted.get(u.name()));
            }
            if (allCopied) {
                int small = fewer.get().plan().cluster().devices();
                warnings.add(String.format(java.util.Locale.ROOT, "no plan found that uses all %d devices is faster than the plan"
                        + " for %d devices (%.4g s), which this plan is, its work copied over the other devices (copies compute"
                        + " the same values and gradients: no collective runs between them)", c.cluster.deviceCount(), small,
                        fewer.get().plan().totals().stepSeconds()));
            }
            PipelineSearch from = copied != null && copied.idle() != null ? copied.idle() : ps;
            Plan exact = by.assemble(g, best, baselines, si, warnings, from);
            return new Planned(exact, best.stages() == 1 ? chosen : Map.of(), best.micro(), from, by);
        }
    }

    /** -Dshardplan.trace=true: the copies' steps on standard error. */
    private static final boolean TRACE = Boolean.getBoolean("shardplan.trace");

    /**
     * Whether the chosen configuration is also priced on fewer devices per stage, its layouts copied over the others
     * ({@link #copiedStages}); on unless {@code -Dshardplan.copiedStages=false}.
     */
    static boolean copiedStagesOn() {
        return !"false".equals(System.getProperty("shardplan.copiedStages"));
    }

    /**
     * How much slower than the fastest plan so far a plan on fewer devices a stage may be priced for its reported plan
     * to be sought ({@link #copiedStages}): the bound's minimisers make a pipeline up to a fifth faster on the zoo
     * (MobileNet-v2 at 16 A100s, batch 8: 1.969 ms priced, 1.621 ms reported), and a pipeline's reported bound costs
     * up to seconds (DenseNet-121's on 2 devices a stage of 16 stages: 1.7 s, for a plan 46% slower than the one on
     * 4 devices a stage).
     */
    static final double COPIED_REPORTED_WITHIN = 1.25;

    /**
     * How much slower than the fastest plan so far another pipeline degree's plan on fewer devices a stage may be priced
     * for its reported plan to be sought ({@link #copiedStages}; the degrees priced there at all: {@link
     * #COPIED_OTHERS_TRIED}): a reported bound costs up to seconds (ResNet-50 at
     * 64 A100s, batch 8: four stages chosen, 3.263 ms; two stages on 16 devices a stage priced 3.432 ms, reported and
     * copied over 32: 3.232 ms; DenseNet-121 there, batch 8: eight stages on 4 devices a stage priced 1.15 times the
     * plan, not sought).
     */
    static final double COPIED_OTHERS_WITHIN = 1.1;

    /**
     * How much slower than the fastest plan so far another pipeline degree's fastest plan on all the devices may be for
     * that degree to be priced on fewer devices a stage at all ({@link #copiedStages}; the plan there is then sought as
     * reported only within {@link #COPIED_OTHERS_WITHIN}). Copies can gain more than a tenth: U-Net (small) at 64 A100s,
     * batch 4, chose four stages (0.4932 ms) where two stages on 64 priced 0.616 ms, 1.25 times it, and on 16 devices a
     * stage, copied, give 0.4670 ms (on 32 A100s the search's plan is 0.4752 ms). Each degree tried costs a
     * configuration's step bound and pricing per digit on fewer devices: DenseNet-201 at 64 A100s tried its one-stage
     * and two-stage degrees, 1.8 and 1.6 times the plan, for 1.5 s with no faster plan, which this window leaves out.
     * One stage stays within {@link #COPIED_OTHERS_WITHIN}: its pricing on fewer devices is a whole-model search with its
     * step bound (EfficientNet-B4 at 64 A100s, batch 64: 1.6 s more with it in the wider window, 7.7 against 6.0 s).
     */
    static final double COPIED_OTHERS_TRIED = 1.5;

    /**
     * The chosen configuration's plan on fewer devices per stage, lifted to all of them: {@code plan} on this cluster,
     * {@code smallPlan} as reported by the search on the smaller cluster, {@code bound} its configuration's bound
     * there.
     */
    private record Lifted(PipelineSearch.Outcome plan, PipelineSearch.Outcome smallPlan, double bound, PipelineSearch idle,
            double allDevices) {
        /** A plan copied over all the devices. */
        Lifted(PipelineSearch.Outcome plan, PipelineSearch.Outcome smallPlan, double bound) {
            this(plan, smallPlan, bound, null, Double.NaN);
        }

        /** {@code idle}'s plan with {@code allDevices} the step of the fastest plan found on all the devices. */
        Lifted withAllDevices(double allDevices) {
            return new Lifted(plan, smallPlan, bound, idle, allDevices);
        }
    }

    /**
     * Whether a plan on fewer devices may leave the others idle where no plan found on all of them is faster ({@link
     * #liftReported}); on unless {@code -Dshardplan.idleDevices=false}.
     */
    static boolean idleDevicesOn() {
        return !"false".equals(System.getProperty("shardplan.idleDevices"));
    }

    /** Whether {@link #othersReported} runs ({@code -Dshardplan.othersReported=false}: not; tests toggle it). */
    static boolean othersReportedOn = !"false".equals(System.getProperty("shardplan.othersReported"));

    /**
     * The most pipeline configurations besides the chosen one whose reported plans {@link #othersReported} seeks: each
     * costs a reported bound (up to seconds on a dense graph).
     */
    static final int OTHERS_REPORTED = 2;

    /**
     * Whether {@link #othersReported} looks at pipeline plan {@code o} beside {@code kept}: {@code kept} has one stage,
     * {@code o} more and fits, is priced less than {@link #COPIED_OTHERS_WITHIN} times {@code kept} and its bound is
     * below {@code kept}'s step. The search keeps {@code o}'s reported bound running where this holds ({@link
     * PipelineSearch#reportingAhead}). O(1).
     */
    static boolean looksBeside(PipelineSearch.Outcome o, PipelineSearch.Outcome kept) {
        return othersReportedOn && kept.stages() == 1 && o.stages() > 1 && o.fits()
                && o.stepSeconds() < kept.stepSeconds() * COPIED_OTHERS_WITHIN
                && o.lowerBound() < kept.stepSeconds() * (1 - 1e-12);
    }

    /**
     * The reported plan of a pipeline configuration the search priced on all the devices, where it is faster than the
     * chosen one-stage plan: the configurations {@link #looksBeside} it, the fastest {@link #OTHERS_REPORTED}, each
     * reported as it would be if kept ({@link PipelineSearch#reported}; the one whose bound runs ahead on the thread
     * beside first, its answer taken from there); the fastest reported plan below {@code chosen}'s, else null.
     *
     * <p>Why: the search compares a one-stage plan found by its step bound's solves and mixtures ({@link
     * OverlapBound}) with pipeline plans as priced, before their bounds' minimisers (up to a fifth faster) are sought,
     * which is done for the plan kept alone; so a one-stage plan kept can hide a faster pipeline (EfficientNet-B4 at 64
     * A100s, batch 64: two stages priced 10.877 ms, reported 10.465 ms, against one stage's 10.651 ms). Where a
     * pipeline is kept, its own reported plan was sought, as the others' would be, and nothing is done.
     */
    static PipelineSearch.Reported othersReported(PipelineSearch ps, PipelineSearch.Outcome chosen) {
        List<PipelineSearch.Outcome> others = new ArrayList<>();
        for (PipelineSearch.Outcome o : ps.pricedPlans()) {
            if (looksBeside(o, chosen)) {
                others.add(o);
            }
        }
        others.sort(java.util.Comparator.comparingDouble(PipelineSearch.Outcome::stepSeconds));
        others = new ArrayList<>(others.subList(0, Math.min(OTHERS_REPORTED, others.size())));
        // the one whose bound runs ahead first: asking for another drops that run
        PipelineSearch.Outcome ahead = ps.reportingAhead();
        if (others.remove(ahead)) {
            others.add(0, ahead);
        }
        PipelineSearch.Reported kept = null;
        double target = chosen.stepSeconds();
        for (PipelineSearch.Outcome o : others) {
            if (!ps.timeLeft()) {
                break;
            }
            PipelineSearch.Reported r = ps.reported(o);
            if (r.plan().fits() && r.plan().stepSeconds() < target * (1 - 1e-12)) {
                kept = r;
                target = r.plan().stepSeconds();
            }
        }
        ps.dropReportsAhead(); // one started ahead and not among these: not wanted
        return kept;
    }

    /**
     * The configuration of {@code own}'s plan (its stages, micro-batches, recomputation and ZeRO stage), then of the
     * fastest plan the search priced at each other pipeline degree (fastest first, while priced less than {@link
     * #COPIED_OTHERS_TRIED} times the fastest plan so far; one stage only within {@link #COPIED_OTHERS_WITHIN}), priced
     * with each stage on the devices without the top
     * digit of the stage's device index (half a stage, for power-of-two counts), then without the next digit, and so
     * on ({@link #descend}: while the configuration's lower bound there, {@link PipelineSearch#stepLowerBound}, is below
     * the fastest plan so far, until {@link #DESCEND_SLOWER_DIGITS} digits in a row price no faster); the fastest digit's plan, and the
     * first digit's where that is another, as the search there reports it (a pipeline's: with its bound's minimisers
     * priced), its layouts copied over the devices
     * left out ({@link StrategySpace#copied}: copies compute the same values and gradients, so no collective runs
     * between them) and priced on all the devices; the fastest such plan where it beats {@code own}'s, else empty.
     *
     * <p>Why: a stage's candidates on all its devices do not include the copied layouts of fewer (that would multiply
     * them), so the search alone can return a plan slower than the one it would find on fewer devices (a
     * torch.nn.Transformer at batch 4, two stages: on 16 A100s 2.821 ms, on 32 2.877 ms); where
     * pipelines are allowed no plan on fewer devices is searched first (the chain of {@link #fewerDevices} would repeat
     * the whole search at every device count), and this prices a few configurations instead: where the fewer
     * devices' best plan has one of them, more devices keep it (not a guarantee: the stops above, and a best plan of
     * another micro-batch count or memory setting on fewer devices, are not covered). O(a configuration's bound and
     * pricing per digit, and one reported bound, per pipeline degree), on problems of fewer devices than the search's.
     */
    private Optional<Lifted> copiedStages(ModelSource source, PipelineSearch ps, PipelineSearch.Reported own)
            throws ShardplanException {
        PipelineSearch.Outcome chosen = own.plan();
        // the fastest plan so far, and the fastest that uses all the devices
        double[] target = {chosen.stepSeconds(), chosen.stepSeconds()};
        Lifted kept = descend(source, ps, chosen, target, COPIED_REPORTED_WITHIN);
        // the other pipeline degrees, each at the fastest plan the search priced for it, while near enough to the
        // fastest plan for its copies to beat it (ResNet-50, batch 8: two stages on 32 A100s beat four on 64)
        Map<Integer, PipelineSearch.Outcome> byDegree = new java.util.TreeMap<>();
        for (PipelineSearch.Outcome o : ps.pricedPlans()) {
            if (o.stages() != chosen.stages()) {
                byDegree.merge(o.stages(), o, (x, y) -> PipelineSearch.better(y, x) ? y : x);
            }
        }
        List<PipelineSearch.Outcome> others = new ArrayList<>(byDegree.values());
        others.sort(java.util.Comparator.comparingDouble(PipelineSearch.Outcome::stepSeconds));
        for (PipelineSearch.Outcome o : others) {
            if (!ps.timeLeft() || o.stepSeconds() >= target[0] * COPIED_OTHERS_TRIED) {
                break;
            }
            if (o.stages() == 1 && o.stepSeconds() >= target[0] * COPIED_OTHERS_WITHIN) {
                continue; // one stage on fewer devices is a whole-model search: only near the fastest plan
            }
            Lifted l = descend(source, ps, o, target, COPIED_OTHERS_WITHIN);
            if (l != null) {
                kept = l;
            }
        }
        return Optional.ofNullable(kept == null || kept.idle() == null ? kept : kept.withAllDevices(target[1]));
    }

    /**
     * The digits in a row {@link #descend} prices no faster than the fastest before it stops: the plans of successive
     * digits are not monotone (the torch.nn.Transformer at batch 4 on 64 A100s, two stages: 2.846 ms on all 32 devices
     * a stage, 2.916 ms priced on 16, and the plan of 8 a stage reported at 2.821 ms, the 32-device cluster's plan).
     */
    static final int DESCEND_SLOWER_DIGITS = 2;

    /**
     * {@link #copiedStages} for the configuration of {@code from}: priced on fewer devices a stage, digit by digit,
     * until {@link #DESCEND_SLOWER_DIGITS} digits in a row are priced no faster than the fastest before; the fastest of those, where it is priced less than
     * {@code within} times {@code target[0]} ({@link #COPIED_REPORTED_WITHIN} for the chosen configuration, {@link
     * #COPIED_OTHERS_WITHIN} for the other pipeline degrees), as its search reports it (a pipeline's bound minimisers
     * priced: one reported bound per configuration, the costly part), lifted; that plan where it beats {@code target[0]}
     * (which it lowers to it), else null.
     */
    private Lifted descend(ModelSource source, PipelineSearch ps, PipelineSearch.Outcome from, double[] target,
            double within) throws ShardplanException {
        int p = from.stages();
        int m = from.microBatches();
        long micro = from.micro();
        int stageDevices = c.cluster.deviceCount() / p;
        DeviceDigits at = ps.builder(micro, stageDevices, from.recompute(), from.zero()).digits();
        List<DeviceDigits> ladder = new ArrayList<>(List.of(at));
        double previous = from.stepSeconds(); // the fastest plan of the digits before
        int slower = 0; // digits in a row priced no faster than that
        PipelineSearch fastestSearch = null;
        PipelineSearch.Outcome fastest = null;
        List<DeviceDigits> fastestLadder = null;
        PipelineSearch firstSearch = null; // the first digit's: the configuration on half the devices
        PipelineSearch.Outcome first = null;
        List<DeviceDigits> firstLadder = null;
        try {
            while (ps.timeLeft()) {
                Optional<DeviceDigits> next = at.withoutTopDigit();
                if (next.isEmpty()) {
                    break;
                }
                at = next.get();
                ladder.add(at);
                Planner fewerPlanner = withCluster(PipelineSearch.submesh(c.cluster, at.devices() * p))
                        .withSearch(c.search.withParareal(SearchOptions.Parareal.OFF));
                PipelineSearch small = new PipelineSearch(fewerPlanner, c.search, source, c.batch, ps.secondsLeft());
                small.adoptModels(ps);
                small.adoptBuilders(ps);
                if (TRACE && small.adopted > 0) {
                    System.err.printf(java.util.Locale.ROOT, "copies: %d builders of the search's stages taken%n", small.adopted);
                }
                small.defer = false; // priced here, not put off to a pass that does not run
                small.parallelBounds = true; // nothing runs beside: the search is done
                if (PipelineSearch.stepBoundsBelowOn) {
                    // a one-stage digit whose bound before the step's own reaches the fastest so far has no plan that
                    // beats it here: the step bound would prove the digit's plan, and its minimisers (none faster than
                    // that bound) are not sought for their copies; the solve's plan is lifted as before
                    small.stepBoundsBelow = target[0];
                }
                double lb = small.stepLowerBound(small.coarse(micro), micro,
                        small.builder(micro, at.devices(), from.recompute(), from.zero()), p, m);
                if (TRACE) {
                    System.err.printf(java.util.Locale.ROOT, "copies: P=%d m=%d on %d devices a stage: step bound %.6f s,"
                            + " target %.6f s%n", p, m, at.devices(), lb, target[0]);
                }
                if (lb >= target[0] * (1 - 1e-12)) {
                    break; // no plan of the configuration there beats the fastest so far
                }
                Optional<PipelineSearch.Outcome> o = small.price(p, m, from.recompute(), from.zero());
                if (o.isEmpty() || o.get().isBounded() || !o.get().fits()) {
                    break; // nothing fits there (nor with fewer devices still)
                }
                if (first == null) {
                    firstSearch = small;
                    first = o.get();
                    firstLadder = List.copyOf(ladder);
                }
                if (fastest == null || PipelineSearch.better(o.get(), fastest)) {
                    fastestSearch = small;
                    fastest = o.get();
                    fastestLadder = List.copyOf(ladder);
                }
                if (o.get().stepSeconds() < previous * (1 - 1e-12)) {
                    previous = o.get().stepSeconds();
                    slower = 0;
                } else if (++slower >= DESCEND_SLOWER_DIGITS) {
                    break; // slower than on more devices, digit after digit: fewer still are slower again
                    // (communication-bound models, whose bounds on fewer devices stay low, would otherwise go down
                    // to one device a stage)
                }
            }
            Lifted kept = liftReported(ps, fastestSearch, fastest, fastestLadder, target, within);
            if (first != fastest && p > 1) {
                // the first digit's (half the devices) too: the bound's minimisers move a pipeline's plan by up to a fifth
                // and can reorder the digits (U-Net (small) at batch 1 on 64 A100s, four stages: on 8 devices a stage
                // priced 0.432 ms, on 4 0.426 ms; copied over 64, 0.4113 ms from 8 a stage against 0.445 ms from 4)
                Lifted l = liftReported(ps, firstSearch, first, firstLadder, target, within);
                kept = l != null ? l : kept;
            }
            return kept;
        } catch (ProblemBuilder.OutOfTime | org.shardplan.graph.Deadline.Expired e) {
            return null; // the time limit: the search's plan stands
        }
    }

    /**
     * {@link #descend}'s last step for the plan {@code o} priced on fewer devices a stage by {@code small} (the devices of
     * {@code ladder}'s last digits): where it is priced less than {@code within} times {@code target[0]}, as {@code
     * small} reports it (a pipeline's bound minimisers priced, its enumerations stopped at the target, none where its
     * segment bound reaches it), lifted over this cluster's devices; that plan where it fits and beats {@code target[0]}
     * (which it lowers to it), else null. Where the reported plan itself, on the fewer devices, beats both its lifted
     * copy and {@code target[0]}, it is the plan with the other devices idle ({@link #idleDevicesOn}). {@code target[1]}
     * is lowered to a lifted plan that fits: the fastest plan found on all the devices.
     */
    private Lifted liftReported(PipelineSearch ps, PipelineSearch small, PipelineSearch.Outcome o, List<DeviceDigits> ladder,
            double[] target, double within) throws ShardplanException {
        if (o == null || o.stepSeconds() >= target[0] * within) {
            return null; // too slow for its bound's minimisers to come near the fastest plan
        }
        long t0 = System.nanoTime();
        PipelineSearch.Reported r = o.stages() > 1 ? small.reportedBelow(o, target[0])
                : new PipelineSearch.Reported(o, o.lowerBound());
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "copies: P=%d m=%d priced %.6f s, reported %.6f s (bound %.6f s) in %.2f s%n",
                    o.stages(), o.microBatches(), o.stepSeconds(), r.plan().stepSeconds(), r.lowerBound(),
                    (System.nanoTime() - t0) / 1e9);
        }
        PipelineSearch.Outcome lifted = lift(ps, r.plan(), ladder);
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "copies: lifted P=%d m=%d: reported %.6f s, lifted %.6f s (%s), target %.6f s%n",
                    o.stages(), o.microBatches(), r.plan().stepSeconds(), lifted == null ? Double.NaN : lifted.stepSeconds(),
                    lifted == null ? "none" : lifted.fits() ? "fits" : "over", target[0]);
        }
        boolean copies = lifted != null && lifted.fits();
        if (copies) {
            target[1] = Math.min(target[1], lifted.stepSeconds());
        }
        if (idleDevicesOn() && r.plan().fits() && r.plan().stepSeconds() < target[0] * (1 - 1e-12)
                && !(copies && lifted.stepSeconds() <= r.plan().stepSeconds())) {
            // the plan on fewer devices, the others idle: faster than its copies over them and than every plan found on
            // all the devices (U-Net (small) at batch 1: four stages on 4 devices a stage 0.4236 ms, copied over 32
            // devices 0.463 ms; the search on 32 0.4265 ms)
            target[0] = r.plan().stepSeconds();
            return new Lifted(r.plan(), r.plan(), r.lowerBound(), small, target[1]);
        }
        if (copies && lifted.stepSeconds() < target[0] * (1 - 1e-12)) {
            target[0] = lifted.stepSeconds();
            return new Lifted(lifted, r.plan(), r.lowerBound());
        }
        return null;
    }

    /**
     * {@code small}, a plan whose stages each hold the devices of {@code ladder}'s last digits, on this cluster: each
     * layout copied up the ladder ({@code ladder.get(0)}: the digits of a stage of this cluster), priced on the
     * problem whose candidates are those layouts alone, with the same stages, schedule and micro-batches, as the
     * search prices a plan. Null where a layout cannot be copied or the problem's nodes differ. O(nodes + links).
     */
    private PipelineSearch.Outcome lift(PipelineSearch ps, PipelineSearch.Outcome small, List<DeviceDigits> ladder)
            throws ShardplanException {
        int p = small.stages();
        int m = small.microBatches();
        int devices = c.cluster.deviceCount() / p;
        Map<String, Layout> lifted = new LinkedHashMap<>();
        Map<String, List<Layout>> only = new LinkedHashMap<>();
        for (ProblemBuilder.Unit u : small.built().units()) {
            Layout l = u.layouts().get(small.choice()[u.index()]);
            try {
                for (int k = ladder.size() - 2; k >= 0; k--) {
                    l = StrategySpace.copied(l, ladder.get(k));
                }
            } catch (IllegalArgumentException e) {
                return null; // not on the low digits
            }
            lifted.put(u.name(), l);
            only.put(u.name(), List.of(l));
        }
        ProblemBuilder pb = ps.builder(small.micro(), devices, small.recompute(), small.zero());
        ProblemBuilder.Built b = pb.buildRequiredOnly(ps.coarse(small.micro()), only);
        int n = b.units().size();
        if (n != small.built().units().size()) {
            return null;
        }
        int[] choice = new int[n];
        for (ProblemBuilder.Unit u : b.units()) {
            Layout l = lifted.get(u.name());
            int k = l == null || !u.name().equals(small.built().units().get(u.index()).name()) ? -1 : u.indexOf(l);
            if (k < 0) {
                return null;
            }
            choice[u.index()] = k;
        }
        int[] bounds = small.bounds().clone();
        List<org.shardplan.planner.pipeline.StageProfile> profiles = ps.profiles(b, pb, choice, bounds, devices,
                small.recompute());
        org.shardplan.planner.pipeline.Schedule sch = small.schedule();
        org.shardplan.planner.pipeline.Estimate e = p == 1 ? sch.estimate(profiles, m, small.virtual())
                : PipelineSearch.estimate(sch, profiles, m, small.virtual());
        double step = PipelineSearch.planStep(b, choice, profiles, sch, e, p, m);
        boolean fits = ps.fitsLimit(e); // the search's limit: this planner's memory limit
        return new PipelineSearch.Outcome(p, m, small.recompute(), small.zero(), sch, small.virtual(), small.micro(), b, pb,
                choice, bounds, profiles, e, step, fits, false, Double.NEGATIVE_INFINITY, false, false, "fewer-devices");
    }

    /**
     * Graphs of more nodes than this get the data-parallel baseline alone once the command's time limit
     * has run out (the others are priced in milliseconds on smaller graphs, which keep them all).
     */
    static final int LATE_BASELINE_NODES = 2_000;

    /** The data-parallel baseline's layouts as the only candidates of each node it splits (the answer past the limit). */
    private static Map<String, List<Layout>> dataParallelOnly(CoarseGraph cg, long batch, ProblemBuilder pb) {
        Map<String, List<Layout>> r = new LinkedHashMap<>();
        Baselines.dataParallel(cg, batch, pb.digits()).layouts().forEach((node, l) -> r.put(node, List.of(l)));
        return r;
    }

    /**
     * The plan on fewer devices as an outcome on all the devices: its layouts copied ({@code lifted}), its
     * micro-batches, recomputation and ZeRO stage, priced by the same problem the search builds; empty
     * when a node's copied layout is not a candidate or it does not fit.
     */
    private Optional<PipelineSearch.Outcome> copiedOutcome(PipelineSearch ps, Planned fewer, Map<String, Layout> lifted)
            throws ShardplanException {
        Plan small = fewer.plan();
        if (small.parallelism().pipeline() != 1 || lifted.size() != fewer.layouts().size()) {
            return Optional.empty();
        }
        int devices = c.cluster.deviceCount();
        int m = small.parallelism().microBatches();
        boolean rc = small.options().recompute();
        int z = small.options().zeroStage();
        ProblemBuilder.Built b;
        try {
            b = ps.built(fewer.micro(), devices, rc, z);
        } catch (ProblemBuilder.OutOfTime e) {
            // not built within the time limit: the problem whose candidates are the copied layouts alone
            Map<String, List<Layout>> only = new LinkedHashMap<>();
            lifted.forEach((node, l) -> only.put(node, List.of(l)));
            b = ps.builder(fewer.micro(), devices, rc, z).buildRequiredOnly(ps.coarse(fewer.micro()), only);
        }
        int n = b.units().size();
        int[] choice = new int[n];
        for (ProblemBuilder.Unit u : b.units()) {
            Layout l = lifted.get(u.name());
            int k = l == null ? -1 : u.indexOf(l);
            if (k < 0) {
                return Optional.empty();
            }
            choice[u.index()] = k;
        }
        Problem weighted = PipelineSearch.weighted(b, m);
        if (Evaluator.evaluate(weighted, choice).memory() > memoryLimit() * (1 + 1e-12)) {
            return Optional.empty();
        }
        ProblemBuilder pb = ps.builder(fewer.micro(), devices, rc, z);
        int[] bounds = {0, n};
        List<org.shardplan.planner.pipeline.StageProfile> profiles = ps.profiles(b, pb, choice, bounds, devices, rc);
        double step = Evaluator.objective(weighted, choice) - PipelineSearch.overlapped(b, choice, profiles);
        return Optional.of(new PipelineSearch.Outcome(1, m, rc, z, org.shardplan.planner.pipeline.Schedules.of("none"), 1,
                fewer.micro(), b, pb, choice, bounds, profiles, null, step, true, false, Double.NEGATIVE_INFINITY, false,
                false, "fewer-devices"));
    }

    /**
     * The plan with the parareal network the options ask for: with N fixed, the best cuts of N
     * segments whatever their speed; with {@code auto}, the fastest network when it beats the plan, else
     * the plan with a warning saying by how much it lost.
     */
    private Plan withParareal(Plan exact, PipelineSearch ps, boolean rc, int z) throws ShardplanException {
        SearchOptions.Parareal opt = c.search.parareal();
        Optional<Plan.Parareal> p = parareal(exact, ps, rc, z, opt.segments());
        List<String> warnings = new ArrayList<>(exact.warnings());
        if (p.isEmpty()) {
            if (opt.segments().isPresent()) {
                throw new PlanInfeasibleException("--parareal " + opt.segments().getAsInt() + ": no parareal network of "
                        + opt.segments().getAsInt() + " segments fits the memory limit of " + String.format(java.util.Locale.ROOT,
                        "%.3f GiB", memoryLimit() / (1L << 30)));
            }
            warnings.add("parareal: no parareal network applies (no chain of shape-keeping repeated blocks, or none fits)");
        } else if (opt.segments().isEmpty() && p.get().speedup() <= 1) {
            Plan.Parareal x = p.get();
            warnings.add(String.format(java.util.Locale.ROOT, "parareal: the fastest network (%d segments of %s .. %s) "
                    + "predicts %.4g s, not faster than %.4g s of the plan that keeps the model", x.first().segments(),
                    x.first().first(), x.first().last(), x.stepSeconds(), x.exactStepSeconds()));
            p = Optional.empty();
        }
        Plan r = new Plan(exact.model(), exact.cluster(), exact.batch(), exact.dims(), exact.options(), exact.nodes(),
                exact.parallelism(), exact.schedule(), exact.stages(), exact.totals(), exact.baselines(), exact.solver(),
                exact.provenance(), warnings);
        return p.isPresent() ? r.withParareal(p.get()) : r;
    }

    /**
     * The fastest parareal network of the model that fits, priced against a plan that keeps it
     * ({@link org.shardplan.planner.parareal.PararealSearch#search}): one or more chains torn, each
     * with its own number of segments, or with {@code segments} fixed that many in every torn chain;
     * empty when no chain applies or none fits.
     *
     * @throws ShardplanException when {@code segments} cannot apply to the model (no chain, more
     *     segments than blocks, not dividing the devices)
     */
    public Optional<Plan.Parareal> parareal(ModelSource source, Plan exact, java.util.OptionalInt segments)
            throws ShardplanException {
        return parareal(source, exact, segments, true);
    }

    /** {@link #parareal(ModelSource, Plan, java.util.OptionalInt)}, with {@code several} false one chain at most. */
    public Optional<Plan.Parareal> parareal(ModelSource source, Plan exact, java.util.OptionalInt segments,
            boolean several) throws ShardplanException {
        PipelineSearch ps = new PipelineSearch(this, c.search, source, c.batch, c.timeLimit);
        return parareal(exact, ps, exact.options().recompute(), exact.options().zeroStage(), segments, several);
    }

    private Optional<Plan.Parareal> parareal(Plan exact, PipelineSearch ps, boolean rc, int z,
            java.util.OptionalInt segments) throws ShardplanException {
        return parareal(exact, ps, rc, z, segments, true);
    }

    private Optional<Plan.Parareal> parareal(Plan exact, PipelineSearch ps, boolean rc, int z,
            java.util.OptionalInt segments, boolean several) throws ShardplanException {
        CoarseGraph cg = ps.coarse(c.batch);
        Optional<org.shardplan.planner.parareal.PararealSearch.Network> best =
                org.shardplan.planner.parareal.PararealSearch.search(cg, d -> {
                    // the parareal search has its own time limit: the plan search's deadline does not stop its builds
                    ps.builder(c.batch, d, rc, z).noDeadline();
                    return ps.built(c.batch, d, rc, z);
                }, c.cluster,
                        memoryLimit(), segments, c.timeLimit, "--parareal", several);
        if (best.isEmpty()) {
            return Optional.empty();
        }
        org.shardplan.planner.parareal.PararealSearch.Network net = best.get();
        List<Plan.PararealChain> chains = new ArrayList<>();
        for (org.shardplan.planner.parareal.PararealSearch.Candidate b : net.chains()) {
            List<Double> seg = new ArrayList<>();
            for (double x : b.segmentSeconds()) {
                seg.add(x);
            }
            chains.add(new Plan.PararealChain(b.segments(), b.chain().firstName(cg), b.chain().lastName(cg),
                    b.cutNames(cg), b.chain().length(), b.devicesPerSegment(), b.coarseNodes(), b.coarseParameters(), seg,
                    b.coarseSeconds(), b.transferSeconds()));
        }
        double exactStep = exact.totals().stepSeconds();
        return Optional.of(new Plan.Parareal(chains, org.shardplan.planner.parareal.PararealSearch.COARSE_NETWORK,
                net.stepSeconds(), exactStep / net.stepSeconds(), exactStep, net.outsideSeconds(),
                net.memoryBytesPerDevice()));
    }

    /** The gradient reduction a one-stage, one-micro-batch step of these layouts hides (the baselines' steps). */
    private double oneStageOverlap(PipelineSearch ps, ProblemBuilder.Built one, ProblemBuilder pb, int[] choice,
            boolean recompute) {
        int n = one.units().size();
        return PipelineSearch.overlapped(one, choice,
                ps.profiles(one, pb, choice, new int[] {0, n}, c.cluster.deviceCount(), recompute));
    }

    private static int[] choices(ProblemBuilder.Built built, Baselines.Baseline b) {
        int[] r = new int[built.units().size()];
        for (ProblemBuilder.Unit u : built.units()) {
            Layout l = b.layouts().getOrDefault(u.name(), Layout.replicated());
            int k = u.indexOf(l);
            r[u.index()] = Math.max(0, k);
        }
        return r;
    }

    private Plan assemble(Graph g, PipelineSearch.Outcome o, Map<String, Plan.Baseline> baselines, Plan.SolverInfo si,
            List<String> warnings, PipelineSearch ps) throws ShardplanException {
        ProblemBuilder.Built built = o.built();
        int[] choice = o.choice();
        int n = built.units().size();
        int vstages = o.bounds().length - 1;
        int p = o.stages();
        int m = o.microBatches();
        int stageDevices = c.cluster.deviceCount() / p;
        int[] stageOf = new int[n];
        for (int s = 0; s < vstages; s++) {
            for (int i = o.bounds()[s]; i < o.bounds()[s + 1]; i++) {
                stageOf[i] = s;
            }
        }
        int[] inflight = new int[vstages];
        for (int s = 0; s < vstages; s++) {
            inflight[s] = o.estimate() == null ? 1 : Math.max(1, o.estimate().microBatchesInFlight()[s % p]);
        }
        double[] comm = new double[n];
        double[] bytes = new double[n];
        for (ProblemBuilder.Link l : built.links()) {
            int cols = built.units().get(l.to()).layouts().size();
            int at = choice[l.from()] * cols + choice[l.to()];
            if (stageOf[l.from()] == stageOf[l.to()]) {
                comm[l.to()] += m * l.seconds()[at];
                bytes[l.to()] += m * l.bytes()[at];
            }
        }
        List<PlanNode> nodes = new ArrayList<>();
        List<List<String>> names = new ArrayList<>();
        for (int s = 0; s < vstages; s++) {
            names.add(new ArrayList<>());
        }
        double[] stCompute = new double[vstages];
        double[] stComm = new double[vstages];
        double[] stMem = new double[vstages];
        // bytes a device of each pipeline position sends or receives: the nodes of the stages (model chunks) it holds
        double[] deviceBytes = new double[p];
        for (ProblemBuilder.Unit u : built.units()) {
            int i = u.index();
            Layout l = u.layouts().get(choice[i]);
            ProblemBuilder.Cost cost = u.costs().get(choice[i]);
            int s = stageOf[i];
            double compute = m * cost.microComputeSeconds();
            double cm = m * cost.microCommunicationSeconds() + cost.gradientSeconds() + comm[i];
            double by = m * cost.microCommunicationBytes() + cost.gradientBytes() + bytes[i];
            double mem = cost.parameterBytes() + inflight[s] * cost.activationBytes();
            PlanNode pn = new PlanNode(u.name(), opLabel(u.coarse()), l.strategy().factors(), l.placement(),
                    l.intraNode(), l.strategy().devices(), u.space().isPresent(), compute, cm, by, mem, s);
            nodes.add(pn);
            names.get(s).add(pn.name());
            stCompute[s] += compute;
            stComm[s] += cm;
            stMem[s] += mem;
            deviceBytes[s % p] += by;
        }
        List<Plan.Stage> stages = new ArrayList<>();
        double peak = 0;
        int worst = 0;
        double[] deviceMem = new double[p];
        for (int s = 0; s < vstages; s++) {
            deviceMem[s % p] += stMem[s];
        }
        for (int s = 0; s < vstages; s++) {
            org.shardplan.planner.pipeline.StageProfile pr = o.profiles().get(s);
            double send = s + 1 < vstages ? 2 * m * pr.sendSeconds() : 0;
            double mem = o.estimate() != null && p > 1 ? o.estimate().peakMemoryBytes()[s % p] : deviceMem[s % p];
            stages.add(new Plan.Stage(s, (s % p) * stageDevices, stageDevices, names.get(s), stCompute[s],
                    stComm[s] + send, mem, pr.forwardSeconds(), pr.backwardSeconds(), pr.backwardWeightSeconds(),
                    pr.sendSeconds(), pr.gradientSyncSeconds(), pr.staticBytes(), pr.activationBytesPerMicroBatch(),
                    inflight[s], pr.updateSeconds()));
            if (stCompute[s] + stComm[s] + send > stCompute[worst] + stComm[worst]) {
                worst = s;
            }
            peak = Math.max(peak, mem);
        }
        double limit = memoryLimit();
        double computeT = p == 1 ? sum(stCompute) : stCompute[worst];
        double commT = p == 1 ? sum(stComm) : stages.get(worst).communicationSeconds();
        double bytesPerDevice = 0;
        for (double x : deviceBytes) {
            bytesPerDevice = Math.max(bytesPerDevice, x);
        }
        PlanTotals totals = new PlanTotals(o.stepSeconds(), computeT, commT, peak, bytesPerDevice, limit,
                peak <= limit * (1 + 1e-12));
        Cluster cl = c.cluster;
        Plan.ClusterInfo ci = new Plan.ClusterInfo(cl.name(), cl.deviceCount(), cl.devicesPerNode(),
                cl.device(0).name(), cl.minDeviceMemoryBytes(), PlanJson.compact(ClusterFiles.toJson(cl)));
        if (!built.unsupported().isEmpty()) {
            StringBuilder b = new StringBuilder("operators without an iteration space, planned as replicated: ");
            built.unsupported().forEach((op, k) -> b.append(op).append(" (").append(k).append(k == 1 ? " node), " : " nodes), "));
            warnings.add(b.substring(0, b.length() - 2));
        }
        if (!cl.isHomogeneous()) {
            warnings.add("the cluster is not homogeneous: compute is priced on its slowest device, " + slowestDevice(cl).name()
                    + ", and the layout assumes " + cl.devicesPerNode() + " devices per node (its smallest node)");
        }
        // the data-parallel degree: the split of the batch dimension that carries the most compute in
        // the slowest stage (a vote weighted by each node's micro-batch compute)
        Map<String, String> bd = BatchDims.of(built.coarse(), o.micro() > 0 ? o.micro() : c.batch);
        // and the devices those layouts split over at all: the stage's other devices hold copies of their
        // blocks (the plan on fewer devices copied over the others), not a tensor-parallel split
        Map<List<Integer>, Double> votes = new LinkedHashMap<>();
        for (ProblemBuilder.Unit u : built.units()) {
            if (stageOf[u.index()] != worst || u.space().isEmpty()) {
                continue;
            }
            String dim = bd.get(u.name());
            org.shardplan.graph.space.Strategy st = u.layouts().get(choice[u.index()]).strategy();
            int f = dim == null ? 1 : Math.max(1, st.factor(dim));
            votes.merge(List.of(f, Math.max(f, st.devices())), u.costs().get(choice[u.index()]).microComputeSeconds(),
                    Double::sum);
        }
        int data = 1;
        int split = stageDevices;
        double most = -1;
        for (Map.Entry<List<Integer>, Double> e : votes.entrySet()) {
            if (e.getValue() > most) {
                most = e.getValue();
                data = e.getKey().get(0);
                split = e.getKey().get(1);
            }
        }
        if (split < 1 || stageDevices % split != 0 || split % data != 0) {
            split = stageDevices; // not a whole number of copies: the rest counted as tensor parallelism
        }
        if (c.search.tensor().isPresent() || c.search.data().isPresent()) {
            // degrees the user fixed: the stage's devices are that data x tensor mesh, whatever its heaviest
            // nodes leave unsplit (replicated over a tensor-parallel group, as the engines run them)
            split = stageDevices;
        }
        int tensor = Math.max(1, split / data);
        int copies = stageDevices / split;
        long microPerReplica = o.micro() > 0 ? Math.max(1, o.micro() / data) : 0;
        Plan.Parallelism par = new Plan.Parallelism(data, tensor, p, m, microPerReplica, copies);
        double bubble = o.estimate() == null || p == 1 ? 0 : o.estimate().bubbleFraction();
        org.shardplan.planner.pipeline.Schedule sch = o.schedule();
        List<org.shardplan.planner.pipeline.Staleness> staleness = o.estimate() == null || p == 1 ? List.of()
                : o.estimate().staleness();
        Plan.Schedule sched = new Plan.Schedule(sch.name(), m, o.virtual(), bubble, sch.exact(),
                sch.parameters().maxActiveKeys().orElse(0), sch.parameters().minUpdateFrequency().orElse(0), staleness);
        String exactness;
        if (!sch.exact()) {
            int stalest = staleness.stream().mapToInt(org.shardplan.planner.pipeline.Staleness::largest).max().orElse(0);
            exactness = String.format(java.util.Locale.ROOT, "not exact: asynchronous pipeline %s (Gaunt et al. 2017) with"
                    + " %d instances in flight and a local update of each stage every %d gradients, without a barrier or"
                    + " weight stashing: a stage's backward may run on weights up to %d local updates newer than its"
                    + " forward's (schedule.staleness), which changes the training math",
                    sch.name(), sch.parameters().maxActiveKeys().orElse(0), sch.parameters().minUpdateFrequency().orElse(0),
                    stalest);
        } else {
            exactness = p > 1 || m > 1 ? "exact: synchronous data, tensor and pipeline parallelism with gradient accumulation,"
                    + " training math unchanged" : "exact: synchronous data and tensor parallelism, training math unchanged";
        }
        String modelName = c.modelName.isEmpty() ? g.name() : c.modelName;
        Map<String, Long> dims = new LinkedHashMap<>(c.dims);
        return new Plan(new Plan.Model(modelName, c.sha256, g.nodes().size(), n), ci, c.batch, dims,
                new Plan.Options(c.memory.optimizer().name(), o.zero(), o.recompute(), limit, requested()),
                nodes, par, sched, stages, totals, baselines, si,
                new Plan.Provenance(c.version, c.calibration, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                        exactness, overlapNote(built, choice, stageOf, o.profiles(), vstages, c.gradientOverlap,
                                c.gradientBucketBytes).orElse("")),
                warnings);
    }

    /**
     * What the step overlaps, per kind of collective: the data-parallel gradient reduction (bucketed,
     * overlapped with the last micro-batch's backward pass, {@link PipelineSearch#exposedGradientSeconds}),
     * the tensor-parallel collectives (on the critical path), the pipeline transfers (as the schedule
     * runs them).
     */
    private static Optional<String> overlapNote(ProblemBuilder.Built built, int[] choice, int[] stageOf,
            List<org.shardplan.planner.pipeline.StageProfile> profiles, int stages, boolean overlap, double bucket) {
        double[][] reduction = new double[stages][3];
        for (ProblemBuilder.Unit u : built.units()) {
            u.costs().get(choice[u.index()]).addReduction(reduction[stageOf[u.index()]]);
        }
        double total = 0;
        double exposed = 0;
        for (int s = 0; s < stages; s++) {
            // as the profiles price it: a pipeline stage's reduction at least one collective's latency
            total += ProblemBuilder.Cost.stageReduction(reduction[s], stages);
            exposed += profiles.get(s).gradientSyncSeconds();
        }
        if (total <= 0) {
            return Optional.empty();
        }
        if (!overlap) {
            return Optional.of(String.format(java.util.Locale.ROOT, "data-parallel gradient reduction after the backward"
                    + " pass, not overlapped, %.3f ms (summed over stages); tensor-parallel collectives and resharding on"
                    + " the critical path, not overlapped; pipeline transfers as the schedule runs them", total * 1e3));
        }
        return Optional.of(String.format(java.util.Locale.ROOT, "data-parallel gradient reduction in %s MiB buckets"
                + " overlapped with the last micro-batch's backward pass, %.3f of %.3f ms exposed (summed over stages);"
                + " tensor-parallel collectives and resharding on the critical path, not overlapped; pipeline"
                + " transfers as the schedule runs them", mebibytes(bucket), exposed * 1e3,
                total * 1e3));
    }

    /** The search requests a plan records, with the cost model's attention setting. */
    private Map<String, String> requested() {
        Map<String, String> m = new LinkedHashMap<>(c.search.requested());
        m.put("attention", c.fusedAttention ? "fused" : "unfused");
        if (!c.gradientOverlap) {
            m.put(GRADIENT_REDUCTION, AFTER_BACKWARD);
        }
        if (c.gradientBucketBytes != ComputeModel.DEFAULT_GRADIENT_BUCKET_BYTES) {
            m.put(GRADIENT_BUCKET_MB, mebibytes(c.gradientBucketBytes));
        }
        return m;
    }

    /** Bytes as MiB in the shortest decimal that reads back to the same bytes (25, 0.5, 128.25). */
    public static String mebibytes(double bytes) {
        return java.math.BigDecimal.valueOf(bytes / (1024 * 1024)).stripTrailingZeros().toPlainString();
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double x : a) {
            s += x;
        }
        return s;
    }

    /** The operator of a coarse node: its anchor's, or the recognised pattern's. */
    public static String opLabel(CoarseNode c) {
        return c.pattern().orElse(c.opType());
    }

    /** This planner on another cluster (for "what would fit" answers). */
    Planner withCluster(Cluster other) {
        return with(n -> n.cluster = other);
    }

    MemoryModel memoryModel() {
        return c.memory;
    }
}
