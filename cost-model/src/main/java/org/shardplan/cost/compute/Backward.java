package org.shardplan.cost.compute;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.passes.Coarsening;

/**
 * The backward pass of a node, written out as kernels of known shapes, and the activations the
 * node keeps for it. With {@code |t|} the bytes of tensor t and F the forward FLOPs:
 *
 * <ul>
 * <li>MatMul {@code Y = A·B} (K the reduced size): {@code dA = dY·Bᵀ} and {@code dB = Aᵀ·dY}, each
 *     {@code 2·|Y|·K} FLOPs (= F), reading dY and the other operand and writing the gradient;
 *     each only when that operand needs a gradient (a weight or an activation, not a graph input
 *     or constant). Gemm adds the bias gradient, a sum of dY over the rows ({@code |Y|} FLOPs).
 * <li>Conv: the data gradient (a transposed convolution of the same FLOPs as the forward without
 *     bias, reading dY and W, writing dX) and the weight gradient (the same FLOPs, reading X and dY,
 *     writing dW), and the bias gradient {@code |Y|}. ConvTranspose likewise, roles swapped.
 * <li>View-only data movement (Reshape, Squeeze, Unsqueeze, Flatten, Identity, shape queries) and
 *     an inference Dropout: nothing. A Dropout in training ({@link Coarsening#isTrainingDropout}) is
 *     element-wise: its backward applies the mask to the output gradient (the mask, one byte per
 *     element, is not counted among the saved activations). Other data movement (Transpose, Concat, Slice, Gather, Pad, Resize ...): the
 *     reverse movement, the same bytes; Expand and Tile reduce ({@code |Y|} FLOPs).
 * <li>Everything else (element-wise, normalization, pooling, reductions): one gradient kernel
 *     of twice the forward FLOPs, reading dY and the saved tensors and writing dX (forward bytes
 *     plus the bytes of dY), priced as the forward operator.
 * </ul>
 * A node none of whose inputs needs a gradient has no backward work.
 */
public final class Backward {
    private Backward() {}

    private static final Set<String> VIEWS = Set.of("Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity",
            "Shape", "Size", "Constant", "ConstantOfShape", "Range", "Dropout");
    private static final Set<String> LINEAR = Set.of("Add", "Sub", "Neg", "Sum", "Mean", "Cast", "Concat",
            "Split", "Slice", "Transpose", "Pad", "Expand", "Tile", "Gather", "Resize", "Upsample", "ReduceSum",
            "ReduceMean", "GlobalAveragePool", "AveragePool", "DepthToSpace", "SpaceToDepth");

    /** True for a value a gradient is computed for: a floating-point weight or activation. */
    public static boolean needsGrad(Value v) {
        return !v.isAbsent() && (v.kind() == Value.Kind.PARAMETER || v.kind() == Value.Kind.INTERMEDIATE)
                && v.dtype().isFloatingPoint();
    }

    static long bytes(Value v) {
        return v.isAbsent() ? 0 : v.type().byteSize().orElse(0);
    }

    static long elements(Value v) {
        return v.isAbsent() ? 0 : v.shape().numElements().orElse(0);
    }

    /** The element type a node computes in: its first output's, float32 if unknown. */
    static DType dtypeOf(Node n) {
        if (!n.outputs().isEmpty() && n.output(0).dtype() != DType.UNDEFINED) {
            return n.output(0).dtype();
        }
        return DType.FLOAT32;
    }

    /** The forward kernel of a node, with the loops it runs as ({@link #parts}). */
    public static Kernel forward(Node n) {
        Kernel k = new Kernel("forward", n.opType(), OpClass.shapeClass(n), work(n), dtypeOf(n), OpClass.calls(n));
        double[] g = gemmDims(n);
        k = k.withWeightBytes(weightBytes(n)).withParts(parts(n));
        return g == null ? k : k.withGemm(new Kernel.Gemm(g[0], g[1], g[2], g[3]));
    }

    /**
     * The loops ONNX Runtime's CPU kernel runs for a node whose operator is several loops, each
     * written as a kernel of the operator whose loop it is (so that a node whose own operator was
     * never measured is priced from the measured curves of those operators,
     * {@link EfficiencyModel}); empty for other nodes and unknown shapes. e is the element size.
     * <ul>
     * <li>ConvTranspose (onnxruntime/core/providers/cpu/nn/conv_transpose.cc, {@code DoConvTranspose};
     *     the backward-data pass of a convolution): per image and group a GEMM
     *     {@code col = Wᵀ·X} of {@code M = (C_out/g)·Πk} rows, {@code N = Π in} columns and
     *     {@code K = C_in/g}, into a column buffer, then {@code Col2im}, which zero-fills the output
     *     and adds every column entry whose output position falls inside the output (stride,
     *     padding and dilation decide which, {@link #convTransposeValidFraction}) one element at a
     *     time; then the bias, added per channel. Kernels: a MatMul ("2d/act", or "batched/act" over
     *     {@code B = batch·g} products) of {@code 2·B·M·N·K} FLOPs reading {@code e·B·(M·K + 2·K·N)}
     *     and writing {@code e·B·(M·N + K·N)} bytes (X, the B operand, is an activation, which MLAS's
     *     SGEMM copies into packed panels on every call and its kernel reads from there:
     *     {@code MlasSgemmCopyPackB}, onnxruntime/core/mlas/lib/sgemm.cpp; with M = 4 rows, a
     *     ConvTranspose to one channel with a 2x2 kernel, that copy is most of the GEMM's traffic); the scatter, a Transpose of class "elements" (a loop that
     *     moves single elements) of V FLOPs (V the valid column entries of the {@code C = B·M·N}),
     *     reading {@code e·(C + V)} and writing {@code e·(V + |Y|)} bytes; an Add of class "outer"
     *     for the bias.
     * <li>Where (onnxruntime/core/providers/cpu/tensor/where_op.cc): two selections, each a
     *     broadcast of the condition with X and with Y into a temporary of their broadcast shape,
     *     and a merge of the two temporaries into the output: three Adds of the broadcast class of
     *     their inputs ({@link OpClass#broadcastClass}), one FLOP per element written, reading
     *     their inputs (the condition one byte per element) and writing their outputs.
     * </ul>
     * O(rank + Σ_d I_d·K_d).
     */
    public static List<Kernel> parts(Node n) {
        if (n.opType().equals("ConvTranspose") && n.isOnnxDomain()) {
            return convTransposeParts(n);
        }
        if (n.opType().equals("Where") && n.isOnnxDomain()) {
            return whereParts(n);
        }
        return List.of();
    }

    private static List<Kernel> convTransposeParts(Node n) {
        if (n.inputs().size() < 2 || n.outputs().isEmpty() || !known(n.input(0)) || !known(n.input(1))
                || !known(n.output(0))) {
            return List.of();
        }
        long[] x = n.input(0).shape().toLongs();
        long[] w = n.input(1).shape().toLongs();
        long[] y = n.output(0).shape().toLongs();
        long e = n.output(0).dtype().byteSize();
        long g = n.attrInt("group", 1);
        if (x.length < 3 || w.length != x.length || y.length != x.length || e <= 0 || g < 1 || x[1] % g != 0) {
            return List.of();
        }
        DType dt = dtypeOf(n);
        double kernel = 1;
        double in = 1;
        for (int i = 2; i < x.length; i++) {
            kernel *= w[i];
            in *= x[i];
        }
        double b = (double) x[0] * g;
        double m = w[1] * kernel;
        double k = (double) x[1] / g;
        double cols = b * m * in;
        double valid = cols * convTransposeValidFraction(n);
        double outElements = elements(n.output(0));
        List<Kernel> parts = new ArrayList<>();
        // X is the GEMM's B operand, an activation: MLAS copies it into packed panels on every call
        // (read, written, read again by the kernel), which dominates when M is small
        parts.add(new Kernel("forward", "MatMul", b > 1 ? "batched/act" : "2d/act",
                new Work(2 * b * m * in * k, e * b * (m * k + 2 * k * in), e * (cols + b * k * in), true), dt)
                .withGemm(new Kernel.Gemm(b, m, in, k)));
        parts.add(new Kernel("forward", "Transpose", "elements",
                new Work(valid, e * (cols + valid), e * (valid + outElements), true), dt));
        if (n.hasInput(2)) {
            parts.add(new Kernel("forward", "Add", "outer",
                    new Work(outElements, e * outElements + bytes(n.input(2)), e * outElements, true), dt));
        }
        return parts;
    }

    /**
     * The fraction of a ConvTranspose's column entries (input position, kernel tap) whose output
     * position {@code o = i·stride - pad_begin + k·dilation} lies in {@code [0, O_d)} in every
     * spatial dimension: the entries {@code Col2im} adds into the output (the others fall in the
     * padding and are skipped). The padding at the beginning is {@code pads} or, with
     * {@code auto_pad} or {@code output_shape}, split from the total
     * {@code stride·(I-1) + output_padding + (K-1)·dilation + 1 - O} as the ONNX specification
     * says (SAME_UPPER: half rounded down at the beginning, otherwise the other half). 1 when a
     * shape is unknown. O(Σ_d K_d).
     */
    static double convTransposeValidFraction(Node n) {
        ConvGeometry g = ConvGeometry.of(n);
        if (g == null) {
            return 1;
        }
        long[] outPad = n.attrInts("output_padding").orElse(null);
        int d = g.dims();
        return g.landingFraction(true, i -> {
            long in = g.x()[2 + i];
            long out = g.y()[2 + i];
            long op = outPad != null && outPad.length == d ? outPad[i] : 0;
            if (g.autoPad().equals("VALID")) {
                return 0;
            } else if (g.autoPad().equals("NOTSET") && g.pads() != null && g.pads().length == 2 * d) {
                return g.pads()[i];
            }
            long total = Math.max(0, g.stride(i) * (in - 1) + op + (g.w()[2 + i] - 1) * g.dilation(i) + 1 - out);
            return g.autoPad().equals("SAME_UPPER") ? total / 2 : total - total / 2;
        });
    }

    private static List<Kernel> whereParts(Node n) {
        if (n.inputs().size() != 3 || n.outputs().isEmpty() || !known(n.input(0)) || !known(n.input(1))
                || !known(n.input(2)) || !known(n.output(0))) {
            return List.of();
        }
        long e = n.output(0).dtype().byteSize();
        if (e <= 0) {
            return List.of();
        }
        DType dt = dtypeOf(n);
        long[] c = n.input(0).shape().toLongs();
        long ce = Math.max(1, n.input(0).dtype().byteSize());
        long[] xs = n.input(1).shape().toLongs();
        long[] ys = n.input(2).shape().toLongs();
        long[] selX = broadcast(c, xs);
        long[] selY = broadcast(c, ys);
        long[] out = n.output(0).shape().toLongs();
        if (selX == null || selY == null) {
            return List.of();
        }
        List<Kernel> parts = new ArrayList<>();
        parts.add(pass(selX, c, ce, xs, e, dt));
        parts.add(pass(selY, c, ce, ys, e, dt));
        parts.add(pass(out, selX, e, selY, e, dt));
        return parts;
    }

    /** One broadcast pass of two inputs into {@code out}, priced as an Add of its broadcast class. */
    private static Kernel pass(long[] out, long[] a, long ae, long[] b, long be, DType dt) {
        double o = count(out);
        String cls = OpClass.broadcastClass(out, List.of(a, b));
        return new Kernel("forward", "Add", cls, new Work(o, ae * count(a) + be * count(b), dt.byteSize() * o, true), dt);
    }

    private static double count(long[] s) {
        double c = 1;
        for (long d : s) {
            c *= d;
        }
        return c;
    }

    /** The multidirectional broadcast of two shapes (numpy rules), or null when they do not broadcast. */
    static long[] broadcast(long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] o = new long[r];
        for (int i = 0; i < r; i++) {
            long x = i - (r - a.length) >= 0 ? a[i - (r - a.length)] : 1;
            long y = i - (r - b.length) >= 0 ? b[i - (r - b.length)] : 1;
            if (x != y && x != 1 && y != 1) {
                return null;
            }
            o[i] = x == 1 ? y : x;
        }
        return o;
    }

    /** Matrix products whose constant operand ONNX Runtime's CPU kernels pack once and then read from memory on every call. */
    private static final Set<String> WEIGHT_PRODUCTS = Set.of("MatMul", "Gemm", "FusedMatMul", "FusedGemm");

    /**
     * The bytes of the trained weights (parameter and constant inputs) of a matrix product
     * (MatMul, Gemm, FusedMatMul, FusedGemm), 0 for any other node or unknown shapes. ONNX Runtime
     * packs a constant B operand once ({@code MatMul<float>::PrePack},
     * onnxruntime/core/providers/cpu/math/matmul.cc, through {@code MlasGemmPackB}) and streams the
     * packed copy through its GEMM kernel on every call; a copy larger than the caches comes from
     * memory each time ({@link EfficiencyModel}). O(inputs).
     */
    public static double weightBytes(Node n) {
        if (!WEIGHT_PRODUCTS.contains(n.opType())) {
            return 0;
        }
        double b = 0;
        for (Value v : n.inputs()) {
            if (!v.isAbsent() && OpClass.isWeight(v) && known(v)) {
                b += bytes(v);
            }
        }
        return b;
    }

    /**
     * The bytes of all trained weights (parameter and constant inputs) a node reads whole on every
     * call: its weights, biases, normalisation scales and constant operands, whatever its op type;
     * 0 for a Gather, which reads only the rows its indices pick (an embedding table), and for
     * unknown shapes. Inside a model run these are read once per run, after the rest of the
     * model's weights and activations have passed through the caches ({@link
     * EfficiencyModel#coldWeightSeconds}). O(inputs).
     */
    public static double parameterBytes(Node n) {
        if ("Gather".equals(n.opType()) || "GatherElements".equals(n.opType()) || "GatherND".equals(n.opType())) {
            return 0;
        }
        double b = 0;
        for (Value v : n.inputs()) {
            if (!v.isAbsent() && OpClass.isWeight(v) && known(v)) {
                b += bytes(v);
            }
        }
        return b;
    }

    /** Op types whose ONNX Runtime CPU kernel returns its first input's buffer as its output (no copy). */
    private static final Set<String> ALIASING = Set.of("Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity",
            "Dropout");

    /**
     * The most activation bytes a run of {@code g} holds at once, nodes run in the graph's order: a
     * graph input from the start, a node's output from that node until its last consumer (a graph
     * output until the end), an output of a view ({@link #ALIASING}: Reshape, Flatten, Squeeze,
     * Unsqueeze, Identity, Dropout) sharing its input's buffer, and a node's inputs and outputs live
     * together while it runs. Weights, constants and folded values are not activations. It is the
     * least memory ONNX Runtime's planner can give the run's intermediate tensors (its arena reuses a
     * buffer once its last reader ran), every byte of which the run touches. Unknown sizes count 0.
     * O(nodes + values).
     */
    public static double peakActivationBytes(Graph g) {
        java.util.Map<String, String> root = new java.util.HashMap<>();
        java.util.Map<String, Integer> lastUse = new java.util.HashMap<>();
        java.util.Map<String, Long> size = new java.util.HashMap<>();
        List<Node> nodes = g.nodes();
        for (Value v : g.inputs()) {
            if (activation(v)) {
                root.put(v.name(), v.name());
                size.put(v.name(), bytes(v));
                lastUse.put(v.name(), -1);
            }
        }
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            for (Value v : n.inputs()) {
                String r = root.get(v.name());
                if (r != null) {
                    lastUse.merge(r, i, Math::max);
                }
            }
            for (int o = 0; o < n.outputs().size(); o++) {
                Value v = n.output(o);
                if (!activation(v)) {
                    continue;
                }
                String in = o == 0 && ALIASING.contains(n.opType()) && !n.inputs().isEmpty() ? root.get(n.input(0).name())
                        : null;
                if (in != null) {
                    root.put(v.name(), in);
                } else {
                    root.put(v.name(), v.name());
                    size.put(v.name(), bytes(v));
                    lastUse.merge(v.name(), i, Math::max);
                }
            }
        }
        for (Value v : g.outputs()) {
            String r = root.get(v.name());
            if (r != null) {
                lastUse.put(r, nodes.size());
            }
        }
        long[] freedAfter = new long[nodes.size() + 1];
        long live = 0;
        for (Value v : g.inputs()) {
            if (activation(v)) {
                live += size.get(v.name());
                freedAfter[Math.min(Math.max(0, lastUse.get(v.name())), nodes.size())] += size.get(v.name());
            }
        }
        long peak = live;
        for (int i = 0; i < nodes.size(); i++) {
            for (Value v : nodes.get(i).outputs()) {
                if (activation(v) && v.name().equals(root.get(v.name()))) {
                    live += size.get(v.name());
                    freedAfter[Math.min(lastUse.get(v.name()), nodes.size())] += size.get(v.name());
                }
            }
            peak = Math.max(peak, live);
            live -= freedAfter[i];
        }
        return peak;
    }

    /** A tensor a run writes or is fed: a graph input or a node's output whose values are not known in advance. */
    private static boolean activation(Value v) {
        return !v.isAbsent() && (v.kind() == Value.Kind.INPUT || v.kind() == Value.Kind.INTERMEDIATE)
                && v.constant().isEmpty();
    }

    /**
     * The forward work of a node as a CPU runtime runs it: {@link WorkAnalysis#of} but for three kinds
     * of node whose arithmetic or traffic the plain count misstates.
     * <ul>
     * <li>A node run as several loops ({@link #parts}: ConvTranspose, Where): the sum of its loops'
     *     FLOPs and bytes (a ConvTranspose's column buffer written, read and scattered included).
     * <li>A transcendental element-wise op ({@link OpClass#operationsPerElement} p &gt; 0):
     *     {@code p·|Y|} FLOPs, the vector operations its kernel evaluates per element.
     * <li>A Slice: it reads only the region it keeps, {@code |Y|} bytes plus its index inputs, not
     *     the whole data input (a 32-row slice of a 1024 x 1024 mask read 4 MiB by the plain count and
     *     was priced 7 times too slow).
     * <li>A convolution of ONNX Runtime's blocked layout (com.microsoft.nchwc Conv): its kernels visit
     *     only the taps that fall inside the input (padding is skipped, not multiplied by zero), so
     *     the multiply-adds are {@code |Y|·(C_in/group)·Π_d v_d / Π_d (O_d·K_d)}, with v_d the number of
     *     (output position, kernel position) pairs of spatial dimension d whose input index
     *     {@code o·stride - pad_begin + k·dilation} lies in {@code [0, I_d)}: a 5x5 depthwise kernel on a
     *     2-row input with 2 rows of padding visits 4 of its 10 row pairs.
     * <li>An element-wise op that names one tensor as several of its operands ({@code x·x}, the
     *     GPT-2 GELU's cube): the bytes of every operand it loads, the repeated one each time
     *     ({@link #repeatedOperandBytes}), not the distinct tensors' only.
     * </ul>
     * Bytes are WorkAnalysis's. Running time O(Σ_d K_d) for a blocked convolution, else that of
     * WorkAnalysis.
     */
    public static Work work(Node n) {
        Work w = WorkAnalysis.of(n);
        List<Kernel> parts = parts(n);
        if (!parts.isEmpty()) {
            double f = 0;
            double r = 0;
            double wr = 0;
            for (Kernel k : parts) {
                f += k.work().flops();
                r += k.work().bytesRead();
                wr += k.work().bytesWritten();
            }
            return new Work(f, r, wr, w.complete());
        }
        if (aliasedScatter(n)) {
            // every 16-byte store moves a whole cache line in (for ownership) and out again
            double out = w.bytesWritten();
            double perLine = (double) CACHE_LINE / SCATTER_STORE;
            return new Work(w.flops(), w.bytesRead() + perLine * out, perLine * out, w.complete());
        }
        if (n.opType().equals("Slice") && !n.outputs().isEmpty() && n.output(0).type().byteSize().isPresent()) {
            // only the sliced region of the data is read (and the small start/end/axes/step inputs)
            long read = n.output(0).type().byteSize().getAsLong();
            for (int i = 1; i < n.inputs().size(); i++) {
                read += bytes(n.input(i));
            }
            return new Work(w.flops(), Math.min(w.bytesRead(), read), w.bytesWritten(), w.complete());
        }
        double repeated = repeatedOperandBytes(n);
        if (repeated > 0) {
            // the kernel loads each operand per element, the same tensor as often as it is named
            return new Work(w.flops(), w.bytesRead() + repeated, w.bytesWritten(), w.complete());
        }
        int ops = OpClass.operationsPerElement(n.opType());
        if (ops > 0 && !n.outputs().isEmpty() && n.output(0).shape().numElements().isPresent()) {
            return new Work((double) ops * n.output(0).shape().numElements().getAsLong(), w.bytesRead(),
                    w.bytesWritten(), w.complete());
        }
        if (n.opType().equals("Conv") && "com.microsoft.nchwc".equals(n.domain()) && n.attrInt("group", 1) > 1) {
            double frac = validTapFraction(n);
            Value y = n.output(0);
            Value wt = n.input(1);
            if (frac < 1 && known(y) && known(wt) && wt.shape().rank() >= 3) {
                long[] ws = wt.shape().toLongs();
                double perOutput = 1;
                for (int i = 1; i < ws.length; i++) {
                    perOutput *= ws[i];
                }
                double skipped = 2.0 * elements(y) * perOutput * (1 - frac);
                return new Work(Math.max(0, w.flops() - skipped), w.bytesRead(), w.bytesWritten(), w.complete());
            }
        }
        return w;
    }

    /**
     * Bytes an element-wise node (category "elementwise") loads beyond its distinct inputs: the size
     * of each input named again after its first use ({@code Mul(x, x)}: |x|); 0 for other nodes.
     * ONNX Runtime's binary element-wise kernels read each operand through its own pointer, one
     * load per operand and element, so such a node costs what the same op on two distinct tensors
     * of its shape does, not what its distinct bytes say. Measured (ONNX Runtime 1.28, one thread,
     * sets A and B of 2026-12-03): the GPT-2-style decoder's {@code x·x} of [1,32,1024] took 5.13
     * and 5.16 µs, in line with the calibration models' Muls of two distinct tensors of 304 to
     * 460 KB (4.1 to 6.0 µs) and priced at 3.58 µs from its 256 KB of distinct traffic. O(inputs²).
     */
    static double repeatedOperandBytes(Node n) {
        if (!n.isOnnxDomain() || !"elementwise".equals(OpClass.category(n.opType())) || n.inputs().size() < 2) {
            return 0;
        }
        double extra = 0;
        for (int i = 1; i < n.inputs().size(); i++) {
            Value v = n.input(i);
            if (v.isAbsent()) {
                continue;
            }
            for (int j = 0; j < i; j++) {
                if (!n.input(j).isAbsent() && n.input(j).name().equals(v.name())) {
                    extra += bytes(v);
                    break;
                }
            }
        }
        return extra;
    }

    /** Bytes between addresses that fall in the same set of an L1 data cache: 4 KiB on current x86 cores (48 KiB 12-way, 32 KiB 8-way). */
    static final long L1_SET_PERIOD = 4096;
    /** Bytes of a cache line. */
    static final long CACHE_LINE = 64;
    /** Bytes MLAS's NCHWc output reordering stores at a time into one channel plane (a 4-float vector). */
    static final long SCATTER_STORE = 16;
    /** Channels MLAS's NCHWc kernels hold per block with AVX-512. */
    static final long NCHWC_BLOCK = 16;

    /**
     * True for ONNX Runtime's reordering of a blocked (NCHWc) tensor back to NCHW whose channel
     * planes are a whole number of {@link #L1_SET_PERIOD} bytes apart. {@code MlasReorderOutputNchw}
     * (onnxruntime/core/mlas/lib/reorder.cpp) transposes 4 x 4 tiles and stores 4 floats at a time
     * into each of a block's 16 channel planes in turn; planes a multiple of 4 KiB apart map those
     * 16 stores to one set of the L1 cache, which holds 12 (or 8) lines, so each line is evicted
     * before its other 3 stores arrive and moves in and out once per 16-byte store ({@link #work}:
     * written bytes times 4, and as many read for ownership). Measured (ONNX Runtime 1.28, one
     * thread): the PaddleOCR detector's reorderings of 16 and 32 channels of 160 x 160 (planes of
     * 100 KiB, 25 x 4 KiB) took 0.69 to 1.09 ns per element in two runs, every other reordering of
     * the benchmark's models (planes of 4 B to 25 KiB, none a multiple of 4 KiB) 0.10 to 0.24.
     * Only full blocks of 16 channels count. O(rank).
     */
    static boolean aliasedScatter(Node n) {
        if (!n.opType().equals("ReorderOutput") || !"com.microsoft.nchwc".equals(n.domain())
                || n.attrInt("channels_last", 0) != 0 || n.outputs().isEmpty() || !known(n.output(0))) {
            return false;
        }
        long[] y = n.output(0).shape().toLongs();
        if (y.length < 3 || y[1] < NCHWC_BLOCK) {
            return false;
        }
        long plane = n.output(0).dtype().byteSize();
        for (int i = 2; i < y.length; i++) {
            plane *= y[i];
        }
        return plane > 0 && plane % L1_SET_PERIOD == 0;
    }

    /**
     * The fraction of a convolution's (output position, kernel tap) pairs whose input lies inside
     * the input tensor (1 when there is no padding or a shape is unknown); see {@link #work}.
     * Explicit {@code pads} or {@code auto_pad} SAME_UPPER, SAME_LOWER and VALID. O(Σ_d K_d).
     */
    static double validTapFraction(Node n) {
        ConvGeometry g = ConvGeometry.of(n);
        if (g == null) {
            return 1;
        }
        return g.landingFraction(false, i -> {
            String autoPad = g.autoPad();
            if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
                long total = Math.max(0, (g.y()[2 + i] - 1) * g.stride(i) + (g.w()[2 + i] - 1) * g.dilation(i) + 1
                        - g.x()[2 + i]);
                return autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
            } else if (autoPad.equals("VALID")) {
                return 0;
            }
            return g.pads() != null && g.pads().length == 2 * g.dims() ? g.pads()[i] : 0;
        });
    }

    /**
     * A convolution's (or transposed convolution's) shapes and window attributes: input {@code x},
     * weight {@code w} and output {@code y} of one rank with {@link #dims()} spatial dimensions, the
     * {@code strides}, {@code dilations} and {@code pads} as written (null when absent) and
     * {@code auto_pad}.
     */
    private record ConvGeometry(long[] x, long[] w, long[] y, long[] strides, long[] dilations, long[] pads,
                                String autoPad) {
        /** The geometry of {@code n}, or null when a shape is unknown or the ranks disagree. O(rank). */
        static ConvGeometry of(Node n) {
            if (n.inputs().size() < 2 || n.outputs().isEmpty() || !known(n.input(0)) || !known(n.input(1))
                    || !known(n.output(0))) {
                return null;
            }
            long[] x = n.input(0).shape().toLongs();
            long[] w = n.input(1).shape().toLongs();
            long[] y = n.output(0).shape().toLongs();
            if (x.length < 3 || w.length != x.length || y.length != x.length) {
                return null;
            }
            return new ConvGeometry(x, w, y, n.attrInts("strides").orElse(null), n.attrInts("dilations").orElse(null),
                    n.attrInts("pads").orElse(null), n.attrString("auto_pad", "NOTSET"));
        }

        int dims() {
            return x.length - 2;
        }

        long stride(int i) {
            return strides != null && strides.length == dims() ? strides[i] : 1;
        }

        long dilation(int i) {
            return dilations != null && dilations.length == dims() ? dilations[i] : 1;
        }

        /**
         * The product over the spatial dimensions of the fraction of (position, tap) pairs that land
         * ({@link #landing}) with the padding at the beginning {@code begin(i)}: output positions reading
         * the input for a convolution, input positions written into the output when {@code transposed}.
         * O(Σ_d K_d).
         */
        double landingFraction(boolean transposed, java.util.function.IntToLongFunction begin) {
            double frac = 1;
            for (int i = 0; i < dims(); i++) {
                long from = transposed ? x[2 + i] : y[2 + i];
                long to = transposed ? y[2 + i] : x[2 + i];
                long k = w[2 + i];
                if (from * k > 0) {
                    frac *= landing(from, k, stride(i), dilation(i), begin.applyAsLong(i), to) / (double) (from * k);
                }
            }
            return frac;
        }
    }

    /**
     * How many of the pairs (position {@code p} in {@code [0, from)}, tap {@code j} in {@code [0, k)})
     * land inside {@code [0, to)} at {@code p·stride - begin + j·dilation}: for each tap, the positions
     * form one interval, counted in closed form. O(k).
     */
    static long landing(long from, long k, long stride, long dilation, long begin, long to) {
        if (stride <= 0 || from <= 0 || to <= 0) {
            return 0;
        }
        long valid = 0;
        for (long j = 0; j < k; j++) {
            long shift = j * dilation - begin; // p·stride + shift in [0, to)
            long lo = Math.max(0, Math.floorDiv(-shift + stride - 1, stride));
            long hi = Math.min(from - 1, Math.floorDiv(to - 1 - shift, stride));
            valid += Math.max(0, hi - lo + 1);
        }
        return valid;
    }

    /**
     * The GEMM a MatMul or Gemm node runs as: {batch, M, N, K, shared} with {@code shared} 1 when
     * the second operand is one matrix for every batch entry (a weight: the rows of all entries
     * stack into one GEMM of M = all rows, batch 1), or null when the shapes are not known. O(rank).
     */
    static double[] gemmDims(Node n) {
        String op = n.opType();
        if (!(op.equals("MatMul") || op.equals("FusedMatMul") || op.equals("Gemm")) || n.outputs().isEmpty()
                || n.inputs().size() < 2) {
            return null;
        }
        Value a = n.input(0);
        Value b = n.input(1);
        Value y = n.output(0);
        if (!known(a) || !known(b) || !known(y) || a.shape().rank() < 1 || b.shape().rank() < 1 || y.shape().rank() < 1) {
            return null;
        }
        long[] as = a.shape().toLongs();
        long[] bs = b.shape().toLongs();
        long[] ys = y.shape().toLongs();
        double out = 1;
        for (long d : ys) {
            out *= d;
        }
        double k;
        double nn;
        if (op.equals("Gemm")) {
            k = n.attrInt("transA", 0) == 0 ? as[as.length - 1] : as[0];
            nn = ys[ys.length - 1];
        } else {
            k = as[as.length - 1];
            nn = bs.length == 1 ? 1 : bs[bs.length - 1];
        }
        double bLead = 1;
        for (int i = 0; i < bs.length - 2; i++) {
            bLead *= bs[i];
        }
        if (out <= 0 || nn <= 0 || k <= 0) {
            return null;
        }
        if (op.equals("Gemm") || bs.length <= 2 || bLead == 1) {
            return new double[] {1, Math.max(1, out / nn), nn, k, 1};
        }
        double m = ys.length >= 2 ? ys[ys.length - 2] : 1;
        return new double[] {Math.max(1, out / (m * nn)), m, nn, k, 0};
    }

    private static boolean known(Value v) {
        return !v.isAbsent() && v.shape().rankKnown() && v.shape().isFullyKnown();
    }

    /** The backward kernels of a node (empty when nothing needs a gradient). */
    public static List<Kernel> of(Node n) {
        List<Kernel> out = new ArrayList<>();
        boolean any = false;
        for (Value v : n.inputs()) {
            any |= needsGrad(v);
        }
        if (!any || VIEWS.contains(n.opType()) && !Coarsening.isTrainingDropout(n) || n.outputs().isEmpty()) {
            return out;
        }
        Work fwd = work(n);
        DType dt = dtypeOf(n);
        Value y = n.output(0);
        long dy = bytes(y);
        String cls = OpClass.shapeClass(n);
        boolean complete = fwd.complete();
        switch (n.opType()) {
            case "MatMul", "FusedMatMul", "Gemm" -> {
                Value a = n.input(0);
                Value b = n.input(1);
                double f = n.opType().equals("Gemm") && n.hasInput(2) ? fwd.flops() - elements(y) : fwd.flops();
                double[] g = gemmDims(n);
                if (needsGrad(a)) {
                    // dA = dY · Bᵀ: the output of A's shape (M x K), reduced over N
                    Kernel k = new Kernel("grad-input", n.opType(), cls,
                            new Work(f, dy + bytes(b), bytes(a), complete), dt);
                    out.add(g == null ? k : k.withGemm(new Kernel.Gemm(g[0], g[1], g[3], g[2])));
                }
                if (needsGrad(b)) {
                    // dB = Aᵀ · dY: K x N, reduced over M (over every batch entry's rows for a shared B)
                    Kernel k = new Kernel("grad-weight", n.opType(), cls.replace("/weight", "/act"),
                            new Work(f, bytes(a) + dy, bytes(b), complete), dt);
                    out.add(g == null ? k : k.withGemm(g[4] == 1 ? new Kernel.Gemm(1, g[3], g[2], g[1])
                            : new Kernel.Gemm(g[0], g[3], g[2], g[1])));
                }
                if (n.opType().equals("Gemm") && needsGrad(n.input(2))) {
                    out.add(new Kernel("grad-bias", "ReduceSum", "any",
                            new Work(elements(y), dy, bytes(n.input(2)), complete), dt));
                }
            }
            case "Conv", "ConvTranspose", "FusedConv" -> {
                Value x = n.input(0);
                Value w = n.input(1);
                boolean bias = n.hasInput(2);
                // a ConvTranspose's gradients are convolutions of its GEMM's FLOPs (not its scatter's)
                double f = (n.opType().equals("ConvTranspose") ? WorkAnalysis.of(n).flops() : fwd.flops())
                        - (bias ? elements(y) : 0);
                long calls = OpClass.calls(n);
                if (needsGrad(x)) {
                    out.add(new Kernel("grad-input", n.opType(), cls,
                            new Work(f, dy + bytes(w), bytes(x), complete), dt, calls));
                }
                if (needsGrad(w)) {
                    out.add(new Kernel("grad-weight", n.opType(), cls,
                            new Work(f, bytes(x) + dy, bytes(w), complete), dt, calls));
                }
                if (bias && needsGrad(n.input(2))) {
                    out.add(new Kernel("grad-bias", "ReduceSum", "any",
                            new Work(elements(y), dy, bytes(n.input(2)), complete), dt));
                }
            }
            default -> {
                String cat = OpClass.category(n.opType());
                if (cat.equals("move")) {
                    double f = n.opType().equals("Expand") || n.opType().equals("Tile") ? elements(y) : fwd.flops();
                    out.add(new Kernel("grad", n.opType(), cls,
                            new Work(f, fwd.bytesWritten(), fwd.bytesRead(), complete), dt));
                } else {
                    out.add(new Kernel("grad", n.opType(), cls,
                            new Work(2 * fwd.flops(), fwd.bytes(), dy == 0 ? fwd.bytesRead() : readBytes(n), complete),
                            dt));
                }
            }
        }
        return out;
    }

    /** Bytes of the gradients of the inputs that need one. */
    private static long readBytes(Node n) {
        long s = 0;
        Set<String> seen = new LinkedHashSet<>();
        for (Value v : n.inputs()) {
            if (needsGrad(v) && seen.add(v.name())) {
                s += bytes(v);
            }
        }
        return s;
    }

    /**
     * Elements of the activations this node keeps for its backward pass: the operands a matrix
     * product or convolution needs for the other operand's gradient, the input of a non-linear
     * element-wise op, normalization or pooling; nothing for linear ops (Add, Reshape, Concat ...)
     * and for weights (counted as parameters).
     */
    public static long savedElements(Node n) {
        if (VIEWS.contains(n.opType()) || LINEAR.contains(n.opType())) {
            return 0;
        }
        long s = 0;
        Set<String> seen = new LinkedHashSet<>();
        switch (n.opType()) {
            case "MatMul", "FusedMatMul", "Gemm", "Conv", "ConvTranspose", "FusedConv" -> {
                Value a = n.input(0);
                Value b = n.input(1);
                if (needsGrad(b) && a.kind() != Value.Kind.CONSTANT) {
                    s += elements(a);
                }
                if (needsGrad(a) && b.kind() == Value.Kind.INTERMEDIATE) {
                    s += elements(b);
                }
                return s;
            }
            default -> {
                for (Value v : n.inputs()) {
                    if (v.kind() == Value.Kind.INTERMEDIATE && v.dtype().isFloatingPoint() && seen.add(v.name())) {
                        s += elements(v);
                    }
                }
                return s;
            }
        }
    }
}
