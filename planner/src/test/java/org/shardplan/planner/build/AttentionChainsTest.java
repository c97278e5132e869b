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

    private static java.nio.file.Path model(String name) {
        java.nio.file.Path file = java.nio.file.Path.of(System.getProperty("shardplan.root", ".."))
                .resolve("build-data/models").resolve(name);
        if (!java.nio.file.Files.exists(file)) {
            org.junit.jupiter.api.Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null,
                    file + " is missing (dev/setup-test-data)");
            throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1");
        }
        return file;
    }

    private static CoarseGraph coarse(java.nio.file.Path file, Map<String, Long> dims) throws Exception {
        return Coarsening.coarsen(org.shardplan.onnx.OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims)).graph());
    }

    @Test
    void realExportsDetectedOnlyWhereTheMaskIsProven() throws Exception {
        // Llama-style export: triu(full(-inf), 1) as Trilu(ConstantOfShape): causal, bound or not;
        // GPT-2-style export: Where(Equal(Slice(Slice(mask)), 0), -inf, scores) of its tril(ones(1024, 1024))
        // buffer, proven by the buffer's triangle summary; its first layer's Where sits in an element-wise node
        // of its own between the product and the softmax (a fourth role), the other three are fused after QKᵀ;
        // torch.nn.Transformer exported without a target mask, and the MiniLM encoder (padding mask): not causal
        for (Object[] m : new Object[][] {{"llama_gqa.onnx", 4, 0, 4}, {"gpt2_style.onnx", 4, 1, 4},
                {"transformer_seq2seq.onnx", 6, 0, 0}, {"all-minilm-l6-v2.onnx", 6, 0, 0}}) {
            for (Map<String, Long> dims : List.<Map<String, Long>>of(Map.of(), Map.of("batch", 2L, "seq", 64L))) {
                CoarseGraph cg = coarse(model((String) m[0]), dims);
                Map<CoarseNode, AttentionChains.Role> roles = AttentionChains.of(cg);
                assertEquals(3 * (int) m[1] + (int) m[2], roles.size(), m[0] + " " + dims);
                assertEquals((int) m[2], java.util.Collections.frequency(roles.values(), AttentionChains.Role.MASK),
                        m[0] + " " + dims);
                assertEquals(2 * (int) m[3], AttentionChains.causal(cg).size(), m[0] + " " + dims);
            }
        }
    }

    /** The GPT-2-style export with its {@code mask} buffer (float [1, 1, 1024, 1024]) replaced by {@code values}. */
    private static java.nio.file.Path gpt2WithMask(org.shardplan.onnx.edit.ModelFile m, java.nio.file.Path dir, String name,
            float[] values) {
        org.shardplan.onnx.edit.ModelBuilder b = org.shardplan.onnx.edit.ModelBuilder.like(m);
        m.nodes().forEach(b::node);
        int replaced = 0;
        for (org.shardplan.onnx.edit.TensorEntry t : m.initializers()) {
            if (t.name().equals("mask")) {
                assertEquals(List.of(1L, 1L, 1024L, 1024L), java.util.Arrays.stream(t.dims()).boxed().toList());
                b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("mask", t.dims(), values));
                replaced++;
            } else {
                b.initializer(t);
            }
        }
        assertEquals(1, replaced);
        m.inputs().forEach(b::input);
        m.outputs().forEach(b::output);
        m.valueInfo().forEach(b::valueInfo);
        m.graphFields().forEach(b::graphField);
        return b.write(dir.resolve(name));
    }

    private static float[] tril(int n) {
        float[] v = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                v[i * n + j] = 1;
            }
        }
        return v;
    }

    @Test
    void theGpt2StyleBufferIsProvenByItsTriangleAndAMutatedCopyIsNot(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        // (the buffer as exported, tril(ones), is proven in all four layers: realExportsDetectedOnlyWhereTheMaskIsProven)
        // one element above the diagonal kept (row 5 attends to position 9), inside the 64 x 64 corner the model slices
        float[] leaky = tril(1024);
        leaky[5 * 1024 + 9] = 1;
        // (a sliding window, masked below the diagonal too, is refused the same way: onlyMasksProvenLowerTriangularAreCausal)
        // the transposed triangle, written back through the same helpers: two-valued, so summarised, but it
        // masks the past (Equal(mask, 0) is true on and below the diagonal): not causal
        float[] upper = new float[1024 * 1024];
        float[] good = tril(1024);
        for (int k = 0; k < upper.length; k++) {
            upper[k] = 1 - good[k];
        }
        // two-valued but not 0/1: 2 on and below the diagonal still compares unequal to 0 (kept), 0 above
        // (masked): causal (this copy also shows that the rewritten model keeps what the proof needs)
        float[] twos = good;
        for (int k = 0; k < twos.length; k++) {
            twos[k] *= 2;
        }
        Map<String, Long> dims = Map.of("batch", 2L, "seq", 64L);
        Object[][] cases = {{"leaky", leaky, 0, null}, {"upper", upper, 0, new org.shardplan.graph.Triangle(0, 1)},
                {"twos", twos, 4, new org.shardplan.graph.Triangle(2, 0)}};
        org.shardplan.onnx.edit.ModelFile m = org.shardplan.onnx.edit.ModelFile.read(model("gpt2_style.onnx"));
        for (Object[] c : cases) {
            java.nio.file.Path file = gpt2WithMask(m, tmp, c[0] + ".onnx", (float[]) c[1]);
            org.shardplan.graph.Graph g = org.shardplan.onnx.OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims)).graph();
            org.shardplan.graph.Value mask = g.value("mask").orElseThrow();
            assertEquals(org.shardplan.graph.Value.Kind.PARAMETER, mask.kind(), (String) c[0]);
            assertTrue(mask.constant().isEmpty(), "the buffer's values are not kept");
            assertEquals(Optional.ofNullable((org.shardplan.graph.Triangle) c[3]), mask.triangle(), (String) c[0]);
            CoarseGraph cg = Coarsening.coarsen(g);
            assertEquals(13, AttentionChains.of(cg).size(), (String) c[0]);
            assertEquals(2 * (int) c[2], AttentionChains.causal(cg).size(), (String) c[0]);
        }
    }

    @Test
    void theGpt2StyleExportsCausalChainsCostTheirLowerTriangle() throws Exception {
        // batch 2, 8 heads, seq 64, head dimension 32, float32 on an A100 (19.5 TFLOP/s): QKᵀ is
        // 2 * 2*8*64*64*32 = 4,194,304 FLOPs, of which the kernel computes the 64*65/2 scores on and below the
        // diagonal, 65/128; forward at 70% of the peak plus 4 us, backward 2.5 times the FLOPs at 55%
        CoarseGraph cg = coarse(model("gpt2_style.onnx"), Map.of("batch", 2L, "seq", 64L));
        Cluster c = Cluster.homogeneous(DeviceProfiles.get("a100-80gb"), 1);
        ComputeModel cm = ComputeModel.analytic(c.device(0));
        ProblemBuilder fused = new ProblemBuilder(new ProblemBuilder.Settings(c, cm, MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), cg.nodes().size());
        fused.prepare(cg);
        double f = 2.0 * 2 * 8 * 64 * 64 * 32 * 65 / 128;
        double forward = 4e-6 + f / (19.5e12 * 0.70);
        double training = forward + 4e-6 + 2.5 * f / (19.5e12 * 0.55);
        int products = 0;
        int inside = 0;
        for (CoarseNode n : cg.nodes()) {
            AttentionChains.Role r = fused.roleOf(n);
            if (r == null) {
                continue;
            }
            ProblemBuilder.Cost q = fused.nodeCost(n, Optional.empty(), Layout.replicated());
            if (r.insideKernel()) {
                // the softmax, and the first layer's Where in a node of its own: no time, nothing stored
                assertEquals(0, q.computeSeconds());
                assertEquals(0, q.activationBytes());
                inside++;
            } else {
                assertEquals(forward, q.forwardSeconds(), 1e-15, n.name());
                assertEquals(training, q.computeSeconds(), 1e-15, n.name());
                products++;
            }
        }
        assertEquals(8, products);
        assertEquals(5, inside);
    }

    /**
     * A one-layer attention written as GPT-2's original code masks it, {@code w * b - big * (1 - b)} of the
     * float buffer {@code b = tril(ones(1, 1, 32, 32))} sliced to the sequence (16), over Q, K and V of
     * [2, 4, 16, 8]; {@code big} is GPT-2's 1e4 (at the threshold) or a mild 1.
     */
    private static java.nio.file.Path gpt2Original(java.nio.file.Path dir, String name, float big, float[] buffer) {
        org.shardplan.onnx.edit.ModelBuilder b = org.shardplan.onnx.edit.ModelBuilder.create(8, Map.of("", 17L));
        for (String in : List.of("q", "k", "v")) {
            b.input(org.shardplan.onnx.edit.ValueEntry.tensor(in, 1, List.of(2, 4, 16, 8)));
        }
        b.output(org.shardplan.onnx.edit.ValueEntry.tensor("out", 1, List.of(2, 4, 16, 8)));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("bias", new long[] {1, 1, 32, 32}, buffer));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.longs("zeros", new long[] {2}, new long[] {0, 0}));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.longs("ends", new long[] {2}, new long[] {16, 16}));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.longs("axes", new long[] {2}, new long[] {2, 3}));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("one", new long[0], new float[] {1}));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("big", new long[0], new float[] {big}));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Transpose", "tq").inputs("q").outputs("q2").attr("perm", new long[] {0, 1, 2, 3}));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Transpose", "tk").inputs("k").outputs("kt").attr("perm", new long[] {0, 1, 3, 2}));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Transpose", "tv").inputs("v").outputs("v2").attr("perm", new long[] {0, 1, 2, 3}));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("MatMul", "qk").inputs("q2", "kt").outputs("w"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Slice", "slice").inputs("bias", "zeros", "ends", "axes").outputs("b"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Mul", "wb").inputs("w", "b").outputs("wb"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Sub", "notb").inputs("one", "b").outputs("nb"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Mul", "scaled").inputs("big", "nb").outputs("m"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Sub", "masked").inputs("wb", "m").outputs("x"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Softmax", "softmax").inputs("x").outputs("p").attr("axis", -1L));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("MatMul", "pv").inputs("p", "v2").outputs("out"));
        return b.write(dir.resolve(name));
    }

    @Test
    void gpt2sOriginalMultiplyAndSubtractMaskIsProven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        float[] tril = new float[32 * 32];
        for (int i = 0; i < 32; i++) {
            for (int j = 0; j <= i; j++) {
                tril[i * 32 + j] = 1;
            }
        }
        float[] leaky = tril.clone();
        leaky[3 * 32 + 7] = 1;
        // above the diagonal w * 0 - 1e4 * 1 = -1e4 (masked); on and below it w * 1 - 1e4 * 0 = w (kept)
        Object[][] cases = {{"gpt2", 1e4f, tril, 2}, {"mild", 1f, tril, 0}, {"leaky", 1e4f, leaky, 0}};
        for (Object[] c : cases) {
            CoarseGraph cg = coarse(gpt2Original(tmp, c[0] + ".onnx", (float) c[1], (float[]) c[2]), Map.of());
            assertEquals(3, AttentionChains.of(cg).size(), (String) c[0]);
            assertEquals((int) c[3], AttentionChains.causal(cg).size(), (String) c[0]);
        }
    }

    /**
     * The torch.nn.Transformer export with an additive target mask added to the first decoder layer's
     * self-attention scores (as {@code baddbmm(attn_mask, q, kᵀ)} exports): {@code mask} names an
     * initializer (the mask traced at a fixed size: a constant of the model) or, when {@code values} is
     * null, a graph input (the mask fed at run time).
     */
    private static java.nio.file.Path seq2seqWithMask(java.nio.file.Path dir, String name, float[] values) throws Exception {
        org.shardplan.onnx.edit.ModelFile m = org.shardplan.onnx.edit.ModelFile.read(model("transformer_seq2seq.onnx"));
        org.shardplan.onnx.edit.ModelBuilder b = org.shardplan.onnx.edit.ModelBuilder.copyOf(m);
        String scores = "/t/decoder/layers.0/self_attn/MatMul_1_output_0";
        String softmax = "/t/decoder/layers.0/self_attn/Softmax";
        int rewired = 0;
        for (int k = 0; k < b.nodes().size(); k++) {
            rewired += b.nodes().get(k).name().equals(softmax) && b.nodes().get(k).inputs().equals(List.of(scores)) ? 1 : 0;
        }
        assertEquals(1, rewired);
        b.mapNodes(n -> n.name().equals(softmax) ? n.withInputs(List.of("masked_scores")) : n);
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Add", "tgt_mask_add").inputs(scores, "tgt_mask").outputs("masked_scores"));
        if (values == null) {
            b.input(org.shardplan.onnx.edit.ValueEntry.tensor("tgt_mask", 1, List.of("tgt_seq", "tgt_seq")));
        } else {
            b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("tgt_mask", new long[] {64, 64}, values));
        }
        return b.write(dir.resolve(name));
    }

    @Test
    void aTransformerTargetMaskIsProvenAsAConstantAndNotAsAGraphInput(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        // nn.Transformer.generate_square_subsequent_mask(64): 0 on and below the diagonal, -inf above
        float[] causal = new float[64 * 64];
        for (int i = 0; i < 64; i++) {
            for (int j = i + 1; j < 64; j++) {
                causal[i * 64 + j] = Float.NEGATIVE_INFINITY;
            }
        }
        // -1 above the diagonal does not mask (the softmax still reads those scores)
        float[] mild = causal.clone();
        for (int k = 0; k < mild.length; k++) {
            mild[k] = mild[k] < 0 ? -1 : 0;
        }
        Map<String, Long> dims = Map.of("batch", 2L, "src_seq", 32L, "tgt_seq", 64L);
        Object[][] cases = {{"constant", causal, 2}, {"input", null, 0}, {"mild", mild, 0}};
        for (Object[] c : cases) {
            CoarseGraph cg = coarse(seq2seqWithMask(tmp, c[0] + ".onnx", (float[]) c[1]), dims);
            assertEquals(18, AttentionChains.of(cg).size(), (String) c[0]);
            assertEquals((int) c[2], AttentionChains.causal(cg).size(), (String) c[0]);
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
