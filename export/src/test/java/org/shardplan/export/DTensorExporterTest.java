package org.shardplan.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Value;
import org.shardplan.planner.Plan;
import org.shardplan.planner.SearchOptions;

/**
 * DTensor plans of real PyTorch exports (build-data): MiniLM (sentence-transformers all-MiniLM-L6-v2,
 * a BERT encoder exported by PyTorch 2.0) and the GPT-2-style decoder of dev/export-models.py. The
 * module paths must be the models' own (each names parameters of the graph) and the Megatron pairs
 * must come out column- then row-parallel.
 */
class DTensorExporterTest {

    /** The {@code parallelize_plan} entries: module path -> style text. */
    static Map<String, String> entries(String text) {
        Map<String, String> r = new LinkedHashMap<>();
        // the style's arguments may nest parentheses: ColwiseParallel(input_layouts=Shard(1))
        Matcher m = Pattern.compile("^    \"([^\"]+)\": ((?:Colwise|Rowwise|Sequence)Parallel\\(.*\\)),$", Pattern.MULTILINE)
                .matcher(text.substring(text.indexOf("parallelize_plan = {"), text.indexOf("split_spec")));
        while (m.find()) {
            r.put(m.group(1), m.group(2));
        }
        return r;
    }

    /**
     * The state-dict names of the model's weights: its parameters, and the outputs of the {@code Identity} nodes
     * that stand for the weights an exporter merged into one initializer (torch 1.13 keeps one of the GPT-2-style
     * decoder's equal LayerNorm weights and names the others' Identity outputs {@code h.3.ln_2.weight}).
     */
    static Set<String> parameterNames(ExportModel m) {
        Set<String> r = m.graph().parameters().stream().map(Value::name).collect(Collectors.toCollection(java.util.HashSet::new));
        for (org.shardplan.graph.Node n : m.graph().nodes()) {
            if (n.opType().equals("Identity") && n.inputs().get(0).kind() == Value.Kind.PARAMETER) {
                r.add(n.outputs().get(0).name());
            }
        }
        return r;
    }

    static void assertRealPaths(Map<String, String> e, ExportModel m) {
        Set<String> params = parameterNames(m);
        Set<String> scopes = m.graph().nodes().stream().map(n -> ModulePaths.fromNodeName(n.name()).orElse(""))
                .collect(Collectors.toSet());
        for (String path : e.keySet()) {
            // a module with parameters of its own, or (a tied output layer) one PyTorch's exporter names a scope
            assertTrue(params.contains(path + ".bias") || params.contains(path + ".weight") || scopes.contains(path),
                    path + " names no parameter or scope of the model (a module path must be the model's own)");
        }
    }

    @Test
    void miniLmGetsBertModulePathsInMegatronPairs() throws Exception {
        ExportModel m = TestPlans.file(TestPlans.buildData("all-minilm-l6-v2.onnx"), "batch_size", 8,
                Map.of("sequence_length", 128L));
        Plan p = TestPlans.plan(m, "all-minilm-l6-v2.onnx", 8, Map.of("batch_size", 8L, "sequence_length", 128L), 8,
                SearchOptions.singleStage(false, 0).withTensor(4));
        Exporter.Result r = Exporters.require("dtensor").export(new Exporter.Request(p, Optional.of(m), true, Optional.empty()));
        Map<String, String> e = entries(r.text());
        assertRealPaths(e, m);
        for (int l = 0; l < 6; l++) {
            String b = "encoder.layer." + l + ".";
            for (String qkv : new String[] {"query", "key", "value"}) {
                assertTrue(e.get(b + "attention.self." + qkv).startsWith("ColwiseParallel("), b + qkv + ": " + e);
            }
            assertTrue(e.get(b + "attention.output.dense").startsWith("RowwiseParallel("), e.toString());
            assertTrue(e.get(b + "intermediate.dense").startsWith("ColwiseParallel("), e.toString());
            assertTrue(e.get(b + "output.dense").startsWith("RowwiseParallel("), e.toString());
        }
        Plan.Parallelism par = r.plan().parallelism();
        assertTrue(r.text().contains("MESH_SHAPE = (1, " + par.data() + ", " + par.tensor() + ")"), r.text());
        assertEquals(8, par.data() * par.tensor());
        assertEquals(4, par.tensor());
    }

    @Test
    void gpt2StyleExportRecoversModuleListIndicesFromParameterNames() throws Exception {
        // torch 1.13 named these nodes /c_attn_1/MatMul (the module list index dropped); the bias names
        // (h.1.c_attn.bias) give the path back
        ExportModel m = TestPlans.file(TestPlans.buildData("gpt2_style.onnx"), "batch", 8, Map.of("seq", 128L));
        Plan p = TestPlans.plan(m, "gpt2_style.onnx", 8, Map.of("batch", 8L, "seq", 128L), 8,
                SearchOptions.singleStage(false, 0).withTensor(4));
        Exporter.Result r = Exporters.require("dtensor").export(new Exporter.Request(p, Optional.of(m), true, Optional.empty()));
        Map<String, String> e = entries(r.text());
        assertRealPaths(e, m);
        for (int l = 0; l < 4; l++) {
            String b = "h." + l + ".";
            assertTrue(e.get(b + "c_attn").startsWith("ColwiseParallel("), e.toString());
            assertTrue(e.get(b + "c_proj").startsWith("RowwiseParallel("), e.toString());
            assertTrue(e.get(b + "c_fc").startsWith("ColwiseParallel("), e.toString());
            assertTrue(e.get(b + "mlp_proj").startsWith("RowwiseParallel("), e.toString());
        }
    }

    @Test
    void pipelineSplitPointsBeginLayers() throws Exception {
        ExportModel gpt = TestPlans.decoder("gpt?layers=4,hidden=256,heads=8", 8, 128);
        Plan p = TestPlans.plan(gpt, "builtin:gpt?layers=4,hidden=256,heads=8", 8, Map.of("batch", 8L, "seq", 128L), 8,
                SearchOptions.AUTO.withPipeline(2).withTensor(2).withMicroBatches(4).withSchedule("1f1b"));
        Exporter.Result r = Exporters.require("dtensor").export(new Exporter.Request(p, Optional.of(gpt), true, Optional.empty()));
        String spec = r.text().substring(r.text().indexOf("split_spec = {"));
        Matcher m = Pattern.compile("\"([^\"]+)\": SplitPoint.BEGINNING").matcher(spec);
        assertTrue(m.find(), spec);
        String point = m.group(1);
        assertTrue(point.matches("transformer\\.h\\.[1-3]"), point);
        assertTrue(!m.find(), "two stages have one split point: " + spec);
        // the stage boundary is where the plan's second stage begins
        Plan ap = r.plan();
        String first = ap.stages().get(1).nodes().get(0);
        assertTrue(first.startsWith("/" + point.replace('.', '/').replace("h/", "h.") + "/"), first + " vs " + point);
        assertTrue(r.text().contains("N_MICROBATCHES = 4"), r.text());
        assertTrue(r.text().contains("PIPELINE_SCHEDULE = \"Schedule1F1B\""), r.text());
    }
}
