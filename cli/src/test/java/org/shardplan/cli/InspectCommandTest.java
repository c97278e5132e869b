package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void defaultModelIsTheBundledTransformerWithEveryShapeResolved() throws IOException {
        CliRun r = run("inspect", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        // embeddings 1000x64 + 512x64; 4 layers of qkv (64x192+192), out (64x64+64), ff1 (64x256+256),
        // ff2 (256x64+64); one LayerNorm weight and bias (the exporter stores identical ones once); head 64x1000+1000
        long params = 1000 * 64 + 512 * 64 + 4 * ((64 * 192 + 192) + (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64))
                + 2 * 64 + (64 * 1000 + 1000);
        assertEquals(params, j.at("/summary/parameters").asLong());
        assertEquals(4 * params, j.at("/summary/parameterBytes").asLong());
        assertEquals(0, j.at("/summary/unknownShapes").asInt());
        assertEquals(0, j.at("/summary/symbolicShapes").asInt());
        assertEquals(17, j.at("/model/opset").asInt());
        assertEquals(8, j.at("/bindings/batch").asInt());
        assertEquals("[8,128,1000]", j.at("/outputs/0/shape").toString());
        assertEquals(25, j.at("/opTypes/MatMul").asInt());
        assertTrue(j.at("/summary/forwardFlopsComplete").asBoolean());
        // the head alone is a [8*128, 64] x [64, 1000] matmul
        assertTrue(j.at("/summary/forwardFlops").asLong() > 2L * 8 * 128 * 64 * 1000);
        // the coarse graph recognises the encoder's 4 layers as one class of repeated blocks
        assertTrue(j.at("/summary/coarseNodes").asInt() > 0 && j.at("/summary/coarseNodes").asInt() < 305);
        assertEquals(4, j.at("/coarse/blockClasses/0/instances").asInt());
        // values lists each value once
        java.util.Set<String> names = new java.util.HashSet<>();
        j.get("values").forEach(v -> assertTrue(names.add(v.get("name").asText()), v.toString()));
        assertEquals(j.at("/summary/values").asInt(), names.size());
    }

    @Test
    void unboundSymbolsStaySymbolicAndAreNamed() {
        CliRun r = run("inspect", "builtin:cnn", "--dim", "batch=3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("image  float32  [3, 3, 32, 32]"), r.out());
        assertTrue(r.out().contains("all "), r.out());
    }

    @Test
    void humanSummaryListsInputsOutputsAndParameters() {
        CliRun r = run("inspect");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("input_ids  int64    [8, 128]"), r.out());
        assertTrue(r.out().contains("parameters  360,808"), r.out());
        assertTrue(r.out().contains("shapes      all"), r.out());
    }

    @Test
    void inputShapeReplacesDeclaredShape() throws IOException {
        CliRun r = run("inspect", "builtin:transformer", "--input-shape", "input_ids=2,16", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("[2,16,1000]", j.at("/outputs/0/shape").toString());
    }

    /**
     * {@code --batch} binds the batch as {@code plan} does: the dimension named batch, else the one batch-like name
     * leading the inputs (here {@code batch_size}), with the same note; a {@code --dim} of that name gives the same model.
     */
    @Test
    void batchBindsTheBatchDimensionAsPlanDoes(@TempDir Path dir) throws IOException {
        ai.onnx.proto.OnnxMl.TensorShapeProto.Builder shape = ai.onnx.proto.OnnxMl.TensorShapeProto.newBuilder()
                .addDim(ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch_size"))
                .addDim(ai.onnx.proto.OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(16));
        ai.onnx.proto.OnnxMl.ValueInfoProto x = ai.onnx.proto.OnnxMl.ValueInfoProto.newBuilder().setName("x")
                .setType(ai.onnx.proto.OnnxMl.TypeProto.newBuilder().setTensorType(ai.onnx.proto.OnnxMl.TypeProto.Tensor
                        .newBuilder().setElemType(org.shardplan.cost.profile.OnnxModels.FLOAT).setShape(shape))).build();
        ai.onnx.proto.OnnxMl.GraphProto g = ai.onnx.proto.OnnxMl.GraphProto.newBuilder().setName("g").addInput(x)
                .addInitializer(org.shardplan.cost.profile.OnnxModels.randomTensor("w",
                        org.shardplan.cost.profile.OnnxModels.FLOAT, new long[] {16, 8}, new java.util.SplittableRandom(1)))
                .addNode(ai.onnx.proto.OnnxMl.NodeProto.newBuilder().setName("mm").setOpType("MatMul").addInput("x")
                        .addInput("w").addOutput("y"))
                .addOutput(org.shardplan.cost.profile.OnnxModels.valueInfo("y", org.shardplan.cost.profile.OnnxModels.FLOAT,
                        null))
                .build();
        Path f = dir.resolve("m.onnx");
        Files.write(f, ai.onnx.proto.OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(ai.onnx.proto.OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build()
                .toByteArray());
        CliRun r = run("inspect", f.toString(), "--batch", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*\\n  x +float32 +\\[4, 16\\]\\n.*"), r.out());
        assertTrue(r.out().contains("note: --batch binds the model's batch dimension, named 'batch_size'"), r.out());
        JsonNode a = new ObjectMapper().readTree(run("inspect", f.toString(), "--batch", "4", "--json").out());
        JsonNode b = new ObjectMapper().readTree(run("inspect", f.toString(), "--dim", "batch_size=4", "--json").out());
        assertEquals(b, a);
        assertEquals(4, a.get("bindings").get("batch_size").asLong());
        // without it the dimension stays open; a --batch of 0 is an error naming it
        assertTrue(run("inspect", f.toString()).out().contains("[batch_size, 16]"));
        CliRun zero = run("inspect", f.toString(), "--batch", "0");
        assertEquals(2, zero.code());
        assertTrue(zero.err().contains("--batch must be >= 1, found 0"), zero.err());
    }

    @Test
    void badInputIsOneLineWithExitCode2(@TempDir Path dir) throws IOException {
        CliRun missing = run("inspect", dir.resolve("nope.onnx").toString());
        assertEquals(2, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("nope.onnx: file not found"), missing.err());

        Path text = dir.resolve("notes.onnx");
        Files.writeString(text, "this is not a protobuf\n");
        CliRun notProto = run("inspect", text.toString());
        assertEquals(2, notProto.code());
        assertTrue(notProto.err().contains("notes.onnx: is not"), notProto.err());
        assertFalse(notProto.err().contains("\tat "), notProto.err());

        CliRun badDim = run("inspect", "--dim", "batch");
        assertEquals(2, badDim.code());
        assertTrue(badDim.err().contains("--dim must be NAME=VALUE, found 'batch'"), badDim.err());

        CliRun badInput = run("inspect", "--input-shape", "nosuch=1,2");
        assertEquals(2, badInput.code());
        assertTrue(badInput.err().contains("--input-shape names input 'nosuch', but the model's inputs are: input_ids"),
                badInput.err());
    }
}
