package org.shardplan.planner;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A parallelization plan: for every compute node of a model, how it is split over the devices of a
 * cluster, what that costs, how it compares with the baselines, and how it was found. Written and
 * read as {@code shardplan-plan/1} JSON by {@link PlanJson} (documented in {@code docs/plan-format.md}).
 *
 * <p>Plans are open for pipelining: {@link #stages()} lists the pipeline stages (one holding every
 * device and node today) and {@link #schedule()} names the schedule ({@code "none"} for one stage).
 *
 * @param model the model planned
 * @param cluster the cluster planned for
 * @param batch the global batch size of one step (0 when the model has no batch dimension)
 * @param dims the symbolic dimension bindings the model was imported with
 * @param options the memory options the plan was searched under
 * @param nodes every compute node, in graph order
 * @param stages the pipeline stages
 * @param schedule the pipeline schedule ({@code "none"}: a single stage)
 * @param totals the plan's predicted cost
 * @param baselines the baselines under the same cost model, by key ({@code dataParallel}, {@code expert})
 * @param solver how the search went
 * @param provenance versions and time
 * @param warnings things the user should know (unsupported operators planned replicated)
 */
public record Plan(Model model, ClusterInfo cluster, long batch, Map<String, Long> dims, Options options,
        List<PlanNode> nodes, List<Stage> stages, String schedule, PlanTotals totals,
        Map<String, Baseline> baselines, SolverInfo solver, Provenance provenance, List<String> warnings) {

    /** The format tag written as {@code "format"}. */
    public static final String FORMAT = "shardplan-plan/1";

    public Plan {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(cluster, "cluster");
        dims = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(dims));
        Objects.requireNonNull(options, "options");
        nodes = List.copyOf(nodes);
        stages = List.copyOf(stages);
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(totals, "totals");
        baselines = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(baselines));
        Objects.requireNonNull(solver, "solver");
        Objects.requireNonNull(provenance, "provenance");
        warnings = List.copyOf(warnings);
    }

    /** The node of that name. */
    public Optional<PlanNode> node(String name) {
        for (PlanNode n : nodes) {
            if (n.name().equals(name)) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    /** This plan with other nodes and totals (after a re-costing). */
    public Plan withCosts(List<PlanNode> newNodes, PlanTotals newTotals) {
        return new Plan(model, cluster, batch, dims, options, newNodes, stages, schedule, newTotals, baselines,
                solver, provenance, warnings);
    }

    /**
     * The model planned.
     *
     * @param name the model's name (the file name or the graph's name)
     * @param sha256 SHA-256 of the model file, hex ("" when planned from a graph built in code)
     * @param graphNodes number of nodes in the imported graph
     * @param coarseNodes number of nodes of the coarse graph planned (one plan node each)
     */
    public record Model(String name, String sha256, int graphNodes, int coarseNodes) {
        public Model {
            Objects.requireNonNull(name, "name");
            sha256 = sha256 == null ? "" : sha256;
        }
    }

    /**
     * The cluster planned for.
     *
     * @param name the cluster's name
     * @param devices number of devices
     * @param devicesPerNode devices inside one cluster node
     * @param device the device type (the first node's)
     * @param memoryBytesPerDevice memory of the smallest device
     * @param definition the whole cluster as {@code shardplan-cluster/1} JSON text, so that the plan can be
     *     re-costed without the original file
     */
    public record ClusterInfo(String name, int devices, int devicesPerNode, String device,
            double memoryBytesPerDevice, String definition) {
    }

    /**
     * Memory options of the search.
     *
     * @param optimizer the optimizer preset (bytes per parameter)
     * @param zeroStage sharded data parallelism: 0 (none) to 3
     * @param recompute whether activations are recomputed in the backward pass
     * @param memoryLimitBytes the per-device memory limit searched under
     */
    public record Options(String optimizer, int zeroStage, boolean recompute, double memoryLimitBytes) {
    }

    /**
     * A pipeline stage.
     *
     * @param index 0-based
     * @param devices devices of the stage
     * @param nodes the names of the nodes it runs, in graph order
     */
    public record Stage(int index, int devices, List<String> nodes) {
        public Stage {
            nodes = List.copyOf(nodes);
        }
    }

    /**
     * A baseline costed by the same cost model as the plan (it is a point of the same search space).
     *
     * @param name what it is ({@code data-parallel}, {@code megatron}, {@code one-weird-trick})
     * @param stepSeconds its predicted step time
     * @param peakMemoryBytesPerDevice its memory per device
     * @param fits whether it fits the memory limit
     */
    public record Baseline(String name, double stepSeconds, double peakMemoryBytesPerDevice, boolean fits) {
    }

    /**
     * How the search went.
     *
     * @param name the solver ({@code dp}, {@code dp+ilp}, {@code baseline} when a baseline was kept)
     * @param status {@code OPTIMAL} when proven, else {@code FEASIBLE}
     * @param objective the solver's objective (equals {@link PlanTotals#stepSeconds})
     * @param lowerBound proven lower bound on the optimum
     * @param seconds wall time of the whole search (building the problem and solving it)
     * @param solveSeconds the part of {@link #seconds} spent in the solver
     * @param problemNodes nodes of the strategy problem
     * @param problemEdges edges of the strategy problem
     * @param strategies the total number of candidate strategies over all nodes
     */
    public record SolverInfo(String name, String status, double objective, double lowerBound, double seconds,
            double solveSeconds, int problemNodes, int problemEdges, long strategies) {
    }

    /**
     * Where the plan comes from.
     *
     * @param shardplanVersion the version of shardplan that wrote it
     * @param calibration the compute model's source ({@code analytic} or a calibration file)
     * @param createdAt ISO-8601 time of creation
     * @param exactness whether the plan keeps the training math exact ({@code exact}: synchronous
     *     data and tensor parallelism only)
     */
    public record Provenance(String shardplanVersion, String calibration, String createdAt, String exactness) {
    }
}
