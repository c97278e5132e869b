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
        // forward: 2 * 2*4*128*128*64 FLOPs at 70% of 312 TFLOP/s plus 4 us; backward 2.5 times the FLOPs at 55%;
        // the decoder's mask is causal: the kernel computes the 128*129/2 scores on and below the diagonal
        double f = 2.0 * 2 * 4 * 128 * 128 * 64 * (129.0 / 256);
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

    @Test
    void builtInDecodersAreCausalByTheirFoldedMaskAndByItsStructure() throws Exception {
        // at seq 128 the import folds the [128, 128] mask (16,384 elements) to known values; at 2048 it cannot
        // (4M elements over Fold's 65,536), and the Where(Greater(cols, rows)) of one Range proves it
        for (String spec : List.of("gpt?layers=2,hidden=256,heads=4,seq=128", "gpt?layers=2,hidden=256,heads=4,seq=2048",
                "llama?layers=3,hidden=256,heads=4,kv-heads=2,ffn=512,vocab=1000,seq=4096")) {
            CoarseGraph cg = decoder(spec);
            java.util.Set<CoarseNode> causal = AttentionChains.causal(cg);
            int layers = spec.startsWith("gpt") ? 2 : 3;
            assertEquals(2 * layers, causal.size(), spec);
            for (CoarseNode n : causal) {
                assertTrue(AttentionChains.of(cg).get(n) != AttentionChains.Role.SOFTMAX, spec);
            }
            boolean folded = false;
            for (CoarseNode n : causal) {
                for (org.shardplan.graph.Node m : n.members()) {
                    if (m.opType().equals("Add")) {
                        folded |= m.input(1).constant().map(org.shardplan.graph.Tensor::hasValues).orElse(false);
                    }
                }
            }
            assertEquals(spec.endsWith("seq=128"), folded, spec);
        }
    }

    @Test
    void onlyMasksProvenLowerTriangularAreCausal() {
        org.shardplan.graph.Graph g = org.shardplan.graph.Graph.builder("empty").build();
        double lowest = -3.0e38;
        double[] causal = new double[16];
        double[] window = new double[16];
        double[] leaky = new double[16];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                causal[4 * i + j] = j > i ? lowest : 0;
                window[4 * i + j] = j > i || i - j > 1 ? lowest : 0;
                leaky[4 * i + j] = j > i + 1 ? lowest : 0;
            }
        }
        assertTrue(CausalMasks.additive(g, mask(causal, 1, 4, 4)));
        assertTrue(CausalMasks.additive(g, mask(concat(causal, causal), 2, 4, 4)));
        // a sliding window masks below the diagonal too: not the causal triangle (a kernel skips other blocks)
        assertTrue(!CausalMasks.additive(g, mask(window, 1, 4, 4)));
        // one unmasked element above the diagonal: not causal
        assertTrue(!CausalMasks.additive(g, mask(leaky, 1, 4, 4)));
        // a mask of -1 above the diagonal is not very negative: the softmax still reads those scores
        double[] mild = causal.clone();
        for (int k = 0; k < 16; k++) {
            mild[k] = mild[k] < 0 ? -1 : 0;
        }
        assertTrue(!CausalMasks.additive(g, mask(mild, 1, 4, 4)));
        // booleans: true exactly above the diagonal (the masked part), or on and below it (the kept part)
        double[] upper = new double[16];
        double[] lower = new double[16];
        for (int k = 0; k < 16; k++) {
            upper[k] = k % 4 > k / 4 ? 1 : 0;
            lower[k] = 1 - upper[k];
        }
        assertEquals(CausalMasks.Tri.UPPER, CausalMasks.tri(g, bool(upper)));
        assertEquals(CausalMasks.Tri.LOWER, CausalMasks.tri(g, bool(lower)));
        upper[1] = 0;
        assertNull(CausalMasks.tri(g, bool(upper)));
    }

    private static double[] concat(double[] a, double[] b) {
        double[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static org.shardplan.graph.Value mask(double[] v, long lead, long s, long t) {
        org.shardplan.graph.Tensor x = org.shardplan.graph.Tensor.ofDoubles(org.shardplan.graph.DType.FLOAT32,
                new long[] {lead, s, t}, v);
        return new org.shardplan.graph.Value("mask", x.type(), org.shardplan.graph.Value.Kind.CONSTANT, Optional.of(x),
                Optional.empty());
    }

    private static org.shardplan.graph.Value bool(double[] v) {
        long[] l = new long[v.length];
        for (int k = 0; k < v.length; k++) {
            l[k] = (long) v[k];
        }
        org.shardplan.graph.Tensor x = org.shardplan.graph.Tensor.ofLongs(org.shardplan.graph.DType.BOOL, new long[] {4, 4}, l);
        return new org.shardplan.graph.Value("cond", x.type(), org.shardplan.graph.Value.Kind.CONSTANT, Optional.of(x),
                Optional.empty());
    }

    @Test
    void realExportsDetectedOnlyWhereTheMaskIsProven() throws Exception {
        // Llama-style export: triu(full(-inf), 1) as Trilu(ConstantOfShape): causal, bound or not;
        // GPT-2-style export: its mask is a float parameter buffer whose values the import does not keep: not proven;
        // torch.nn.Transformer exported without a target mask, and the MiniLM encoder (padding mask): not causal
        for (Object[] m : new Object[][] {{"llama_gqa.onnx", 4, 4}, {"gpt2_style.onnx", 3, 0},
                {"transformer_seq2seq.onnx", 6, 0}, {"all-minilm-l6-v2.onnx", 6, 0}}) {
            for (Map<String, Long> dims : List.<Map<String, Long>>of(Map.of(), Map.of("batch", 2L, "seq", 64L))) {
                java.nio.file.Path file = java.nio.file.Path.of(System.getProperty("shardplan.root", ".."))
                        .resolve("build-data/models").resolve((String) m[0]);
                if (!java.nio.file.Files.exists(file)) {
                    org.junit.jupiter.api.Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null,
                            file + " is missing (dev/setup-test-data)");
                    throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1");
                }
                CoarseGraph cg = Coarsening.coarsen(org.shardplan.onnx.OnnxImporter.read(file,
                        ImportOptions.DEFAULT.withDims(dims)).graph());
                assertEquals(3 * (int) m[1], AttentionChains.of(cg).size(), m[0] + " " + dims);
                assertEquals(2 * (int) m[2], AttentionChains.causal(cg).size(), m[0] + " " + dims);
            }
        }
    }

    @Test
    void causalChainsCostTheLowerTriangleOfTheFullProductUnderFusedAttentionOnly() throws Exception {
        // the same decoder at seq 256, priced fused: the causal chain's forward FLOP time is 257/512 of the full
        // product's (the 256*257/2 scores on and below the diagonal); unfused attention pays the whole product
        CoarseGraph cg = decoder("gpt?layers=1,hidden=256,heads=4,seq=256");
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), 1);
        ComputeModel cm = ComputeModel.analytic(c.device(0));
        ProblemBuilder fused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), cg.nodes().size());
        fused.prepare(cg);
        double full = 2.0 * 2 * 4 * 256 * 256 * 64;
        int seen = 0;
        for (CoarseNode n : cg.nodes()) {
            AttentionChains.Role r = fused.roleOf(n);
            if (r == AttentionChains.Role.SCORES || r == AttentionChains.Role.CONTEXT) {
                ProblemBuilder.Cost q = fused.nodeCost(n, Optional.empty(), Layout.replicated());
                assertEquals(4e-6 + full * 257 / 512 / (312e12 * 0.70), q.forwardSeconds(), 1e-15);
                // the memory is unchanged: Q and K (2 x [2, 4, 256, 64] float16), or V and the output
                assertEquals(2 * 2 * 4 * 256 * 64 * 2, q.activationBytes(), 1e-9);
                seen++;
            }
        }
        assertEquals(2, seen);
        assertEquals(0.5, ProblemBuilder.causalShare(Long.MAX_VALUE / 4), 1e-12);
        assertEquals(1, ProblemBuilder.causalShare(0));
        // unfused attention computes the whole product: the product's own cost, causal mask or not
        ProblemBuilder unfused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm.withAttention(false),
                MemoryModel.DEFAULT, 0, OptionalDouble.empty()), cg.nodes().size());
        unfused.prepare(cg);
        for (CoarseNode n : AttentionChains.of(cg).keySet()) {
            if (AttentionChains.of(cg).get(n) == AttentionChains.Role.CONTEXT) {
                assertEquals(cm.cost(n.anchor()).forwardSeconds(),
                        unfused.nodeCost(n, Optional.empty(), Layout.replicated()).forwardSeconds(), 1e-15);
                assertEquals(4e-6 + full / (312e12 * 0.70) , cm.withAttention(true).attention(full,
                        org.shardplan.graph.DType.FLOAT16).forwardSeconds(), 1e-15);
            }
        }
    }
}
