package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;

/**
 * A configuration whose bound without the interleaved schedule reaches the plan found is priced for the interleaved
 * schedule alone, without the exact partition ({@link PipelineSearch#interleavedAlone}).
 */
class InterleavedAloneTest {

    /** A small GPT of 8 layers. */
    private static final ModelSource GPT = Fixtures.GPT8;

    @Test
    void theBoundWithoutTheInterleavedScheduleIsNeverBelowTheBoundWithIt() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        int above = 0;
        for (int stages : ps.pipelineCandidates()) {
            if (stages == 1) {
                continue;
            }
            for (int m : List.of(2, 4, 6, 8, 16)) {
                long micro = 64 / m;
                CoarseGraph cg = ps.coarse(micro);
                ProblemBuilder pb = ps.builder(micro, 8 / stages, false, 1);
                double with = ps.stepLowerBound(cg, micro, pb, stages, m);
                double without = ps.stepLowerBound(cg, micro, pb, stages, m, false);
                String what = stages + " stages, " + m + " micro-batches";
                assertTrue(without >= with, what + ": " + without + " < " + with);
                if (m % stages != 0) {
                    // no interleaved schedule at this count: the same bound
                    assertEquals(with, without, 0.0, what);
                } else if (without > with * (1 + 1e-9)) {
                    above++;
                }
            }
        }
        assertTrue(above > 0, "the interleaved schedule's bound was never the least");
    }

    /** A deeper, wider GPT: 16 layers, hidden 1024, 16 heads, sequence 512, vocabulary 2048. */
    private static final ModelSource DEEP = b -> BuiltinModels.read("gpt?layers=16,hidden=1024,heads=16,seq=512,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    @Test
    void aConfigurationLeftToTheInterleavedScheduleIsPricedForItAlone() throws Exception {
        // the plan found set to the configuration's bound without the interleaved schedule: no other schedule can
        // beat it; the configuration comes back as the interleaved plan where that is faster, else bounded by the
        // others' bound, as the search held to the interleaved schedule prices it
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        int left = 0;
        for (int stages : List.of(2, 4, 8)) {
            for (int m : List.of(2, 4, 8, 16)) {
                if (m < stages) {
                    continue;
                }
                PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, DEEP, 64, 600);
                ps.defer = false;
                long micro = 64 / m;
                CoarseGraph cg = ps.coarse(micro);
                ProblemBuilder pb = ps.builder(micro, 8 / stages, false, 1);
                double others = ps.stepLowerBound(cg, micro, pb, stages, m, false);
                String what = stages + " stages, " + m + " micro-batches";
                if (!(ps.stepLowerBound(cg, micro, pb, stages, m) < others)) {
                    continue; // the interleaved schedule's bound is not the least: bounded before any pricing
                }
                left++;
                ps.incumbent = PipelineSearch.Outcome.bounded(1, 1, false, 1, others);
                var o = ps.price(stages, m, false, 1).orElseThrow();
                assertEquals(1, ps.interleavedOnly, what);
                PipelineSearch held = new PipelineSearch(p, SearchOptions.AUTO.withSchedule("interleaved"), DEEP, 64, 600);
                held.defer = false;
                var h = held.price(stages, m, false, 1).orElseThrow();
                assertEquals(0, held.interleavedOnly, what);
                if (h.fits() && h.stepSeconds() < others) {
                    assertEquals("interleaved", o.schedule().name(), what);
                    assertEquals(h.stepSeconds(), o.stepSeconds(), 1e-9 * h.stepSeconds(), what);
                } else {
                    assertTrue(o.isBounded(), what + ": " + o.schedule().name() + " at " + o.stepSeconds());
                    assertEquals(others, o.stepSeconds(), 0.0, what);
                }
            }
        }
        assertTrue(left > 0, "no configuration was left to the interleaved schedule");
    }

    @Test
    void theClosedBlockIsLeftWhereTheOtherSchedulesReachThePlanFound() throws Exception {
        // every configuration below its target gets the closed block's bound (closedWithin 1), but where the tied
        // forest's bound without the interleaved schedule reaches the target the configuration is left to that
        // schedule's pricing: the closed block is not taken, and the bound is the forest's
        int left = 0;
        for (int devices : List.of(8, 16)) {
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
            for (int stages : List.of(2, 4)) {
                for (int m : List.of(4, 8)) {
                    PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, DEEP, 64, 600);
                    ps.closedWithin = 1;
                    long micro = 64 / m;
                    CoarseGraph cg = ps.coarse(micro);
                    ProblemBuilder pb = ps.builder(micro, devices / stages, false, 1);
                    double with = ps.tiedBound(cg, micro, pb, stages, m); // no target: no closed block
                    double without = ps.tiedBoundWithoutInterleaved(cg, micro, pb, stages, m);
                    String what = devices + " devices, " + stages + " stages, " + m + " micro-batches";
                    assertEquals(0, ps.closedTied, what);
                    if (!(without > with * (1 + 1e-6))) {
                        continue; // the interleaved schedule's bound is not the least
                    }
                    double target = without * (1 - 1e-9);
                    double b = ps.tiedBound(cg, micro, pb, stages, m, target);
                    assertEquals(1, ps.closedLeft, what);
                    assertEquals(0, ps.closedTied, what + ": the closed block taken at " + target);
                    assertTrue(b < target, what + ": " + b);
                    // above the others' bound the closed block is taken as before, and with the rule off everywhere
                    ps.tiedBound(cg, micro, pb, stages, m, without * (1 + 1e-6));
                    assertEquals(1, ps.closedLeft, what);
                    assertEquals(1, ps.closedTied, what);
                    ps.closedLeaves = false;
                    ps.tiedBound(cg, micro, pb, stages, m, target);
                    assertEquals(1, ps.closedLeft, what);
                    assertEquals(2, ps.closedTied, what);
                    left++;
                }
            }
        }
        assertTrue(left > 0, "the interleaved schedule's tied bound was never the least");
    }

    @Test
    void pricingTheInterleavedScheduleAloneChangesNoPlan() throws Exception {
        int alone = 0;
        int fewer = 0;
        for (Planner p : Fixtures.limitedPlanners(GPT)) {
            String what = p.cluster().deviceCount() + " devices, limit " + p.memoryLimit();
            Fixtures.OnOff r = Fixtures.samePlanWithout(p, GPT, s -> s.interleavedAlone = false, what);
            PipelineSearch on = r.on();
            PipelineSearch off = r.off();
            assertEquals(0, off.interleavedOnly, what);
            alone += on.interleavedOnly;
            // the configurations left to the interleaved schedule run no exact partition
            assertTrue(on.exactPartitions <= off.exactPartitions, what + ": " + on.exactPartitions + " exact partitions"
                    + " against " + off.exactPartitions);
            fewer += off.exactPartitions - on.exactPartitions;
        }
        assertTrue(alone > 0, "no configuration was priced for the interleaved schedule alone");
        assertTrue(fewer > 0, "no exact partition was left out");
    }
}
