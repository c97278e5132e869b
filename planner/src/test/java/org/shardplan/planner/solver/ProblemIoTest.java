package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProblemIoTest {

    static final String EXAMPLE = """
            {"format": "shardplan-problem/1", "name": "example-two-nodes", "extra": {"ignored": [1, 2]},
             "nodes": [
               {"name": "Conv_0", "costs": [40590950000.0, 723063500000.0],
                "labels": ["1x1x1x1x1x1x1", "1x1x1x1x1x1x2"], "memory": [1.0e9, 5.0e8]},
               {"name": "Relu_1", "costs": [2.0e8, 1.0e8, 5.0e7],
                "labels": ["1x1x1x1", "2x1x1x1", "4x1x1x1"], "memory": [4.0e8, 2.0e8, 1.0e8]}],
             "edges": [{"from": 0, "to": 1, "costs": [[0.0, 1.2e11, null], [6.1e10, 0.0, 3.0e10]]}],
             "memoryLimit": 1.6e10}
            """;

    static Problem read(String json) throws ProblemFormatException {
        return ProblemIo.readProblem(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "p.json");
    }

    /** Reads with every matrix tokenized in place, and again with every matrix tokenized on a worker. */
    static Problem readBothWays(String json) throws ProblemFormatException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        Problem inPlace;
        try {
            inPlace = ProblemIo.readProblem(new ByteArrayInputStream(bytes), "p.json", Integer.MAX_VALUE);
        } catch (ProblemFormatException e) {
            ProblemFormatException onWorkers = assertThrows(ProblemFormatException.class,
                    () -> ProblemIo.readProblem(new ByteArrayInputStream(bytes), "p.json", 0));
            assertEquals(e.getMessage(), onWorkers.getMessage(), "the same message from matrices read on workers");
            throw e;
        }
        assertEquals(inPlace, ProblemIo.readProblem(new ByteArrayInputStream(bytes), "p.json", 0));
        return inPlace;
    }

    @Test
    void readsTheSpecExample() throws Exception {
        Problem p = read(EXAMPLE);
        assertEquals("example-two-nodes", p.name());
        assertEquals(2, p.size());
        assertEquals(3, p.strategies(1));
        assertEquals("2x1x1x1", p.nodes().get(1).label(1));
        assertEquals(5.0e8, p.memory(0, 1));
        assertTrue(p.edges().get(0).forbidden(0, 2));
        assertEquals(6.1e10, p.edges().get(0).cost(1, 0));
        assertEquals(OptionalDouble.of(1.6e10), p.memoryLimit());
    }

    @Test
    void roundTripsPlainAndGzipAndDetectsGzipByMagic(@TempDir Path dir) throws Exception {
        Problem p = read(EXAMPLE);
        Path plain = dir.resolve("p.json");
        Path gz = dir.resolve("p.json.gz");
        ProblemIo.writeProblem(p, plain);
        ProblemIo.writeProblem(p, gz);
        assertEquals(p, ProblemIo.readProblem(plain));
        assertEquals(p, ProblemIo.readProblem(gz));
        byte[] bytes = Files.readAllBytes(gz);
        assertEquals(0x1f, bytes[0] & 0xff);
        Path misnamed = dir.resolve("gzip-without-extension.json");
        Files.write(misnamed, bytes);
        assertEquals(p, ProblemIo.readProblem(misnamed));
        Problem random = RandomProblems.random(5, 20, 7, 10, 0.2);
        ProblemIo.writeProblem(random, gz);
        assertEquals(random, ProblemIo.readProblem(gz));
    }

    @Test
    void solutionsRoundTrip(@TempDir Path dir) throws Exception {
        Solution s = new Solution("x", Status.FEASIBLE, 12.5, 10.0, new int[] {2, 0, 1}, "ilp", 0.25, "time limit");
        Path f = dir.resolve("s.json");
        ProblemIo.writeSolution(s, f);
        Solution back = ProblemIo.readSolution(f);
        assertEquals(s, back);
        Solution inf = new Solution("x", Status.INFEASIBLE, Double.NaN, Double.POSITIVE_INFINITY, new int[0], "dp", 0.5, "why");
        ProblemIo.writeSolution(inf, f);
        String text = Files.readString(f);
        assertTrue(text.contains("\"objective\" : null"), text);
        assertEquals(Status.INFEASIBLE, ProblemIo.readSolution(f).status());
        assertEquals(Double.POSITIVE_INFINITY, ProblemIo.readSolution(f).lowerBound());
    }

    @Test
    void solutionJsonHasTheSpecKeys() throws IOException {
        Solution s = new Solution("example-two-nodes", Status.OPTIMAL, 40790950000.0, 40790950000.0, new int[] {0, 0},
                "dp", 0.012, "");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ProblemIo.writeSolution(s, out);
        String json = out.toString(StandardCharsets.UTF_8);
        for (String key : List.of("\"format\" : \"shardplan-solution/1\"", "\"problem\" : \"example-two-nodes\"",
                "\"status\" : \"OPTIMAL\"", "\"objective\" : 4.079095E10", "\"choices\" : [ 0, 0 ]", "\"solver\" : \"dp\"",
                "\"seconds\" : 0.012")) {
            assertTrue(json.contains(key), key + " missing in " + json);
        }
        assertFalse(json.contains("message"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "wrong row count      | \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [[1, 2, 3]]}]                    | edge 0 (a -> b): costs must have 2 rows (strategies of a), found 1",
        "wrong row length     | \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [[1, 2, 3], [4, 5]]}]            | edge 0 (a -> b): costs[1] must have 3 entries (strategies of b), found 2",
        "NaN in an edge       | \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [[1, 2, 3], [4, NaN, 6]]}]       | edge 0: costs[1][1] must be a finite number or null, found NaN",
        "edge to missing node | \"edges\": [{\"from\": 0, \"to\": 7, \"costs\": [[1]]}]                         | edge 0: to must be a node index in 0..1, found 7",
        "negative index       | \"edges\": [{\"from\": -1, \"to\": 1, \"costs\": [[1]]}]                        | edge 0: from must be a node index in 0..1, found -1",
        "self loop            | \"edges\": [{\"from\": 1, \"to\": 1, \"costs\": [[1]]}]                         | edge 0 (b -> b): an edge must join two different nodes",
        "string cost          | \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [[1, \"x\", 3], [4, 5, 6]]}]     | edge 0: costs[0][1] must be a number or null, found \"x\"",
        "missing from         | \"edges\": [{\"to\": 1, \"costs\": [[1]]}]                                      | edge 0: from must be given, found none",
    })
    void malformedEdgesNameTheEdge(String what, String edges, String message) {
        String json = "{\"format\": \"shardplan-problem/1\", \"nodes\": [{\"name\": \"a\", \"costs\": [1, 2]},"
                + " {\"name\": \"b\", \"costs\": [1, 2, 3]}], " + edges + "}";
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> readBothWays(json));
        assertTrue(e.getMessage().startsWith("p.json: "), e.getMessage());
        assertTrue(e.getMessage().contains(message.trim()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "NaN cost             | {\"name\": \"Conv_0\", \"costs\": [1, NaN]}                     | node 0 (Conv_0): costs[1] must be a finite number, found NaN",
        "null cost            | {\"name\": \"Conv_0\", \"costs\": [null]}                       | node 0 (Conv_0): costs[0] must be a finite number",
        "no strategies        | {\"name\": \"Conv_0\", \"costs\": []}                           | node 0 (Conv_0): costs must have at least 1 entry",
        "no costs             | {\"name\": \"Conv_0\"}                                          | node 0 (Conv_0): costs must be given, found none",
        "labels length        | {\"name\": \"Conv_0\", \"costs\": [1, 2], \"labels\": [\"x\"]}  | node 0 (Conv_0): labels must have 2 entries (one per strategy), found 1",
        "memory length        | {\"name\": \"Conv_0\", \"costs\": [1, 2], \"memory\": [1, 2, 3]}| node 0 (Conv_0): memory must have 2 entries (one per strategy), found 3",
        "infinite memory      | {\"name\": \"Conv_0\", \"costs\": [1], \"memory\": [Infinity]}  | node 0 (Conv_0): memory[0] must be a finite number, found Infinity",
        "node not an object   | 42                                                              | node 0 must be an object, found 42",
    })
    void malformedNodesNameTheNode(String what, String node, String message) {
        String json = "{\"format\": \"shardplan-problem/1\", \"nodes\": [" + node + "], \"edges\": []}";
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> read(json));
        assertTrue(e.getMessage().contains(message.trim()), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "not JSON         | this is not json                                      | p.json: malformed JSON",
        "truncated        | {\"format\": \"shardplan-problem/1\", \"nodes\": [      | p.json: malformed JSON",
        "wrong format     | {\"format\": \"shardplan-problem/2\", \"nodes\": []}    | format must be shardplan-problem/1, found \"shardplan-problem/2\"",
        "no format        | {\"nodes\": []}                                       | format must be shardplan-problem/1, found none",
        "no nodes         | {\"format\": \"shardplan-problem/1\"}                   | nodes must be given, found none",
        "bad limit        | {\"format\": \"shardplan-problem/1\", \"nodes\": [], \"memoryLimit\": \"big\"} | memoryLimit must be a number, found \"big\"",
        "top-level array  | []                                                    | the top level must be an object, found an array",
    })
    void malformedFilesSayWhat(String what, String json, String message) {
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> readBothWays(json));
        assertTrue(e.getMessage().contains(message.trim()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void missingFileIsBadInput(@TempDir Path dir) {
        ProblemFormatException e = assertThrows(ProblemFormatException.class,
                () -> ProblemIo.readProblem(dir.resolve("absent.json")));
        assertTrue(e.getMessage().endsWith("absent.json: no such file"), e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void matricesReadOnWorkersEqualThoseReadInPlace(@TempDir Path dir) throws Exception {
        Problem p = RandomProblems.random(11, 30, 60, 90, 0.05);
        Path plain = dir.resolve("p.json");
        ProblemIo.writeProblem(p, plain);
        String json = Files.readString(plain);
        assertEquals(p, readBothWays(json));
        // the same numbers written by hand in every way the fast path hands back to the tokens
        String odd = "{\"format\": \"shardplan-problem/1\", \"nodes\": [{\"costs\": [1, 2]}, {\"costs\": [1, 2, 3]}],"
                + " \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [ [1e2, -0.0, 12345678901234567890123],\n"
                + "  [ 4 , null,6.25e-30 ]]}]}";
        Problem q = readBothWays(odd);
        assertEquals(100.0, q.edges().get(0).cost(0, 0));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(q.edges().get(0).cost(0, 1)));
        assertEquals(1.2345678901234568e22, q.edges().get(0).cost(0, 2));
        assertEquals(4.0, q.edges().get(0).cost(1, 0));
        assertTrue(q.edges().get(0).forbidden(1, 1));
        assertEquals(6.25e-30, q.edges().get(0).cost(1, 2));
    }

    /**
     * A syntax error inside a matrix read on a worker has the line and column the reading thread
     * would have given; when a later part of the file is malformed too, the earlier error wins.
     */
    @Test
    void errorsInMatricesOnWorkersComeInFileOrderWithTheirPositions() {
        String nodes = "{\"format\": \"shardplan-problem/1\",\n \"nodes\": [{\"name\": \"a\", \"costs\": [1, 2]},"
                + " {\"name\": \"b\", \"costs\": [1, 2]}],\n \"edges\": [\n";
        String good = "{\"from\": 0, \"to\": 1, \"costs\": [[1, 2], [3, 4]]},\n";
        String badNumber = "{\"from\": 0, \"to\": 1, \"costs\": [[1, 2],\n  [3, 4.x]]},\n";
        String nan = "{\"from\": 0, \"to\": 1, \"costs\": [[1, NaN], [3, 4]]},\n";
        String tail = "{\"from\": 0, \"to\": 1, \"costs\": [[1, 2], [3, 4]]}]}";
        String brokenTail = "{\"from\": 0 \"to\": 1}]}";
        ProblemFormatException e = assertThrows(ProblemFormatException.class,
                () -> readBothWays(nodes + good + badNumber + tail));
        assertEquals("p.json: malformed JSON: a decimal point must be followed by a digit, found 'x' at line 6 column 7",
                e.getMessage());
        e = assertThrows(ProblemFormatException.class, () -> readBothWays(nodes + good + nan + good + brokenTail));
        assertEquals("p.json: edge 1: costs[0][1] must be a finite number or null, found NaN", e.getMessage());
        e = assertThrows(ProblemFormatException.class, () -> readBothWays(nodes + good + good + brokenTail));
        assertTrue(e.getMessage().startsWith("p.json: malformed JSON: unexpected character '\"'"), e.getMessage());
        // the input ends inside a matrix
        e = assertThrows(ProblemFormatException.class, () -> readBothWays(nodes + good + "{\"from\": 0, \"to\": 1, \"costs\": [[1, 2], [3"));
        assertEquals("p.json: malformed JSON: unexpected end of file at line 5 column 42", e.getMessage());
        // brackets and quotes inside strings do not end a matrix early
        e = assertThrows(ProblemFormatException.class,
                () -> readBothWays(nodes + "{\"from\": 0, \"to\": 1, \"costs\": [[1, \"]\\\"[\"], [3, 4]]}]}"));
        assertEquals("p.json: edge 0: costs[0][1] must be a number or null, found \"]\"[\"", e.getMessage());
    }

    /** Ends with many strategies and a matrix far smaller than they announce: a message, not an allocation of the announced size. */
    @Test
    void aMatrixSmallerThanItsEndsAnnounceIsAMessage() {
        String costs = "[" + "1,".repeat(9999) + "1]";
        String json = "{\"format\": \"shardplan-problem/1\", \"nodes\": [{\"name\": \"a\", \"costs\": " + costs + "},"
                + " {\"name\": \"b\", \"costs\": " + costs + "}], \"edges\": [{\"from\": 0, \"to\": 1, \"costs\": [[1, 2]]}]}";
        ProblemFormatException e = assertThrows(ProblemFormatException.class, () -> readBothWays(json));
        assertEquals("p.json: edge 0 (a -> b): costs must have 10000 rows (strategies of a), found 1", e.getMessage());
    }

    @Test
    void nodeArraysAreCopied() throws Exception {
        double[] costs = {1, 2};
        Problem.Node n = new Problem.Node("a", costs);
        costs[0] = 99;
        assertEquals(1, n.cost(0));
        n.costs()[1] = 99;
        assertArrayEquals(new double[] {1, 2}, n.costs());
    }
}
