package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The first pass's micro-batch counts put off for memory priced at the next ZeRO stage at once
 * ({@link PipelineSearch#earlyZero}): the same plans, found earlier.
 */
class FewerAtNextZeroTest {

    @Test
    void theCountsPutOffAreFasterAtTheNextZeroStageAndChangeNoPlan() throws Exception {
        int kept = 0;
        List<String> seen = new ArrayList<>();
        for (Planner p : Fixtures.limitedPlanners(Fixtures.GPT8)) {
            String what = p.cluster().deviceCount() + " devices, limit " + p.memoryLimit();
            // the same plan and bound with it on and off (samePlanWithout asserts it)
            Fixtures.OnOff r = Fixtures.samePlanWithout(p, Fixtures.GPT8, s -> s.earlyZero = false, what);
            assertEquals(0, r.off().fewerKept, what);
            seen.add(what + ": " + r.on().fewerKept);
            kept += r.on().fewerKept;
        }
        // under the tighter limits the first pass keeps more micro-batches at ZeRO 1 than it needs at ZeRO 2
        assertTrue(kept > 0, "no count put off was faster at the next ZeRO stage: " + seen);
    }
}
