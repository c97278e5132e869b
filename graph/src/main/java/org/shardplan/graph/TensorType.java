package org.shardplan.graph;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * The type of a tensor value: element type and shape. Values that are not plain tensors in ONNX
 * (sequences, maps, optionals) are described by their element type with an unknown shape.
 *
 * @param dtype the element type ({@link DType#UNDEFINED} if not known)
 * @param shape the shape ({@link Shape#unknownRank()} if not known)
 */
public record TensorType(DType dtype, Shape shape) {

    private static final TensorType UNKNOWN = new TensorType(DType.UNDEFINED, Shape.unknownRank());

    public TensorType {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
    }

    /** Element type and shape both unknown. */
    public static TensorType unknown() {
        return UNKNOWN;
    }

    public static TensorType of(DType dtype, long... dims) {
        return new TensorType(dtype, Shape.of(dims));
    }

    /** Size in bytes if the shape is fully known and the element type has a fixed size. */
    public OptionalLong byteSize() {
        OptionalLong n = shape.numElements();
        if (n.isEmpty() || dtype.bits() == 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(dtype.byteSize(n.getAsLong()));
    }

    /** The same element type with another shape. */
    public TensorType withShape(Shape s) {
        return new TensorType(dtype, s);
    }

    /** Whether the element type and every dimension are known. */
    public boolean isFullyKnown() {
        return dtype != DType.UNDEFINED && shape.isFullyKnown();
    }

    @Override
    public String toString() {
        return dtype + shape.toString();
    }
}
