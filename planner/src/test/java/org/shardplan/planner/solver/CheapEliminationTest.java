package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The dynamic program skips the LP-bound pruning where eliminating the whole problem is estimated to
 * cost less than the pruning's first sweeps ({@link DpSolver#pruningCostsMore}). The rule may only
 * change the time: with it and without it ({@code -Dshardplan.dp.alwaysPrune=true}) every problem gets
 * the same optimum, and the brute-force optimum where the problem is small enough to enumerate.
 */
class CheapEliminationTest {

    private static final String ALWAYS = "shardplan.dp.alwaysPrune";
    private static final String SKIPPED = "less than the pruning's first sweeps";

    private static Solution solve(Problem p, boolean alwaysPrune) {
        String before = System.getProperty(ALWAYS);
        System.setProperty(ALWAYS, Boolean.toString(alwaysPrune));
        try {
            return new DpSolver().solve(p, Solver.Options.withTimeLimit(60));
        } finally {
            if (before == null) {
                System.clearProperty(ALWAYS);
            } else {
                System.setProperty(ALWAYS, before);
            }
        }
    }

    @Test
    void skippingThePruningKeepsTheOptimum() throws Exception {
        List<Problem> problems = new ArrayList<>();
        for (long seed = 1; seed <= 30; seed++) {
            // trees with a few more edges (narrow), strategy counts up to 12, some forbidden pairs
            problems.add(RandomProblems.random(seed, 6 + (int) (seed % 5), 6, (int) (seed % 3), 0.05));
            problems.add(RandomProblems.random(100 + seed, 60, 12, 4, 0.02));
        }
        int skipped = 0;
        int brute = 0;
        for (Problem p : problems) {
            Solution rule = solve(p, false);
            Solution always = solve(p, true);
            assertEquals(always.status(), rule.status(), p.name());
            assertFalse(always.message().contains(SKIPPED), p.name() + ": " + always.message());
            if (!always.hasChoices()) {
                continue; // infeasible (every strategy of a node forbidden): the same for both
            }
            assertEquals(Status.OPTIMAL, rule.status(), p.name() + ": " + rule.message());
            assertEquals(always.objective(), rule.objective(), 1e-9 * Math.max(1, Math.abs(always.objective())), p.name());
            assertEquals(Evaluator.objective(p, rule.choices()), rule.objective(), 1e-9 * Math.max(1, rule.objective()),
                    p.name());
            if (rule.message().contains(SKIPPED)) {
                skipped++;
            }
            if (p.size() <= 10) {
                assertEquals(Evaluator.objective(p, RandomProblems.bruteForce(p)), rule.objective(), 1e-9, p.name());
                brute++;
            }
        }
        // the rule fires on the narrow problems (else this test would compare the pruning with itself)
        assertTrue(skipped >= 30, "the pruning must be skipped on most of these narrow problems, skipped on " + skipped);
        assertTrue(brute >= 20, "brute-force checks " + brute);
    }

    /** DenseNet-121's chained problem on 8 devices (neighbourhoods of two): skipped, the same optimum. */
    @Test
    void denseNetGetsTheSameOptimumWithoutThePruning() throws Exception {
        Problem p = DenseGraphsTest.problem(DenseGraphsTest.densenet(), 8, true);
        Solution rule = solve(p, false);
        Solution always = solve(p, true);
        assertEquals(Status.OPTIMAL, rule.status(), rule.message());
        assertEquals(Status.OPTIMAL, always.status(), always.message());
        assertTrue(rule.message().contains(SKIPPED), rule.message());
        assertEquals(always.objective(), rule.objective(), 1e-9 * always.objective());
        assertEquals(Evaluator.objective(p, rule.choices()), rule.objective(), 1e-9 * rule.objective());
    }
}
