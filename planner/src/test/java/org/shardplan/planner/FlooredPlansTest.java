package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.parareal.Models;

/**
 * The plans of the step bound's layouts with the gradient volume's buckets held ({@link OverlapBound#floored}):
 * on layers that repeat they are faster than the bound's minimisers, the bound is unchanged, and every plan stays
 * above it.
 */
class FlooredPlansTest {

    private static final java.nio.file.Path RESNET50 = Models.file("resnet50.onnx");

    private static final ModelSource SOURCE = bt -> OnnxImporter.read(RESNET50,
            ImportOptions.DEFAULT.withDims(Map.of("batch", bt))).graph();

    /** The best step of the plans the bound found, with or without the floored plans (no mixtures), its bound, its plans. */
    private static double[] bestAndBound(PipelineSearch ps, ProblemBuilder.Built b, ProblemBuilder pb, int devices,
            boolean floor) {
        boolean mixed = OverlapBound.mixPlans;
        boolean was = OverlapBound.floorPlans;
        OverlapBound.mixPlans = false;
        OverlapBound.floorPlans = floor;
        try {
            OverlapBound ob = new OverlapBound(b, pb, 1, StageProblem.Filter.ALL);
            OverlapBound.Result r = ob.maximise(Double.POSITIVE_INFINITY, () -> 600,
                    x -> ps.oneStageStep(b, pb, 1, x, devices, false));
            double best = Double.POSITIVE_INFINITY;
            for (int[] x : r.plans()) {
                double st = ps.oneStageStep(b, pb, 1, x, devices, false);
                assertEquals(ob.summedStep(x), st, 1e-12 * st); // the objective's sums are the search's step
                best = Math.min(best, st);
            }
            return new double[] {best, r.lowerBound(), r.plans().size()};
        } finally {
            OverlapBound.mixPlans = mixed;
            OverlapBound.floorPlans = was;
        }
    }

    @Test
    void onResNet50TheFlooredPlansAreFasterThanTheBoundsMinimisers() throws Exception {
        // one stage, one micro-batch, ZeRO 1: the minimisers move the identical convolutions of a stage's blocks
        // together, so their volumes jump past the bucket counts' floors; with the volume in the program's state the
        // plans that move some of them are weighed
        for (long[] c : new long[][] {{64, 64}, {8, 32}}) {
            long batch = c[0];
            int devices = (int) c[1];
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
            PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, SOURCE, batch, 600);
            ProblemBuilder.Built b = ps.built(batch, devices, false, 1);
            ProblemBuilder pb = ps.builder(batch, devices, false, 1);
            double[] off = bestAndBound(ps, b, pb, devices, false);
            double[] on = bestAndBound(ps, b, pb, devices, true);
            String what = "batch " + batch + " on " + devices + ": without " + java.util.Arrays.toString(off) + ", with "
                    + java.util.Arrays.toString(on);
            assertEquals(off[1], on[1], 0, what); // the bound is the solves' alone
            assertTrue(on[2] > off[2], what);
            assertTrue(on[0] < off[0] * (1 - 1e-3), what);
            assertTrue(on[0] >= on[1] * (1 - 1e-9), what);
        }
    }
}
