package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The building blocks of the dynamic program, checked by hand. */
class EliminationPiecesTest {

    @Test
    void identicalRowsAndColumnsShareAClass() {
        // rows 0 and 2 are equal; columns 1 and 2 are equal
        Factor f = Factor.ofMatrix(0, 1, 3, 3, new double[] {1, 5, 5, 2, 7, 7, 1, 5, 5});
        assertArrayEquals(new int[] {0, 1, 0}, f.cls[0]);
        assertArrayEquals(new int[] {0, 1, 1}, f.cls[1]);
        assertArrayEquals(new int[] {2, 2}, f.dims);
        assertEquals(7, f.valueAt(new int[] {1, 2}));
        // oriented by node index: the same matrix given as edge 1 -> 0 is stored transposed
        Factor g = Factor.ofMatrix(1, 0, 3, 3, new double[] {1, 5, 5, 2, 7, 7, 1, 5, 5});
        assertArrayEquals(new int[] {0, 1}, g.vars);
        assertEquals(7, g.valueAt(new int[] {2, 1}));
    }

    @Test
    void parallelTablesAddUp() {
        Factor a = Factor.ofMatrix(0, 1, 2, 2, new double[] {1, 2, 3, 4});
        Factor b = Factor.ofMatrix(1, 0, 2, 2, new double[] {10, 20, 30, 40});
        Factor s = Factor.sum(a, b);
        assertEquals(1 + 10, s.valueAt(new int[] {0, 0}));
        assertEquals(2 + 30, s.valueAt(new int[] {0, 1}));
        assertEquals(3 + 20, s.valueAt(new int[] {1, 0}));
        assertEquals(4 + 40, s.valueAt(new int[] {1, 1}));
    }

    @Test
    void minFillEliminatesLeavesOfAStarBeforeTheHub() {
        // hub 0 with leaves 1..4: any order that keeps the hub to the end creates no fill
        List<int[]> scopes = List.of(new int[] {0, 1}, new int[] {0, 2}, new int[] {0, 3}, new int[] {0, 4});
        EliminationOrder.Plan p = EliminationOrder.choose(new int[] {10, 10, 10, 10, 10}, scopes);
        // the hub goes only once at most one leaf is left (then it is a leaf itself)
        int hubAt = java.util.Arrays.stream(new int[] {0, 1, 2, 3, 4}).filter(i -> p.order()[i] == 0).findFirst().getAsInt();
        assertTrue(hubAt >= 3, "hub eliminated too early in " + java.util.Arrays.toString(p.order()));
        assertEquals(4 * (10 * 10) + 10, p.work(), 0.0);
    }

    @Test
    void minFillOnACycleWithAChordFollowsTheFillThenTheWorkThenTheIndex() {
        // 0-1-2-3-0 plus 0-2, weights 2, 3, 5, 7: nodes 1 and 3 add no fill, node 1 is cheaper
        // (3 x 2 x 5 = 30 against 7 x 2 x 5 = 70); then the triangle 0, 2, 3 ties at 70 and node 0
        // goes by index; then 2 (5 x 7 = 35), then 3 (7): 30 + 70 + 35 + 7 = 142
        List<int[]> scopes = List.of(new int[] {0, 1}, new int[] {1, 2}, new int[] {2, 3}, new int[] {0, 3},
                new int[] {0, 2});
        EliminationOrder.Plan p = EliminationOrder.simulate(new int[] {2, 3, 5, 7}, scopes, "min-fill");
        assertArrayEquals(new int[] {1, 0, 2, 3}, p.order());
        assertEquals(142, p.work(), 0.0);
    }

    @Test
    void dominatedStrategiesAreRemovedAndTiesKeepTheLowestIndex() {
        // node a: strategy 1 costs more than 0 and its edge row is no cheaper -> dominated;
        // strategy 2 equals strategy 0 everywhere -> removed, 0 kept;
        // node b: column 0 (3, 3, 3) is below column 1 (4, 5, 4) at equal cost -> strategy 1 dominated
        Problem p = new Problem("d", List.of(new Problem.Node("a", 1, 2, 1), new Problem.Node("b", 0, 0)),
                List.of(Problem.Edge.of(0, 1, new double[][] {{3, 4}, {3, 5}, {3, 4}})));
        CompiledProblem c = CompiledProblem.of(p);
        assertArrayEquals(new boolean[] {false, true, true}, c.dead[0]);
        assertArrayEquals(new boolean[] {false, true}, c.dead[1]);
        assertEquals(3, c.dominatedRemoved);
    }

    @Test
    void thresholdSortOrdersByValueThenIndex() {
        double[] key = {3, 1, 2, 1, Double.POSITIVE_INFINITY, 0};
        int[] order = new int[6];
        double[] sorted = new double[6];
        VariableElimination.sortByKey(key, order, sorted, 6);
        assertArrayEquals(new int[] {5, 1, 3, 2, 0, 4}, order);
        assertTrue(sorted[5] == Double.POSITIVE_INFINITY);
    }

    @Test
    void thresholdSortEqualsAComparatorSortOnRandomRows() {
        // ties, both zeros, infinities and negative values, at lengths around the insertion-sort cut-off
        double[] pool = {0.0, -0.0, 1.5, -1.5, 2.0, 1e-300, -1e300, Double.POSITIVE_INFINITY, 3.25, 7.0, Double.MIN_VALUE};
        java.util.Random r = new java.util.Random(3);
        for (int trial = 0; trial < 2000; trial++) {
            int n = 1 + r.nextInt(trial % 3 == 0 ? 200 : 40);
            double[] key = new double[n];
            for (int i = 0; i < n; i++) {
                key[i] = r.nextBoolean() ? pool[r.nextInt(pool.length)] : r.nextInt(20) - 5 + r.nextInt(4) * 0.25;
            }
            Integer[] expected = new Integer[n];
            for (int i = 0; i < n; i++) {
                expected[i] = i;
            }
            java.util.Arrays.sort(expected, java.util.Comparator.<Integer>comparingDouble(i -> key[i])
                    .thenComparingInt(i -> i));
            int[] order = new int[n];
            double[] sorted = new double[n];
            VariableElimination.sortByKey(key, order, sorted, n);
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i].intValue(), order[i], "trial " + trial + ", position " + i);
                assertEquals(Double.doubleToLongBits(key[expected[i]]), Double.doubleToLongBits(sorted[i]));
            }
        }
    }
}
