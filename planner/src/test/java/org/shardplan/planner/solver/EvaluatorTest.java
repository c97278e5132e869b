package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class EvaluatorTest {
    static final double X = Double.POSITIVE_INFINITY;

    static Problem threeNodes(OptionalDouble limit) {
        return new Problem("three", List.of(
                new Problem.Node("a", new double[] {13, 14}, List.of(), new double[] {3, 1}),
                new Problem.Node("b", new double[] {21, 22, 23}, List.of(), new double[] {5, 4, 2}),
                new Problem.Node("c", new double[] {32}, List.of(), new double[] {7})),
                List.of(Problem.Edge.of(0, 1, new double[][] {{1, 2, X}, {4, 5, 6}}),
                        Problem.Edge.of(2, 1, new double[][] {{100, 200, 300}}),
                        Problem.Edge.of(0, 1, new double[][] {{1000, 0, 0}, {0, 0, 0}})),
                limit);
    }

    @Test
    void sumsNodeAndEdgeCostsIncludingParallelEdges() {
        Evaluator.Evaluation e = Evaluator.evaluate(threeNodes(OptionalDouble.empty()), new int[] {0, 1, 0});
        assertEquals(13 + 22 + 32, e.nodeCost());
        assertEquals(2 + 200 + 0, e.edgeCost());
        assertEquals(13 + 22 + 32 + 2 + 200 + 0, e.total());
        assertEquals(3 + 4 + 7, e.memory());
        assertTrue(e.feasible());
    }

    @Test
    void reportsForbiddenPairsAndMemory() {
        Evaluator.Evaluation e = Evaluator.evaluate(threeNodes(OptionalDouble.of(11)), new int[] {0, 2, 0});
        assertEquals(X, e.total());
        assertEquals(2, e.violations().size(), e.violations().toString());
        assertTrue(e.violations().get(0).contains("edge 0 (a -> b)"), e.violations().get(0));
        assertTrue(e.violations().get(1).contains("memory 12.0 exceeds the limit 11.0"), e.violations().get(1));
    }

    @Test
    void rejectsWrongChoices() {
        Problem p = threeNodes(OptionalDouble.empty());
        assertThrows(IllegalArgumentException.class, () -> Evaluator.evaluate(p, new int[] {0, 0}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Evaluator.evaluate(p, new int[] {0, 3, 0}));
        assertTrue(e.getMessage().contains("node b"), e.getMessage());
    }
}
