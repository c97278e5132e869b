package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
        assertEquals(40e-3 / 4, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 1.0, 25 * MIB), 1e-15);
        // a backward of 25 ms covers 25 of the 40 ms: 15 ms exposed, more than the last bucket's 10
        assertEquals(40e-3 - 25e-3, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 25e-3, 25 * MIB), 1e-15);
        // less than one bucket: nothing overlaps
        assertEquals(3e-3, PipelineSearch.exposedGradientSeconds(3e-3, 10 * MIB, 1.0, 25 * MIB), 1e-15);
        assertEquals(0, PipelineSearch.exposedGradientSeconds(0, 0, 1.0, 25 * MIB));
        // larger buckets leave a larger last bucket exposed: 100 MiB in 50 MiB buckets is 2 buckets, 20 of the 40 ms;
        // 100 MiB in 30 MiB buckets is 4 (the last one partly filled)
        assertEquals(40e-3 / 2, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 1.0, 50 * MIB), 1e-15);
        assertEquals(40e-3 / 4, PipelineSearch.exposedGradientSeconds(40e-3, 100 * MIB, 1.0, 30 * MIB), 1e-15);
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
    void aPlanRecordsItsGradientBucketAndEvaluatePricesItTheSame() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(256)
                .withSearch(SearchOptions.singleStage(false, 0).withData(16));
        Plan standard = p.plan(b -> Fixtures.deepMlp(8, b, 4096));
        assertNull(standard.options().requested().get(Planner.GRADIENT_BUCKET_MB));
        // 4 MiB buckets: the same all-reduces (every 4096 x 4096 weight's gradient fills buckets of its own), but the
        // last bucket, which runs after the backward pass, is smaller
        Planner small = p.withGradientBucketBytes(4 * MIB);
        Plan plan = small.plan(b -> Fixtures.deepMlp(8, b, 4096));
        assertEquals("4", plan.options().requested().get(Planner.GRADIENT_BUCKET_MB));
        assertTrue(plan.provenance().overlap().startsWith("data-parallel gradient reduction in 4 MiB buckets"),
                plan.provenance().overlap());
        assertTrue(plan.stages().get(0).gradientSyncSeconds() < standard.stages().get(0).gradientSyncSeconds(),
                plan.stages().get(0).gradientSyncSeconds() + " vs " + standard.stages().get(0).gradientSyncSeconds());
        assertTrue(plan.totals().stepSeconds() < standard.totals().stepSeconds());
        // read back from the plan (a bucket of 0.5 MiB too: the recorded MiB read back to the same bytes)
        Planner again = Planner.forPlan(plan);
        assertEquals(4 * MIB, again.gradientBucketBytes());
        PlanEvaluator.Result r = again.evaluate(plan, Fixtures.deepMlp(8, 256, 4096));
        assertEquals(plan.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * plan.totals().stepSeconds());
        Plan half = p.withGradientBucketBytes(0.5 * MIB).plan(b -> Fixtures.deepMlp(8, b, 4096));
        assertEquals("0.5", half.options().requested().get(Planner.GRADIENT_BUCKET_MB));
        assertEquals(0.5 * MIB, Planner.forPlan(half).gradientBucketBytes());
    }

    @Test
    void smallBucketsPayALatencyPerBucket() throws Exception {
        // 8 layers of 64 x 64 weights (8 KiB of gradient each) reduced over two nodes: in one bucket (the default:
        // the whole gradient fits 25 MiB) one all-reduce's latency, in buckets of 1 KiB a latency per KiB
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(256)
                .withSearch(SearchOptions.singleStage(false, 0).withData(16)).withGradientOverlap(false);
        Plan one = p.plan(b -> Fixtures.deepMlp(8, b, 64));
        Plan many = p.withGradientBucketBytes(1024).plan(b -> Fixtures.deepMlp(8, b, 64));
        double a = communication(one);
        double k = communication(many);
        assertTrue(k > 4 * a, k + " vs " + a);
        assertEquals(many.totals().stepSeconds(), Planner.forPlan(many).evaluate(many, Fixtures.deepMlp(8, 256, 64))
                .plan().totals().stepSeconds(), 1e-9 * many.totals().stepSeconds());
    }

    @Test
    void aPipelineStagePaysAtLeastOneLatencyForItsReduction() throws Exception {
        // 8 layers of 64 x 64 weights (8 KiB of gradient each, 64 KiB in all: the model's one bucket) in two stages of 8
        // devices: each stage reduces its 32 KiB in a bucket of its own, one all-reduce with its latency, where its
        // shares of the model's bucket come to half of one
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(256).withGradientOverlap(false)
                .withSearch(SearchOptions.AUTO.withPipeline(2).withMicroBatches(2).withSchedule("1f1b").withData(8)
                        .withZeroStage(0));
        Plan floored = p.plan(b -> Fixtures.deepMlp(8, b, 64));
        Plan shares;
        boolean was = org.shardplan.planner.build.ProblemBuilder.stageLatencyFloor;
        try {
            org.shardplan.planner.build.ProblemBuilder.stageLatencyFloor = false;
            shares = p.plan(b -> Fixtures.deepMlp(8, b, 64));
        } finally {
            org.shardplan.planner.build.ProblemBuilder.stageLatencyFloor = was;
        }
        assertEquals(2, floored.stages().size());
        assertEquals(2, shares.stages().size());
        for (int s = 0; s < 2; s++) {
            double on = floored.stages().get(s).gradientSyncSeconds();
            double off = shares.stages().get(s).gradientSyncSeconds();
            // latency-bound: about twice the half latency the shares priced
            assertTrue(on > 1.5 * off && off > 0, "stage " + s + ": " + on + " against " + off);
        }
        assertTrue(floored.totals().stepSeconds() > shares.totals().stepSeconds());
        // evaluate prices the stages as the search did
        ModelSource source = b -> Fixtures.deepMlp(8, b, 64);
        assertEquals(floored.totals().stepSeconds(), Planner.forPlan(floored).evaluate(floored, source).plan().totals()
                .stepSeconds(), 1e-9 * floored.totals().stepSeconds());
    }

    private static double communication(Plan p) {
        double c = 0;
        for (PlanNode n : p.nodes()) {
            c += n.communicationSeconds();
        }
        return c;
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
