package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What every solver must satisfy; one subclass per solver. */
abstract class SolverContractTest {

    abstract Solver solver();

    /** Whether the solver proves optimality under a memory limit (the DP alone may leave a gap). */
    boolean exactUnderMemoryLimit() {
        return true;
    }

    Solution solve(Problem p) {
        return solver().solve(p, Solver.Options.withTimeLimit(60));
    }

    static void assertValid(Problem p, Solution s) {
        assertTrue(s.hasChoices(), s.message());
        assertEquals(p.size(), s.choices().length);
        Evaluator.Evaluation e = Evaluator.evaluate(p, s.choices());
        assertEquals(List.of(), e.violations(), s.message());
        assertEquals(e.total(), s.objective(), 0.0, "objective must be the evaluator's total");
        assertTrue(s.lowerBound() <= s.objective(), "bound " + s.lowerBound() + " above objective " + s.objective());
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
    void agreesWithBruteForceOnSmallProblems(long seed) {
        Problem p = RandomProblems.random(seed, 4 + (int) (seed % 5), 6, (int) (seed % 4), seed % 3 == 0 ? 0.3 : 0.0);
        int[] brute = RandomProblems.bruteForce(p);
        Solution s = solve(p);
        if (brute == null) {
            assertEquals(Status.INFEASIBLE, s.status(), s.message());
            assertFalse(s.message().isBlank());
            return;
        }
        assertEquals(Status.OPTIMAL, s.status(), s.message());
        assertValid(p, s);
        assertEquals(Evaluator.objective(p, brute), s.objective(), 0.0);
        assertEquals(s.objective(), s.lowerBound(), 1e-9 * Math.max(1, s.objective()));
    }

    @ParameterizedTest
    @ValueSource(longs = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32})
    void respectsMemoryLimits(long seed) {
        Problem p = RandomProblems.withLimit(RandomProblems.random(seed, 6, 6, 3, seed % 2 == 0 ? 0.2 : 0.0),
                0.1 + 0.07 * (seed - 21));
        int[] brute = RandomProblems.bruteForce(p);
        Solution s = solve(p);
        if (brute == null) {
            assertEquals(Status.INFEASIBLE, s.status(), s.message());
            return;
        }
        assertValid(p, s);
        double opt = Evaluator.objective(p, brute);
        assertTrue(s.lowerBound() <= opt + 1e-9 * Math.max(1, opt), "lower bound above the optimum");
        assertTrue(s.objective() >= opt);
        if (exactUnderMemoryLimit() || s.status() == Status.OPTIMAL) {
            assertEquals(Status.OPTIMAL, s.status(), s.message());
            assertEquals(opt, s.objective(), 0.0);
        } else {
            assertEquals(Status.FEASIBLE, s.status());
        }
    }

    @Test
    void specExampleByHand() {
        Problem p = new Problem("example-two-nodes", List.of(
                new Problem.Node("Conv_0", new double[] {40590950000.0, 723063500000.0}, List.of(), new double[] {1.0e9, 5.0e8}),
                new Problem.Node("Relu_1", new double[] {2.0e8, 1.0e8, 5.0e7}, List.of(), new double[] {4.0e8, 2.0e8, 1.0e8})),
                List.of(Problem.Edge.of(0, 1, new double[][] {{0.0, 1.2e11, Double.POSITIVE_INFINITY}, {6.1e10, 0.0, 3.0e10}})),
                OptionalDouble.of(1.6e10));
        Solution s = solve(p);
        assertEquals(Status.OPTIMAL, s.status());
        assertArrayEquals(new int[] {0, 0}, s.choices());
        assertEquals(40590950000.0 + 2.0e8 + 0.0, s.objective(), 0.0);
    }

    @Test
    void memoryLimitChangesTheChoiceByHand() {
        // a: costs 10 / 30, memory 5 / 1; b: costs 7 / 9, memory 4 / 2; edge adds 1 unless both pick 0
        Problem free = new Problem("m", List.of(
                new Problem.Node("a", new double[] {10, 30}, List.of(), new double[] {5, 1}),
                new Problem.Node("b", new double[] {7, 9}, List.of(), new double[] {4, 2})),
                List.of(Problem.Edge.of(0, 1, new double[][] {{0, 1}, {1, 1}})));
        assertEquals(10 + 7 + 0, solve(free).objective(), 0.0);
        Solution s = solve(free.withMemoryLimit(OptionalDouble.of(7)));
        assertEquals(Status.OPTIMAL, s.status(), s.message());
        assertArrayEquals(new int[] {0, 1}, s.choices());
        assertEquals(10 + 9 + 1, s.objective(), 0.0);
    }

    @Test
    void everyPairForbiddenIsInfeasibleNamingTheNodes() {
        double x = Double.POSITIVE_INFINITY;
        Problem p = new Problem("f", List.of(new Problem.Node("Conv_0", 1, 2), new Problem.Node("Relu_1", 3, 4),
                new Problem.Node("Add_2", 5)),
                List.of(Problem.Edge.of(0, 1, new double[][] {{x, x}, {x, x}}), Problem.Edge.of(1, 2, new double[][] {{1}, {2}})));
        Solution s = solve(p);
        assertEquals(Status.INFEASIBLE, s.status());
        assertFalse(s.hasChoices());
        assertTrue(s.message().contains("Conv_0") || s.message().contains("Relu_1"), s.message());
    }

    @Test
    void memoryLimitNothingMeetsIsInfeasibleNamingTheLimit() {
        Problem p = new Problem("m", List.of(
                new Problem.Node("a", new double[] {1, 2}, List.of(), new double[] {5, 3}),
                new Problem.Node("b", new double[] {1}, List.of(), new double[] {4})),
                List.of(Problem.Edge.of(0, 1, new double[][] {{0}, {0}})), OptionalDouble.of(6.5));
        Solution s = solve(p);
        assertEquals(Status.INFEASIBLE, s.status(), s.message());
        assertTrue(s.message().contains("memory") && s.message().contains("6.5"), s.message());
    }

    @Test
    void parallelEdgesAddUp() {
        Problem p = new Problem("par", List.of(new Problem.Node("a", 0, 0), new Problem.Node("b", 0, 0)),
                List.of(Problem.Edge.of(0, 1, new double[][] {{1, 10}, {10, 6}}),
                        Problem.Edge.of(1, 0, new double[][] {{8, 10}, {10, 2}})));
        Solution s = solve(p);
        assertArrayEquals(new int[] {1, 1}, s.choices());
        assertEquals(6 + 2, s.objective(), 0.0);
    }

    @Test
    void sameChoicesEveryRun() {
        Problem p = RandomProblems.random(99, 30, 8, 15, 0.05);
        Solution a = solve(p);
        Solution b = solve(p);
        assertArrayEquals(a.choices(), b.choices());
        assertEquals(a.status(), b.status());
    }
}
