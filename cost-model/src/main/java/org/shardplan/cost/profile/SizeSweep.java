package org.shardplan.cost.profile;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

/**
 * Neighbouring sizes of one operator, for calibration: the same operator and attributes with one
 * axis of its output scaled by a factor (×1/2, ×2), and with it every activation input that
 * carries that axis and every shape-like constant that names it (a Reshape's or Expand's target
 * shape). An activation carries the axis when it has the axis's size at the same place counted
 * from the end (broadcasting alignment), or, for the outermost axis and an activation of another
 * rank (a Reshape's input), at its own first place. Weights, and activations that broadcast
 * along the axis, are kept. Each variant is an
 * operator signature of its own; measured into the calibration file, the variants around a node
 * let the compute model interpolate its time from other shapes of the same family
 * ({@link org.shardplan.cost.compute.SizeFamily}).
 *
 * <p>Whether a variant is a valid operator is decided by running it (the profiler checks that
 * ONNX Runtime produces the scaled output shapes); this class only builds candidates. Running
 * time O(inputs + outputs) per candidate.
 */
public final class SizeSweep {
    private SizeSweep() {}

    /**
     * The node with axis {@code axis} of its first output scaled by {@code num/den}, or empty when
     * the axis's size does not scale to a whole number or no input carries the axis.
     */
    public static Optional<Node> scaled(Node node, int axis, long num, long den) {
        if (node.outputs().isEmpty() || num < 1 || den < 1) {
            return Optional.empty();
        }
        Shape out0 = node.output(0).shape();
        if (!out0.rankKnown() || !out0.isFullyKnown() || axis < 0 || axis >= out0.rank()) {
            return Optional.empty();
        }
        long size = out0.toLongs()[axis];
        if (size < 1 || (size * num) % den != 0) {
            return Optional.empty();
        }
        long scaled = size * num / den;
        int fromEnd = out0.rank() - axis;
        boolean anyInput = false;
        List<Value> ins = new ArrayList<>();
        for (Value v : node.inputs()) {
            if (v.isAbsent()) {
                ins.add(v);
                continue;
            }
            Optional<Value> s;
            if (v.constant().isPresent() && v.constant().get().hasValues()) {
                s = shapeConstant(v, out0.rank(), axis, size, scaled);
            } else if (v.kind() == Value.Kind.PARAMETER || v.kind() == Value.Kind.CONSTANT || v.constant().isPresent()) {
                s = Optional.empty();
            } else {
                s = carried(v, fromEnd, size, scaled);
                if (s.isEmpty() && axis == 0) {
                    s = leading(v, out0.rank(), size, scaled);
                }
            }
            anyInput |= s.isPresent();
            ins.add(s.orElse(v));
        }
        if (!anyInput) {
            return Optional.empty();
        }
        List<Value> outs = new ArrayList<>();
        for (Value v : node.outputs()) {
            if (!v.shape().rankKnown() || !v.shape().isFullyKnown()) {
                return Optional.empty();
            }
            Optional<Value> c = carried(v, fromEnd, size, scaled);
            if (c.isEmpty() && axis == 0) {
                c = leading(v, out0.rank(), size, scaled);
            }
            outs.add(c.orElse(v));
        }
        return Optional.of(node.withValues(ins, outs));
    }

    /**
     * The neighbours to calibrate around a node, in order of preference: for each axis of the
     * first output (outermost first), the pair ×1/2 and ×2 when both exist, then ×2 alone.
     * The profiler measures the first pair ONNX Runtime accepts.
     */
    public static List<List<Node>> candidates(Node node) {
        List<List<Node>> pairs = new ArrayList<>();
        List<List<Node>> singles = new ArrayList<>();
        if (node.outputs().isEmpty() || !node.output(0).shape().rankKnown()) {
            return pairs;
        }
        for (int a = 0; a < node.output(0).shape().rank(); a++) {
            Optional<Node> half = scaled(node, a, 1, 2);
            Optional<Node> twice = scaled(node, a, 2, 1);
            if (half.isPresent() && twice.isPresent()) {
                pairs.add(List.of(half.get(), twice.get()));
            } else if (twice.isPresent()) {
                singles.add(List.of(twice.get()));
            }
        }
        pairs.addAll(singles);
        return pairs;
    }

    /** The value with the axis {@code fromEnd} places from its end scaled, if it has that size there. */
    private static Optional<Value> carried(Value v, int fromEnd, long size, long scaled) {
        Shape s = v.shape();
        if (!s.rankKnown() || !s.isFullyKnown() || s.rank() < fromEnd) {
            return Optional.empty();
        }
        long[] d = s.toLongs();
        int i = d.length - fromEnd;
        if (d[i] != size) {
            return Optional.empty();
        }
        d[i] = scaled;
        return Optional.of(v.withType(new TensorType(v.dtype(), Shape.of(d))));
    }

    /**
     * For the outermost axis of an operator that changes rank (Reshape, Unsqueeze, Flatten): a
     * value of another rank whose first axis has the size, scaled there.
     */
    private static Optional<Value> leading(Value v, int rank, long size, long scaled) {
        Shape s = v.shape();
        if (!s.rankKnown() || !s.isFullyKnown() || s.rank() == rank || s.rank() == 0) {
            return Optional.empty();
        }
        long[] d = s.toLongs();
        if (d[0] != size) {
            return Optional.empty();
        }
        d[0] = scaled;
        return Optional.of(v.withType(new TensorType(v.dtype(), Shape.of(d))));
    }

    /** A rank-1 integer constant of one entry per output axis whose entry at the axis is the size. */
    private static Optional<Value> shapeConstant(Value v, int rank, int axis, long size, long scaled) {
        Tensor t = v.constant().get();
        if (t.rank() != 1 || t.numElements() != rank || !t.isIntegral() || t.longs().isEmpty()
                || t.dtype() == DType.BOOL) {
            return Optional.empty();
        }
        long[] x = t.longs().get();
        if (x[axis] != size) {
            return Optional.empty();
        }
        x[axis] = scaled;
        Tensor n = Tensor.ofLongs(t.dtype(), t.dims(), x);
        return Optional.of(new Value(v.name(), n.type(), v.kind(), Optional.of(n), v.externalData()));
    }
}
