package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;

/**
 * A model imported again at other batch sizes ({@link OnnxImporter#reread}) converts the first read's parse:
 * the file is not read again (it may be gone), and each graph equals a fresh read of the file at its size,
 * node by node with every value's name, kind, type and constant contents.
 */
class RereadTest {
    @TempDir
    Path dir;

    private static void assertSameGraph(Graph fresh, Graph again, String what) {
        assertEquals(fresh.nodes().size(), again.nodes().size(), what);
        for (int i = 0; i < fresh.nodes().size(); i++) {
            Node a = fresh.nodes().get(i);
            Node b = again.nodes().get(i);
            assertEquals(a.name(), b.name(), what);
            assertEquals(a.opType(), b.opType(), what + ": " + a.name());
            assertEquals(a.attributes().toString(), b.attributes().toString(), what + ": " + a.name());
            assertEquals(a.inputs().size(), b.inputs().size(), what + ": " + a.name());
            for (int k = 0; k < a.inputs().size(); k++) {
                assertSameValue(a.inputs().get(k), b.inputs().get(k), what + ": " + a.name() + " input " + k);
            }
            for (int k = 0; k < a.outputs().size(); k++) {
                assertSameValue(a.outputs().get(k), b.outputs().get(k), what + ": " + a.name() + " output " + k);
            }
        }
        assertEquals(fresh.inputs().toString(), again.inputs().toString(), what);
        assertEquals(fresh.outputs().toString(), again.outputs().toString(), what);
    }

    private static void assertSameValue(Value a, Value b, String what) {
        assertEquals(a.name(), b.name(), what);
        assertEquals(a.kind(), b.kind(), what);
        assertEquals(a.type(), b.type(), what);
        assertEquals(a.constant().isPresent(), b.constant().isPresent(), what);
        if (a.constant().isPresent() && a.constant().get().hasValues()) {
            long n = a.constant().get().numElements();
            assertEquals(n, b.constant().get().numElements(), what);
            for (int i = 0; i < n; i += (int) Math.max(1, n / 64)) {
                assertEquals(Double.doubleToLongBits(a.constant().get().getDouble(i)),
                        Double.doubleToLongBits(b.constant().get().getDouble(i)), what + " element " + i);
            }
        }
    }

    @Test
    void rereadsConvertTheFirstParseAndEqualFreshReads() throws Exception {
        Path file = Files.copy(RealModelsTest.MODELS.resolve("densenet121.onnx"), dir.resolve("densenet121.onnx"));
        ImportedModel first = OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 128L)));
        Graph[] fresh = new Graph[3];
        long[] sizes = {64, 16, 1};
        for (int i = 0; i < sizes.length; i++) {
            fresh[i] = OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", sizes[i]))).graph();
        }
        String sha = first.info().sha256();
        Files.delete(file);
        for (int i = 0; i < sizes.length; i++) {
            ImportedModel again = OnnxImporter.reread(first, ImportOptions.DEFAULT.withDims(Map.of("batch", sizes[i])));
            assertSameGraph(fresh[i], again.graph(), "batch " + sizes[i]);
            assertEquals(sha, again.info().sha256());
            assertSame(first.info().hash(), again.info().hash());
            assertEquals(first.info().fileBytes(), again.info().fileBytes());
        }
    }
}
