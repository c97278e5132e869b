package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.onnx.ImportOptions;

/**
 * A search on the first half of another search's devices (Planner's copies on fewer devices a stage) takes the other's
 * builders of the stages both have alike ({@link PipelineSearch#adoptBuilders}): the same builder objects, and the same
 * bounds and plans as a search that makes its own.
 */
class AdoptedBuildersTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    @Test
    void aSearchOnHalfTheDevicesTakesTheBuildersOfItsStagesAndPricesAlike() throws Exception {
        Cluster all = Fixtures.a100(16);
        Planner p = Planner.forCluster(all).withBatch(64).withTimeLimit(60);
        PipelineSearch big = new PipelineSearch(p, SearchOptions.AUTO.withThreads(1), GPT, 64, 600);
        big.run().orElseThrow();
        Planner half = p.withCluster(PipelineSearch.submesh(all, 8));
        PipelineSearch taken = new PipelineSearch(half, SearchOptions.AUTO.withThreads(1), GPT, 64, 600);
        taken.adoptModels(big);
        taken.adoptBuilders(big);
        PipelineSearch own = new PipelineSearch(half, SearchOptions.AUTO.withThreads(1), GPT, 64, 600);
        own.adoptModels(big);
        assertTrue(taken.adopted > 0, "no builder taken");
        assertEquals(0, own.adopted);
        int compared = 0;
        for (int stages : new int[] {2, 4, 8}) {
            int devices = 8 / stages;
            for (int m : new int[] {stages, 2 * stages}) {
                long micro = 64 / m;
                String what = stages + " stages, " + m + " micro-batches";
                if (big.hasBuilder(micro, devices, false, 1)) {
                    assertSame(big.builder(micro, devices, false, 1), taken.builder(micro, devices, false, 1), what);
                    assertNotSame(big.builder(micro, devices, false, 1), own.builder(micro, devices, false, 1), what);
                    compared++;
                }
                double a = taken.stepLowerBound(taken.coarse(micro), micro, taken.builder(micro, devices, false, 1), stages, m);
                double b = own.stepLowerBound(own.coarse(micro), micro, own.builder(micro, devices, false, 1), stages, m);
                assertEquals(b, a, 0.0, what);
                Optional<PipelineSearch.Outcome> x = taken.price(stages, m, false, 1);
                Optional<PipelineSearch.Outcome> y = own.price(stages, m, false, 1);
                assertEquals(y.isPresent(), x.isPresent(), what);
                if (y.isPresent()) {
                    PipelineSearchTest.assertSameConfiguration(y.get(), x.get(), 0, what);
                    assertArrayEquals(y.get().choice(), x.get().choice(), what);
                    assertArrayEquals(y.get().bounds(), x.get().bounds(), what);
                    assertEquals(y.get().lowerBound(), x.get().lowerBound(), 0.0, what);
                }
            }
        }
        assertTrue(compared > 0, "no stage of the half's configurations was among the whole search's");
        // one stage on all of the half's devices is the whole search's stage of two: taken too, and priced alike
        assertTrue(big.hasBuilder(64, 8, false, 1), "the whole search's two stages of one micro-batch");
        assertSame(big.builder(64, 8, false, 1), taken.builder(64, 8, false, 1));
        assertEquals(own.stepLowerBound(own.coarse(64), 64, own.builder(64, 8, false, 1), 1, 1),
                taken.stepLowerBound(taken.coarse(64), 64, taken.builder(64, 8, false, 1), 1, 1), 0.0);
        PipelineSearch.Outcome x = taken.price(1, 1, false, 1).orElseThrow();
        PipelineSearch.Outcome y = own.price(1, 1, false, 1).orElseThrow();
        PipelineSearchTest.assertSameConfiguration(y, x, 0, "one stage");
        assertArrayEquals(y.choice(), x.choice());
        assertEquals(y.lowerBound(), x.lowerBound(), 0.0);
    }
}
