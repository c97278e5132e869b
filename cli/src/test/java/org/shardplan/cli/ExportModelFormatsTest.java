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
import org.shardplan.graph.Graph;
import org.shardplan.onnx.OnnxImporter;

/** The export formats of other modules, through the command line: {@code stages} (runtime) and {@code parareal} (planner). */
class ExportModelFormatsTest {

    private static Path model(String name) {
        Path p = Path.of(System.getProperty("shardplan.root", ".")).resolve("build-data/models").resolve(name);
        assumeTrue(Files.isRegularFile(p), "missing " + p + " (dev/setup-test-data)");
        return p;
    }

    @Test
    void stagesWritesOneModelPerStageAndAManifest(@TempDir Path dir) throws Exception {
        Path m = model("resnet18.onnx");
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", m.toString(), "--device", "cpu-local", "--devices", "2", "--pipeline-parallel", "2",
                "--tensor-parallel", "1", "--batch", "4", "--micro-batches", "2", "--out", plan.toString(),
                "--time-limit", "20");
        assertEquals(0, p.code(), p.err());
        Path out = dir.resolve("stages");
        CliRun r = CliRun.of("export", "stages", plan.toString(), m.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        assertEquals(2, manifest.get("stages").size(), manifest.toString());
        // every node of the model is in exactly one stage
        int nodes = 0;
        for (int s = 0; s < 2; s++) {
            Path f = out.resolve("stage" + s + ".onnx");
            assertTrue(Files.isRegularFile(f), f.toString());
            nodes += OnnxImporter.read(f).graph().nodes().size();
        }
        Graph whole = OnnxImporter.read(m).graph();
        assertEquals(whole.nodes().size(), nodes);
        CliRun noOut = CliRun.of("export", "stages", plan.toString(), m.toString());
        assertEquals(2, noOut.code());
        assertTrue(noOut.err().contains("export stages writes a model file: give --out PATH"), noOut.err());
    }

    @Test
    void pararealWritesTheRewrittenNetwork(@TempDir Path dir) throws Exception {
        Path m = model("resnet18.onnx");
        Path plan = dir.resolve("plan.json");
        CliRun p = CliRun.of("plan", m.toString(), "--batch", "16", "--devices", "2", "--pipeline-parallel", "off",
                "--parareal", "2", "--out", plan.toString());
        assertEquals(0, p.code(), p.err());
        Path out = dir.resolve("parareal.onnx");
        CliRun r = CliRun.of("export", "parareal", plan.toString(), m.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        Graph g = OnnxImporter.read(out).graph();
        assertTrue(g.nodes().stream().anyMatch(n -> n.name().startsWith("parareal/fine2/")), "no second fine segment");
        assertTrue(g.nodes().stream().anyMatch(n -> n.name().startsWith("parareal/coarse")), "no coarse network");
        // the coarse network adds the parameters the plan says it has
        long coarse = new ObjectMapper().readTree(plan.toFile()).path("parareal").path("coarse").path("parameters").asLong();
        assertTrue(coarse > 0);
        assertEquals(coarse, g.parameterCount() - OnnxImporter.read(m).graph().parameterCount());
        // a plan without a parareal section
        Path plain = dir.resolve("plain.json");
        assertEquals(0, CliRun.of("plan", m.toString(), "--batch", "16", "--devices", "2", "--pipeline-parallel", "off",
                "--out", plain.toString()).code());
        CliRun bad = CliRun.of("export", "parareal", plain.toString(), m.toString(), "--out", dir.resolve("x.onnx").toString());
        assertEquals(2, bad.code());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("the plan has no parareal section"), bad.err());
        // asked for with auto and found not to pay (ResNet-18 on 2 devices: its plan warns so): the message says why
        Path auto = dir.resolve("auto.json");
        CliRun a = CliRun.of("plan", m.toString(), "--batch", "16", "--devices", "2", "--pipeline-parallel", "off",
                "--parareal", "auto", "--out", auto.toString());
        assertEquals(0, a.code(), a.err());
        assertTrue(a.out().contains("warning: parareal: the fastest network") && a.out().contains("not faster than"),
                a.out());
        CliRun why = CliRun.of("export", "parareal", auto.toString(), m.toString(), "--out", dir.resolve("y.onnx").toString());
        assertEquals(2, why.code());
        assertTrue(why.err().contains("it was made with --parareal auto, and no parareal network was faster than the plan"
                + " that keeps the model"), why.err());
    }
}
