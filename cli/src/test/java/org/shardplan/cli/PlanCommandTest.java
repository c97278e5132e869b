package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.shardplan.cost.profile.OnnxModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlanCommandTest {
    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void outDashWritesTheJsonToStandardOutputNotAFileNamedDash() throws Exception {
        java.nio.file.Path dash = java.nio.file.Path.of("-");
        java.nio.file.Files.deleteIfExists(dash);
        CliRun r = run("plan", "builtin:cnn", "--devices", "2", "--out", "-");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("{") && r.out().contains("\"format\""), r.out());
        assertTrue(!java.nio.file.Files.exists(dash), "a file named '-' was written");
        CliRun e = run("export", "onnx", "x.json", "--out", "-");
        assertEquals(2, e.code(), e.err());
        assertTrue(e.err().contains("writes a model file: give --out PATH (not standard output)"), e.err());
        java.nio.file.Files.deleteIfExists(dash);
    }

    @Test
    void defaultPlansTheBundledTransformerOnEightA100s() {
        CliRun r = run("plan");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("plan for builtin:transformer (bundled default) on 8 x a100-40gb (8 per node), batch 64"),
                r.out());
        assertTrue(r.out().contains("/head/MatMul"), r.out());
        // attention is a cost-model setting, not a decision the user fixed
        assertTrue(r.out().contains("all chosen by the search; attention priced fused"), r.out());
        assertTrue(r.out().contains("  data-parallel step"), r.out());
        // the expert: Megatron or its sequence-parallel variant, whichever is faster
        assertTrue(r.out().contains("  megatron (tensor parallel ") || r.out().contains("  megatron-sp (tensor parallel "),
                r.out());
        assertTrue(r.out().contains("search: "), r.out());
    }

    @Test
    void jsonOutExplainAndEvaluateAgree(@TempDir Path dir) throws Exception {
        Path plan = dir.resolve("plan.json");
        CliRun r = run("plan", "builtin:cnn", "--devices", "16", "--batch", "32", "--out", plan.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("shardplan-plan/2", j.get("format").asText());
        // the devices the plan runs on: all 16, or the first ones with a warning naming the others idle
        // (docs/schedules.md; on 8 of them the plan is 0.1% faster than any found on all 16)
        int used = j.at("/cluster/devices").asInt();
        assertEquals(used, j.at("/parallelism/data").asInt() * j.at("/parallelism/tensor").asInt()
                * j.at("/parallelism/pipeline").asInt());
        assertTrue(used == 16 || used == 8 && j.get("warnings").toString().contains("8 of the 16 devices are left idle"),
                used + " devices: " + j.get("warnings"));
        assertEquals(32, j.get("batch").asInt());
        assertEquals("one-weird-trick", j.at("/baselines/expert/name").asText());
        double step = j.at("/totals/stepSeconds").asDouble();
        assertTrue(step <= j.at("/baselines/dataParallel/stepSeconds").asDouble());
        assertTrue(step <= j.at("/baselines/expert/stepSeconds").asDouble());
        assertEquals(Files.readString(plan), r.out());
        CliRun e = run("explain", plan.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().startsWith("plan for builtin:cnn on " + used + " x a100-40gb"), e.out());
        CliRun v = run("evaluate", plan.toString(), "builtin:cnn", "--json");
        assertEquals(0, v.code(), v.err());
        JsonNode re = new ObjectMapper().readTree(v.out());
        assertEquals(step, re.at("/totals/stepSeconds").asDouble(), 1e-12 * step);
    }

    @Test
    void explainTakesCopiesInAPlacementAndNamesBadOnes(@TempDir Path dir) throws Exception {
        Path plan = dir.resolve("plan.json");
        // 8 samples on 16 devices: the stem is split 8 ways, copied twice over the 16
        assertEquals(0, run("plan", "builtin:cnn", "--devices", "16", "--batch", "8", "--pipeline-parallel", "off",
                "--out", plan.toString()).code());
        JsonNode j = new ObjectMapper().readTree(Files.readString(plan));
        com.fasterxml.jackson.databind.node.ObjectNode node = (com.fasterxml.jackson.databind.node.ObjectNode) j.get("nodes").get(0);
        int split = node.get("devices").asInt();
        assertEquals(8, split, node.toString());
        // the 8-way split twice over the 16 devices: a ~N entry as the planner writes for layers on fewer devices
        Path edited = dir.resolve("copies.json");
        JsonNode placed = node.get("placement").deepCopy();
        for (String[] c : new String[][] {{"~2", "0"}, {"~1", "0"}, {"~3", "2"}, {"~x", "2"}, {"~0", "2"}, {"~4", "2"},
            {"~99999999999", "2"}}) {
            node.putArray("placement").add(c[0]).addAll((com.fasterxml.jackson.databind.node.ArrayNode) placed);
            Files.writeString(edited, j.toPrettyString());
            CliRun e = run("explain", edited.toString());
            assertEquals(Integer.parseInt(c[1]), e.code(), c[0] + ": " + e.err());
            if (e.code() == 2) {
                assertTrue(e.err().contains("placement entry " + c[0] + " must be ~N"), e.err());
            }
        }
    }

    @Test
    void stagesThatDisagreeWithThePlanAreNamedByEveryCommand(@TempDir Path dir) throws Exception {
        String gpt = "builtin:gpt?layers=4,hidden=256,heads=8";
        Path plan = dir.resolve("plan.json");
        CliRun made = run("plan", gpt, "--batch", "8", "--devices", "8", "--pipeline-parallel", "2", "--out", plan.toString());
        assertEquals(0, made.code(), made.err());
        ObjectMapper om = new ObjectMapper();
        String first = om.readTree(plan.toFile()).get("stages").get(0).get("nodes").get(0).asText();
        // each edit, and the message naming it
        java.util.Map<String, java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode>> edits =
                new java.util.LinkedHashMap<>();
        edits.put("stages[1].devices must be [4, 7]", j -> ((com.fasterxml.jackson.databind.node.ArrayNode) j.get("stages")
                .get(1).get("devices")).removeAll().add(0).add(3));
        edits.put("must be listed by one stage, found in stages 0 and 1", j -> ((com.fasterxml.jackson.databind.node.ArrayNode)
                j.get("stages").get(1).get("nodes")).add(first));
        edits.put("found in no stage", j -> ((com.fasterxml.jackson.databind.node.ArrayNode) j.get("stages").get(0)
                .get("nodes")).remove(0));
        edits.put("stages[1].index must be 1", j -> ((com.fasterxml.jackson.databind.node.ObjectNode) j.get("stages").get(1))
                .put("index", 0));
        edits.put("parallelism.microBatches must be an integer from 1 to 2147483647", j ->
                ((com.fasterxml.jackson.databind.node.ObjectNode) j.get("parallelism")).put("microBatches", 1000000000000L));
        edits.put("schedule.name: schedule must be one of", j -> ((com.fasterxml.jackson.databind.node.ObjectNode)
                j.get("schedule")).put("name", "foo"));
        Path edited = dir.resolve("edited.json");
        for (var e : edits.entrySet()) {
            com.fasterxml.jackson.databind.node.ObjectNode j = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(
                    plan.toFile());
            e.getValue().accept(j);
            Files.writeString(edited, j.toPrettyString());
            for (String[] cmd : new String[][] {{"explain", edited.toString()}, {"evaluate", edited.toString(), gpt},
                {"simulate", edited.toString()}, {"report", edited.toString()}}) {
                CliRun r = run(cmd);
                assertEquals(2, r.code(), String.join(" ", cmd) + ": " + r.out() + r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().contains(e.getKey()), e.getKey() + " not in: " + r.err());
            }
        }
    }

    @Test
    void anEditedPlanIsRecostedAndAWrongOneIsNamed(@TempDir Path dir) throws Exception {
        Path plan = dir.resolve("plan.json");
        assertEquals(0, run("plan", "--devices", "8", "--out", plan.toString()).code());
        String text = Files.readString(plan);
        // hand edit: the head runs unsplit
        JsonNode j = new ObjectMapper().readTree(text);
        com.fasterxml.jackson.databind.node.ObjectNode head = null;
        for (JsonNode n : j.get("nodes")) {
            if (n.get("name").asText().equals("/head/MatMul")) {
                head = (com.fasterxml.jackson.databind.node.ObjectNode) n;
            }
        }
        head.putObject("strategy");
        head.putArray("placement");
        Path edited = dir.resolve("edited.json");
        Files.writeString(edited, j.toPrettyString());
        CliRun v = run("evaluate", edited.toString());
        assertEquals(0, v.code(), v.err());
        assertTrue(v.out().contains("re-costed: step"), v.out());
        head.putObject("strategy").put("nope", 2);
        Files.writeString(edited, j.toPrettyString());
        v = run("evaluate", edited.toString());
        assertEquals(2, v.code(), v.out());
        assertTrue(v.err().startsWith("shardplan: error: " + edited + " on builtin:transformer (bundled): plan node '/head/MatMul': "),
                v.err());
        assertEquals(1, v.err().strip().lines().count(), v.err());
        CliRun w = run("evaluate", plan.toString(), "builtin:cnn");
        assertEquals(2, w.code());
        assertTrue(w.err().contains("the plan does not match the model"), w.err());
    }

    @Test
    void badInputIsOneLineWithExitCode2() {
        CliRun r = run("plan", "--device", "tpu9000");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("shardplan: error: device type must be one of"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        r = run("plan", "--memory-limit", "lots");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--memory-limit must be a positive size in bytes"), r.err());
        r = run("explain", "/nonexistent/plan.json");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("plan file not found"), r.err());
    }

    /**
     * A cluster of two device types and node sizes: the report's first line lists them (not the first node's type for
     * every device), the saved plan's explain says the same, and the warning says how it was priced.
     */
    @Test
    void aMixedClusterIsNamedByItsDeviceTypes(@TempDir Path dir) throws Exception {
        Path cluster = dir.resolve("mixed.json");
        Files.writeString(cluster, "{\"format\": \"shardplan-cluster/1\", \"nodes\": [{\"device\": \"a100-80gb\", \"devices\": 8},"
                + " {\"device\": \"v100\", \"devices\": 4, \"count\": 2}]}");
        Path plan = dir.resolve("plan.json");
        CliRun r = run("plan", "--batch", "16", "--cluster", cluster.toString(), "--out", plan.toString());
        assertEquals(0, r.code(), r.err());
        String first = "on 16 devices (8 x a100-80gb, 8 x v100 in nodes of 8 and 4), batch 16";
        assertTrue(r.out().lines().findFirst().orElseThrow().contains(first), r.out());
        assertTrue(r.out().contains("warning: the cluster is not homogeneous: compute is priced on its slowest device, v100"),
                r.out());
        CliRun e = run("explain", plan.toString());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().lines().findFirst().orElseThrow().contains(first), e.out());
        // the exports' header and the HTML report's cluster row say the same
        CliRun m = run("export", "megatron", plan.toString(), "--approximate");
        assertEquals(0, m.code(), m.err());
        assertTrue(m.out().lines().findFirst().orElseThrow().contains(first), m.out());
        Path html = dir.resolve("plan.html");
        assertEquals(0, run("report", plan.toString(), "--html=" + html).code());
        assertTrue(Files.readString(html).contains(": 16 devices (8 &times; a100-80gb, 8 &times; v100 in nodes of 8 and 4)"));
        // one device type and node size: the short form
        CliRun same = run("plan", "--batch", "16", "--devices", "16");
        assertTrue(same.out().lines().findFirst().orElseThrow().contains("on 16 x a100-40gb (8 per node), batch 16"), same.out());
    }

    /**
     * A fixed schedule shapes pipelines; where the fastest plan found has one stage, the report says the option did not
     * shape it and how to get a plan with it (not where the user fixed one stage).
     */
    @Test
    void aScheduleTheOneStagePlanDoesNotUseIsNoted() {
        String note = "note: --schedule amp applies to pipelines, and the fastest plan found has one stage;"
                + " --pipeline-parallel 2 or more gives a plan with it";
        CliRun r = run("plan", "builtin:cnn", "--batch", "32", "--devices", "4", "--schedule", "amp");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("schedule none") && r.out().contains(note), r.out());
        CliRun two = run("plan", "builtin:cnn", "--batch", "32", "--devices", "4", "--schedule", "amp", "--pipeline-parallel", "2");
        assertEquals(0, two.code(), two.err());
        assertTrue(two.out().contains("schedule amp") && !two.out().contains("applies to pipelines"), two.out());
        CliRun free = run("plan", "builtin:cnn", "--batch", "32", "--devices", "4");
        assertFalse(free.out().contains("applies to pipelines"), free.out());
    }

    /**
     * A batch that shares no factor with the devices (7 on 8) has no data-parallel split: the plan splits each sample
     * (as for a batch of one), every replica group of one, and the report says why.
     */
    @Test
    void aBatchSharingNoFactorWithTheDevicesIsPlannedWithoutDataParallelism() throws Exception {
        CliRun r = run("plan", "--devices", "8", "--batch", "7", "--pipeline-parallel", "off");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("batch 7\n") && r.out().contains("parallelism: data 1 x tensor 8"), r.out());
        assertTrue(r.out().contains("note: --batch 7 shares no factor with the 8 devices, so no data-parallel split"
                + " divides it and the plan splits each sample instead"), r.out());
        // with --json the plan alone is on standard output and the note on standard error
        CliRun j = run("plan", "--devices", "8", "--batch", "7", "--pipeline-parallel", "off", "--json");
        assertEquals(0, j.code(), j.err());
        assertEquals(7, new ObjectMapper().readTree(j.out()).get("batch").asLong());
        assertTrue(j.err().contains("note: --batch 7 shares no factor with the 8 devices"), j.err());
        // a batch that shares one gets no such note
        CliRun shared = run("plan", "--devices", "8", "--batch", "6", "--pipeline-parallel", "off");
        assertEquals(0, shared.code(), shared.err());
        assertFalse(shared.out().contains("shares no factor"), shared.out());
    }

    /**
     * A model without a batch axis (a single image, as detection models take it: its first axis is the channels) planned
     * without --batch on devices its first axis shares no factor with: the note names where that batch came from, not a
     * --batch nobody gave.
     */
    @Test
    void aBatchTakenFromTheModelIsNamedAsSuch(@TempDir Path dir) throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("image")
                .addInput(OnnxModels.valueInfo("image", OnnxModels.FLOAT, new long[] {3, 16, 16}))
                .addInitializer(OnnxModels.randomTensor("w", OnnxModels.FLOAT, new long[] {16, 8},
                        new SplittableRandom(5)))
                .addNode(NodeProto.newBuilder().setName("mm").setOpType("MatMul").addInput("image").addInput("w")
                        .addOutput("y"))
                .addOutput(OnnxModels.valueInfo("y", OnnxModels.FLOAT, null))
                .build();
        Path f = write(dir.resolve("image.onnx"), g);
        CliRun r = run("plan", f.toString(), "--devices", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("note: the model's own batch 3 (no --batch given: the first axis of input 'image' of"
                + " shape [3, 16, 16]) shares no factor with the 8 devices"), r.out());
        assertFalse(r.out().contains("--batch 3"), r.out());
        // on 3 devices the same model plans, without the note
        CliRun three = run("plan", f.toString(), "--devices", "3");
        assertEquals(0, three.code(), three.err());
        assertFalse(three.out().contains("shares no factor"), three.out());
    }

    /**
     * An image [3, 16, 16] that the graph makes a batch of one ([1, 3, 16, 16], as detection exports do) before its
     * convolution: its first axis leads no convolution or matrix product, so the model is one sample, planned at batch 1
     * on 8 devices (not refused for a batch of 3 that shares no factor with them), and the note says why; the same
     * image fed to a matrix product over its first axis stays the model's own batch 3 (the test above).
     */
    @Test
    void anImageTheGraphBatchesItselfIsPlannedAsOneSample(@TempDir Path dir) throws Exception {
        GraphProto g = GraphProto.newBuilder().setName("detect")
                .addInput(OnnxModels.valueInfo("images", OnnxModels.FLOAT, new long[] {3, 16, 16}))
                .addInitializer(OnnxModels.int64Tensor("axes", new long[] {1}, new long[] {0}))
                .addInitializer(OnnxModels.randomTensor("w", OnnxModels.FLOAT, new long[] {8, 3, 3, 3},
                        new SplittableRandom(6)))
                .addNode(NodeProto.newBuilder().setName("batch1").setOpType("Unsqueeze").addInput("images")
                        .addInput("axes").addOutput("x"))
                .addNode(NodeProto.newBuilder().setName("conv").setOpType("Conv").addInput("x").addInput("w")
                        .addOutput("y"))
                .addOutput(OnnxModels.valueInfo("y", OnnxModels.FLOAT, null))
                .build();
        Path f = write(dir.resolve("detect.onnx"), g);
        CliRun r = run("plan", f.toString(), "--devices", "8");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("on 8 x a100-40gb (8 per node), batch 1\n"), r.out());
        assertTrue(r.out().contains("note: the first axis of input 'images' of shape [3, 16, 16] leads none of the model's"
                + " convolutions and matrix products, so it is no batch: the model is planned as one sample (batch 1)"), r.out());
    }

    /** {@code g} as an ONNX model (IR 8, opset 17) written to {@code f}. */
    private static Path write(Path f, GraphProto g) throws java.io.IOException {
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        Files.write(f, m.toByteArray());
        return f;
    }

    @Test
    void aTightMemoryLimitIsMetByTheSearchOrExitsWith3() throws Exception {
        // 4 MiB per device: the whole batch at once does not fit, micro-batches and recomputation do
        CliRun r = run("plan", "--memory-limit", "4MiB", "--json", "--pipeline-parallel", "off");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertTrue(j.at("/totals/peakMemoryBytesPerDevice").asDouble() <= 4 * (1 << 20), r.out());
        assertTrue(j.at("/parallelism/microBatches").asInt() > 1 || j.at("/options/recompute").asBoolean(), r.out());
        r = run("plan", "--memory-limit", "1KiB", "--pipeline-parallel", "off", "--time-limit", "20");
        assertEquals(3, r.code(), r.out());
        assertTrue(r.err().contains("searched ") && r.err().contains("micro-batches ["), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        // the limit as given, not rounded to "0.0 MiB"
        assertTrue(r.err().contains("no plan fits 1.0 KiB per device"), r.err());
    }

    @Test
    void anImpossibleMemoryLimitExitsWith3AndSaysWhatWouldFit() {
        CliRun r = run("plan", "--memory-limit", "1MiB", "--pipeline-parallel", "off", "--micro-batches", "1",
                "--recompute", "off", "--zero", "0");
        assertEquals(3, r.code(), r.out());
        assertTrue(r.err().startsWith("shardplan: error: no plan fits 1.0 MiB per device"), r.err());
        assertTrue(r.err().contains("(") && r.err().contains("over)"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }
}
