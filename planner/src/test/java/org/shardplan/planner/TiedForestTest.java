package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.RandomProblems;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * The tied block's problem relaxed to a forest ({@link MemoryAwareBound.TiedBlocks#forest}) and solved by {@link
 * MemoryAwareBound.TiedBlocks.Forest}: its value is the exact dynamic program's on the relaxed problem, and never above
 * the exact optimum of the block with every edge (so the tied bound stays a bound).
 */
class TiedForestTest {

    /** A random block of n nodes: a chain, a branch and edges back to the first nodes (cycles, as the next instance's). */
    private record Block(double[][] cost, double[][] params, double[][] acts, List<Problem.Edge> edges) {
        Problem priced(List<Problem.Edge> es, double[][] c, double lambda, int copies) {
            List<Problem.Node> nodes = new ArrayList<>();
            for (int j = 0; j < c.length; j++) {
                double[] x = new double[c[j].length];
                for (int s = 0; s < x.length; s++) {
                    x[s] = c[j][s] + lambda * (params[j][s] + copies * acts[j][s]);
                }
                nodes.add(new Problem.Node("n" + j, x, null, null));
            }
            return new Problem("block", nodes, es, OptionalDouble.empty());
        }
    }

    private static Block block(long seed, int n) {
        Random r = new Random(seed);
        int[] k = new int[n];
        List<Problem.Node> nodes = RandomProblems.nodes(r, k, 7, false);
        List<Problem.Edge> edges = new ArrayList<>();
        for (int j = 1; j < n; j++) {
            edges.add(edge(r, j - 1, j, k));
        }
        edges.add(edge(r, 0, n - 1, k)); // a residual-like edge across the block
        edges.add(edge(r, n - 1, 1, k)); // into the next instance, back to an early node
        edges.add(edge(r, 2, n - 2, k)); // parallel to the chain: merged with nothing, closes a cycle
        edges.add(edge(r, 3, 2, k)); // the same pair as a chain edge, the other way: summed with it
        return withMemory(r, nodes, k, edges);
    }

    /** The nodes' costs with random parameter and activation bytes per layout. */
    private static Block withMemory(Random r, List<Problem.Node> nodes, int[] k, List<Problem.Edge> edges) {
        int n = k.length;
        double[][] cost = new double[n][];
        double[][] params = new double[n][];
        double[][] acts = new double[n][];
        for (int j = 0; j < n; j++) {
            cost[j] = nodes.get(j).costs();
            params[j] = new double[k[j]];
            acts[j] = new double[k[j]];
            for (int s = 0; s < k[j]; s++) {
                params[j][s] = r.nextDouble() * 8e9;
                acts[j][s] = r.nextDouble() * 4e9;
            }
        }
        return new Block(cost, params, acts, edges);
    }

    /** Resharding-like times: 0 where the two layouts agree on a random class, else up to 2 s. */
    private static Problem.Edge edge(Random r, int a, int b, int[] k) {
        double[] t = new double[k[a] * k[b]];
        for (int s = 0; s < k[a]; s++) {
            for (int u = 0; u < k[b]; u++) {
                t[s * k[b] + u] = s % 2 == u % 2 ? 0 : r.nextDouble() * 2;
            }
        }
        return new Problem.Edge(a, b, k[a], k[b], t);
    }

    private static double exact(Problem p) {
        Solution s = new DpSolver().solve(p, Solver.Options.withTimeLimit(60));
        assertEquals(Status.OPTIMAL, s.status());
        return s.objective();
    }

    private static double[][] copy(double[][] c) {
        double[][] x = new double[c.length][];
        for (int j = 0; j < c.length; j++) {
            x[j] = c[j].clone();
        }
        return x;
    }

    @Test
    void theForestIsBelowTheWholeBlockAndSolvedExactly() {
        int below = 0;
        for (long seed = 1; seed <= 12; seed++) {
            Block b = block(seed, 9);
            assertNull(MemoryAwareBound.TiedBlocks.Forest.of(b.priced(b.edges(), b.cost(), 0, 1)), "the block has cycles");
            double[][] relaxed = copy(b.cost());
            List<Problem.Edge> kept = MemoryAwareBound.TiedBlocks.forest(b.edges(), relaxed, b.cost().length);
            assertTrue(kept.size() < b.edges().size(), "seed " + seed);
            for (int copies : List.of(1, 3, 8)) {
                for (double lambda : new double[] {0, 1e-10, 3e-10, 1e-9}) {
                    String what = "seed " + seed + ", copies " + copies + ", lambda " + lambda;
                    Problem whole = b.priced(b.edges(), b.cost(), lambda, copies);
                    Problem forest = b.priced(kept, relaxed, lambda, copies);
                    MemoryAwareBound.TiedBlocks.Forest f = MemoryAwareBound.TiedBlocks.Forest.of(b.priced(kept, relaxed, 0, 1));
                    assertNotNull(f, what + ": not a forest");
                    double tree = f.least(lambda, copies, b.params(), b.acts());
                    double dp = exact(forest);
                    double all = exact(whole);
                    assertEquals(dp, tree, 1e-9 * Math.abs(dp), what + ": the forest's solve against the dynamic program");
                    assertTrue(tree <= all * (1 + 1e-12), what + ": forest " + tree + " above the whole block " + all);
                    below += tree < all * (1 - 1e-9) ? 1 : 0;
                }
            }
        }
        // the relaxation gives something up somewhere (else the test would not tell a relaxation from the block)
        assertTrue(below > 0);
    }

    @Test
    void betweenPowersOfTwoTheChordBoundsTheCountsValue() {
        int above = 0;
        for (long seed = 1; seed <= 6; seed++) {
            Block b = block(seed, 8);
            double[][] relaxed = copy(b.cost());
            List<Problem.Edge> kept = MemoryAwareBound.TiedBlocks.forest(b.edges(), relaxed, relaxed.length);
            MemoryAwareBound.TiedBlocks tb = new MemoryAwareBound.TiedBlocks(new boolean[] {true, true},
                    b.priced(kept, relaxed, 0, 1), b.params(), b.acts());
            MemoryAwareBound.TiedBlocks.Forest f = MemoryAwareBound.TiedBlocks.Forest.of(b.priced(kept, relaxed, 0, 1));
            for (int q = 0; q < MemoryAwareBound.LAMBDAS.length; q += 7) {
                double lambda = MemoryAwareBound.LAMBDAS[q];
                for (int copies = 1; copies <= 24; copies++) {
                    String what = "seed " + seed + ", lambda " + lambda + ", copies " + copies;
                    double read = tb.atGrid(q, copies, () -> 600);
                    double exact = f.least(lambda, copies, b.params(), b.acts());
                    double rounded = f.least(lambda, Integer.highestOneBit(copies), b.params(), b.acts());
                    assertTrue(read <= exact * (1 + 1e-12) + 1e-15, what + ": " + read + " above " + exact);
                    assertTrue(read >= rounded * (1 - 1e-12) - 1e-15, what + ": " + read + " below " + rounded);
                    above += read > rounded * (1 + 1e-9) ? 1 : 0;
                }
            }
        }
        // tighter than the count rounded down to a power of two somewhere
        assertTrue(above > 0);
    }

    /**
     * The forest's scan that reads each edge row and the priced costs in the order of their values, stopping at the
     * frontiers' sum ({@code Forest.thresholdScan}), gives the least of reading every pair, to the bit, on random trees of
     * up to 40 layouts a node (the scan runs where a node has more than 8).
     */
    @Test
    void theThresholdScanGivesTheSameLeast() {
        int scanned = 0;
        boolean before = MemoryAwareBound.TiedBlocks.Forest.thresholdScan;
        try {
            for (long seed = 1; seed <= 40; seed++) {
                Random r = new Random(seed);
                int n = 3 + r.nextInt(12);
                int[] k = new int[n];
                List<Problem.Node> nodes = RandomProblems.nodes(r, k, 40, seed % 2 == 0);
                List<Problem.Edge> edges = new ArrayList<>();
                for (int j = 1; j < n; j++) {
                    edges.add(r.nextBoolean() ? edge(r, r.nextInt(j), j, k) : edge(r, j, r.nextInt(j), k));
                }
                Block b = withMemory(r, nodes, k, edges);
                MemoryAwareBound.TiedBlocks.Forest f = MemoryAwareBound.TiedBlocks.Forest.of(b.priced(edges, b.cost(), 0, 1));
                assertNotNull(f, "seed " + seed);
                for (int copies : List.of(1, 4)) {
                    for (double lambda : new double[] {0, 1e-10, 1e-9, 1e-8}) {
                        MemoryAwareBound.TiedBlocks.Forest.thresholdScan = false;
                        double all = f.least(lambda, copies, b.params(), b.acts());
                        MemoryAwareBound.TiedBlocks.Forest.thresholdScan = true;
                        double scan = f.least(lambda, copies, b.params(), b.acts());
                        assertEquals(Double.doubleToLongBits(all), Double.doubleToLongBits(scan), "seed " + seed + ", copies "
                                + copies + ", lambda " + lambda + ": " + all + " against " + scan);
                    }
                }
                for (int j = 1; j < n; j++) {
                    scanned += k[j] > 8 ? 1 : 0;
                }
            }
        } finally {
            MemoryAwareBound.TiedBlocks.Forest.thresholdScan = before;
        }
        assertTrue(scanned > 100, "few nodes with more than 8 layouts: " + scanned);
    }

    @Test
    void aForestIsSolvedAsItIs() {
        Random r = new Random(7);
        int n = 8;
        int[] k = new int[n];
        List<Problem.Node> nodes = RandomProblems.nodes(r, k, 6, false);
        List<Problem.Edge> edges = new ArrayList<>();
        // two trees: 0-1-2-3 with 1-4, and 5-6, 7-6 (edges in both directions)
        edges.add(edge(r, 0, 1, k));
        edges.add(edge(r, 2, 1, k));
        edges.add(edge(r, 2, 3, k));
        edges.add(edge(r, 1, 4, k));
        edges.add(edge(r, 5, 6, k));
        edges.add(edge(r, 7, 6, k));
        Block b = withMemory(r, nodes, k, edges);
        double[][] cost = b.cost();
        double[][] params = b.params();
        double[][] acts = b.acts();
        MemoryAwareBound.TiedBlocks.Forest f = MemoryAwareBound.TiedBlocks.Forest.of(b.priced(edges, cost, 0, 1));
        assertNotNull(f);
        double[][] same = copy(cost);
        assertEquals(edges.size(), MemoryAwareBound.TiedBlocks.forest(edges, same, n).size(), "a forest keeps every edge");
        for (int j = 0; j < n; j++) {
            assertTrue(java.util.Arrays.equals(cost[j], same[j]), "no edge folded into node " + j);
        }
        for (double lambda : new double[] {0, 2e-10, 1e-9}) {
            double dp = exact(b.priced(edges, cost, lambda, 2));
            assertEquals(dp, f.least(lambda, 2, params, acts), 1e-9 * Math.abs(dp), "lambda " + lambda);
        }
    }
}
