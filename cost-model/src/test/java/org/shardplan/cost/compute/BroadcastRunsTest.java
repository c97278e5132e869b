package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;

/** A per-channel broadcast priced by its runs: a cost per run of its loop besides its bytes. */
class BroadcastRunsTest {

    static Node scale(long n, long c, long h, long w) {
        return new Node("m", "Mul", "", List.of(ComputeModelTest.act("x", n, c, h, w), ComputeModelTest.act("s", n, c, 1, 1)),
                List.of(ComputeModelTest.act("y", n, c, h, w)), List.of());
    }

    @Test
    void aPerChannelScaleRunsOncePerChannelAndImage() {
        assertEquals("outer", OpClass.shapeClass(scale(1, 384, 10, 10)));
        assertEquals(384, OpClass.calls(scale(1, 384, 10, 10)));
        assertEquals(48, OpClass.calls(scale(2, 24, 160, 160)));
        assertEquals(48, Backward.forward(scale(2, 24, 160, 160)).calls());
        // no broadcast, or a scalar one: one run
        Node same = new Node("a", "Add", "", List.of(ComputeModelTest.act("x", 2, 8), ComputeModelTest.act("z", 2, 8)),
                List.of(ComputeModelTest.act("y", 2, 8)), List.of());
        assertEquals(1, OpClass.calls(same));
        Node scalar = new Node("a", "Add", "", List.of(ComputeModelTest.act("x", 2, 8), ComputeModelTest.act("z", 1)),
                List.of(ComputeModelTest.act("y", 2, 8)), List.of());
        assertEquals(1, OpClass.calls(scalar));
        assertTrue(OpClass.callsBeyondClass("Conv"));
        assertTrue(!OpClass.callsBeyondClass("Mul"));
    }

    /** Samples of Mul/outer timed as 1 µs + 9 ns per run + 2 ns per byte (SLOW: r = bytes · 1 ns). */
    static List<Sample> outerSamples() {
        List<Sample> s = new ArrayList<>();
        long[][] shapes = {{24, 40, 40}, {96, 20, 20}, {384, 10, 10}, {24, 10, 10}, {96, 10, 10}, {24, 80, 80}};
        for (long[] d : shapes) {
            Kernel k = Backward.forward(scale(1, d[0], d[1], d[2]));
            double t = 1e-6 + 9e-9 * k.calls() + 2e-9 * k.work().bytes();
            s.add(new Sample("mul" + d[0] + "x" + d[1], "Mul", "outer", k.work().flops(), k.work().bytes(), DType.FLOAT32, t,
                    k.calls()));
        }
        return s;
    }

    @Test
    void theClassFitsItsCostPerRunAndTheWiderGroupsDoNot() {
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, outerSamples());
        // 192 runs of 10 x 10 at batch 1, a shape of no sample: its runs' cost is predicted
        Kernel k = Backward.forward(scale(1, 192, 10, 10));
        double expected = 1e-6 + 9e-9 * 192 + 2e-9 * k.work().bytes();
        EfficiencyModel.Prediction p = e.predict(k);
        assertEquals("class", p.source());
        assertEquals(expected, p.seconds(), 0.02 * expected);
        // a same-shape Mul has no class of its own: from the op's samples, each counted as one call,
        // as a model whose samples carry no runs prices it
        Node same = new Node("a", "Mul", "", List.of(ComputeModelTest.act("x", 1, 96, 20, 20),
                ComputeModelTest.act("z", 1, 96, 20, 20)), List.of(ComputeModelTest.act("y", 1, 96, 20, 20)), List.of());
        List<Sample> oneCall = new ArrayList<>();
        for (Sample s : outerSamples()) {
            oneCall.add(new Sample(s.signature(), s.opType(), s.shapeClass(), s.flops(), s.bytes(), s.dtype(), s.seconds(), 1));
        }
        EfficiencyModel plain = new EfficiencyModel(ComputeModelTest.SLOW, oneCall);
        EfficiencyModel.Prediction q = e.predict(Backward.forward(same));
        assertEquals("op", q.source());
        assertEquals(plain.predict(Backward.forward(same)).seconds(), q.seconds(), 1e-15);
    }

    static Node transpose(long[] perm, long... dims) {
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dims[(int) perm[i]];
        }
        return new Node("t", "Transpose", "", List.of(ComputeModelTest.act("x", dims)), List.of(ComputeModelTest.act("y", out)),
                List.of(org.shardplan.graph.Attribute.ofInts("perm", perm)));
    }

    @Test
    void aRowsTransposeCopiesOneRunPerKeptTrailingBlock() {
        // perm 0,2,1,3 of [1,32,8,32]: 256 runs of 32 floats; perm 0,2,3,1 moves the last axis: one call
        Node rows = transpose(new long[] {0, 2, 1, 3}, 1, 32, 8, 32);
        assertEquals("rows", OpClass.shapeClass(rows));
        assertEquals(256, OpClass.calls(rows));
        assertEquals(256, Backward.forward(rows).calls());
        // a 5-D permutation keeping the last axis: [1,40,3,8,15] perm 2,0,3,1,4: 960 runs of 15
        assertEquals(960, OpClass.calls(transpose(new long[] {2, 0, 3, 1, 4}, 1, 40, 3, 8, 15)));
        Node elements = transpose(new long[] {0, 2, 3, 1}, 1, 32, 8, 32);
        assertEquals("elements", OpClass.shapeClass(elements));
        assertEquals(1, OpClass.calls(elements));
        assertTrue(!OpClass.callsBeyondClass("Transpose"));
    }

    static Node softmax(long axis, long... dims) {
        return new Node("s", "Softmax", "", List.of(ComputeModelTest.act("x", dims)), List.of(ComputeModelTest.act("y", dims)),
                List.of(org.shardplan.graph.Attribute.ofInt("axis", axis)));
    }

    @Test
    void aSoftmaxOverItsLastAxisRunsOnceEachRow() {
        // [1,8,32,32] over its last axis: 256 rows of 32, whether the axis is written -1 or 3
        assertEquals(256, OpClass.calls(softmax(-1, 1, 8, 32, 32)));
        assertEquals(256, OpClass.calls(softmax(3, 1, 8, 32, 32)));
        assertEquals(40, Backward.forward(softmax(2, 1, 40, 6625)).calls());
        // over another axis: another loop, one call
        assertEquals(1, OpClass.calls(softmax(1, 1, 8, 32, 32)));
        assertTrue(!OpClass.callsBeyondClass("Softmax"));
    }
}
