package org.shardplan.onnx.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.Value;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;

class BuiltinModelsTest {

    static ImportedModel read(String name, long batch) throws ShardplanException {
        return BuiltinModels.read(name, ImportOptions.DEFAULT.withDims(Map.of("batch", batch)));
    }

    static Node node(Graph g, String name) {
        return g.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow(() ->
                new AssertionError("no node " + name));
    }

    @Test
    void megatronGptParameterCountsFollowTheirFormula() throws Exception {
        // gpt-1.7b: 24 layers of 12h^2 + 13h, token (51200 x h) and position (2048 x h) tables, final LayerNorm 2h.
        long h = 2304;
        long expected = 24 * (12 * h * h + 13 * h) + 51200 * h + 2048 * h + 2 * h;
        assertEquals(1_652_230_656L, expected);
        Graph g = read("gpt-1.7b", 1).graph();
        assertEquals(expected, g.parameterCount());
        // float16 weights: 2 bytes each
        assertEquals(2 * expected, g.parameterBytes());
        // Megatron-LM's own count, 12lh^2 (1 + 13/(12h) + (V + s)/(12lh)), is ours less the final LayerNorm
        double megatron = 12.0 * 24 * h * h * (1 + 13.0 / (12 * h) + (51200.0 + 2048) / (12.0 * 24 * h));
        assertEquals(megatron, expected - 2 * h, 1e-6 * megatron);
    }

    /**
     * Megatron-LM's 1T row at its global batch of 3,072 sequences: one forward pass does about
     * 2 x 1e12 parameters x 3072 x 2048 tokens = 1.3e19 FLOPs, more than a 64-bit count holds (9.2e18).
     * The model is imported, each node's work exact (the output layer's 2 x 3072 x 2048 x 25600 x 51200),
     * and the total summed in doubles.
     */
    @Test
    void workBeyondSixtyFourBitsIsCountedNotRefused() throws Exception {
        Graph g = read("gpt-1t", 3072).graph();
        double logits = WorkAnalysis.of(node(g, "/lm_head/MatMul")).flops();
        assertEquals(2L * 3072 * 2048 * 25600 * 51200, logits);
        WorkAnalysis.Totals t = WorkAnalysis.Totals.of(g);
        assertTrue(t.flops() > Long.MAX_VALUE, "total " + t.flops());
        // the forward pass is about 2 FLOPs per parameter per token plus attention's 4 s h per layer and token
        double tokens = 3072.0 * 2048;
        double expected = tokens * (2.0 * g.parameterCount() + 128 * 4.0 * 2048 * 25600);
        assertEquals(expected, t.flops(), 0.02 * expected);
    }

    @Test
    void llamaParameterCountsMatchThePublishedSizes() throws Exception {
        // Llama 2 7B: 32 x (4 h^2 attention + 3 h f MLP + 2h norms) + 2 V h (embedding and output) + h.
        long h = 4096;
        long llama2 = 32 * (4 * h * h + 3 * h * 11008 + 2 * h) + 2 * 32000 * h + h;
        assertEquals(6_738_415_616L, llama2);
        assertEquals(llama2, read("llama2-7b", 1).graph().parameterCount());
        // Llama 3 8B: k and v project to 8 heads of 128: 2 h^2 + 2 h (8 * 128) attention.
        long llama3 = 32 * (2 * h * h + 2 * h * 1024 + 3 * h * 14336 + 2 * h) + 2 * 128256 * h + h;
        assertEquals(8_030_261_248L, llama3);
        Graph g = read("llama3-8b", 1).graph();
        assertEquals(llama3, g.parameterCount());
        assertEquals(2 * llama3, g.parameterBytes()); // bfloat16
    }

    @Test
    void everyPresetIsWithinThreePercentOfItsNominalSize() throws Exception {
        for (Map.Entry<String, BuiltinModels.Preset> e : BuiltinModels.presets().entrySet()) {
            DecoderSpec s = e.getValue().spec();
            double billions = s.parameterCount() / 1e9;
            double nominal = e.getValue().nominalBillions();
            assertTrue(Math.abs(billions - nominal) <= 0.03 * nominal,
                    e.getKey() + ": " + billions + " B parameters vs nominal " + nominal);
        }
        // the graphs hold exactly that many (shapes only: importing even the largest is fast)
        for (String n : BuiltinModels.presets().keySet()) {
            assertEquals(BuiltinModels.parse(n).parameterCount(), read(n, 1).graph().parameterCount(), n);
        }
        assertEquals(174_604_259_328L, BuiltinModels.parse("gpt3-175b").parameterCount());
        assertEquals(405_853_388_800L, BuiltinModels.parse("llama3-405b").parameterCount());
    }

    @Test
    void theLayersAreOneBlockClassAndLargeModelsImportInSeconds() throws Exception {
        List<String> names = new java.util.ArrayList<>(BuiltinModels.presets().keySet());
        names.add("gpt?layers=3,hidden=64,heads=4");
        names.add("llama?layers=5,hidden=64,heads=8,kv-heads=2");
        for (String n : names) {
            long t0 = System.nanoTime();
            ImportedModel m = read(n, 2);
            CoarseGraph c = Coarsening.coarsen(m.graph());
            double seconds = (System.nanoTime() - t0) / 1e9;
            List<BlockClass> classes = c.blockClasses();
            assertEquals(1, classes.size(), n + ": " + classes);
            assertEquals(BuiltinModels.parse(n).layers(), classes.get(0).count(), n);
            assertTrue(m.warnings().isEmpty(), n + ": " + m.warnings());
            assertTrue(m.unknownOperators().isEmpty(), n + ": " + m.unknownOperators());
            // a few seconds on a quiet machine (about 1 s for gpt-1t, 2 s for llama3-405b); generous here
            assertTrue(seconds < 30, n + " took " + seconds + " s to import and coarsen");
        }
    }

    @Test
    void gptForwardFlopsMatchMegatronsCount() throws Exception {
        // Narayanan et al. SC'21, section 5.1: a forward pass of the layers is 24 B s l h^2 (1 + s/(6h)) FLOPs and
        // the logit layer 2 B s h V; a training step with activation recomputation runs the layers four times and
        // the logit layer three times: F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)).
        for (String n : List.of("gpt-1.7b", "gpt-7.5b")) {
            DecoderSpec s = BuiltinModels.parse(n);
            long b = 2;
            Graph g = read(n, b).graph();
            double h = s.hidden();
            double l = s.layers();
            double seq = s.seq();
            double v = s.vocab();
            double forward = WorkAnalysis.total(g).flops();
            double logits = WorkAnalysis.of(node(g, "/lm_head/MatMul")).flops();
            assertEquals(2 * b * s.seq() * s.hidden() * s.vocab(), logits, n);
            double layers = 24 * b * seq * l * h * h * (1 + seq / (6 * h));
            // the element-wise work (softmax, LayerNorm, GELU, biases, residuals) is the small remainder
            assertEquals(layers, forward - logits, 0.01 * layers, n);
            double megatron = 96 * b * seq * l * h * h * (1 + seq / (6 * h) + v / (16 * l * h));
            double step = 4.0 * (forward - logits) + 3.0 * logits;
            assertEquals(megatron, step, 0.01 * megatron, n);
            // without recomputation a step is three forward passes: 72 B s l h^2 (1 + s/(6h)) + 6 B s h V
            assertEquals(72 * b * seq * l * h * h * (1 + seq / (6 * h)) + 6 * b * seq * h * v, 3.0 * forward,
                    0.01 * 3 * forward, n);
        }
    }

    @Test
    void llamaForwardFlopsAreTwicePerParameterPerTokenPlusAttention() throws Exception {
        // 2 FLOPs per weight per token for every matrix (all parameters but the embedding table and the norms),
        // plus QK^T and PV: 2 * 2 B s^2 l h (the causal mask does not skip work).
        DecoderSpec s = BuiltinModels.parse("llama3-8b?seq=1024");
        long b = 2;
        Graph g = read("llama3-8b?seq=1024", b).graph();
        double tokens = b * s.seq();
        double matrices = s.parameterCount() - s.vocab() * s.hidden() - (2L * s.layers() + 1) * s.hidden();
        double expected = 2 * tokens * matrices + 4.0 * b * s.seq() * s.seq() * s.layers() * s.hidden();
        double forward = WorkAnalysis.total(g).flops();
        assertEquals(expected, forward, 0.01 * expected);
        // a training step, 3 forward passes, is the "6 N" rule plus attention: 6 N tokens within 10% here
        assertEquals(6 * tokens * matrices, 3 * forward, 0.10 * 3 * forward);
    }

    @Test
    void groupedQueryAttentionRepeatsKeyValueHeadsAndAttentionSplitsByHeads() throws Exception {
        Graph g = read("llama3-8b?layers=2,seq=256", 4).graph();
        Node expand = node(g, "/model/layers.0/self_attn/repeat_kv/Expand");
        assertEquals("[4, 8, 4, 256, 128]", expand.output(0).shape().toString());
        Node qk = node(g, "/model/layers.0/self_attn/MatMul");
        assertEquals("[4, 32, 256, 256]", qk.output(0).shape().toString());
        assertEquals(DType.BFLOAT16, qk.output(0).dtype());
        CoarseGraph c = Coarsening.coarsen(g);
        CoarseNode cn = c.nodeOf(qk.name()).orElseThrow();
        IterationSpace sp = CoarseSpaces.of(cn).orElseThrow();
        // b0 batch, b1 heads: both parallel, so attention splits by heads
        LoopDim heads = sp.dim("b1").orElseThrow();
        assertEquals(32, heads.extent());
        assertEquals(LoopKind.PARALLEL, heads.kind());
        assertEquals(LoopKind.REDUCTION, sp.dim("k").orElseThrow().kind());
    }

    @Test
    void sequenceDefaultsToThePresetAndBatchStaysSymbolic() throws Exception {
        ImportedModel m = BuiltinModels.read("gpt-1.7b?layers=2", ImportOptions.DEFAULT);
        Value in = m.graph().inputs().get(0);
        assertEquals("input_ids", in.name());
        assertEquals("[batch, 2048]", in.shape().toString());
        m = BuiltinModels.read("gpt-1.7b?layers=2", ImportOptions.DEFAULT.withDims(Map.of("batch", 3L, "seq", 512L)));
        assertEquals("[3, 512, 51200]", m.graph().outputs().get(0).shape().toString());
        assertEquals(DType.FLOAT16, m.graph().outputs().get(0).dtype());
        // weights are shapes with external data whose file is absent
        Value wte = m.graph().values().get("transformer.wte.weight");
        assertEquals(Value.Kind.PARAMETER, wte.kind());
        assertTrue(wte.externalData().isPresent());
    }

    @Test
    void megatronPresetsTrainWithDropoutAndEveryDecoderEndsInTheLoss() throws Exception {
        // Megatron's dropout (0.1) after the embeddings, on the attention probabilities and on both block outputs
        long b = 2;
        Graph g = read("gpt-1.7b?layers=2", b).graph();
        assertEquals(1 + 3 * 2, g.nodes().stream().filter(n -> n.opType().equals("Dropout")).count());
        Node drop = node(g, "/transformer/h.1/attn/attn_dropout/Dropout");
        assertTrue(Coarsening.isTrainingDropout(drop));
        assertEquals(0.1f, (float) drop.input(1).constant().orElseThrow().getDouble(0));
        // coarsening keeps them (they do work in training): the attention dropout runs in the softmax's node
        CoarseGraph c = Coarsening.coarsen(g);
        assertTrue(c.removedNodes().stream().noneMatch(n -> n.opType().equals("Dropout")), c.removedNodes().toString());
        assertTrue(c.nodes().stream().anyMatch(n -> n.anchor().name().equals("/transformer/h.1/attn/Softmax")
                && n.memberOps().contains("Dropout")));
        // the loss: the logits cast to float32, a cross-entropy per token over [B S, V], their mean
        Node ce = node(g, "/loss/SoftmaxCrossEntropyLoss");
        assertEquals("[" + b * 2048 + ", 51200]", ce.input(0).shape().toString());
        assertEquals(DType.FLOAT32, ce.input(0).dtype());
        assertEquals(6.0 * b * 2048 * 51200, WorkAnalysis.of(ce).flops());
        IterationSpace sp = org.shardplan.graph.space.IterationSpaces.of(ce).orElseThrow();
        assertEquals(LoopKind.PARALLEL, sp.dim("d0").orElseThrow().kind());
        assertEquals(LoopKind.COUPLED, sp.dim("d1").orElseThrow().kind());
        assertEquals(List.of("input_ids", "labels"), g.inputs().stream().map(Value::name).toList());
        assertEquals(List.of("logits", "loss"), g.outputs().stream().map(Value::name).toList());
        assertEquals("[]", g.outputs().get(1).shape().toString());
        // the parametric forms and the other presets train without dropout; both pieces are options
        Graph plain = read("gpt?layers=1,hidden=64,heads=4,loss=false", b).graph();
        assertTrue(plain.nodes().stream().noneMatch(n -> n.opType().equals("Dropout")
                || n.opType().equals("SoftmaxCrossEntropyLoss")));
        assertEquals(List.of("logits"), plain.outputs().stream().map(Value::name).toList());
        Graph dropped = read("gpt?layers=1,hidden=64,heads=4,dropout=0.2", b).graph();
        assertEquals(1 + 3, dropped.nodes().stream().filter(n -> n.opType().equals("Dropout")).count());
        assertEquals(0, read("llama3-8b?layers=1", b).graph().nodes().stream()
                .filter(n -> n.opType().equals("Dropout")).count());
        assertEquals(1 + 3, read("llama3-8b?layers=1,dropout=0.1", b).graph().nodes().stream()
                .filter(n -> n.opType().equals("Dropout")).count());
        assertEquals(0.0, BuiltinModels.parse("gpt-1.7b?dropout=0").dropout());
        assertTrue(!BuiltinModels.parse("llama2-7b?loss=off").loss());
    }

    @Test
    void parametricFormsAndOverrides() throws Exception {
        DecoderSpec g = BuiltinModels.parse("gpt?layers=24,hidden=2048,heads=16");
        assertEquals(List.of(24L, 2048L, 16L, 8192L, 2048L, 51200L),
                List.of((long) g.layers(), g.hidden(), (long) g.heads(), g.ffn(), g.seq(), g.vocab()));
        DecoderSpec l = BuiltinModels.parse("llama?layers=2,hidden=4096,heads=32,kv-heads=8,vocab=128256,dtype=fp32");
        assertEquals(11008, l.ffn()); // Llama's 2/3 * 4h rounded up to a multiple of 256
        assertEquals(8, l.kvHeads());
        assertEquals(DType.FLOAT32, l.dtype());
        DecoderSpec o = BuiltinModels.parse("llama3-70b?layers=4");
        assertEquals(4, o.layers());
        assertEquals(28672, o.ffn());
        assertEquals(8, o.kvHeads());
    }

    @Test
    void badNamesAreOneLineErrorsNamingTheKey() {
        String[][] cases = {
            {"gpt?layers=2,hidden=64", "missing key 'heads'"},
            {"gpt?layers=2,hidden=64,heads=4,depth=3", "unknown key 'depth'"},
            {"gpt?layers=2,hidden=64,heads=4,kv-heads=2", "unknown key 'kv-heads'"},
            {"gpt?layers=two,hidden=64,heads=4", "layers must be a positive integer, found 'two'"},
            {"gpt?layers=0,hidden=64,heads=4", "layers must be a positive integer"},
            {"gpt?layers=2,hidden=66,heads=4", "hidden must be a multiple of heads (4), found 66"},
            {"llama?layers=2,hidden=64,heads=4,kv-heads=3", "kv-heads must divide heads (4), found 3"},
            {"gpt?layers=2,layers=3,hidden=64,heads=4", "key 'layers' is given twice"},
            {"gpt?layers", "expected KEY=VALUE, found 'layers'"},
            {"gpt?", "expected KEY=VALUE pairs"},
            {"gpt?layers=2,hidden=64,heads=4,dtype=int8", "dtype must be float16, bfloat16 or float32, found 'int8'"},
            {"gpt?layers=2,hidden=64,heads=4,dropout=1", "dropout must be a probability in [0, 1), found '1'"},
            {"gpt?layers=2,hidden=64,heads=4,dropout=x", "dropout must be a probability in [0, 1), found 'x'"},
            {"gpt?layers=2,hidden=64,heads=4,loss=maybe", "loss must be true or false, found 'maybe'"},
            {"gpt-2b", "found 'gpt-2b'"},
            {"llama?layers=2,hidden=64,heads=4,vocab=99999999", "vocab must be at most 16777216, found 99999999"},
            {"gpt?layers=5000,hidden=64,heads=4", "layers must be a positive integer of at most 4096, found 5000"},
            {"llama?layers=2,hidden=60,heads=4", "the head size) must be even for rotary embeddings, found 15"},
        };
        for (String[] c : cases) {
            ShardplanException e = assertThrows(ShardplanException.class, () -> BuiltinModels.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().startsWith("builtin:"), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            assertEquals(2, e.exitCode());
        }
    }

    @Test
    void theWrittenModelIsTheSameEveryTime() throws Exception {
        // plans record the model file's SHA-256; a built-in model must hash the same on every run
        DecoderSpec s = BuiltinModels.parse("llama3-8b?layers=3");
        assertTrue(java.util.Arrays.equals(DecoderWriter.write(s), DecoderWriter.write(BuiltinModels.parse(
                "llama3-8b?layers=3"))));
        assertTrue(DecoderWriter.write(s).length < 100_000);
    }

    /**
     * Writes three small float32 models to {@code target/builtin-models} for {@code dev/check-builtin-models.py},
     * which runs them with random weights against numpy implementations of GPT and Llama.
     */
    @Test
    void writesSmallModelsForTheNumericalCheck() throws Exception {
        java.nio.file.Path dir = java.nio.file.Path.of("target", "builtin-models");
        java.nio.file.Files.createDirectories(dir);
        Map<String, String> models = Map.of(
                "gpt.onnx", "gpt?layers=2,hidden=64,heads=4,vocab=100,seq=32,dtype=fp32",
                "llama-gqa.onnx", "llama?layers=2,hidden=64,heads=8,kv-heads=2,ffn=96,vocab=100,seq=32,dtype=fp32",
                "llama-mha.onnx", "llama?layers=2,hidden=64,heads=4,vocab=100,seq=32,dtype=fp32");
        for (Map.Entry<String, String> e : models.entrySet()) {
            java.nio.file.Path f = dir.resolve(e.getKey());
            java.nio.file.Files.write(f, DecoderWriter.write(BuiltinModels.parse(e.getValue())));
            ImportedModel m = org.shardplan.onnx.OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(Map.of("batch", 3L,
                    "seq", 32L)));
            assertEquals("[3, 32, 100]", m.graph().outputs().get(0).shape().toString(), e.getKey());
        }
    }

    @Test
    void halfAndBfloat16ScalarsAreRoundedToNearest() {
        assertEquals(0x3c00, DecoderWriter.toHalf(1f));
        assertEquals(0xfbff, DecoderWriter.toHalf(-65504f));
        // 1e-5 is subnormal in float16: 1e-5 / 2^-24 = 167.77 -> 168
        assertEquals(168, DecoderWriter.toHalf(1e-5f));
        // sqrt(128) = 11.3137: exponent 3 (18 biased), mantissa 0.41421 * 1024 = 424.2 -> 424
        assertEquals((18 << 10) | 424, DecoderWriter.toHalf((float) Math.sqrt(128)));
        assertEquals(0x3f80, DecoderWriter.toBfloat16(1f));
        assertEquals(0x4000, DecoderWriter.toBfloat16(2f));
    }
}
