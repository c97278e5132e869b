package org.shardplan.planner.parareal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.profile.Ort;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.planner.Plan;

/** The rewritten ONNX models, run in ONNX Runtime next to the originals. */
class PararealRewriteTest {

    /** A parareal section for a chain of the model cut before the given blocks (figures other than the cut left 0). */
    static Plan.Parareal section(CoarseGraph cg, Chain c, int... cutBlocks) {
        List<String> cuts = new ArrayList<>();
        for (int k : cutBlocks) {
            cuts.add(cg.node(c.layers().get(k).from()).name());
        }
        int n = cutBlocks.length + 1;
        return new Plan.Parareal(n, c.firstName(cg), c.lastName(cg), cuts, c.length(), 1, 0, 0, "test", 0, 0, 0,
                java.util.Collections.nCopies(n, 0.0), 0, 0, 0, 0);
    }

    /** The model's outputs in ONNX Runtime, by name, for the inputs given. */
    static Map<String, float[]> run(Path model, Map<String, Object> feeds, Map<String, long[]> shapes) throws Exception {
        OrtEnvironment env = Ort.environment();
        try (OrtSession s = env.createSession(model.toString(), Ort.options(2))) {
            Map<String, OnnxTensor> in = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Object> e : feeds.entrySet()) {
                    long[] shape = shapes.get(e.getKey());
                    in.put(e.getKey(), e.getValue() instanceof float[] f ? OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape)
                            : OnnxTensor.createTensor(env, LongBuffer.wrap((long[]) e.getValue()), shape));
                }
                Map<String, float[]> r = new LinkedHashMap<>();
                try (OrtSession.Result res = s.run(in)) {
                    for (Map.Entry<String, OnnxValue> e : res) {
                        OnnxTensor t = (OnnxTensor) e.getValue();
                        FloatBuffer b = t.getFloatBuffer();
                        float[] x = new float[b.remaining()];
                        b.get(x);
                        r.put(e.getKey() + java.util.Arrays.toString(t.getInfo().getShape()), x);
                    }
                }
                return r;
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }
    }

    /** Largest |a - b| over the largest |a|. */
    static double relative(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        return diff / scale;
    }

    private static Map<String, Object> image(int batch) {
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[batch * 3 * 224 * 224];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return Map.of("image", x);
    }

    private static Map<String, Object> tokens(int batch, int seq) {
        SplittableRandom r = new SplittableRandom(11);
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        long[] types = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + r.nextInt(20000);
            mask[i] = i % seq < seq - 3 || i < seq ? 1 : 0;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_ids", ids);
        m.put("attention_mask", mask);
        m.put("token_type_ids", types);
        return m;
    }

    private static Map<String, long[]> shapes(Graph g) {
        Map<String, long[]> r = new LinkedHashMap<>();
        for (Value v : g.inputs()) {
            r.put(v.name(), v.shape().toLongs());
        }
        return r;
    }

    private static Path write(Path model, Graph g, Plan.Parareal p, PararealRewrite.Options o, Path out) throws Exception {
        PararealRewrite.Rewritten r = PararealRewrite.rewrite(ModelFile.read(model), g, p, o, model.getParent());
        return r.builder().write(out);
    }

    @Test
    void copiedCoarseBlocksReproduceResnet50(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet50.onnx");
        Graph g = Models.graph("resnet50.onnx", Map.of("batch", 2L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Chain layer3 = Chains.find(cg).get(0);
        Path out = write(model, g, section(cg, layer3, 2, 4), new PararealRewrite.Options(PararealRewrite.Coarse.COPY, 0),
                dir.resolve("copy.onnx"));
        Map<String, float[]> a = run(model, image(2), shapes(g));
        Map<String, float[]> b = run(out, image(2), shapes(g));
        assertEquals(a.keySet(), b.keySet(), "the same outputs of the same shapes");
        for (String k : a.keySet()) {
            double rel = relative(a.get(k), b.get(k));
            assertTrue(rel <= 1e-4, k + ": relative difference " + rel);
        }
    }

    /** A parareal section tearing every chain of the model (in model order) into two halves. */
    static Plan.Parareal everyChainInHalves(CoarseGraph cg) {
        List<Chain> chains = new ArrayList<>(Chains.find(cg));
        chains.sort(java.util.Comparator.comparingInt(Chain::from));
        List<Plan.PararealChain> r = new ArrayList<>();
        for (Chain c : chains) {
            int half = c.length() / 2;
            r.add(new Plan.PararealChain(2, c.firstName(cg), c.lastName(cg),
                    List.of(cg.node(c.layers().get(half).from()).name()), c.length(), 1, 0, 0, List.of(0.0, 0.0), 0, 0));
        }
        return new Plan.Parareal(r, "test", 0, 0, 0, 0, 0);
    }

    @Test
    void copiedCoarseBlocksOfEveryResnet50StageReproduceIt(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet50.onnx");
        Graph g = Models.graph("resnet50.onnx", Map.of("batch", 2L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Plan.Parareal p = everyChainInHalves(cg);
        // the stages' 2, 3, 5 and 2 equal bottlenecks
        assertEquals(List.of(2, 3, 5, 2), p.chains().stream().map(Plan.PararealChain::chainBlocks).toList());
        Path out = write(model, g, p, new PararealRewrite.Options(PararealRewrite.Coarse.COPY, 0), dir.resolve("copy.onnx"));
        Map<String, float[]> a = run(model, image(2), shapes(g));
        Map<String, float[]> b = run(out, image(2), shapes(g));
        assertEquals(a.keySet(), b.keySet(), "the same outputs of the same shapes");
        for (String k : a.keySet()) {
            double rel = relative(a.get(k), b.get(k));
            assertTrue(rel <= 1e-4, k + ": relative difference " + rel);
        }
        ModelFile m = ModelFile.read(out);
        for (int k = 1; k <= 4; k++) {
            assertEquals(List.of("Sub", "Add"), ops(m, "parareal/chain" + k + "/join2/"), "chain " + k);
        }
    }

    @Test
    void newCoarseBlocksOfEveryResnet50StageRun(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet50.onnx");
        Graph g = Models.graph("resnet50.onnx", Map.of("batch", 2L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Plan.Parareal p = everyChainInHalves(cg);
        PararealRewrite.Rewritten r = PararealRewrite.rewrite(ModelFile.read(model), g, p, PararealRewrite.Options.DEFAULT,
                model.getParent());
        Path out = r.builder().write(dir.resolve("block.onnx"));
        Map<String, float[]> a = run(model, image(2), shapes(g));
        Map<String, float[]> b = run(out, image(2), shapes(g));
        assertEquals(a.keySet(), b.keySet(), "the same outputs of the same shapes");
        // each chain's coarse network: 2 blocks of its stage's bottleneck, new parameters
        List<Chain> chains = new ArrayList<>(Chains.find(cg));
        chains.sort(java.util.Comparator.comparingInt(Chain::from));
        long expected = 0;
        ModelFile m = ModelFile.read(out);
        for (int k = 0; k < chains.size(); k++) {
            long block = blockParameters(cg, chains.get(k));
            assertEquals(2 * block, initializerElements(m, "parareal/chain" + (k + 1) + "/coarse"), "chain " + (k + 1));
            expected += 2 * block;
        }
        assertEquals(expected, r.newParameters());
    }

    /**
     * A pre-activation residual network written as ONNX: Conv stem, {@code blocks} blocks
     * x + Conv(Relu(Conv(Relu(x)))) (the next block reads both x and Relu(x)), Relu, Flatten, Gemm.
     */
    static Path preActivation(Path dir, int blocks) throws Exception {
        SplittableRandom r = new SplittableRandom(5);
        org.shardplan.onnx.edit.ModelBuilder b = org.shardplan.onnx.edit.ModelBuilder.create(8, Map.of("", 17L))
                .graphName("preact");
        b.input(org.shardplan.onnx.edit.ValueEntry.tensor("image", 1, List.of("batch", 3L, 8L, 8L)));
        String x = conv(b, r, "stem", "image", 3, 4);
        for (int k = 0; k < blocks; k++) {
            String p = "/block" + k;
            b.node(org.shardplan.onnx.edit.NodeSpec.of("Relu", p + "/pre").inputs(x).outputs(p + "/pre_out"));
            String h = conv(b, r, p + "/conv1", p + "/pre_out", 4, 4);
            b.node(org.shardplan.onnx.edit.NodeSpec.of("Relu", p + "/mid").inputs(h).outputs(p + "/mid_out"));
            String y = conv(b, r, p + "/conv2", p + "/mid_out", 4, 4);
            b.node(org.shardplan.onnx.edit.NodeSpec.of("Add", p + "/Add").inputs(y, x).outputs(p + "/sum"));
            x = p + "/sum";
        }
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Relu", "/post").inputs(x).outputs("/post_out"));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Flatten", "/flatten").inputs("/post_out").outputs("/flat")
                .attr("axis", 1L));
        b.initializer(org.shardplan.onnx.edit.TensorEntry.floats("fc.weight", new long[] {10, 256}, gaussian(r, 2560, 0.06)));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Gemm", "/fc").inputs("/flat", "fc.weight").outputs("logits")
                .attr("transB", 1L));
        b.output(org.shardplan.onnx.edit.ValueEntry.tensor("logits", 1, List.of("batch", 10L)));
        return b.write(dir.resolve("preact.onnx"));
    }

    private static String conv(org.shardplan.onnx.edit.ModelBuilder b, SplittableRandom r, String name, String in,
            int cin, int cout) {
        b.initializer(org.shardplan.onnx.edit.TensorEntry.floats(name + ".weight", new long[] {cout, cin, 3, 3},
                gaussian(r, cout * cin * 9, 1 / Math.sqrt(cin * 9))));
        b.node(org.shardplan.onnx.edit.NodeSpec.of("Conv", name).inputs(in, name + ".weight").outputs(name + "_out")
                .attr("kernel_shape", new long[] {3, 3}).attr("pads", new long[] {1, 1, 1, 1}));
        return name + "_out";
    }

    private static float[] gaussian(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return v;
    }

    @Test
    void aPreActivationChainIsCutAtTheResidualSumAndCopiesReproduceIt(@TempDir Path dir) throws Exception {
        Path model = preActivation(dir, 6);
        Graph g = org.shardplan.onnx.OnnxImporter.read(model,
                org.shardplan.onnx.ImportOptions.DEFAULT.withDims(Map.of("batch", 2L))).graph();
        CoarseGraph cg = Coarsening.coarsen(g);
        List<Chain> chains = Chains.find(cg);
        assertEquals(1, chains.size(), chains.toString());
        Chain c = chains.get(0);
        assertTrue(c.length() >= 5, c.toString());
        // the boundaries are the residual sums, not the Relu of them that the next block also reads
        for (int k = 1; k < c.length(); k++) {
            assertTrue(Chains.boundary(cg, c, k).name().endsWith("/sum"), Chains.boundary(cg, c, k).name());
        }
        assertTrue(c.output().name().endsWith("/sum"), c.output().name());
        assertEquals(List.of(), c.sideInputs(), "the Relu of the chain's input is computed from it");
        Map<String, long[]> shapes = Map.of("image", new long[] {2, 3, 8, 8});
        SplittableRandom r = new SplittableRandom(9);
        float[] img = gaussian(r, 2 * 3 * 64, 1);
        Map<String, float[]> a = run(model, Map.of("image", img), shapes);
        for (int[] cuts : new int[][] {{2}, {1, 3}}) {
            Path out = write(model, g, section(cg, c, cuts), new PararealRewrite.Options(PararealRewrite.Coarse.COPY, 0),
                    dir.resolve("copy" + cuts.length + ".onnx"));
            Map<String, float[]> b = run(out, Map.of("image", img), shapes);
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) {
                double rel = relative(a.get(k), b.get(k));
                assertTrue(rel <= 1e-4, k + ": relative difference " + rel);
            }
        }
        Path fresh = write(model, g, section(cg, c, 2), PararealRewrite.Options.DEFAULT, dir.resolve("block.onnx"));
        assertTrue(relative(a.values().iterator().next(), run(fresh, Map.of("image", img), shapes).values().iterator().next())
                > 1e-3, "new coarse blocks change the model");
    }

    @Test
    void copiedCoarseBlocksReproduceMinilm(@TempDir Path dir) throws Exception {
        Path model = Models.file("all-minilm-l6-v2.onnx");
        Graph g = Models.graph("all-minilm-l6-v2.onnx", Map.of("batch_size", 2L, "sequence_length", 16L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Chain layers = Chains.find(cg).get(0);
        Path out = write(model, g, section(cg, layers, 2, 4), new PararealRewrite.Options(PararealRewrite.Coarse.COPY, 0),
                dir.resolve("copy.onnx"));
        Map<String, float[]> a = run(model, tokens(2, 16), shapes(g));
        Map<String, float[]> b = run(out, tokens(2, 16), shapes(g));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            double rel = relative(a.get(k), b.get(k));
            assertTrue(rel <= 1e-4, k + ": relative difference " + rel);
        }
    }

    @Test
    void newCoarseBlocksRunWithTheOriginalsInputsAndOutputShapes(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet50.onnx");
        Graph g = Models.graph("resnet50.onnx", Map.of("batch", 2L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Chain layer3 = Chains.find(cg).get(0);
        Plan.Parareal p = section(cg, layer3, 3);
        Path out = write(model, g, p, PararealRewrite.Options.DEFAULT, dir.resolve("block.onnx"));
        Map<String, float[]> a = run(model, image(2), shapes(g));
        Map<String, float[]> b = run(out, image(2), shapes(g));
        assertEquals(a.keySet(), b.keySet(), "the same outputs of the same shapes");
        ModelFile m = ModelFile.read(out);
        // a bottleneck in the file: Conv, Relu, Conv, Relu, Conv, Add, Relu. G_1 is called once (on λ_0;
        // its correction cancels), G_2 twice (on λ_1 and on U_1); the join of segment 2 is a Sub and an Add
        assertEquals(List.of("Conv", "Relu", "Conv", "Relu", "Conv", "Add", "Relu"), ops(m, "parareal/coarse1/predict/"));
        assertEquals(7, count(m, "parareal/coarse1/"));
        assertEquals(ops(m, "parareal/coarse1/predict/"), ops(m, "parareal/coarse2/predict/"));
        assertEquals(ops(m, "parareal/coarse1/predict/"), ops(m, "parareal/coarse2/correct/"));
        assertEquals(14, count(m, "parareal/coarse2/"));
        assertEquals(List.of("Sub", "Add"), ops(m, "parareal/join2/"));
        assertTrue(count(m, "parareal/fine2/") > 0 && count(m, "parareal/fine1/") > 0);
        // the new parameters are the blocks' weights and biases: N times those of one bottleneck, a
        // weight that two of its nodes read (deduplicated by the exporter) counted once
        assertEquals(2 * blockParameters(cg, layer3), initializerElements(m, "parareal/coarse"));
    }

    /** The parameter elements of one block of the chain (its second), a weight that several nodes read counted once. */
    private static long blockParameters(CoarseGraph cg, Chain c) {
        long block = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = c.layers().get(1).from(); i < c.layers().get(1).to(); i++) {
            for (Value v : cg.node(i).parameters()) {
                if (seen.add(v.name())) {
                    block += v.shape().numElements().orElseThrow();
                }
            }
        }
        return block;
    }

    /** The elements of the model's initializers whose names start with {@code prefix}. */
    private static long initializerElements(ModelFile m, String prefix) {
        long fresh = 0;
        for (var t : m.initializers()) {
            if (t.name().startsWith(prefix)) {
                long n = 1;
                for (long d : t.dims()) {
                    n *= d;
                }
                fresh += n;
            }
        }
        return fresh;
    }

    @Test
    void newCoarseBlocksOfATransformerEncoderRun(@TempDir Path dir) throws Exception {
        Path model = Models.file("all-minilm-l6-v2.onnx");
        Graph g = Models.graph("all-minilm-l6-v2.onnx", Map.of("batch_size", 2L, "sequence_length", 16L));
        CoarseGraph cg = Coarsening.coarsen(g);
        Chain layers = Chains.find(cg).get(0);
        Path out = write(model, g, section(cg, layers, 2, 4), PararealRewrite.Options.DEFAULT, dir.resolve("block.onnx"));
        Map<String, float[]> a = run(model, tokens(2, 16), shapes(g));
        Map<String, float[]> b = run(out, tokens(2, 16), shapes(g));
        assertEquals(a.keySet(), b.keySet());
        for (String k : b.keySet()) {
            for (float x : b.get(k)) {
                assertTrue(Float.isFinite(x), k);
            }
        }
        assertTrue(relative(a.get(a.keySet().iterator().next()), b.get(b.keySet().iterator().next())) > 1e-3,
                "new coarse blocks change the model");
    }

    @Test
    void weightsThatAreGraphInputsStayInputs(@TempDir Path dir) throws Exception {
        // ResNet-18 with every weight a graph input (as a training framework may export it)
        ModelFile orig = ModelFile.read(Models.file("resnet18.onnx"));
        org.shardplan.onnx.edit.ModelBuilder mb = org.shardplan.onnx.edit.ModelBuilder.like(orig);
        orig.nodes().forEach(mb::node);
        orig.inputs().forEach(mb::input);
        orig.outputs().forEach(mb::output);
        SplittableRandom r = new SplittableRandom(3);
        Map<String, Object> feeds = new LinkedHashMap<>(image(2));
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("image", new long[] {2, 3, 224, 224});
        for (var t : orig.initializers()) {
            if (t.dataType() == 1 && t.dims().length >= 1) {
                List<Long> dims = new ArrayList<>();
                long count = 1;
                for (long d : t.dims()) {
                    dims.add(d);
                    count *= d;
                }
                mb.input(org.shardplan.onnx.edit.ValueEntry.tensor(t.name(), 1, dims));
                float[] w = new float[(int) count];
                double scale = t.dims().length == 1 ? 0.01 : 1 / Math.sqrt(count / t.dims()[0]);
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) (scale * r.nextGaussian());
                }
                feeds.put(t.name(), w);
                shapes.put(t.name(), t.dims());
            } else {
                mb.initializer(t);
            }
        }
        Path model = mb.write(dir.resolve("resnet18-weights-as-inputs.onnx"));
        Graph g = org.shardplan.onnx.OnnxImporter.read(model,
                org.shardplan.onnx.ImportOptions.DEFAULT.withDims(Map.of("batch", 2L))).graph();
        CoarseGraph cg = Coarsening.coarsen(g);
        Chain layer1 = Chains.find(cg).get(0);
        assertEquals(2, layer1.length());
        Path copy = write(model, g, section(cg, layer1, 1), new PararealRewrite.Options(PararealRewrite.Coarse.COPY, 0),
                dir.resolve("copy.onnx"));
        Path block = write(model, g, section(cg, layer1, 1), PararealRewrite.Options.DEFAULT, dir.resolve("block.onnx"));
        List<String> inputs = ModelFile.read(model).inputs().stream().map(x -> x.name()).toList();
        assertTrue(inputs.size() > 20, "the weights are inputs: " + inputs.size());
        for (Path p : List.of(copy, block)) {
            assertEquals(inputs, ModelFile.read(p).inputs().stream().map(x -> x.name()).toList(), "the same graph inputs");
        }
        assertTrue(ModelFile.read(block).initializers().stream().anyMatch(t -> t.name().startsWith("parareal/coarse2/")),
                "new coarse parameters are initializers");
        Map<String, float[]> a = run(model, feeds, shapes);
        Map<String, float[]> b = run(copy, feeds, shapes);
        for (String k : a.keySet()) {
            double rel = relative(a.get(k), b.get(k));
            assertTrue(rel <= 1e-4, k + ": relative difference " + rel);
        }
        assertEquals(a.keySet(), run(block, feeds, shapes).keySet(), "new coarse blocks: the same output shapes");
    }

    @Test
    void aPlanMadeWithPararealIsWrittenThroughThePublicApi(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet18.onnx");
        Graph g = Models.graph("resnet18.onnx", Map.of("batch", 4L));
        Plan plan = org.shardplan.planner.Planner.forCluster(org.shardplan.planner.Fixtures.a100(2)).withBatch(4)
                .withDims(Map.of("batch", 4L))
                .withSearch(org.shardplan.planner.SearchOptions.AUTO.withPipeline(1).withMicroBatches(1)
                        .withParareal(org.shardplan.planner.SearchOptions.Parareal.segments(2)))
                .plan(g);
        PararealRewrite.Written w = PararealRewrite.write(plan, model, dir.resolve("parareal.onnx"));
        assertEquals(2, w.segments());
        assertEquals(plan.parareal().orElseThrow().coarseParameters(), w.newParameters(),
                "the plan's count of the coarse network's parameters is what the rewrite creates");
        assertTrue(w.notes().get(1).startsWith("coarse network: 2 blocks"), w.notes().toString());
        // the file keeps the original's symbolic batch: it runs at another batch than the plan's
        Map<String, float[]> a = run(model, image(2), Map.of("image", new long[] {2, 3, 224, 224}));
        Map<String, float[]> b = run(w.file(), image(2), Map.of("image", new long[] {2, 3, 224, 224}));
        assertEquals(a.keySet(), b.keySet());
        Plan none = org.shardplan.planner.Planner.forCluster(org.shardplan.planner.Fixtures.a100(2)).withBatch(4).plan(g);
        ShardplanException e = assertThrows(ShardplanException.class,
                () -> PararealRewrite.write(none, model, dir.resolve("x.onnx")));
        assertEquals("the plan has no parareal section (make it with shardplan plan --parareal auto or --parareal N)",
                e.getMessage());
    }

    private static List<String> ops(ModelFile m, String prefix) {
        List<String> r = new ArrayList<>();
        for (NodeEntry e : m.nodes()) {
            if (e.name().startsWith(prefix)) {
                r.add(e.opType());
            }
        }
        return r;
    }

    private static int count(ModelFile m, String prefix) {
        int c = 0;
        for (NodeEntry e : m.nodes()) {
            if (e.name().startsWith(prefix)) {
                c++;
            }
        }
        return c;
    }

    @Test
    void aPlanWithoutASectionOrForAnotherModelIsRefused(@TempDir Path dir) throws Exception {
        Path model = Models.file("resnet18.onnx");
        Graph g = Models.graph("resnet18.onnx", Map.of("batch", 2L));
        Plan.Parareal wrong = new Plan.Parareal(2, "/layer3/x", "/layer3/y", List.of("/layer3/z"), 2, 1, 0, 0, "t", 0, 0, 0,
                List.of(0.0, 0.0), 0, 0, 0, 0);
        ShardplanException e = assertThrows(ShardplanException.class,
                () -> PararealRewrite.rewrite(ModelFile.read(model), g, wrong, PararealRewrite.Options.DEFAULT, model.getParent()));
        assertEquals("parareal.chain: /layer3/x .. /layer3/y is not a chain of shape-keeping blocks of model torch_jit"
                + " (is it the plan's model, at the plan's batch?)", e.getMessage());
        Plan.Parareal badCut = new Plan.Parareal(2, "/layer1/layer1.0/conv1/Conv", "/layer1/layer1.1/conv2/Conv",
                List.of("/layer1/layer1.0/conv2/Conv"), 2, 1, 0, 0, "t", 0, 0, 0, List.of(0.0, 0.0), 0, 0, 0, 0);
        ShardplanException c = assertThrows(ShardplanException.class,
                () -> PararealRewrite.rewrite(ModelFile.read(model), g, badCut, PararealRewrite.Options.DEFAULT, model.getParent()));
        assertEquals("parareal.cuts[0] must be the first node of a later block of the chain, found"
                + " /layer1/layer1.0/conv2/Conv", c.getMessage());
    }
}
