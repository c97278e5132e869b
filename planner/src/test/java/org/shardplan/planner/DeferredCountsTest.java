package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;

/**
 * The counts of micro-batches a second-pass sweep puts off because a stage's solve does not fit, where the count it
 * keeps is not bound by memory, are priced again at the next ZeRO stage after the second pass.
 */
class DeferredCountsTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 128, vocabulary 2048. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=128,vocab=2048",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    @Test
    void countsPutOffForMemoryAreNotedForTheNextZeroStageAndThePlanIsNeverSlower() throws Exception {
        boolean was = PipelineSearch.deferredBinds;
        int noted = 0;
        List<String> seen = new ArrayList<>();
        try {
            for (int devices : List.of(4, 8)) {
                Planner base = Planner.forCluster(Fixtures.a100(devices)).withBatch(64).withTimeLimit(30);
                double peak = Fixtures.oneStagePeak(base, GPT);
                for (double share : new double[] {0.5, 0.35, 0.25, 0.15}) {
                    Planner p = base.withMemoryLimit(share * peak);
                    PipelineSearch.deferredBinds = true;
                    PipelineSearch on = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 30);
                    var a = on.run();
                    PipelineSearch.deferredBinds = false;
                    PipelineSearch off = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 30);
                    var b = off.run();
                    String what = devices + " devices, limit " + share + " of one stage's peak";
                    seen.add(what + ": " + on.nextZero.size() + " noted, " + off.nextZero.size() + " without");
                    assertEquals(a.isPresent(), b.isPresent(), what);
                    if (a.isEmpty()) {
                        continue;
                    }
                    // pricing more configurations never gives a slower plan
                    assertTrue(a.get().stepSeconds() <= b.get().stepSeconds() * (1 + 1e-12), what + ": "
                            + a.get().stepSeconds() + " > " + b.get().stepSeconds());
                    noted += on.nextZero.size() - off.nextZero.size();
                }
            }
        } finally {
            PipelineSearch.deferredBinds = was;
        }
        assertTrue(noted > 0, "no count put off for memory noted: " + seen);
    }
}
