package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.solver.Evaluator;

class TyingTest {

    @Test
    void aTiedAssignmentCostsTheSameInTheFullProblem() {
        ProblemBuilder pb = ProblemBuilderTest.builder(Fixtures.a100(16));
        ProblemBuilder.Built b = pb.build(Fixtures.deepMlp(12, 64, 1024), Map.of());
        Tying t = Tying.of(b);
        assertTrue(t.tiedNodes() >= 10, "12 repeated layers must merge into about one, merged " + t.tiedNodes());
        assertEquals(b.problem().size() - t.tiedNodes(), t.problem().size());
        Random rnd = new Random(7);
        for (int trial = 0; trial < 20; trial++) {
            int[] c = new int[t.problem().size()];
            for (int i = 0; i < c.length; i++) {
                c[i] = rnd.nextInt(t.problem().strategies(i));
            }
            Evaluator.Evaluation tied = Evaluator.evaluate(t.problem(), c);
            Evaluator.Evaluation full = Evaluator.evaluate(b.problem(), t.expand(c));
            assertEquals(full.total(), tied.total(), 1e-12 * full.total());
            assertEquals(full.memory(), tied.memory(), 1e-6 * full.memory());
        }
    }

    @Test
    void aBindingMemoryLimitIsMetByPricingMemory() throws Exception {
        // a large batch makes data parallelism fastest, with every weight copied on every device
        var g = Fixtures.deepMlp(12, 8192, 2048);
        Planner free = Planner.forCluster(Fixtures.a100(8)).withBatch(8192).withZeroStage(0).withRecompute(false);
        Plan unlimited = free.plan(g);
        double limit = unlimited.totals().peakMemoryBytesPerDevice() * 0.8;
        Planner limited = free.withMemoryLimit(limit);
        Plan p = limited.plan(g);
        assertTrue(p.totals().fits() && p.totals().peakMemoryBytesPerDevice() <= limit);
        // priced with the layers tied, unless a baseline that alternates between layers was better
        assertTrue(p.solver().name().equals("dp-priced") || p.solver().name().startsWith("baseline:"),
                p.solver().toString());
        assertTrue(p.totals().stepSeconds() >= unlimited.totals().stepSeconds(), "a limit cannot make the plan faster");
        assertTrue(p.solver().lowerBound() <= p.totals().stepSeconds());
        assertTrue(limited.evaluate(p, g).largestDifference() < 1e-9);
        for (Plan.Baseline b : p.baselines().values()) {
            assertTrue(!b.fits() || p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12), b.toString());
        }
    }
}
