package org.shardplan.planner.solver;

/**
 * One way of solving a {@link Problem}. Implementations are named after their method
 * ({@link DpSolver}, {@link IlpSolver}, {@link AutoSolver}), take plain data only, and never throw
 * for a well-formed problem: infeasibility, a time limit or a memory budget show in the returned
 * {@link Solution}'s status and message. The same problem and options give the same choices every
 * run.
 */
public interface Solver {

    /** Short name written into solutions: {@code dp}, {@code ilp}, {@code auto}. */
    String name();

    /** Solves {@code problem} within {@code options}. */
    Solution solve(Problem problem, Options options);

    /** Solves with {@link Options#defaults()}. */
    default Solution solve(Problem problem) {
        return solve(problem, Options.defaults());
    }

    /**
     * Limits of one solve.
     *
     * @param timeLimitSeconds wall-clock limit of the solve (positive)
     * @param memoryBudgetBytes bytes the dynamic program may hold in tables before it refuses
     */
    record Options(double timeLimitSeconds, long memoryBudgetBytes) {
        public Options {
            if (!(timeLimitSeconds > 0)) {
                throw new IllegalArgumentException("timeLimitSeconds must be positive, found " + timeLimitSeconds);
            }
            if (memoryBudgetBytes <= 0) {
                throw new IllegalArgumentException("memoryBudgetBytes must be positive, found " + memoryBudgetBytes);
            }
        }

        /** 60 seconds, and a table budget of a third of the JVM's maximum heap. */
        public static Options defaults() {
            return withTimeLimit(60);
        }

        /** The given time limit with the default memory budget. */
        public static Options withTimeLimit(double seconds) {
            return new Options(seconds, Runtime.getRuntime().maxMemory() / 3);
        }
    }
}
