package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;

/**
 * The pipeline search's memory test of a configuration ({@code mayFit}) prices memory alone: a
 * configuration it turns down prices no node's time (its builder prices no class of nodes), while those
 * it passes are priced in full. The memory parts are those of the full pricing bit for bit
 * (MemoryOnlyPartsTest), so the search decides as it did when it priced time up front.
 */
class LazyMemoryPartsTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    @Test
    void configurationsTurnedDownByMemoryPriceNoTime() throws Exception {
        int turnedDown = 0;
        for (int devices : new int[] {4, 8}) {
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64).withTimeLimit(20);
            double peak = Fixtures.oneStagePeak(p, GPT);
            for (double share : new double[] {0.5, 0.25, 0.12}) {
                Planner limited = p.withMemoryLimit(share * peak);
                String what = devices + " devices, limit " + limited.memoryLimit();
                PipelineSearch s = new PipelineSearch(limited, SearchOptions.AUTO, GPT, 64, 600);
                var plan = s.run();
                assertTrue(plan.isPresent(), what);
                int priced = 0;
                for (ProblemBuilder pb : s.memoryPartsOf.keySet()) {
                    if (pb.classesPriced() == 0) {
                        turnedDown++;
                    } else {
                        priced++;
                    }
                }
                // the configurations passed were priced in full (the plan's among them)
                assertTrue(priced > 0, what + ": no configuration priced");
            }
        }
        // some configurations were tested for memory and turned down without pricing time
        assertTrue(turnedDown > 0, turnedDown + " builders turned down unpriced");
    }
}
