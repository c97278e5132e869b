package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.strategy.Layout;
import org.junit.jupiter.api.Test;

class AttentionChainsTest {

    private static CoarseGraph decoder(String spec) throws Exception {
        return Coarsening.coarsen(BuiltinModels.read(spec, ImportOptions.DEFAULT.withDims(Map.of("batch", 2L))).graph());
    }

    @Test
    void everyLayerOfTheBuiltInDecodersHasOneChainFoundByStructure() throws Exception {
        for (String spec : List.of("gpt?layers=3,hidden=256,heads=4,seq=128", "llama?layers=2,hidden=256,heads=4,kv-heads=2,"
                + "ffn=512,vocab=1000,seq=128")) {
            Map<CoarseNode, AttentionChains.Role> roles = AttentionChains.of(decoder(spec));
            int layers = spec.startsWith("gpt") ? 3 : 2;
            assertEquals(3 * layers, roles.size(), spec);
            for (Map.Entry<CoarseNode, AttentionChains.Role> e : roles.entrySet()) {
                String op = e.getKey().anchor().opType();
                assertEquals(e.getValue() == AttentionChains.Role.SOFTMAX ? "Softmax" : "MatMul", op);
            }
        }
    }

    @Test
    void fusedAttentionStoresNoScoresAndPricesTheSoftmaxInsideTheKernel() throws Exception {
        CoarseGraph cg = decoder("gpt?layers=1,hidden=256,heads=4,seq=128");
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), 1);
        ComputeModel cm = ComputeModel.analytic(c.device(0));
        ProblemBuilder fused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), cg.nodes().size());
        ProblemBuilder unfused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm.withAttention(false),
                MemoryModel.DEFAULT, 0, OptionalDouble.empty()), cg.nodes().size());
        fused.prepare(cg);
        unfused.prepare(cg);
        CoarseNode softmax = null;
        CoarseNode scores = null;
        for (CoarseNode n : cg.nodes()) {
            if (fused.roleOf(n) == AttentionChains.Role.SOFTMAX) {
                softmax = n;
            }
            if (fused.roleOf(n) == AttentionChains.Role.SCORES) {
                scores = n;
            }
            assertNull(unfused.roleOf(n));
        }
        ProblemBuilder.Cost s = fused.nodeCost(softmax, Optional.empty(), Layout.replicated());
        assertEquals(0, s.computeSeconds());
        assertEquals(0, s.activationBytes());
        assertTrue(unfused.nodeCost(softmax, Optional.empty(), Layout.replicated()).computeSeconds() > 0);
        // the scores' product keeps Q and K (2 x [2, 4, 128, 64] float16 = 2 x 131,072 bytes), not the scores
        ProblemBuilder.Cost q = fused.nodeCost(scores, Optional.empty(), Layout.replicated());
        assertEquals(2 * 2 * 4 * 128 * 64 * 2, q.activationBytes(), 1e-9);
        // forward: 2 * 2*4*128*128*64 FLOPs at 70% of 312 TFLOP/s plus 4 us; backward 2.5 times the FLOPs at 55%
        double f = 2.0 * 2 * 4 * 128 * 128 * 64;
        assertEquals(4e-6 + f / (312e12 * 0.70), q.forwardSeconds(), 1e-15);
        assertEquals(4e-6 + f / (312e12 * 0.70) + 4e-6 + 2.5 * f / (312e12 * 0.55), q.computeSeconds(), 1e-15);
    }

    @Test
    void unfusedAttentionScalesAndMasksInsideTheSoftmaxKernel() throws Exception {
        // Megatron-LM's FusedScaleMaskSoftmax: the scale and mask fused after QKᵀ cost no kernel of their own
        CoarseGraph cg = decoder("gpt?layers=1,hidden=256,heads=4,seq=128");
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), 1);
        ComputeModel cm = ComputeModel.analytic(c.device(0)).withAttention(false);
        ProblemBuilder unfused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), cg.nodes().size());
        unfused.prepare(cg);
        CoarseNode scores = null;
        for (CoarseNode n : AttentionChains.of(cg).keySet()) {
            if (AttentionChains.of(cg).get(n) == AttentionChains.Role.SCORES) {
                scores = n;
            }
        }
        assertEquals(List.of("MatMul", "Div", "Add"), scores.memberOps());
        // the node costs what its product alone costs: forward and backward of QKᵀ
        ProblemBuilder.Cost q = unfused.nodeCost(scores, Optional.empty(), Layout.replicated());
        ComputeModel.NodeCost product = cm.cost(scores.anchor());
        assertEquals(product.trainingSeconds(), q.computeSeconds(), 1e-15);
        assertEquals(product.forwardSeconds(), q.forwardSeconds(), 1e-15);
    }
}
