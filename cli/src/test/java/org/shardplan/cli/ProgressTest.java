package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The progress line: drawn and erased on a console, nothing at all when piped. */
class ProgressTest {

    @Test
    void drawsOnAConsoleAndErasesTheLine() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(b, true, StandardCharsets.UTF_8);
        try (Progress p = new Progress(ps, true, "planning m", 60, 20)) {
            Thread.sleep(150);
        }
        String s = b.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\rplanning m: 0 s (time limit 60 s)"), s);
        // the last thing written blanks the widest line drawn and returns to the line's start
        int w = "planning m: 0 s (time limit 60 s)".length();
        assertTrue(s.endsWith("\r" + " ".repeat(w) + "\r"), s);
    }

    @Test
    void silentWhenPiped() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (Progress p = new Progress(new PrintStream(b, true, StandardCharsets.UTF_8), false, "planning m", 60, 5)) {
            Thread.sleep(60);
        }
        assertEquals(0, b.size());
    }
}
