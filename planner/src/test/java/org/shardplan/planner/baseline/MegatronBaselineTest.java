package org.shardplan.planner.baseline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.comm.Collective;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.space.Strategy;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.strategy.Collectives;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;

/**
 * The megatron baselines of the bundled transformer (d = 64, 4 heads, MLP 256, 4 post-LN layers, vocabulary
 * 1000; batch 64, sequence 128) on one node of 8 A100s, against Megatron's layout written out by hand
 * (Shoeybi et al., 2019; Narayanan et al., SC'21, Section 3.2), and their communication against
 * Megatron's count: per layer two all-reduces forward (after the row-parallel output projection and
 * second MLP layer) and two backward (of the input gradients of the column-parallel QKV and first MLP
 * layer), each of the b·s·h activations of one data-parallel replica, plus the gradient all-reduce of the
 * weight slices over the data-parallel replicas.
 */
class MegatronBaselineTest {
    static CoarseGraph cg;
    static final DeviceDigits DD = DeviceDigits.of(8, 8);

    @BeforeAll
    static void load() throws Exception {
        Path model = Path.of(System.getProperty("shardplan.root", "..")).resolve("cli/src/main/resources/models/transformer.onnx");
        cg = Coarsening.coarsen(OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "seq", 128L)))
                .graph());
        assertEquals(75, cg.nodes().size(), "embedding, 4 layers of 18 nodes, final norm, output layer");
    }

    private static Layout place(String modelDim, int t, String batchDim, int dp) {
        Map<String, Integer> f = new LinkedHashMap<>();
        List<String> placement = new ArrayList<>();
        if (modelDim.startsWith(Layout.COPIES)) {
            placement.add(modelDim);
        } else {
            f.put(modelDim, t);
            placement.add(modelDim);
        }
        f.put(batchDim, dp);
        placement.add(batchDim);
        return Layout.place(Strategy.of(f), placement, DD).orElseThrow();
    }

    /**
     * Megatron's layout of every coarse node, by hand: {op, the dimension split by the tensor-parallel
     * degree (or "~" for copies inside the group), the batch dimension}.
     */
    static Map<String, Layout> byHand(int t, boolean sequenceParallel) {
        int dp = 8 / t;
        String[][] layer = {
            {"MatMul", "n", "b"},          // QKV: column-parallel
            {"Split", "d2", "d0"},         // Q, K, V each split like the fused output
            {"Reshape", "d2", "d0"},       // Q to [b, s, heads, d]: by heads
            {"Transpose", "d1", "d0"},     // Q to [b, heads, s, d]
            {"Reshape", "d2", "d0"},       // K
            {"Reshape", "d2", "d0"},       // V
            {"Transpose", "d1", "d0"},     // V
            {"Transpose", "d1", "d0"},     // K^T
            {"MatMul", "b1", "b0"},        // Q K^T (and the scaling): by heads
            {"Softmax", "d1", "d0"},       // by heads
            {"MatMul", "b1", "b0"},        // P V: by heads
            {"Transpose", "d2", "d0"},     // back to [b, s, heads, d]
            {"Reshape", "d2_0", "d0"},     // heads merged: the hidden axis split
            {"MatMul", "k", "b"},          // output projection (+ bias, residual): row-parallel
            {"LayerNormalization", sequenceParallel ? "d1" : "~", "d0"},
            {"MatMul", "n", "b"},          // first MLP layer (+ GELU): column-parallel
            {"MatMul", "k", "b"},          // second MLP layer (+ bias, residual): row-parallel
            {"LayerNormalization", sequenceParallel ? "d1" : "~", "d0"},
        };
        Map<String, Layout> r = new LinkedHashMap<>();
        CoarseNode embedding = cg.node(0);
        assertEquals("Gather", embedding.opType());
        r.put(embedding.name(), place("v", t, "i0", dp)); // vocabulary-parallel embedding
        for (int l = 0; l < 4; l++) {
            for (int j = 0; j < layer.length; j++) {
                CoarseNode n = cg.node(1 + 18 * l + j);
                assertEquals(layer[j][0], n.opType(), n.name());
                String md = layer[j][1].equals("~") ? Layout.COPIES + t : layer[j][1];
                r.put(n.name(), place(md, t, layer[j][2], dp));
            }
        }
        assertEquals("LayerNormalization", cg.node(73).opType());
        r.put(cg.node(73).name(), place(sequenceParallel ? "d1" : Layout.COPIES + t, t, "d0", dp));
        assertEquals("MatMul", cg.node(74).opType());
        r.put(cg.node(74).name(), place("n", t, "b", dp)); // output layer: column-parallel over the vocabulary
        return r;
    }

    @Test
    void megatronIsMegatronsLayoutNodeByNode() {
        for (int t : new int[] {2, 4}) {
            for (boolean sp : new boolean[] {false, true}) {
                Baselines.Baseline b = Baselines.megatron(cg, 64, DD, t, sp).orElseThrow();
                Map<String, Layout> expected = byHand(t, sp);
                assertEquals(expected.keySet(), b.layouts().keySet());
                for (Map.Entry<String, Layout> e : expected.entrySet()) {
                    Layout got = b.layouts().get(e.getKey());
                    assertEquals(e.getValue().key(), got.key(), "T=" + t + (sp ? " sp " : " ") + e.getKey());
                }
                assertEquals(sp ? "megatron-sp (tensor parallel " + t + ", sequence parallel)"
                        : "megatron (tensor parallel " + t + ")", b.name());
            }
        }
        // 4 heads cannot be split 8 ways: no Megatron at T = 8
        assertTrue(Baselines.megatron(cg, 64, DD, 8, false).isEmpty());
        List<String> names = Baselines.experts(cg, 64, DD).stream().map(Baselines.Baseline::name).toList();
        assertEquals(List.of("megatron (tensor parallel 4)", "megatron-sp (tensor parallel 4, sequence parallel)",
                "megatron (tensor parallel 2)", "megatron-sp (tensor parallel 2, sequence parallel)"), names);
        assertThrows(IllegalArgumentException.class, () -> Baselines.megatron(cg, 64, DD, 3, false));
    }

    @Test
    void vocabularyParallelEmbeddingAndOutputLayerWithTheSoftmaxSplitAlike() {
        org.shardplan.graph.Value ids = org.shardplan.graph.Value.input("ids",
                org.shardplan.graph.TensorType.of(org.shardplan.graph.DType.INT64, 64, 16));
        org.shardplan.graph.Value table = Fixtures.param("table", 1000, 64);
        org.shardplan.graph.Value e = Fixtures.act("e", 64, 16, 64);
        org.shardplan.graph.Value w = Fixtures.param("w", 64, 1000);
        org.shardplan.graph.Value logits = Fixtures.act("logits", 64, 16, 1000);
        org.shardplan.graph.Value y = Fixtures.act("y", 64, 16, 1000);
        org.shardplan.graph.Graph g = org.shardplan.graph.Graph.builder("lm").addInput(ids).addParameter(table).addParameter(w)
                .addNode(Fixtures.node("emb", "Gather", List.of(table, ids), List.of(e)))
                .addNode(Fixtures.node("head", "MatMul", List.of(e, w), List.of(logits)))
                .addNode(new org.shardplan.graph.Node("lsm", "LogSoftmax", "", List.of(logits), List.of(y),
                        List.of(org.shardplan.graph.Attribute.ofInt("axis", -1))))
                .addOutput(y).build();
        CoarseGraph lm = Coarsening.coarsen(g);
        Baselines.Baseline b = Baselines.megatron(lm, 64, DD, 2, false).orElseThrow();
        // the table's rows (a reduction: partial sums), the vocabulary columns, the normalised axis (its
        // statistics all-reduced): each by 2, the batch by 4
        assertEquals(place("v", 2, "i0", 4).key(), b.layouts().get("emb").key());
        assertEquals(place("n", 2, "b", 4).key(), b.layouts().get("head").key());
        assertEquals(place("d2", 2, "d0", 4).key(), b.layouts().get("lsm").key());
        // a vocabulary of 1000 cannot be split 16 ways: the embedding and the output layer run as 16 copies in the
        // group, the batch split over the 2 nodes
        DeviceDigits wide = DeviceDigits.of(32, 16);
        Baselines.Baseline b16 = Baselines.megatron(lm, 64, wide, 16, false).orElseThrow();
        assertEquals("i0=2@net", b16.layouts().get("emb").label());
        assertEquals("b=2@net", b16.layouts().get("head").label());
        assertEquals(List.of(Layout.COPIES + 16, "i0"), b16.layouts().get("emb").placement());
    }

    @Test
    void communicationPerLayerIsMegatronsFormula() {
        Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        for (int t : new int[] {2, 4}) {
            int dp = 8 / t;
            Baselines.Baseline b = Baselines.megatron(cg, 64, DD, t, false).orElseThrow();
            ProblemBuilder pb = planner.problemBuilder(cg);
            Map<String, List<Layout>> required = new LinkedHashMap<>();
            b.layouts().forEach((k, v) -> required.put(k, List.of(v)));
            ProblemBuilder.Built built = pb.build(cg, required);
            // the second layer: coarse nodes 19 to 36
            double bytes = 0;
            double seconds = 0;
            for (int i = 19; i <= 36; i++) {
                ProblemBuilder.Unit u = built.units().get(i);
                ProblemBuilder.Cost c = u.costs().get(u.indexOf(b.layouts().get(u.name())));
                bytes += c.communicationBytes();
                seconds += c.communicationSeconds();
            }
            for (ProblemBuilder.Link l : built.links()) {
                if (l.to() >= 19 && l.to() <= 36) {
                    int cols = built.units().get(l.to()).layouts().size();
                    int at = built.units().get(l.from()).indexOf(b.layouts().get(built.units().get(l.from()).name())) * cols
                            + built.units().get(l.to()).indexOf(b.layouts().get(built.units().get(l.to()).name()));
                    assertEquals(0.0, l.bytes()[at], "no resharding between Megatron's layers: " + l.value());
                }
            }
            // b·s·h of one replica in float32: (64 / dp) · 128 · 64 · 4 bytes; a ring all-reduce over t moves 2 (t-1)/t of it
            double act = 64.0 / dp * 128 * 64 * 4;
            double tensorParallel = 4 * 2.0 * (t - 1) / t * act;
            // weight slices: QKV [64, 192/t] + [192/t], projection [64/t, 64] + bias [64] (whole: added after the
            // sums), MLP [64, 256/t] + [256/t] and [256/t, 64] + [64]; gradients of 2 bytes (Adam, mixed precision)
            long[] slices = {64 * 192 / t, 192 / t, 64 * 64 / t, 64, 64 * 256 / t, 256 / t, 256 * 64 / t, 64};
            double dataParallel = 0;
            Layout qkv = b.layouts().get(cg.node(19).name());
            Collectives coll = new Collectives(Fixtures.a100(8), DD);
            double expectedSeconds = 4 * coll.seconds(Collective.ALL_REDUCE, qkv.digitsOf("n"), act);
            for (long e : slices) {
                dataParallel += 2.0 * (dp - 1) / dp * 2 * e;
                expectedSeconds += coll.seconds(Collective.ALL_REDUCE, qkv.digitsOf("b"), 2.0 * e);
            }
            if (t == 2) {
                // 4 x 524288 + 3 x 24928: hand-checkable
                assertEquals(4 * 524288 + 3 * 24928, tensorParallel + dataParallel, 1e-6);
            }
            assertEquals(tensorParallel + dataParallel, bytes, 1e-6, "T=" + t);
            assertEquals(expectedSeconds, seconds, 1e-12 * expectedSeconds, "T=" + t);
        }
    }

    @Test
    void familyLayoutsAreCandidatesWhateverTheCap() throws Exception {
        for (int cap : new int[] {2, 64}) {
            Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withMaxLayouts(cap);
            Map<String, List<Layout>> required = Baselines.familyLayouts(cg, 64, DD);
            // the QKV product: data parallel, column-parallel at T = 4 and T = 2 (the sequence-parallel
            // variants lay it out alike)
            assertEquals(List.of(Layout.place(Strategy.of("b", 8), List.of("b"), DD).orElseThrow().key(), place("n", 4, "b", 2).key(), place("n", 2, "b", 4).key()),
                    required.get(cg.node(1).name()).stream().map(Layout::key).toList());
            ProblemBuilder.Built built = planner.problemBuilder(cg).build(cg, required);
            for (ProblemBuilder.Unit u : built.units()) {
                for (Layout l : required.getOrDefault(u.name(), List.of())) {
                    assertTrue(u.indexOf(l) >= 0, "cap " + cap + ": " + u.name() + " lacks " + l.label());
                }
            }
        }
        // so the expert's step time does not depend on the cap, and the plan is never slower than it
        Plan small = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withMaxLayouts(2).plan(cg.graph());
        Plan full = Planner.forCluster(Fixtures.a100(8)).withBatch(64).plan(cg.graph());
        assertEquals(full.baselines().get(Baselines.EXPERT).stepSeconds(), small.baselines().get(Baselines.EXPERT).stepSeconds(),
                1e-15);
        assertEquals("megatron (tensor parallel 2)", full.baselines().get(Baselines.EXPERT).name());
        for (Plan p : List.of(small, full)) {
            for (Plan.Baseline b : p.baselines().values()) {
                assertTrue(p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12), b.toString());
            }
        }
        assertTrue(full.baselines().get(Baselines.EXPERT).stepSeconds() < full.baselines().get(Baselines.DATA_PARALLEL).stepSeconds());
    }
}
