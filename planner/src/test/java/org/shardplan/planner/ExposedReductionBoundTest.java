package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;

/**
 * The step bound of pipeline configurations ({@code PipelineSearch.stepLowerBound}) with each stage's exposed gradient
 * reduction counted ({@code PipelineSearch.exposedReductionBound}, {@code PipelineSearch.Exposed}): at least the bound
 * without it, above it where the reduction is dear, and never above the step the search prices for the configuration
 * (which is a plan of it), for every schedule the search may choose.
 */
class ExposedReductionBoundTest {

    /** A GPT whose weights are large against its work at batch 64: 4 layers, hidden 1024, sequence 64. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=1024,heads=16,seq=64,vocab=8192",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static double bound(Planner planner, ModelSource model, int batch, int devices, int p, int m, boolean exposed)
            throws Exception {
        boolean was = PipelineSearch.exposedReductionBound;
        PipelineSearch.exposedReductionBound = exposed;
        try {
            PipelineSearch ps = new PipelineSearch(planner, SearchOptions.AUTO, model, batch, 60);
            long micro = batch / m;
            return ps.stepLowerBound(ps.coarse(micro), micro, ps.builder(micro, devices / p, false, 1), p, m);
        } finally {
            PipelineSearch.exposedReductionBound = was;
        }
    }

    private static int check(ModelSource model, String name, int batch, int devices) throws Exception {
        Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        int raised = 0;
        for (int p : List.of(2, 4)) {
            for (int m : List.of(1, 2, 4, 8)) {
                String what = name + " on " + devices + " devices, P=" + p + " m=" + m;
                double with = bound(planner, model, batch, devices, p, m, true);
                double without = bound(planner, model, batch, devices, p, m, false);
                assertTrue(with >= without, what + ": " + with + " below the bound without the reduction " + without);
                var priced = new PipelineSearch(planner, SearchOptions.AUTO, model, batch, 60).price(p, m, false, 1);
                if (priced.isPresent()) {
                    assertTrue(with <= priced.get().stepSeconds() * (1 + 1e-12), what + ": bound " + with + " above the"
                            + " priced step " + priced.get().stepSeconds());
                }
                raised += with > without * (1 + 1e-6) ? 1 : 0;
            }
        }
        return raised;
    }

    @Test
    void theExposedReductionRaisesPipelineBoundsAndStaysBelowTheirPlans() throws Exception {
        int raised = check(GPT, "GPT", 64, 16);
        raised += check(b -> OnnxImporter.read(Models.file("resnet18.onnx"), ImportOptions.DEFAULT.withDims(Map.of("batch",
                b))).graph(), "ResNet-18", 64, 32);
        assertTrue(raised > 4, "the exposed reduction raised only " + raised + " of 16 pipeline configurations' bounds");
    }

    /** Every stage at the model's largest bucket count (the recurrence's crossing search, where stages at their own are too many). */
    @Test
    void atTheModelsBucketCountToo() throws Exception {
        long was = PipelineSearch.Exposed.perStageWork;
        PipelineSearch.Exposed.perStageWork = 0;
        try {
            assertTrue(check(GPT, "GPT", 64, 16) > 2, "the exposed reduction at the model's bucket count raised no bound");
        } finally {
            PipelineSearch.Exposed.perStageWork = was;
        }
    }

    /**
     * Two stages of one node each, the first with a long backward and no gradient, the second with a short backward and
     * a long exposed reduction: the reduction runs after the second device's last op while the first device still
     * drains the backward, so the step is the first stages' forward, the second's work and its reduction, and neither
     * the first stage's backward nor its input-gradient chain adds to that. The terms of the bound, fed each node's own
     * times as its least, stay at or below each schedule's step and reach it.
     */
    @Test
    void theReductionOverlapsTheDrainOfTheStagesBefore() {
        double f0 = 0.001;
        double b0 = 0.004;
        double f1 = 0.001;
        double b1 = 0.001;
        double w = 0.0005;
        double sync = 0.010;
        for (int m : List.of(1, 2)) {
            List<StageProfile> ps = List.of(new StageProfile(f0, b0, w, 0, 0, 0, 0),
                    new StageProfile(f1, b1, w, 0, sync, 0, 0));
            double[] pf = {0, f0, f0 + f1};
            double[] pa = {0, f0 + b0, f0 + b0 + f1 + b1};
            double[] pc = {0, f0 + b0 - w, f0 + b0 - w + f1 + b1 - w};
            // each node's m a + g - b, the first's gradient 0, the second's g - b its whole exposed reduction
            double[] unc = {0, m * (f0 + b0) - b0, m * (f0 + b0) - b0 + m * (f1 + b1) + sync};
            for (String name : List.of("gpipe", "1f1b", "zero-bubble")) {
                MemoryAwareBound.Kind kind = name.equals("zero-bubble") ? MemoryAwareBound.Kind.ZERO_BUBBLE
                        : MemoryAwareBound.Kind.FILL_DRAIN;
                double step = Schedules.of(name).estimate(ps, m, 1).stepSeconds();
                double bound = PipelineSearch.stepLowerBound(2, List.of(1), 2, m, EnumSet.of(kind), pf, pa, pc, null, unc);
                String what = name + " with " + m + " micro-batches";
                assertTrue(bound <= step * (1 + 1e-12), what + ": bound " + bound + " above the step " + step);
                assertTrue(bound >= step * (1 - 1e-9), what + ": bound " + bound + " below the step " + step
                        + ", which its second stage's forward path and reduction make");
            }
        }
    }
}
