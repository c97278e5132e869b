package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TensorAttributeTest {
    @Test
    void tensorsKeepValuesOrOnlyTheirType() {
        Tensor t = Tensor.ofLongs(DType.INT64, new long[] {2, 3}, new long[] {1, 2, 3, 4, 5, 6});
        assertEquals(6, t.numElements());
        assertEquals(6 * 8, t.byteSize());
        assertEquals(5, t.getLong(4));
        assertEquals(Shape.of(2, 3), t.shape());
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, t.doubles().orElseThrow());
        Tensor meta = Tensor.metadata(DType.BFLOAT16, new long[] {1024, 1024});
        assertFalse(meta.hasValues());
        assertEquals(2L * 1024 * 1024, meta.byteSize());
        assertTrue(meta.longs().isEmpty());
        var e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.ofLongs(DType.INT64, new long[] {2, 2}, new long[] {1, 2, 3}));
        assertEquals("tensor of shape [2, 2] must have 4 elements, found 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.ofDoubles(DType.INT32, new long[] {1}, new double[] {1}));
    }

    @Test
    void tensorArraysAreCopies() {
        long[] values = {7, 8};
        Tensor t = Tensor.int64Vector(values);
        values[0] = 0;
        t.longs().orElseThrow()[1] = 0;
        assertEquals(7, t.getLong(0));
        assertEquals(8, t.getLong(1));
    }

    @Test
    void attributesCheckTheirKind() {
        Attribute ints = Attribute.ofInts("pads", 1, 1, 2, 2);
        assertArrayEquals(new long[] {1, 1, 2, 2}, ints.asInts());
        assertEquals(Attribute.Kind.INTS, ints.kind());
        var e = assertThrows(IllegalStateException.class, ints::asInt);
        assertEquals("attribute 'pads' must be INT, found INTS", e.getMessage());
        assertEquals(3.0f, Attribute.ofInt("k", 3).asFloat());
        assertThrows(IllegalArgumentException.class, () -> new Attribute("x", Attribute.Kind.GRAPH, "not a graph"));
        Node n = new Node("conv", "Conv", "ai.onnx", List.of(), List.of(Value.intermediate("y", TensorType.unknown())),
                List.of(Attribute.ofInt("group", 2), Attribute.ofInts("strides", 2, 2)));
        assertEquals("", n.domain());
        assertEquals(2, n.attrInt("group", 1));
        assertEquals(1, n.attrInt("absent", 1));
        assertEquals(List.of("group", "strides"), List.copyOf(n.attributes().keySet()));
        assertThrows(IllegalArgumentException.class, () -> new Node("n", "Add", "", List.of(), List.of(),
                List.of(Attribute.ofInt("a", 1), Attribute.ofInt("a", 2))));
    }

    @Test
    void valuesCheckTheirContents() {
        Value c = Value.constant("axes", Tensor.int64Vector(0, 2));
        assertEquals(Value.Kind.CONSTANT, c.kind());
        assertEquals(Shape.of(2), c.shape());
        assertThrows(IllegalArgumentException.class, () -> new Value("v", TensorType.of(DType.INT64, 3), Value.Kind.CONSTANT,
                java.util.Optional.of(Tensor.int64Vector(1, 2)), java.util.Optional.empty()));
        assertTrue(Value.absent().isAbsent());
        assertThrows(IllegalArgumentException.class, () -> Value.input("", TensorType.unknown()));
        assertEquals(DType.FLOAT32, DType.fromName("float").orElseThrow());
        assertEquals(16, TensorType.of(DType.FLOAT16, 2, 4).byteSize().getAsLong());
    }
}
