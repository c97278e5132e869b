package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Keeps the sums of a problem's costs finite. The solvers add costs in doubles and read {@code +inf}
 * as a forbidden pair, so a problem whose finite costs can add up past the largest double (about
 * 1.8e308) would see overflowing sums as forbidden pairs. Here such a problem is solved with every
 * cost multiplied by {@code 2^-k}, the least power of two that brings the largest possible total
 * under {@link #SAFE_TOTAL}: a scaling by a power of two is exact in floating point (no cost here is
 * near the subnormal range, since the largest possible total exceeds 2^1000), so the same choices are
 * optimal and the objective is {@code 2^k} times the scaled one. Infinity then comes only from the
 * file's forbidden pairs ({@code null} entries). O(strategies + edge entries).
 */
public final class CostScaling {

    /** The largest total a solver is given, 2^1000 (about 1.07e301): room for sums, bounds and differences. */
    static final double SAFE_TOTAL = Math.scalb(1.0, 1000);

    private CostScaling() {
    }

    /**
     * The largest total cost any assignment can have, in absolute value: the sum over nodes of the
     * largest |cost| plus the sum over edges of the largest finite |entry| (itself possibly {@code +inf}
     * when even that sum overflows).
     */
    static double largestTotal(Problem p) {
        double total = 0;
        for (Problem.Node n : p.nodes()) {
            double m = 0;
            for (double c : n.costs()) {
                m = Math.max(m, Math.abs(c));
            }
            total += m;
        }
        for (Problem.Edge e : p.edges()) {
            double m = 0;
            for (double c : e.costsUnshared()) {
                if (c != Double.POSITIVE_INFINITY) {
                    m = Math.max(m, Math.abs(c));
                }
            }
            total += m;
        }
        return total;
    }

    /** The exponent {@code k >= 0} such that costs times {@code 2^-k} always sum to at most {@link #SAFE_TOTAL}. */
    static int exponent(Problem p) {
        double total = largestTotal(p);
        if (total <= SAFE_TOTAL) {
            return 0;
        }
        // each node and edge adds less than 2^1024, so k stays below 24 + log2(nodes + edges) + 1: a few passes
        int k = 1;
        while (!(largestTotalScaled(p, k) <= SAFE_TOTAL)) {
            k++;
        }
        return k;
    }

    /** {@link #largestTotal} of the problem scaled by {@code 2^-k}, computed without overflow. */
    private static double largestTotalScaled(Problem p, int k) {
        double total = 0;
        for (Problem.Node n : p.nodes()) {
            double m = 0;
            for (double c : n.costs()) {
                m = Math.max(m, Math.abs(c));
            }
            total += Math.scalb(m, -k);
        }
        for (Problem.Edge e : p.edges()) {
            double m = 0;
            for (double c : e.costsUnshared()) {
                if (c != Double.POSITIVE_INFINITY) {
                    m = Math.max(m, Math.abs(c));
                }
            }
            total += Math.scalb(m, -k);
        }
        return total;
    }

    /** The problem with every finite cost multiplied by {@code 2^-k} (forbidden pairs stay forbidden). */
    static Problem scaled(Problem p, int k) {
        List<Problem.Node> nodes = new ArrayList<>(p.size());
        for (Problem.Node n : p.nodes()) {
            double[] c = n.costs();
            for (int i = 0; i < c.length; i++) {
                c[i] = Math.scalb(c[i], -k);
            }
            nodes.add(new Problem.Node(n.name(), c, n.labels(), n.hasMemory() ? n.memory() : null));
        }
        List<Problem.Edge> edges = new ArrayList<>(p.edges().size());
        for (Problem.Edge e : p.edges()) {
            double[] c = e.costs();
            for (int i = 0; i < c.length; i++) {
                c[i] = Math.scalb(c[i], -k); // +inf stays +inf
            }
            edges.add(new Problem.Edge(e.from(), e.to(), e.rows(), e.cols(), c));
        }
        return new Problem(p.name(), nodes, edges, p.memoryLimit());
    }

    /** The best total cost does not fit in a double: a problem to rescale, not a forbidden pair. */
    public static final class OverflowException extends ArithmeticException {
        private static final long serialVersionUID = 1L;

        OverflowException(String message) {
            super(message);
        }
    }

    /**
     * Solves {@code p} with {@code solver}, scaled as the class comment says when its costs could
     * overflow; the solution is on the problem's own scale.
     *
     * @throws OverflowException when the best assignment's total cost itself is more than the largest
     *     double (the message says by which power of two to divide the costs)
     */
    public static Solution solve(Solver solver, Problem p, Solver.Options options) {
        int k = exponent(p);
        if (k == 0) {
            return solver.solve(p, options);
        }
        Solution s = solver.solve(scaled(p, k), options);
        if (!s.hasChoices()) {
            return new Solution(s.problem(), s.status(), s.objective(), Math.scalb(s.lowerBound(), k), s.choices(),
                    s.solver(), s.seconds(), s.message() + scaledNote(k));
        }
        double objective = Evaluator.objective(p, s.choices());
        if (!Double.isFinite(objective)) {
            throw new OverflowException(String.format(Locale.ROOT, "the costs must add up to at most %.6g (the largest double),"
                    + " found a best total cost of %.6g x 2^%d: divide the costs by 2^%d or more",
                    Double.MAX_VALUE, s.objective(), k, k));
        }
        return new Solution(s.problem(), s.status(), objective, Math.min(objective, Math.scalb(s.lowerBound(), k)),
                s.choices(), s.solver(), s.seconds(), s.message() + scaledNote(k));
    }

    private static String scaledNote(int k) {
        return "; costs solved divided by 2^" + k + " (their sums would overflow a double), results scaled back";
    }
}
