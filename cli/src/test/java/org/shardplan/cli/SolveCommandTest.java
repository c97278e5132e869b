package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.planner.solver.ProblemIo;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Status;

class SolveCommandTest {

    static final String TWO_NODES = """
            {"format": "shardplan-problem/1", "name": "example-two-nodes",
             "nodes": [{"name": "Conv_0", "costs": [40590950000.0, 723063500000.0], "memory": [1.0e9, 5.0e8]},
                       {"name": "Relu_1", "costs": [2.0e8, 1.0e8, 5.0e7], "memory": [4.0e8, 2.0e8, 1.0e8]}],
             "edges": [{"from": 0, "to": 1, "costs": [[0.0, 1.2e11, null], [6.1e10, 0.0, 3.0e10]]}],
             "memoryLimit": 1.6e10}
            """;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void summaryJsonAndOut(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("p.json");
        Files.writeString(p, TWO_NODES);
        CliRun summary = run("solve", p.toString());
        assertEquals(0, summary.code(), summary.err());
        assertTrue(summary.out().contains("status      OPTIMAL"), summary.out());
        assertTrue(summary.out().contains("objective   " + (40590950000L + 200000000L)), summary.out());
        assertTrue(summary.out().contains("reductions"), summary.out());

        Path out = dir.resolve("s.json.gz");
        CliRun json = run("solve", p.toString(), "--json", "--solver", "ilp", "--out", out.toString());
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"format\" : \"shardplan-solution/1\""), json.out());
        assertTrue(json.out().contains("\"choices\" : [ 0, 0 ]"), json.out());
        Solution s = ProblemIo.readSolution(out);
        assertEquals(Status.OPTIMAL, s.status());
        assertEquals(40590950000.0 + 2.0e8, s.objective(), 0.0);
        assertEquals("ilp", s.solver());
    }

    @Test
    void verboseAddsOneTimingLineOnStderr(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("p.json");
        Files.writeString(p, TWO_NODES);
        CliRun quiet = run("solve", p.toString(), "--json");
        assertEquals(0, quiet.code(), quiet.err());
        assertEquals("", quiet.err());
        for (String[] args : new String[][] {{"solve", p.toString(), "--json", "--verbose"}, {"--verbose", "solve", p.toString()}}) {
            CliRun r = run(args);
            assertEquals(0, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            // in process there is no launcher, so its two figures are n/a
            assertTrue(r.err().strip().matches("shardplan: timing: launcher n/a, JVM start to main n/a, command line [0-9.]+ s, "
                    + "read [0-9.]+ s, solve [0-9.]+ s, output [0-9.]+ s, total [0-9.]+ s; peak RSS ([0-9]+ MiB|unknown), "
                    + "max heap [0-9]+ MiB"), r.err());
            // stdout is untouched: the same solution JSON, or the summary
            if (args[0].equals("solve")) {
                assertEquals(quiet.out().replaceAll("\"seconds\" : [^,\\n]+", ""), r.out().replaceAll("\"seconds\" : [^,\\n]+", ""));
            } else {
                assertTrue(r.out().contains("status      OPTIMAL"), r.out());
            }
        }
    }

    @Test
    void infeasibleIsAnAnswerWithExitCodeZero(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("p.json");
        Files.writeString(p, TWO_NODES.replace("1.6e10", "1.0e8"));
        CliRun r = run("solve", p.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("INFEASIBLE"), r.out());
        assertTrue(r.out().contains("memory limit 1.0E8"), r.out());
    }

    @Test
    void malformedInputIsOneLineWithExitCodeTwo(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("p.json");
        Files.writeString(p, TWO_NODES.replace("[6.1e10, 0.0, 3.0e10]", "[6.1e10, 0.0]"));
        CliRun r = run("solve", p.toString());
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("edge 0 (Conv_0 -> Relu_1): costs[1] must have 3 entries"), r.err());
        CliRun missing = run("solve", dir.resolve("absent.json").toString());
        assertEquals(2, missing.code());
        CliRun badSolver = run("solve", p.toString(), "--solver", "magic");
        assertEquals(2, badSolver.code());
        assertTrue(badSolver.err().contains("--solver must be one of auto, dp, ilp, found magic"), badSolver.err());
        CliRun badLimit = run("solve", p.toString(), "--time-limit", "0");
        assertEquals(2, badLimit.code());
    }
}
