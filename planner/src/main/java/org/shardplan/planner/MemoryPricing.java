package org.shardplan.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * Lagrangian relaxation of the memory limit: every byte of memory is priced at {@code lambda}
 * seconds, the priced problem (without limit) is solved exactly by dynamic programming, and
 * {@code lambda} is bisected to the smallest price whose optimum fits. The fitting assignment of least
 * cost found is returned with the best Lagrangian bound {@code max over lambda of
 * (priced optimum - lambda * limit)}, a proven lower bound on the optimum under the limit. About 50
 * dynamic programs; used on the (tied) problem when the limit binds. The prices above 0 share one compile
 * of the problem ({@link DpSolver.Priced}: the static reductions with memory in dominance, the edges'
 * compact tables), so that each costs its pruning and elimination alone.
 */
final class MemoryPricing {
    private MemoryPricing() {
    }

    /** An assignment that fits, its cost, and the Lagrangian lower bound. */
    record Result(int[] choices, double objective, double lowerBound) {
    }

    /** One probe: the optimum of the priced problem at a price, and its evaluation without the price. */
    private record Probe(int[] choice, Evaluator.Evaluation evaluation) {
    }

    /**
     * -Dshardplan.pricingShortcut=false: the bisection probes every price (to check that the shortcut of
     * {@link #solve} changes no result); true by default.
     */
    static boolean shortcut = !"false".equals(System.getProperty("shardplan.pricingShortcut"));

    /** Dynamic programs run by {@link #solve} since the start (for tests). */
    static final java.util.concurrent.atomic.AtomicLong PROBES = new java.util.concurrent.atomic.AtomicLong();

    /** Bisection steps after which the shortcut of {@link #solve} checks whether it may end the probes. */
    private static final int[] CHECKS = {0, 3, 6, 9, 13, 18, 24, 31};

    /**
     * The bisection as described in the class comment. Shortcut: the priced optimum {@code f(lambda) = min_x
     * (c(x) + lambda m(x))} is concave and piecewise linear; when the optima at the ends of the interval,
     * {@code x_lo} (over the limit) and {@code x_hi} (within it), are the only pieces between them (their
     * lines cross at {@code lambda*} and one more dynamic program finds nothing below them there), every
     * price strictly inside the interval has {@code x_lo} (below {@code lambda*}) or {@code x_hi} (above) as
     * its optimum, so the remaining bisection steps are replayed with those two, with the same arithmetic,
     * without their dynamic programs: the same assignment, objective and bound. O(DP) per probe, about 50
     * probes without the shortcut, typically a third of them with it.
     */
    static Result solve(Problem p, double timeLimit) {
        double limit = p.memoryLimit().orElse(Double.POSITIVE_INFINITY);
        long deadline = System.nanoTime() + (long) (timeLimit * 1e9);
        Problem plain = p.withMemoryLimit(OptionalDouble.empty());
        // the prices after the first share one compile (DpSolver.Priced), made when first asked for
        Pricer free = new Pricer(plain);
        double[] best = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        int[][] bestChoice = {null};
        java.util.function.DoubleFunction<Probe> probe = lambda -> {
            int[] ch = priced(free, lambda, deadline);
            if (ch == null) {
                return null;
            }
            Probe x = new Probe(ch, Evaluator.evaluate(plain, ch));
            account(x, lambda, limit, best, bestChoice);
            return x;
        };
        Probe p0 = probe.apply(0);
        if (p0 == null) {
            return null;
        }
        if (p0.evaluation().memory() <= limit) {
            return new Result(bestChoice[0], best[0], best[1]);
        }
        double lo = 0;
        double hi = 1e-18;
        Probe atLo = p0;
        Probe atHi = probe.apply(hi);
        while (atHi != null && atHi.evaluation().memory() > limit && hi < 1e6 && System.nanoTime() < deadline) {
            lo = hi;
            atLo = atHi;
            hi *= 10;
            atHi = probe.apply(hi);
        }
        if (bestChoice[0] == null) {
            return null;
        }
        double star = Double.NaN; // lambda* once x_lo and x_hi are known to be the only pieces between lo and hi
        int check = 0;
        for (int i = 0; i < 40 && System.nanoTime() < deadline; i++) {
            if (shortcut && Double.isNaN(star) && check < CHECKS.length && i == CHECKS[check]) {
                check++;
                star = adjacent(free, atLo, atHi, lo, hi, deadline);
            }
            double mid = (lo + hi) / 2;
            Probe x;
            if (!Double.isNaN(star) && mid != star) {
                x = mid < star ? atLo : atHi;
                account(x, mid, limit, best, bestChoice);
            } else {
                star = Double.NaN;
                x = probe.apply(mid);
                if (x == null) {
                    break;
                }
            }
            if (x.evaluation().memory() > limit) {
                lo = mid;
                atLo = x;
            } else {
                hi = mid;
                atHi = x;
            }
        }
        return new Result(bestChoice[0], best[0], Math.min(best[1], best[0]));
    }

    /** A probe's share in the result: the Lagrangian bound at its price, and the best assignment that fits. */
    private static void account(Probe x, double lambda, double limit, double[] best, int[][] bestChoice) {
        Evaluator.Evaluation e = x.evaluation();
        best[1] = Math.max(best[1], e.total() + lambda * (e.memory() - limit));
        if (e.memory() <= limit && e.total() < best[0]) {
            best[0] = e.total();
            bestChoice[0] = x.choice();
        }
    }

    /**
     * {@code lambda*}, where the lines of {@code lo}'s and {@code hi}'s optima cross, when the priced optimum
     * there is not below them (so that they are the only pieces of the envelope between lo and hi); NaN
     * otherwise. One dynamic program, which counts in no result.
     */
    private static double adjacent(Pricer free, Probe lo, Probe hi, double loPrice, double hiPrice, long deadline) {
        Evaluator.Evaluation a = lo.evaluation();
        Evaluator.Evaluation b = hi.evaluation();
        double star = (b.total() - a.total()) / (a.memory() - b.memory());
        if (!(star > loPrice && star < hiPrice)) {
            return Double.NaN;
        }
        int[] ch = priced(free, star, deadline);
        if (ch == null) {
            return Double.NaN;
        }
        if (java.util.Arrays.equals(ch, lo.choice()) || java.util.Arrays.equals(ch, hi.choice())) {
            return star;
        }
        Evaluator.Evaluation e = Evaluator.evaluate(free.plain, ch);
        double line = Math.min(a.total() + star * a.memory(), b.total() + star * b.memory());
        return e.total() + star * e.memory() >= line ? star : Double.NaN;
    }

    /**
     * -Dshardplan.pricingCompileOnce=false: every price compiles its problem afresh (to check that {@link
     * DpSolver.Priced} changes no result); true by default.
     */
    static boolean compileOnce = !"false".equals(System.getProperty("shardplan.pricingCompileOnce"));

    /** The problem without its limit, and its compile for the prices above 0 once one is asked for. */
    private static final class Pricer {
        final Problem plain;
        private DpSolver.Priced compiled;

        Pricer(Problem plain) {
            this.plain = plain;
        }

        Solution solve(double lambda, double left) {
            if (lambda > 0 && compileOnce) {
                if (compiled == null) {
                    compiled = new DpSolver.Priced(plain);
                }
                return compiled.solve(lambda, left);
            }
            Problem q = plain;
            if (lambda > 0) {
                List<Problem.Node> nodes = new ArrayList<>();
                for (Problem.Node n : plain.nodes()) {
                    double[] c = n.costs();
                    for (int k = 0; k < c.length; k++) {
                        c[k] += lambda * n.memory(k);
                    }
                    nodes.add(new Problem.Node(n.name(), c, n.labels(), n.memory()));
                }
                q = new Problem(plain.name(), nodes, plain.edges(), OptionalDouble.empty());
            }
            return new DpSolver().solve(q, Solver.Options.withTimeLimit(left));
        }
    }

    private static int[] priced(Pricer free, double lambda, long deadline) {
        PROBES.incrementAndGet();
        double left = (deadline - System.nanoTime()) / 1e9;
        if (left <= 0) {
            return null;
        }
        Solution s = free.solve(lambda, left);
        return s.status() == Status.OPTIMAL && s.hasChoices() ? s.choices() : null;
    }
}
