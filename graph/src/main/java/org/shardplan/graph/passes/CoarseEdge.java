package org.shardplan.graph.passes;

import java.util.Objects;
import org.shardplan.graph.Value;

/**
 * A tensor flowing from one coarse node to another.
 *
 * @param from the producer's index in {@link CoarseGraph#nodes()}
 * @param to the consumer's index (always greater than {@code from})
 * @param value the tensor
 */
public record CoarseEdge(int from, int to, Value value) {
    public CoarseEdge {
        Objects.requireNonNull(value, "value");
        if (from < 0 || to <= from) {
            throw new IllegalArgumentException("coarse edge must go from a node to a later one, found " + from
                    + " -> " + to + " carrying '" + value.name() + "'");
        }
    }

    @Override
    public String toString() {
        return from + "->" + to + ":" + value.name();
    }
}
