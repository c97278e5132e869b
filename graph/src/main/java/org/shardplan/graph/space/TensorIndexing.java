package org.shardplan.graph.space;

import java.util.List;
import java.util.Objects;
import org.shardplan.graph.Value;

/**
 * How one input or output tensor of an operator is indexed by its loop dimensions: one
 * {@link AxisMap} per tensor axis.
 *
 * @param value the tensor (its name, element type and full shape, and whether it is a parameter)
 * @param axes one entry per axis of the tensor, outermost first
 * @param sparseRead whether the operator reads only the parts of this input that its output selects
 *     (the table of a Gather): its bytes read are counted as the output's, not its own size
 * @param epilogue whether the input is read only after the operator's reductions are complete (the
 *     bias or residual that a coarse node adds to a matrix product's sums): the devices that split a
 *     reduction dimension hold the same block of it and compute the same gradient of it, so no
 *     gradient is summed over them ({@link IterationSpace#replicatedOver})
 */
public record TensorIndexing(Value value, List<AxisMap> axes, boolean sparseRead, boolean epilogue) {
    public TensorIndexing {
        Objects.requireNonNull(value, "value");
        axes = List.copyOf(axes);
        if (value.shape().rankKnown() && value.shape().rank() != axes.size()) {
            throw new IllegalArgumentException("tensor '" + value.name() + "' of rank " + value.shape().rank()
                    + " must have one axis map per axis, found " + axes.size());
        }
    }

    /** A tensor read by the operator itself (not an epilogue input). */
    public TensorIndexing(Value value, List<AxisMap> axes, boolean sparseRead) {
        this(value, axes, sparseRead, false);
    }

    /** A densely read tensor. */
    public TensorIndexing(Value value, List<AxisMap> axes) {
        this(value, axes, false, false);
    }

    /** The tensor's name. */
    public String name() {
        return value.name();
    }

    /** Whether the tensor is a trained weight (whose gradient must be reduced over its replicas). */
    public boolean isParameter() {
        return value.kind() == Value.Kind.PARAMETER;
    }

    /** Whether a loop dimension indexes some axis of this tensor. */
    public boolean indexedBy(String dim) {
        for (int i = 0, n = axes.size(); i < n; i++) {
            if (axes.get(i).dims().contains(dim)) {
                return true;
            }
        }
        return false;
    }

    /** The index of the axis that {@code dim} indexes, or -1. */
    public int axisOf(String dim) {
        for (int i = 0; i < axes.size(); i++) {
            if (axes.get(i).dims().contains(dim)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return value.name() + axes;
    }
}
