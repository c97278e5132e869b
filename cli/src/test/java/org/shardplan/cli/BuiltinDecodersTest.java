package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in decoders on the command line: {@code builtin:gpt-...}, {@code builtin:llama...}. */
class BuiltinDecodersTest {

    @Test
    void inspectAPresetReportsItsParametersAndLayerClass() throws Exception {
        CliRun r = CliRun.of("inspect", "builtin:gpt-1.7b", "--dim", "batch=1", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        long h = 2304;
        assertEquals(24 * (12 * h * h + 13 * h) + 51200 * h + 2048 * h + 2 * h, j.at("/summary/parameters").asLong());
        assertEquals(2048, j.at("/bindings/seq").asLong());
        assertEquals("[1,2048,51200]", j.at("/outputs/0/shape").toString());
        assertEquals(24, j.at("/coarse/blockClasses/0/instances").asInt());
        assertEquals(1, j.at("/coarse/blockClasses").size());
        assertEquals(0, j.at("/summary/symbolicShapes").asInt());
    }

    @Test
    void batchStaysSymbolicUntilBoundAndSeqCanBeRebound() {
        CliRun r = CliRun.of("inspect", "builtin:llama3-8b?layers=2", "--dim", "seq=512");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("input_ids  int64    [batch, 512]"), r.out());
        assertTrue(r.out().contains("(built in)"), r.out());
        r = CliRun.of("plan", "builtin:gpt?layers=2,hidden=64,heads=4,vocab=512,seq=64", "--devices", "4");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.err().contains("give --batch N"), r.err());
    }

    @Test
    void planAndEvaluateASmallParametricModel(@TempDir Path dir) throws Exception {
        String model = "builtin:llama?layers=2,hidden=256,heads=8,kv-heads=2,vocab=1024,seq=128";
        Path plan = dir.resolve("plan.json");
        CliRun r = CliRun.of("plan", model, "--batch", "8", "--devices", "4", "--device", "a100-80gb", "--out",
                plan.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("plan for " + model + " (built in) on 4 x a100-80gb"), r.out());
        // the plan names its model, so evaluate finds it again without the MODEL argument
        CliRun v = CliRun.of("evaluate", plan.toString());
        assertEquals(0, v.code(), v.err());
        assertTrue(v.out().contains("largest difference 0"), v.out());
    }

    @Test
    void aGptPlanHasTheMegatronBaselineAndIsNeverSlowerThanABaselineThatFits() throws Exception {
        CliRun r = CliRun.of("plan", "builtin:gpt?layers=2,hidden=256,heads=8,vocab=1024,seq=128", "--batch", "2",
                "--devices", "8", "--device", "a100-80gb", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode expert = j.at("/baselines/expert");
        // plain Megatron or its sequence-parallel variant, whichever is faster
        assertTrue(expert.get("name").asText().matches("megatron(-sp)? \\(tensor parallel [0-9].*"), expert.toString());
        double step = j.at("/totals/stepSeconds").asDouble();
        for (JsonNode b : j.get("baselines")) {
            if (b.get("fits").asBoolean()) {
                assertTrue(step <= b.get("stepSeconds").asDouble() * (1 + 1e-9), b + " vs " + step);
            }
        }
        boolean attention = false;
        for (JsonNode n : j.get("nodes")) {
            attention |= n.get("name").asText().equals("/transformer/h.1/attn/MatMul");
        }
        assertTrue(attention, "the plan lists the attention scores of layer 1");
    }

    @Test
    void badFormsExitWith2AndOneLineNamingTheKey() {
        CliRun r = CliRun.of("inspect", "builtin:gpt?layers=2,hidden=64");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing key 'heads'"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        r = CliRun.of("plan", "builtin:llama?layers=2,hidden=64,heads=4,widht=3", "--batch", "8");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown key 'widht'"), r.err());
        r = CliRun.of("inspect", "builtin:gpt-2t");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("gpt-1.7b") && r.err().contains("found 'gpt-2t'"), r.err());
    }
}
