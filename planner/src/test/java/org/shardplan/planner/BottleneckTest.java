package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link PipelineSearch#bottleneck}, which skips the stages that cannot lower the best found for an end,
 * against the plain stage-balancing recurrence that prices every stage: the same value, bit for bit, on
 * random node times with costs that grow with a stage's nodes (the step bounds' kind) and costs that do
 * not (any function), with fewer stages priced on the first.
 */
class BottleneckTest {

    /** The least over partitions at the cuts of the largest stage cost, every stage priced: O(P K^2). */
    private static double plain(int n, List<Integer> cuts, int stages, PipelineSearch.StageCost cost, long[] priced) {
        List<Integer> pos = PipelineSearch.cutPositions(n, cuts);
        int k = pos.size();
        double[] prev = new double[k];
        java.util.Arrays.fill(prev, Double.POSITIVE_INFINITY);
        prev[0] = 0;
        for (int s = 1; s <= stages; s++) {
            double[] cur = new double[k];
            java.util.Arrays.fill(cur, Double.POSITIVE_INFINITY);
            for (int j = s; j < k; j++) {
                for (int i = s - 1; i < j; i++) {
                    if (prev[i] != Double.POSITIVE_INFINITY) {
                        priced[0]++;
                        cur[j] = Math.min(cur[j], Math.max(prev[i], cost.of(pos.get(i), pos.get(j))));
                    }
                }
            }
            prev = cur;
        }
        return prev[k - 1];
    }

    /** Cuts strictly inside {@code (0, n)}, each position kept with chance {@code (odds - 1) / odds}. */
    private static List<Integer> randomCuts(Random r, int n, int odds) {
        List<Integer> cuts = new ArrayList<>();
        for (int c = 1; c < n; c++) {
            if (r.nextInt(odds) > 0) {
                cuts.add(c);
            }
        }
        return cuts;
    }

    @Test
    void sameAsEveryStagePriced() {
        Random r = new Random(11);
        long plainPriced = 0;
        long[] fastPriced = {0};
        for (int trial = 0; trial < 300; trial++) {
            int n = 2 + r.nextInt(60);
            List<Integer> cuts = randomCuts(r, n, 3);
            int stages = 1 + r.nextInt(Math.min(n, 12));
            double[] pre = new double[n + 1];
            double[] pf = new double[n + 1];
            for (int i = 0; i < n; i++) {
                double a = r.nextDouble();
                pre[i + 1] = pre[i] + a;
                pf[i + 1] = pf[i] + a * r.nextDouble();
            }
            int m = 1 + r.nextInt(16);
            double[][] noise = new double[n + 1][n + 1];
            for (double[] row : noise) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = r.nextDouble();
                }
            }
            List<PipelineSearch.StageCost> costs = List.of(
                    (i, j) -> pre[i] + m * (pre[j] - pre[i]),
                    (i, j) -> Math.max(pf[i] + m * (pre[j] - pre[i]), pre[i] + m * (pf[j] - pf[i])),
                    (i, j) -> noise[i][j]);
            for (int c = 0; c < costs.size(); c++) {
                PipelineSearch.StageCost cost = costs.get(c);
                long[] p = {0};
                double expected = plain(n, cuts, stages, cost, p);
                PipelineSearch.StageCost counted = (i, j) -> {
                    fastPriced[0]++;
                    return cost.of(i, j);
                };
                long before = fastPriced[0];
                double got = PipelineSearch.bottleneck(n, cuts, stages, c < 2 ? counted : cost);
                assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(got),
                        "trial " + trial + " cost " + c + ": " + expected + " vs " + got);
                if (c < 2) {
                    plainPriced += p[0];
                    assertTrue(fastPriced[0] - before <= p[0]);
                }
            }
        }
        // growing costs: the stages past the balance point are not priced
        assertTrue(fastPriced[0] * 100 < plainPriced * 85, fastPriced[0] + " stages priced, " + plainPriced + " by the plain recurrence");
    }

    @Test
    void theCrossingSearchOfMonotoneCostsGivesTheSameValue() {
        // the step bounds' costs (a prefix plus m times the stage's work), node times with zeros and tiny ones among
        // them: the binary search for the crossing equals every stage priced, bit for bit, with far fewer priced
        Random r = new Random(5);
        long plainPriced = 0;
        long[] fastPriced = {0};
        int searched = 0;
        for (int trial = 0; trial < 400; trial++) {
            int n = 2 + r.nextInt(300);
            List<Integer> cuts = randomCuts(r, n, 4);
            int stages = 1 + r.nextInt(Math.min(n, 64));
            double[] pa = new double[n + 1];
            double[] pf = new double[n + 1];
            double[] pc = new double[n + 1];
            for (int i = 0; i < n; i++) {
                int kind = r.nextInt(10);
                double a = kind == 0 ? 0 : kind == 1 ? 1e-18 * r.nextDouble() : r.nextDouble() * Math.pow(10, -r.nextInt(4));
                pa[i + 1] = pa[i] + a;
                pf[i + 1] = pf[i] + a * r.nextDouble();
                pc[i + 1] = pc[i] + a * (0.5 + 0.5 * r.nextDouble());
            }
            int m = 1 + r.nextInt(64);
            List<Integer> at = PipelineSearch.cutPositions(n, cuts);
            // the check as the search makes it (rounding may refuse a few: those are priced in full)
            boolean[] monotone = {PipelineSearch.fallsWithStart(at, pa, pa, m),
                PipelineSearch.fallsWithStart(at, pf, pa, m) && PipelineSearch.fallsWithStart(at, pc, pc, m)};
            List<PipelineSearch.StageCost> costs = List.of(
                    (i, j) -> pa[i] + m * (pa[j] - pa[i]),
                    (i, j) -> Math.max(pf[i] + m * (pa[j] - pa[i]), pc[i] + m * (pc[j] - pc[i])));
            for (int c = 0; c < costs.size(); c++) {
                if (!monotone[c]) {
                    continue;
                }
                PipelineSearch.StageCost cost = costs.get(c);
                long[] p = {0};
                double expected = plain(n, cuts, stages, cost, p);
                plainPriced += p[0];
                double got = PipelineSearch.bottleneck(n, cuts, stages, (i, j) -> {
                    fastPriced[0]++;
                    return cost.of(i, j);
                }, true);
                assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(got),
                        "trial " + trial + " cost " + c + ": " + expected + " vs " + got);
                searched++;
            }
        }
        assertTrue(searched >= 600, "searched " + searched);
        assertTrue(fastPriced[0] * 5 < plainPriced, fastPriced[0] + " stages priced, " + plainPriced + " by the plain recurrence");
        // costs that rise with the start are not taken for monotone
        double[] up = {0, 1, 2, 3};
        double[] flat = {0, 0.5, 1, 1.5};
        assertTrue(!PipelineSearch.fallsWithStart(List.of(0, 1, 2, 3), up, flat, 1), "the prefix rises faster than the work");
        assertTrue(!PipelineSearch.fallsWithStart(List.of(0, 1, 2, 3), flat, new double[] {0, 1, 0.5, 2}, 4), "a falling work");
    }
}
