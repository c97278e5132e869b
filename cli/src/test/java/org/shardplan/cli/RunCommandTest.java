package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {

    private static Path model(String name) {
        Path p = Path.of(System.getProperty("shardplan.root", ".")).resolve("build-data/models").resolve(name);
        assumeTrue(Files.isRegularFile(p), "missing " + p + " (dev/setup-test-data)");
        return p;
    }

    @Test
    void aLocalPipelinePlanRunsAndItsOutputsEqualTheWholeModels(@TempDir Path dir) throws Exception {
        Path m = model("resnet18.onnx");
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", m.toString(), "--device", "cpu-local", "--devices", "2", "--pipeline-parallel", "2",
                "--tensor-parallel", "1", "--batch", "4", "--micro-batches", "2",
                "--out", plan.toString(), "--time-limit", "20");
        assertEquals(0, p.code(), p.err());
        Path stages = dir.resolve("stages");
        CliRun r = CliRun.of("run", plan.toString(), m.toString(), "--steps", "2", "--json", "--stages-dir", stages.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("outputsMatch").asBoolean());
        assertTrue(j.get("relativeDifference").asDouble() <= 1e-5);
        assertTrue(j.get("measuredSecondsPerStep").asDouble() > 0);
        assertEquals(2, j.get("stages").asInt());
        assertEquals(2, j.get("microBatches").asInt());
        assertEquals(2, j.get("microBatchSize").asInt());
        // the prediction is the closed form over the plan's stages: sum f_s + (M - 1) max f_s
        JsonNode pl = new ObjectMapper().readTree(plan.toFile());
        double f0 = pl.get("stages").get(0).get("forwardSeconds").asDouble() + pl.get("stages").get(0).get("sendSeconds").asDouble();
        double f1 = pl.get("stages").get(1).get("forwardSeconds").asDouble() + pl.get("stages").get(1).get("sendSeconds").asDouble();
        assertEquals(f0 + f1 + (2 - 1) * Math.max(f0, f1), j.get("predictedSecondsPerStep").asDouble(), 1e-12);
        double m0 = j.get("measuredStageCpuSeconds").get(0).asDouble();
        double m1 = j.get("measuredStageCpuSeconds").get(1).asDouble();
        assertTrue(m0 > 0 && m1 > 0, m0 + " " + m1);
        assertEquals(m0 + m1 + (2 - 1) * Math.max(m0, m1), j.get("closedFormOfMeasuredStages").asDouble(), 1e-12);
        assertTrue(Files.isRegularFile(stages.resolve("stage1.onnx")));
        assertTrue(Files.isRegularFile(stages.resolve("manifest.json")));
    }

    @Test
    void aModelExportedWithoutItsWeightsRunsWithItsWeightsFed(@TempDir Path dir) throws Exception {
        // every parameter is a graph input: the importer plans them as parameters, and the run feeds them
        Path m = model("alexnet_no_weights.onnx");
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", m.toString(), "--device", "cpu-local", "--devices", "2", "--pipeline-parallel", "2",
                "--batch", "2", "--micro-batches", "2", "--out", plan.toString(), "--time-limit", "20");
        assertEquals(0, p.code(), p.err());
        CliRun r = CliRun.of("run", plan.toString(), m.toString(), "--steps", "1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.get("outputsMatch").asBoolean(), r.out());
        assertTrue(j.get("stages").asInt() >= 2, r.out()); // stage models: 2 stages, or their interleaved chunks
    }

    @Test
    void aPlanForAnotherClusterIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path m = model("resnet18.onnx");
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", m.toString(), "--device", "a100", "--devices", "2", "--pipeline-parallel", "2",
                "--batch", "4", "--out", plan.toString(), "--time-limit", "20");
        assertEquals(0, p.code(), p.err());
        CliRun r = CliRun.of("run", plan.toString(), m.toString());
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("the plan is for 2 x a100"), r.err());
    }
}
