package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;

/**
 * Recomputes the cost of an assignment from the problem alone and lists what it violates, so that
 * no solver grades its own answer. Runs in O(nodes + edges).
 */
public final class Evaluator {

    private Evaluator() {
    }

    /**
     * The evaluation of one assignment.
     *
     * @param total      node costs plus edge costs ({@code +inf} if a forbidden pair is chosen)
     * @param nodeCost   the node costs' sum
     * @param edgeCost   the edge costs' sum
     * @param memory     the chosen strategies' memory sum
     * @param violations one line per violated rule (forbidden pair, memory limit); empty when valid
     */
    public record Evaluation(double total, double nodeCost, double edgeCost, double memory, List<String> violations) {
        public Evaluation {
            violations = List.copyOf(violations);
        }

        /** Whether the assignment breaks no rule. */
        public boolean feasible() {
            return violations.isEmpty();
        }
    }

    /**
     * Evaluates {@code choices} on {@code problem}.
     *
     * @throws IllegalArgumentException if {@code choices} has the wrong length or an index out of range
     */
    public static Evaluation evaluate(Problem problem, int[] choices) {
        int n = problem.size();
        if (choices.length != n) {
            throw new IllegalArgumentException("choices must have " + n + " entries (one per node), found " + choices.length);
        }
        List<String> violations = new ArrayList<>();
        double nodeCost = 0;
        double memory = 0;
        for (int i = 0; i < n; i++) {
            Problem.Node node = problem.nodes().get(i);
            int k = choices[i];
            if (k < 0 || k >= node.strategies()) {
                throw new IllegalArgumentException("choices[" + i + "] (node " + node.name() + ") must be in 0.."
                        + (node.strategies() - 1) + ", found " + k);
            }
            nodeCost += node.cost(k);
            memory += node.memory(k);
        }
        double edgeCost = 0;
        List<Problem.Edge> edges = problem.edges();
        for (int j = 0; j < edges.size(); j++) {
            Problem.Edge e = edges.get(j);
            double c = e.cost(choices[e.from()], choices[e.to()]);
            if (c == Double.POSITIVE_INFINITY) {
                violations.add("edge " + j + " (" + problem.describe(e) + ") forbids strategies "
                        + problem.nodes().get(e.from()).label(choices[e.from()]) + " and "
                        + problem.nodes().get(e.to()).label(choices[e.to()]));
            }
            edgeCost += c;
        }
        if (problem.memoryLimit().isPresent() && memory > problem.memoryLimit().getAsDouble()) {
            violations.add("memory " + memory + " exceeds the limit " + problem.memoryLimit().getAsDouble());
        }
        return new Evaluation(nodeCost + edgeCost, nodeCost, edgeCost, memory, violations);
    }

    /** The total cost of {@code choices} ({@code +inf} if a forbidden pair is chosen). */
    public static double objective(Problem problem, int[] choices) {
        return evaluate(problem, choices).total();
    }
}
