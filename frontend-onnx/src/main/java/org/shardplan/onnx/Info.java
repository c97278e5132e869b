package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.List;
import org.shardplan.graph.DType;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;

/**
 * What inference knows about one value: its type, its contents when fully known and small, for
 * integer tensors of rank 0 or 1 (shape vectors) its elements as dimensions (fixed numbers, symbols
 * such as {@code batch}, or unknown), and for a sequence of known length what is known of each item. The last lets {@code Reshape(x, Concat(Shape(x)[0], 12, -1))}
 * keep the symbol {@code batch} when it is not bound.
 */
record Info(TensorType type, Tensor value, List<Dim> elements, List<Info> sequence) {

    static final Info UNKNOWN = new Info(TensorType.unknown(), null, null);

    /** A tensor (not a sequence). */
    Info(TensorType type, Tensor value, List<Dim> elements) {
        this(type, value, elements, null);
    }

    /** A sequence of known length: the type is the elements' element type with unknown shape. */
    static Info ofSequence(org.shardplan.graph.DType d, List<Info> items) {
        return new Info(new TensorType(d, Shape.unknownRank()), null, null, items);
    }

    Info {
        if (sequence != null) {
            sequence = List.copyOf(sequence);
        }
        if (value != null && !value.hasValues()) {
            value = null;
        }
        if (elements != null) {
            elements = List.copyOf(elements);
        }
        if (value != null && elements == null && value.isIntegral() && value.rank() <= 1) {
            List<Dim> e = new ArrayList<>();
            long n = value.numElements();
            for (int i = 0; i < n; i++) {
                long x = value.getLong(i);
                e.add(x >= 0 ? Dim.of(x) : new NegativeMarker(x).asDim());
            }
            elements = List.copyOf(e);
        }
    }

    static Info of(TensorType t) {
        return new Info(t, null, null);
    }

    static Info of(DType d, Shape s) {
        return new Info(new TensorType(d, s), null, null);
    }

    static Info of(Tensor t) {
        return new Info(t.type(), t, null);
    }

    /** An integer vector known element by element (possibly symbolically). */
    static Info ofElements(DType d, List<Dim> elements, boolean scalar) {
        boolean allFixed = elements.stream().allMatch(Dim::isFixed);
        Shape s = scalar ? Shape.scalar() : Shape.of(elements.size());
        if (allFixed) {
            long[] v = new long[elements.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = elements.get(i).value();
            }
            return new Info(new TensorType(d, s), Tensor.ofLongs(d, scalar ? new long[0] : new long[] {v.length}, v),
                    elements);
        }
        return new Info(new TensorType(d, s), null, elements);
    }

    DType dtype() {
        return type.dtype();
    }

    Shape shape() {
        return type.shape();
    }

    boolean rankKnown() {
        return type.shape().rankKnown();
    }

    int rank() {
        return type.shape().rank();
    }

    /** Known contents as longs, or null. */
    long[] longs() {
        return value == null ? null : value.longs().orElse(null);
    }

    /**
     * Symbolic elements of a negative number cannot be a {@link Dim}; element vectors that hold one
     * (a {@code -1} in a reshape target) keep it in a dedicated symbol name.
     */
    record NegativeMarker(long value) {
        Dim asDim() {
            return Dim.symbol(PREFIX + value);
        }

        static final String PREFIX = "\u0000neg";

        static boolean is(Dim d) {
            return d instanceof Dim.Symbolic s && s.name().startsWith(PREFIX);
        }

        static long valueOf(Dim d) {
            return Long.parseLong(((Dim.Symbolic) d).name().substring(PREFIX.length()));
        }
    }
}
