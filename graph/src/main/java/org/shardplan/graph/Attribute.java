package org.shardplan.graph;

import java.util.List;
import java.util.Objects;

/**
 * A node attribute, in the kinds ONNX defines. The value is held as: {@code Long} (INT), {@code Float}
 * (FLOAT), {@code String} (STRING), {@link Tensor} (TENSOR, SPARSE_TENSOR: the dense type, values if
 * small), {@link Graph} (GRAPH), {@link TensorType} (TYPE), and immutable lists of those for the
 * plural kinds. Typed accessors throw {@link IllegalStateException} naming the attribute when the kind
 * does not match.
 *
 * @param name the attribute name
 * @param kind the kind
 * @param value the value, of the Java type given above
 */
public record Attribute(String name, Kind kind, Object value) {

    /** Attribute kinds, numbered as in ONNX's {@code AttributeProto.AttributeType}. */
    public enum Kind {
        FLOAT, INT, STRING, TENSOR, GRAPH, SPARSE_TENSOR, TYPE,
        FLOATS, INTS, STRINGS, TENSORS, GRAPHS, SPARSE_TENSORS, TYPES
    }

    public Attribute {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(value, "value");
        Class<?> want = switch (kind) {
            case FLOAT -> Float.class;
            case INT -> Long.class;
            case STRING -> String.class;
            case TENSOR, SPARSE_TENSOR -> Tensor.class;
            case GRAPH -> Graph.class;
            case TYPE -> TensorType.class;
            default -> List.class;
        };
        if (!want.isInstance(value)) {
            throw new IllegalArgumentException("attribute '" + name + "' of kind " + kind + " must hold a "
                    + want.getSimpleName() + ", found " + value.getClass().getSimpleName());
        }
        if (value instanceof List<?> l) {
            value = List.copyOf(l);
        }
    }

    public static Attribute ofInt(String name, long v) {
        return new Attribute(name, Kind.INT, v);
    }

    public static Attribute ofFloat(String name, float v) {
        return new Attribute(name, Kind.FLOAT, v);
    }

    public static Attribute ofString(String name, String v) {
        return new Attribute(name, Kind.STRING, v);
    }

    public static Attribute ofInts(String name, long... v) {
        Long[] boxed = new Long[v.length];
        for (int i = 0; i < v.length; i++) {
            boxed[i] = v[i];
        }
        return new Attribute(name, Kind.INTS, List.of(boxed));
    }

    public static Attribute ofFloats(String name, float... v) {
        Float[] boxed = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            boxed[i] = v[i];
        }
        return new Attribute(name, Kind.FLOATS, List.of(boxed));
    }

    public static Attribute ofStrings(String name, List<String> v) {
        return new Attribute(name, Kind.STRINGS, v);
    }

    public static Attribute ofTensor(String name, Tensor t) {
        return new Attribute(name, Kind.TENSOR, t);
    }

    public static Attribute ofGraph(String name, Graph g) {
        return new Attribute(name, Kind.GRAPH, g);
    }

    private WrongKindException wrongKind(String wanted) {
        return new WrongKindException("attribute '" + name + "' must be " + wanted + ", found " + kind
                + (value instanceof Long || value instanceof Float || value instanceof String ? " " + value : ""));
    }

    /** An attribute read as another kind than it holds (a malformed file: {@code group} as a float). */
    public static final class WrongKindException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        WrongKindException(String message) {
            super(message);
        }
    }

    public long asInt() {
        if (kind != Kind.INT) {
            throw wrongKind("INT");
        }
        return (Long) value;
    }

    public float asFloat() {
        if (kind == Kind.INT) {
            return (Long) value;
        }
        if (kind != Kind.FLOAT) {
            throw wrongKind("FLOAT");
        }
        return (Float) value;
    }

    public String asString() {
        if (kind != Kind.STRING) {
            throw wrongKind("STRING");
        }
        return (String) value;
    }

    public Tensor asTensor() {
        if (kind != Kind.TENSOR && kind != Kind.SPARSE_TENSOR) {
            throw wrongKind("TENSOR");
        }
        return (Tensor) value;
    }

    public Graph asGraph() {
        if (kind != Kind.GRAPH) {
            throw wrongKind("GRAPH");
        }
        return (Graph) value;
    }

    public TensorType asType() {
        if (kind != Kind.TYPE) {
            throw wrongKind("TYPE");
        }
        return (TensorType) value;
    }

    /** INTS as a primitive array. */
    public long[] asInts() {
        if (kind != Kind.INTS) {
            throw wrongKind("INTS");
        }
        List<?> l = (List<?>) value;
        long[] r = new long[l.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = (Long) l.get(i);
        }
        return r;
    }

    /** FLOATS as a primitive array (INTS converted). */
    public float[] asFloats() {
        if (kind != Kind.FLOATS && kind != Kind.INTS) {
            throw wrongKind("FLOATS");
        }
        List<?> l = (List<?>) value;
        float[] r = new float[l.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = ((Number) l.get(i)).floatValue();
        }
        return r;
    }

    @SuppressWarnings("unchecked")
    public List<String> asStrings() {
        if (kind != Kind.STRINGS) {
            throw wrongKind("STRINGS");
        }
        return (List<String>) value;
    }

    @SuppressWarnings("unchecked")
    public List<Tensor> asTensors() {
        if (kind != Kind.TENSORS && kind != Kind.SPARSE_TENSORS) {
            throw wrongKind("TENSORS");
        }
        return (List<Tensor>) value;
    }

    @SuppressWarnings("unchecked")
    public List<Graph> asGraphs() {
        if (kind != Kind.GRAPHS) {
            throw wrongKind("GRAPHS");
        }
        return (List<Graph>) value;
    }

    @SuppressWarnings("unchecked")
    public List<TensorType> asTypes() {
        if (kind != Kind.TYPES) {
            throw wrongKind("TYPES");
        }
        return (List<TensorType>) value;
    }

    @Override
    public String toString() {
        return name + "=" + (value instanceof Graph g ? "graph(" + g.name() + ")" : value);
    }
}
