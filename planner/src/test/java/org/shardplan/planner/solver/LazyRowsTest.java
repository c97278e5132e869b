package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The rows of a node's one factor with its one neighbour sorted only as far as each scan reads them
 * ({@code VariableElimination.lazyRowSort}) give the dynamic program the same answer as rows sorted whole: the same
 * objective and the same assignment, ties (integer costs, repeated rows and columns) broken the same way.
 */
class LazyRowsTest {

    private static Solution solve(Problem p, boolean lazy) {
        boolean before = VariableElimination.lazyRowSort;
        VariableElimination.lazyRowSort = lazy;
        try {
            return new DpSolver().solve(p, new Solver.Options(60, 1L << 24));
        } finally {
            VariableElimination.lazyRowSort = before;
        }
    }

    @Test
    void lazyAndWholeRowsGiveTheSameAssignments() {
        int compared = 0;
        long lazyBefore = VariableElimination.LAZY_ELIMINATIONS.get();
        for (long seed = 1; seed <= 300; seed++) {
            // trees and chains (every elimination has one neighbour) with up to 40 strategies a node, so that the rows
            // are long enough for a scan to stop early or to read past 16 positions; a few with extra edges
            int n = 5 + (int) (seed % 60);
            int maxK = 2 + (int) (seed * 7 % 40);
            Problem p = RandomProblems.random(seed, n, maxK, seed % 5 == 0 ? 3 : 0, seed % 7 == 0 ? 0.1 : 0);
            Solution whole = solve(p, false);
            Solution lazy = solve(p, true);
            assertEquals(whole.status(), lazy.status(), "seed " + seed);
            if (!whole.hasChoices()) {
                continue;
            }
            assertEquals(whole.objective(), lazy.objective(), 0.0, "seed " + seed);
            assertArrayEquals(whole.choices(), lazy.choices(), "seed " + seed);
            compared++;
        }
        assertTrue(compared > 250, "only " + compared + " problems had an answer");
        assertTrue(VariableElimination.LAZY_ELIMINATIONS.get() - lazyBefore > 1000, "the lazy rows were hardly used");
    }

    @Test
    void rowsWithManyEqualValuesBreakTiesAsTheWholeSortDoes() {
        // a chain whose edge matrices take two values only and whose node costs are all equal: every scan meets ties
        Random r = new Random(7);
        for (int trial = 0; trial < 40; trial++) {
            int n = 4 + r.nextInt(20);
            int k = 17 + r.nextInt(30);
            List<Problem.Node> nodes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                double[] c = new double[k];
                for (int s = 0; s < k; s++) {
                    c[s] = trial % 2 == 0 ? 1 : r.nextInt(3);
                }
                nodes.add(new Problem.Node("n" + i, c, List.of(), new double[k]));
            }
            List<Problem.Edge> edges = new ArrayList<>();
            for (int i = 1; i < n; i++) {
                double[] m = new double[k * k];
                for (int x = 0; x < m.length; x++) {
                    m[x] = r.nextBoolean() ? 0 : 5;
                }
                edges.add(new Problem.Edge(i - 1, i, k, k, m));
            }
            Problem p = new Problem("ties-" + trial, nodes, edges);
            Solution whole = solve(p, false);
            Solution lazy = solve(p, true);
            assertEquals(whole.objective(), lazy.objective(), 0.0, "trial " + trial);
            assertArrayEquals(whole.choices(), lazy.choices(), "trial " + trial);
        }
    }
}
