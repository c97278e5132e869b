package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.Proto;

/** {@code shardplan export} and {@code shardplan report} on a plan of the bundled transformer saved as a file model. */
class ExportCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path plan;

    @BeforeAll
    static void planIt() throws Exception {
        model = dir.resolve("transformer.onnx");
        Files.copy(Path.of(System.getProperty("shardplan.root", "..")).resolve("cli/src/main/resources/models/transformer.onnx"),
                model);
        plan = dir.resolve("plan.json");
        CliRun r = CliRun.of("plan", model.toString(), "--batch", "64", "--dim", "seq=128", "--pipeline-parallel", "off",
                "--time-limit", "30", "--out", plan.toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void textFormatsGoToStandardOutputWithNotesOnStandardError() {
        CliRun r = CliRun.of("export", "megatron", plan.toString(), model.toString(), "--dim", "seq=128", "--approximate");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("MODEL_PARALLEL_ARGS=(") && r.out().contains("--tensor-model-parallel-size "), r.out());
        assertFalse(r.out().contains("note:"), "notes go to stderr");
        CliRun d = CliRun.of("export", "deepspeed", plan.toString(), model.toString(), "--dim", "seq=128", "--approximate");
        assertEquals(0, d.code(), d.err());
        assertTrue(d.out().strip().startsWith("{") && d.out().contains("\"train_batch_size\" : 64"), d.out());
    }

    @Test
    void badRequestsAreOneLineErrors() {
        CliRun f = CliRun.of("export", "fairscale", plan.toString());
        assertEquals(2, f.code());
        assertTrue(f.err().contains("FORMAT must be one of megatron, deepspeed, torchtitan, dtensor, onnx"), f.err());
        CliRun o = CliRun.of("export", "onnx", plan.toString(), model.toString());
        assertEquals(2, o.code());
        assertTrue(o.err().contains("export onnx writes a model file: give --out PATH"), o.err());
        CliRun m = CliRun.of("export", "megatron", plan.toString());
        assertEquals(2, m.code());
        assertTrue(m.err().contains("needs the model: give MODEL"), m.err());
        // another graph: the bundled CNN
        CliRun g = CliRun.of("export", "dtensor", plan.toString(), "builtin:cnn");
        assertEquals(2, g.code());
        assertTrue(g.err().contains("is not the graph the plan"), g.err());
        assertFalse(g.err().contains("Exception"), g.err());
    }

    @Test
    void sameGraphSavedAnotherWayWarnsAndExports() throws Exception {
        Path other = dir.resolve("resaved.onnx");
        // the same graph with a doc string: another SHA-256
        ModelBuilder.copyOf(ModelFile.read(model)).modelField(new Proto().string(6, "saved again")).write(other);
        CliRun r = CliRun.of("export", "onnx", plan.toString(), other.toString(), "--dim", "seq=128", "--out",
                dir.resolve("annotated.onnx").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: the model file's SHA-256 differs from the plan's"), r.err());
        assertTrue(Files.size(dir.resolve("annotated.onnx")) > Files.size(model));
    }

    @Test
    void reportWritesTheHtmlPage() throws Exception {
        Path html = dir.resolve("plan.html");
        CliRun r = CliRun.of("report", plan.toString(), "--html", html.toString());
        assertEquals(0, r.code(), r.err());
        String page = Files.readString(html);
        assertTrue(page.startsWith("<!DOCTYPE html>") && page.contains("id=\"layers-svg\""));
        CliRun t = CliRun.of("report", plan.toString());
        assertTrue(t.out().contains("parallelism: data "), t.out());
    }
}
