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
        // the width check does not start an elimination estimated at 10^17 s; the answer is the LP-bound
        // pruning's assignment with its bound
        assertEquals(Status.FEASIBLE, s.status(), s.message());
        assertTrue(s.message().contains("elimination not started"), s.message());
        assertEquals(Evaluator.objective(p, s.choices()), s.objective(), 1e-9);
        assertTrue(Double.isFinite(s.lowerBound()) && s.lowerBound() <= s.objective(), s.lowerBound() + " > " + s.objective());
        // a sparser graph whose elimination is started runs into the budget, and the same answer stands
        Problem q = RandomProblems.random(7, 60, 12, 90, 0.0);
        Solution t = new DpSolver().solve(q, new Solver.Options(30, 1L << 10));
        assertTrue(t.message().contains("budget") || t.status() == Status.OPTIMAL, t.message());
        assertTrue(t.hasChoices(), t.message());
        assertEquals(Evaluator.objective(q, t.choices()), t.objective(), 1e-9);
    }
}
