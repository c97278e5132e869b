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
        double[][] unary = c.unary(0);
        int[] x = new int[c.n];
        for (int v = 0; v < c.n; v++) {
            x[v] = argmin(unary[v]);
        }
        improve(unary, c.factors, x, 100, deadline);
        return Evaluator.evaluate(c.problem, x).feasible() ? x : null;
    }

    /**
     * Iterated conditional modes on pairwise tables, in place: each node in turn takes the strategy
     * with the least node cost plus tables to its neighbours' current strategies (the first such on
     * ties; strategies with node cost {@code +inf} never), for at most {@code rounds} rounds, until
     * no node changes or the deadline. O(rounds x sum over nodes of strategies x incident tables).
     */
    static void improve(double[][] unary, List<Factor> factors, int[] x, int rounds, long deadline) {
        int n = unary.length;
        List<List<Factor>> inc = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            inc.add(new ArrayList<>());
        }
        for (Factor f : factors) {
            inc.get(f.vars[0]).add(f);
            inc.get(f.vars[1]).add(f);
        }
        int[] at = new int[2];
        for (int round = 0; round < rounds && System.nanoTime() < deadline; round++) {
            boolean changed = false;
            for (int v = 0; v < n; v++) {
                double best = Double.POSITIVE_INFINITY;
                int bs = x[v];
                for (int s = 0; s < unary[v].length; s++) {
                    double cost = unary[v][s];
                    for (int i = 0; i < inc.get(v).size() && cost < best; i++) {
                        Factor f = inc.get(v).get(i);
                        int a = f.vars[0] == v ? 0 : 1;
                        at[a] = s;
                        at[1 - a] = x[f.vars[1 - a]];
                        cost += f.valueAt(at);
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
