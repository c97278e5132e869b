package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkAnalysisTest {
    private static Value v(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT32, dims));
    }

    private static Node node(String op, List<Value> in, List<Value> out, Attribute... attrs) {
        return new Node("n", op, "", in, out, List.of(attrs));
    }

    @Test
    void batchedMatMul() {
        Work w = WorkAnalysis.of(node("MatMul", List.of(v("a", 2, 3, 5), v("b", 5, 7)), List.of(v("y", 2, 3, 7))));
        assertEquals(2L * (2 * 3 * 7) * 5, w.flops());
        assertEquals(4L * (2 * 3 * 5 + 5 * 7), w.bytesRead());
        assertEquals(4L * 2 * 3 * 7, w.bytesWritten());
        assertTrue(w.complete());
    }

    @Test
    void gemmWithTransposedAAndBias() {
        Work w = WorkAnalysis.of(node("Gemm", List.of(v("a", 5, 3), v("b", 5, 7), v("c", 7)), List.of(v("y", 3, 7)),
                Attribute.ofInt("transA", 1)));
        assertEquals(2L * 3 * 7 * 5 + 3 * 7, w.flops());
    }

    @Test
    void groupedDilatedConvWithBias() {
        // X [2, 8, 10, 10], W [16, 8/4=2, 3, 3], group 4, dilation 2, no padding: out 10 - 2*(3-1) = 6.
        Node n = node("Conv", List.of(v("x", 2, 8, 10, 10), v("w", 16, 2, 3, 3), v("b", 16)), List.of(v("y", 2, 16, 6, 6)),
                Attribute.ofInt("group", 4), Attribute.ofInts("dilations", 2, 2));
        long out = 2 * 16 * 6 * 6;
        assertEquals(2 * out * (2 * 3 * 3) + out, WorkAnalysis.of(n).flops());
    }

    @Test
    void convTranspose() {
        // X [1, 4, 5, 5], W [4, 3, 2, 2] (Cin, Cout/group, k, k), stride 2 -> Y [1, 3, 10, 10]
        Node n = node("ConvTranspose", List.of(v("x", 1, 4, 5, 5), v("w", 4, 3, 2, 2)), List.of(v("y", 1, 3, 10, 10)));
        assertEquals(2L * (4 * 5 * 5) * (3 * 2 * 2), WorkAnalysis.of(n).flops());
    }

    @Test
    void poolingNormalizationSoftmaxElementwise() {
        assertEquals(1L * 3 * 4 * 4 * 9, WorkAnalysis.of(node("MaxPool", List.of(v("x", 1, 3, 8, 8)),
                List.of(v("y", 1, 3, 4, 4)), Attribute.ofInts("kernel_shape", 3, 3))).flops());
        assertEquals(3L * 8 * 8, WorkAnalysis.of(node("GlobalAveragePool", List.of(v("x", 1, 3, 8, 8)),
                List.of(v("y", 1, 3, 1, 1)))).flops());
        assertEquals(8L * 6 * 10, WorkAnalysis.of(node("LayerNormalization", List.of(v("x", 6, 10), v("s", 10)),
                List.of(v("y", 6, 10)))).flops());
        assertEquals(5L * 6 * 10, WorkAnalysis.of(node("Softmax", List.of(v("x", 6, 10)), List.of(v("y", 6, 10)))).flops());
        assertEquals(60, WorkAnalysis.of(node("Add", List.of(v("x", 6, 10), v("b", 10)), List.of(v("y", 6, 10)))).flops());
        assertEquals(2 * 60, WorkAnalysis.of(node("Sum", List.of(v("a", 6, 10), v("b", 6, 10), v("c", 6, 10)),
                List.of(v("y", 6, 10)))).flops());
        assertEquals(60, WorkAnalysis.of(node("ReduceMean", List.of(v("x", 6, 10)), List.of(v("y", 6, 1)))).flops());
    }

    @Test
    void gatherReadsOnlyTheGatheredRows() {
        Value table = Value.parameter("emb", TensorType.of(DType.FLOAT32, 30000, 64));
        Value ids = Value.input("ids", TensorType.of(DType.INT64, 2, 8));
        Work w = WorkAnalysis.of(node("Gather", List.of(table, ids), List.of(v("y", 2, 8, 64))));
        assertEquals(0, w.flops());
        assertEquals(8L * 2 * 8 + 4L * 2 * 8 * 64, w.bytesRead());
        assertEquals(4L * 2 * 8 * 64, w.bytesWritten());
    }

    @Test
    void lstmPerStepFormula() {
        // seq 7, batch 2, input 5, hidden 3, one direction, with bias
        Node n = node("LSTM", List.of(v("x", 7, 2, 5), v("w", 1, 12, 5), v("r", 1, 12, 3), v("b", 1, 24)),
                List.of(v("y", 7, 1, 2, 3)), Attribute.ofInt("hidden_size", 3));
        long step = 2L * 2 * 12 * (5 + 3) + 2L * 2 * 12 + 9L * 2 * 3;
        assertEquals(7 * step, WorkAnalysis.of(n).flops());
    }

    @Test
    void einsumCountsContractedIndices() {
        Node n = node("Einsum", List.of(v("a", 2, 3, 4), v("b", 2, 4, 5)), List.of(v("y", 2, 3, 5)),
                Attribute.ofString("equation", "bij,bjk->bik"));
        assertEquals(2L * (2 * 3 * 5) * 4, WorkAnalysis.of(n).flops());
    }

    @Test
    void attentionAsOneOperator() {
        // Q [B=2, H=4, S=8, D=16], K [2, 4, L=10, 16], V [2, 4, 10, 16]
        Node n = node("Attention", List.of(v("q", 2, 4, 8, 16), v("k", 2, 4, 10, 16), v("v", 2, 4, 10, 16)),
                List.of(v("y", 2, 4, 8, 16)));
        assertEquals(2L * 2 * 4 * 8 * 10 * (16 + 16) + 5L * 2 * 4 * 8 * 10, WorkAnalysis.of(n).flops());
    }

    @Test
    void unknownShapesMakeWorkIncomplete() {
        Value x = Value.intermediate("x", new TensorType(DType.FLOAT32, Shape.unknownRank()));
        Work w = WorkAnalysis.of(node("Relu", List.of(x), List.of(Value.intermediate("y", x.type()))));
        assertFalse(w.complete());
        assertEquals(0, w.flops());
        Work custom = WorkAnalysis.of(new Node("c", "MyOp", "my.domain", List.of(v("a", 2)), List.of(v("b", 2)), List.of()));
        assertFalse(custom.complete());
        assertEquals(4 * 2 + 4 * 2, custom.bytesRead() + custom.bytesWritten());
    }

    @Test
    void graphTotalSumsNodes() {
        Value x = Value.input("x", TensorType.of(DType.FLOAT32, 4, 8));
        Value w = Value.parameter("w", TensorType.of(DType.FLOAT32, 8, 2));
        Value h = v("h", 4, 2);
        Value y = v("y", 4, 2);
        List<Node> nodes = new ArrayList<>();
        nodes.add(new Node("mm", "MatMul", "", List.of(x, w), List.of(h), List.of()));
        nodes.add(new Node("act", "Relu", "", List.of(h), List.of(y), List.of()));
        Graph g = Graph.builder("g").addInput(x).addParameter(w).addNodes(nodes).addOutput(y).build();
        assertEquals(2L * 4 * 2 * 8 + 4 * 2, WorkAnalysis.total(g).flops());
    }
}
