package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.parareal.Models;

/**
 * The exact partition that is certain to exceed its budget of stage solves is not started
 * ({@code PipelineSearch.certainlyOverBudget}): the configurations priced with the check and without it
 * are the same (bounds, layouts, step), and the check does fire on DenseNet-121, whose graph has no
 * repeated layers to share stage solves.
 */
class CertainBudgetTest {

    private static ModelSource file(String name) {
        Path f = Models.file(name);
        return b -> OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
    }

    /** Prices each configuration {stages, micro-batches} with the check on and off; the number of times it fired. */
    private static int compare(ModelSource model, int devices, long batch, int[][] configs) throws Exception {
        Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        SearchOptions so = SearchOptions.AUTO;
        int fired = 0;
        for (int[] c : configs) {
            PipelineSearch on = new PipelineSearch(planner, so, model, batch, 600);
            PipelineSearch off = new PipelineSearch(planner, so, model, batch, 600);
            for (PipelineSearch ps : new PipelineSearch[] {on, off}) {
                ps.useBound = false;
                ps.defer = false;
            }
            off.budgetCheck = false;
            Optional<PipelineSearch.Outcome> a = on.price(c[0], c[1], false, 1);
            Optional<PipelineSearch.Outcome> b = off.price(c[0], c[1], false, 1);
            String what = devices + " devices, " + c[0] + " stages, " + c[1] + " micro-batches";
            assertEquals(b.isPresent(), a.isPresent(), what);
            if (a.isPresent()) {
                assertArrayEquals(b.get().bounds(), a.get().bounds(), what);
                assertArrayEquals(b.get().choice(), a.get().choice(), what);
                assertEquals(b.get().stepSeconds(), a.get().stepSeconds(), 0.0, what);
                assertEquals(b.get().schedule().name(), a.get().schedule().name(), what);
            }
            // a partition stopped early is one that would have stopped at the budget: both keep the balanced one
            assertEquals(off.overBudget, on.overBudget, what);
            assertEquals(0, off.certainOverBudget, what);
            if (on.certainOverBudget > 0) {
                assertArrayEquals(off.lastCut.balanced(), off.lastCut.bounds(), what + ": stopped at the budget too");
            }
            fired += on.certainOverBudget;
        }
        return fired;
    }

    @Test
    void densenetConfigurationsAreTheSameWithTheCheck() throws Exception {
        ModelSource densenet = file("densenet121.onnx");
        // the lower bounds of the exact partition need a solve per segment shape, more than its budget (16 + 4 P)
        int fired = compare(densenet, 64, 128, new int[][] {{64, 64}, {8, 8}});
        assertEquals(2, fired, "the check fired in " + fired + " of the 2 configurations");
    }

    @Test
    void underSmallBudgetsAGptPartitionsTheSameWithTheCheck() throws Exception {
        // a chain of repeated layers needs 5 solves here: below that the check stops the partition (before its
        // lower bounds or the ranges it announces) where the look-ups would stop at the budget, from 5 on it
        // never fires; every budget gives the same configuration with and without it
        String old = System.getProperty("shardplan.partitionSolves");
        int fired = 0;
        try {
            for (int budget = 2; budget <= 6; budget++) {
                System.setProperty("shardplan.partitionSolves", Integer.toString(budget));
                fired += compare(ExactPartitionTest.GPT, 16, 32, new int[][] {{2, 4}, {4, 8}});
            }
        } finally {
            if (old == null) {
                System.clearProperty("shardplan.partitionSolves");
            } else {
                System.setProperty("shardplan.partitionSolves", old);
            }
        }
        assertTrue(fired >= 1, "the check never fired");
    }

    @Test
    void inceptionAndUnetConfigurationsAreTheSameWithTheCheck() throws Exception {
        compare(file("inception_v3.onnx"), 8, 128, new int[][] {{8, 8}, {4, 4}});
        compare(file("unet_small.onnx"), 8, 32, new int[][] {{8, 8}, {2, 2}});
    }
}
