package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.RandomProblems;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

class MemoryPricingTest {

    @AfterEach
    void restore() {
        MemoryPricing.shortcut = true;
        MemoryPricing.compileOnce = true;
    }

    /**
     * A chain with a few extra edges: costs and memory integer (many ties between assignments, the hard
     * case for the shortcut) or not, every strategy allowed.
     */
    private static Problem random(long seed, int n, int maxK, boolean integer) {
        Random r = new Random(seed);
        int[] k = new int[n];
        List<Problem.Node> nodes = RandomProblems.nodes(r, k, maxK, integer);
        List<Problem.Edge> edges = new ArrayList<>();
        for (int i = 1; i < n; i++) {
            edges.add(edge(r, i - 1, i, k, integer));
        }
        for (int j = 0; j < n / 4; j++) {
            int a = r.nextInt(n);
            int b = r.nextInt(n);
            if (a < b) {
                edges.add(edge(r, a, b, k, integer));
            }
        }
        double lo = 0;
        double hi = 0;
        for (Problem.Node nd : nodes) {
            double mn = Double.POSITIVE_INFINITY;
            double mx = 0;
            for (int s = 0; s < nd.strategies(); s++) {
                mn = Math.min(mn, nd.memory(s));
                mx = Math.max(mx, nd.memory(s));
            }
            lo += mn;
            hi += mx;
        }
        double f = 0.1 + 0.8 * r.nextDouble();
        return new Problem("random-" + seed, nodes, edges, OptionalDouble.of(Math.floor(lo + f * (hi - lo))));
    }

    private static Problem.Edge edge(Random r, int a, int b, int[] k, boolean integer) {
        double[] c = new double[k[a] * k[b]];
        for (int x = 0; x < c.length; x++) {
            c[x] = integer ? r.nextInt(30) : r.nextDouble() * 3e-4;
        }
        return new Problem.Edge(a, b, k[a], k[b], c);
    }

    @Test
    void theShortcutChangesNoResultAndRunsFewerDynamicPrograms() {
        long with = 0;
        long without = 0;
        int compared = 0;
        for (long seed = 1; seed <= 120; seed++) {
            Problem p = random(seed, 6 + (int) (seed % 20), 2 + (int) (seed % 5), seed % 2 == 0);
            MemoryPricing.shortcut = false;
            long t0 = MemoryPricing.PROBES.get();
            MemoryPricing.Result a = MemoryPricing.solve(p, 600);
            long t1 = MemoryPricing.PROBES.get();
            MemoryPricing.shortcut = true;
            MemoryPricing.Result b = MemoryPricing.solve(p, 600);
            long t2 = MemoryPricing.PROBES.get();
            without += t1 - t0;
            with += t2 - t1;
            if (!sameResult(a, b, p.name())) {
                continue;
            }
            // what it returns fits and is priced as the evaluator prices it; the bound is below it
            Evaluator.Evaluation e = Evaluator.evaluate(p, b.choices());
            assertTrue(e.memory() <= p.memoryLimit().getAsDouble(), p.name());
            assertEquals(e.total(), b.objective(), 0.0, p.name());
            assertTrue(b.lowerBound() <= b.objective(), p.name());
            compared++;
        }
        assertTrue(compared > 60, "compared " + compared);
        // about 50 dynamic programs a binding problem without the shortcut; far fewer with it
        assertTrue(with < 0.7 * without, "dynamic programs with the shortcut " + with + ", without " + without);
    }

    @Test
    void oneCompileForEveryPriceGivesTheFreshSolvesOptimum() {
        // DpSolver.Priced against a fresh solve of each priced problem: the same optimum at every price
        // (integer costs: many assignments tie, so only the value is compared there), the choices priced so
        int prices = 0;
        for (long seed = 1; seed <= 60; seed++) {
            boolean integer = seed % 2 == 0;
            Problem p = random(seed, 6 + (int) (seed % 20), 2 + (int) (seed % 5), integer);
            DpSolver.Priced once = new DpSolver.Priced(p);
            for (double lambda : integer ? new double[] {0, 0.5, 3, 40} : new double[] {0, 1e-14, 3e-13, 1e-11, 1e-9}) {
                List<Problem.Node> nodes = new ArrayList<>();
                for (Problem.Node nd : p.nodes()) {
                    double[] c = nd.costs();
                    for (int k = 0; k < c.length; k++) {
                        c[k] += lambda * nd.memory(k);
                    }
                    nodes.add(new Problem.Node(nd.name(), c, nd.labels(), nd.memory()));
                }
                Problem q = new Problem(p.name(), nodes, p.edges(), OptionalDouble.empty());
                Solution fresh = new DpSolver().solve(q, Solver.Options.withTimeLimit(600));
                Solution shared = once.solve(lambda, 600);
                String what = p.name() + " at lambda " + lambda;
                assertEquals(Status.OPTIMAL, fresh.status(), what);
                assertEquals(Status.OPTIMAL, shared.status(), what);
                assertEquals(fresh.objective(), shared.objective(), 1e-12 * Math.abs(fresh.objective()), what);
                assertEquals(Evaluator.objective(q, shared.choices()), shared.objective(), 0.0, what);
                if (!integer) {
                    assertArrayEquals(fresh.choices(), shared.choices(), what);
                }
                prices++;
            }
        }
        assertTrue(prices >= 270, "prices " + prices);
    }

    @Test
    void oneCompileForEveryPriceChangesNoPricingResult() {
        int compared = 0;
        for (long seed = 1; seed <= 120; seed += 2) {
            // real-valued costs and memory: no two assignments tie at a price inside the bisection
            Problem p = random(seed, 6 + (int) (seed % 20), 2 + (int) (seed % 5), false);
            MemoryPricing.compileOnce = false;
            MemoryPricing.Result a = MemoryPricing.solve(p, 600);
            MemoryPricing.compileOnce = true;
            MemoryPricing.Result b = MemoryPricing.solve(p, 600);
            if (!sameResult(a, b, p.name())) {
                continue;
            }
            compared++;
        }
        assertTrue(compared > 30, "compared " + compared);
    }

    /** Asserts two pricing results are the same (both none, or equal choices, objective and bound); false when none. */
    private static boolean sameResult(MemoryPricing.Result a, MemoryPricing.Result b, String what) {
        if (a == null) {
            assertNull(b, what);
            return false;
        }
        assertArrayEquals(a.choices(), b.choices(), what);
        assertEquals(a.objective(), b.objective(), 0.0, what);
        assertEquals(a.lowerBound(), b.lowerBound(), 0.0, what);
        return true;
    }
}
