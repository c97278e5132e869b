package org.shardplan.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The shape of a tensor: a list of dimensions, or an unknown rank. A scalar has rank 0.
 *
 * @param rankKnown whether the number of dimensions is known; if not, {@code dims} is empty
 * @param dims the dimensions, outermost first
 */
public record Shape(boolean rankKnown, List<Dim> dims) {

    private static final Shape UNKNOWN_RANK = new Shape(false, List.of());
    private static final Shape SCALAR = new Shape(true, List.of());

    public Shape {
        dims = List.copyOf(dims);
        if (!rankKnown && !dims.isEmpty()) {
            throw new IllegalArgumentException("a shape of unknown rank must have no dimensions, found " + dims);
        }
    }

    /** A shape whose rank is unknown. */
    public static Shape unknownRank() {
        return UNKNOWN_RANK;
    }

    /** The rank-0 shape. */
    public static Shape scalar() {
        return SCALAR;
    }

    /** A shape of fixed sizes. */
    public static Shape of(long... sizes) {
        List<Dim> d = new ArrayList<>(sizes.length);
        for (long s : sizes) {
            d.add(Dim.of(s));
        }
        return new Shape(true, d);
    }

    /** A shape of known rank. */
    public static Shape of(List<Dim> dims) {
        return new Shape(true, dims);
    }

    /** A shape of the given rank whose dimensions are all unknown. */
    public static Shape unknownDims(int rank) {
        return new Shape(true, java.util.Collections.nCopies(rank, Dim.unknown()));
    }

    /** Number of dimensions; throws {@link IllegalStateException} if the rank is unknown. */
    public int rank() {
        if (!rankKnown) {
            throw new IllegalStateException("shape has unknown rank");
        }
        return dims.size();
    }

    /** Dimension {@code i}; negative {@code i} counts from the end. */
    public Dim dim(int i) {
        int r = rank();
        int k = i < 0 ? i + r : i;
        if (k < 0 || k >= r) {
            throw new IndexOutOfBoundsException("axis " + i + " out of range for rank " + r);
        }
        return dims.get(k);
    }

    /** Whether the rank and every dimension are known. */
    public boolean isFullyKnown() {
        if (!rankKnown) {
            return false;
        }
        for (int i = 0; i < dims.size(); i++) { // indexed: no iterator allocated (hot in the planner's pricing)
            if (!dims.get(i).isFixed()) {
                return false;
            }
        }
        return true;
    }

    /** Number of elements if every dimension is fixed (1 for a scalar); throws ArithmeticException on overflow. */
    public OptionalLong numElements() {
        if (!isFullyKnown()) {
            return OptionalLong.empty();
        }
        long n = 1;
        for (int i = 0; i < dims.size(); i++) {
            n = Math.multiplyExact(n, dims.get(i).value());
        }
        return OptionalLong.of(n);
    }

    /** The sizes, if {@link #isFullyKnown()}; throws {@link IllegalStateException} otherwise. */
    public long[] toLongs() {
        if (!isFullyKnown()) {
            throw new IllegalStateException("shape " + this + " is not fully known");
        }
        long[] r = new long[dims.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = dims.get(i).value();
        }
        return r;
    }

    /** This shape with every symbol that {@code bindings} names replaced by its value. */
    public Shape bind(Map<String, Long> bindings) {
        if (!rankKnown || bindings.isEmpty()) {
            return this;
        }
        List<Dim> out = new ArrayList<>(dims.size());
        boolean changed = false;
        for (Dim d : dims) {
            if (d instanceof Dim.Symbolic s && bindings.containsKey(s.name())) {
                out.add(Dim.of(bindings.get(s.name())));
                changed = true;
            } else {
                out.add(d);
            }
        }
        return changed ? new Shape(true, out) : this;
    }

    /** Whether any dimension is symbolic or unknown, or the rank is unknown. */
    public boolean hasUnknown() {
        return !isFullyKnown();
    }

    @Override
    public String toString() {
        if (!rankKnown) {
            return "[*]";
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(dims.get(i));
        }
        return sb.append(']').toString();
    }

    /** Equality helper that treats two unknown dims as equal (records already do). */
    public boolean sameAs(Shape other) {
        return Objects.equals(this, other);
    }
}
