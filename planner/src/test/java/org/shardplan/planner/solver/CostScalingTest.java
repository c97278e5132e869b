package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Costs whose sums overflow a double are not forbidden pairs. */
class CostScalingTest {
    static final double INF = Double.POSITIVE_INFINITY;

    /** node0 [1e308, 1], node1 [1e308, 1]; edge 0->1 [[1e308, inf], [0, 1e308]]; node2 [1, 2]. */
    static Problem oneFiniteWay() {
        List<Problem.Node> nodes = List.of(new Problem.Node("a", 1e308, 1.0), new Problem.Node("b", 1e308, 1.0),
                new Problem.Node("c", 1.0, 2.0));
        List<Problem.Edge> edges = List.of(Problem.Edge.of(0, 1, new double[][] {{1e308, INF}, {0.0, 1e308}}));
        return new Problem("one-finite-way", nodes, edges);
    }

    @Test
    void finiteCostsNearTheLargestDoubleAreSolvedNotForbidden() {
        Problem p = oneFiniteWay();
        // every total is a sum of two or more 1e308 terms except a=1, b=0, c=0: 1 + 1e308 + 0 + 1 = 1e308
        assertTrue(CostScaling.exponent(p) > 0);
        for (String name : new String[] {"dp", "auto"}) {
            Solution s = CostScaling.solve(Solvers.byName(name), p, Solver.Options.withTimeLimit(60));
            assertEquals(Status.OPTIMAL, s.status(), name + ": " + s.message());
            assertArrayEquals(new int[] {1, 0, 0}, s.choices(), name);
            assertEquals(1.0 + 1e308 + 0.0 + 1.0, s.objective(), 0.0, name);
            assertTrue(s.message().contains("divided by 2^"), s.message());
        }
        // unscaled, the same solver sees only overflowing sums
        Solution raw = new DpSolver().solve(p);
        assertTrue(raw.status() != Status.OPTIMAL || raw.objective() == 1e308, raw.message());
    }

    @Test
    void aBestTotalThatOverflowsIsReportedAsSuch() {
        List<Problem.Node> nodes = new ArrayList<>();
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            nodes.add(new Problem.Node("n" + i, 1e308, 1e308, 1e308));
            if (i > 0) {
                edges.add(Problem.Edge.of(i - 1, i, new double[][] {{1e308, 1e308, 1e308}, {1e308, 1e308, 1e308},
                        {1e308, 1e308, 1e308}}));
            }
        }
        Problem p = new Problem("all-1e308", nodes, edges);
        CostScaling.OverflowException e = assertThrows(CostScaling.OverflowException.class,
                () -> CostScaling.solve(new DpSolver(), p, Solver.Options.withTimeLimit(60)));
        // 19 terms of 1e308 = 1.9e309; scaled by 2^-k to at most 2^1000
        int k = CostScaling.exponent(p);
        assertTrue(19 * Math.scalb(1e308, -k) <= CostScaling.SAFE_TOTAL && 19 * Math.scalb(1e308, -k + 1) > CostScaling.SAFE_TOTAL);
        assertTrue(e.getMessage().contains("divide the costs by 2^" + k), e.getMessage());
    }

    @Test
    void forbiddenPairsStillMakeAProblemInfeasible() {
        List<Problem.Node> nodes = List.of(new Problem.Node("a", 1e308, 1e308), new Problem.Node("b", 1e308, 1e308));
        Problem p = new Problem("forbidden", nodes, List.of(Problem.Edge.of(0, 1, new double[][] {{INF, INF}, {INF, INF}})));
        Solution s = CostScaling.solve(new DpSolver(), p, Solver.Options.withTimeLimit(60));
        assertEquals(Status.INFEASIBLE, s.status());
        assertTrue(s.message().contains("forbidden"), s.message());
    }

    @Test
    void ordinaryProblemsAreLeftAlone() {
        Problem p = new Problem("small", List.of(new Problem.Node("a", 3.0, 5.0)), List.of());
        assertEquals(0, CostScaling.exponent(p));
        Solution s = CostScaling.solve(new DpSolver(), p, Solver.Options.withTimeLimit(60));
        assertEquals(3.0, s.objective(), 0.0);
        assertTrue(!s.message().contains("divided by"), s.message());
    }
}
