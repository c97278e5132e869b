package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/**
 * One MViT-style attention block exported by torch (dev/export-models.py, {@code RelPosAttention}): its query normalised
 * by a written-out LayerNorm and then scaled, and a relative-position term written into the scores by a slice
 * assignment, which torch exports as a ScatterND whose index tensor the graph builds (Range, Expand, Concat). Split by
 * the batch alone, nothing but the gradients has to move: the ScatterND is read as Slices and Concats, and the scaled
 * query keeps the batch split of the LayerNorm it is fused into. Before, the ScatterND ran whole on every device and the
 * query was gathered onto each (7.0 MB a device at 64 devices against 0.05 MB of gradients).
 */
class SliceAssignmentModelTest {

    @Test
    void aBatchSplitMovesOnlyTheGradients() throws Exception {
        Path file = PlanRealModelsTest.model("relpos_attention.onnx");
        ImportedModel m = OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 64L)));
        Graph g = m.graph();
        assertTrue(g.nodes().stream().map(Node::opType).noneMatch("ScatterND"::equals), "the ScatterND stayed");
        assertTrue(m.warnings().stream().anyMatch(w -> w.contains("1 ScatterND writing a box")), m.warnings().toString());
        long parameters = 0;
        for (Value p : g.parameters()) {
            parameters += p.shape().numElements().orElseThrow();
        }
        for (int devices : new int[] {8, 64}) {
            Plan p = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), devices)).withBatch(64)
                    .withTimeLimit(60).withSearch(SearchOptions.AUTO.withPipeline(1).withData(devices)).plan(g);
            assertEquals(devices, p.parallelism().data(), p.parallelism().toString());
            for (PlanNode n : p.nodes()) {
                assertTrue(!n.strategy().isEmpty(), n.name() + " runs whole on every device");
            }
            // the gradients' all-reduce: 2 (p - 1) / p of the gradients' bytes (2 bytes each, mixed precision) a device
            double gradients = 2.0 * (devices - 1) / devices * 2 * parameters;
            assertTrue(p.totals().communicationBytes() <= gradients * (1 + 1e-9),
                    devices + " devices: " + p.totals().communicationBytes() + " bytes a device, the gradients " + gradients);
        }
    }
}
