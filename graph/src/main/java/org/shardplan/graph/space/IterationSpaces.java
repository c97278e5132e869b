package org.shardplan.graph.space;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * The iteration space of each operator shardplan knows how to split, built from a node's shapes.
 *
 * <p>{@link #of(Node)} is empty when the operator is not described here (control flow, custom
 * domains, shape arithmetic, sequence and string operators) or when a shape it needs is not fully
 * known; the planner then runs the node replicated. Loop dimension names are stable per operator:
 * <ul>
 * <li>MatMul: {@code b} (or {@code b0, b1, …} for several batch axes, broadcast ones read whole),
 *     {@code m}, {@code n}, reduction {@code k}; a 1-D operand has no {@code m} (or {@code n}).
 *     Gemm: {@code m, n, k} (transA/transB respected; C broadcast).
 * <li>Conv: {@code n}, {@code g} (only when group &gt; 1), {@code co} (output channels per group),
 *     reduction {@code ci} (input channels per group), spatial {@code w} / {@code h, w} /
 *     {@code d, h, w} (or {@code s0, s1, …}) read through windows of span
 *     {@code dilation·(kernel−1)+1} and the stride. ConvTranspose: the same names; input spatial
 *     axes through transposed windows. The kernel window itself is not a loop dimension.
 * <li>MaxPool/AveragePool/LpPool: {@code n, c} and windowed spatial dimensions; global pools: the
 *     spatial dimensions are reductions. LRN: the channel dimension {@code c} is read through a window.
 * <li>BatchNormalization: {@code c} parallel, {@code n} and spatial coupled (batch statistics);
 *     InstanceNormalization: spatial coupled; GroupNormalization: {@code n, g} parallel, {@code c}
 *     and spatial coupled; LayerNormalization and RMS normalisations: {@code d0, d1, …} with the
 *     normalised axes coupled; Softmax/LogSoftmax/Hardmax: {@code d0, …} with the softmax axis coupled.
 * <li>Element-wise operators (with multidirectional broadcasting), Cast, Identity, Dropout, Where:
 *     {@code d0, d1, …} over the output, all parallel.
 * <li>Reductions (ReduceSum, ReduceMean, …, ArgMax, ArgMin): {@code d0, …} over the input, the
 *     reduced axes reductions; CumSum: the summed axis sequential; TopK: its axis fixed.
 * <li>Gather: {@code o0, …} for the data axes before the gathered one, {@code i0, …} for the indices'
 *     axes, {@code v} (a reduction: a device holding a block of the table's rows yields zeros for the
 *     others, so the outputs are partial sums) and {@code e0, …} for the axes after.
 * <li>Einsum: one dimension per letter (named by it), letters missing from the output reductions;
 *     ellipsis axes {@code x0, x1, …}.
 * <li>LSTM/GRU/RNN: {@code s} (sequential), {@code dir}, {@code b}, {@code h} (coupled: the hidden
 *     state is gathered at every step); the input size is not split.
 * <li>Attention (ONNX opset 23) and com.microsoft MultiHeadAttention: {@code b, h, s} parallel, key
 *     positions {@code l} coupled; equal query and key/value head counts and no past caches only.
 * <li>Transpose: {@code d0, …} over the output. Reshape/Flatten/Squeeze/Unsqueeze: axes are grouped
 *     where the running products of input and output sizes meet; a group of one axis on each side
 *     gives {@code dJ} (J the output axis); a group splitting one input axis gives one dimension per
 *     output axis ({@code dJ}) and the input axis flattens them; a group merging input axes into one
 *     output axis J gives {@code dJ_0, dJ_1, …}; a group with several axes on both sides gives one
 *     dimension {@code dJ} (J its first output axis) that indexes the outermost axis of each side, so
 *     only factors dividing both outer sizes cut evenly. Axes of size 1 are read whole.
 * <li>Concat, Slice, Pad, Tile: {@code d0, …} with the concatenated, sliced, padded or tiled axes
 *     fixed. Split: the split axis is {@code p} (fixed: which part) and {@code dA} (the position inside
 *     each part, extent the gcd of the parts' sizes), so that every part can be split alike (the Q, K
 *     and V of a fused projection split by heads); Expand: broadcast; Resize/Upsample: axes scaled by an integer factor are
 *     spatial (windows), others parallel or fixed; DepthToSpace/SpaceToDepth: only {@code d0} parallel.
 * </ul>
 * Inputs whose shapes do not broadcast onto the loop dimensions (per-channel quantisation scales, the
 * shape vector of a Reshape) are read whole. Each call is linear in the node's total rank.
 */
public final class IterationSpaces {
    private IterationSpaces() {
    }

    static final Set<String> ELEMENTWISE = Set.of(
            "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Sqrt", "Relu", "LeakyRelu", "PRelu", "Sigmoid",
            "HardSigmoid", "HardSwish", "Tanh", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Floor", "Ceil",
            "Round", "Clip", "Erf", "Where", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "And", "Or", "Xor", "Not", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
            "Acosh", "Atanh", "Sign", "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu",
            "Mish", "IsNaN", "IsInf", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
            "QuantizeLinear", "DequantizeLinear", "Shrink", "Dropout", "Gelu", "FastGelu", "BiasGelu",
            "QuickGelu", "Swish", "Sum", "Max", "Min", "Mean", "Cast", "CastLike", "Identity");

    private static final Set<String> REDUCE = Set.of(
            "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");

    /** Whether {@code opType} (in the ONNX domain) is one of the element-wise operators described here. */
    public static boolean isElementwise(String opType) {
        return ELEMENTWISE.contains(opType);
    }

    /** The iteration space of the node, or empty when its operator is not described or a shape is unknown. */
    public static Optional<IterationSpace> of(Node node) {
        if (!node.isOnnxDomain() && !("com.microsoft".equals(node.domain())
                && Set.of("Gelu", "FastGelu", "BiasGelu", "QuickGelu", "MultiHeadAttention").contains(node.opType()))) {
            return Optional.empty();
        }
        for (Value v : node.outputs()) {
            if (!v.shape().isFullyKnown()) {
                return Optional.empty();
            }
        }
        for (Value v : node.inputs()) {
            if (!v.isAbsent() && !v.shape().isFullyKnown()) {
                return Optional.empty();
            }
        }
        try {
            return Optional.ofNullable(build(node));
        } catch (Unsupported e) {
            return Optional.empty();
        }
    }

    /** Thrown inside the builders when the node's shapes or attributes do not fit the description. */
    private static final class Unsupported extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unsupported() {
            super(null, null, false, false);
        }
    }

    private static IterationSpace build(Node n) {
        String op = n.opType();
        if (ELEMENTWISE.contains(op)) {
            return elementwise(n);
        }
        if (REDUCE.contains(op)) {
            return reduce(n, reduceAxes(n), n.attrInt("keepdims", 1) != 0);
        }
        return switch (op) {
            case "MatMul", "MatMulInteger" -> matmul(n);
            case "Gemm" -> gemm(n);
            case "Conv", "ConvInteger" -> conv(n, false);
            case "ConvTranspose" -> conv(n, true);
            case "MaxPool", "AveragePool", "LpPool" -> pool(n);
            case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool" -> globalPool(n);
            case "BatchNormalization" -> batchNorm(n);
            case "InstanceNormalization" -> instanceNorm(n);
            case "GroupNormalization" -> groupNorm(n);
            case "LayerNormalization", "RMSNormalization", "SimplifiedLayerNormalization" -> layerNorm(n);
            case "Softmax", "LogSoftmax", "Hardmax" -> softmax(n);
            case "SoftmaxCrossEntropyLoss" -> crossEntropy(n);
            case "LRN" -> lrn(n);
            case "ArgMax", "ArgMin" -> reduce(n, new int[] {axis(n.attrInt("axis", 0), rank(n.input(0)))},
                    n.attrInt("keepdims", 1) != 0);
            case "CumSum" -> alongAxis(n, axisFromInput(n, 1), LoopKind.SEQUENTIAL);
            case "TopK" -> alongAxis(n, axis(n.attrInt("axis", -1), rank(n.input(0))), LoopKind.FIXED);
            case "Gather" -> gather(n);
            case "GatherElements" -> gatherElements(n);
            case "ScatterElements", "Scatter" -> scatterElements(n);
            case "Einsum" -> einsum(n);
            case "LSTM", "GRU", "RNN" -> recurrent(n);
            case "Attention", "MultiHeadAttention" -> attention(n);
            case "Transpose" -> transpose(n);
            case "Reshape", "Flatten", "Squeeze", "Unsqueeze" -> reshape(n);
            case "Concat" -> concat(n);
            case "Split" -> split(n);
            case "Slice", "Pad", "Tile" -> sameRankFixedWhereChanged(n);
            case "Expand" -> expand(n);
            case "Resize", "Upsample" -> resize(n);
            case "DepthToSpace", "SpaceToDepth" -> depthToSpace(n);
            case "GridSample" -> gridSample(n);
            default -> null;
        };
    }

    // ---------------------------------------------------------------- helpers

    private static long[] shape(Value v) {
        return v.shape().toLongs();
    }

    private static int rank(Value v) {
        return v.shape().rank();
    }

    private static int axis(long a, int r) {
        long k = a < 0 ? a + r : a;
        if (k < 0 || k >= r) {
            throw new Unsupported();
        }
        return (int) k;
    }

    private static List<Value> present(Node n) {
        List<Value> r = new ArrayList<>();
        for (Value v : n.inputs()) {
            if (!v.isAbsent()) {
                r.add(v);
            }
        }
        return r;
    }

    /** Collects loop dimensions and tensor indexings. */
    private static final class Sp {
        final Node node;
        final Map<String, LoopDim> dims = new LinkedHashMap<>();
        final List<TensorIndexing> ins = new ArrayList<>();
        final List<TensorIndexing> outs = new ArrayList<>();
        IterationSpace.Coupling coupling = IterationSpace.Coupling.NONE;

        Sp(Node node) {
            this.node = node;
        }

        String dim(String name, long extent, LoopKind kind) {
            if (extent < 1) {
                throw new Unsupported();
            }
            if (dims.put(name, new LoopDim(name, extent, kind)) != null) {
                throw new IllegalStateException("loop dimension " + name + " defined twice for " + node.describe());
            }
            return name;
        }

        void in(Value v, List<AxisMap> axes) {
            in(v, axes, false);
        }

        void in(Value v, List<AxisMap> axes, boolean sparse) {
            ins.add(new TensorIndexing(v, axes, sparse));
        }

        void out(Value v, List<AxisMap> axes) {
            outs.add(new TensorIndexing(v, axes));
        }

        /** Puts the described inputs in input order; present inputs not described are read whole. */
        void restWhole() {
            List<TensorIndexing> pending = new ArrayList<>(ins);
            List<TensorIndexing> all = new ArrayList<>();
            for (Value v : node.inputs()) {
                if (v.isAbsent()) {
                    continue;
                }
                TensorIndexing t = null;
                for (TensorIndexing x : pending) {
                    if (x.value() == v) {
                        t = x;
                        break;
                    }
                }
                if (t != null) {
                    pending.remove(t);
                    all.add(t);
                } else {
                    all.add(new TensorIndexing(v, whole(shape(v))));
                }
            }
            ins.clear();
            ins.addAll(all);
        }

        IterationSpace done() {
            restWhole();
            return new IterationSpace(node.opType(), node.name(), new ArrayList<>(dims.values()), ins, outs, coupling);
        }
    }

    private static List<AxisMap> whole(long[] s) {
        List<AxisMap> r = new ArrayList<>();
        for (long x : s) {
            r.add(AxisMap.whole(x));
        }
        return r;
    }

    /** Right-aligned broadcasting of {@code in} onto loop dimensions {@code names} of sizes {@code out}. */
    private static List<AxisMap> broadcast(long[] in, long[] out, String[] names) {
        List<AxisMap> r = new ArrayList<>();
        int off = out.length - in.length;
        for (int i = 0; i < in.length; i++) {
            int j = i + off;
            if (j >= 0 && names[j] != null && in[i] == out[j]) {
                r.add(AxisMap.of(names[j], in[i]));
            } else {
                r.add(AxisMap.whole(in[i]));
            }
        }
        return r;
    }

    private static String[] generic(Sp sp, long[] out, String prefix) {
        String[] names = new String[out.length];
        for (int i = 0; i < out.length; i++) {
            names[i] = sp.dim(prefix + i, out[i], LoopKind.PARALLEL);
        }
        return names;
    }

    private static List<AxisMap> mapped(long[] s, String[] names) {
        List<AxisMap> r = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            r.add(names[i] == null ? AxisMap.whole(s[i]) : AxisMap.of(names[i], s[i]));
        }
        return r;
    }

    // ---------------------------------------------------------------- operators

    private static IterationSpace elementwise(Node n) {
        Sp sp = new Sp(n);
        long[] out = shape(n.output(0));
        String[] names = generic(sp, out, "d");
        for (Value v : present(n)) {
            sp.in(v, broadcast(shape(v), out, names));
        }
        for (Value v : n.outputs()) {
            sp.out(v, broadcast(shape(v), out, names));
        }
        return sp.done();
    }

    private static IterationSpace matmul(Node n) {
        Sp sp = new Sp(n);
        long[] a = shape(n.input(0));
        long[] b = shape(n.input(1));
        long[] y = shape(n.output(0));
        if (a.length == 0 || b.length == 0) {
            throw new Unsupported();
        }
        boolean hasM = a.length >= 2;
        boolean hasN = b.length >= 2;
        int nb = y.length - (hasM ? 1 : 0) - (hasN ? 1 : 0);
        if (nb < 0) {
            throw new Unsupported();
        }
        String[] bn = new String[nb];
        long[] by = Arrays.copyOf(y, nb);
        for (int i = 0; i < nb; i++) {
            bn[i] = sp.dim(nb == 1 ? "b" : "b" + i, y[i], LoopKind.PARALLEL);
        }
        long kA = a[a.length - 1];
        long kB = b.length >= 2 ? b[b.length - 2] : b[0];
        if (kA != kB) {
            throw new Unsupported();
        }
        String m = hasM ? sp.dim("m", a[a.length - 2], LoopKind.PARALLEL) : null;
        String nn = hasN ? sp.dim("n", b[b.length - 1], LoopKind.PARALLEL) : null;
        String k = sp.dim("k", kA, LoopKind.REDUCTION);
        List<AxisMap> ax = hasM ? broadcast(Arrays.copyOf(a, a.length - 2), by, bn) : new ArrayList<>();
        if (hasM) {
            ax.add(AxisMap.of(m, a[a.length - 2]));
        }
        ax.add(AxisMap.of(k, kA));
        sp.in(n.input(0), ax);
        List<AxisMap> bx = hasN ? broadcast(Arrays.copyOf(b, b.length - 2), by, bn) : new ArrayList<>();
        bx.add(AxisMap.of(k, kB));
        if (hasN) {
            bx.add(AxisMap.of(nn, b[b.length - 1]));
        }
        sp.in(n.input(1), bx);
        List<AxisMap> yx = mapped(by, bn);
        if (hasM) {
            yx.add(AxisMap.of(m, y[nb]));
        }
        if (hasN) {
            yx.add(AxisMap.of(nn, y[y.length - 1]));
        }
        sp.out(n.output(0), yx);
        return sp.done();
    }

    private static IterationSpace gemm(Node n) {
        Sp sp = new Sp(n);
        long[] a = shape(n.input(0));
        long[] b = shape(n.input(1));
        long[] y = shape(n.output(0));
        if (a.length != 2 || b.length != 2 || y.length != 2) {
            throw new Unsupported();
        }
        boolean ta = n.attrInt("transA", 0) != 0;
        boolean tb = n.attrInt("transB", 0) != 0;
        String m = sp.dim("m", y[0], LoopKind.PARALLEL);
        String nn = sp.dim("n", y[1], LoopKind.PARALLEL);
        long kk = ta ? a[0] : a[1];
        String k = sp.dim("k", kk, LoopKind.REDUCTION);
        sp.in(n.input(0), ta ? List.of(AxisMap.of(k, a[0]), AxisMap.of(m, a[1]))
                : List.of(AxisMap.of(m, a[0]), AxisMap.of(k, a[1])));
        sp.in(n.input(1), tb ? List.of(AxisMap.of(nn, b[0]), AxisMap.of(k, b[1]))
                : List.of(AxisMap.of(k, b[0]), AxisMap.of(nn, b[1])));
        if (n.hasInput(2)) {
            sp.in(n.input(2), broadcast(shape(n.input(2)), y, new String[] {m, nn}));
        }
        sp.out(n.output(0), List.of(AxisMap.of(m, y[0]), AxisMap.of(nn, y[1])));
        return sp.done();
    }

    private static String[] spatialNames(int k) {
        return switch (k) {
            case 1 -> new String[] {"w"};
            case 2 -> new String[] {"h", "w"};
            case 3 -> new String[] {"d", "h", "w"};
            default -> {
                String[] r = new String[k];
                for (int i = 0; i < k; i++) {
                    r[i] = "s" + i;
                }
                yield r;
            }
        };
    }

    private static long[] intsOr(Node n, String attr, int len, long dflt) {
        long[] r = n.attrInts(attr).orElse(null);
        if (r == null || r.length == 0) {
            r = new long[len];
            Arrays.fill(r, dflt);
        }
        if (r.length != len) {
            throw new Unsupported();
        }
        return r;
    }

    private static IterationSpace conv(Node n, boolean transposed) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] w = shape(n.input(1));
        long[] y = shape(n.output(0));
        int k = x.length - 2;
        if (k < 1 || w.length != x.length || y.length != x.length) {
            throw new Unsupported();
        }
        long group = n.attrInt("group", 1);
        long cin = x[1];
        long cout = y[1];
        if (group < 1 || cin % group != 0 || cout % group != 0) {
            throw new Unsupported();
        }
        long[] strides = intsOr(n, "strides", k, 1);
        long[] dil = intsOr(n, "dilations", k, 1);
        String nd = sp.dim("n", x[0], LoopKind.PARALLEL);
        String g = group > 1 ? sp.dim("g", group, LoopKind.PARALLEL) : null;
        String co = sp.dim("co", cout / group, LoopKind.PARALLEL);
        String ci = sp.dim("ci", cin / group, LoopKind.REDUCTION);
        String[] sn = spatialNames(k);
        for (int i = 0; i < k; i++) {
            sp.dim(sn[i], y[2 + i], LoopKind.SPATIAL);
        }
        List<String> coDims = g == null ? List.of(co) : List.of(g, co);
        List<String> ciDims = g == null ? List.of(ci) : List.of(g, ci);
        List<AxisMap> xa = new ArrayList<>();
        xa.add(AxisMap.of(nd, x[0]));
        xa.add(AxisMap.flattened(ciDims, cin));
        for (int i = 0; i < k; i++) {
            long span = dil[i] * (w[2 + i] - 1) + 1;
            xa.add(AxisMap.windowed(sn[i], x[2 + i], new Window(strides[i], span, transposed)));
        }
        sp.in(n.input(0), xa);
        List<AxisMap> wa = new ArrayList<>();
        if (transposed) {
            wa.add(AxisMap.flattened(ciDims, w[0]));
            wa.add(AxisMap.of(co, w[1]));
        } else {
            wa.add(AxisMap.flattened(coDims, w[0]));
            wa.add(AxisMap.of(ci, w[1]));
        }
        for (int i = 0; i < k; i++) {
            wa.add(AxisMap.whole(w[2 + i]));
        }
        sp.in(n.input(1), wa);
        if (n.hasInput(2) && n.opType().startsWith("Conv") && !n.opType().equals("ConvInteger")) {
            sp.in(n.input(2), List.of(AxisMap.flattened(coDims, shape(n.input(2))[0])));
        }
        List<AxisMap> ya = new ArrayList<>();
        ya.add(AxisMap.of(nd, y[0]));
        ya.add(AxisMap.flattened(coDims, cout));
        for (int i = 0; i < k; i++) {
            ya.add(AxisMap.of(sn[i], y[2 + i]));
        }
        sp.out(n.output(0), ya);
        return sp.done();
    }

    private static IterationSpace pool(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        int k = x.length - 2;
        long[] kernel = n.attrInts("kernel_shape").orElseThrow(Unsupported::new);
        if (k < 1 || kernel.length != k || y.length != x.length) {
            throw new Unsupported();
        }
        long[] strides = intsOr(n, "strides", k, 1);
        long[] dil = intsOr(n, "dilations", k, 1);
        String nd = sp.dim("n", x[0], LoopKind.PARALLEL);
        String c = sp.dim("c", x[1], LoopKind.PARALLEL);
        String[] sn = spatialNames(k);
        List<AxisMap> xa = new ArrayList<>(List.of(AxisMap.of(nd, x[0]), AxisMap.of(c, x[1])));
        for (int i = 0; i < k; i++) {
            sp.dim(sn[i], y[2 + i], LoopKind.SPATIAL);
            xa.add(AxisMap.windowed(sn[i], x[2 + i], new Window(strides[i], dil[i] * (kernel[i] - 1) + 1, false)));
        }
        sp.in(n.input(0), xa);
        for (Value o : n.outputs()) {
            List<AxisMap> ya = new ArrayList<>(List.of(AxisMap.of(nd, y[0]), AxisMap.of(c, y[1])));
            for (int i = 0; i < k; i++) {
                ya.add(AxisMap.of(sn[i], y[2 + i]));
            }
            sp.out(o, ya);
        }
        return sp.done();
    }

    /** {@code n, c} of the given kind and the spatial dimensions of another, over input 0. */
    private static String[] channelSpace(Sp sp, long[] x, LoopKind nKind, LoopKind spatialKind) {
        if (x.length < 2) {
            throw new Unsupported();
        }
        String[] names = new String[x.length];
        names[0] = sp.dim("n", x[0], nKind);
        names[1] = sp.dim("c", x[1], LoopKind.PARALLEL);
        String[] sn = spatialNames(x.length - 2);
        for (int i = 2; i < x.length; i++) {
            names[i] = sp.dim(sn[i - 2], x[i], spatialKind);
        }
        return names;
    }

    private static IterationSpace globalPool(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        String[] names = channelSpace(sp, x, LoopKind.PARALLEL, LoopKind.REDUCTION);
        sp.in(n.input(0), mapped(x, names));
        long[] y = shape(n.output(0));
        String[] yn = Arrays.copyOf(names, y.length);
        for (int i = 2; i < yn.length; i++) {
            yn[i] = null;
        }
        sp.out(n.output(0), mapped(y, yn));
        return sp.done();
    }

    private static IterationSpace batchNorm(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        String[] names = channelSpace(sp, x, LoopKind.COUPLED, LoopKind.COUPLED);
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        sp.in(n.input(0), mapped(x, names));
        for (int i = 1; i < n.inputs().size(); i++) {
            if (n.hasInput(i)) {
                long[] s = shape(n.input(i));
                sp.in(n.input(i), s.length == 1 && s[0] == x[1] ? List.of(AxisMap.of("c", s[0])) : whole(s));
            }
        }
        sp.out(n.output(0), mapped(shape(n.output(0)), names));
        for (int i = 1; i < n.outputs().size(); i++) {
            long[] s = shape(n.output(i));
            sp.out(n.output(i), s.length == 1 && s[0] == x[1] ? List.of(AxisMap.of("c", s[0])) : whole(s));
        }
        return sp.done();
    }

    private static IterationSpace instanceNorm(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        String[] names = channelSpace(sp, x, LoopKind.PARALLEL, LoopKind.COUPLED);
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        sp.in(n.input(0), mapped(x, names));
        for (int i = 1; i < 3; i++) {
            if (n.hasInput(i)) {
                long[] s = shape(n.input(i));
                sp.in(n.input(i), s.length == 1 && s[0] == x[1] ? List.of(AxisMap.of("c", s[0])) : whole(s));
            }
        }
        sp.out(n.output(0), mapped(shape(n.output(0)), names));
        return sp.done();
    }

    private static IterationSpace groupNorm(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long groups = n.attrInt("num_groups", -1);
        if (x.length < 2 || groups < 1 || x[1] % groups != 0) {
            throw new Unsupported();
        }
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        String nd = sp.dim("n", x[0], LoopKind.PARALLEL);
        String g = sp.dim("g", groups, LoopKind.PARALLEL);
        String c = sp.dim("c", x[1] / groups, LoopKind.COUPLED);
        String[] sn = spatialNames(x.length - 2);
        List<AxisMap> xa = new ArrayList<>(List.of(AxisMap.of(nd, x[0]), AxisMap.flattened(List.of(g, c), x[1])));
        for (int i = 2; i < x.length; i++) {
            xa.add(AxisMap.of(sp.dim(sn[i - 2], x[i], LoopKind.COUPLED), x[i]));
        }
        sp.in(n.input(0), xa);
        for (int i = 1; i < 3; i++) {
            if (n.hasInput(i)) {
                long[] s = shape(n.input(i));
                if (s.length == 1 && s[0] == groups) {
                    sp.in(n.input(i), List.of(AxisMap.of(g, s[0])));
                } else if (s.length == 1 && s[0] == x[1]) {
                    sp.in(n.input(i), List.of(AxisMap.flattened(List.of(g, c), s[0])));
                }
            }
        }
        sp.out(n.output(0), xa.stream().map(a -> a.window().isPresent() ? AxisMap.flattened(a.dims(), a.size()) : a)
                .toList());
        return sp.done();
    }

    private static IterationSpace layerNorm(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        int a = axis(n.attrInt("axis", -1), x.length);
        String[] names = new String[x.length];
        for (int i = 0; i < x.length; i++) {
            names[i] = sp.dim("d" + i, x[i], i < a ? LoopKind.PARALLEL : LoopKind.COUPLED);
        }
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        for (Value v : present(n)) {
            sp.in(v, broadcast(shape(v), x, names));
        }
        for (Value v : n.outputs()) {
            sp.out(v, broadcast(shape(v), x, names));
        }
        return sp.done();
    }

    private static IterationSpace softmax(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        int a = axis(n.attrInt("axis", -1), x.length);
        String[] names = new String[x.length];
        for (int i = 0; i < x.length; i++) {
            names[i] = sp.dim("d" + i, x[i], i == a ? LoopKind.COUPLED : LoopKind.PARALLEL);
        }
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        sp.in(n.input(0), mapped(x, names));
        sp.out(n.output(0), mapped(shape(n.output(0)), names));
        return sp.done();
    }

    /**
     * SoftmaxCrossEntropyLoss without reduction ({@code reduction = "none"}): scores {@code [N, C, D...]},
     * labels {@code [N, D...]}, a loss per sample {@code [N, D...]}. The class axis is coupled as a
     * softmax's (a split of the classes exchanges the maximum and the sum of exponents, as Megatron-LM's
     * vocabulary-parallel cross-entropy does); the other axes are parallel. A reduced loss (mean, sum)
     * is not described: its scalar output would make every axis a reduction.
     */
    private static IterationSpace crossEntropy(Node n) {
        if (!"none".equals(n.attrString("reduction", "mean")) || n.outputs().size() != 1 || n.hasInput(2)) {
            throw new Unsupported();
        }
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        if (x.length < 2) {
            throw new Unsupported();
        }
        String[] names = new String[x.length];
        String[] rest = new String[x.length - 1];
        for (int i = 0; i < x.length; i++) {
            names[i] = sp.dim("d" + i, x[i], i == 1 ? LoopKind.COUPLED : LoopKind.PARALLEL);
            if (i != 1) {
                rest[i == 0 ? 0 : i - 1] = names[i];
            }
        }
        long[] y = new long[x.length - 1];
        for (int i = 0; i < y.length; i++) {
            y[i] = x[i == 0 ? 0 : i + 1];
        }
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        sp.in(n.input(0), mapped(x, names));
        sp.in(n.input(1), mapped(y, rest));
        sp.out(n.output(0), mapped(y, rest));
        return sp.done();
    }

    private static IterationSpace lrn(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long size = n.attrInt("size", 1);
        String[] names = channelSpace(sp, x, LoopKind.PARALLEL, LoopKind.PARALLEL);
        sp.dims.put("c", new LoopDim("c", x[1], LoopKind.SPATIAL));
        List<AxisMap> xa = mapped(x, names);
        xa.set(1, AxisMap.windowed("c", x[1], new Window(1, size, false)));
        sp.in(n.input(0), xa);
        sp.out(n.output(0), mapped(shape(n.output(0)), names));
        return sp.done();
    }

    private static int[] reduceAxes(Node n) {
        int r = rank(n.input(0));
        long[] axes = n.attrInts("axes").orElse(null);
        if (axes == null && n.hasInput(1)) {
            Tensor t = n.input(1).constant().filter(Tensor::hasValues).orElseThrow(Unsupported::new);
            axes = t.longs().orElseThrow(Unsupported::new);
        }
        if (axes == null || axes.length == 0) {
            if (n.attrInt("noop_with_empty_axes", 0) != 0) {
                return new int[0];
            }
            int[] all = new int[r];
            for (int i = 0; i < r; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] res = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            res[i] = axis(axes[i], r);
        }
        return res;
    }

    private static IterationSpace reduce(Node n, int[] axes, boolean keep) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        boolean[] red = new boolean[x.length];
        for (int a : axes) {
            red[a] = true;
        }
        String[] names = new String[x.length];
        for (int i = 0; i < x.length; i++) {
            names[i] = sp.dim("d" + i, x[i], red[i] ? LoopKind.REDUCTION : LoopKind.PARALLEL);
        }
        sp.in(n.input(0), mapped(x, names));
        List<AxisMap> ya = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (!red[i]) {
                ya.add(AxisMap.of(names[i], x[i]));
            } else if (keep) {
                ya.add(AxisMap.whole(1));
            }
        }
        for (Value o : n.outputs()) {
            if (rank(o) != ya.size()) {
                throw new Unsupported();
            }
            sp.out(o, ya);
        }
        return sp.done();
    }

    private static int axisFromInput(Node n, int i) {
        Tensor t = n.input(i).constant().filter(Tensor::hasValues).orElseThrow(Unsupported::new);
        if (t.numElements() != 1) {
            throw new Unsupported();
        }
        return axis(t.getLong(0), rank(n.input(0)));
    }

    private static IterationSpace alongAxis(Node n, int a, LoopKind kind) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        String[] names = new String[x.length];
        for (int i = 0; i < x.length; i++) {
            names[i] = sp.dim("d" + i, x[i], i == a ? kind : LoopKind.PARALLEL);
        }
        sp.in(n.input(0), mapped(x, names));
        for (Value o : n.outputs()) {
            long[] y = shape(o);
            if (y.length != x.length) {
                throw new Unsupported();
            }
            String[] yn = names.clone();
            if (y[a] != x[a]) {
                yn[a] = null;
            }
            sp.out(o, mapped(y, yn));
        }
        return sp.done();
    }

    private static IterationSpace gather(Node n) {
        Sp sp = new Sp(n);
        long[] d = shape(n.input(0));
        long[] idx = shape(n.input(1));
        int a = axis(n.attrInt("axis", 0), d.length);
        List<AxisMap> da = new ArrayList<>();
        List<AxisMap> ya = new ArrayList<>();
        List<AxisMap> ia = new ArrayList<>();
        for (int i = 0; i < a; i++) {
            String o = sp.dim("o" + i, d[i], LoopKind.PARALLEL);
            da.add(AxisMap.of(o, d[i]));
            ya.add(AxisMap.of(o, d[i]));
        }
        for (int j = 0; j < idx.length; j++) {
            String i = sp.dim("i" + j, idx[j], LoopKind.PARALLEL);
            ia.add(AxisMap.of(i, idx[j]));
            ya.add(AxisMap.of(i, idx[j]));
        }
        String v = sp.dim("v", d[a], LoopKind.REDUCTION);
        da.add(AxisMap.of(v, d[a]));
        for (int i = a + 1; i < d.length; i++) {
            String e = sp.dim("e" + (i - a - 1), d[i], LoopKind.PARALLEL);
            da.add(AxisMap.of(e, d[i]));
            ya.add(AxisMap.of(e, d[i]));
        }
        if (rank(n.output(0)) != ya.size()) {
            throw new Unsupported();
        }
        sp.in(n.input(0), da, true);
        sp.in(n.input(1), ia);
        sp.out(n.output(0), ya);
        return sp.done();
    }

    /**
     * GatherElements ({@code torch.gather}): {@code Y[.., i, ..] = X[.., I[.., i, ..], ..]} along {@code axis}, Y the
     * shape of the indices. Every axis of the output splits; the data is read whole along {@code axis} (where the
     * indices point is data) and along any axis where it is longer than the indices, and like the output elsewhere.
     */
    private static IterationSpace gatherElements(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] idx = shape(n.input(1));
        long[] y = shape(n.output(0));
        int a = axis(n.attrInt("axis", 0), x.length);
        if (idx.length != x.length || !java.util.Arrays.equals(idx, y)) {
            throw new Unsupported();
        }
        List<AxisMap> xa = new ArrayList<>();
        List<AxisMap> ya = new ArrayList<>();
        for (int i = 0; i < y.length; i++) {
            String d = sp.dim("d" + i, y[i], LoopKind.PARALLEL);
            ya.add(AxisMap.of(d, y[i]));
            xa.add(i != a && x[i] == y[i] ? AxisMap.of(d, x[i]) : AxisMap.whole(x[i]));
        }
        sp.in(n.input(0), xa, true);
        sp.in(n.input(1), ya);
        sp.out(n.output(0), ya);
        return sp.done();
    }

    /**
     * ScatterElements (and its older name Scatter): the data with the updates written along {@code axis} where the
     * indices point. The axes other than {@code axis} on which data, indices and updates agree split; {@code axis},
     * and any axis on which the indices are shorter than the data, are held whole.
     */
    private static IterationSpace scatterElements(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] idx = shape(n.input(1));
        long[] u = shape(n.input(2));
        long[] y = shape(n.output(0));
        int a = axis(n.attrInt("axis", 0), x.length);
        if (idx.length != x.length || !java.util.Arrays.equals(idx, u) || !java.util.Arrays.equals(x, y)) {
            throw new Unsupported();
        }
        List<AxisMap> ya = new ArrayList<>();
        List<AxisMap> ia = new ArrayList<>();
        for (int i = 0; i < y.length; i++) {
            boolean splits = i != a && idx[i] == y[i];
            String d = sp.dim("d" + i, y[i], splits ? LoopKind.PARALLEL : LoopKind.FIXED);
            ya.add(AxisMap.of(d, y[i]));
            ia.add(splits ? AxisMap.of(d, idx[i]) : AxisMap.whole(idx[i]));
        }
        sp.in(n.input(0), ya);
        sp.in(n.input(1), ia);
        sp.in(n.input(2), ia);
        sp.out(n.output(0), ya);
        return sp.done();
    }

    private static IterationSpace einsum(Node n) {
        String eq = n.attrString("equation", "").replace(" ", "");
        int arrow = eq.indexOf("->");
        String[] terms = (arrow >= 0 ? eq.substring(0, arrow) : eq).split(",", -1);
        List<Value> ins = present(n);
        if (terms.length != ins.size()) {
            throw new Unsupported();
        }
        // Letters of each term, with "..." expanded to x0, x1, ... right-aligned.
        int ell = 0;
        List<List<String>> lists = new ArrayList<>();
        for (int t = 0; t < terms.length; t++) {
            int r = rank(ins.get(t));
            int explicit = terms[t].replace("...", "").length();
            if (terms[t].contains("...")) {
                ell = Math.max(ell, r - explicit);
            } else if (explicit != r) {
                throw new Unsupported();
            }
        }
        for (int t = 0; t < terms.length; t++) {
            lists.add(expand(terms[t], rank(ins.get(t)), ell));
        }
        List<String> outList;
        if (arrow >= 0) {
            String rhs = eq.substring(arrow + 2);
            outList = expand(rhs, rank(n.output(0)), ell);
        } else {
            Map<String, Integer> counts = new HashMap<>();
            lists.forEach(l -> l.forEach(c -> counts.merge(c, 1, Integer::sum)));
            outList = new ArrayList<>();
            for (int i = 0; i < ell; i++) {
                outList.add("x" + i);
            }
            counts.keySet().stream().filter(c -> c.length() == 1 && counts.get(c) == 1).sorted().forEach(outList::add);
        }
        Map<String, Long> ext = new LinkedHashMap<>();
        for (int t = 0; t < lists.size(); t++) {
            long[] s = shape(ins.get(t));
            List<String> l = lists.get(t);
            if (new java.util.HashSet<>(l).size() != l.size()) {
                throw new Unsupported(); // a diagonal
            }
            for (int i = 0; i < l.size(); i++) {
                ext.merge(l.get(i), s[i], Math::max);
            }
        }
        Sp sp = new Sp(n);
        for (Map.Entry<String, Long> e : ext.entrySet()) {
            if (outList.contains(e.getKey())) {
                sp.dim(e.getKey(), e.getValue(), LoopKind.PARALLEL);
            }
        }
        for (Map.Entry<String, Long> e : ext.entrySet()) {
            if (!outList.contains(e.getKey())) {
                sp.dim(e.getKey(), e.getValue(), LoopKind.REDUCTION);
            }
        }
        for (int t = 0; t < lists.size(); t++) {
            long[] s = shape(ins.get(t));
            List<AxisMap> ax = new ArrayList<>();
            for (int i = 0; i < s.length; i++) {
                String c = lists.get(t).get(i);
                ax.add(s[i] == ext.get(c) ? AxisMap.of(c, s[i]) : AxisMap.whole(s[i]));
            }
            sp.in(ins.get(t), ax);
        }
        long[] y = shape(n.output(0));
        if (y.length != outList.size()) {
            throw new Unsupported();
        }
        List<AxisMap> ya = new ArrayList<>();
        for (int i = 0; i < y.length; i++) {
            String c = outList.get(i);
            ya.add(ext.containsKey(c) && ext.get(c) == y[i] ? AxisMap.of(c, y[i]) : AxisMap.whole(y[i]));
        }
        sp.out(n.output(0), ya);
        return sp.done();
    }

    private static List<String> expand(String term, int rank, int ell) {
        List<String> r = new ArrayList<>();
        int e = term.indexOf("...");
        String before = e >= 0 ? term.substring(0, e) : term;
        String after = e >= 0 ? term.substring(e + 3) : "";
        for (char c : before.toCharArray()) {
            r.add(String.valueOf(c));
        }
        if (e >= 0) {
            int k = rank - before.length() - after.length();
            if (k < 0 || k > ell) {
                throw new Unsupported();
            }
            for (int i = ell - k; i < ell; i++) {
                r.add("x" + i);
            }
        }
        for (char c : after.toCharArray()) {
            r.add(String.valueOf(c));
        }
        if (r.size() != rank) {
            throw new Unsupported();
        }
        return r;
    }

    private static IterationSpace recurrent(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] w = shape(n.input(1));
        boolean l1 = n.attrInt("layout", 0) != 0;
        if (x.length != 3 || w.length != 3) {
            throw new Unsupported();
        }
        int gates = switch (n.opType()) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            default -> 1;
        };
        long hidden = n.attrInt("hidden_size", w[1] / gates);
        long seq = l1 ? x[1] : x[0];
        long batch = l1 ? x[0] : x[1];
        String s = sp.dim("s", seq, LoopKind.SEQUENTIAL);
        String dir = sp.dim("dir", w[0], LoopKind.PARALLEL);
        String b = sp.dim("b", batch, LoopKind.PARALLEL);
        String h = sp.dim("h", hidden, LoopKind.COUPLED);
        sp.coupling = IterationSpace.Coupling.HIDDEN_STATE;
        sp.in(n.input(0), l1 ? List.of(AxisMap.of(b, batch), AxisMap.of(s, seq), AxisMap.whole(x[2]))
                : List.of(AxisMap.of(s, seq), AxisMap.of(b, batch), AxisMap.whole(x[2])));
        sp.in(n.input(1), List.of(AxisMap.of(dir, w[0]), AxisMap.of(h, w[1]), AxisMap.whole(w[2])));
        if (n.hasInput(2)) {
            long[] r = shape(n.input(2));
            sp.in(n.input(2), List.of(AxisMap.of(dir, r[0]), AxisMap.of(h, r[1]), AxisMap.whole(r[2])));
        }
        if (n.hasInput(3)) {
            long[] bb = shape(n.input(3));
            sp.in(n.input(3), List.of(AxisMap.of(dir, bb[0]), AxisMap.of(h, bb[1])));
        }
        if (n.hasInput(4)) {
            sp.in(n.input(4), List.of(AxisMap.of(b, batch)));
        }
        List<AxisMap> state = l1 ? List.of(AxisMap.of(b, batch), AxisMap.of(dir, w[0]), AxisMap.of(h, hidden))
                : List.of(AxisMap.of(dir, w[0]), AxisMap.of(b, batch), AxisMap.of(h, hidden));
        for (int i = 5; i <= 6; i++) {
            if (n.hasInput(i)) {
                sp.in(n.input(i), state);
            }
        }
        if (n.hasInput(7)) {
            long[] p = shape(n.input(7));
            sp.in(n.input(7), List.of(AxisMap.of(dir, p[0]), AxisMap.of(h, p[1])));
        }
        for (int i = 0; i < n.outputs().size(); i++) {
            Value o = n.output(i);
            if (i == 0) {
                sp.out(o, l1 ? List.of(AxisMap.of(b, batch), AxisMap.of(s, seq), AxisMap.of(dir, w[0]),
                        AxisMap.of(h, hidden)) : List.of(AxisMap.of(s, seq), AxisMap.of(dir, w[0]),
                        AxisMap.of(b, batch), AxisMap.of(h, hidden)));
            } else {
                sp.out(o, state);
            }
        }
        return sp.done();
    }

    /**
     * ONNX Attention (opset 23, 4-D {@code [B, H, S, D]} or 3-D {@code [B, S, H·D]} operands) and
     * com.microsoft MultiHeadAttention (3-D): {@code b, h, s} parallel, the key positions {@code l}
     * coupled (a split needs the softmax statistics of every query row, as in ring attention). Only
     * equal query and key/value head counts, without past key/value caches.
     */
    private static IterationSpace attention(Node n) {
        if (n.outputs().size() != 1) {
            throw new Unsupported();
        }
        boolean ms = !n.isOnnxDomain();
        if (ms && n.opType().equals("Attention")) {
            throw new Unsupported(); // the packed-weight com.microsoft Attention is not described
        }
        long[] q = shape(n.input(0));
        long[] k = shape(n.input(1));
        long[] v = shape(n.input(2));
        long[] y = shape(n.output(0));
        Sp sp = new Sp(n);
        sp.coupling = IterationSpace.Coupling.STATISTICS;
        String b;
        String h;
        String s;
        String l;
        if (q.length == 4 && k.length == 4 && v.length == 4 && y.length == 4) {
            if (k[1] != q[1] || v[1] != q[1]) {
                throw new Unsupported();
            }
            b = sp.dim("b", q[0], LoopKind.PARALLEL);
            h = sp.dim("h", q[1], LoopKind.PARALLEL);
            s = sp.dim("s", q[2], LoopKind.PARALLEL);
            l = sp.dim("l", k[2], LoopKind.COUPLED);
            sp.in(n.input(0), List.of(AxisMap.of(b, q[0]), AxisMap.of(h, q[1]), AxisMap.of(s, q[2]), AxisMap.whole(q[3])));
            sp.in(n.input(1), List.of(AxisMap.of(b, k[0]), AxisMap.of(h, k[1]), AxisMap.of(l, k[2]), AxisMap.whole(k[3])));
            sp.in(n.input(2), List.of(AxisMap.of(b, v[0]), AxisMap.of(h, v[1]), AxisMap.of(l, v[2]), AxisMap.whole(v[3])));
            sp.out(n.output(0), List.of(AxisMap.of(b, y[0]), AxisMap.of(h, y[1]), AxisMap.of(s, y[2]), AxisMap.whole(y[3])));
        } else if (q.length == 3 && k.length == 3 && v.length == 3 && y.length == 3) {
            long heads = ms ? n.attrInt("num_heads", -1) : n.attrInt("q_num_heads", -1);
            long kvHeads = ms ? heads : n.attrInt("kv_num_heads", heads);
            if (heads < 1 || kvHeads != heads || q[2] % heads != 0 || k[2] % heads != 0 || v[2] % heads != 0) {
                throw new Unsupported();
            }
            b = sp.dim("b", q[0], LoopKind.PARALLEL);
            h = sp.dim("h", heads, LoopKind.PARALLEL);
            s = sp.dim("s", q[1], LoopKind.PARALLEL);
            l = sp.dim("l", k[1], LoopKind.COUPLED);
            sp.in(n.input(0), List.of(AxisMap.of(b, q[0]), AxisMap.of(s, q[1]), AxisMap.flattened(List.of(h), q[2])));
            sp.in(n.input(1), List.of(AxisMap.of(b, k[0]), AxisMap.of(l, k[1]), AxisMap.flattened(List.of(h), k[2])));
            sp.in(n.input(2), List.of(AxisMap.of(b, v[0]), AxisMap.of(l, v[1]), AxisMap.flattened(List.of(h), v[2])));
            sp.out(n.output(0), List.of(AxisMap.of(b, y[0]), AxisMap.of(s, y[1]), AxisMap.flattened(List.of(h), y[2])));
        } else {
            throw new Unsupported();
        }
        int[] pastInputs = ms ? new int[] {6, 7} : new int[] {4, 5};
        for (int i : pastInputs) {
            if (n.hasInput(i)) {
                throw new Unsupported();
            }
        }
        // masks and biases broadcast onto [b, h, s, l]
        long[] scores = {q[0], ms || q.length == 3 ? sp.dims.get("h").extent() : q[1], sp.dims.get("s").extent(),
                sp.dims.get("l").extent()};
        String[] names = {b, h, s, l};
        for (int i = 3; i < n.inputs().size(); i++) {
            if (n.hasInput(i)) {
                long[] m = shape(n.input(i));
                boolean keyPadding = ms && i == 4 && m.length == 2;
                sp.in(n.input(i), keyPadding ? mapped(m, new String[] {m[0] == q[0] ? b : null, m[1] == scores[3] ? l : null})
                        : broadcast(m, scores, names));
            }
        }
        return sp.done();
    }

    private static IterationSpace transpose(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        long[] perm = n.attrInts("perm").orElse(null);
        if (perm == null || perm.length == 0) {
            perm = new long[x.length];
            for (int i = 0; i < x.length; i++) {
                perm[i] = x.length - 1 - i;
            }
        }
        if (perm.length != x.length || y.length != x.length) {
            throw new Unsupported();
        }
        String[] names = generic(sp, y, "d");
        String[] xn = new String[x.length];
        for (int j = 0; j < y.length; j++) {
            xn[(int) perm[j]] = names[j];
        }
        sp.in(n.input(0), mapped(x, xn));
        sp.out(n.output(0), mapped(y, names));
        return sp.done();
    }

    private static IterationSpace reshape(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        long px = 1;
        long py = 1;
        for (long v : x) {
            px *= v;
        }
        for (long v : y) {
            py *= v;
        }
        if (px != py || px == 0) {
            throw new Unsupported();
        }
        AxisMap[] xa = new AxisMap[x.length];
        AxisMap[] ya = new AxisMap[y.length];
        int i = 0;
        int j = 0;
        while (i < x.length || j < y.length) {
            if (i < x.length && x[i] == 1) {
                xa[i] = AxisMap.whole(1);
                i++;
                continue;
            }
            if (j < y.length && y[j] == 1) {
                ya[j] = AxisMap.whole(1);
                j++;
                continue;
            }
            if (i >= x.length || j >= y.length) {
                throw new Unsupported();
            }
            List<Integer> gx = new ArrayList<>(List.of(i));
            List<Integer> gy = new ArrayList<>(List.of(j));
            long a = x[i++];
            long b = y[j++];
            while (a != b) {
                if (a < b) {
                    if (i >= x.length) {
                        throw new Unsupported();
                    }
                    if (x[i] == 1) {
                        xa[i] = AxisMap.whole(1);
                    } else {
                        gx.add(i);
                    }
                    a *= x[i++];
                } else {
                    if (j >= y.length) {
                        throw new Unsupported();
                    }
                    if (y[j] == 1) {
                        ya[j] = AxisMap.whole(1);
                    } else {
                        gy.add(j);
                    }
                    b *= y[j++];
                }
            }
            int j0 = gy.get(0);
            if (gx.size() == 1 && gy.size() == 1) {
                String d = sp.dim("d" + j0, b, LoopKind.PARALLEL);
                xa[gx.get(0)] = AxisMap.of(d, a);
                ya[j0] = AxisMap.of(d, b);
            } else if (gx.size() == 1) {
                List<String> ds = new ArrayList<>();
                for (int jj : gy) {
                    String d = sp.dim("d" + jj, y[jj], LoopKind.PARALLEL);
                    ds.add(d);
                    ya[jj] = AxisMap.of(d, y[jj]);
                }
                xa[gx.get(0)] = AxisMap.flattened(ds, a);
            } else if (gy.size() == 1) {
                List<String> ds = new ArrayList<>();
                for (int t = 0; t < gx.size(); t++) {
                    int ii = gx.get(t);
                    String d = sp.dim("d" + j0 + "_" + t, x[ii], LoopKind.PARALLEL);
                    ds.add(d);
                    xa[ii] = AxisMap.of(d, x[ii]);
                }
                ya[j0] = AxisMap.flattened(ds, b);
            } else {
                String d = sp.dim("d" + j0, b, LoopKind.PARALLEL);
                xa[gx.get(0)] = AxisMap.of(d, x[gx.get(0)]);
                for (int t = 1; t < gx.size(); t++) {
                    xa[gx.get(t)] = AxisMap.whole(x[gx.get(t)]);
                }
                ya[j0] = AxisMap.of(d, y[j0]);
                for (int t = 1; t < gy.size(); t++) {
                    ya[gy.get(t)] = AxisMap.whole(y[gy.get(t)]);
                }
            }
        }
        sp.in(n.input(0), Arrays.asList(xa));
        sp.out(n.output(0), Arrays.asList(ya));
        return sp.done();
    }

    private static IterationSpace concat(Node n) {
        Sp sp = new Sp(n);
        long[] y = shape(n.output(0));
        int a = axis(n.attrInt("axis", 0), y.length);
        String[] names = new String[y.length];
        for (int i = 0; i < y.length; i++) {
            names[i] = sp.dim("d" + i, y[i], i == a ? LoopKind.FIXED : LoopKind.PARALLEL);
        }
        String[] inNames = names.clone();
        inNames[a] = null;
        for (Value v : present(n)) {
            long[] s = shape(v);
            if (s.length != y.length) {
                throw new Unsupported();
            }
            sp.in(v, mapped(s, inNames));
        }
        sp.out(n.output(0), mapped(y, names));
        return sp.done();
    }

    /**
     * Split: {@code d0, …} over the input, except that the split axis {@code a} becomes two dimensions:
     * {@code p} (fixed), which part, and {@code dA} (parallel), the position inside a part, of extent the
     * greatest common divisor {@code g} of the parts' sizes. Each output's axis {@code a} is indexed by
     * {@code dA} alone and the input's by {@code (p, dA)}: splitting {@code dA} by {@code f} (f dividing
     * every part) gives each device the same {@code 1/f} block of every part, so a fused QKV product
     * split by heads stays split by heads in Q, K and V (on the input those blocks are strided). Parts
     * whose sizes share no factor leave {@code dA} of extent 1: not splittable.
     */
    private static IterationSpace split(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        int a = axis(n.attrInt("axis", 0), x.length);
        long g = 0;
        for (Value o : n.outputs()) {
            long[] s = shape(o);
            if (s.length != x.length) {
                throw new Unsupported();
            }
            g = gcd(g, s[a]);
        }
        int parts = n.outputs().size();
        String[] names = new String[x.length];
        String p = null;
        for (int i = 0; i < x.length; i++) {
            if (i == a) {
                if (parts > 1) {
                    p = sp.dim("p", parts, LoopKind.FIXED);
                }
                names[i] = sp.dim("d" + i, Math.max(1, g), g > 0 ? LoopKind.PARALLEL : LoopKind.FIXED);
            } else {
                names[i] = sp.dim("d" + i, x[i], LoopKind.PARALLEL);
            }
        }
        List<AxisMap> in = mapped(x, names);
        if (p != null) {
            in.set(a, AxisMap.flattened(List.of(p, names[a]), x[a]));
        }
        sp.in(n.input(0), in);
        for (Value o : n.outputs()) {
            sp.out(o, mapped(shape(o), names));
        }
        return sp.done();
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    private static IterationSpace sameRankFixedWhereChanged(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        if (x.length != y.length) {
            throw new Unsupported();
        }
        String[] yn = new String[y.length];
        String[] xn = new String[x.length];
        for (int i = 0; i < y.length; i++) {
            boolean same = x[i] == y[i];
            yn[i] = sp.dim("d" + i, y[i], same ? LoopKind.PARALLEL : LoopKind.FIXED);
            xn[i] = same ? yn[i] : null;
        }
        sp.in(n.input(0), mapped(x, xn));
        sp.out(n.output(0), mapped(y, yn));
        return sp.done();
    }

    private static IterationSpace expand(Node n) {
        Sp sp = new Sp(n);
        long[] y = shape(n.output(0));
        String[] names = generic(sp, y, "d");
        sp.in(n.input(0), broadcast(shape(n.input(0)), y, names));
        sp.out(n.output(0), mapped(y, names));
        return sp.done();
    }

    private static IterationSpace resize(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        if (x.length != y.length) {
            throw new Unsupported();
        }
        List<AxisMap> xa = new ArrayList<>();
        String[] yn = new String[y.length];
        for (int i = 0; i < y.length; i++) {
            if (x[i] == y[i]) {
                yn[i] = sp.dim("d" + i, y[i], LoopKind.PARALLEL);
                xa.add(AxisMap.of(yn[i], x[i]));
            } else if (x[i] > 0 && y[i] % x[i] == 0) {
                long k = y[i] / x[i];
                yn[i] = sp.dim("d" + i, y[i], LoopKind.SPATIAL);
                xa.add(AxisMap.windowed(yn[i], x[i], new Window(k, k, true)));
            } else if (y[i] > 0 && x[i] % y[i] == 0) {
                long k = x[i] / y[i];
                yn[i] = sp.dim("d" + i, y[i], LoopKind.SPATIAL);
                xa.add(AxisMap.windowed(yn[i], x[i], new Window(k, k, false)));
            } else {
                yn[i] = sp.dim("d" + i, y[i], LoopKind.FIXED);
                xa.add(AxisMap.whole(x[i]));
            }
        }
        sp.in(n.input(0), xa);
        sp.out(n.output(0), mapped(y, yn));
        return sp.done();
    }

    /**
     * GridSample: {@code Y[n, c, o..] = X[n, c, at grid[n, o..]]}, one output point per grid point. The batch,
     * the channels and the grid's points split; each device reads its samples' and channels' whole images
     * (where the grid points land is known only at run time).
     */
    private static IterationSpace gridSample(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] g = shape(n.input(1));
        long[] y = shape(n.output(0));
        int k = x.length - 2;
        if (k < 1 || g.length != k + 2 || y.length != k + 2 || g[k + 1] != k || g[0] != x[0] || y[0] != x[0]
                || y[1] != x[1]) {
            throw new Unsupported();
        }
        String b = sp.dim("n", x[0], LoopKind.PARALLEL);
        String c = sp.dim("c", x[1], LoopKind.PARALLEL);
        List<AxisMap> xa = new ArrayList<>(List.of(AxisMap.of(b, x[0]), AxisMap.of(c, x[1])));
        List<AxisMap> ga = new ArrayList<>(List.of(AxisMap.of(b, g[0])));
        List<AxisMap> ya = new ArrayList<>(List.of(AxisMap.of(b, y[0]), AxisMap.of(c, y[1])));
        for (int i = 0; i < k; i++) {
            if (g[i + 1] != y[i + 2]) {
                throw new Unsupported();
            }
            String o = sp.dim("o" + i, y[i + 2], LoopKind.PARALLEL);
            xa.add(AxisMap.whole(x[i + 2]));
            ga.add(AxisMap.of(o, g[i + 1]));
            ya.add(AxisMap.of(o, y[i + 2]));
        }
        ga.add(AxisMap.whole(g[k + 1]));
        sp.in(n.input(0), xa);
        sp.in(n.input(1), ga);
        sp.out(n.output(0), ya);
        return sp.done();
    }

    private static IterationSpace depthToSpace(Node n) {
        Sp sp = new Sp(n);
        long[] x = shape(n.input(0));
        long[] y = shape(n.output(0));
        if (x.length != 4 || y.length != 4 || x[0] != y[0]) {
            throw new Unsupported();
        }
        String[] yn = new String[4];
        yn[0] = sp.dim("d0", y[0], LoopKind.PARALLEL);
        for (int i = 1; i < 4; i++) {
            yn[i] = sp.dim("d" + i, y[i], LoopKind.FIXED);
        }
        sp.in(n.input(0), List.of(AxisMap.of(yn[0], x[0]), AxisMap.whole(x[1]), AxisMap.whole(x[2]),
                AxisMap.whole(x[3])));
        sp.out(n.output(0), mapped(y, yn));
        return sp.done();
    }
}
