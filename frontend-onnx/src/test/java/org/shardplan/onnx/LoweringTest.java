package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.shardplan.onnx.OnnxWriter.graph;
import static org.shardplan.onnx.OnnxWriter.graphAttr;
import static org.shardplan.onnx.OnnxWriter.int64Tensor;
import static org.shardplan.onnx.OnnxWriter.intAttr;
import static org.shardplan.onnx.OnnxWriter.model;
import static org.shardplan.onnx.OnnxWriter.node;
import static org.shardplan.onnx.OnnxWriter.tensorInfo;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;

/** Loops of known trip count, sequences known item by item, and torch's repeat_interleave reshapes. */
class LoweringTest {
    static final int FLOAT = 1;
    static final int INT64 = 7;
    static final int BOOL = 9;

    @TempDir
    Path dir;

    private static String[] s(String... x) {
        return x;
    }

    private ImportedModel load(OnnxWriter m, Map<String, Long> dims) throws Exception {
        return OnnxImporter.read(m.write(dir.resolve("m.onnx")), ImportOptions.DEFAULT.withDims(dims)
                .withTrustDeclaredShapes(false));
    }

    private static List<String> ops(Graph g) {
        return g.nodes().stream().map(Node::opType).toList();
    }

    @Test
    void aLoopOfKnownTripCountIsUnrolled() throws Exception {
        // acc <- Concat(acc, x) three times: [2, 4] grows to [8, 4]
        OnnxWriter body = graph("body")
                .input(tensorInfo("i", INT64)).input(tensorInfo("c", BOOL)).input(tensorInfo("acc", FLOAT))
                .node(node("cat", "Concat", s("acc", "x"), s("acc2"), intAttr("axis", 0)))
                .node(node("keep", "Identity", s("c"), s("c2")))
                .output(tensorInfo("c2", BOOL)).output(tensorInfo("acc2", FLOAT));
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, "n", 4))
                .initializer(int64Tensor("trip", new long[0], 3))
                .node(node("loop", "Loop", s("trip", "", "x"), s("y"), graphAttr("body", body)))
                .output(tensorInfo("y", FLOAT));
        ImportedModel m = load(model(13, g), Map.of("n", 2L));
        Graph gr = m.graph();
        assertEquals(Shape.of(8, 4), gr.outputs().get(0).shape());
        assertTrue(!ops(gr).contains("Loop"), ops(gr).toString());
        assertEquals(3, ops(gr).stream().filter("Concat"::equals).count());
        assertEquals(Shape.of(6, 4), gr.value("loop/iter1/acc2").orElseThrow().shape());
        assertTrue(m.warnings().contains("graph 'g': 1 Loop of known trip count unrolled (3 iterations)"),
                m.warnings().toString());
    }

    @Test
    void aLoopWithAnUnknownTripCountStays() throws Exception {
        OnnxWriter body = graph("body")
                .input(tensorInfo("i", INT64)).input(tensorInfo("c", BOOL)).input(tensorInfo("acc", FLOAT))
                .node(node("add", "Add", s("acc", "x"), s("acc2")))
                .node(node("keep", "Identity", s("c"), s("c2")))
                .output(tensorInfo("c2", BOOL)).output(tensorInfo("acc2", FLOAT));
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2, 4)).input(tensorInfo("trip", INT64))
                .node(node("loop", "Loop", s("trip", "", "x"), s("y"), graphAttr("body", body)))
                .output(tensorInfo("y", FLOAT));
        Graph gr = load(model(13, g), Map.of()).graph();
        assertEquals(List.of("Loop"), ops(gr));
        assertEquals(Shape.of(2, 4), gr.outputs().get(0).shape());
    }

    @Test
    void sequencesKnownItemByItemBecomeSplitAndConcat() throws Exception {
        // x[6, 5] split into [2, 4] rows; item 1 is [4, 5]; the items joined along axis 0 again
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 6, 5))
                .initializer(int64Tensor("sizes", new long[] {2}, 2, 4))
                .initializer(int64Tensor("one", new long[0], 1))
                .node(node("seq", "SplitToSequence", s("x", "sizes"), s("items"), intAttr("axis", 0)))
                .node(node("at", "SequenceAt", s("items", "one"), s("second")))
                .node(node("len", "SequenceLength", s("items"), s("n")))
                .node(node("join", "ConcatFromSequence", s("items"), s("back"), intAttr("axis", 0)))
                .output(tensorInfo("second", FLOAT)).output(tensorInfo("back", FLOAT)).output(tensorInfo("n", INT64));
        ImportedModel m = load(model(13, g), Map.of());
        Graph gr = m.graph();
        assertEquals(Shape.of(4, 5), gr.outputs().get(0).shape());
        assertEquals(Shape.of(6, 5), gr.outputs().get(1).shape());
        assertEquals(2L, gr.outputs().get(2).constant().orElseThrow().getLong(0));
        List<String> ops = ops(gr);
        assertTrue(ops.containsAll(List.of("Split", "Identity", "Concat")), ops.toString());
        assertTrue(ops.stream().noneMatch(o -> o.startsWith("Sequence") || o.endsWith("Sequence")), ops.toString());
        assertEquals(Shape.of(2, 5), gr.value("items/0").orElseThrow().shape());
    }

    @Test
    void aLoweredSequenceThatAnUnknownReaderNeedsIsBuiltAgain() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 4, 3))
                .node(node("seq", "SplitToSequence", s("x"), s("items"), intAttr("axis", 0), intAttr("keepdims", 0)))
                .node(node("opaque", "Mystery", s("items"), s("y")).domain("com.example"))
                .output(tensorInfo("y", FLOAT));
        Graph gr = load(model(13, g), Map.of()).graph();
        // four rows, squeezed (keepdims 0), then a SequenceConstruct for the opaque reader
        assertEquals(Shape.of(3), gr.value("items/0/squeezed").orElseThrow().shape());
        assertTrue(ops(gr).contains("SequenceConstruct"), ops(gr).toString());
        assertEquals(4, gr.node("items/rebuilt").orElseThrow().inputs().size());
    }

    /**
     * torch 1.13's repeat_interleave(y, 3, dim=1) with y[batch, 2, seq, 4], batch and seq unknown to the
     * exporter: Unsqueeze at 2, Expand by [1, 1, 3, 1, 1], Reshape to [0, -1, 0, 0].
     */
    @Test
    void torchsRepeatInterleaveReshapeIsReadAsMeant() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("y", FLOAT, "batch", 2, "seq", 4))
                .initializer(int64Tensor("axes", new long[] {1}, 2))
                .initializer(int64Tensor("reps", new long[] {5}, 1, 1, 3, 1, 1))
                .initializer(int64Tensor("target", new long[] {4}, 0, -1, 0, 0))
                .node(node("u", "Unsqueeze", s("y", "axes"), s("yu")))
                .node(node("e", "Expand", s("yu", "reps"), s("ye")))
                .node(node("r", "Reshape", s("ye", "target"), s("z")))
                .output(tensorInfo("z", FLOAT));
        ImportedModel m = load(model(13, g), Map.of("batch", 8L, "seq", 16L));
        // read literally, ONNX copies axis 2 of [8, 2, 3, 16, 4] (3) and the result is [8, 4, 3, 16]
        assertEquals(Shape.of(8, 2 * 3, 16, 4), m.graph().outputs().get(0).shape());
        assertTrue(m.warnings().get(0).contains("1 Reshape of torch's repeat_interleave export read as torch meant"),
                m.warnings().toString());
        // a Reshape whose zeros all lie before the repeated axis means what it says
        OnnxWriter plain = graph("g").input(tensorInfo("y", FLOAT, "batch", 2, 16, 4))
                .initializer(int64Tensor("axes", new long[] {1}, 2))
                .initializer(int64Tensor("reps", new long[] {5}, 1, 1, 3, 1, 1))
                .initializer(int64Tensor("target", new long[] {4}, 0, -1, 16, 4))
                .node(node("u", "Unsqueeze", s("y", "axes"), s("yu")))
                .node(node("e", "Expand", s("yu", "reps"), s("ye")))
                .node(node("r", "Reshape", s("ye", "target"), s("z")))
                .output(tensorInfo("z", FLOAT));
        ImportedModel p = load(model(13, plain), Map.of("batch", 8L));
        assertEquals(Shape.of(8, 6, 16, 4), p.graph().outputs().get(0).shape());
        assertTrue(p.warnings().isEmpty(), p.warnings().toString());
    }

    /** repeat_interleave(x, 3, dim=1) written piece by piece: Split, then Unsqueeze, Expand, Reshape per piece, Concat. */
    @Test
    void repeatsWrittenPieceByPieceBecomeOneChain() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, "batch", 2, 5, 4))
                .initializer(int64Tensor("ones", new long[] {2}, 1, 1))
                .initializer(int64Tensor("axes", new long[] {1}, 2))
                .initializer(int64Tensor("reps", new long[] {5}, 1, 1, 3, 1, 1))
                .initializer(int64Tensor("target", new long[] {4}, 0, -1, 5, 4))
                .node(node("split", "Split", s("x", "ones"), s("p0", "p1"), intAttr("axis", 1)))
                .node(node("u0", "Unsqueeze", s("p0", "axes"), s("u0")))
                .node(node("e0", "Expand", s("u0", "reps"), s("e0")))
                .node(node("r0", "Reshape", s("e0", "target"), s("r0")))
                .node(node("u1", "Unsqueeze", s("p1", "axes"), s("u1")))
                .node(node("e1", "Expand", s("u1", "reps"), s("e1")))
                .node(node("r1", "Reshape", s("e1", "target"), s("r1")))
                .node(node("cat", "Concat", s("r0", "r1"), s("y"), intAttr("axis", 1)))
                .output(tensorInfo("y", FLOAT));
        ImportedModel m = load(model(13, g), Map.of("batch", 8L));
        Graph gr = m.graph();
        assertEquals(Shape.of(8, 6, 5, 4), gr.outputs().get(0).shape());
        // the pieces are gone: one Unsqueeze [8, 2, 1, 5, 4], Expand [8, 2, 3, 5, 4], Reshape [8, 6, 5, 4]
        assertEquals(List.of("Unsqueeze", "Expand", "Reshape"), ops(gr).stream()
                .filter(o -> List.of("Split", "Unsqueeze", "Expand", "Reshape").contains(o)).toList());
        Node expand = gr.node("cat/expand").orElseThrow();
        assertEquals(Shape.of(8, 2, 1, 5, 4), expand.input(0).shape());
        assertEquals(Shape.of(8, 2, 3, 5, 4), expand.output(0).shape());
        assertEquals("Reshape", gr.producer("y").orElseThrow().opType());
        assertTrue(m.warnings().get(0).contains("1 repeat_interleave written piece by piece"), m.warnings().toString());
    }

    /**
     * torch's export of {@code x[:, :, 1:, 1:] = u}: a ScatterND whose indices are a Concat of one index vector
     * per axis, each Unsqueezed at the end after an Expand to the update's shape (the batch axis's from a Range
     * over the bound batch).
     */
    private static OnnxWriter sliceAssignment(long... lastAxis) {
        return graph("g").input(tensorInfo("x", FLOAT, "batch", 2, 5, 6))
                .input(tensorInfo("u", FLOAT, "batch", 2, 4, lastAxis.length))
                .initializer(int64Tensor("zero", new long[0], 0))
                .initializer(int64Tensor("one", new long[0], 1))
                .initializer(int64Tensor("col", new long[] {4}, -1, 1, 1, 1))
                .initializer(int64Tensor("i1", new long[] {1, 2, 1, 1}, 0, 1))
                .initializer(int64Tensor("i2", new long[] {1, 1, 4, 1}, 1, 2, 3, 4))
                .initializer(int64Tensor("i3", new long[] {1, 1, 1, lastAxis.length}, lastAxis))
                .initializer(int64Tensor("last", new long[] {1}, -1))
                .node(node("shape", "Shape", s("x"), s("xs")))
                .node(node("b", "Gather", s("xs", "zero"), s("b"), intAttr("axis", 0)))
                .node(node("range", "Range", s("zero", "b", "one"), s("r")))
                .node(node("i0", "Reshape", s("r", "col"), s("i0")))
                .node(node("ushape", "Shape", s("u"), s("us")))
                .node(node("e0", "Expand", s("i0", "us"), s("e0")))
                .node(node("e1", "Expand", s("i1", "us"), s("e1")))
                .node(node("e2", "Expand", s("i2", "us"), s("e2")))
                .node(node("e3", "Expand", s("i3", "us"), s("e3")))
                .node(node("u0", "Unsqueeze", s("e0", "last"), s("u0")))
                .node(node("u1", "Unsqueeze", s("e1", "last"), s("u1")))
                .node(node("u2", "Unsqueeze", s("e2", "last"), s("u2")))
                .node(node("u3", "Unsqueeze", s("e3", "last"), s("u3")))
                .node(node("idx", "Concat", s("u0", "u1", "u2", "u3"), s("idx"), intAttr("axis", -1)))
                .node(node("scatter", "ScatterND", s("x", "idx", "u"), s("y")))
                .output(tensorInfo("y", FLOAT));
    }

    @Test
    void aSliceAssignmentBecomesSlicesAndConcats() throws Exception {
        ImportedModel m = load(model(16, sliceAssignment(1, 2, 3, 4, 5)), Map.of("batch", 8L));
        Graph gr = m.graph();
        assertEquals(Shape.of(8, 2, 5, 6), gr.outputs().get(0).shape());
        // no index tensor of [8, 2, 4, 5, 4] int64 is left: the data before the box along axes 2 and 3, joined
        // with the update (axes 0 and 1 are written whole)
        assertEquals(List.of(), ops(gr).stream().filter(o -> List.of("ScatterND", "Expand", "Unsqueeze").contains(o)).toList(),
                ops(gr).toString());
        assertEquals(3, ops(gr).stream().filter("Slice"::equals).count(), ops(gr).toString());
        Node outer = gr.producer("y").orElseThrow();
        assertEquals("Concat", outer.opType());
        assertEquals(2, outer.attrInt("axis", -1));
        assertEquals(Shape.of(8, 2, 1, 6), outer.input(0).shape());
        Node inner = gr.producer(outer.input(1).name()).orElseThrow();
        assertEquals(3, inner.attrInt("axis", -1));
        assertEquals(Shape.of(8, 2, 4, 1), inner.input(0).shape());
        assertEquals("u", inner.input(1).name());
        assertTrue(m.warnings().get(0).contains("1 ScatterND writing a box"), m.warnings().toString());
    }

    @Test
    void aScatterThatWritesAPositionTwiceStays() throws Exception {
        ImportedModel m = load(model(16, sliceAssignment(1, 2, 2, 3, 4)), Map.of("batch", 8L));
        assertTrue(ops(m.graph()).contains("ScatterND"), ops(m.graph()).toString());
        assertEquals(Shape.of(8, 2, 5, 6), m.graph().outputs().get(0).shape());
    }

    /** An If on a comparison of a bound dimension: the branch it takes is imported in its place. */
    @Test
    void anIfWhoseConditionIsKnownBecomesItsBranch() throws Exception {
        OnnxWriter then = graph("then").node(node("relu", "Relu", s("x"), s("t"))).output(tensorInfo("t", FLOAT));
        OnnxWriter other = graph("else").node(node("neg", "Neg", s("x"), s("e"))).output(tensorInfo("e", FLOAT));
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, "batch", 3))
                .initializer(int64Tensor("zero", new long[0], 0))
                .initializer(int64Tensor("eight", new long[0], 8))
                .node(node("shape", "Shape", s("x"), s("xs")))
                .node(node("b", "Gather", s("xs", "zero"), s("b"), intAttr("axis", 0)))
                .node(node("eq", "Equal", s("b", "eight"), s("c")))
                .node(node("if", "If", s("c"), s("y"), graphAttr("then_branch", then), graphAttr("else_branch", other)))
                .node(node("out", "Sigmoid", s("y"), s("z")))
                .output(tensorInfo("z", FLOAT));
        ImportedModel at8 = load(model(13, g), Map.of("batch", 8L));
        assertTrue(!ops(at8.graph()).contains("If"), ops(at8.graph()).toString());
        assertEquals("Relu", at8.graph().node("if/then/relu").orElseThrow().opType());
        assertEquals(Shape.of(8, 3), at8.graph().outputs().get(0).shape());
        assertTrue(at8.warnings().get(0).contains("1 If of a condition known at import replaced by the branch taken"),
                at8.warnings().toString());
        ImportedModel at4 = load(model(13, g), Map.of("batch", 4L));
        assertEquals("Neg", at4.graph().node("if/else/neg").orElseThrow().opType());
        assertTrue(!ops(at4.graph()).contains("Relu"), ops(at4.graph()).toString());
        // a condition not known at import keeps the If
        ImportedModel open = OnnxImporter.read(model(13, g).write(dir.resolve("open.onnx")), ImportOptions.DEFAULT);
        assertTrue(ops(open.graph()).contains("If"), ops(open.graph()).toString());
    }
}
