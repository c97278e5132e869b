package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the order in which {@link VariableElimination} eliminates nodes. Three classic greedy
 * heuristics (min-fill, min-degree and min-weight, Kjaerulff 1990; Koller and Friedman 2009,
 * section 9.4.3) are simulated on the interaction graph with each node weighted by its number of
 * remaining strategies, and the order with the least estimated work (sum over steps of the
 * eliminated node's weight times the product of its neighbours' weights) is kept. Ties break on the
 * node index, so the order is deterministic. Running time O(heuristics x n^2) for the choices plus the
 * rescoring around each eliminated node (its neighbours, and theirs for min-fill): a few
 * milliseconds for a few hundred nodes.
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
        java.util.BitSet[] adj = new java.util.BitSet[n];
        for (int i = 0; i < n; i++) {
            adj[i] = new java.util.BitSet(n);
        }
        for (int[] s : scopes) {
            for (int a : s) {
                for (int b : s) {
                    if (a != b) {
                        adj[a].set(b);
                    }
                }
            }
        }
        boolean[] done = new boolean[n];
        int[] order = new int[n];
        // scores are cached and recomputed only where an elimination changed them: the work of the
        // eliminated node's neighbours, the fill of those and of their neighbours
        double[] work = new double[n];
        double[] primary = new double[n];
        for (int v = 0; v < n; v++) {
            work[v] = work(v, weight, adj);
            primary[v] = primary(v, heuristic, work[v], adj);
        }
        double total = 0;
        java.util.BitSet affected = new java.util.BitSet(n);
        for (int step = 0; step < n; step++) {
            int best = -1;
            for (int v = 0; v < n; v++) {
                if (!done[v] && (best < 0 || primary[v] < primary[best]
                        || (primary[v] == primary[best] && work[v] < work[best]))) {
                    best = v;
                }
            }
            total += work[best];
            order[step] = best;
            done[best] = true;
            java.util.BitSet nb = adj[best];
            affected.clear();
            for (int a = nb.nextSetBit(0); a >= 0; a = nb.nextSetBit(a + 1)) {
                adj[a].clear(best);
                adj[a].or(nb);
                adj[a].clear(a);
            }
            for (int a = nb.nextSetBit(0); a >= 0; a = nb.nextSetBit(a + 1)) {
                affected.set(a);
                if (heuristic.equals("min-fill")) {
                    affected.or(adj[a]);
                }
            }
            adj[best] = new java.util.BitSet(0);
            for (int v = affected.nextSetBit(0); v >= 0; v = affected.nextSetBit(v + 1)) {
                if (!done[v]) {
                    work[v] = work(v, weight, adj);
                    primary[v] = primary(v, heuristic, work[v], adj);
                }
            }
        }
        return new Plan(order, total, heuristic);
    }

    private static double primary(int v, String heuristic, double work, java.util.BitSet[] adj) {
        return switch (heuristic) {
            case "min-fill" -> fill(v, adj);
            case "min-degree" -> adj[v].cardinality();
            default -> work;
        };
    }

    private static double work(int v, int[] weight, java.util.BitSet[] adj) {
        double w = Math.max(1, weight[v]);
        java.util.BitSet nb = adj[v];
        for (int u = nb.nextSetBit(0); u >= 0; u = nb.nextSetBit(u + 1)) {
            w *= Math.max(1, weight[u]);
        }
        return w;
    }

    /** Pairs of v's neighbours that are not adjacent (the edges eliminating v would add). */
    private static int fill(int v, java.util.BitSet[] adj) {
        java.util.BitSet nb = adj[v];
        int f = 0;
        for (int a = nb.nextSetBit(0); a >= 0; a = nb.nextSetBit(a + 1)) {
            java.util.BitSet missing = (java.util.BitSet) nb.clone();
            missing.andNot(adj[a]);
            missing.clear(a);
            f += missing.cardinality();
        }
        return f / 2;
    }
}
