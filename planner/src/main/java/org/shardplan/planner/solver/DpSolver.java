package org.shardplan.planner.solver;



/**
 * The exact dynamic program: the static reductions of {@link CompiledProblem} (parallel edges
 * merged, forbidden and dominated strategies removed, compact tables), then exact pruning by the LP
 * bound ({@link DualPruning}: strategies whose bound exceeds a known assignment's cost go), then
 * {@link VariableElimination} in a greedy cheapest-step order, then back-substitution. The system
 * property {@code shardplan.dp.prune} selects the pruning for comparisons: {@code dual} (default),
 * {@code forest} ({@link BoundPruning}) or {@code none}.
 *
 * <p>Without a memory limit one elimination gives the proven optimum. With a memory limit it
 * works on the Lagrangian relaxation {@code min cost(x) + lambda (memory(x) - limit)}, which the
 * same elimination solves exactly for every {@code lambda >= 0} and whose value is a lower bound:
 * a least-memory elimination first proves infeasibility (and finds an assignment) when no
 * assignment fits, then {@code lambda = 0} is tried (optimal if it fits), then {@code lambda} is
 * bisected; every fitting assignment met is an upper bound. When the bounds meet the answer is
 * {@code OPTIMAL}; otherwise (a duality gap, which the relaxation cannot close) it is
 * {@code FEASIBLE} with the best Lagrangian bound, and {@link AutoSolver} hands it to the ILP.
 *
 * <p>Running time: one elimination is the sum over steps of (output classes x strategy groups);
 * PaSE-shaped problems (series-parallel up to a small core) take milliseconds to a second. A table
 * over the memory budget or the deadline gives status {@code UNKNOWN} with the reason.
 */
public final class DpSolver implements Solver {

    /** Bisection steps on lambda at most. */
    private static final int MAX_BISECTIONS = 60;

    @Override
    public String name() {
        return "dp";
    }

    @Override
    public Solution solve(Problem problem, Options options) {
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (options.timeLimitSeconds() * 1e9);
        CompiledProblem c = CompiledProblem.of(problem);
        return solve(c, options.memoryBudgetBytes(), deadline, t0);
    }

    /**
     * One problem solved at many prices of its memory, {@code min_x c(x) + lambda m(x)} without a limit
     * for lambda &gt; 0, compiled once: the static reductions are those of the problem with memory taking
     * part in dominance (a strategy no cheaper, no smaller and with no better rows than another stays so
     * at every price), the edges' compact tables shared; each price then costs the pruning and
     * elimination of {@link DpSolver} alone. The optimum equals a fresh solve of the priced problem's (the
     * same exact elimination over a superset of the strategies that solve keeps); only among assignments
     * of exactly equal priced cost may the one returned differ. O(compile) once, O(DP) per price.
     */
    public static final class Priced {
        private final Problem free;
        private final CompiledProblem base;

        /**
         * @param free the problem, its memory limit (if any) ignored
         */
        public Priced(Problem free) {
            this.free = free.withMemoryLimit(java.util.OptionalDouble.empty());
            // any limit makes memory take part in dominance; its value is not read
            this.base = CompiledProblem.of(free.withMemoryLimit(java.util.OptionalDouble.of(Double.MAX_VALUE)));
        }

        /**
         * The priced problem's exact solve ({@link DpSolver#solve} of node costs {@code cost + lambda memory},
         * no limit): its objective and lower bound are of the priced costs.
         *
         * @param lambda seconds per byte, at least 0
         * @param timeLimitSeconds for this solve
         */
        public Solution solve(double lambda, double timeLimitSeconds) {
            if (!(lambda >= 0)) {
                throw new IllegalArgumentException("lambda must be at least 0, found " + lambda);
            }
            long t0 = System.nanoTime();
            long deadline = t0 + (long) (timeLimitSeconds * 1e9);
            java.util.List<Problem.Node> nodes = new java.util.ArrayList<>(free.size());
            for (Problem.Node nd : free.nodes()) {
                double[] c = nd.costs();
                for (int k = 0; k < c.length; k++) {
                    c[k] += lambda * nd.memory(k);
                }
                nodes.add(new Problem.Node(nd.name(), c, nd.labels(), nd.memory()));
            }
            Problem q = new Problem(free.name(), nodes, free.edges(), java.util.OptionalDouble.empty());
            return new DpSolver().solve(base.withNodeCosts(q), Options.defaults().memoryBudgetBytes(), deadline, t0);
        }
    }

    /** The solve on an already compiled problem. */
    Solution solve(CompiledProblem c, long budget, long deadline, long t0) {
        return solve(c, budget, deadline, t0, new CompiledProblem[1]);
    }

    /**
     * A solve and the compiled problem with the strategies a memory-limited solve proved useless
     * removed (null when it removed none): what {@link AutoSolver} hands to the ILP.
     */
    record Outcome(Solution solution, CompiledProblem reduced) {
    }

    /** The solve on an already compiled problem, with what it proved useless (for {@link AutoSolver}). */
    Outcome solveReducing(CompiledProblem c, long budget, long deadline, long t0) {
        CompiledProblem[] reduced = new CompiledProblem[1];
        Solution s = solve(c, budget, deadline, t0, reduced);
        return new Outcome(s, reduced[0]);
    }

    private Solution solve(CompiledProblem c, long budget, long deadline, long t0, CompiledProblem[] reduced) {
        Problem p = c.problem;
        String reductions = reductions(c);
        if (c.infeasible != null) {
            return infeasible(p, c.infeasible, t0);
        }
        boolean limited = p.memoryLimit().isPresent();
        VariableElimination ve = new VariableElimination(p, c.factors, budget, deadline);
        // the LP bound of the pruning stays a proven lower bound when the elimination cannot finish, and
        // the pruning's best assignment (its width-aware restricted elimination) the answer
        double lpLower = Double.NEGATIVE_INFINITY;
        int[] pruningBest = null;
        String pruningNote = "";
        try {
            if (!limited) {
                long tp = System.nanoTime();
                String how = System.getProperty("shardplan.dp.prune", "dual");
                double[][] unary = c.unary(0);
                String pruning;
                EliminationOrder.Plan direct = how.equals("none") ? null : VariableElimination.order(unary, c.factors);
                boolean skipped = direct != null && pruningCostsMore(direct, c.factors);
                if (skipped) {
                    // a narrow interaction graph (a chain, a tree, series-parallel blocks): eliminating
                    // everything costs less than the pruning's first sweeps would, and gives the optimum
                    how = "none";
                }
                if (how.equals("forest")) {
                    BoundPruning.Result b = BoundPruning.prune(p, c.factors, unary, budget, deadline);
                    unary = b.unary();
                    pruning = describe(b);
                } else if (how.equals("dual")) {
                    DualPruning.Result b = DualPruning.prune(p, c.factors, unary, budget, deadline);
                    unary = b.unary();
                    pruning = describe(b);
                    if (Double.isFinite(b.lower())) {
                        lpLower = b.lower();
                    }
                    pruningBest = b.best();
                } else {
                    pruning = skipped ? String.format(java.util.Locale.ROOT, "no pruning by bounds: the"
                            + " elimination is estimated at %.3g multiply-adds, less than the pruning's first sweeps",
                            direct.work()) : "no pruning by bounds";
                }
                pruning += String.format(java.util.Locale.ROOT, " in %.3f s", seconds(tp));
                pruningNote = reductions + "; " + pruning;
                // the width check before starting: an elimination estimated at many times the time left
                // (a wide interaction graph: dense blocks) is not started, and the time goes to nothing
                // that cannot finish; the pruning's assignment and bound are the answer
                EliminationOrder.Plan order = skipped ? direct : VariableElimination.order(unary, c.factors);
                double estimated = order.work() * DualPruning.SECONDS_PER_WORK;
                double left = (deadline - System.nanoTime()) / 1e9;
                if (estimated > WIDTH_FACTOR * Math.max(0, left) && pruningBest != null) {
                    return widthFallback(p, pruningBest, lpLower, t0, pruningNote + String.format(java.util.Locale.ROOT,
                            "; elimination not started: estimated at %.3g s (%s order, %.3g multiply-adds) with %.3g s left",
                            estimated, order.heuristic(), order.work(), left));
                }
                VariableElimination.Result r = ve.run(unary, order);
                return done(p, r.choices(), r.value(), Status.OPTIMAL, t0,
                        reductions + "; " + pruning + "; " + ve.stats.describe());
            }
            double limit = p.memoryLimit().getAsDouble();
            // 1. least memory over all assignments that avoid forbidden pairs
            VariableElimination mem = new VariableElimination(p, c.feasibilityFactors(), budget, deadline);
            VariableElimination.Result least = mem.run(c.memoryUnary());
            double leastMemory = Evaluator.evaluate(p, least.choices()).memory();
            if (leastMemory > limit) {
                return infeasible(p, "memory limit " + limit + " cannot be met: the least memory of any assignment is "
                        + leastMemory, t0);
            }
            int[] best = least.choices();
            double upper = Evaluator.objective(p, best);
            // 2. lambda = 0: the unconstrained optimum
            VariableElimination.Result r0 = relaxed(c, ve, c.unary(0), budget, deadline);
            double lower = r0.value();
            Evaluator.Evaluation e0 = Evaluator.evaluate(p, r0.choices());
            if (e0.feasible()) {
                return done(p, r0.choices(), r0.value(), Status.OPTIMAL, t0,
                        reductions + "; the unconstrained optimum fits the memory limit; " + ve.stats.describe());
            }
            // 3. bisection on lambda; L(lambda) = DP(lambda) - lambda * limit is a lower bound
            double lo = 0;
            double hi = Math.max(1e-30, Math.abs(e0.total() - lower) + Math.abs(upper - lower));
            hi /= Math.max(1e-300, e0.memory() - leastMemory);
            hi = Math.max(hi, 1e-30);
            int iterations = 0;
            double bestLambda = 0;
            boolean hiFits = false;
            for (; iterations < MAX_BISECTIONS && !closed(upper, lower); iterations++) {
                double lambda = hiFits ? (lo + hi) / 2 : hi;
                VariableElimination.Result r = relaxed(c, ve, c.unary(lambda), budget, deadline);
                Evaluator.Evaluation e = Evaluator.evaluate(p, r.choices());
                if (r.value() - lambda * limit > lower) {
                    lower = r.value() - lambda * limit;
                    bestLambda = lambda;
                }
                if (e.feasible()) {
                    if (e.total() < upper) {
                        upper = e.total();
                        best = r.choices();
                    }
                    hi = lambda;
                    hiFits = true;
                } else if (hiFits) {
                    lo = lambda;
                } else {
                    lo = hi;
                    hi *= 4;
                }
                if (hiFits && hi - lo <= 1e-12 * hi) {
                    break;
                }
            }
            String how = "Lagrangian relaxation of the memory limit, " + (iterations + 2) + " eliminations; " + reductions
                    + "; last elimination: " + ve.stats.describe();
            if (closed(upper, lower)) {
                return done(p, best, lower, Status.OPTIMAL, t0, how);
            }
            // 4. what the relaxation can still prove: with the best multiplier, a strategy whose LP bound
            // exceeds the best feasible cost plus lambda x limit is in no better feasible assignment;
            // the ILP that finishes the job (AutoSolver) gets the problem without them
            if (System.nanoTime() < deadline) {
                DualPruning.Result b = DualPruning.prune(p, c.factors, c.unary(bestLambda), budget, deadline,
                        upper + bestLambda * limit);
                if (b.removed() > 0) {
                    reduced[0] = c.restrictedTo(b.unary());
                    how += String.format(java.util.Locale.ROOT,
                            "; LP bound of the relaxation at lambda %.6g removed %d strategies that no better feasible assignment uses",
                            bestLambda, b.removed());
                }
            }
            return done(p, best, lower, Status.FEASIBLE, t0, how + "; duality gap not closed, optimality not proven");
        } catch (VariableElimination.Infeasible e) {
            return infeasible(p, e.getMessage(), t0);
        } catch (VariableElimination.TooLarge | VariableElimination.OutOfTime e) {
            if (pruningBest != null) {
                return widthFallback(p, pruningBest, lpLower, t0, pruningNote + "; dp: " + e.getMessage());
            }
            return new Solution(p.name(), Status.UNKNOWN, Double.NaN, lpLower, new int[0], name(),
                    seconds(t0), "dp: " + e.getMessage() + (Double.isFinite(lpLower)
                            ? String.format(java.util.Locale.ROOT, " (LP lower bound %.9g kept)", lpLower) : ""));
        }
    }

    /**
     * How many times the time left the elimination's estimated time may be before it is not started
     * (the estimate is an upper bound: compact classes often make the work far smaller).
     */
    static final double WIDTH_FACTOR = 10;

    /**
     * Whether the elimination in {@code order} on the unpruned problem is estimated to cost less than
     * the least work {@link DualPruning} does before it can stop: {@link DualPruning#TRWS_ITERATIONS}
     * message-passing iterations and {@link DualPruning#CHECK_EVERY} sweeps, each over every cell of the
     * compact tables (the estimates it uses itself to decide when eliminating beats sweeping on). Where it
     * does, the pruning is skipped: it removes no optimum, and only the elimination's time is at stake.
     * Off with {@code -Dshardplan.dp.alwaysPrune=true} (to compare). O(tables).
     */
    static boolean pruningCostsMore(EliminationOrder.Plan order, java.util.List<Factor> factors) {
        if (Boolean.getBoolean("shardplan.dp.alwaysPrune")) {
            return false;
        }
        double cells = 0;
        for (Factor f : factors) {
            cells += f.table.length;
        }
        double sweeps = DualPruning.TRWS_ITERATIONS + DualPruning.CHECK_EVERY;
        return order.work() * DualPruning.SECONDS_PER_WORK < cells * DualPruning.SECONDS_PER_SWEEP_CELL * sweeps;
    }

    /**
     * The answer when the exact elimination cannot run: the LP-bound pruning's best assignment (its
     * restricted elimination over as many least-belief strategies per node as the width allows) with
     * the LP lower bound: {@code FEASIBLE} with a proven gap, or {@code OPTIMAL} when the two meet.
     */
    private Solution widthFallback(Problem p, int[] best, double lpLower, long t0, String message) {
        double objective = Evaluator.objective(p, best);
        Status status = closed(objective, lpLower) ? Status.OPTIMAL : Status.FEASIBLE;
        double gap = Double.isFinite(lpLower) ? (objective - lpLower) / Math.max(Math.abs(objective), 1e-300) : Double.NaN;
        return new Solution(p.name(), status, objective, Math.min(objective, lpLower), best, name(), seconds(t0),
                message + String.format(java.util.Locale.ROOT, "; assignment of the restricted elimination, %s",
                        Double.isFinite(gap) ? String.format(java.util.Locale.ROOT, "gap %.3g%% to the LP bound", 100 * gap)
                                : "no lower bound"));
    }

    /** The optimum of a Lagrangian relaxation: LP-bound pruning for its own objective, then elimination. */
    private static VariableElimination.Result relaxed(CompiledProblem c, VariableElimination ve, double[][] unary,
            long budget, long deadline) throws VariableElimination.Infeasible, VariableElimination.TooLarge,
            VariableElimination.OutOfTime {
        DualPruning.Result b = DualPruning.prune(c.problem, c.factors, unary, budget, deadline);
        return ve.run(b.unary());
    }

    static boolean closed(double upper, double lower) {
        return Double.isFinite(upper) && upper - lower <= 1e-9 * Math.max(1.0, Math.abs(upper));
    }

    /** Human-readable summary of the pruning by bounds. */
    static String describe(BoundPruning.Result b) {
        return String.format(java.util.Locale.ROOT, "bound pruning: %d strategies removed (upper bound %.6g, forest lower bound %.6g)",
                b.removed(), b.upper(), b.lower());
    }

    /** Human-readable summary of the pruning by the LP bound. */
    static String describe(DualPruning.Result b) {
        return String.format(java.util.Locale.ROOT,
                "LP-bound pruning: %d strategies removed after %d TRW-S iterations and %d sweeps (upper bound %.9g, LP lower bound %.9g)",
                b.removed(), b.trwsIterations(), b.sweeps(), b.upper(), b.lower());
    }

    /** Human-readable summary of the static reductions. */
    static String reductions(CompiledProblem c) {
        return "reductions: " + c.dominatedRemoved + " dominated and " + c.forbiddenRemoved
                + " forbidden strategies removed (" + c.aliveStrategies() + " left), " + c.parallelEdgesMerged
                + " parallel edges merged";
    }

    private Solution done(Problem p, int[] choices, double bound, Status status, long t0, String message) {
        double objective = Evaluator.objective(p, choices);
        double lb = status == Status.OPTIMAL ? Math.min(bound, objective) : bound;
        return new Solution(p.name(), status, objective, lb, choices, name(), seconds(t0), message);
    }

    private Solution infeasible(Problem p, String why, long t0) {
        return new Solution(p.name(), Status.INFEASIBLE, Double.NaN, Double.POSITIVE_INFINITY, new int[0], name(),
                seconds(t0), why);
    }

    static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

}
