package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;

/**
 * A text CNN with k-max pooling exported by torch (dev/export-models.py, {@code KMaxTextCnn}): {@code torch.gather} and
 * {@code Tensor.scatter} become GatherElements and ScatterElements, which split by the batch like the convolution
 * before them instead of running whole on every device.
 */
class GatherScatterModelTest {

    @Test
    void torchsGatherAndScatterSplitByTheBatch() throws Exception {
        CoarseGraph g = Coarsening.coarsen(OnnxImporter.read(PlanRealModelsTest.model("kmax_textcnn.onnx"),
                ImportOptions.DEFAULT.withDims(Map.of("batch", 64L))).graph());
        int found = 0;
        for (CoarseNode c : g.nodes()) {
            String op = c.anchor().opType();
            if (op.equals("GatherElements") || op.equals("ScatterElements")) {
                found++;
                var space = CoarseSpaces.of(c).orElseThrow(() -> new AssertionError(c.name() + " has no iteration space"));
                assertEquals(64, space.dim("d0").orElseThrow().extent(), c.name());
                assertTrue(space.dim("d0").orElseThrow().kind().name().equals("PARALLEL"), c.name());
            }
        }
        assertEquals(2, found, "the export's GatherElements and ScatterElements");
    }
}
