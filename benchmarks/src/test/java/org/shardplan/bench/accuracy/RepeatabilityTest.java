package org.shardplan.bench.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The report's repeatability section ({@link CostAccuracy#repeatability}): the median and 90th percentile of how far a
 * signature's second measurement lies from its first, and whether that 90th percentile leaves room to show the model
 * within the per-node goal.
 */
class RepeatabilityTest {

    /** {@code n} pairs (first, second) whose relative differences are 0, 1, ..., n - 1 times {@code step}. */
    private static List<double[]> pairs(int n, double step) {
        List<double[]> r = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            r.add(new double[] {2.0, 2.0 * (1 + i * step)});
        }
        return r;
    }

    @Test
    void aSetWhoseOwnMeasurementsDisagreeBeyondTheGoalIsSaidToBeUnableToShowIt() {
        // 100 pairs 0..99%: median 49.5%, p90 89%
        String loud = CostAccuracy.repeatability(pairs(100, 0.01), 1);
        assertTrue(loud.contains("median 49.5% and 90th percentile 89.0%"), loud);
        assertTrue(loud.contains("Above the per-node goal's 25.0%"), loud);
        // 100 pairs 0..19.8%: p90 17.8%
        String quiet = CostAccuracy.repeatability(pairs(100, 0.002), 1);
        assertTrue(quiet.contains("90th percentile 17.8%"), quiet);
        assertTrue(quiet.contains("Within the per-node goal's 25.0%"), quiet);
        assertEquals("", CostAccuracy.repeatability(List.of(), 1));
    }

    @Test
    void aWholeModelTimedTwiceIsScoredAgainstItsFasterTimingAndTheReportSaysHowFarApartTheyWere() {
        assertEquals(1.5e-3, CostAccuracy.fastestOfPasses(2.0e-3, 1.5e-3));
        assertEquals(1.5e-3, CostAccuracy.fastestOfPasses(1.5e-3, 2.0e-3));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CostAccuracy.fastestOfPasses(1e-3, Double.NaN));
        // second against first: +10%, -20%, +30%: median 20%, maximum 30%, one of three faster
        String s = CostAccuracy.wholeRepeatability(List.of(new double[] {1.0, 1.1}, new double[] {1.0, 0.8},
                new double[] {2.0, 2.6}));
        assertTrue(s.contains("median 20.0% and maximum 30.0%"), s);
        assertTrue(s.contains("the faster for 1 of 3 cases"), s);
        assertEquals("", CostAccuracy.wholeRepeatability(List.of()));
    }
}
