package org.shardplan.onnx.edit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.onnx.OnnxImporter;

class ModelEditTest {
    private static final Path MODELS = Path.of("..").toAbsolutePath().normalize().resolve("build-data/models");

    @TempDir
    Path tmp;

    /** A model built from scratch: Gemm(x, W, b) -> Relu, read back by the importer with its attributes. */
    @Test
    void newModelReadsBackWithAttributesAndShapes() throws Exception {
        byte[] bytes = ModelBuilder.create(8, Map.of("", 17L)).graphName("tiny")
                .input(ValueEntry.tensor("x", 1, List.of("N", 3)))
                .initializer(TensorEntry.floats("W", new long[] {3, 2}, new float[] {1, 2, 3, 4, 5, 6}))
                .initializer(TensorEntry.floats("b", new long[] {2}, new float[] {0.5f, -0.5f}))
                .node(NodeSpec.of("Gemm", "fc").inputs("x", "W", "b").outputs("h").attr("alpha", 2.0f)
                        .attr("transB", 0L))
                .node(NodeSpec.of("Relu", "act").inputs("h").outputs("y"))
                .output(ValueEntry.tensor("y", 1, List.of("N", 2)))
                .bytes();
        Path f = Files.write(tmp.resolve("tiny.onnx"), bytes);
        Graph g = OnnxImporter.read(f).graph();
        assertEquals(List.of("fc", "act"), g.nodes().stream().map(Node::name).toList());
        Node fc = g.node("fc").orElseThrow();
        assertEquals(2.0f, fc.attrFloat("alpha", 1f));
        assertEquals(0L, fc.attrInt("transB", 7));
        assertEquals(3 * 2 + 2, g.parameterCount());

        ModelFile m = ModelFile.read(f);
        assertEquals(8, m.irVersion());
        assertEquals(17L, m.opsets().get(""));
        assertArrayEquals(new long[] {3, 2}, m.initializer("W").orElseThrow().dims());
        assertEquals(1, m.initializer("W").orElseThrow().dataType());
        assertEquals(List.of("x", "W", "b"), m.nodes().get(0).inputs());
    }

    /** A value's dimensions read back as they were written: numbers, names and unknowns. */
    @Test
    void valueDimensionsReadBack() {
        java.util.List<Object> written = new java.util.ArrayList<>(List.of("batch", 3L));
        written.add(null);
        ValueEntry v = ValueEntry.tensor("x", 1, written);
        assertEquals(written, v.dims());
        assertEquals(written, v.withName("y").dims());
        assertEquals(List.of(), ValueEntry.tensor("r", 1, null).dims(), "no shape, no dimensions");
    }

    /** Renaming a node's values keeps its attributes; appended fields stay readable. */
    @Test
    void nodeEditsKeepEverythingElse() {
        NodeEntry n = NodeSpec.of("Conv", "c1").inputs("x", "w").outputs("y").attr("strides", new long[] {2, 2})
                .entry();
        NodeEntry r = n.withInputs(List.of("x2", "w")).withOutputs(List.of("y2")).withName("c2")
                .withFields(new Proto().string(6, "a doc string"));
        assertEquals(List.of("x2", "w"), r.inputs());
        assertEquals(List.of("y2"), r.outputs());
        assertEquals("c2", r.name());
        assertEquals("Conv", r.opType());
        long attrs = Wire.fields(r.raw()).stream().filter(f -> f.number() == NodeEntry.ATTRIBUTE).count();
        assertEquals(1, attrs);
        assertEquals("a doc string", Wire.fields(r.raw()).stream().filter(f -> f.number() == 6).findFirst()
                .orElseThrow().string());
        assertEquals(0, Wire.fields(r.withoutField(6).raw()).stream().filter(f -> f.number() == 6).count());
    }

    /** A real export copied through the editor imports to the same graph. */
    @Test
    void copyOfARealModelImportsTheSame() throws Exception {
        Path src = MODELS.resolve("resnet18.onnx");
        assumeTrue(Files.exists(src), "resnet18.onnx missing (run dev/setup-test-data)");
        ModelFile m = ModelFile.read(src);
        Path out = ModelBuilder.copyOf(m).write(tmp.resolve("copy.onnx"));
        ImportedModel a = OnnxImporter.read(src);
        ImportedModel b = OnnxImporter.read(out);
        assertEquals(a.graph().nodes().size(), b.graph().nodes().size());
        assertEquals(a.graph().parameterCount(), b.graph().parameterCount());
        assertEquals(a.graph().nodes().stream().map(Node::name).toList(),
                b.graph().nodes().stream().map(Node::name).toList());
    }

    /**
     * The first half of a real export's nodes as a model of its own: the values it reads from outside
     * become inputs (typed from the original's value infos or the importer), those read later become
     * outputs, and only the initializers it uses are kept.
     */
    @Test
    void prefixOfARealModelIsAModel() throws Exception {
        Path src = MODELS.resolve("resnet18.onnx");
        assumeTrue(Files.exists(src), "resnet18.onnx missing (run dev/setup-test-data)");
        ModelFile m = ModelFile.read(src);
        List<NodeEntry> head = m.nodes().subList(0, m.nodes().size() / 2);
        Set<String> inits = new HashSet<>();
        m.initializers().forEach(t -> inits.add(t.name()));
        Set<String> produced = new HashSet<>();
        head.forEach(n -> produced.addAll(n.outputs()));
        Set<String> used = new LinkedHashSet<>();
        head.forEach(n -> used.addAll(n.inputs()));
        Set<String> usedLater = new HashSet<>();
        m.nodes().subList(head.size(), m.nodes().size()).forEach(n -> usedLater.addAll(n.inputs()));

        Graph whole = OnnxImporter.read(src).graph();
        ModelBuilder b = ModelBuilder.like(m);
        for (String v : used) {
            if (!produced.contains(v) && !inits.contains(v) && !v.isEmpty()) {
                b.input(m.valueInfo(v).orElseThrow());
            }
        }
        head.forEach(b::node);
        List<String> crossing = new ArrayList<>();
        for (NodeEntry n : head) {
            for (String o : n.outputs()) {
                if (usedLater.contains(o)) {
                    crossing.add(o);
                    var t = whole.value(o).orElseThrow().type();
                    b.output(ValueEntry.tensor(o, 1, t.shape().dims().stream().map(ModelEditTest::dim).toList()));
                }
            }
        }
        m.initializers().stream().filter(t -> used.contains(t.name())).forEach(b::initializer);
        Path out = b.write(tmp.resolve("head.onnx"));

        Graph g = OnnxImporter.read(out).graph();
        assertEquals(head.size(), g.nodes().size());
        assertEquals(crossing, g.outputs().stream().map(v -> v.name()).toList());
        assertTrue(g.parameterCount() > 0 && g.parameterCount() < whole.parameterCount(),
                "the head keeps some but not all weights: " + g.parameterCount() + " of " + whole.parameterCount());
        long expected = m.initializers().stream().filter(t -> used.contains(t.name()))
                .mapToLong(t -> { long n = 1; for (long d : t.dims()) { n *= d; } return n; }).sum();
        assertEquals(expected, g.parameterCount());
    }

    private static Object dim(org.shardplan.graph.Dim d) {
        if (d instanceof org.shardplan.graph.Dim.Fixed f) {
            return f.value();
        }
        return d instanceof org.shardplan.graph.Dim.Symbolic s ? s.name() : null;
    }

    @Test
    void truncatedFilesAreNamedErrors() throws Exception {
        byte[] bytes = ModelBuilder.create(8, Map.of("", 17L))
                .node(NodeSpec.of("Relu", "r").inputs("x").outputs("y")).bytes();
        Path f = Files.write(tmp.resolve("cut.onnx"), java.util.Arrays.copyOf(bytes, bytes.length - 3));
        OnnxImportException e = assertThrows(OnnxImportException.class, () -> ModelFile.read(f));
        assertTrue(e.getMessage().startsWith(f + ": is not a valid ONNX model"), e.getMessage());
        OnnxImportException missing = assertThrows(OnnxImportException.class,
                () -> ModelFile.read(tmp.resolve("none.onnx")));
        assertTrue(missing.getMessage().endsWith("file not found"), missing.getMessage());
    }
}
