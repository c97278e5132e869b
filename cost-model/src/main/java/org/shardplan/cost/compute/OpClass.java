package org.shardplan.cost.compute;

import java.util.Set;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;

/**
 * Groups operators for learning efficiencies: a coarse category (matrix products, element-wise,
 * normalizations, reductions, pooling, data movement) and, inside one op type, a shape class that
 * separates kernels that run at different efficiencies at the same size (a 1x1 from a 3x3 or a
 * depthwise convolution; a matrix product with a weight from one between two activations; an
 * element-wise op with broadcasting from one without; a Transpose that keeps the last axis from one
 * that moves it).
 */
public final class OpClass {
    private OpClass() {}

    private static final Set<String> MATMUL = Set.of("MatMul", "Gemm", "FusedGemm", "Conv", "ConvTranspose", "Einsum",
            "FusedMatMul", "FusedConv", "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv",
            "Attention", "MultiHeadAttention", "LSTM", "GRU", "RNN");
    private static final Set<String> NORM = Set.of("BatchNormalization", "LayerNormalization",
            "InstanceNormalization", "GroupNormalization", "Softmax", "LogSoftmax", "LpNormalization", "LRN",
            "SimplifiedLayerNormalization", "SkipLayerNormalization", "RMSNormalization",
            "MeanVarianceNormalization");
    private static final Set<String> POOL = Set.of("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
            "GlobalMaxPool", "GlobalLpPool");
    private static final Set<String> REDUCE = Set.of("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
            "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax",
            "ArgMin", "CumSum", "TopK");
    private static final Set<String> MOVE = Set.of("Reshape", "Transpose", "Concat", "Slice", "Split",
            "Squeeze", "Unsqueeze", "Flatten", "Identity", "Expand", "Tile", "Pad", "Cast", "CastLike", "Gather",
            "GatherElements", "GatherND", "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "ScatterND",
            "ScatterElements", "Shape", "Size", "ConstantOfShape", "Range", "Where", "OneHot", "ReorderInput",
            "ReorderOutput");
    /**
     * Element-wise operators whose ONNX Runtime CPU kernel evaluates a polynomial or rational
     * approximation per element (MLAS's logistic, tanh and erf kernels and the GELU variants built
     * on them), with the vector operations per element each runs: see {@link #operationsPerElement}.
     */
    private static final java.util.Map<String, Integer> TRANSCENDENTAL = java.util.Map.of(
            "Tanh", 14, "Sigmoid", 17, "Erf", 38, "Gelu", 42, "BiasGelu", 43, "FastGelu", 21, "QuickGelu", 19);

    /**
     * The category of an op type: matmul, norm, pool, reduce, move, transcendental (an element-wise
     * function evaluated by a polynomial per element, {@link #operationsPerElement}) or elementwise.
     */
    public static String category(String opType) {
        if (TRANSCENDENTAL.containsKey(opType)) {
            return "transcendental";
        }
        if (MATMUL.contains(opType)) {
            return "matmul";
        }
        if (NORM.contains(opType)) {
            return "norm";
        }
        if (POOL.contains(opType)) {
            return "pool";
        }
        if (REDUCE.contains(opType)) {
            return "reduce";
        }
        if (MOVE.contains(opType)) {
            return "move";
        }
        return "elementwise";
    }

    /**
     * Vector arithmetic operations per output element that ONNX Runtime's CPU kernel of a
     * transcendental op type runs (0 for any other op type), counted in its source (microsoft/onnxruntime,
     * onnxruntime/core/mlas/lib): {@code MlasTanhKernel} (tanh.cpp) clamps (2), squares (1), evaluates an
     * odd numerator of 7 terms (6 multiply-adds and a multiply) and an even denominator of 4 (3) and
     * divides: 14; {@code MlasLogisticKernel} (logistic.cpp) clamps, squares, evaluates numerator
     * (4 + 1) and denominator (5), divides, adds one half and clamps again: 17; {@code MlasErfKernel}
     * (erf.cpp) evaluates both branches, a small-argument polynomial (7), a large-argument one (8) and
     * an exponential of it (range reduction 6, polynomial 6, scaling 5), and merges them with sign and
     * mask operations (7): 38. Gelu is the erf kernel on a scaled input plus 4; BiasGelu
     * (contrib_ops/cpu/bert/bias_gelu.cc) adds the bias and scales in one pass (3), runs the erf kernel
     * and combines in another (2): 43; FastGelu the same with the tanh kernel on a cubic (3 + 1 + 14 +
     * 3): 21; QuickGelu scales, runs the logistic kernel and multiplies: 19. O(1).
     */
    public static int operationsPerElement(String opType) {
        return TRANSCENDENTAL.getOrDefault(opType, 0);
    }

    /**
     * The shape class of another operator that runs the same kind of loop as a node of
     * {@code opType} and {@code shapeClass}, for a node whose own class was never measured: a
     * convolution with a 1x1 kernel, stride 1 and one group per channel (what ONNX Runtime makes of a
     * BatchNormalization that no convolution precedes: a per-channel scale and shift, with the
     * activation fused) is a per-channel multiply, {@code Mul/outer}, and so is a BatchNormalization
     * that ONNX Runtime runs as itself (its CPU kernel applies each channel's scale and shift to the
     * channel's plane in one pass; the PaddleOCR detector's [1,24,160,160] took 68 and 85 µs in two
     * sets, the per-channel multiplies of [1,96,80,80], as many elements, 57, where the normalizations'
     * category, LayerNormalization's reductions, priced it at 230). A FusedMatMul (com.microsoft)
     * without a transposed operand is a MatMul whose product is scaled by alpha in the same GEMM call:
     * the MatMul of its class; one with a transposed operand has a class of its own ({@code /transA},
     * {@code /transB}) and no proxy. Empty for other kernels. O(1).
     */
    public static java.util.Optional<String> proxy(String opType, String shapeClass) {
        if ((opType.equals("Conv") || opType.equals("FusedConv")) && shapeClass.endsWith("k1x1/s1/depthwise")) {
            return java.util.Optional.of("Mul/outer");
        }
        if (opType.equals("BatchNormalization")) {
            return java.util.Optional.of("Mul/outer");
        }
        if (opType.equals("FusedMatMul") && !shapeClass.contains("/trans")) {
            return java.util.Optional.of("MatMul/" + shapeClass);
        }
        return java.util.Optional.empty();
    }

    /**
     * The shape class of a node (see the class comment); "any" where an op type has just one. An
     * operator of ONNX Runtime's blocked-channel layout (domain com.microsoft.nchwc) gets its
     * class prefixed with {@code nchwc/}: its kernels are other kernels than the plain op type's.
     */
    public static String shapeClass(Node n) {
        String c = plainShapeClass(n);
        return "com.microsoft.nchwc".equals(n.domain()) ? "nchwc/" + c : c;
    }

    private static String plainShapeClass(Node n) {
        switch (n.opType()) {
            case "Conv", "ConvTranspose", "FusedConv", "QLinearConv", "ConvInteger": {
                long[] k = n.attrInts("kernel_shape").orElse(null);
                Value w = n.input(n.opType().equals("QLinearConv") ? 3 : 1);
                if (k == null && w.shape().rankKnown() && w.shape().isFullyKnown()) {
                    long[] ws = w.shape().toLongs();
                    k = java.util.Arrays.copyOfRange(ws, 2, ws.length);
                }
                StringBuilder s = new StringBuilder("k");
                if (k != null) {
                    for (int i = 0; i < k.length; i++) {
                        s.append(i == 0 ? "" : "x").append(k[i]);
                    }
                }
                long[] st = n.attrInts("strides").orElse(new long[0]);
                long stride = 1;
                for (long x : st) {
                    stride = Math.max(stride, x);
                }
                s.append("/s").append(stride);
                long group = n.attrInt("group", 1);
                Shape xs = n.input(0).shape();
                long cin = xs.rankKnown() && xs.rank() > 1 && xs.isFullyKnown() ? xs.toLongs()[1] : -1;
                s.append(group == 1 ? "/dense" : group == cin ? "/depthwise" : "/grouped");
                return s.toString();
            }
            case "MatMul", "FusedMatMul", "MatMulInteger", "QLinearMatMul": {
                Value a = n.input(0);
                Value b = n.input(n.opType().equals("QLinearMatMul") ? 3 : 1);
                boolean batched = rank(a) > 2 && rank(b) > 2;
                String c = (batched ? "batched" : rank(a) > 2 ? "stacked" : "2d") + (isWeight(b) ? "/weight" : "/act");
                if (n.opType().equals("FusedMatMul")) {
                    // a transposed operand is another loop than MatMul's (see proxy)
                    c += (n.attrInt("transA", 0) != 0 ? "/transA" : "") + (n.attrInt("transB", 0) != 0 ? "/transB" : "");
                }
                return c;
            }
            case "Gemm":
                return "transB=" + n.attrInt("transB", 0) + (isWeight(n.input(1)) ? "/weight" : "/act");
            case "Transpose": {
                // a permutation that keeps the last axis last copies contiguous rows, one whose last
                // axis moves gathers single elements: other loops (measured, ONNX Runtime 1.28: at
                // 64 KiB, perm 0,2,1,3 took 2.5 times as long as perm 0,2,3,1)
                long[] perm = n.attrInts("perm").orElse(null);
                int r = n.inputs().isEmpty() ? 0 : rank(n.input(0));
                boolean keepsLast = perm != null && perm.length > 1 && perm[perm.length - 1] == perm.length - 1
                        || perm == null && r <= 1;
                return keepsLast ? "rows" : "elements";
            }
            case "MaxPool", "AveragePool", "LpPool": {
                long[] k = n.attrInts("kernel_shape").orElse(new long[0]);
                StringBuilder s = new StringBuilder("k");
                for (int i = 0; i < k.length; i++) {
                    s.append(i == 0 ? "" : "x").append(k[i]);
                }
                return s.toString();
            }
            default:
                break;
        }
        String cat = category(n.opType());
        if ((cat.equals("elementwise") || cat.equals("transcendental")) && !n.outputs().isEmpty()) {
            return broadcastClass(n);
        }
        return "any";
    }

    /**
     * How an element-wise node broadcasts, the least regular of its inputs deciding: "same" (no
     * broadcasting), "scalar" (an input of one element), "suffix" (an input equal to the output's
     * trailing dimensions, such as a bias), "outer" (an input equal to the output's leading
     * dimensions followed by ones, such as a per-channel scale [N,C,1,1]) or "general".
     */
    static String broadcastClass(Node n) {
        Shape out = n.output(0).shape();
        if (!out.rankKnown() || !out.isFullyKnown()) {
            return "same";
        }
        java.util.List<long[]> ins = new java.util.ArrayList<>();
        for (Value v : n.inputs()) {
            if (v.isAbsent() || v.shape().equals(out)) {
                continue;
            }
            ins.add(v.shape().rankKnown() && v.shape().isFullyKnown() ? v.shape().toLongs() : null);
        }
        return broadcastClass(out.toLongs(), ins);
    }

    /**
     * {@link #broadcastClass(Node)} of a loop writing shape {@code o} from inputs of the shapes
     * {@code inputs} (null: an input of unknown shape, "general"). O(total rank).
     */
    static String broadcastClass(long[] o, java.util.List<long[]> inputs) {
        int worst = 0;
        String[] names = {"same", "scalar", "suffix", "outer", "general"};
        long outCount = 1;
        for (long d : o) {
            outCount *= d;
        }
        for (long[] in : inputs) {
            if (in == null) {
                worst = Math.max(worst, 4);
                continue;
            }
            long count = 1;
            for (long d : in) {
                count *= d;
            }
            int kind;
            if (count == 1) {
                kind = 1;
            } else if (count == outCount) {
                kind = 0;
            } else if (isSuffix(in, o)) {
                kind = 2;
            } else if (isOuter(in, o)) {
                kind = 3;
            } else {
                kind = 4;
            }
            worst = Math.max(worst, kind);
        }
        return names[worst];
    }

    /** Right-aligned, after dropping leading ones, {@code in} equals the trailing dims of {@code out}. */
    private static boolean isSuffix(long[] in, long[] out) {
        int start = 0;
        while (start < in.length && in[start] == 1) {
            start++;
        }
        int len = in.length - start;
        if (len > out.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (in[start + i] != out[out.length - len + i]) {
                return false;
            }
        }
        return true;
    }

    /** Right-aligned, {@code in} matches {@code out} on a leading block and is 1 after it. */
    private static boolean isOuter(long[] in, long[] out) {
        int off = out.length - in.length;
        if (off < 0) {
            return false;
        }
        int i = in.length - 1;
        while (i >= 0 && in[i] == 1) {
            i--;
        }
        for (int k = 0; k <= i; k++) {
            if (in[k] != out[off + k]) {
                return false;
            }
        }
        return i < in.length - 1;
    }

    /**
     * Inner kernel invocations a CPU runtime makes for a node: batch times groups for a grouped or
     * depthwise convolution (ONNX Runtime's Conv, FusedConv and ConvTranspose run group by group),
     * 1 for everything else; for a depthwise convolution of the blocked layout (com.microsoft.nchwc)
     * the output rows its kernel is called for, block by block ({@link #nchwcDepthwiseRows}: its
     * kernel sweeps a block of 16 channels per step, so counting its 960 groups as 960 calls predicted
     * MobileNet-v2's depthwise layers up to 8 times too slow, held out); for an element-wise
     * node of broadcast class "outer" the runs its broadcast loop makes ({@link #outerRuns}); for a
     * Transpose of class "rows" the contiguous runs it copies ({@link #transposeRuns}); for a Softmax
     * over its last axis the rows it normalizes ({@link #softmaxRows}).
     * Only a convolution's calls count beyond its own shape class, and of those not a blocked-layout
     * one's rows ({@link #callsBeyondClass(String, String)}).
     */
    public static long calls(Node n) {
        if ("com.microsoft.nchwc".equals(n.domain())) {
            return n.opType().equals("Conv") ? nchwcDepthwiseRows(n) : 1;
        }
        if (n.isOnnxDomain() && "elementwise".equals(category(n.opType())) && !n.outputs().isEmpty()
                && "outer".equals(broadcastClass(n))) {
            return outerRuns(n);
        }
        if (n.opType().equals("Transpose") && n.isOnnxDomain()) {
            return transposeRuns(n);
        }
        if (n.opType().equals("Softmax") && n.isOnnxDomain()) {
            return softmaxRows(n);
        }
        if ((n.opType().equals("Conv") || n.opType().equals("FusedConv") || n.opType().equals("ConvTranspose"))
                && n.attrInt("group", 1) > 1) {
            Shape x = n.input(0).shape();
            long batch = x.rankKnown() && x.rank() > 0 && x.isFullyKnown() ? x.toLongs()[0] : 1;
            return Math.max(1, batch * n.attrInt("group", 1));
        }
        return 1;
    }

    /**
     * The runs of an element-wise node of broadcast class "outer" (an input equal to the output's
     * leading dimensions followed by ones, such as a per-channel scale [N,C,1,1] of [N,C,H,W]): the
     * elements of the largest such input, each of which the loop applies to one contiguous run of the
     * output (H·W elements). ONNX Runtime's CPU broadcasting (onnxruntime/core/providers/cpu/math/
     * element_wise_ops.h, {@code BroadcastLooper}) calls its span function once per run, so such a
     * node costs a fixed time per run besides its bytes: measured (ONNX Runtime 1.28, one thread,
     * 2026-12-03, the PaddleOCR models' squeeze-and-excitation scales), a Mul of [1,384,10,10] by
     * [1,384,1,1] took 7.8 µs where [1,24,40,40] by [1,24,1,1], the same bytes in 24 runs, took 4.5,
     * and [1,96,20,20] (96 runs) 5.1: about 9 ns per run. 1 where no input is of that kind. O(rank).
     */
    static long outerRuns(Node n) {
        Shape out = n.output(0).shape();
        if (!out.rankKnown() || !out.isFullyKnown()) {
            return 1;
        }
        long[] o = out.toLongs();
        long runs = 1;
        for (Value v : n.inputs()) {
            if (v.isAbsent() || !v.shape().rankKnown() || !v.shape().isFullyKnown() || v.shape().equals(out)) {
                continue;
            }
            if (isOuter(v.shape().toLongs(), o)) {
                runs = Math.max(runs, v.shape().numElements().getAsLong());
            }
        }
        return runs;
    }

    /**
     * The rows a Softmax over its last axis normalizes: its elements over the last dimension. ONNX
     * Runtime's CPU Softmax (onnxruntime/core/providers/cpu/math/softmax_shared.cc,
     * {@code SoftmaxCPU}) handles one row at a time (its maximum, the exponentials and their sum, the
     * division), each a few vector loops over the row, so its time is a cost per row besides its
     * elements: measured (ONNX Runtime 1.28, one thread, 2026-12-03, two sets), the calibration
     * models' and the decoder's softmaxes took about 12 ns per row plus 0.3 ns per element, from 8
     * rows of 2 (0.4 µs) and 256 rows of 32 (5.0 to 5.3) to 40 rows of 6625 (75) and 12,288 rows of 128
     * (643 to 740). 1 for a Softmax over another axis or of unknown shape. O(rank).
     */
    static long softmaxRows(Node n) {
        if (n.inputs().isEmpty() || !n.input(0).shape().rankKnown() || !n.input(0).shape().isFullyKnown()) {
            return 1;
        }
        long[] d = n.input(0).shape().toLongs();
        if (d.length == 0) {
            return 1;
        }
        long axis = n.attrInt("axis", -1);
        if (axis < 0) {
            axis += d.length;
        }
        if (axis != d.length - 1 || d[d.length - 1] <= 0) {
            return 1;
        }
        return Math.max(1, n.input(0).shape().numElements().getAsLong() / d[d.length - 1]);
    }

    /**
     * True when a kernel's {@link #calls} count in the groups wider than its own shape class (op type,
     * category, all samples): those of a convolution (run group by group, the calls its fits in
     * every group were made with). Another op type's runs (a broadcast's per-channel runs) describe
     * its own class's loop only; in a wider group, fitted over op types whose time does not follow
     * them, they would make the fit in calls answer for kernels of one call. O(1).
     */
    public static boolean callsBeyondClass(String opType) {
        return opType.equals("Conv") || opType.equals("FusedConv") || opType.equals("ConvTranspose");
    }

    /**
     * {@link #callsBeyondClass(String)} for a kernel of shape class {@code shapeClass}: false for a
     * class of the blocked layout ({@code nchwc/...}), whose calls are the output rows of its own
     * kernel ({@link #nchwcDepthwiseRows}), not the groups the plain convolutions' wider groups
     * were fitted with. O(1).
     */
    public static boolean callsBeyondClass(String opType, String shapeClass) {
        return callsBeyondClass(opType) && !shapeClass.startsWith("nchwc/");
    }

    /** True when a convolution pads its input (explicit pads, or auto_pad other than NOTSET and VALID). */
    private static boolean padded(Node n) {
        long[] pads = n.attrInts("pads").orElse(new long[0]);
        for (long p : pads) {
            if (p > 0) {
                return true;
            }
        }
        String auto = n.attrString("auto_pad", "NOTSET");
        return !auto.equals("NOTSET") && !auto.equals("VALID");
    }

    /**
     * The kernel calls of a depthwise convolution of ONNX Runtime's blocked channel layout
     * (com.microsoft.nchwc Conv with one group per channel): batch x channel blocks of 16 x output
     * rows. MLAS's depthwise algorithm (onnxruntime/core/mlas/lib/snchwc.cpp,
     * {@code MLAS_NCHWC_CONV_DEPTHWISE_ALGORITHM}) walks the output one row of one channel block at a
     * time and calls its kernel ({@code MlasConvDepthwiseFloatKernel}) once per row, the row's
     * outputs whose window reaches into the padding (left and right) on a slower path that checks
     * every tap, so a padded convolution costs a fixed time per row besides its arithmetic. Without
     * padding (the per-channel scales ONNX Runtime makes of a BatchNormalization, 1x1) a row has no
     * such outputs and its call is a short loop's entry: 1. Measured (ONNX Runtime 1.28, one thread,
     * 2026-12-03, three sets), the calibration models' 3x3 depthwise convolutions (PaddleOCR rec v4
     * and cls v2, rows of 80 to 160 outputs) fit {@code c + F/P + a·rows} with a = 36 to 48 ns per row
     * and P = 82 to 87 GFLOP/s; priced by FLOPs alone, the held-out detector's 5x5 ones on square
     * planes of 20x20 and 10x10 (four to eight times as many rows per FLOP as rec's rows of 80) came
     * out at 0.65 to 0.89 of their time in every set, and MobileNet-v2's 3x3 ones on 7x7 and 14x14 at
     * 0.39 to 0.80.
     * Counted within the class only ({@link #callsBeyondClass(String, String)}). 1 for any other node
     * or an unknown shape. O(rank).
     */
    static long nchwcDepthwiseRows(Node n) {
        if (!n.opType().equals("Conv") || n.inputs().isEmpty() || n.outputs().isEmpty()) {
            return 1;
        }
        Shape x = n.input(0).shape();
        Shape y = n.output(0).shape();
        if (!x.rankKnown() || !y.rankKnown() || !x.isFullyKnown() || !y.isFullyKnown() || x.rank() != 4
                || y.rank() != 4) {
            return 1;
        }
        long[] xs = x.toLongs();
        long[] ys = y.toLongs();
        long group = n.attrInt("group", 1);
        if (group <= 1 || group != xs[1] || !padded(n)) {
            return 1;
        }
        long blocks = (ys[1] + EfficiencyModel.NCHWC_BLOCK - 1) / EfficiencyModel.NCHWC_BLOCK;
        return Math.max(1, ys[0] * blocks * ys[2]);
    }

    /**
     * The contiguous runs a Transpose of class "rows" copies: its elements over the product of the
     * trailing input axes the permutation leaves in place (perm 0,2,1,3 of [1,32,8,32]: 256 runs of
     * 32 floats). ONNX Runtime's CPU Transpose (onnxruntime/core/providers/cpu/tensor/transpose.cc,
     * {@code DoTransposeImpl}) copies such a permutation one run at a time, so its time is a cost per
     * run besides its bytes: measured (ONNX Runtime 1.28, one thread, 2026-12-03, two sets), MiniLM-L6's
     * and the GPT-2-style decoder's perm 0,2,1,3 of 256 to 12,288 runs of 32 floats took about 1 µs plus
     * 8 to 10 ns per run, where their bytes per second ranged from 21 to 28 GB/s. 1 for any other
     * Transpose, an unknown shape or permutation. O(rank).
     */
    static long transposeRuns(Node n) {
        long[] perm = n.attrInts("perm").orElse(null);
        if (perm == null || n.inputs().isEmpty() || !n.input(0).shape().rankKnown()
                || !n.input(0).shape().isFullyKnown()) {
            return 1;
        }
        long[] d = n.input(0).shape().toLongs();
        if (perm.length != d.length || perm.length < 2 || perm[perm.length - 1] != perm.length - 1) {
            return 1;
        }
        long run = 1;
        int k = d.length;
        while (k > 0 && perm[k - 1] == k - 1) {
            run *= d[k - 1];
            k--;
        }
        return run <= 0 || k == 0 ? 1 : Math.max(1, n.input(0).shape().numElements().getAsLong() / run);
    }

    private static int rank(Value v) {
        return v.shape().rankKnown() ? v.shape().rank() : 0;
    }

    /** True for a trained weight or a constant (stored in the model, not fed). */
    static boolean isWeight(Value v) {
        return v.kind() == Value.Kind.PARAMETER || v.kind() == Value.Kind.CONSTANT;
    }
}
