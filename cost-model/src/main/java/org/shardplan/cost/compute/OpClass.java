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
 * element-wise op with broadcasting from one without).
 */
public final class OpClass {
    private OpClass() {}

    private static final Set<String> MATMUL = Set.of("MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum",
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
            "ScatterElements", "Shape", "Size", "ConstantOfShape", "Range", "Where", "OneHot");

    /** The category of an op type: matmul, norm, pool, reduce, move or elementwise. */
    public static String category(String opType) {
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

    /** The shape class of a node (see the class comment); "any" where an op type has just one. */
    public static String shapeClass(Node n) {
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
                return (batched ? "batched" : rank(a) > 2 ? "stacked" : "2d") + (isWeight(b) ? "/weight" : "/act");
            }
            case "Gemm":
                return "transB=" + n.attrInt("transB", 0) + (isWeight(n.input(1)) ? "/weight" : "/act");
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
        if ("elementwise".equals(category(n.opType())) && !n.outputs().isEmpty()) {
            Shape out = n.output(0).shape();
            for (Value v : n.inputs()) {
                if (!v.isAbsent() && !v.shape().equals(out)) {
                    return "broadcast";
                }
            }
            return "same";
        }
        return "any";
    }

    private static int rank(Value v) {
        return v.shape().rankKnown() ? v.shape().rank() : 0;
    }

    /** True for a trained weight or a constant (stored in the model, not fed). */
    static boolean isWeight(Value v) {
        return v.kind() == Value.Kind.PARAMETER || v.kind() == Value.Kind.CONSTANT;
    }
}
