package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GraphTest {
    private static final TensorType F4 = TensorType.of(DType.FLOAT32, 4);

    private static Node node(String name, String op, List<Value> in, List<Value> out) {
        return new Node(name, op, "", in, out, List.of());
    }

    @Test
    void sortsNodesTopologicallyKeepingInsertionOrderWherePossible() {
        Value x = Value.input("x", F4);
        Value a = Value.intermediate("a", F4);
        Value b = Value.intermediate("b", F4);
        Value c = Value.intermediate("c", F4);
        Value w = Value.parameter("w", F4);
        Graph g = Graph.builder("g").addInput(x).addParameter(w)
                .addNode(node("last", "Add", List.of(a, b), List.of(c)))
                .addNode(node("first", "Relu", List.of(x), List.of(a)))
                .addNode(node("second", "Mul", List.of(x, w), List.of(b)))
                .addOutput(c).build();
        assertEquals(List.of("first", "second", "last"), g.nodes().stream().map(Node::name).toList());
        assertEquals("last", g.producer("c").orElseThrow().name());
        assertEquals(List.of("first", "second"), g.consumers("x").stream().map(Node::name).toList());
        assertEquals(List.of("x", "w", "a", "b", "c"), List.copyOf(g.values().keySet()));
        assertEquals(4, g.parameterCount());
        assertEquals(16, g.parameterBytes());
    }

    @Test
    void rejectsCycleNamingTheNodes() {
        Value a = Value.intermediate("a", F4);
        Value b = Value.intermediate("b", F4);
        var e = assertThrows(IllegalArgumentException.class, () -> Graph.builder("g")
                .addNode(node("n1", "Relu", List.of(b), List.of(a)))
                .addNode(node("n2", "Neg", List.of(a), List.of(b)))
                .build());
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
        assertTrue(e.getMessage().contains("node 'n1' (Relu)"), e.getMessage());
        assertTrue(e.getMessage().contains("node 'n2' (Neg)"), e.getMessage());
    }

    @Test
    void rejectsDanglingInput() {
        Value a = Value.intermediate("a", F4);
        var e = assertThrows(IllegalArgumentException.class, () -> Graph.builder("g")
                .addNode(node("n1", "Relu", List.of(Value.input("ghost", F4)), List.of(a))).build());
        assertEquals("graph 'g': node 'n1' (Relu) reads 'ghost', which no node, graph input or parameter produces",
                e.getMessage());
    }

    @Test
    void rejectsDuplicateValueAndNodeNames() {
        Value x = Value.input("x", F4);
        Value a = Value.intermediate("a", F4);
        var e = assertThrows(IllegalArgumentException.class, () -> Graph.builder("g").addInput(x)
                .addNode(node("n1", "Relu", List.of(x), List.of(a)))
                .addNode(node("n2", "Neg", List.of(x), List.of(a))).build());
        assertTrue(e.getMessage().contains("duplicate value name 'a'"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Graph.builder("g").addInput(x)
                .addNode(node("n1", "Relu", List.of(x), List.of(a)))
                .addNode(node("n1", "Neg", List.of(x), List.of(Value.intermediate("b", F4)))).build());
        assertTrue(e2.getMessage().contains("duplicate node name 'n1'"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> Graph.builder("g").addInput(x)
                .addParameter(Value.parameter("x", F4)).build());
        assertTrue(e3.getMessage().contains("duplicate value name 'x'"), e3.getMessage());
    }

    @Test
    void rejectsNegativeDimensions() {
        var e = assertThrows(IllegalArgumentException.class, () -> Shape.of(3, -1));
        assertEquals("dimension must be >= 0, found -1", e.getMessage());
    }

    @Test
    void nestedGraphCapturesOuterValuesAndOrdersOwner() {
        Value x = Value.input("x", F4);
        Value a = Value.intermediate("a", F4);
        Value y = Value.intermediate("y", F4);
        Value cond = Value.input("cond", new TensorType(DType.BOOL, Shape.scalar()));
        Value t = Value.intermediate("t", F4);
        Graph branch = Graph.builder("then").allowCaptures(true)
                .addNode(node("inner", "Neg", List.of(a), List.of(t))).addOutput(t).build();
        assertEquals(List.of("a"), branch.capturedNames());
        Node iff = new Node("if", "If", "", List.of(cond), List.of(y),
                List.of(Attribute.ofGraph("then_branch", branch), Attribute.ofGraph("else_branch", branch)));
        Graph g = Graph.builder("g").addInput(x).addInput(cond)
                .addNode(iff)
                .addNode(node("producer", "Relu", List.of(x), List.of(a)))
                .addOutput(y).build();
        assertEquals(List.of("producer", "if"), g.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("if"), g.consumers("a").stream().map(Node::name).toList());
        assertThrows(IllegalArgumentException.class, () -> Graph.builder("top")
                .addInput(cond).addNode(iff).build());
    }

    @Test
    void shapesBindSymbolsAndCountElements() {
        Shape s = Shape.of(List.of(Dim.symbol("batch"), Dim.of(3), Dim.unknown()));
        assertEquals("[batch, 3, ?]", s.toString());
        assertTrue(s.numElements().isEmpty());
        Shape b = s.bind(java.util.Map.of("batch", 8L));
        assertEquals(Dim.of(8), b.dim(0));
        assertEquals(Dim.unknown(), b.dim(-1));
        assertEquals(8 * 3 * 5, Shape.of(8, 3, 5).numElements().getAsLong());
        assertEquals(1, Shape.scalar().numElements().getAsLong());
        assertEquals(3, DType.INT4.byteSize(5)); // 5 * 4 bits = 20 bits -> 3 bytes
        assertEquals(DType.BFLOAT16, DType.fromOnnx(16).orElseThrow());
        assertEquals("float32", DType.FLOAT32.displayName());
    }
}
