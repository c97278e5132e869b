package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/** Kernels outside the sizes of a group whose times do not grow with size ({@code EfficiencyModel.ownTrend}). */
class BelowRangeTest {

    /** An Add of {@code bytes} of shape class {@code cls} on the 1 GB/s test device: roofline time bytes · 1e-9 s. */
    private static Sample add(String cls, int i, double bytes, double seconds) {
        return new Sample(cls + i, "Add", cls, 0, bytes, DType.FLOAT32, seconds);
    }

    private static Kernel addKernel(String cls, double bytes) {
        return new Kernel("forward", "Add", cls, new Work(0, bytes, 0, true), DType.FLOAT32);
    }

    /**
     * Class "same" holds four large samples whose times fall slightly with size (noise); class
     * "outer" of the same operator grows as t = 2 r from far below them to among them.
     */
    private static EfficiencyModel model() {
        List<Sample> s = new ArrayList<>();
        double[] t = {10.5e-6, 10.4e-6, 10.3e-6, 10.2e-6};
        for (int i = 0; i < 4; i++) {
            s.add(add("same", i, (5 + i) * 1000.0, t[i]));
        }
        for (int i = 0; i < 8; i++) {
            double r = 0.25e-6 * Math.pow(2, i); // 0.25 to 32 µs
            s.add(add("outer", i, r * 1e9, 2 * r));
        }
        return new EfficiencyModel(ComputeModelTest.SLOW, s);
    }

    @Test
    void aSmallKernelIsNotPricedAtTheFlatTimeOfLargeOnes() {
        EfficiencyModel e = model();
        // a kernel of class "same" 16 times smaller than its class's smallest sample: the class's own points
        // slope down everywhere, so the operator's curve (t = 2 r there) is scaled through them
        double small = e.predict(addKernel("same", 312.5)).seconds();
        double flat = e.predict(addKernel("same", 6_500)).seconds(); // inside the range: the flat mean
        assertTrue(flat > 10e-6 && flat < 10.6e-6, "found " + flat);
        assertTrue(small < flat / 5, "a kernel of 0.31 µs of bytes priced at " + small + " s, its class's at " + flat);
        assertTrue(small > 0, "found " + small);
        // and it grows with the size below the range, as the operator's curve does
        double smaller = e.predict(addKernel("same", 156.25)).seconds();
        assertTrue(smaller < small, smaller + " against " + small);
    }

    @Test
    void insideTheRangeTheFlatLineStays() {
        EfficiencyModel e = model();
        double[] tt = {10.5e-6, 10.4e-6, 10.3e-6, 10.2e-6};
        double sw = 0;
        double swt = 0;
        for (double x : tt) {
            sw += 1 / (x * x);
            swt += x / (x * x);
        }
        assertEquals(swt / sw, e.predict(addKernel("same", 6_500)).seconds(), 1e-15);
    }
}
