package org.shardplan.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class TriangleTest {

    private static Tensor floats(long[] dims, double... v) {
        return Tensor.ofDoubles(DType.FLOAT32, dims, v);
    }

    @Test
    void aMaskBufferIsSummarisedByItsTwoValues() {
        // tril(ones(3, 3)): 1 on and below the diagonal, 0 above
        assertEquals(Optional.of(new Triangle(1, 0)), Triangle.of(floats(new long[] {3, 3}, 1, 0, 0, 1, 1, 0, 1, 1, 1)));
        // triu(full(-inf), 1), twice along a leading axis: every block alike
        double n = Double.NEGATIVE_INFINITY;
        assertEquals(Optional.of(new Triangle(0, n)),
                Triangle.of(floats(new long[] {2, 2, 2}, 0, n, 0, 0, 0, n, 0, 0)));
        // rectangular [2, 3]: (0,0) (1,0) (1,1) below, (0,1) (0,2) (1,2) above
        assertEquals(Optional.of(new Triangle(5, 7)), Triangle.of(floats(new long[] {2, 3}, 5, 7, 7, 5, 5, 7)));
        // booleans as 0/1
        assertEquals(Optional.of(new Triangle(0, 1)),
                Triangle.of(Tensor.ofLongs(DType.BOOL, new long[] {2, 2}, new long[] {0, 1, 0, 0})));
    }

    @Test
    void anythingElseHasNone() {
        // the second block differs from the first
        double n = Double.NEGATIVE_INFINITY;
        assertEquals(Optional.empty(), Triangle.of(floats(new long[] {2, 2, 2}, 0, n, 0, 0, 0, n, 1, 0)));
        // one element above the diagonal unlike the others
        assertEquals(Optional.empty(), Triangle.of(floats(new long[] {3, 3}, 1, 0, 1, 1, 1, 0, 1, 1, 1)));
        // NaN never equals itself
        assertEquals(Optional.empty(), Triangle.of(floats(new long[] {2, 2}, Double.NaN, 0, Double.NaN, Double.NaN)));
        // rank 1, or a last axis of one element: no triangle to speak of
        assertEquals(Optional.empty(), Triangle.of(floats(new long[] {4}, 1, 0, 0, 0)));
        assertEquals(Optional.empty(), Triangle.of(floats(new long[] {3, 1}, 1, 1, 1)));
        assertThrows(IllegalArgumentException.class, () -> new Triangle.Scan(new long[] {3, 1}));
    }

    @Test
    void theScanStopsAtTheFirstCounterExample() {
        // a weight [1000, 1000] whose first row is 0.1, 0.2, 0.3, ...: (0,1) sets the value above, (0,2) breaks it
        Triangle.Scan s = new Triangle.Scan(new long[] {1000, 1000});
        assertTrue(s.accept(0.1));
        assertTrue(s.accept(0.2));
        assertFalse(s.accept(0.3));
        assertFalse(s.accept(0.2));
        assertEquals(Optional.empty(), s.result());
        // every element accepted but some missing: no summary
        Triangle.Scan t = new Triangle.Scan(new long[] {2, 2});
        assertTrue(t.accept(1));
        assertTrue(t.accept(0));
        assertEquals(Optional.empty(), t.result());
        assertTrue(t.accept(1));
        assertTrue(t.accept(1));
        assertEquals(Optional.of(new Triangle(1, 0)), t.result());
        // one element too many
        assertFalse(t.accept(1));
        assertEquals(Optional.empty(), t.result());
    }
}
