package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.parareal.Models;

/**
 * A pipeline's sweep of micro-batch counts below its first count goes on past one count that is slower or bounded:
 * the steps are not monotone in the count. The LSTM language model of the test models at batch 8 on 64 A100s: four
 * stages are bounded at 4 and 2 micro-batches by the plan found then, and run 0.301 ms at 1; a sweep that stopped at
 * the first bounded count kept two stages at 0.354 ms.
 */
class FewerMicroBatchesTest {

    @Test
    void fewerMicroBatchesAreTriedPastABoundedCount() throws Exception {
        Path file = Models.file("lstm_lm.onnx");
        ModelSource src = b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 35L))).graph();
        Planner planner = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 64)).withBatch(8)
                .withTimeLimit(60).withSearch(SearchOptions.AUTO);
        Plan p = planner.plan(src);
        String what = p.parallelism() + " " + p.totals().stepSeconds() + " s";
        assertEquals(4, p.parallelism().pipeline(), what);
        assertEquals(1, p.parallelism().microBatches(), what);
        assertTrue(p.totals().stepSeconds() < 0.354e-3 * 0.9, what);
        // the plan is priced the same by the evaluator
        assertEquals(p.totals().stepSeconds(), planner.evaluate(p, src).plan().totals().stepSeconds(),
                1e-9 * p.totals().stepSeconds());
    }
}
