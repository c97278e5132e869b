package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class EdgeTest {

    @Test
    void costsFromEitherEndpoint() {
        // 2 layouts at node 3 (rows), 3 at node 7 (columns)
        Problem.Edge e = Problem.Edge.of(3, 7, new double[][] {{1, 2, 3}, {4, 5, 6}});
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, e.costsFrom(3));
        assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, e.costsFrom(7));
        double[] copy = e.costsFrom(3);
        copy[0] = 99;
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, e.costsFrom(3), "a copy, not the edge's own array");
        assertThrows(IllegalArgumentException.class, () -> e.costsFrom(5));
    }
}
