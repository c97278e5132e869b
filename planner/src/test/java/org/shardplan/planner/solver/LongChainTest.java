package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Long chains: the elimination order is found in memory linear in the chain (a dense adjacency matrix
 * of 200,000 nodes would need 5 GB) and the chain is solved exactly.
 */
class LongChainTest {

    @Test
    void orderOfATwoHundredThousandNodeChain() {
        int n = 200_000;
        int[] weight = new int[n];
        Arrays.fill(weight, 4);
        List<int[]> scopes = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            scopes.add(new int[] {i - 1, i});
        }
        for (String h : new String[] {"min-fill", "min-degree", "min-weight"}) {
            EliminationOrder.Plan p = EliminationOrder.simulate(weight, scopes, h);
            // each step eliminates an end of what is left: 4 x 4 for n - 1 steps, then 4 for the last node
            assertEquals(16.0 * (n - 1) + 4, p.work(), 0.0, h);
            boolean[] seen = new boolean[n];
            for (int v : p.order()) {
                assertTrue(!seen[v], h + ": node " + v + " twice");
                seen[v] = true;
            }
            // ties break on the index: node 0, then 1, ... (each is an end when its turn comes)
            assertEquals(0, p.order()[0], h);
            assertEquals(n - 1, p.order()[n - 1], h);
        }
    }

    @Test
    void aTwentyThousandNodeChainIsSolvedExactly() {
        int n = 20_000;
        List<Problem.Node> nodes = new ArrayList<>();
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // strategy 1 is cheaper at odd nodes, but switching costs 5 on an edge
            nodes.add(new Problem.Node("n" + i, i % 2 == 0 ? 1.0 : 3.0, i % 2 == 0 ? 3.0 : 2.0));
            if (i > 0) {
                edges.add(Problem.Edge.of(i - 1, i, new double[][] {{0.0, 5.0}, {5.0, 0.0}}));
            }
        }
        Solution s = new DpSolver().solve(new Problem("chain", nodes, edges));
        assertEquals(Status.OPTIMAL, s.status(), s.message());
        // all 0: 10,000 x 1 + 10,000 x 3 = 40,000; all 1: 10,000 x 3 + 10,000 x 2 = 50,000; any switch costs 5
        // and saves at most 2 per node until the next switch
        assertEquals(40_000.0, s.objective(), 0.0);
        assertEquals(s.objective(), Evaluator.objective(new Problem("chain", nodes, edges), s.choices()), 0.0);
    }
}
