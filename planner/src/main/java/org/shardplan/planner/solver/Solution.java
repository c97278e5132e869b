package org.shardplan.planner.solver;

import java.util.Arrays;
import java.util.List;

/**
 * The answer to a {@link Problem} (format 1 of {@code docs/problem-format.md}).
 *
 * @param problem    the problem's name
 * @param status     what is proven about {@link #choices()}
 * @param objective  the total cost of the choices recomputed by the {@link Evaluator}; NaN when there
 *                   are no choices
 * @param lowerBound the best proven lower bound on the optimum ({@code -inf} when none is known,
 *                   {@code +inf} when infeasible)
 * @param choices    chosen strategy per node; empty when there is no assignment
 * @param solver     the solver that produced it ({@code dp}, {@code ilp}, ...)
 * @param seconds    wall time of the solve, excluding reading the file
 * @param message    a human-readable note (why it is infeasible, why not proven, reductions);
 *                   not part of the file format, written as an extra key that readers ignore
 */
public record Solution(String problem, Status status, double objective, double lowerBound, int[] choices,
        String solver, double seconds, String message) {

    /** The file format tag of solutions. */
    public static final String FORMAT = "shardplan-solution/1";

    public Solution {
        problem = problem == null ? "" : problem;
        choices = choices == null ? new int[0] : choices.clone();
        solver = solver == null ? "" : solver;
        message = message == null ? "" : message;
    }

    @Override
    public int[] choices() {
        return choices.clone();
    }

    /** Chosen strategy of node {@code i}. */
    public int choice(int i) {
        return choices[i];
    }

    /** Whether an assignment is present. */
    public boolean hasChoices() {
        return choices.length > 0;
    }

    /** Relative gap {@code (objective - lowerBound) / max(1, |objective|)}, or +inf when unknown. */
    public double gap() {
        if (!hasChoices() || !Double.isFinite(lowerBound)) {
            return Double.POSITIVE_INFINITY;
        }
        return Math.max(0.0, objective - lowerBound) / Math.max(1.0, Math.abs(objective));
    }

    /** This solution with another wall time and solver name. */
    public Solution withTiming(String solver, double seconds) {
        return new Solution(problem, status, objective, lowerBound, choices, solver, seconds, message);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Solution s && problem.equals(s.problem) && status == s.status
                && Double.compare(objective, s.objective) == 0 && Double.compare(lowerBound, s.lowerBound) == 0
                && Arrays.equals(choices, s.choices) && solver.equals(s.solver)
                && Double.compare(seconds, s.seconds) == 0 && message.equals(s.message);
    }

    @Override
    public int hashCode() {
        return (problem.hashCode() * 31 + status.hashCode()) * 31 + Arrays.hashCode(choices);
    }

    @Override
    public String toString() {
        return "Solution[" + status + ", objective=" + objective + ", lowerBound=" + lowerBound + ", choices="
                + Arrays.toString(choices) + ", solver=" + solver + "]";
    }

    /** Names of the statuses, for messages. */
    static List<String> statusNames() {
        return Arrays.stream(Status.values()).map(Enum::name).toList();
    }
}
