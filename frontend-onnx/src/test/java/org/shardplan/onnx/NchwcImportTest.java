package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/** ONNX Runtime's blocked-layout (com.microsoft.nchwc) operators, in models built by hand. */
class NchwcImportTest {
    @TempDir
    Path tmp;

    private static TensorEntry zeros(String name, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        return TensorEntry.floats(name, dims, new float[n]);
    }

    /**
     * x[1,3,10,10] -> ReorderInput -> nchwc Conv (filter [16, 8, 3, 3]: 3 input channels padded to
     * 8, 16 outputs, Relu fused) -> nchwc MaxPool 2x2/2 -> ReorderOutput (channels 12) -> y.
     */
    private Path model(long channels) throws Exception {
        byte[] b = ModelBuilder.create(8, Map.of("", 13L, "com.microsoft.nchwc", 1L)).graphName("nchwc")
                .input(ValueEntry.tensor("x", 1, List.of(1, 3, 10, 10)))
                .initializer(zeros("w", 16, 8, 3, 3))
                .initializer(zeros("b", 16))
                .node(NodeSpec.of("ReorderInput", "in").domain("com.microsoft.nchwc").inputs("x").outputs("xb"))
                .node(NodeSpec.of("Conv", "conv").domain("com.microsoft.nchwc").inputs("xb", "w", "b").outputs("h")
                        .attr("kernel_shape", new long[] {3, 3}).attr("pads", new long[] {1, 1, 1, 1})
                        .attr("activation", "Relu"))
                .node(NodeSpec.of("MaxPool", "pool").domain("com.microsoft.nchwc").inputs("h").outputs("p")
                        .attr("kernel_shape", new long[] {2, 2}).attr("strides", new long[] {2, 2}))
                .node(NodeSpec.of("ReorderOutput", "out").domain("com.microsoft.nchwc").inputs("p").outputs("y")
                        .attr("channels", channels))
                .output(ValueEntry.tensor("y", 1, List.of(1, channels, 5, 5)))
                .bytes();
        return Files.write(tmp.resolve("nchwc.onnx"), b);
    }

    @Test
    void blockedShapesAndWork() throws Exception {
        Graph g = OnnxImporter.read(model(12)).graph();
        Map<String, long[]> shapes = new java.util.HashMap<>();
        for (Node n : g.nodes()) {
            shapes.put(n.name(), n.output(0).shape().toLongs());
        }
        // the padded channel count comes from the consuming filter: W[1]·group = 8
        assertArrayEquals(new long[] {1, 8, 10, 10}, shapes.get("in"));
        assertArrayEquals(new long[] {1, 16, 10, 10}, shapes.get("conv"));
        assertArrayEquals(new long[] {1, 16, 5, 5}, shapes.get("pool"));
        assertArrayEquals(new long[] {1, 12, 5, 5}, shapes.get("out"));
        Node conv = g.node("conv").orElseThrow();
        // 2·|Y|·8·9 multiply-adds, |Y| bias, |Y| fused Relu; |Y| = 16·10·10
        double y = 16 * 10 * 10;
        assertEquals(2 * y * 8 * 9 + y + y, WorkAnalysis.of(conv).flops(), 1e-9);
        assertEquals(0, WorkAnalysis.of(g.node("in").orElseThrow()).flops());
        assertTrue(WorkAnalysis.of(g.node("out").orElseThrow()).complete());
        assertEquals(16 * 5 * 5 * 4, WorkAnalysis.of(g.node("pool").orElseThrow()).flops(), 1e-9);
    }

    @Test
    void reorderOutputWithMoreChannelsThanItsInputIsRefusedByName() throws Exception {
        OnnxImportException e = assertThrows(OnnxImportException.class, () -> OnnxImporter.read(model(17)));
        assertTrue(e.getMessage().contains("node 'out' (com.microsoft.nchwc.ReorderOutput)"), e.getMessage());
        assertTrue(e.getMessage().contains("attribute channels must be between 1 and the blocked channel count 16, found 17"),
                e.getMessage());
    }
}
