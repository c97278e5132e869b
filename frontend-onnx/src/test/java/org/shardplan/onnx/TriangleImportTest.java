package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Triangle;
import org.shardplan.graph.Value;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/** The importer's triangle summaries of parameters whose values it does not keep (read from the file's bytes). */
class TriangleImportTest {
    @TempDir
    Path tmp;

    @Test
    void largeBuffersAreSummarisedFromTheirBytesAndOthersAreNot() throws Exception {
        // int64 [1, 1, 300, 300] (90,000 elements, over what the import keeps): tril(ones), as a causal buffer
        int n = 300;
        long[] tril = new long[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                tril[i * n + j] = 1;
            }
        }
        // float [2, 260, 260] (135,200): 0 on and below the diagonal, -inf above, in both blocks but for one
        // element of the second (row 259, column 259: on the diagonal, -inf)
        int m = 260;
        float[] additive = new float[2 * m * m];
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < m; i++) {
                for (int j = i + 1; j < m; j++) {
                    additive[b * m * m + i * m + j] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        float[] broken = additive.clone();
        broken[2 * m * m - 1] = Float.NEGATIVE_INFINITY;
        // a trained-like weight [256, 256]: no summary (the scan stops in its first row)
        float[] weight = new float[256 * 256];
        for (int k = 0; k < weight.length; k++) {
            weight[k] = (float) Math.sin(k);
        }
        ModelBuilder b = ModelBuilder.create(8, Map.of("", 17L));
        b.input(ValueEntry.tensor("x", 1, List.of(4)));
        b.output(ValueEntry.tensor("y", 1, List.of(4)));
        b.node(NodeSpec.of("Relu", "relu").inputs("x").outputs("y"));
        b.initializer(TensorEntry.longs("tril", new long[] {1, 1, n, n}, tril));
        b.initializer(TensorEntry.floats("additive", new long[] {2, m, m}, additive));
        b.initializer(TensorEntry.floats("broken", new long[] {2, m, m}, broken));
        b.initializer(TensorEntry.floats("weight", new long[] {256, 256}, weight));
        Graph g = OnnxImporter.read(b.write(tmp.resolve("buffers.onnx"))).graph();
        Value t = g.value("tril").orElseThrow();
        assertEquals(Value.Kind.PARAMETER, t.kind());
        assertTrue(t.constant().isEmpty(), "90,000 int64 values are not kept");
        assertEquals(Optional.of(new Triangle(1, 0)), t.triangle());
        assertEquals(Optional.of(new Triangle(0, Double.NEGATIVE_INFINITY)), g.value("additive").orElseThrow().triangle());
        assertEquals(Optional.empty(), g.value("broken").orElseThrow().triangle());
        assertEquals(Optional.empty(), g.value("weight").orElseThrow().triangle());
    }
}
