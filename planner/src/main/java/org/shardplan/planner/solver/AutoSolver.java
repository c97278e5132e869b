package org.shardplan.planner.solver;

/**
 * The default solver: the exact {@link DpSolver} where its tables fit the memory budget; where
 * they do not, or where a memory limit leaves a duality gap, the {@link IlpSolver} (started from
 * the dynamic program's best assignment, with its bound kept); where that finds nothing in time,
 * a local search, reported {@code FEASIBLE} with an honest lower bound. {@code OPTIMAL} only when
 * proven. Deterministic, and never past the time limit by more than one step of the solver in
 * hand (the local search, when nothing else found an assignment, gets at least 0.1 s).
 */
public final class AutoSolver implements Solver {

    @Override
    public String name() {
        return "auto";
    }

    @Override
    public Solution solve(Problem problem, Options options) {
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (options.timeLimitSeconds() * 1e9);
        CompiledProblem c = CompiledProblem.of(problem);
        DpSolver.Outcome outcome = new DpSolver().solveReducing(c, options.memoryBudgetBytes(), deadline, t0);
        Solution dp = outcome.solution();
        if (dp.status() == Status.OPTIMAL || dp.status() == Status.INFEASIBLE) {
            return dp;
        }
        // the ILP runs on what the dynamic program left (strategies it proved useless removed)
        CompiledProblem forIlp = outcome.reduced() != null ? outcome.reduced() : c;
        Solution ilp = System.nanoTime() < deadline
                ? new IlpSolver().solve(forIlp, dp.hasChoices() ? dp.choices() : null, deadline, t0, options.memoryBudgetBytes())
                : null;
        if (ilp != null && (ilp.status() == Status.OPTIMAL || ilp.status() == Status.INFEASIBLE)) {
            return ilp.withTiming("ilp", DpSolver.seconds(t0));
        }
        Solution best = dp;
        if (ilp != null && ilp.hasChoices() && (!best.hasChoices() || ilp.objective() < best.objective())) {
            best = ilp;
        }
        double lower = Math.max(dp.lowerBound(), ilp == null ? Double.NEGATIVE_INFINITY : ilp.lowerBound());
        lower = Math.max(lower, LocalSearch.trivialBound(c));
        String why = dp.message() + (ilp == null ? "" : "; " + ilp.message());
        if (!best.hasChoices()) {
            // the local search is the answer of last resort: it gets what is left of the limit, and
            // at least a tenth of a second for its first rounds (linear in the problem's tables each)
            int[] guess = LocalSearch.search(c, Math.max(deadline, System.nanoTime() + 100_000_000L));
            if (guess != null) {
                Evaluator.Evaluation e = Evaluator.evaluate(problem, guess);
                return new Solution(problem.name(), Status.FEASIBLE, e.total(), Math.min(lower, e.total()), guess,
                        "local-search", DpSolver.seconds(t0), why + "; best assignment of a local search, not proven");
            }
            return new Solution(problem.name(), Status.UNKNOWN, Double.NaN, lower, new int[0], name(),
                    DpSolver.seconds(t0), why + "; no assignment found in time");
        }
        Status status = DpSolver.closed(best.objective(), lower) ? Status.OPTIMAL : Status.FEASIBLE;
        return new Solution(problem.name(), status, best.objective(), Math.min(lower, best.objective()),
                best.choices(), best.solver().equals("dp") || ilp == null ? "dp" : "dp+ilp", DpSolver.seconds(t0), why);
    }
}
