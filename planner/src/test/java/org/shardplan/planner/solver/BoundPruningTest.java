package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pruning by bounds removes only strategies that no optimal assignment uses; large steps run on threads. */
class BoundPruningTest {

    private static final long BUDGET = 1L << 30;

    private static long deadline() {
        return System.nanoTime() + 60_000_000_000L;
    }

    @Test
    void removesStrategiesWhoseBoundExceedsTheOptimum() {
        // a: costs (0, 100); b: costs (5, 0); edge a-b = [[0, 10], [0, 0]]
        // assignments: (0,0) = 5, (0,1) = 10, (1,0) = 105, (1,1) = 100; optimum 5
        // min-marginals (exact on a tree): a0 = 5, a1 = 100, b0 = 5, b1 = 10 -> a1 and b1 go
        Problem p = new Problem("chain", List.of(new Problem.Node("a", 0, 100), new Problem.Node("b", 5, 0)),
                List.of(Problem.Edge.of(0, 1, new double[][] {{0, 10}, {0, 0}})));
        List<Factor> fs = List.of(Factor.ofMatrix(0, 1, 2, 2, new double[] {0, 10, 0, 0}));
        double[][] unary = {{0, 100}, {5, 0}};
        BoundPruning.Result r = BoundPruning.prune(p, fs, unary, BUDGET, deadline());
        assertEquals(2, r.removed());
        assertEquals(5, r.upper());
        assertEquals(5, r.lower());
        assertEquals(0, r.unary()[0][0]);
        assertEquals(Double.POSITIVE_INFINITY, r.unary()[0][1]);
        assertEquals(5, r.unary()[1][0]);
        assertEquals(Double.POSITIVE_INFINITY, r.unary()[1][1]);
    }

    @Test
    void prunedProblemsKeepTheBruteForceOptimum() {
        for (long seed = 1; seed <= 40; seed++) {
            Problem p = RandomProblems.random(seed, 7, 6, 5, seed % 4 == 0 ? 0.1 : 0.0);
            int[] best = RandomProblems.bruteForce(p);
            if (best == null) {
                continue;
            }
            double opt = Evaluator.objective(p, best);
            CompiledProblem c = CompiledProblem.of(p);
            BoundPruning.Result r = BoundPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline());
            if (r.removed() > 0) {
                assertTrue(r.lower() <= opt + 1e-9 && opt <= r.upper() + 1e-9, "seed " + seed + ": bounds " + r);
            }
            Solution s = new DpSolver().solve(p, Solver.Options.withTimeLimit(30));
            assertEquals(Status.OPTIMAL, s.status(), "seed " + seed);
            assertEquals(opt, s.objective(), 1e-9 * Math.max(1, opt), "seed " + seed);
        }
    }

    @Test
    void largeStepsSplitOverThreadsGiveTheBruteForceOptimum() {
        // four nodes, all six edges, 32 distinct strategies each: the first elimination has three
        // neighbours and 32^3 x 32 x 3 = 3.1 million multiply-adds, above the threshold for threads
        Random r = new Random(11);
        int k = 32;
        List<Problem.Node> nodes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            double[] c = new double[k];
            for (int s = 0; s < k; s++) {
                c[s] = r.nextInt(1000);
            }
            nodes.add(new Problem.Node("n" + i, c, List.of(), new double[k]));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int a = 0; a < 4; a++) {
            for (int b = a + 1; b < 4; b++) {
                double[] m = new double[k * k];
                for (int i = 0; i < m.length; i++) {
                    m[i] = r.nextInt(1000);
                }
                edges.add(new Problem.Edge(a, b, k, k, m));
            }
        }
        Problem p = new Problem("k4", nodes, edges);
        int[] best = RandomProblems.bruteForce(p);
        Solution s = new DpSolver().solve(p, Solver.Options.withTimeLimit(60));
        assertEquals(Status.OPTIMAL, s.status(), s.message());
        assertEquals(Evaluator.objective(p, best), s.objective(), 0.0);
        assertTrue(s.message().contains("largest neighbourhood 3"), s.message());
    }
}
