package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Deadline;
import org.shardplan.graph.Graph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.parareal.Models;

/**
 * Each phase that runs around the search stops at a deadline that has already passed and names itself; the
 * planner then answers with what it has. No timing: the deadline is set in the past, so each check fires the
 * first time it runs.
 */
class TimeLimitPhasesTest {

    private static final String GPT = "gpt?layers=2,hidden=128,heads=4,seq=32,vocab=512";

    private static Deadline.Scope passed() {
        return Deadline.at(System.nanoTime() - 1);
    }

    @Test
    void theImportStops() throws Exception {
        java.nio.file.Path file = Models.file("resnet18.onnx");
        try (Deadline.Scope s = passed()) {
            Deadline.Expired e = assertThrows(Deadline.Expired.class,
                    () -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))));
            assertTrue(e.phase().startsWith("importing the model"), e.phase());
            e = assertThrows(Deadline.Expired.class,
                    () -> BuiltinModels.read(GPT, ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))));
            assertEquals("writing the built-in model", e.phase());
        }
        // and without the deadline the same import runs to its end
        assertTrue(OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))).graph().nodes().size() > 10);
    }

    @Test
    void theCoarseningStops() throws Exception {
        Graph g = BuiltinModels.read(GPT, ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))).graph();
        try (Deadline.Scope s = passed()) {
            Deadline.Expired e = assertThrows(Deadline.Expired.class, () -> Coarsening.coarsen(g));
            assertEquals("coarsening the graph", e.phase());
        }
    }

    @Test
    void theSearchsBoundsAndSchedulesStopAtItsDeadline() throws Exception {
        ModelSource src = b -> BuiltinModels.read(GPT, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, src, 64, 600);
        var cg = ps.coarse(16);
        ProblemBuilder pb = ps.builder(16, 4, false, 1);
        // with time left the bounds answer; a search whose limit has passed stops in them
        assertTrue(ps.stepLowerBound(cg, 16, pb, 2, 4) > 0);
        PipelineSearch late = new PipelineSearch(p, SearchOptions.AUTO, src, 64, 1e-9);
        var lcg = late.coarse(16);
        Deadline.Expired e = assertThrows(Deadline.Expired.class,
                () -> late.stepLowerBound(lcg, 16, late.builder(16, 4, false, 1), 2, 4));
        assertEquals("bounding a configuration", e.phase());
        e = assertThrows(Deadline.Expired.class, () -> late.memoryAwareBound(lcg, 16, late.builder(16, 4, false, 1), 2, 4));
        assertTrue(e.phase().startsWith("bounding a configuration under its memory limit"), e.phase());
        // the search itself answers (nothing priced) instead of throwing
        assertTrue(late.run().isEmpty());
        assertTrue(late.notes.stream().anyMatch(n -> n.contains("time limit")), late.notes.toString());
    }

    @Test
    void thePlannerAnswersWithTheBaselinesOnceTheDeadlineHasPassed() throws Exception {
        Graph g = BuiltinModels.read(GPT, ImportOptions.DEFAULT.withDims(Map.of("batch", 64L))).graph();
        // (a limit under 10 s: no plan on fewer devices first, as with the command line's short limits)
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(9);
        Plan plan;
        try (Deadline.Scope s = passed()) {
            // the search (limit 9 s) is stopped by the command's deadline, passed, at its first check
            plan = p.plan(g);
        }
        assertTrue(plan.solver().name().startsWith("baseline:"), plan.solver().name());
        assertEquals("FEASIBLE", plan.solver().status());
        assertTrue(plan.warnings().stream().anyMatch(w -> w.contains("the time limit stopped the search while coarsening")),
                plan.warnings().toString());
        // a small graph keeps every baseline (they take milliseconds)
        assertEquals(java.util.Set.of("dataParallel", "expert"), plan.baselines().keySet());
        // the same planner without the deadline searches and beats or equals that baseline
        Plan free = p.plan(g);
        assertTrue(free.totals().stepSeconds() <= plan.totals().stepSeconds() * (1 + 1e-9));
    }

    @Test
    void onALargeGraphNotYetCoarsenedThePlannerStopsNamingThePhase() throws Exception {
        // 170 layers: more than Planner.LATE_BASELINE_NODES nodes, whose baselines would take as long as the
        // coarsening the deadline stopped
        Graph g = BuiltinModels.read("gpt?layers=170,hidden=64,heads=2,seq=16,vocab=64",
                ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))).graph();
        assertTrue(g.nodes().size() > Planner.LATE_BASELINE_NODES, "nodes " + g.nodes().size());
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(8).withTimeLimit(9);
        try (Deadline.Scope s = passed()) {
            Deadline.Expired e = assertThrows(Deadline.Expired.class, () -> p.plan(g));
            assertEquals("the search was coarsening the graph", e.phase());
        }
    }
}
