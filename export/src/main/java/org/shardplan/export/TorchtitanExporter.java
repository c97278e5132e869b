package org.shardplan.export;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.planner.Plan;

/**
 * The parallelism of a torchtitan job for a plan: a Python function that sets the fields of a
 * torchtitan {@code Trainer.Config}, as torchtitan's configuration guide derives one configuration
 * from another. Field names follow torchtitan 0.2.2 (pytorch/torchtitan at b5bcd76c,
 * {@code torchtitan/config/configs.py}: {@code ParallelismConfig}, {@code TrainingConfig};
 * {@code torchtitan/trainer.py}: {@code Trainer.Config.activation_checkpoint}), where configurations
 * are Python and the TOML job files of 0.1 are gone:
 * <ul>
 * <li>{@code data_parallel_shard_degree} (FSDP, ZeRO 3) or {@code data_parallel_replicate_degree}
 *     (DDP, ZeRO 0), {@code tensor_parallel_degree}, {@code enable_sequence_parallel},
 *     {@code context_parallel_degree} (1: shardplan's plans do not split attention's sequence),
 *     {@code pipeline_parallel_degree}, {@code pipeline_parallel_schedule} as
 *     {@code torch.distributed.pipelining} spells it ({@code GPipe}, {@code 1F1B},
 *     {@code Interleaved1F1B}), {@code num_pp_microbatches}, {@code module_fqns_per_model_part} (the
 *     layers of each stage under torchtitan's decoder names {@code tok_embeddings}, {@code layers.N},
 *     {@code norm}, {@code output});
 * <li>{@code training.num_tokens_per_microbatch_per_dp_rank} and {@code training.num_tokens_per_train_step}
 *     (samples times the {@code seq} dimension, when the plan binds one);
 * <li>{@code activation_checkpoint}: {@code FullAC.Config()} with recomputation, else {@code None}.
 * </ul>
 * torchtitan shards data-parallel state fully (FSDP) or not at all, so ZeRO 1 and 2 are approximated by
 * ZeRO 3; ZB-H1 (one stage per rank) is not among its schedules and is approximated by 1F1B. O(nodes).
 */
public final class TorchtitanExporter extends EngineExporter {

    /** The torchtitan version the fields follow. */
    static final String FOLLOWS = "torchtitan 0.2.2 (pytorch/torchtitan b5bcd76c66d0, torchtitan/config/configs.py ParallelismConfig)";

    @Override
    public String name() {
        return "torchtitan";
    }

    @Override
    public String description() {
        return "torchtitan Trainer.Config parallelism (Python), " + FOLLOWS;
    }

    @Override
    Optional<String> scheduleLack(Plan p) {
        return switch (p.parallelism().pipeline() == 1 ? "none" : p.schedule().name()) {
            case "none", "gpipe", "1f1b", "interleaved" -> Optional.empty();
            case "zero-bubble" -> Optional.of("schedule zero-bubble (ZB-H1, one stage per rank): torchtitan's zero-bubble"
                    + " schedules need several stages per rank");
            default -> Optional.of("schedule " + p.schedule().name() + ": torchtitan's schedules are GPipe, 1F1B and"
                    + " their looped forms, all synchronous");
        };
    }

    @Override
    Optional<String> zeroLack(Plan p) {
        int z = p.options().zeroStage();
        if ((z == 1 || z == 2) && p.parallelism().data() > 1) {
            return Optional.of("ZeRO stage " + z + ": torchtitan shards parameters, gradients and optimizer state together"
                    + " (FSDP, ZeRO 3) or replicates them (DDP)");
        }
        return Optional.empty();
    }

    @Override
    int zeroInstead(Plan p) {
        return 3;
    }

    /** The schedule's name in torch.distributed.pipelining. */
    static String scheduleName(String s) {
        return switch (s) {
            case "gpipe" -> "GPipe";
            case "interleaved" -> "Interleaved1F1B";
            default -> "1F1B";
        };
    }

    @Override
    String write(EngineView v, CoarseGraph cg, List<String> notes) throws ExportException {
        Plan p = v.plan();
        StringBuilder b = new StringBuilder(Header.of(p, "# ", FOLLOWS, notes));
        b.append("from torchtitan.distributed.activation_checkpoint import FullAC\n\n\n");
        b.append("def apply_shardplan_plan(config):\n");
        b.append("    \"\"\"Sets the parallelism of a torchtitan Trainer.Config to the plan's and returns it.\"\"\"\n");
        boolean fsdp = p.options().zeroStage() >= 1;
        set(b, "parallelism.data_parallel_shard_degree", Integer.toString(fsdp ? v.data() : 1));
        set(b, "parallelism.data_parallel_replicate_degree", Integer.toString(fsdp ? 1 : v.data()));
        set(b, "parallelism.tensor_parallel_degree", Integer.toString(v.tensor()));
        set(b, "parallelism.enable_sequence_parallel", v.sequenceParallel() && v.tensor() > 1 ? "True" : "False");
        set(b, "parallelism.context_parallel_degree", "1");
        set(b, "parallelism.pipeline_parallel_degree", Integer.toString(v.pipeline()));
        if (v.pipeline() > 1) {
            set(b, "parallelism.pipeline_parallel_schedule", "\"" + scheduleName(p.schedule().name()) + "\"");
            set(b, "parallelism.num_pp_microbatches", Integer.toString(p.parallelism().microBatches()));
            set(b, "parallelism.module_fqns_per_model_part", fqns(v.stageLayers()));
        }
        Long seq = p.dims().get("seq");
        if (seq != null && seq > 0 && p.parallelism().microBatchSize() > 0) {
            set(b, "training.num_tokens_per_microbatch_per_dp_rank",
                    Long.toString(p.parallelism().microBatchSize() * seq));
            set(b, "training.num_tokens_per_train_step", Long.toString(p.batch() * seq));
        } else {
            b.append("    # training.num_tokens_*: the plan binds no 'seq' dimension; set them from the batch of ")
                    .append(p.batch()).append(" samples\n");
        }
        set(b, "activation_checkpoint", p.options().recompute() ? "FullAC.Config()" : "None");
        b.append("    return config\n");
        return b.toString();
    }

    private static void set(StringBuilder b, String field, String value) {
        b.append("    config.").append(field).append(" = ").append(value).append('\n');
    }

    /** torchtitan's module names per stage: the embedding, the stage's layers, the final norm and output. */
    static String fqns(List<Layers.StageLayers> sl) {
        List<String> parts = new ArrayList<>();
        int layer = 0;
        for (int i = 0; i < sl.size(); i++) {
            List<String> m = new ArrayList<>();
            if (i == 0) {
                m.add("\"tok_embeddings\"");
            }
            for (int k = 0; k < sl.get(i).layers(); k++) {
                m.add("\"layers." + layer++ + "\"");
            }
            if (i == sl.size() - 1) {
                m.add("\"norm\"");
                m.add("\"output\"");
            }
            parts.add("[" + String.join(", ", m) + "]");
        }
        return "[" + String.join(", ", parts) + "]";
    }
}
