package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.strategy.Layout;

/**
 * The memory tests skip the candidates' memory where every node replicated fits ({@code PipelineSearch.fitsWhatever}):
 * the replicated memory bounds every candidate's from above, and the search finds the same plan either way.
 */
class FitsWhateverTest {

    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static ModelSource onnx(String name) {
        Path file = Models.file(name);
        return b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
    }

    /** Every candidate's {parameter, activation} bytes at most the node's replicated pair, under each memory setting. */
    @Test
    void theReplicatedNodeBoundsEveryCandidatesMemory() throws Exception {
        int checked = 0;
        for (Object[] c : List.of(new Object[] {"densenet121", onnx("densenet121.onnx"), 8L},
                new Object[] {"gpt", GPT, 16L}, new Object[] {"llama", onnx("llama_gqa.onnx"), 8L},
                new Object[] {"unet", onnx("unet_small.onnx"), 8L})) {
            ModelSource src = (ModelSource) c[1];
            long batch = (Long) c[2];
            Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(batch).withTimeLimit(60);
            PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO.withThreads(1), src, batch, 600);
            for (long micro : new long[] {batch, batch / 2}) {
                CoarseGraph cg = ps.coarse(micro);
                for (int devices : new int[] {16, 4, 1}) {
                    for (boolean rc : new boolean[] {false, true}) {
                        for (int zero : new int[] {0, 1, 3}) {
                            ProblemBuilder pb = ps.builder(micro, devices, rc, zero);
                            Map<String, List<Layout>> req = PipelineSearch.required(cg, micro, pb);
                            double[][][] parts = pb.memoryOnlyParts(cg, req);
                            double[][] rep = pb.replicatedMemory(cg);
                            assertEquals(parts.length, rep.length);
                            for (int i = 0; i < parts.length; i++) {
                                for (double[] cand : parts[i]) {
                                    String what = c[0] + " micro " + micro + " on " + devices + " rc " + rc + " zero " + zero
                                            + " node " + cg.nodes().get(i).name() + ": " + cand[0] + ", " + cand[1]
                                            + " against " + rep[i][0] + ", " + rep[i][1];
                                    assertTrue(cand[0] <= rep[i][0] * (1 + 1e-9) + 1e-6, what);
                                    assertTrue(cand[1] <= rep[i][1] * (1 + 1e-9) + 1e-6, what);
                                    checked++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 10_000, "candidates checked: " + checked);
    }

    /** The whole search with and without the shortcut: the same plan, configurations and bound; none where memory binds. */
    @Test
    void theSearchFindsTheSamePlanEitherWay() throws Exception {
        boolean was = PipelineSearch.fitsWhatever;
        try {
            Planner base = Planner.forCluster(Fixtures.a100(16)).withBatch(64).withTimeLimit(60);
            double peak = Fixtures.oneStagePeak(base, GPT);
            for (double share : new double[] {1000, 0.3}) {
                Planner p = base.withMemoryLimit(share * peak);
                PipelineSearch.Outcome[] o = new PipelineSearch.Outcome[2];
                PipelineSearch[] s = new PipelineSearch[2];
                for (int k = 0; k < 2; k++) {
                    PipelineSearch.fitsWhatever = k == 1;
                    s[k] = new PipelineSearch(p, SearchOptions.AUTO.withThreads(1), GPT, 64, 600);
                    o[k] = s[k].run().orElseThrow();
                }
                String what = "limit " + share + " of one stage's peak";
                PipelineSearchTest.assertSameConfiguration(o[0], o[1], 0, what);
                assertArrayEquals(o[0].choice(), o[1].choice(), what);
                assertArrayEquals(o[0].bounds(), o[1].bounds(), what);
                assertEquals(o[0].lowerBound(), o[1].lowerBound(), 0.0, what);
                assertEquals(s[0].configurations, s[1].configurations, what);
                assertEquals(0, s[0].fitWhatever, what);
                if (share > 1) {
                    assertTrue(s[1].fitWhatever > 0, what + ": no memory test answered without the candidates");
                } else {
                    assertEquals(0, s[1].fitWhatever, what + ": a memory test answered where memory binds");
                }
            }
        } finally {
            PipelineSearch.fitsWhatever = was;
        }
    }
}
