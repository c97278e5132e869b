package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.graph.Deadline;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan plan [MODEL] [--cluster FILE | --devices N --device TYPE] [--batch N] [--dim N=V]...
 * [--input-shape I=D,...]... [--memory-limit BYTES] [--time-limit S] [--out plan.json] [--json]}: finds the
 * fastest way to split the training of a model over a cluster and reports it with the baselines.
 * Exit code 3 when no plan fits the memory limit.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        header = "Finds the fastest split of a model over a cluster: data, tensor, pipeline and their layouts.",
        description = {"Finds the fastest split of every layer of a model over a cluster (data, tensor, operator and "
                + "pipeline parallelism laid out on the node hierarchy), compares it with data parallelism and the "
                + "expert plan (Megatron for transformers, one weird trick for CNNs) under the same cost model, and "
                + "prints or writes the plan (shardplan-plan/2). Without MODEL: the bundled transformer (batch 64, seq "
                + "128) on 8 x a100-40gb.",
                "Exit code 3 when no plan fits the memory limit (the message says what would)."})
public final class PlanCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "An .onnx file, or builtin:NAME: transformer, cnn, or a decoder such as gpt-1.7b, llama3-8b, "
                    + "gpt?layers=..,hidden=..,heads=.. (docs/models.md) (default: builtin:transformer).")
    String model;

    /** Default cluster when no cluster option is given: 8 x a100-40gb. */
    static final int DEFAULT_DEVICES = 8;
    static final String DEFAULT_DEVICE = "a100-40gb";
    /** The smallest --gradient-bucket-mb: about 1 KB (a bucket of a few elements prices nothing real). */
    static final double MIN_BUCKET_MB = 0.001;
    /** The largest --gradient-bucket-mb: 1 TiB. */
    static final double MAX_BUCKET_MB = 1024 * 1024;

    @Mixin
    ClusterOptions clusterOptions;

    @Mixin
    BatchOption batch;

    @Mixin
    DimsOptions bindings;

    @Option(names = "--memory-limit", paramLabel = "BYTES",
            description = "Per-device memory limit, e.g. 16000000000 or 16GiB (default: the device's memory).")
    String memoryLimit;

    @Option(names = "--time-limit", paramLabel = "S", defaultValue = "60", description = "Solver time limit in seconds (default 60).")
    double timeLimit;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adam-mixed",
            description = "Optimizer memory preset: adam-mixed (default: Megatron-LM's mixed precision), adam-fp32,"
                    + " sgd-momentum-fp32, sgd-fp32, adam-amp (PyTorch autocast with a fused AdamW).")
    String optimizer;

    @Option(names = "--attention", paramLabel = "fused|unfused", defaultValue = "fused",
            description = "How the cost model prices attention: fused (default: QK^T and PV as one FlashAttention-class"
                    + " kernel storing no s x s scores, what current stacks run) or unfused (scale, mask, softmax and"
                    + " PV as separate kernels over materialised scores).")
    String attention;

    @Option(names = "--gradient-reduction", paramLabel = "overlapped|after-backward", defaultValue = "overlapped",
            description = "When the data-parallel gradient reduction runs: overlapped (default: bucket by bucket during"
                    + " the last micro-batch's backward pass, as PyTorch DDP and FSDP run it) or after-backward (after"
                    + " the backward pass, as Megatron-LM's own data parallelism of 2021 ran it).")
    String gradientReduction;

    @Option(names = "--gradient-bucket-mb", paramLabel = "MIB", defaultValue = "25",
            description = "Size of the buckets the data-parallel gradient reduction runs in, in MiB (default 25: PyTorch"
                    + " DDP's bucket_cap_mb; DeepSpeed's reduce_bucket_size and Megatron-LM's gradient buffer buckets are"
                    + " larger). Each bucket is one collective; the last one runs after the backward pass.")
    double gradientBucketMb;

    @Option(names = "--zero", paramLabel = "STAGE", defaultValue = "auto",
            description = "Sharded data parallelism: auto (default: the search chooses), or ZeRO stage 0-3.")
    String zero;

    @Option(names = "--recompute", paramLabel = "MODE", arity = "0..1", defaultValue = "auto",
            parameterConsumer = OptionalMode.class,
            description = "Activation recomputation: auto (default: the search chooses), on (also plain --recompute), off.")
    String recompute;

    /**
     * Consumes the word after {@code --recompute} only when it is a mode (auto, on, off, true, false), so
     * that {@code --recompute model.onnx} keeps the model as the positional parameter.
     */
    static final class OptionalMode implements picocli.CommandLine.IParameterConsumer {
        /** Whether a word after {@code --recompute} reads as a mode rather than a model or another option. */
        static boolean looksLikeAMode(String w) {
            return !w.isEmpty() && !w.startsWith("-") && w.indexOf('.') < 0 && w.indexOf('/') < 0 && w.indexOf(':') < 0
                    && !java.nio.file.Files.exists(java.nio.file.Path.of(w));
        }

        private static final java.util.Set<String> MODES = java.util.Set.of("auto", "on", "off", "true", "false");

        @Override
        public void consumeParameters(java.util.Stack<String> args, picocli.CommandLine.Model.ArgSpec spec,
                CommandSpec command) {
            String value = "on";
            if (!args.isEmpty() && MODES.contains(args.peek())) {
                value = args.pop();
            } else if (!args.isEmpty() && looksLikeAMode(args.peek())) {
                // a word that names no mode and could not be a model (no '.', '/' or ':', no such file): a mistyped mode
                throw new picocli.CommandLine.ParameterException(command.commandLine(),
                        "--recompute must be auto, on or off (plain --recompute is on), found '" + args.peek() + "'");
            }
            spec.setValue(value);
        }
    }

    @Option(names = "--pipeline-parallel", paramLabel = "P", defaultValue = "auto",
            description = "Pipeline stages: auto (default), off (one stage), or a number dividing the devices.")
    String pipeline;

    @Option(names = "--tensor-parallel", paramLabel = "T", defaultValue = "auto",
            description = "Devices splitting one replica's layers inside a stage: auto (default) or a number.")
    String tensor;

    @Option(names = "--data-parallel", paramLabel = "D", defaultValue = "auto",
            description = "Data-parallel replicas inside a stage (the split of the batch): auto (default) or a number.")
    String data;

    @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "auto",
            description = "Pipeline schedule: auto (default), gpipe, 1f1b, interleaved, zero-bubble, or amp (asynchronous,"
                    + " changes the training math; auto chooses it only with --allow async).")
    String schedule;

    @Option(names = "--allow", paramLabel = "WHAT", split = ",",
            description = "Let --schedule auto choose what changes the training math: async (the asynchronous amp).")
    java.util.List<String> allow = java.util.List.of();

    @Option(names = "--max-active-keys", paramLabel = "K", defaultValue = "auto",
            description = "amp: the most micro-batches in flight at once: auto (default: searched, 1 to twice the stages)"
                    + " or a number.")
    String maxActiveKeys;

    @Option(names = "--min-update-frequency", paramLabel = "M", defaultValue = "auto",
            description = "amp: gradients a stage collects per local weight update: auto (default: searched, powers of two"
                    + " up to the micro-batches) or a number.")
    String minUpdateFrequency;

    @Option(names = "--max-staleness", paramLabel = "S",
            description = "amp: the most local updates any stage may make between a micro-batch's forward and its"
                    + " backward (a bound on the search).")
    String maxStaleness;

    @Option(names = "--virtual-stages", paramLabel = "V", defaultValue = "auto",
            description = "Model chunks per device group with --schedule interleaved: auto (default: 2 or 4) or a number.")
    String virtualStages;

    @Option(names = "--micro-batches", paramLabel = "M", defaultValue = "auto",
            description = "Micro-batches per step (gradient accumulation): auto (default) or a number dividing the batch.")
    String microBatches;

    @Option(names = "--parareal", paramLabel = "MODE", defaultValue = "off",
            description = "Parareal layer-parallel network, which changes the model: off (default), auto (proposed when"
                    + " faster than every plan that keeps the model; each chain that gains torn with its own number of"
                    + " segments) or a number of segments (common to the chains torn).")
    String parareal;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "auto",
            description = "Threads the search runs its independent solves on: auto (default: the available processors)"
                    + " or a number (1: one at a time). The plan, its status and its bound are the same whatever N,"
                    + " when the search ends before its time limit.")
    String threads;

    @Option(names = "--all-nodes", description = "List every node in the report (default: one row per repeated block class).")
    boolean allNodes;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the plan JSON to FILE (-: standard output, as --json).")
    Path out;

    @Option(names = "--json", description = "Print the plan JSON instead of the report.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        if (out != null && out.toString().equals("-")) {
            json = true; // --out -: the JSON on standard output (a file named '-' is ./-)
            out = null;
        }
        long given = batch.given();
        if (!(timeLimit > 0) || Double.isInfinite(timeLimit)) {
            throw new ShardplanException("--time-limit must be a positive number of seconds, found " + timeLimit);
        }
        SearchOptions search = searchOptions();
        if (!attention.equals("fused") && !attention.equals("unfused")) {
            throw new ShardplanException("--attention must be fused or unfused, found " + attention);
        }
        if (!gradientReduction.equals("overlapped") && !gradientReduction.equals(Planner.AFTER_BACKWARD)) {
            throw new ShardplanException("--gradient-reduction must be overlapped or after-backward, found "
                    + gradientReduction);
        }
        if (!(gradientBucketMb >= MIN_BUCKET_MB) || !(gradientBucketMb <= MAX_BUCKET_MB)) {
            throw new ShardplanException("--gradient-bucket-mb must be a number of MiB from " + MIN_BUCKET_MB + " to "
                    + (long) MAX_BUCKET_MB + ", found " + gradientBucketMb);
        }
        Cluster cluster = clusterOptions.resolve(DEFAULT_DEVICES, DEFAULT_DEVICE);
        // the time limit counts from here: the import, the coarsening and the standard layouts check it as
        // the search does; past it the answer is the plan priced so far, a baseline, or (before any) this message
        long start = System.nanoTime();
        try (Deadline.Scope limit = Deadline.at(start + (long) Math.min(timeLimit * 1e9, Long.MAX_VALUE / 4))) {
            return plan(cluster, given, search, start);
        } catch (Deadline.Expired e) {
            throw new ShardplanException(String.format(Locale.ROOT, "--time-limit %s: %s, %.1f s after the start, before"
                    + " any plan was priced; a larger --time-limit lets it finish", timeLimitText(), e.getMessage(),
                    (System.nanoTime() - start) / 1e9));
        }
    }

    private String timeLimitText() {
        return timeLimit == Math.rint(timeLimit) && timeLimit < 1e15 ? Long.toString((long) timeLimit) : Double.toString(timeLimit);
    }

    private Integer plan(Cluster cluster, long given, SearchOptions search, long start) throws ShardplanException {
        PlanModel m = PlanModel.load(model, given, bindings, Map.of());
        Deadline.check("importing the model");
        // what the import left of the limit (at least a millisecond: the search then answers with a baseline)
        double left = Math.max(1e-3, timeLimit - (System.nanoTime() - start) / 1e9);
        long b = m.batch(given);
        int n = cluster.deviceCount();
        // a batch that shares no factor with the devices has no data-parallel split; the search still splits each
        // sample (tensor, operator and pipeline parallelism), as it does for a batch of one, and the report says why
        String noSplit = b > 1 && n > 1 && gcd(b, n) == 1 ? m.batchOrigin(given) + " shares no factor with the " + n
                + " devices, so no data-parallel split divides it and the plan splits each sample instead; a batch"
                + " divisible by a factor of " + n + " allows data parallelism" : null;
        Planner p = Planner.forCluster(cluster).withBatch(b).withDims(m.bindings()).withOptimizer(OptimizerSpec.of(optimizer))
                .withSearch(search).withTimeLimit(left).withModel(m.name(), m.imported().info().sha256())
                .withVersion(Main.version()).withAttention(attention.equals("fused"))
                .withGradientOverlap(gradientReduction.equals("overlapped"))
                .withGradientBucketBytes(gradientBucketMb * 1024 * 1024);
        if (memoryLimit != null) {
            p = p.withMemoryLimit(Sizes.bytes("--memory-limit", memoryLimit));
        }
        p = LocalCalibration.apply(p, cluster);
        Plan plan;
        try (Progress progress = Progress.onConsole("planning " + m.display(), timeLimit)) {
            plan = p.plan(source(m, b));
        }
        if (out != null) {
            try {
                PlanJson.write(plan, out);
            } catch (IOException e) {
                throw new ShardplanException("--out " + out + ": cannot write the plan: " + e.getMessage(), e);
            }
        }
        PrintWriter w = spec.commandLine().getOut();
        w.print(json ? PlanJson.write(plan) : PlanReport.text(plan, m.display(), allNodes));
        // what the report adds below the plan; with --json, on standard error, so that standard output stays the plan
        List<String> after = new ArrayList<>();
        if (!"analytic".equals(plan.provenance().calibration())) {
            after.add("compute priced from the calibration " + plan.provenance().calibration());
        }
        if (m.batchDim() != null) {
            after.add("note: --batch binds the model's batch dimension, named '" + m.batchDim() + "'");
        }
        if (noSplit != null) {
            after.add("note: " + noSplit);
        }
        if (plan.parallelism().pipeline() == 1 && !pipeline.equals("1") && !pipeline.equals("off")
                && (!schedule.equals("auto") || !virtualStages.equals("auto"))) {
            // the schedule options shape pipelines; the search kept a plan of one stage, faster than theirs
            after.add("note: " + (schedule.equals("auto") ? "--virtual-stages " + virtualStages : "--schedule "
                    + schedule) + " applies to pipelines, and the fastest plan found has one stage; --pipeline-parallel"
                    + " 2 or more gives a plan with it");
        }
        String noBatch = given > 0 ? null : m.noBatchAxis();
        if (noBatch != null) {
            after.add("note: " + noBatch);
        }
        for (String x : m.imported().warnings()) {
            if (x.contains("opaque") || x.contains("unknown") || x.contains("read as parameters")
                    || x.startsWith("--dim ") && !(x.equals(PlanModel.UNUSED_BATCH) && !bindings.dims().containsKey("batch"))) {
                after.add("warning: " + x);
            }
        }
        if (out != null && !json) {
            after.add("wrote " + out);
        }
        PrintWriter notes = json ? spec.commandLine().getErr() : w;
        after.forEach(notes::println);
        notes.flush();
        w.flush();
        return 0;
    }

    /** The search options of the command line; a bad value is a one-line error naming the option. */
    SearchOptions searchOptions() throws ShardplanException {
        SearchOptions s = SearchOptions.AUTO;
        try {
            if (pipeline.equals("off")) {
                s = s.withPipeline(1);
            } else if (!pipeline.equals("auto")) {
                s = s.withPipeline(integer("--pipeline-parallel", pipeline, "auto, off or a number of stages"));
            }
            if (!tensor.equals("auto")) {
                s = s.withTensor(integer("--tensor-parallel", tensor, "auto or a number of devices"));
            }
            if (!data.equals("auto")) {
                s = s.withData(integer("--data-parallel", data, "auto or a number of replicas"));
            }
            if (!schedule.equals("auto")) {
                s = s.withSchedule(schedule);
            }
            for (String a : allow) {
                if (!a.equals("async")) {
                    throw new ShardplanException("--allow must be async, found '" + a + "'");
                }
                s = s.withAllowAsync(true);
            }
            if (!maxActiveKeys.equals("auto")) {
                s = s.withMaxActiveKeys(integer("--max-active-keys", maxActiveKeys, "auto or a number of micro-batches"));
            }
            if (!minUpdateFrequency.equals("auto")) {
                s = s.withMinUpdateFrequency(integer("--min-update-frequency", minUpdateFrequency,
                        "auto or a number of gradients"));
            }
            if (maxStaleness != null) {
                int bound;
                try {
                    bound = Integer.parseInt(maxStaleness.trim());
                } catch (NumberFormatException e) {
                    throw new ShardplanException("--max-staleness must be an integer >= 0, found '" + maxStaleness + "'");
                }
                if (bound < 0) {
                    throw new ShardplanException("--max-staleness must be an integer >= 0, found " + maxStaleness);
                }
                s = s.withMaxStaleness(bound);
            }
            if (!virtualStages.equals("auto")) {
                s = s.withVirtualStages(integer("--virtual-stages", virtualStages, "auto or a number"));
            }
            if (!microBatches.equals("auto")) {
                s = s.withMicroBatches(integer("--micro-batches", microBatches, "auto or a number dividing the batch"));
            }
            switch (recompute) {
                case "auto" -> { }
                case "on", "true" -> s = s.withRecompute(true);
                case "off", "false" -> s = s.withRecompute(false);
                default -> throw new ShardplanException("--recompute must be auto, on or off, found " + recompute);
            }
            s = s.withParareal(SearchOptions.Parareal.parse(parareal));
            if (!threads.equals("auto")) {
                s = s.withThreads(integer("--threads", threads, "auto or a number of threads"));
            }
            if (!zero.equals("auto")) {
                if (!zero.matches("[0-3]")) {
                    throw new ShardplanException("--zero must be auto, 0, 1, 2 or 3, found '" + zero + "'");
                }
                s = s.withZeroStage(Integer.parseInt(zero));
            }
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(e.getMessage(), e);
        }
        java.util.Optional<String> inconsistent = s.check();
        if (inconsistent.isPresent()) {
            throw new ShardplanException(inconsistent.get());
        }
        if (s.tensor().isPresent() && s.data().isPresent() && s.pipeline().isPresent()) {
            throw new ShardplanException("--tensor-parallel, --data-parallel and --pipeline-parallel fix every degree: leave"
                    + " one of them auto (the devices fix the third)");
        }
        return s;
    }

    private static int integer(String option, String v, String want) throws ShardplanException {
        try {
            int x = Integer.parseInt(v.trim());
            if (x < 1) {
                throw new ShardplanException(option + " must be " + want + " (>= 1), found " + v);
            }
            return x;
        } catch (NumberFormatException e) {
            throw new ShardplanException(option + " must be " + want + ", found '" + v + "'");
        }
    }

    /**
     * The model at another batch size, for micro-batches: imported again with its {@code batch}
     * dimension bound to the micro-batch's size. A model whose batch is not the symbolic {@code batch}
     * dimension (fixed shapes, {@code --input-shape}) cannot be bound again and is planned with one
     * micro-batch.
     */
    private ModelSource source(PlanModel m, long b) throws ShardplanException {
        // the batch binding must name a dimension of the model (itself or its alias): a model exported at a fixed
        // batch has none to bind again
        boolean rebindable = b > 0 && bindings.inputShapes().isEmpty() && m.bindings().containsKey("batch")
                && (m.batchDim() != null || !m.imported().warnings().contains(PlanModel.UNUSED_BATCH));
        if (!rebindable) {
            return ModelSource.fixed(m.imported().graph(), b);
        }
        String given = model;
        return micro -> {
            if (micro == b) {
                return m.imported().graph();
            }
            PlanModel x = m.rebound(given, micro, bindings);
            if (x.imported().graph().inputs().equals(m.imported().graph().inputs())) {
                throw new ShardplanException(m.display() + ": binding batch to " + micro + " changes no input shape, so"
                        + " the model cannot be split into micro-batches; give --micro-batches 1");
            }
            return x.imported().graph();
        };
    }

    static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
