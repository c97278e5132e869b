package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The example problems in the repository's {@code examples/problems/} reproduce the optima of its
 * {@code expected.tsv}. They are part of the repository, so these tests never skip.
 */
class ExampleProblemsTest {

    static Path problemsDir() {
        String root = System.getProperty("shardplan.root");
        Path base = root != null ? Path.of(root) : Path.of("..");
        return base.toAbsolutePath().normalize().resolve("examples").resolve("problems");
    }

    static Map<String, Double> expected() throws IOException {
        Path tsv = problemsDir().resolve("expected.tsv");
        Map<String, Double> m = new LinkedHashMap<>();
        if (!Files.exists(tsv)) {
            return m;
        }
        for (String line : Files.readAllLines(tsv)) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\t");
            m.put(f[0], Double.parseDouble(f[1]));
        }
        return m;
    }

    static Stream<Arguments> cases() throws IOException {
        Map<String, Double> e = expected();
        assertEquals(4, e.size(), "examples/problems/expected.tsv must list 4 problems at " + problemsDir());
        return e.entrySet().stream().flatMap(x -> Stream.of("dp", "ilp", "auto")
                .map(s -> Arguments.of(x.getKey(), x.getValue(), s)));
    }

    @ParameterizedTest(name = "{0} with {2}")
    @MethodSource("cases")
    void reproducesKnownOptimum(String name, double optimum, String solverName) throws Exception {
        Problem p = ProblemIo.readProblem(problemsDir().resolve(name + ".json.gz"));
        Solver solver = Solvers.byName(solverName);
        // generous: the ILP takes 5-20 s on these when the machine is not shared, the DP well under 1 s
        Solution s = solver.solve(p, Solver.Options.withTimeLimit(600));
        assertEquals(Status.OPTIMAL, s.status(), s.message());
        assertEquals(optimum, s.objective(), 1e-9 * optimum, s.message());
        assertEquals(s.objective(), Evaluator.objective(p, s.choices()), 0.0);
        assertTrue(s.lowerBound() <= s.objective());
        assertTrue(s.objective() - s.lowerBound() <= 1e-9 * optimum);
    }

    @ParameterizedTest
    @MethodSource("names")
    void sameChoicesEveryRun(String name) throws Exception {
        Problem p = ProblemIo.readProblem(problemsDir().resolve(name + ".json.gz"));
        Solution a = new DpSolver().solve(p);
        Solution b = new DpSolver().solve(p);
        assertEquals(List.of(a.choices().length), List.of(b.choices().length));
        org.junit.jupiter.api.Assertions.assertArrayEquals(a.choices(), b.choices());
    }

    static Stream<String> names() throws IOException {
        Map<String, Double> e = expected();
        assertEquals(4, e.size(), "examples/problems/expected.tsv must list 4 problems at " + problemsDir());
        return e.keySet().stream();
    }
}
