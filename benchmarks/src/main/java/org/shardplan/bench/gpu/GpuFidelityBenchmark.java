package org.shardplan.bench.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.shardplan.bench.megatron.MegatronBenchmark;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/**
 * Predicted against measured step time of published training runs, each planned at the run's own
 * parallel layout on its own GPUs and priced by the fitted device profiles (fitted only to GEMM,
 * attention-kernel, memory and NCCL microbenchmarks: see each profile's {@code sources}). The runs are
 * the check set: nothing was fitted to them.
 *
 * <ul>
 * <li>Megatron-LM, Narayanan et al., SC'21, Table 1 ({@link MegatronBenchmark#ROWS}): A100-80GB,
 *     Megatron's tensor and pipeline degrees, recomputation on, attention unfused (Megatron then ran
 *     its fused scale-mask-softmax kernel over materialised scores, not FlashAttention).
 * <li>MosaicML llm-foundry, {@code scripts/train/benchmarking/README.md} (MPT training throughput
 *     tables): FSDP FULL_SHARD (ZeRO stage 3) data parallelism over all GPUs, FlashAttention (fused),
 *     the table's micro-batch, gradient accumulation and activation checkpointing; step = global batch
 *     in tokens over the measured tokens per second.
 * </ul>
 *
 * <p>Usage, from the repository root after {@code mvn -pl benchmarks -am package -DskipTests}:
 * {@code java -Xmx12g -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.gpu.GpuFidelityBenchmark [--only NAME] [--time-limit S] [--default-software]}; with
 * {@code --default-software} the llm-foundry runs are priced with the profile's own attention kernel
 * (FlashAttention-2) and the default optimizer step (Megatron-LM's), for comparison, and no results file is written.
 */
public final class GpuFidelityBenchmark {
    private GpuFidelityBenchmark() {
    }

    /**
     * One published run.
     *
     * @param name the row's label
     * @param source where the measurement is published
     * @param model the built-in model
     * @param device the device profile
     * @param gpus GPUs
     * @param batch global batch in sequences
     * @param tensor tensor-parallel degree
     * @param pipeline pipeline-parallel degree
     * @param microBatches micro-batches per step (0: the search chooses)
     * @param zero ZeRO stage
     * @param recompute activation recomputation
     * @param fusedAttention whether the run used a fused (FlashAttention-class) attention kernel
     * @param measuredSeconds the measured step
     * @param measured how the measured step follows from the publication
     */
    record Run(String name, String source, String model, String device, int gpus, long batch, int tensor, int pipeline,
            int microBatches, int zero, boolean recompute, boolean fusedAttention, double measuredSeconds,
            String measured, String schedule, int virtual, boolean gradientOverlap, boolean tritonAttention,
            OptimizerSpec optimizer) {
        /** A run whose schedule the search picks, with the reduction overlapped. */
        Run(String name, String source, String model, String device, int gpus, long batch, int tensor, int pipeline,
                int microBatches, int zero, boolean recompute, boolean fusedAttention, double measuredSeconds,
                String measured) {
            this(name, source, model, device, gpus, batch, tensor, pipeline, microBatches, zero, recompute, fusedAttention,
                    measuredSeconds, measured, "", 0, true, false, OptimizerSpec.ADAM_MIXED);
        }

        /**
         * This run as llm-foundry ran it: its Triton attention kernel ({@link #TRITON}) in place of the profile's,
         * Composer's optimizer step ({@link #COMPOSER_ADAMW}).
         */
        Run foundry() {
            return new Run(name, source, model, device, gpus, batch, tensor, pipeline, microBatches, zero, recompute,
                    fusedAttention, measuredSeconds, measured, schedule, virtual, gradientOverlap, true, COMPOSER_ADAMW);
        }
    }

    /**
     * The optimizer step of the llm-foundry runs: Composer's {@code DecoupledAdamW} (the MPT YAMLs' {@code
     * decoupled_adamw}, {@code weight_decay: 0.0}) after Composer's gradient clipping ({@code clipping_type: norm}),
     * on FSDP's float32 shards of the weights and gradients. {@code DecoupledAdamW.adamw}
     * ({@code composer/optim/decoupled_weight_decay.py}, v0.16.4) runs one eager kernel per operation over each
     * shard: {@code exp_avg.mul_} (read 4, write 4), {@code .add_(grad)} (8, 4), {@code exp_avg_sq.mul_} (4, 4),
     * {@code .addcmul_(grad, grad)} (8, 4), {@code sqrt} (4, 4), the division by the bias correction (4, 4),
     * {@code .add_(eps)} (4, 4), {@code param.addcdiv_} (12, 4): 80 bytes; the decay multiply is skipped at
     * weight decay 0. FSDP's {@code clip_grad_norm_} (torch 2.1) reads each gradient for its norm (4) and scales
     * it in place (4, 4): 12. 92 bytes per parameter, where Megatron-LM's fused step moves 52; the memory per
     * parameter is {@link OptimizerSpec#ADAM_MIXED}'s.
     */
    static final OptimizerSpec COMPOSER_ADAMW = new OptimizerSpec("composer-decoupled-adamw", 2, 2, 12, 2, 92);

    /**
     * A published forward-plus-backward rate of an attention kernel on one device type, at head dimension
     * 128 and sequence 2k (every MPT run priced here: d_model / n_heads = 128, sequence 2048).
     *
     * @param tflops the rate, TFLOP/s in the benchmark's count (half the FLOPs when causal)
     * @param causal measured with the causal mask
     * @param source the publication, figure and bar
     */
    record KernelRate(double tflops, boolean causal, String source) {
        /** The device with its fused-attention efficiencies set from this rate ({@code KernelModel.withAttentionRate}). */
        DeviceSpec apply(DeviceSpec d) {
            return d.withKernels(d.kernels().orElseThrow().withAttentionRate(tflops * 1e12, causal, d.peakFlops("bfloat16")));
        }
    }

    /**
     * llm-foundry's MPT benchmark runs used its Triton FlashAttention kernel: {@code submit_benchmarks.py} sets
     * {@code attn_impl} from {@code --attn_impl}, default {@code triton}, which {@code sweep.sh} leaves alone (at the
     * commits that added the tables, {@code 300cc5c} for A100-40GB, {@code b2a43a1} for A100-80GB and H100), and the
     * MPT YAMLs say {@code attn_impl: triton}; {@code llmfoundry/models/layers/attention.py} runs it causal, with
     * {@code flash_attn_triton.flash_attn_func} (HazyResearch's Triton kernel). Its published rates, causal, head
     * dimension 128, sequence 2k: A100 80GB 68 TFLOP/s (Dao, "FlashAttention-2", 2023, Figure 4(d), "FlashAttention
     * Triton"); A100 40GB the same die and clocks. On H100 the kernel was not measured; FlashAttention (v1), which
     * runs 69 TFLOP/s beside the Triton kernel's 68 on A100 in the same figure, runs 108 on H100 SXM5 (Figure 7(d)),
     * taken for it.
     */
    static final Map<String, KernelRate> TRITON = Map.of(
            "a100-80gb", new KernelRate(68, true, "Dao 2023, Figure 4(d), FlashAttention Triton, A100 80GB"),
            "a100-40gb", new KernelRate(68, true, "Dao 2023, Figure 4(d), FlashAttention Triton, A100 80GB (same die)"),
            "h100-sxm", new KernelRate(108, true, "Dao 2023, Figure 7(d), FlashAttention v1 on H100 SXM5, for Triton"));

    static final String FOUNDRY = "llm-foundry scripts/train/benchmarking/README.md";

    /**
     * MPT's shape as a built-in GPT decoder: no dropout (llm-foundry's MPT configuration defaults
     * {@code attn_pdrop}, {@code resid_pdrop} and {@code emb_pdrop} to 0 and the benchmark YAMLs keep
     * them), with the loss.
     */
    static String mpt(int layers, int hidden, int heads) {
        return "gpt?layers=" + layers + ",hidden=" + hidden + ",heads=" + heads + ",vocab=50368,seq=2048,dropout=0";
    }

    /**
     * How Megatron-LM ran a Table 1 row, from its scripts ({@code examples/sc21/run_table_1.sh} and
     * {@code CONFIG.sh}, NVIDIA/Megatron-LM, 2021): micro-batch size, the virtual pipeline stages
     * ({@code --num-layers-per-virtual-pipeline-stage}; none: the plain 1F1B schedule) and the
     * data-parallel implementation ({@code --DDP-impl torch}: PyTorch DDP, the reduction overlapped with
     * the backward pass; {@code local}: Megatron's own, which {@code train_step} runs after the pipeline
     * flush). No run shards the optimizer state (Megatron's distributed optimizer came in 2022): ZeRO 0.
     */
    record Script(int microBatchSize, int virtual, boolean torchDdp) {
    }

    static final Map<String, Script> SCRIPTS = Map.of(
            "gpt-1.7b", new Script(16, 0, true),
            "gpt-7.5b", new Script(16, 0, true),
            "gpt-39.1b", new Script(4, 0, false),
            "gpt-145.6b", new Script(2, 2, false), // 80 layers / 8 stages = 10 per device, 5 per virtual stage
            "gpt-1t", new Script(1, 0, false));

    /** Megatron's rows, then the MPT runs. */
    static List<Run> runs() {
        List<Run> r = new ArrayList<>();
        for (MegatronBenchmark.Row x : MegatronBenchmark.ROWS) {
            double step = x.flops() / (x.gpus() * x.tflops() * 1e12);
            Script sc = SCRIPTS.get(x.model());
            int dp = x.gpus() / (x.tensor() * x.pipeline());
            int m = (int) (x.batch() / dp / sc.microBatchSize());
            String schedule = x.pipeline() == 1 ? "" : sc.virtual() > 1 ? "interleaved" : "1f1b";
            r.add(new Run(x.model() + " Megatron", "Narayanan et al. SC'21, Table 1", x.model(), "a100-80gb", x.gpus(),
                    x.batch(), x.tensor(), x.pipeline(), m, 0, true, false, step,
                    String.format(Locale.ROOT, "%.0f TFLOP/s per GPU x %d GPUs, eq. (3) FLOPs", x.tflops(), x.gpus()),
                    schedule, sc.virtual(), sc.torchDdp(), false, OptimizerSpec.ADAM_MIXED));
        }
        String m1 = mpt(24, 2048, 16);
        String m3 = mpt(32, 2560, 20);
        String m7 = mpt(32, 4096, 32);
        String m13 = mpt(40, 5120, 40);
        String m30 = mpt(48, 7168, 56);
        // the rows priced before the H100 profile's refit
        r.add(foundry("MPT-7B A100-80GB", "A100 80GB", m7, "a100-80gb", 8, 96, 2, false, 37130));
        r.add(foundry("MPT-13B A100-80GB", "A100 80GB", m13, "a100-80gb", 8, 48, 3, false, 18097));
        r.add(foundry("MPT-30B A100-80GB", "A100 80GB", m30, "a100-80gb", 8, 504, 21, true, 7330));
        r.add(foundry("MPT-7B A100-40GB x64", "A100 40GB", m7, "a100-40gb", 64, 1152, 1, true, 234614));
        r.add(foundry("MPT-7B H100", "H100 80GB BF16", m7, "h100-sxm", 8, 48, 1, false, 85144));
        r.add(foundry("MPT-13B H100", "H100 80GB BF16", m13, "h100-sxm", 8, 16, 1, false, 38336));
        // rows added with it: every other run at sequence 2048 on 8 GPUs in the three tables, and the H100 table's runs
        // at sequence 2048 on 16 GPUs (two nodes) (checked, never fitted)
        r.add(foundry("MPT-1B H100", "H100 80GB BF16", m1, "h100-sxm", 8, 112, 1, false, 363645));
        r.add(foundry("MPT-30B H100", "H100 80GB BF16", m30, "h100-sxm", 8, 504, 21, true, 16022));
        r.add(foundry("MPT-1B H100 x16", "H100 80GB BF16", m1, "h100-sxm", 16, 320, 1, false, 736596));
        r.add(foundry("MPT-3B H100 x16", "H100 80GB BF16", m3, "h100-sxm", 16, 480, 3, false, 386285));
        r.add(foundry("MPT-13B H100 x16", "H100 80GB BF16", m13, "h100-sxm", 16, 32, 1, false, 76280));
        r.add(foundry("MPT-30B H100 x16", "H100 80GB BF16", m30, "h100-sxm", 16, 480, 3, true, 36209));
        r.add(foundry("MPT-1B A100-80GB", "A100 80GB", m1, "a100-80gb", 8, 448, 4, false, 164109));
        r.add(foundry("MPT-3B A100-80GB", "A100 80GB", m3, "a100-80gb", 8, 160, 2, false, 86491));
        r.add(foundry("MPT-1B A100-40GB", "A100 40GB", m1, "a100-40gb", 8, 512, 8, false, 154171));
        r.add(foundry("MPT-3B A100-40GB", "A100 40GB", m3, "a100-40gb", 8, 320, 8, false, 80520));
        r.add(foundry("MPT-7B A100-40GB", "A100 40GB", m7, "a100-40gb", 8, 384, 4, true, 29436));
        r.add(foundry("MPT-13B A100-40GB", "A100 40GB", m13, "a100-40gb", 8, 512, 16, true, 13347));
        return r;
    }

    /**
     * An llm-foundry MPT run: FSDP FULL_SHARD over all GPUs (ZeRO 3), fused Triton attention ({@link #TRITON}), the
     * table's global batch, gradient accumulation and activation checkpointing; the measured step is the global
     * batch's tokens over the table's tokens per second.
     */
    static Run foundry(String name, String table, String model, String device, int gpus, long batch, int accumulation,
            boolean checkpointing, double tokensPerSecond) {
        return new Run(name, FOUNDRY + ", " + table + " table", model, device, gpus, batch, 1, 1, accumulation, 3,
                checkpointing, true, batch * 2048 / tokensPerSecond,
                String.format(Locale.ROOT, "%d x 2048 tokens at %,.0f tokens/s", batch, tokensPerSecond)).foundry();
    }

    public static void main(String[] args) throws Exception {
        String only = null;
        double timeLimit = 120;
        boolean defaultSoftware = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = args[++i];
                case "--time-limit" -> timeLimit = Double.parseDouble(args[++i]);
                case "--default-software" -> defaultSoftware = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: GpuFidelityBenchmark [--only NAME] [--time-limit S] [--default-software]");
            }
        }
        List<String> lines = new ArrayList<>();
        List<Double> errors = new ArrayList<>();
        for (Run run : runs()) {
            if (only != null && !run.name().contains(only)) {
                continue;
            }
            DeviceSpec device = DeviceProfiles.get(run.device());
            if (run.tritonAttention() && !defaultSoftware) {
                device = TRITON.get(run.device()).apply(device);
            }
            Cluster c = Cluster.homogeneous(device, run.gpus());
            ModelSource src = b -> BuiltinModels.read(run.model(), ImportOptions.DEFAULT.withDims(Map.of("batch", b)))
                    .graph();
            SearchOptions so = SearchOptions.AUTO.withTensor(run.tensor()).withPipeline(run.pipeline())
                    .withRecompute(run.recompute()).withZeroStage(run.zero());
            if (run.microBatches() > 0) {
                so = so.withMicroBatches(run.microBatches());
            }
            if (!run.schedule().isEmpty()) {
                so = so.withSchedule(run.schedule());
            }
            if (run.virtual() > 1) {
                so = so.withVirtualStages(run.virtual());
            }
            if (run.pipeline() == 1) {
                so = so.withData(run.gpus() / run.tensor());
            }
            Planner p = Planner.forCluster(c).withBatch(run.batch()).withTimeLimit(timeLimit)
                    .withModel("builtin:" + run.model(), "").withSearch(so).withAttention(run.fusedAttention())
                    .withGradientOverlap(run.gradientOverlap());
            if (!defaultSoftware) {
                p = p.withOptimizer(run.optimizer());
            }
            String pred;
            String ratio;
            long t0 = System.nanoTime();
            String lifted = "";
            try {
                Plan plan;
                try {
                    plan = p.plan(src);
                } catch (org.shardplan.planner.PlanInfeasibleException e) {
                    // the run fitted on its GPUs; where shardplan's memory estimate says otherwise, the step is
                    // still priced, with the limit lifted and the estimate reported
                    plan = p.withMemoryLimit(1e15).plan(src);
                    lifted = String.format(Locale.ROOT, " (memory limit lifted: estimated %.0f GiB per device)",
                            plan.totals().peakMemoryBytesPerDevice() / (1L << 30));
                }
                double step = plan.totals().stepSeconds();
                double err = step / run.measuredSeconds() - 1;
                errors.add(Math.abs(err));
                Plan.Parallelism x = plan.parallelism();
                pred = String.format(Locale.ROOT, "%.3f s | DP %d x TP %d x PP %d, m %d, %s%s", step, x.data(), x.tensor(),
                        x.pipeline(), x.microBatches(), plan.schedule().name(), lifted);
                ratio = String.format(Locale.ROOT, "%.3f | %+.1f%%", step / run.measuredSeconds(), 100 * err);
            } catch (ShardplanException e) {
                pred = "no plan: " + e.getMessage().replace('|', '/') + " | ";
                ratio = "- | -";
            }
            String line = String.format(Locale.ROOT, "| %s | %s | %d x %s | %d, TP %d, PP %d, m %s, ZeRO %d, recompute %s,"
                    + " attention %s, DP reduction %s | %.3f s (%s) | %s | %s | %.1f s |", run.name(), run.source(), run.gpus(),
                    run.device(), run.batch(), run.tensor(), run.pipeline(),
                    run.microBatches() == 0 ? "auto" : "" + run.microBatches(), run.zero(), run.recompute() ? "on" : "off",
                    run.tritonAttention() && !defaultSoftware ? "fused (Triton)" : run.fusedAttention() ? "fused" : "unfused",
                    run.gradientOverlap() ? "overlapped" : "after backward",
                    run.measuredSeconds(), run.measured(), pred, ratio, (System.nanoTime() - t0) / 1e9);
            System.out.println(line);
            lines.add(line);
        }
        double[] e = errors.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = e.length == 0 ? Double.NaN
                : e.length % 2 == 1 ? e[e.length / 2] : (e[e.length / 2 - 1] + e[e.length / 2]) / 2;
        long within = Arrays.stream(e).filter(x -> x <= 0.15).count();
        String summary = String.format(Locale.ROOT, "%d of %d priced runs within 15%%; median |error| %.1f%%; largest %.1f%%",
                within, e.length, 100 * median, e.length == 0 ? Double.NaN : 100 * e[e.length - 1]);
        System.out.println(summary);
        if (only == null && !defaultSoftware) {
            write(lines, summary, timeLimit);
        }
    }

    static void write(List<String> lines, String summary, double timeLimit) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# GPU fidelity: predicted against published step times\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %d cores; date %s; time limit %.0f s per plan; command: `java -Xmx12g -cp"
                + " \"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\""
                + " org.shardplan.bench.gpu.GpuFidelityBenchmark`.%n%n", Runtime.getRuntime().availableProcessors(),
                LocalDate.now(), timeLimit));
        b.append("| run | published in | GPUs | batch and layout | measured step | predicted step | plan | predicted /"
                + " measured | error | planning time |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (String l : lines) {
            b.append(l).append('\n');
        }
        b.append('\n').append(summary).append(".\n");
        Path out = Path.of("benchmarks/results/gpu-fidelity.md");
        String old = Files.exists(out) ? Files.readString(out) : "";
        int notes = old.indexOf("\n## ");
        if (notes >= 0) {
            b.append(old.substring(notes));
        }
        Files.writeString(out, b.toString());
        System.out.println("wrote " + out);
    }
}
