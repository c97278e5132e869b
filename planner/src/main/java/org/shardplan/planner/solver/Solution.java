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

    /**
     * Relative gap {@code (objective - lowerBound) / |objective|} (0 when both are 0), or +inf when
     * unknown. Costs are seconds, a few milliseconds for a training step, so the gap is relative to
     * the objective itself, not to {@code max(1, |objective|)}, which would make every gap look tiny.
     */
    public double gap() {
        if (!hasChoices() || !Double.isFinite(lowerBound) || !Double.isFinite(objective)) {
            return Double.POSITIVE_INFINITY;
        }
        double diff = Math.max(0.0, objective - lowerBound);
        if (diff == 0) {
            return 0;
        }
        return objective == 0 ? Double.POSITIVE_INFINITY : diff / Math.abs(objective);
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
