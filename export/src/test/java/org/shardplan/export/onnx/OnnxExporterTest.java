package org.shardplan.export.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.export.EngineView;
import org.shardplan.export.ExportModel;
import org.shardplan.export.Exporter;
import org.shardplan.export.Exporters;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;

/**
 * The annotated ONNX model: ONNX Runtime loads it and computes what the original computes, and the
 * annotations read back ({@link DeviceAnnotations}) give every node's stage and, for each tensor, the
 * shards the plan's strategy makes of it, on the stage's devices.
 */
class OnnxExporterTest {

    static Cluster a100(int n) throws Exception {
        return Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), n);
    }

    static Path bundledFile() {
        return Path.of(System.getProperty("shardplan.root", "..")).resolve("cli/src/main/resources/models/transformer.onnx");
    }

    /**
     * Checks the annotations against the plan: for every planned node, its anchor's stage, and for each
     * tensor of its iteration space the anchor reads or writes, the shards per axis (the product of the
     * strategy's factors of the loop dimensions indexing the axis) and the devices (each device of the
     * node's stage holds exactly one shard). Returns the number of specs checked.
     */
    static int check(Plan plan, CoarseGraph cg, DeviceAnnotations a) {
        Map<String, PlanNode> byName = new HashMap<>();
        plan.nodes().forEach(n -> byName.put(n.name(), n));
        List<java.util.Optional<IterationSpace>> spaces = CoarseSpaces.of(cg);
        int checked = 0;
        for (CoarseNode cn : cg.nodes()) {
            PlanNode pn = byName.get(cn.name());
            List<DeviceAnnotations.NodeConfiguration> cs = a.nodes().get(cn.anchor().name());
            assertEquals(1, cs.size(), cn.name());
            DeviceAnnotations.NodeConfiguration c = cs.get(0);
            assertEquals(OnnxExporter.CONFIGURATION, c.configurationId());
            assertEquals(pn.stage(), c.pipelineStage().orElseThrow(), cn.name());
            if (spaces.get(cn.index()).isEmpty()) {
                continue;
            }
            Plan.Stage st = plan.stages().get(pn.stage());
            List<TensorIndexing> ts = new ArrayList<>(spaces.get(cn.index()).get().inputs());
            ts.addAll(spaces.get(cn.index()).get().outputs());
            for (TensorIndexing t : ts) {
                Optional<DeviceAnnotations.ShardingSpec> spec = c.spec(t.value().name());
                if (spec.isEmpty()) {
                    continue; // read or written by another member of the coarse node
                }
                long total = 1;
                for (int ax = 0; ax < t.axes().size(); ax++) {
                    long want = 1;
                    for (String d : t.axes().get(ax).dims()) {
                        want *= pn.strategy().getOrDefault(d, 1);
                    }
                    assertEquals(want, spec.get().shardsOf(ax), cn.name() + " " + t.value().name() + " axis " + ax);
                    total *= want;
                }
                assertEquals(total, spec.get().devices().size());
                List<Long> all = new ArrayList<>();
                for (int i = 0; i < total; i++) {
                    all.addAll(spec.get().devicesOf(i));
                }
                Set<Long> distinct = new HashSet<>(all);
                assertEquals(st.devices(), all.size(), "every device of the stage holds one shard");
                assertEquals(st.devices(), distinct.size());
                for (long d : distinct) {
                    assertTrue(d >= st.firstDevice() && d <= st.lastDevice(), "device " + d + " of stage " + pn.stage());
                }
                checked++;
            }
        }
        return checked;
    }

    static float[] run(Path model, long[][] ids) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions());
                OnnxTensor in = OnnxTensor.createTensor(env, ids);
                OrtSession.Result r = s.run(Map.of(s.getInputNames().iterator().next(), in))) {
            OnnxTensor out = (OnnxTensor) r.get(0);
            java.nio.FloatBuffer fb = out.getFloatBuffer();
            float[] f = new float[fb.remaining()];
            fb.get(f);
            return f;
        }
    }

    @Test
    void annotatedBundledModelRunsInOnnxRuntimeAndReadsBackToThePlan(@TempDir Path dir) throws Exception {
        Path f = bundledFile();
        ModelSource src = b -> OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L))).graph();
        Plan plan = Planner.forCluster(a100(8)).withBatch(64).withDims(Map.of("batch", 64L, "seq", 128L))
                .withSearch(SearchOptions.singleStage(false, 0).withTensor(4)).withModel("builtin:transformer", "").plan(src);
        ExportModel m = new ExportModel("builtin:transformer", src.at(64), src, Optional.of(f));
        Path out = dir.resolve("annotated.onnx");
        Exporter.Result r = Exporters.require("onnx").export(new Exporter.Request(plan, Optional.of(m), false, Optional.of(out)));
        assertEquals(Optional.of(out), r.written());
        DeviceAnnotations a = DeviceAnnotations.read(out);
        assertEquals(1, a.configurations().size());
        assertEquals(8, a.configurations().get(0).numDevices());
        assertEquals(8, a.configurations().get(0).devices().size());
        int specs = check(plan, EngineView.coarse(plan, m), a);
        assertTrue(specs > plan.nodes().size(), "specs checked: " + specs);
        // the original model has none; ONNX Runtime computes the same logits from both
        assertTrue(DeviceAnnotations.read(f).nodes().isEmpty());
        long[][] ids = new long[2][16];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 16; j++) {
                ids[i][j] = (i * 31 + j * 7) % 1000;
            }
        }
        assertArrayEquals(run(f, ids), run(out, ids));
    }

    /** Runs a model whose inputs are all int64 [1, n] token tensors (ids, mask, type ids) and returns its first output. */
    static float[] runTokens(Path model, int n) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(model.toString(), new OrtSession.SessionOptions())) {
            Map<String, OnnxTensor> in = new java.util.LinkedHashMap<>();
            for (String name : s.getInputNames()) {
                long[][] v = new long[1][n];
                for (int j = 0; j < n; j++) {
                    v[0][j] = name.contains("mask") ? 1 : name.contains("type") ? 0 : 100 + 13 * j;
                }
                in.put(name, OnnxTensor.createTensor(env, v));
            }
            try (OrtSession.Result r = s.run(in)) {
                java.nio.FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                float[] f = new float[fb.remaining()];
                fb.get(f);
                return f;
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    @Test
    void annotatedMiniLmOfIrVersion6RunsInOnnxRuntime(@TempDir Path dir) throws Exception {
        Path f = org.shardplan.export.TestPlansAccess.buildData("all-minilm-l6-v2.onnx");
        Map<String, Long> dims = Map.of("batch_size", 8L, "sequence_length", 128L);
        ModelSource src = b -> OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(
                Map.of("batch_size", b, "sequence_length", 128L))).graph();
        Plan plan = Planner.forCluster(a100(8)).withBatch(8).withDims(dims)
                .withSearch(SearchOptions.singleStage(false, 0).withTensor(4)).withModel("all-minilm-l6-v2.onnx", "").plan(src);
        ExportModel m = new ExportModel("minilm", src.at(8), src, Optional.of(f));
        Path out = dir.resolve("minilm.onnx");
        Exporters.require("onnx").export(new Exporter.Request(plan, Optional.of(m), false, Optional.of(out)));
        assertTrue(check(plan, EngineView.coarse(plan, m), DeviceAnnotations.read(out)) > plan.nodes().size());
        assertArrayEquals(runTokens(f, 16), runTokens(out, 16));
    }

    @Test
    void pipelineStagesAndStageDevicesOfADecoder(@TempDir Path dir) throws Exception {
        String name = "gpt?layers=4,hidden=256,heads=8";
        ModelSource src = b -> BuiltinModels.read(name, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L))).graph();
        Plan plan = Planner.forCluster(a100(8)).withBatch(8).withDims(Map.of("batch", 8L, "seq", 128L))
                .withSearch(SearchOptions.AUTO.withPipeline(2).withMicroBatches(4).withSchedule("1f1b"))
                .withModel("builtin:" + name, "").plan(src);
        assertEquals(2, plan.stages().size());
        ExportModel m = new ExportModel(name, src.at(8), src, Optional.of(BuiltinModels.materialize(name)));
        Path out = dir.resolve("gpt.onnx");
        Exporters.require("onnx").export(new Exporter.Request(plan, Optional.of(m), false, Optional.of(out)));
        DeviceAnnotations a = DeviceAnnotations.read(out);
        assertTrue(check(plan, EngineView.coarse(plan, m), a) > 0);
        Set<Integer> stages = new HashSet<>();
        a.nodes().values().forEach(cs -> stages.add(cs.get(0).pipelineStage().orElseThrow()));
        assertEquals(Set.of(0, 1), stages);
        // (a built-in decoder is written without its weights, so ONNX Runtime cannot run it; the bundled test runs one)
    }
}
