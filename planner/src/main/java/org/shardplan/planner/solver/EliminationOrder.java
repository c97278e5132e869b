package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.TreeSet;

/**
 * Chooses the order in which {@link VariableElimination} eliminates nodes. Three classic greedy
 * heuristics (min-fill, min-degree and min-weight, Kjaerulff 1990; Koller and Friedman 2009,
 * section 9.4.3) are simulated on the interaction graph with each node weighted by its number of
 * remaining strategies, and the order with the least estimated work (sum over steps of the
 * eliminated node's weight times the product of its neighbours' weights) is kept. Ties break on the
 * node index, so the order is deterministic. Running time per heuristic O(n log n) for the choices (a
 * heap with lazy deletion) plus the rescoring around each eliminated node (its neighbours, and theirs
 * for min-fill, each O(d^2 log d) for degree d), in O(n + edges + fill) memory: linear in a chain
 * or a tree, a few milliseconds for a few hundred nodes.
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
        // sparse neighbour sets (ascending, so that products and ties come out in index order): a
        // dense n x n bit matrix would take n^2 / 8 bytes, 5 GB at 200,000 nodes
        @SuppressWarnings("unchecked")
        TreeSet<Integer>[] adj = new TreeSet[n];
        for (int i = 0; i < n; i++) {
            adj[i] = new TreeSet<>();
        }
        for (int[] s : scopes) {
            for (int a : s) {
                for (int b : s) {
                    if (a != b) {
                        adj[a].add(b);
                    }
                }
            }
        }
        boolean[] done = new boolean[n];
        int[] order = new int[n];
        // scores are cached and recomputed only where an elimination changed them: the work of the
        // eliminated node's neighbours, the fill of those and of their neighbours; the next node is
        // the least (primary, work, index) in a heap whose stale entries are skipped
        double[] work = new double[n];
        double[] primary = new double[n];
        int[] version = new int[n];
        PriorityQueue<Entry> heap = new PriorityQueue<>(Math.max(1, n));
        for (int v = 0; v < n; v++) {
            work[v] = work(v, weight, adj);
            primary[v] = primary(v, heuristic, work[v], adj);
            heap.add(new Entry(primary[v], work[v], v, 0));
        }
        double total = 0;
        TreeSet<Integer> affected = new TreeSet<>();
        for (int step = 0; step < n; step++) {
            Entry e = heap.poll();
            while (done[e.node] || e.version != version[e.node]) {
                e = heap.poll();
            }
            int best = e.node;
            total += work[best];
            order[step] = best;
            done[best] = true;
            TreeSet<Integer> nb = adj[best];
            affected.clear();
            List<int[]> added = new ArrayList<>();
            for (int a : nb) {
                adj[a].remove(best);
                for (int b : nb) {
                    if (b != a && adj[a].add(b) && a < b) {
                        added.add(new int[] {a, b});
                    }
                }
            }
            affected.addAll(nb);
            if (heuristic.equals("min-fill")) {
                // the fill of w changes when its neighbours change (w next to the eliminated node) or
                // when an edge appears between two of them: w is a common neighbour of a fill edge's ends
                for (int[] edge : added) {
                    TreeSet<Integer> x = adj[edge[0]];
                    TreeSet<Integer> y = adj[edge[1]];
                    if (x.size() > y.size()) {
                        TreeSet<Integer> t = x;
                        x = y;
                        y = t;
                    }
                    for (int w : x) {
                        if (y.contains(w)) {
                            affected.add(w);
                        }
                    }
                }
            }
            adj[best] = new TreeSet<>();
            for (int v : affected) {
                if (!done[v]) {
                    work[v] = work(v, weight, adj);
                    primary[v] = primary(v, heuristic, work[v], adj);
                    heap.add(new Entry(primary[v], work[v], v, ++version[v]));
                }
            }
        }
        return new Plan(order, total, heuristic);
    }

    /** A node's scores when they were computed ({@code version}: stale once the node is rescored). */
    private record Entry(double primary, double work, int node, int version) implements Comparable<Entry> {
        @Override
        public int compareTo(Entry o) {
            int c = Double.compare(primary, o.primary);
            if (c == 0) {
                c = Double.compare(work, o.work);
            }
            return c != 0 ? c : Integer.compare(node, o.node);
        }
    }

    private static double primary(int v, String heuristic, double work, TreeSet<Integer>[] adj) {
        return switch (heuristic) {
            case "min-fill" -> fill(v, adj);
            case "min-degree" -> adj[v].size();
            default -> work;
        };
    }

    private static double work(int v, int[] weight, TreeSet<Integer>[] adj) {
        double w = Math.max(1, weight[v]);
        for (int u : adj[v]) {
            w *= Math.max(1, weight[u]);
        }
        return w;
    }

    /**
     * Above this degree the fill of a node is taken as its largest possible value, {@code d(d-1)/2},
     * instead of being counted pair by pair ({@code O(d^2)} on every change of the neighbourhood, which
     * made a node read by thousands of others cost cubic time). Such a node would make a table of
     * {@code d+1} dimensions if eliminated early, so min-fill puts it late either way.
     */
    static final int EXACT_FILL_MAX_DEGREE = 64;

    /** Pairs of v's neighbours that are not adjacent (the edges eliminating v would add). */
    private static double fill(int v, TreeSet<Integer>[] adj) {
        TreeSet<Integer> nb = adj[v];
        if (nb.size() > EXACT_FILL_MAX_DEGREE) {
            return nb.size() * (nb.size() - 1.0) / 2;
        }
        int f = 0;
        for (int a : nb) {
            for (int b : nb) {
                if (a != b && !adj[a].contains(b)) {
                    f++;
                }
            }
        }
        return f / 2;
    }
}
