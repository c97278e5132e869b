package org.shardplan.cost.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The {@code h200} profile's kernel numbers are what {@code dev/fit-gpu-kernels.py} fits to the committed calibration
 * files (calibration/h200-20261204.json, calibration/h200-attention-20261204.json): a profile edited without refitting,
 * or a calibration file replaced without updating the profile, fails here.
 */
class H200FitTest {

    @Test
    void theProfileIsTheFitOfTheCommittedMeasurements() throws Exception {
        Path root = Path.of("").toAbsolutePath();
        while (root != null && !Files.exists(root.resolve("dev/fit-gpu-kernels.py"))) {
            root = root.getParent();
        }
        assertTrue(root != null, "dev/fit-gpu-kernels.py not found above " + Path.of("").toAbsolutePath());
        Path python = Path.of("/usr/bin/python3");
        if (!Files.isExecutable(python)) {
            Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null, "/usr/bin/python3 is missing");
            throw new AssertionError("/usr/bin/python3 is missing and SHARDPLAN_REQUIRE_TEST_DATA=1");
        }
        Process p = new ProcessBuilder(python.toString(), "dev/fit-gpu-kernels.py", "--profile", "h200", "--attention",
                "calibration/h200-attention-20261204.json", "calibration/h200-20261204.json").directory(root.toFile())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "fit-gpu-kernels did not finish");
        assertEquals(0, p.exitValue(), out);
        KernelModel k = DeviceProfiles.get("h200").kernels().orElseThrow();
        assertEquals(number(out, "gemmEfficiency\\s+([0-9.]+)"), k.gemmEfficiency(), 5e-4, out);
        assertEquals(number(out, "memoryEfficiency\\s+([0-9.]+)"), k.memoryEfficiency(), 5e-4, out);
        assertEquals(number(out, "launchUs\\s+([0-9.]+)"), k.launchSeconds() * 1e6, 0.05, out);
        assertEquals(number(out, "fitted: attentionForwardEfficiency ([0-9.]+)"), k.attentionForwardEfficiency(), 5e-4, out);
        assertEquals(number(out, "fitted: .*attentionBackwardEfficiency ([0-9.]+)"), k.attentionBackwardEfficiency(), 5e-4,
                out);
        assertEquals(number(out, "attentionSeqHalf ([0-9]+)"), k.attentionSeqHalf(), 0, out);
        assertEquals(number(out, "attentionHeadDimHalf ([0-9]+)"), k.attentionHeadDimHalf(), 0, out);
    }

    private static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }
}
