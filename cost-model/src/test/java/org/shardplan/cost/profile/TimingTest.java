package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TimingTest {

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, Timing.median(new double[] {3, 1, 2}));
        assertEquals((2.0 + 3.0) / 2, Timing.median(new double[] {4, 1, 3, 2}));
    }

    @Test
    void runsWarmupThenRepeats() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        double t = new Timing(2, 5, 5, 10.0).medianSeconds(calls::incrementAndGet);
        // 2 warm-up runs + 5 timed runs: the cap of 5 repeats wins over the 10 s minimum
        assertEquals(2 + 5, calls.get());
        assertTrue(t >= 0);
        AtomicInteger cpu = new AtomicInteger();
        new Timing(0, 3, 3, 0, Timing.Clock.THREAD_CPU).medianSeconds(cpu::incrementAndGet);
        assertEquals(3, cpu.get());
        assertThrows(IllegalArgumentException.class, () -> new Timing(0, 3, 2, 0));
    }

    @Test
    void roundsKeepTheQuietestRoundAndAddRoundsWhenTheyDisagree() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        // runs 1-3 (the first round) take 30 ms, every later run 2 ms: the rounds disagree, so
        // 2 rounds become 4, and the smallest round median (about 2 ms) is kept
        Timing.Run work = () -> Thread.sleep(calls.incrementAndGet() <= 3 ? 30 : 2);
        Timing.Rounds r = new Timing(0, 3, 3, 0).roundsSeconds(work, 2, 0.5);
        assertEquals(4 * 3, calls.get());
        assertEquals(4, r.rounds());
        assertTrue(r.seconds() >= 0.002 && r.seconds() < 0.03, "kept " + r.seconds());
        assertTrue(r.spread() > 0.5, "spread " + r.spread());
        // rounds that agree within the limit stay at the number asked for (1 warm-up run first)
        AtomicInteger steady = new AtomicInteger();
        Timing.Rounds s = new Timing(1, 3, 3, 0).roundsSeconds(steady::incrementAndGet, 2, Double.MAX_VALUE);
        assertEquals(1 + 2 * 3, steady.get());
        assertEquals(2, s.rounds());
        assertThrows(IllegalArgumentException.class, () -> new Timing(0, 3, 3, 0).roundsSeconds(steady::incrementAndGet, 0, 0.1));
    }

    @Test
    void differencesAreTakenInAlternatingRoundsSoThatALoadChangeCancels() throws Exception {
        // the machine's load grows by 40 ms every 6 runs (of either work); base takes the load,
        // more 20 ms plus the load. In alternating rounds of 3 runs each, both timings of a round
        // see the same load (the median ignores the one run of more that sees the next step), and
        // every difference is 20 ms. Timed one after the other (all base rounds, then all more
        // rounds) the median difference would come out at 60 ms.
        AtomicInteger runs = new AtomicInteger();
        Timing.Run base = () -> Thread.sleep(runs.incrementAndGet() / 6 * 40L);
        Timing.Run more = () -> Thread.sleep(20 + runs.incrementAndGet() / 6 * 40L);
        Timing.Rounds r = new Timing(0, 3, 3, 0).differenceSeconds(base, more, 3, Double.MAX_VALUE);
        assertEquals(3, r.rounds());
        assertEquals(2 * 3 * 3, runs.get());
        assertTrue(r.seconds() > 0.015 && r.seconds() < 0.04, "difference " + r.seconds());
        // rounds whose differences disagree by more than the limit are doubled, once
        AtomicInteger n = new AtomicInteger();
        Timing.Rounds d = new Timing(0, 1, 1, 0).differenceSeconds(() -> { }, () -> Thread.sleep(n.incrementAndGet() % 2 == 0 ? 2 : 12),
                2, 0.1);
        assertEquals(4, d.rounds());
        assertTrue(d.spread() > 0.1, "spread " + d.spread());
    }

    @Test
    void quantilesInterpolateBetweenOrderStatistics() {
        double[] v = {50, 10, 40, 20, 30};
        assertEquals(10.0, Timing.quantile(v, 0));
        assertEquals(30.0, Timing.quantile(v, 0.5));
        assertEquals(50.0, Timing.quantile(v, 1));
        // rank 0.1 * 4 = 0.4: 10 + 0.4 * (20 - 10)
        assertEquals(14.0, Timing.quantile(v, 0.1), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Timing.quantile(new double[0], 0.1));
        assertThrows(IllegalArgumentException.class, () -> Timing.quantile(v, 1.5));
    }

    @Test
    void theLowStatisticPoolsTheRunsOfAllRounds() throws Exception {
        // 3 rounds of 10 runs: the first round takes 40 ms a run (disturbed), the others 2 ms.
        // Pooled, 20 of the 30 runs take 2 ms, so the 10th percentile is about 2 ms; each round's
        // own 10th percentile would be 40, 2 and 2 ms, and the median statistic keeps the
        // smallest round median, also about 2 ms, but a round of 40 ms would count as one of three
        AtomicInteger calls = new AtomicInteger();
        Timing.Run work = () -> Thread.sleep(calls.incrementAndGet() <= 10 ? 40 : 2);
        Timing.Rounds r = new Timing(0, 10, 10, 0, Timing.Clock.WALL, Timing.Statistic.LOW).roundsSeconds(work, 3,
                Double.MAX_VALUE);
        assertEquals(30, calls.get());
        assertTrue(r.seconds() >= 0.002 && r.seconds() < 0.02, "kept " + r.seconds());
        assertTrue(r.spread() > 5, "rounds of 40 and 2 ms spread by about 19, found " + r.spread());
        assertEquals(" stat=low", Timing.Statistic.LOW.tag());
        assertEquals("", Timing.Statistic.MEDIAN.tag());
        assertEquals(Timing.Statistic.MIN, Timing.Statistic.named("min").orElseThrow());
        assertTrue(Timing.Statistic.named("mean").isEmpty());
    }

    @Test
    void theLowStatisticOfADifferenceIsTheDifferenceOfThePooledQuantiles() throws Exception {
        // base takes 5 ms, more 25 ms; one round of more is disturbed (60 ms a run). The pooled 10th
        // percentiles are 5 and 25 ms: a difference of 20 ms, whatever the disturbed round did
        AtomicInteger moreRuns = new AtomicInteger();
        Timing.Run base = () -> Thread.sleep(5);
        Timing.Run more = () -> Thread.sleep(moreRuns.incrementAndGet() <= 4 ? 60 : 25);
        Timing.Rounds r = new Timing(0, 4, 4, 0, Timing.Clock.WALL, Timing.Statistic.LOW).differenceSeconds(base, more, 3,
                Double.MAX_VALUE);
        assertEquals(3, r.rounds());
        assertTrue(r.seconds() > 0.018 && r.seconds() < 0.03, "difference " + r.seconds());
    }
}
