package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MainTest {

    @Test
    void badInputIsOneLineAndVerboseAddsTheStackTraceWhereverItIsGiven() {
        CliRun plain = CliRun.of("inspect", "/nonexistent/model.onnx");
        assertEquals(2, plain.code());
        assertEquals("shardplan: error: /nonexistent/model.onnx: file not found", plain.err().strip());

        for (String[] args : new String[][] {
                {"--verbose", "inspect", "/nonexistent/model.onnx"},
                {"inspect", "/nonexistent/model.onnx", "--verbose"}}) {
            CliRun verbose = CliRun.of(args);
            assertEquals(2, verbose.code());
            assertTrue(verbose.err().startsWith("shardplan: error: /nonexistent/model.onnx: file not found"), verbose.err());
            assertTrue(verbose.err().contains("OnnxImportException"), verbose.err());
            assertTrue(verbose.err().lines().count() > 2, verbose.err());
        }
    }

    /** A command that runs out of heap (what a search too large for its -Xmx does). */
    @picocli.CommandLine.Command(name = "exhaust")
    static final class Exhausts implements java.util.concurrent.Callable<Integer> {
        @picocli.CommandLine.Option(names = "--verbose") // accepted, as the real commands accept it
        boolean verbose;

        @Override
        public Integer call() {
            throw new OutOfMemoryError("Java heap space");
        }
    }

    @Test
    void aHeapExhaustedIsAMessageWithItsSizeExitTwoNotAStackTrace() {
        for (boolean verbose : new boolean[] {false, true}) {
            java.io.StringWriter out = new java.io.StringWriter();
            java.io.StringWriter err = new java.io.StringWriter();
            picocli.CommandLine cmd = new picocli.CommandLine(new Exhausts());
            cmd.setOut(new java.io.PrintWriter(out));
            cmd.setErr(new java.io.PrintWriter(err));
            int code = Main.execute(cmd, verbose ? new String[] {"--verbose"} : new String[0]);
            assertEquals(2, code, err.toString());
            String first = err.toString().lines().findFirst().orElse("");
            assertTrue(first.startsWith("shardplan: error: out of memory:"), err.toString());
            assertTrue(first.contains((Runtime.getRuntime().maxMemory() >> 20) + " MiB"), first);
            assertTrue(first.contains("-Xmx"), first);
            assertEquals(verbose, err.toString().contains("at org.shardplan.cli.MainTest"), err.toString());
        }
    }

    @Test
    void versionComesFromTheBuild() {
        CliRun v = CliRun.of("--version");
        assertEquals(0, v.code());
        assertFalse(v.out().contains("unknown"), v.out());
        assertTrue(v.out().startsWith("shardplan 0."), v.out());
    }
}
