package org.shardplan.planner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A parallelization plan: the pipeline stages of a model and the devices of each, the micro-batches
 * and their schedule, for every compute node how it is split over its stage's devices, what that
 * costs, how it compares with the baselines, and how it was found. Written as {@code
 * shardplan-plan/2} JSON by {@link PlanJson} (documented in {@code docs/plan-format.md}), which also
 * reads {@code shardplan-plan/1} files (one stage, one micro-batch).
 *
 * @param model the model planned
 * @param cluster the cluster planned for
 * @param batch the global batch size of one step (0 when the model has no batch dimension)
 * @param dims the symbolic dimension bindings the model was imported with
 * @param options the memory options the plan was searched under
 * @param nodes every compute node, in graph order
 * @param parallelism the degrees of data, tensor and pipeline parallelism and the micro-batches
 * @param schedule the pipeline schedule ({@code none}: a single stage)
 * @param stages the pipeline stages, in model order
 * @param totals the plan's predicted cost
 * @param baselines the baselines under the same cost model, by key ({@code dataParallel}, {@code expert})
 * @param solver how the search went
 * @param provenance versions and time
 * @param warnings things the user should know (unsupported operators planned replicated)
 * @param parareal a parareal network of the model ({@code --parareal}): it changes the model, and the
 *     nodes, stages and totals stay those of the best plan that keeps it, the one its speed-up is over
 */
public record Plan(Model model, ClusterInfo cluster, long batch, Map<String, Long> dims, Options options,
        List<PlanNode> nodes, Parallelism parallelism, Schedule schedule, List<Stage> stages, PlanTotals totals,
        Map<String, Baseline> baselines, SolverInfo solver, Provenance provenance, List<String> warnings,
        Optional<Parareal> parareal) {

    /** A plan that keeps the model. */
    public Plan(Model model, ClusterInfo cluster, long batch, Map<String, Long> dims, Options options,
            List<PlanNode> nodes, Parallelism parallelism, Schedule schedule, List<Stage> stages, PlanTotals totals,
            Map<String, Baseline> baselines, SolverInfo solver, Provenance provenance, List<String> warnings) {
        this(model, cluster, batch, dims, options, nodes, parallelism, schedule, stages, totals, baselines, solver,
                provenance, warnings, Optional.empty());
    }

    /** The format tag written as {@code "format"}. */
    public static final String FORMAT = "shardplan-plan/2";

    /** The format of single-stage plans written before pipelines, still read. */
    public static final String FORMAT_V1 = "shardplan-plan/1";

    public Plan {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(cluster, "cluster");
        dims = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(dims));
        Objects.requireNonNull(options, "options");
        nodes = List.copyOf(nodes);
        Objects.requireNonNull(parallelism, "parallelism");
        Objects.requireNonNull(schedule, "schedule");
        stages = List.copyOf(stages);
        Objects.requireNonNull(totals, "totals");
        baselines = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(baselines));
        Objects.requireNonNull(solver, "solver");
        Objects.requireNonNull(provenance, "provenance");
        warnings = List.copyOf(warnings);
        Objects.requireNonNull(parareal, "parareal");
    }

    /** Whether the plan changes the model (it proposes a parareal network). */
    public boolean changesModel() {
        return parareal.isPresent();
    }

    /** This plan with a parareal network of the model. */
    public Plan withParareal(Parareal p) {
        return new Plan(model, cluster, batch, dims, options, nodes, parallelism, schedule, stages, totals, baselines,
                solver, provenance, warnings, Optional.of(p));
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

    /** This plan with other nodes, stages, schedule figures and totals (after a re-costing). */
    public Plan withCosts(List<PlanNode> newNodes, Parallelism newParallelism, Schedule newSchedule, List<Stage> newStages,
            PlanTotals newTotals) {
        return new Plan(model, cluster, batch, dims, options, newNodes, newParallelism, newSchedule, newStages, newTotals,
                baselines, solver, provenance, warnings, parareal);
    }

    /** Whether the plan runs more than one pipeline stage. */
    public boolean pipelined() {
        return stages.size() > 1;
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
        private static final java.util.regex.Pattern IDLE = java.util.regex.Pattern.compile(
                " \\((\\d+) of its (\\d+) devices\\)$");

        /**
         * The devices of the cluster the plan was asked for: more than {@link #devices} where the search left the others
         * idle (its name then ends {@code (N of its M devices)}, as the planner names it); else {@link #devices}.
         */
        public int givenDevices() {
            java.util.regex.Matcher m = IDLE.matcher(name == null ? "" : name);
            if (m.find()) {
                try {
                    // a name edited by hand may hold any digits: only a count that parses and matches is taken
                    if (Integer.parseInt(m.group(1)) == devices) {
                        return Math.max(devices, Integer.parseInt(m.group(2)));
                    }
                } catch (NumberFormatException e) {
                    return devices;
                }
            }
            return devices;
        }

        /**
         * The type of each device, read from {@link #definition}; every one {@link #device} where the definition is
         * absent, does not parse or counts other devices.
         */
        public List<String> deviceTypes() {
            org.shardplan.cost.cluster.Cluster cl = parsed();
            List<String> types = new ArrayList<>(devices);
            for (int d = 0; d < devices; d++) {
                types.add(cl == null ? device : cl.device(d).name());
            }
            return types;
        }

        /**
         * {@code 64 x a100-40gb (8 per node)} ({@code perNode}) or {@code 64 x a100-40gb}; for a cluster of several
         * device types or node sizes, each type's devices and the node sizes ({@code 16 devices (8 x a100-80gb, 8 x
         * v100 in nodes of 8 and 4)}), which one type's name would misstate.
         */
        public String devicesText(boolean perNode) {
            org.shardplan.cost.cluster.Cluster cl = parsed();
            if (cl == null || cl.isHomogeneous()) {
                return devices + " x " + device + (perNode ? " (" + devicesPerNode + " per node)" : "");
            }
            Map<String, Integer> byType = new LinkedHashMap<>();
            java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>(java.util.Comparator.reverseOrder());
            for (org.shardplan.cost.cluster.ClusterNode n : cl.nodes()) {
                byType.merge(n.device().name(), n.devices(), Integer::sum);
                sizes.add(n.devices());
            }
            List<String> parts = new ArrayList<>();
            byType.forEach((type, k) -> parts.add(k + " x " + type));
            List<String> sz = sizes.stream().map(String::valueOf).toList();
            return devices + " devices (" + String.join(", ", parts) + " in nodes of " + (sz.size() == 1 ? sz.get(0)
                    : String.join(", ", sz.subList(0, sz.size() - 1)) + " and " + sz.get(sz.size() - 1)) + ")";
        }

        /** The cluster of {@link #definition} where it parses and has {@link #devices} devices, else null. */
        private org.shardplan.cost.cluster.Cluster parsed() {
            if (definition == null) {
                return null;
            }
            try {
                org.shardplan.cost.cluster.Cluster cl = org.shardplan.cost.cluster.ClusterFiles.parse(definition,
                        "the plan's cluster");
                return cl.deviceCount() == devices ? cl : null;
            } catch (org.shardplan.cost.cluster.ClusterException | RuntimeException e) {
                return null;
            }
        }

        /** {@code " (N of the M devices given, the others idle)"} where {@link #givenDevices} is more, else empty. */
        public String idleNote() {
            int given = givenDevices();
            return given > devices ? " (" + devices + " of the " + given + " devices given, the others idle)" : "";
        }
    }

    /**
     * Memory options of the plan, and what the user asked the search for.
     *
     * @param optimizer the optimizer preset (bytes per parameter)
     * @param zeroStage sharded data parallelism: 0 (none) to 3
     * @param recompute whether activations are recomputed in the backward pass
     * @param memoryLimitBytes the per-device memory limit searched under
     * @param requested the search options as given ({@code recompute}, {@code zeroStage},
     *     {@code pipeline}, {@code tensor}, {@code data}, {@code schedule}, {@code microBatches}):
     *     {@code auto} where the search chose, else the value that was fixed
     */
    public record Options(String optimizer, int zeroStage, boolean recompute, double memoryLimitBytes,
            Map<String, String> requested) {
        public Options {
            Objects.requireNonNull(optimizer, "optimizer");
            requested = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(requested));
        }

        /** Options without search requests (a plan/1 file, or a plan made with every choice fixed). */
        public Options(String optimizer, int zeroStage, boolean recompute, double memoryLimitBytes) {
            this(optimizer, zeroStage, recompute, memoryLimitBytes, Map.of());
        }
    }

    /**
     * The degrees of parallelism. Devices = data x tensor x pipeline x copies; within a stage the
     * per-layer layouts may split a node otherwise (a node's own {@code strategy} says how), and
     * {@code data}, {@code tensor} and {@code copies} describe the layouts of the stage's heaviest nodes:
     * {@code data} the split of their batch dimension, {@code tensor} the rest of their split, and
     * {@code copies} the stage's devices over which they are not split at all (each block computed by
     * that many devices alike, as when the plan for fewer devices is copied over the others).
     *
     * @param data data-parallel replicas
     * @param tensor devices splitting one replica's layers within a stage
     * @param pipeline pipeline stages (devices groups; virtual stages are in {@link Schedule})
     * @param microBatches micro-batches per step (gradient accumulation steps)
     * @param microBatchSize samples per micro-batch per data-parallel replica (0 when the model has no batch)
     * @param copies devices computing the same block of the heaviest nodes (1: every device its own block)
     */
    public record Parallelism(int data, int tensor, int pipeline, int microBatches, long microBatchSize, int copies) {
        public Parallelism {
            if (data < 1 || tensor < 1 || pipeline < 1 || microBatches < 1 || microBatchSize < 0 || copies < 1) {
                throw new IllegalArgumentException("parallelism degrees and micro-batches must be >= 1, found data " + data
                        + ", tensor " + tensor + ", pipeline " + pipeline + ", micro-batches " + microBatches
                        + ", copies " + copies);
            }
        }

        /** Degrees without copies: every device computes its own block. */
        public Parallelism(int data, int tensor, int pipeline, int microBatches, long microBatchSize) {
            this(data, tensor, pipeline, microBatches, microBatchSize, 1);
        }

        /** One stage, one micro-batch, {@code devices} devices whose split is given by the layouts. */
        public static Parallelism single(int data, int tensor, long batch) {
            return new Parallelism(data, tensor, 1, 1, data > 0 ? batch / data : 0);
        }
    }

    /**
     * The pipeline schedule of a step and its closed-form figures.
     *
     * @param name {@code none} (one stage), {@code gpipe}, {@code 1f1b}, {@code interleaved}, {@code zero-bubble},
     *     {@code amp}
     * @param microBatches micro-batches per step
     * @param virtualStages model chunks per device group ({@code interleaved}; else 1)
     * @param bubbleFraction the share of device time idle in the step (0 for one stage)
     * @param exact whether the schedule keeps the training math exact (synchronous)
     * @param maxActiveKeys {@code amp}: the most instances (micro-batches) in flight; 0 for the others
     * @param minUpdateFrequency {@code amp}: the gradients a stage collects per local update; 0 for the others
     * @param staleness {@code amp}: per stage, the expected and the largest number of local updates between
     *     an instance's forward and its backward there; empty for the synchronous schedules
     */
    public record Schedule(String name, int microBatches, int virtualStages, double bubbleFraction, boolean exact,
            int maxActiveKeys, int minUpdateFrequency, List<org.shardplan.planner.pipeline.Staleness> staleness) {
        public Schedule {
            Objects.requireNonNull(name, "name");
            staleness = List.copyOf(staleness);
        }

        /** A synchronous schedule: no keys, no local updates, no staleness. */
        public Schedule(String name, int microBatches, int virtualStages, double bubbleFraction, boolean exact) {
            this(name, microBatches, virtualStages, bubbleFraction, exact, 0, 0, List.of());
        }

        /** A single stage: gradient accumulation over {@code m} micro-batches, no bubble. */
        public static Schedule none(int m) {
            return new Schedule("none", m, 1, 0, true);
        }

        /** The schedule parameters recorded ({@code amp}'s keys and update frequency), as the schedules take them. */
        public org.shardplan.planner.pipeline.ScheduleParameters parameters() {
            return maxActiveKeys > 0
                    ? org.shardplan.planner.pipeline.ScheduleParameters.of(maxActiveKeys, Math.max(1, minUpdateFrequency))
                    : org.shardplan.planner.pipeline.ScheduleParameters.NONE;
        }
    }

    /**
     * A pipeline stage: a contiguous run of the coarse graph on a contiguous range of devices, with
     * its per-micro-batch profile (what the schedule's closed form and the simulator use).
     *
     * @param index 0-based, in model order (for {@code interleaved}: virtual stage, on device group index % pipeline)
     * @param firstDevice the stage's first device
     * @param devices the number of devices of the stage
     * @param nodes the names of the nodes it runs, in graph order
     * @param computeSeconds compute of the stage per step (every micro-batch, per device)
     * @param communicationSeconds collectives and resharding of the stage per step, with the gradient
     *     reduction and the point-to-point sends to the next stage
     * @param memoryBytesPerDevice peak memory of a device of the stage under the schedule
     * @param forwardSeconds forward time of one micro-batch (compute and its collectives)
     * @param backwardSeconds backward time of one micro-batch (input and weight gradients, and the
     *     recomputed forward)
     * @param backwardWeightSeconds the weight-gradient part of {@code backwardSeconds}
     * @param sendSeconds point-to-point time of the activation to the next stage for one
     *     micro-batch (the gradient back takes the same); 0 for the last stage
     * @param gradientSyncSeconds the reduction of parameter gradients, once per step
     * @param staticBytes weights, gradients and optimizer state per device
     * @param activationBytesPerMicroBatch activations one micro-batch leaves saved per device
     * @param microBatchesInFlight micro-batches whose activations the stage holds at its peak
     * @param updateSeconds one optimizer step of the stage's weights (what {@code amp} pays per local update)
     */
    public record Stage(int index, int firstDevice, int devices, List<String> nodes, double computeSeconds,
            double communicationSeconds, double memoryBytesPerDevice, double forwardSeconds, double backwardSeconds,
            double backwardWeightSeconds, double sendSeconds, double gradientSyncSeconds, double staticBytes,
            double activationBytesPerMicroBatch, int microBatchesInFlight, double updateSeconds) {
        public Stage {
            nodes = List.copyOf(nodes);
        }

        /** A stage without an optimizer step time. */
        public Stage(int index, int firstDevice, int devices, List<String> nodes, double computeSeconds,
                double communicationSeconds, double memoryBytesPerDevice, double forwardSeconds, double backwardSeconds,
                double backwardWeightSeconds, double sendSeconds, double gradientSyncSeconds, double staticBytes,
                double activationBytesPerMicroBatch, int microBatchesInFlight) {
            this(index, firstDevice, devices, nodes, computeSeconds, communicationSeconds, memoryBytesPerDevice,
                    forwardSeconds, backwardSeconds, backwardWeightSeconds, sendSeconds, gradientSyncSeconds, staticBytes,
                    activationBytesPerMicroBatch, microBatchesInFlight, 0);
        }

        /** The per-micro-batch profile the schedules and the simulator take. */
        public org.shardplan.planner.pipeline.StageProfile profile() {
            return new org.shardplan.planner.pipeline.StageProfile(forwardSeconds, backwardSeconds, backwardWeightSeconds,
                    sendSeconds, gradientSyncSeconds, staticBytes, activationBytesPerMicroBatch, updateSeconds);
        }

        /** The stage of a single-stage plan over every device, with no profile. */
        public static Stage whole(int devices, List<String> nodes, double compute, double comm, double memory) {
            return new Stage(0, 0, devices, nodes, compute, comm, memory, 0, 0, 0, 0, 0, 0, 0, 1);
        }

        /** The last device of the stage. */
        public int lastDevice() {
            return firstDevice + devices - 1;
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
     * @param boundScope what {@link #lowerBound} bounds: {@code full} (every plan of the model in the
     *     candidate space) or a sentence naming the restricted space it holds for
     * @param configurations configurations (stages x micro-batches x memory options) priced by the search
     */
    public record SolverInfo(String name, String status, double objective, double lowerBound, double seconds,
            double solveSeconds, int problemNodes, int problemEdges, long strategies, String boundScope,
            int configurations) {
        public SolverInfo {
            Objects.requireNonNull(boundScope, "boundScope");
        }

        /** Solver information of a single-stage search whose bound holds for the full candidate space. */
        public SolverInfo(String name, String status, double objective, double lowerBound, double seconds,
                double solveSeconds, int problemNodes, int problemEdges, long strategies) {
            this(name, status, objective, lowerBound, seconds, solveSeconds, problemNodes, problemEdges, strategies,
                    "full", 1);
        }
    }

    /**
     * Where the plan comes from.
     *
     * @param shardplanVersion the version of shardplan that wrote it
     * @param calibration the compute model's source ({@code analytic} or a calibration file)
     * @param createdAt ISO-8601 time of creation
     * @param exactness whether the plan keeps the training math exact ({@code exact}: synchronous
     *     data, tensor and pipeline parallelism), and why not
     * @param overlap what the step overlaps with compute, per kind of collective (empty: nothing to say,
     *     or a plan of an earlier version)
     */
    public record Provenance(String shardplanVersion, String calibration, String createdAt, String exactness,
            String overlap) {
        /** Provenance without an overlap statement (plans of earlier versions, one-device plans). */
        public Provenance(String shardplanVersion, String calibration, String createdAt, String exactness) {
            this(shardplanVersion, calibration, createdAt, exactness, "");
        }

        public Provenance {
            java.util.Objects.requireNonNull(overlap, "overlap");
        }
    }

    /**
     * A parareal network of the model (Lee, Park and Lee, arXiv:2103.08802; docs/parareal.md): one or
     * more chains of shape-keeping repeated blocks, each torn into segments that run at the same time
     * on equal device groups and joined by its own coarse network that runs on every device. It
     * changes the model.
     *
     * @param chains the chains torn, in model order (at least one)
     * @param coarseNetwork what each coarse network is
     * @param stepSeconds the predicted training step with the network
     * @param speedup the step of the best plan that keeps the model over {@code stepSeconds}
     * @param exactStepSeconds the step of that plan
     * @param outsideSeconds the nodes outside the torn chains, on every device
     * @param memoryBytesPerDevice the largest device's memory
     */
    public record Parareal(List<PararealChain> chains, String coarseNetwork, double stepSeconds, double speedup,
            double exactStepSeconds, double outsideSeconds, double memoryBytesPerDevice) {
        public Parareal {
            chains = List.copyOf(chains);
            Objects.requireNonNull(coarseNetwork, "coarseNetwork");
            if (chains.isEmpty()) {
                throw new IllegalArgumentException("parareal must tear at least one chain, found none");
            }
        }

        /** A network of one chain (the form of plans written before several chains could be torn). */
        public Parareal(int segments, String first, String last, List<String> cuts, int chainBlocks,
                int devicesPerSegment, int coarseNodes, long coarseParameters, String coarseNetwork, double stepSeconds,
                double speedup, double exactStepSeconds, List<Double> segmentSeconds, double coarseSeconds,
                double transferSeconds, double outsideSeconds, double memoryBytesPerDevice) {
            this(List.of(new PararealChain(segments, first, last, cuts, chainBlocks, devicesPerSegment, coarseNodes,
                    coarseParameters, segmentSeconds, coarseSeconds, transferSeconds)), coarseNetwork, stepSeconds,
                    speedup, exactStepSeconds, outsideSeconds, memoryBytesPerDevice);
        }

        /** The first (or only) chain. */
        public PararealChain first() {
            return chains.get(0);
        }

        /** Parameters (elements) of all the coarse networks, new and to be trained. */
        public long coarseParameters() {
            return chains.stream().mapToLong(PararealChain::coarseParameters).sum();
        }

        /** Coarse-graph nodes of all the coarse networks. */
        public int coarseNodes() {
            return chains.stream().mapToInt(PararealChain::coarseNodes).sum();
        }

        /** The coarse networks' sequential forward and backward, all chains. */
        public double coarseSeconds() {
            return chains.stream().mapToDouble(PararealChain::coarseSeconds).sum();
        }

        /** Moving segment inputs, outputs and their gradients, all chains. */
        public double transferSeconds() {
            return chains.stream().mapToDouble(PararealChain::transferSeconds).sum();
        }

        /** The slowest segment of each chain, added over the chains. */
        public double slowestSegmentsSeconds() {
            double s = 0;
            for (PararealChain c : chains) {
                s += c.segmentSeconds().stream().mapToDouble(Double::doubleValue).max().orElse(0);
            }
            return s;
        }
    }

    /**
     * One chain of a {@link Parareal} network.
     *
     * @param segments N, the number of fine segments
     * @param first the chain's first coarse node
     * @param last the chain's last coarse node
     * @param cuts the first coarse node of segments 2..N
     * @param chainBlocks the blocks of the chain
     * @param devicesPerSegment the devices of each segment's group (segment j on devices
     *     {@code [j * g, (j + 1) * g - 1]})
     * @param coarseNodes coarse-graph nodes of the chain's coarse network
     * @param coarseParameters its parameters (elements), new and to be trained
     * @param segmentSeconds each segment's forward and backward on its group
     * @param coarseSeconds the coarse network's sequential forward and backward
     * @param transferSeconds moving segment inputs, outputs and their gradients
     */
    public record PararealChain(int segments, String first, String last, List<String> cuts, int chainBlocks,
            int devicesPerSegment, int coarseNodes, long coarseParameters, List<Double> segmentSeconds,
            double coarseSeconds, double transferSeconds) {
        public PararealChain {
            Objects.requireNonNull(first, "first");
            Objects.requireNonNull(last, "last");
            cuts = List.copyOf(cuts);
            segmentSeconds = List.copyOf(segmentSeconds);
            if (segments < 2 || cuts.size() != segments - 1) {
                throw new IllegalArgumentException("parareal must have at least 2 segments and one cut fewer, found "
                        + segments + " segments and " + cuts.size() + " cuts");
            }
            if (segmentSeconds.size() != segments) {
                throw new IllegalArgumentException("parareal.segmentSeconds must have one entry per segment (" + segments
                        + "), found " + segmentSeconds.size());
            }
        }
    }
}
