package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FloorProgramTest {

    /** A random problem: node costs and resources, pairs on a chain plus a few chords. */
    private record Instance(double[][] cost, double[][] resource, List<FloorProgram.Pair> pairs) {
    }

    private static Instance random(Random rnd, int n) {
        double[][] cost = new double[n][];
        double[][] res = new double[n][];
        for (int i = 0; i < n; i++) {
            int d = 1 + rnd.nextInt(3);
            cost[i] = new double[d];
            res[i] = new double[d];
            for (int s = 0; s < d; s++) {
                cost[i][s] = rnd.nextInt(50);
                res[i][s] = rnd.nextInt(20);
            }
        }
        List<FloorProgram.Pair> pairs = new ArrayList<>();
        for (int i = 0; i + 1 < n; i++) {
            pairs.add(pair(rnd, cost, i + 1, i)); // written from the later node: the table is transposed inside
        }
        for (int c = 0; c < n / 3; c++) {
            int a = rnd.nextInt(n);
            int b = rnd.nextInt(n);
            pairs.add(pair(rnd, cost, a, b)); // a == b folds into the node's own costs
        }
        return new Instance(cost, res, pairs);
    }

    private static FloorProgram.Pair pair(Random rnd, double[][] cost, int a, int b) {
        double[] t = new double[cost[a].length * cost[b].length];
        for (int k = 0; k < t.length; k++) {
            t[k] = rnd.nextInt(30);
        }
        return new FloorProgram.Pair(a, b, t);
    }

    /** The least cost over all assignments reaching {@code floor} (infinity where none does), by enumeration. */
    private static double brute(Instance p, double floor) {
        int n = p.cost().length;
        int[] x = new int[n];
        double best = Double.POSITIVE_INFINITY;
        while (true) {
            double r = 0;
            for (int i = 0; i < n; i++) {
                r += p.resource()[i][x[i]];
            }
            if (r >= floor) {
                best = Math.min(best, cost(p, x));
            }
            int i = 0;
            while (i < n && ++x[i] == p.cost()[i].length) {
                x[i++] = 0;
            }
            if (i == n) {
                return best;
            }
        }
    }

    private static double cost(Instance p, int[] x) {
        double c = 0;
        for (int i = 0; i < x.length; i++) {
            c += p.cost()[i][x[i]];
        }
        for (FloorProgram.Pair q : p.pairs()) {
            if (q.a() == q.b()) {
                c += q.cost()[x[q.a()] * p.cost()[q.a()].length + x[q.a()]];
            } else {
                c += q.cost()[x[q.a()] * p.cost()[q.b()].length + x[q.b()]];
            }
        }
        return c;
    }

    @Test
    void findsTheLeastCostThatReachesTheFloorOnRandomGraphs() {
        Random rnd = new Random(11);
        int reached = 0;
        int bound = 0;
        for (int trial = 0; trial < 300; trial++) {
            Instance p = random(rnd, 2 + rnd.nextInt(9));
            double most = 0;
            for (double[] r : p.resource()) {
                most += java.util.Arrays.stream(r).max().orElse(0);
            }
            double floor = rnd.nextInt((int) most + 3);
            double want = brute(p, floor);
            FloorProgram.Result got = FloorProgram.solve(p.cost(), p.resource(), p.pairs(), floor, 1000, Long.MAX_VALUE);
            if (Double.isInfinite(want)) {
                assertNull(got, "no assignment reaches " + floor);
                continue;
            }
            assertNotNull(got, "trial " + trial);
            assertTrue(got.exact());
            assertEquals(want, got.cost(), 1e-9, "trial " + trial);
            assertEquals(cost(p, got.choices()), got.cost(), 1e-9);
            assertTrue(got.resource() >= floor);
            reached++;
            if (brute(p, 0) < want) {
                bound++; // the floor binds: the unconstrained optimum does not reach it
            }
        }
        assertTrue(reached > 150 && bound > 50, reached + " reached, " + bound + " where the floor binds");
    }

    @Test
    void thinnedFrontiersStillAnswerAnAssignmentThatReachesTheFloor() {
        Random rnd = new Random(5);
        int thinned = 0;
        for (int trial = 0; trial < 100; trial++) {
            Instance p = random(rnd, 10);
            double floor = 40;
            double want = brute(p, floor);
            FloorProgram.Result got = FloorProgram.solve(p.cost(), p.resource(), p.pairs(), floor, 2, Long.MAX_VALUE);
            if (got == null) {
                continue; // thinning may lose every assignment that reaches it; never answers one that does not
            }
            thinned += got.exact() ? 0 : 1;
            assertTrue(got.resource() >= floor);
            assertTrue(got.cost() >= want - 1e-9);
            assertEquals(cost(p, got.choices()), got.cost(), 1e-9);
        }
        assertTrue(thinned > 20, thinned + " thinned");
    }

    @Test
    void givesUpWhenItsTimeRunsOut() {
        // 150 nodes on a chain with chords: the frontiers grow to hundreds of points, past the 100,000 points combined between looks
        // at the deadline
        Instance p = random(new Random(9), 150);
        FloorProgram.Result all = FloorProgram.solve(p.cost(), p.resource(), p.pairs(), 600, 1000, Long.MAX_VALUE,
                () -> false);
        assertNotNull(all);
        assertTrue(all.resource() >= 600);
        assertNull(FloorProgram.solve(p.cost(), p.resource(), p.pairs(), 600, 1000, Long.MAX_VALUE, () -> true));
    }

    @Test
    void givesUpPastItsWorkWhateverTheTime() {
        Instance p = random(new Random(3), 10);
        FloorProgram.Result all = FloorProgram.solve(p.cost(), p.resource(), p.pairs(), 30, 1000, Long.MAX_VALUE);
        assertNotNull(all);
        assertNull(FloorProgram.solve(p.cost(), p.resource(), p.pairs(), 30, 1000, 10));
        FloorProgram.Result again = FloorProgram.solve(p.cost(), p.resource(), p.pairs(), 30, 1000, Long.MAX_VALUE);
        assertArrayEquals(all.choices(), again.choices());
        assertFalse(all.choices().length == 0);
    }
}
