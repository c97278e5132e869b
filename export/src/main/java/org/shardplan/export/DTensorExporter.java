package org.shardplan.export;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.Planner;

/**
 * A PyTorch tensor-parallel plan for a plan: a Python file defining {@code parallelize_plan}, a dict
 * from module path ({@link ModulePaths}) to {@code ColwiseParallel()}, {@code RowwiseParallel()} or
 * {@code SequenceParallel()} for {@code torch.distributed.tensor.parallel.parallelize_module}, the
 * device-mesh shape ({@code pp}, {@code dp}, {@code tp}), and the pipeline split points as
 * {@code torch.distributed.pipelining.pipeline} takes them ({@code split_spec} of {@code SplitPoint.BEGINNING}
 * at the first layer of each stage after the first). With sequence parallelism, a column-parallel
 * layer reading a sequence-split input gets {@code input_layouts=Shard(1)}, a row-parallel one (or the
 * vocabulary-parallel embedding) feeding one gets {@code output_layouts=Shard(1)}, as in PyTorch's
 * tensor-parallel tutorial and torchtitan's Llama plan. Follows the API of PyTorch 2.4 and later
 * ({@code torch/distributed/tensor/parallel/style.py}, {@code torch/distributed/pipelining/_IR.py}). O(nodes).
 */
public final class DTensorExporter extends EngineExporter {

    static final String FOLLOWS = "torch.distributed.tensor.parallel and torch.distributed.pipelining (PyTorch 2.4+)";

    @Override
    public String name() {
        return "dtensor";
    }

    @Override
    public String description() {
        return "PyTorch DTensor parallelize_plan, mesh shape and pipeline split_spec (Python), " + FOLLOWS;
    }

    @Override
    Optional<String> scheduleLack(Plan p) {
        return switch (p.parallelism().pipeline() == 1 ? "none" : p.schedule().name()) {
            case "none", "gpipe", "1f1b", "interleaved" -> Optional.empty();
            case "zero-bubble" -> Optional.of("schedule zero-bubble (ZB-H1, one stage per rank): torch.distributed.pipelining's zero-bubble"
                    + " schedules need several stages per rank");
            default -> Optional.of("schedule " + p.schedule().name() + ": torch.distributed.pipelining's schedules are GPipe, 1F1B and"
                    + " their looped forms, all synchronous");
        };
    }

    static String scheduleClass(String s) {
        return switch (s) {
            case "gpipe" -> "ScheduleGPipe";
            case "interleaved" -> "ScheduleInterleaved1F1B";
            default -> "Schedule1F1B";
        };
    }

    @Override
    String write(EngineView v, CoarseGraph cg, List<String> notes) throws ExportException {
        Plan p = v.plan();
        Map<String, CoarseNode> byName = new HashMap<>();
        cg.nodes().forEach(n -> byName.put(n.name(), n));
        Map<String, LayerRole> roleOf = new HashMap<>();
        v.roles().forEach(r -> roleOf.put(r.node(), r));
        Map<String, String> entries = new LinkedHashMap<>();
        for (LayerRole r : v.roles()) {
            if (!r.tensorSplit()) {
                continue;
            }
            CoarseNode cn = byName.get(r.node());
            String style = switch (r.kind()) {
                case COLUMN -> "ColwiseParallel(" + (readsSequence(cn, cg, roleOf) ? "input_layouts=Shard(1)" : "") + ")";
                case ROW -> "RowwiseParallel(" + (feedsSequence(cn, cg, roleOf) ? "output_layouts=Shard(1)" : "") + ")";
                case VOCABULARY -> "RowwiseParallel(input_layouts=Replicate()"
                        + (feedsSequence(cn, cg, roleOf) ? ", output_layouts=Shard(1)" : "") + ")";
                case SEQUENCE -> isNorm(cn) ? "SequenceParallel()" : null;
                default -> null;
            };
            if (style == null) {
                continue;
            }
            Optional<String> path = ModulePaths.of(cn, cg.graph());
            if (path.isEmpty()) {
                throw new ExportException(name() + ": node '" + r.node() + "' (" + r.op() + ") is split (" + r.tensorDim()
                        + "=" + r.tensor() + ") but its name is not a module scope (/module/path/Op), so no module path"
                        + " can be given for it: export the model from PyTorch with its module names");
            }
            String old = entries.putIfAbsent(path.get(), style);
            if (old != null && !old.equals(style)) {
                throw new ExportException(name() + ": module " + path.get() + " holds nodes laid out as " + old + " and "
                        + style + " (node '" + r.node() + "'); a DTensor plan gives a module one style");
            }
        }
        StringBuilder b = new StringBuilder(Header.of(p, "# ", FOLLOWS, notes));
        b.append("from torch.distributed.device_mesh import init_device_mesh\n");
        b.append("from torch.distributed.pipelining import SplitPoint\n");
        b.append("from torch.distributed.tensor import Replicate, Shard\n");
        b.append("from torch.distributed.tensor.parallel import (\n    ColwiseParallel,\n    RowwiseParallel,\n"
                + "    SequenceParallel,\n    parallelize_module,\n)\n\n");
        b.append("# devices: pipeline x data x tensor (the tensor-parallel group is neighbouring devices)\n");
        b.append("MESH_SHAPE = (").append(v.pipeline()).append(", ").append(v.data()).append(", ").append(v.tensor())
                .append(")\n");
        b.append("MESH_DIM_NAMES = (\"pp\", \"dp\", \"tp\")\n");
        b.append("# data parallelism over mesh[\"dp\"], ZeRO ").append(p.options().zeroStage()).append(": ")
                .append(switch (p.options().zeroStage()) {
                    case 1 -> "replicate (DDP) with bucket_cap_mb=DDP_BUCKET_CAP_MB and"
                            + " torch.distributed.optim.ZeroRedundancyOptimizer (optimizer state sharded)";
                    case 2 -> "fully_shard(..., reshard_after_forward=False) (FSDP2; parameters kept whole from forward to backward)";
                    case 3 -> "fully_shard (FSDP2)";
                    default -> "replicate (DDP) with bucket_cap_mb=DDP_BUCKET_CAP_MB";
                }).append('\n');
        if (p.options().zeroStage() <= 1) {
            // DDP's buckets as the plan priced the gradient reduction (FSDP2 reduces per wrapped unit)
            b.append("DDP_BUCKET_CAP_MB = ").append(bucketMegabytes(p)).append('\n');
        }
        b.append("ACTIVATION_CHECKPOINTING = ").append(p.options().recompute() ? "True" : "False").append('\n');
        b.append("\nparallelize_plan = {\n");
        entries.forEach((k, s) -> b.append("    \"").append(k).append("\": ").append(s).append(",\n"));
        b.append("}\n\n");
        b.append("# pipeline: torch.distributed.pipelining.pipeline(model, mb_args, split_spec=split_spec)\n");
        b.append("PIPELINE_SCHEDULE = \"").append(scheduleClass(p.schedule().name())).append("\"\n");
        b.append("N_MICROBATCHES = ").append(p.parallelism().microBatches()).append('\n');
        b.append("split_spec = {\n");
        for (String s : splitPoints(p, cg)) {
            b.append("    \"").append(s).append("\": SplitPoint.BEGINNING,\n");
        }
        b.append("}\n\n\n");
        b.append("def apply(model, device_type=\"cuda\"):\n");
        b.append("    \"\"\"Builds the mesh and applies the tensor-parallel plan to the model; returns the mesh.\"\"\"\n");
        b.append("    mesh = init_device_mesh(device_type, MESH_SHAPE, mesh_dim_names=MESH_DIM_NAMES)\n");
        b.append("    parallelize_module(model, mesh[\"tp\"], parallelize_plan)\n");
        b.append("    return mesh\n");
        return b.toString();
    }

    /** The plan's gradient bucket in MiB, as DDP's {@code bucket_cap_mb} takes it (25 unless the plan asked otherwise). */
    static String bucketMegabytes(Plan p) throws ExportException {
        try {
            return Planner.mebibytes(Planner.gradientBucketBytesOf(p));
        } catch (PlanFormatException e) {
            throw new ExportException("plan options: " + e.getMessage(), e);
        }
    }

    /** The module path of the first layer of every stage after the first. */
    private List<String> splitPoints(Plan p, CoarseGraph cg) throws ExportException {
        List<String> r = new ArrayList<>();
        Map<String, CoarseNode> byName = new HashMap<>();
        cg.nodes().forEach(n -> byName.put(n.name(), n));
        for (int s = 1; s < p.stages().size(); s++) {
            List<String> nodes = p.stages().get(s).nodes();
            CoarseNode first = null;
            for (String n : nodes) {
                CoarseNode c = byName.get(n);
                if (c != null && (first == null || c.index() < first.index())) {
                    first = c;
                }
            }
            if (first == null) {
                throw new ExportException(name() + ": stage " + s + " holds no node of the model");
            }
            Optional<String> path = ModulePaths.of(first, cg.graph());
            if (path.isEmpty()) {
                throw new ExportException(name() + ": stage " + s + " begins at node '" + first.name() + "', whose name is"
                        + " not a module scope, so no split point can be given");
            }
            r.add(ModulePaths.layerOf(path.get()));
        }
        return r;
    }

    private static boolean isNorm(CoarseNode n) {
        String op = n.pattern().orElse(n.opType());
        return op.contains("Normalization") || op.contains("Norm");
    }

    private static boolean readsSequence(CoarseNode n, CoarseGraph cg, Map<String, LayerRole> roles) {
        for (CoarseEdge e : cg.inEdges(n.index())) {
            LayerRole r = roles.get(cg.node(e.from()).name());
            if (r != null && r.kind() == LayerRole.Kind.SEQUENCE && r.tensorSplit()) {
                return true;
            }
        }
        return false;
    }

    private static boolean feedsSequence(CoarseNode n, CoarseGraph cg, Map<String, LayerRole> roles) {
        for (CoarseEdge e : cg.outEdges(n.index())) {
            LayerRole r = roles.get(cg.node(e.to()).name());
            if (r != null && r.kind() == LayerRole.Kind.SEQUENCE && r.tensorSplit()) {
                return true;
            }
        }
        return false;
    }
}
