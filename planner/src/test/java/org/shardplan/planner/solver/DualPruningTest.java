package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pruning by the LP bound keeps every optimal assignment and removes what provably cannot be optimal. */
class DualPruningTest {

    private static final long BUDGET = 1L << 30;

    private static long deadline() {
        return System.nanoTime() + 60_000_000_000L;
    }

    @Test
    void oneUpdateOnATreeGivesTheExactBoundAndPrunes() {
        // a: costs (0, 100); b: costs (5, 0); table a-b = [[0, 10], [0, 0]]; optimum 5 at (0, 0).
        // One update: b_a = ((0 + min(0 + 5, 10 + 0)) / 2, (100 + min(0 + 5, 0 + 0)) / 2) = (2.5, 50),
        // b_b = ((5 + min(0, 100)) / 2, (0 + min(10, 100)) / 2) = (2.5, 5); the reparametrised table
        // has minimum 0, so LB = 2.5 + 2.5 + 0 = 5. LB(a = 1) = 5 - 2.5 + 50 + 45 = 97.5 > 5 and
        // LB(b = 1) = 5 - 2.5 + 5 + 2.5 = 10 > 5: both go.
        Problem p = new Problem("chain", List.of(new Problem.Node("a", 0, 100), new Problem.Node("b", 5, 0)),
                List.of(Problem.Edge.of(0, 1, new double[][] {{0, 10}, {0, 0}})));
        List<Factor> fs = List.of(Factor.ofMatrix(0, 1, 2, 2, new double[] {0, 10, 0, 0}));
        DualPruning.Result r = DualPruning.prune(p, fs, new double[][] {{0, 100}, {5, 0}}, BUDGET, deadline());
        assertEquals(2, r.removed());
        assertEquals(5, r.upper());
        assertEquals(5, r.lower(), 1e-12);
        assertEquals(0, r.unary()[0][0]);
        assertEquals(Double.POSITIVE_INFINITY, r.unary()[0][1]);
        assertEquals(5, r.unary()[1][0]);
        assertEquals(Double.POSITIVE_INFINITY, r.unary()[1][1]);
    }

    /**
     * On chains the LP relaxation is exact, and TRW-S passes along the chain carry each node's
     * information end to end in one pass, where MPLP updates hand on half per table: the bounds meet
     * after fewer MPLP sweeps when TRW-S iterations come first, and both ways the bound is the optimum.
     */
    @Test
    void trwsPassesAlongChainsCloseTheGapInFewerSweeps() {
        int sweepsWith = 0;
        int sweepsWithout = 0;
        for (long seed = 1; seed <= 8; seed++) {
            Random r = new Random(seed);
            int n = 40;
            List<Problem.Node> nodes = new ArrayList<>();
            int[] k = new int[n];
            for (int v = 0; v < n; v++) {
                k[v] = 4 + r.nextInt(5);
                double[] costs = new double[k[v]];
                for (int s = 0; s < k[v]; s++) {
                    costs[s] = r.nextInt(1000);
                }
                nodes.add(new Problem.Node("n" + v, costs));
            }
            List<Problem.Edge> edges = new ArrayList<>();
            for (int v = 0; v + 1 < n; v++) {
                double[][] t = new double[k[v]][k[v + 1]];
                for (double[] row : t) {
                    for (int j = 0; j < row.length; j++) {
                        row[j] = r.nextInt(1000);
                    }
                }
                edges.add(Problem.Edge.of(v, v + 1, t));
            }
            Problem p = new Problem("chain" + seed, nodes, edges);
            double opt = new DpSolver().solve(p, Solver.Options.withTimeLimit(30)).objective();
            CompiledProblem c = CompiledProblem.of(p);
            DualPruning.Result with = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline(), Double.NaN, 8);
            DualPruning.Result without = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline(), Double.NaN, 0);
            assertEquals(8, with.trwsIterations());
            assertEquals(0, without.trwsIterations());
            for (DualPruning.Result res : List.of(with, without)) {
                assertTrue(res.lower() <= opt + 1e-9 * opt, "seed " + seed + ": lower " + res.lower() + " above " + opt);
                assertEquals(opt, res.upper(), 1e-9 * opt, "seed " + seed);
            }
            assertEquals(opt, with.lower(), 1e-6 * opt, "seed " + seed + ": the bound after TRW-S is the optimum");
            sweepsWith += with.sweeps();
            sweepsWithout += without.sweeps();
        }
        assertTrue(sweepsWith < sweepsWithout, "MPLP sweeps with TRW-S first " + sweepsWith + ", without " + sweepsWithout);
    }

    @Test
    void aFrustratedCycleKeepsEveryStrategyAndTheDpStillFindsTheOptimum() {
        // three nodes, two strategies, each table costs 1 when both ends agree: every assignment of the
        // odd cycle has an agreeing pair, so the optimum is 1, while the LP relaxation reaches 0 (all
        // halves). Every strategy is in some optimal assignment, so nothing may be removed.
        double[][] agree = {{1, 0}, {0, 1}};
        Problem p = new Problem("triangle",
                List.of(new Problem.Node("a", 0, 0), new Problem.Node("b", 0, 0), new Problem.Node("c", 0, 0)),
                List.of(Problem.Edge.of(0, 1, agree), Problem.Edge.of(1, 2, agree), Problem.Edge.of(0, 2, agree)));
        CompiledProblem c = CompiledProblem.of(p);
        DualPruning.Result r = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline());
        assertEquals(0, r.removed());
        assertEquals(1, r.upper());
        assertTrue(r.lower() <= 1e-9, "the LP bound of the odd cycle is 0, found " + r.lower());
        Solution s = new DpSolver().solve(p, Solver.Options.withTimeLimit(30));
        assertEquals(Status.OPTIMAL, s.status());
        assertEquals(1, s.objective());
    }

    @Test
    void randomProblemsKeepTheBruteForceOptimumAndItsStrategies() {
        int pruned = 0;
        for (long seed = 1; seed <= 60; seed++) {
            Problem p = RandomProblems.random(seed, 7, 6, 5, seed % 4 == 0 ? 0.1 : 0.0);
            int[] best = RandomProblems.bruteForce(p);
            if (best == null) {
                continue;
            }
            double opt = Evaluator.objective(p, best);
            CompiledProblem c = CompiledProblem.of(p);
            if (c.infeasible != null) {
                continue;
            }
            // no TRW-S iterations, a few, and the default number
            int trws = new int[] {0, 4, DualPruning.TRWS_ITERATIONS}[(int) (seed % 3)];
            DualPruning.Result r = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline(), Double.NaN, trws);
            pruned += r.removed();
            if (!Double.isNaN(r.lower())) {
                assertTrue(r.lower() <= opt + 1e-9 * Math.max(1, Math.abs(opt)), "seed " + seed + ": lower " + r.lower()
                        + " above the optimum " + opt);
                assertTrue(opt <= r.upper() + 1e-9 * Math.max(1, Math.abs(opt)), "seed " + seed + ": upper " + r.upper()
                        + " below the optimum " + opt);
            }
            // an optimal assignment's strategies all have bounds at most the optimum: none is removed
            // (unless the exact reductions already kept another optimum instead)
            boolean kept = true;
            for (int v = 0; v < p.size(); v++) {
                kept &= c.unary(0)[v][best[v]] != Double.POSITIVE_INFINITY;
            }
            for (int v = 0; kept && v < p.size(); v++) {
                assertTrue(r.unary()[v][best[v]] != Double.POSITIVE_INFINITY,
                        "seed " + seed + ": strategy " + best[v] + " of node " + v + " is optimal but was removed");
            }
            Solution s = new DpSolver().solve(p, Solver.Options.withTimeLimit(30));
            assertEquals(Status.OPTIMAL, s.status(), "seed " + seed);
            assertEquals(opt, s.objective(), 1e-9 * Math.max(1, opt), "seed " + seed);
        }
        assertTrue(pruned > 0, "the LP bound removed nothing on 60 random problems");
    }

    @Test
    void aLargeProblemSweptOnThreadsKeepsTheOptimumOfThePlainElimination() throws Exception {
        // 40 nodes of 100 strategies with random costs, a chain plus every (i, i + 2) table: 77 dense
        // 100 x 100 tables, 770,000 entries per sweep, above the threshold for threads
        Random r = new Random(5);
        int n = 40;
        int k = 100;
        List<Problem.Node> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] c = new double[k];
            for (int s = 0; s < k; s++) {
                c[s] = 1000 + r.nextInt(100_000);
            }
            nodes.add(new Problem.Node("n" + i, c, List.of(), new double[k]));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 0; i + 1 < n; i++) {
            for (int step = 1; step <= 2 && i + step < n; step++) {
                // like resharding: cheap when the two strategies' layouts (s mod 10) agree, plus noise
                double[] m = new double[k * k];
                for (int a = 0; a < k; a++) {
                    for (int b = 0; b < k; b++) {
                        m[a * k + b] = (a % 10 == b % 10 ? 0 : 20_000 + 1000 * Math.abs(a % 10 - b % 10)) + r.nextInt(500);
                    }
                }
                edges.add(new Problem.Edge(i, i + step, k, k, m));
            }
        }
        Problem p = new Problem("ladder", nodes, edges);
        CompiledProblem c = CompiledProblem.of(p);
        long entries = 0;
        for (Factor f : c.factors) {
            entries += f.table.length;
        }
        assertTrue(entries >= DualPruning.PARALLEL_ENTRIES, "too small to use the threads: " + entries);
        VariableElimination.Result plain = new VariableElimination(p, c.factors, BUDGET, deadline()).run(c.unary(0));
        DualPruning.Result r1 = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline());
        DualPruning.Result r2 = DualPruning.prune(p, c.factors, c.unary(0), BUDGET, deadline());
        assertTrue(r1.removed() > 0, "nothing removed");
        assertEquals(r1.removed(), r2.removed(), "not deterministic");
        for (int v = 0; v < n; v++) {
            assertTrue(java.util.Arrays.equals(r1.unary()[v], r2.unary()[v]), "node " + v + " pruned differently");
            assertTrue(r1.unary()[v][plain.choices()[v]] != Double.POSITIVE_INFINITY,
                    "node " + v + ": the optimal strategy " + plain.choices()[v] + " was removed");
        }
        VariableElimination.Result pruned = new VariableElimination(p, c.factors, BUDGET, deadline()).run(r1.unary());
        assertEquals(plain.value(), pruned.value(), 1e-9 * plain.value());
        assertTrue(r1.lower() <= plain.value() * (1 + 1e-12) && plain.value() <= r1.upper() * (1 + 1e-12), r1.toString());
    }

    @Test
    void aMemoryLimitedProblemPrunedThroughItsRelaxationKeepsItsConstrainedOptimum() {
        // with node costs cost + lambda x memory and the cut (best feasible cost) + lambda x limit, a
        // removed strategy is in no feasible assignment cheaper than the best feasible one
        int checked = 0;
        int removed = 0;
        for (long seed = 1; seed <= 40; seed++) {
            Problem p = RandomProblems.withLimit(RandomProblems.random(seed, 7, 6, 5, 0.0), 0.3);
            int[] best = RandomProblems.bruteForce(p);
            if (best == null) {
                continue;
            }
            double opt = Evaluator.objective(p, best);
            double limit = p.memoryLimit().getAsDouble();
            CompiledProblem c = CompiledProblem.of(p);
            boolean kept = true;
            for (int v = 0; v < p.size(); v++) {
                kept &= !c.dead[v][best[v]];
            }
            if (!kept) {
                continue;
            }
            for (double lambda : new double[] {0.5, 2, 8}) {
                DualPruning.Result r = DualPruning.prune(p, c.factors, c.unary(lambda), BUDGET, deadline(),
                        opt + lambda * limit);
                removed += r.removed();
                for (int v = 0; v < p.size(); v++) {
                    assertTrue(r.unary()[v][best[v]] != Double.POSITIVE_INFINITY, "seed " + seed + " lambda " + lambda
                            + ": strategy " + best[v] + " of node " + v + " of the constrained optimum was removed");
                }
                CompiledProblem reduced = c.restrictedTo(r.unary());
                for (int v = 0; v < p.size(); v++) {
                    for (int x = 0; x < p.strategies(v); x++) {
                        assertEquals(c.dead[v][x] || r.unary()[v][x] == Double.POSITIVE_INFINITY, reduced.dead[v][x]);
                    }
                }
                checked++;
            }
        }
        assertTrue(checked >= 30, "too few feasible seeds: " + checked);
        assertTrue(removed > 0, "the relaxation removed nothing");
    }
}
