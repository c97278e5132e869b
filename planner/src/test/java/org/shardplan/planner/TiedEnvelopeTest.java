package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.RandomProblems;

/** The tied block's priced optimum read off its envelope between solved prices, against a solve at every price. */
class TiedEnvelopeTest {

    /** A block of n nodes: a chain with two more edges (cycles, as the edges into the next instance make). */
    private static MemoryAwareBound.TiedBlocks block(long seed, int n) {
        Random r = new Random(seed);
        int[] k = new int[n];
        List<Problem.Node> nodes = RandomProblems.nodes(r, k, 6, false);
        double[][] params = new double[n][];
        double[][] acts = new double[n][];
        List<Problem.Node> timed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Problem.Node nd = nodes.get(i);
            params[i] = new double[k[i]];
            acts[i] = new double[k[i]];
            for (int s = 0; s < k[i]; s++) {
                params[i][s] = nd.memory(s);
                acts[i][s] = r.nextDouble() * 4e9;
            }
            timed.add(new Problem.Node(nd.name(), nd.costs(), null, null));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            edges.add(edge(r, i - 1, i, k));
        }
        edges.add(edge(r, n - 1, 0, k));
        edges.add(edge(r, n - 2, 1, k));
        return new MemoryAwareBound.TiedBlocks(new boolean[] {true, true}, new Problem("block-" + seed, timed, edges), params,
                acts);
    }

    /** Resharding-like times: 0 where the two layouts agree on a random class, else up to 2e-4 s. */
    private static Problem.Edge edge(Random r, int a, int b, int[] k) {
        double[] t = new double[k[a] * k[b]];
        for (int s = 0; s < k[a]; s++) {
            for (int u = 0; u < k[b]; u++) {
                t[s * k[b] + u] = s % 2 == u % 2 ? 0 : r.nextDouble() * 2e-4;
            }
        }
        return new Problem.Edge(a, b, k[a], k[b], t);
    }

    @Test
    void theEnvelopeGivesEveryPricesOptimumWithFewerSolves() {
        int envelopeSolves = 0;
        int directSolves = 0;
        for (long seed = 1; seed <= 8; seed++) {
            MemoryAwareBound.TiedBlocks env = block(seed, 7);
            MemoryAwareBound.TiedBlocks direct = block(seed, 7);
            direct.envelope = false;
            for (int copies : List.of(1, 4)) {
                List<Double> prices = new ArrayList<>();
                for (double l : MemoryAwareBound.LAMBDAS) {
                    prices.add(l);
                }
                Collections.shuffle(prices, new Random(seed * 31 + copies));
                for (double l : prices) {
                    double exact = direct.at(l, copies, () -> 600);
                    double read = env.at(l, copies, () -> 600);
                    String what = "seed " + seed + ", copies " + copies + ", lambda " + l;
                    // a lower bound on the exact optimum, within the envelope's share of it
                    assertTrue(read <= exact * (1 + 1e-12), what + ": " + read + " > " + exact);
                    assertEquals(exact, read, MemoryAwareBound.TiedBlocks.ENVELOPE_GAP * 4 * Math.abs(exact), what);
                }
            }
            envelopeSolves += env.solves;
            directSolves += direct.solves;
        }
        assertEquals(8 * 2 * MemoryAwareBound.LAMBDAS.length, directSolves);
        assertTrue(envelopeSolves * 4 < directSolves, envelopeSolves + " solves against " + directSolves);
    }
}
