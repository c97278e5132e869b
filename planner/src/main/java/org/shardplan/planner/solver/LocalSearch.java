package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;

/**
 * The last resort of {@link AutoSolver} when neither exact method finishes: iterated conditional
 * modes (each node in turn takes its best strategy given its neighbours' current ones, until no
 * node changes), started from every node's cheapest strategy. It proves nothing; its answer is
 * reported {@code FEASIBLE} with a separately computed lower bound. O(rounds x sum of edge sizes).
 */
final class LocalSearch {
    private LocalSearch() {
    }

    /** A valid assignment (forbidden pairs and memory limit respected), or null if none was found. */
    static int[] search(CompiledProblem c, long deadline) {
        Problem p = c.problem;
        int n = c.n;
        List<List<Problem.Edge>> inc = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            inc.add(new ArrayList<>());
        }
        for (Problem.Edge e : p.edges()) {
            inc.get(e.from()).add(e);
            inc.get(e.to()).add(e);
        }
        double[][] unary = c.unary(0);
        int[] x = new int[n];
        for (int v = 0; v < n; v++) {
            x[v] = argmin(unary[v]);
        }
        for (int round = 0; round < 100 && System.nanoTime() < deadline; round++) {
            boolean changed = false;
            for (int v = 0; v < n; v++) {
                double best = Double.POSITIVE_INFINITY;
                int bs = x[v];
                for (int s = 0; s < c.k[v]; s++) {
                    double cost = unary[v][s];
                    for (Problem.Edge e : inc.get(v)) {
                        cost += e.from() == v ? e.cost(s, x[e.to()]) : e.cost(x[e.from()], s);
                    }
                    if (cost < best) {
                        best = cost;
                        bs = s;
                    }
                }
                if (bs != x[v]) {
                    x[v] = bs;
                    changed = true;
                }
            }
            if (!changed) {
                break;
            }
        }
        return Evaluator.evaluate(p, x).feasible() ? x : null;
    }

    /** Sum over nodes of the cheapest remaining strategy plus sum over edges of the cheapest entry. */
    static double trivialBound(CompiledProblem c) {
        double b = 0;
        double[][] unary = c.unary(0);
        for (double[] u : unary) {
            b += u[argmin(u)];
        }
        for (Factor f : c.factors) {
            double m = Double.POSITIVE_INFINITY;
            for (double t : f.table) {
                m = Math.min(m, t);
            }
            b += m;
        }
        return b;
    }

    private static int argmin(double[] a) {
        int b = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] < a[b]) {
                b = i;
            }
        }
        return b;
    }
}
