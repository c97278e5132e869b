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
        assertTrue(json.contains("\"format\" : \"shardplan-plan/2\""), json);
        Plan q = PlanJson.parse(json, "plan.json");
        assertEquals(p, q);
        assertEquals(json, PlanJson.write(q));
        assertEquals(1, q.stages().size());
        assertEquals(16, q.cluster().devices());
        assertEquals("mlp.onnx", q.model().name());
    }

    /** A plan written before pipelines: one stage with a device count, the schedule as a string. */
    @Test
    void planOneFilesAreRead() throws Exception {
        Plan p = plan();
        com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode t = PlanJson.tree(p);
        t.put("format", "shardplan-plan/1");
        t.remove("parallelism");
        t.put("schedule", "none");
        com.fasterxml.jackson.databind.node.ObjectNode st = om.createObjectNode();
        st.put("index", 0);
        st.put("devices", 16);
        st.set("nodes", t.get("stages").get(0).get("nodes"));
        t.putArray("stages").add(st);
        ((com.fasterxml.jackson.databind.node.ObjectNode) t.get("options")).remove("requested");
        ((com.fasterxml.jackson.databind.node.ObjectNode) t.get("solver")).remove("boundScope");
        Plan q = PlanJson.parse(t.toString(), "old.json");
        assertEquals(p.nodes(), q.nodes());
        assertEquals(1, q.stages().size());
        assertEquals(16, q.stages().get(0).devices());
        assertEquals("none", q.schedule().name());
        assertEquals(1, q.parallelism().microBatches());
        // and it re-costs to the same step under the planner it records
        org.shardplan.planner.eval.PlanEvaluator.Result r = Planner.forPlan(q).evaluate(q, Fixtures.mlp(64, 1024));
        assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-12 * p.totals().stepSeconds());
        t.put("schedule", "1f1b");
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(t.toString(), "old.json"));
        assertEquals("old.json: schedule must be \"none\" (a shardplan-plan/1 file), found \"1f1b\"", e.getMessage());
    }

    /**
     * The devices given to a plan that leaves some idle are read from its cluster's name as the planner writes it; a
     * name edited by hand (another count, digits past an int, no such suffix) gives the plan's own devices, never an
     * error.
     */
    @Test
    void theDevicesGivenAreReadFromTheClusterName() {
        java.util.function.BiFunction<String, Integer, Plan.ClusterInfo> c = (name, n) -> new Plan.ClusterInfo(name, n, 8,
                "a100-40gb", 40e9, "{}");
        assertEquals(32, c.apply("32xa100-40gb (16 of its 32 devices)", 16).givenDevices());
        assertEquals(" (16 of the 32 devices given, the others idle)", c.apply("32xa100-40gb (16 of its 32 devices)", 16)
                .idleNote());
        assertEquals(16, c.apply("32xa100-40gb (8 of its 32 devices)", 16).givenDevices());
        assertEquals(16, c.apply("x (16 of its 99999999999999 devices)", 16).givenDevices());
        assertEquals(16, c.apply("x (99999999999999 of its 32 devices)", 16).givenDevices());
        assertEquals(16, c.apply("x (16 of its 8 devices)", 16).givenDevices());
        assertEquals(16, c.apply("16xa100-40gb", 16).givenDevices());
        assertEquals("", c.apply("16xa100-40gb", 16).idleNote());
    }

    @Test
    void aMixedClustersDevicesAreNamedByTheirTypes() {
        String mixed = "{\"format\": \"shardplan-cluster/1\", \"nodes\": [{\"device\": \"a100-80gb\", \"devices\": 8},"
                + " {\"device\": \"v100\", \"devices\": 4, \"count\": 2}]}";
        Plan.ClusterInfo c = new Plan.ClusterInfo("mixed", 16, 4, "a100-80gb", 32e9, mixed);
        assertEquals("16 devices (8 x a100-80gb, 8 x v100 in nodes of 8 and 4)", c.devicesText(true));
        java.util.List<String> types = c.deviceTypes();
        assertEquals(16, types.size());
        assertEquals(java.util.Collections.nCopies(8, "a100-80gb"), types.subList(0, 8));
        assertEquals(java.util.Collections.nCopies(8, "v100"), types.subList(8, 16));
        // one type and node size, a definition that does not parse or counts other devices: the first type for all
        Plan.ClusterInfo same = new Plan.ClusterInfo("x", 16, 8, "a100-40gb", 40e9,
                "{\"nodes\": [{\"device\": \"a100-40gb\", \"devices\": 8, \"count\": 2}]}");
        assertEquals("16 x a100-40gb (8 per node)", same.devicesText(true));
        assertEquals("16 x a100-40gb", same.devicesText(false));
        for (String other : new String[] {"{}", "not json", null, mixed.replace("\"count\": 2", "\"count\": 3")}) {
            Plan.ClusterInfo o = new Plan.ClusterInfo("x", 16, 4, "a100-80gb", 32e9, other);
            assertEquals("16 x a100-80gb (4 per node)", o.devicesText(true), other);
            assertEquals(java.util.Collections.nCopies(16, "a100-80gb"), o.deviceTypes(), other);
        }
    }

    @Test
    void errorsNameTheField() throws Exception {
        String json = PlanJson.write(plan());
        PlanFormatException e = assertThrows(PlanFormatException.class,
                () -> PlanJson.parse(json.replaceFirst("\"devices\" : 16", "\"devices\" : \"many\""), "p.json"));
        assertEquals("p.json: cluster.devices must be an integer >= 1, found \"many\"", e.getMessage());
        e = assertThrows(PlanFormatException.class,
                () -> PlanJson.parse(json.replace("shardplan-plan/2", "shardplan-plan/9"), "p.json"));
        assertEquals("p.json: format must be \"shardplan-plan/2\" (or \"shardplan-plan/1\"), found \"shardplan-plan/9\"",
                e.getMessage());
        e = assertThrows(PlanFormatException.class,
                () -> PlanJson.parse(json.replaceFirst("\"devices\" : \\[ 0, 15 \\]", "\"devices\" : [ 0, 16 ]"), "p.json"));
        assertEquals("p.json: stages[0].devices must be [first, last] device numbers with 0 <= first <= last < 16, found [0,16]",
                e.getMessage());
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(json.replace("\"totals\"", "\"totalz\""), "p.json"));
        assertEquals("p.json: totals is missing", e.getMessage());
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse("{", "p.json"));
        assertTrue(e.getMessage().startsWith("p.json: not valid JSON"), e.getMessage());
        String bad = json.replaceFirst("\"strategy\" : \\{", "\"strategy\" : {\"zz\" : -2,");
        e = assertThrows(PlanFormatException.class, () -> PlanJson.parse(bad, "p.json"));
        assertEquals("p.json: nodes[0].strategy.zz must be an integer >= 1, found -2", e.getMessage());
    }
}
