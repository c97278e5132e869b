package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * The single-operator models of ONNX's backend test data (Debian's libonnx-testdata) as a
 * conformance suite: for every node test, the shapes and element types shardplan infers for the
 * graph outputs must equal those of the reference outputs. Shapes the file declares for its outputs
 * are ignored, so only inference is tested. Two runs: from the declared input types alone, and with
 * the reference inputs' contents bound (as when the model runs: data-dependent shapes such as
 * Reshape targets fed as inputs then resolve). Writes {@code frontend-onnx/target/conformance.md}.
 */
class ConformanceTest {
    static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");
    static final Path NODE_TESTS = DATA.resolve("node");
    /** The other suites of the package: PyTorch-converted modules and operators, small multi-node models. */
    static final List<String> OTHER_SUITES = List.of("pytorch-converted", "pytorch-operator", "simple");

    record Outcome(String test, boolean supported, boolean passStatic, boolean passBound, String reason,
                   List<String> ops) {
    }

    record Suite(String name, int tests, int supported, int passStatic, int passBound, String markdown) {
    }

    @Test
    void inferredOutputShapesMatchReferenceOutputs() throws IOException {
        TestData.require(NODE_TESTS, "libonnx-testdata");
        Suite node = suite(NODE_TESTS);
        List<Suite> others = new ArrayList<>();
        for (String name : OTHER_SUITES) {
            if (Files.isDirectory(DATA.resolve(name))) {
                others.add(suite(DATA.resolve(name)));
            }
        }
        StringBuilder md = new StringBuilder();
        md.append("# ONNX test-data conformance of shardplan's shape inference\n\n");
        md.append("Source: `").append(DATA).append("` (Debian libonnx-testdata). For every model, the shapes and element ")
                .append("types inferred for the graph outputs must equal those of the reference outputs ")
                .append("(`test_data_set_0/output_*.pb`); the shapes the file declares for its outputs are ignored. ")
                .append("Written by `ConformanceTest` (`mvn -pl frontend-onnx -am test`).\n\n");
        md.append("| suite | tests | operators supported | pass from input types alone | pass with reference inputs bound |\n");
        md.append("|---|---:|---:|---:|---:|\n");
        List<Suite> all = new ArrayList<>();
        all.add(node);
        all.addAll(others);
        for (Suite x : all) {
            md.append(String.format("| %s | %d | %d | %d | %d (%.1f%%) |%n", x.name, x.tests, x.supported, x.passStatic,
                    x.passBound, 100.0 * x.passBound / Math.max(1, x.supported)));
        }
        md.append('\n');
        for (Suite x : all) {
            md.append(x.markdown);
        }
        Path out = TestData.root().resolve("frontend-onnx/target/conformance.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, md.toString());
        double rate = (double) node.passBound / node.supported;
        assertTrue(node.supported >= 700, "expected most node tests to use supported operators, found " + node.supported);
        assertTrue(rate >= 0.95, String.format("only %d of %d supported node tests pass (%.1f%%); see %s",
                node.passBound, node.supported, 100 * rate, out));
        for (Suite x : others) {
            assertTrue(x.passBound >= 0.95 * x.supported, String.format("%s: only %d of %d supported tests pass; see %s",
                    x.name, x.passBound, x.supported, out));
        }
    }

    private static Suite suite(Path root) throws IOException {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(d -> Files.exists(d.resolve("model.onnx"))).sorted().toList();
        }
        List<Outcome> outcomes = new ArrayList<>();
        for (Path d : dirs) {
            outcomes.add(run(d));
        }
        int supported = 0;
        int passStatic = 0;
        int passBound = 0;
        Map<String, List<String>> failingOps = new TreeMap<>();
        for (Outcome o : outcomes) {
            if (!o.supported) {
                continue;
            }
            supported++;
            passStatic += o.passStatic ? 1 : 0;
            passBound += o.passBound ? 1 : 0;
            if (!o.passBound) {
                for (String op : o.ops.isEmpty() ? List.of("(model did not import)") : o.ops) {
                    failingOps.computeIfAbsent(op, k -> new ArrayList<>()).add(o.test + ": " + o.reason);
                }
            }
        }
        TreeSet<String> unsupportedOps = new TreeSet<>();
        List<String> excluded = new ArrayList<>();
        for (Outcome o : outcomes) {
            if (!o.supported) {
                excluded.add(o.test + " (" + o.reason + ")");
                if (o.reason.startsWith("unsupported")) {
                    unsupportedOps.addAll(o.ops);
                }
            }
        }
        String name = root.getFileName().toString();
        StringBuilder md = new StringBuilder();
        md.append("## ").append(name).append("\n\n### Failing tests by operator (inputs bound)\n\n");
        if (failingOps.isEmpty()) {
            md.append("None.\n");
        }
        failingOps.forEach((op, tests) -> {
            md.append("- **").append(op).append("**\n");
            tests.forEach(t -> md.append("  - ").append(t).append('\n'));
        });
        md.append("\n### Tests not counted (").append(excluded.size()).append(")\n\n");
        if (!unsupportedOps.isEmpty()) {
            md.append("Unsupported operators: ").append(String.join(", ", unsupportedOps)).append("\n\n");
        }
        excluded.forEach(t -> md.append("- ").append(t).append('\n'));
        md.append('\n');
        return new Suite(name, outcomes.size(), supported, passStatic, passBound, md.toString());
    }

    private static Outcome run(Path dir) {
        String test = dir.getFileName().toString();
        List<Tensor> refs = new ArrayList<>();
        Map<String, Tensor> inputs = new HashMap<>();
        Path data = dir.resolve("test_data_set_0");
        try {
            for (int i = 0; Files.exists(data.resolve("output_" + i + ".pb")); i++) {
                refs.add(TensorFile.read(data.resolve("output_" + i + ".pb")).tensor());
            }
        } catch (OnnxImportException e) {
            return new Outcome(test, false, false, false, "reference output is not a tensor", List.of());
        }
        ImportOptions opts = ImportOptions.DEFAULT.withTrustDeclaredShapes(false);
        ImportedModel statics;
        try {
            statics = OnnxImporter.read(dir.resolve("model.onnx"), opts);
        } catch (OnnxImportException e) {
            return new Outcome(test, true, false, false, "import failed: " + e.getMessage(), List.of());
        }
        List<String> ops = new ArrayList<>(new TreeSet<>(opsOf(statics.graph())));
        if (!statics.unknownOperators().isEmpty() || !statics.opaqueOperators().isEmpty()) {
            List<String> u = new ArrayList<>(statics.unknownOperators());
            u.addAll(statics.opaqueOperators());
            return new Outcome(test, false, false, false, "unsupported operators " + u, u);
        }
        try {
            Graph g = statics.graph();
            for (int i = 0; i < g.inputs().size(); i++) {
                Path p = data.resolve("input_" + i + ".pb");
                if (Files.exists(p)) {
                    inputs.put(g.inputs().get(i).name(), TensorFile.read(p).tensor());
                }
            }
        } catch (OnnxImportException e) {
            // Sequence or optional inputs: bind nothing.
            inputs.clear();
        }
        String staticReason = compare(statics.graph(), refs);
        String boundReason;
        try {
            ImportedModel bound = OnnxImporter.read(dir.resolve("model.onnx"), opts.withInputValues(inputs));
            boundReason = compare(bound.graph(), refs);
        } catch (OnnxImportException e) {
            boundReason = "import with inputs bound failed: " + e.getMessage();
        }
        return new Outcome(test, true, staticReason == null, boundReason == null,
                boundReason == null ? "" : boundReason, ops);
    }

    private static List<String> opsOf(Graph g) {
        List<String> r = new ArrayList<>();
        for (Node n : g.nodes()) {
            r.add(n.opType());
            for (Graph s : n.subgraphs()) {
                r.addAll(opsOf(s));
            }
        }
        return r;
    }

    /** Null when every output matches its reference, else why not. */
    private static String compare(Graph g, List<Tensor> refs) {
        if (g.outputs().size() < refs.size()) {
            return "model has " + g.outputs().size() + " outputs, reference " + refs.size();
        }
        for (int i = 0; i < refs.size(); i++) {
            Value v = g.outputs().get(i);
            Tensor r = refs.get(i);
            Shape want = r.shape();
            if (!v.shape().equals(want)) {
                return "output '" + v.name() + "' inferred " + v.shape() + ", reference " + want;
            }
            // ONNX's test data store bfloat16 reference outputs as uint16 tensors.
            boolean bf16Quirk = v.dtype() == DType.BFLOAT16 && r.dtype() == DType.UINT16;
            if (v.dtype() != r.dtype() && !bf16Quirk) {
                return "output '" + v.name() + "' inferred " + v.dtype() + ", reference " + r.dtype();
            }
        }
        return null;
    }
}
