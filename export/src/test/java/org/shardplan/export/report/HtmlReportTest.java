package org.shardplan.export.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;
import org.shardplan.planner.sim.Event;
import org.shardplan.planner.sim.Result;

/**
 * The HTML report of the bundled transformer's plan and of a pipeline plan of a four-layer GPT: the
 * page is self-contained and draws every device, row and simulated event; opened in headless
 * Chromium (Debian's {@code chromium}; skipped where it is absent) it logs nothing to the console and
 * its sections are in the DOM.
 */
class HtmlReportTest {
    static Plan single;
    static Plan piped;

    @BeforeAll
    static void plans() throws Exception {
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8);
        Path f = Path.of(System.getProperty("shardplan.root", "..")).resolve("cli/src/main/resources/models/transformer.onnx");
        ModelSource src = b -> OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L))).graph();
        single = Planner.forCluster(c).withBatch(64).withDims(Map.of("batch", 64L, "seq", 128L))
                .withSearch(SearchOptions.singleStage(false, 0)).withModel("builtin:transformer", "").plan(src);
        String gpt = "gpt?layers=4,hidden=256,heads=8";
        ModelSource g = b -> BuiltinModels.read(gpt, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L))).graph();
        piped = Planner.forCluster(c).withBatch(8).withDims(Map.of("batch", 8L, "seq", 128L))
                .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withSchedule("1f1b"))
                .withModel("builtin:" + gpt, "").plan(g);
    }

    static int count(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void pageIsSelfContainedAndDrawsEveryDeviceAndRow() {
        String h = HtmlReport.html(single, false);
        for (String forbidden : new String[] {"<script", "src=", "href=", "url(", "@import", "http:", "https:", "@font-face"}) {
            assertFalse(h.contains(forbidden), "the page must fetch nothing, found " + forbidden);
        }
        assertEquals(8, count(h, "<title>device \\d+:"), "one box per device");
        assertEquals(Folding.rows(single.nodes(), false).size(), count(h, "<g class=\"layer\">"));
        assertTrue(Folding.rows(single.nodes(), false).size() < single.nodes().size(), "repeated blocks fold");
        assertEquals(single.nodes().size(), count(HtmlReport.html(single, true), "<g class=\"layer\">"));
        for (String id : new String[] {"summary", "mesh", "layers", "memory", "warnings", "baselines", "memory-limit"}) {
            assertTrue(h.contains("id=\"" + id + "\""), id);
        }
        assertFalse(h.contains("id=\"schedule\""), "a single stage has no pipeline schedule");
        assertTrue(h.contains(HtmlReport.ms(single.totals().stepSeconds()) + " ms"));
    }

    @Test
    void pipelinePageDrawsTheSimulatedScheduleEventByEvent() {
        assertEquals(4, piped.parallelism().pipeline());
        String h = HtmlReport.html(piped, false);
        Result r = Timeline.of(piped).orElseThrow();
        long drawn = r.events().stream().filter(e -> e.kind().compute() || e.kind() == Event.Kind.GRADIENT_SYNC).count();
        assertEquals(drawn, count(h, "<rect class=\"ev\""));
        // 1F1B: every micro-batch's forward and backward on each of the 4 device groups
        assertEquals(8 * 4, count(h, "<title>forward, micro-batch"));
        assertTrue(h.contains("id=\"schedule-svg\""));
        assertEquals(4, count(h, "<g class=\"mem\">"), "one memory bar per device group");
    }

    /** Debian's chromium, if installed. */
    static Optional<String> chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : new String[] {"chromium", "chromium-browser"}) {
                if (Files.isExecutable(Path.of(dir, name))) {
                    return Optional.of(Path.of(dir, name).toString());
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Opens the page in headless Chromium: the DOM it built, and the console messages it logged (any
     * message of the page, error or not, since the page has no scripts).
     */
    static String[] open(Path page) throws IOException, InterruptedException {
        String exe = chromium().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(exe, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
                "--v=0", "--user-data-dir=" + page.getParent().resolve("profile"), "--dump-dom", page.toUri().toString()));
        Path out = page.resolveSibling(page.getFileName() + ".dom");
        Path err = page.resolveSibling(page.getFileName() + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 90 s");
        }
        StringBuilder console = new StringBuilder();
        for (String line : Files.readAllLines(err, StandardCharsets.UTF_8)) {
            if (line.contains(":CONSOLE")) {
                console.append(line).append('\n');
            }
        }
        return new String[] {Files.readString(out, StandardCharsets.UTF_8), console.toString()};
    }

    @Test
    void chromiumOpensThePagesWithoutConsoleMessages(@TempDir Path dir) throws Exception {
        if (chromium().isEmpty()) {
            Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null,
                    "chromium is not installed (apt-get install chromium): the page is not opened in a browser");
            throw new AssertionError("chromium is not installed and SHARDPLAN_REQUIRE_TEST_DATA=1: run dev/setup-test-data");
        }
        // the harness sees console errors: a page with one must be caught
        Path bad = dir.resolve("bad.html");
        Files.writeString(bad, "<!DOCTYPE html><html><body><p id=\"x\">x</p><script>console.error('boom');</script></body></html>");
        assertTrue(open(bad)[1].contains("boom"), "the console check must catch a console error");
        for (Plan p : new Plan[] {single, piped}) {
            Path page = dir.resolve("plan" + p.parallelism().pipeline() + ".html");
            Files.writeString(page, HtmlReport.html(p, false), StandardCharsets.UTF_8);
            String[] r = open(page);
            assertEquals("", r[1], "console messages of " + page);
            String dom = r[0];
            for (String id : new String[] {"summary", "mesh-svg", "layers-svg", "memory-svg", "warnings"}) {
                assertTrue(dom.contains("id=\"" + id + "\""), id + " missing from the DOM of " + page);
            }
            assertEquals(p.pipelined(), dom.contains("id=\"schedule-svg\""));
            assertEquals(p.cluster().devices(), count(dom, "<title>device \\d+:"));
        }
    }
}
