package org.shardplan.graph.space;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How one axis of a tensor is indexed by the loop dimensions of an {@link IterationSpace}.
 *
 * <ul>
 * <li>No loop dimensions: the axis is read or written whole by every device (a broadcast axis of
 *     size 1, the shape vector of a Reshape, the unsplittable hidden axis of a recurrent weight).
 * <li>One or more loop dimensions, outermost first: the axis is the flattening of those dimensions
 *     (one dimension in the common case; {@code (g, co)} for the channel axis of a grouped
 *     convolution; several for a Reshape that merges axes). Split by factors {@code f1, f2, …} each
 *     device holds {@code size / (f1·f2·…)} of it.
 * <li>One loop dimension and a {@link Window}: a spatial input axis of a convolution, pooling or
 *     resize; each device holds the inputs its outputs' windows cover (its block plus a halo).
 * </ul>
 *
 * @param dims the loop dimensions that index the axis, outermost first (empty for a whole axis)
 * @param size the axis' size in the tensor
 * @param window the window through which the single loop dimension reads this axis, if any
 */
public record AxisMap(List<String> dims, long size, Optional<Window> window) {
    public AxisMap {
        dims = List.copyOf(dims);
        Objects.requireNonNull(window, "window");
        if (size < 0) {
            throw new IllegalArgumentException("axis size must be >= 0, found " + size);
        }
        if (window.isPresent() && dims.size() != 1) {
            throw new IllegalArgumentException("a windowed axis must be indexed by exactly one loop dimension, found "
                    + dims);
        }
    }

    /** An axis every device holds whole. */
    public static AxisMap whole(long size) {
        return new AxisMap(List.of(), size, Optional.empty());
    }

    /** An axis indexed by one loop dimension. */
    public static AxisMap of(String dim, long size) {
        return new AxisMap(List.of(dim), size, Optional.empty());
    }

    /** An axis that flattens several loop dimensions, outermost first. */
    public static AxisMap flattened(List<String> dims, long size) {
        return new AxisMap(dims, size, Optional.empty());
    }

    /** A spatial input axis read through a window of loop dimension {@code dim}. */
    public static AxisMap windowed(String dim, long size, Window w) {
        return new AxisMap(List.of(dim), size, Optional.of(w));
    }

    /** Whether no loop dimension indexes it. */
    public boolean isWhole() {
        return dims.isEmpty();
    }

    @Override
    public String toString() {
        if (dims.isEmpty()) {
            return Long.toString(size);
        }
        String d = dims.size() == 1 ? dims.get(0) : "(" + String.join(",", dims) + ")";
        return d + ":" + size + window.map(w -> (w.transposed() ? "^" : "/") + w.stride() + "+" + w.span()).orElse("");
    }
}
