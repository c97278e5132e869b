package org.shardplan.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Tensor;

/** Constant folding of index remaps (Transpose, Tile) against hand-written results. */
class FoldRemapTest {

    private static long[] values(Tensor t) {
        long[] r = new long[(int) java.util.Arrays.stream(t.dims()).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < r.length; i++) {
            r[i] = t.getLong(i);
        }
        return r;
    }

    @Test
    void transposeMovesEachElementToItsPermutedIndex() {
        // [[0 1 2] [3 4 5]] of shape 2x3 transposed is [[0 3] [1 4] [2 5]].
        Tensor x = Tensor.ofLongs(DType.INT64, new long[] {2, 3}, new long[] {0, 1, 2, 3, 4, 5});
        Tensor t = Fold.transpose(x, new int[] {1, 0});
        assertArrayEquals(new long[] {3, 2}, t.dims());
        assertArrayEquals(new long[] {0, 3, 1, 4, 2, 5}, values(t));

        // A 2x2x2 cube with axes (0,1,2) -> (2,0,1): out[a][b][c] = in[b][c][a].
        Tensor cube = Tensor.ofLongs(DType.INT64, new long[] {2, 2, 2}, new long[] {0, 1, 2, 3, 4, 5, 6, 7});
        Tensor r = Fold.transpose(cube, new int[] {2, 0, 1});
        assertArrayEquals(new long[] {0, 2, 4, 6, 1, 3, 5, 7}, values(r));
    }

    @Test
    void tileRepeatsAlongEachAxis() {
        // [[1 2]] tiled (2, 2) is [[1 2 1 2] [1 2 1 2]].
        Tensor x = Tensor.ofLongs(DType.INT64, new long[] {1, 2}, new long[] {1, 2});
        Tensor t = Fold.tile(x, new long[] {2, 2});
        assertArrayEquals(new long[] {2, 4}, t.dims());
        assertArrayEquals(new long[] {1, 2, 1, 2, 1, 2, 1, 2}, values(t));
    }
}
