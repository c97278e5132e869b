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
import org.shardplan.graph.Value;
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
 * weight slices over the data-parallel replicas; and the sequence-parallel variant's against Korthikanti
 * et al.'s (2022, Section 4.2.2): four reduce-scatters and four all-gathers of the same blocks.
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

    /**
     * The layout splitting {@code modelDim} by {@code t} on the lowest digits (or {@code ~t}: t copies) and
     * {@code batchDim} by {@code dp} on the others; null when that splits nothing (copies without data
     * parallelism: the node runs replicated).
     */
    private static Layout place(String modelDim, int t, String batchDim, int dp) {
        Map<String, Integer> f = new LinkedHashMap<>();
        List<String> placement = new ArrayList<>();
        if (!modelDim.startsWith(Layout.COPIES)) {
            f.put(modelDim, t);
            placement.add(modelDim);
        } else if (dp > 1) {
            placement.add(modelDim);
        }
        if (dp > 1) {
            f.put(batchDim, dp);
            placement.add(batchDim);
        }
        return f.isEmpty() ? null : Layout.place(Strategy.of(f), placement, DD).orElseThrow();
    }

    private static void expect(Map<String, Layout> r, CoarseGraph g, int index, String op, String modelDim, int t,
            String batchDim) {
        CoarseNode n = g.node(index);
        assertEquals(op, n.opType(), n.name());
        Layout l = place(modelDim.equals("~") ? Layout.COPIES + t : modelDim, t, batchDim, 8 / t);
        if (l != null) {
            r.put(n.name(), l);
        }
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

    /**
     * Megatron's layout of the GPT-2-style export (dev/export-models.py: pre-LN, 8 heads, d 256, MLP 1024,
     * 4 layers, vocabulary 50304; batch 64, sequence 128), by hand. Layer 0 also computes the causal mask
     * (two Slices of the mask buffer and an Equal, replicated) and applies it in a Where of its own; later
     * layers fuse that Where into the scores' product.
     */
    static Map<String, Layout> gpt2ByHand(CoarseGraph g, int t, boolean sequenceParallel) {
        String norm = sequenceParallel ? "d1" : "~";
        String[][] attention = {
            {"MatMul", "n", "b"}, {"Split", "d2", "d0"}, {"Reshape", "d2", "d0"}, {"Transpose", "d1", "d0"},
            {"Reshape", "d2", "d0"}, {"Reshape", "d2", "d0"}, {"Transpose", "d1", "d0"}, {"Transpose", "d1", "d0"},
            {"MatMul", "b1", "b0"}};
        String[][] rest = {
            {"Softmax", "d1", "d0"}, {"MatMul", "b1", "b0"}, {"Transpose", "d2", "d0"}, {"Reshape", "d2_0", "d0"},
            {"MatMul", "k", "b"}, {"LayerNormalization", norm, "d0"}, {"MatMul", "n", "b"}, {"MatMul", "k", "b"}};
        Map<String, Layout> r = new LinkedHashMap<>();
        expect(r, g, 0, "Gather", "v", t, "i0");               // token embedding: vocabulary-parallel
        assertEquals("Gather", g.node(1).opType());              // position embedding: replicated
        expect(r, g, 2, "Add", norm, t, "d0");                   // token + position
        int i = 3;
        for (int l = 0; l < 4; l++) {
            expect(r, g, i++, "LayerNormalization", norm, t, "d0");
            for (String[] e : attention) {
                expect(r, g, i++, e[0], e[1], t, e[2]);
            }
            if (l == 0) {
                for (String op : new String[] {"Slice", "Slice", "Equal"}) {
                    assertEquals(op, g.node(i++).opType());      // the causal mask: replicated
                }
                expect(r, g, i++, "Where", "d1", t, "d0");
            }
            for (String[] e : rest) {
                expect(r, g, i++, e[0], e[1], t, e[2]);
            }
        }
        expect(r, g, i++, "LayerNormalization", norm, t, "d0");
        expect(r, g, i++, "MatMul", "n", t, "b");                // output layer: column-parallel over the vocabulary
        assertEquals(g.nodes().size(), i);
        return r;
    }

    static CoarseGraph gpt2() throws Exception {
        Path file = Path.of(System.getProperty("shardplan.models",
                Path.of(System.getProperty("shardplan.root", "..")).resolve("build-data/models").toString()))
                .resolve("gpt2_style.onnx");
        if (!java.nio.file.Files.exists(file)) {
            org.junit.jupiter.api.Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null,
                    file + " is missing (dev/setup-test-data)");
            throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1: run dev/setup-test-data");
        }
        return Coarsening.coarsen(OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "seq", 128L)))
                .graph());
    }

    @Test
    void megatronOfAGpt2StyleDecoderNodeByNode() throws Exception {
        CoarseGraph g = gpt2();
        assertEquals(81, g.nodes().size());
        for (int t : new int[] {2, 4, 8}) {
            for (boolean sp : new boolean[] {false, true}) {
                Baselines.Baseline b = Baselines.megatron(g, 64, DD, t, sp).orElseThrow();
                Map<String, Layout> expected = gpt2ByHand(g, t, sp);
                assertEquals(expected.keySet(), b.layouts().keySet(), "T=" + t + (sp ? " sp" : ""));
                for (Map.Entry<String, Layout> e : expected.entrySet()) {
                    assertEquals(e.getValue().key(), b.layouts().get(e.getKey()).key(), "T=" + t + (sp ? " sp " : " ") + e.getKey());
                }
            }
        }
        // the third layer (coarse nodes 43 to 60): weight slices QKV [256, 768/t] + [768/t], projection
        // [256/t, 256] + [256], MLP [256, 1024/t] + [1024/t] and [1024/t, 256] + [256], two LayerNorms' [256] + [256]
        for (int t : new int[] {2, 4, 8}) {
            long[] slices = {256 * 768 / t, 768 / t, 256 * 256 / t, 256, 256 * 1024 / t, 1024 / t, 1024 * 256 / t, 256,
                256, 256, 256, 256};
            double bytes = assertMegatronCommunication(g, t, 43, 60, 128L * 256, slices);
            double spBytes = assertSequenceParallelCommunication(g, t, 43, 60, 128L * 256);
            if (t == 8) {
                // no data parallelism: only the 4 all-reduces of 64·128·256·4 bytes over 8 devices, 2·(7/8) each
                assertEquals(4 * 2 * 7 / 8.0 * 8388608, bytes, 1e-6);
                // 4 reduce-scatters and 4 all-gathers of the same blocks, (7/8) each
                assertEquals(8 * 7 / 8.0 * 8388608, spBytes, 1e-6);
            }
        }
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
        for (int t : new int[] {2, 4}) {
            // weight slices of the second layer: QKV [64, 192/t] + [192/t], projection [64/t, 64] + bias [64]
            // (whole: added after the sums), MLP [64, 256/t] + [256/t] and [256/t, 64] + [64], and the scale and
            // bias [64] of its two LayerNorms (whole; torch shares the equal ones through Identity nodes)
            long[] slices = {64 * 192 / t, 192 / t, 64 * 64 / t, 64, 64 * 256 / t, 256 / t, 256 * 64 / t, 64,
                64, 64, 64, 64};
            double bytes = assertMegatronCommunication(cg, t, 19, 36, 128L * 64, slices);
            assertSequenceParallelCommunication(cg, t, 19, 36, 128L * 64);
            if (t == 2) {
                // 4 all-reduces of 16·128·64·4 = 524288 bytes over 2 devices, each moving 2·(1/2) of it, and
                // 24928 + 256 gradient elements of 2 bytes all-reduced over 4 devices, moving 2·(3/4) of them
                assertEquals(4 * 524288 + 3 * (24928 + 256), bytes, 1e-6);
            }
        }
    }

    /**
     * Checks the communication of the Megatron layout at degree {@code t} over coarse nodes {@code from}
     * to {@code to} (one layer, with the tensors arriving at it) against Megatron's count and returns its
     * bytes per device: four all-reduces over the {@code t} devices of one replica's activations
     * ({@code 64 / dp} sequences of {@code seqTimesHidden} float32 values), each priced as a reduce-scatter
     * in the node that makes the partial sums (or the gradient parts) and an all-gather on the edge to the
     * node that needs them whole, plus the gradient all-reduce of each weight slice (2 bytes per element)
     * over the {@code dp} replicas, as its share of the all-reduce of a gradient bucket.
     */
    static double assertMegatronCommunication(CoarseGraph g, int t, int from, int to, long seqTimesHidden, long[] slices) {
        Layer plain = layer(g, t, from, to, false);
        int dp = 8 / t;
        double act = 64.0 / dp * seqTimesHidden * 4;
        Layout qkv = columnParallel(g, t, from, false);
        Collectives coll = new Collectives(Fixtures.a100(8), DD);
        assertEquals(4 * 2.0 * (t - 1) / t * act, plain.activationBytes(), 1e-6, "T=" + t);
        double rs = coll.seconds(Collective.REDUCE_SCATTER, qkv.digitsOf("n"), act);
        double ag = coll.seconds(Collective.ALL_GATHER, qkv.digitsOf("n"), act);
        // an all-reduce is a reduce-scatter and an all-gather (Collectives: never more than the two apart)
        assertEquals(coll.seconds(Collective.ALL_REDUCE, qkv.digitsOf("n"), act), rs + ag, 1e-12 * (rs + ag));
        assertEquals(4 * (rs + ag), plain.activationSeconds(), 1e-12 * plain.activationSeconds(), "T=" + t);
        double gradBytes = 0;
        double gradSeconds = 0;
        double whole = 0; // the bytes of every parameter's gradient (2 bytes each)
        for (Value v : g.graph().parameters()) {
            whole += 2.0 * v.type().shape().numElements().orElseThrow();
        }
        // 25 MiB, or less where one bucket holds the model's whole gradient
        double bucket = Math.min(whole, org.shardplan.cost.compute.ComputeModel.DEFAULT_GRADIENT_BUCKET_BYTES);
        assertEquals(bucket, ProblemBuilder.gradientBucketOf(g, 2, org.shardplan.cost.compute.ComputeModel.DEFAULT_GRADIENT_BUCKET_BYTES));
        for (long e : slices) {
            gradBytes += 2.0 * (dp - 1) / dp * 2 * e;
            // each slice, smaller than a bucket, pays its share of a bucket's all-reduce
            assertTrue(2.0 * e < bucket);
            gradSeconds += 2.0 * e / bucket * coll.seconds(Collective.ALL_REDUCE, qkv.digitsOf("b"), bucket);
        }
        assertEquals(gradBytes, plain.gradientBytes(), 1e-6, "T=" + t);
        assertEquals(gradSeconds, plain.gradientSeconds(), 1e-12 * gradSeconds, "T=" + t);
        return plain.activationBytes() + plain.gradientBytes();
    }

    /**
     * Checks the sequence-parallel variant at degree {@code t} over coarse nodes {@code from} to
     * {@code to} against Korthikanti et al. (2022, Section 4.2.2): per layer four reduce-scatters (the
     * outputs of the two row-parallel products forward, the input gradients of the two column-parallel
     * ones backward), each landing in the sequence-split layer norms without further traffic, and four
     * all-gathers (the layer norms' outputs into the column-parallel products forward, the gradients from
     * the layer norms into the row-parallel ones backward): the bytes of plain Megatron's four
     * all-reduces, in no more time. Returns its activation bytes per device.
     */
    static double assertSequenceParallelCommunication(CoarseGraph g, int t, int from, int to, long seqTimesHidden) {
        Layer sp = layer(g, t, from, to, true);
        Layer plain = layer(g, t, from, to, false);
        int dp = 8 / t;
        double act = 64.0 / dp * seqTimesHidden * 4;
        Layout qkv = columnParallel(g, t, from, true);
        Collectives coll = new Collectives(Fixtures.a100(8), DD);
        double rs = coll.seconds(Collective.REDUCE_SCATTER, qkv.digitsOf("n"), act);
        // the all-gathers are resharding on an edge: each device receives the (t - 1) / t of the block it lacks
        double ag = coll.transferSeconds((t - 1.0) / t * act, false);
        assertEquals(4 * (t - 1.0) / t * act + 4 * (t - 1.0) / t * act, sp.activationBytes(), 1e-6, "T=" + t);
        assertEquals(4 * rs + 4 * ag, sp.activationSeconds(), 1e-12 * sp.activationSeconds(), "T=" + t);
        assertEquals(plain.activationBytes(), sp.activationBytes(), 1e-6, "T=" + t);
        assertTrue(sp.activationSeconds() <= plain.activationSeconds(), "T=" + t + ": sequence parallel "
                + sp.activationSeconds() + " s must not exceed plain Megatron's " + plain.activationSeconds() + " s");
        return sp.activationBytes();
    }

    /** The first column-parallel product of a layer: its digits are the groups. */
    private static Layout columnParallel(CoarseGraph g, int t, int from, boolean sp) {
        Baselines.Baseline b = Baselines.megatron(g, 64, DD, t, sp).orElseThrow();
        for (int i = from; ; i++) {
            Layout l = b.layouts().get(g.node(i).name());
            if (l != null && l.strategy().factor("n") == t) {
                return l;
            }
        }
    }

    /**
     * Communication of one layer per device and micro-batch: of its nodes' collectives and of the edges
     * into them (activations: partial sums, gradient parts, resharding), and the per-step gradient
     * reduction of its weights.
     */
    record Layer(double activationBytes, double activationSeconds, double gradientBytes, double gradientSeconds) {
    }

    static Layer layer(CoarseGraph g, int t, int from, int to, boolean sequenceParallel) {
        Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        Baselines.Baseline b = Baselines.megatron(g, 64, DD, t, sequenceParallel).orElseThrow();
        Map<String, List<Layout>> required = new LinkedHashMap<>();
        b.layouts().forEach((k, v) -> required.put(k, List.of(v)));
        ProblemBuilder.Built built = planner.problemBuilder(g).build(g, required);
        double bytes = 0;
        double seconds = 0;
        double gradBytes = 0;
        double gradSeconds = 0;
        for (int i = from; i <= to; i++) {
            ProblemBuilder.Unit u = built.units().get(i);
            ProblemBuilder.Cost c = u.costs().get(u.indexOf(b.layouts().getOrDefault(u.name(), Layout.replicated())));
            bytes += c.microCommunicationBytes();
            seconds += c.microCommunicationSeconds();
            gradBytes += c.gradientBytes();
            gradSeconds += c.gradientSeconds();
        }
        for (ProblemBuilder.Link l : built.links()) {
            if (l.to() >= from && l.to() <= to) {
                ProblemBuilder.Unit p = built.units().get(l.from());
                ProblemBuilder.Unit c = built.units().get(l.to());
                int at = p.indexOf(b.layouts().getOrDefault(p.name(), Layout.replicated())) * c.layouts().size()
                        + c.indexOf(b.layouts().getOrDefault(c.name(), Layout.replicated()));
                bytes += l.bytes()[at];
                seconds += l.seconds()[at];
            }
        }
        return new Layer(bytes, seconds, gradBytes, gradSeconds);
    }

    @Test
    void familyLayoutsAreCandidatesWhateverTheCap() throws Exception {
        // with the copied candidates of fewer devices on (-Dshardplan.copiedCandidates=true)
        System.setProperty("shardplan.copiedCandidates", "true");
        try {
            familyLayoutsWithCopies();
        } finally {
            System.clearProperty("shardplan.copiedCandidates");
        }
    }

    private void familyLayoutsWithCopies() throws Exception {
        for (int cap : new int[] {2, 64}) {
            Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withMaxLayouts(cap);
            Map<String, List<Layout>> required = Baselines.familyLayouts(cg, 64, DD);
            // the QKV product: data parallel, column-parallel at T = 4 and T = 2 (the sequence-parallel
            // variants lay it out alike); then the same families on the first 4 devices (data parallel, T = 4
            // alone, T = 2 with 2 replicas) and on the first 2 (data parallel, T = 2), copied over the rest
            assertEquals(List.of(Layout.place(Strategy.of("b", 8), List.of("b"), DD).orElseThrow().key(),
                    place("n", 4, "b", 2).key(), place("n", 2, "b", 4).key(),
                    "b=4[1, 0];", "n=4[1, 0];", "n=2[0];b=2[1];", "b=2[0];", "n=2[0];"),
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
        // with the replicas' gradient reduction overlapped with the backward pass (25 MiB buckets) and GEMMs priced
        // by shape on the A100 kernel model, 2-way tensor parallelism with 4 replicas is Megatron's best (4-way was,
        // when the whole reduction was exposed); its sequence-parallel variant moves the same activation bytes and
        // computes a share of the norms, and the norms' small gradients, reduced in the replicas' buckets, cost
        // their bytes' share of a bucket (plain Megatron was the best while each paid a collective's latency)
        assertEquals("megatron-sp (tensor parallel 2, sequence parallel)", full.baselines().get(Baselines.EXPERT).name());
        for (Plan p : List.of(small, full)) {
            for (Plan.Baseline b : p.baselines().values()) {
                assertTrue(p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12), b.toString());
            }
        }
        // data parallelism, its reduction hidden behind the backward pass but for the last bucket, now beats the
        // expert on this small model: the expert moves activations on the critical path every layer
        Plan.Baseline dp = full.baselines().get(Baselines.DATA_PARALLEL);
        assertTrue(dp.stepSeconds() < full.baselines().get(Baselines.EXPERT).stepSeconds(), dp.toString());
    }
}
