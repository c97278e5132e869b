package org.shardplan.planner.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The closed forms on hand-checkable examples, and the shape checks. */
class SchedulesTest {

    private static final double EPS = 1e-9;

    /** {@code p} equal stages. */
    static List<StageProfile> balanced(int p, double f, double b, double w, double send, double sync, double statics,
            double act) {
        List<StageProfile> stages = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            stages.add(new StageProfile(f, b, w, send, sync, statics, act));
        }
        return stages;
    }

    static List<StageProfile> balanced(int p, double f, double b) {
        return balanced(p, f, b, 0, 0, 0, 0, 0);
    }

    @Test
    void namesAreTheDocumentedSpellingsAndUnknownNamesListTheValidOnes() {
        assertEquals(List.of("none", "gpipe", "1f1b", "interleaved", "zero-bubble", "amp"), Schedules.names());
        for (String name : Schedules.names()) {
            assertEquals(name, Schedules.of(name).name());
            // only the asynchronous amp changes the training math
            assertEquals(!name.equals("amp"), Schedules.of(name).exact());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Schedules.of("pipedream"));
        assertEquals("schedule must be one of none, gpipe, 1f1b, interleaved, zero-bubble, amp, found pipedream",
                e.getMessage());
    }

    @Test
    void gpipeAnd1f1bTakeMPlusPMinusOneSlotsOnBalancedStages() {
        // p = 4, m = 8, f = 1, b = 2: (8 + 4 - 1) slots of f + b.
        for (String name : List.of("gpipe", "1f1b")) {
            Estimate e = Schedules.of(name).estimate(balanced(4, 1, 2), 8, 1);
            assertEquals((8 + 3) * 3, e.stepSeconds(), EPS, name);
            // Each device computes 8 * 3 = 24 of 33 seconds; idle over busy is (p - 1)/m = 3/8.
            assertEquals(1 - 24.0 / 33, e.bubbleFraction(), EPS, name);
            assertEquals(3.0 / 8, e.bubbleOverhead(), EPS, name);
        }
    }

    @Test
    void gpipeIsExactWithUnbalancedStagesAndTransfers() {
        // f = (1, 3, 2), b = (2, 1, 4), sends 0.5 and 4 (the second link is slower than any stage), m = 4.
        List<StageProfile> stages = List.of(new StageProfile(1, 2, 0, 0.5, 0, 0, 0),
                new StageProfile(3, 1, 0, 4, 0, 0, 0), new StageProfile(2, 4, 0, 0, 0, 0, 0));
        // Forward flow shop over 1, 0.5, 3, 4, 2: sum 10.5 plus 3 more of the slowest machine (the link, 4).
        double forward = 10.5 + 3 * 4;
        // Backward flow shop from stage 2 to stage 0 over 4, 4, 1, 0.5, 2: sum 11.5 plus 3 * 4.
        Estimate e = new GPipe().estimate(stages, 4, 1);
        assertEquals(forward + 11.5 + 3 * 4, e.stepSeconds(), EPS);
    }

    @Test
    void oneFOneBHoldsMinOfPMinusSAndMMicroBatchesWhereGPipeHoldsM() {
        List<StageProfile> stages = balanced(4, 1, 2, 0, 0, 0, 10, 3);
        Estimate gpipe = new GPipe().estimate(stages, 8, 1);
        Estimate oneF = new OneFOneB().estimate(stages, 8, 1);
        assertArrayEquals(new int[] {8, 8, 8, 8}, gpipe.microBatchesInFlight());
        assertArrayEquals(new double[] {10 + 8 * 3, 10 + 8 * 3, 10 + 8 * 3, 10 + 8 * 3}, gpipe.peakMemoryBytes(), EPS);
        assertArrayEquals(new int[] {4, 3, 2, 1}, oneF.microBatchesInFlight());
        assertArrayEquals(new double[] {10 + 4 * 3, 10 + 3 * 3, 10 + 2 * 3, 10 + 1 * 3}, oneF.peakMemoryBytes(), EPS);
        // Fewer micro-batches than stages: min(p - s, m).
        assertArrayEquals(new int[] {2, 2, 2, 1}, new OneFOneB().estimate(stages, 2, 1).microBatchesInFlight());
        assertEquals(10 + 4 * 3, oneF.maxPeakMemoryBytes(), EPS);
    }

    @Test
    void interleavingDividesTheBubbleByV() {
        // p = 4, m = 8, v = 2; the same model as 1F1B's f = 1, b = 2 per stage, cut into chunks of 0.5 and 1.
        Estimate e = new Interleaved1F1B().estimate(balanced(8, 0.5, 1), 8, 2);
        assertEquals((8 * 2 + 3) * 1.5, e.stepSeconds(), EPS);
        assertEquals(3.0 / (2 * 8), e.bubbleOverhead(), EPS); // (p - 1)/(v m)
        assertTrue(e.stepSeconds() < new OneFOneB().estimate(balanced(4, 1, 2), 8, 1).stepSeconds());
        // v = 4: (8 * 4 + 3) slots of 0.25 + 0.5.
        Estimate four = new Interleaved1F1B().estimate(balanced(16, 0.25, 0.5), 8, 4);
        assertEquals((8 * 4 + 3) * 0.75, four.stepSeconds(), EPS);
        assertEquals(3.0 / (4 * 8), four.bubbleOverhead(), EPS);
    }

    @Test
    void interleavedWarmUpIsMegatrons() {
        // Device d of p = 4 with v = 2 runs 2 (p - d - 1) + (v - 1) p forwards first: 10, 8, 6, 4.
        List<List<Op>> order = new Interleaved1F1B().order(4, 8, 2);
        int[] expected = {10, 8, 6, 4};
        for (int d = 0; d < 4; d++) {
            int warm = 0;
            while (order.get(d).get(warm).kind() == Op.Kind.FORWARD) {
                warm++;
            }
            // The first steady forward comes right before the first backward.
            assertEquals(expected[d] + 1, warm, "device " + d);
        }
        // Groups of p micro-batches per chunk: device 0's first forwards are micro-batches 0..3 of chunk 0,
        // then 0..3 of chunk 1, then 4..5 of chunk 0.
        assertEquals(List.of(Op.forward(0, 0), Op.forward(1, 0), Op.forward(2, 0), Op.forward(3, 0), Op.forward(0, 1),
                Op.forward(1, 1), Op.forward(2, 1), Op.forward(3, 1), Op.forward(4, 0), Op.forward(5, 0)),
                order.get(0).subList(0, 10));
        // Backwards start with the last chunk.
        assertEquals(Op.backward(0, 1), order.get(3).get(5));
        assertArrayEquals(new int[] {11, 9, 7, 5}, new Interleaved1F1B().estimate(balanced(8, 0.5, 1), 8, 2)
                .microBatchesInFlight());
    }

    @Test
    void zeroBubbleShrinksTheBubbleToPMinusOneTimesFPlusBMinusW() {
        // p = 4, m = 8, f = 1, b = 2 of which W = 0.8 (so B = 1.2).
        Estimate zb = new ZeroBubbleH1().estimate(balanced(4, 1, 2, 0.8, 0, 0, 0, 0), 8, 1);
        assertEquals(8 * 3 + 3 * (1 + 1.2 - 0.8), zb.stepSeconds(), EPS);
        assertTrue(zb.stepSeconds() < new OneFOneB().estimate(balanced(4, 1, 2), 8, 1).stepSeconds());
        // Without a weight-gradient part it is 1F1B.
        assertEquals(33, new ZeroBubbleH1().estimate(balanced(4, 1, 2), 8, 1).stepSeconds(), EPS);
        // When W is the longer half, the bubble is (p - 1) f: B = 0.2, W = 1.
        assertEquals(8 * 2.2 + 3 * 1, new ZeroBubbleH1().estimate(balanced(4, 1, 1.2, 1, 0, 0, 0, 0), 8, 1)
                .stepSeconds(), EPS);
    }

    @Test
    void zeroBubbleKeepsTheLargest1f1bPeakOnEveryDevice() {
        List<StageProfile> stages = balanced(4, 1, 2, 0.8, 0, 0, 10, 3);
        Estimate zb = new ZeroBubbleH1().estimate(stages, 8, 1);
        assertArrayEquals(new int[] {4, 4, 4, 4}, zb.microBatchesInFlight());
        assertEquals(new OneFOneB().estimate(stages, 8, 1).maxPeakMemoryBytes(), zb.maxPeakMemoryBytes(), EPS);
        assertArrayEquals(new int[] {2, 2, 2, 2}, new ZeroBubbleH1().estimate(stages, 2, 1).microBatchesInFlight());
    }

    @Test
    void noneIsGradientAccumulationAndEverySchedulesOneStageCaseEqualsIt() {
        List<StageProfile> one = balanced(1, 1, 2, 0.8, 0, 0.5, 10, 3);
        Estimate none = new NoPipeline().estimate(one, 8, 1);
        assertEquals(8 * (1 + 2) + 0.5, none.stepSeconds(), EPS);
        assertArrayEquals(new int[] {1}, none.microBatchesInFlight());
        assertArrayEquals(new double[] {10 + 3}, none.peakMemoryBytes(), EPS);
        for (Schedule s : List.of(new GPipe(), new OneFOneB(), new ZeroBubbleH1())) {
            assertEquals(none.stepSeconds(), s.estimate(one, 8, 1).stepSeconds(), EPS, s.name());
        }
        assertArrayEquals(none.peakMemoryBytes(), new OneFOneB().estimate(one, 8, 1).peakMemoryBytes(), EPS);
        assertArrayEquals(new double[] {10 + 8 * 3}, new GPipe().estimate(one, 8, 1).peakMemoryBytes(), EPS);
    }

    @Test
    void gradientSyncComesAfterEachDevicesLastBackward() {
        // p = 2, m = 2, f = b = 1: device 0 ends at (2 + 1) * 2 = 6, device 1 at 6 - 1 = 5.
        List<StageProfile> stages = List.of(new StageProfile(1, 1, 0, 0, 0.5, 0, 0), new StageProfile(1, 1, 0, 0, 3, 0, 0));
        assertEquals(5 + 3, new OneFOneB().estimate(stages, 2, 1).stepSeconds(), EPS);
        assertEquals(5 + 3, new GPipe().estimate(stages, 2, 1).stepSeconds(), EPS);
    }

    @Test
    void formulasForBalancedStagesAgreeWithTheCriticalPath() {
        // The formulas the estimates use for balanced stages, against the longest path of the op order's graph.
        double[][] times = {{1, 2, 0.8}, {2, 1, 0.2}, {1, 1.2, 1}};
        for (double[] t : times) {
            for (int p : new int[] {1, 2, 3, 4, 8}) {
                for (int m : new int[] {1, 2, 3, 4, 7, 8, 16}) {
                    List<StageProfile> stages = balanced(p, t[0], t[1], t[2], 0, 0, 0, 0);
                    String where = " p=" + p + " m=" + m + " f,b,w=" + Arrays.toString(t);
                    assertArrayEquals(CriticalPath.ends(stages, new OneFOneB().order(p, m, 1), m, 1),
                            OneFOneB.balancedEnds(p, m, t[0], t[1]), 1e-9, "1f1b" + where);
                    if (m >= p) {
                        assertArrayEquals(CriticalPath.ends(stages, new ZeroBubbleH1().order(p, m, 1), m, 1),
                                ZeroBubbleH1.balancedEnds(p, m, stages.get(0)), 1e-9, "zero-bubble" + where);
                    }
                    for (int v : new int[] {2, 3, 4}) {
                        if (m % p == 0) {
                            List<StageProfile> chunks = balanced(p * v, t[0], t[1], t[2], 0, 0, 0, 0);
                            assertArrayEquals(CriticalPath.ends(chunks, new Interleaved1F1B().order(p, m, v), m, v),
                                    Interleaved1F1B.balancedEnds(p, m, v, t[0], t[1]), 1e-9, "interleaved v=" + v + where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void invalidShapesAreRejectedWithMessages() {
        assertEquals(Optional.of("micro-batches must be a multiple of the pipeline stages for interleaved, found 6 micro-batches on 4 stages"),
                new Interleaved1F1B().check(4, 6, 2));
        assertEquals(Optional.of("virtual stages must be at least 2 for interleaved (with one chunk per device it is 1f1b), found 1"),
                new Interleaved1F1B().check(4, 8, 1));
        assertEquals(Optional.of("virtual stages must be 1 for gpipe (only interleaved runs several chunks per device), found 2"),
                new GPipe().check(4, 8, 2));
        assertEquals(Optional.of("pipeline stages must be 1 for none, found 2"), new NoPipeline().check(2, 8, 1));
        assertEquals(Optional.of("micro-batches must be at least 1, found 0"), new OneFOneB().check(4, 0, 1));
        assertEquals(Optional.of("pipeline stages must be at least 1, found 0"), new ZeroBubbleH1().check(0, 4, 1));
        assertEquals(Optional.empty(), new Interleaved1F1B().check(4, 8, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Interleaved1F1B().estimate(balanced(8, 1, 2), 6, 2));
        assertTrue(e.getMessage().startsWith("micro-batches must be a multiple"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Interleaved1F1B().estimate(balanced(6, 1, 2), 8, 4));
        assertEquals("stage profiles must be a positive multiple of the virtual stages 4 (one per device and chunk), found 6",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new OneFOneB().order(4, 8, 2));
        assertTrue(e.getMessage().startsWith("virtual stages must be 1 for 1f1b"), e.getMessage());
    }

    @Test
    void stageProfilesRejectNegativeAndInconsistentTimes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StageProfile(-1, 2, 0, 0, 0, 0, 0));
        assertEquals("forward seconds must be a finite number >= 0, found -1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new StageProfile(1, 2, 3, 0, 0, 0, 0));
        assertEquals("backward weight seconds must be at most the backward seconds 2.0, found 3.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new StageProfile(1, 2, 0, Double.NaN, 0, 0, 0));
        assertEquals("send seconds must be a finite number >= 0, found NaN", e.getMessage());
    }
}
