package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.graph.DType;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;

/**
 * Shape and type rules of the ONNX operators (default domain, opsets 7 to 22), with constant folding
 * of the shape arithmetic exporters emit. Each rule takes a {@link NodeCtx} and returns one
 * {@link Info} per output; what it cannot determine stays unknown. Rules throw
 * {@link IllegalArgumentException} for inputs that no valid model has (shapes that do not broadcast,
 * a reshape that does not fit), which the importer reports naming the node.
 */
final class ShapeRules {
    private ShapeRules() {
    }

    static final Set<String> UNARY_SAME = Set.of(
            "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Cos", "Cosh", "Elu", "Erf", "Exp",
            "Floor", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu", "Log", "Neg", "Reciprocal", "Relu", "Round",
            "Selu", "Celu", "Sigmoid", "Sign", "Sin", "Sinh", "Softplus", "Softsign", "Sqrt", "Tan", "Tanh",
            "ThresholdedRelu", "Mish", "Shrink", "Softmax", "LogSoftmax", "Hardmax", "Clip", "LpNormalization", "LRN",
            "MeanVarianceNormalization", "Gelu", "BitwiseNot", "Not", "CumSum", "Trilu", "ReverseSequence",
            "InstanceNormalization", "GroupNormalization", "Swish", "FastGelu", "BiasGelu", "QuickGelu",
            "Scatter", "ScatterElements", "ScatterND", "Binarizer", "Optional", "OptionalGetElement");
    static final Set<String> BINARY = Set.of(
            "Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor",
            "And", "Or", "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Max", "Min", "Sum",
            "Mean");
    static final Set<String> COMPARISONS = Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "And", "Or", "Xor");
    static final Set<String> REDUCE = Set.of(
            "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
            "ReduceLogSumExp", "ReduceSumSquare");
    private static final Set<String> OTHER = Set.of(
            "Constant", "Shape", "Size", "Cast", "CastLike", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze",
            "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Expand", "Tile", "Pad", "ConstantOfShape",
            "Range", "Where", "MatMul", "MatMulInteger", "QLinearMatMul", "Gemm", "Conv", "ConvInteger", "QLinearConv",
            "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
            "BatchNormalization", "LayerNormalization", "Dropout", "ArgMax", "ArgMin", "TopK", "OneHot", "NonZero",
            "Resize", "Upsample", "LSTM", "GRU", "RNN", "Einsum", "DepthToSpace", "SpaceToDepth", "Compress",
            "NonMaxSuppression", "EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
            "Multinomial", "Bernoulli", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "IsNaN", "IsInf",
            "MaxRoiPool", "RoiAlign", "Det", "GridSample", "MaxUnpool", "Unique", "HannWindow", "HammingWindow",
            "BlackmanWindow", "SequenceEmpty", "SequenceConstruct", "SequenceLength", "SequenceInsert", "SequenceErase",
            "SequenceAt", "SplitToSequence", "ConcatFromSequence", "OptionalHasElement", "DFT", "STFT", "MelWeightMatrix",
            "TfIdfVectorizer", "Col2Im", "CenterCropPad",
            "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss", "Attention", "RMSNormalization",
            "SkipLayerNormalization", "FusedMatMul", "FusedConv", "FusedGemm", "If", "Loop", "Scan");

    /**
     * The domain of ONNX Runtime's blocked-channel (NCHWc) operators, which its layout
     * transformation (graph optimization level "all", on processors with AVX2 or AVX-512) writes
     * into an optimized model: {@code ReorderInput} brings an NCHW (or NHWC) tensor into blocks of
     * channels, {@code ReorderOutput} back; {@code Conv}, the pools and {@code Upsample} work on
     * blocked tensors. A blocked tensor is described by its logical shape {@code [N, Cp, H, W]}, Cp
     * the channel count rounded up to the block size (8 for AVX2, 16 for AVX-512).
     */
    static final String NCHWC_DOMAIN = "com.microsoft.nchwc";
    /** The operators of {@link #NCHWC_DOMAIN} with shape rules. */
    static final Set<String> NCHWC_OPS = Set.of("Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
            "GlobalMaxPool", "ReorderInput", "ReorderOutput", "Upsample");

    /**
     * Shapes of an operator of {@link #NCHWC_DOMAIN}. Conv (with the optional {@code Sum} input,
     * added to the result, and a fused {@code activation}) and the pools follow the default domain's
     * rules on the logical shape; {@code ReorderInput} gives {@code [N, paddedChannels, spatial...]}
     * (its input NHWC with {@code channels_last = 1}); {@code ReorderOutput} gives
     * {@code [N, channels, spatial...]} ({@code channels_last = 1}: {@code [N, spatial..., channels]});
     * {@code Upsample} multiplies each spatial size by its integer {@code scales}.
     *
     * @param paddedChannels for ReorderInput: the channel count after padding to the block size
     */
    static List<Info> nchwc(NodeCtx c, long paddedChannels) {
        Info x = c.in(0);
        Shape xs = x.shape();
        switch (c.op) {
            case "Conv": return conv(c);
            case "MaxPool", "AveragePool": return pool(c);
            case "GlobalAveragePool", "GlobalMaxPool": return globalPool(c);
            default: break;
        }
        if (!xs.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        if (xs.rank() < 3) {
            throw new IllegalArgumentException("input must have rank >= 3, found " + xs);
        }
        boolean last = c.attrInt("channels_last", 0) != 0;
        List<Dim> out = new ArrayList<>();
        out.add(xs.dim(0));
        switch (c.op) {
            case "ReorderInput": {
                if (paddedChannels < 1) {
                    throw new IllegalArgumentException("the padded channel count must be known and >= 1, found "
                            + paddedChannels);
                }
                Dim ch = xs.dim(last ? xs.rank() - 1 : 1);
                if (ch.isFixed() && (paddedChannels < ch.value() || paddedChannels - ch.value() >= 16)) {
                    throw new IllegalArgumentException("the padded channel count must be the " + ch.value()
                            + " channels rounded up to a block, found " + paddedChannels);
                }
                out.add(Dim.of(paddedChannels));
                for (int i = last ? 1 : 2; i < (last ? xs.rank() - 1 : xs.rank()); i++) {
                    out.add(xs.dim(i));
                }
                return one(Info.of(x.dtype(), Shape.of(out)));
            }
            case "ReorderOutput": {
                long ch = c.attrInt("channels", -1);
                if (ch < 1 || xs.dim(1).isFixed() && ch > xs.dim(1).value()) {
                    throw new IllegalArgumentException("attribute channels must be between 1 and the blocked "
                            + "channel count " + xs.dim(1) + ", found " + ch);
                }
                if (!last) {
                    out.add(Dim.of(ch));
                }
                for (int i = 2; i < xs.rank(); i++) {
                    out.add(xs.dim(i));
                }
                if (last) {
                    out.add(Dim.of(ch));
                }
                return one(Info.of(x.dtype(), Shape.of(out)));
            }
            case "Upsample": {
                long[] scales = c.attrInts("scales");
                if (scales == null || scales.length != xs.rank()) {
                    throw new IllegalArgumentException("attribute scales must give " + xs.rank()
                            + " integer factors, found " + (scales == null ? "none" : java.util.Arrays.toString(scales)));
                }
                out.add(xs.dim(1));
                for (int i = 2; i < xs.rank(); i++) {
                    out.add(xs.dim(i).isFixed() ? Dim.of(Math.multiplyExact(xs.dim(i).value(), scales[i]))
                            : Dim.unknown());
                }
                return one(Info.of(x.dtype(), Shape.of(out)));
            }
            default:
                throw new IllegalArgumentException("operator " + c.op + " of domain " + NCHWC_DOMAIN
                        + " has no shape rule");
        }
    }

    /** The domain of ONNX's training operators. */
    static final String TRAINING_DOMAIN = "ai.onnx.preview.training";
    /** Optimizer steps of that domain: each output has the shape of the tensor it updates. */
    static final Set<String> TRAINING_OPS = Set.of("Adagrad", "Adam", "Momentum");

    /**
     * Adagrad (inputs R, T, X[n], G[n], H[n]; outputs X[n], H[n]), Momentum (R, T, X[n], G[n], V[n];
     * X[n], V[n]) and Adam (R, T, X[n], G[n], V[n], H[n]; X[n], V[n], H[n]): output j updates input
     * {@code 2 + j} for the first n outputs and input {@code 2 + n + j} for the others.
     */
    static List<Info> optimizerStep(NodeCtx c) {
        int groups = c.op.equals("Adam") ? 4 : 3;
        int n = (c.inputCount() - 2) / groups;
        List<Info> r = new ArrayList<>();
        for (int j = 0; j < c.numOutputs; j++) {
            Info src = c.in(j < n ? 2 + j : 2 + n + j);
            r.add(src == null ? Info.UNKNOWN : Info.of(src.type()));
        }
        return r;
    }

    /** Whether the operator (of the default domain) has a rule here. */
    static boolean supports(String op) {
        return UNARY_SAME.contains(op) || BINARY.contains(op) || REDUCE.contains(op) || OTHER.contains(op);
    }

    // ---------------------------------------------------------------- helpers

    static List<Info> one(Info i) {
        return List.of(i);
    }

    static Info unknownOf(DType d) {
        return Info.of(d, Shape.unknownRank());
    }

    static int axis(long a, int rank, NodeCtx c) {
        long k = a < 0 ? a + rank : a;
        if (k < 0 || k >= rank) {
            throw new IllegalArgumentException("axis " + a + " is out of range for rank " + rank);
        }
        return (int) k;
    }

    /** Broadcast of two dimensions under numpy rules; throws when two fixed sizes differ and neither is 1. */
    static Dim bdim(Dim a, Dim b) {
        if (a.equals(b)) {
            return a;
        }
        if (a.isFixed() && a.value() == 1) {
            return b;
        }
        if (b.isFixed() && b.value() == 1) {
            return a;
        }
        if (a.isFixed() && b.isFixed()) {
            throw new IllegalArgumentException("shapes do not broadcast: dimension " + a + " against " + b);
        }
        if (a.isFixed()) {
            return a;
        }
        if (b.isFixed()) {
            return b;
        }
        return Dim.unknown();
    }

    static Shape broadcast(List<Shape> shapes) {
        int r = 0;
        for (Shape s : shapes) {
            if (!s.rankKnown()) {
                return Shape.unknownRank();
            }
            r = Math.max(r, s.rank());
        }
        List<Dim> out = new ArrayList<>(Collections.nCopies(r, Dim.of(1)));
        for (Shape s : shapes) {
            for (int i = 0; i < s.rank(); i++) {
                int k = r - s.rank() + i;
                out.set(k, bdim(out.get(k), s.dims().get(i)));
            }
        }
        return Shape.of(out);
    }

    static Dim mulDim(Dim a, long f) {
        if (a.isFixed()) {
            return Dim.of(Math.multiplyExact(a.value(), f));
        }
        return f == 1 ? a : Dim.unknown();
    }

    static Dim sumDims(List<Dim> ds) {
        long s = 0;
        for (Dim d : ds) {
            if (!d.isFixed()) {
                return ds.size() == 1 ? d : Dim.unknown();
            }
            s += d.value();
        }
        return Dim.of(s);
    }

    /** Shape described by an element vector (Reshape/Expand targets, ConstantOfShape). */
    static Shape shapeFromElements(List<Dim> e) {
        List<Dim> d = new ArrayList<>();
        for (Dim x : e) {
            d.add(Elems.asShapeDim(x));
        }
        return Shape.of(d);
    }

    static DType dtypeAttr(NodeCtx c, String n, DType dflt) {
        long code = c.attrInt(n, -1);
        if (code < 0) {
            return dflt;
        }
        return DType.fromOnnx((int) code).orElseThrow(() ->
                new IllegalArgumentException("attribute '" + n + "' must be an ONNX data type, found " + code));
    }

    static DType dt(Info i) {
        return i == null ? DType.UNDEFINED : i.dtype();
    }

    // ---------------------------------------------------------------- dispatch

    static List<Info> infer(NodeCtx c) {
        String op = c.op;
        if (UNARY_SAME.contains(op)) {
            return unarySame(c);
        }
        if (BINARY.contains(op)) {
            return binary(c);
        }
        if (REDUCE.contains(op)) {
            return reduce(c);
        }
        switch (op) {
            case "Constant": return constant(c);
            case "Shape": return shape(c);
            case "Size": return size(c);
            case "Cast": return cast(c, dtypeAttr(c, "to", DType.UNDEFINED));
            case "CastLike": return cast(c, dt(c.in(1)));
            case "Reshape": return reshape(c);
            case "Flatten": return flatten(c);
            case "Transpose": return transpose(c);
            case "Squeeze": return squeeze(c);
            case "Unsqueeze": return unsqueeze(c);
            case "Concat": return concat(c);
            case "Split": return split(c);
            case "Slice": return slice(c);
            case "Gather": return gather(c);
            case "GatherElements": return one(Info.of(dt(c.in(0)), c.in(1).shape()));
            case "GatherND": return gatherNd(c);
            case "Expand": return expand(c);
            case "Tile": return tile(c);
            case "Pad": return pad(c);
            case "ConstantOfShape": return constantOfShape(c);
            case "Range": return range(c);
            case "Where": return where(c);
            case "MatMul", "MatMulInteger", "QLinearMatMul", "FusedMatMul": return matmul(c);
            case "Gemm": return gemm(c);
            case "Conv", "ConvInteger", "QLinearConv", "FusedConv": return conv(c);
            case "FusedGemm": return gemm(c);
            case "ConvTranspose": return convTranspose(c);
            case "MaxPool", "AveragePool", "LpPool": return pool(c);
            case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool": return globalPool(c);
            case "BatchNormalization": return batchNorm(c);
            case "LayerNormalization", "SkipLayerNormalization", "RMSNormalization": return layerNorm(c);
            case "Dropout": return dropout(c);
            case "ArgMax", "ArgMin": return argReduce(c);
            case "TopK": return topK(c);
            case "OneHot": return oneHot(c);
            case "NonZero": return nonZero(c);
            case "Resize", "Upsample": return resize(c);
            case "LSTM", "GRU", "RNN": return recurrent(c);
            case "Einsum": return einsum(c);
            case "DepthToSpace", "SpaceToDepth": return depthSpace(c);
            case "Compress": return compress(c);
            case "NonMaxSuppression": return nms(c);
            case "EyeLike": return one(Info.of(dtypeAttr(c, "dtype", dt(c.in(0))), c.in(0).shape()));
            case "RandomNormal", "RandomUniform":
                return one(Info.of(dtypeAttr(c, "dtype", DType.FLOAT32), Shape.of(c.attrInts("shape"))));
            case "RandomNormalLike", "RandomUniformLike":
                return one(Info.of(dtypeAttr(c, "dtype", dt(c.in(0))), c.in(0).shape()));
            case "Bernoulli": return one(Info.of(dtypeAttr(c, "dtype", dt(c.in(0))), c.in(0).shape()));
            case "Multinomial": return multinomial(c);
            case "QuantizeLinear": return quantize(c);
            case "DequantizeLinear": return one(Info.of(c.has(1) ? dt(c.in(1)) : DType.FLOAT32, c.in(0).shape()));
            case "DynamicQuantizeLinear": return List.of(Info.of(DType.UINT8, c.in(0).shape()),
                    Info.of(DType.FLOAT32, Shape.scalar()), Info.of(DType.UINT8, Shape.scalar()));
            case "IsNaN", "IsInf": return one(Info.of(DType.BOOL, c.in(0).shape()));
            case "MaxRoiPool": return roiPool(c, c.attrInts("pooled_shape"));
            case "RoiAlign": return roiPool(c, new long[] {c.attrInt("output_height", 1), c.attrInt("output_width", 1)});
            case "Det": return det(c);
            case "GridSample": return gridSample(c);
            case "MaxUnpool": return maxUnpool(c);
            case "Unique": return unique(c);
            case "HannWindow", "HammingWindow", "BlackmanWindow": return window(c);
            case "SequenceEmpty": return one(Info.ofSequence(dtypeAttr(c, "dtype", DType.FLOAT32), List.of()));
            case "SequenceConstruct": return one(Info.ofSequence(dt(c.in(0)), c.inputs));
            case "SequenceLength": return sequenceLength(c);
            case "SequenceInsert", "SequenceErase": return sequenceEdit(c);
            case "SequenceAt": return sequenceAt(c);
            case "SplitToSequence": return splitToSequence(c);
            case "ConcatFromSequence": return concatFromSequence(c);
            case "OptionalHasElement": return one(Info.of(DType.BOOL, Shape.scalar()));
            case "DFT": return dft(c);
            case "STFT": return stft(c);
            case "MelWeightMatrix": return melWeightMatrix(c);
            case "TfIdfVectorizer": return tfIdf(c);
            case "Col2Im": return col2im(c);
            case "CenterCropPad": return centerCropPad(c);
            case "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss": return loss(c);
            case "Attention": return attention(c);
            default: break;
        }
        List<Info> r = new ArrayList<>();
        for (int i = 0; i < c.numOutputs; i++) {
            r.add(Info.UNKNOWN);
        }
        return r;
    }

    // ---------------------------------------------------------------- element-wise

    private static List<Info> unarySame(NodeCtx c) {
        Info x = c.in(0);
        DType t = x.dtype();
        if (c.op.equals("Not") || c.op.equals("IsNaN")) {
            t = DType.BOOL;
        }
        Tensor v = null;
        if (x.value() != null && Set.of("Identity", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Relu", "Not", "Sign",
                "Round", "Reciprocal", "Exp", "Log").contains(c.op)) {
            v = Fold.elementwise(c.op, t, x.value());
        }
        if (v != null) {
            return one(Info.of(v));
        }
        if (c.op.equals("Identity")) {
            return one(x);
        }
        List<Info> r = new ArrayList<>();
        r.add(Info.of(t, x.shape()));
        return r;
    }

    private static List<Info> binary(NodeCtx c) {
        if (c.op.equals("PRelu")) {
            // The slope broadcasts onto X (before opset 7 a [C] slope applied along axis 1): Y has X's shape.
            return one(Info.of(dt(c.in(0)), c.in(0).shape()));
        }
        List<Shape> shapes = new ArrayList<>();
        List<Tensor> values = new ArrayList<>();
        boolean allKnown = true;
        for (Info i : c.inputs) {
            if (i == null) {
                continue;
            }
            shapes.add(i.shape());
            values.add(i.value());
            allKnown &= i.value() != null;
        }
        Shape out = broadcast(shapes);
        DType t = COMPARISONS.contains(c.op) ? DType.BOOL : dt(c.in(0));
        if (allKnown && !values.isEmpty()) {
            Tensor v = values.get(0);
            String op = c.op.equals("Sum") ? "Add" : c.op;
            for (int i = 1; i < values.size() && v != null; i++) {
                v = Fold.elementwise(op, t, v, values.get(i));
            }
            if (c.op.equals("Mean")) {
                v = null;
            }
            if (v != null && values.size() > 1) {
                return one(Info.of(v));
            }
        }
        // Symbolic element arithmetic on shape vectors.
        if (c.inputCount() == 2 && c.in(0) != null && c.in(1) != null && c.in(0).elements() != null
                && c.in(1).elements() != null && out.rankKnown() && out.rank() <= 1) {
            List<Dim> a = c.in(0).elements();
            List<Dim> b = c.in(1).elements();
            int n = Math.max(a.size(), b.size());
            if ((a.size() == n || a.size() == 1) && (b.size() == n || b.size() == 1)) {
                List<Dim> e = new ArrayList<>();
                boolean bool = COMPARISONS.contains(c.op);
                for (int i = 0; i < n; i++) {
                    Dim x = a.get(a.size() == 1 ? 0 : i);
                    Dim y = b.get(b.size() == 1 ? 0 : i);
                    e.add(bool ? compare(c.op, x, y) : Elems.arith(c.op, x, y));
                }
                return one(Info.ofElements(t, e, out.rank() == 0));
            }
        }
        return one(Info.of(t, out));
    }

    /** Comparison of two elements; symbols are known to be non-negative. */
    private static Dim compare(String op, Dim x, Dim y) {
        Long a = Elems.num(x);
        Long b = Elems.num(y);
        if (a != null && b != null) {
            boolean r = switch (op) {
                case "Equal" -> a.longValue() == b.longValue();
                case "Less" -> a < b;
                case "Greater" -> a > b;
                case "LessOrEqual" -> a <= b;
                case "GreaterOrEqual" -> a >= b;
                default -> false;
            };
            return Dim.of(r ? 1 : 0);
        }
        if (op.equals("Equal")) {
            if (Elems.isSymbol(x) && x.equals(y)) {
                return Dim.of(1);
            }
            if ((Elems.isSymbol(x) && b != null && b < 0) || (Elems.isSymbol(y) && a != null && a < 0)) {
                return Dim.of(0);
            }
        }
        return Dim.unknown();
    }

    private static List<Info> where(NodeCtx c) {
        Info cond = c.in(0);
        Info x = c.in(1);
        Info y = c.in(2);
        Shape out = broadcast(List.of(cond.shape(), x.shape(), y.shape()));
        if (cond.value() != null && x.value() != null && y.value() != null) {
            Tensor v = Fold.elementwise("Where", x.dtype(), cond.value(), x.value(), y.value());
            if (v != null) {
                return one(Info.of(v));
            }
        }
        if (cond.elements() != null && x.elements() != null && y.elements() != null && out.rankKnown()
                && out.rank() <= 1) {
            int n = Math.max(cond.elements().size(), Math.max(x.elements().size(), y.elements().size()));
            List<Dim> e = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Dim k = cond.elements().get(cond.elements().size() == 1 ? 0 : i);
                Long kv = Elems.num(k);
                if (kv == null) {
                    e.add(Dim.unknown());
                } else {
                    List<Dim> src = kv != 0 ? x.elements() : y.elements();
                    e.add(src.get(src.size() == 1 ? 0 : i));
                }
            }
            return one(Info.ofElements(x.dtype(), e, out.rank() == 0));
        }
        return one(Info.of(x.dtype(), out));
    }

    // ---------------------------------------------------------------- constants and shape ops

    private static List<Info> constant(NodeCtx c) {
        if (c.hasAttr("value")) {
            Tensor t = c.attrTensor("value");
            return one(t.hasValues() ? Info.of(t) : Info.of(t.type()));
        }
        if (c.hasAttr("sparse_value")) {
            return one(Info.of(c.attrTensor("sparse_value").type()));
        }
        if (c.hasAttr("value_float")) {
            return one(Info.of(Tensor.ofDoubles(DType.FLOAT32, new long[0], new double[] {c.attrFloat("value_float", 0)})));
        }
        if (c.hasAttr("value_floats")) {
            float[] f = c.attrFloats("value_floats");
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            return one(Info.of(Tensor.ofDoubles(DType.FLOAT32, new long[] {f.length}, d)));
        }
        if (c.hasAttr("value_int")) {
            return one(Info.of(Tensor.int64Scalar(c.attrInt("value_int", 0))));
        }
        if (c.hasAttr("value_ints")) {
            return one(Info.of(Tensor.int64Vector(c.attrInts("value_ints"))));
        }
        if (c.hasAttr("value_string")) {
            return one(Info.of(DType.STRING, Shape.scalar()));
        }
        if (c.hasAttr("value_strings")) {
            return one(Info.of(DType.STRING, Shape.of(c.attrs.get("value_strings").asStrings().size())));
        }
        throw new IllegalArgumentException("Constant must have a value attribute, found none");
    }

    private static List<Info> shape(NodeCtx c) {
        Shape s = c.in(0).shape();
        if (!s.rankKnown()) {
            return one(Info.of(DType.INT64, Shape.unknownDims(1)));
        }
        int r = s.rank();
        long start = c.attrInt("start", 0);
        long end = c.attrInt("end", r);
        start = clamp(start < 0 ? start + r : start, 0, r);
        end = clamp(end < 0 ? end + r : end, 0, r);
        List<Dim> e = new ArrayList<>();
        for (long i = start; i < end; i++) {
            e.add(s.dims().get((int) i));
        }
        return one(Info.ofElements(DType.INT64, e, false));
    }

    private static List<Info> size(NodeCtx c) {
        Shape s = c.in(0).shape();
        if (s.isFullyKnown()) {
            return one(Info.of(Tensor.int64Scalar(s.numElements().getAsLong())));
        }
        if (s.rankKnown() && s.rank() == 1) {
            return one(Info.ofElements(DType.INT64, List.of(s.dim(0)), true));
        }
        return one(Info.of(DType.INT64, Shape.scalar()));
    }

    private static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static List<Info> cast(NodeCtx c, DType to) {
        Info x = c.in(0);
        if (x.value() != null) {
            Tensor v = Fold.cast(x.value(), to);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        if (x.elements() != null && to.isInteger()) {
            return one(Info.ofElements(to, x.elements(), x.rank() == 0));
        }
        return one(Info.of(to, x.shape()));
    }

    private static List<Info> reshape(NodeCtx c) {
        Info x = c.in(0);
        List<Dim> target;
        if (c.has(1)) {
            target = c.in(1).elements();
            if (target == null) {
                Shape ts = c.in(1).shape();
                if (ts.rankKnown() && ts.rank() == 1 && ts.dim(0).isFixed()) {
                    return one(Info.of(x.dtype(), Shape.unknownDims(rankFrom(ts.dim(0).value(), "the shape input"))));
                }
                return one(unknownOf(x.dtype()));
            }
        } else {
            long[] s = c.attrInts("shape");
            if (s == null) {
                return one(unknownOf(x.dtype()));
            }
            target = Elems.ofLongs(s);
        }
        boolean allowZero = c.attrInt("allowzero", 0) != 0;
        Shape in = x.shape();
        List<Dim> out = new ArrayList<>();
        int minusOne = -1;
        for (int i = 0; i < target.size(); i++) {
            Dim t = target.get(i);
            Long n = Elems.num(t);
            if (n != null && n == 0 && !allowZero) {
                if (in.rankKnown() && i < in.rank()) {
                    out.add(in.dim(i));
                } else if (in.rankKnown()) {
                    throw new IllegalArgumentException("reshape target copies dimension " + i + " (0) of an input of rank "
                            + in.rank());
                } else {
                    out.add(Dim.unknown());
                }
            } else if (n != null && n == -1) {
                if (minusOne >= 0) {
                    throw new IllegalArgumentException("reshape target must have at most one -1, found two");
                }
                minusOne = i;
                out.add(Dim.unknown());
            } else if (n != null && n < -1) {
                throw new IllegalArgumentException("reshape target dimension must be >= -1, found " + n);
            } else {
                out.add(Elems.asShapeDim(t));
            }
        }
        if (minusOne >= 0) {
            out.set(minusOne, inferMinusOne(in, out, minusOne));
        } else if (in.isFullyKnown() && Shape.of(out).isFullyKnown()
                && in.numElements().getAsLong() != Shape.of(out).numElements().getAsLong()) {
            throw new IllegalArgumentException("cannot reshape " + in + " (" + in.numElements().getAsLong()
                    + " elements) to " + Shape.of(out));
        }
        Shape s = Shape.of(out);
        if (x.value() != null && s.isFullyKnown()) {
            Tensor v = Fold.reshape(x.value(), s.toLongs());
            if (v != null) {
                return one(Info.of(v));
            }
        }
        if (x.elements() != null && s.isFullyKnown() && s.numElements().getAsLong() == x.elements().size()
                && s.rank() <= 1) {
            return one(Info.ofElements(x.dtype(), x.elements(), s.rank() == 0));
        }
        return one(Info.of(x.dtype(), s));
    }

    /**
     * The size of a -1 reshape dimension: the input's element count over the others', with symbols
     * cancelled (so [batch, seq, 384] to [batch, seq, 12, -1] gives 32 without binding anything).
     */
    static Dim inferMinusOne(Shape in, List<Dim> out, int minusOne) {
        if (!in.rankKnown()) {
            return Dim.unknown();
        }
        long inFixed = 1;
        Map<String, Integer> syms = new HashMap<>();
        for (Dim d : in.dims()) {
            if (d.isFixed()) {
                inFixed = Math.multiplyExact(inFixed, d.value());
            } else if (d instanceof Dim.Symbolic s) {
                syms.merge(s.name(), 1, Integer::sum);
            } else {
                return Dim.unknown();
            }
        }
        long outFixed = 1;
        for (int i = 0; i < out.size(); i++) {
            if (i == minusOne) {
                continue;
            }
            Dim d = out.get(i);
            if (d.isFixed()) {
                outFixed = Math.multiplyExact(outFixed, d.value());
            } else if (d instanceof Dim.Symbolic s) {
                Integer k = syms.get(s.name());
                if (k == null) {
                    return Dim.unknown();
                }
                if (k == 1) {
                    syms.remove(s.name());
                } else {
                    syms.put(s.name(), k - 1);
                }
            } else {
                return Dim.unknown();
            }
        }
        if (outFixed == 0) {
            return Dim.unknown();
        }
        if (syms.isEmpty()) {
            if (inFixed % outFixed != 0) {
                throw new IllegalArgumentException("cannot reshape " + in + " to " + Shape.of(out)
                        + ": " + inFixed + " elements do not divide by " + outFixed);
            }
            return Dim.of(inFixed / outFixed);
        }
        if (syms.size() == 1 && syms.values().iterator().next() == 1 && inFixed == outFixed) {
            return Dim.symbol(syms.keySet().iterator().next());
        }
        return Dim.unknown();
    }

    private static List<Info> flatten(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return one(Info.of(x.dtype(), Shape.unknownDims(2)));
        }
        int a = (int) c.attrInt("axis", 1);
        if (a < 0) {
            a += s.rank();
        }
        Dim left = product(s.dims().subList(0, a));
        Dim right = product(s.dims().subList(a, s.rank()));
        Shape out = Shape.of(List.of(left, right));
        if (x.value() != null && out.isFullyKnown()) {
            return one(Info.of(Fold.reshape(x.value(), out.toLongs())));
        }
        return one(Info.of(x.dtype(), out));
    }

    static Dim product(List<Dim> ds) {
        long p = 1;
        Dim sym = null;
        for (Dim d : ds) {
            if (d.isFixed()) {
                p = Math.multiplyExact(p, d.value());
            } else if (sym == null) {
                sym = d;
            } else {
                return Dim.unknown();
            }
        }
        if (sym == null) {
            return Dim.of(p);
        }
        return p == 1 ? sym : Dim.unknown();
    }

    private static List<Info> transpose(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            long[] p = c.attrInts("perm");
            return one(Info.of(x.dtype(), p == null ? Shape.unknownRank() : Shape.unknownDims(p.length)));
        }
        int r = s.rank();
        long[] perm = c.attrInts("perm");
        int[] p = new int[r];
        if (perm == null) {
            for (int i = 0; i < r; i++) {
                p[i] = r - 1 - i;
            }
        } else {
            if (perm.length != r) {
                throw new IllegalArgumentException("perm must have " + r + " entries, found " + perm.length);
            }
            for (int i = 0; i < r; i++) {
                p[i] = axis(perm[i], r, c);
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            out.add(s.dims().get(p[i]));
        }
        if (x.value() != null) {
            Tensor v = Fold.transpose(x.value(), p);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> squeeze(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] axes = c.intsFromInputOrAttr(1, "axes");
        if (c.has(1) && axes == null) {
            return one(unknownOf(x.dtype()));
        }
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank();
        boolean[] drop = new boolean[r];
        if (axes == null) {
            for (int i = 0; i < r; i++) {
                Dim d = s.dims().get(i);
                if (!d.isFixed()) {
                    return one(unknownOf(x.dtype()));
                }
                drop[i] = d.value() == 1;
            }
        } else {
            for (long a : axes) {
                int k = axis(a, r, c);
                Dim d = s.dims().get(k);
                if (d.isFixed() && d.value() != 1) {
                    throw new IllegalArgumentException("cannot squeeze axis " + a + " of size " + d.value());
                }
                drop[k] = true;
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (!drop[i]) {
                out.add(s.dims().get(i));
            }
        }
        Shape os = Shape.of(out);
        if (x.value() != null) {
            return one(Info.of(Fold.reshape(x.value(), os.toLongs())));
        }
        if (x.elements() != null && out.isEmpty() && x.elements().size() == 1) {
            return one(Info.ofElements(x.dtype(), x.elements(), true));
        }
        return one(Info.of(x.dtype(), os));
    }

    private static List<Info> unsqueeze(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] axes = c.intsFromInputOrAttr(1, "axes");
        if (axes == null || !s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank() + axes.length;
        boolean[] inserted = new boolean[r];
        for (long a : axes) {
            int k = axis(a, r, c);
            if (inserted[k]) {
                throw new IllegalArgumentException("axis " + a + " is given twice");
            }
            inserted[k] = true;
        }
        List<Dim> out = new ArrayList<>();
        int j = 0;
        for (int i = 0; i < r; i++) {
            out.add(inserted[i] ? Dim.of(1) : s.dims().get(j++));
        }
        Shape os = Shape.of(out);
        if (x.value() != null) {
            return one(Info.of(Fold.reshape(x.value(), os.toLongs())));
        }
        if (x.elements() != null && r == 1) {
            return one(Info.ofElements(x.dtype(), x.elements(), false));
        }
        return one(Info.of(x.dtype(), os));
    }

    private static List<Info> concat(NodeCtx c) {
        List<Info> ins = new ArrayList<>();
        for (Info i : c.inputs) {
            if (i != null) {
                ins.add(i);
            }
        }
        DType t = ins.get(0).dtype();
        int rank = -1;
        for (Info i : ins) {
            if (i.rankKnown()) {
                rank = i.rank();
            }
        }
        if (rank < 0) {
            return one(unknownOf(t));
        }
        int ax = axis(c.attrInt("axis", 0), rank, c);
        List<Dim> out = new ArrayList<>(Collections.nCopies(rank, Dim.unknown()));
        List<Dim> along = new ArrayList<>();
        boolean alongKnown = true;
        for (Info i : ins) {
            if (!i.rankKnown()) {
                alongKnown = false;
                continue;
            }
            if (i.rank() != rank) {
                throw new IllegalArgumentException("Concat inputs must have the same rank, found " + rank + " and "
                        + i.rank());
            }
            for (int k = 0; k < rank; k++) {
                if (k == ax) {
                    along.add(i.shape().dim(k));
                } else {
                    Dim cur = out.get(k);
                    Dim d = i.shape().dim(k);
                    if (cur instanceof Dim.Unknown) {
                        out.set(k, d);
                    } else if (d.isFixed() && !cur.isFixed()) {
                        out.set(k, d);
                    } else if (d.isFixed() && cur.isFixed() && d.value() != cur.value()) {
                        throw new IllegalArgumentException("Concat inputs differ in dimension " + k + ": " + cur
                                + " and " + d);
                    }
                }
            }
        }
        out.set(ax, alongKnown ? sumDims(along) : Dim.unknown());
        boolean allValues = ins.stream().allMatch(i -> i.value() != null);
        if (allValues) {
            Tensor[] parts = ins.stream().map(Info::value).toArray(Tensor[]::new);
            Tensor v = Fold.concat(parts, ax, t);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        if (rank == 1 && ins.stream().allMatch(i -> i.elements() != null)) {
            List<Dim> e = new ArrayList<>();
            for (Info i : ins) {
                e.addAll(i.elements());
            }
            return one(Info.ofElements(t, e, false));
        }
        return one(Info.of(t, Shape.of(out)));
    }

    private static List<Info> split(NodeCtx c) {
        Info x = c.in(0);
        int n = c.numOutputs;
        Shape s = x.shape();
        List<Info> r = new ArrayList<>();
        if (!s.rankKnown()) {
            for (int i = 0; i < n; i++) {
                r.add(unknownOf(x.dtype()));
            }
            return r;
        }
        int ax = axis(c.attrInt("axis", 0), s.rank(), c);
        long[] sizes = c.intsFromInputOrAttr(1, "split");
        Dim d = s.dim(ax);
        List<Dim> parts = new ArrayList<>();
        if (sizes != null && sizes.length > 0) {
            if (sizes.length != n) {
                throw new IllegalArgumentException("split must give " + n + " sizes, found " + sizes.length);
            }
            long total = 0;
            for (long z : sizes) {
                parts.add(Dim.of(z));
                total += z;
            }
            if (d.isFixed() && total != d.value()) {
                throw new IllegalArgumentException("split sizes add up to " + total + ", axis has " + d.value());
            }
        } else if (c.has(1)) {
            parts.addAll(Collections.nCopies(n, Dim.unknown()));
        } else if (d.isFixed()) {
            long len = d.value();
            long chunk = (len + n - 1) / n;
            for (int i = 0; i < n; i++) {
                long z = Math.min(chunk, Math.max(0, len - chunk * i));
                parts.add(Dim.of(z));
            }
            if (c.hasAttr("num_outputs") == false && len % n != 0) {
                throw new IllegalArgumentException("axis of size " + len + " does not split into " + n + " equal parts");
            }
        } else {
            parts.addAll(Collections.nCopies(n, Dim.unknown()));
        }
        for (int i = 0; i < n; i++) {
            List<Dim> dims = new ArrayList<>(s.dims());
            dims.set(ax, parts.get(i));
            r.add(Info.of(x.dtype(), Shape.of(dims)));
        }
        if (x.value() != null && parts.stream().allMatch(Dim::isFixed)) {
            long start = 0;
            long[] dims = x.value().dims();
            for (int i = 0; i < n; i++) {
                long[] st = new long[dims.length];
                long[] step = new long[dims.length];
                Arrays.fill(step, 1);
                long[] od = dims.clone();
                st[ax] = start;
                od[ax] = parts.get(i).value();
                start += od[ax];
                Tensor v = Fold.slice(x.value(), st, step, od);
                if (v != null) {
                    r.set(i, Info.of(v));
                }
            }
        }
        return r;
    }

    private static List<Info> slice(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (c.opset < 10) {
            starts = c.attrInts("starts");
            ends = c.attrInts("ends");
            axes = c.attrInts("axes");
        } else {
            starts = c.longs(1);
            ends = c.longs(2);
            axes = c.has(3) ? c.longs(3) : null;
            steps = c.has(4) ? c.longs(4) : null;
            if ((c.has(3) && axes == null) || (c.has(4) && steps == null)) {
                return one(s.rankKnown() ? Info.of(x.dtype(), Shape.unknownDims(s.rank())) : unknownOf(x.dtype()));
            }
        }
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank();
        if ((starts == null || ends == null) && c.opset >= 10 && c.in(1).elements() != null
                && c.in(2).elements() != null) {
            // Symbolic bounds: x[0:n] along an axis, with n a symbol, has n elements (a model in
            // which n exceeds the axis would fail elsewhere; exporters slice position tables this way).
            List<Dim> se = c.in(1).elements();
            List<Dim> ee = c.in(2).elements();
            long[] ax = axes;
            if (ax == null) {
                ax = new long[se.size()];
                for (int i = 0; i < ax.length; i++) {
                    ax[i] = i;
                }
            }
            if (se.size() == ee.size() && ax.length == se.size()) {
                List<Dim> out = new ArrayList<>(s.dims());
                for (int i = 0; i < ax.length; i++) {
                    int a = axis(ax[i], r, c);
                    long step = steps == null ? 1 : steps[i];
                    Long b0 = Elems.num(se.get(i));
                    Long e0 = Elems.num(ee.get(i));
                    Dim d = s.dim(a);
                    if (b0 != null && b0 == 0 && step == 1 && Elems.isSymbol(ee.get(i))) {
                        out.set(a, ee.get(i));
                    } else if (b0 != null && e0 != null && d.isFixed()) {
                        long len = d.value();
                        long b = clamp(b0 < 0 ? b0 + len : b0, 0, len);
                        long e = clamp(e0 < 0 ? e0 + len : e0, 0, len);
                        out.set(a, step > 0 ? Dim.of(e > b ? (e - b + step - 1) / step : 0) : Dim.unknown());
                    } else if (b0 != null && b0 == 0 && e0 != null && e0 >= Integer.MAX_VALUE && step == 1) {
                        continue;
                    } else {
                        out.set(a, Dim.unknown());
                    }
                }
                return one(Info.of(x.dtype(), Shape.of(out)));
            }
        }
        if (starts == null || ends == null) {
            // Which axes are sliced may still be known: the others keep their size.
            List<Dim> out = new ArrayList<>(s.dims());
            if (axes != null) {
                for (long a : axes) {
                    out.set(axis(a, r, c), Dim.unknown());
                }
                return one(Info.of(x.dtype(), Shape.of(out)));
            }
            return one(Info.of(x.dtype(), Shape.unknownDims(r)));
        }
        if (axes == null) {
            axes = new long[starts.length];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = i;
            }
        }
        if (starts.length != ends.length || axes.length != starts.length
                || (steps != null && steps.length != starts.length)) {
            throw new IllegalArgumentException("starts, ends, axes and steps must have the same length, found "
                    + starts.length + ", " + ends.length + ", " + axes.length
                    + (steps == null ? "" : ", " + steps.length));
        }
        List<Dim> out = new ArrayList<>(s.dims());
        long[] st = new long[r];
        long[] sp = new long[r];
        Arrays.fill(sp, 1);
        boolean allFixed = s.isFullyKnown();
        for (int i = 0; i < axes.length; i++) {
            int a = axis(axes[i], r, c);
            long step = steps == null ? 1 : steps[i];
            if (step == 0) {
                throw new IllegalArgumentException("slice step must not be 0");
            }
            Dim d = s.dim(a);
            if (!d.isFixed()) {
                // start 0, end >= INT_MAX/2, step 1 keeps the whole (symbolic) axis
                if (starts[i] == 0 && ends[i] >= Integer.MAX_VALUE && step == 1) {
                    continue;
                }
                out.set(a, Dim.unknown());
                continue;
            }
            long len = d.value();
            long b = starts[i];
            long e = ends[i];
            long lo;
            long len2;
            if (step > 0) {
                b = b < 0 ? b + len : b;
                e = e < 0 ? e + len : e;
                b = clamp(b, 0, len);
                e = clamp(e, 0, len);
                len2 = e > b ? (e - b + step - 1) / step : 0;
                lo = b;
            } else {
                b = b < 0 ? b + len : b;
                e = e < 0 ? e + len : e;
                b = clamp(b, -1, len - 1);
                e = clamp(e, -1, len - 1);
                len2 = b > e ? (b - e + (-step) - 1) / (-step) : 0;
                lo = b;
            }
            out.set(a, Dim.of(len2));
            st[a] = lo;
            sp[a] = step;
        }
        Shape os = Shape.of(out);
        if (x.value() != null && allFixed) {
            Tensor v = Fold.slice(x.value(), st, sp, os.toLongs());
            if (v != null) {
                return one(Info.of(v));
            }
        }
        if (x.elements() != null && r == 1 && os.isFullyKnown()) {
            List<Dim> e = new ArrayList<>();
            for (long i = 0; i < os.dim(0).value(); i++) {
                e.add(x.elements().get((int) (st[0] + i * sp[0])));
            }
            return one(Info.ofElements(x.dtype(), e, false));
        }
        if (x.elements() != null && r == 1 && s.dim(0).isFixed()) {
            return one(Info.of(x.dtype(), os));
        }
        return one(Info.of(x.dtype(), os));
    }

    private static List<Info> gather(NodeCtx c) {
        Info data = c.in(0);
        Info idx = c.in(1);
        Shape ds = data.shape();
        Shape is = idx.shape();
        if (!ds.rankKnown() || !is.rankKnown()) {
            return one(unknownOf(data.dtype()));
        }
        int ax = axis(c.attrInt("axis", 0), ds.rank(), c);
        List<Dim> out = new ArrayList<>();
        out.addAll(ds.dims().subList(0, ax));
        out.addAll(is.dims());
        out.addAll(ds.dims().subList(ax + 1, ds.rank()));
        if (data.value() != null && idx.value() != null) {
            Tensor v = Fold.gather(data.value(), idx.value(), ax);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        long[] ix = c.longs(1);
        if (data.elements() != null && ds.rank() == 1 && ix != null && is.rank() <= 1) {
            List<Dim> e = new ArrayList<>();
            int n = data.elements().size();
            for (long i : ix) {
                long k = i < 0 ? i + n : i;
                if (k < 0 || k >= n) {
                    throw new IllegalArgumentException("gather index " + i + " is out of range for " + n + " elements");
                }
                e.add(data.elements().get((int) k));
            }
            return one(Info.ofElements(data.dtype(), e, is.rank() == 0));
        }
        return one(Info.of(data.dtype(), Shape.of(out)));
    }

    private static List<Info> gatherNd(NodeCtx c) {
        Info data = c.in(0);
        Shape ds = data.shape();
        Shape is = c.in(1).shape();
        int b = (int) c.attrInt("batch_dims", 0);
        if (!ds.rankKnown() || !is.rankKnown() || !is.dim(-1).isFixed()) {
            return one(unknownOf(data.dtype()));
        }
        int last = (int) is.dim(-1).value();
        List<Dim> out = new ArrayList<>(is.dims().subList(0, is.rank() - 1));
        out.addAll(ds.dims().subList(b + last, ds.rank()));
        return one(Info.of(data.dtype(), Shape.of(out)));
    }

    private static List<Info> expand(NodeCtx c) {
        Info x = c.in(0);
        Info sh = c.in(1);
        List<Dim> e = sh.elements();
        if (e == null) {
            Shape ss = sh.shape();
            if (ss.rankKnown() && ss.rank() == 1 && ss.dim(0).isFixed() && x.rankKnown()) {
                return one(Info.of(x.dtype(), Shape.unknownDims(Math.max(rankFrom(ss.dim(0).value(), "the shape input"),
                        x.rank()))));
            }
            return one(unknownOf(x.dtype()));
        }
        Shape target = shapeFromElements(e);
        Shape out = broadcast(List.of(x.shape(), target));
        if (x.value() != null && out.isFullyKnown()) {
            Tensor v = Fold.expand(x.value(), out.toLongs());
            if (v != null) {
                return one(Info.of(v));
            }
        }
        return one(Info.of(x.dtype(), out));
    }

    private static List<Info> tile(NodeCtx c) {
        Info x = c.in(0);
        long[] rep = c.longs(1);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        if (rep == null) {
            return one(Info.of(x.dtype(), Shape.unknownDims(s.rank())));
        }
        if (rep.length != s.rank()) {
            throw new IllegalArgumentException("repeats must have " + s.rank() + " entries, found " + rep.length);
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rep.length; i++) {
            out.add(mulDim(s.dim(i), rep[i]));
        }
        if (x.value() != null) {
            Tensor v = Fold.tile(x.value(), rep);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> pad(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] pads = c.opset < 11 ? (c.hasAttr("pads") ? c.attrInts("pads") : c.attrInts("paddings")) : c.longs(1);
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank();
        if (pads == null) {
            return one(Info.of(x.dtype(), Shape.unknownDims(r)));
        }
        int[] axes;
        long[] ax = c.opset >= 18 && c.has(3) ? c.longs(3) : null;
        if (c.opset >= 18 && c.has(3) && ax == null) {
            return one(Info.of(x.dtype(), Shape.unknownDims(r)));
        }
        if (ax != null) {
            axes = new int[ax.length];
            for (int i = 0; i < ax.length; i++) {
                axes[i] = axis(ax[i], r, c);
            }
        } else {
            axes = new int[r];
            for (int i = 0; i < r; i++) {
                axes[i] = i;
            }
        }
        if (pads.length != 2 * axes.length) {
            throw new IllegalArgumentException("pads must have " + 2 * axes.length + " entries, found " + pads.length);
        }
        List<Dim> out = new ArrayList<>(s.dims());
        for (int i = 0; i < axes.length; i++) {
            Dim d = s.dim(axes[i]);
            long add = pads[i] + pads[i + axes.length];
            out.set(axes[i], d.isFixed() ? Dim.of(checkDim(d.value() + add)) : add == 0 ? d : Dim.unknown());
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    /** The most dimensions a tensor may have whose rank a shape input's length sets (PyTorch's limit too). */
    static final int MAX_RANK = 64;

    /**
     * The rank a 1-D shape input of {@code length} entries gives its output (Reshape, Expand, ConstantOfShape), or an
     * error naming the input: a length read from a damaged file could otherwise make a shape of billions of dimensions.
     */
    static int rankFrom(long length, String input) {
        if (length < 0 || length > MAX_RANK) {
            throw new IllegalArgumentException(input + " has " + length + " entries: tensors of at most " + MAX_RANK
                    + " dimensions are supported");
        }
        return (int) length;
    }

    static long checkDim(long v) {
        if (v < 0) {
            throw new IllegalArgumentException("output dimension would be " + v + ", must be >= 0");
        }
        return v;
    }

    private static List<Info> constantOfShape(NodeCtx c) {
        Tensor v = c.attrTensor("value");
        DType t = v == null ? DType.FLOAT32 : v.dtype();
        Info sh = c.in(0);
        if (sh.elements() == null) {
            Shape ss = sh.shape();
            if (ss.rankKnown() && ss.rank() == 1 && ss.dim(0).isFixed()) {
                return one(Info.of(t, Shape.unknownDims(rankFrom(ss.dim(0).value(), "the shape input"))));
            }
            return one(unknownOf(t));
        }
        for (Dim d : sh.elements()) {
            Long n = Elems.num(d);
            if (n != null && n < 0) {
                throw new IllegalArgumentException("ConstantOfShape dimension must be >= 0, found " + n);
            }
        }
        Shape out = shapeFromElements(sh.elements());
        if (out.isFullyKnown() && out.numElements().getAsLong() <= Fold.MAX_ELEMENTS) {
            Tensor one = v != null && v.hasValues() ? v
                    : Tensor.ofDoubles(DType.FLOAT32, new long[] {1}, new double[] {0});
            Tensor r = Fold.expand(Fold.reshape(one, new long[0]) == null ? one : Fold.reshape(one, new long[0]),
                    out.toLongs());
            if (r != null) {
                Info res = Info.of(r);
                if (out.rank() <= 1 && r.isIntegral()) {
                    return one(res);
                }
                return one(res);
            }
        }
        return one(Info.of(t, out));
    }

    private static List<Info> range(NodeCtx c) {
        DType t = dt(c.in(0));
        double[] st = c.doubles(0);
        double[] li = c.doubles(1);
        double[] de = c.doubles(2);
        if (st == null || li == null || de == null) {
            if (c.in(0).elements() != null && c.in(1).elements() != null && c.in(2).elements() != null) {
                Long s0 = Elems.num(c.in(0).elements().get(0));
                Long d0 = Elems.num(c.in(2).elements().get(0));
                Dim l0 = c.in(1).elements().get(0);
                if (s0 != null && s0 == 0 && d0 != null && d0 == 1 && Elems.isSymbol(l0)) {
                    return one(Info.of(t, Shape.of(List.of(l0))));
                }
            }
            return one(Info.of(t, Shape.unknownDims(1)));
        }
        double n = Math.ceil((li[0] - st[0]) / de[0]);
        long len = Math.max(0, (long) n);
        if (len <= Fold.MAX_ELEMENTS) {
            if (t.isFloatingPoint()) {
                double[] v = new double[(int) len];
                for (int i = 0; i < len; i++) {
                    v[i] = st[0] + i * de[0];
                }
                return one(Info.of(Fold.make(t, new long[] {len}, null, v)));
            }
            long[] v = new long[(int) len];
            for (int i = 0; i < len; i++) {
                v[i] = (long) st[0] + i * (long) de[0];
            }
            return one(Info.of(Fold.make(t, new long[] {len}, v, null)));
        }
        return one(Info.of(t, Shape.of(len)));
    }

    // ---------------------------------------------------------------- sequences

    /** Position {@code p} (negative counts from the end) in a sequence of {@code n}, or -1 if out of range. */
    private static int seqPos(long p, int n, boolean insert) {
        long k = p < 0 ? p + n : p;
        return k < 0 || k > n || (!insert && k == n) ? -1 : (int) k;
    }

    private static List<Info> sequenceLength(NodeCtx c) {
        List<Info> s = c.in(0).sequence();
        return one(s == null ? Info.of(DType.INT64, Shape.scalar()) : Info.of(Tensor.int64Scalar(s.size())));
    }

    private static List<Info> sequenceEdit(NodeCtx c) {
        Info seq = c.in(0);
        boolean insert = c.op.equals("SequenceInsert");
        int posInput = insert ? 2 : 1;
        long[] pos = c.has(posInput) ? c.longs(posInput) : null;
        if (seq.sequence() == null || (c.has(posInput) && pos == null)) {
            return one(unknownOf(seq.dtype()));
        }
        List<Info> items = new ArrayList<>(seq.sequence());
        int n = items.size();
        int k = pos == null ? (insert ? n : n - 1) : seqPos(pos[0], n, insert);
        if (k < 0) {
            throw new IllegalArgumentException("sequence position " + (pos == null ? "last" : pos[0])
                    + " is out of range for " + n + " items");
        }
        if (insert) {
            items.add(k, c.in(1));
        } else {
            items.remove(k);
        }
        return one(Info.ofSequence(seq.dtype(), items));
    }

    private static List<Info> sequenceAt(NodeCtx c) {
        Info seq = c.in(0);
        long[] pos = c.longs(1);
        List<Info> items = seq.sequence();
        if (items != null && pos != null) {
            int k = seqPos(pos[0], items.size(), false);
            if (k < 0) {
                throw new IllegalArgumentException("sequence position " + pos[0] + " is out of range for "
                        + items.size() + " items");
            }
            return one(items.get(k));
        }
        if (items != null && !items.isEmpty()) {
            TensorType t = items.get(0).type();
            for (Info i : items) {
                t = OnnxImporter.union(t, i.type());
            }
            return one(Info.of(t));
        }
        return one(unknownOf(seq.dtype()));
    }

    private static List<Info> splitToSequence(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int ax = axis(c.attrInt("axis", 0), s.rank(), c);
        Dim d = s.dim(ax);
        long[] split = c.has(1) ? c.longs(1) : null;
        if ((c.has(1) && split == null) || !d.isFixed()) {
            return one(unknownOf(x.dtype()));
        }
        List<Long> sizes = new ArrayList<>();
        boolean keep = true;
        if (split == null) {
            keep = c.attrInt("keepdims", 1) != 0;
            for (long i = 0; i < d.value(); i++) {
                sizes.add(1L);
            }
        } else if (c.in(1).rank() == 0) {
            long chunk = split[0];
            for (long left = d.value(); left > 0; left -= chunk) {
                sizes.add(Math.min(chunk, left));
            }
        } else {
            for (long z : split) {
                sizes.add(z);
            }
        }
        List<Info> items = new ArrayList<>();
        for (long z : sizes) {
            List<Dim> dims = new ArrayList<>(s.dims());
            if (keep) {
                dims.set(ax, Dim.of(z));
            } else {
                dims.remove(ax);
            }
            items.add(Info.of(x.dtype(), Shape.of(dims)));
        }
        return one(Info.ofSequence(x.dtype(), items));
    }

    private static List<Info> concatFromSequence(NodeCtx c) {
        Info seq = c.in(0);
        List<Info> items = seq.sequence();
        if (items == null || items.isEmpty() || !items.get(0).rankKnown()) {
            return one(unknownOf(seq.dtype()));
        }
        boolean stack = c.attrInt("new_axis", 0) != 0;
        int rank = items.get(0).rank();
        int ax = axis(c.attrInt("axis", 0), stack ? rank + 1 : rank, c);
        List<Dim> along = new ArrayList<>();
        List<Dim> out = new ArrayList<>(items.get(0).shape().dims());
        for (Info i : items) {
            if (!i.rankKnown() || i.rank() != rank) {
                return one(unknownOf(seq.dtype()));
            }
            if (!stack) {
                along.add(i.shape().dim(ax));
            }
        }
        if (stack) {
            out.add(ax, Dim.of(items.size()));
        } else {
            out.set(ax, sumDims(along));
        }
        return one(Info.of(seq.dtype(), Shape.of(out)));
    }

    // ---------------------------------------------------------------- signal processing

    /** DFT (opset 17): the last axis holds real and imaginary parts; a one-sided transform keeps n/2+1 bins. */
    private static List<Info> dft(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int ax = axis(c.attrInt("axis", 1), s.rank(), c);
        List<Dim> out = new ArrayList<>(s.dims());
        long[] len = c.has(1) ? c.longs(1) : null;
        Dim n = len != null ? Dim.of(len[0]) : c.has(1) ? Dim.unknown() : s.dim(ax);
        boolean oneSided = c.attrInt("onesided", 0) != 0;
        out.set(ax, oneSided ? (n.isFixed() ? Dim.of(n.value() / 2 + 1) : Dim.unknown()) : n);
        out.set(s.rank() - 1, Dim.of(2));
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    /** STFT: [batch, frames, bins, 2] with frames = (length - frame_length) / step + 1. */
    private static List<Info> stft(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] step = c.longs(1);
        Long frameLength = null;
        if (c.has(3) && c.longs(3) != null) {
            frameLength = c.longs(3)[0];
        } else if (c.has(2) && c.in(2).rankKnown() && c.in(2).shape().dim(0).isFixed()) {
            frameLength = c.in(2).shape().dim(0).value();
        }
        Dim batch = s.rankKnown() ? s.dim(0) : Dim.unknown();
        Dim frames = Dim.unknown();
        Dim bins = Dim.unknown();
        if (s.rankKnown() && s.dim(1).isFixed() && step != null && frameLength != null) {
            frames = Dim.of((s.dim(1).value() - frameLength) / step[0] + 1);
        }
        if (frameLength != null) {
            bins = Dim.of(c.attrInt("onesided", 1) != 0 ? frameLength / 2 + 1 : frameLength);
        }
        return one(Info.of(x.dtype(), Shape.of(List.of(batch, frames, bins, Dim.of(2)))));
    }

    private static List<Info> melWeightMatrix(NodeCtx c) {
        long[] bins = c.longs(0);
        long[] dftLength = c.longs(1);
        DType t = dtypeAttr(c, "output_datatype", DType.FLOAT32);
        return one(Info.of(t, Shape.of(List.of(dftLength == null ? Dim.unknown() : Dim.of(dftLength[0] / 2 + 1),
                bins == null ? Dim.unknown() : Dim.of(bins[0])))));
    }

    private static List<Info> tfIdf(NodeCtx c) {
        Info x = c.in(0);
        long[] idx = c.attrInts("ngram_indexes");
        Dim width = Dim.unknown();
        if (idx != null) {
            long max = -1;
            for (long i : idx) {
                max = Math.max(max, i);
            }
            width = Dim.of(max + 1);
        }
        if (!x.rankKnown()) {
            return one(unknownOf(DType.FLOAT32));
        }
        return one(Info.of(DType.FLOAT32, x.rank() == 1 ? Shape.of(List.of(width)) : Shape.of(List.of(x.shape().dim(0), width))));
    }

    // ---------------------------------------------------------------- compute ops

    private static List<Info> matmul(NodeCtx c) {
        boolean q = c.op.equals("QLinearMatMul");
        Info a = c.in(0);
        Info b = c.in(q ? 3 : 1);
        DType t = switch (c.op) {
            case "MatMulInteger" -> DType.INT32;
            case "QLinearMatMul" -> dt(c.in(7));
            default -> a.dtype();
        };
        Shape sa = a.shape();
        Shape sb = b.shape();
        if (!sa.rankKnown() || !sb.rankKnown()) {
            return one(unknownOf(t));
        }
        if (sa.rank() == 0 || sb.rank() == 0) {
            throw new IllegalArgumentException("MatMul inputs must have rank >= 1, found " + sa + " and " + sb);
        }
        List<Dim> da = new ArrayList<>(sa.dims());
        List<Dim> db = new ArrayList<>(sb.dims());
        if (c.op.equals("FusedMatMul")) {
            if (c.attrInt("transA", 0) != 0 && da.size() >= 2) {
                Collections.swap(da, da.size() - 1, da.size() - 2);
            }
            if (c.attrInt("transB", 0) != 0 && db.size() >= 2) {
                Collections.swap(db, db.size() - 1, db.size() - 2);
            }
        }
        boolean aVec = da.size() == 1;
        boolean bVec = db.size() == 1;
        if (aVec) {
            da.add(0, Dim.of(1));
        }
        if (bVec) {
            db.add(Dim.of(1));
        }
        Dim ka = da.get(da.size() - 1);
        Dim kb = db.get(db.size() - 2);
        if (ka.isFixed() && kb.isFixed() && ka.value() != kb.value()) {
            throw new IllegalArgumentException("MatMul inner dimensions differ: " + sa + " times " + sb);
        }
        Shape batch = broadcast(List.of(Shape.of(da.subList(0, da.size() - 2)), Shape.of(db.subList(0, db.size() - 2))));
        List<Dim> out = new ArrayList<>(batch.dims());
        if (!aVec) {
            out.add(da.get(da.size() - 2));
        }
        if (!bVec) {
            out.add(db.get(db.size() - 1));
        }
        return one(Info.of(t, Shape.of(out)));
    }

    private static List<Info> gemm(NodeCtx c) {
        Info a = c.in(0);
        Info b = c.in(1);
        if (!a.rankKnown() || !b.rankKnown()) {
            return one(Info.of(a.dtype(), Shape.unknownDims(2)));
        }
        Dim m = c.attrInt("transA", 0) != 0 ? a.shape().dim(1) : a.shape().dim(0);
        Dim n = c.attrInt("transB", 0) != 0 ? b.shape().dim(0) : b.shape().dim(1);
        return one(Info.of(a.dtype(), Shape.of(List.of(m, n))));
    }

    /**
     * The positions a window of {@code k} taps {@code dil} apart spans, {@code dil·(k−1)+1}; an error naming both where
     * that does not fit in 64 bits (a dilation of 2^63 - 1 would otherwise wrap to a negative span).
     */
    static long windowSpan(long k, long dil) {
        try {
            return Math.addExact(Math.multiplyExact(dil, k - 1), 1);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("a window of " + k + " taps with dilation " + dil
                    + " spans more than 2^63 - 1 positions");
        }
    }

    /** {@code a + b + c} of non-negative sizes, or an error naming {@code what} where it does not fit in 64 bits. */
    private static long exactSum(String what, long a, long b, long c) {
        try {
            return Math.addExact(Math.addExact(a, b), c);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(what + " exceeds 2^63 - 1: " + a + " + " + b + " + " + c);
        }
    }

    /** Output size of one spatial axis of a convolution or pooling window. */
    static Dim windowOut(Dim in, long k, long stride, long dil, long padBegin, long padEnd, String autoPad,
                         boolean ceil) {
        long eff = windowSpan(k, dil);
        if (autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER")) {
            if (!in.isFixed()) {
                return stride == 1 ? in : Dim.unknown();
            }
            return Dim.of((in.value() + stride - 1) / stride);
        }
        if (autoPad.equals("VALID")) {
            if (!in.isFixed()) {
                return stride == 1 && eff == 1 ? in : Dim.unknown();
            }
            long v = in.value() - eff + 1;
            return Dim.of(checkDim(v <= 0 ? 0 : (v + stride - 1) / stride));
        }
        if (!in.isFixed()) {
            return stride == 1 && padBegin + padEnd == eff - 1 ? in : Dim.unknown();
        }
        long span = exactSum("the padded input", in.value(), padBegin, padEnd) - eff;
        if (span < 0) {
            throw new IllegalArgumentException("window of " + eff + " does not fit an input of " + in.value()
                    + " with padding " + (padBegin + padEnd));
        }
        long o = ceil ? (span + stride - 1) / stride + 1 : span / stride + 1;
        if (ceil && (o - 1) * stride >= in.value() + padBegin) {
            o--;
        }
        return Dim.of(o);
    }

    private static List<Info> conv(NodeCtx c) {
        boolean q = c.op.equals("QLinearConv");
        Info x = c.in(0);
        Info w = c.in(q ? 3 : 1);
        DType t = switch (c.op) {
            case "ConvInteger" -> DType.INT32;
            case "QLinearConv" -> dt(c.in(7));
            default -> x.dtype();
        };
        Shape xs = x.shape();
        Shape ws = w.shape();
        if (!xs.rankKnown() && !ws.rankKnown()) {
            return one(unknownOf(t));
        }
        int r = xs.rankKnown() ? xs.rank() : ws.rank();
        if (r < 3) {
            throw new IllegalArgumentException((xs.rankKnown() ? "input " : "weight ") + "must have rank >= 3 ([N, C, "
                    + "spatial...]), found rank " + r);
        }
        if (xs.rankKnown() && ws.rankKnown() && ws.rank() != xs.rank()) {
            throw new IllegalArgumentException("weight must have the input's rank " + xs.rank() + ", found "
                    + ws + " of rank " + ws.rank());
        }
        int sp = r - 2;
        Info bias = !q && c.inputCount() > 2 ? c.in(2) : null;
        if (bias != null && bias.rankKnown()) {
            Shape bs = bias.shape();
            if (bs.rank() != 1 || ws.rankKnown() && bs.dim(0).isFixed() && ws.dim(0).isFixed()
                    && bs.dim(0).value() != ws.dim(0).value()) {
                throw new IllegalArgumentException("bias must have shape [" + (ws.rankKnown() ? ws.dim(0) : "M")
                        + "] (one value per output channel), found " + bs);
            }
        }
        long group = c.attrInt("group", 1);
        if (group < 1) {
            throw new IllegalArgumentException("group must be >= 1, found " + group);
        }
        if (ws.rankKnown()) {
            for (int i = 0; i < ws.rank(); i++) {
                if (ws.dim(i).isFixed() && ws.dim(i).value() < 1) {
                    throw new IllegalArgumentException("weight dimension " + i + " must be >= 1, found " + ws);
                }
            }
            if (!q && xs.rankKnown() && xs.dim(1).isFixed() && ws.dim(1).isFixed()
                    && ws.dim(1).value() * group != xs.dim(1).value()) {
                throw new IllegalArgumentException("weight " + ws + " must have input channels / group = "
                        + xs.dim(1).value() + " / " + group + ", found " + ws.dim(1).value());
            }
        }
        long[] kernel = c.attrInts("kernel_shape");
        if (kernel == null) {
            if (!ws.rankKnown() || !Shape.of(ws.dims().subList(2, ws.rank())).isFullyKnown()) {
                List<Dim> out = new ArrayList<>();
                out.add(xs.rankKnown() ? xs.dim(0) : Dim.unknown());
                out.add(ws.rankKnown() ? ws.dim(0) : Dim.unknown());
                for (int i = 0; i < sp; i++) {
                    out.add(Dim.unknown());
                }
                return one(Info.of(t, Shape.of(out)));
            }
            kernel = Shape.of(ws.dims().subList(2, ws.rank())).toLongs();
        }
        List<Dim> out = new ArrayList<>();
        out.add(xs.rankKnown() ? xs.dim(0) : Dim.unknown());
        out.add(ws.rankKnown() ? ws.dim(0) : Dim.unknown());
        out.addAll(spatial(c, xs, kernel, sp, false));
        return one(Info.of(t, Shape.of(out)));
    }

    private static List<Dim> spatial(NodeCtx c, Shape xs, long[] kernel, int sp, boolean ceilAllowed) {
        long[] strides = c.attrInts("strides");
        long[] dil = c.attrInts("dilations");
        long[] pads = c.attrInts("pads");
        requireWindow("kernel_shape", kernel, sp, 1);
        requireWindow("strides", strides, sp, 1);
        requireWindow("dilations", dil, sp, 1);
        requireWindow("pads", pads, 2 * sp, 0);
        String autoPad = c.attrString("auto_pad", "NOTSET");
        boolean ceil = ceilAllowed && c.attrInt("ceil_mode", 0) != 0;
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < sp; i++) {
            Dim in = xs.rankKnown() ? xs.dim(2 + i) : Dim.unknown();
            long s = strides == null ? 1 : strides[i];
            long d = dil == null ? 1 : dil[i];
            long pb = pads == null ? 0 : pads[i];
            long pe = pads == null ? 0 : pads[i + sp];
            out.add(windowOut(in, kernel[i], s, d, pb, pe, autoPad, ceil));
        }
        return out;
    }

    /** Checks a window attribute: {@code n} entries, each at least {@code min} (absent is fine). */
    private static void requireWindow(String name, long[] v, int n, long min) {
        if (v == null) {
            return;
        }
        if (v.length != n) {
            throw new IllegalArgumentException(name + " must have " + n + " entries (" + (name.equals("pads")
                    ? "begin and end of " : "") + "the spatial axes), found " + Arrays.toString(v));
        }
        for (long x : v) {
            if (x < min) {
                throw new IllegalArgumentException(name + " entries must be >= " + min + ", found " + Arrays.toString(v));
            }
        }
    }

    private static List<Info> convTranspose(NodeCtx c) {
        Info x = c.in(0);
        Info w = c.in(1);
        Shape xs = x.shape();
        Shape ws = w.shape();
        if (!xs.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int sp = xs.rank() - 2;
        long group = c.attrInt("group", 1);
        Dim cout = ws.rankKnown() ? mulDim(ws.dim(1), group) : Dim.unknown();
        List<Dim> out = new ArrayList<>(List.of(xs.dim(0), cout));
        long[] outputShape = c.attrInts("output_shape");
        long[] kernel = c.attrInts("kernel_shape");
        if (kernel == null && ws.rankKnown() && Shape.of(ws.dims().subList(2, ws.rank())).isFullyKnown()) {
            kernel = Shape.of(ws.dims().subList(2, ws.rank())).toLongs();
        }
        if (outputShape != null) {
            if (outputShape.length < sp) {
                throw new IllegalArgumentException("output_shape must give the " + sp + " spatial axes, found "
                        + Arrays.toString(outputShape));
            }
            int off = outputShape.length - sp;
            for (int i = 0; i < sp; i++) {
                out.add(Dim.of(outputShape[off + i]));
            }
            return one(Info.of(x.dtype(), Shape.of(out)));
        }
        long[] strides = c.attrInts("strides");
        long[] dil = c.attrInts("dilations");
        long[] pads = c.attrInts("pads");
        long[] outPad = c.attrInts("output_padding");
        // as Conv's: one entry per spatial axis (pads two), so that a short list is an error naming it
        requireWindow("kernel_shape", kernel, sp, 1);
        requireWindow("strides", strides, sp, 1);
        requireWindow("dilations", dil, sp, 1);
        requireWindow("pads", pads, 2 * sp, 0);
        requireWindow("output_padding", outPad, sp, 0);
        String autoPad = c.attrString("auto_pad", "NOTSET");
        for (int i = 0; i < sp; i++) {
            Dim in = xs.dim(2 + i);
            long s = strides == null ? 1 : strides[i];
            if (!in.isFixed() || kernel == null) {
                out.add(Dim.unknown());
                continue;
            }
            if (autoPad.startsWith("SAME")) {
                out.add(Dim.of(in.value() * s));
                continue;
            }
            long d = dil == null ? 1 : dil[i];
            long pb = pads == null || autoPad.equals("VALID") ? 0 : pads[i];
            long pe = pads == null || autoPad.equals("VALID") ? 0 : pads[i + sp];
            long op = outPad == null ? 0 : outPad[i];
            long grown;
            try {
                grown = Math.addExact(Math.addExact(Math.multiplyExact(s, in.value() - 1), op), windowSpan(kernel[i], d));
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("the output of axis " + (2 + i) + " exceeds 2^63 - 1: stride " + s
                        + " x (" + in.value() + " - 1) + output_padding " + op + " + window " + windowSpan(kernel[i], d));
            }
            out.add(Dim.of(checkDim(grown - pb - pe)));
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> pool(NodeCtx c) {
        Info x = c.in(0);
        Shape xs = x.shape();
        long[] kernel = c.attrInts("kernel_shape");
        if (!xs.rankKnown() || kernel == null) {
            return c.numOutputs == 2 ? List.of(unknownOf(x.dtype()), unknownOf(DType.INT64)) : one(unknownOf(x.dtype()));
        }
        List<Dim> out = new ArrayList<>(List.of(xs.dim(0), xs.dim(1)));
        out.addAll(spatial(c, xs, kernel, xs.rank() - 2, true));
        Info y = Info.of(x.dtype(), Shape.of(out));
        return c.numOutputs == 2 ? List.of(y, Info.of(DType.INT64, Shape.of(out))) : one(y);
    }

    private static List<Info> globalPool(NodeCtx c) {
        Info x = c.in(0);
        Shape xs = x.shape();
        if (!xs.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        List<Dim> out = new ArrayList<>(List.of(xs.dim(0), xs.dim(1)));
        for (int i = 2; i < xs.rank(); i++) {
            out.add(Dim.of(1));
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> batchNorm(NodeCtx c) {
        Info x = c.in(0);
        List<Info> r = new ArrayList<>();
        r.add(Info.of(x.dtype(), x.shape()));
        Shape ch = c.in(1) != null ? c.in(1).shape() : Shape.unknownRank();
        for (int i = 1; i < c.numOutputs; i++) {
            r.add(Info.of(dt(c.in(Math.min(i + 2, 4))) == DType.UNDEFINED ? x.dtype() : dt(c.in(3)), ch));
        }
        return r;
    }

    private static List<Info> layerNorm(NodeCtx c) {
        Info x = c.in(0);
        List<Info> r = new ArrayList<>();
        r.add(Info.of(x.dtype(), x.shape()));
        if (c.numOutputs > 1) {
            DType st = dtypeAttr(c, "stash_type", DType.FLOAT32);
            Shape s = x.shape();
            Shape stat = Shape.unknownRank();
            if (s.rankKnown() && !c.op.equals("SkipLayerNormalization")) {
                int ax = axis(c.attrInt("axis", -1), s.rank(), c);
                List<Dim> d = new ArrayList<>(s.dims().subList(0, ax));
                for (int i = ax; i < s.rank(); i++) {
                    d.add(Dim.of(1));
                }
                stat = Shape.of(d);
            }
            for (int i = 1; i < c.numOutputs; i++) {
                r.add(c.op.equals("SkipLayerNormalization") && i == 3 ? Info.of(x.dtype(), x.shape()) : Info.of(st, stat));
            }
        }
        return r;
    }

    private static List<Info> dropout(NodeCtx c) {
        Info x = c.in(0);
        if (c.numOutputs == 1) {
            return one(x.value() != null ? x : Info.of(x.type()));
        }
        return List.of(Info.of(x.type()), Info.of(c.opset >= 12 ? DType.BOOL : x.dtype(), x.shape()));
    }

    private static List<Info> reduce(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        boolean keep = c.attrInt("keepdims", 1) != 0;
        long[] axes = c.intsFromInputOrAttr(1, "axes");
        if (c.has(1) && axes == null) {
            if (!s.rankKnown()) {
                return one(unknownOf(x.dtype()));
            }
            Shape as = c.in(1).shape();
            if (keep) {
                return one(Info.of(x.dtype(), Shape.unknownDims(s.rank())));
            }
            if (as.rankKnown() && as.rank() == 1 && as.dim(0).isFixed()) {
                if (as.dim(0).value() > s.rank()) {
                    throw new IllegalArgumentException("axes has " + as.dim(0).value() + " entries, more than the rank of the"
                            + " input (" + s.rank() + ")");
                }
                return one(Info.of(x.dtype(), Shape.unknownDims(s.rank() - (int) as.dim(0).value())));
            }
            return one(unknownOf(x.dtype()));
        }
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank();
        boolean[] red = new boolean[r];
        if (axes == null || axes.length == 0) {
            boolean noop = c.attrInt("noop_with_empty_axes", 0) != 0;
            if (noop) {
                return one(Info.of(x.type()));
            }
            Arrays.fill(red, true);
        } else {
            for (long a : axes) {
                red[axis(a, r, c)] = true;
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (!red[i]) {
                out.add(s.dim(i));
            } else if (keep) {
                out.add(Dim.of(1));
            }
        }
        if (x.value() != null) {
            Tensor v = Fold.reduce(c.op, x.value(), red, keep);
            if (v != null) {
                return one(Info.of(v));
            }
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> argReduce(NodeCtx c) {
        Shape s = c.in(0).shape();
        if (!s.rankKnown()) {
            return one(unknownOf(DType.INT64));
        }
        int ax = axis(c.attrInt("axis", 0), s.rank(), c);
        boolean keep = c.attrInt("keepdims", 1) != 0;
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) {
            if (i != ax) {
                out.add(s.dim(i));
            } else if (keep) {
                out.add(Dim.of(1));
            }
        }
        return one(Info.of(DType.INT64, Shape.of(out)));
    }

    private static List<Info> topK(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return List.of(unknownOf(x.dtype()), unknownOf(DType.INT64));
        }
        int ax = axis(c.attrInt("axis", -1), s.rank(), c);
        long[] k = c.opset < 10 ? new long[] {c.attrInt("k", -1)} : c.longs(1);
        List<Dim> out = new ArrayList<>(s.dims());
        out.set(ax, k == null || k[0] < 0 ? Dim.unknown() : Dim.of(k[0]));
        return List.of(Info.of(x.dtype(), Shape.of(out)), Info.of(DType.INT64, Shape.of(out)));
    }

    private static List<Info> oneHot(NodeCtx c) {
        Shape s = c.in(0).shape();
        DType t = dt(c.in(2));
        if (!s.rankKnown()) {
            return one(unknownOf(t));
        }
        double[] depth = c.doubles(1);
        int r = s.rank() + 1;
        int ax = axis(c.attrInt("axis", -1), r, c);
        List<Dim> out = new ArrayList<>(s.dims());
        out.add(ax, depth == null ? Dim.unknown() : Dim.of((long) depth[0]));
        return one(Info.of(t, Shape.of(out)));
    }

    private static List<Info> nonZero(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        Dim rank = s.rankKnown() ? Dim.of(s.rank()) : Dim.unknown();
        if (x.value() != null && s.rankKnown()) {
            double[] v = x.value().doubles().orElse(null);
            if (v != null) {
                long n = 0;
                for (double d : v) {
                    if (d != 0) {
                        n++;
                    }
                }
                return one(Info.of(DType.INT64, Shape.of(List.of(rank, Dim.of(n)))));
            }
        }
        return one(Info.of(DType.INT64, Shape.of(List.of(rank, Dim.unknown()))));
    }

    private static List<Info> resize(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int r = s.rank();
        long[] sizes = null;
        double[] scales = null;
        if (c.op.equals("Upsample")) {
            if (c.has(1)) {
                scales = c.doubles(1);
            } else if (c.hasAttr("scales")) {
                float[] f = c.attrFloats("scales");
                scales = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    scales[i] = f[i];
                }
            }
        } else if (c.opset < 11) {
            scales = c.doubles(1);
        } else {
            if (c.has(3)) {
                sizes = c.longs(3);
                if (sizes == null && c.in(3).elements() != null) {
                    List<Dim> e = c.in(3).elements();
                    long[] axes = c.attrInts("axes");
                    if (axes == null && e.size() == r) {
                        return one(Info.of(x.dtype(), shapeFromElements(e)));
                    }
                }
            }
            if (c.has(2) && c.doubles(2) != null && c.doubles(2).length > 0) {
                scales = c.doubles(2);
            }
        }
        long[] axes = c.attrInts("axes");
        int[] ax = new int[axes == null ? r : axes.length];
        for (int i = 0; i < ax.length; i++) {
            ax[i] = axes == null ? i : axis(axes[i], r, c);
        }
        List<Dim> out = new ArrayList<>(s.dims());
        if (sizes != null && sizes.length > 0) {
            String policy = c.attrString("keep_aspect_ratio_policy", "stretch");
            if (!policy.equals("stretch")) {
                double scale = policy.equals("not_larger") ? Double.MAX_VALUE : 0;
                for (int i = 0; i < ax.length; i++) {
                    Dim d = s.dim(ax[i]);
                    if (!d.isFixed()) {
                        return one(Info.of(x.dtype(), Shape.unknownDims(r)));
                    }
                    double f = (double) sizes[i] / d.value();
                    scale = policy.equals("not_larger") ? Math.min(scale, f) : Math.max(scale, f);
                }
                for (int i = 0; i < ax.length; i++) {
                    out.set(ax[i], Dim.of((long) Math.floor(s.dim(ax[i]).value() * scale + 0.5)));
                }
            } else {
                for (int i = 0; i < ax.length; i++) {
                    out.set(ax[i], Dim.of(sizes[i]));
                }
            }
        } else if (scales != null) {
            for (int i = 0; i < ax.length; i++) {
                Dim d = s.dim(ax[i]);
                out.set(ax[i], d.isFixed() ? Dim.of((long) Math.floor(d.value() * scales[i] + 1e-9))
                        : scales[i] == 1.0 ? d : Dim.unknown());
            }
        } else {
            return one(Info.of(x.dtype(), Shape.unknownDims(r)));
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> recurrent(NodeCtx c) {
        Info x = c.in(0);
        Info w = c.in(1);
        Shape xs = x.shape();
        long layout = c.attrInt("layout", 0);
        long hidden = c.attrInt("hidden_size", -1);
        String dir = c.attrString("direction", "forward");
        Dim dirs = Dim.of(dir.equals("bidirectional") ? 2 : 1);
        Dim h = hidden > 0 ? Dim.of(hidden) : Dim.unknown();
        Dim seq = xs.rankKnown() ? xs.dim(layout == 0 ? 0 : 1) : Dim.unknown();
        Dim batch = xs.rankKnown() ? xs.dim(layout == 0 ? 1 : 0) : Dim.unknown();
        if (w != null && w.rankKnown() && !h.isFixed()) {
            int gates = c.op.equals("LSTM") ? 4 : c.op.equals("GRU") ? 3 : 1;
            Dim g = w.shape().dim(1);
            h = g.isFixed() ? Dim.of(g.value() / gates) : Dim.unknown();
        }
        Shape y = layout == 0 ? Shape.of(List.of(seq, dirs, batch, h)) : Shape.of(List.of(batch, seq, dirs, h));
        Shape yh = layout == 0 ? Shape.of(List.of(dirs, batch, h)) : Shape.of(List.of(batch, dirs, h));
        List<Info> r = new ArrayList<>();
        r.add(Info.of(x.dtype(), y));
        for (int i = 1; i < c.numOutputs; i++) {
            r.add(Info.of(x.dtype(), yh));
        }
        return r;
    }

    private static List<Info> einsum(NodeCtx c) {
        String eq = c.attrString("equation", "").replace(" ", "");
        int arrow = eq.indexOf("->");
        String lhs = arrow >= 0 ? eq.substring(0, arrow) : eq;
        String[] terms = lhs.split(",", -1);
        Map<Character, Dim> sizes = new LinkedHashMap<>();
        Map<Character, Integer> count = new LinkedHashMap<>();
        List<Dim> ellipsis = null;
        DType t = dt(c.in(0));
        for (int i = 0; i < terms.length; i++) {
            Info in = c.in(i);
            if (in == null || !in.rankKnown()) {
                return one(unknownOf(t));
            }
            Shape s = in.shape();
            String term = terms[i];
            int e = term.indexOf("...");
            String before = e >= 0 ? term.substring(0, e) : term;
            String after = e >= 0 ? term.substring(e + 3) : "";
            int ellRank = s.rank() - before.length() - after.length();
            for (int k = 0; k < before.length(); k++) {
                putLetter(sizes, count, before.charAt(k), s.dim(k));
            }
            for (int k = 0; k < after.length(); k++) {
                putLetter(sizes, count, after.charAt(k), s.dim(s.rank() - after.length() + k));
            }
            if (e >= 0) {
                Shape es = Shape.of(s.dims().subList(before.length(), before.length() + ellRank));
                ellipsis = ellipsis == null ? es.dims() : broadcast(List.of(Shape.of(ellipsis), es)).dims();
            }
        }
        String rhs;
        if (arrow >= 0) {
            rhs = eq.substring(arrow + 2);
        } else {
            StringBuilder sb = new StringBuilder(ellipsis != null ? "..." : "");
            count.entrySet().stream().filter(en -> en.getValue() == 1).map(Map.Entry::getKey).sorted()
                    .forEach(sb::append);
            rhs = sb.toString();
        }
        List<Dim> out = new ArrayList<>();
        for (int k = 0; k < rhs.length(); k++) {
            if (rhs.startsWith("...", k)) {
                if (ellipsis != null) {
                    out.addAll(ellipsis);
                }
                k += 2;
                continue;
            }
            Dim d = sizes.get(rhs.charAt(k));
            out.add(d == null ? Dim.unknown() : d);
        }
        return one(Info.of(t, Shape.of(out)));
    }

    private static void putLetter(Map<Character, Dim> sizes, Map<Character, Integer> count, char ch, Dim d) {
        count.merge(ch, 1, Integer::sum);
        Dim cur = sizes.get(ch);
        sizes.put(ch, cur == null ? d : bdim(cur, d));
    }

    private static List<Info> depthSpace(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long b = c.attrInt("blocksize", 1);
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        boolean d2s = c.op.equals("DepthToSpace");
        List<Dim> out = new ArrayList<>();
        out.add(s.dim(0));
        Dim ch = s.dim(1);
        out.add(d2s ? (ch.isFixed() ? Dim.of(ch.value() / (b * b)) : Dim.unknown()) : mulDim(ch, b * b));
        for (int i = 2; i < s.rank(); i++) {
            Dim d = s.dim(i);
            out.add(d2s ? mulDim(d, b) : d.isFixed() ? Dim.of(d.value() / b) : Dim.unknown());
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> compress(NodeCtx c) {
        Info x = c.in(0);
        Shape s = x.shape();
        long[] cond = c.longs(1);
        if (!c.hasAttr("axis")) {
            Dim n = Dim.unknown();
            if (cond != null) {
                n = Dim.of(Arrays.stream(cond).filter(v -> v != 0).count());
            }
            return one(Info.of(x.dtype(), Shape.of(List.of(n))));
        }
        if (!s.rankKnown()) {
            return one(unknownOf(x.dtype()));
        }
        int ax = axis(c.attrInt("axis", 0), s.rank(), c);
        List<Dim> out = new ArrayList<>(s.dims());
        out.set(ax, cond == null ? Dim.unknown() : Dim.of(Arrays.stream(cond).filter(v -> v != 0).count()));
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> multinomial(NodeCtx c) {
        Shape s = c.in(0).shape();
        Dim b = s.rankKnown() ? s.dim(0) : Dim.unknown();
        return one(Info.of(dtypeAttr(c, "dtype", DType.INT32), Shape.of(List.of(b, Dim.of(c.attrInt("sample_size", 1))))));
    }

    private static List<Info> quantize(NodeCtx c) {
        DType t = c.has(2) ? dt(c.in(2)) : dtypeAttr(c, "output_dtype", DType.UINT8);
        return one(Info.of(t, c.in(0).shape()));
    }

    private static List<Info> roiPool(NodeCtx c, long[] pooled) {
        Shape xs = c.in(0).shape();
        Shape rs = c.in(1).shape();
        Dim n = rs.rankKnown() ? rs.dim(0) : Dim.unknown();
        Dim ch = xs.rankKnown() ? xs.dim(1) : Dim.unknown();
        return one(Info.of(dt(c.in(0)), Shape.of(List.of(n, ch, Dim.of(pooled[0]), Dim.of(pooled[1])))));
    }

    private static List<Info> det(NodeCtx c) {
        Shape s = c.in(0).shape();
        if (!s.rankKnown()) {
            return one(unknownOf(dt(c.in(0))));
        }
        return one(Info.of(dt(c.in(0)), Shape.of(s.dims().subList(0, s.rank() - 2))));
    }

    private static List<Info> gridSample(NodeCtx c) {
        Shape xs = c.in(0).shape();
        Shape gs = c.in(1).shape();
        if (!xs.rankKnown() || !gs.rankKnown()) {
            return one(unknownOf(dt(c.in(0))));
        }
        List<Dim> out = new ArrayList<>(List.of(xs.dim(0), xs.dim(1)));
        out.addAll(gs.dims().subList(1, gs.rank() - 1));
        return one(Info.of(dt(c.in(0)), Shape.of(out)));
    }

    private static List<Info> maxUnpool(NodeCtx c) {
        Info x = c.in(0);
        if (c.has(2)) {
            long[] os = c.longs(2);
            return one(os == null ? unknownOf(x.dtype()) : Info.of(x.dtype(), Shape.of(os)));
        }
        Shape s = x.shape();
        long[] kernel = c.attrInts("kernel_shape");
        long[] strides = c.attrInts("strides");
        long[] pads = c.attrInts("pads");
        if (!s.rankKnown() || kernel == null) {
            return one(unknownOf(x.dtype()));
        }
        int sp = s.rank() - 2;
        List<Dim> out = new ArrayList<>(List.of(s.dim(0), s.dim(1)));
        for (int i = 0; i < sp; i++) {
            Dim d = s.dim(2 + i);
            long st = strides == null ? 1 : strides[i];
            long p = pads == null ? 0 : pads[i] + pads[i + sp];
            out.add(d.isFixed() ? Dim.of((d.value() - 1) * st + kernel[i] - p) : Dim.unknown());
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> unique(NodeCtx c) {
        Info x = c.in(0);
        boolean hasAxis = c.hasAttr("axis");
        Integer ax = hasAxis && x.rankKnown() ? axis(c.attrInt("axis", 0), x.rank(), c) : null;
        Long count = x.value() != null && (!hasAxis || ax != null) ? DataDependent.uniqueCount(x.value(), ax) : null;
        Dim n = count == null ? Dim.unknown() : Dim.of(count);
        Shape y = Shape.of(List.of(n));
        if (hasAxis && x.rankKnown()) {
            List<Dim> d = new ArrayList<>(x.shape().dims());
            d.set(ax, n);
            y = Shape.of(d);
        } else if (hasAxis) {
            y = Shape.unknownRank();
        }
        List<Info> r = new ArrayList<>();
        r.add(Info.of(x.dtype(), y));
        for (int i = 1; i < c.numOutputs; i++) {
            // indices and counts: one per unique element or slice; inverse indices: one per input element (or slice)
            Dim len = n;
            if (i == 2) {
                len = !hasAxis ? (x.shape().isFullyKnown() ? Dim.of(x.shape().numElements().getAsLong()) : Dim.unknown())
                        : ax != null ? x.shape().dim(ax) : Dim.unknown();
            }
            r.add(Info.of(DType.INT64, Shape.of(List.of(len))));
        }
        return r;
    }

    private static List<Info> nms(NodeCtx c) {
        Info boxes = c.in(0);
        Info scores = c.in(1);
        long[] max = c.has(2) ? c.longs(2) : new long[] {0};
        double[] iou = c.has(3) ? c.doubles(3) : new double[] {0};
        double[] thr = c.has(4) ? c.doubles(4) : new double[] {Double.NEGATIVE_INFINITY};
        Dim n = Dim.unknown();
        if (boxes.value() != null && scores.value() != null && max != null && iou != null && thr != null) {
            Long k = DataDependent.nmsCount(boxes.value(), scores.value(), max[0], iou[0], thr[0],
                    c.attrInt("center_point_box", 0) != 0);
            if (k != null) {
                n = Dim.of(k);
            }
        }
        return one(Info.of(DType.INT64, Shape.of(List.of(n, Dim.of(3)))));
    }

    private static List<Info> window(NodeCtx c) {
        long[] n = c.longs(0);
        DType t = dtypeAttr(c, "output_datatype", DType.FLOAT32);
        return one(Info.of(t, n == null ? Shape.unknownDims(1) : Shape.of(n[0])));
    }

    private static List<Info> col2im(NodeCtx c) {
        Shape s = c.in(0).shape();
        long[] image = c.longs(1);
        long[] block = c.longs(2);
        if (!s.rankKnown() || image == null || block == null) {
            return one(unknownOf(dt(c.in(0))));
        }
        long bp = 1;
        for (long b : block) {
            bp *= b;
        }
        Dim ch = s.dim(1).isFixed() ? Dim.of(s.dim(1).value() / bp) : Dim.unknown();
        List<Dim> out = new ArrayList<>(List.of(s.dim(0), ch));
        for (long i : image) {
            out.add(Dim.of(i));
        }
        return one(Info.of(dt(c.in(0)), Shape.of(out)));
    }

    private static List<Info> centerCropPad(NodeCtx c) {
        Info x = c.in(0);
        long[] sh = c.longs(1);
        if (!x.rankKnown() || sh == null) {
            return one(x.rankKnown() ? Info.of(x.dtype(), Shape.unknownDims(x.rank())) : unknownOf(x.dtype()));
        }
        long[] axes = c.attrInts("axes");
        List<Dim> out = new ArrayList<>(x.shape().dims());
        for (int i = 0; i < sh.length; i++) {
            out.set(axes == null ? i : axis(axes[i], x.rank(), c), Dim.of(sh[i]));
        }
        return one(Info.of(x.dtype(), Shape.of(out)));
    }

    private static List<Info> loss(NodeCtx c) {
        Info x = c.in(0);
        String red = c.attrString("reduction", "mean");
        Shape out;
        if (!red.equals("none")) {
            out = Shape.scalar();
        } else if (x.rankKnown()) {
            List<Dim> d = new ArrayList<>(x.shape().dims());
            d.remove(1);
            out = Shape.of(d);
        } else {
            out = Shape.unknownRank();
        }
        List<Info> r = new ArrayList<>();
        r.add(Info.of(x.dtype(), out));
        for (int i = 1; i < c.numOutputs; i++) {
            r.add(Info.of(x.type()));
        }
        return r;
    }

    private static List<Info> attention(NodeCtx c) {
        Info q = c.in(0);
        Info v = c.in(2);
        if (!q.rankKnown() || v == null || !v.rankKnown()) {
            return one(unknownOf(q.dtype()));
        }
        Shape qs = q.shape();
        Shape vs = v.shape();
        List<Dim> out;
        if (qs.rank() == 4) {
            out = List.of(qs.dim(0), qs.dim(1), qs.dim(2), vs.dim(3));
        } else {
            long heads = c.attrInt("kv_num_heads", c.attrInt("num_heads", 1));
            long qHeads = c.attrInt("q_num_heads", c.attrInt("num_heads", 1));
            Dim vh = vs.dim(2);
            Dim hidden = vh.isFixed() && heads > 0 ? Dim.of(vh.value() / heads * qHeads) : Dim.unknown();
            out = List.of(qs.dim(0), qs.dim(1), hidden);
        }
        List<Info> r = new ArrayList<>();
        r.add(Info.of(q.dtype(), Shape.of(out)));
        for (int i = 1; i < c.numOutputs; i++) {
            r.add(unknownOf(q.dtype()));
        }
        return r;
    }

    /** Helper for rules that need a fixed TensorType from an Info list. */
    static TensorType typeOf(Info i) {
        return i == null ? TensorType.unknown() : i.type();
    }
}
