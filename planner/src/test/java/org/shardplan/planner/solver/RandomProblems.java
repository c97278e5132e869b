package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;

/** Seeded random problems for the contract tests, and a brute-force reference. */
public final class RandomProblems {
    private RandomProblems() {
    }

    /**
     * A random problem: a random tree plus {@code extraEdges} more edges (some parallel), strategy
     * counts in 1..maxK, integer costs (so sums are exact), edge matrices with repeated rows and
     * columns like real layouts, a fraction {@code forbidden} of forbidden pairs, memory per strategy.
     */
    static Problem random(long seed, int n, int maxK, int extraEdges, double forbidden) {
        Random r = new Random(seed);
        int[] k = new int[n];
        List<Problem.Node> nodes = nodes(r, k, maxK, true);
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            edges.add(edge(r, r.nextInt(i), i, k, forbidden));
        }
        for (int j = 0; j < extraEdges && n > 1; j++) {
            int a = r.nextInt(n);
            int b = r.nextInt(n);
            if (a != b) {
                edges.add(edge(r, a, b, k, forbidden));
            }
        }
        return new Problem("random-" + seed, nodes, edges);
    }

    /**
     * {@code k.length} nodes named {@code n0, n1, ...}, node i with {@code k[i]} strategies drawn in 1..maxK
     * (written into {@code k}); costs and memory integer (costs 0..99, memory 1..20) or real (costs below
     * 1e-3, memory 1e9..2.1e10 bytes). No labels.
     */
    public static List<Problem.Node> nodes(Random r, int[] k, int maxK, boolean integer) {
        List<Problem.Node> nodes = new ArrayList<>();
        for (int i = 0; i < k.length; i++) {
            k[i] = 1 + r.nextInt(maxK);
            double[] c = new double[k[i]];
            double[] m = new double[k[i]];
            for (int s = 0; s < k[i]; s++) {
                c[s] = integer ? r.nextInt(100) : r.nextDouble() * 1e-3;
                m[s] = integer ? 1 + r.nextInt(20) : (1 + r.nextDouble() * 20) * 1e9;
            }
            nodes.add(new Problem.Node("n" + i, c, List.of(), m));
        }
        return nodes;
    }

    private static Problem.Edge edge(Random r, int a, int b, int[] k, double forbidden) {
        // layouts: strategies map to a few layout classes; cost depends on the two layouts only
        int la = 1 + r.nextInt(k[a]);
        int lb = 1 + r.nextInt(k[b]);
        int[] ca = new int[k[a]];
        int[] cb = new int[k[b]];
        for (int s = 0; s < k[a]; s++) {
            ca[s] = r.nextInt(la);
        }
        for (int t = 0; t < k[b]; t++) {
            cb[t] = r.nextInt(lb);
        }
        double[][] base = new double[la][lb];
        for (double[] row : base) {
            for (int j = 0; j < lb; j++) {
                row[j] = r.nextDouble() < forbidden ? Double.POSITIVE_INFINITY : r.nextInt(60);
            }
        }
        double[] m = new double[k[a] * k[b]];
        for (int s = 0; s < k[a]; s++) {
            for (int t = 0; t < k[b]; t++) {
                m[s * k[b] + t] = base[ca[s]][cb[t]];
            }
        }
        return new Problem.Edge(a, b, k[a], k[b], m);
    }

    /** A memory limit between the least and the largest possible memory (fraction f of the way). */
    static Problem withLimit(Problem p, double f) {
        double lo = 0;
        double hi = 0;
        for (int i = 0; i < p.size(); i++) {
            double mn = Double.POSITIVE_INFINITY;
            double mx = 0;
            for (int s = 0; s < p.strategies(i); s++) {
                mn = Math.min(mn, p.memory(i, s));
                mx = Math.max(mx, p.memory(i, s));
            }
            lo += mn;
            hi += mx;
        }
        return p.withMemoryLimit(OptionalDouble.of(Math.floor(lo + f * (hi - lo))));
    }

    /** The optimum by enumeration, or null when infeasible. */
    static int[] bruteForce(Problem p) {
        int n = p.size();
        if (p.assignments() > 2e6) {
            throw new IllegalArgumentException("too many assignments for brute force: " + p.assignments());
        }
        int[] x = new int[n];
        int[] best = null;
        double bestCost = Double.POSITIVE_INFINITY;
        while (true) {
            Evaluator.Evaluation e = Evaluator.evaluate(p, x);
            if (e.feasible() && e.total() < bestCost) {
                bestCost = e.total();
                best = x.clone();
            }
            int i = n - 1;
            while (i >= 0 && ++x[i] == p.strategies(i)) {
                x[i] = 0;
                i--;
            }
            if (i < 0) {
                return best;
            }
        }
    }
}
