package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Graph;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.strategy.Layout;

/**
 * The time limit reaches the building of the strategy problems (a search that runs out while building
 * answers with a baseline and says so; no wall clock is asserted: the limit is one a build cannot meet),
 * and the parallelism of a plan copied from fewer devices counts the copies instead of calling them
 * tensor parallelism.
 */
class TimeLimitAndCopiesTest {

    private static ProblemBuilder builder(int devices) {
        Cluster c = Fixtures.a100(devices);
        return new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)), MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), 8);
    }

    /**
     * A deadline already passed stops {@link ProblemBuilder#build} before it prices anything; the
     * problem of the required layouts alone prices them (and every edge between them) exactly as the
     * whole problem does.
     */
    @Test
    void buildingStopsAtItsDeadlineAndTheRequiredLayoutsCostTheSameAlone() {
        Graph g = Fixtures.deepMlp(4, 64, 1024);
        CoarseGraph cg = Coarsening.coarsen(g);
        ProblemBuilder late = builder(8);
        late.stopAt(System.nanoTime() - 1);
        Map<String, List<Layout>> req = Baselines.familyLayouts(cg, 64, late.digits());
        assertThrows(ProblemBuilder.OutOfTime.class, () -> late.build(cg, req));
        assertThrows(ProblemBuilder.OutOfTime.class, () -> late.memoryParts(cg, req));
        ProblemBuilder.Built only = late.buildRequiredOnly(cg, req); // no deadline for the baselines' problem
        ProblemBuilder.Built all = builder(8).build(cg, req);
        int compared = 0;
        for (ProblemBuilder.Unit u : only.units()) {
            ProblemBuilder.Unit w = all.units().get(u.index());
            // replicated, then each required layout once
            java.util.Set<String> want = new java.util.LinkedHashSet<>();
            want.add(Layout.replicated().key());
            if (u.space().isPresent()) {
                req.getOrDefault(u.name(), List.of()).forEach(l -> want.add(l.key()));
            }
            // (the layouts required of any instance of the node's repeated block, as the full build has them)
            List<String> keys = u.layouts().stream().map(Layout::key).toList();
            assertEquals(Layout.replicated().key(), keys.get(0), u.name());
            assertTrue(keys.containsAll(want) && keys.size() == new java.util.HashSet<>(keys).size(), u.name() + ": " + keys);
            assertTrue(u.layouts().size() < w.layouts().size() || w.layouts().size() == 1, u.name());
            for (int k = 0; k < u.layouts().size(); k++) {
                int j = w.indexOf(u.layouts().get(k));
                assertTrue(j >= 0, u.name() + ": " + u.layouts().get(k).label() + " must be a candidate of the whole problem");
                assertEquals(w.costs().get(j), u.costs().get(k), u.name());
                compared++;
            }
        }
        for (int e = 0; e < only.links().size(); e++) {
            ProblemBuilder.Link a = only.links().get(e);
            ProblemBuilder.Link b = all.links().get(e);
            ProblemBuilder.Unit from = only.units().get(a.from());
            ProblemBuilder.Unit to = only.units().get(a.to());
            for (int r = 0; r < from.layouts().size(); r++) {
                for (int c = 0; c < to.layouts().size(); c++) {
                    int wr = all.units().get(a.from()).indexOf(from.layouts().get(r));
                    int wc = all.units().get(a.to()).indexOf(to.layouts().get(c));
                    int cols = all.units().get(a.to()).layouts().size();
                    assertEquals(b.seconds()[wr * cols + wc], a.seconds()[r * to.layouts().size() + c], 0.0, a.value());
                    compared++;
                }
            }
        }
        assertTrue(compared > 40, "compared " + compared);
    }

    /**
     * A time limit no build can meet: the plan is the fastest fitting baseline, FEASIBLE, with a warning
     * that the limit stopped the search; its step is the baseline's as the full search prices it, and the
     * evaluator prices it the same.
     */
    @Test
    void aSearchStoppedWhileBuildingAnswersWithTheBestBaseline() throws Exception {
        Graph g = Fixtures.deepMlp(4, 64, 1024);
        Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withZeroStage(1).withRecompute(false);
        Plan full = planner.plan(g);
        Plan quick = planner.withTimeLimit(1e-9).plan(g);
        assertEquals("FEASIBLE", quick.solver().status(), quick.solver().toString());
        assertTrue(quick.solver().name().startsWith("baseline:"), quick.solver().name());
        assertTrue(quick.warnings().stream().anyMatch(w -> w.startsWith("the time limit stopped the search while it built")),
                quick.warnings().toString());
        assertEquals(full.baselines().keySet(), quick.baselines().keySet());
        double fastest = Double.POSITIVE_INFINITY;
        for (Map.Entry<String, Plan.Baseline> e : quick.baselines().entrySet()) {
            double step = e.getValue().stepSeconds();
            assertEquals(full.baselines().get(e.getKey()).stepSeconds(), step, 1e-12 * step, e.getKey());
            if (e.getValue().fits()) {
                fastest = Math.min(fastest, step);
            }
        }
        assertEquals(fastest, quick.totals().stepSeconds(), 1e-12 * fastest);
        assertTrue(full.totals().stepSeconds() <= fastest * (1 + 1e-12), "the full search is never slower than a baseline");
        assertEquals(quick.totals().stepSeconds(), planner.evaluate(quick, g).plan().totals().stepSeconds(),
                1e-9 * fastest);
    }

    /**
     * A small MLP (batch 4, width 64) on 2 to 64 devices, where from some count on no plan that uses all
     * the devices beats the plan on half of them, copied over the other half. The parallelism of such a
     * plan is its layouts' split (data x tensor = the devices its heaviest node splits over, read here
     * from the plan's nodes) times the copies: the split of the plan it copies, and twice that plan's
     * copies; not a tensor-parallel degree of devices / data. The copies survive the plan file.
     */
    @Test
    void aCopiedPlanCountsItsCopies() throws Exception {
        Graph g = Fixtures.mlp(4, 64);
        int copied = 0;
        Plan.Parallelism before = null;
        for (int devices : new int[] {2, 4, 8, 16, 32, 64}) {
            Plan p = Planner.forCluster(Fixtures.a100(devices)).withBatch(4).plan(g);
            Plan.Parallelism par = p.parallelism();
            assertEquals(devices, par.data() * par.tensor() * par.pipeline() * par.copies(), par.toString());
            int split = 0;
            double heaviest = -1;
            for (PlanNode n : p.nodes()) {
                if (n.computeSeconds() > heaviest) {
                    heaviest = n.computeSeconds();
                    split = n.strategy().values().stream().reduce(1, (a, b) -> a * b);
                }
            }
            assertEquals(split, par.data() * par.tensor(), devices + " devices: " + par);
            if (p.warnings().stream().anyMatch(w -> w.startsWith("no plan found that uses all " + devices + " devices"))) {
                copied++;
                assertEquals(before.data() * before.tensor(), par.data() * par.tensor(), devices + " devices: " + par);
                assertEquals(2 * before.copies(), par.copies(), devices + " devices: " + par + " after " + before);
                assertEquals(par, PlanJson.parse(PlanJson.write(p), "plan.json").parallelism());
            } else {
                assertEquals(1, par.copies(), devices + " devices: " + par);
            }
            before = par;
        }
        assertTrue(copied >= 2, "the larger device counts must give copied plans, found " + copied);
    }
}
