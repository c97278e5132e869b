package org.shardplan.graph;

import java.util.Objects;

/**
 * One dimension of a tensor shape: a fixed size, a named symbol (for example {@code batch}, bound
 * later by the user), or unknown.
 */
public sealed interface Dim permits Dim.Fixed, Dim.Symbolic, Dim.Unknown {

    /** A dimension of known size, at least 0. */
    record Fixed(long value) implements Dim {
        /** Sizes 0 to 4095, shared: the planner makes a shape for every layout it prices. */
        private static final Fixed[] SMALL = java.util.stream.LongStream.range(0, 4096).mapToObj(Fixed::new)
                .toArray(Fixed[]::new);

        public Fixed {
            if (value < 0) {
                throw new IllegalArgumentException("dimension must be >= 0, found " + value);
            }
        }

        @Override
        public String toString() {
            return Long.toString(value);
        }
    }

    /** A dimension named by a symbol whose value is not known yet. */
    record Symbolic(String name) implements Dim {
        public Symbolic {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("symbolic dimension name must not be empty");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A dimension of which nothing is known. */
    record Unknown() implements Dim {
        @Override
        public String toString() {
            return "?";
        }
    }

    /** The shared unknown dimension. */
    Dim UNKNOWN = new Unknown();

    static Dim of(long value) {
        return value >= 0 && value < Fixed.SMALL.length ? Fixed.SMALL[(int) value] : new Fixed(value);
    }

    static Dim symbol(String name) {
        return new Symbolic(name);
    }

    static Dim unknown() {
        return UNKNOWN;
    }

    /** Whether the size is known. */
    default boolean isFixed() {
        return this instanceof Fixed;
    }

    /** The size; throws {@link IllegalStateException} unless {@link #isFixed()}. */
    default long value() {
        if (this instanceof Fixed f) {
            return f.value();
        }
        throw new IllegalStateException("dimension " + this + " has no fixed value");
    }
}
