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

    @Test
    void versionComesFromTheBuild() {
        CliRun v = CliRun.of("--version");
        assertEquals(0, v.code());
        assertFalse(v.out().contains("unknown"), v.out());
        assertTrue(v.out().startsWith("shardplan 0."), v.out());
    }
}
