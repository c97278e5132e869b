package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Chooses the order in which {@link VariableElimination} eliminates nodes. Three classic greedy
 * heuristics (min-fill, min-degree and min-weight, Kjaerulff 1990; Koller and Friedman 2009,
 * section 9.4.3) are simulated on the interaction graph with each node weighted by its number of
 * remaining strategies, and the order with the least estimated work (sum over steps of the
 * eliminated node's weight times the product of its neighbours' weights) is kept. Ties break on the
 * node index, so the order is deterministic. Running time O(heuristics x n^2 x degree^2), well under
 * a millisecond per hundred nodes.
 */
final class EliminationOrder {

    /** An order and its estimated work (multiply-adds of the dynamic program, an upper bound). */
    record Plan(int[] order, double work, String heuristic) {
    }

    private EliminationOrder() {
    }

    /** The best of the heuristics for nodes with {@code weight[v]} strategies and these pairwise scopes. */
    static Plan choose(int[] weight, List<int[]> scopes) {
        Plan best = null;
        String forced = System.getProperty("shardplan.dp.order");
        for (String h : forced != null ? new String[] {forced} : new String[] {"min-fill", "min-degree", "min-weight"}) {
            Plan p = simulate(weight, scopes, h);
            if (Boolean.getBoolean("shardplan.dp.trace")) {
                System.err.printf("order %s: estimated work %.4g%n", h, p.work());
            }
            if (best == null || p.work() < best.work()) {
                best = p;
            }
        }
        return best;
    }

    static Plan simulate(int[] weight, List<int[]> scopes, String heuristic) {
        int n = weight.length;
        List<TreeSet<Integer>> adj = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            adj.add(new TreeSet<>());
        }
        for (int[] s : scopes) {
            for (int a : s) {
                for (int b : s) {
                    if (a != b) {
                        adj.get(a).add(b);
                    }
                }
            }
        }
        boolean[] done = new boolean[n];
        int[] order = new int[n];
        double total = 0;
        for (int step = 0; step < n; step++) {
            int best = -1;
            double bp = 0;
            double bs = 0;
            for (int v = 0; v < n; v++) {
                if (done[v]) {
                    continue;
                }
                double work = work(v, weight, adj);
                double primary = switch (heuristic) {
                    case "min-fill" -> fill(v, adj);
                    case "min-degree" -> adj.get(v).size();
                    default -> work;
                };
                if (best < 0 || primary < bp || (primary == bp && work < bs)) {
                    best = v;
                    bp = primary;
                    bs = work;
                }
            }
            total += bs;
            order[step] = best;
            done[best] = true;
            TreeSet<Integer> nb = adj.get(best);
            for (int a : nb) {
                adj.get(a).remove(best);
                for (int b : nb) {
                    if (a != b) {
                        adj.get(a).add(b);
                    }
                }
            }
            nb.clear();
        }
        return new Plan(order, total, heuristic);
    }

    private static double work(int v, int[] weight, List<TreeSet<Integer>> adj) {
        double w = Math.max(1, weight[v]);
        for (int u : adj.get(v)) {
            w *= Math.max(1, weight[u]);
        }
        return w;
    }

    private static int fill(int v, List<TreeSet<Integer>> adj) {
        int f = 0;
        TreeSet<Integer> nb = adj.get(v);
        for (int a : nb) {
            for (int b : nb) {
                if (a < b && !adj.get(a).contains(b)) {
                    f++;
                }
            }
        }
        return f;
    }
}
