package org.shardplan.planner.build;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.comm.Collective;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.passes.RepeatedBlocks;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.IterationSpaces;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.planner.solver.DisjointSets;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.strategy.Collectives;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * Turns a graph and the cost model into a strategy {@link Problem}: the graph is coarsened
 * ({@link Coarsening}: shape arithmetic folded, element-wise chains fused into their producer), then
 * one problem node per coarse node, one candidate per {@link Layout} of its iteration space
 * ({@link CoarseSpaces}), and one edge per tensor passed between two coarse nodes.
 *
 * <p>A node's cost under a layout is its per-device compute (forward and backward kernels of the
 * anchor with the shapes one device sees, and the fused element-wise members' kernels scaled by the
 * share of the iterations one device runs; plus one more forward under recomputation) plus the
 * collectives the split needs: an all-reduce of the gradient of every parameter held in copies
 * over the devices that split a dimension the parameter does not index (data parallelism; under ZeRO
 * stage 3 also two all-gathers of the weights; below stage 3 a parameter smaller than the 25 MiB
 * gradient bucket pays its share of a bucket's collective, {@link Collectives#bucketedSeconds}, as
 * the buckets of data-parallel training pay one latency each), a reduce-scatter of the gradient parts of every
 * activation input held in copies, a reduce-scatter of partial sums when a reduction dimension is
 * split, halo exchange forward and backward for split spatial dimensions, and an all-reduce of row
 * statistics when a normalised dimension is split. Digits of the device index that no split dimension
 * owns hold copies of the same computation: they see the same data and compute the same gradients,
 * so no collective runs over them. Its memory is the weights, gradients and optimizer state of its
 * parameter slices ({@link MemoryModel}) plus the activations it saves for the backward pass. An
 * edge's cost is the time each device spends receiving the part of the tensor's block it needs under
 * the consumer's layout and does not hold under the producer's (forward), and the same for the
 * gradient the other way (backward), on the node link or the network; a reduce-scattered tensor
 * (partial sums forward, gradient parts backward) is all-gathered first unless the receiving layout
 * splits one of its axes over exactly the devices it was scattered over (so tensor parallelism pays
 * a reduce-scatter and an all-gather per boundary, the all-reduce of Megatron, and sequence
 * parallelism only the same two: Korthikanti et al., 2022, Section 4.2.2).
 * Operators without an iteration space run replicated (every device computes them whole).
 *
 * <p>Nodes with the same operator, attributes, shapes and required layouts share one cost table, and
 * edges between such nodes share one matrix, so the repeated layers of a deep model are priced once.
 * The other edges' matrices come from {@link Reshards}, which keeps the placement arithmetic of each
 * pair of tensor placements and each matrix by content for every builder of one cluster: the layers of a
 * densely connected block, each of its own shape, and the micro-batch sizes of a pipeline search do that
 * arithmetic once. Building is O(distinct nodes · layouts + distinct edges · layouts²) plus O(nodes +
 * edges), the layouts² part look-ups and alpha-beta sums once the pairs are known.
 */
public final class ProblemBuilder {

    /**
     * Whether a pipeline stage's gradient reduction pays at least one collective's latency ({@link
     * Cost#stageReduction}; {@code -Dshardplan.stageLatencyFloor=false}: the sum of the shares, as before).
     */
    public static boolean stageLatencyFloor = !"false".equals(System.getProperty("shardplan.stageLatencyFloor"));

    /**
     * What the costs depend on.
     *
     * @param cluster the cluster
     * @param compute the compute model of the cluster's device
     * @param memory optimizer, ZeRO stage and recomputation
     * @param maxLayouts the most candidate layouts per node besides the required ones (0: all)
     * @param memoryLimit the per-device memory limit, if any
     * @param gradientBucketBytes the size of the buckets the data-parallel gradient reduction runs in (below
     *     ZeRO stage 3): a parameter's gradient smaller than one pays its share of a bucket's collective
     */
    public record Settings(Cluster cluster, ComputeModel compute, MemoryModel memory, int maxLayouts,
            OptionalDouble memoryLimit, double gradientBucketBytes) {
        public Settings {
            Objects.requireNonNull(cluster, "cluster");
            Objects.requireNonNull(compute, "compute");
            Objects.requireNonNull(memory, "memory");
            Objects.requireNonNull(memoryLimit, "memoryLimit");
            if (!(gradientBucketBytes > 0) || Double.isInfinite(gradientBucketBytes)) {
                throw new IllegalArgumentException("gradient bucket must be a finite number of bytes > 0, found "
                        + gradientBucketBytes);
            }
        }

        /**
         * Settings with full gradient buckets of the compute model's size ({@link
         * ComputeModel#gradientBucketBytes}, 25 MiB unless set).
         */
        public Settings(Cluster cluster, ComputeModel compute, MemoryModel memory, int maxLayouts,
                OptionalDouble memoryLimit) {
            this(cluster, compute, memory, maxLayouts, memoryLimit, compute.gradientBucketBytes());
        }

        /**
         * These settings with the gradient buckets of the model {@code cg}: the compute model's bucket size
         * ({@link ComputeModel#gradientBucketBytes}, 25 MiB unless set), or the model's whole gradient where
         * that is less (one bucket holds all of it, and the reduction pays one latency).
         */
        public Settings forModel(CoarseGraph cg) {
            return new Settings(cluster, compute, memory, maxLayouts, memoryLimit,
                    gradientBucketOf(cg, memory.optimizer().gradientBytes(), compute.gradientBucketBytes()));
        }
    }

    /**
     * The gradient bucket of a model with buckets of {@code bucket} bytes: {@code bucket}, or the bytes of all
     * its trained parameters' gradients (each parameter counted once) where that is less, so that a model
     * whose gradient fills less than one bucket pays one all-reduce of all of it. O(parameters · rank).
     */
    public static double gradientBucketOf(CoarseGraph cg, double gradientBytesPerElement, double bucket) {
        double total = 0;
        for (Value v : cg.graph().parameters()) {
            if (Backward.needsGrad(v)) {
                total += v.type().shape().numElements().orElse(0) * gradientBytesPerElement;
            }
        }
        return total > 0 ? Math.min(bucket, total) : bucket;
    }

    /**
     * How often the per-micro-batch work of a node runs in one training step, and how many
     * micro-batches' activations a device holds at once. With gradient accumulation over m
     * micro-batches and no pipeline, the weight is m and one micro-batch is held; in a pipeline of p
     * stages under GPipe or 1F1B the slowest stage sets a step of (m + p - 1) micro-batch times
     * (Narayanan et al., SC'21, Section 2.2), so the per-layer search of a stage weighs its
     * micro-batch work by m + p - 1, and 1F1B holds up to min(p, m) micro-batches in flight. The
     * gradient reduction (and everything else done once per step) has weight 1.
     *
     * @param microBatchWeight multiplier of per-micro-batch compute, collectives and resharding
     * @param activationCopies micro-batches whose saved activations a device holds at its peak
     * @param gradientWeight multiplier of the data-parallel gradient reduction, in [0, 1]: 1 counts it in
     *     full, 0 as wholly hidden behind the backward pass (a bound on the step where it overlaps)
     */
    public record Repeat(double microBatchWeight, double activationCopies, double gradientWeight) {
        /** One micro-batch per step. */
        public static final Repeat ONCE = new Repeat(1, 1);

        public Repeat {
            if (!(microBatchWeight >= 1) || Double.isInfinite(microBatchWeight)) {
                throw new IllegalArgumentException("micro-batch weight must be a finite number >= 1, found " + microBatchWeight);
            }
            if (!(activationCopies >= 1) || Double.isInfinite(activationCopies)) {
                throw new IllegalArgumentException("activation copies must be a finite number >= 1, found " + activationCopies);
            }
            if (!(gradientWeight >= 0 && gradientWeight <= 1)) {
                throw new IllegalArgumentException("gradient weight must be in [0, 1], found " + gradientWeight);
            }
        }

        /** The gradient reduction counted in full. */
        public Repeat(double microBatchWeight, double activationCopies) {
            this(microBatchWeight, activationCopies, 1);
        }
    }

    /**
     * The cost of one node under one layout, per device, for a step of one micro-batch (the builder's
     * costs; {@link StageProblem} weighs the parts by a {@link Repeat} for more), with the
     * per-micro-batch and per-step parts it is made of.
     *
     * @param computeSeconds forward and backward compute of the step (the micro-batch's times the weight)
     * @param communicationSeconds the collectives inside the node in the step: per-micro-batch ones
     *     times the weight, plus the gradient reduction once
     * @param communicationBytes bytes moved by them per device in the step
     * @param memoryBytes parameters, gradients, optimizer state and the saved activations of the
     *     micro-batches held at once
     * @param forwardSeconds forward compute of one micro-batch (with recomputation the second forward
     *     counts as backward work)
     * @param microComputeSeconds forward and backward compute of one micro-batch
     * @param microCommunicationSeconds collectives of one micro-batch (partial sums, halos, activation
     *     gradients, statistics; the ZeRO 2 and 3 gathers and reduce-scatters, less what the
     *     node's own compute hides when data-parallel collectives overlap)
     * @param microCommunicationBytes bytes one device moves in them
     * @param gradientSeconds the reduction of parameter gradients, once per step
     * @param gradientBytes bytes one device moves in that reduction
     * @param parameterBytes weights, gradients and optimizer state
     * @param activationBytes saved activations of one micro-batch
     * @param gradientLatencySeconds the largest latency of one bucketed collective of that reduction (the time of
     *     one of a byte over its group; 0 where nothing is reduced in buckets)
     * @param gradientLatencyShares the part of {@code gradientSeconds} that is latency: each gradient's share of its
     *     bucket's latency (a whole latency for one reduced alone)
     */
    public record Cost(double computeSeconds, double communicationSeconds, double communicationBytes,
            double memoryBytes, double forwardSeconds, double microComputeSeconds,
            double microCommunicationSeconds, double microCommunicationBytes, double gradientSeconds,
            double gradientBytes, double parameterBytes, double activationBytes, double gradientLatencySeconds,
            double gradientLatencyShares) {

        /** A cost of one micro-batch per step whose parts are not known apart (tests, fake cost models). */
        public Cost(double computeSeconds, double communicationSeconds, double communicationBytes, double memoryBytes) {
            this(computeSeconds, communicationSeconds, communicationBytes, memoryBytes, computeSeconds / 3,
                    computeSeconds, communicationSeconds, communicationBytes, 0, 0, memoryBytes, 0, 0, 0);
        }

        /** The cost of a step of one micro-batch made of these parts. */
        static Cost of(double forward, double compute, double microComm, double microBytes, double gradient,
                double gradientBytes, double parameterBytes, double activationBytes, double latency, double latencyShares) {
            return new Cost(compute, microComm + gradient, microBytes + gradientBytes, parameterBytes + activationBytes,
                    forward, compute, microComm, microBytes, gradient, gradientBytes, parameterBytes, activationBytes,
                    latency, latencyShares);
        }

        /**
         * The gradient reduction of a pipeline stage, which reduces its gradients in buckets of its own: the sum of its
         * nodes' {@code gradientSeconds} with their latency shares replaced by at least one whole latency, since the
         * stage runs at least one collective ({@code sum(g) - sum(shares) + max(largest latency, sum(shares))}). Exact
         * for a stage reduced over one group in one bucket; {@code sums} holds {@code {sum(g), sum(shares), largest
         * latency}} ({@link #addReduction}) of one of {@code stages} stages. One stage needs none (the sum): its bucket is
         * at most the model's whole gradient ({@link Settings#forModel}), so its shares already add up to a bucket's
         * latency.
         */
        public static double stageReduction(double[] sums, int stages) {
            return stageLatencyFloor && stages > 1 ? sums[0] - sums[1] + Math.max(sums[2], sums[1]) : sums[0];
        }

        /** Adds this cost's reduction to {@code sums} ({@link #stageReduction}). */
        public void addReduction(double[] sums) {
            sums[0] += gradientSeconds;
            sums[1] += gradientLatencyShares;
            sums[2] = Math.max(sums[2], gradientLatencySeconds);
        }

        /** Compute plus communication. */
        public double seconds() {
            return computeSeconds + communicationSeconds;
        }
    }

    /**
     * One problem node: a node of the coarse graph.
     *
     * @param index its index in the problem (and in the coarse graph)
     * @param coarse the coarse node (an anchor operator with the element-wise operators fused into it)
     * @param space its iteration space, empty when the anchor's operator is not supported
     * @param layouts its candidates, in problem order
     * @param costs the cost of each candidate
     */
    public record Unit(int index, CoarseNode coarse, Optional<IterationSpace> space, List<Layout> layouts,
            List<Cost> costs) {
        public Unit {
            layouts = List.copyOf(layouts);
            costs = List.copyOf(costs);
        }

        /** The coarse node's name (its anchor's). */
        public String name() {
            return coarse.name();
        }

        /** The index of a layout among the candidates, or -1. */
        public int indexOf(Layout l) {
            return layouts.indexOf(l);
        }
    }

    /**
     * One problem edge: a tensor from one node to another.
     *
     * @param from producer unit
     * @param to consumer unit
     * @param value the tensor's name
     * @param seconds resharding time of one micro-batch, forward plus backward, row-major (producer layout,
     *     consumer layout)
     * @param bytes bytes received per device for the same pairs
     */
    public record Link(int from, int to, String value, double[] seconds, double[] bytes) {
    }

    /**
     * The problem and what it was built from: the coarse graph planned, one unit per problem node in
     * coarse-graph order, one link per problem edge in problem order, and the operator types planned as
     * replicated because they have no iteration space, with their node counts. The whole {@link
     * #problem()} (whose edges hold copies of the links' tables) is made on first use: the search reads
     * the units and links (its stage problems are made from them), and keeping every configuration's
     * whole problem held gigabytes for the largest models.
     */
    public static final class Built {
        private final CoarseGraph coarse;
        private final String name;
        private final OptionalDouble memoryLimit;
        private final List<Unit> units;
        private final List<Link> links;
        private final Map<String, Integer> unsupported;
        private final java.util.function.Supplier<Problem> make;
        private Problem problem;

        /** A built problem with its whole problem given. */
        public Built(CoarseGraph coarse, Problem problem, List<Unit> units, List<Link> links,
                Map<String, Integer> unsupported) {
            this(coarse, problem.name(), problem.memoryLimit(), null, units, links, unsupported);
            this.problem = problem;
        }

        private Built(CoarseGraph coarse, String name, OptionalDouble memoryLimit,
                java.util.function.Supplier<Problem> make, List<Unit> units, List<Link> links,
                Map<String, Integer> unsupported) {
            this.coarse = coarse;
            this.name = name;
            this.memoryLimit = memoryLimit;
            this.make = make;
            this.units = List.copyOf(units);
            this.links = List.copyOf(links);
            this.unsupported = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(unsupported));
        }

        /** The coarse graph planned. */
        public CoarseGraph coarse() {
            return coarse;
        }

        /** The whole strategy problem, made on first use. O(nodes · layouts + edges · layouts²) then. */
        public synchronized Problem problem() {
            if (problem == null) {
                problem = make.get();
            }
            return problem;
        }

        /** The problem's name, without making it. */
        public String name() {
            return name;
        }

        /** The problem's memory limit, without making it. */
        public OptionalDouble memoryLimit() {
            return memoryLimit;
        }

        /** One per problem node, in coarse-graph order. */
        public List<Unit> units() {
            return units;
        }

        /** One per problem edge, in problem order. */
        public List<Link> links() {
            return links;
        }

        /** Operator types planned as replicated (no iteration space), with their node counts. */
        public Map<String, Integer> unsupported() {
            return unsupported;
        }

        private final Map<List<Layout>, String[]> labels = new java.util.IdentityHashMap<>();

        /**
         * The labels of a candidate list ({@link Layout#label}), made once per list: the units of a class share
         * theirs, and every stage problem cut from this one names its candidates.
         */
        synchronized String[] labels(List<Layout> layouts) {
            return labels.computeIfAbsent(layouts, lts -> {
                String[] x = new String[lts.size()];
                for (int k = 0; k < x.length; k++) {
                    x[k] = lts.get(k).label();
                }
                return x;
            });
        }

        /** The unit of a coarse node. */
        public Optional<Unit> unit(String name) {
            for (Unit u : units) {
                if (u.name().equals(name)) {
                    return Optional.of(u);
                }
            }
            return Optional.empty();
        }
    }

    /** Operators without an iteration space that are cheap bookkeeping, not worth a warning. */
    private static final Set<String> QUIET = Set.of("Constant", "Shape", "Size", "ConstantOfShape", "Range");

    private final Settings settings;
    private final DeviceDigits digits;
    private final Collectives collectives;
    private final double activationFactor;
    /** While {@link #buildRequiredOnly} runs: each node's candidates are only its required layouts (and replicated). */
    private boolean requiredOnly;
    /** {@link System#nanoTime} after which pricing stops ({@link #stopAt}); none by default. */
    private long deadline;
    private boolean hasDeadline;

    /**
     * Thrown by {@link #build}, {@link #nodeCosts} and {@link #memoryParts} when the deadline set by
     * {@link #stopAt} passes while they price candidates: the caller answers with what it has.
     */
    public static final class OutOfTime extends RuntimeException {
        OutOfTime() {
            super("the time limit passed while building the strategy problem", null, false, false);
        }
    }

    /**
     * Layout pairs over the distinct edges of a build above which their matrices are priced on the common
     * fork-join pool (the processors), unless {@code -Dshardplan.build.threads=1}.
     */
    static final long PARALLEL_EDGE_ENTRIES = 50_000;
    private static final int EDGE_THREADS = Integer.getInteger("shardplan.build.threads",
            Runtime.getRuntime().availableProcessors());

    /**
     * What builders of one graph on one cluster share whatever their memory model (recomputation, ZeRO
     * stage): each class's candidates (they depend on the iteration space, the devices, the cap and the
     * required layouts, not on memory) and the resharding tables between classes (they depend on the
     * candidates, the tensor and the cluster). A search that builds the same graph on the same submesh
     * under several memory settings enumerates and prices these once. The candidates and tables are concurrent
     * maps, which the builders of another thread may share ({@link #Shared(Shared, PerDeviceWork)}); the rest is not
     * thread-safe.
     */
    public static final class Shared {
        private final Map<String, List<Layout>> layouts;
        private final Map<EdgeKey, double[][]> edges;
        private final Reshards reshards;
        private Cluster cluster;
        private int maxLayouts = -1;

        /** Candidates and tables of one graph, with resharding prices of their own. */
        public Shared() {
            this(new Reshards());
        }

        /**
         * Candidates and tables of one graph, the resharding prices taken from and added to {@code reshards}
         * (shared with the builders of other graphs, e.g. other micro-batch sizes, on the same cluster).
         */
        public Shared(Reshards reshards) {
            this(reshards, new PerDeviceWork());
        }

        /**
         * Candidates and tables of one graph, the resharding prices taken from and added to {@code reshards}
         * and the per-device nodes' prices from and to {@code work} (shared with the builders of the same
         * graph on submeshes of other sizes).
         */
        public Shared(Reshards reshards, PerDeviceWork work) {
            this.reshards = Objects.requireNonNull(reshards, "reshards");
            this.work = Objects.requireNonNull(work, "work");
            this.layouts = new java.util.concurrent.ConcurrentHashMap<>();
            this.edges = new java.util.concurrent.ConcurrentHashMap<>();
        }

        /**
         * Candidates and tables shared with {@code tables} (and its resharding prices), for builders on another
         * thread, with the per-device nodes' prices {@code work} of their own (those are not thread-safe).
         */
        public Shared(Shared tables, PerDeviceWork work) {
            this.reshards = tables.reshards;
            this.work = Objects.requireNonNull(work, "work");
            this.layouts = tables.layouts;
            this.edges = tables.edges;
        }

        private final PerDeviceWork work;

        /** Checks that a builder may use this: the same cluster and cap as the builders before it. */
        private Shared claim(Settings s) {
            reshards.claim(s.cluster());
            if (cluster == null) {
                cluster = s.cluster();
                maxLayouts = s.maxLayouts();
            } else if (!cluster.equals(s.cluster()) || maxLayouts != s.maxLayouts()) {
                throw new IllegalArgumentException("shared candidates must come from builders of one cluster and cap,"
                        + " found " + s.cluster().name() + " with " + s.maxLayouts() + " after " + cluster.name() + " with "
                        + maxLayouts);
            }
            return this;
        }
    }

    /**
     * The compute model's price of each per-device node (training and forward seconds, without the
     * recomputation's extra forward) and its saved activation bytes (before the recomputation's share), by
     * anchor node (by identity) and strategy: they depend on the graph, the compute model and the
     * strategy's split, not on the devices, the memory model or where the blocks are placed, so the
     * builders of one graph on submeshes of every size and under every memory model share them. Not
     * thread-safe.
     */
    public static final class PerDeviceWork {
        /** {training seconds, forward seconds, saved bytes}; the seconds NaN until priced. */
        private final Map<Node, Map<Strategy, double[]>> work = new java.util.IdentityHashMap<>();
        private ComputeModel compute;
        /** The prices by the per-device nodes' contents, shared with other graphs' memos; null when none. */
        private final LocalPrices prices;

        /** An empty memo. */
        public PerDeviceWork() {
            this(null);
        }

        /**
         * An empty memo that takes the compute model's prices from, and adds them to, {@code prices} (shared
         * by the memos of the graphs of one model at other micro-batch sizes); null: none.
         */
        public PerDeviceWork(LocalPrices prices) {
            this.prices = prices;
        }

        /**
         * Whether a builder with this compute model may use these prices: the first builder's model, or one
         * that prices alike ({@link ComputeModel#pricesAs}); another builder keeps prices of its own.
         */
        private boolean admits(ComputeModel cm) {
            if (compute == null) {
                compute = cm;
            }
            return compute.pricesAs(cm);
        }

        /**
         * What depends on a coarse graph alone (by identity), whatever the devices, memory or compute model:
         * its nodes' iteration spaces ({@link CoarseSpaces#of}), their cost signatures ({@link ProblemBuilder#signature}),
         * the attention chains ({@link AttentionChains}) and the signatures with the nodes' pricing roles
         * (attention priced fused or not). The builders of one graph on every submesh and
         * under every memory model (a pipeline search's configurations at one micro-batch size) work them
         * out once.
         */
        private final Map<CoarseGraph, GraphFacts> graphs = new java.util.IdentityHashMap<>();

        /** The graphs whose facts were worked out so far (for tests). */
        public int graphsAnalysed() {
            return graphs.size();
        }

        /** Per-device nodes priced so far (for tests). */
        public int size() {
            int n = 0;
            for (Map<Strategy, double[]> m : work.values()) {
                n += m.size();
            }
            return n;
        }
    }

    private final Shared shared;
    private final PerDeviceWork perDevice;
    /** The compute model's prices by per-device node contents, shared across graphs; null when none. */
    private final LocalPrices localPrices;
    private final Reshards reshards;

    /** A builder for {@code nodes} problem nodes (the count sets the recomputation's activation share). */
    public ProblemBuilder(Settings settings, int nodes) {
        this(settings, nodes, new Shared());
    }

    /**
     * A builder that takes candidates and resharding tables from, and adds them to, {@code shared}
     * (builders of the same graphs on the same cluster and cap, other memory models).
     */
    public ProblemBuilder(Settings settings, int nodes, Shared shared) {
        this.shared = shared.claim(settings);
        this.perDevice = shared.work.admits(settings.compute()) ? shared.work : new PerDeviceWork();
        this.localPrices = perDevice.prices != null && perDevice.prices.admits(settings.compute()) ? perDevice.prices : null;
        this.reshards = shared.reshards;
        this.settings = settings;
        Cluster c = settings.cluster();
        this.digits = DeviceDigits.of(c.deviceCount(), c.devicesPerNode());
        this.collectives = new Collectives(c, digits);
        this.activationFactor = settings.memory().recompute() ? Math.min(1.0, 2.0 / Math.sqrt(Math.max(1, nodes))) : 1.0;
    }

    public DeviceDigits digits() {
        return digits;
    }

    /** The collectives' times on this builder's cluster. */
    Collectives collectives() {
        return collectives;
    }

    /**
     * Sets the {@link System#nanoTime} after which pricing stops: {@link #build}, {@link #nodeCosts} and
     * {@link #memoryParts} check it before each class of nodes and each edge they price and throw
     * {@link OutOfTime} once it has passed (what they priced before stays cached).
     */
    public void stopAt(long deadlineNanos) {
        this.deadline = deadlineNanos;
        this.hasDeadline = true;
    }

    /**
     * {@link #build}, with each node's candidates only the layouts {@code required} of it (the baselines')
     * and replicated, and without the deadline: the problem on which a search that ran out of time still
     * prices its baselines, with the same node and edge costs. O(nodes · required + edges · required²),
     * the graph's analysis shared with the other builds of this builder.
     */
    public Built buildRequiredOnly(CoarseGraph cg, Map<String, List<Layout>> required) {
        requiredOnly = true;
        try {
            return build(cg, required);
        } finally {
            requiredOnly = false;
        }
    }

    /** Removes the deadline {@link #stopAt} set: pricing runs to its end (a re-costing, or a later search with its own limit). */
    public void noDeadline() {
        this.hasDeadline = false;
    }

    private void checkTime() {
        if (hasDeadline && !requiredOnly && System.nanoTime() - deadline > 0) {
            throw new OutOfTime();
        }
    }

    public Settings settings() {
        return settings;
    }

    /** The classes of nodes whose candidates' costs (time and memory) this builder has priced (for tests). */
    public int classesPriced() {
        return costCache.size();
    }

    /**
     * Builds the problem of {@code graph} (coarsened first); {@code required} gives, per coarse node name,
     * layouts that must be among its candidates (the baselines'). The map is read as unchanging: what it
     * gives is kept by its identity for later calls with the same graph.
     */
    public Built build(Graph graph, Map<String, List<Layout>> required) {
        return build(Coarsening.coarsen(graph), required);
    }

    /** Builds the problem of a coarse graph; see {@link #build(Graph, Map)}. */
    public Built build(CoarseGraph cg, Map<String, List<Layout>> required) {
        List<String> keys = classKeys(cg, required);
        List<Optional<IterationSpace>> spaces = spacesOf(cg);
        List<Unit> units = new ArrayList<>();
        Map<String, Integer> unsupported = new LinkedHashMap<>();
        for (CoarseNode c : cg.nodes()) {
            Optional<IterationSpace> space = spaces.get(c.index());
            String key = keys.get(c.index());
            List<Layout> layouts = layoutCache.get(key);
            List<Cost> costs = costCache.get(key);
            if (space.isEmpty() && !QUIET.contains(c.opType())) {
                unsupported.merge(c.opType(), 1, Integer::sum);
            }
            units.add(new Unit(c.index(), c, space, layouts, costs));
        }
        List<Link> links = new ArrayList<>();
        // the edges between the same classes (by tensor position) share one matrix: the distinct ones are
        // priced, each on its own (on two threads or more where there is much to price: the matrices do not
        // depend on the order), then every edge takes its class's
        Map<EdgeKey, Integer> edgeClass = new HashMap<>();
        List<CoarseEdge> distinct = new ArrayList<>();
        List<EdgeKey> distinctKeys = new ArrayList<>();
        int[] classOf = new int[cg.edges().size()];
        long entries = 0;
        for (int i = 0; i < classOf.length; i++) {
            CoarseEdge e = cg.edges().get(i);
            Unit p = units.get(e.from());
            Unit u = units.get(e.to());
            EdgeKey key = new EdgeKey(keys.get(e.from()), indexOf(p.space(), e.value().name(), true), keys.get(e.to()),
                    indexOf(u.space(), e.value().name(), false));
            Integer k = edgeClass.get(key);
            if (k == null) {
                k = distinct.size();
                edgeClass.put(key, k);
                distinct.add(e);
                distinctKeys.add(key);
                if (!shared.edges.containsKey(key)) {
                    entries += (long) p.layouts().size() * u.layouts().size();
                }
            }
            classOf[i] = k;
        }
        // the matrices the builders of other memory settings priced are taken as they are
        double[][][] priced = new double[distinct.size()][][];
        for (int k = 0; k < priced.length; k++) {
            priced[k] = shared.edges.get(distinctKeys.get(k));
        }
        java.util.stream.IntStream each = java.util.stream.IntStream.range(0, priced.length);
        (entries >= PARALLEL_EDGE_ENTRIES && EDGE_THREADS > 1 ? each.parallel() : each).forEach(k -> {
            if (priced[k] != null) {
                return;
            }
            checkTime();
            CoarseEdge e = distinct.get(k);
            priced[k] = reshards.matrix(this, units.get(e.from()), units.get(e.to()), e.value());
        });
        for (int k = 0; k < priced.length; k++) {
            shared.edges.putIfAbsent(distinctKeys.get(k), priced[k]);
        }
        for (int i = 0; i < classOf.length; i++) {
            CoarseEdge e = cg.edges().get(i);
            double[][] m = priced[classOf[i]];
            links.add(new Link(e.from(), e.to(), e.value().name(), m[0], m[1]));
        }
        String name = cg.graph().name();
        OptionalDouble limit = settings.memoryLimit();
        return new Built(cg, name, limit, () -> wholeProblem(name, units, links, limit), units, links, unsupported);
    }

    /**
     * The class of an edge: the class keys of its ends and the tensor's position among the producer's
     * outputs and the consumer's inputs (edges of one class have one resharding matrix). The class keys
     * are compared as strings, each hashed once (no key of the whole edge is concatenated).
     */
    private record EdgeKey(String from, int output, String to, int input) {
    }

    /** The whole problem of built units and links (their cost and edge tables copied into it). */
    private static Problem wholeProblem(String name, List<Unit> units, List<Link> links, OptionalDouble limit) {
        List<Problem.Node> pnodes = new ArrayList<>();
        Map<List<Layout>, List<String>> labelCache = new java.util.IdentityHashMap<>();
        for (Unit u : units) {
            double[] c = new double[u.layouts().size()];
            double[] mem = new double[c.length];
            for (int k = 0; k < c.length; k++) {
                c[k] = u.costs().get(k).seconds();
                mem[k] = u.costs().get(k).memoryBytes();
            }
            // the units of one class share their candidate list, and so its labels
            List<String> labels = labelCache.computeIfAbsent(u.layouts(), ls -> {
                List<String> r = new ArrayList<>(ls.size());
                ls.forEach(l -> r.add(l.label()));
                return List.copyOf(r);
            });
            pnodes.add(new Problem.Node(u.name(), c, labels, mem));
        }
        List<Problem.Edge> pedges = new ArrayList<>();
        for (Link l : links) {
            pedges.add(new Problem.Edge(l.from(), l.to(), units.get(l.from()).layouts().size(),
                    units.get(l.to()).layouts().size(), l.seconds()));
        }
        return new Problem(name, pnodes, pedges, limit);
    }

    /**
     * The parameter bytes and the activation bytes of one micro-batch of every candidate {@link
     * #build} would give each node with these required layouts: per node in coarse-graph order, one
     * {parameter, activation} pair per candidate; no edge is priced. O(distinct nodes · layouts).
     */
    public double[][][] memoryParts(CoarseGraph cg, Map<String, List<Layout>> required) {
        List<List<Cost>> costs = nodeCosts(cg, required);
        Map<List<Cost>, double[][]> cache = new java.util.IdentityHashMap<>();
        double[][][] r = new double[costs.size()][][];
        for (int i = 0; i < r.length; i++) {
            r[i] = cache.computeIfAbsent(costs.get(i), cs -> {
                double[][] x = new double[cs.size()][];
                for (int k = 0; k < x.length; k++) {
                    x[k] = new double[] {cs.get(k).parameterBytes(), cs.get(k).activationBytes()};
                }
                return x;
            });
        }
        return r;
    }

    /**
     * The candidates' costs of every node {@link #build} would give it with these required layouts, in
     * coarse-graph order (the nodes of one class share one list); no edge is priced. The costs are kept:
     * a later {@link #build} or call of the same graph prices no node again. O(distinct nodes · layouts)
     * the first time.
     */
    public List<List<Cost>> nodeCosts(CoarseGraph cg, Map<String, List<Layout>> required) {
        List<String> keys = classKeys(cg, required);
        List<List<Cost>> r = new ArrayList<>(keys.size());
        for (String k : keys) {
            r.add(costCache.get(k));
        }
        return r;
    }

    /** Candidates and costs of each class of nodes (signature, attention role, required layouts), kept across builds. */
    private final Map<String, List<Layout>> layoutCache = new HashMap<>();
    private final Map<String, List<Cost>> costCache = new HashMap<>();

    /**
     * The facts of a coarse graph that no setting changes, kept by the builders that share one {@link
     * PerDeviceWork} (whether or not they share its prices): the nodes' spaces, signatures and attention
     * chains, each worked out on first use.
     */
    private static final class GraphFacts {
        private final CoarseGraph graph;
        private List<Optional<IterationSpace>> spaces;
        private List<String> signatures;
        private Map<CoarseNode, AttentionChains.Role> chains;
        private Set<CoarseNode> causal;
        /** The signatures with each node's pricing role ({@link #roleKey}), attention priced fused and not. */
        private final Map<Boolean, List<String>> roleSignatures = new HashMap<>();

        GraphFacts(CoarseGraph graph) {
            this.graph = graph;
        }

        List<Optional<IterationSpace>> spaces() {
            if (spaces == null) {
                spaces = CoarseSpaces.of(graph);
            }
            return spaces;
        }

        List<String> signatures() {
            if (signatures == null) {
                List<Optional<IterationSpace>> sp = spaces();
                List<String> r = new ArrayList<>(graph.nodes().size());
                for (CoarseNode c : graph.nodes()) {
                    r.add(signature(c, sp.get(c.index())));
                }
                signatures = List.copyOf(r);
            }
            return signatures;
        }

        Map<CoarseNode, AttentionChains.Role> chains() {
            if (chains == null) {
                chains = AttentionChains.of(graph);
            }
            return chains;
        }

        Set<CoarseNode> causal() {
            if (causal == null) {
                causal = AttentionChains.causal(graph);
            }
            return causal;
        }
    }

    private GraphFacts facts(CoarseGraph cg) {
        return shared.work.graphs.computeIfAbsent(cg, GraphFacts::new);
    }

    /**
     * The nodes' spaces of a coarse graph ({@link CoarseSpaces#of}), in node order, as the builders that
     * share this builder's {@link PerDeviceWork} keep them (worked out once for all of them).
     */
    public List<Optional<IterationSpace>> spacesOf(CoarseGraph cg) {
        return facts(cg).spaces();
    }

    /** The nodes' cost signatures of a coarse graph ({@link #signature}), in node order, kept as {@link #spacesOf}. */
    public List<String> signaturesOf(CoarseGraph cg) {
        return facts(cg).signatures();
    }

    /**
     * Each node's class key, its candidates and their costs computed (once per class and builder).
     * O(nodes) when known, else O(distinct nodes · layouts) node costs.
     */
    private List<String> classKeys(CoarseGraph cg, Map<String, List<Layout>> required) {
        // the same graph and the same map of required layouts (a caller's cached map, asked for again by
        // every memory test and build of the configurations it prices) give the same keys: kept by identity
        Map<Map<String, List<Layout>>, List<String>> known = (requiredOnly ? keyCacheRequiredOnly : keyCache)
                .computeIfAbsent(cg, g -> new java.util.IdentityHashMap<>());
        List<String> kept = known.get(required);
        if (kept == null) {
            kept = candidateKeys(cg, required);
            List<Optional<IterationSpace>> spaces = spacesOf(cg);
            for (CoarseNode c : cg.nodes()) {
                String key = kept.get(c.index());
                if (!costCache.containsKey(key)) {
                    checkTime();
                    Optional<IterationSpace> space = spaces.get(c.index());
                    List<Layout> layouts = layoutCache.get(key);
                    List<Cost> costs = new ArrayList<>(layouts.size());
                    for (Layout l : layouts) {
                        costs.add(nodeCost(c, space, l));
                    }
                    // immutable lists: the units of a class share them (List.copyOf keeps them)
                    costCache.put(key, List.copyOf(costs));
                }
            }
            known.put(required, kept);
        }
        return kept;
    }

    /**
     * Each node's class key with its candidates enumerated (once per class and builder), nothing priced.
     * O(nodes) when known, else O(distinct nodes · layouts).
     */
    private List<String> candidateKeys(CoarseGraph cg, Map<String, List<Layout>> required) {
        Map<Map<String, List<Layout>>, List<String>> known = (requiredOnly ? candidateKeysRequiredOnly : candidateKeys)
                .computeIfAbsent(cg, g -> new java.util.IdentityHashMap<>());
        List<String> kept = known.get(required);
        if (kept == null) {
            kept = List.copyOf(computeClassKeys(cg, required));
            known.put(required, kept);
        }
        return kept;
    }

    /**
     * {@link #memoryParts} without pricing time: the same candidates, each candidate's {parameter bytes,
     * activation bytes} from {@link #memoryOf} (no compute model, no collective), or from the costs where
     * its class was priced already; the nodes of a class share one array. For a test of memory alone on
     * a builder whose problem is never built (a whole-batch screen). O(distinct nodes · layouts).
     */
    public double[][][] memoryOnlyParts(CoarseGraph cg, Map<String, List<Layout>> required) {
        List<String> keys = candidateKeys(cg, required);
        List<Optional<IterationSpace>> spaces = spacesOf(cg);
        Map<String, double[][]> byClass = new HashMap<>();
        double[][][] r = new double[keys.size()][][];
        for (CoarseNode c : cg.nodes()) {
            String key = keys.get(c.index());
            double[][] x = byClass.get(key);
            if (x == null) {
                checkTime();
                List<Layout> layouts = layoutCache.get(key);
                List<Cost> costs = costCache.get(key);
                x = new double[layouts.size()][];
                for (int k = 0; k < x.length; k++) {
                    x[k] = costs != null ? new double[] {costs.get(k).parameterBytes(), costs.get(k).activationBytes()}
                            : memoryOf(c, spaces.get(c.index()), layouts.get(k));
                }
                byClass.put(key, x);
            }
            r[c.index()] = x;
        }
        return r;
    }

    /**
     * Per node in coarse-graph order, {parameter bytes, saved activation bytes of one micro-batch} of the node
     * replicated: at least {@link #memoryOnlyParts}' pair of every candidate (a split holds a part of each tensor, and
     * this pair counts the parameters whole, their gradients and optimizer state on one device, where a candidate shares
     * them over its replicas), so their sums bound the memory of every plan of the builder's configuration from above
     * without enumerating a candidate. O(nodes).
     */
    public double[][] replicatedMemory(CoarseGraph cg) {
        prepare(cg);
        double[][] r = new double[cg.nodes().size()][];
        for (CoarseNode c : cg.nodes()) {
            r[c.index()] = new double[] {replicatedParameterBytes(c), replicatedSavedBytes(c)};
        }
        return r;
    }

    /** One instance of each class key, so that the kept lists of keys share them. */
    private final Map<String, String> canonicalKeys = new HashMap<>();

    /** Keys of the classes of nodes, by graph and (by identity) the map of required layouts they were computed with. */
    private final Map<CoarseGraph, Map<Map<String, List<Layout>>, List<String>>> keyCache = new java.util.IdentityHashMap<>();
    private final Map<CoarseGraph, Map<Map<String, List<Layout>>, List<String>>> keyCacheRequiredOnly =
            new java.util.IdentityHashMap<>();
    /** The same, with the classes' candidates enumerated but perhaps not priced ({@link #candidateKeys}). */
    private final Map<CoarseGraph, Map<Map<String, List<Layout>>, List<String>>> candidateKeys =
            new java.util.IdentityHashMap<>();
    private final Map<CoarseGraph, Map<Map<String, List<Layout>>, List<String>>> candidateKeysRequiredOnly =
            new java.util.IdentityHashMap<>();

    private List<String> computeClassKeys(CoarseGraph cg, Map<String, List<Layout>> required) {
        prepare(cg);
        required = sameForEveryInstance(cg, required);
        List<Optional<IterationSpace>> spaces = spacesOf(cg);
        // the roles follow from the graph's attention chains and whether attention is priced fused: the
        // builders of the graph that price it alike share the keys
        GraphFacts facts = facts(cg);
        List<String> sigs = facts.roleSignatures.computeIfAbsent(settings.compute().fusedAttention(), fused -> {
            List<String> own = facts.signatures();
            List<String> r = new ArrayList<>(own.size());
            for (CoarseNode c : cg.nodes()) {
                r.add(own.get(c.index()) + "|" + roleKey(c) + "|");
            }
            return List.copyOf(r);
        });
        List<String> keys = new ArrayList<>(cg.nodes().size());
        for (CoarseNode c : cg.nodes()) {
            Optional<IterationSpace> space = spaces.get(c.index());
            List<Layout> req = required.getOrDefault(c.name(), List.of());
            String key = canonicalKeys.computeIfAbsent((requiredOnly ? "required only|" : "") + sigs.get(c.index())
                    + keysOf(req), k -> k);
            if (!layoutCache.containsKey(key)) {
                checkTime();
                List<Layout> layouts = shared.layouts.computeIfAbsent(key, x -> space.isEmpty()
                        ? List.of(Layout.replicated())
                        : requiredOnly ? withReplicated(req)
                        : List.copyOf(StrategySpace.layouts(space.get(), digits, settings.maxLayouts(), req)));
                layoutCache.put(key, List.copyOf(layouts));
            }
            keys.add(key);
        }
        return keys;
    }

    /** Replicated, then the given layouts, each once. */
    private static List<Layout> withReplicated(List<Layout> req) {
        List<Layout> r = new ArrayList<>();
        r.add(Layout.replicated());
        Set<String> seen = new java.util.HashSet<>();
        seen.add(Layout.replicated().key());
        for (Layout l : req) {
            if (seen.add(l.key())) {
                r.add(l);
            }
        }
        return r;
    }

    /**
     * The least memory per device any plan of the coarse graph needs: the sum over nodes of their
     * smallest candidate's memory (no edges are priced). O(distinct nodes · layouts).
     */
    public double leastMemory(CoarseGraph cg) {
        prepare(cg);
        List<Optional<IterationSpace>> spaces = spacesOf(cg);
        Map<String, Double> cache = new HashMap<>();
        double total = 0;
        for (CoarseNode c : cg.nodes()) {
            Optional<IterationSpace> space = spaces.get(c.index());
            total += cache.computeIfAbsent(signature(c, space) + "|" + roleKey(c), k -> {
                double m = Double.POSITIVE_INFINITY;
                List<Layout> ls = space.isEmpty() ? List.of(Layout.replicated())
                        : StrategySpace.layouts(space.get(), digits, settings.maxLayouts(), List.of());
                for (Layout l : ls) {
                    double[] x = memoryOf(c, space, l);
                    m = Math.min(m, x[0] + x[1]);
                }
                return m;
            });
        }
        return total;
    }

    /**
     * The required layouts with, for each position of a repeated block, the union over the block's
     * instances, so that the instances have the same candidates (and share cost tables and can be tied).
     */
    private static Map<String, List<Layout>> sameForEveryInstance(CoarseGraph cg, Map<String, List<Layout>> required) {
        Map<String, List<Layout>> r = new HashMap<>(required);
        for (BlockClass bc : cg.blockClasses()) {
            for (int j = 0; j < bc.blockSize(); j++) {
                List<Layout> union = new ArrayList<>();
                for (List<CoarseNode> inst : bc.instances()) {
                    for (Layout l : required.getOrDefault(inst.get(j).name(), List.of())) {
                        if (!union.contains(l)) {
                            union.add(l);
                        }
                    }
                }
                for (List<CoarseNode> inst : bc.instances()) {
                    r.put(inst.get(j).name(), union);
                }
            }
        }
        return r;
    }

    private static int indexOf(Optional<IterationSpace> sp, String value, boolean output) {
        if (sp.isEmpty()) {
            return -1;
        }
        List<TensorIndexing> ts = output ? sp.get().outputs() : sp.get().inputs();
        for (int i = 0; i < ts.size(); i++) {
            if (ts.get(i).name().equals(value)) {
                return i;
            }
        }
        return -1;
    }

    private static String keysOf(List<Layout> ls) {
        StringBuilder b = new StringBuilder();
        ls.forEach(l -> b.append(l.key()).append(','));
        return b.toString();
    }

    /** What a coarse node's costs depend on: its members' operators, attributes and types, and its space (not names). */
    public static String signature(CoarseNode c, Optional<IterationSpace> space) {
        StringBuilder b = new StringBuilder(RepeatedBlocks.signature(c)).append("||");
        space.ifPresent(s -> {
            Map<String, Integer> names = new HashMap<>();
            b.append(s.dims()).append(s.coupling());
            for (List<TensorIndexing> ts : List.of(s.inputs(), s.outputs())) {
                for (TensorIndexing t : ts) {
                    b.append(valueSig(t.value(), names)).append(t.axes()).append(t.sparseRead()).append('/');
                }
                b.append("->");
            }
        });
        return b.toString();
    }

    private static String valueSig(Value v, Map<String, Integer> names) {
        if (v.isAbsent()) {
            return "-";
        }
        Integer id = names.computeIfAbsent(v.name(), k -> names.size());
        return id + ":" + (v.kind() == Value.Kind.PARAMETER || v.constant().isPresent() ? "W" : v.kind()) + ":" + v.type();
    }

    // ---------------------------------------------------------------- fusion

    private final Map<CoarseNode, AttentionChains.Role> roles = new java.util.IdentityHashMap<>();
    private final Set<CoarseGraph> prepared = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    /**
     * Finds the attention chains of a coarse graph ({@link AttentionChains}) when the compute model
     * prices attention fused, so that {@link #nodeCost} prices its nodes as one fused kernel. Building
     * calls it; a caller pricing nodes of another coarse graph directly (the evaluator) calls it first.
     * O(V + E) once per graph.
     */
    public void prepare(CoarseGraph cg) {
        if (prepared.add(cg)) {
            GraphFacts f = facts(cg);
            Map<CoarseNode, AttentionChains.Role> found = f.chains();
            if (settings.compute().fusedAttention()) {
                roles.putAll(found);
                causal.addAll(f.causal());
            } else {
                found.forEach((n, r) -> {
                    if (r == AttentionChains.Role.SCORES) {
                        scaledInSoftmax.add(n);
                    }
                });
            }
        }
    }

    /**
     * With attention unfused, the scores' nodes whose scale and mask run inside the softmax kernel:
     * Megatron-LM's {@code FusedScaleMaskSoftmax} ({@code megatron/model/fused_softmax.py}, 2021) reads
     * the raw scores, scales, masks and normalises them in one pass, so the element-wise chain fused
     * after QKᵀ costs no kernel of its own (the softmax's read and write of the scores stand for it).
     */
    /** What a node's pricing role adds to its cost key: its attention role, or its scale and mask run in the softmax. */
    private String roleKey(CoarseNode c) {
        return scaledInSoftmax.contains(c) ? "scaled-in-softmax"
                : String.valueOf(roleOf(c)) + (causal.contains(c) ? "-causal" : "");
    }

    /** With attention fused, the scores' and context's nodes of the chains proven causal ({@link AttentionChains#causal}). */
    private final Set<CoarseNode> causal = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    /**
     * The share of a causal chain's product FLOPs a FlashAttention-class kernel computes: the elements on
     * and below the diagonal of the {@code s x s} scores, {@code s(s+1)/2} of {@code s²}, so
     * {@code (s+1)/(2s)} (Dao, "FlashAttention-2", 2023, Section 4.1, counts causal attention at half the
     * FLOPs; the diagonal is the {@code 1/(2s)} more). {@code s} is the scores' last dimension (0 when
     * unknown: the share is then 1). Every device's part of a split chain gets the same share: exact when
     * batch or heads are split, the mean over the devices when the query rows are. O(1).
     */
    static double causalShare(long s) {
        return s <= 0 ? 1 : (s + 1) / (2.0 * s);
    }

    private final Set<CoarseNode> scaledInSoftmax = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    /** The node's role in a fused attention chain, or null. */
    public AttentionChains.Role roleOf(CoarseNode c) {
        return roles.get(c);
    }

    /** Whether element-wise chains run fused into one kernel: on devices with a GPU kernel model. */
    private boolean fusesElementwise() {
        return settings.compute().efficiency().device().kernels().isPresent();
    }

    private final Map<CoarseNode, double[]> chainCache = new java.util.IdentityHashMap<>();
    private final Map<CoarseNode, Double> chainSavedCache = new java.util.IdentityHashMap<>();

    /**
     * The fused element-wise members of a coarse node as one kernel (bias and activation, residual
     * addition, dropout: Megatron's fused bias-GeLU and bias-dropout-add kernels), for the whole node
     * before the per-device fraction. The chain reads each value
     * from outside it once (the anchor's output included) and writes the values read outside the
     * coarse node (or its last output): {training seconds, forward seconds} ({@link #chainSaved} the
     * bytes it keeps). O(members).
     */
    private double[] chainSeconds(CoarseNode c, List<Node> members) {
        return chainCache.computeIfAbsent(c, k -> {
            Set<String> inside = outputsOf(members);
            Set<String> read = new java.util.HashSet<>();
            double flops = 0;
            double in = 0;
            boolean grad = false;
            for (Node m : members) {
                try {
                    flops += org.shardplan.graph.WorkAnalysis.of(m).flops();
                } catch (RuntimeException e) {
                    // unknown shapes: no FLOPs claimed
                }
                for (Value v : m.inputs()) {
                    if (readFromOutside(v, inside, read)) {
                        in += v.type().byteSize().orElse(0);
                        grad |= Backward.needsGrad(v);
                    }
                }
            }
            Set<String> outside = new java.util.HashSet<>();
            for (Value v : c.outputs()) {
                outside.add(v.name());
            }
            double out = 0;
            for (Node m : members) {
                for (Value o : m.outputs()) {
                    if (outside.contains(o.name())) {
                        out += o.type().byteSize().orElse(0);
                    }
                }
            }
            Node last = members.get(members.size() - 1);
            if (out == 0 && !last.outputs().isEmpty()) {
                out = last.output(0).type().byteSize().orElse(0);
            }
            org.shardplan.graph.DType dt = last.outputs().isEmpty() ? org.shardplan.graph.DType.FLOAT32
                    : last.output(0).dtype();
            ComputeModel.NodeCost nc = settings.compute().fusedChain(flops, in, out, dt, grad);
            double train = nc.trainingSeconds() + (settings.memory().recompute() ? nc.forwardSeconds() : 0);
            return new double[] {train, nc.forwardSeconds()};
        });
    }

    /**
     * The bytes a fused element-wise chain ({@link #chainSeconds}) keeps for its backward pass: only the
     * floating-point activations it reads from outside (the rest it recomputes, as the fused kernels do),
     * none when no input needs a gradient; for the whole node before the per-device fraction. O(members).
     */
    private double chainSaved(CoarseNode c, List<Node> members) {
        return chainSavedCache.computeIfAbsent(c, k -> {
            Set<String> inside = outputsOf(members);
            Set<String> read = new java.util.HashSet<>();
            double keep = 0;
            boolean grad = false;
            for (Node m : members) {
                for (Value v : m.inputs()) {
                    if (readFromOutside(v, inside, read)) {
                        grad |= Backward.needsGrad(v);
                        if (v.kind() == Value.Kind.INTERMEDIATE && v.dtype().isFloatingPoint()) {
                            keep += v.type().byteSize().orElse(0);
                        }
                    }
                }
            }
            return grad ? keep * activationFactor : 0;
        });
    }

    private static Set<String> outputsOf(List<Node> members) {
        Set<String> inside = new java.util.HashSet<>();
        for (Node m : members) {
            for (Value o : m.outputs()) {
                inside.add(o.name());
            }
        }
        return inside;
    }

    /** Whether a chain reads this input from outside it, for the first time (then noted in {@code read}). */
    private static boolean readFromOutside(Value v, Set<String> inside, Set<String> read) {
        return !(v.isAbsent() || v.constant().isPresent() || v.kind() == Value.Kind.CONSTANT
                || inside.contains(v.name()) || !read.add(v.name()));
    }

    /**
     * A product of a fused attention chain on one device (its per-device node): {training seconds,
     * forward seconds}.
     */
    private double[] attentionSeconds(Node local, AttentionChains.Role role, boolean causalChain) {
        double flops;
        try {
            flops = org.shardplan.graph.WorkAnalysis.of(local).flops();
        } catch (RuntimeException e) {
            flops = 0;
        }
        if (causalChain) {
            flops *= causalShare(keyLength(local, role));
        }
        org.shardplan.graph.DType dt = local.outputs().isEmpty() ? org.shardplan.graph.DType.FLOAT32
                : local.output(0).dtype();
        ComputeModel.NodeCost nc = settings.compute().attention(flops, dt, keyLength(local, role), headDim(local, role));
        double train = nc.trainingSeconds() + (settings.memory().recompute() ? nc.forwardSeconds() : 0);
        return new double[] {train, nc.forwardSeconds()};
    }

    /**
     * The saved activation bytes of a fused attention chain's product on one device: the scores' product
     * keeps Q and K, the context's V and its output; the {@code s x s} scores and probabilities are
     * never stored.
     */
    private double attentionSaved(Node local, AttentionChains.Role role) {
        double saved = role == AttentionChains.Role.SCORES
                ? bytesOf(local.input(0)) + bytesOf(local.input(1))
                : bytesOf(local.input(1)) + (local.outputs().isEmpty() ? 0 : bytesOf(local.output(0)));
        return saved * activationFactor;
    }

    /**
     * The key length {@code s} of a chain's product: the scores' last dimension (the last of QKᵀ's output,
     * the last of PV's first operand); 0 when not known.
     */
    private static long keyLength(Node local, AttentionChains.Role role) {
        return lastDim(role == AttentionChains.Role.SCORES ? (local.outputs().isEmpty() ? null : local.output(0))
                : local.input(0));
    }

    /** The head dimension of a fused attention chain's product: QKᵀ's reduction, PV's output columns (0: unknown). */
    private static long headDim(Node local, AttentionChains.Role role) {
        return lastDim(role == AttentionChains.Role.SCORES ? local.input(0) : local.input(1));
    }

    /** The last dimension of a value of rank 2 or more where it is fixed, else 0. */
    private static long lastDim(Value v) {
        if (v == null || v.isAbsent() || !v.shape().rankKnown() || v.shape().rank() < 2) {
            return 0;
        }
        return v.shape().dim(v.shape().rank() - 1) instanceof org.shardplan.graph.Dim.Fixed f ? f.value() : 0;
    }

    private static double bytesOf(Value v) {
        return v.isAbsent() ? 0 : v.type().byteSize().orElse(0);
    }

    // ---------------------------------------------------------------- node costs

    /**
     * The per-device node's {training seconds, forward seconds, saved bytes} under this builder's memory
     * model, from its shared entry ({@link PerDeviceWork}); the seconds NaN unless {@code seconds}, which
     * prices them where no builder has. The per-device node depends on the strategy, not on where its
     * blocks are placed: the layouts of one strategy (its placements) share it.
     */
    private double[] localWork(Node anchor, IterationSpace anchorSpace, Strategy s, boolean seconds) {
        Map<Strategy, double[]> byStrategy = perDevice.work.computeIfAbsent(anchor, k -> new HashMap<>());
        double[] w = byStrategy.get(s);
        if (w == null || seconds && Double.isNaN(w[0])) {
            Node ln = perDevice(anchor, anchorSpace, s);
            if (w == null) {
                w = new double[] {Double.NaN, Double.NaN, savedBytes(ln)};
                byStrategy.put(s, w);
            }
            if (seconds) {
                double[] tf = modelSeconds(ln);
                w[0] = tf[0];
                w[1] = tf[1];
            }
        }
        // as seconds() and activations() give them: the recomputation's forward added, its share of the bytes
        boolean rc = settings.memory().recompute();
        return new double[] {w[0] + (rc ? w[1] : 0), w[1], w[2] * activationFactor};
    }

    /**
     * Per node of a fused attention chain and strategy (null: the whole node, replicated or split along
     * dimensions its anchor lacks): {training seconds, forward seconds, saved bytes} of its product,
     * the seconds NaN until asked for.
     */
    private final Map<CoarseNode, Map<Strategy, double[]>> attentionWork = new java.util.IdentityHashMap<>();
    private final Map<CoarseNode, double[]> attentionWhole = new java.util.IdentityHashMap<>();

    private double[] attentionWork(CoarseNode c, IterationSpace anchorSpace, Strategy s, boolean seconds) {
        Map<Strategy, double[]> byStrategy = anchorSpace == null ? null
                : attentionWork.computeIfAbsent(c, k -> new HashMap<>());
        double[] w = anchorSpace == null ? attentionWhole.get(c) : byStrategy.get(s);
        if (w == null || seconds && Double.isNaN(w[0])) {
            AttentionChains.Role role = roleOf(c);
            Node local = anchorSpace == null ? c.anchor() : perDevice(c.anchor(), anchorSpace, s);
            if (w == null) {
                w = new double[] {Double.NaN, Double.NaN, attentionSaved(local, role)};
                if (anchorSpace == null) {
                    attentionWhole.put(c, w);
                } else {
                    byStrategy.put(s, w);
                }
            }
            if (seconds) {
                double[] a = attentionSeconds(local, role, causal.contains(c));
                w[0] = a[0];
                w[1] = a[1];
            }
        }
        return w;
    }

    /**
     * The cost of a node under a layout (not kept by layout; the evaluator calls this directly). The
     * per-device work of a strategy is computed once per graph for all its placements and builders
     * ({@link PerDeviceWork}); the memory is {@link #memoryOf}'s, by the same arithmetic.
     */
    public Cost nodeCost(CoarseNode c, Optional<IterationSpace> space, Layout l) {
        if (space.isEmpty() || l.strategy().isReplicated()) {
            return replicatedCost(c);
        }
        IterationSpace sp = space.get();
        Strategy s = l.strategy();
        Optional<IterationSpace> anchorSpace = anchorSpaces.computeIfAbsent(c.anchor(), IterationSpaces::of);
        double fraction = sp.computeFraction(s);
        double compute;
        double forward;
        double saved;
        AttentionChains.Role role = roleOf(c);
        boolean local = anchorSpace.isPresent() && sameDims(anchorSpace.get(), sp);
        if (role != null && role.insideKernel()) {
            // inside the fused attention kernel: no time, nothing stored
            compute = 0;
            forward = 0;
            saved = 0;
        } else if (role != null) {
            double[] a = attentionWork(c, local ? anchorSpace.get() : null, s, true);
            double f = local ? 1 : fraction;
            compute = a[0] * f;
            forward = a[1] * f;
            saved = a[2] * f;
        } else if (local) {
            double[] w = localWork(c.anchor(), anchorSpace.get(), s, true);
            compute = w[0] * anchorCopies(c);
            forward = w[1] * anchorCopies(c);
            saved = w[2];
        } else {
            double[] w = wholeWork(c.anchor());
            compute = w[0] * fraction * anchorCopies(c);
            forward = w[1] * fraction * anchorCopies(c);
            saved = wholeSaved(c.anchor()) * fraction;
        }
        // fused element-wise members: their work splits like the anchor's output; inside a fused attention
        // chain (scale, mask, dropout of the scores) they are part of the attention kernel
        List<Node> members = fusedMembers(c);
        if (role == null && fusesElementwise() && !members.isEmpty()) {
            double[] ch = scaledInSoftmax.contains(c) ? new double[2] : chainSeconds(c, members);
            compute += ch[0] * fraction;
            forward += ch[1] * fraction;
        } else if (role == null) {
            for (Node m : members) {
                compute += memberSeconds(m) * fraction;
                forward += memberForward(m) * fraction;
            }
        }
        // the same arithmetic as memoryOf's (MemoryOnlyPartsTest holds the two equal), without its look-ups again
        saved = withMembersSaved(c, role, saved, fraction);
        double memory = 0;
        double comm = 0;
        double bytes = 0;
        double grad = 0;
        double gradBytes = 0;
        double latency = 0; // the largest latency of a bucketed reduction of the node's gradients
        double latencyShares = 0; // and the latency part of grad
        MemoryModel mm = settings.memory();
        // partial sums of a split reduction dimension: all-reduce forward
        List<String> red = new ArrayList<>();
        for (LoopDim d : sp.dims()) {
            if (d.kind() == LoopKind.REDUCTION && s.factor(d.name()) > 1) {
                red.add(d.name());
            }
        }
        if (!red.isEmpty()) {
            // reduce-scattered: the all-gather that completes an all-reduce is charged on the edges to the
            // consumers whose layouts do not split the tensor over these digits (edgeCost)
            int[] g = l.digitsOf(red);
            for (TensorIndexing t : sp.partialOutputs(s)) {
                double b = sp.localBytes(t, s);
                comm += collectives.seconds(Collective.REDUCE_SCATTER, g, b);
                bytes += collectives.bytesMoved(Collective.REDUCE_SCATTER, g, b);
            }
        }
        // the per-micro-batch collectives of sharded data parallelism (ZeRO 2 and 3: the weights' all-gathers,
        // the gradients' reduce-scatter)
        double sharded = 0;
        Set<String> seen = new java.util.HashSet<>();
        for (TensorIndexing t : sp.inputs()) {
            if (!seen.add(t.name())) {
                continue;
            }
            Value v = t.value();
            List<String> rep = sp.replicatedOver(t, s);
            int[] g = l.digitsOf(rep);
            if (t.isParameter()) {
                double elems = elements(sp.localShape(t, s));
                int dp = collectives.groupSize(g);
                memory += mm.parameters(elems, dp).total();
                if (Backward.needsGrad(v) && dp > 1) {
                    double gb = elems * mm.optimizer().gradientBytes();
                    // stages 0 to 2 reduce in buckets (DDP's, DeepSpeed's reduce and all-gather buckets), each
                    // tensor paying its share of a bucket's collective; stage 3 (FSDP) gathers and reduces each
                    // wrapped unit apart, priced per tensor
                    double bucket = mm.zeroStage() >= 3 ? Collectives.PER_TENSOR : settings.gradientBucketBytes();
                    if (mm.zeroStage() >= 2) {
                        // sharded gradients are reduce-scattered after every micro-batch (the accumulation
                        // buffer holds only the device's shard); same volume as the all-reduce's first half
                        sharded += collectives.bucketedSeconds(Collective.REDUCE_SCATTER, g, gb, bucket);
                        bytes += collectives.bytesMoved(Collective.REDUCE_SCATTER, g, gb);
                        // and the updated weights are all-gathered once per step (stage 2; stage 3 below)
                        if (mm.zeroStage() == 2) {
                            double wb = elems * mm.optimizer().weightBytes();
                            Collectives.BucketShare sh = collectives.bucketShare(Collective.ALL_GATHER, g, wb, bucket);
                            double lat = collectives.latency(Collective.ALL_GATHER, g);
                            grad += sh.seconds();
                            gradBytes += collectives.bytesMoved(Collective.ALL_GATHER, g, wb);
                            latency = Math.max(latency, lat);
                            latencyShares += sh.share() * lat;
                        }
                    } else {
                        Collectives.BucketShare sh = collectives.bucketShare(Collective.ALL_REDUCE, g, gb, bucket);
                        double lat = collectives.latency(Collective.ALL_REDUCE, g);
                        grad += sh.seconds();
                        gradBytes += collectives.bytesMoved(Collective.ALL_REDUCE, g, gb);
                        latency = Math.max(latency, lat);
                        latencyShares += sh.share() * lat;
                    }
                    if (mm.zeroStage() >= 3) {
                        double wb = elems * mm.optimizer().weightBytes();
                        sharded += 2 * collectives.seconds(Collective.ALL_GATHER, g, wb);
                        bytes += 2 * collectives.bytesMoved(Collective.ALL_GATHER, g, wb);
                    }
                }
            } else if (Backward.needsGrad(v) && !rep.isEmpty()) {
                // the parts of the input's gradient, reduce-scattered; the all-gather is charged on the edge
                // from the producer unless its layout splits the tensor over these digits (edgeCost)
                double b = sp.localBytes(t, s);
                comm += collectives.seconds(Collective.REDUCE_SCATTER, g, b);
                bytes += collectives.bytesMoved(Collective.REDUCE_SCATTER, g, b);
            }
            long halo = sp.haloElements(t, s);
            if (halo > 0) {
                List<String> spatial = new ArrayList<>();
                for (AxisMap a : t.axes()) {
                    if (a.window().isPresent() && s.factor(a.dims().get(0)) > 1) {
                        spatial.add(a.dims().get(0));
                    }
                }
                double hb = (double) halo * Math.max(1, v.dtype().bits()) / 8.0;
                comm += 2 * collectives.transferSeconds(hb, collectives.crossesNodes(l.digitsOf(spatial)));
                bytes += 2 * hb;
            }
        }
        // FSDP and DeepSpeed run these on their own stream, the next layer's weights gathered while this layer
        // computes (backward and forward prefetch) and the gradients reduce-scattered while the backward goes on
        // (Zhao et al., "PyTorch FSDP: Experiences on Scaling Fully Sharded Data Parallel", VLDB 2023, Sections
        // 3.3 and 3.4): with the data-parallel collectives overlapped, only what the node's own compute of the
        // micro-batch cannot cover is exposed
        comm += settings.compute().gradientOverlap() ? Math.max(0, sharded - compute) : sharded;
        long coupled = sp.couplingElements(s);
        if (coupled > 0) {
            List<String> cd = new ArrayList<>();
            sp.splitCoupledDims(s).forEach(d -> cd.add(d.name()));
            int[] g = l.digitsOf(cd);
            double cb = coupled * 4.0;
            comm += 2 * collectives.seconds(Collective.ALL_REDUCE, g, cb);
            bytes += 2 * collectives.bytesMoved(Collective.ALL_REDUCE, g, cb);
        }
        return Cost.of(forward, compute, comm, bytes, grad, gradBytes, memory, saved, latency, latencyShares);
    }

    /**
     * The memory of a node under a layout, {parameter bytes (weights, gradients, optimizer state), saved
     * activation bytes of one micro-batch}: {@link #nodeCost}'s {@code parameterBytes} and {@code
     * activationBytes} (the same arithmetic in the same order), without pricing any time: no compute
     * model, no collective. O(inputs) per layout after the per-device node of its strategy (once per builder).
     */
    public double[] memoryOf(CoarseNode c, Optional<IterationSpace> space, Layout l) {
        if (space.isEmpty() || l.strategy().isReplicated()) {
            return new double[] {replicatedParameterBytes(c), replicatedSavedBytes(c)};
        }
        IterationSpace sp = space.get();
        Strategy s = l.strategy();
        Optional<IterationSpace> anchorSpace = anchorSpaces.computeIfAbsent(c.anchor(), IterationSpaces::of);
        double fraction = sp.computeFraction(s);
        AttentionChains.Role role = roleOf(c);
        boolean local = anchorSpace.isPresent() && sameDims(anchorSpace.get(), sp);
        double saved;
        if (role != null && role.insideKernel()) {
            saved = 0;
        } else if (role != null) {
            saved = attentionWork(c, local ? anchorSpace.get() : null, s, false)[2] * (local ? 1 : fraction);
        } else if (local) {
            saved = localWork(c.anchor(), anchorSpace.get(), s, false)[2];
        } else {
            saved = wholeSaved(c.anchor()) * fraction;
        }
        saved = withMembersSaved(c, role, saved, fraction);
        double memory = 0;
        MemoryModel mm = settings.memory();
        Set<String> seen = new java.util.HashSet<>();
        for (TensorIndexing t : sp.inputs()) {
            if (!seen.add(t.name()) || !t.isParameter()) {
                continue;
            }
            int[] g = l.digitsOf(sp.replicatedOver(t, s));
            memory += mm.parameters(elements(sp.localShape(t, s)), collectives.groupSize(g)).total();
        }
        return new double[] {memory, saved};
    }

    /**
     * {@code saved} plus the saved bytes of the node's fused element-wise members, each times
     * {@code fraction} (they split like the anchor's output); none inside a fused attention chain.
     */
    private double withMembersSaved(CoarseNode c, AttentionChains.Role role, double saved, double fraction) {
        List<Node> members = fusedMembers(c);
        if (role == null && fusesElementwise() && !members.isEmpty()) {
            double chain = scaledInSoftmax.contains(c) ? 0 : chainSaved(c, members);
            saved += chain * fraction;
        } else if (role == null) {
            for (Node m : members) {
                saved += activations(m) * fraction;
            }
        }
        return saved;
    }

    private static boolean sameDims(IterationSpace a, IterationSpace b) {
        return a.dims().equals(b.dims());
    }

    /**
     * The members fused after the anchor, priced as element-wise work: none for a recognised normalisation,
     * whose synthesised anchor stands for all; for a SwiGLU MLP the gating (sigmoid and the two products),
     * without the up projection, which is priced as the anchor's twin ({@link #anchorCopies}).
     */
    private static List<Node> fusedMembers(CoarseNode c) {
        boolean swiGlu = isSwiGlu(c);
        if (c.pattern().isPresent() && !swiGlu) {
            return List.of();
        }
        List<Node> r = new ArrayList<>();
        for (Node m : c.members()) {
            if (m != c.anchor() && !(swiGlu && m.opType().equals("MatMul"))) {
                r.add(m);
            }
        }
        return r;
    }

    private static boolean isSwiGlu(CoarseNode c) {
        return c.pattern().filter(org.shardplan.graph.passes.Coarsening.SWIGLU::equals).isPresent();
    }

    /**
     * How many times its anchor's work a node runs: 2 for a SwiGLU MLP, whose up projection is a product of
     * the gate's input with a weight of the gate's shape into an output of the gate's shape, split alike
     * ({@code CoarseSpaces} indexes it as the gate), so it costs what the gate costs under every layout; its
     * saved input is the gate's own. 1 otherwise.
     */
    private static int anchorCopies(CoarseNode c) {
        return isSwiGlu(c) ? 2 : 1;
    }

    private final Map<Node, Double> memberSeconds = new java.util.IdentityHashMap<>();
    private final Map<Node, Optional<IterationSpace>> anchorSpaces = new java.util.IdentityHashMap<>();

    private final Map<Node, Double> memberForward = new java.util.IdentityHashMap<>();

    private double memberSeconds(Node m) {
        return memberSeconds.computeIfAbsent(m, this::trainingSeconds);
    }

    private double memberForward(Node m) {
        return memberForward.computeIfAbsent(m, this::forwardSeconds);
    }

    /** Per whole anchor node (the graph's shapes): {training seconds, forward seconds}, priced once. */
    private final Map<Node, double[]> wholeWork = new java.util.IdentityHashMap<>();

    private double[] wholeWork(Node anchor) {
        return wholeWork.computeIfAbsent(anchor, this::seconds);
    }

    /** Per whole anchor node: its saved activation bytes, once. */
    private final Map<Node, Double> wholeSaved = new java.util.IdentityHashMap<>();

    private double wholeSaved(Node anchor) {
        return wholeSaved.computeIfAbsent(anchor, this::activations);
    }

    /**
     * {@link #trainingSeconds} and {@link #forwardSeconds} of a node from one pricing by the compute model:
     * {training, forward}, both 0 when the model cannot price it.
     */
    private double[] seconds(Node local) {
        double[] m = modelSeconds(local);
        return new double[] {m[0] + (settings.memory().recompute() ? m[1] : 0), m[1]};
    }

    /** The compute model's {training seconds, forward seconds} of a node, both 0 when it cannot price it. */
    private double[] modelSeconds(Node local) {
        // the same per-device node (by contents) priced for another graph of the model: its prices as they are
        String key = localPrices == null ? null : LocalPrices.key(local);
        if (key != null) {
            double[] kept = localPrices.get(key);
            if (kept != null) {
                return kept.clone();
            }
        }
        ComputeModel.NodeCost c;
        try {
            c = settings.compute().cost(local);
        } catch (RuntimeException e) {
            return new double[2];
        }
        double[] r = {c.trainingSeconds(), c.forwardSeconds()};
        if (key != null) {
            localPrices.put(key, r);
        }
        return r;
    }

    private Cost replicatedCost(CoarseNode c) {
        AttentionChains.Role role = roleOf(c);
        double compute;
        double forward;
        if (role != null && role.insideKernel()) {
            compute = 0;
            forward = 0;
        } else if (role != null) {
            double[] a = attentionWork(c, null, null, true);
            compute = a[0];
            forward = a[1];
        } else {
            double[] w = wholeWork(c.anchor());
            compute = w[0] * anchorCopies(c);
            forward = w[1] * anchorCopies(c);
        }
        List<Node> members = fusedMembers(c);
        if (role == null && fusesElementwise() && !members.isEmpty()) {
            double[] ch = scaledInSoftmax.contains(c) ? new double[2] : chainSeconds(c, members);
            compute += ch[0];
            forward += ch[1];
        } else if (role == null) {
            for (Node m : members) {
                compute += memberSeconds(m);
                forward += memberForward(m);
            }
        }
        return Cost.of(forward, compute, 0, 0, 0, 0, replicatedParameterBytes(c), replicatedSavedBytes(c), 0, 0);
    }

    /** The weights, gradients and optimizer state of a replicated node: each parameter whole on every device. */
    private double replicatedParameterBytes(CoarseNode c) {
        double memory = 0;
        Set<String> seen = new java.util.HashSet<>();
        for (Value v : c.parameters()) {
            if (seen.add(v.name())) {
                memory += settings.memory().parameters(v.shape().numElements().orElse(0), 1).total();
            }
        }
        return memory;
    }

    /** The saved activations of one micro-batch of a replicated node (its members' included). */
    private double replicatedSavedBytes(CoarseNode c) {
        AttentionChains.Role role = roleOf(c);
        double saved;
        if (role != null && role.insideKernel()) {
            saved = 0;
        } else if (role != null) {
            saved = attentionWork(c, null, null, false)[2];
        } else {
            saved = wholeSaved(c.anchor());
        }
        // times 1: the members whole
        return withMembersSaved(c, role, saved, 1);
    }

    private double activations(Node local) {
        return savedBytes(local) * activationFactor;
    }

    /** The bytes a node saves for its backward pass, before the recomputation's share. */
    private static double savedBytes(Node local) {
        long saved;
        try {
            saved = Backward.savedElements(local);
        } catch (RuntimeException e) {
            saved = 0;
        }
        int bits = local.outputs().isEmpty() ? 32 : Math.max(8, local.output(0).dtype().bits());
        return saved * (bits / 8.0);
    }

    private double trainingSeconds(Node local) {
        ComputeModel.NodeCost c;
        try {
            c = settings.compute().cost(local);
        } catch (RuntimeException e) {
            return 0; // a node the compute model cannot price (unknown shapes): no time is claimed for it
        }
        return c.trainingSeconds() + (settings.memory().recompute() ? c.forwardSeconds() : 0);
    }

    private double forwardSeconds(Node local) {
        try {
            return settings.compute().cost(local).forwardSeconds();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static double elements(long[] shape) {
        double e = 1;
        for (long x : shape) {
            e *= x;
        }
        return e;
    }

    /** The node with the shapes one device sees under the strategy. */
    static Node perDevice(Node n, IterationSpace sp, Strategy s) {
        List<long[]> ins = new ArrayList<>();
        List<Value> values = new ArrayList<>();
        for (Value v : n.inputs()) {
            boolean fixed = v.isAbsent() || v.kind() == Value.Kind.CONSTANT;
            Optional<TensorIndexing> t = fixed ? Optional.empty() : sp.tensor(v.name());
            ins.add(t.map(x -> sp.localShape(x, s)).orElse(null));
            // a parameter's contents do not matter for its cost; dropping them lets its shape change
            values.add(t.isPresent() && v.constant().isPresent()
                    ? new Value(v.name(), v.type(), v.kind(), Optional.empty(), v.externalData()) : v);
        }
        n = n.withValues(values, n.outputs());
        List<long[]> outs = new ArrayList<>();
        for (Value v : n.outputs()) {
            outs.add(v.constant().isPresent() ? null : sp.tensor(v.name()).map(x -> sp.localShape(x, s)).orElse(null));
        }
        return ComputeModel.perDevice(n, ins, outs);
    }

    // ---------------------------------------------------------------- edge costs

    /**
     * The resharding matrix of a tensor between the candidates of two units, priced directly (each
     * distinct pair of placements through {@link #forward} and {@link #gathered}): the evaluator's path,
     * and the reference the memoised path of {@link Reshards#matrix} must equal.
     */
    double[][] edgeCost(Unit p, Unit c, Value v) {
        int rows = p.layouts().size();
        int cols = c.layouts().size();
        double[] sec = new double[rows * cols];
        double[] byt = new double[rows * cols];
        double full = v.type().byteSize().orElse(0);
        boolean grad = Backward.needsGrad(v);
        if (full > 0) {
            Optional<TensorIndexing> pt = p.space().flatMap(s -> s.tensor(v.name()));
            Optional<TensorIndexing> ct = c.space().flatMap(s -> s.tensor(v.name()));
            int[][][] have = new int[rows][][];
            int[][] scattered = new int[rows][]; // digits a producer's partial sums of v are reduce-scattered over
            for (int r = 0; r < rows; r++) {
                Layout pl = p.layouts().get(r);
                have[r] = pt.isPresent() ? pl.tensorDigits(pt.get()) : new int[0][];
                scattered[r] = pt.isPresent() ? partialDigits(p.space().get(), pt.get(), pl) : new int[0];
            }
            int[][][] need = new int[cols][][];
            int[][] epilogue = new int[cols][]; // digits a consumer reduce-scatters its outputs over, v an epilogue input
            int[][] gradScattered = new int[cols][]; // digits a consumer reduce-scatters v's gradient over
            for (int k = 0; k < cols; k++) {
                Layout cl = c.layouts().get(k);
                need[k] = ct.isPresent() ? cl.tensorDigits(ct.get()) : new int[0][];
                epilogue[k] = new int[0];
                gradScattered[k] = new int[0];
                if (ct.isPresent() && !cl.strategy().isReplicated()) {
                    IterationSpace sp = c.space().get();
                    Strategy s = cl.strategy();
                    if (ct.get().epilogue() && !sp.partialOutputs(s).isEmpty()) {
                        epilogue[k] = cl.digitsOf(splitReductions(sp, s));
                    }
                    if (grad && !ct.get().isParameter()) {
                        gradScattered[k] = cl.digitsOf(sp.replicatedOver(ct.get(), s));
                    }
                }
            }
            // the variants of each placement with the scattered digits added to one axis, once per row and column
            List<List<int[][]>> haveScattered = new ArrayList<>(rows);
            for (int r = 0; r < rows; r++) {
                haveScattered.add(scattered[r].length > 0 ? withDigits(have[r], scattered[r], pt.get()) : List.of());
            }
            List<List<int[][]>> needs = new ArrayList<>(cols);
            List<List<int[][]>> needGradScattered = new ArrayList<>(cols);
            for (int k = 0; k < cols; k++) {
                List<int[][]> n = new ArrayList<>();
                n.add(need[k]);
                if (epilogue[k].length > 0) {
                    n.addAll(withDigits(need[k], epilogue[k], ct.get()));
                }
                needs.add(n);
                needGradScattered.add(gradScattered[k].length > 0 ? withDigits(need[k], gradScattered[k], ct.get()) : List.of());
            }
            // many layouts place the tensor alike (they differ in dimensions it does not have): the
            // transfer is priced once per distinct pair of placements
            int[] rowClass = placementClasses(have, scattered);
            int[] colClass = placementClasses(need, epilogue, gradScattered);
            int rc = 0;
            int cc = 0;
            for (int x : rowClass) {
                rc = Math.max(rc, x + 1);
            }
            for (int x : colClass) {
                cc = Math.max(cc, x + 1);
            }
            double[] ps = new double[rc * cc];
            double[] pbytes = new double[rc * cc];
            boolean[] priced = new boolean[rc * cc];
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < cols; k++) {
                    int at = rowClass[r] * cc + colClass[k];
                    if (!priced[at]) {
                        double[] f = forward(needs.get(k), have[r], scattered[r], haveScattered.get(r), full);
                        double s = f[1];
                        double b = f[0];
                        if (grad) {
                            double[] g = gathered(have[r], need[k], gradScattered[k], needGradScattered.get(k), full);
                            s += g[1];
                            b += g[0];
                        }
                        ps[at] = s;
                        pbytes[at] = b;
                        priced[at] = true;
                    }
                    sec[r * cols + k] = ps[at];
                    byt[r * cols + k] = pbytes[at];
                }
            }
        }
        return new double[][] {sec, byt};
    }

    /** The split reduction dimensions of a strategy, in loop order. */
    static List<String> splitReductions(IterationSpace sp, Strategy s) {
        List<String> red = new ArrayList<>();
        for (LoopDim d : sp.dims()) {
            if (d.kind() == LoopKind.REDUCTION && s.factor(d.name()) > 1) {
                red.add(d.name());
            }
        }
        return red;
    }

    /** The digits over which the producer reduce-scatters its partial sums of {@code t} (none unless partial). */
    static int[] partialDigits(IterationSpace sp, TensorIndexing t, Layout l) {
        if (l.strategy().isReplicated() || !sp.partialOutputs(l.strategy()).contains(t)) {
            return new int[0];
        }
        return l.digitsOf(splitReductions(sp, l.strategy()));
    }

    /**
     * The forward resharding of a tensor to a consumer: {bytes, seconds}. When the producer's partial
     * sums are reduce-scattered over digits {@code scattered} (its {@link #nodeCost} charges that), the
     * consumer gets them for free when its layout splits one axis of the tensor over exactly those
     * digits besides the producer's (sequence parallelism after a row-parallel product, Korthikanti et
     * al., 2022, Section 4.2.2: the reduce-scatter lands each device's sequence block); otherwise they are
     * all-gathered first (reduce-scatter plus all-gather: the all-reduce of plain tensor parallelism) and
     * then resharded as a whole block. A consumer that reduce-scatters its own outputs over digits
     * {@code epilogue} applies an element-wise epilogue (a residual addition) to its scattered block, so it
     * needs only that block of an epilogue input: the cheapest axis to scatter is taken.
     */
    private double[] forward(List<int[][]> needs, int[][] have, int[] scattered, List<int[][]> haveScattered, double full) {
        // needs: the consumer's placement, then its variants with its epilogue digits added to one axis;
        // haveScattered: the producer's placement with the scattered digits added to one axis
        for (int[][] h : haveScattered) {
            for (int[][] n : needs) {
                if (holds(n, h)) {
                    return new double[] {0, 0};
                }
            }
        }
        double[] best = null;
        for (int[][] n : needs) {
            double[] f = transfer(n, have, full);
            if (best == null || f[1] < best[1]) {
                best = f;
            }
        }
        if (scattered.length > 0) {
            double block = full / digitProduct(have);
            best = new double[] {best[0] + collectives.bytesMoved(Collective.ALL_GATHER, scattered, block),
                best[1] + collectives.seconds(Collective.ALL_GATHER, scattered, block)};
        }
        return best;
    }

    /**
     * The backward resharding of a tensor's gradient from the consumer to the producer: {bytes,
     * seconds}. When the consumer reduce-scatters its parts of the gradient over digits {@code scattered}
     * (an input held in copies: its {@link #nodeCost} charges that), the producer gets them for free
     * when its layout splits one axis over exactly those digits besides the consumer's (the layer norm
     * before a column-parallel product under sequence parallelism); otherwise they are all-gathered
     * first, and the whole gradient block is resharded as before.
     */
    private double[] gathered(int[][] have, int[][] need, int[] scattered, List<int[][]> needScattered, double full) {
        if (scattered.length == 0) {
            return transfer(have, need, full);
        }
        for (int[][] n : needScattered) {
            if (holds(have, n)) {
                return new double[] {0, 0};
            }
        }
        double block = full / digitProduct(need);
        double[] g = transfer(have, need, full);
        return new double[] {g[0] + collectives.bytesMoved(Collective.ALL_GATHER, scattered, block),
            g[1] + collectives.seconds(Collective.ALL_GATHER, scattered, block)};
    }

    /**
     * The tensor digits {@code ds} with {@code extra} added to one axis (after the axis' own digits, and
     * before them: a reduce-scatter may hand the chunks out in either order), for each axis whose size the
     * added split still divides; axes read through a window are skipped.
     */
    List<int[][]> withDigits(int[][] ds, int[] extra, TensorIndexing t) {
        List<int[][]> r = new ArrayList<>();
        if (ds.length != t.axes().size()) {
            return r;
        }
        for (int a = 0; a < ds.length; a++) {
            AxisMap ax = t.axes().get(a);
            double parts = 1;
            for (int d : ds[a]) {
                parts *= digits.radix(d);
            }
            for (int d : extra) {
                parts *= digits.radix(d);
            }
            if (ax.window().isPresent() || ax.size() % (long) parts != 0) {
                continue;
            }
            int[][] after = ds.clone();
            int[] y = java.util.Arrays.copyOf(ds[a], ds[a].length + extra.length);
            System.arraycopy(extra, 0, y, ds[a].length, extra.length);
            after[a] = y;
            r.add(after);
            if (ds[a].length > 0) {
                int[][] before = ds.clone();
                int[] z = java.util.Arrays.copyOf(extra, ds[a].length + extra.length);
                System.arraycopy(ds[a], 0, z, extra.length, ds[a].length);
                before[a] = z;
                r.add(before);
            }
        }
        return r;
    }

    /**
     * For each placement (digits per tensor axis) with what else decides the price (the digits its
     * sums or gradient parts are reduce-scattered over), the index of the first equal one's class.
     * O(n) hashing.
     */
    private static int[] placementClasses(int[][][] placements, int[][]... scattered) {
        Map<String, Integer> seen = new HashMap<>();
        int[] cls = new int[placements.length];
        for (int i = 0; i < placements.length; i++) {
            StringBuilder key = new StringBuilder(java.util.Arrays.deepToString(placements[i]));
            for (int[][] x : scattered) {
                key.append('|').append(java.util.Arrays.toString(x[i]));
            }
            cls[i] = seen.computeIfAbsent(key.toString(), k -> seen.size());
        }
        return cls;
    }

    /**
     * Bytes one device must receive to hold its block under {@code need} when it holds its block
     * under {@code have} (both: per tensor axis, the digits that index it, most significant first), and
     * the time that takes: {bytes, seconds}.
     */
    double[] transfer(int[][] need, int[][] have, double fullBytes) {
        if (holds(need, have)) { // the common case of layouts that agree on the tensor, without the full overlap
            return new double[] {0, 0};
        }
        boolean[] crossing = new boolean[1];
        double local = localFraction(need, have, crossing);
        if (local >= 1) {
            return new double[] {0, 0};
        }
        double needBlock = fullBytes / digitProduct(need);
        double bytes = needBlock * (1 - local);
        return new double[] {bytes, collectives.transferSeconds(bytes, crossing[0])};
    }

    /** {@link #localFraction(int[][], int[][], boolean[])} without the crossing. */
    double localFraction(int[][] need, int[][] have) {
        return localFraction(need, have, new boolean[1]);
    }

    /**
     * The fraction of the block a device needs (layout {@code need}) that it already holds (layout
     * {@code have}), averaged over the devices. Along one axis the two blocks are nested intervals
     * when their leading digits agree; the axis keeps {@code min(1, |have block| / |need block|)} of the
     * needed block. Digits that must agree are equated; each independent equation holds for one device
     * in {@code radix} (union-find over the digits). {@code crossing[0]} is set to whether a digit that
     * differs between the two crosses the nodes (the transfer then uses the network).
     */
    double localFraction(int[][] need, int[][] have, boolean[] crossing) {
        int[] parent = null; // union-find over the digits, made at the first pair of equal radices that differ
        boolean crosses = false;
        double f = 1;
        if (need.length != have.length) {
            // one side is replicated (no iteration space): the consumer needs all, or holds all
            for (int[] a : have) {
                for (int d : a) {
                    crosses |= !digits.intra(d);
                }
            }
            crossing[0] = crosses;
            return need.length == 0 ? 1 / digitProduct(have) : 1;
        }
        for (int a = 0; a < need.length; a++) {
            int[] c = need[a];
            int[] p = have[a];
            int m = Math.min(c.length, p.length);
            for (int j = 0; j < m; j++) {
                if (c[j] != p[j]) {
                    crosses |= !digits.intra(c[j]) || !digits.intra(p[j]);
                    int rc = digits.radix(c[j]);
                    int rp = digits.radix(p[j]);
                    if (rc != rp) {
                        f /= Math.max(rc, rp);
                    } else {
                        if (parent == null) {
                            parent = new int[digits.size()];
                            for (int i = 0; i < parent.length; i++) {
                                parent[i] = i;
                            }
                        }
                        int x = DisjointSets.find(parent, c[j]);
                        int y = DisjointSets.find(parent, p[j]);
                        if (x != y) {
                            parent[x] = y;
                            f /= rc;
                        }
                    }
                }
            }
            double pc = 1;
            for (int d : c) {
                pc *= digits.radix(d);
            }
            double pp = 1;
            for (int d : p) {
                pp *= digits.radix(d);
            }
            if (pp > pc) {
                f *= pc / pp;
                for (int j = m; j < p.length; j++) {
                    crosses |= !digits.intra(p[j]);
                }
            }
        }
        crossing[0] = crosses;
        return f;
    }

    /**
     * Whether a device holding its block under {@code have} holds all of its block under {@code need}
     * ({@code localFraction(need, have) >= 1}): along every axis the digits of {@code have} are a prefix of
     * those of {@code need} (or one side is replicated and the holder holds all). O(digits).
     */
    static boolean holds(int[][] need, int[][] have) {
        if (need.length != have.length) {
            if (need.length != 0) {
                return true;
            }
            for (int[] a : have) {
                if (a.length > 0) {
                    return false;
                }
            }
            return true;
        }
        for (int a = 0; a < need.length; a++) {
            int[] c = need[a];
            int[] p = have[a];
            if (p.length > c.length) {
                return false;
            }
            for (int j = 0; j < p.length; j++) {
                if (c[j] != p[j]) {
                    return false;
                }
            }
        }
        return true;
    }

    double digitProduct(int[][] ds) {
        double p = 1;
        for (int[] a : ds) {
            for (int d : a) {
                p *= digits.radix(d);
            }
        }
        return p;
    }

    /** Resharding time and bytes of a tensor between two layouts, for the evaluator: {seconds, bytes}. */
    public double[] edgeCost(Unit producer, Layout pl, Unit consumer, Layout cl, Value v) {
        Unit p1 = new Unit(producer.index(), producer.coarse(), producer.space(), List.of(pl), List.of());
        Unit c1 = new Unit(consumer.index(), consumer.coarse(), consumer.space(), List.of(cl), List.of());
        double[][] m = edgeCost(p1, c1, v);
        return new double[] {m[0][0], m[1][0]};
    }
}
