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
}
