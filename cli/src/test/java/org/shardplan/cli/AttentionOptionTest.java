package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AttentionOptionTest {

    private static final String GPT = "builtin:gpt?layers=2,hidden=256,heads=4,seq=256";

    @Test
    void aBadValueIsOneLineNamingTheOption() {
        CliRun r = CliRun.of("plan", GPT, "--devices", "8", "--device", "a100", "--batch", "8", "--attention", "flash");
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals("shardplan: error: --attention must be fused or unfused, found flash", r.err().strip());
    }

    @Test
    void fusedIsFasterThanUnfusedAndEvaluateReadsTheChoiceFromThePlan(@TempDir Path dir) throws Exception {
        Path fused = dir.resolve("fused.json");
        Path unfused = dir.resolve("unfused.json");
        CliRun a = CliRun.of("plan", GPT, "--devices", "8", "--device", "a100", "--batch", "8", "--out", fused.toString());
        CliRun b = CliRun.of("plan", GPT, "--devices", "8", "--device", "a100", "--batch", "8", "--attention", "unfused",
                "--out", unfused.toString());
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertTrue(Files.readString(fused).matches("(?s).*\"attention\"\\s*:\\s*\"fused\".*"), Files.readString(fused));
        assertTrue(Files.readString(unfused).matches("(?s).*\"attention\"\\s*:\\s*\"unfused\".*"));
        double fs = step(a.out());
        double us = step(b.out());
        assertTrue(fs < us, fs + " vs " + us);
        // evaluate prices each plan the way it was made
        CliRun ea = CliRun.of("evaluate", fused.toString(), GPT, "--dim", "batch=8");
        CliRun eb = CliRun.of("evaluate", unfused.toString(), GPT, "--dim", "batch=8");
        assertEquals(0, ea.code(), ea.err());
        assertEquals(0, eb.code(), eb.err());
        assertEquals(fs, step(ea.out()), 1e-3);
        assertEquals(us, step(eb.out()), 1e-3);
    }

    @Test
    void aReductionAfterTheBackwardPassIsSlowerAndEvaluateReadsItFromThePlan(@TempDir Path dir) throws Exception {
        CliRun bad = CliRun.of("plan", GPT, "--devices", "8", "--device", "a100", "--batch", "8",
                "--gradient-reduction", "late");
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertEquals("shardplan: error: --gradient-reduction must be overlapped or after-backward, found late",
                bad.err().strip());
        Path after = dir.resolve("after.json");
        // data parallelism over 8 devices and 150 MB of gradients (six 25 MiB buckets): a reduction to overlap or not
        String wide = "builtin:gpt?layers=2,hidden=1024,heads=8,seq=256";
        CliRun a = CliRun.of("plan", wide, "--devices", "8", "--device", "a100", "--batch", "8", "--data-parallel", "8");
        CliRun b = CliRun.of("plan", wide, "--devices", "8", "--device", "a100", "--batch", "8", "--data-parallel", "8",
                "--gradient-reduction", "after-backward", "--out", after.toString());
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertTrue(Files.readString(after).matches("(?s).*\"gradient-reduction\"\\s*:\\s*\"after-backward\".*"));
        assertTrue(b.out().contains("data-parallel gradient reduction after the backward pass"), b.out());
        assertTrue(step(a.out()) < step(b.out()), a.out() + b.out());
        CliRun eb = CliRun.of("evaluate", after.toString(), wide, "--dim", "batch=8");
        assertEquals(0, eb.code(), eb.err());
        assertEquals(step(b.out()), step(eb.out()), 1e-3);
    }

    @Test
    void theGradientBucketSizeIsPricedRecordedAndReadBackByEvaluate(@TempDir Path dir) throws Exception {
        for (String v : new String[] {"0", "-1", "0.0001", "NaN", "Infinity", "2000000"}) {
            CliRun bad = CliRun.of("plan", GPT, "--devices", "8", "--device", "a100", "--batch", "8",
                    "--gradient-bucket-mb", v);
            assertEquals(2, bad.code(), v + ": " + bad.out() + bad.err());
            assertTrue(bad.err().contains("--gradient-bucket-mb must be a number of MiB from 0.001 to 1048576"),
                    bad.err());
        }
        CliRun text = CliRun.of("plan", GPT, "--gradient-bucket-mb", "big");
        assertEquals(2, text.code(), text.out() + text.err());
        assertTrue(text.err().contains("--gradient-bucket-mb"), text.err());
        // 150 MB of gradients over 8 devices: six 25 MiB buckets, or two of 100 MiB, whose last runs after the backward
        String wide = "builtin:gpt?layers=2,hidden=1024,heads=8,seq=256";
        Path big = dir.resolve("big.json");
        CliRun a = CliRun.of("plan", wide, "--devices", "8", "--device", "a100", "--batch", "8", "--data-parallel", "8");
        CliRun b = CliRun.of("plan", wide, "--devices", "8", "--device", "a100", "--batch", "8", "--data-parallel", "8",
                "--gradient-bucket-mb", "100", "--out", big.toString());
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertTrue(a.out().contains("data-parallel gradient reduction in 25 MiB buckets"), a.out());
        assertTrue(b.out().contains("data-parallel gradient reduction in 100 MiB buckets"), b.out());
        assertTrue(Files.readString(big).matches("(?s).*\"gradient-bucket-mb\"\\s*:\\s*\"100\".*"));
        assertTrue(step(a.out()) < step(b.out()), a.out() + b.out());
        CliRun eb = CliRun.of("evaluate", big.toString(), wide, "--dim", "batch=8");
        assertEquals(0, eb.code(), eb.err());
        assertEquals(step(b.out()), step(eb.out()), 1e-3);
    }

    /** The step in ms from a report's "step X ms" line. */
    private static double step(String report) {
        for (String line : report.split("\n")) {
            if (line.startsWith("step ")) {
                return Double.parseDouble(line.substring(5, line.indexOf(" ms")));
            }
        }
        throw new AssertionError("no step line in " + report);
    }
}
