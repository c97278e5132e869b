package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.shardplan.onnx.OnnxWriter.graph;
import static org.shardplan.onnx.OnnxWriter.graphAttr;
import static org.shardplan.onnx.OnnxWriter.int64Tensor;
import static org.shardplan.onnx.OnnxWriter.intAttr;
import static org.shardplan.onnx.OnnxWriter.intsAttr;
import static org.shardplan.onnx.OnnxWriter.model;
import static org.shardplan.onnx.OnnxWriter.node;
import static org.shardplan.onnx.OnnxWriter.tensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.graph.DType;
import org.shardplan.graph.ExternalData;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;

/** Models built field by field: shape arithmetic, opset differences, control flow, and bad input. */
class ImporterTest {
    static final int FLOAT = 1;
    static final int INT64 = 7;

    @TempDir
    Path dir;

    private static String[] s(String... x) {
        return x;
    }

    private ImportedModel load(OnnxWriter m, ImportOptions o) throws Exception {
        return OnnxImporter.read(m.write(dir.resolve("m.onnx")), o);
    }

    private OnnxImportException fails(OnnxWriter m) throws IOException {
        Path p = m.write(dir.resolve("bad.onnx"));
        return assertThrows(OnnxImportException.class, () -> OnnxImporter.read(p));
    }

    /** x[batch, seq, 384] -> Reshape(x, Concat(Shape(x)[0], Shape(x)[1], 12, -1)) -> [batch, seq, 12, 32]. */
    private static OnnxWriter reshapeHeads() {
        OnnxWriter g = graph("heads")
                .input(tensorInfo("x", FLOAT, "batch", "seq", 384))
                .initializer(int64Tensor("zero", new long[0], 0))
                .initializer(int64Tensor("one", new long[0], 1))
                .initializer(int64Tensor("tail", new long[] {2}, 12, -1))
                .node(node("shape", "Shape", s("x"), s("sh")))
                .node(node("g0", "Gather", s("sh", "zero"), s("b")))
                .node(node("g1", "Gather", s("sh", "one"), s("t")))
                .node(node("u0", "Unsqueeze", s("b"), s("b1"), intsAttr("axes", 0)))
                .node(node("u1", "Unsqueeze", s("t"), s("t1"), intsAttr("axes", 0)))
                .node(node("cat", "Concat", s("b1", "t1", "tail"), s("target"), intAttr("axis", 0)))
                .node(node("reshape", "Reshape", s("x", "target"), s("y")))
                .output(tensorInfo("y", FLOAT));
        return model(11, g);
    }

    /**
     * A model imported again at another batch size ({@link OnnxImporter#reread}) is the model read afresh
     * with that binding, and records the first read's hash without hashing the file again: the hash is
     * the file's (an independent SHA-256 of its bytes), also after the file has changed on disk.
     */
    @Test
    void aRereadBindsTheNewSizeAndKeepsTheFirstReadsHash() throws Exception {
        Path file = reshapeHeads().write(dir.resolve("m.onnx"));
        ImportedModel first = OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 8L, "seq", 128L)));
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(file)));
        assertEquals(sha, first.info().sha256());
        ImportOptions at2 = ImportOptions.DEFAULT.withDims(Map.of("batch", 2L, "seq", 128L));
        ImportedModel again = OnnxImporter.reread(first, at2);
        ImportedModel fresh = OnnxImporter.read(file, at2);
        assertEquals(Shape.of(2, 128, 12, 32), again.graph().outputs().get(0).shape());
        assertEquals(fresh.graph().outputs().get(0).shape(), again.graph().outputs().get(0).shape());
        assertEquals(fresh.graph().nodes().size(), again.graph().nodes().size());
        assertEquals(sha, again.info().sha256());
        // the hash is the first read's: a file changed since is not hashed again (the run reads one model)
        // (an unknown varint field 100 appended: tag 100 << 3 = 800 = 0xA0 0x06, value 1; readers skip it)
        Files.write(file, new byte[] {(byte) 0xA0, 0x06, 0x01}, java.nio.file.StandardOpenOption.APPEND);
        assertEquals(sha, OnnxImporter.reread(first, at2).info().sha256());
        assertFalse(sha.equals(OnnxImporter.read(file, at2).info().sha256()));
    }

    @Test
    void foldsShapeArithmeticSymbolicallyAndWithBindings() throws Exception {
        ImportedModel free = load(reshapeHeads(), ImportOptions.DEFAULT);
        assertEquals("[batch, seq, 12, 32]", free.graph().outputs().get(0).shape().toString());
        ImportedModel bound = load(reshapeHeads(), ImportOptions.DEFAULT.withDims(Map.of("batch", 8L, "seq", 128L)));
        assertEquals(Shape.of(8, 128, 12, 32), bound.graph().outputs().get(0).shape());
        Value target = bound.graph().value("target").orElseThrow();
        assertEquals("[8, 128, 12, -1]", Arrays.toString(target.constant().orElseThrow().longs().orElseThrow()));
        ImportedModel shaped = load(reshapeHeads(),
                ImportOptions.DEFAULT.withInputShapes(Map.of("x", List.of(2L, 5L, 384L))));
        assertEquals(Shape.of(2, 5, 12, 32), shaped.graph().outputs().get(0).shape());
    }

    @Test
    void reshapeZeroCopiesAndMinusOneInfers() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2, 3, 4))
                .initializer(int64Tensor("t", new long[] {2}, 0, -1))
                .node(node("r", "Reshape", s("x", "t"), s("y"))).output(tensorInfo("y", FLOAT));
        assertEquals(Shape.of(2, 12), load(model(13, g), ImportOptions.DEFAULT).graph().outputs().get(0).shape());
    }

    @Test
    void sliceAndSqueezeFollowTheirOpsets() throws Exception {
        // opset 9: Slice bounds are attributes; opset 13: inputs (with negative steps)
        OnnxWriter old = graph("g").input(tensorInfo("x", FLOAT, 10, 6))
                .node(node("s", "Slice", s("x"), s("y"), intsAttr("starts", 1, 0), intsAttr("ends", 8, 100),
                        intsAttr("axes", 0, 1)))
                .node(node("q", "Unsqueeze", s("y"), s("z"), intsAttr("axes", 0)))
                .output(tensorInfo("z", FLOAT));
        assertEquals(Shape.of(1, 7, 6), load(model(9, old), ImportOptions.DEFAULT).graph().outputs().get(0).shape());
        OnnxWriter neu = graph("g").input(tensorInfo("x", FLOAT, 10, 6))
                .initializer(int64Tensor("st", new long[] {1}, -1))
                .initializer(int64Tensor("en", new long[] {1}, Long.MIN_VALUE))
                .initializer(int64Tensor("ax", new long[] {1}, 0))
                .initializer(int64Tensor("sp", new long[] {1}, -2))
                .initializer(int64Tensor("sqax", new long[] {1}, 0))
                .node(node("s", "Slice", s("x", "st", "en", "ax", "sp"), s("y")))
                .node(node("q", "Unsqueeze", s("y", "sqax"), s("z")))
                .output(tensorInfo("z", FLOAT));
        // indices 9, 7, 5, 3, 1
        assertEquals(Shape.of(1, 5, 6), load(model(13, neu), ImportOptions.DEFAULT).graph().outputs().get(0).shape());
    }

    @Test
    void convWithGroupsDilationsAndPooling() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, "n", 8, 32, 32))
                .initializer(OnnxWriter.floatTensor("w", 16, 2, 3, 3))
                .node(node("c", "Conv", s("x", "w"), s("y"), intAttr("group", 4), intsAttr("dilations", 2, 2),
                        intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1)))
                .node(node("p", "MaxPool", s("y"), s("z"), intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2),
                        intAttr("ceil_mode", 1)))
                .output(tensorInfo("z", FLOAT));
        Graph gr = load(model(13, g), ImportOptions.DEFAULT.withDims(Map.of("n", 2L))).graph();
        // conv: floor((32 + 2 - 2*(3-1) - 1) / 2) + 1 = 15; pool with ceil: ceil((15 - 3) / 2) + 1 = 7
        assertEquals(Shape.of(2, 16, 15, 15), gr.value("y").orElseThrow().shape());
        assertEquals(Shape.of(2, 16, 7, 7), gr.outputs().get(0).shape());
        assertEquals(16 * 2 * 3 * 3, gr.parameterCount());
    }

    @Test
    void ifBranchesAndLoopBodiesAreNestedGraphs() throws Exception {
        OnnxWriter thenG = graph("then").node(node("tn", "Relu", s("x"), s("t"))).output(tensorInfo("t", FLOAT));
        OnnxWriter elseG = graph("else").node(node("en", "Neg", s("x"), s("e"))).output(tensorInfo("e", FLOAT));
        OnnxWriter body = graph("body")
                .input(tensorInfo("i", INT64)).input(tensorInfo("c", 9)).input(tensorInfo("acc", FLOAT))
                .node(node("add", "Add", s("acc", "x"), s("acc2")))
                .node(node("id", "Identity", s("c"), s("c2")))
                .node(node("sq", "Relu", s("acc2"), s("scan")))
                .output(tensorInfo("c2", 9)).output(tensorInfo("acc2", FLOAT)).output(tensorInfo("scan", FLOAT));
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 3, 4)).input(tensorInfo("cond", 9))
                .initializer(int64Tensor("trip", new long[0], 5))
                .node(node("if", "If", s("cond"), s("y"), graphAttr("then_branch", thenG), graphAttr("else_branch", elseG)))
                .node(node("loop", "Loop", s("trip", "", "y"), s("final", "stacked"), graphAttr("body", body)))
                .output(tensorInfo("final", FLOAT)).output(tensorInfo("stacked", FLOAT));
        Graph gr = load(model(13, g), ImportOptions.DEFAULT.withTrustDeclaredShapes(false)).graph();
        assertEquals(Shape.of(3, 4), gr.value("y").orElseThrow().shape());
        assertEquals(Shape.of(3, 4), gr.outputs().get(0).shape());
        assertEquals(Shape.of(5, 3, 4), gr.outputs().get(1).shape());
        Node iff = gr.node("if").orElseThrow();
        assertEquals(2, iff.subgraphs().size());
        assertEquals(List.of("x"), iff.subgraphs().get(0).capturedNames());
        assertEquals(List.of("x"), gr.node("loop").orElseThrow().subgraphs().get(0).capturedNames());
        assertTrue(gr.node("loop").orElseThrow().input(1).isAbsent());
    }

    @Test
    void otherDomainsAreOpaqueAndUseDeclaredTypes() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2, 8))
                .node(node("fused", "MyFusedOp", s("x"), s("y"), new OnnxWriter().string(1, "out_type")
                        .message(14, new OnnxWriter().message(1, new OnnxWriter().varint(1, 10))).varint(20, 13))
                        .domain("com.example"))
                .node(node("r", "Relu", s("y"), s("z")))
                .valueInfo(tensorInfo("y", FLOAT, 2, 16))
                .output(tensorInfo("z", FLOAT));
        ImportedModel m = load(model(13, g), ImportOptions.DEFAULT);
        assertEquals(Shape.of(2, 16), m.graph().outputs().get(0).shape());
        assertEquals(List.of("com.example.MyFusedOp"), List.copyOf(m.opaqueOperators()));
        assertTrue(m.warnings().get(0).contains("com.example.MyFusedOp"), m.warnings().toString());
        Node fused = m.graph().node("fused").orElseThrow();
        assertEquals("com.example", fused.domain());
        assertEquals(DType.FLOAT16, fused.attribute("out_type").orElseThrow().asType().dtype());
    }

    @Test
    void unknownOperatorIsReportedNotFatal() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2, 8))
                .node(node("mystery", "FrobnicateTensor", s("x"), s("y")))
                .node(node("r", "Relu", s("y"), s("z")))
                .output(tensorInfo("z", FLOAT));
        ImportedModel m = load(model(13, g), ImportOptions.DEFAULT.withTrustDeclaredShapes(false));
        assertEquals(List.of("FrobnicateTensor"), List.copyOf(m.unknownOperators()));
        assertFalse(m.graph().outputs().get(0).shape().rankKnown());
        assertTrue(m.warnings().get(0).contains("node 'mystery' (FrobnicateTensor)"), m.warnings().toString());
    }

    @Test
    void externalDataIsRecordedNotLoaded() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 4, 1000))
                .initializer(OnnxWriter.externalTensor("w", "weights.bin", 4096, 4L * 1000 * 1000, 1000, 1000))
                .node(node("mm", "MatMul", s("x", "w"), s("y")))
                .output(tensorInfo("y", FLOAT));
        Graph gr = load(model(13, g), ImportOptions.DEFAULT).graph();
        Value w = gr.parameters().get(0);
        assertEquals(new ExternalData("weights.bin", 4096, 4_000_000), w.externalData().orElseThrow());
        assertEquals(1_000_000, gr.parameterCount());
        assertEquals(Shape.of(4, 1000), gr.outputs().get(0).shape());
    }

    @Test
    void modelLocalFunctionsAreInlined() throws Exception {
        // custom.Scaled(X; alpha) = LeakyRelu(X * X, alpha), called with alpha 0.25
        OnnxWriter refAlpha = new OnnxWriter().string(1, "alpha").string(21, "alpha").varint(20, 1);
        OnnxWriter function = new OnnxWriter().string(1, "Scaled").string(4, "X").string(5, "Y").string(6, "alpha")
                .message(7, node("sq", "Mul", s("X", "X"), s("t")))
                .message(7, node("act", "LeakyRelu", s("t"), s("Y"), refAlpha))
                .string(10, "custom");
        OnnxWriter callAlpha = new OnnxWriter().string(1, "alpha").fixed32(2, 0.25f).varint(20, 1);
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, "n", 4))
                .node(node("call", "Scaled", s("x"), s("y"), callAlpha).domain("custom"))
                .node(node("r", "Relu", s("y"), s("z")))
                .output(tensorInfo("z", FLOAT));
        OnnxWriter m = model(13, g).message(8, new OnnxWriter().string(1, "custom").varint(2, 1)).message(25, function);
        ImportedModel im = load(m, ImportOptions.DEFAULT.withDims(Map.of("n", 3L)).withTrustDeclaredShapes(false));
        Graph gr = im.graph();
        assertEquals(List.of("call/sq", "call/act", "r"), gr.nodes().stream().map(Node::name).toList());
        assertEquals(0.25f, gr.node("call/act").orElseThrow().attrFloat("alpha", 0), 0.0);
        assertEquals("call/t", gr.node("call/sq").orElseThrow().output(0).name());
        assertEquals(Shape.of(3, 4), gr.outputs().get(0).shape());
        assertTrue(im.opaqueOperators().isEmpty() && im.unknownOperators().isEmpty());
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void missingFile() {
        Path p = dir.resolve("absent.onnx");
        OnnxImportException e = assertThrows(OnnxImportException.class, () -> OnnxImporter.read(p));
        assertEquals(p + ": file not found", e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void notProtobufAndTruncated() throws Exception {
        Path text = dir.resolve("text.onnx");
        Files.writeString(text, "<html>not a model</html>");
        OnnxImportException e = assertThrows(OnnxImportException.class, () -> OnnxImporter.read(text));
        assertTrue(e.getMessage().startsWith(text + ": is not"), e.getMessage());
        byte[] full = reshapeHeads().bytes();
        Path cut = dir.resolve("cut.onnx");
        Files.write(cut, Arrays.copyOf(full, full.length / 2));
        OnnxImportException t = assertThrows(OnnxImportException.class, () -> OnnxImporter.read(cut));
        assertTrue(t.getMessage().contains("truncated"), t.getMessage());
        assertFalse(t.getMessage().contains("\n"));
    }

    @Test
    void cycleNamesItsNodes() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2))
                .node(node("a", "Add", s("x", "c"), s("b")))
                .node(node("n", "Neg", s("b"), s("c")))
                .node(node("after", "Relu", s("c"), s("d")))
                .output(tensorInfo("d", FLOAT));
        OnnxImportException e = fails(model(13, g));
        // the cycle in order, without the node downstream of it
        assertTrue(e.getMessage().endsWith("has a cycle: node 'a' (Add) -> node 'n' (Neg) -> node 'a' (Add)"),
                e.getMessage());
    }

    @Test
    void danglingInputNamesNodeAndOperator() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2))
                .node(node("mul", "Mul", s("x", "ghost"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException e = fails(model(13, g));
        assertTrue(e.getMessage().endsWith("node 'mul' (Mul) reads 'ghost', which no node, graph input or initializer produces"),
                e.getMessage());
        assertTrue(e.getMessage().startsWith(dir.resolve("bad.onnx").toString()), e.getMessage());
    }

    @Test
    void duplicateValueNames() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 2))
                .node(node("r", "Relu", s("x"), s("y")))
                .node(node("n", "Neg", s("x"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException e = fails(model(13, g));
        assertTrue(e.getMessage().contains("duplicate value name 'y': written by node 'n' (Neg) and by node 'r' (Relu)"),
                e.getMessage());
    }

    @Test
    void negativeAndOverflowingDimensions() throws Exception {
        OnnxWriter neg = graph("g").input(tensorInfo("x", FLOAT, 2, -3))
                .node(node("r", "Relu", s("x"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException e = fails(model(13, neg));
        assertTrue(e.getMessage().endsWith("input 'x' dimension 1 must be >= 0, found -3"), e.getMessage());
        OnnxWriter huge = graph("g").input(tensorInfo("x", FLOAT, 1L << 40, 1L << 40))
                .node(node("r", "Relu", s("x"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException h = fails(model(13, huge));
        assertTrue(h.getMessage().contains("more elements than fit in 64 bits"), h.getMessage());
    }

    @Test
    void inferredShapesThatOverflowNameTheNode() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("x", FLOAT, 1L << 31, 1))
                .initializer(int64Tensor("to", new long[] {2}, 1L << 31, 1L << 33))
                .node(node("big", "Expand", s("x", "to"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException e = fails(model(13, g));
        assertTrue(e.getMessage().contains("node 'big' (Expand): output 'y' of shape [2147483648, 8589934592] has more "
                + "elements than fit in 64 bits"), e.getMessage());
    }

    @Test
    void shapesThatCannotWorkNameTheNode() throws Exception {
        OnnxWriter g = graph("g").input(tensorInfo("a", FLOAT, 2, 3)).input(tensorInfo("b", FLOAT, 4, 5))
                .node(node("mm", "MatMul", s("a", "b"), s("y"))).output(tensorInfo("y", FLOAT));
        OnnxImportException e = fails(model(13, g));
        assertTrue(e.getMessage().contains("node 'mm' (MatMul): MatMul inner dimensions differ"), e.getMessage());
    }

    @Test
    void modelInfoAndHash() throws Exception {
        ImportedModel m = load(reshapeHeads(), ImportOptions.DEFAULT);
        assertEquals("heads", m.info().name());
        assertEquals("shardplan-test", m.info().producer());
        assertEquals(8, m.info().irVersion());
        assertEquals(11, m.info().opset());
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        String want = java.util.HexFormat.of().formatHex(md.digest(reshapeHeads().bytes()));
        assertEquals(want, m.info().sha256());
        assertEquals(DType.INT64, m.graph().constants().get(0).dtype());
    }
}
