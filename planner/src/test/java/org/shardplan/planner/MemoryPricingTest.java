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
        MemoryPricing.envelope = true;
        MemoryPricing.shapeHint = true;
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
        MemoryPricing.envelope = false; // the shortcut alone
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

    /** Every price of the bisection solved (no shortcut, no envelope): the reference. */
    private static MemoryPricing.Result everyPrice(Problem p) {
        MemoryPricing.shortcut = false;
        MemoryPricing.envelope = false;
        try {
            return MemoryPricing.solve(p, 600);
        } finally {
            MemoryPricing.shortcut = true;
            MemoryPricing.envelope = true;
        }
    }

    @Test
    void theEnvelopeGivesTheResultOfSolvingEveryPriceWithAFewDynamicPrograms() {
        long envelopePrograms = 0;
        long everyPrograms = 0;
        long binding = 0;
        int compared = 0;
        long fallbacks0 = MemoryPricing.FALLBACKS.get();
        for (long seed = 1; seed <= 200; seed++) {
            boolean integer = seed % 3 == 0;
            Problem p = random(1000 + seed, 6 + (int) (seed % 20), 2 + (int) (seed % 6), integer);
            long t0 = MemoryPricing.PROBES.get();
            MemoryPricing.Result a = everyPrice(p);
            long t1 = MemoryPricing.PROBES.get();
            MemoryPricing.Result b = MemoryPricing.solve(p, 600);
            long t2 = MemoryPricing.PROBES.get();
            if (t1 - t0 > 1) { // the unpriced optimum does not fit: the limit binds
                binding++;
                everyPrograms += t1 - t0;
                envelopePrograms += t2 - t1;
            }
            if (sameResult(a, b, p.name())) {
                compared++;
            }
        }
        long fallbacks = MemoryPricing.FALLBACKS.get() - fallbacks0;
        assertTrue(compared > 100, "compared " + compared);
        // the envelope answered (almost) all of them itself, not the bisection it falls back to
        assertTrue(fallbacks <= binding / 10, fallbacks + " fallbacks in " + binding + " binding pricings");
        // about 50 dynamic programs a binding pricing with every price solved; a third of that here (problems of
        // every scale one after another: where the last pricing's limit lay says little about the next)
        assertTrue(envelopePrograms < 0.4 * everyPrograms, "dynamic programs with the envelope " + envelopePrograms
                + ", every price " + everyPrograms);
    }

    @Test
    void theUnpricedOptimumHandedInIsPriceZerosAnswer() {
        int compared = 0;
        for (long seed = 1; seed <= 60; seed++) {
            Problem p = random(seed, 6 + (int) (seed % 20), 2 + (int) (seed % 5), seed % 2 == 0);
            Solution free = new DpSolver().solve(p.withMemoryLimit(OptionalDouble.empty()), Solver.Options.withTimeLimit(600));
            assertEquals(Status.OPTIMAL, free.status(), p.name());
            for (boolean envelope : new boolean[] {false, true}) {
                MemoryPricing.envelope = envelope;
                long t0 = MemoryPricing.PROBES.get();
                MemoryPricing.Result a = MemoryPricing.solve(p, 600);
                long t1 = MemoryPricing.PROBES.get();
                MemoryPricing.Result b = MemoryPricing.solve(p, 600, free.choices());
                long t2 = MemoryPricing.PROBES.get();
                if (!envelope) {
                    // the same prices solved, less price 0 (the envelope's own count depends on where it starts)
                    assertEquals(t1 - t0 - 1, t2 - t1, p.name());
                }
                if (sameResult(a, b, p.name())) {
                    compared++;
                }
            }
        }
        assertTrue(compared > 60, "compared " + compared);
    }

    @Test
    void oneNodeHasTheHandComputedAnswerAndBound() {
        // strategies (cost, memory): (1, 10), (2, 6), (4, 3), (8, 1); limit 5. The cheapest that fits is (4, 3).
        // f(lambda) = min(1 + 10 lambda, 2 + 6 lambda, 4 + 3 lambda, 8 + lambda); the Lagrangian f - 5 lambda is
        // largest where the optimum's memory crosses the limit, between (2, 6) and (4, 3): lambda* = 2/3,
        // bound 2 + 6 (2/3) - 5 (2/3) = 8/3. The bisection approaches lambda* within 1e-12 relative.
        Problem p = new Problem("one", List.of(new Problem.Node("n", new double[] {1, 2, 4, 8}, List.of("a", "b", "c", "d"),
                new double[] {10, 6, 3, 1})), List.of(), OptionalDouble.of(5));
        for (boolean envelope : new boolean[] {true, false}) {
            MemoryPricing.envelope = envelope;
            MemoryPricing.Result r = MemoryPricing.solve(p, 600);
            assertArrayEquals(new int[] {2}, r.choices(), "envelope " + envelope);
            assertEquals(4, r.objective(), 0.0, "envelope " + envelope);
            assertTrue(r.lowerBound() <= 8.0 / 3 + 1e-12, "envelope " + envelope + ": bound " + r.lowerBound());
            assertEquals(8.0 / 3, r.lowerBound(), 1e-9, "envelope " + envelope);
        }
        MemoryPricing.Result every = everyPrice(p);
        MemoryPricing.envelope = true;
        sameResult(every, MemoryPricing.solve(p, 600), "one");
    }

    /** Asserts two pricing results are the same (both none, or equal choices, objective and bound); false when none. */
    /** The problem with every node's memory and the limit times {@code scale}: its crossing is 1/scale times p's. */
    private static Problem scaled(Problem p, double scale, double limitFactor) {
        List<Problem.Node> nodes = new ArrayList<>();
        for (Problem.Node nd : p.nodes()) {
            double[] m = nd.memory();
            for (int k = 0; k < m.length; k++) {
                m[k] *= scale;
            }
            nodes.add(new Problem.Node(nd.name(), nd.costs(), nd.labels(), m));
        }
        return new Problem(p.name() + " x" + scale, nodes, p.edges(),
                OptionalDouble.of(p.memoryLimit().getAsDouble() * scale * limitFactor));
    }

    /**
     * The pricings of a search come from stages of a few shapes in turn, each shape's limits crossing at a
     * price of its own: two shapes whose crossings lie 10^5 apart, a stage of each in turn (the limit a
     * little looser from stage to stage), priced with the crossing kept per shape and with the last one
     * found whatever the shape. The same results as solving every price, and fewer dynamic programs with
     * the hint per shape (with the last crossing alone, each stage of the cheap shape climbs the price
     * ladder from the other shape's crossing).
     */
    @Test
    void theCrossingKeptPerShapeChangesNoResultAndRunsFewerDynamicPrograms() {
        long[] programs = new long[2];
        int compared = 0;
        for (long seed = 1; seed <= 20; seed++) {
            Problem a = random(3000 + seed, 8 + (int) (seed % 12), 3 + (int) (seed % 4), false);
            Problem b = scaled(random(4000 + seed, 8 + (int) (seed % 12), 3 + (int) (seed % 4), false), 1e5, 1);
            List<Problem> stages = new ArrayList<>();
            for (int s = 0; s < 6; s++) {
                stages.add(scaled(a, 1, 1 + 0.01 * s));
                stages.add(scaled(b, 1, 1 + 0.01 * s));
            }
            List<MemoryPricing.Result> reference = new ArrayList<>();
            for (Problem p : stages) {
                reference.add(everyPrice(p));
            }
            for (int mode = 0; mode < 2; mode++) {
                MemoryPricing.shapeHint = mode == 1;
                MemoryPricing.forgetHints();
                for (int i = 0; i < stages.size(); i++) {
                    long t0 = MemoryPricing.PROBES.get();
                    MemoryPricing.Result r = MemoryPricing.solve(stages.get(i), 600);
                    programs[mode] += MemoryPricing.PROBES.get() - t0;
                    if (sameResult(reference.get(i), r, stages.get(i).name() + " shape hint " + (mode == 1))) {
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared > 150, "compared " + compared);
        assertTrue(programs[1] < 0.95 * programs[0], "dynamic programs with the crossing per shape " + programs[1]
                + ", with the last crossing " + programs[0]);
    }

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
