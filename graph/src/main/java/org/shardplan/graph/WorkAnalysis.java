package org.shardplan.graph;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Forward FLOPs and bytes of each node, computed from the shapes of its inputs and outputs.
 * Constant time per node (linear in the rank); a graph's total is linear in its size.
 *
 * <p>A multiply-add counts 2 FLOPs. The formulas, with {@code |t|} the element count of tensor t:
 * <ul>
 * <li>MatMul (and MatMulInteger, QLinearMatMul, FusedMatMul): {@code 2·|Y|·K}, K the reduced size.
 * <li>Gemm: {@code 2·M·N·K}, plus {@code M·N} when C is given.
 * <li>Conv: {@code 2·|Y|·(C_in/group)·prod(kernel)} (= {@code 2·|Y|·|W|/C_out}), plus {@code |Y|} for a
 *     bias. ONNX Runtime's fused convolutions (com.microsoft FusedConv, com.microsoft.nchwc Conv) add
 *     {@code |Y|} for a fused activation and {@code |Y|} for a fourth (sum) input; FusedGemm is a Gemm
 *     plus {@code |Y|} for its activation; ReorderInput/ReorderOutput move data (0 FLOPs). Dilations and strides enter through the output shape. ConvTranspose: {@code 2·|X|·|W|/C_in}
 *     plus {@code |Y|} for a bias.
 * <li>MaxPool, AveragePool, LpPool: {@code |Y|·prod(kernel_shape)}; global pools: {@code |X|}.
 * <li>BatchNormalization: {@code 2·|X|} (a folded scale and shift); LayerNormalization,
 *     InstanceNormalization, GroupNormalization: {@code 8·|X|} (mean 1, variance 3, normalise 2,
 *     scale and shift 2); RMS normalisations {@code 6·|X|}; Softmax, LogSoftmax: {@code 5·|X|} (max,
 *     subtract, exp, sum, divide).
 * <li>element-wise operators: {@code |Y|} (one FLOP per output element; Gelu 8; variadic Sum/Max/Min/Mean
 *     {@code (inputs-1)·|Y|}); reductions, ArgMax/ArgMin, CumSum, TopK: {@code |X|}.
 * <li>Einsum: {@code 2·|Y|·prod(contracted sizes)} (just {@code |Y|} with nothing contracted).
 * <li>LSTM per step and direction: {@code 2·B·4H·(I+H) + 2·B·4H (bias) + 9·B·H}; GRU
 *     {@code 2·B·3H·(I+H) + 2·B·3H + 8·B·H}; RNN {@code 2·B·H·(I+H) + 2·B·H + B·H}.
 * <li>Attention (ONNX opset 23 and com.microsoft MultiHeadAttention): {@code 2·B·S·L·(Dq + Dv)·heads}
 *     plus the softmax {@code 5·B·heads·S·L}; attention written out as MatMul/Softmax nodes is
 *     counted node by node.
 * <li>Gather and data movement (Reshape, Transpose, Concat, Slice, Pad, Cast, ...): 0 FLOPs. Gather,
 *     GatherElements and GatherND read only the gathered rows: bytes read = |Y| + indices.
 * <li>If: the larger branch; Loop: the body times a constant trip count; Scan: the body times the
 *     scanned length.
 * </ul>
 * Bytes read are the sizes of the distinct present inputs (parameters included); bytes written the
 * sizes of the outputs. An operator without a formula gets 0 FLOPs and {@code complete = false}.
 */
public final class WorkAnalysis {
    private WorkAnalysis() {
    }

    private static final Set<String> ELEMENTWISE = Set.of(
            "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Sqrt", "Relu", "LeakyRelu", "PRelu", "Sigmoid",
            "HardSigmoid", "HardSwish", "Tanh", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Floor", "Ceil",
            "Round", "Clip", "Erf", "Where", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "And", "Or", "Xor", "Not", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
            "Acosh", "Atanh", "Sign", "Elu", "Selu", "Celu", "Softplus", "Softsign", "ThresholdedRelu",
            "Mish", "IsNaN", "IsInf", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
            "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Shrink", "Dropout", "Swish",
            "FastGelu", "BiasGelu", "QuickGelu", "Trilu");
    private static final Set<String> VARIADIC = Set.of("Sum", "Max", "Min", "Mean");
    private static final Set<String> REDUCTIONS = Set.of(
            "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "CumSum", "TopK",
            "NonZero", "Unique", "Hardmax");
    private static final Set<String> DATA_MOVEMENT = Set.of(
            "Reshape", "Transpose", "Concat", "Slice", "Split", "Squeeze", "Unsqueeze", "Flatten", "Identity",
            "Expand", "Tile", "Pad", "Cast", "CastLike", "Shape", "Size", "Constant", "ConstantOfShape",
            "Range", "ScatterND", "ScatterElements", "Scatter", "DepthToSpace", "SpaceToDepth", "OneHot",
            "EyeLike", "Compress", "ReverseSequence", "Optional", "OptionalGetElement", "OptionalHasElement",
            "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert",
            "SequenceLength", "SplitToSequence", "ConcatFromSequence", "RandomNormal", "RandomUniform",
            "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Upsample", "Resize",
            "GridSample", "RoiAlign", "MaxRoiPool", "NonMaxSuppression", "MaxUnpool", "Col2Im", "Det",
            "StringNormalizer", "TfIdfVectorizer", "Sort", "Im2Col");
    private static final Set<String> GATHERS = Set.of("Gather", "GatherElements", "GatherND");

    /** Forward work of one node (its subgraphs included). */
    public static Work of(Node node) {
        Acc acc = new Acc();
        Set<String> seen = new LinkedHashSet<>();
        boolean gather = GATHERS.contains(node.opType());
        for (int i = 0; i < node.inputs().size(); i++) {
            Value in = node.inputs().get(i);
            if (in.isAbsent() || !seen.add(in.name())) {
                continue;
            }
            if (gather && i == 0) {
                continue; // only the gathered rows are read; counted from the output below
            }
            acc.read(in);
        }
        for (Value out : node.outputs()) {
            acc.write(out);
            if (gather) {
                acc.read(out);
            }
        }
        double flops = flops(node, acc);
        return new Work(flops, acc.read, acc.written, acc.complete);
    }

    /** Forward work of every node of the graph, by node name, in topological order. */
    public static Map<String, Work> perNode(Graph g) {
        Map<String, Work> r = new java.util.LinkedHashMap<>();
        for (Node n : g.nodes()) {
            r.put(n.name(), of(n));
        }
        return r;
    }

    /**
     * The forward work of a whole graph summed in doubles: each node's work is exact (64-bit counts),
     * but a model's total may exceed 64 bits (a trillion-parameter model over millions of tokens does
     * 1e19 FLOPs in one forward pass).
     *
     * @param flops        forward floating-point operations
     * @param bytesRead    bytes read
     * @param bytesWritten bytes written
     * @param complete     false when some node's work is a lower bound
     */
    public record Totals(double flops, double bytesRead, double bytesWritten, boolean complete) {
        /** The totals of a graph's nodes; linear in the number of nodes. */
        public static Totals of(Graph g) {
            double f = 0;
            double r = 0;
            double w = 0;
            boolean complete = true;
            for (Node n : g.nodes()) {
                Work x = WorkAnalysis.of(n);
                f += x.flops();
                r += x.bytesRead();
                w += x.bytesWritten();
                complete &= x.complete();
            }
            return new Totals(f, r, w, complete);
        }
    }

    /**
     * Sum of the forward work of the graph's nodes, exact.
     *
     * @throws ArithmeticException when a count exceeds 64 bits (use {@link Totals#of} for any size)
     */
    public static Work total(Graph g) {
        Work w = Work.ZERO;
        for (Node n : g.nodes()) {
            w = w.plus(of(n));
        }
        return w;
    }

    private static final class Acc {
        long read;
        long written;
        boolean complete = true;

        void read(Value v) {
            OptionalLong b = v.type().byteSize();
            if (b.isPresent()) {
                read = Math.addExact(read, b.getAsLong());
            } else {
                complete = false;
            }
        }

        void write(Value v) {
            OptionalLong b = v.type().byteSize();
            if (b.isPresent()) {
                written = Math.addExact(written, b.getAsLong());
            } else {
                complete = false;
            }
        }

        /** Element count of v, or -1 (and incomplete) if unknown. */
        long numel(Value v) {
            OptionalLong n = v.shape().numElements();
            if (n.isEmpty()) {
                complete = false;
                return -1;
            }
            return n.getAsLong();
        }

        long dim(Value v, int axis) {
            Shape s = v.shape();
            if (!s.rankKnown() || s.rank() == 0 || axis >= s.rank() || -axis > s.rank() || !s.dim(axis).isFixed()) {
                complete = false;
                return -1;
            }
            return s.dim(axis).value();
        }
    }

    /** Product of counts in double precision (exact up to 2^53); 0 when a count is unknown (negative). */
    private static double mul(double... xs) {
        double r = 1;
        for (double x : xs) {
            if (x < 0) {
                return 0;
            }
            r *= x;
        }
        return r;
    }

    /** Sum of non-negative counts in double precision. */
    private static double add(double... xs) {
        double r = 0;
        for (double x : xs) {
            r += x;
        }
        return r;
    }

    private static double flops(Node n, Acc a) {
        String op = n.opType();
        if (!n.isOnnxDomain() && !"com.microsoft".equals(n.domain()) && !NCHWC_DOMAIN.equals(n.domain())) {
            a.complete = false;
            return 0;
        }
        switch (op) {
            case "MatMul", "MatMulInteger", "FusedMatMul", "QLinearMatMul": {
                Value x = n.input(0);
                long k = a.dim(x, op.equals("FusedMatMul") && n.attrInt("transA", 0) != 0 ? -2 : -1);
                return mul(2, a.numel(n.output(0)), k);
            }
            case "Gemm", "FusedGemm": {
                long k = a.dim(n.input(0), n.attrInt("transA", 0) != 0 ? 0 : 1);
                long y = a.numel(n.output(0));
                return add(mul(2, y, k), n.hasInput(2) ? mul(y) : 0, fusedActivation(n) ? mul(y) : 0);
            }
            case "ReorderInput", "ReorderOutput":
                return 0;
            case "Conv", "ConvInteger", "QLinearConv", "FusedConv", "NhwcConv": {
                boolean q = op.equals("QLinearConv");
                Value w = n.input(q ? 3 : 1);
                long y = a.numel(n.output(0));
                long wn = a.numel(w);
                long cout = a.dim(w, 0);
                double bias = n.hasInput(q ? 8 : 2) ? mul(y) : 0;
                if (y < 0 || wn < 0 || cout <= 0) {
                    return 0;
                }
                // a fused convolution (com.microsoft FusedConv, the NCHWc Conv) may add a fourth
                // input (a residual, Z or Sum) and apply an activation: one FLOP per output each
                double sum = !q && n.hasInput(3) && (op.equals("FusedConv") || NCHWC_DOMAIN.equals(n.domain())) ? mul(y) : 0;
                return add(mul(2, y, wn / cout), bias, sum, fusedActivation(n) ? mul(y) : 0);
            }
            case "ConvTranspose": {
                Value x = n.input(0);
                Value w = n.input(1);
                long xn = a.numel(x);
                long wn = a.numel(w);
                long cin = a.dim(w, 0);
                double bias = n.hasInput(2) ? mul(a.numel(n.output(0))) : 0;
                if (xn < 0 || wn < 0 || cin <= 0) {
                    return 0;
                }
                return add(mul(2, xn, wn / cin), bias);
            }
            case "MaxPool", "AveragePool", "LpPool": {
                double k = 1;
                for (long d : n.attrInts("kernel_shape").orElse(new long[0])) {
                    k = mul(k, d);
                }
                return mul(a.numel(n.output(0)), k);
            }
            case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool":
                return mul(a.numel(n.input(0)));
            case "BatchNormalization":
                return mul(2, a.numel(n.input(0)));
            case "LayerNormalization", "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization",
                    "SkipLayerNormalization", "EmbedLayerNormalization":
                return mul(8, a.numel(n.input(0)));
            case "RMSNormalization", "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization":
                return mul(6, a.numel(n.input(0)));
            case "LpNormalization", "LRN":
                return mul(3, a.numel(n.input(0)));
            case "Softmax", "LogSoftmax":
                return mul(5, a.numel(n.input(0)));
            case "SoftmaxCrossEntropyLoss":
                // a log-softmax over the classes (max, subtract, exponent, sum, logarithm) and the pick of the label
                return mul(6, a.numel(n.input(0)));
            case "NegativeLogLikelihoodLoss":
                return mul(1, a.numel(n.output(0)));
            case "Gelu":
                return mul(8, a.numel(n.output(0)));
            case "Einsum":
                return einsum(n, a);
            case "LSTM", "GRU", "RNN":
                return recurrent(n, a);
            case "Attention", "MultiHeadAttention":
                return attention(n, a);
            case "If": {
                double best = 0;
                for (Graph g : n.subgraphs()) {
                    Work w = total(g);
                    a.complete &= w.complete();
                    best = Math.max(best, w.flops());
                }
                return best;
            }
            case "Loop": {
                Tensor trip = n.input(0).constant().orElse(null);
                double body = 0;
                for (Graph g : n.subgraphs()) {
                    Work w = total(g);
                    a.complete &= w.complete();
                    body += w.flops();
                }
                if (trip == null || !trip.hasValues() || trip.numElements() != 1) {
                    a.complete = false;
                    return body;
                }
                return mul(body, trip.getLong(0));
            }
            case "Scan": {
                double body = 0;
                for (Graph g : n.subgraphs()) {
                    Work w = total(g);
                    a.complete &= w.complete();
                    body += w.flops();
                }
                int numScanIn = (int) n.attrInt("num_scan_inputs", 1);
                int first = n.inputs().size() - numScanIn;
                long axis = n.attrInts("scan_input_axes").map(x -> x.length > 0 ? x[0] : 0L).orElse(0L);
                long len = first >= 0 && first < n.inputs().size() ? a.dim(n.input(first), (int) axis) : -1;
                return len < 0 ? body : mul(body, len);
            }
            default:
                break;
        }
        if (ELEMENTWISE.contains(op)) {
            return mul(a.numel(n.output(0)));
        }
        if (VARIADIC.contains(op)) {
            long present = n.inputs().stream().filter(v -> !v.isAbsent()).count();
            return mul(Math.max(1, present - 1), a.numel(n.output(0)));
        }
        if (REDUCTIONS.contains(op)) {
            return mul(a.numel(n.input(0)));
        }
        if (DATA_MOVEMENT.contains(op) || GATHERS.contains(op)) {
            return 0;
        }
        a.complete = false;
        return 0;
    }

    /** The domain of ONNX Runtime's blocked-channel (NCHWc) operators. */
    static final String NCHWC_DOMAIN = "com.microsoft.nchwc";

    /** True when a fused node of ONNX Runtime applies an activation ({@code activation} attribute). */
    private static boolean fusedActivation(Node n) {
        return !n.isOnnxDomain() && n.attributes().containsKey("activation");
    }

    private static double einsum(Node n, Acc a) {
        String eq = n.attrString("equation", "").replace(" ", "");
        int arrow = eq.indexOf("->");
        String lhs = arrow >= 0 ? eq.substring(0, arrow) : eq;
        String rhs = arrow >= 0 ? eq.substring(arrow + 2) : null;
        String[] terms = lhs.split(",", -1);
        Map<Character, Long> sizes = new HashMap<>();
        Map<Character, Integer> counts = new HashMap<>();
        for (int t = 0; t < terms.length && t < n.inputs().size(); t++) {
            String term = terms[t];
            Shape s = n.input(t).shape();
            if (!s.rankKnown()) {
                a.complete = false;
                continue;
            }
            int ell = term.indexOf("...");
            String before = ell >= 0 ? term.substring(0, ell) : term;
            String after = ell >= 0 ? term.substring(ell + 3) : "";
            for (int i = 0; i < before.length(); i++) {
                record(sizes, counts, before.charAt(i), s, i, a);
            }
            for (int i = 0; i < after.length(); i++) {
                record(sizes, counts, after.charAt(i), s, s.rank() - after.length() + i, a);
            }
        }
        String out;
        if (rhs != null) {
            out = rhs;
        } else {
            StringBuilder sb = new StringBuilder();
            counts.forEach((c, k) -> {
                if (k == 1) {
                    sb.append(c);
                }
            });
            out = sb.toString();
        }
        double contracted = 1;
        boolean any = false;
        for (Map.Entry<Character, Long> e : sizes.entrySet()) {
            if (out.indexOf(e.getKey()) < 0) {
                contracted = mul(contracted, e.getValue());
                any = true;
            }
        }
        long y = a.numel(n.output(0));
        return any ? mul(2, y, contracted) : mul(y);
    }

    private static void record(Map<Character, Long> sizes, Map<Character, Integer> counts, char c, Shape s, int axis,
                               Acc a) {
        counts.merge(c, 1, Integer::sum);
        if (axis < 0 || axis >= s.rank() || !s.dim(axis).isFixed()) {
            a.complete = false;
            return;
        }
        long v = s.dim(axis).value();
        sizes.merge(c, v, Math::max);
    }

    private static double recurrent(Node n, Acc a) {
        Value x = n.input(0);
        Value w = n.input(1);
        long layout = n.attrInt("layout", 0);
        long seq = a.dim(x, layout == 0 ? 0 : 1);
        long batch = a.dim(x, layout == 0 ? 1 : 0);
        long inputSize = a.dim(x, 2);
        long dirs = a.dim(w, 0);
        long hidden = n.attribute("hidden_size").map(Attribute::asInt).orElse(-1L);
        int gates;
        long pointwise;
        switch (n.opType()) {
            case "LSTM" -> {
                gates = 4;
                pointwise = 9;
            }
            case "GRU" -> {
                gates = 3;
                pointwise = 8;
            }
            default -> {
                gates = 1;
                pointwise = 1;
            }
        }
        if (hidden <= 0) {
            long g = a.dim(w, 1);
            hidden = g < 0 ? -1 : g / gates;
        }
        if (seq < 0 || batch < 0 || inputSize < 0 || dirs < 0 || hidden < 0) {
            a.complete = false;
            return 0;
        }
        double gh = mul(gates, hidden);
        double step = add(mul(2, batch, gh, add(inputSize, hidden)), n.hasInput(3) ? mul(2, batch, gh) : 0,
                mul(pointwise, batch, hidden));
        return mul(step, seq, dirs);
    }

    private static double attention(Node n, Acc a) {
        Value q = n.input(0);
        Value k = n.input(1);
        Value v = n.input(2);
        Shape qs = q.shape();
        if (!qs.rankKnown() || !k.shape().rankKnown() || !v.shape().rankKnown()) {
            a.complete = false;
            return 0;
        }
        long heads = n.attrInt("num_heads", n.attrInt("q_num_heads", 1));
        if ("com.microsoft".equals(n.domain()) && n.opType().equals("Attention")) {
            // input [B, S, hidden], packed weights [hidden, 3·hidden]: projection plus attention.
            long b = a.dim(q, 0);
            long s = a.dim(q, 1);
            long hid = a.dim(q, 2);
            long wout = a.dim(k, 1);
            if (b < 0 || s < 0 || hid < 0 || wout < 0) {
                return 0;
            }
            long inner = wout / 3;
            return add(mul(2, b, s, hid, wout), mul(2, b, s, s, 2, inner), mul(5, b, Math.max(heads, 0), s, s));
        }
        long b;
        long s;
        long l;
        long dq;
        long dv;
        if (qs.rank() == 4) {
            b = a.dim(q, 0);
            heads = a.dim(q, 1);
            s = a.dim(q, 2);
            dq = a.dim(q, 3);
            l = a.dim(k, 2);
            dv = a.dim(v, 3);
        } else {
            b = a.dim(q, 0);
            s = a.dim(q, 1);
            long qh = a.dim(q, 2);
            l = a.dim(k, 1);
            long vh = a.dim(v, 2);
            dq = heads > 0 && qh >= 0 ? qh / heads : -1;
            dv = heads > 0 && vh >= 0 ? vh / heads : -1;
        }
        if (b < 0 || s < 0 || l < 0 || dq < 0 || dv < 0 || heads <= 0) {
            a.complete = false;
            return 0;
        }
        return add(mul(2, b, heads, s, l, add(dq, dv)), mul(5, b, heads, s, l));
    }

    /** Whether this class has a FLOP formula for the node's operator (data movement counts, with 0). */
    public static boolean isModeled(Node n) {
        String op = n.opType();
        return ELEMENTWISE.contains(op) || VARIADIC.contains(op) || REDUCTIONS.contains(op)
                || DATA_MOVEMENT.contains(op) || GATHERS.contains(op)
                || List.of("MatMul", "MatMulInteger", "FusedMatMul", "QLinearMatMul", "Gemm", "Conv", "ConvInteger",
                        "QLinearConv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                        "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "LayerNormalization",
                        "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization",
                        "RMSNormalization", "LpNormalization", "LRN", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyLoss",
                        "NegativeLogLikelihoodLoss", "Gelu", "Einsum",
                        "LSTM", "GRU", "RNN", "Attention", "If", "Loop", "Scan").contains(op);
    }
}
