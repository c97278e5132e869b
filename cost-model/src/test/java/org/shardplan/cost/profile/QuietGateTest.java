package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class QuietGateTest {

    @Test
    void procStatGivesBusyAndTotalJiffiesWithStolenTimeBusy() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        List<String> stat = List.of("cpu  100 2 30 500 7 1 4 9 0 0", "cpu0 50 1 15 250 3 0 2 4 0 0", "intr 1 2 3");
        long busy = 100 + 2 + 30 + 1 + 4 + 9;
        assertArrayEquals(new long[] {busy, busy + 500 + 7}, QuietGate.parse(stat).orElseThrow());
        assertTrue(QuietGate.parse(List.of("intr 1 2 3")).isEmpty());
        assertTrue(QuietGate.parse(List.of("cpu  1 x 3 4")).isEmpty());
    }

    @Test
    void othersAreTheMachinesBusyProcessorsLessThisProcesss() {
        // 2 processors, 1 s: 200 jiffies in all, 150 busy -> 1.5 processors busy; this process
        // used 1.0 s of processor time -> others kept 0.5 busy
        QuietGate.Sample a = new QuietGate.Sample(1000, 5000, 0, 0);
        QuietGate.Sample b = new QuietGate.Sample(1150, 5200, 1_000_000_000L, 1_000_000_000L);
        assertEquals(150.0 / 200 * 2 - 1.0, QuietGate.others(a, b, 2), 1e-12);
        // this process alone: nobody else
        QuietGate.Sample c = new QuietGate.Sample(1100, 5200, 1_000_000_000L, 1_000_000_000L);
        assertEquals(0.0, QuietGate.others(a, c, 2), 1e-12);
        // no time passed
        assertEquals(0.0, QuietGate.others(a, a, 2), 1e-12);
    }

    @Test
    void aGateOffNeverWaitsOrCounts() {
        QuietGate g = QuietGate.off();
        assertEquals(0.0, g.await());
        assertEquals(0.0, g.await());
        assertEquals(0, g.looks());
        assertEquals(0, g.waits());
    }

    @Test
    void aGateWithAHighThresholdLooksButNeverWaits() {
        QuietGate g = new QuietGate(1e9, 1, 10);
        g.await();
        g.await();
        assertEquals(2, g.looks());
        assertEquals(0, g.waits());
        assertEquals(0.0, g.waitedSeconds());
    }

    @Test
    void negativeSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new QuietGate(-1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new QuietGate(0.3, Double.NaN, 1));
    }
}
