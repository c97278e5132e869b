package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AutoSolverTest extends SolverContractTest {
    @Override
    Solver solver() {
        return new AutoSolver();
    }

    @ParameterizedTest
    @ValueSource(longs = {41, 42, 43, 44, 45, 46})
    void dpAndIlpAgreeOnMediumProblems(long seed) {
        Problem p = RandomProblems.random(seed, 40, 10, 20, seed % 2 == 0 ? 0.05 : 0.0);
        Solution dp = new DpSolver().solve(p);
        Solution ilp = new IlpSolver().solve(p);
        assertEquals(dp.status(), ilp.status(), dp.message() + " / " + ilp.message());
        if (dp.status() == Status.OPTIMAL) {
            assertEquals(dp.objective(), ilp.objective(), 1e-9 * Math.max(1, Math.abs(dp.objective())));
            assertValid(p, dp);
            assertValid(p, ilp);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {51, 52, 53})
    void dpAndIlpAgreeUnderMemoryLimits(long seed) {
        Problem p = RandomProblems.withLimit(RandomProblems.random(seed, 30, 8, 10, 0.0), 0.3);
        Solution auto = new AutoSolver().solve(p);
        Solution ilp = new IlpSolver().solve(p);
        assertEquals(Status.OPTIMAL, auto.status(), auto.message());
        assertEquals(ilp.objective(), auto.objective(), 1e-9 * Math.max(1, Math.abs(ilp.objective())));
        assertValid(p, auto);
    }

    @org.junit.jupiter.api.Test
    void fallsBackWhenTheDpDoesNotFitAndReturnsAValidAnswer() {
        Problem p = RandomProblems.random(7, 60, 12, 400, 0.0);
        Solution s = new AutoSolver().solve(p, new Solver.Options(3, 1L << 20));
        assertTrue(s.status() == Status.OPTIMAL || s.status() == Status.FEASIBLE, s.message());
        assertValid(p, s);
        assertTrue(s.message().contains("budget") || s.message().contains("elimination not started"), s.message());
    }
}
