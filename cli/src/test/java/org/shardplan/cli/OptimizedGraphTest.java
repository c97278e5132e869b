package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.profile.OptimizedGraph;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/**
 * ONNX Runtime's optimized graphs (written by ONNX Runtime itself, nothing timed): they import
 * with every shape known, their work is the written graph's work, and every written node is
 * accounted for.
 */
class OptimizedGraphTest {
    private static final Path MODELS = Path.of("..").toAbsolutePath().normalize().resolve("build-data/models");

    @TempDir
    Path tmp;

    private static TensorEntry random(String name, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        SplittableRandom r = new SplittableRandom(name.hashCode());
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        return TensorEntry.floats(name, dims, v);
    }

    private static float[] fill(int n, float x) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, x);
        return v;
    }

    /**
     * x[1,16,8,8] -> Conv c1 (16x16x3x3, pad 1) -> BatchNormalization bn -> Relu r1 -> Conv c2
     * (16x16x1x1, bias) -> Add a (c2 + r1) -> Relu r2 -> y.
     */
    private Path block() throws Exception {
        long c = 16;
        byte[] bytes = ModelBuilder.create(8, Map.of("", 17L)).graphName("block")
                .input(ValueEntry.tensor("x", 1, List.of(1, c, 8, 8)))
                .initializer(random("w1", c, c, 3, 3))
                .initializer(random("w2", c, c, 1, 1))
                .initializer(random("b2", c))
                .initializer(TensorEntry.floats("scale", new long[] {c}, fill((int) c, 1.5f)))
                .initializer(TensorEntry.floats("shift", new long[] {c}, fill((int) c, 0.1f)))
                .initializer(TensorEntry.floats("mean", new long[] {c}, fill((int) c, 0.2f)))
                .initializer(TensorEntry.floats("var", new long[] {c}, fill((int) c, 2f)))
                .node(NodeSpec.of("Conv", "c1").inputs("x", "w1").outputs("h1").attr("pads", new long[] {1, 1, 1, 1}))
                .node(NodeSpec.of("BatchNormalization", "bn").inputs("h1", "scale", "shift", "mean", "var").outputs("h2"))
                .node(NodeSpec.of("Relu", "r1").inputs("h2").outputs("h3"))
                .node(NodeSpec.of("Conv", "c2").inputs("h3", "w2", "b2").outputs("h4"))
                .node(NodeSpec.of("Add", "a").inputs("h4", "h3").outputs("h5"))
                .node(NodeSpec.of("Relu", "r2").inputs("h5").outputs("y"))
                .output(ValueEntry.tensor("y", 1, List.of(1, c, 8, 8)))
                .bytes();
        return Files.write(tmp.resolve("block.onnx"), bytes);
    }

    /** 2·|Y|·|W|/C_out summed over the convolutions: the multiply-adds, without bias and fused extras. */
    /** The multiply-add FLOPs of the 2-D {@code Conv} nodes of any domain (the blocked ones included), from their weights' shapes. */
    private static double conv2dMacFlops(Graph g) {
        double mac = 0;
        for (Node n : g.nodes()) {
            if (n.opType().equals("Conv")) {
                long[] w = n.input(1).shape().toLongs();
                mac += 2.0 * n.output(0).shape().numElements().getAsLong() * w[1] * w[2] * w[3];
            }
        }
        return mac;
    }

    private static double convMacFlops(Graph g) {
        double f = 0;
        for (Node n : g.nodes()) {
            if (n.opType().equals("Conv") || n.opType().equals("FusedConv")) {
                long[] w = n.input(1).shape().toLongs();
                long wn = 1;
                for (long d : w) {
                    wn *= d;
                }
                f += 2.0 * n.output(0).shape().numElements().getAsLong() * wn / w[0];
            }
        }
        return f;
    }

    private static void assertAllShapesKnown(Graph g) {
        for (Node n : g.nodes()) {
            for (Value v : n.outputs()) {
                assertTrue(v.shape().isFullyKnown(), n.domain() + ":" + n.opType() + " " + n.name() + " output " + v.name()
                        + " must have a known shape, found " + v.shape());
            }
            assertTrue(WorkAnalysis.of(n).complete(), n.domain() + ":" + n.opType() + " " + n.name()
                    + " must have its work counted");
        }
    }

    @Test
    void extendedFoldsBatchNormAndFusesTheActivationIntoTheConvolution() throws Exception {
        Path model = block();
        Path opt = OptimizedGraph.write(model, "extended", 1, tmp.resolve("block.extended.onnx"));
        Graph written = OnnxImporter.read(model).graph();
        Graph g = OnnxImporter.read(opt).graph();
        assertAllShapesKnown(g);
        OptimizedGraph.Accounting a = OptimizedGraph.account("extended", opt, written, g);
        assertEquals(List.of(), a.unaccounted());
        assertEquals(6, a.accountedNodes());
        OptimizedGraph.Fused first = a.nodes().stream().filter(f -> f.from().contains("c1")).findFirst().orElseThrow();
        assertEquals("com.microsoft:FusedConv", first.op());
        assertEquals(List.of("c1", "bn", "r1"), first.from());
        // the folded BatchNormalization becomes the convolution's bias, the Relu its activation:
        // 2·|Y|·16·9 multiply-adds, |Y| bias, |Y| activation, |Y| = 16·8·8
        Node fc = g.nodes().stream().filter(n -> n.name().equals(first.node())).findFirst().orElseThrow();
        double y = 16 * 8 * 8;
        assertEquals(2 * y * 16 * 9 + y + y, WorkAnalysis.of(fc).flops(), 1e-9);
        assertEquals(convMacFlops(written), convMacFlops(g), 1e-9);
    }

    /** The report names the fusions in text and JSON (a report built by hand: nothing measured). */
    @Test
    void reportListsFusionsInTextAndJson() throws Exception {
        Path model = block();
        Path opt = OptimizedGraph.write(model, "extended", 1, tmp.resolve("block.extended.onnx"));
        Graph written = OnnxImporter.read(model).graph();
        Graph g = OnnxImporter.read(opt).graph();
        OptimizedGraph.Accounting a = OptimizedGraph.account("extended", opt, written, g);
        org.shardplan.cost.profile.ProfileReport r = new org.shardplan.cost.profile.ProfileReport("block.onnx",
                "cpu-local", "id", 1e-6, List.of(), java.util.OptionalDouble.empty(), java.util.Optional.empty(), 0, 0)
                .withOptimization(a);
        String text = ProfileCommand.table(r, tmp.resolve("cal.json"));
        assertTrue(text.contains("level extended: 6 written nodes -> " + g.nodes().size() + " nodes ONNX Runtime runs"), text);
        assertTrue(text.contains("Conv+BatchNormalization+Relu -> com.microsoft:FusedConv"), text);
        assertTrue(text.contains("Conv 'c1' + BatchNormalization 'bn' + Relu 'r1'"), text);
        com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.toJson());
        com.fasterxml.jackson.databind.JsonNode o = j.path("optimization");
        assertEquals("extended", o.path("level").asText());
        assertEquals(6, o.path("writtenNodes").asInt());
        com.fasterxml.jackson.databind.JsonNode first = o.path("fusions").get(0);
        assertEquals("com.microsoft:FusedConv", first.path("op").asText());
        assertEquals(List.of("c1", "bn", "r1"), List.of(first.path("from").get(0).path("name").asText(),
                first.path("from").get(1).path("name").asText(), first.path("from").get(2).path("name").asText()));
        assertEquals("BatchNormalization", first.path("from").get(1).path("op").asText());
        assertEquals(0, o.path("unaccounted").size());
    }

    @Test
    void levelAllBlockedLayoutImportsWithTheWrittenShapesAndWork() throws Exception {
        Path model = block();
        Path opt = OptimizedGraph.write(model, "all", 1, tmp.resolve("block.all.onnx"));
        Graph written = OnnxImporter.read(model).graph();
        Graph g = OnnxImporter.read(opt).graph();
        assertAllShapesKnown(g);
        List<String> ops = new ArrayList<>();
        g.nodes().forEach(n -> ops.add(n.domain() + ":" + n.opType()));
        Assumptions.assumeTrue(ops.contains("com.microsoft.nchwc:Conv"), "this processor has no NCHWc kernels: " + ops);
        Node last = g.nodes().get(g.nodes().size() - 1);
        assertEquals("ReorderOutput", last.opType());
        assertEquals(List.of(1L, 16L, 8L, 8L), java.util.Arrays.stream(last.output(0).shape().toLongs()).boxed().toList());
        // 16 channels are a whole block for AVX2 (8) and AVX-512 (16): no padding, the same multiply-adds
        double mac = conv2dMacFlops(g);
        assertEquals(convMacFlops(written), mac, 1e-9);
        OptimizedGraph.Accounting a = OptimizedGraph.account("all", opt, written, g);
        assertEquals(List.of(), a.unaccounted());
        assertEquals(6, a.accountedNodes());
        assertTrue(a.inserted().stream().allMatch(f -> f.op().startsWith("com.microsoft.nchwc:Reorder")), a.inserted().toString());
        assertEquals(List.of("c1", "bn", "r1"), a.nodes().stream().filter(f -> f.from().contains("c1")).findFirst()
                .orElseThrow().from());
        // the residual Add and the second Relu go with the second convolution (its sum input and activation)
        assertEquals(List.of("c2", "a", "r2"), a.nodes().stream().filter(f -> f.from().contains("c2")).findFirst()
                .orElseThrow().from());
    }

    /** ResNet-50 at level all: 53 convolutions, all blocked, the same multiply-adds, every node accounted for. */
    @Test
    void resnet50AtLevelAll() throws Exception {
        Path model = MODELS.resolve("resnet50.onnx");
        Assumptions.assumeTrue(Files.isRegularFile(model), "build-data/models/resnet50.onnx missing");
        ImportOptions io = ImportOptions.DEFAULT.withInputShapes(Map.of("image", List.of(2L, 3L, 224L, 224L)));
        Path opt = OptimizedGraph.write(model, "all", 1, tmp.resolve("resnet50.all.onnx"));
        Graph written = OnnxImporter.read(model, io).graph();
        Graph g = OnnxImporter.read(opt, io).graph();
        assertAllShapesKnown(g);
        long blocked = g.nodes().stream().filter(n -> n.domain().equals("com.microsoft.nchwc") && n.opType().equals("Conv")).count();
        Assumptions.assumeTrue(blocked > 0, "this processor has no NCHWc kernels");
        assertEquals(53, blocked);
        double mac = conv2dMacFlops(g);
        // every channel count of ResNet-50 is a multiple of 16 and the first convolution reads the
        // 3-channel image as it is: no padding anywhere
        assertEquals(convMacFlops(written), mac, 1e-9);
        OptimizedGraph.Accounting a = OptimizedGraph.account("all", opt, written, g);
        assertEquals(List.of(), a.unaccounted());
        long live = written.nodes().size() - a.folded().size() - a.removed().size();
        assertEquals(live, a.accountedNodes());
    }

    /** MobileNet-v2 at level extended: its 35 Conv+Clip (ReLU6) pairs become 35 FusedConv nodes. */
    @Test
    void mobilenetV2AtLevelExtended() throws Exception {
        Path model = MODELS.resolve("mobilenet_v2.onnx");
        Assumptions.assumeTrue(Files.isRegularFile(model), "build-data/models/mobilenet_v2.onnx missing");
        ImportOptions io = ImportOptions.DEFAULT.withInputShapes(Map.of("image", List.of(1L, 3L, 224L, 224L)));
        Path opt = OptimizedGraph.write(model, "extended", 1, tmp.resolve("mobilenet_v2.extended.onnx"));
        Graph written = OnnxImporter.read(model, io).graph();
        Graph g = OnnxImporter.read(opt, io).graph();
        assertAllShapesKnown(g);
        OptimizedGraph.Accounting a = OptimizedGraph.account("extended", opt, written, g);
        assertEquals(List.of(), a.unaccounted());
        assertEquals(Map.entry("Conv+Clip -> com.microsoft:FusedConv", 35), OptimizedGraph.patterns(a).get(0));
        assertEquals(convMacFlops(written), convMacFlops(g), 1e-9);
    }
}
