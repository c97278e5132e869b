package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.eval.PlanEvaluator;

class GradientOverlapTest {

    private static final double MIB = 1024 * 1024;

    @Test
    void theLastBucketIsAlwaysExposedAndWhatTheBackwardCannotCoverToo() {
        // 100 MiB of gradients in 25 MiB buckets: 4 buckets; a reduction of 40 ms
        assertEquals(40e-3 / 4, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 1.0), 1e-15);
        // a backward of 25 ms covers 25 of the 40 ms: 15 ms exposed, more than the last bucket's 10
        assertEquals(40e-3 - 25e-3, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 25e-3), 1e-15);
        // less than one bucket: nothing overlaps
        assertEquals(3e-3, PipelineSearch.exposedGradientSeconds(3e-3, 10 * MIB, 1.0), 1e-15);
        assertEquals(0, PipelineSearch.exposedGradientSeconds(0, 0, 1.0));
    }

    @Test
    void aDataParallelPlanHidesItsReductionAndEvaluateAgrees() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(256)
                .withSearch(SearchOptions.singleStage(false, 0).withData(16));
        Plan plan = p.plan(b -> Fixtures.deepMlp(8, b, 4096));
        String overlap = plan.provenance().overlap();
        assertTrue(overlap.startsWith("data-parallel gradient reduction in 25 MiB buckets"), overlap);
        // the step is the sum of the nodes' compute and collectives less the hidden part of the reduction
        double nodes = 0;
        for (PlanNode n : plan.nodes()) {
            nodes += n.computeSeconds() + n.communicationSeconds();
        }
        double exposed = plan.stages().get(0).gradientSyncSeconds();
        double update = plan.stages().get(0).updateSeconds();
        assertTrue(exposed > 0 && plan.totals().stepSeconds() - update < nodes, plan.totals().stepSeconds() + " vs " + nodes);
        PlanEvaluator.Result r = p.evaluate(plan, Fixtures.deepMlp(8, 256, 4096));
        assertEquals(plan.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * plan.totals().stepSeconds());
    }

    @Test
    void aReductionAfterTheBackwardPassIsExposedWholeAndEvaluateKeepsIt() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(256)
                .withSearch(SearchOptions.singleStage(false, 0).withData(16)).withGradientOverlap(false);
        Plan plan = p.plan(b -> Fixtures.deepMlp(8, b, 4096));
        assertTrue(plan.provenance().overlap().startsWith("data-parallel gradient reduction after the backward pass"),
                plan.provenance().overlap());
        assertEquals(Planner.AFTER_BACKWARD, plan.options().requested().get(Planner.GRADIENT_REDUCTION));
        // nothing hidden: the step is every node's compute and collectives (the whole reduction among them) and
        // the optimizer step after them
        double nodes = 0;
        for (PlanNode n : plan.nodes()) {
            nodes += n.computeSeconds() + n.communicationSeconds();
        }
        Plan.Stage st = plan.stages().get(0);
        assertEquals(nodes + st.updateSeconds(), plan.totals().stepSeconds(), 1e-12 * nodes);
        // the overlapped plan of the same layouts hides all but the exposed part
        Plan overlapped = p.withGradientOverlap(true).plan(b -> Fixtures.deepMlp(8, b, 4096));
        assertTrue(overlapped.totals().stepSeconds() < plan.totals().stepSeconds());
        // the plan records the request, and the planner made from the plan prices it the same way
        Planner again = Planner.forPlan(plan);
        assertTrue(!again.gradientOverlap());
        PlanEvaluator.Result r = again.evaluate(plan, Fixtures.deepMlp(8, 256, 4096));
        assertEquals(plan.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * plan.totals().stepSeconds());
    }

    @Test
    void synchronousSchedulesEndWithTheSlowestDevicesOptimizerStep() {
        // four model chunks on two devices (chunk j on device j mod 2): updates of 1, 2, 3 and 4 ms
        List<StageProfile> ps = List.of(profile(1e-3), profile(2e-3), profile(3e-3), profile(4e-3));
        assertEquals(Math.max(1e-3 + 3e-3, 2e-3 + 4e-3), PipelineSearch.updateAfter(Schedules.of("interleaved"), ps, 2),
                1e-15);
        assertEquals(4e-3, PipelineSearch.updateAfter(Schedules.of("1f1b"), ps.subList(0, 4), 4), 1e-15);
        // the asynchronous schedule prices its local updates itself
        assertEquals(0, PipelineSearch.updateAfter(Schedules.of("amp"), ps, 2));
    }

    private static StageProfile profile(double update) {
        return new StageProfile(1, 2, 0, 0, 0, 0, 0, update);
    }
}
