package org.shardplan.bench.megatron;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
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
 * Plans the GPT rows of Megatron-LM's Table 1 (Narayanan et al., "Efficient Large-Scale Language Model
 * Training on GPU Clusters Using Megatron-LM", SC'21: A100-80GB, 312 TFLOP/s peak, sequence 2048,
 * vocabulary 51200, 8 GPUs per node on NVLink/NVSwitch, 8 x 200 Gb/s InfiniBand per node) and writes the
 * table of a full run to {@code benchmarks/target/megatron-table.md} ({@code --out FILE}: there; each row is printed
 * as it is planned; {@code benchmarks/results/megatron.md} is the record of many runs, added to by hand): per row the free plan (degrees, micro-batches, schedule, search
 * time, predicted step and TFLOP/s per GPU), the plan held to Megatron's tensor- and pipeline-parallel
 * degrees (recomputation on, as Megatron ran), and the measured step implied by the paper's TFLOP/s per
 * GPU and its FLOP count per step F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) (the paper's equation 3).
 *
 * <p>Usage, from the repository root after {@code mvn -pl benchmarks -am package -DskipTests}:
 * {@code java -Xmx12g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp
 * "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.megatron.MegatronBenchmark [--only NAME] [--time-limit S] [--out FILE]} (the JVM options of the
 * {@code shardplan plan} launcher). Each search's wall time and the process's CPU time during it are
 * given: on a shared machine the wall time says little.
 */
public final class MegatronBenchmark {
    private MegatronBenchmark() {
    }

    /**
     * A row of the paper's Table 1.
     *
     * @param model the built-in preset
     * @param layers l
     * @param hidden h
     * @param tensor Megatron's tensor-parallel degree
     * @param pipeline Megatron's pipeline-parallel degree
     * @param gpus GPUs
     * @param batch global batch B
     * @param tflops measured TFLOP/s per GPU
     */
    public record Row(String model, int layers, long hidden, int tensor, int pipeline, int gpus, long batch, double tflops) {
        /** FLOPs per step, the paper's equation (3), s = 2048, V = 51200. */
        public double flops() {
            double s = 2048;
            double v = 51200;
            double h = hidden;
            return 96.0 * batch * s * layers * h * h * (1 + s / (6 * h) + v / (16 * layers * h));
        }
    }

    /** Table 1 of Narayanan et al. (SC'21), the rows the benchmark plans. */
    public static final List<Row> ROWS = List.of(
            new Row("gpt-1.7b", 24, 2304, 1, 1, 32, 512, 137),
            new Row("gpt-7.5b", 36, 4096, 4, 1, 128, 512, 142),
            new Row("gpt-39.1b", 48, 8192, 8, 2, 512, 1536, 138),
            new Row("gpt-145.6b", 80, 12288, 8, 8, 1536, 2304, 148),
            new Row("gpt-1t", 128, 25600, 8, 64, 3072, 3072, 163));

    public static void main(String[] args) throws Exception {
        String only = null;
        double timeLimit = 600;
        // the table of a full run; benchmarks/results/megatron.md is the record of many runs, kept by hand
        Path out = Path.of("benchmarks/target/megatron-table.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = args[++i];
                case "--time-limit" -> timeLimit = Double.parseDouble(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; usage: MegatronBenchmark [--only NAME] [--time-limit S] [--out FILE]");
            }
        }
        List<String> lines = new ArrayList<>();
        for (Row r : ROWS) {
            if (only != null && !r.model().contains(only)) {
                continue;
            }
            Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), r.gpus());
            ModelSource src = b -> BuiltinModels.read(r.model(), ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
            Planner base = Planner.forCluster(c).withBatch(r.batch()).withTimeLimit(timeLimit)
                    .withModel("builtin:" + r.model(), "");
            long t0 = System.nanoTime();
            long c0 = cpuNanos();
            String free;
            double freeStep = Double.NaN;
            try {
                Plan p = base.withSearch(SearchOptions.AUTO).plan(src);
                freeStep = p.totals().stepSeconds();
                free = describe(p, r, (System.nanoTime() - t0) / 1e9, (cpuNanos() - c0) / 1e9);
            } catch (ShardplanException e) {
                free = "no plan: " + e.getMessage().replace('|', '/') + " | | | |";
            }
            t0 = System.nanoTime();
            c0 = cpuNanos();
            String held;
            double heldStep = Double.NaN;
            try {
                Plan p = base.withSearch(SearchOptions.AUTO.withTensor(r.tensor()).withPipeline(r.pipeline())
                        .withRecompute(true)).plan(src);
                heldStep = p.totals().stepSeconds();
                held = describe(p, r, (System.nanoTime() - t0) / 1e9, (cpuNanos() - c0) / 1e9);
            } catch (ShardplanException e) {
                held = "no plan: " + e.getMessage().replace('|', '/') + " | | | |";
            }
            double measured = r.flops() / (r.gpus() * r.tflops() * 1e12);
            String line = String.format(Locale.ROOT, "| %s | %d x %d x %d, B %d | %.2f s (%.0f TFLOP/s) | %s | %s | %s |",
                    r.model(), r.gpus() / (r.tensor() * r.pipeline()), r.tensor(), r.pipeline(), r.batch(), measured,
                    r.tflops(), free, held, Double.isNaN(freeStep) || Double.isNaN(heldStep) ? "-"
                            : String.format(Locale.ROOT, "%.3f", freeStep / heldStep));
            System.out.println(line);
            lines.add(line);
        }
        if (only == null) {
            write(lines, timeLimit, out);
        }
    }

    /**
     * CPU time of this process (every thread: the search's, the compiler's and the collector's), in
     * nanoseconds: on a machine shared with other work the wall time of a search says little.
     */
    static long cpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }

    static String describe(Plan p, Row r, double seconds, double cpu) {
        Plan.Parallelism x = p.parallelism();
        double tf = r.flops() / (p.totals().stepSeconds() * r.gpus()) / 1e12;
        // the step and bound to the last digit, on stderr: the table rounds them, a change to the search must keep them
        System.err.printf(Locale.ROOT, "%s plan: step %.6f s, %s, bound %.6f s (%s), %d configurations priced%n", r.model(),
                p.totals().stepSeconds(), p.solver().status(), p.solver().lowerBound(), p.solver().boundScope(),
                p.solver().configurations());
        return String.format(Locale.ROOT, "DP %d x TP %d x PP %d, m %d (mb %d), %s%s, recompute %s, ZeRO %d | %.2f s |"
                + " %.0f | %s, %.1f s (CPU %.1f s)", x.data(), x.tensor(), x.pipeline(), x.microBatches(), x.microBatchSize(),
                p.schedule().name(), p.schedule().virtualStages() > 1 ? " v" + p.schedule().virtualStages() : "",
                p.options().recompute() ? "on" : "off", p.options().zeroStage(), p.totals().stepSeconds(), tf,
                p.solver().status(), seconds, cpu);
    }

    static void write(List<String> lines, double timeLimit, Path out) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Megatron-LM's GPT runs planned by shardplan\n\n");
        b.append("Rows of Table 1 of Narayanan et al., \"Efficient Large-Scale Language Model Training on GPU Clusters\n"
                + "Using Megatron-LM\" (SC'21): A100-80GB (312 TFLOP/s), sequence 2048, vocabulary 51200. The measured\n"
                + "step is the paper's FLOPs per step (equation 3) over its GPUs times its measured TFLOP/s per GPU.\n"
                + "shardplan prices every plan with the a100-80gb device profile (datasheet peaks with the kernel\n"
                + "model fitted to published microbenchmarks, see gpu-fidelity.md), 8 GPUs per node.\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %d cores; date %s; time limit %.0f s; command: `java -Xmx12g"
                + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp"
                + " \"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\""
                + " org.shardplan.bench.megatron.MegatronBenchmark`.%n%n", Runtime.getRuntime().availableProcessors(),
                LocalDate.now(), timeLimit));
        b.append("| model | Megatron DP x TP x PP, batch | measured step | shardplan free plan | predicted step | TFLOP/s per GPU |"
                + " search | held to Megatron's TP, PP | predicted step | TFLOP/s per GPU | search | free / held |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String l : lines) {
            b.append(l).append('\n');
        }
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        Files.writeString(out, b.toString());
        System.out.println("wrote " + out);
    }
}
