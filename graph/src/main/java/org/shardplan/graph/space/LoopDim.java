package org.shardplan.graph.space;

import java.util.Objects;

/**
 * One named loop dimension of an operator's iteration space.
 *
 * @param name the name, unique within its space ({@code "m"}, {@code "k"}, {@code "co"}, {@code "d2"})
 * @param extent the number of iterations, at least 1
 * @param kind how it may be split
 */
public record LoopDim(String name, long extent, LoopKind kind) {
    public LoopDim {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("loop dimension name must not be empty");
        }
        if (extent < 1) {
            throw new IllegalArgumentException("loop dimension '" + name + "' extent must be >= 1, found " + extent);
        }
    }

    /** Whether a strategy may split it: its kind is splittable and its extent is above 1. */
    public boolean splittable() {
        return kind.splittable() && extent > 1;
    }

    @Override
    public String toString() {
        return name + "=" + extent + (kind == LoopKind.PARALLEL ? "" : "(" + kind.name().toLowerCase(java.util.Locale.ROOT) + ")");
    }
}
