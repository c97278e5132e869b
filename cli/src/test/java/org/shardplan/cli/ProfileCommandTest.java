package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.profile.OnnxModels;

class ProfileCommandTest {

    /** x[batch,64] -> MatMul w1[64,32] -> Relu -> MatMul w2[32,16] -> y, batch symbolic. */
    static Path mlp(Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(3);
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("mlp")
                .addInput(OnnxModels.valueInfo("x", OnnxModels.FLOAT, new long[] {-1, 64}).toBuilder()
                        .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                                .setElemType(OnnxModels.FLOAT).setShape(OnnxMl.TensorShapeProto.newBuilder()
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                                        .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(64))))))
                .addInitializer(OnnxModels.randomTensor("w1", OnnxModels.FLOAT, new long[] {64, 32}, rnd))
                .addInitializer(OnnxModels.randomTensor("w2", OnnxModels.FLOAT, new long[] {32, 16}, rnd))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("mm1").setOpType("MatMul").addInput("x").addInput("w1").addOutput("h"))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("relu").setOpType("Relu").addInput("h").addOutput("r"))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("mm2").setOpType("MatMul").addInput("r").addInput("w2").addOutput("y"))
                .addOutput(OnnxModels.valueInfo("y", OnnxModels.FLOAT, null))
                .build();
        OnnxMl.ModelProto m = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        Path f = dir.resolve("mlp.onnx");
        Files.write(f, m.toByteArray());
        return f;
    }

    static int run(StringWriter out, StringWriter err, String... args) {
        return Main.run(args, new PrintWriter(out), new PrintWriter(err));
    }

    @Test
    void profilesAModelAndReusesItsCalibration(@TempDir Path dir) throws Exception {
        Path model = mlp(dir);
        Path cal = dir.resolve("cal.json");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(out, err, "profile", model.toString(), "--dim", "batch=4", "--threads", "1", "--repeats", "3",
                "--min-time", "0", "--calibration", cal.toString(), "--json");
        assertEquals(0, code, err.toString());
        JsonNode r = new ObjectMapper().readTree(out.toString());
        assertEquals("mlp.onnx", r.get("model").asText());
        assertEquals("cpu-local", r.get("device").asText());
        assertEquals(3, r.get("nodes").size());
        assertEquals("MatMul", r.get("nodes").get(0).get("op").asText());
        assertTrue(r.get("nodes").get(0).get("predictedSeconds").asDouble() > 0);
        assertTrue(r.get("nodes").get(0).get("measuredSeconds").asDouble() > 0);
        assertTrue(r.get("totals").get("measuredSeconds").asDouble() > 0);
        assertTrue(r.get("totals").has("medianAbsRelError"));
        assertEquals(3, r.get("totals").get("measuredSignatures").asInt());
        assertEquals(3, CalibrationFile.read(cal).size());

        // --batch binds the same dimension: every measurement comes from the file
        StringWriter out2 = new StringWriter();
        assertEquals(0, run(out2, new StringWriter(), "profile", model.toString(), "--batch", "4", "--threads", "1",
                "--repeats", "3", "--min-time", "0", "--calibration", cal.toString()));
        assertTrue(out2.toString().contains("0 measured now, 3 from the calibration file"), out2.toString());
        assertTrue(out2.toString().contains("whole model"), out2.toString());
    }

    @Test
    void sweepRecordsNeighbouringSizesAndPredictsFromThem(@TempDir Path dir) throws Exception {
        Path model = mlp(dir);
        Path cal = dir.resolve("cal.json");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(out, err, "profile", model.toString(), "--dim", "batch=4", "--threads", "1", "--repeats", "3",
                "--min-time", "0", "--rounds", "1", "--no-whole-model", "--sweep", "--calibration", cal.toString(),
                "--json");
        assertEquals(0, code, err.toString());
        JsonNode r = new ObjectMapper().readTree(out.toString());
        // the model's three signatures, each with batch 2 and batch 8 besides batch 4
        assertEquals(3, r.get("totals").get("measuredSignatures").asInt());
        CalibrationFile c = CalibrationFile.read(cal);
        assertEquals(3 * 3, c.size());
        assertTrue(c.get("MatMul||float32[8,64]a;float32[64,32]p|float32[8,32]").isPresent(),
                c.entries().toString());
        assertTrue(c.get("Relu||float32[2,32]a|float32[2,32]").isPresent(), c.entries().toString());
        for (JsonNode n : r.get("nodes")) {
            assertEquals("family", n.get("source").asText());
        }
    }

    @Test
    void badInputIsOneLineWithExitCodeTwo(@TempDir Path dir) throws Exception {
        Path model = mlp(dir);
        StringWriter err = new StringWriter();
        assertEquals(2, run(new StringWriter(), err, "profile", model.toString(), "--threads", "-1"));
        assertEquals("shardplan: error: --threads must be >= 0, found -1", err.toString().trim());
        StringWriter err2 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err2, "profile", model.toString(), "--optimization", "max"));
        assertTrue(err2.toString().contains("--optimization must be none, basic, extended or all, found \"max\""));
        StringWriter err3 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err3, "profile", model.toString(), "--rounds", "0"));
        assertEquals("shardplan: error: --rounds must be at least 1, found 0", err3.toString().trim());
        StringWriter err4 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err4, "profile", model.toString(), "--quiet", "0.3,15"));
        assertEquals("shardplan: error: --quiet must be THRESHOLD,MAXWAIT,BUDGET (three numbers >= 0), found \"0.3,15\"",
                err4.toString().trim());
        StringWriter err5 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err5, "profile", model.toString(), "--quiet", "0.3,-1,600"));
        assertTrue(err5.toString().contains("--quiet must be THRESHOLD,MAXWAIT,BUDGET"), err5.toString());
    }

    @Test
    void quietGateFromItsOption() throws Exception {
        org.shardplan.cost.profile.QuietGate g = ProfileCommand.quietGate("0.3, 15,600");
        assertEquals(0.3, g.threshold());
        assertEquals(15, g.maxWaitSeconds());
        assertEquals(600, g.budgetSeconds());
    }
}
