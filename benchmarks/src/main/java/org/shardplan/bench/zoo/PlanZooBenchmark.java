package org.shardplan.bench.zoo;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanInfeasibleException;
import org.shardplan.planner.Planner;

/**
 * Plans a model zoo at 8, 16, 32 and 64 devices (and GPT-3 at 1,024) and writes
 * {@code benchmarks/results/plan-zoo.md}: per model and device count the search time (coarsening,
 * building the problem, baselines and solving, in one warm JVM), the solver's status, and the predicted
 * step time and memory per device of the plan, of data parallelism and of the expert plan, all under
 * the same cost model (A100-40GB spec sheet, analytic roofline, 8 GPUs per node on NVLink, InfiniBand
 * between nodes). A model that does not fit is planned again with activation recomputation and ZeRO
 * stage 1, and the row says so.
 *
 * <p>Usage, from the repository root after {@code mvn -pl benchmarks -am package -DskipTests}:
 * {@code java -Xmx10g -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.zoo.PlanZooBenchmark [--quick] [--no-gpt3] [--only NAME]}
 * ({@code --quick}: 8 and 64 devices only; {@code --only}: the models whose name contains NAME, printed,
 * no file written). These plans are of one stage and one micro-batch (the planner's default); {@code
 * --pipelines [--time-limit S]} plans instead the transformers with and without pipelines, per
 * schedule, at 8-1,024 devices ({@link PipelineZoo}). The ONNX models are those of
 * {@code dev/setup-test-data} under {@code build-data/models}; missing ones are skipped and listed.
 */
public final class PlanZooBenchmark {
    private PlanZooBenchmark() {
    }

    record Model(String name, String source, Supplier<Graph> graph, long batch) {
    }

    record Row(String model, int graphNodes, int coarseNodes, int devices, String device, double seconds, String status,
            String options, double plan, double dp, boolean dpFits, String expert, double ex, boolean exFits,
            double memory, String note) {
    }

    static Graph onnx(Path file, Map<String, Long> dims, Map<String, List<Long>> shapes) {
        try {
            return OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims).withInputShapes(shapes)).graph();
        } catch (Exception e) {
            throw new IllegalStateException(file + ": " + e.getMessage(), e);
        }
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        boolean gpt3 = true;
        String only = null;
        boolean write = true;
        boolean pipelines = false;
        double timeLimit = 30;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--pipelines" -> pipelines = true;
                case "--time-limit" -> timeLimit = Double.parseDouble(args[++i]);
                case "--quick" -> quick = true;
                case "--no-gpt3" -> gpt3 = false;
                case "--only" -> {
                    only = args[++i];
                    write = false;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (pipelines) {
            PipelineZoo.run(timeLimit, only);
            return;
        }
        Path models = Path.of("build-data/models");
        List<Model> zoo = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        Object[][] onnx = {
            {"AlexNet", "alexnet.onnx", 128L, Map.of("batch", 128L), Map.of()},
            {"VGG-11", "vgg11.onnx", 128L, Map.of("batch", 128L), Map.of()},
            {"ResNet-50", "resnet50.onnx", 128L, Map.of("batch", 128L), Map.of()},
            {"Inception-v3", "inception_v3.onnx", 128L, Map.of("batch", 128L), Map.of()},
            {"Transformer (torch.nn, seq 32)", "transformer_seq2seq.onnx", 64L,
                Map.of("batch", 64L, "src_seq", 32L, "tgt_seq", 32L), Map.of()},
            {"MiniLM-L6 (seq 128)", "all-minilm-l6-v2.onnx", 64L, Map.of(),
                Map.of("input_ids", List.of(64L, 128L), "attention_mask", List.of(64L, 128L),
                        "token_type_ids", List.of(64L, 128L))},
            {"LSTM LM (seq 35)", "lstm_lm.onnx", 64L, Map.of("batch", 64L, "seq", 35L), Map.of()},
        };
        for (Object[] o : onnx) {
            Path f = models.resolve((String) o[1]);
            if (!Files.exists(f)) {
                missing.add(f.toString());
                continue;
            }
            @SuppressWarnings("unchecked")
            Map<String, Long> dims = (Map<String, Long>) o[3];
            @SuppressWarnings("unchecked")
            Map<String, List<Long>> shapes = (Map<String, List<Long>>) o[4];
            zoo.add(new Model((String) o[0], "ONNX " + o[1], () -> onnx(f, dims, shapes), (Long) o[2]));
        }
        zoo.add(new Model("BERT-large (seq 512)", "built in code", () -> ZooGraphs.bertLarge(32), 32));
        zoo.add(new Model("GPT small (12 x 768)", "built in code", () -> ZooGraphs.gpt("gpt-small", 12, 768, 12, 32), 32));
        zoo.add(new Model("GPT medium (24 x 1024)", "built in code", () -> ZooGraphs.gpt("gpt-medium", 24, 1024, 16, 32), 32));
        zoo.add(new Model("GPT XL (48 x 1600)", "built in code", () -> ZooGraphs.gpt("gpt-xl", 48, 1600, 25, 32), 32));
        int[] devices = quick ? new int[] {8, 64} : new int[] {8, 16, 32, 64};
        double load0 = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        // warm the JIT once (not recorded)
        plan(zoo.get(0), zoo.get(0).graph().get(), 8, "a100-40gb", false);
        List<Row> rows = new ArrayList<>();
        for (Model m : zoo) {
            if (only != null && !m.name().contains(only)) {
                continue;
            }
            Graph g = m.graph().get();
            for (int d : devices) {
                Row r = plan(m, g, d, "a100-40gb", false);
                rows.add(r);
                System.out.println(format(r));
            }
        }
        if (gpt3 && (only == null || "GPT-3".contains(only))) {
            Model m = new Model("GPT-3 175B (96 x 12288, batch 1536)", "built in code",
                    () -> ZooGraphs.gpt("gpt3", 96, 12288, 96, 1536), 1536);
            Row r = plan(m, m.graph().get(), 1024, "a100-80gb", true);
            rows.add(r);
            System.out.println(format(r));
        }
        double load1 = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        if (write) {
            write(rows, missing, load0, load1, String.join(" ", args));
        }
    }

    static Row plan(Model m, Graph g, int devices, String device, boolean memoryOptions) {
        int coarse = Coarsening.coarsen(g).nodes().size();
        try {
            Cluster c = Cluster.homogeneous(DeviceProfiles.get(device), devices);
            Planner p = Planner.forCluster(c).withBatch(m.batch()).withTimeLimit(120);
            String opts = "-";
            if (memoryOptions) {
                p = p.withRecompute(true).withZeroStage(1);
                opts = "recompute, ZeRO 1";
            }
            Plan plan;
            try {
                plan = p.plan(g);
            } catch (PlanInfeasibleException e) {
                if (memoryOptions) {
                    throw e;
                }
                return plan(m, g, devices, device, true);
            }
            Plan.Baseline dp = plan.baselines().get("dataParallel");
            Plan.Baseline ex = plan.baselines().get("expert");
            return new Row(m.name(), g.nodes().size(), coarse, devices, device, plan.solver().seconds(),
                    plan.solver().status() + " (" + plan.solver().name() + ")", opts, plan.totals().stepSeconds(),
                    dp.stepSeconds(), dp.fits(), ex == null ? "-" : ex.name(), ex == null ? Double.NaN : ex.stepSeconds(),
                    ex != null && ex.fits(), plan.totals().peakMemoryBytesPerDevice(), "");
        } catch (Exception e) {
            return new Row(m.name(), g.nodes().size(), coarse, devices, device, Double.NaN, "no plan", "", Double.NaN,
                    Double.NaN, false, "-", Double.NaN, false, Double.NaN, e.getMessage());
        }
    }

    static String ms(double s) {
        return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.2f", s * 1e3);
    }

    static String format(Row r) {
        return String.format(Locale.ROOT, "| %s | %d / %d | %d | %s | %s | %s | %s | %s%s | %s %s%s | %.2f | %s |",
                r.model(), r.graphNodes(), r.coarseNodes(), r.devices(),
                Double.isNaN(r.seconds()) ? "-" : String.format(Locale.ROOT, "%.2f", r.seconds()), r.status(), r.options(),
                ms(r.plan()), ms(r.dp()), r.dpFits() || Double.isNaN(r.dp()) ? "" : " (no fit)", r.expert(), ms(r.ex()),
                r.exFits() || Double.isNaN(r.ex()) ? "" : " (no fit)", r.memory() / (1L << 30),
                r.note().isEmpty() ? (Double.isNaN(r.dp()) ? "" : String.format(Locale.ROOT, "%.2fx", r.dp() / r.plan()))
                        : r.note());
    }

    static void write(List<Row> rows, List<String> missing, double load0, double load1, String args) throws IOException {
        StringBuilder b = new StringBuilder("# Planner on a model zoo\n\n");
        b.append("Written by `org.shardplan.bench.zoo.PlanZooBenchmark` (command below) on ")
                .append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(".\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %s %s, %d cores visible to the JVM, Java %s; system load average %.1f at"
                + " the start and %.1f at the end (other engineers' builds ran on the same 2 cores, so search times"
                + " are upper bounds of what an idle machine gives).%n%n", System.getProperty("os.name"),
                System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                load0, load1));
        b.append("Command: `mvn -B -q -o -pl benchmarks -am package -Dmaven.test.skip=true && java -Xmx10g -cp "
                + "\"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.zoo.PlanZooBenchmark").append(args.isEmpty() ? "" : " " + args).append("`\n\n");
        b.append("Cluster: A100-40GB spec sheet (GPT-3: A100-80GB), 8 per node on NVLink (300 GB/s), InfiniBand (25 GB/s"
                + " per device) between nodes; compute model: analytic roofline (no calibration); Adam in mixed precision. The ONNX models are float32 (priced at"
                + " the A100's float32 rate); the transformers built in code are float16 (tensor-core rate)."
                + " Step times are predictions of shardplan's cost model (forward, backward and communication added without"
                + " overlap), the same model for the plan and the baselines. Search = coarsening + building the problem +"
                + " baselines + solving, one run each in a warm JVM. Memory is per device for the plan.\n\n");
        b.append("| model | graph / coarse nodes | devices | search s | status (solver) | memory options | plan ms"
                + " | data parallel ms | expert ms | plan GiB | plan vs data parallel |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append(format(r)).append('\n');
        }
        if (!missing.isEmpty()) {
            b.append("\nMissing models (not run): ").append(String.join(", ", missing)).append('\n');
        }
        Path out = Path.of("benchmarks/results/plan-zoo.md");
        Files.writeString(out, b.toString());
        System.out.println("wrote " + out);
    }
}
