package org.shardplan.planner.solver;

import java.util.Arrays;

/**
 * A {@code double[]} compared by content, as a map key (bitwise, so +0.0 and -0.0 differ; harmless
 * where keys come from one computation). The array is not copied: it must not change while keyed.
 * O(length) equality and hash.
 *
 * @param v the contents
 */
public record DoublesKey(double[] v) {
    @Override
    public boolean equals(Object o) {
        return o instanceof DoublesKey k && Arrays.equals(v, k.v);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(v);
    }

    @Override
    public String toString() {
        return Arrays.toString(v);
    }
}
