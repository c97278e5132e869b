package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.build.ProblemBuilder;

/**
 * The configurations' problems built ahead on the thread beside the search ({@link PipelineSearch#prepareAhead}): a
 * problem built there is the one the search's thread builds, and the plans do not change.
 */
class PrepareAheadTest {
    private static final ModelSource GPT = Fixtures.GPT8;
    private static final SearchOptions TWO_THREADS = SearchOptions.AUTO.withThreads(2);

    @Test
    void aConfigurationPreparedBesideIsPricedAsOneBuiltOnTheSearchsThread() throws Exception {
        // the candidates' memory made on both threads (where every node replicated fits, neither makes it)
        boolean was = PipelineSearch.fitsWhatever;
        PipelineSearch.fitsWhatever = false;
        try {
            preparedBesideAsOnTheSearchsThread();
        } finally {
            PipelineSearch.fitsWhatever = was;
        }
    }

    private static void preparedBesideAsOnTheSearchsThread() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(64);
        for (int[] c : new int[][] {{4, 4, 1}, {2, 8, 3}, {1, 2, 1}}) {
            String what = "P " + c[0] + ", m " + c[1] + ", ZeRO " + c[2];
            PipelineSearch beside = new PipelineSearch(p, TWO_THREADS, GPT, 64, 600);
            beside.useBound = false;
            beside.prepareAhead(c[0], c[1], false, c[2], true);
            long until = System.nanoTime() + 60_000_000_000L;
            while (!beside.preparedBeside() && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertTrue(beside.preparedBeside(), what + ": the preparation did not end within a minute");
            var a = beside.price(c[0], c[1], false, c[2]).orElseThrow();
            assertEquals(1, beside.preparedAhead, what + ": the preparation made beside was not taken");

            PipelineSearch here = new PipelineSearch(p, TWO_THREADS, GPT, 64, 600);
            here.useBound = false;
            here.prepareAheadOn = false;
            var b = here.price(c[0], c[1], false, c[2]).orElseThrow();
            assertEquals(0, here.preparedAhead, what);

            assertTrue(beside.hasBuilt(16 * 4 / c[1], 16 / c[0], false, c[2]), what);
            assertSameProblem(b.built(), a.built(), what);
            assertEquals(b.stepSeconds(), a.stepSeconds(), 0.0, what);
            assertArrayEquals(b.choice(), a.choice(), what);
            assertArrayEquals(b.bounds(), a.bounds(), what);
            // the memory parts made beside are the ones the search's thread makes
            double[][][] pa = beside.memoryPartsOf.get(a.builder());
            double[][][] pb = here.memoryPartsOf.get(b.builder());
            assertEquals(pb.length, pa.length, what);
            for (int i = 0; i < pb.length; i++) {
                assertEquals(java.util.Arrays.deepToString(pb[i]), java.util.Arrays.deepToString(pa[i]), what + ", node " + i);
            }
        }
    }

    @Test
    void aConfigurationWhoseBoundReachesThePlanFoundIsPreparedWithoutItsProblem() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(16)).withBatch(64);
        PipelineSearch fresh = new PipelineSearch(p, TWO_THREADS, GPT, 64, 600);
        long micro = 16;
        double bound = fresh.stepLowerBound(fresh.coarse(micro), micro, fresh.builder(micro, 4, false, 1), 4, 4);
        assertTrue(bound > 0, "bound " + bound);
        // a plan found at the bound: the configuration cannot beat it, its problem is not built beside
        PipelineSearch beside = new PipelineSearch(p, TWO_THREADS, GPT, 64, 600);
        beside.incumbent = PipelineSearch.Outcome.bounded(1, 1, false, 1, bound);
        beside.prepareAhead(4, 4, false, 1, true);
        long until = System.nanoTime() + 60_000_000_000L;
        while (!beside.preparedBeside() && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertTrue(beside.preparedBeside(), "the preparation did not end within a minute");
        var o = beside.price(4, 4, false, 1).orElseThrow();
        assertEquals(1, beside.preparedAhead);
        assertTrue(o.isBounded(), "priced although its bound reaches the plan found");
        assertTrue(!beside.hasBuilt(micro, 4, false, 1), "its problem was built");
        // the bound made beside is the one the search's thread makes
        assertEquals(bound, o.stepSeconds(), 0.0);
        assertEquals(bound, beside.stepLowerBound(beside.coarse(micro), micro, beside.builder(micro, 4, false, 1), 4, 4),
                0.0);
    }

    @Test
    void preparingAheadChangesNoPlan() throws Exception {
        int taken = 0;
        List<String> seen = new ArrayList<>();
        for (Planner p : Fixtures.limitedPlanners(GPT)) {
            if (p.cluster().deviceCount() == 8) {
                continue; // the 4- and 16-device clusters cover both kinds of submesh
            }
            String what = p.cluster().deviceCount() + " devices, limit " + p.memoryLimit();
            Fixtures.OnOff r = Fixtures.samePlanWithout(p, TWO_THREADS, GPT, s -> s.prepareAheadOn = false, what);
            assertEquals(0, r.off().preparedAhead, what);
            assertEquals(r.off().configurations, r.on().configurations, what);
            seen.add(what + ": " + r.on().preparedAhead);
            taken += r.on().preparedAhead;
        }
        assertTrue(taken > 0, "no preparation made beside was taken: " + seen);
    }

    /** The same units, layouts, costs and link tables, value for value. */
    private static void assertSameProblem(ProblemBuilder.Built expected, ProblemBuilder.Built actual, String what) {
        assertEquals(expected.units().size(), actual.units().size(), what);
        for (int i = 0; i < expected.units().size(); i++) {
            ProblemBuilder.Unit e = expected.units().get(i);
            ProblemBuilder.Unit a = actual.units().get(i);
            assertEquals(e.layouts(), a.layouts(), what + ", unit " + i);
            assertEquals(e.costs(), a.costs(), what + ", unit " + i);
        }
        assertEquals(expected.links().size(), actual.links().size(), what);
        for (int i = 0; i < expected.links().size(); i++) {
            ProblemBuilder.Link e = expected.links().get(i);
            ProblemBuilder.Link a = actual.links().get(i);
            assertEquals(e.from() + ">" + e.to() + " " + e.value(), a.from() + ">" + a.to() + " " + a.value(), what);
            assertArrayEquals(e.seconds(), a.seconds(), what + ", link " + i);
            assertArrayEquals(e.bytes(), a.bytes(), what + ", link " + i);
        }
    }
}
