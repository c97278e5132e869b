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
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/**
 * The plan zoo with and without pipelines, per schedule: transformer models at 8, 64 and 1,024 devices
 * (global batch 4 per device, at least 32), each planned
 * <ul>
 * <li>without pipelines (one stage; micro-batches, recomputation and ZeRO stage searched),</li>
 * <li>free (pipeline degree, micro-batches, schedule, recomputation and ZeRO searched), and</li>
 * <li>for each synchronous schedule (GPipe, 1F1B, interleaved 1F1B, zero-bubble ZB-H1) at 4 pipeline
 *     stages, with the micro-batches, recomputation and ZeRO stage searched.</li>
 * </ul>
 * Writes {@code benchmarks/results/plan-zoo-pipelines.md}. Usage from the repository root after
 * {@code mvn -pl benchmarks -am package -Dmaven.test.skip=true}: {@code java -Xmx10g
 * -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.zoo.PlanZooBenchmark --pipelines [--time-limit S] [--only NAME]} ({@code --only}:
 * printed, no file written).
 */
final class PipelineZoo {
    private PipelineZoo() {
    }

    /** A model that can be bound at any batch. */
    record Model(String name, String device, ModelSource source, int[] devices) {
    }

    static final List<String> SCHEDULES = List.of("gpipe", "1f1b", "interleaved", "zero-bubble");

    /** The pipeline degree of the per-schedule columns (it divides every device count of the zoo). */
    static final int STAGES = 4;

    static List<Model> models() {
        int[] sizes = {8, 64, 1024};
        return List.of(
                new Model("BERT-large (seq 512)", "a100-40gb", ZooGraphs::bertLarge, sizes),
                new Model("GPT medium (24 x 1024)", "a100-40gb", b -> ZooGraphs.gpt("gpt-medium", 24, 1024, 16, b), sizes),
                new Model("GPT XL (48 x 1600)", "a100-40gb", b -> ZooGraphs.gpt("gpt-xl", 48, 1600, 25, b), sizes),
                new Model("builtin:llama2-7b", "a100-80gb", builtin("llama2-7b"), sizes),
                new Model("builtin:gpt3-175b", "a100-80gb", builtin("gpt3-175b"), new int[] {1024}));
    }

    static ModelSource builtin(String name) {
        return b -> BuiltinModels.read(name, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
    }

    static void run(double timeLimit, String only) throws Exception {
        double load0 = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        long start = System.nanoTime();
        List<String> lines = new ArrayList<>();
        for (Model m : models()) {
            if (only != null && !m.name().contains(only)) {
                continue;
            }
            for (int d : m.devices()) {
                long batch = Math.max(32, 4L * d);
                Planner base = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get(m.device()), d)).withBatch(batch)
                        .withTimeLimit(timeLimit);
                List<String> cells = new ArrayList<>();
                cells.add(plan(base, SearchOptions.AUTO.withPipeline(1), m.source()));
                cells.add(plan(base, SearchOptions.AUTO, m.source()));
                for (String s : SCHEDULES) {
                    cells.add(plan(base, SearchOptions.AUTO.withPipeline(STAGES).withSchedule(s), m.source()));
                }
                String line = String.format(Locale.ROOT, "| %s | %d | %d | %s |", m.name(), d, batch, String.join(" | ", cells));
                System.out.println(line);
                lines.add(line);
            }
        }
        double load1 = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        if (only == null) {
            write(lines, timeLimit, load0, load1, (System.nanoTime() - start) / 1e9);
        }
    }

    /** One cell: step, degrees, micro-batches, schedule, memory options and search time; or why there is none. */
    static String plan(Planner base, SearchOptions so, ModelSource src) {
        long t0 = System.nanoTime();
        try {
            Plan p = base.withSearch(so).plan(src);
            Plan.Parallelism x = p.parallelism();
            return String.format(Locale.ROOT, "%.3f s: %dx%dx%d, m %d, %s%s%s%s; %.0f s", p.totals().stepSeconds(), x.data(),
                    x.tensor(), x.pipeline(), x.microBatches(), p.schedule().name(),
                    p.schedule().virtualStages() > 1 ? " v" + p.schedule().virtualStages() : "",
                    p.options().recompute() ? ", recompute" : "", ", ZeRO " + p.options().zeroStage(),
                    (System.nanoTime() - t0) / 1e9);
        } catch (ShardplanException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            return "no plan: " + (msg.length() > 80 ? msg.substring(0, 80) + "..." : msg).replace('|', '/');
        }
    }

    static void write(List<String> lines, double timeLimit, double load0, double load1, double seconds) throws IOException {
        StringBuilder b = new StringBuilder("# Plan zoo with and without pipelines, per schedule\n\n");
        b.append("Written by `org.shardplan.bench.zoo.PlanZooBenchmark --pipelines` on ")
                .append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(String.format(Locale.ROOT,
                        " in %.0f s; time limit %.0f s per plan.%n%n", seconds, timeLimit));
        b.append(String.format(Locale.ROOT, "Machine: %s %s, %d cores visible to the JVM, Java %s; system load average %.1f at"
                + " the start and %.1f at the end (other builds ran on the same cores: search times are upper bounds).%n%n",
                System.getProperty("os.name"), System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), load0, load1));
        b.append("Command: `mvn -B -q -o -pl benchmarks -am package -Dmaven.test.skip=true && java -Xmx10g"
                + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp \"benchmarks/target/shardplan-benchmarks.jar:"
                + "benchmarks/target/lib/*\" org.shardplan.bench.zoo.PlanZooBenchmark --pipelines")
                .append(String.format(Locale.ROOT, " --time-limit %.0f`%n%n", timeLimit));
        b.append("Clusters: 8 GPUs per node (NVLink inside, InfiniBand between), A100-40GB for BERT-large and the GPT models"
                + " built in code (float16), A100-80GB for the built-in Llama 2 7B and GPT-3 175B; global batch 4 samples per"
                + " device (at least 32). Each cell is a plan: predicted step, DP x TP x PP, micro-batches, schedule (v:"
                + " virtual stages), recomputation, ZeRO stage, and the search's wall time. \"no pipelines\": one stage,"
                + " micro-batches, recomputation and ZeRO searched; \"free\": the pipeline degree and the schedule searched"
                + " too; one column per schedule: that schedule on 4 pipeline stages, the micro-batches, recomputation"
                + " and ZeRO searched.\n\n");
        b.append("| model | devices | batch | no pipelines | free | gpipe, PP 4 | 1f1b, PP 4 | interleaved, PP 4 | zero-bubble, PP 4"
                + " |\n");
        b.append("|---|---|---|---|---|---|---|---|---|\n");
        lines.forEach(l -> b.append(l).append('\n'));
        Path out = Path.of("benchmarks/results/plan-zoo-pipelines.md");
        Files.writeString(out, b.toString());
        System.out.println("wrote " + out);
    }
}
