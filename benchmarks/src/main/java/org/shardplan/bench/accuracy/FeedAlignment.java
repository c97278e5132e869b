package org.shardplan.bench.accuracy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.shardplan.cost.profile.OptimizedGraph;
import org.shardplan.cost.profile.Ort;
import org.shardplan.cost.profile.SingleNodeModels;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;

/**
 * How much the alignment of a one-node model's input and output buffers changes its time: each
 * node of a case (the graph ONNX Runtime runs at level {@code all}) whose name matches a pattern
 * is built as the one-node model a profile times ({@link SingleNodeModels#build}), and run with
 * its float inputs and outputs in buffers 64-byte aligned and in buffers 16 bytes past such a
 * boundary (where a large {@code ByteBuffer.allocateDirect} lands), the two alternating run by
 * run; the 10th percentile of each one's runs (thread CPU time) is reported.
 *
 * <p>Usage: {@code java -cp ... org.shardplan.bench.accuracy.FeedAlignment --only MODEL-PREFIX
 * [--nodes REGEX] [--runs N]}, run from the repository root; prints a Markdown table. Running
 * time: 2 × runs × the matching nodes' times.
 */
public final class FeedAlignment {
    private FeedAlignment() {}

    public static void main(String[] args) throws Exception {
        String only = "torchvision mobilenet_v2";
        String pattern = ".*";
        int runs = 200;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = args[++i];
                case "--nodes" -> pattern = args[++i];
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path root = Path.of(".").toAbsolutePath().normalize();
        List<String> skipped = new ArrayList<>();
        List<CostAccuracy.Case> all = new ArrayList<>(CostAccuracy.cases(root, skipped, false));
        all.addAll(CostAccuracy.heldOutCases(root, skipped, all));
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        StringBuilder b = new StringBuilder("| case | node | class | output | aligned (µs) | 16 bytes off (µs) | off / aligned |\n"
                + "|---|---|---|---|---:|---:|---:|\n");
        for (CostAccuracy.Case c : all) {
            if (!c.model().startsWith(only)) {
                continue;
            }
            Path opt = root.resolve("benchmarks/target/optimized").resolve(
                    c.file().getFileName().toString().replaceFirst("\\.onnx$", "") + ".all.onnx");
            if (!Files.isRegularFile(opt)) {
                OptimizedGraph.write(c.file(), "all", 1, opt);
            }
            ImportedModel m = OnnxImporter.read(opt, ImportOptions.DEFAULT.withInputShapes(c.shapes()).withDims(c.dims()));
            for (Node n : m.graph().nodes()) {
                if (!n.name().matches(pattern) || n.outputs().stream().allMatch(v -> v.constant().isPresent())) {
                    continue;
                }
                SplittableRandom rnd = new SplittableRandom(5);
                SingleNodeModels.Probe p;
                try {
                    p = SingleNodeModels.build(n, m.info().opsetImports(), rnd);
                } catch (SingleNodeModels.NotMeasurable e) {
                    continue;
                }
                if (p.feeds().stream().anyMatch(f -> f.elemType() != org.shardplan.cost.profile.OnnxModels.FLOAT)
                        || p.outputs().stream().anyMatch(f -> f.elemType() != org.shardplan.cost.profile.OnnxModels.FLOAT)) {
                    continue;
                }
                try (OrtSession.SessionOptions o = Ort.options(1, OrtSession.SessionOptions.OptLevel.NO_OPT);
                        OrtSession s = Ort.environment().createSession(p.model().toByteArray(), o)) {
                    List<Map<String, OnnxTensor>> ins = new ArrayList<>();
                    List<Map<String, OnnxTensor>> outs = new ArrayList<>();
                    for (int offset : new int[] {0, 16}) {
                        Map<String, OnnxTensor> f = new LinkedHashMap<>();
                        Map<String, OnnxTensor> g = new LinkedHashMap<>();
                        for (SingleNodeModels.Feed fd : p.feeds()) {
                            f.put(fd.name(), floats(fd.dims(), rnd, offset));
                        }
                        for (SingleNodeModels.Feed fd : p.outputs()) {
                            g.put(fd.name(), floats(fd.dims(), rnd, offset));
                        }
                        ins.add(f);
                        outs.add(g);
                    }
                    long[][] t = new long[2][runs];
                    for (int r = -3; r < runs; r++) {
                        for (int v = 0; v < 2; v++) {
                            long t0 = mx.getCurrentThreadCpuTime();
                            s.run(ins.get(v), outs.get(v)).close();
                            if (r >= 0) {
                                t[v][r] = mx.getCurrentThreadCpuTime() - t0;
                            }
                        }
                    }
                    for (long[] x : t) {
                        Arrays.sort(x);
                    }
                    double aligned = t[0][runs / 10] / 1e3;
                    double off = t[1][runs / 10] / 1e3;
                    b.append(String.format(Locale.ROOT, "| %s %s | %s | %s | %s | %.1f | %.1f | %.2f |%n", c.model(), c.variant(),
                            n.name(), CostAccuracy.classOf(org.shardplan.cost.calib.OpSignature.of(n), n.opType()),
                            n.outputs().get(0).type(), aligned, off, off / aligned));
                    for (int v = 0; v < 2; v++) {
                        ins.get(v).values().forEach(OnnxTensor::close);
                        outs.get(v).values().forEach(OnnxTensor::close);
                    }
                }
            }
        }
        System.out.print(b);
    }

    /** Random floats in a direct buffer starting {@code offset} bytes past a 64-byte boundary. */
    private static OnnxTensor floats(long[] dims, SplittableRandom rnd, int offset) throws Exception {
        int n = (int) Arrays.stream(dims).reduce(1, (x, y) -> x * y);
        ByteBuffer raw = ByteBuffer.allocateDirect(4 * n + 128).alignedSlice(64);
        raw.position(offset);
        ByteBuffer b = raw.slice().order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            b.putFloat(4 * i, (float) (rnd.nextDouble() * 2 - 1));
        }
        b.limit(4 * n);
        return OnnxTensor.createTensor(Ort.environment(), b, dims, OnnxJavaType.FLOAT);
    }
}
