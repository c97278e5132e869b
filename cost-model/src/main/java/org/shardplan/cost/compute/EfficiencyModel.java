package org.shardplan.cost.compute;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.KernelModel;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.DType;

/**
 * Learns how far a device falls short of its roofline, from measured kernels, and predicts the
 * time of new ones.
 *
 * <p>The roofline time of a kernel is {@code r = max(F / peak(dtype), B / bandwidth)}. For each
 * group of samples the model fits {@code t = c + r / e}: c a fixed cost per call (dispatch,
 * threading) and e the efficiency (the fraction of the roofline achieved on large kernels), by
 * least squares weighted by {@code 1/t²} (so that relative errors count alike) over the four
 * samples nearest to the query in {@code log r}, with {@code c, 1/e ≥ 0}. Groups go from specific
 * to general: op type and shape class, the class of a proxy operator that runs the same loop
 * ({@link OpClass#proxy}; only for the kernels that have one), op type, category
 * ({@link OpClass#category}), all samples.
 * The most specific group whose samples span roofline times at least {@link #MIN_SPREAD} apart
 * answers with its own curve; a more specific group whose samples do not (one sample, or samples
 * of the same size) scales that curve through them (their geometric means), so that it keeps its
 * own level and borrows the wider group's shape. A group whose kernels run as a varying number of
 * inner calls (grouped and depthwise convolutions, which CPU runtimes run group by group) and
 * that holds at least four samples fits {@code t = c + k·r + a·calls} over all its samples instead,
 * the per-call cost a being what dominates such kernels. Without any sample the model is
 * analytic: {@code t = c0 + r / e0} with c0 = 5 µs and e0 = 0.5 for matrix products and 0.7
 * otherwise, and says so in {@link Prediction#source()}.
 *
 * <p>A kernel whose own op type was never measured (no sample of its class, proxy or op type) and
 * that the runtime runs as several loops ({@link Kernel#parts}: a ConvTranspose's GEMM and scatter,
 * a Where's selections and merge, {@link Backward#parts}) is priced as the sum of those loops'
 * predictions, source "parts". A transcendental op type never measured is priced at the category
 * level from every other transcendental op type alike ({@code perOpTypeMean}). A compute-bound
 * sample of a kernel other than a matrix product that ran faster than every compute-bound matrix
 * product of the samples (relative to the roofline) is left out ({@code fastestProduct}).
 *
 * <p>With a {@link MemoryCurve} on a CPU, a matrix product whose weights exceed what the caches
 * hold ({@link MemoryCurve#cacheBytes()}) pays for streaming the excess from memory on every call,
 * on top of its fitted time: {@link #streamSeconds}. Samples are fitted with that time taken off
 * and predictions get it added, so the curves stay those of cache-resident kernels.
 *
 * <p>Above the largest roofline time of a group's samples the line of the nearest samples is
 * extended only where its slope is not negative, else that of a wider neighbourhood
 * ({@link #aboveRange(List, double)}), so that a larger kernel is never priced as the largest one
 * measured. A blocked-layout convolution with a fused activation other than ReLU pays for MLAS's
 * separate pass over its output ({@link #activationPassSeconds}); samples are fitted with it taken
 * off.
 *
 * <p>Fitting is O(n log n) in the number of samples; a prediction O(n) in the size of its group.
 */
public final class EfficiencyModel {

    /** Family members beyond the bracketing pair that a family interpolation uses. */
    static final int FAMILY_EXTRA = 2;

    /** Neighbours a local fit uses. */
    static final int NEIGHBOURS = 4;
    /** Analytic per-kernel overhead without calibration, seconds. */
    static final double DEFAULT_OVERHEAD = 5e-6;

    /**
     * A predicted time.
     *
     * @param seconds predicted time
     * @param rooflineSeconds the kernel's roofline time on the device
     * @param source which samples answered: "family" (scalings of the kernel's own signature, see
     *     {@link #predict(Kernel, String)}), "class", "proxy" (the class of {@link OpClass#proxy}), "op",
     *     "category", "all", "analytic" (plain roofline) or "kernel-model" (the device's
     *     {@link KernelModel}, no samples)
     */
    public record Prediction(double seconds, double rooflineSeconds, String source) {
        /** True when no measurement took part. */
        public boolean analytic() {
            return "analytic".equals(source) || "kernel-model".equals(source);
        }
    }

    private record Point(double r, double t, double calls, boolean memoryBound) {
        Point(double r, double t, double calls) {
            this(r, t, calls, false);
        }
    }

    /** A sample of a size family ({@link SizeFamily}). */
    private record Member(SizeFamily family, Point point) {}

    private final DeviceSpec device;
    private final MemoryCurve memory;
    private final List<Sample> samples;
    private final Map<String, List<Point>> byClass = new LinkedHashMap<>();
    /** The class groups with each point's calls as the wider groups count them (a proxy's group). */
    private final Map<String, List<Point>> byClassWide = new LinkedHashMap<>();
    private final Map<String, List<Point>> byOp = new LinkedHashMap<>();
    private final Map<String, List<Point>> byCategory = new LinkedHashMap<>();
    private final List<Point> all = new ArrayList<>();
    private final Map<String, List<Member>> bySkeleton = new LinkedHashMap<>();

    /** A model for {@code device} learned from {@code samples} (none: purely analytic). */
    public EfficiencyModel(DeviceSpec device, List<Sample> samples) {
        this(device, samples, null);
    }

    /**
     * A model whose roofline moves a kernel's bytes at the bandwidth of the cache level they fit
     * in ({@code memory}; null: the device's one memory bandwidth), see
     * {@link #roofline(double, double, DType)}.
     */
    public EfficiencyModel(DeviceSpec device, List<Sample> samples, MemoryCurve memory) {
        this.device = device;
        this.memory = memory;
        this.samples = List.copyOf(samples);
        double floor = fastestProduct(this.samples);
        for (Sample s : this.samples) {
            double stream = streamSeconds(s.opType(), signatureWeightBytes(s.signature()))
                    + activationPassSeconds(s.signature());
            Point p = new Point(roofline(s.opType(), s.flops(), s.bytes(), s.dtype()),
                    Math.max(s.seconds() - stream, 0.1 * s.seconds()), s.calls(),
                    memoryBound(s.opType(), s.flops(), s.bytes(), s.dtype()));
            if (!p.memoryBound && !GEMMS.contains(s.opType()) && p.t < floor * p.r) {
                continue; // faster than any matrix product runs: a disturbed measurement, not a rate
            }
            byClass.computeIfAbsent(s.opType() + "/" + s.shapeClass(), k -> new ArrayList<>()).add(p);
            // beyond its own class a kernel other than a convolution counts as one call
            Point wide = OpClass.callsBeyondClass(s.opType(), s.shapeClass()) || p.calls == 1 ? p
                    : new Point(p.r, p.t, 1, p.memoryBound);
            byClassWide.computeIfAbsent(s.opType() + "/" + s.shapeClass(), k -> new ArrayList<>()).add(wide);
            byOp.computeIfAbsent(s.opType(), k -> new ArrayList<>()).add(wide);
            byCategory.computeIfAbsent(OpClass.category(s.opType()), k -> new ArrayList<>()).add(wide);
            all.add(wide);
            SizeFamily.of(s.signature()).ifPresent(
                    f -> bySkeleton.computeIfAbsent(f.skeleton(), k -> new ArrayList<>()).add(new Member(f, p)));
        }
    }

    /**
     * Whether this model prices every kernel as {@code o} does: the same device, samples and memory curve,
     * compared by value (a model is made from these alone). False where equality cannot be told, never
     * true for models that may price differently. O(samples).
     */
    public boolean pricesAs(EfficiencyModel o) {
        if (this == o) {
            return true;
        }
        if (o == null || !device.equals(o.device) || !samples.equals(o.samples)) {
            return false;
        }
        return memory == o.memory || memory != null && memory.equals(o.memory);
    }

    /** Matrix products: the kernels that run nearest a core's peak. */
    private static final Set<String> GEMMS = Set.of("MatMul", "Gemm", "FusedMatMul", "FusedGemm");

    /**
     * The smallest ratio of measured to roofline time among the compute-bound matrix products of
     * {@code samples} (0 when there is none): the best rate the device's arithmetic reaches.
     * A compute-bound sample of another kernel measured faster than that (t < floor · r) is left
     * out of the curves: no kernel outruns the matrix products on a CPU core, and such a sample is a
     * disturbed measurement (a differential measurement of a small node collapsing under load; a
     * PaddleOCR depthwise convolution measured at 536 GFLOP/s on a core whose products peak at
     * 230), which the fit's weights of 1/t² would let outweigh its neighbours. O(n).
     */
    private double fastestProduct(List<Sample> samples) {
        double floor = Double.POSITIVE_INFINITY;
        for (Sample s : samples) {
            if (GEMMS.contains(s.opType()) && !memoryBound(s.opType(), s.flops(), s.bytes(), s.dtype())) {
                double r = roofline(s.opType(), s.flops(), s.bytes(), s.dtype());
                double stream = streamSeconds(s.opType(), signatureWeightBytes(s.signature()));
                double t = Math.max(s.seconds() - stream, 0.1 * s.seconds());
                if (r > 0) {
                    floor = Math.min(floor, t / r);
                }
            }
        }
        return Double.isInfinite(floor) ? 0 : floor;
    }

    /** The same device learned from all samples except those of the given signatures. */
    public EfficiencyModel without(Set<String> signatures) {
        List<Sample> keep = new ArrayList<>();
        for (Sample s : samples) {
            if (!signatures.contains(s.signature())) {
                keep.add(s);
            }
        }
        return new EfficiencyModel(device, keep, memory);
    }

    /** The same samples with the bytes of the roofline moved at {@code curve}'s bandwidths. */
    public EfficiencyModel withMemory(MemoryCurve curve) {
        return new EfficiencyModel(device, samples, curve);
    }

    /** True when some sample has a size family (a signature with shapes): worth passing signatures. */
    public boolean hasFamilies() {
        return !bySkeleton.isEmpty();
    }

    public DeviceSpec device() {
        return device;
    }

    public List<Sample> samples() {
        return samples;
    }

    /**
     * Roofline time of {@code flops} and {@code bytes} in {@code dtype} on the device: the larger of
     * the FLOPs at peak and the bytes at the memory bandwidth, which with a {@link MemoryCurve} is
     * the bandwidth for a footprint of {@code bytes} (a kernel run again and again, as when it is
     * measured alone, finds its data in the smallest cache level they fit in).
     */
    public double roofline(double flops, double bytes, DType dtype) {
        return Math.max(flops / device.peakFlops(dtype.toString()), bytes / bandwidth(bytes));
    }

    private double bandwidth(double bytes) {
        return memory != null ? memory.bandwidth(bytes) : device.memoryBandwidthBytesPerSecond();
    }

    /**
     * The roofline time the model measures a kernel of {@code opType} by: {@link #roofline(double,
     * double, DType)}, except for a transcendental element-wise op ({@link OpClass#category}), which
     * is bound by the polynomial it evaluates per element, not by memory: {@code F / peak}, F counting
     * its kernel's vector operations ({@link Backward#work}). Its time then scales with that count, so
     * that an erf-based GELU is priced from the measured tanh and logistic kernels at the ratio of
     * their operations (without it, the one-FLOP-per-element count made BiasGelu a memory-bound
     * Add, predicted 8 to 13 times too fast held out). On a GPU (device kind other than "cpu"),
     * whose arithmetic rate dwarfs its bandwidth, the plain roofline.
     */
    double roofline(String opType, double flops, double bytes, DType dtype) {
        if (transcendentalOnCpu(opType) || summedOnCpu(opType)) {
            return flops / device.peakFlops(dtype.toString());
        }
        return roofline(flops, bytes, dtype);
    }

    private boolean transcendentalOnCpu(String opType) {
        return "cpu".equals(device.kind()) && "transcendental".equals(OpClass.category(opType));
    }

    /**
     * True on a CPU for a global average pooling, which is bound by its additions, not by memory: each
     * channel plane (or block of 16 planes in the blocked layout) is summed into one vector
     * accumulator, a chain of dependent additions that runs at one vector per addition's latency,
     * far below what the caches deliver. Its roofline is then {@code F / peak}, F its additions (one per
     * element), so its time follows its elements: measured (ONNX Runtime 1.28, one thread, 2026-12-03,
     * set A), the calibration models' 20 global poolings (PaddleOCR cls v2 and rec v4, 9 K to 922 K
     * elements, footprints from 37 KB in the second-level cache to 3.7 MB beyond it) took 0.3 µs plus
     * 0.141 to 0.150 ns per element (17 of them; 0.18 to 0.20 the other three), where the memory
     * curve's roofline, whose bandwidth falls between those footprints, priced cls's larger ones at
     * batch 8 1.2 to 1.3 times their time. O(1).
     */
    private boolean summedOnCpu(String opType) {
        return "cpu".equals(device.kind()) && opType.equals("GlobalAveragePool");
    }

    /** Predicted time of a kernel, from its shape class and the wider groups (no size family). */
    public Prediction predict(Kernel k) {
        double r = roofline(k.opType(), k.work().flops(), k.work().bytes(), k.dtype());
        return streamed(groupPrediction(k, r, k.calls()), k);
    }

    /**
     * A prediction with the kernel's weight streaming time added ({@link #streamSeconds}), and no
     * faster than the memory curve lets an element-wise kernel run ({@link #addFloorSeconds}).
     */
    private Prediction streamed(Prediction p, Kernel k) {
        double s = streamSeconds(k.opType(), k.weightBytes());
        double floor = addFloorSeconds(k.opType(), k.work().flops(), k.work().bytes(), k.dtype());
        double t = Math.max(p.seconds() + s, floor);
        return t != p.seconds() ? new Prediction(t, p.rooflineSeconds(), p.source()) : p;
    }

    /**
     * The least time a memory-bound element-wise kernel (category elementwise, {@link OpClass#category})
     * of {@code bytes} read and written takes on a CPU with a memory curve: {@code bytes / B(bytes)},
     * B the curve's bandwidth at that footprint, which is the rate of an Add of that footprint
     * ({@code LocalCpu.memoryCurve}), the simplest kernel that reads and writes every byte once;
     * 0 otherwise (no curve, a GPU, another category, a compute-bound kernel). The curves fitted
     * through the shape classes' samples are power laws in the roofline time; carried past their
     * largest sample they flatten below it, and an Add, Mul or Clip of 12 to 19 MB was predicted at
     * 85 to 127 GB/s where the curve's Add of that footprint runs at 67 to 74 (and the kernels
     * measured 54 to 74). Not fitted: the curve is measured.
     */
    double addFloorSeconds(String opType, double flops, double bytes, DType dtype) {
        if (memory == null || !"cpu".equals(device.kind()) || !"elementwise".equals(OpClass.category(opType))
                || !memoryBound(opType, flops, bytes, dtype)) {
            return 0;
        }
        return bytes / memory.bandwidth(bytes);
    }

    /**
     * The time a matrix product of {@code opType} spends streaming its weights from memory on each
     * call: with a {@link MemoryCurve} on a CPU, {@code max(0, W - C) / B}, W the weights' bytes, C
     * the bytes the caches hold ({@link MemoryCurve#cacheBytes()}) and B the rate at which a
     * product's kernel reads weights beyond them ({@link MemoryCurve#weightStreamingBandwidth()}:
     * measured with a product of 64 MiB of weights where the curve has it, else the bandwidth of an
     * Add no cache holds); 0 without a curve, on a GPU, and for kernels other than matrix products. Weights that fit stay cached between the calls of a
     * repeated measurement and between the layers of a small model; the excess of larger ones (a
     * language model's output projection over a 50 k vocabulary, 51 MiB at width 256) is read from
     * memory each time, which the GEMM kernel's arithmetic does not hide: such a product ran at
     * 0.76 of the FLOP rate of the smaller ones (ONNX Runtime 1.28, one thread). Bytes only count
     * once the caches are full, so the time is continuous in W. O(1).
     */
    double streamSeconds(String opType, double weightBytes) {
        if (memory == null || weightBytes <= 0 || !"cpu".equals(device.kind())
                || !"matmul".equals(OpClass.category(opType))) {
            return 0;
        }
        return Math.max(0, weightBytes - memory.cacheBytes()) / memory.weightStreamingBandwidth();
    }

    /**
     * What a node's weights add to its one-node time when it runs inside a whole model: with a
     * {@link MemoryCurve} on a CPU, {@code W / B}, W its weights' bytes ({@link
     * Backward#parameterBytes}) and B the bandwidth of data no cache holds ({@link
     * MemoryCurve#streamingBandwidth()}); 0 without a curve, on a GPU, and for a matrix product
     * whose weights already stream from memory in its own prediction ({@link #streamSeconds}).
     *
     * <p>A one-node measurement calls the node again and again, so its weights stay in a cache
     * between calls; inside a model each weight is read once per run, and between two runs the
     * rest of the model's weights and activations pass through the caches (MobileNet-v2 reads
     * 13 MiB of weights and writes some 50 MiB of activations per image, ResNet-18 45 MiB of
     * weights), so each node finds its weights in memory. Timed inside MobileNet-v2 with ONNX
     * Runtime's profiler, the classifier's Gemm (5 MiB of weights, batch 1) took 212 µs against 66 µs
     * alone, about the 157 µs its weights take at the memory's bandwidth, and the last 1x1
     * convolutions 20 to 45 µs more than alone, 0.6 to 0.9 of W / B
     * ({@code org.shardplan.bench.accuracy.InModel}). Not fitted: B comes from the memory curve.
     * O(inputs).
     */
    public double coldWeightSeconds(Node n) {
        if (memory == null || !"cpu".equals(device.kind())) {
            return 0;
        }
        if (streamSeconds(n.opType(), Backward.weightBytes(n)) > 0) {
            return 0;
        }
        return Backward.parameterBytes(n) / memory.streamingBandwidth();
    }

    /**
     * What the activation memory of a whole-model run adds to the sum of its nodes' one-node times:
     * with a {@link MemoryCurve} on a CPU, {@code A / B}, A the most activation bytes the run holds at
     * once ({@link Backward#peakActivationBytes}: the least arena ONNX Runtime can run it in) and B
     * the bandwidth of data no cache holds ({@link MemoryCurve#streamingBandwidth()}); 0 without a
     * curve and on a GPU.
     *
     * <p>The same reading as {@link #coldWeightSeconds} for the buffers the nodes write and read: a
     * one-node measurement writes its output into the same buffer call after call and reads the same
     * input, both held by a cache; inside a model a buffer of the arena is first touched in a run after
     * the rest of the previous run (its weights, its other buffers) has passed through the caches, so
     * each arena byte comes from memory once per run (a store to a line no cache holds reads the line
     * first), and its later uses in the run, a few nodes apart, find it cached. Timed inside
     * MobileNet-v2 at batch 1 with ONNX Runtime's profiler (18:28 UTC, {@code InModel}), the nodes that
     * ran slower than alone beyond their weights were the first ones, whose buffers are the model's
     * largest: the stem convolution (input 0.6 MB, output 1.6 MB) 153 → 231 µs, about its bytes at
     * the memory's 30 GB/s, the first depthwise convolutions 1.29 to 1.35 times their one-node time;
     * the later ones, on buffers the run had just used, 1.0 to 1.1. Not fitted: B comes from the
     * memory curve, A from the graph. O(nodes + values).
     */
    public double coldActivationSeconds(Graph g) {
        if (memory == null || !"cpu".equals(device.kind())) {
            return 0;
        }
        return Backward.peakActivationBytes(g) / memory.streamingBandwidth();
    }

    /**
     * The time a convolution of ONNX Runtime's blocked-channel layout spends applying a fused
     * activation other than ReLU: with a {@link MemoryCurve} on a CPU, {@code 2·O / B(f)}, O the
     * bytes of the output, f the bytes one pass of the activation covers and B(f) the curve's
     * bandwidth for that footprint; 0 for other signatures, for a ReLU or no activation, without a
     * curve and on a GPU. MLAS's NCHWc kernels apply a ReLU inside the kernel as they store each
     * output vector, but any other activation (Clip, HardSigmoid, ...) in a separate pass over the
     * output just written, reading and writing it again ({@code MLAS_CONV_KERNEL_FLAG_OTHER_ACTIVATION},
     * {@code DoActivation} in onnxruntime/core/mlas/lib/snchwc.cpp): a pointwise convolution of
     * stride 1 passes over the whole output plane of a set of up to four 16-channel filter blocks
     * ({@code FilterSetSize}) at once, a depthwise one over one output row of one block, any other
     * over one output row of a filter set ({@link #activationPass}). Nothing is fitted: the rate is
     * the memory curve's (an Add of that footprint, measured by {@code LocalCpu.memoryCurve}).
     * Beside the arithmetic of a pointwise convolution of K input channels (2·K FLOPs per output),
     * the pass is the larger the smaller K: MobileNet-v2's 1x1 convolutions of 16 and 32 input
     * channels with a fused Clip were predicted at 0.63 to 0.83 of their measured time without it,
     * those of 160 and 320 at 0.94 to 1.01 (benchmarks/results/cost-accuracy-held-out.md). Samples are fitted with the pass taken off and predictions get it added, as
     * with {@link #streamSeconds}. Linear in the signature's length.
     */
    double activationPassSeconds(String signature) {
        if (memory == null || !"cpu".equals(device.kind())) {
            return 0;
        }
        double[] pass = activationPass(signature);
        return pass[0] > 0 ? pass[0] / memory.bandwidth(pass[1]) : 0;
    }

    /** The memory curve's rate of aliased reorderings on a CPU, 0 where there is none. */
    private double aliasedReorderRate() {
        return memory != null && "cpu".equals(device.kind()) ? memory.aliasedReorderBandwidth() : 0;
    }

    /**
     * The least time of a reordering into the blocked channel layout whose channel planes alias in the
     * first-level cache ({@link #aliasedReorder}): {@code bytes / B}, B the rate such a reordering was
     * measured at on this core ({@link MemoryCurve#aliasedReorderBandwidth()}, a microbenchmark of 16
     * planes of 64 KiB); 0 for other signatures, without that rate and on a GPU. The PaddleOCR
     * detector's reorderings of 16 and 32 planes of 160 x 160 ran at 26 to 27 GB/s, every other
     * reordering of the benchmark's models at 46 to 80; priced from the reorderings' curve, the first
     * were predicted at 0.29 to 0.66 of their measured time held out. Samples of such reorderings stay in
     * the curves (left out, PaddleOCR rec's largest reorderings at batch 4, which run at 50 GB/s where
     * the smaller ones run at 70, lost the slow samples that had priced them: the calibration models'
     * nodes off by more than 25% went from 517 to 524, benchmarks/results/cost-accuracy-held-out.md).
     * Nothing is fitted to a model: B is the microbenchmark's. Linear in the signature's length.
     */
    double aliasedReorderSeconds(String signature, double bytes) {
        double rate = aliasedReorderRate();
        return rate > 0 && aliasedReorder(signature) ? bytes / rate : 0;
    }

    /**
     * True for the signature of ONNX Runtime's reordering of NCHW into the blocked layout
     * ({@code com.microsoft.nchwc:ReorderInput}, not channels-last) of at least one full block of 16
     * channels whose planes (the product of the spatial sizes times the element size) are a whole number
     * of 4 KiB, the span of the first-level cache's sets on current x86 cores: {@code MlasReorderInputNchw}
     * (onnxruntime/core/mlas/lib/reorder.cpp) loads 4 floats at a time from each of a block's 16 planes
     * in turn, and planes that far apart map those loads to one set, which holds 8 (or 12) lines. The
     * mirror of {@link Backward#aliasedScatter} for the reordering out of the layout. False for a
     * signature without shapes. Linear in the signature's length.
     */
    static boolean aliasedReorder(String signature) {
        if (signature == null || !signature.startsWith("com.microsoft.nchwc:ReorderInput|")) {
            return false;
        }
        String[] parts = signature.split("\\|", -1);
        if (parts.length < 3) {
            return false;
        }
        String last = attr(parts[1], "channels_last");
        if (last != null && !last.equals("0")) {
            return false;
        }
        java.util.regex.Matcher m = TENSOR.matcher(parts[2]);
        if (!m.lookingAt()) {
            return false;
        }
        Optional<DType> t = DType.fromName(m.group(1));
        String[] dims = m.group(2).split(",");
        if (t.isEmpty() || t.get().byteSize() <= 0 || dims.length < 3) {
            return false;
        }
        try {
            if (Long.parseLong(dims[1]) < NCHWC_BLOCK) {
                return false;
            }
            long plane = t.get().byteSize();
            for (int i = 2; i < dims.length; i++) {
                plane *= Long.parseLong(dims[i]);
            }
            return plane > 0 && plane % L1_SET_PERIOD == 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Bytes between addresses that share a set of the first-level data cache (as {@link Backward}'s). */
    static final long L1_SET_PERIOD = 4096;

    /** MLAS's blocked-channel width and the filter blocks one kernel call computes ({@code FilterSetSize}). */
    static final int NCHWC_BLOCK = 16;
    static final int FILTER_SET = 4;

    /**
     * {@code {bytes, footprint}} of the pass of a fused non-ReLU activation over a
     * {@code com.microsoft.nchwc:Conv} signature's output ({@link #activationPassSeconds}): bytes
     * read and written, twice the output's; footprint the bytes one pass covers,
     * {@code e · 16 · F · S}, e the element size, F the filter blocks of a pass (min(4, ⌈C/16⌉),
     * 1 for a depthwise convolution, C the output channels) and S the output pixels of a pass (the
     * whole plane H·W for a 1x1 kernel of stride 1, one row W otherwise). {@code {0, 0}} for other
     * signatures and for ReLU or no activation. Linear in the signature's length.
     */
    static double[] activationPass(String signature) {
        double[] none = {0, 0};
        if (signature == null || !signature.startsWith("com.microsoft.nchwc:Conv|")) {
            return none;
        }
        String[] parts = signature.split("\\|", -1);
        if (parts.length < 4) {
            return none;
        }
        java.util.regex.Matcher a = ACTIVATION.matcher(parts[1]);
        if (!a.find() || a.group(1).equals("Relu")) {
            return none;
        }
        java.util.regex.Matcher m = TENSOR.matcher(parts[3]);
        if (!m.lookingAt()) {
            return none;
        }
        Optional<DType> t = DType.fromName(m.group(1));
        String[] dims = m.group(2).split(",");
        if (t.isEmpty() || t.get().byteSize() <= 0 || dims.length != 4) {
            return none;
        }
        long[] y = new long[4];
        long group;
        try {
            for (int i = 0; i < 4; i++) {
                y[i] = Long.parseLong(dims[i]);
            }
            group = attrLong(parts[1], "group", 1);
        } catch (NumberFormatException ex) {
            return none; // a signature from an edited calibration file: no pass rather than a failure
        }
        double e = t.get().byteSize();
        double bytes = 2 * e * y[0] * y[1] * y[2] * y[3];
        boolean depthwise = group > 1;
        boolean unstridedPointwise = "1,1".equals(attr(parts[1], "kernel_shape"))
                && ("1,1".equals(attr(parts[1], "strides")) || attr(parts[1], "strides") == null);
        long filterBlocks = depthwise ? 1 : Math.min(FILTER_SET, (y[1] + NCHWC_BLOCK - 1) / NCHWC_BLOCK);
        double pixels = !depthwise && unstridedPointwise ? y[2] * y[3] : y[3];
        return new double[] {bytes, e * NCHWC_BLOCK * filterBlocks * pixels};
    }

    /** The value of attribute {@code name} in a signature's attribute list ({@code a=v;b=w}), or null. */
    private static String attr(String attributes, String name) {
        for (String kv : attributes.split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0 && kv.substring(0, eq).equals(name)) {
                return kv.substring(eq + 1);
            }
        }
        return null;
    }

    private static long attrLong(String attributes, String name, long dflt) {
        String v = attr(attributes, name);
        return v == null ? dflt : Long.parseLong(v);
    }

    private static final java.util.regex.Pattern ACTIVATION = java.util.regex.Pattern.compile(
            "(?:^|;)activation=([A-Za-z]+)");
    private static final java.util.regex.Pattern TENSOR = java.util.regex.Pattern.compile(
            "([a-z0-9]+)\\[([0-9,]*)\\]");

    /**
     * The bytes of the weights (inputs marked {@code p} or {@code c}) of a matrix product's operator
     * signature ({@code op|attributes|inputs|outputs}, see {@code OpSignature}), the way
     * {@link Backward#weightBytes} counts them for a node: 0 for other op types, for signatures
     * without shapes and for element types without a byte size. Linear in the signature's length.
     */
    static double signatureWeightBytes(String signature) {
        String[] parts = signature.split("\\|", -1);
        if (parts.length < 4) {
            return 0;
        }
        String op = parts[0].substring(parts[0].indexOf(':') + 1);
        if (!WEIGHT_PRODUCTS.contains(op)) {
            return 0;
        }
        double total = 0;
        for (String in : parts[2].split(";")) {
            java.util.regex.Matcher m = WEIGHT_INPUT.matcher(in);
            if (!m.matches()) {
                continue;
            }
            Optional<DType> t = DType.fromName(m.group(1));
            if (t.isEmpty() || t.get().byteSize() <= 0) {
                continue;
            }
            double n = 1;
            for (String d : m.group(2).split(",")) {
                if (!d.isEmpty()) {
                    n *= Long.parseLong(d);
                }
            }
            total += n * t.get().byteSize();
        }
        return total;
    }

    private static final Set<String> WEIGHT_PRODUCTS = Set.of("MatMul", "Gemm", "FusedMatMul", "FusedGemm");
    /** An input of a signature that is a weight: type, bracketed sizes, then p or c (and a constant's values). */
    private static final java.util.regex.Pattern WEIGHT_INPUT = java.util.regex.Pattern.compile(
            "([a-z0-9]+)\\[([0-9,]*)\\][pc].*");

    /**
     * True when moving the bytes takes longer than the FLOPs on the device (left of the roofline's
     * ridge); never for a transcendental op on a CPU (see {@link #roofline(String, double, double, DType)}).
     */
    private boolean memoryBound(String opType, double flops, double bytes, DType dtype) {
        return !transcendentalOnCpu(opType) && !summedOnCpu(opType)
                && bytes / bandwidth(bytes) > flops / device.peakFlops(dtype.toString());
    }

    /**
     * The samples of a group on the kernel's side of the roofline's ridge (memory- or
     * compute-bound), when at least {@link #SAME_BOUND_MIN} of them are; else the whole group. A
     * kernel whose shape class has no sample is otherwise predicted from its op type's curve,
     * which for a depthwise or BatchNormalization-like convolution (a few FLOPs per byte) is the
     * curve of the dense convolutions (hundreds), fitted where their efficiency is that of the
     * arithmetic units, not of the memory.
     */
    private static List<Point> sameBound(List<Point> group, boolean memoryBound) {
        List<Point> same = new ArrayList<>();
        for (Point p : group) {
            if (p.memoryBound == memoryBound) {
                same.add(p);
            }
        }
        return same.size() >= SAME_BOUND_MIN && same.size() < group.size() ? same : group;
    }

    /** Samples on the kernel's side of the ridge a wider group needs before only those are used. */
    static final int SAME_BOUND_MIN = 4;

    private Prediction groupPrediction(Kernel k, double r, double calls) {
        boolean mb = memoryBound(k.opType(), k.work().flops(), k.work().bytes(), k.dtype());
        List<List<Point>> levels = new ArrayList<>();
        List<String> names = new ArrayList<>();
        levels.add(byClass.getOrDefault(k.opType() + "/" + k.shapeClass(), List.of()));
        names.add("class");
        // a class never measured: first the class of another operator that runs the same loop
        java.util.Optional<String> proxy = OpClass.proxy(k.opType(), k.shapeClass());
        if (proxy.isPresent()) {
            levels.add(byClassWide.getOrDefault(proxy.get(), List.of()));
            names.add("proxy");
        }
        levels.add(sameBound(byOp.getOrDefault(k.opType(), List.of()), mb));
        names.add("op");
        int opLevel = levels.size() - 1;
        levels.add(sameBound(byCategory.getOrDefault(OpClass.category(k.opType()), List.of()), mb));
        names.add("category");
        levels.add(sameBound(all, mb));
        names.add("all");
        double wideCalls = OpClass.callsBeyondClass(k.opType(), k.shapeClass()) ? calls : 1;
        for (int i = 0; i < levels.size(); i++) {
            if (!levels.get(i).isEmpty()) {
                double c = i == 0 ? calls : wideCalls;
                if (i > opLevel && !k.parts().isEmpty()) {
                    // the operator was never measured: the loops it runs, each from its own operator's curves
                    double t = 0;
                    for (Kernel part : k.parts()) {
                        t += predict(part).seconds();
                    }
                    return new Prediction(t, r, "parts");
                }
                if (i == opLevel + 1 && transcendentalOnCpu(k.opType())) {
                    return new Prediction(perOpTypeMean(levels.get(i), r, c, k.opType()), r, names.get(i));
                }
                return new Prediction(predictAt(levels, i, r, c, k.opType()), r, names.get(i));
            }
        }
        if (device.kernels().isPresent()) {
            return new Prediction(kernelModel(k), r, "kernel-model");
        }
        return new Prediction(analytic(r, k.opType()), r, "analytic");
    }

    /**
     * The time of a transcendental kernel whose op type was never measured, from the other
     * transcendental op types: the geometric mean over those op types of each one's own curve at
     * roofline time {@code r} (an op type whose samples do not spread is scaled along the
     * category's curve). The roofline of these ops counts their kernels' vector operations per
     * element ({@link OpClass#operationsPerElement}), so every op type is one estimate of the same
     * rate; fitted over the category's samples directly, the op type measured at the most sizes
     * near {@code r} answered alone (the GPT-2-style decoder's Tanh, held out, was priced from eight
     * QuickGelu samples of PaddleOCR rec at 1.9 times its measured rate, where Sigmoid and BiasGelu,
     * measured at two and six sizes, ran within 0.8 to 1.3 times of it). O(n log n) in the category's
     * samples.
     */
    private double perOpTypeMean(List<Point> category, double r, double calls, String opType) {
        double logSum = 0;
        int n = 0;
        for (Map.Entry<String, List<Point>> e : byOp.entrySet()) {
            if (!"transcendental".equals(OpClass.category(e.getKey())) || e.getValue().isEmpty()) {
                continue;
            }
            List<List<Point>> lv = List.of(e.getValue(), category);
            double t = predictAt(lv, 0, r, calls, opType);
            if (t > 0) {
                logSum += Math.log(t);
                n++;
            }
        }
        return n == 0 ? predictAt(List.of(category), 0, r, calls, opType) : Math.exp(logSum / n);
    }

    /**
     * Predicted time of a kernel whose operator signature is known: from the measured members of
     * its size family that are scalings of it ({@link SizeFamily#scaleTo}), when there are any,
     * else as {@link #predict(Kernel)}. Among the members, by roofline time r: between the
     * nearest member below and the nearest above, the time is interpolated linearly in
     * {@code (log r, log t)}; where the family has more members, the line is instead fitted by
     * least squares through that pair and the {@link #FAMILY_EXTRA} next nearest members, each
     * weighted {@code 1 / (1 + d²)} with d its distance from r in doublings, so that one noisy
     * neighbour counts for less; on one side only, the nearest member's time is carried along the
     * shape class's curve, {@code t = t_p · g(r) / g(r_p)}. Members of equal r count as one, at
     * their geometric mean time. Source "family". Running time O(m log m) for m members of the
     * family, plus one group prediction.
     */
    public Prediction predict(Kernel k, String signature) {
        Prediction p = predictFused(k, signature);
        double pass = signature == null ? 0 : activationPassSeconds(signature);
        p = pass > 0 ? new Prediction(p.seconds() + pass, p.rooflineSeconds(), p.source()) : p;
        double aliased = signature == null ? 0 : aliasedReorderSeconds(signature, k.work().bytes());
        return aliased > p.seconds() ? new Prediction(aliased, p.rooflineSeconds(), p.source()) : p;
    }

    /** {@link #predict(Kernel, String)} before the pass of a fused activation. */
    private Prediction predictFused(Kernel k, String signature) {
        double r = roofline(k.opType(), k.work().flops(), k.work().bytes(), k.dtype());
        if (signature == null || bySkeleton.isEmpty()) {
            return streamed(groupPrediction(k, r, k.calls()), k);
        }
        Optional<SizeFamily> f = SizeFamily.of(signature);
        List<Member> members = f.isPresent() ? bySkeleton.getOrDefault(f.get().skeleton(), List.of()) : List.of();
        List<Point> pts = new ArrayList<>();
        for (Member m : members) {
            if (Double.isFinite(f.get().scaleTo(m.family()))) {
                pts.add(m.point());
            }
        }
        if (pts.isEmpty()) {
            return streamed(groupPrediction(k, r, k.calls()), k);
        }
        return streamed(new Prediction(familyAt(pts, r, k, this), r, "family"), k);
    }

    /** See {@link #predict(Kernel, String)}. */
    private static double familyAt(List<Point> members, double r, Kernel k, EfficiencyModel model) {
        // members of equal roofline time merged (geometric mean), sorted by r
        List<Point> pts = new ArrayList<>(members);
        pts.sort(Comparator.comparingDouble(Point::r));
        List<Point> merged = new ArrayList<>();
        int i = 0;
        while (i < pts.size()) {
            int j = i;
            double lt = 0;
            while (j < pts.size() && pts.get(j).r <= pts.get(i).r * (1 + 1e-9)) {
                lt += Math.log(pts.get(j).t);
                j++;
            }
            merged.add(new Point(pts.get(i).r, Math.exp(lt / (j - i)), pts.get(i).calls));
            i = j;
        }
        Point lo = null;
        Point hi = null;
        for (Point p : merged) {
            if (p.r <= r * (1 + 1e-9)) {
                lo = p;
            }
            if (hi == null && p.r >= r * (1 - 1e-9)) {
                hi = p;
            }
        }
        if (lo != null && hi != null) {
            if (hi.r <= lo.r * (1 + 1e-9)) {
                return lo.t;
            }
            // the bracketing pair and up to FAMILY_EXTRA more members nearest in log r: a line in
            // (log r, log t) by least squares, weighted 1 / (1 + (Δ log2 r)²), evaluated at r
            List<Point> use = new ArrayList<>(List.of(lo, hi));
            List<Point> rest = new ArrayList<>(merged);
            rest.remove(lo);
            rest.remove(hi);
            double lr = Math.log(r);
            rest.sort(Comparator.comparingDouble(p -> Math.abs(Math.log(p.r) - lr)));
            use.addAll(rest.subList(0, Math.min(FAMILY_EXTRA, rest.size())));
            if (use.size() > 2) {
                double sw = 0;
                double sx = 0;
                double sy = 0;
                double sxx = 0;
                double sxy = 0;
                for (Point p : use) {
                    double x = (Math.log(p.r) - lr) / Math.log(2);
                    double y = Math.log(p.t);
                    double wt = 1.0 / (1 + x * x);
                    sw += wt;
                    sx += wt * x;
                    sy += wt * y;
                    sxx += wt * x * x;
                    sxy += wt * x * y;
                }
                double det = sw * sxx - sx * sx;
                if (det > 1e-12 * sw * sxx) {
                    return Math.exp((sy * sxx - sx * sxy) / det);
                }
            }
            double w = (Math.log(r) - Math.log(lo.r)) / (Math.log(hi.r) - Math.log(lo.r));
            return Math.exp(Math.log(lo.t) + w * (Math.log(hi.t) - Math.log(lo.t)));
        }
        Point p = lo != null ? lo : hi;
        double at = model.groupPrediction(k, r, k.calls()).seconds();
        double atP = model.groupPrediction(k, p.r, p.calls).seconds();
        return at > 0 && atP > 0 ? p.t * at / atP : p.t;
    }

    /**
     * The time of a kernel under the device's {@link KernelModel} (no samples): a GEMM at its
     * shape's efficiency, anything else at the memory-bound fraction of the bandwidth, plus the
     * launch overhead: {@code launch + max(F / (peak · e), B / (bandwidth · memoryEfficiency))}, with
     * e the GEMM efficiency of the kernel's shape for a matrix product whose shape is known, the
     * large-GEMM efficiency for another matrix product, and 1 otherwise (such kernels are
     * memory-bound). O(1).
     */
    double kernelModel(Kernel k) {
        KernelModel km = device.kernels().orElseThrow();
        double peak = device.peakFlops(k.dtype().toString());
        double e = 1;
        if ("matmul".equals(OpClass.category(k.opType()))) {
            e = k.gemm().map(g -> km.gemmEfficiency(g.batch(), g.m(), g.n(), g.k())).orElse(km.gemmEfficiency());
        }
        double compute = k.work().flops() / (peak * e);
        double memory = k.work().bytes() / (device.memoryBandwidthBytesPerSecond() * km.memoryEfficiency());
        return km.launchSeconds() + Math.max(compute, memory);
    }

    private static double analytic(double r, String opType) {
        double e = "matmul".equals(OpClass.category(opType)) ? 0.5 : 0.7;
        return DEFAULT_OVERHEAD + r / e;
    }

    /** Largest over smallest roofline time a group needs for a curve of its own. */
    static final double MIN_SPREAD = 1.5;

    /** True when the points span enough roofline times to fit a curve through them. */
    private static boolean spread(List<Point> pts) {
        if (pts.size() < 2) {
            return false;
        }
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (Point p : pts) {
            lo = Math.min(lo, Math.max(p.r, 1e-12));
            hi = Math.max(hi, Math.max(p.r, 1e-12));
        }
        return hi / lo >= MIN_SPREAD;
    }

    private static double predictAt(List<List<Point>> levels, int i, double r, double calls, String opType) {
        List<Point> pts = levels.get(i);
        if (spread(pts)) {
            if (pts.size() >= 4 && callsVary(pts)) {
                double t = callsFit(pts, r, calls);
                if (t > 0) {
                    return t;
                }
            }
            double t = ownTrend(pts, r);
            if (!Double.isNaN(t)) {
                return t;
            }
            // outside the group's sizes, and its times do not grow with size anywhere: no curve of its own
            // to extend; the next group's curve, scaled through these points, as for a group without spread
        }
        // too few distinct sizes for a curve: the next group's curve, scaled through these points
        // (their geometric mean time at their geometric mean roofline time)
        double lr = 0;
        double lt = 0;
        for (Point p : pts) {
            lr += Math.log(Math.max(p.r, 1e-12));
            lt += Math.log(p.t);
        }
        double r0 = Math.exp(lr / pts.size());
        double t0 = Math.exp(lt / pts.size());
        int j = i + 1;
        while (j < levels.size() && !spread(levels.get(j))) {
            j++;
        }
        double parentAtR;
        double parentAtR0;
        if (j < levels.size()) {
            parentAtR = localFit(levels.get(j), r);
            parentAtR0 = localFit(levels.get(j), r0);
        } else {
            parentAtR = analytic(r, opType);
            parentAtR0 = analytic(r0, opType);
        }
        return parentAtR0 > 0 ? t0 * parentAtR / parentAtR0 : t0;
    }

    /**
     * The time of a kernel of roofline time {@code r} from its own group's curve: within the group's
     * roofline times {@link #localFit(List, double)}; outside them, below as above, the line of the
     * {@link #NEIGHBOURS} points nearest r or of the 8, 16, ... nearest, the first neighbourhood whose
     * times grow with size (a least-squares slope that is not negative), as {@link #aboveRange}; NaN
     * where none does, up to the whole group: a flat line through such points prices every kernel
     * beyond them alike, however far, and the caller scales the next group's curve through them
     * instead. Measured on the held-out set of 2026-12-03 07:21 UTC: DenseNet-121's 3x3 convolutions of
     * 128 to 32 channels, whose class the other models held only at a few large sizes with times falling
     * with size (noise on the first pass), were all priced at 2.33 ms from 7x7 to 56x56 (measured 34 µs to
     * 2.1 ms). O(n log n) per neighbourhood, O(log n) neighbourhoods.
     */
    private static double ownTrend(List<Point> pts, double r) {
        double rMin = Double.POSITIVE_INFINITY;
        double rMax = 0;
        for (Point p : pts) {
            rMin = Math.min(rMin, p.r);
            rMax = Math.max(rMax, p.r);
        }
        boolean outside = r < rMin * (1 - 1e-9) || r > rMax * (1 + 1e-9);
        if (!outside) {
            return localFit(pts, r);
        }
        for (int n = NEIGHBOURS; ; n *= 2) {
            List<Point> near = nearest(pts, r, n);
            if (rawSlope(near) >= 0) {
                double[] ck = line(near);
                return ck[0] + ck[1] * r;
            }
            if (near.size() == pts.size()) {
                return Double.NaN;
            }
        }
    }

    private static boolean callsVary(List<Point> pts) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (Point p : pts) {
            lo = Math.min(lo, p.calls);
            hi = Math.max(hi, p.calls);
        }
        return hi > lo;
    }

    /**
     * Weighted least squares (weights 1/t²) of {@code t = c + k·r + a·calls} over all points of a
     * group whose kernels are run as a varying number of inner calls (grouped convolutions run
     * group by group: each call costs about a, whatever its size). A negative c is pinned to 0 and
     * the other two refitted. Returns -1 when k or a comes out negative or the system is singular,
     * so that the caller falls back to the fit in r.
     */
    static double callsFit(List<Point> pts, double r, double calls) {
        double[][] m = new double[3][4];
        for (Point p : pts) {
            double w = 1.0 / (p.t * p.t);
            double[] x = {1, p.r, p.calls};
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    m[i][j] += w * x[i] * x[j];
                }
                m[i][3] += w * x[i] * p.t;
            }
        }
        double[] c = solve3(m);
        if (c != null && c[0] < 0) {
            // no fixed cost: t = k·r + a·calls (the 2x2 system left when c is pinned to 0)
            double det = m[1][1] * m[2][2] - m[1][2] * m[2][1];
            if (Math.abs(det) <= 1e-12 * Math.abs(m[1][1] * m[2][2])) {
                return -1;
            }
            double k = (m[1][3] * m[2][2] - m[1][2] * m[2][3]) / det;
            double a = (m[1][1] * m[2][3] - m[2][1] * m[1][3]) / det;
            c = new double[] {0, k, a};
        }
        if (c == null || c[1] < 0 || c[2] < 0) {
            return -1;
        }
        return c[0] + c[1] * r + c[2] * calls;
    }

    /** Gaussian elimination with partial pivoting on a 3x4 augmented matrix; null if singular. */
    private static double[] solve3(double[][] a) {
        int n = 3;
        for (int col = 0; col < n; col++) {
            int piv = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
                    piv = r;
                }
            }
            double[] tmp = a[col];
            a[col] = a[piv];
            a[piv] = tmp;
            double scale = 0;
            for (int j = 0; j < n; j++) {
                scale = Math.max(scale, Math.abs(a[j][col]));
            }
            if (Math.abs(a[col][col]) <= 1e-12 * Math.max(scale, 1e-300)) {
                return null;
            }
            for (int r = col + 1; r < n; r++) {
                double f = a[r][col] / a[col][col];
                for (int j = col; j <= n; j++) {
                    a[r][j] -= f * a[col][j];
                }
            }
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double v = a[i][n];
            for (int j = i + 1; j < n; j++) {
                v -= a[i][j] * x[j];
            }
            x[i] = v / a[i][i];
        }
        return x;
    }

    /** {@link #localFit(List, double)} over parallel arrays of roofline times and measured times. */
    static double localFit(double[] rs, double[] ts, double r) {
        List<Point> pts = new ArrayList<>();
        for (int i = 0; i < rs.length; i++) {
            pts.add(new Point(rs[i], ts[i], 1));
        }
        return localFit(pts, r);
    }

    /**
     * Weighted least squares of t = c + k·r over the nearest points in log r (see class comment).
     * Above the group's largest roofline time the line is extrapolated only where its slope came
     * out of the data; where it came out negative, wider neighbourhoods are tried
     * ({@link #aboveRange}).
     */
    private static double localFit(List<Point> pts, double r) {
        double rMax = 0;
        for (Point p : pts) {
            rMax = Math.max(rMax, p.r);
        }
        if (rMax > 0 && r > rMax * (1 + 1e-9)) {
            return aboveRange(pts, r);
        }
        return fitAt(pts, r, NEIGHBOURS);
    }

    /**
     * The time of a kernel of roofline time {@code r} above every sample of its group: the line of
     * the {@link #NEIGHBOURS} samples nearest r (the group's largest), or where the least-squares
     * slope of those comes out negative, of the 8, 16, ... nearest, the first neighbourhood whose
     * slope is not negative; the group's mean time when none is. Within a group's range a negative
     * slope is clamped to a flat line through the neighbours (their sizes lie on both sides of the
     * kernel, so the flat line interpolates); above it the flat line would price every larger
     * kernel alike: the four largest reorderings into and out of the blocked layout that PaddleOCR
     * rec measured (2 to 8 MB), alike in size but apart in time under load, gave a negative slope,
     * and the detector's ReorderOutput of [2,32,160,160] (13 MB) was priced at 141 µs, the same as
     * one of [1,16,160,160] (3 MB). O(n log n) per neighbourhood, O(log n) neighbourhoods.
     */
    private static double aboveRange(List<Point> pts, double r) {
        for (int n = NEIGHBOURS; ; n *= 2) {
            List<Point> near = nearest(pts, r, n);
            if (rawSlope(near) >= 0 || near.size() == pts.size()) {
                double[] ck = line(near);
                return ck[0] + ck[1] * r;
            }
        }
    }

    /** The slope of the weighted least-squares line through {@code near} before any clamping (0 when singular). */
    private static double rawSlope(List<Point> near) {
        double[] m = moments(near);
        double det = m[0] * m[2] - m[1] * m[1];
        return Math.abs(det) <= 1e-12 * m[0] * m[2] ? 0 : (m[0] * m[4] - m[1] * m[3]) / det;
    }

    /** {@code {Σw, Σw·r, Σw·r², Σw·t, Σw·r·t}} over {@code near}, w = 1/t². O(points). */
    private static double[] moments(List<Point> near) {
        double[] m = new double[5];
        for (Point p : near) {
            double w = 1.0 / (p.t * p.t);
            m[0] += w;
            m[1] += w * p.r;
            m[2] += w * p.r * p.r;
            m[3] += w * p.t;
            m[4] += w * p.r * p.t;
        }
        return m;
    }

    /** The local line's value at r over the {@code n} points nearest r in log r. */
    private static double fitAt(List<Point> pts, double r, int n) {
        double[] ck = line(nearest(pts, r, n));
        return ck[0] + ck[1] * r;
    }

    private static List<Point> nearest(List<Point> pts, double r, int n) {
        double lr = Math.log(Math.max(r, 1e-12));
        List<Point> near = new ArrayList<>(pts);
        near.sort(Comparator.comparingDouble(p -> Math.abs(Math.log(Math.max(p.r, 1e-12)) - lr)));
        return near.subList(0, Math.min(n, near.size()));
    }

    /**
     * {@code {c, k}} of t = c + k·r by least squares weighted 1/t² over {@code near}, with k ≥ 0
     * and c ≥ 0 (a negative one pinned to 0 and the other refitted). O(points).
     */
    private static double[] line(List<Point> near) {
        double[] m = moments(near);
        double s = m[0];
        double sr = m[1];
        double srr = m[2];
        double st = m[3];
        double srt = m[4];
        double det = s * srr - sr * sr;
        double c;
        double k;
        if (Math.abs(det) <= 1e-12 * s * srr) {
            c = st / s;
            k = 0;
        } else {
            c = (st * srr - sr * srt) / det;
            k = (s * srt - sr * st) / det;
        }
        if (k < 0) {
            k = 0;
            c = st / s;
        }
        if (c < 0) {
            c = 0;
            k = srt / srr;
        }
        return new double[] {c, k};
    }
}
