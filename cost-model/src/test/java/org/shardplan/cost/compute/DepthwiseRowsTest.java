package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;

/** A padded depthwise convolution of the blocked layout priced by its output rows, one kernel call each. */
class DepthwiseRowsTest {

    static Node depthwise(long n, long c, long h, long w, long k, long pad) {
        return new Node("c", "Conv", "com.microsoft.nchwc",
                List.of(ComputeModelTest.act("x", n, c, h, w), ComputeModelTest.weight("w", c, 1, k, k),
                        ComputeModelTest.weight("b", c)),
                List.of(ComputeModelTest.act("y", n, c, h, w)),
                List.of(Attribute.ofInt("group", c), Attribute.ofInts("kernel_shape", k, k),
                        Attribute.ofInts("pads", pad, pad, pad, pad), Attribute.ofInts("strides", 1, 1)));
    }

    @Test
    void aPaddedBlockedDepthwiseConvolutionCallsItsKernelOncePerRowOfABlock() {
        // [1,192,20,20], 5x5, pad 2: 12 blocks of 16 channels x 20 rows; [2,384,10,10]: 2 x 24 x 10
        assertEquals(240, OpClass.calls(depthwise(1, 192, 20, 20, 5, 2)));
        assertEquals(480, OpClass.calls(depthwise(2, 384, 10, 10, 5, 2)));
        assertEquals(240, Backward.forward(depthwise(1, 192, 20, 20, 5, 2)).calls());
        // a channel count short of a whole block still takes a call per row: 24 channels = 2 blocks
        assertEquals(2 * 7, OpClass.calls(depthwise(1, 24, 7, 7, 3, 1)));
        // unpadded (a BatchNormalization made a per-channel 1x1 convolution): no edge outputs, one call
        assertEquals(1, OpClass.calls(depthwise(1, 64, 56, 56, 1, 0)));
        // a dense blocked convolution: one call, as before
        assertEquals(1, OpClass.calls(CpuWorkTest.nchwcConv(1, 32, 20, 20, 3, 1)));
        // the rows count within the class only; the plain grouped convolutions' groups count beyond it
        assertTrue(!OpClass.callsBeyondClass("Conv", "nchwc/k5x5/s1/depthwise"));
        assertTrue(OpClass.callsBeyondClass("Conv", "k3x3/s1/depthwise"));
    }

    /**
     * The class's samples timed as 1 µs + 2.6 µs per row + their roofline time (on SLOW, 1 GFLOP/s, a
     * row of 80 outputs of one block is 64 µs of arithmetic: the proportion of MLAS's 31 ns per row to a
     * row's 0.75 µs at 85 GFLOP/s), rows of 80 to 160 outputs, as the calibration models' are.
     */
    static List<Sample> wideRowSamples(EfficiencyModel analytic) {
        long[][] shapes = {{1, 240, 12, 80}, {1, 480, 3, 80}, {1, 96, 3, 96}, {8, 32, 6, 96}, {1, 64, 24, 160},
            {4, 64, 24, 160}, {1, 16, 24, 160}, {4, 480, 6, 80}};
        List<Sample> s = new ArrayList<>();
        for (long[] d : shapes) {
            Node n = depthwise(d[0], d[1], d[2], d[3], 5, 2);
            Kernel k = Backward.forward(n);
            double r = analytic.roofline(k.work().flops(), k.work().bytes(), DType.FLOAT32);
            s.add(new Sample("dw" + java.util.Arrays.toString(d), "Conv", k.shapeClass(), k.work().flops(),
                    k.work().bytes(), DType.FLOAT32, 1e-6 + 2.6e-6 * rows(d) + r, k.calls()));
        }
        return s;
    }

    /** Batch x blocks of 16 channels x rows of an [N,C,H,W] output, counted here apart from the model. */
    static long rows(long[] d) {
        return d[0] * ((d[1] + 15) / 16) * d[2];
    }

    @Test
    void squarePlanesArePricedWithTheirRowsFromWideRowSamples() {
        EfficiencyModel analytic = new EfficiencyModel(ComputeModelTest.SLOW, List.of());
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, wideRowSamples(analytic));
        // 10 x 10 and 20 x 20 planes: eight and four times as many rows per FLOP as a row of 80
        for (long[] d : new long[][] {{1, 384, 10, 10}, {2, 384, 10, 10}, {1, 192, 20, 20}}) {
            Kernel k = Backward.forward(depthwise(d[0], d[1], d[2], d[3], 5, 2));
            assertEquals("nchwc/k5x5/s1/depthwise", k.shapeClass());
            double r = analytic.roofline(k.work().flops(), k.work().bytes(), DType.FLOAT32);
            double truth = 1e-6 + 2.6e-6 * rows(d) + r;
            EfficiencyModel.Prediction p = e.predict(k);
            assertEquals("class", p.source());
            // without the rows (one call each, as before) the fit in r alone prices them 0.7 to 0.85 of this
            assertEquals(truth, p.seconds(), 0.03 * truth, java.util.Arrays.toString(d));
        }
    }
}
