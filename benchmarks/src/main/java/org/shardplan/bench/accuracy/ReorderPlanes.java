package org.shardplan.bench.accuracy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.cost.profile.Timing;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.ValueEntry;

/**
 * A microbenchmark of the reorderings into ONNX Runtime's blocked channel layout
 * ({@code com.microsoft.nchwc:ReorderInput}, NCHW to NCHWc16) over channel planes whose size is or
 * is not a multiple of 4 KiB. MLAS's reordering reads a few floats from each of a block's 16 channel
 * planes in turn; planes a multiple of 4 KiB apart put those reads in one set of the first-level
 * cache (64 sets of 64-byte lines span 4 KiB), which holds 8 lines, so that each line would be read
 * again from the second level for every vector taken from it. Each plane side S is measured beside
 * S − 4 and S + 4 (planes of 4 KiB multiples only at S), at several channel counts, in alternating
 * rounds, each node the way a profile times it ({@link Profiler#measureOnce}); reported: the median
 * over rounds, the rate over the bytes read and written, and the time against the mean of the two
 * neighbours' scaled by bytes.
 *
 * <p>Usage: {@code java -cp ... org.shardplan.bench.accuracy.ReorderPlanes [--sides 64,96,128,160]
 * [--channels 16,32,64] [--batch 1] [--rounds 3]}; prints a Markdown table. Running time: rounds ×
 * 3 × sides × channel counts one-node measurements (about a second each).
 */
public final class ReorderPlanes {
    private ReorderPlanes() {}

    public static void main(String[] args) throws Exception {
        long[] sides = {64, 96, 128, 160};
        long[] channels = {16, 32, 64};
        long batch = 1;
        int rounds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sides" -> sides = longs(args[++i]);
                case "--channels" -> channels = longs(args[++i]);
                case "--batch" -> batch = Long.parseLong(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        Path dir = Files.createTempDirectory("reorder-planes");
        Map<String, Long> opsets = Map.of("", 17L, "com.microsoft.nchwc", 1L);
        Map<String, Node> nodes = new LinkedHashMap<>();
        for (long c : channels) {
            for (long s : sides) {
                for (long side : new long[] {s - 4, s, s + 4}) {
                    String key = c + "/" + side;
                    nodes.put(key, reorder(dir, batch, c, side));
                }
            }
        }
        Profiler p = new Profiler(DeviceProfiles.get(DeviceProfiles.CPU_LOCAL), new Profiler.Options(1, Timing.DEFAULT,
                "none", false, 3, 0.1, false));
        Map<String, List<Double>> t = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            List<String> order = new ArrayList<>(nodes.keySet());
            if (r % 2 == 1) {
                java.util.Collections.reverse(order);
            }
            for (String key : order) {
                OptionalDouble s = p.measureOnce(nodes.get(key), opsets);
                if (s.isPresent()) {
                    t.computeIfAbsent(key, k -> new ArrayList<>()).add(s.getAsDouble());
                }
            }
        }
        StringBuilder b = new StringBuilder("| channels | plane | plane bytes / 4 KiB | bytes moved | µs (median of "
                + rounds + ") | GB/s | against neighbours |\n|---:|---|---:|---:|---:|---:|---:|\n");
        for (long c : channels) {
            for (long s : sides) {
                long[] three = {s - 4, s, s + 4};
                double[] perByte = new double[3];
                for (int j = 0; j < 3; j++) {
                    perByte[j] = median(t.getOrDefault(c + "/" + three[j], List.of())) / (2.0 * 4 * batch * c * three[j] * three[j]);
                }
                for (int j = 0; j < 3; j++) {
                    double bytes = 2.0 * 4 * batch * c * three[j] * three[j];
                    b.append(String.format(Locale.ROOT, "| %d | %d x %d | %.2f | %.0f | %.1f | %.1f | %s |%n", c, three[j],
                            three[j], 4.0 * three[j] * three[j] / 4096, bytes, perByte[j] * bytes * 1e6, 1e-9 / perByte[j],
                            j == 1 ? String.format(Locale.ROOT, "%.2f", perByte[1] / ((perByte[0] + perByte[2]) / 2)) : ""));
                }
            }
        }
        System.out.print(b);
    }

    private static long[] longs(String s) {
        String[] f = s.split(",");
        long[] v = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            v[i] = Long.parseLong(f[i].trim());
        }
        return v;
    }

    private static double median(List<Double> v) {
        if (v.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** A one-node model: x[N,C,S,S] reordered into the blocked layout of 16 channels. */
    static Node reorder(Path dir, long batch, long c, long side) throws Exception {
        long cp = (c + 15) / 16 * 16;
        Path f = dir.resolve(String.format(Locale.ROOT, "reorder-%d-%d-%d.onnx", batch, c, side));
        Files.write(f, ModelBuilder.create(8, Map.of("", 17L, "com.microsoft.nchwc", 1L)).graphName("reorder")
                .input(ValueEntry.tensor("x", 1, List.of(batch, c, side, side)))
                .node(NodeSpec.of("ReorderInput", "reorder").domain("com.microsoft.nchwc").inputs("x").outputs("y"))
                .output(ValueEntry.tensor("y", 1, List.of(batch, cp, side, side))).bytes());
        ImportedModel m = OnnxImporter.read(f, ImportOptions.DEFAULT);
        return m.graph().nodes().get(0);
    }
}
