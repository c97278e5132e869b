package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DpSolverTest extends SolverContractTest {
    @Override
    Solver solver() {
        return new DpSolver();
    }

    @Override
    boolean exactUnderMemoryLimit() {
        return false;
    }

    @Test
    void refusesTablesOverTheBudgetInsteadOfRunningOutOfMemory() {
        // a dense random graph: eliminating it needs tables over many neighbours
        Problem p = RandomProblems.random(7, 60, 12, 400, 0.0);
        Solution s = new DpSolver().solve(p, new Solver.Options(30, 1L << 20));
        assertEquals(Status.UNKNOWN, s.status(), s.message());
        assertTrue(s.message().contains("budget"), s.message());
    }
}
