package org.shardplan.planner.parareal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/** Plans with a parareal section: what they say, and that they survive JSON. */
class PararealPlanTest {

    private static SearchOptions oneStage(SearchOptions.Parareal p) {
        return SearchOptions.AUTO.withPipeline(1).withMicroBatches(1).withParareal(p);
    }

    @Test
    void fixedSegmentsArePricedAgainstThePlanThatKeepsTheModel() throws Exception {
        Plan plan = Planner.forCluster(Fixtures.a100(4)).withBatch(64)
                .withSearch(oneStage(SearchOptions.Parareal.segments(2))).plan(Fixtures.deepMlp(6, 64, 1024));
        assertTrue(plan.changesModel());
        Plan.Parareal net = plan.parareal().orElseThrow();
        assertEquals(1, net.chains().size(), "the model has one chain");
        Plan.PararealChain p = net.first();
        assertEquals(2, p.segments());
        assertEquals("fc0", p.first());
        assertEquals("fc5", p.last());
        assertEquals(List.of("fc3"), p.cuts());
        assertEquals(6, p.chainBlocks());
        assertEquals(2, p.devicesPerSegment());
        assertEquals(2 * 1024 * 1024, p.coarseParameters());
        assertEquals(plan.totals().stepSeconds(), net.exactStepSeconds(), 0);
        assertEquals(net.exactStepSeconds() / net.stepSeconds(), net.speedup(), 1e-12);
        double slowest = Math.max(p.segmentSeconds().get(0), p.segmentSeconds().get(1));
        assertEquals(net.outsideSeconds() + p.coarseSeconds() + slowest + p.transferSeconds(), net.stepSeconds(),
                net.stepSeconds() * 1e-12);
        assertEquals("2", plan.options().requested().get("parareal"));
    }

    @Test
    void writingAndReadingGiveTheSamePlan() throws Exception {
        Plan plan = Planner.forCluster(Fixtures.a100(4)).withBatch(64)
                .withSearch(oneStage(SearchOptions.Parareal.segments(4))).plan(Fixtures.deepMlp(6, 64, 512));
        String json = PlanJson.write(plan);
        assertTrue(json.contains("\"changesModel\" : true"), json);
        Plan back = PlanJson.parse(json, "plan.json");
        assertEquals(plan, back);
        assertEquals(List.of("fc2", "fc3", "fc4"), back.parareal().orElseThrow().first().cuts(), "[a + b | b | b | b + b]");
    }

    @Test
    void aSectionWithTheWrongNumberOfCutsIsRejected() throws Exception {
        Plan plan = Planner.forCluster(Fixtures.a100(2)).withBatch(64)
                .withSearch(oneStage(SearchOptions.Parareal.segments(2))).plan(Fixtures.deepMlp(4, 64, 256));
        String json = PlanJson.write(plan).replace("\"cuts\" : [ \"fc2\" ]", "\"cuts\" : [ ]");
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(json, "p.json"));
        assertEquals("p.json: parareal.cuts must be 1 node names (one fewer than the segments), found []", e.getMessage());
        String flag = PlanJson.write(plan).replace("\"changesModel\" : true", "\"changesModel\" : false");
        PlanFormatException f = assertThrows(PlanFormatException.class, () -> PlanJson.parse(flag, "p.json"));
        assertEquals("p.json: changesModel must be true when the plan has parareal section, found false", f.getMessage());
    }

    @Test
    void autoProposesANetworkOnlyWhenItIsFaster() throws Exception {
        Plan plan = Planner.forCluster(Fixtures.a100(8)).withBatch(64)
                .withSearch(oneStage(SearchOptions.Parareal.AUTO)).plan(Fixtures.deepMlp(8, 64, 2048));
        if (plan.parareal().isPresent()) {
            assertTrue(plan.parareal().get().speedup() > 1);
        } else {
            assertTrue(plan.warnings().stream().anyMatch(w -> w.startsWith("parareal: the fastest network")), plan.warnings()
                    .toString());
        }
        Plan off = Planner.forCluster(Fixtures.a100(8)).withBatch(64)
                .withSearch(oneStage(SearchOptions.Parareal.OFF)).plan(Fixtures.deepMlp(8, 64, 2048));
        assertFalse(off.changesModel());
        assertFalse(PlanJson.write(off).contains("parareal"));
    }

    @Test
    void theOptionParses() {
        assertEquals(SearchOptions.Parareal.OFF, SearchOptions.Parareal.parse("off"));
        assertEquals(SearchOptions.Parareal.AUTO, SearchOptions.Parareal.parse("auto"));
        assertEquals(SearchOptions.Parareal.segments(4), SearchOptions.Parareal.parse("4"));
        assertEquals("--parareal must be off, auto or a number of segments >= 2, found 1",
                assertThrows(IllegalArgumentException.class, () -> SearchOptions.Parareal.parse("1")).getMessage());
        assertEquals("--parareal must be off, auto or a number of segments >= 2, found 'two'",
                assertThrows(IllegalArgumentException.class, () -> SearchOptions.Parareal.parse("two")).getMessage());
    }
}
