package org.shardplan.planner.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StagePartitionTest {

    /**
     * Stage costs from a table {@code c[s][i][j]}; with {@code lazy}, a range answers half its cost (a lower
     * bound) until refined; counts the refinements and the look-ups.
     */
    static class Table implements StagePartition.StageCosts {
        final double[][][] c;
        final boolean lazy;
        final Set<List<Integer>> refined = new HashSet<>();
        int asked;

        Table(double[][][] c, boolean lazy) {
            this.c = c;
            this.lazy = lazy;
        }

        @Override
        public double lowerBound(int from, int to, int stage) {
            return c[stage][from][to] / 4;
        }

        @Override
        public double cost(int from, int to, int stage) {
            asked++;
            return exact(from, to, stage) ? c[stage][from][to] : c[stage][from][to] / 2;
        }

        @Override
        public boolean exact(int from, int to, int stage) {
            return !lazy || refined.contains(List.of(from, to, stage));
        }

        @Override
        public void refine(int from, int to, int stage) {
            refined.add(List.of(from, to, stage));
        }
    }

    /** Segments of times 1, 2, 3, 4; a stage costs the sum of its segments' times, stage 0 {@code first} times that. */
    static double[][][] additive(double first) {
        double[] t = {1, 2, 3, 4};
        double[][][] c = new double[2][5][5];
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 4; i++) {
                double sum = 0;
                for (int j = i + 1; j <= 4; j++) {
                    sum += t[j - 1];
                    c[s][i][j] = (s == 0 ? first : 1) * sum;
                }
            }
        }
        return c;
    }

    @Test
    void theObjectiveIsTheSumPlusTheSlowestTimesTheOtherMicroBatches() {
        // m = 3: {1 | 2 3 4} = 10 + 2 * 9 = 28; {1 2 | 3 4} = 10 + 2 * 7 = 24; {1 2 3 | 4} = 10 + 2 * 6 = 22
        StagePartition.Result r = StagePartition.solve(4, 2, 3, new Table(additive(1), false), Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 3, 4}, r.best().orElseThrow().bounds());
        assertEquals(10 + 2 * 6, r.best().get().objective(), 1e-12);
        assertEquals(10, r.best().get().sum(), 1e-12);
        assertEquals(6, r.best().get().slowest(), 1e-12);
        // stage 0 twice as dear: {1 | ..} = 2 + 9 + 2 * 9 = 29; {1 2 | 3 4} = 6 + 7 + 2 * 7 = 27; {1 2 3 | 4} = 12 + 4 + 2 * 12 = 40
        r = StagePartition.solve(4, 2, 3, new Table(additive(2), false), Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 2, 4}, r.best().orElseThrow().bounds());
        assertEquals(6 + 7 + 2 * 7, r.best().get().objective(), 1e-12);
        // one micro-batch: the least sum, 2 + 9 = 11 ({1 | 2 3 4})
        r = StagePartition.solve(4, 2, 1, new Table(additive(2), false), Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 1, 4}, r.best().orElseThrow().bounds());
        assertEquals(2 + 9, r.best().get().objective(), 1e-12);
    }

    @Test
    void aStageThatCannotBeIsAvoidedAndNoneLeavesNoPartition() {
        double[][][] c = additive(2);
        c[0][0][2] = Double.POSITIVE_INFINITY; // {1 2 | 3 4} cannot be: next best {1 | 2 3 4} = 29
        StagePartition.Result r = StagePartition.solve(4, 2, 3, new Table(c, false), Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 1, 4}, r.best().orElseThrow().bounds());
        assertEquals(2 + 9 + 2 * 9, r.best().get().objective(), 1e-12);
        c[0][0][1] = Double.POSITIVE_INFINITY;
        c[0][0][3] = Double.POSITIVE_INFINITY;
        assertTrue(StagePartition.solve(4, 2, 3, new Table(c, false), Double.POSITIVE_INFINITY, 4).best().isEmpty());
        assertThrows(IllegalArgumentException.class, () -> StagePartition.solve(2, 3, 1, new Table(c, false), 1, 0));
    }

    @Test
    void lazyCostsAreRefinedWhereTheOptimumNeedsThem() {
        Table t = new Table(additive(2), true);
        StagePartition.Result r = StagePartition.solve(4, 2, 3, t, Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 2, 4}, r.best().orElseThrow().bounds());
        assertEquals(6 + 7 + 2 * 7, r.best().get().objective(), 1e-12);
        assertTrue(t.refined.contains(List.of(0, 2, 0)) && t.refined.contains(List.of(2, 4, 1)), "" + t.refined);
        // the partitions returned are all exact
        for (StagePartition.Partition p : r.partitions()) {
            for (int s = 0; s < 2; s++) {
                assertTrue(t.exact(p.bounds()[s], p.bounds()[s + 1], s), p.toString());
            }
        }
    }

    /**
     * Costs by a range's length alone, one solve shared by every range of that length (as the exact partition
     * shares a stage solve between ranges of the same shape): lengths 1 and 2 cost 1 and 3, exact; length 3
     * answers 1 (a lower bound) until any range of length 3 is refined, then 10 for all of them.
     */
    static class SharedByLength implements StagePartition.StageCosts {
        boolean longSolved;
        int refinements;

        @Override
        public double lowerBound(int from, int to, int stage) {
            return 0.5;
        }

        @Override
        public double cost(int from, int to, int stage) {
            return switch (to - from) {
                case 1 -> 1;
                case 2 -> 3;
                default -> longSolved ? 10 : 1;
            };
        }

        @Override
        public boolean exact(int from, int to, int stage) {
            return to - from < 3 || longSolved;
        }

        @Override
        public void refine(int from, int to, int stage) {
            refinements++;
            longSolved = true;
        }
    }

    @Test
    void aRangeMadeExactByAnotherRangesRefinementIsCostedAgain() {
        // m = 3 over 4 segments: {1 | 3} and {3 | 1} look 1 + 1 + 2 * 1 = 4 until a range of length 3 is refined,
        // and are 1 + 10 + 2 * 10 = 31 after, which makes it both; {2 | 2} is 3 + 3 + 2 * 3 = 12, the optimum.
        // Refining one of the two made the other exact at its old cost: it must not come back as the optimum at 4
        SharedByLength costs = new SharedByLength();
        StagePartition.Result r = StagePartition.solve(4, 2, 3, costs, Double.POSITIVE_INFINITY, 4);
        assertArrayEquals(new int[] {0, 2, 4}, r.best().orElseThrow().bounds());
        assertEquals(12, r.best().get().objective(), 1e-12);
        assertEquals(1, costs.refinements);
        // the runners-up carry their objectives as they are now, in order
        for (StagePartition.Partition p : r.partitions().subList(1, r.partitions().size())) {
            assertEquals(31, p.objective(), 1e-12, p.toString());
        }
    }

    @Test
    void eachRoundsOptimumIsToldBeforeItsRangesAreRefinedSoThatAnOracleThatStopsKeepsThem() {
        // the first round's optimum (4 by the costs taken) is told before its range of length 3 is refined, the
        // second (the other partition with a stage of length 3, 4 by its stale cost) before that cost is taken
        // again, then {2 | 2}; an oracle that stops at its first refinement (a budget of solves) has the first already
        List<int[]> told = new ArrayList<>();
        StagePartition.Result r = StagePartition.solve(4, 2, 3, new SharedByLength(), Double.POSITIVE_INFINITY, 4, told::add);
        assertEquals(3, told.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(3, Math.max(told.get(i)[1], 4 - told.get(i)[1]), "a stage of length 3 in round " + i);
        }
        assertArrayEquals(r.best().orElseThrow().bounds(), told.get(2));
        // the earlier rounds' optima, exact by the end, are among the runners-up at their objectives as they are now
        for (int i = 0; i < 2; i++) {
            int[] x = told.get(i);
            assertTrue(r.partitions().stream().anyMatch(p -> java.util.Arrays.equals(p.bounds(), x) && p.objective() == 31),
                    "" + r.partitions());
        }
        List<int[]> before = new ArrayList<>();
        SharedByLength stopping = new SharedByLength() {
            @Override
            public void refine(int from, int to, int stage) {
                throw new IllegalStateException("out of solves");
            }
        };
        assertThrows(IllegalStateException.class,
                () -> StagePartition.solve(4, 2, 3, stopping, Double.POSITIVE_INFINITY, 4, before::add));
        assertEquals(1, before.size());
        assertArrayEquals(told.get(0), before.get(0));
    }

    @Test
    void anUpperBoundSavesLookUpsAndKeepsTheOptimum() {
        // 12 segments of time 1 on 3 stages, m = 8: 4 + 4 + 4 = 12 + 7 * 4 = 40 (the balanced partition)
        int k = 12;
        double[][][] c = new double[3][k + 1][k + 1];
        for (double[][] cs : c) {
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j <= k; j++) {
                    cs[i][j] = j - i;
                }
            }
        }
        Table all = new Table(c, false);
        Table bounded = new Table(c, false);
        StagePartition.Result a = StagePartition.solve(k, 3, 8, all, Double.POSITIVE_INFINITY, 0);
        StagePartition.Result b = StagePartition.solve(k, 3, 8, bounded, 40, 0);
        assertEquals(12 + 7 * 4, a.best().orElseThrow().objective(), 1e-12);
        assertEquals(12 + 7 * 4, b.best().orElseThrow().objective(), 1e-12);
        // with U = 40 the slowest stage costs at most min(40 / 8, (40 - 12 / 4) / 7) = 5 (12 / 4: the least
        // sum of lower bounds, a quarter of each cost); a lower bound of a quarter rules out no range of 12
        // segments, so every range is asked for, as without a bound
        assertEquals(a.solved(), b.solved());
        // with the exact costs as lower bounds: at most min(40 / 8, (40 - 12) / 7) = 4 per stage, which leaves
        // only [0, 4), [4, 8) and [8, 12) coverable: three look-ups
        Table tight = new Table(c, false) {
            @Override
            public double lowerBound(int from, int to, int stage) {
                return c[stage][from][to];
            }
        };
        StagePartition.Result t = StagePartition.solve(k, 3, 8, tight, 40, 0);
        assertEquals(12 + 7 * 4, t.best().orElseThrow().objective(), 1e-12);
        assertEquals(3, t.solved());
        // and without the bound every (stage, range) that leaves each other stage a segment: for stage 0 the
        // ranges [0, j), j <= 10; stage 1 [i, j), 1 <= i < j <= 11; stage 2 [i, 12), 2 <= i <= 11
        assertEquals(10 + 11 * 10 / 2 + 10, a.solved());
    }

    /** Every partition, by brute force: the least objective. */
    static double brute(double[][][] c, int k, int p, int m) {
        double best = Double.POSITIVE_INFINITY;
        List<int[]> all = new ArrayList<>();
        choose(new int[p + 1], 1, 1, k, p, all);
        for (int[] b : all) {
            double sum = 0;
            double max = 0;
            for (int s = 0; s < p; s++) {
                double x = c[s][b[s]][b[s + 1]];
                sum += x;
                max = Math.max(max, x);
            }
            if (max < Double.POSITIVE_INFINITY) {
                best = Math.min(best, sum + (m - 1) * max);
            }
        }
        return best;
    }

    static void choose(int[] at, int s, int lo, int k, int p, List<int[]> out) {
        at[p] = k;
        if (s == p) {
            out.add(at.clone());
            return;
        }
        for (int x = lo; x <= k - (p - s); x++) {
            at[s] = x;
            choose(at, s + 1, x + 1, k, p, out);
        }
    }

    @Test
    void randomTablesMatchBruteForce() {
        Random rnd = new Random(7);
        int cases = 0;
        for (int trial = 0; trial < 300; trial++) {
            int k = 2 + rnd.nextInt(7);
            int p = 1 + rnd.nextInt(Math.min(4, k));
            int m = 1 + rnd.nextInt(6);
            double[][][] c = new double[p][k + 1][k + 1];
            for (int s = 0; s < p; s++) {
                for (int i = 0; i < k; i++) {
                    for (int j = i + 1; j <= k; j++) {
                        c[s][i][j] = rnd.nextInt(10) == 0 ? Double.POSITIVE_INFINITY : 1 + rnd.nextInt(20) * (j - i);
                    }
                }
            }
            double want = brute(c, k, p, m);
            boolean lazy = rnd.nextBoolean();
            // an upper bound: the optimum itself, a looser one, or none
            double upper = switch (rnd.nextInt(3)) {
                case 0 -> want;
                case 1 -> want * 1.5;
                default -> Double.POSITIVE_INFINITY;
            };
            StagePartition.Result r = StagePartition.solve(k, p, m, new Table(c, lazy), upper, 3);
            String what = "trial " + trial + ": K=" + k + " P=" + p + " m=" + m + " lazy=" + lazy + " upper=" + upper;
            if (want == Double.POSITIVE_INFINITY) {
                assertTrue(r.best().isEmpty(), what);
                continue;
            }
            assertTrue(r.best().isPresent(), what + ": none found, brute force " + want);
            assertEquals(want, r.best().get().objective(), 1e-9 * want, what);
            // the objective reported is the partition's
            int[] b = r.best().get().bounds();
            double sum = 0;
            double max = 0;
            for (int s = 0; s < p; s++) {
                sum += c[s][b[s]][b[s + 1]];
                max = Math.max(max, c[s][b[s]][b[s + 1]]);
            }
            assertEquals(sum + (m - 1) * max, want, 1e-9 * want, what);
            cases++;
        }
        assertTrue(cases > 200, "feasible cases " + cases);
    }
    /** A table that records the ranges whose cost was asked for. */
    static final class Recording extends Table {
        final Set<List<Integer>> costed = new HashSet<>();

        Recording(double[][][] c, boolean lazy) {
            super(c, lazy);
        }

        final Set<List<Integer>> announced = new HashSet<>();
        int announcements;

        @Override
        public double cost(int from, int to, int stage) {
            costed.add(List.of(stage, from, to));
            return super.cost(from, to, stage);
        }

        @Override
        public void willCost(List<int[]> ranges) {
            announcements++;
            for (int[] x : ranges) {
                announced.add(List.of(x[0], x[1], x[2]));
            }
        }
    }

    @Test
    void theCertainRangesOfTwoStagesByHand() {
        // segments 1, 2, 3, 4, lower bounds a quarter of the sums: every partition's lower bounds sum to 10 / 4 =
        // 2.5; the least largest lower bound is {1 2 3 | 4}'s 6 / 4 = 1.5; so no objective is below 2.5 + 2 * 1.5 =
        // 5.5 (m = 3) and the cap is min(5.5 / 3, (5.5 - 2.5) / 2) = 1.5, a sum of at most 6 per stage: stage 0 is
        // [0, 3) (its rest, 4, within the cap; [0, 1) and [0, 2) leave 9 and 7), stage 1 is [3, 4)
        List<int[]> r = StagePartition.certainRanges(4, 2, 3, new Table(additive(1), false));
        assertEquals(2, r.size());
        assertArrayEquals(new int[] {0, 0, 3}, r.get(0));
        assertArrayEquals(new int[] {1, 3, 4}, r.get(1));
        // and solve asks for both, whatever the upper bound it is given
        for (double upper : new double[] {22, 28, Double.POSITIVE_INFINITY}) {
            Recording t = new Recording(additive(1), true);
            StagePartition.solve(4, 2, 3, t, upper, 4);
            assertTrue(t.costed.contains(List.of(0, 0, 3)) && t.costed.contains(List.of(1, 3, 4)), "" + t.costed);
        }
    }

    @Test
    void solveAsksForTheCostOfEveryCertainRange() {
        Random rnd = new Random(11);
        int nonEmpty = 0;
        for (int trial = 0; trial < 400; trial++) {
            int k = 2 + rnd.nextInt(9);
            int p = 1 + rnd.nextInt(Math.min(5, k));
            int m = 1 + rnd.nextInt(8);
            double[][][] c = new double[p][k + 1][k + 1];
            for (int s = 0; s < p; s++) {
                for (int i = 0; i < k; i++) {
                    for (int j = i + 1; j <= k; j++) {
                        c[s][i][j] = rnd.nextInt(12) == 0 ? Double.POSITIVE_INFINITY : 1 + rnd.nextInt(20) * (j - i);
                    }
                }
            }
            double want = brute(c, k, p, m);
            boolean lazy = rnd.nextBoolean();
            // upper bounds a caller may give: the optimum, a partition's objective above it, a looser number, none
            double upper = switch (rnd.nextInt(4)) {
                case 0 -> want;
                case 1 -> want * 1.25;
                case 2 -> want * 3;
                default -> Double.POSITIVE_INFINITY;
            };
            List<int[]> certain = StagePartition.certainRanges(k, p, m, new Table(c, lazy));
            Recording t = new Recording(c, lazy);
            StagePartition.solve(k, p, m, t, upper, 3);
            String what = "trial " + trial + ": K=" + k + " P=" + p + " m=" + m + " lazy=" + lazy + " upper=" + upper;
            for (int[] x : certain) {
                assertTrue(t.costed.contains(List.of(x[0], x[1], x[2])), what + ": range " + java.util.Arrays.toString(x)
                        + " not asked for");
                assertTrue(t.announced.contains(List.of(x[0], x[1], x[2])), what + ": range " + java.util.Arrays.toString(x)
                        + " not announced");
            }
            // every range announced is then costed (the announcement is what a budget is checked against)
            assertTrue(t.costed.containsAll(t.announced), what);
            assertTrue(t.announcements <= 1, what);
            if (!certain.isEmpty()) {
                nonEmpty++;
            }
        }
        assertTrue(nonEmpty > 300, "trials with certain ranges " + nonEmpty);
    }
}
