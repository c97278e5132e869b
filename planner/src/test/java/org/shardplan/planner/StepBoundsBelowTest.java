package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;

/**
 * A one-stage configuration priced for a caller that keeps only plans faster than a given step ({@link
 * PipelineSearch#stepBoundsBelow}, the copies' searches on fewer devices) gets no step bound where its bound before the
 * step's own already reaches that step, and gets it as before where it does not: the plan is the solve's, its bound the
 * one before, both no better than with the step bound.
 */
class StepBoundsBelowTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static PipelineSearch search(double below) {
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(60);
        PipelineSearch s = new PipelineSearch(p, SearchOptions.AUTO.withThreads(1), GPT, 64, 600);
        s.stepBoundsBelow = below;
        return s;
    }

    @Test
    void theStepBoundIsLeftOutOnlyWhereTheBoundBeforeItReachesTheCallersStep() throws Exception {
        PipelineSearch full = search(Double.POSITIVE_INFINITY);
        PipelineSearch.Outcome a = full.price(1, 1, false, 1).orElseThrow();
        assertEquals(1, full.stepBounds, "the step bound of the one-stage configuration");
        assertEquals(0, full.stepBoundsLeftOut);

        // a caller that keeps only plans faster than any this configuration has: the step bound left out
        PipelineSearch skipped = search(1e-9);
        PipelineSearch.Outcome b = skipped.price(1, 1, false, 1).orElseThrow();
        assertEquals(0, skipped.stepBounds, "no step bound");
        assertEquals(1, skipped.stepBoundsLeftOut);
        assertTrue(b.lowerBound() >= 1e-9, "the bound before the step's own reaches the caller's step");
        assertTrue(b.lowerBound() <= a.lowerBound() * (1 + 1e-12), "the bound before it is no better: " + b.lowerBound()
                + " against " + a.lowerBound());
        assertTrue(b.lowerBound() <= b.stepSeconds() * (1 + 1e-12), "a bound of its own plan");
        assertTrue(b.stepSeconds() >= a.stepSeconds() * (1 - 1e-12), "the step bound's minimisers only make it faster");

        // just above that bound: the bound before does not reach the caller's step, and the step bound runs as before
        PipelineSearch kept = search(Math.nextUp(b.lowerBound()));
        PipelineSearch.Outcome c = kept.price(1, 1, false, 1).orElseThrow();
        assertEquals(1, kept.stepBounds, "the step bound where the bound before it is below the caller's step");
        assertEquals(0, kept.stepBoundsLeftOut);
        assertEquals(a.stepSeconds(), c.stepSeconds(), 0.0);
        assertEquals(a.lowerBound(), c.lowerBound(), 0.0);
        assertArrayEquals(a.choice(), c.choice());
    }
}
