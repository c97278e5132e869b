package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.planner.eval.PlanEvaluator;

class PlannerTest {

    @Test
    void oneDeviceIsTheSingleDevicePlan() throws Exception {
        Graph g = Fixtures.mlp(64, 1024);
        Plan p = Planner.forCluster(Fixtures.a100(1)).withBatch(64).plan(g);
        assertEquals(2, p.nodes().size(), "fc1 with relu fused, fc2");
        double compute = 0;
        for (PlanNode n : p.nodes()) {
            assertTrue(n.strategy().isEmpty(), n.name() + " must be unsplit on one device, found " + n.strategyText());
            assertEquals(0.0, n.communicationSeconds());
            compute += n.computeSeconds();
        }
        // the step ends with the optimizer step: Adam in mixed precision moves 52 bytes per parameter (16 kept) at
        // the A100-40GB's 1,555 GB/s times its kernel model's streaming efficiency
        Plan.Stage st = p.stages().get(0);
        double rate = 1555e9 * DeviceProfiles.get("a100-40gb").kernels().orElseThrow().memoryEfficiency();
        assertEquals(st.staticBytes() / 16 * 52 / rate, st.updateSeconds(), 1e-12 * st.updateSeconds());
        assertEquals(compute + st.updateSeconds(), p.totals().stepSeconds(), 1e-15);
        assertEquals(p.baselines().get("dataParallel").stepSeconds(), p.totals().stepSeconds(), 1e-15);
        assertEquals("OPTIMAL", p.solver().status());
    }

    @Test
    void planIsNeverWorseThanTheBaselinesAndPassesTheEvaluator() throws Exception {
        Graph g = Fixtures.mlp(64, 4096);
        for (int devices : new int[] {8, 64}) {
            Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
            Plan p = planner.plan(g);
            assertEquals(2, p.baselines().size(), "data parallel and megatron");
            assertTrue(p.baselines().get("expert").name().startsWith("megatron (tensor parallel "),
                    p.baselines().get("expert").name());
            for (Plan.Baseline b : p.baselines().values()) {
                assertTrue(!b.fits() || p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12),
                        devices + " devices: plan " + p.totals().stepSeconds() + " must not be slower than " + b);
            }
            PlanEvaluator.Result r = planner.evaluate(p, g);
            assertTrue(r.valid(), r.violations().toString());
            assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-12 * p.totals().stepSeconds());
            assertEquals(p.totals().peakMemoryBytesPerDevice(), r.plan().totals().peakMemoryBytesPerDevice(), 1e-6);
            assertTrue(r.largestDifference() < 1e-9, "largest difference " + r.largestDifference());
            assertEquals(p.solver().objective(), p.totals().stepSeconds(), 1e-12 * p.totals().stepSeconds());
        }
    }

    /**
     * More devices never make a slower plan: a small MLP (batch 8, width 256), where communication soon
     * outweighs what more devices save, planned with one stage on 1 to 64 devices. Each plan on P devices
     * is searched with the plan on P / 2, copied over the other devices, among its candidates, so the
     * steps never grow; each plan, the copied ones too, is priced the same by the evaluator, which builds
     * every layout again from the plan file's factors and placement.
     */
    @Test
    void stepNeverGrowsWithTheDevicesAndEachPlanPassesTheEvaluator() throws Exception {
        Graph g = Fixtures.mlp(8, 256);
        double previous = Double.POSITIVE_INFINITY;
        for (int devices : new int[] {1, 2, 4, 8, 16, 32, 64}) {
            Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(8);
            Plan p = planner.plan(g);
            double step = p.totals().stepSeconds();
            assertTrue(step <= previous * (1 + 1e-12), devices + " devices: step " + step + " must be at most " + previous);
            PlanEvaluator.Result r = planner.evaluate(p, g);
            assertTrue(r.valid(), r.violations().toString());
            assertEquals(step, r.plan().totals().stepSeconds(), 1e-12 * step, devices + " devices");
            assertEquals("OPTIMAL", p.solver().status(), devices + " devices");
            previous = step;
        }
    }

    @Test
    void anImpossibleMemoryLimitSaysWhatWouldFit() {
        Graph g = Fixtures.mlp(64, 4096);
        // weights 2 x 4096 x 16384 = 134M parameters, 16 bytes each with Adam: 2 GiB unsplit
        PlanInfeasibleException e = assertThrows(PlanInfeasibleException.class,
                () -> Planner.forCluster(Fixtures.a100(8)).withBatch(64).withMemoryLimit(200e6).plan(g));
        assertEquals(3, e.exitCode());
        assertTrue(e.getMessage().startsWith("no plan fits 190.7 MiB per device"), e.getMessage());
        assertTrue(e.getMessage().contains("over)"), e.getMessage());
        assertTrue(e.getMessage().contains("would fit: "), e.getMessage());
        // both weights split 8 ways still need 2 x 64 MiB: more devices would fit, ZeRO adds nothing
        assertTrue(e.getMessage().contains("would fit: 16 devices"), e.getMessage());
    }

    @Test
    void theExpertPlanOfATransformerMlpIsColumnThenRowParallel() throws Exception {
        Graph g = Fixtures.mlp(64, 4096);
        Plan p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).plan(g);
        // the plan is a point of the space: re-evaluating the expert's layouts gives its step time
        Plan.Baseline ex = p.baselines().get("expert");
        assertTrue(ex.stepSeconds() > 0 && ex.fits());
    }

    @Test
    void anUnsupportedOperatorRunsReplicatedWithAWarningNamingIt() throws Exception {
        org.shardplan.graph.Value x = Fixtures.input("x", 64, 1024);
        org.shardplan.graph.Value w = Fixtures.param("w", 1024, 1024);
        org.shardplan.graph.Value h = Fixtures.act("h", 64, 1024);
        org.shardplan.graph.Value y = Fixtures.act("y", 64, 1024);
        Graph g = Graph.builder("custom").addInput(x).addParameter(w)
                .addNode(Fixtures.node("fc", "MatMul", java.util.List.of(x, w), java.util.List.of(h)))
                .addNode(new org.shardplan.graph.Node("mine", "MyOp", "com.example", java.util.List.of(h),
                        java.util.List.of(y), java.util.List.of()))
                .addOutput(y).build();
        Plan p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).plan(g);
        PlanNode mine = p.node("mine").orElseThrow();
        assertTrue(mine.strategy().isEmpty() && !mine.supported(), mine.toString());
        assertEquals(java.util.List.of("operators without an iteration space, planned as replicated: MyOp (1 node)"),
                p.warnings());
        assertTrue(Planner.forCluster(Fixtures.a100(8)).withBatch(64).evaluate(p, g).largestDifference() < 1e-9);
    }
}
