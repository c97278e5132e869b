package org.shardplan.bench.accuracy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.profile.OptimizedGraph;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.cost.profile.QuietGate;
import org.shardplan.cost.profile.Timing;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.graph.Node;

/**
 * How well two measurements of the same node agree, per way of summarising its runs: every
 * {@code K}-th distinct operator signature of the accuracy benchmark's cases (held-out models
 * included, the graphs ONNX Runtime runs at the optimization level) is measured twice, in two
 * passes over all of them, by each statistic in turn ({@link Profiler#measureOnce}: a profile's
 * measurement of one node, rounds, differential timing of small nodes, re-measurement of
 * unsettled ones included), the statistics interleaved node by node so that they see the same
 * load. Reports, per statistic, the median and 90th percentile of |second − first| / first.
 *
 * <p>Usage: {@code java -cp ... org.shardplan.bench.accuracy.Repeatability [--every K]
 * [--statistics low,median,min] [--optimization LEVEL] [--out FILE]}, run from the repository
 * root. Running time: 2 × statistics × signatures/K one-node measurements (about 0.1 to 0.3 s
 * each).
 */
public final class Repeatability {
    private Repeatability() {}

    public static void main(String[] args) throws Exception {
        int every = 12;
        List<Timing.Statistic> stats = List.of(Timing.Statistic.MEDIAN, Timing.Statistic.LOW, Timing.Statistic.MIN);
        String optimization = "all";
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--every" -> every = Integer.parseInt(args[++i]);
                case "--optimization" -> optimization = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--statistics" -> {
                    List<Timing.Statistic> l = new ArrayList<>();
                    for (String s : args[++i].split(",")) {
                        l.add(Timing.Statistic.named(s).orElseThrow(() -> new IllegalArgumentException(
                                "--statistics takes low, median or min, found " + s)));
                    }
                    stats = l;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path root = Path.of(".").toAbsolutePath().normalize();
        List<String> skipped = new ArrayList<>();
        List<CostAccuracy.Case> cases = new ArrayList<>(CostAccuracy.cases(root, skipped, false));
        cases.addAll(CostAccuracy.heldOutCases(root, skipped, cases));
        // every K-th distinct signature, in the order the benchmark meets them
        Map<String, Node> nodes = new LinkedHashMap<>();
        Map<String, Map<String, Long>> opsets = new LinkedHashMap<>();
        Map<String, String> model = new LinkedHashMap<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        int k = 0;
        for (CostAccuracy.Case c : cases) {
            ImportOptions io = ImportOptions.DEFAULT.withInputShapes(c.shapes()).withDims(c.dims());
            Path file = c.file();
            if (!"none".equals(optimization)) {
                Path opt = root.resolve("benchmarks/target/optimized").resolve(
                        file.getFileName().toString().replaceFirst("\\.onnx$", "") + "." + optimization + ".onnx");
                if (!Files.isRegularFile(opt)) {
                    OptimizedGraph.write(file, optimization, 1, opt);
                }
                file = opt;
            }
            ImportedModel m = OnnxImporter.read(file, io);
            for (Node n : m.graph().nodes()) {
                if (n.outputs().stream().allMatch(v -> v.constant().isPresent())) {
                    continue;
                }
                String sig = OpSignature.of(n);
                if (!seen.add(sig) || k++ % every != 0) {
                    continue;
                }
                nodes.put(sig, n);
                opsets.put(sig, m.info().opsetImports());
                model.put(sig, c.model() + " " + c.variant());
            }
        }
        DeviceSpec cpu = DeviceProfiles.get(DeviceProfiles.CPU_LOCAL);
        List<Profiler> profilers = new ArrayList<>();
        for (Timing.Statistic s : stats) {
            profilers.add(new Profiler(cpu, new Profiler.Options(1, Timing.DEFAULT.withStatistic(s), optimization, false, 3,
                    0.1, false), QuietGate.off()));
        }
        String loadStart = load();
        long t0 = System.nanoTime();
        double[][][] t = new double[stats.size()][2][nodes.size()];
        List<String> sigs = new ArrayList<>(nodes.keySet());
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < sigs.size(); j++) {
                String sig = sigs.get(j);
                for (int s = 0; s < stats.size(); s++) {
                    OptionalDouble v = profilers.get(s).measureOnce(nodes.get(sig), opsets.get(sig));
                    t[s][pass][j] = v.isPresent() ? v.getAsDouble() : Double.NaN;
                }
                System.err.printf(Locale.ROOT, "pass %d: %d/%d %s%n", pass + 1, j + 1, sigs.size(), nodes.get(sig).opType());
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%d signatures (every %dth distinct signature of the benchmark's %d cases, level `%s`),"
                + " each measured twice by each statistic, in two passes %.1f minutes in all; 1-minute load average %s at the"
                + " start, %s at the end.%n%n", sigs.size(), every, cases.size(), optimization, minutes, loadStart, load()));
        b.append("| statistic | signatures | median of \\|second − first\\| / first | p90 | pairs off by more than 25% |\n");
        b.append("|---|---:|---:|---:|---:|\n");
        for (int s = 0; s < stats.size(); s++) {
            List<Double> rel = new ArrayList<>();
            for (int j = 0; j < sigs.size(); j++) {
                double a = t[s][0][j];
                double c = t[s][1][j];
                if (Double.isFinite(a) && Double.isFinite(c) && a > 0) {
                    rel.add(Math.abs(c - a) / a);
                }
            }
            double[] r = rel.stream().mapToDouble(Double::doubleValue).toArray();
            b.append(String.format(Locale.ROOT, "| %s | %d | %.1f%% | %.1f%% | %d |%n", stats.get(s).name().toLowerCase(Locale.ROOT),
                    r.length, 100 * Timing.quantile(r, 0.5), 100 * Timing.quantile(r, 0.9),
                    rel.stream().filter(x -> x > 0.25).count()));
        }
        StringBuilder tsv = new StringBuilder("signature\tmodel");
        for (Timing.Statistic s : stats) {
            tsv.append('\t').append(s.name().toLowerCase(Locale.ROOT)).append("1\t").append(s.name().toLowerCase(Locale.ROOT)).append('2');
        }
        tsv.append('\n');
        for (int j = 0; j < sigs.size(); j++) {
            tsv.append(sigs.get(j)).append('\t').append(model.get(sigs.get(j)));
            for (int s = 0; s < stats.size(); s++) {
                tsv.append('\t').append(t[s][0][j]).append('\t').append(t[s][1][j]);
            }
            tsv.append('\n');
        }
        System.out.print(b);
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, b.toString());
            Files.writeString(Path.of(out + ".tsv"), tsv.toString());
        }
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
