package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {

    /** Ten digit files in the npm package's layout, {@code perDigit} random images each. */
    private static Path digits(Path dir, int perDigit) throws Exception {
        Path d = dir.resolve("src/digits");
        Files.createDirectories(d);
        SplittableRandom rnd = new SplittableRandom(1);
        for (int k = 0; k < 10; k++) {
            StringBuilder s = new StringBuilder("{ \"data\": [");
            for (int i = 0; i < perDigit * 784; i++) {
                s.append(i == 0 ? "" : ",").append(rnd.nextInt(4) == 0 ? String.valueOf(rnd.nextDouble()) : "0");
            }
            Files.writeString(d.resolve(k + ".json"), s.append("]}").toString());
        }
        return dir;
    }

    @Test
    void trainsBothSchedulesFromTheSameWeights(@TempDir Path dir) throws Exception {
        Path data = digits(dir.resolve("mnist"), 8);
        Path svg = dir.resolve("curves.svg");
        CliRun r = CliRun.of("train", "--data", data.toString(), "--layers", "784,32,10", "--stages", "2", "--epochs", "2",
                "--micro-batch-size", "4", "--max-active-keys", "2", "--min-update-frequency", "1", "--micro-batches", "2",
                "--svg", svg.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(64, j.get("trainExamples").asInt());
        assertEquals(16, j.get("testExamples").asInt());
        assertEquals(2, j.get("runs").size());
        JsonNode sync = j.get("runs").get(0);
        JsonNode amp = j.get("runs").get(1);
        assertEquals("sync", sync.get("schedule").asText());
        assertEquals("amp", amp.get("schedule").asText());
        // 64 examples in instances of 4: 16 instances per epoch; sync updates once per 2, amp after each
        assertEquals(16, sync.get("staleness").get(0).get("updates").asInt());
        assertEquals(32, amp.get("staleness").get(0).get("updates").asInt());
        assertEquals(0, sync.get("staleness").get(0).get("max").asInt());
        assertTrue(amp.get("staleness").get(0).get("max").asInt() <= 1);
        assertEquals(2, amp.get("epochs").size());
        assertTrue(Files.readString(svg).startsWith("<svg"));
    }

    @Test
    void anAmpPlanGivesItsStagesKeysAndStaleness(@TempDir Path dir) throws Exception {
        Path data = digits(dir.resolve("mnist"), 8);
        Path model = dir.resolve("mlp.onnx");
        assertEquals(0, CliRun.of("train", "--write-model", model.toString(), "--layers", "784,32,16,10").code());
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", model.toString(), "--device", "cpu-local", "--devices", "2", "--pipeline-parallel", "2",
                "--tensor-parallel", "1", "--batch", "8", "--micro-batches", "2", "--schedule", "amp",
                "--max-active-keys", "3", "--min-update-frequency", "2", "--out", plan.toString());
        assertEquals(0, p.code(), p.err());
        CliRun r = CliRun.of("train", model.toString(), "--plan", plan.toString(), "--data", data.toString(), "--epochs", "1",
                "--schedule", "amp", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode run = new ObjectMapper().readTree(r.out()).get("runs").get(0);
        assertEquals(3, run.get("maxActiveKeys").asInt());
        assertEquals(2, run.get("minUpdateFrequency").asInt());
        assertEquals(4, run.get("microBatchSize").asInt());
        JsonNode plan0 = new ObjectMapper().readTree(plan.toFile()).get("schedule").get("staleness").get(0);
        JsonNode s0 = run.get("staleness").get(0);
        assertEquals(plan0.get("expected").asDouble(), s0.get("predictedMean").asDouble(), 0);
        // 64 examples in instances of 4: 16 gradients per stage, an update every 2
        assertEquals(8, s0.get("updates").asInt());
        assertTrue(s0.get("max").asInt() <= 2);
    }

    @Test
    void missingDataIsABadInputInOneLine(@TempDir Path dir) {
        CliRun r = CliRun.of("train", "--data", dir.resolve("none").toString(), "--epochs", "1");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("setup-test-data"), r.err());
    }

    @Test
    void unsupportedOperatorsAreNamed(@TempDir Path dir) {
        Path m = Path.of(System.getProperty("shardplan.root", ".")).resolve("build-data/models/resnet18.onnx");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(m));
        CliRun r = CliRun.of("train", m.toString(), "--data", dir.toString(), "--epochs", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("the training engine does not translate"), r.err());
        // a planning model's built-in name is not a file: said so, not "file not found"
        r = CliRun.of("train", "builtin:cnn", "--data", dir.toString(), "--epochs", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("train takes an ONNX file of an MNIST classifier") && r.err().contains("builtin:cnn"),
                r.err());
    }
    /** A residual MLP, its parareal rewrite (plan --parareal 2, export parareal), and that network trained. */
    @Test
    void thePararealRewriteOfAResidualMlpTrains(@TempDir Path dir) throws Exception {
        Path data = digits(dir.resolve("mnist"), 8);
        Path model = dir.resolve("resmlp.onnx");
        CliRun w = CliRun.of("train", "--write-model", model.toString(), "--layers", "784,32,10", "--residual", "4");
        assertEquals(0, w.code(), w.err());
        assertTrue(w.out().contains("4 residual blocks"), w.out());
        JsonNode params = trainedRewrite(dir, model, data, "2 segments of /res0/Gemm .. /res3/Gemm (4 blocks)");
        int coarse = 0;
        for (JsonNode n : params) {
            coarse += n.asText().startsWith("parareal/coarse") ? 1 : 0;
        }
        // two coarse blocks of one weight and one bias each, trained with the original 2 + 4 x 2 + 2
        assertEquals(4, coarse, params.toString());
        assertEquals(4 + 2 + 4 * 2 + 2, params.size(), params.toString());
        CliRun bad = CliRun.of("train", "--write-model", dir.resolve("x.onnx").toString(), "--layers", "784,10",
                "--residual", "2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--residual: residual blocks need a hidden layer"), bad.err());
    }

    /** A residual convolutional network, its parareal rewrite tearing the residual blocks, and that network trained. */
    @Test
    void thePararealRewriteOfAResidualConvnetTrains(@TempDir Path dir) throws Exception {
        Path data = digits(dir.resolve("mnist"), 8);
        Path model = dir.resolve("resconv.onnx");
        CliRun w = CliRun.of("train", "--write-model", model.toString(), "--conv", "4", "--residual", "4");
        assertEquals(0, w.code(), w.err());
        assertTrue(w.out().contains("convolutional network of 4 channels with 4 residual blocks"), w.out());
        JsonNode params = trainedRewrite(dir, model, data, "2 segments of /res0/Conv .. /res3/Conv (4 blocks)");
        int coarse = 0;
        for (JsonNode n : params) {
            coarse += n.asText().startsWith("parareal/coarse") ? 1 : 0;
        }
        // two coarse blocks of one conv weight and one bias each, trained with the original stem 2 + 4 x 2 + head 2
        assertEquals(4, coarse, params.toString());
        assertEquals(4 + 2 + 4 * 2 + 2, params.size(), params.toString());
        CliRun both = CliRun.of("train", "--write-model", dir.resolve("x.onnx").toString(), "--conv", "4", "--layers",
                "784,10");
        assertEquals(2, both.code());
        assertEquals("shardplan: error: --conv builds a convolutional network; --layers is for the MLP\n", both.err());
    }

    /**
     * Plans {@code model} with {@code --parareal 2} on two devices (the plan must say {@code planLine}),
     * exports the rewrite, trains it for one epoch in one stage and checks its loss is finite; the
     * names of the trained parameters.
     */
    private static JsonNode trainedRewrite(Path dir, Path model, Path data, String planLine) throws Exception {
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", model.toString(), "--batch", "16", "--devices", "2", "--device", "cpu-local",
                "--pipeline-parallel", "off", "--parareal", "2", "--out", plan.toString());
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains(planLine), p.out());
        Path rewritten = dir.resolve("parareal.onnx");
        CliRun e = CliRun.of("export", "parareal", plan.toString(), model.toString(), "--out", rewritten.toString());
        assertEquals(0, e.code(), e.err());
        CliRun t = CliRun.of("train", rewritten.toString(), "--data", data.toString(), "--stages", "1", "--schedule",
                "sync", "--epochs", "1", "--micro-batch-size", "4", "--json");
        assertEquals(0, t.code(), t.err());
        JsonNode j = new ObjectMapper().readTree(t.out());
        double loss = j.get("runs").get(0).get("epochs").get(0).get("trainLoss").asDouble();
        assertTrue(loss > 0 && Double.isFinite(loss), "train loss " + loss);
        return j.get("stages").get(0).get("parameters");
    }
}
