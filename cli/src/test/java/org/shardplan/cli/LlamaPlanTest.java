package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import org.shardplan.planner.eval.PlanEvaluator;

/**
 * Plans the Llama-style decoder of {@code dev/export-models.py} (RMSNorm, rotary embeddings, SwiGLU,
 * 8 query heads sharing 2 KV heads through repeat_interleave, 4 layers) on 8 A100s: its attention, MLPs and
 * norms all have iteration spaces, and with a batch of one the attention splits by query heads.
 */
class LlamaPlanTest {

    static Plan plan(Graph g, long batch) throws Exception {
        return Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(batch)
                .withTimeLimit(60).plan(g);
    }

    @Test
    void everyLayerOperatorIsSplittableAndThePlanIsValid() throws Exception {
        Graph g = OnnxImporter.read(WeightsFreeModelsTest.model("llama_gqa.onnx"),
                ImportOptions.DEFAULT.withDims(Map.of("batch", 8L, "seq", 128L))).graph();
        Plan p = plan(g, 8);
        Set<String> layerOps = Set.of("MatMul", "Softmax", "RMSNormalization", "SwiGLU", "Reshape", "Expand",
                "Split", "Concat", "Transpose", "Unsqueeze");
        long attention = 0;
        for (PlanNode n : p.nodes()) {
            if (layerOps.contains(n.op())) {
                assertTrue(n.supported(), n.name() + " (" + n.op() + ") has no iteration space");
            }
            attention += n.op().equals("Softmax") ? 1 : 0;
        }
        assertEquals(4, attention);
        assertEquals(9, p.nodes().stream().filter(n -> n.op().equals("RMSNormalization")).count());
        assertEquals(4, p.nodes().stream().filter(n -> n.op().equals("SwiGLU")).count());
        // the causal mask (Trilu) is the only operator planned replicated
        assertEquals(List.of("operators without an iteration space, planned as replicated: Trilu (1 node)"), p.warnings());
        for (Plan.Baseline b : p.baselines().values()) {
            assertTrue(!b.fits() || p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12), b.toString());
        }
        PlanEvaluator.Result r = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8))
                .withBatch(8).evaluate(p, g);
        assertTrue(r.valid(), r.violations().toString());
    }

    @Test
    void withABatchOfOneAttentionIsSplitOverHeadsQueriesOrKeys() throws Exception {
        Graph g = OnnxImporter.read(WeightsFreeModelsTest.model("llama_gqa.onnx"),
                ImportOptions.DEFAULT.withDims(Map.of("batch", 1L, "seq", 512L))).graph();
        // q k^T of the first layer (b0 the batch of one, b1 the 8 query heads, m the queries, n the keys, k the
        // head dimension): fused or not, the 8 devices split it over heads, queries or keys, never over the
        // reduction, and the plan is valid
        for (boolean fused : new boolean[] {true, false}) {
            Plan p = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(1)
                    .withTimeLimit(60).withAttention(fused).plan(g);
            PlanNode scores = p.nodes().stream().filter(n -> n.name().equals("/MatMul")).findFirst().orElseThrow();
            long devices = 1;
            for (Map.Entry<String, Integer> e : scores.strategy().entrySet()) {
                assertTrue(java.util.Set.of("b1", "m", "n").contains(e.getKey()), scores.strategyText());
                devices *= e.getValue();
            }
            assertEquals(8, devices, scores.strategyText());
        }
    }

    @Test
    void theCommandLinePlansItWithoutWarningsForTheAttention() {
        CliRun r = CliRun.of("plan", WeightsFreeModelsTest.model("llama_gqa.onnx").toString(), "--batch", "8",
                "--dim", "seq=128");
        assertEquals(0, r.code(), r.err());
        for (String line : r.out().split("\n")) {
            if (line.startsWith("warning:")) {
                assertTrue(!line.contains("MatMul") && !line.contains("Loop") && !line.contains("Sequence"), line);
            }
        }
        assertTrue(r.out().contains("SwiGLU"), r.out());
    }
}
