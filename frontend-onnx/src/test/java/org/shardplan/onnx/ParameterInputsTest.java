package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.shardplan.onnx.OnnxWriter.graph;
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
import org.shardplan.graph.Value;

/** Weights fed as graph inputs (models exported without their weights) are recognised as parameters. */
class ParameterInputsTest {
    static final int FLOAT = 1;
    static final int INT64 = 7;

    @TempDir
    Path dir;

    private static String[] s(String... x) {
        return x;
    }

    /**
     * ids[batch] -> Gather(embed.weight[100, 8]) -> Gemm(fc.weight[4, 8] transposed, fc.bias[4]) -> Add(noise[4])
     * -> Mul(scale_by[batch, 4]). Only the embedding table and the Gemm's weight and bias are weights:
     * noise is not named like one, scale_by has a batch dimension.
     */
    private Path weightsFree() throws Exception {
        OnnxWriter g = graph("g")
                .input(tensorInfo("ids", INT64, "batch"))
                .input(tensorInfo("embed.weight", FLOAT, 100, 8))
                .input(tensorInfo("fc.weight", FLOAT, 4, 8))
                .input(tensorInfo("fc.bias", FLOAT, 4))
                .input(tensorInfo("noise", FLOAT, 4))
                .input(tensorInfo("scale_by.weight", FLOAT, "batch", 4))
                .node(node("emb", "Gather", s("embed.weight", "ids"), s("e")))
                .node(node("fc", "Gemm", s("e", "fc.weight", "fc.bias"), s("h"), intAttr("transB", 1)))
                .node(node("add", "Add", s("h", "noise"), s("a")))
                .node(node("mul", "Mul", s("a", "scale_by.weight"), s("y")))
                .output(tensorInfo("y", FLOAT));
        return model(13, g).write(dir.resolve("m.onnx"));
    }

    private static List<String> names(List<Value> vs) {
        return vs.stream().map(Value::name).toList();
    }

    @Test
    void autoTakesInputsNamedLikeWeightsReadAsWeightsWithoutDynamicAxes() throws Exception {
        ImportedModel m = OnnxImporter.read(weightsFree(), ImportOptions.DEFAULT.withDims(Map.of("batch", 16L)));
        Graph g = m.graph();
        assertEquals(List.of("embed.weight", "fc.weight", "fc.bias"), names(g.parameters()));
        assertEquals(List.of("ids", "noise", "scale_by.weight"), names(g.inputs()));
        assertEquals(Value.Kind.PARAMETER, g.value("fc.weight").orElseThrow().kind());
        assertEquals(100 * 8 + 4 * 8 + 4, g.parameterCount());
        assertTrue(m.warnings().contains("3 graph inputs are read as parameters (named like weights, of fixed shape, "
                + "read as weights; --params-as-inputs off keeps them inputs): embed.weight, fc.weight, fc.bias"),
                m.warnings().toString());
    }

    @Test
    void offKeepsEveryInputAndOnDropsTheNameRule() throws Exception {
        ImportedModel off = OnnxImporter.read(weightsFree(), ImportOptions.DEFAULT.withDims(Map.of("batch", 16L))
                .withParamsAsInputs(ImportOptions.ParamsAsInputs.OFF));
        assertEquals(List.of(), off.graph().parameters());
        assertEquals(6, off.graph().inputs().size());
        assertFalse(off.warnings().stream().anyMatch(w -> w.contains("read as parameters")), off.warnings().toString());

        ImportedModel on = OnnxImporter.read(weightsFree(), ImportOptions.DEFAULT.withDims(Map.of("batch", 16L))
                .withParamsAsInputs(ImportOptions.ParamsAsInputs.ON));
        // noise (fixed shape, added) becomes one too; scale_by.weight keeps its batch axis, ids is not floating-point
        assertEquals(List.of("embed.weight", "fc.weight", "fc.bias", "noise"), names(on.graph().parameters()));
        assertEquals(List.of("ids", "scale_by.weight"), names(on.graph().inputs()));
    }

    @Test
    void anInputGivenAShapeStaysData() throws Exception {
        ImportedModel m = OnnxImporter.read(weightsFree(), ImportOptions.DEFAULT.withDims(Map.of("batch", 16L))
                .withInputShapes(Map.of("fc.weight", List.of(4L, 8L))));
        assertEquals(List.of("embed.weight", "fc.bias"), names(m.graph().parameters()));
    }

    @Test
    void weightsReachingMatMulThroughTransposeCount() throws Exception {
        OnnxWriter g = graph("g")
                .input(tensorInfo("x", FLOAT, "batch", 8))
                .input(tensorInfo("proj.kernel:0", FLOAT, 4, 8))
                .input(tensorInfo("other", FLOAT, 4, 8))
                .node(node("t", "Transpose", s("proj.kernel:0"), s("wt")))
                .node(node("mm", "MatMul", s("x", "wt"), s("y")))
                .node(node("t2", "Transpose", s("other"), s("ot")))
                .output(tensorInfo("y", FLOAT)).output(tensorInfo("ot", FLOAT));
        ImportedModel m = OnnxImporter.read(model(13, g).write(dir.resolve("t.onnx")), ImportOptions.DEFAULT);
        assertEquals(List.of("proj.kernel:0"), names(m.graph().parameters()));
    }

    @Test
    void parameterNames() {
        for (String n : List.of("features.0.weight", "classifier.1.bias", "dense/kernel:0", "bn.running_var",
                "ln.gamma", "conv1_w", "tok.embeddings", "layers.0.attn_norm.weight", "onnx::MatMul_965")) {
            assertTrue(ParameterInputs.namedLikeParameter(n), n);
        }
        for (String n : List.of("image", "input_ids", "attention_mask", "weighted_sum", "bw", "noise", "onnx::x")) {
            assertFalse(ParameterInputs.namedLikeParameter(n), n);
        }
    }

    @Test
    void modeNamesAreChecked() {
        assertEquals(ImportOptions.ParamsAsInputs.ON, ImportOptions.ParamsAsInputs.parse("On"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImportOptions.ParamsAsInputs.parse("yes"));
        assertEquals("--params-as-inputs must be auto, on or off, found 'yes'", e.getMessage());
    }
}
