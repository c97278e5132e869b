package org.shardplan.bench.parareal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.shardplan.bench.zoo.ZooGraphs;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;
import org.shardplan.planner.parareal.Chains;

/**
 * The predicted step of the fastest parareal network (Lee, Park and Lee, arXiv:2103.08802) against the
 * plans that keep the model, all priced by the same cost model: the per-layer plan (one stage) and the
 * best exact plan (pipeline stages, micro-batches, recomputation and ZeRO searched), on 4, 8 and 16
 * A100-40GB devices. Writes benchmarks/results/parareal.md ({@code --only NAME}: prints the rows of
 * the models whose name contains NAME, writes nothing).
 *
 * <pre>
 * mvn -B -q -o -pl benchmarks -am package -Dmaven.test.skip=true
 * java -Xmx8g -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*" org.shardplan.bench.parareal.PararealBenchmark
 * </pre>
 */
public final class PararealBenchmark {
    private PararealBenchmark() {
    }

    record Model(String name, String source, ModelSource graphs, long batch) {
    }

    record Row(String model, long batch, int devices, String chains, double perLayer, double exact, String exactConfig,
            Optional<Plan.Parareal> parareal, Optional<Plan.Parareal> oneChain) {
    }

    static ModelSource onnx(Path file, String batchDim, Map<String, Long> other) {
        return b -> {
            Map<String, Long> dims = new java.util.LinkedHashMap<>(other);
            dims.put(batchDim, b);
            return OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims)).graph();
        };
    }

    public static void main(String[] args) throws Exception {
        String only = args.length == 2 && args[0].equals("--only") ? args[1] : null;
        Path models = Path.of("build-data/models");
        List<Model> ms = new ArrayList<>();
        ms.add(new Model("ResNet-50", "build-data/models/resnet50.onnx (torchvision)",
                onnx(models.resolve("resnet50.onnx"), "batch", Map.of()), 64));
        ms.add(new Model("ResNet-110 (CIFAR)", "built in code (He et al. 2016, Section 4.2)", CnnGraphs::resnet110, 128));
        ms.add(new Model("ResNet-1001 (CIFAR)", "built in code (He, Zhang, Ren and Sun, Identity Mappings in Deep"
                + " Residual Networks, ECCV 2016: pre-activation bottleneck, n = 111)", CnnGraphs::resnet1001, 128));
        ms.add(new Model("VGG-11", "build-data/models/vgg11.onnx (torchvision)",
                onnx(models.resolve("vgg11.onnx"), "batch", Map.of()), 64));
        ms.add(new Model("VGG-16", "built in code (Simonyan and Zisserman 2015, Table 1, D)", CnnGraphs::vgg16, 64));
        ms.add(new Model("MiniLM-L6 (seq 128)", "build-data/models/all-minilm-l6-v2.onnx",
                onnx(models.resolve("all-minilm-l6-v2.onnx"), "batch_size", Map.of("sequence_length", 128L)), 64));
        ms.add(new Model("BERT-large (seq 512)", "built in code (ZooGraphs.bertLarge, float16)", ZooGraphs::bertLarge, 32));
        List<Row> rows = new ArrayList<>();
        double load0 = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        for (Model m : ms) {
            if (only != null && !m.name().toLowerCase(Locale.ROOT).contains(only.toLowerCase(Locale.ROOT))) {
                continue;
            }
            Graph g = m.graphs().at(m.batch());
            List<Integer> lengths = Chains.find(Coarsening.coarsen(g)).stream().map(c -> c.length()).toList();
            String chains = lengths.isEmpty() ? "none" : lengths.toString();
            for (int d : new int[] {4, 8, 16}) {
                Row r = row(m, g, d, chains);
                rows.add(r);
                System.out.println(format(r));
            }
        }
        double load1 = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        if (only == null) {
            write(rows, ms, load0, load1);
        }
    }

    static Row row(Model m, Graph g, int devices, String chains) throws ShardplanException {
        Cluster cl = Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), devices);
        Planner base = Planner.forCluster(cl).withBatch(m.batch()).withTimeLimit(60);
        Plan perLayer = base.withSearch(SearchOptions.AUTO.withPipeline(1).withMicroBatches(1)).plan(g);
        Planner all = base.withSearch(SearchOptions.AUTO);
        Plan exact = all.plan(m.graphs());
        if (perLayer.totals().stepSeconds() < exact.totals().stepSeconds()) {
            exact = perLayer;
        }
        Optional<Plan.Parareal> p = chains.equals("none") ? Optional.empty()
                : all.parareal(m.graphs(), exact, OptionalInt.empty());
        Optional<Plan.Parareal> one = chains.equals("none") ? Optional.empty()
                : all.parareal(m.graphs(), exact, OptionalInt.empty(), false);
        String config = exact.parallelism().pipeline() + " stage" + (exact.parallelism().pipeline() == 1 ? "" : "s") + ", "
                + exact.parallelism().microBatches() + " micro-batch" + (exact.parallelism().microBatches() == 1 ? "" : "es")
                + (exact.pipelined() ? " (" + exact.schedule().name() + ")" : "");
        return new Row(m.name(), m.batch(), devices, chains, perLayer.totals().stepSeconds(), exact.totals().stepSeconds(),
                config, p, one);
    }

    static String format(Row r) {
        String par;
        if (r.parareal().isEmpty()) {
            par = "| - | - | - | - | - | -";
        } else {
            Plan.Parareal p = r.parareal().get();
            List<String> chains = new ArrayList<>();
            List<String> groups = new ArrayList<>();
            for (Plan.PararealChain c : p.chains()) {
                chains.add(String.format(Locale.ROOT, "%s .. %s (%d blocks)", c.first(), c.last(), c.chainBlocks()));
                groups.add(c.segments() + " x " + c.devicesPerSegment() + " devices");
            }
            par = String.format(Locale.ROOT, "| %s | %s | %.2f | %.2f (%.2f fine, %.2f coarse, %.2f"
                    + " moves, %.2f rest) | %.2fx", String.join("; ", chains), String.join("; ", groups),
                    p.memoryBytesPerDevice() / (1L << 30), 1e3 * p.stepSeconds(), 1e3 * p.slowestSegmentsSeconds(),
                    1e3 * p.coarseSeconds(), 1e3 * p.transferSeconds(), 1e3 * p.outsideSeconds(), p.speedup())
                    + r.oneChain().map(o -> String.format(Locale.ROOT, " | %.2fx", o.speedup())).orElse(" | -");
        }
        return String.format(Locale.ROOT, "| %s | %d | %d | %s | %.2f | %.2f | %s ", r.model(), r.batch(), r.devices(),
                r.chains(), 1e3 * r.perLayer(), 1e3 * r.exact(), r.exactConfig()) + par + " |";
    }

    static void write(List<Row> rows, List<Model> ms, double load0, double load1) throws IOException {
        StringBuilder b = new StringBuilder("# Parareal networks against plans that keep the model\n\n");
        b.append("Written by `org.shardplan.bench.parareal.PararealBenchmark` on ")
                .append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(".\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %s %s, %d cores visible to the JVM, Java %s; system load average %.1f"
                + " at the start and %.1f at the end (the figures are predictions, not timings: the load does not change"
                + " them).%n%n", System.getProperty("os.name"), System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), load0, load1));
        b.append("Command: `mvn -B -q -o -pl benchmarks -am package -Dmaven.test.skip=true && java -Xmx8g -cp "
                + "\"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.parareal.PararealBenchmark`\n\n");
        b.append("Cluster: A100-40GB spec sheet, 8 per node on NVLink, InfiniBand between nodes; analytic roofline compute"
                + " model; Adam in mixed precision. Every step is a prediction of shardplan's cost model (docs/parareal.md"
                + " for the parareal step). *Per-layer*: one stage, the exact per-layer search. *Best exact*: the search"
                + " over pipeline stages, micro-batches, recomputation and ZeRO as well (`--pipeline-parallel auto`), the"
                + " faster of the two. *Parareal*: the fastest network over the shape-keeping chains (one or several"
                + " torn) and every N dividing the devices, coarse network one block of the chain's class per segment;"
                + " its speed-up is over the best exact plan (above 1: `--parareal auto` proposes it).\n\n");
        b.append("Models: ");
        List<String> src = new ArrayList<>();
        for (Model m : ms) {
            src.add(m.name() + " — " + m.source());
        }
        b.append(String.join("; ", src)).append(".\n\n");
        b.append("| model | batch | devices | chains (blocks) | per-layer ms | best exact ms | best exact configuration"
                + " | parareal chains | segments x devices | parareal GiB | parareal ms (slowest segment, coarse, moves,"
                + " rest) | speed-up | one chain at most: speed-up |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append(format(r)).append('\n');
        }
        b.append("\nReading the table. A segment of L/N blocks on D/N devices does the chain's work per device that"
                + " the plans that keep the model do with all D devices on all L blocks, and the coarse network adds"
                + " 2N - 1 blocks on D devices; the nodes outside the torn chains are unchanged (*rest*). So the"
                + " network can only win where the plan that keeps the model loses time to something other than"
                + " compute: gradient reductions over many devices, resharding, or a pipeline's bubble. Where it does,"
                + " `--parareal auto` proposes it (speed-up above 1); elsewhere the plan says by how much it lost. The"
                + " search tears every chain whose parareal part beats its nodes as they were (each with its own N;"
                + " when none does, the one that loses least is shown): *fine* is the slowest segment of each torn"
                + " chain, added over the chains, *coarse* and *moves* are added over the chains too; the last column"
                + " is the fastest network of one chain, as the search was before it could tear several. N = 2 wins"
                + " wherever a coarse evaluation costs more than the work it takes off a segment.\n");
        Path out = Path.of("benchmarks/results/parareal.md");
        // the training evidence below the table is written by dev/parareal-training.sh's runs, kept as it is
        String kept = "";
        if (Files.exists(out)) {
            String old = Files.readString(out);
            int at = old.indexOf("\n## Training");
            if (at >= 0) {
                kept = old.substring(at);
            }
        }
        b.append(kept);
        Files.writeString(out, b.toString());
        System.out.println("wrote " + out);
    }
}
