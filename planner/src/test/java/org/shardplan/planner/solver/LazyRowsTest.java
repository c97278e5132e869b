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

    /**
     * A ring with chords whose node costs grow with the strategy's index and whose edge costs fall with it (a small
     * integer noise on top): every assignment costs about the same, so the scans read far into the rows.
     */
    private static Problem opposed(long seed, int n, int maxK) {
        Random r = new Random(seed);
        int[] k = new int[n];
        List<Problem.Node> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            k[i] = maxK / 2 + r.nextInt(maxK / 2 + 1);
            double[] c = new double[k[i]];
            for (int s = 0; s < k[i]; s++) {
                c[s] = 2 * s;
            }
            nodes.add(new Problem.Node("n" + i, c, List.of(), new double[k[i]]));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = i;
            int b = i + 1 < n ? i + 1 : 0;
            for (int chord = 0; chord < (i % 4 == 0 ? 2 : 1); chord++) {
                if (chord == 1) {
                    b = (i + 2 + r.nextInt(Math.max(1, n - 3))) % n;
                }
                if (a == b || (n == 2 && i == 1)) {
                    continue;
                }
                double[] m = new double[k[a] * k[b]];
                for (int x = 0; x < k[a]; x++) {
                    for (int y = 0; y < k[b]; y++) {
                        m[x * k[b] + y] = (k[a] - x) + (k[b] - y) + r.nextInt(3);
                    }
                }
                edges.add(new Problem.Edge(a, b, k[a], k[b], m));
            }
        }
        return new Problem("opposed-" + seed, nodes, edges);
    }

    private static Solution solvePrefixed(Problem p, boolean prefixed) {
        boolean before = VariableElimination.prefixRows;
        VariableElimination.prefixRows = prefixed;
        try {
            return new DpSolver().solve(p, new Solver.Options(60, 1L << 24));
        } finally {
            VariableElimination.prefixRows = before;
        }
    }

    /**
     * Rows sorted only as far as their first {@code VariableElimination.PREFIX} positions, a scan that reads past them
     * sorting the row whole for itself ({@code VariableElimination.prefixRows}), give the same objective and assignment as
     * rows sorted whole first: on graphs with cycles (nodes of two neighbours, one or two factors with the innermost one)
     * of up to 90 strategies a node, integer costs (ties) and real ones.
     */
    @Test
    void prefixAndWholeRowsGiveTheSameAssignments() {
        long prefixedBefore = VariableElimination.PREFIX_ELIMINATIONS.get();
        long wholeBefore = VariableElimination.ROWS_SORTED_WHOLE.get();
        int compared = 0;
        for (long seed = 1; seed <= 200; seed++) {
            int n = 6 + (int) (seed % 30);
            int maxK = 34 + (int) (seed * 13 % 57);
            Problem p = seed % 3 == 0 ? opposed(seed, n, maxK)
                    : RandomProblems.random(seed, n, maxK, 2 + (int) (seed % 6), seed % 9 == 0 ? 0.05 : 0);
            Solution whole = solvePrefixed(p, false);
            Solution prefixed = solvePrefixed(p, true);
            assertEquals(whole.status(), prefixed.status(), "seed " + seed);
            if (!whole.hasChoices()) {
                continue;
            }
            assertEquals(whole.objective(), prefixed.objective(), 0.0, "seed " + seed);
            assertArrayEquals(whole.choices(), prefixed.choices(), "seed " + seed);
            compared++;
        }
        assertTrue(compared > 150, "only " + compared + " problems had an answer");
        assertTrue(VariableElimination.PREFIX_ELIMINATIONS.get() - prefixedBefore > 100, "the prefixed rows were hardly used");
        assertTrue(VariableElimination.ROWS_SORTED_WHOLE.get() - wholeBefore > 0, "no scan read past a row's prefix");
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
