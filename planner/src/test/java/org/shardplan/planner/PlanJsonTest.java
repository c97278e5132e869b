package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PlanJsonTest {

    static Plan plan() throws Exception {
        return Planner.forCluster(Fixtures.a100(16)).withBatch(64).withModel("mlp.onnx", "ab12").plan(Fixtures.mlp(64, 1024));
    }

    @Test
    void writingThenReadingGivesAnEqualPlan() throws Exception {
        Plan p = plan();
        String json = PlanJson.write(p);
        assertTrue(json.contains("\"format\" : \"shardplan-plan/1\""), json);
        Plan q = PlanJson.parse(json, "plan.json");
        assertEquals(p, q);
        assertEquals(json, PlanJson.write(q));
        assertEquals(1, q.stages().size());
        assertEquals(16, q.cluster().devices());
        assertEquals("mlp.onnx", q.model().name());
    }

    @Test
    void errorsNameTheField() throws Exception {
        String json = PlanJson.write(plan());
        PlanFormatException e = assertThrows(PlanFormatException.class,
                () -> PlanJson.parse(json.replaceFirst("\"devices\" : 16", "\"devices\" : \"many\""), "p.json"));
        assertEquals("p.json: cluster.devices must be an integer >= 1, found \"many\"", e.getMessage());
        e = assertThrows(PlanFormatException.class,
                () -> PlanJson.parse(json.replace("shardplan-plan/1", "shardplan-plan/9"), "p.json"));
        assertEquals("p.json: format must be \"shardplan-plan/1\", found \"shardplan-plan/9\"", e.getMessage());
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(json.replace("\"totals\"", "\"totalz\""), "p.json"));
        assertEquals("p.json: totals is missing", e.getMessage());
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse("{", "p.json"));
        assertTrue(e.getMessage().startsWith("p.json: not valid JSON"), e.getMessage());
        String bad = json.replaceFirst("\"strategy\" : \\{", "\"strategy\" : {\"zz\" : -2,");
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(bad, "p.json"));
        assertEquals("p.json: nodes[0].strategy.zz must be an integer >= 1, found -2", e.getMessage());
    }
}
