package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeadlineTest {

    @Test
    void nothingIsCheckedWithoutADeadline() {
        assertFalse(Deadline.passed());
        assertTrue(Deadline.get().isEmpty());
        Deadline.check("anything"); // no deadline set: no exception
    }

    @Test
    void aPassedDeadlineStopsTheCheckNamingThePhaseAndScopesRestoreTheOuterOne() {
        long now = System.nanoTime();
        try (Deadline.Scope outer = Deadline.at(now - 1)) {
            assertTrue(Deadline.passed());
            Deadline.Expired e = assertThrows(Deadline.Expired.class, () -> Deadline.check("coarsening the graph"));
            assertEquals("coarsening the graph", e.phase());
            assertEquals("the time limit ran out while coarsening the graph", e.getMessage());
            try (Deadline.Scope answer = Deadline.lifted()) {
                assertFalse(Deadline.passed());
                Deadline.check("assembling the answer");
            }
            try (Deadline.Scope later = Deadline.at(now + 3_600_000_000_000L)) {
                assertFalse(Deadline.passed());
            }
            assertTrue(Deadline.passed(), "the outer deadline is back");
            assertEquals(now - 1, Deadline.get().getAsLong());
        }
        assertTrue(Deadline.get().isEmpty());
    }

    @Test
    void theDeadlineIsPerThread() throws Exception {
        try (Deadline.Scope s = Deadline.at(System.nanoTime() - 1)) {
            boolean[] other = new boolean[1];
            Thread t = new Thread(() -> other[0] = Deadline.passed());
            t.start();
            t.join();
            assertFalse(other[0]);
            assertTrue(Deadline.passed());
        }
    }
}
