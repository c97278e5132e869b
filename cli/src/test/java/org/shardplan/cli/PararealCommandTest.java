package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanJson;

/** {@code plan --parareal}: a plan that changes the model, and one-line errors for requests that cannot apply. */
class PararealCommandTest {

    private static String model(String name) {
        Path file = PlanRealModelsTest.models().resolve(name);
        if (!Files.exists(file)) {
            Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null, file + " is missing");
            throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1: run dev/setup-test-data");
        }
        return file.toString();
    }

    @Test
    void fixedSegmentsWriteAPararealSection(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("plan.json");
        CliRun r = CliRun.of("plan", model("resnet18.onnx"), "--batch", "16", "--devices", "2", "--pipeline-parallel",
                "off", "--parareal", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("parareal (changes the model): 2 segments of /layer1/layer1.0/conv1/Conv .."
                + " /layer1/layer1.1/conv2/Conv (2 blocks), 1 device each, cut before /layer1/layer1.1/conv1/Conv"), r.out());
        Plan p = PlanJson.read(out);
        assertTrue(p.changesModel());
        assertEquals(2, p.parareal().orElseThrow().first().segments());
    }

    @Test
    void badRequestsAreOneLineErrors() {
        CliRun tooMany = CliRun.of("plan", model("resnet18.onnx"), "--batch", "16", "--devices", "4", "--pipeline-parallel",
                "off", "--parareal", "4");
        assertEquals(2, tooMany.code());
        assertEquals("shardplan: error: --parareal must be at most 2, the blocks of the longest shape-keeping chain"
                + " (/layer1/layer1.0/conv1/Conv .. /layer1/layer1.1/conv2/Conv), found 4\n", tooMany.err());
        CliRun none = CliRun.of("plan", model("alexnet.onnx"), "--batch", "16", "--devices", "2", "--pipeline-parallel",
                "off", "--parareal", "2");
        assertEquals(2, none.code());
        assertEquals(1, none.err().lines().count(), none.err());
        assertTrue(none.err().contains("--parareal 2: the model has no chain of at least 2 repeated blocks"), none.err());
        CliRun word = CliRun.of("plan", model("alexnet.onnx"), "--parareal", "many");
        assertEquals(2, word.code());
        assertEquals("shardplan: error: --parareal must be off, auto or a number of segments >= 2, found 'many'\n",
                word.err());
    }
}
