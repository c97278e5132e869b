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
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.eval.PlanEvaluator;
import org.shardplan.planner.build.Tying;
import org.shardplan.planner.solver.AutoSolver;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;

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
 * <p>{@link #plan} coarsens the graph, builds the strategy problem ({@link ProblemBuilder}), with the
 * baselines' layouts among the candidates ({@link Baselines}), solves it (exact dynamic programming
 * when the memory limit does not bind; else the limit priced by Lagrangian relaxation on the problem
 * with repeated blocks tied to one set of layouts, {@link Tying}; else the {@link AutoSolver}), and
 * turns the solution into a {@link Plan}. Since the baselines are candidates of the same
 * problem, the plan's step time is never above a baseline's that fits; if the solver stops at its time
 * limit with something worse, the best fitting baseline is returned instead.
 */
public final class Planner {

    private record Config(Cluster cluster, long batch, Map<String, Long> dims, OptionalDouble memoryLimit,
            MemoryModel memory, double timeLimit, int maxLayouts, Optional<ComputeModel> compute, String calibration,
            String version, String modelName, String sha256) {
    }

    private final Config c;

    private Planner(Config c) {
        this.c = c;
    }

    /** A planner for the cluster with the defaults: no batch, the devices' memory, Adam in mixed precision. */
    public static Planner forCluster(Cluster cluster) {
        return new Planner(new Config(Objects.requireNonNull(cluster, "cluster"), 0, Map.of(), OptionalDouble.empty(),
                MemoryModel.DEFAULT, 60, 64, Optional.empty(), "analytic", "unknown", "", ""));
    }

    /** The global batch size (used to find each node's batch dimension; 0: the first axis of each input). */
    public Planner withBatch(long batch) {
        if (batch < 0) {
            throw new IllegalArgumentException("batch must be >= 0, found " + batch);
        }
        return new Planner(new Config(c.cluster, batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, c.maxLayouts,
                c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    /** The symbolic dimension bindings the graph was imported with (recorded in the plan). */
    public Planner withDims(Map<String, Long> dims) {
        return new Planner(new Config(c.cluster, c.batch, new LinkedHashMap<>(dims), c.memoryLimit, c.memory, c.timeLimit,
                c.maxLayouts, c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    /** A per-device memory limit in bytes (default: the smallest device's memory). */
    public Planner withMemoryLimit(double bytes) {
        if (!(bytes > 0) || Double.isInfinite(bytes)) {
            throw new IllegalArgumentException("memory limit must be a positive number of bytes, found " + bytes);
        }
        return new Planner(new Config(c.cluster, c.batch, c.dims, OptionalDouble.of(bytes), c.memory, c.timeLimit,
                c.maxLayouts, c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    /** Optimizer, ZeRO stage (0-3) and activation recomputation. */
    public Planner withMemoryModel(MemoryModel m) {
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, Objects.requireNonNull(m), c.timeLimit,
                c.maxLayouts, c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    /** The optimizer preset, keeping ZeRO stage and recomputation. */
    public Planner withOptimizer(OptimizerSpec o) {
        return withMemoryModel(new MemoryModel(o, c.memory.zeroStage(), c.memory.recompute()));
    }

    /** Sharded data parallelism (ZeRO stage 0 to 3). */
    public Planner withZeroStage(int stage) {
        return withMemoryModel(new MemoryModel(c.memory.optimizer(), stage, c.memory.recompute()));
    }

    /** Activation recomputation on or off. */
    public Planner withRecompute(boolean on) {
        return withMemoryModel(new MemoryModel(c.memory.optimizer(), c.memory.zeroStage(), on));
    }

    /** The solver's wall-clock limit in seconds (default 60). */
    public Planner withTimeLimit(double seconds) {
        if (!(seconds > 0)) {
            throw new IllegalArgumentException("time limit must be positive, found " + seconds);
        }
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, c.memory, seconds, c.maxLayouts,
                c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    /** The most candidate layouts per node besides the baselines' (default 64; 0: all). */
    public Planner withMaxLayouts(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("max layouts must be >= 0, found " + n);
        }
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, n, c.compute,
                c.calibration, c.version, c.modelName, c.sha256));
    }

    /** A calibrated compute model and the name of its calibration (default: analytic roofline). */
    public Planner withComputeModel(ComputeModel m, String calibrationName) {
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, c.maxLayouts,
                Optional.of(m), calibrationName, c.version, c.modelName, c.sha256));
    }

    /** The model's name and file hash recorded in the plan. */
    public Planner withModel(String name, String sha256) {
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, c.maxLayouts,
                c.compute, c.calibration, c.version, name, sha256));
    }

    /** The shardplan version recorded in the plan. */
    public Planner withVersion(String version) {
        return new Planner(new Config(c.cluster, c.batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, c.maxLayouts,
                c.compute, c.calibration, version, c.modelName, c.sha256));
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
        Planner r = forCluster(cl).withBatch(p.batch()).withDims(p.dims())
                .withMemoryModel(new MemoryModel(o, p.options().zeroStage(), p.options().recompute()))
                .withModel(p.model().name(), p.model().sha256());
        return p.options().memoryLimitBytes() > 0 ? r.withMemoryLimit(p.options().memoryLimitBytes()) : r;
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
        ComputeModel cm = c.compute.orElseGet(() -> ComputeModel.analytic(slowestDevice(c.cluster)));
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
        return new ProblemBuilder(settings(), cg.nodes().size());
    }

    /** Re-costs a plan (for example one edited by hand) on the graph, independently of the search. */
    public PlanEvaluator.Result evaluate(Plan plan, Graph g) throws PlanFormatException {
        CoarseGraph cg = Coarsening.coarsen(g);
        return PlanEvaluator.evaluate(plan, cg, problemBuilder(cg));
    }

    /**
     * Plans the graph.
     *
     * @throws PlanInfeasibleException when no plan fits the memory limit
     */
    public Plan plan(Graph g) throws PlanInfeasibleException {
        long t0 = System.nanoTime();
        CoarseGraph cg = Coarsening.coarsen(g);
        ProblemBuilder pb = problemBuilder(cg);
        DeviceDigits dd = pb.digits();
        Baselines.Baseline dp = Baselines.dataParallel(cg, c.batch, dd);
        List<Baselines.Baseline> experts = Baselines.experts(cg, c.batch, dd);
        Map<String, List<Layout>> required = new LinkedHashMap<>();
        List<Baselines.Baseline> all = new ArrayList<>(List.of(dp));
        all.addAll(experts);
        for (Baselines.Baseline b : all) {
            b.layouts().forEach((k, v) -> {
                List<Layout> ls = required.computeIfAbsent(k, x -> new ArrayList<>());
                if (!ls.contains(v)) {
                    ls.add(v);
                }
            });
        }
        ProblemBuilder.Built built = pb.build(cg, required);
        double limit = memoryLimit();
        Problem free = built.problem().withMemoryLimit(OptionalDouble.empty());
        Map<String, int[]> baselineChoices = new LinkedHashMap<>();
        Map<String, Plan.Baseline> baselines = new LinkedHashMap<>();
        int[] dpChoice = choices(built, dp);
        Evaluator.Evaluation dpEval = Evaluator.evaluate(free, dpChoice);
        baselineChoices.put(Baselines.DATA_PARALLEL, dpChoice);
        baselines.put(Baselines.DATA_PARALLEL, new Plan.Baseline(dp.name(), dpEval.total(), dpEval.memory(),
                dpEval.memory() <= limit));
        // the expert: of its variants (Megatron's tensor-parallel degrees), the fastest that fits, else the fastest
        for (Baselines.Baseline e : experts) {
            int[] ch = choices(built, e);
            Evaluator.Evaluation ev = Evaluator.evaluate(free, ch);
            Plan.Baseline b = new Plan.Baseline(e.name(), ev.total(), ev.memory(), ev.memory() <= limit);
            Plan.Baseline old = baselines.get(Baselines.EXPERT);
            if (old == null || (b.fits() && !old.fits()) || (b.fits() == old.fits() && b.stepSeconds() < old.stepSeconds())) {
                baselines.put(Baselines.EXPERT, b);
                baselineChoices.put(Baselines.EXPERT, ch);
            }
        }
        long ts = System.nanoTime();
        Solution sol = solve(built);
        double solveSeconds = (System.nanoTime() - ts) / 1e9;
        if (sol.status() == Status.INFEASIBLE || !sol.hasChoices()) {
            if (sol.status() == Status.INFEASIBLE) {
                throw new PlanInfeasibleException(Infeasible.explain(this, cg, built, limit));
            }
        }
        int[] choice = sol.hasChoices() ? sol.choices() : null;
        double objective = choice == null ? Double.POSITIVE_INFINITY : Evaluator.objective(built.problem(), choice);
        String solverName = sol.solver();
        String status = sol.status().name();
        double lower = sol.lowerBound();
        for (Map.Entry<String, int[]> e : baselineChoices.entrySet()) {
            Plan.Baseline b = baselines.get(e.getKey());
            if (b.fits() && b.stepSeconds() < objective) {
                choice = e.getValue();
                objective = b.stepSeconds();
                solverName = "baseline:" + b.name();
                status = Status.FEASIBLE.name();
            }
        }
        if (choice == null) {
            throw new PlanInfeasibleException("no plan found within the time limit of " + c.timeLimit
                    + " s and no baseline fits " + Infeasible.gib(limit) + " per device; " + sol.message());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long strategies = 0;
        for (ProblemBuilder.Unit u : built.units()) {
            strategies += u.layouts().size();
        }
        Plan.SolverInfo si = new Plan.SolverInfo(solverName, status, objective, Math.min(lower, objective), seconds, solveSeconds,
                built.problem().size(), built.problem().edges().size(), strategies);
        return assemble(g, built, choice, baselines, si);
    }

    /**
     * Solves the problem: exactly by dynamic programming when the memory limit does not bind; otherwise
     * the memory limit is priced ({@link MemoryPricing}: Lagrangian relaxation, each price solved exactly
     * by dynamic programming) on the problem with each block class tied to one set of layouts
     * ({@link Tying}: far smaller), or on the full problem when the model has no repeated blocks; failing
     * that, the full problem by the auto solver (DP, ILP, local search) within the time limit.
     */
    private Solution solve(ProblemBuilder.Built built) {
        long t0 = System.nanoTime();
        Solver.Options opts = Solver.Options.withTimeLimit(c.timeLimit);
        // without the memory limit first: exact, and a lower bound when the limit binds
        Solution dp = new DpSolver().solve(built.problem().withMemoryLimit(OptionalDouble.empty()), opts);
        if (dp.status() == Status.OPTIMAL) {
            Evaluator.Evaluation e = Evaluator.evaluate(built.problem(), dp.choices());
            if (e.feasible()) {
                return dp;
            }
        }
        if (Infeasible.leastMemory(built) > memoryLimit()) {
            return new Solution(built.problem().name(), Status.INFEASIBLE, Double.NaN, Double.POSITIVE_INFINITY,
                    new int[0], "dp", (System.nanoTime() - t0) / 1e9, "the smallest layouts exceed the memory limit");
        }
        if (dp.status() != Status.OPTIMAL) {
            dp = new Solution(dp.problem(), dp.status(), dp.objective(), Double.NEGATIVE_INFINITY, dp.choices(),
                    dp.solver(), dp.seconds(), dp.message());
        }
        Tying tying = Tying.of(built);
        Problem small = tying.tiedNodes() > 0 ? tying.problem() : built.problem();
        double left = Math.max(1, c.timeLimit - (System.nanoTime() - t0) / 1e9);
        MemoryPricing.Result priced = MemoryPricing.solve(small, left);
        if (priced != null) {
            int[] full = tying.tiedNodes() > 0 ? tying.expand(priced.choices()) : priced.choices();
            double obj = Evaluator.objective(built.problem(), full);
            // a bound of the tied problem is not one of the full problem; the DP's bound always is
            double lower = tying.tiedNodes() > 0 ? dp.lowerBound() : Math.max(dp.lowerBound(), priced.lowerBound());
            boolean proven = obj - lower <= 1e-9 * Math.max(1, Math.abs(obj));
            return new Solution(built.problem().name(), proven ? Status.OPTIMAL : Status.FEASIBLE, obj,
                    Math.min(lower, obj), full, tying.tiedNodes() > 0 ? "dp-priced (blocks tied)" : "dp-priced",
                    (System.nanoTime() - t0) / 1e9, "memory limit priced by Lagrangian relaxation"
                            + (tying.tiedNodes() > 0 ? ", each block class tied to one set of layouts" : ""));
        }
        left = Math.max(1, c.timeLimit - (System.nanoTime() - t0) / 1e9);
        return new AutoSolver().solve(built.problem(), Solver.Options.withTimeLimit(left));
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

    private Plan assemble(Graph g, ProblemBuilder.Built built, int[] choice, Map<String, Plan.Baseline> baselines,
            Plan.SolverInfo si) {
        int n = built.units().size();
        double[] comm = new double[n];
        double[] bytes = new double[n];
        for (ProblemBuilder.Link l : built.links()) {
            int cols = built.units().get(l.to()).layouts().size();
            int at = choice[l.from()] * cols + choice[l.to()];
            comm[l.to()] += l.seconds()[at];
            bytes[l.to()] += l.bytes()[at];
        }
        List<PlanNode> nodes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        double compute = 0;
        double commTotal = 0;
        double mem = 0;
        double bytesTotal = 0;
        for (ProblemBuilder.Unit u : built.units()) {
            Layout l = u.layouts().get(choice[u.index()]);
            ProblemBuilder.Cost cost = u.costs().get(choice[u.index()]);
            PlanNode pn = new PlanNode(u.name(), opLabel(u.coarse()), l.strategy().factors(), l.placement(),
                    l.intraNode(), l.strategy().devices(), u.space().isPresent(), cost.computeSeconds(),
                    cost.communicationSeconds() + comm[u.index()], cost.communicationBytes() + bytes[u.index()],
                    cost.memoryBytes(), 0);
            nodes.add(pn);
            names.add(pn.name());
            compute += pn.computeSeconds();
            commTotal += pn.communicationSeconds();
            mem += pn.memoryBytes();
            bytesTotal += pn.communicationBytes();
        }
        double limit = memoryLimit();
        PlanTotals totals = new PlanTotals(compute + commTotal, compute, commTotal, mem, bytesTotal, limit, mem <= limit);
        Cluster cl = c.cluster;
        Plan.ClusterInfo ci = new Plan.ClusterInfo(cl.name(), cl.deviceCount(), cl.devicesPerNode(),
                cl.device(0).name(), cl.minDeviceMemoryBytes(), PlanJson.compact(ClusterFiles.toJson(cl)));
        List<String> warnings = new ArrayList<>();
        if (!built.unsupported().isEmpty()) {
            StringBuilder b = new StringBuilder("operators without an iteration space, planned as replicated: ");
            built.unsupported().forEach((op, k) -> b.append(op).append(" (").append(k).append(k == 1 ? " node), " : " nodes), "));
            warnings.add(b.substring(0, b.length() - 2));
        }
        if (!cl.isHomogeneous()) {
            warnings.add("the cluster is not homogeneous: compute is priced on its slowest device, " + slowestDevice(cl).name()
                    + ", and the layout assumes " + cl.devicesPerNode() + " devices per node (its smallest node)");
        }
        String modelName = c.modelName.isEmpty() ? g.name() : c.modelName;
        return new Plan(new Plan.Model(modelName, c.sha256, g.nodes().size(), built.problem().size()), ci, c.batch, c.dims,
                new Plan.Options(c.memory.optimizer().name(), c.memory.zeroStage(), c.memory.recompute(), limit),
                nodes, List.of(new Plan.Stage(0, cl.deviceCount(), names)), "none", totals, baselines, si,
                new Plan.Provenance(c.version, c.calibration, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                        "exact: synchronous data and tensor parallelism, training math unchanged"),
                warnings);
    }

    /** The operator of a coarse node: its anchor's, or the recognised pattern's. */
    public static String opLabel(CoarseNode c) {
        return c.pattern().orElse(c.opType());
    }

    /** This planner on another cluster (for "what would fit" answers). */
    Planner withCluster(Cluster other) {
        return new Planner(new Config(other, c.batch, c.dims, c.memoryLimit, c.memory, c.timeLimit, c.maxLayouts,
                c.compute, c.calibration, c.version, c.modelName, c.sha256));
    }

    MemoryModel memoryModel() {
        return c.memory;
    }
}
