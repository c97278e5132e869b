package org.shardplan.planner.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.sim.Result;
import org.shardplan.planner.sim.Simulator;
import org.shardplan.planner.sim.StalenessDistribution;

/** The asynchronous schedule: its closed form by hand and against the message-passing replay. */
class AmpTest {

    /** Stages with forward {@code f[s]}, backward {@code 2 f[s]}, a send {@code c}, sync 0.1 and update 0.2 s. */
    static List<StageProfile> stages(double[] f, double c) {
        List<StageProfile> r = new ArrayList<>();
        for (int s = 0; s < f.length; s++) {
            r.add(new StageProfile(f[s], 2 * f[s], 0, s < f.length - 1 ? c : 0, 0.1, 1000, 10, 0.2));
        }
        return r;
    }

    static double[] balanced(int p) {
        double[] f = new double[p];
        java.util.Arrays.fill(f, 1);
        return f;
    }

    @Test
    void oneKeyAndOneGradientPerUpdateIsSequentialSgd() {
        // four stages f = 1, 1.5, 1, 1 (b = 2f), sends of 0.25: one key travels alone, R = sum 3f + 2 * 3 * 0.25 + 0.3
        List<StageProfile> st = stages(new double[] {1, 1.5, 1, 1}, 0.25);
        Amp amp = new Amp(1, 1);
        Estimate e = amp.estimate(st, 8, 1);
        double round = 3 * (1 + 1.5 + 1 + 1) + 2 * 3 * 0.25 + (0.1 + 0.2);
        assertEquals(8 * round, e.stepSeconds(), 1e-12);
        for (Staleness s : e.staleness()) {
            assertEquals(Staleness.NONE, s);
        }
        Result r = Simulator.run(st, amp, 8, 1);
        assertEquals(round, r.secondsPerInstance(), 1e-9 * round);
        for (StalenessDistribution d : r.staleness()) {
            assertEquals(0, d.max(), d.toString());
            assertTrue(d.instances() > 0);
        }
        // every stage holds one instance at a time
        r.devices().forEach(x -> assertEquals(1, x.microBatchesInFlight()));
        assertFalse(amp.exact());
        assertFalse(amp.fixedOrder());
        assertThrows(UnsupportedOperationException.class, () -> amp.order(4, 8, 1));
    }

    @Test
    void keysAsDeepAsThePipelineGiveTheOneFOneBSteadyStateWithoutTheBubble() {
        // balanced p = 4, f = 1, b = 2, no sends, no sync or update: T = f + b = 3, step m T = 24 (1F1B: 33)
        List<StageProfile> st = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            st.add(StageProfile.compute(1, 2).withUpdateSeconds(0));
        }
        Estimate e = new Amp(4, 1).estimate(st, 8, 1);
        assertEquals(8 * 3, e.stepSeconds(), 1e-12);
        assertEquals(0, e.bubbleFraction(), 1e-12);
        assertEquals(33, new OneFOneB().estimate(st, 8, 1).stepSeconds(), 1e-12);
        // d_s = P - s - 1 earlier instances between forward and backward: 3, 2, 1, 0 updates with M = 1
        double[] expected = {3, 2, 1, 0};
        for (int s = 0; s < 4; s++) {
            assertEquals(expected[s], e.staleness().get(s).expected(), 1e-12);
            assertEquals((int) expected[s], e.staleness().get(s).largest());
        }
        // M = 2: d_s / 2 expected, ceil(d_s / 2) largest
        Estimate e2 = new Amp(4, 2).estimate(st, 8, 1);
        assertEquals(1.5, e2.staleness().get(0).expected(), 1e-12);
        assertEquals(2, e2.staleness().get(0).largest());
        assertEquals(0.5, e2.staleness().get(2).expected(), 1e-12);
        assertEquals(1, e2.staleness().get(2).largest());
        // the replay agrees exactly here
        Result r = Simulator.run(st, new Amp(4, 1), 8, 1);
        assertEquals(3, r.secondsPerInstance(), 1e-9);
        for (int s = 0; s < 4; s++) {
            assertEquals(expected[s], r.staleness().get(s).mean(), 1e-9);
        }
        // memory: K instances of activations on every stage
        assertArrayEquals(new int[] {4, 4, 4, 4}, e.microBatchesInFlight());
    }

    @Test
    void theSlowestStageOrTheKeysBoundTheThroughput() {
        // stages 1, 2, 1 (b = 2f), no sends: L = 3.3, 6.3, 3.3; R = 3 + 6 + 3 + 0.3 = 12.3
        List<StageProfile> st = stages(new double[] {1, 2, 1}, 0);
        assertEquals(12.3, Amp.steadyState(st, 1, 1).secondsPerInstance(), 1e-12);
        assertEquals(6.3, Amp.steadyState(st, 2, 1).secondsPerInstance(), 1e-12);
        // the slow stage alone waits; the keys bound again when the slow stage is relieved
        List<StageProfile> relieved = stages(new double[] {1, 1, 1}, 0);
        assertEquals((9 + 0.3) / 2, Amp.steadyState(relieved, 2, 1).secondsPerInstance(), 1e-12);
        // M = 3: the update's 0.3 s is paid once per 3 gradients: L_1 = 6.1
        assertEquals(6.1, Amp.steadyState(st, 3, 3).secondsPerInstance(), 1e-12);
        assertEquals(12.1, Amp.steadyState(st, 3, 3).roundTripSeconds(), 1e-12);
    }

    /**
     * The closed form against the replay on balanced stages, one slow stage in the middle, one at the front,
     * and sends as long as a tenth of the compute, with K from 1 to twice the depth and M of 1 and 4. Stated
     * tolerances: the time per instance within 1e-9 for K = 1 and 2% beyond the knee K* = ceil(R / max L)
     * above it (K > K*); up to the knee the replay may be slower by up to 25% (keys meet at the workers), never
     * faster by more than 2%. Staleness for K = 1: exactly 0; up to the knee: the mean within 1 update of the
     * expected and the largest at most ceil(2/M) above the predicted largest; above the knee (where the surplus
     * keys wait depends on ties and arrival order): within 3/M, and ceil(4/M).
     */
    @Test
    void closedFormAgainstTheReplay() {
        StringBuilder report = new StringBuilder();
        java.util.TreeMap<String, Double> dev = new java.util.TreeMap<>();
        for (int p : new int[] {2, 4, 8}) {
            List<double[]> shapes = new ArrayList<>();
            shapes.add(balanced(p));
            double[] mid = balanced(p);
            mid[p / 2] = 2;
            shapes.add(mid);
            double[] first = balanced(p);
            first[0] = 1.5;
            shapes.add(first);
            for (double[] f : shapes) {
                for (double c : new double[] {0, 0.3}) {
                    List<StageProfile> st = stages(f, c);
                    for (int k : new int[] {1, Math.max(1, p / 2), p, p + 1, 2 * p}) {
                        for (int m : new int[] {1, 4}) {
                            Amp amp = new Amp(k, m);
                            Estimate e = amp.estimate(st, 8, 1);
                            Result r = Simulator.run(st, amp, 8, 1);
                            Amp.SteadyState ss = Amp.steadyState(st, k, m);
                            double busiest = 0;
                            for (StageProfile x : st) {
                                busiest = Math.max(busiest, Math.max(x.sendSeconds(),
                                        x.forwardSeconds() + x.backwardSeconds() + 0.3 / m));
                            }
                            int knee = (int) Math.ceil(ss.roundTripSeconds() / busiest - 1e-9);
                            double ratio = r.stepSeconds() / e.stepSeconds();
                            String where = String.format(Locale.ROOT, "p=%d f=%s c=%.1f K=%d M=%d knee=%d: step %.4f vs"
                                    + " replay %.4f", p, java.util.Arrays.toString(f), c, k, m, knee, e.stepSeconds(),
                                    r.stepSeconds());
                            if (k == 1) {
                                assertEquals(1, ratio, 1e-9, where);
                            } else if (k > knee) {
                                assertEquals(1, ratio, 0.02, where);
                            } else {
                                assertTrue(ratio > 0.98 && ratio < 1.25, where);
                            }
                            for (int s = 0; s < p; s++) {
                                Staleness pred = e.staleness().get(s);
                                StalenessDistribution d = r.staleness().get(s);
                                boolean above = k > knee;
                                double tol = k == 1 ? 0 : above ? 3.0 / m : 1.0;
                                assertEquals(pred.expected(), d.mean(), tol + 1e-9, where + " stage " + s);
                                int extra = k == 1 ? 0 : (above ? 4 + m - 1 : 2 + m - 1) / m;
                                assertTrue(d.max() <= pred.largest() + extra,
                                        where + " stage " + s + ": largest " + d.max() + " vs " + pred.largest());
                                dev.merge((above ? "above" : "up to") + " the knee, M=" + m + ": mean",
                                        Math.abs(pred.expected() - d.mean()), Math::max);
                                // memory: never more than the K instances the estimate counts
                                assertTrue(r.devices().get(s).microBatchesInFlight() <= e.microBatchesInFlight()[s]);
                            }
                            report.append(where).append('\n');
                        }
                    }
                }
            }
        }
        assertTrue(report.length() > 0);
        // the largest deviations seen, for docs/schedules.md
        System.out.println("amp closed form against the replay, largest |expected - mean| staleness: " + dev);
    }

    @Test
    void variantsCoverTheKeysAndUpdateFrequenciesThatMatter() {
        Amp base = new Amp(1, 1);
        List<Schedule> all = base.variants(4, 8, ScheduleParameters.NONE);
        // K = 1..8, M in {1, 2, 4, 8}
        assertEquals(8 * 4, all.size());
        assertEquals(new Amp(1, 1), all.get(0));
        assertEquals(new Amp(8, 8), all.get(all.size() - 1));
        List<Schedule> fixed = base.variants(4, 8, ScheduleParameters.of(3, 2));
        assertEquals(List.of(new Amp(3, 2)), fixed);
        List<Schedule> onlyK = base.variants(4, 6, ScheduleParameters.NONE.withMaxActiveKeys(5));
        assertEquals(List.of(new Amp(5, 1), new Amp(5, 2), new Amp(5, 4), new Amp(5, 6)), onlyK);
        assertEquals(new Amp(2, 3), base.withParameters(ScheduleParameters.of(2, 3)));
        assertEquals(ScheduleParameters.of(2, 3), new Amp(2, 3).parameters());
        // a synchronous schedule takes none
        assertEquals(List.of(new OneFOneB().name()), new OneFOneB().variants(4, 8, ScheduleParameters.of(2, 3)).stream()
                .map(Schedule::name).toList());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> new OneFOneB().withParameters(ScheduleParameters.of(2, 3)));
        assertTrue(bad.getMessage().contains("amp"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Amp(0, 1));
        IllegalArgumentException k0 = assertThrows(IllegalArgumentException.class,
                () -> new ScheduleParameters(OptionalInt.of(0), OptionalInt.empty(), OptionalInt.empty()));
        assertEquals("--max-active-keys must be auto or an integer >= 1, found 0", k0.getMessage());
        assertEquals("amp", Schedules.of("amp").name());
        assertTrue(new Amp(2, 1).check(4, 8, 2).isPresent());
        IllegalArgumentException many = assertThrows(IllegalArgumentException.class,
                () -> Simulator.run(stages(balanced(2), 0), new Amp(5000, 1), 8, 1));
        assertEquals("the asynchronous replay takes at most 4096 keys in flight and 4096 gradients per update, found 5000"
                + " and 1", many.getMessage());
    }
}
