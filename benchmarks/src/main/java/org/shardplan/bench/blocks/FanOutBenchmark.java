package org.shardplan.bench.blocks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.RepeatedBlocks;

/**
 * Times {@link RepeatedBlocks#find} on a producer followed by {@code n} identical coarse nodes that
 * all read its output (n = 1,000 to 30,000), median of 3 runs after one warm-up, and writes
 * {@code benchmarks/results/repeated-blocks.md}. Usage: {@code FanOutBenchmark [--out FILE]}.
 */
public final class FanOutBenchmark {
    private FanOutBenchmark() {
    }

    static List<CoarseNode> nodes(int n) {
        Value in = Value.input("in", TensorType.of(DType.FLOAT32, 4, 8));
        Value x = Value.intermediate("x", TensorType.of(DType.FLOAT32, 4, 8));
        Node first = new Node("first", "Gemm", "", List.of(in), List.of(x), List.of());
        List<CoarseNode> r = new ArrayList<>();
        r.add(new CoarseNode(0, "first", CoarseNode.Kind.COMPUTE, first, List.of(first), List.of(in), List.of(x),
                Optional.empty(), Work.ZERO));
        for (int i = 1; i <= n; i++) {
            Value out = Value.intermediate("v" + i, TensorType.of(DType.FLOAT32, 4, 8));
            Node c = new Node("relu" + i, "Relu", "", List.of(x), List.of(out), List.of());
            r.add(new CoarseNode(i, c.name(), CoarseNode.Kind.COMPUTE, c, List.of(c), List.of(x), List.of(out),
                    Optional.empty(), Work.ZERO));
        }
        return r;
    }

    /** The runs of at least one period's length, counted by comparing every position at every period: O(n²). */
    static int fullScan(int[] sig) {
        int n = sig.length;
        int count = 0;
        for (int p = 1; p <= n / 2; p++) {
            int i = 0;
            while (i + p < n) {
                if (sig[i] != sig[i + p]) {
                    i++;
                    continue;
                }
                int j = i;
                while (j + p < n && sig[j] == sig[j + p]) {
                    j++;
                }
                if (j - i >= p) {
                    count++;
                }
                i = j + 1;
            }
        }
        return count;
    }

    public static void main(String[] args) throws Exception {
        Path out = args.length == 2 && args[0].equals("--out") ? Path.of(args[1]) : Path.of("benchmarks/results/repeated-blocks.md");
        StringBuilder b = new StringBuilder("# Repeated-block search on many identical nodes\n\n"
                + "`RepeatedBlocks.find` on a producer and n identical nodes reading its output (one block class of n"
                + " instances expected), median of 3 runs after a warm-up, one thread. Made by "
                + "`org.shardplan.bench.blocks.FanOutBenchmark`.\n\n| n | classes | instances | seconds |\n|---:|---:|---:|---:|\n");
        for (int n : new int[] {1_000, 2_000, 4_000, 8_000, 16_000, 30_000}) {
            List<CoarseNode> ns = nodes(n);
            List<CoarseEdge> edges = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                edges.add(new CoarseEdge(0, i, ns.get(0).outputs().get(0)));
            }
            RepeatedBlocks.find(ns, edges);
            double[] t = new double[3];
            List<BlockClass> cs = List.of();
            for (int k = 0; k < 3; k++) {
                long t0 = System.nanoTime();
                cs = RepeatedBlocks.find(ns, edges);
                t[k] = (System.nanoTime() - t0) / 1e9;
            }
            java.util.Arrays.sort(t);
            String row = String.format(Locale.ROOT, "| %d | %d | %d | %.3f |%n", n, cs.size(),
                    cs.isEmpty() ? 0 : cs.get(0).count(), t[1]);
            System.out.print(row);
            b.append(row);
        }
        b.append("\nThe candidate runs alone (`RepeatedBlocks.periodicRuns`: the multiples of each period, extended by"
                + " hashed longest-common-extension queries) against the scan of every position at every period that"
                + " it replaced, on n random signatures over 4 kinds (runs everywhere: the worst case of the scan),"
                + " median of 3 after a warm-up; both must find the same runs.\n\n"
                + "| n | runs | sampled s | full scan s |\n|---:|---:|---:|---:|\n");
        java.util.Random rnd = new java.util.Random(1);
        for (int n : new int[] {1_000, 8_000, 30_000}) {
            int[] sig = new int[n];
            for (int i = 0; i < n; i++) {
                sig[i] = rnd.nextInt(4);
            }
            List<int[]> runs = RepeatedBlocks.periodicRuns(sig);
            if (runs.size() != fullScan(sig)) {
                throw new IllegalStateException("the sampled search and the full scan disagree at n = " + n);
            }
            double[] ts = new double[3];
            double[] tf = new double[3];
            for (int k = 0; k < 3; k++) {
                long t0 = System.nanoTime();
                RepeatedBlocks.periodicRuns(sig);
                ts[k] = (System.nanoTime() - t0) / 1e9;
                t0 = System.nanoTime();
                fullScan(sig);
                tf[k] = (System.nanoTime() - t0) / 1e9;
            }
            java.util.Arrays.sort(ts);
            java.util.Arrays.sort(tf);
            String row = String.format(Locale.ROOT, "| %d | %d | %.4f | %.4f |%n", n, runs.size(), ts[1], tf[1]);
            System.out.print(row);
            b.append(row);
        }
        Files.writeString(out, b.toString());
    }
}
