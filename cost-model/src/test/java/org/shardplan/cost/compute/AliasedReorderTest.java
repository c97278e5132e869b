package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/**
 * A reordering into the blocked layout whose channel planes alias in the first-level cache runs no faster than the
 * rate the memory curve's microbenchmark measured for such reorderings; other kernels are priced as before.
 */
class AliasedReorderTest {

    /** The curve of {@link WeightStreamingTest} with aliased reorderings measured at 25 GB/s. */
    private static final MemoryCurve CURVE = WeightStreamingTest.CURVE.withAliasedReorderBandwidth(25e9);

    private static String sig(long n, long c, long h, long w) {
        long cp = (c + 15) / 16 * 16;
        return "com.microsoft.nchwc:ReorderInput|channels_last=0|float32[" + n + "," + c + "," + h + "," + w + "]a|float32["
                + n + "," + cp + "," + h + "," + w + "]";
    }

    private static double bytes(long n, long c, long h, long w) {
        return 4.0 * n * h * w * (c + (c + 15) / 16 * 16);
    }

    private static Kernel kernel(double bytes) {
        return new Kernel("forward", "ReorderInput", "nchwc/any", new Work(0, bytes / 2, bytes / 2, true), DType.FLOAT32);
    }

    /** Reorderings of planes that do not alias (side 100: 40,000 bytes), at 70 GB/s; and, if asked, aliased ones at 25. */
    private static List<Sample> samples(boolean withAliased) {
        List<Sample> s = new ArrayList<>();
        for (long c : new long[] {16, 32, 64, 128}) {
            double b = bytes(1, c, 100, 100);
            s.add(new Sample(sig(1, c, 100, 100), "ReorderInput", "nchwc/any", 0, b, DType.FLOAT32, b / 70e9));
        }
        if (withAliased) {
            for (long c : new long[] {16, 32, 48}) {
                double b = bytes(1, c, 64, 64);
                s.add(new Sample(sig(1, c, 64, 64), "ReorderInput", "nchwc/any", 0, b, DType.FLOAT32, b / 25e9));
            }
        }
        return s;
    }

    @Test
    void whichReorderingsAlias() {
        assertTrue(EfficiencyModel.aliasedReorder(sig(2, 32, 160, 160))); // 100 KiB planes: 25 x 4 KiB
        assertTrue(EfficiencyModel.aliasedReorder(sig(1, 16, 64, 64)));
        assertFalse(EfficiencyModel.aliasedReorder(sig(2, 32, 156, 160))); // 97.5 KiB
        assertFalse(EfficiencyModel.aliasedReorder(sig(1, 96, 80, 80))); // 25,000 bytes: 6.25 x 4 KiB
        assertFalse(EfficiencyModel.aliasedReorder(sig(1, 8, 160, 160))); // no full block of 16 channels
        assertFalse(EfficiencyModel.aliasedReorder(
                "com.microsoft.nchwc:ReorderInput|channels_last=1|float32[1,160,160,32]a|float32[1,32,160,160]"));
        assertFalse(EfficiencyModel.aliasedReorder(
                "com.microsoft.nchwc:ReorderOutput|channels=32|float32[1,32,160,160]a|float32[1,32,160,160]"));
        assertFalse(EfficiencyModel.aliasedReorder("com.microsoft.nchwc:ReorderInput|channels_last=0|float32[1,32]a"));
        assertFalse(EfficiencyModel.aliasedReorder(null));
    }

    @Test
    void anAliasedReorderingRunsAtTheMeasuredRate() {
        String s = sig(2, 32, 160, 160);
        double b = bytes(2, 32, 160, 160);
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, samples(false), CURVE);
        assertEquals(b / 25e9, e.aliasedReorderSeconds(s, b), 0);
        assertEquals(b / 25e9, e.predict(kernel(b), s).seconds(), 1e-15);
        // without the rate (a curve file that lacks it) the reordering is priced from the other reorderings' curve
        EfficiencyModel without = new EfficiencyModel(ComputeModelTest.SLOW, samples(false), WeightStreamingTest.CURVE);
        double t = without.predict(kernel(b), s).seconds();
        assertTrue(t < 0.5 * b / 25e9, "found " + t);
        // a reordering whose planes do not alias keeps the curve's time
        String n = sig(2, 32, 156, 160);
        double nb = bytes(2, 32, 156, 160);
        assertEquals(without.predict(kernel(nb), n).seconds(), e.predict(kernel(nb), n).seconds(), 0);
        // not on a GPU
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 1e12), 1e12, 1e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        assertEquals(0, new EfficiencyModel(gpu, samples(false), CURVE).aliasedReorderSeconds(s, b), 0);
    }

    @Test
    void theRateMovesOnlyAliasedReorderings() {
        // the samples, aliased ones among them, price a reordering that does not alias as they did without the rate
        String n = sig(1, 256, 100, 100);
        double nb = bytes(1, 256, 100, 100);
        EfficiencyModel with = new EfficiencyModel(ComputeModelTest.SLOW, samples(true), CURVE);
        EfficiencyModel without = new EfficiencyModel(ComputeModelTest.SLOW, samples(true), WeightStreamingTest.CURVE);
        assertEquals(without.predict(kernel(nb), n).seconds(), with.predict(kernel(nb), n).seconds(), 0);
        // an aliased one is never faster than the rate, nor faster than the samples price it
        String s = sig(4, 64, 64, 64);
        double b = bytes(4, 64, 64, 64);
        double curve = without.predict(kernel(b), s).seconds();
        assertEquals(Math.max(curve, b / 25e9), with.predict(kernel(b), s).seconds(), 1e-15);
        // and no slower than the rate where the samples price it slower (a rate measured at 100 GB/s)
        EfficiencyModel fast = new EfficiencyModel(ComputeModelTest.SLOW, samples(true),
                WeightStreamingTest.CURVE.withAliasedReorderBandwidth(100e9));
        assertEquals(Math.max(curve, b / 100e9), fast.predict(kernel(b), s).seconds(), 1e-15);
    }

    @Test
    void theRateIsPartOfTheCurve() {
        assertEquals(25e9, CURVE.aliasedReorderBandwidth(), 0);
        assertEquals(25e9, CURVE.withProductBandwidth(7e9).aliasedReorderBandwidth(), 0);
        assertFalse(CURVE.equals(WeightStreamingTest.CURVE));
        assertEquals(CURVE, WeightStreamingTest.CURVE.withAliasedReorderBandwidth(25e9));
        assertEquals(CURVE.hashCode(), WeightStreamingTest.CURVE.withAliasedReorderBandwidth(25e9).hashCode());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CURVE.withAliasedReorderBandwidth(-1));
    }
}
