package org.shardplan.graph;

import java.util.Objects;
import java.util.Optional;

/**
 * A named tensor that flows along the edges of a {@link Graph}.
 *
 * <p>A {@link Kind#PARAMETER} (an ONNX initializer: a trained weight) carries its type only; its bytes
 * are never held, and {@link #externalData()} says where they live when the model stores them outside
 * its file. A parameter that is two-valued by the triangle of its last two axes (a causal-mask buffer
 * registered in a module) carries that summary in {@link #triangle()}. A value whose contents are known at import time (a {@link Kind#CONSTANT}, or an
 * {@link Kind#INTERMEDIATE} that shape arithmetic folded) carries them in {@link #constant()}.
 * Optional inputs that a node leaves out are the {@link #absent()} value (kind {@link Kind#ABSENT}).
 *
 * @param name unique name within its graph ("" only for the absent value)
 * @param type element type and shape
 * @param kind where the value comes from
 * @param constant the contents, when known and small
 * @param externalData where a parameter's bytes are stored outside the model file
 * @param triangle     for a parameter whose values are not kept, their summary when they hold one value on
 *                     and below the diagonal of the last two axes and one above it ({@link Triangle})
 */
public record Value(String name, TensorType type, Kind kind, Optional<Tensor> constant,
                    Optional<ExternalData> externalData, Optional<Triangle> triangle) {

    /** Where a value comes from. */
    public enum Kind {
        /** An input of the graph, fed at run time. */
        INPUT,
        /** A trained weight (ONNX initializer), metadata only. */
        PARAMETER,
        /** A small tensor whose contents are known (ONNX initializer of an integer type, Constant node output). */
        CONSTANT,
        /** Produced by a node. */
        INTERMEDIATE,
        /** The placeholder for an optional input a node leaves out. */
        ABSENT
    }

    private static final Value ABSENT = new Value("", TensorType.unknown(), Kind.ABSENT, Optional.empty(), Optional.empty());

    /** A value without a triangle summary. */
    public Value(String name, TensorType type, Kind kind, Optional<Tensor> constant, Optional<ExternalData> externalData) {
        this(name, type, kind, constant, externalData, Optional.empty());
    }

    public Value {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(triangle, "triangle");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(constant, "constant");
        Objects.requireNonNull(externalData, "externalData");
        if (name.isEmpty() != (kind == Kind.ABSENT)) {
            throw new IllegalArgumentException("value name must be empty exactly for an absent value, found '"
                    + name + "' of kind " + kind);
        }
        if (constant.isPresent() && !constant.get().type().equals(type)
                && !(type.dtype() == constant.get().dtype() && !type.shape().rankKnown())) {
            throw new IllegalArgumentException("value '" + name + "' has type " + type
                    + " but its contents are " + constant.get().type());
        }
    }

    /** A graph input. */
    public static Value input(String name, TensorType type) {
        return new Value(name, type, Kind.INPUT, Optional.empty(), Optional.empty());
    }

    /** A parameter stored in the model file. */
    public static Value parameter(String name, TensorType type) {
        return new Value(name, type, Kind.PARAMETER, Optional.empty(), Optional.empty());
    }

    /** A parameter whose bytes are stored in another file. */
    public static Value parameter(String name, TensorType type, ExternalData where) {
        return new Value(name, type, Kind.PARAMETER, Optional.empty(), Optional.of(where));
    }

    /** A constant with known contents; its type is that of the contents. */
    public static Value constant(String name, Tensor contents) {
        return new Value(name, contents.type(), Kind.CONSTANT, Optional.of(contents), Optional.empty());
    }

    /** A node output. */
    public static Value intermediate(String name, TensorType type) {
        return new Value(name, type, Kind.INTERMEDIATE, Optional.empty(), Optional.empty());
    }

    /** A node output whose contents were computed at import time. */
    public static Value folded(String name, Tensor contents) {
        return new Value(name, contents.type(), Kind.INTERMEDIATE, Optional.of(contents), Optional.empty());
    }

    /** The placeholder for a left-out optional input. */
    public static Value absent() {
        return ABSENT;
    }

    public boolean isAbsent() {
        return kind == Kind.ABSENT;
    }

    /** Shorthand for {@code type().shape()}. */
    public Shape shape() {
        return type.shape();
    }

    /** Shorthand for {@code type().dtype()}. */
    public DType dtype() {
        return type.dtype();
    }

    /**
     * The same value with another type (contents dropped if they no longer match; the triangle summary
     * kept while the last two dimensions stay as they were).
     */
    public Value withType(TensorType t) {
        Optional<Tensor> c = constant.filter(x -> x.type().equals(t));
        Shape a = type.shape();
        Shape b = t.shape();
        boolean lastTwo = a.rankKnown() && b.rankKnown() && a.rank() >= 2 && b.rank() >= 2
                && a.dim(a.rank() - 1).equals(b.dim(b.rank() - 1)) && a.dim(a.rank() - 2).equals(b.dim(b.rank() - 2));
        return new Value(name, t, kind, c, externalData, lastTwo ? triangle : Optional.empty());
    }

    /** The same value with a triangle summary (or none). */
    public Value withTriangle(Optional<Triangle> t) {
        return new Value(name, type, kind, constant, externalData, t);
    }

    @Override
    public String toString() {
        return name + ":" + type;
    }
}
