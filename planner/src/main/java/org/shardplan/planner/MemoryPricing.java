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
 * dynamic programs; used on the (tied) problem when the limit binds.
 */
final class MemoryPricing {
    private MemoryPricing() {
    }

    /** An assignment that fits, its cost, and the Lagrangian lower bound. */
    record Result(int[] choices, double objective, double lowerBound) {
    }

    static Result solve(Problem p, double timeLimit) {
        double limit = p.memoryLimit().orElse(Double.POSITIVE_INFINITY);
        long deadline = System.nanoTime() + (long) (timeLimit * 1e9);
        Problem free = p.withMemoryLimit(OptionalDouble.empty());
        double[] best = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        int[][] bestChoice = {null};
        java.util.function.DoubleFunction<Double> probe = lambda -> {
            int[] ch = priced(free, lambda, deadline);
            if (ch == null) {
                return Double.NaN;
            }
            Evaluator.Evaluation e = Evaluator.evaluate(free, ch);
            best[1] = Math.max(best[1], e.total() + lambda * (e.memory() - limit));
            if (e.memory() <= limit && e.total() < best[0]) {
                best[0] = e.total();
                bestChoice[0] = ch;
            }
            return e.memory();
        };
        Double m0 = probe.apply(0);
        if (m0.isNaN()) {
            return null;
        }
        if (m0 <= limit) {
            return new Result(bestChoice[0], best[0], best[1]);
        }
        double lo = 0;
        double hi = 1e-18;
        Double mh = probe.apply(hi);
        while (!mh.isNaN() && mh > limit && hi < 1e6 && System.nanoTime() < deadline) {
            lo = hi;
            hi *= 10;
            mh = probe.apply(hi);
        }
        if (bestChoice[0] == null) {
            return null;
        }
        for (int i = 0; i < 40 && System.nanoTime() < deadline; i++) {
            double mid = (lo + hi) / 2;
            Double mm = probe.apply(mid);
            if (mm.isNaN()) {
                break;
            }
            if (mm > limit) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return new Result(bestChoice[0], best[0], Math.min(best[1], best[0]));
    }

    private static int[] priced(Problem free, double lambda, long deadline) {
        Problem q = free;
        if (lambda > 0) {
            List<Problem.Node> nodes = new ArrayList<>();
            for (Problem.Node n : free.nodes()) {
                double[] c = n.costs();
                for (int k = 0; k < c.length; k++) {
                    c[k] += lambda * n.memory(k);
                }
                nodes.add(new Problem.Node(n.name(), c, n.labels(), n.memory()));
            }
            q = new Problem(free.name(), nodes, free.edges(), OptionalDouble.empty());
        }
        double left = (deadline - System.nanoTime()) / 1e9;
        if (left <= 0) {
            return null;
        }
        Solution s = new DpSolver().solve(q, Solver.Options.withTimeLimit(left));
        return s.status() == Status.OPTIMAL && s.hasChoices() ? s.choices() : null;
    }
}
