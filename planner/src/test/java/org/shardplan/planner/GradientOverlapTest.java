package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
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
        assertTrue(exposed > 0 && plan.totals().stepSeconds() < nodes, plan.totals().stepSeconds() + " vs " + nodes);
        PlanEvaluator.Result r = p.evaluate(plan, Fixtures.deepMlp(8, 256, 4096));
        assertEquals(plan.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * plan.totals().stepSeconds());
    }
}
