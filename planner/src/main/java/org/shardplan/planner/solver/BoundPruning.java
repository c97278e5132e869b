package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exact pruning by bounds before the dynamic program: a strategy is removed when a lower bound on
 * the cost of every assignment that uses it exceeds the cost of a known assignment (an upper bound).
 * Such a strategy is in no optimal assignment, so the optimum is unchanged, and the elimination
 * tables, whose sizes are products of the neighbours' strategy counts, shrink.
 *
 * <p>Lower bounds: the pairwise tables are split into a maximum spanning forest (weighted by how much
 * a table loses when relaxed) and the rest; every table off the forest is relaxed to its row minima
 * {@code min_y t(x, y) <= t(x, y)}, folded into one end's node costs. The relaxed problem is a forest,
 * and two passes of min-sum message passing (Pearl 1988) give its exact min-marginals: for every
 * strategy {@code s} of node {@code v}, the least relaxed cost of an assignment with {@code v = s},
 * which is at most the least true cost of such an assignment.
 *
 * <p>Upper bound: the dynamic program run on a restricted problem (each node keeps its few
 * strategies with the least min-marginals), a valid assignment whose true cost is evaluated.
 *
 * <p>Running time: O(sum over tables of classes(u) x classes(w)) for the message passing plus one
 * small elimination; memory O(sum of strategy counts).
 */
final class BoundPruning {

    /** Strategies kept per node in the restricted problem that gives the upper bound. */
    static final int RESTRICTED = 16;

    /** Rounds of pruning at most (each round's removals tighten the next round's bounds). */
    static final int ROUNDS = 3;

    /** Pruned node costs ({@code +inf} = removed), how many were removed, and the bounds used. */
    record Result(double[][] unary, int removed, double upper, double lower) {
    }

    private BoundPruning() {
    }

    /**
     * Returns {@code unary} with every strategy whose lower bound exceeds the upper bound set to
     * {@code +inf}; unchanged (removed 0) when the factors are not all pairwise or nothing is found.
     */
    static Result prune(Problem p, List<Factor> factors, double[][] unary, long budget, long deadline) {
        Result total = once(p, factors, unary, budget, deadline);
        // pruned strategies raise the min-marginals of the others: repeat while it pays
        for (int round = 1; round < ROUNDS && total.removed() > 0; round++) {
            Result r = once(p, factors, total.unary(), budget, deadline);
            if (r.removed() == 0) {
                break;
            }
            total = new Result(r.unary(), total.removed() + r.removed(), Math.min(total.upper(), r.upper()),
                    Math.max(total.lower(), r.lower()));
        }
        return total;
    }

    private static Result once(Problem p, List<Factor> factors, double[][] unary, long budget, long deadline) {
        int n = unary.length;
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            u[i] = unary[i].clone();
        }
        List<Factor> pairs = new ArrayList<>();
        for (Factor f : factors) {
            if (f.arity() != 2) {
                return new Result(unary, 0, Double.NaN, Double.NaN);
            }
            pairs.add(f);
        }
        // forest: Kruskal on the loss of relaxing each table to its row minima
        int m = pairs.size();
        double[] loss = new double[m];
        int[] foldAxis = new int[m];
        for (int i = 0; i < m; i++) {
            Factor f = pairs.get(i);
            double[] l = new double[2];
            for (int a = 0; a < 2; a++) {
                double[] rm = rowMin(f, a);
                double sum = 0;
                int cnt = 0;
                for (int r = 0; r < f.dims[a]; r++) {
                    for (int c = 0; c < f.dims[1 - a]; c++) {
                        double t = f.table[a == 0 ? r * f.strides[0] + c : c * f.strides[0] + r];
                        if (t != Double.POSITIVE_INFINITY && rm[r] != Double.POSITIVE_INFINITY) {
                            sum += t - rm[r];
                            cnt++;
                        }
                    }
                }
                l[a] = cnt == 0 ? 0 : sum / cnt;
            }
            foldAxis[i] = l[0] <= l[1] ? 0 : 1;
            loss[i] = Math.min(l[0], l[1]);
        }
        Integer[] byLoss = new Integer[m];
        for (int i = 0; i < m; i++) {
            byLoss[i] = i;
        }
        Arrays.sort(byLoss, (x, y) -> {
            int c = Double.compare(loss[y], loss[x]);
            return c != 0 ? c : Integer.compare(x, y);
        });
        int[] dsu = new int[n];
        for (int i = 0; i < n; i++) {
            dsu[i] = i;
        }
        List<List<Integer>> tree = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            tree.add(new ArrayList<>());
        }
        for (int idx : byLoss) {
            Factor f = pairs.get(idx);
            int a = DisjointSets.find(dsu, f.vars[0]);
            int b = DisjointSets.find(dsu, f.vars[1]);
            if (a != b) {
                dsu[a] = b;
                tree.get(f.vars[0]).add(idx);
                tree.get(f.vars[1]).add(idx);
            } else {
                // off the forest: t(x, y) >= min over the other end, folded into node costs
                int ax = foldAxis[idx];
                int v = f.vars[ax];
                double[] rm = rowMin(f, ax);
                for (int s = 0; s < u[v].length; s++) {
                    u[v][s] += rm[f.cls[ax][s]];
                }
            }
        }
        // two-pass min-sum on every tree of the forest
        int[] parent = new int[n];
        int[] parentEdge = new int[n];
        Arrays.fill(parent, -2);
        int[] order = new int[n];
        int cnt = 0;
        for (int r = 0; r < n; r++) {
            if (parent[r] != -2) {
                continue;
            }
            parent[r] = -1;
            parentEdge[r] = -1;
            int head = cnt;
            order[cnt++] = r;
            while (head < cnt) {
                int v = order[head++];
                for (int e : tree.get(v)) {
                    Factor f = pairs.get(e);
                    int w = f.vars[0] == v ? f.vars[1] : f.vars[0];
                    if (parent[w] == -2) {
                        parent[w] = v;
                        parentEdge[w] = e;
                        order[cnt++] = w;
                    }
                }
            }
        }
        double[][] up = new double[n][]; // message from v to its parent, over the parent's strategies
        double[][] inner = new double[n][]; // u[v] + messages from v's children
        for (int i = n - 1; i >= 0; i--) {
            int v = order[i];
            if (inner[v] == null) {
                inner[v] = u[v].clone();
            }
            if (parent[v] >= 0) {
                int pv = parent[v];
                up[v] = send(pairs.get(parentEdge[v]), v, inner[v], u[pv].length);
                if (inner[pv] == null) {
                    inner[pv] = u[pv].clone();
                }
                add(inner[pv], up[v]);
            }
        }
        double[][] down = new double[n][]; // message from the parent into v, over v's strategies
        double[][] belief = new double[n][];
        for (int i = 0; i < n; i++) {
            int v = order[i];
            belief[v] = inner[v].clone();
            if (down[v] != null) {
                add(belief[v], down[v]);
            }
            for (int e : tree.get(v)) {
                Factor f = pairs.get(e);
                int w = f.vars[0] == v ? f.vars[1] : f.vars[0];
                if (parent[w] != v || parentEdge[w] != e) {
                    continue;
                }
                // everything at v except what came from w
                double[] a = u[v].clone();
                if (down[v] != null) {
                    add(a, down[v]);
                }
                for (int e2 : tree.get(v)) {
                    Factor f2 = pairs.get(e2);
                    int w2 = f2.vars[0] == v ? f2.vars[1] : f2.vars[0];
                    if (w2 != w && parent[w2] == v && parentEdge[w2] == e2) {
                        add(a, up[w2]);
                    }
                }
                down[w] = send(f, v, a, u[w].length);
            }
            if (System.nanoTime() > deadline) {
                return new Result(unary, 0, Double.NaN, Double.NaN);
            }
        }
        double lower = 0;
        for (int v = 0; v < n; v++) {
            if (parent[v] == -1) {
                lower += min(belief[v]);
            }
        }
        // upper bound: the exact optimum over the few strategies with the least min-marginals
        double[][] restricted = new double[n][];
        for (int v = 0; v < n; v++) {
            restricted[v] = keepBest(unary[v], belief[v], RESTRICTED);
        }
        double upper;
        try {
            VariableElimination ve = new VariableElimination(p, factors, budget, deadline);
            int[] x = ve.run(restricted).choices();
            upper = Evaluator.objective(p, x);
        } catch (VariableElimination.Infeasible | VariableElimination.TooLarge | VariableElimination.OutOfTime e) {
            return new Result(unary, 0, Double.NaN, lower);
        }
        if (!(upper < Double.POSITIVE_INFINITY)) {
            return new Result(unary, 0, upper, lower);
        }
        // a margin against rounding: sums in another order may differ in the last bits
        double cut = upper + 1e-9 * Math.max(1.0, Math.abs(upper));
        double[][] out = new double[n][];
        int removed = 0;
        for (int v = 0; v < n; v++) {
            out[v] = unary[v].clone();
            for (int s = 0; s < out[v].length; s++) {
                if (out[v][s] != Double.POSITIVE_INFINITY && belief[v][s] > cut) {
                    out[v][s] = Double.POSITIVE_INFINITY;
                    removed++;
                }
            }
        }
        return new Result(out, removed, upper, lower);
    }

    /** {@code msg[y] = min_x (a[x] + f(x, y))} from the end {@code from} to the other end. */
    private static double[] send(Factor f, int from, double[] a, int kTo) {
        int ax = f.axisOf(from);
        int ay = 1 - ax;
        double[] byClass = new double[f.dims[ax]];
        Arrays.fill(byClass, Double.POSITIVE_INFINITY);
        for (int x = 0; x < a.length; x++) {
            int c = f.cls[ax][x];
            if (a[x] < byClass[c]) {
                byClass[c] = a[x];
            }
        }
        double[] toClass = new double[f.dims[ay]];
        Arrays.fill(toClass, Double.POSITIVE_INFINITY);
        for (int cx = 0; cx < f.dims[ax]; cx++) {
            double b = byClass[cx];
            if (b == Double.POSITIVE_INFINITY) {
                continue;
            }
            for (int cy = 0; cy < f.dims[ay]; cy++) {
                double t = b + f.table[cx * f.strides[ax] + cy * f.strides[ay]];
                if (t < toClass[cy]) {
                    toClass[cy] = t;
                }
            }
        }
        double[] msg = new double[kTo];
        for (int y = 0; y < kTo; y++) {
            msg[y] = toClass[f.cls[ay][y]];
        }
        return msg;
    }

    /** Minimum of each slice of axis {@code a} (one value per class of that axis). */
    private static double[] rowMin(Factor f, int a) {
        double[] rm = new double[f.dims[a]];
        Arrays.fill(rm, Double.POSITIVE_INFINITY);
        for (int r = 0; r < f.dims[a]; r++) {
            for (int c = 0; c < f.dims[1 - a]; c++) {
                double t = f.table[r * f.strides[a] + c * f.strides[1 - a]];
                if (t < rm[r]) {
                    rm[r] = t;
                }
            }
        }
        return rm;
    }

    /** Node costs with all but the {@code keep} strategies of least belief set to +inf. */
    private static double[] keepBest(double[] cost, double[] belief, int keep) {
        Integer[] idx = new Integer[cost.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (x, y) -> {
            int c = Double.compare(belief[x], belief[y]);
            return c != 0 ? c : Integer.compare(x, y);
        });
        double[] out = new double[cost.length];
        Arrays.fill(out, Double.POSITIVE_INFINITY);
        int kept = 0;
        for (int i : idx) {
            if (kept == keep || cost[i] == Double.POSITIVE_INFINITY) {
                continue;
            }
            out[i] = cost[i];
            kept++;
        }
        return out;
    }

    private static void add(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
    }

    private static double min(double[] a) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : a) {
            m = Math.min(m, x);
        }
        return m;
    }
}
