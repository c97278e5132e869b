package org.shardplan.runtime.stages;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;
import org.shardplan.planner.Plan;

/**
 * Writes one ONNX model per stage of a pipeline plan, and {@code manifest.json}: {@code
 * stage<i>.onnx} holds the stage's nodes as the model wrote them, the initializers they read, inputs
 * named after the tensors it receives and outputs named after those it sends on (see {@link
 * StageSplit} for the placement rules). Chained in order, feeding each stage the tensors the manifest
 * names, the stages compute the model's outputs. The element types of the tensors crossing a cut come
 * from the importer's type inference; their shapes are left open, so a stage takes any batch size.
 * Running time: linear in the model's size, plus one import of the model.
 */
public final class StageExport {

    /** The manifest's format name. */
    public static final String FORMAT = "shardplan-stages/1";

    private StageExport() {}

    /**
     * What was written.
     *
     * @param directory the output folder
     * @param stages    the stage model files in order
     * @param manifest  the manifest file
     * @param split     the placement
     * @param graph     the model as the importer read it (symbolic dimensions unbound)
     * @param model     the model file as written (its graph inputs, initializers and nodes)
     */
    public record Result(Path directory, List<Path> stages, Path manifest, StageSplit split, Graph graph, ModelFile model) {
    }

    /** The placement of {@code modelFile}'s nodes into {@code plan}'s stages, without writing anything. */
    public static StageSplit split(Plan plan, ModelFile model, Graph imported) {
        List<List<String>> names = new ArrayList<>();
        for (Plan.Stage s : plan.stages()) {
            names.add(s.nodes());
        }
        Map<String, String> alias = new HashMap<>();
        if (imported != null) {
            for (Node n : imported.nodes()) {
                for (Value o : n.outputs()) {
                    if (!o.isAbsent()) {
                        alias.put(o.name(), n.name());
                    }
                }
            }
        }
        return StageSplit.of(model, names, alias);
    }

    /**
     * Writes the stages of {@code plan} for {@code modelFile} into {@code outDir} (created if needed).
     *
     * @throws IllegalArgumentException when the plan does not fit the model (names a node it lacks, or
     *         places a node before one whose output it reads)
     * @throws OnnxImportException      when the model cannot be read
     * @throws IOException              when a file cannot be written
     */
    public static Result write(Plan plan, Path modelFile, Path outDir) throws OnnxImportException, IOException {
        ModelFile model = ModelFile.read(modelFile);
        Graph graph = OnnxImporter.read(modelFile).graph();
        return write(plan, modelFile, model, graph, split(plan, model, graph), outDir);
    }

    /**
     * Writes the stages of {@code modelFile} given as node names per stage (for example from another
     * tool's partition); the manifest then has no plan section and no devices.
     */
    public static Result write(Path modelFile, List<List<String>> stageNodes, Path outDir)
            throws OnnxImportException, IOException {
        ModelFile model = ModelFile.read(modelFile);
        Graph graph = OnnxImporter.read(modelFile).graph();
        return write(null, modelFile, model, graph, StageSplit.of(model, stageNodes, Map.of()), outDir);
    }

    private static Result write(Plan plan, Path modelFile, ModelFile model, Graph graph, StageSplit split, Path outDir)
            throws IOException {
        Map<String, Integer> types = elementTypes(model, graph);
        Files.createDirectories(outDir);
        List<Path> files = new ArrayList<>();
        Map<String, TensorEntry> inits = new HashMap<>();
        model.initializers().forEach(t -> inits.put(t.name(), t));
        for (StageSplit.Stage s : split.stages()) {
            ModelBuilder b = ModelBuilder.like(model).graphName(model.graphName() + "_stage" + s.index());
            s.nodes().forEach(b::node);
            s.initializers().forEach(n -> b.initializer(inits.get(n)));
            for (String in : s.inputs()) {
                b.input(model.valueInfo(in).orElseGet(() -> ValueEntry.tensor(in, type(types, in), null)));
            }
            for (String out : s.outputs()) {
                b.output(model.outputs().stream().filter(v -> v.name().equals(out)).findFirst()
                        .orElseGet(() -> ValueEntry.tensor(out, type(types, out), null)));
            }
            Path f = outDir.resolve("stage" + s.index() + ".onnx");
            b.write(f);
            files.add(f);
        }
        Path manifest = outDir.resolve("manifest.json");
        Files.writeString(manifest, manifest(plan, modelFile, model, split, files));
        return new Result(outDir, files, manifest, split, graph, model);
    }

    private static int type(Map<String, Integer> types, String name) {
        Integer t = types.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the element type of " + name + ", which crosses a stage cut, is not known"
                    + " (the importer inferred none)");
        }
        return t;
    }

    /** ONNX element types of every tensor the importer typed, and of the model's declared values. */
    private static Map<String, Integer> elementTypes(ModelFile model, Graph graph) {
        Map<String, Integer> m = new HashMap<>();
        for (Node n : graph.nodes()) {
            for (Value v : n.inputs()) {
                put(m, v);
            }
            for (Value v : n.outputs()) {
                put(m, v);
            }
        }
        graph.inputs().forEach(v -> put(m, v));
        graph.outputs().forEach(v -> put(m, v));
        return m;
    }

    private static void put(Map<String, Integer> m, Value v) {
        if (v == null || v.isAbsent()) {
            return;
        }
        DType d = v.dtype();
        if (d != null && d.onnxCode() > 0) {
            m.putIfAbsent(v.name(), d.onnxCode());
        }
    }

    private static String manifest(Plan plan, Path modelFile, ModelFile model, StageSplit split, List<Path> files)
            throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = om.createObjectNode();
        root.put("format", FORMAT);
        ObjectNode mo = root.putObject("model");
        mo.put("file", modelFile.getFileName().toString());
        if (plan != null) {
            mo.put("name", plan.model().name());
            mo.put("sha256", plan.model().sha256());
        }
        ArrayNode mi = mo.putArray("inputs");
        for (ValueEntry v : model.inputs()) {
            if (model.initializer(v.name()).isEmpty()) {
                mi.add(v.name());
            }
        }
        ArrayNode mout = mo.putArray("outputs");
        model.outputs().forEach(v -> mout.add(v.name()));
        if (plan != null) {
            ObjectNode pl = root.putObject("plan");
            pl.put("cluster", plan.cluster().name());
            pl.put("device", plan.cluster().device());
            pl.put("schedule", plan.schedule().name());
            pl.put("microBatches", plan.parallelism().microBatches());
            pl.put("microBatchSize", plan.parallelism().microBatchSize());
            pl.put("predictedStepSeconds", plan.totals().stepSeconds());
        }
        Map<String, Integer> producedBy = new HashMap<>();
        for (StageSplit.Stage s : split.stages()) {
            for (String o : s.outputs()) {
                producedBy.putIfAbsent(o, s.index());
            }
        }
        ArrayNode st = root.putArray("stages");
        for (StageSplit.Stage s : split.stages()) {
            ObjectNode o = st.addObject();
            o.put("index", s.index());
            o.put("file", files.get(s.index()).getFileName().toString());
            Plan.Stage ps = plan == null ? null : plan.stages().get(s.index());
            if (ps != null) {
                ArrayNode dev = o.putArray("devices");
                for (int d = ps.firstDevice(); d <= ps.lastDevice(); d++) {
                    dev.add(d);
                }
            }
            o.put("nodes", s.nodes().size());
            o.put("initializers", s.initializers().size());
            ArrayNode ins = o.putArray("inputs");
            for (String in : s.inputs()) {
                ObjectNode io = ins.addObject();
                io.put("name", in);
                Integer from = producedBy.get(in);
                if (from == null || from >= s.index()) {
                    io.put("from", "model");
                } else {
                    io.put("from", from);
                }
            }
            ArrayNode outs = o.putArray("outputs");
            s.outputs().forEach(outs::add);
            if (ps != null) {
                o.put("predictedForwardSeconds", ps.forwardSeconds());
            }
        }
        return om.writeValueAsString(root) + "\n";
    }
}
