package org.shardplan.export;

import java.util.List;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;

/**
 * Megatron-LM's command-line arguments for a plan, as a bash array in the style of Megatron-LM's
 * example scripts ({@code MODEL_PARALLEL_ARGS=( ... )}). Argument names follow Megatron-LM core
 * 0.20.0 (NVIDIA/Megatron-LM at d98e8a64, {@code megatron/training/arguments.py} and the dataclass
 * fields it turns into arguments: {@code ModelParallelConfig}, {@code TransformerConfig},
 * {@code DistributedDataParallelConfig}):
 * <ul>
 * <li>{@code --tensor-model-parallel-size}, {@code --pipeline-model-parallel-size},
 *     {@code --sequence-parallel}, {@code --micro-batch-size}, {@code --global-batch-size};
 * <li>stages: nothing when every stage holds as many layers (Megatron's even split), else
 *     {@code --pipeline-model-parallel-layout} ({@code E} embedding, {@code t} a layer, {@code L} the
 *     output and loss, stages separated by {@code |}); interleaved 1F1B with an even split:
 *     {@code --num-layers-per-virtual-pipeline-stage};
 * <li>recomputation: {@code --recompute-granularity full --recompute-method uniform --recompute-num-layers 1};
 * <li>ZeRO 1: {@code --use-distributed-optimizer}; ZeRO 2 and 3: {@code --use-megatron-fsdp
 *     --data-parallel-sharding-strategy optim_grads} or {@code optim_grads_params};
 * <li>the data-parallel gradient reduction of ZeRO 0 and 1 overlapped with the backward pass (the plan's default):
 *     {@code --overlap-grad-reduce --ddp-bucket-size N}, N the plan's gradient bucket in parameters.
 * </ul>
 * Megatron-LM runs 1F1B (PipeDream-flush; Narayanan et al., SC'21) and its interleaved form; a GPipe
 * or zero-bubble plan is approximated by 1F1B. O(nodes).
 */
public final class MegatronExporter extends EngineExporter {

    /** The Megatron-LM version the arguments follow. */
    static final String FOLLOWS = "Megatron-LM core 0.20.0 (NVIDIA/Megatron-LM d98e8a64ddf3, megatron/training/arguments.py)";

    @Override
    public String name() {
        return "megatron";
    }

    @Override
    public String description() {
        return "Megatron-LM arguments (bash array), " + FOLLOWS;
    }

    @Override
    Optional<String> scheduleLack(Plan p) {
        return switch (p.parallelism().pipeline() == 1 ? "none" : p.schedule().name()) {
            case "none", "1f1b", "interleaved" -> Optional.empty();
            default -> Optional.of("schedule " + p.schedule().name() + ": Megatron-LM runs 1F1B and interleaved 1F1B only");
        };
    }

    @Override
    String write(EngineView v, CoarseGraph cg, List<String> notes) throws ExportException {
        Plan p = v.plan();
        StringBuilder b = new StringBuilder(Header.of(p, "# ", FOLLOWS, notes));
        b.append("MODEL_PARALLEL_ARGS=(\n");
        arg(b, "--tensor-model-parallel-size " + v.tensor());
        arg(b, "--pipeline-model-parallel-size " + v.pipeline());
        if (v.pipeline() > 1) {
            String layout = layout(v.stageLayers());
            boolean even = evenSplit(v.stageLayers());
            if (p.schedule().name().equals("interleaved") && even) {
                arg(b, "--num-layers-per-virtual-pipeline-stage " + v.layers().count() / v.stageLayers().size());
            } else if (!even) {
                arg(b, "--pipeline-model-parallel-layout \"" + layout + "\"");
            }
        }
        if (v.sequenceParallel() && v.tensor() > 1) {
            arg(b, "--sequence-parallel");
        }
        b.append(")\nTRAINING_ARGS=(\n");
        arg(b, "--micro-batch-size " + p.parallelism().microBatchSize());
        arg(b, "--global-batch-size " + p.batch());
        if (p.options().recompute()) {
            arg(b, "--recompute-granularity full");
            arg(b, "--recompute-method uniform");
            arg(b, "--recompute-num-layers 1");
        }
        switch (p.options().zeroStage()) {
            case 1 -> arg(b, "--use-distributed-optimizer");
            case 2 -> {
                arg(b, "--use-megatron-fsdp");
                arg(b, "--data-parallel-sharding-strategy optim_grads");
            }
            case 3 -> {
                arg(b, "--use-megatron-fsdp");
                arg(b, "--data-parallel-sharding-strategy optim_grads_params");
            }
            default -> { }
        }
        if (p.options().zeroStage() <= 1 && v.data() > 1
                && !Planner.AFTER_BACKWARD.equals(p.options().requested().get(Planner.GRADIENT_REDUCTION))) {
            // the reduction overlapped with the backward pass, in the plan's buckets (Megatron counts parameters; without
            // the flag it reduces everything after the backward pass)
            arg(b, "--overlap-grad-reduce");
            arg(b, "--ddp-bucket-size " + bucketElements(p, OptimizerSpec::gradientBytes));
        }
        b.append(")\n");
        return b.toString();
    }

    private static void arg(StringBuilder b, String a) {
        b.append("    ").append(a).append('\n');
    }

    /** Whether Megatron's default split gives the plan's stages: the same number of layers on each. */
    static boolean evenSplit(List<Layers.StageLayers> sl) {
        for (Layers.StageLayers s : sl) {
            if (s.layers() != sl.get(0).layers()) {
                return false;
            }
        }
        return true;
    }

    /** Megatron's layout string: per stage {@code E} (embedding), {@code t} per layer, {@code L} (output), joined by {@code |}. */
    static String layout(List<Layers.StageLayers> sl) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < sl.size(); i++) {
            Layers.StageLayers s = sl.get(i);
            if (i > 0) {
                b.append('|');
            }
            if (i == 0) {
                b.append('E');
            }
            if (s.layers() == 1) {
                b.append('t');
            } else if (s.layers() > 1) {
                b.append("t*").append(s.layers());
            }
            if (i == sl.size() - 1) {
                b.append('L');
            }
        }
        return b.toString();
    }
}
