package org.shardplan.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;

/**
 * A DeepSpeed configuration (JSON) for a plan. Keys follow DeepSpeed 0.19.6 (deepspeedai/DeepSpeed at
 * edaa7221, {@code deepspeed/runtime/constants.py}, {@code deepspeed/runtime/config.py}
 * {@code get_pipeline_config}, {@code deepspeed/runtime/tensor_parallel/config.py}):
 * {@code train_batch_size}, {@code train_micro_batch_size_per_gpu}, {@code gradient_accumulation_steps},
 * {@code zero_optimization.stage}, {@code tensor_parallel.autotp_size} (AutoTP, when the tensor degree
 * is above 1), and {@code pipeline} ({@code stages}, {@code partition}, {@code activation_checkpoint_interval})
 * for the {@code PipelineModule} the model is wrapped in. DeepSpeed's pipeline engine runs one
 * schedule, 1F1B (its {@code TrainSchedule}), partitions layers evenly ({@code "uniform"}) or by
 * parameters or by type, and refuses ZeRO 2 and 3 with pipelines ({@code deepspeed/runtime/pipe/engine.py});
 * plans that need more are approximated. O(nodes).
 */
public final class DeepSpeedExporter extends EngineExporter {

    /** The DeepSpeed version the keys follow. */
    static final String FOLLOWS = "DeepSpeed 0.19.6 (deepspeedai/DeepSpeed edaa72212672, deepspeed/runtime/config.py)";

    @Override
    public String name() {
        return "deepspeed";
    }

    @Override
    public String description() {
        return "DeepSpeed JSON configuration, " + FOLLOWS;
    }

    @Override
    Optional<String> scheduleLack(Plan p) {
        return switch (p.parallelism().pipeline() == 1 ? "none" : p.schedule().name()) {
            case "none", "1f1b" -> Optional.empty();
            default -> Optional.of("schedule " + p.schedule().name() + ": DeepSpeed's pipeline engine runs 1F1B only");
        };
    }

    @Override
    Optional<String> zeroLack(Plan p) {
        if (p.parallelism().pipeline() > 1 && p.options().zeroStage() >= 2) {
            return Optional.of("ZeRO stage " + p.options().zeroStage() + " with " + p.parallelism().pipeline()
                    + " pipeline stages: DeepSpeed's pipeline engine takes ZeRO 0 or 1 only");
        }
        return Optional.empty();
    }

    @Override
    int zeroInstead(Plan p) {
        return 1;
    }

    @Override
    boolean sequenceParallel() {
        return false;
    }

    @Override
    boolean evenStagesOnly() {
        return true;
    }

    @Override
    Optional<String> stagesLack(EngineView v) {
        if (v.pipeline() > 1 && !uniformSplit(v.stageLayers())) {
            StringBuilder b = new StringBuilder();
            v.stageLayers().forEach(s -> b.append(b.length() == 0 ? "" : ", ").append(s.layers()));
            return Optional.of("stages of " + b + " layers: DeepSpeed's PipelineModule partitions layers evenly (the"
                    + " first stages one more where they do not divide), by parameters or by type, not at given boundaries");
        }
        return Optional.empty();
    }

    /** Whether the stages hold the layers as DeepSpeed's uniform partition spreads them ({@link Approximation#uniformStage}). */
    static boolean uniformSplit(List<Layers.StageLayers> sl) {
        int n = 0;
        for (Layers.StageLayers s : sl) {
            n += s.layers();
        }
        int[] want = Approximation.uniformCounts(n, sl.size());
        for (int i = 0; i < sl.size(); i++) {
            if (sl.get(i).layers() != want[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The plan's gradient buckets in DeepSpeed's keys, which count elements: {@code reduce_bucket_size} for ZeRO 1
     * and 2 (the gradients' reduction), {@code allgather_bucket_size} for ZeRO 2 (the updated weights'
     * all-gather). ZeRO 0 reduces in DeepSpeed's fixed buckets of 5e8 elements ({@code MEMORY_OPT_ALLREDUCE_SIZE}
     * in {@code deepspeed/runtime/engine.py}), and ZeRO 3 prefetches and reduces per parameter group: a note
     * says so where the plan asked for buckets of its own size ({@code --gradient-bucket-mb}).
     */
    static void bucketSizes(Plan p, ObjectNode zo, List<String> notes) throws ExportException {
        int zero = p.options().zeroStage();
        if (zero == 1 || zero == 2) {
            zo.put("reduce_bucket_size", bucketElements(p, OptimizerSpec::gradientBytes));
            if (zero == 2) {
                zo.put("allgather_bucket_size", bucketElements(p, OptimizerSpec::weightBytes));
            }
        } else if (p.options().requested().containsKey(Planner.GRADIENT_BUCKET_MB)) {
            notes.add("gradient buckets of " + p.options().requested().get(Planner.GRADIENT_BUCKET_MB) + " MiB: DeepSpeed"
                    + (zero == 0 ? " reduces ZeRO stage 0 gradients in fixed buckets of 5e8 elements" : " reduces ZeRO"
                    + " stage 3 gradients by its own reduce_bucket_size and prefetch settings, which the plan leaves"
                    + " at DeepSpeed's defaults"));
        }
    }

    @Override
    String write(EngineView v, CoarseGraph cg, List<String> notes) throws ExportException {
        Plan p = v.plan();
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode r = om.createObjectNode();
        r.put("train_batch_size", p.batch());
        r.put("train_micro_batch_size_per_gpu", p.parallelism().microBatchSize());
        r.put("gradient_accumulation_steps", p.parallelism().microBatches());
        ObjectNode zo = r.putObject("zero_optimization");
        zo.put("stage", p.options().zeroStage());
        bucketSizes(p, zo, notes);
        if (v.tensor() > 1) {
            r.putObject("tensor_parallel").put("autotp_size", v.tensor());
        }
        if (v.pipeline() > 1) {
            ObjectNode pp = r.putObject("pipeline");
            pp.put("stages", v.pipeline());
            pp.put("partition", "uniform");
            pp.put("activation_checkpoint_interval", p.options().recompute() ? 1 : 0);
        }
        if (p.options().recompute()) {
            ObjectNode ac = r.putObject("activation_checkpointing");
            ac.put("partition_activations", false);
            ac.put("contiguous_memory_optimization", false);
        }
        ObjectNode sp = r.putObject("shardplan");
        sp.put("comment", Header.of(p, "", FOLLOWS, notes).strip());
        sp.put("data_parallel_size", v.data());
        try {
            return om.writeValueAsString(r) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
