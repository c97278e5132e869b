package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.solver.Problem;

/**
 * One sweep from a start answers every end: on random small graphs (nodes in order, links back to any earlier node, so
 * the frontier grows and shrinks) each chunk's least from the sweep equals the least over every assignment of that
 * chunk's nodes with the links inside it, its minimiser costs that least, and a sweep extended in steps answers as one
 * extended at once.
 */
class ChunkSweepTest {

    /** A random graph: per node its candidates' costs, per link (earlier, later) its table. */
    private record Graph(double[][] cost, List<int[]> links, List<double[]> tables) {
    }

    private static Graph graph(Random r, int n) {
        double[][] cost = new double[n][];
        for (int i = 0; i < n; i++) {
            cost[i] = new double[1 + r.nextInt(3)];
            for (int a = 0; a < cost[i].length; a++) {
                cost[i][a] = r.nextInt(20);
            }
        }
        List<int[]> links = new ArrayList<>();
        List<double[]> tables = new ArrayList<>();
        for (int z = 1; z < n; z++) {
            for (int a = Math.max(0, z - 4); a < z; a++) {
                if (r.nextInt(3) == 0 || a == z - 1 && r.nextBoolean()) {
                    double[] t = new double[cost[a].length * cost[z].length];
                    for (int k = 0; k < t.length; k++) {
                        t[k] = r.nextInt(10);
                    }
                    links.add(new int[] {a, z});
                    tables.add(t);
                }
            }
        }
        return new Graph(cost, links, tables);
    }

    /** The sweep of {@code g} from node {@code lo}, links weighted {@code factor}. */
    private static ChunkSweep sweep(Graph g, int lo, double factor) {
        int n = g.cost().length - lo;
        int[] lastUse = new int[n];
        for (int i = 0; i < n; i++) {
            lastUse[i] = i;
        }
        for (int[] l : g.links()) {
            if (l[0] >= lo) {
                lastUse[l[0] - lo] = Math.max(lastUse[l[0] - lo], l[1] - lo);
            }
        }
        return new ChunkSweep(new ChunkSweep.Source() {
            @Override
            public double[] cost(int i) {
                return g.cost()[lo + i];
            }

            @Override
            public ChunkSweep.Into into(int i) {
                List<Integer> from = new ArrayList<>();
                List<double[]> ts = new ArrayList<>();
                for (int q = 0; q < g.links().size(); q++) {
                    int[] l = g.links().get(q);
                    if (l[1] == lo + i && l[0] >= lo) {
                        from.add(l[0] - lo);
                        ts.add(g.tables().get(q));
                    }
                }
                return from.isEmpty() ? null : new ChunkSweep.Into(from.stream().mapToInt(Integer::intValue).toArray(),
                        ts.toArray(double[][]::new));
            }
        }, lastUse, factor, true);
    }

    /** The least of chunk {@code [lo, hi)} of {@code g} over every assignment. */
    private static double least(Graph g, int lo, int hi, double factor) {
        List<Problem.Node> nodes = new ArrayList<>();
        for (int i = lo; i < hi; i++) {
            nodes.add(new Problem.Node("n" + i, g.cost()[i], null, null));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int q = 0; q < g.links().size(); q++) {
            int[] l = g.links().get(q);
            if (l[0] >= lo && l[1] < hi) {
                double[] t = g.tables().get(q).clone();
                for (int k = 0; k < t.length; k++) {
                    t[k] *= factor;
                }
                edges.add(new Problem.Edge(l[0] - lo, l[1] - lo, g.cost()[l[0]].length, g.cost()[l[1]].length, t));
            }
        }
        return PipelineBound.enumerate(nodes, edges).value();
    }

    /** The cost of assignment {@code x} (from node {@code lo}) of chunk {@code [lo, hi)}. */
    private static double cost(Graph g, int lo, int hi, int[] x, double factor) {
        double c = 0;
        for (int i = lo; i < hi; i++) {
            c += g.cost()[i][x[i - lo]];
        }
        for (int q = 0; q < g.links().size(); q++) {
            int[] l = g.links().get(q);
            if (l[0] >= lo && l[1] < hi) {
                c += factor * g.tables().get(q)[x[l[0] - lo] * g.cost()[l[1]].length + x[l[1] - lo]];
            }
        }
        return c;
    }

    @Test
    void everyEndsLeastIsTheChunksLeastAndItsMinimiserReachesIt() {
        Random r = new Random(11);
        int chunks = 0;
        for (int trial = 0; trial < 40; trial++) {
            Graph g = graph(r, 4 + r.nextInt(6));
            int n = g.cost().length;
            double factor = trial % 2 == 0 ? 1 : 0.5;
            for (int lo = 0; lo < n; lo++) {
                ChunkSweep s = sweep(g, lo, factor).extendTo(n - lo);
                assertEquals(n - lo, s.reached(), "a narrow frontier: every end reached");
                int[] radix = new int[n - lo];
                int[] lastUse = new int[n - lo];
                for (int i = 0; i < radix.length; i++) {
                    radix[i] = g.cost()[lo + i].length;
                    lastUse[i] = i;
                }
                for (int[] l : g.links()) {
                    if (l[0] >= lo) {
                        lastUse[l[0] - lo] = Math.max(lastUse[l[0] - lo], l[1] - lo);
                    }
                }
                assertEquals(n - lo, ChunkSweep.reach(radix, lastUse), "its reach known ahead");
                for (int hi = lo + 1; hi <= n; hi++) {
                    double want = least(g, lo, hi, factor);
                    assertEquals(want, s.least(hi - lo), 1e-9, "chunk [" + lo + ", " + hi + ") of trial " + trial);
                    int[] x = s.choices(hi - lo);
                    assertNotNull(x);
                    assertEquals(hi - lo, x.length);
                    assertEquals(want, cost(g, lo, hi, x, factor), 1e-9, "its minimiser's cost");
                    chunks++;
                }
            }
        }
        assertTrue(chunks > 500, "chunks checked: " + chunks);
    }

    @Test
    void aSweepExtendedInStepsAnswersAsOneExtendedAtOnce() {
        Random r = new Random(5);
        Graph g = graph(r, 9);
        ChunkSweep once = sweep(g, 0, 1).extendTo(9);
        ChunkSweep steps = sweep(g, 0, 1);
        for (int e = 1; e <= 9; e += 2) {
            steps.extendTo(e);
            assertEquals(e, steps.reached());
        }
        steps.extendTo(9);
        for (int e = 1; e <= 9; e++) {
            assertEquals(once.least(e), steps.least(e), 0.0);
            assertEquals(java.util.Arrays.toString(once.choices(e)), java.util.Arrays.toString(steps.choices(e)));
        }
        assertEquals(once.work(), steps.work());
    }

    @Test
    void aFrontierPastTheMostStatesStopsThePassWhereItWouldGrowAndItsReachIsKnownAhead() {
        // three nodes of c candidates each linked to a fourth, c * c the most states: the frontier of the first two
        // nodes has them all, the third's would exceed them
        int c = (int) Math.round(Math.sqrt(ChunkSweep.MOST_STATES));
        assertEquals(ChunkSweep.MOST_STATES, c * c);
        double[][] cost = new double[4][];
        for (int i = 0; i < 4; i++) {
            cost[i] = new double[c];
        }
        List<int[]> links = List.of(new int[] {0, 3}, new int[] {1, 3}, new int[] {2, 3});
        List<double[]> tables = List.of(new double[c * c], new double[c * c], new double[c * c]);
        ChunkSweep s = sweep(new Graph(cost, links, tables), 0, 1).extendTo(4);
        assertEquals(2, s.reached(), "two open nodes make the most states, three would exceed them");
        assertEquals(0, s.least(2), 0.0);
        assertEquals(2, s.extendTo(4).reached(), "stopped for good");
        assertEquals(2, ChunkSweep.reach(new int[] {c, c, c, c}, new int[] {3, 3, 3, 3}), "the reach known ahead");
        assertEquals(4, ChunkSweep.reach(new int[] {c, c, 1, c}, new int[] {3, 3, 3, 3}), "one candidate at the third");
        assertEquals(1, ChunkSweep.reach(new int[] {c, 0, c, c}, new int[] {3, 3, 3, 3}), "no candidate at the second");
    }
}
