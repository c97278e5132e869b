package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CyclesTest {

    @Test
    void acyclicGraphsHaveNone() {
        // a diamond 0 -> {1, 2} -> 3
        assertTrue(Cycles.find(List.of(List.of(1, 2), List.of(3), List.of(3), List.of())).isEmpty());
    }

    @Test
    void theShortestCycleThroughTheLowestVertexOnOneIsReported() {
        // 0 -> 1 -> 2 -> 3 -> 0 and 0 -> 4 -> 0; 5 is downstream of the cycles, 6 -> 7 -> 6 another component
        List<List<Integer>> succ = List.of(List.of(1, 4), List.of(2), List.of(3, 5), List.of(0), List.of(0),
                List.of(), List.of(7), List.of(6));
        assertEquals(List.of(0, 4, 0), Cycles.find(succ).orElseThrow());
        // without 4's edge back, the long cycle is the only one through 0
        List<List<Integer>> longer = List.of(List.of(1, 4), List.of(2), List.of(3, 5), List.of(0), List.of(),
                List.of(), List.of(7), List.of(6));
        assertEquals(List.of(0, 1, 2, 3, 0), Cycles.find(longer).orElseThrow());
        // a component that does not contain vertex 0
        assertEquals(List.of(6, 7, 6), Cycles.find(List.of(List.of(1), List.of(), List.of(), List.of(), List.of(),
                List.of(), List.of(7), List.of(6))).orElseThrow());
    }

    @Test
    void aSelfLoopIsACycleOfOne() {
        assertEquals(List.of(2, 2), Cycles.find(List.of(List.of(1), List.of(2), List.of(2))).orElseThrow());
    }
}
