package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Node;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.strategy.Layout;
import org.junit.jupiter.api.Test;

/** A SwiGLU MLP node costs both its projections and its gating, not its gate's product alone. */
class SwiGluCostTest {

    @Test
    void theUpProjectionAndTheGatingArePricedAndKept() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(BuiltinModels.read("llama?layers=1,hidden=256,heads=4,kv-heads=2,ffn=512,"
                + "vocab=1000,seq=128", ImportOptions.DEFAULT.withDims(Map.of("batch", 2L))).graph());
        for (String device : new String[] {"a100-80gb", "h200"}) {
            Cluster c = Cluster.homogeneous(DeviceProfiles.get(device), 1);
            ComputeModel cm = ComputeModel.analytic(c.device(0));
            ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                    OptionalDouble.empty()), cg.nodes().size());
            pb.prepare(cg);
            CoarseNode swiGlu = null;
            for (CoarseNode n : cg.nodes()) {
                if (n.pattern().filter(Coarsening.SWIGLU::equals).isPresent()) {
                    swiGlu = n;
                }
            }
            assertNotNull(swiGlu, "the built-in Llama's MLP is recognised as SwiGLU");
            Node up = null;
            for (Node m : swiGlu.members()) {
                if (m != swiGlu.anchor() && m.opType().equals("MatMul")) {
                    up = m;
                }
            }
            assertNotNull(up);
            ProblemBuilder.Cost cost = pb.nodeCost(swiGlu, Optional.empty(), Layout.replicated());
            double gate = cm.cost(swiGlu.anchor()).trainingSeconds();
            double upSeconds = cm.cost(up).trainingSeconds();
            assertEquals(gate, upSeconds, 1e-15, "the twin projections cost the same");
            // both products, and the gating (one fused element-wise kernel each way: a few microseconds here)
            assertTrue(cost.computeSeconds() > gate + upSeconds, device + ": " + cost.computeSeconds() + " vs " + gate);
            assertTrue(cost.computeSeconds() < gate + upSeconds + 50e-6, device + ": " + cost.computeSeconds());
            assertTrue(cost.forwardSeconds() > cm.cost(swiGlu.anchor()).forwardSeconds() + cm.cost(up).forwardSeconds());
            // kept for the backward pass: the input [2, 128, 256] once (both products read it) and the gate's and
            // the up projection's outputs [2, 128, 512], bfloat16
            assertEquals(2 * 128 * 256 * 2 + 2 * (2 * 128 * 512 * 2), cost.activationBytes(), 1e-9, device);
            assertEquals(cost.activationBytes(), pb.memoryOf(swiGlu, Optional.empty(), Layout.replicated())[1], 1e-9);
        }
        // split over 8 devices, at sizes where the products outweigh the launches: every candidate layout costs at
        // least its share of both products (the up projection split as the gate is), and its memory-only pricing
        // keeps what the full pricing keeps
        CoarseGraph big = Coarsening.coarsen(BuiltinModels.read("llama?layers=1,hidden=1024,heads=8,kv-heads=2,"
                + "ffn=4096,vocab=1000,seq=512", ImportOptions.DEFAULT.withDims(Map.of("batch", 8L))).graph());
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), 8);
        ComputeModel cm = ComputeModel.analytic(c.device(0));
        ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), big.nodes().size());
        pb.prepare(big);
        java.util.List<Optional<org.shardplan.graph.space.IterationSpace>> spaces =
                org.shardplan.graph.passes.CoarseSpaces.of(big);
        int checked = 0;
        for (CoarseNode n : big.nodes()) {
            if (!n.pattern().filter(Coarsening.SWIGLU::equals).isPresent()) {
                continue;
            }
            Optional<org.shardplan.graph.space.IterationSpace> sp = spaces.get(n.index());
            double gate = cm.cost(n.anchor()).trainingSeconds();
            for (Layout l : org.shardplan.planner.strategy.StrategySpace.layouts(sp.orElseThrow(), pb.digits(), 64,
                    java.util.List.of())) {
                ProblemBuilder.Cost cost = pb.nodeCost(n, sp, l);
                double share = sp.get().computeFraction(l.strategy());
                assertTrue(cost.computeSeconds() >= 2 * gate * share * 0.95, l.label() + ": " + cost.computeSeconds()
                        + " against twice " + gate * share);
                assertEquals(cost.activationBytes(), pb.memoryOf(n, sp, l)[1], 1e-9, l.label());
                checked++;
            }
        }
        assertTrue(checked > 8, "layouts checked: " + checked);
    }
}
