package org.shardplan.graph.passes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;

class CoarseningTest {

    /** One encoder layer as the fixture writes it, in coarse nodes. */
    static final List<String> LAYER = List.of("MatMul", "MatMul", "MatMul", "Reshape", "Transpose", "Reshape",
            "Transpose", "Reshape", "Transpose", "MatMul", "Softmax", "MatMul", "Transpose", "Reshape", "MatMul",
            "LayerNormalization", "MatMul", "MatMul", "LayerNormalization");

    static void assertPartition(Graph g, CoarseGraph c) {
        Set<String> seen = new HashSet<>();
        c.nodes().forEach(n -> n.members().forEach(m -> assertTrue(seen.add(m.name()), m.name())));
        c.foldedNodes().forEach(m -> assertTrue(seen.add(m.name()), m.name()));
        c.removedNodes().forEach(m -> assertTrue(seen.add(m.name()), m.name()));
        assertEquals(g.nodes().size(), seen.size());
        for (int i = 0; i < c.nodes().size(); i++) {
            assertEquals(i, c.node(i).index());
        }
    }

    @Test
    void bertEncoderCoarsensIntoRepeatedLayers() {
        Graph g = TestGraphs.bert(3, 2, 16, 64, 4, 1000);
        CoarseGraph c = Coarsening.coarsen(g);
        assertPartition(g, c);
        // 4 Dropouts and 3 Identities removed; each of the 4 reshapes per layer folds Shape, Gather, Unsqueeze, Concat
        assertEquals(4 + 3, c.removedNodes().size());
        assertEquals(3 * 4 * 4, c.foldedNodes().size());
        // embeddings: word Gather, position Gather, their Add, LayerNorm, mask Unsqueeze, mask Cast/Sub/Mul
        assertEquals(6 + 3 * LAYER.size(), c.nodes().size());
        assertEquals(List.of("Gather", "Gather", "Add", "LayerNormalization", "Unsqueeze", "Cast"),
                TestGraphs.ops(c.nodes().subList(0, 6)));
        assertEquals(List.of("Cast", "Sub", "Mul"), c.node(5).memberOps());
        assertEquals(CoarseNode.Kind.ELEMENTWISE, c.node(5).kind());
        assertEquals(1, c.blockClasses().size());
        BlockClass layers = c.blockClasses().get(0);
        assertEquals(3, layers.count());
        assertEquals(LAYER, layers.ops());
        for (int l = 0; l < 3; l++) {
            assertEquals(6 + l * LAYER.size(), layers.instances().get(l).get(0).index());
        }
        assertArrayEquals(new int[] {1, 4}, layers.locate(6 + LAYER.size() + 4).orElseThrow());
        assertSame(layers, c.classOf(6 + 2 * LAYER.size()).orElseThrow());
        assertTrue(c.classOf(3).isEmpty());
    }

    @Test
    void elementwiseChainsJoinTheirProducer() {
        CoarseGraph c = Coarsening.coarsen(TestGraphs.bert(1, 2, 16, 64, 4, 1000));
        CoarseNode ffn = c.node(6 + 16);
        assertEquals(List.of("MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul"), ffn.memberOps());
        CoarseNode scores = c.node(6 + 9);
        assertEquals(List.of("MatMul", "Div", "Add"), scores.memberOps());
        // the mask edge comes from the element-wise mask node
        assertTrue(c.inEdges(scores.index()).stream().anyMatch(e -> e.from() == 5));
        CoarseNode attnOut = c.node(6 + 14);
        // bias and residual fused: reads the embedding LayerNorm's output directly
        assertEquals(List.of("MatMul", "Add", "Add"), attnOut.memberOps());
        assertTrue(c.inEdges(attnOut.index()).stream().anyMatch(e -> e.from() == 3));
        Work sum = Work.ZERO;
        for (Node m : ffn.members()) {
            sum = sum.plus(WorkAnalysis.of(m));
        }
        assertEquals(sum, ffn.work());
        // edges only go forward and carry values the producer lists as outputs
        for (CoarseEdge e : c.edges()) {
            assertTrue(c.node(e.from()).outputs().contains(e.value()), e.toString());
            assertTrue(c.node(e.to()).inputs().contains(e.value()), e.toString());
        }
    }

    @Test
    void writtenOutLayerNormBecomesOneNode() {
        CoarseGraph c = Coarsening.coarsen(TestGraphs.bert(1, 2, 16, 64, 4, 1000));
        CoarseNode ln = c.node(3);
        assertEquals("LayerNormalization", ln.pattern().orElseThrow());
        assertEquals(List.of("ReduceMean", "Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add"), ln.memberOps());
        assertEquals(2, ln.anchor().attrInt("axis", -1));
        assertEquals(1e-12f, ln.anchor().attrFloat("epsilon", 0), 1e-15f);
        IterationSpace s = CoarseSpaces.of(ln).orElseThrow();
        assertEquals(LoopKind.COUPLED, s.dim("d2").orElseThrow().kind());
        assertEquals(2, ln.parameters().size());
        assertEquals("[d2:64]", s.tensor(ln.parameters().get(0).name()).orElseThrow().axes().toString());
    }

    /**
     * A written-out LayerNorm whose output is scaled before a MatMul (MViT's query): the Mul is fused into
     * the pattern's node, and the node's output, the Mul's, is indexed like the pattern's, not read whole
     * (whole, a batch split of the node would be gathered onto every device before the MatMul).
     */
    @Test
    void anElementwiseOpFusedAfterAPatternIndexesTheNodesOutput() {
        TestGraphs t = TestGraphs.named("scaled");
        Value x = t.input("x", DType.FLOAT32, 4, 16, 32);
        Value ln = t.layerNorm(x);
        Value q = t.f("Mul", List.of(ln, t.constScalar(0.125)), new long[] {4, 16, 32});
        Value y = t.f("MatMul", List.of(q, t.param(32, 8)), new long[] {4, 16, 8});
        CoarseGraph c = Coarsening.coarsen(t.build(List.of(y)));
        CoarseNode node = c.nodes().stream().filter(n -> n.pattern().isPresent()).findFirst().orElseThrow();
        assertEquals("LayerNormalization", node.pattern().orElseThrow());
        assertEquals(List.of("ReduceMean", "Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add", "Mul"),
                node.memberOps());
        assertEquals(List.of(q), node.outputs());
        IterationSpace s = CoarseSpaces.of(node).orElseThrow();
        assertEquals("[d0:4, d1:16, d2:32]", s.tensor(q.name()).orElseThrow().axes().toString());
    }

    @Test
    void coarseSpaceIndexesFusedInputsAndOutputs() {
        CoarseGraph c = Coarsening.coarsen(TestGraphs.bert(1, 2, 16, 64, 4, 1000));
        CoarseNode ffn = c.node(6 + 16);
        IterationSpace s = CoarseSpaces.of(ffn).orElseThrow();
        assertEquals(List.of("b", "m", "n", "k"), s.dims().stream().map(d -> d.name()).toList());
        assertEquals(ffn.inputs().size(), s.inputs().size());
        TensorIndexing bias = s.tensor(ffn.parameters().get(1).name()).orElseThrow();
        assertEquals("[n:256]", bias.axes().toString());
        TensorIndexing out = s.outputs().get(0);
        assertEquals("[b:2, m:16, n:256]", out.axes().toString());
        // column-parallel on 4 devices: the weight, bias and output are cut by 4, the input is whole
        Strategy col = Strategy.of("n", 4);
        assertArrayEquals(new long[] {2, 16, 64}, s.localShape(out, col));
        assertArrayEquals(new long[] {64}, s.localShape(bias, col));
        assertArrayEquals(new long[] {2, 16, 64}, s.localShape(s.inputs().get(0), col));
        // fused intermediates are not counted as traffic: only the node's inputs and output
        long read = 4L * (2 * 16 * 64 + 64 * 64 + 64);
        assertEquals(read, s.localWork(ffn.work(), col).bytesRead());
        assertEquals(4L * 2 * 16 * 64, s.localWork(ffn.work(), col).bytesWritten());
        // the attention output node: residual input indexed like the output
        CoarseNode attnOut = c.node(6 + 14);
        IterationSpace a = CoarseSpaces.of(attnOut).orElseThrow();
        TensorIndexing residual = a.tensor(c.node(3).outputs().get(0).name()).orElseThrow();
        assertEquals("[b:2, m:16, n:64]", residual.axes().toString());
        // row-parallel with data parallelism ({k=4, b=2}): the residual and the bias are added after the sums,
        // so their gradients are summed over the batch split only; the product's input is split, not copied
        assertTrue(residual.epilogue());
        assertFalse(a.inputs().get(0).epilogue());
        Strategy row = Strategy.of("k", 4, "b", 2);
        assertEquals(List.of(), a.replicatedOver(residual, row));
        assertEquals(4, a.replication(residual, row));
        TensorIndexing outBias = a.tensor(attnOut.parameters().get(1).name()).orElseThrow();
        assertTrue(outBias.epilogue());
        assertEquals(List.of("b"), a.replicatedOver(outBias, row));
        assertEquals(8, a.replication(outBias, row));
        // the weight is read by the product itself: copied over the batch split only, and split along k
        TensorIndexing w = a.tensor(attnOut.parameters().get(0).name()).orElseThrow();
        assertFalse(w.epilogue());
        assertEquals(List.of("b"), a.replicatedOver(w, row));
    }

    @Test
    void resnetStageBlocksAreOneClass() {
        Graph g = TestGraphs.resnet(4, 2);
        CoarseGraph c = Coarsening.coarsen(g);
        assertPartition(g, c);
        // stem, pool, downsample block (4 convs), 3 blocks of 3 convs, pool, flatten, gemm
        assertEquals(2 + 4 + 3 * 3 + 3, c.nodes().size());
        assertEquals(List.of("Conv", "BatchNormalization", "Relu"), c.node(0).memberOps());
        // the downsample block's Add and Relu join the downsample conv, the latest producer
        assertEquals(List.of("Conv", "BatchNormalization", "Add", "Relu"), c.node(5).memberOps());
        assertEquals(CoarseNode.Kind.LAYOUT, c.node(c.nodes().size() - 2).kind());
        assertEquals(1, c.blockClasses().size());
        BlockClass b = c.blockClasses().get(0);
        assertEquals(3, b.count());
        assertEquals(List.of("Conv", "Conv", "Conv"), b.ops());
        assertEquals(6, b.instances().get(0).get(0).index());
        assertEquals(List.of("Conv", "BatchNormalization", "Add", "Relu"), b.instances().get(2).get(2).memberOps());
        // the fused BatchNorm's per-channel operands follow the output channels, the residual the output
        CoarseNode conv3 = b.instances().get(0).get(2);
        IterationSpace s = CoarseSpaces.of(conv3).orElseThrow();
        Node bn = conv3.members().get(1);
        for (int i = 1; i <= 4; i++) {
            assertEquals("[co:64]", s.tensor(bn.input(i).name()).orElseThrow().axes().toString());
        }
        Value residual = conv3.members().get(2).input(1);
        assertEquals("[n:2, co:64, h:16, w:16]", s.tensor(residual.name()).orElseThrow().axes().toString());
        assertEquals(List.of("n", "co", "ci", "h", "w"), s.dims().stream().map(d -> d.name()).toList());
    }

    @Test
    void preLnLayersStartWithTheirLayerNormAndLeaveTheFinalOneOut() {
        CoarseGraph c = Coarsening.coarsen(TestGraphs.gpt(4, 2, 8, 32));
        // per layer: LN, Q, K, V, Transpose, scores, Softmax, context, O (+residual), LN, FF1 (+Relu), FF2 (+residual)
        assertEquals(4 * 12 + 1, c.nodes().size());
        assertEquals(1, c.blockClasses().size());
        BlockClass b = c.blockClasses().get(0);
        assertEquals(4, b.count());
        assertEquals(List.of("LayerNormalization", "MatMul", "MatMul", "MatMul", "Transpose", "MatMul", "Softmax",
                "MatMul", "MatMul", "LayerNormalization", "MatMul", "MatMul"), b.ops());
        assertEquals(0, b.instances().get(0).get(0).index());
        assertTrue(c.classOf(4 * 12).isEmpty());
    }

    @Test
    void controlFlowIsAnOpaqueComputeNodeReadingCapturedValues() {
        org.shardplan.graph.TensorType f4 = org.shardplan.graph.TensorType.of(org.shardplan.graph.DType.FLOAT32, 4);
        Value x = Value.input("x", f4);
        Value a = Value.intermediate("a", f4);
        Value t = Value.intermediate("t", f4);
        Value y = Value.intermediate("y", f4);
        Value cond = Value.input("cond", org.shardplan.graph.TensorType.of(org.shardplan.graph.DType.BOOL));
        Graph branch = Graph.builder("then").allowCaptures(true)
                .addNode(new Node("inner", "Neg", "", List.of(a), List.of(t), List.of())).addOutput(t).build();
        Node iff = new Node("if", "If", "", List.of(cond), List.of(y), List.of(
                org.shardplan.graph.Attribute.ofGraph("then_branch", branch),
                org.shardplan.graph.Attribute.ofGraph("else_branch", branch)));
        Graph g = Graph.builder("g").addInput(x).addInput(cond)
                .addNode(new Node("mm", "MatMul", "", List.of(x, x), List.of(a), List.of()))
                .addNode(iff).addOutput(y).build();
        CoarseGraph c = Coarsening.coarsen(g);
        assertEquals(2, c.nodes().size());
        assertEquals(CoarseNode.Kind.COMPUTE, c.node(1).kind());
        assertEquals(List.of(new CoarseEdge(0, 1, a)), c.edges());
        assertTrue(CoarseSpaces.of(c.node(1)).isEmpty());
        assertEquals(List.of(a), c.node(0).outputs());
        assertEquals(List.of(y), c.node(1).outputs());
    }

    @Test
    void foldedConstantsAndGraphInputChains() {
        org.shardplan.graph.TensorType f = org.shardplan.graph.TensorType.of(org.shardplan.graph.DType.FLOAT32, 2, 4);
        Value x = Value.input("x", f);
        Value w = Value.parameter("w", org.shardplan.graph.TensorType.of(org.shardplan.graph.DType.FLOAT32, 4, 4));
        // a node whose output the frontend already computed (a folded constant) disappears
        Value folded = Value.folded("k", org.shardplan.graph.Tensor.ofDoubles(org.shardplan.graph.DType.FLOAT32,
                new long[] {2, 4}, new double[8]));
        Value sig = Value.intermediate("s", f);
        Value mm = Value.intermediate("m", f);
        Value out = Value.intermediate("o", f);
        Graph g = Graph.builder("g").addInput(x).addParameter(w)
                .addNode(new Node("cos", "ConstantOfShape", "", List.of(), List.of(folded), List.of()))
                .addNode(new Node("sig", "Sigmoid", "", List.of(x), List.of(sig), List.of()))
                .addNode(new Node("mm", "MatMul", "", List.of(sig, w), List.of(mm), List.of()))
                .addNode(new Node("add", "Add", "", List.of(mm, folded), List.of(out), List.of()))
                .addOutput(out).build();
        CoarseGraph c = Coarsening.coarsen(g);
        assertEquals(List.of("cos"), c.foldedNodes().stream().map(Node::name).toList());
        assertEquals(2, c.nodes().size());
        // an element-wise operator on a graph input starts its own node
        assertEquals(CoarseNode.Kind.ELEMENTWISE, c.node(0).kind());
        assertEquals(List.of("MatMul", "Add"), c.node(1).memberOps());
        // the folded constant is not an input
        assertEquals(List.of(sig, w), c.node(1).inputs());
    }

    @Test
    void noRepeatsMeansNoClasses() {
        CoarseGraph c = Coarsening.coarsen(TestGraphs.resnet(1, 2));
        assertEquals(0, c.blockClasses().size());
    }
}
