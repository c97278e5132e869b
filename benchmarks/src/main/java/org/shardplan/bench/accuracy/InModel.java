package org.shardplan.bench.accuracy;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.profile.OptimizedGraph;
import org.shardplan.cost.profile.Ort;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.cost.profile.QuietGate;
import org.shardplan.cost.profile.Timing;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;

/**
 * What a node costs inside the whole model against what it costs alone: for each case named,
 * every node of the graph ONNX Runtime runs at level {@code all} is measured alone the way a
 * profile measures it ({@link Profiler#measureOnce}, the 10th percentile of pooled runs), and
 * the whole model is run with ONNX Runtime's profiler on, whose per-node kernel events give each
 * node's time inside the model (the 10th percentile of the node's events over the runs), and with
 * the profiler off (the fastest run, thread CPU time). Whole-model runs and the one-node passes
 * alternate, so that both see the same load. Reports per case the sums (alone, in the model, the
 * whole run) and per node class the ratio of in-model to alone time, and per node the largest
 * differences.
 *
 * <p>The profiler's own cost lands outside the kernels' events but inflates the profiled runs (it
 * writes an event per node: about 15 µs per node on this machine), so the in-model kernel times
 * are compared with the one-node times, and the profiler-free run gives the whole.
 *
 * <p>Usage: {@code java -cp ... org.shardplan.bench.accuracy.InModel [--only PREFIX,...]
 * [--passes N] [--runs N] [--first] [--case TEXT]} ({@code --first}: each model's first case only; {@code --case}:
 * the cases whose variant contains TEXT, e.g. {@code "batch 8"}), run from the repository root; prints a Markdown report. Running time:
 * passes × (nodes × about 0.3 s + 2 × runs whole-model runs).
 */
public final class InModel {
    private InModel() {}

    /** One node's times: alone per pass, and its kernel events inside the profiled runs. */
    record NodeTimes(String name, String cls, double[] alone, List<Double> inModel) {}

    public static void main(String[] args) throws Exception {
        String only = "torchvision mobilenet_v2";
        int passes = 2;
        int runs = 20;
        boolean first = false;
        String variant = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = args[++i];
                case "--passes" -> passes = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--first" -> first = true;
                case "--case" -> variant = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path root = Path.of(".").toAbsolutePath().normalize();
        List<String> skipped = new ArrayList<>();
        List<CostAccuracy.Case> all = new ArrayList<>(CostAccuracy.cases(root, skipped, false));
        all.addAll(CostAccuracy.heldOutCases(root, skipped, all));
        List<String> prefixes = List.of(only.split(","));
        Profiler profiler = new Profiler(DeviceProfiles.get(DeviceProfiles.CPU_LOCAL), new Profiler.Options(1,
                Timing.DEFAULT.withStatistic(Timing.Statistic.LOW), "all", false, 3, 0.1, false), QuietGate.off());
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Load at the start: %s%n%n", load()));
        Map<String, double[]> byClass = new LinkedHashMap<>();
        java.util.Set<String> done = new java.util.HashSet<>();
        for (CostAccuracy.Case c : all) {
            if (prefixes.stream().noneMatch(p -> c.model().startsWith(p)) || !c.variant().contains(variant)
                    || (first && !done.add(c.model()))) {
                continue;
            }
            out.append(measure(c, root, profiler, passes, runs, byClass));
        }
        out.append("\nBy class, all cases: nodes, sum alone, sum inside the model, ratio\n\n| class | nodes | alone (ms) | in model (ms) | in / alone |\n|---|---:|---:|---:|---:|\n");
        byClass.entrySet().stream().sorted((a, b) -> Double.compare(b.getValue()[2], a.getValue()[2])).forEach(e -> out.append(
                String.format(Locale.ROOT, "| %s | %d | %.3f | %.3f | %.2f |%n", e.getKey(), (int) e.getValue()[0],
                        e.getValue()[1] * 1e3, e.getValue()[2] * 1e3, e.getValue()[2] / e.getValue()[1])));
        out.append(String.format(Locale.ROOT, "%nLoad at the end: %s%n", load()));
        System.out.print(out);
    }

    private static String measure(CostAccuracy.Case c, Path root, Profiler profiler, int passes, int runs,
            Map<String, double[]> byClass) throws Exception {
        Path opt = root.resolve("benchmarks/target/optimized").resolve(
                c.file().getFileName().toString().replaceFirst("\\.onnx$", "") + ".all.onnx");
        if (!Files.isRegularFile(opt)) {
            OptimizedGraph.write(c.file(), "all", 1, opt);
        }
        ImportedModel m = OnnxImporter.read(opt, ImportOptions.DEFAULT.withInputShapes(c.shapes()).withDims(c.dims()));
        List<Node> nodes = new ArrayList<>();
        for (Node n : m.graph().nodes()) {
            if (n.outputs().isEmpty() || !n.outputs().stream().allMatch(v -> v.constant().isPresent())) {
                nodes.add(n);
            }
        }
        Map<String, NodeTimes> times = new LinkedHashMap<>();
        for (Node n : nodes) {
            times.put(n.name(), new NodeTimes(n.name(), CostAccuracy.classOf(OpSignature.of(n), n.opType()), new double[passes],
                    new ArrayList<>()));
        }
        OrtEnvironment env = Ort.environment();
        Path prefix = Files.createTempFile("shardplan-inmodel", "");
        OrtSession.SessionOptions po = Ort.options(1);
        po.enableProfiling(prefix.toString());
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double plainMin = Double.POSITIVE_INFINITY;
        double profiledMin = Double.POSITIVE_INFINITY;
        Path profile;
        try (OrtSession plain = env.createSession(c.file().toString(), Ort.options(1));
                OrtSession profiled = env.createSession(c.file().toString(), po)) {
            Map<String, OnnxTensor> feeds = feeds(env, plain, c);
            for (int p = 0; p < passes; p++) {
                for (int r = 0; r < runs; r++) {
                    long t0 = mx.getCurrentThreadCpuTime();
                    plain.run(feeds).close();
                    plainMin = Math.min(plainMin, (mx.getCurrentThreadCpuTime() - t0) / 1e9);
                    t0 = mx.getCurrentThreadCpuTime();
                    profiled.run(feeds).close();
                    profiledMin = Math.min(profiledMin, (mx.getCurrentThreadCpuTime() - t0) / 1e9);
                }
                for (Node n : nodes) {
                    OptionalDouble t = profiler.measureOnce(n, m.info().opsetImports());
                    times.get(n.name()).alone()[p] = t.orElse(Double.NaN);
                }
                System.err.printf(Locale.ROOT, "%s %s: pass %d done%n", c.model(), c.variant(), p + 1);
            }
            profile = Path.of(profiled.endProfiling());
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
        JsonNode events = new ObjectMapper().readTree(profile.toFile());
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if ("Node".equals(e.path("cat").asText()) && name.endsWith("_kernel_time")) {
                NodeTimes t = times.get(name.substring(0, name.length() - "_kernel_time".length()));
                if (t != null) {
                    t.inModel().add(e.path("dur").asDouble() * 1e-6);
                }
            }
        }
        Files.deleteIfExists(profile);
        Files.deleteIfExists(prefix);
        double sumAlone = 0;
        double sumIn = 0;
        List<double[]> diffs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (NodeTimes t : times.values()) {
            if (t.inModel().isEmpty() || Arrays.stream(t.alone()).anyMatch(Double::isNaN)) {
                continue;
            }
            double alone = Arrays.stream(t.alone()).average().orElseThrow();
            double[] in = t.inModel().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double inModel = in[in.length / 10];
            sumAlone += alone;
            sumIn += inModel;
            double[] cl = byClass.computeIfAbsent(t.cls(), k -> new double[3]);
            cl[0]++;
            cl[1] += alone;
            cl[2] += inModel;
            diffs.add(new double[] {inModel - alone, alone, inModel});
            names.add(t.name() + " (" + t.cls() + ")");
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "### %s %s%n%n%d nodes: alone %.3f ms (mean of %d passes), inside the model %.3f ms "
                + "(10th percentile of %d profiled runs), whole model without the profiler %.3f ms and with it %.3f ms (fastest "
                + "runs, thread CPU time); whole / sum alone %.3f, sum inside / sum alone %.3f.%n%n", c.model(), c.variant(),
                diffs.size(), sumAlone * 1e3, passes, sumIn * 1e3, passes * runs, plainMin * 1e3, profiledMin * 1e3,
                plainMin / sumAlone, sumIn / sumAlone));
        Integer[] order = new Integer[diffs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Double.compare(Math.abs(diffs.get(y)[0]), Math.abs(diffs.get(x)[0])));
        b.append("| node | alone (µs) | in model (µs) | in / alone |\n|---|---:|---:|---:|\n");
        for (int i = 0; i < Math.min(12, order.length); i++) {
            double[] d = diffs.get(order[i]);
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f |%n", names.get(order[i]), d[1] * 1e6, d[2] * 1e6,
                    d[2] / d[1]));
        }
        b.append('\n');
        return b.toString();
    }

    /** Random inputs of the case's shapes (float, or int64 token ids below 1000). */
    private static Map<String, OnnxTensor> feeds(OrtEnvironment env, OrtSession s, CostAccuracy.Case c)
            throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        SplittableRandom r = new SplittableRandom(7);
        for (var e : s.getInputInfo().entrySet()) {
            TensorInfo ti = (TensorInfo) e.getValue().getInfo();
            List<Long> given = c.shapes().get(e.getKey());
            long[] shape = ti.getShape().clone();
            if (given != null) {
                shape = given.stream().mapToLong(Long::longValue).toArray();
            }
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] < 0) {
                    throw new IllegalArgumentException("input " + e.getKey() + " of " + c.model() + " has an unbound dimension "
                            + i + "; give its shape");
                }
            }
            int n = (int) Arrays.stream(shape).reduce(1, (x, y) -> x * y);
            if (ti.type == OnnxJavaType.INT64) {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = r.nextInt(2); // 0 or 1: valid token ids, token types, masks and indices, as a profile feeds them
                }
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, LongBuffer.wrap(v), shape));
            } else {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (r.nextDouble() * 2 - 1);
                }
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(v), shape));
            }
        }
        return feeds;
    }

    private static String load() {
        double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return String.format(Locale.ROOT, "%.2f", l);
    }
}
