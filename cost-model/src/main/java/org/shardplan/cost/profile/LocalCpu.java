package org.shardplan.cost.profile;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.ClusterFiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.cost.compute.MemoryCurve;

/**
 * The {@code cpu-local} device profile: this machine's CPU as ONNX Runtime sees it. Peak float32
 * rate is the median rate of a 512x512x512 MatMul; memory bandwidth the median rate of an
 * element-wise Add of two 4 Mi-element float tensors (12 bytes moved per element). Both run on
 * one ONNX Runtime thread, timed by that thread's CPU time, so the numbers are those of one core
 * (the way {@code shardplan profile --threads 1} measures) and do not depend on other load. The result is cached in
 * {@code $SHARDPLAN_CACHE/cpu-local-<fingerprint>.json} (default {@code ~/.cache/shardplan}) and
 * measured again only on a machine with another fingerprint.
 */
public final class LocalCpu {
    private static final int N = 512;
    private static final int ADD_ELEMENTS = 4 << 20;

    private LocalCpu() {}

    /** The directory shardplan caches measurements in. */
    public static Path cacheDirectory() {
        String p = System.getProperty("shardplan.cache");
        if (p == null || p.isBlank()) {
            p = System.getenv("SHARDPLAN_CACHE");
        }
        if (p == null || p.isBlank()) {
            p = System.getProperty("user.home") + "/.cache/shardplan";
        }
        return Path.of(p);
    }

    /** The cached or freshly measured profile of this CPU. */
    public static DeviceSpec profile() throws ClusterException {
        MachineFingerprint fp = MachineFingerprint.localCpu(1, Ort.version());
        Path cache = cacheDirectory().resolve("cpu-local-" + fp.id() + ".json");
        if (Files.isRegularFile(cache)) {
            try {
                return ClusterFiles.parseDevice(Files.readString(cache), cache.toString());
            } catch (IOException | ClusterException e) {
                // a damaged cache entry is measured again below
            }
        }
        // through the file format and back, so a fresh and a cached profile are equal
        String json = ClusterFiles.deviceJson(measure(fp)).toPrettyString();
        DeviceSpec d = ClusterFiles.parseDevice(json, "measured cpu-local");
        try {
            Files.createDirectories(cache.getParent());
            Path tmp = cache.resolveSibling(cache.getFileName() + ".tmp");
            Files.writeString(tmp, json);
            Files.move(tmp, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // caching is an optimisation; the measured profile is still returned
        }
        return d;
    }

    /** Measures this CPU now (about a second). */
    public static DeviceSpec measure(MachineFingerprint fp) {
        try {
            double flops = matmulFlops();
            double bw = addBandwidth();
            return new DeviceSpec("cpu-local",
                    "one core of this machine's CPU (" + fp.processor() + ", " + fp.logicalCpus()
                            + " logical CPUs), measured with " + fp.runtime() + " on one thread",
                    "cpu", Map.of("float32", flops), bw, physicalMemoryBytes(), true, 1,
                    Link.of("memory", 10, 1), Link.of("ethernet", 1.25, 50));
        } catch (Exception e) {
            throw new IllegalStateException("measuring the local CPU with ONNX Runtime failed: " + e, e);
        }
    }

    private static double matmulFlops() throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        long[] dims = {N, N};
        OnnxMl.NodeProto node = OnnxMl.NodeProto.newBuilder().setOpType("MatMul")
                .addInput("a").addInput("b").addOutput("c").build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(node,
                List.of(OnnxModels.valueInfo("a", OnnxModels.FLOAT, dims)),
                List.of(OnnxModels.randomTensor("b", OnnxModels.FLOAT, dims, rnd)),
                List.of(OnnxModels.valueInfo("c", OnnxModels.FLOAT, dims)), 17);
        double s = time(m, Map.of("a", Feeds.random(OnnxModels.FLOAT, dims, rnd)));
        return 2.0 * N * N * N / s;
    }

    /** Element counts of the Adds the memory curve is measured with: 4 Ki to 16 Mi, by factors of 4. */
    static final int[] CURVE_ELEMENTS = {1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24};

    /**
     * This core's {@link MemoryCurve}: an element-wise Add of two float tensors of each of
     * {@link #CURVE_ELEMENTS} elements (12 bytes moved per element, footprints 48 KiB to 192 MiB,
     * from the first cache levels to main memory), run on one ONNX Runtime thread and timed by that
     * thread's CPU time, the fastest of its runs kept (other processes only ever slow a run down), less
 * the fastest run of a one-element Add (the runtime's cost of a call).
     * Cached like {@link #profile()} in {@code $SHARDPLAN_CACHE/cpu-memory-<fingerprint>.json};
     * measuring takes a few seconds.
     */
    public static MemoryCurve memoryCurve() {
        MachineFingerprint fp = MachineFingerprint.localCpu(1, Ort.version());
        Path cache = cacheDirectory().resolve("cpu-memory-" + fp.id() + ".json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        MemoryCurve cached = null;
        boolean productMeasured = false;
        if (Files.isRegularFile(cache)) {
            try {
                var root = json.readTree(cache.toFile());
                double[] f = new double[root.path("footprints").size()];
                double[] b = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    f[i] = root.path("footprints").get(i).asDouble();
                    b[i] = root.path("bandwidths").get(i).asDouble();
                }
                cached = new MemoryCurve(f, b, root.path("productBandwidth").asDouble(0),
                        root.path("aliasedReorderBandwidth").asDouble(0));
                // a rate of 0 was measured too: no product's weights exceed this machine's caches
                // measurably, and measuring again would find the same
                if (root.has("productBandwidth") && root.has("aliasedReorderBandwidth")) {
                    return cached;
                }
                productMeasured = root.has("productBandwidth");
            } catch (IOException | RuntimeException e) {
                cached = null; // a damaged cache entry is measured again below
            }
        }
        MemoryCurve curve;
        try {
            Timing timing = new Timing(2, 5, 400, 0.1, Timing.Clock.THREAD_CPU, Timing.Statistic.MIN);
            // the runtime's cost of a call, taken off each time: an Add of one element
            double call = addSeconds(1, timing);
            // a file written before products or reorderings were measured keeps its curve and gains their rates
            curve = cached != null ? cached : addCurve(timing, call);
            if (cached == null || !productMeasured) {
                curve = curve.withProductBandwidth(productBandwidth(curve, timing, call));
            }
            curve = curve.withAliasedReorderBandwidth(aliasedReorderBandwidth(timing, call));
        } catch (Exception e) {
            throw new IllegalStateException("measuring the local CPU's memory bandwidths with ONNX Runtime failed: " + e, e);
        }
        try {
            var root = json.createObjectNode();
            root.put("description", "bytes per second of one core streaming an Add of each footprint, " + fp.runtime()
                    + "; productBandwidth: bytes per second of a matrix product's weights beyond the caches"
                    + "; aliasedReorderBandwidth: bytes per second of a reordering into the blocked layout of "
                    + "channel planes of 64 KiB");
            var fs = root.putArray("footprints");
            var bs = root.putArray("bandwidths");
            for (int i = 0; i < curve.footprints().length; i++) {
                fs.add(curve.footprints()[i]);
                bs.add(curve.bandwidths()[i]);
            }
            root.put("productBandwidth", curve.productBandwidth());
            root.put("aliasedReorderBandwidth", curve.aliasedReorderBandwidth());
            Files.createDirectories(cache.getParent());
            Path tmp = cache.resolveSibling(cache.getFileName() + ".tmp");
            Files.writeString(tmp, root.toPrettyString());
            Files.move(tmp, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // caching is an optimisation
        }
        return curve;
    }

    /** The Adds of {@link #CURVE_ELEMENTS}, each less {@code call} seconds, made non-increasing. */
    private static MemoryCurve addCurve(Timing timing, double call) throws Exception {
        double[] f = new double[CURVE_ELEMENTS.length];
        double[] b = new double[CURVE_ELEMENTS.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = 12.0 * CURVE_ELEMENTS[i];
            double t = addSeconds(CURVE_ELEMENTS[i], timing);
            b[i] = f[i] / Math.max(t - call, 0.1 * t);
        }
        // data that fit a smaller cache never stream slower than data that need a larger one:
        // a point below the next larger footprint's bandwidth (the call cost, not the memory,
        // limiting the smallest Adds) is raised to it
        for (int i = f.length - 2; i >= 0; i--) {
            b[i] = Math.max(b[i], b[i + 1]);
        }
        return new MemoryCurve(f, b);
    }

    /**
     * The product the weight streaming rate is measured with: {@code PRODUCT_ROWS x PRODUCT_DEPTH}
     * activations times a constant weight of {@code PRODUCT_DEPTH} rows and {@link #cachedColumns}
     * (weights the caches hold) or {@link #PRODUCT_STREAMED_COLUMNS} columns (64 MiB, which they do not).
     */
    static final int PRODUCT_ROWS = 32;
    static final int PRODUCT_DEPTH = 512;
    static final int PRODUCT_STREAMED_COLUMNS = 1 << 15;

    /**
     * Columns of the product whose weights the caches hold: the most, a power of two, whose weights
     * take at most two thirds of {@link MemoryCurve#cacheBytes()} (8 MiB of the build machine's
     * 12), at least 256; the closer its work to the streamed product's, the less the scaling to the
     * streamed product's columns magnifies its timing's noise.
     */
    static int cachedColumns(MemoryCurve curve) {
        int cols = 256;
        while (cols < PRODUCT_STREAMED_COLUMNS / 2 && 4.0 * PRODUCT_DEPTH * cols * 2 <= curve.cacheBytes() * 2 / 3) {
            cols *= 2;
        }
        return cols;
    }

    /**
     * How fast a matrix product reads weights beyond the caches, per byte beyond
     * {@link MemoryCurve#cacheBytes()} of {@code curve}: the product of 64 MiB of weights against
     * the same product with weights the caches hold ({@link #cachedColumns}), scaled to the same
     * columns, the fastest of five alternating rounds each ({@link MemoryCurve#productBandwidth(double,
     * double, double, double)}); ONNX Runtime packs a constant weight once and its GEMM kernel reads
     * the packed copy on every call, so the larger one streams it from memory. About a second.
     */
    private static double productBandwidth(MemoryCurve curve, Timing timing, double call) throws Exception {
        int cols = cachedColumns(curve);
        try (TimedModel cached = product(cols); TimedModel streamed = product(PRODUCT_STREAMED_COLUMNS)) {
            // in alternating rounds, the fastest of each kept: a disturbance of the machine only adds time
            double tc = Double.POSITIVE_INFINITY;
            double ts = Double.POSITIVE_INFINITY;
            for (int round = 0; round < PRODUCT_ROUNDS; round++) {
                tc = Math.min(tc, cached.seconds(timing));
                ts = Math.min(ts, streamed.seconds(timing));
            }
            return curve.productBandwidth(4.0 * PRODUCT_DEPTH * PRODUCT_STREAMED_COLUMNS, Math.max(ts - call, 0),
                    Math.max(tc - call, 0) * PRODUCT_STREAMED_COLUMNS / cols, 4.0 * PRODUCT_DEPTH * cols);
        }
    }

    /** Channels and plane side of the aliased reordering: 16 planes of 128 x 128 floats, 64 KiB each (16 x 4 KiB). */
    static final int REORDER_CHANNELS = 16;
    static final int REORDER_SIDE = 128;

    /**
     * Bytes per second, read and written, of ONNX Runtime's reordering into the blocked channel layout
     * ({@code com.microsoft.nchwc:ReorderInput}) of {@link #REORDER_CHANNELS} channel planes of
     * {@link #REORDER_SIDE} x {@link #REORDER_SIDE} floats, 64 KiB apart: {@code MlasReorderInputNchw} reads
     * a few floats from each of a block's 16 planes in turn, and planes a multiple of the first-level
     * cache's set period (4 KiB) apart put all 16 reads in one cache set, which holds 8 to 12 lines, so
     * that lines are evicted before the rest of them is read. The fastest of {@link #PRODUCT_ROUNDS}
     * rounds less the call, as the products. Measured (ONNX Runtime 1.28, one thread, a loaded 2-core
     * machine): 26 to 28 GB/s for planes of 64 x 64 to 160 x 160 floats (4 to 25 x 4 KiB, 0.5 to 6.5 MB moved),
     * where planes 4 floats narrower or wider run at 55 to 72 GB/s
     * ({@code org.shardplan.bench.accuracy.ReorderPlanes}). About 0.1 s.
     */
    private static double aliasedReorderBandwidth(Timing timing, double call) throws Exception {
        long[] dims = {1, REORDER_CHANNELS, REORDER_SIDE, REORDER_SIDE};
        OnnxMl.NodeProto node = OnnxMl.NodeProto.newBuilder().setOpType("ReorderInput")
                .setDomain("com.microsoft.nchwc").addInput("x").addOutput("y").build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(node, List.of(OnnxModels.valueInfo("x", OnnxModels.FLOAT, dims)),
                List.of(), List.of(OnnxModels.valueInfo("y", OnnxModels.FLOAT, dims)), 17);
        SplittableRandom rnd = new SplittableRandom(5);
        try (TimedModel t = new TimedModel(m, Map.of("x", Feeds.random(OnnxModels.FLOAT, dims, rnd)))) {
            double best = Double.POSITIVE_INFINITY;
            for (int round = 0; round < PRODUCT_ROUNDS; round++) {
                best = Math.min(best, t.seconds(timing));
            }
            double bytes = 2.0 * 4 * REORDER_CHANNELS * REORDER_SIDE * REORDER_SIDE;
            return bytes / Math.max(best - call, 0.1 * best);
        }
    }

    /** Rounds the product streaming rate is measured in. */
    private static final int PRODUCT_ROUNDS = 5;

    /** A session of one {@link #PRODUCT_ROWS} x {@link #PRODUCT_DEPTH} times {@link #PRODUCT_DEPTH} x columns MatMul. */
    private static TimedModel product(int columns) throws Exception {
        SplittableRandom rnd = new SplittableRandom(4);
        long[] a = {PRODUCT_ROWS, PRODUCT_DEPTH};
        long[] w = {PRODUCT_DEPTH, columns};
        long[] c = {PRODUCT_ROWS, columns};
        OnnxMl.NodeProto node = OnnxMl.NodeProto.newBuilder().setOpType("MatMul")
                .addInput("a").addInput("w").addOutput("c").build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(node, List.of(OnnxModels.valueInfo("a", OnnxModels.FLOAT, a)),
                List.of(OnnxModels.randomTensor("w", OnnxModels.FLOAT, w, rnd)),
                List.of(OnnxModels.valueInfo("c", OnnxModels.FLOAT, c)), 17);
        return new TimedModel(m, Map.of("a", Feeds.random(OnnxModels.FLOAT, a, rnd)));
    }

    /** A one-thread session of a model with its feeds, closed with them. */
    private static final class TimedModel implements AutoCloseable {
        private final Map<String, OnnxTensor> feeds;
        private final OrtSession.SessionOptions options;
        private final OrtSession session;

        TimedModel(OnnxMl.ModelProto m, Map<String, OnnxTensor> feeds) throws Exception {
            this.feeds = feeds;
            try {
                options = Ort.options(1);
                session = Ort.environment().createSession(m.toByteArray(), options);
            } catch (Exception | Error e) {
                for (OnnxTensor t : feeds.values()) {
                    t.close();
                }
                throw e;
            }
        }

        /** Seconds of one run under {@code timing}. */
        double seconds(Timing timing) throws Exception {
            return timing.medianSeconds(() -> {
                try (OrtSession.Result r = session.run(feeds)) {
                    r.size();
                }
            });
        }

        @Override
        public void close() throws Exception {
            session.close();
            options.close();
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
    }

    /** Seconds of one Add of two {@code n}-element float tensors under {@code timing}. */
    private static double addSeconds(int n, Timing timing) throws Exception {
        SplittableRandom rnd = new SplittableRandom(3);
        long[] dims = {n};
        OnnxMl.NodeProto node = OnnxMl.NodeProto.newBuilder().setOpType("Add")
                .addInput("a").addInput("b").addOutput("c").build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(node,
                List.of(OnnxModels.valueInfo("a", OnnxModels.FLOAT, dims), OnnxModels.valueInfo("b", OnnxModels.FLOAT, dims)),
                List.of(), List.of(OnnxModels.valueInfo("c", OnnxModels.FLOAT, dims)), 17);
        try (TimedModel t = new TimedModel(m, Map.of("a", Feeds.random(OnnxModels.FLOAT, dims, rnd),
                "b", Feeds.random(OnnxModels.FLOAT, dims, rnd)))) {
            return t.seconds(timing);
        }
    }

    private static double addBandwidth() throws Exception {
        SplittableRandom rnd = new SplittableRandom(2);
        long[] dims = {ADD_ELEMENTS};
        OnnxMl.NodeProto node = OnnxMl.NodeProto.newBuilder().setOpType("Add")
                .addInput("a").addInput("b").addOutput("c").build();
        OnnxMl.ModelProto m = OnnxModels.singleNode(node,
                List.of(OnnxModels.valueInfo("a", OnnxModels.FLOAT, dims),
                        OnnxModels.valueInfo("b", OnnxModels.FLOAT, dims)),
                List.of(), List.of(OnnxModels.valueInfo("c", OnnxModels.FLOAT, dims)), 17);
        double s = time(m, Map.of("a", Feeds.random(OnnxModels.FLOAT, dims, rnd),
                "b", Feeds.random(OnnxModels.FLOAT, dims, rnd)));
        return 12.0 * ADD_ELEMENTS / s;
    }

    private static double time(OnnxMl.ModelProto m, Map<String, OnnxTensor> feeds) throws Exception {
        try (TimedModel t = new TimedModel(m, feeds)) {
            return t.seconds(new Timing(3, 10, 40, 0.3, Timing.Clock.THREAD_CPU));
        }
    }

    private static double physicalMemoryBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Double.parseDouble(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the JVM's view
        }
        return Runtime.getRuntime().maxMemory();
    }
}
