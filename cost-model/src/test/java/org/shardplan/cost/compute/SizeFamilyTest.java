package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

class SizeFamilyTest {
    /** 1 GFLOP/s and 1 GB/s: roofline seconds are bytes times 1e-9 for element-wise kernels. */
    static final DeviceSpec SLOW = new DeviceSpec("slow", "test", "cpu", Map.of("float32", 1e9), 1e9, 1e9,
            true, 1, Link.of("m", 1, 0), Link.of("n", 1, 0));

    static String relu(long batch) {
        return "Relu||float32[" + batch + ",128,384]a|float32[" + batch + ",128,384]";
    }

    static String reshape(long batch) {
        return "Reshape|allowzero=0|float32[" + batch + ",128,384]a;int64[4]c[" + batch + ",128,12,32]|float32["
                + batch + ",128,12,32]";
    }

    /** A Relu sample of {@code batch} x 128 x 384 floats (read and written) measured at {@code seconds}. */
    static Sample reluSample(long batch, double seconds) {
        double bytes = 2.0 * 4 * batch * 128 * 384;
        return new Sample(relu(batch), "Relu", "same", 0, bytes, DType.FLOAT32, seconds);
    }

    static Kernel reluKernel(long batch) {
        long bytes = 4L * batch * 128 * 384;
        return new Kernel("forward", "Relu", "same", new Work(0, bytes, bytes, true), DType.FLOAT32);
    }

    @Test
    void sizesAreTheBracketedNumbersOfInputsAndOutputsOnly() {
        SizeFamily f = SizeFamily.of(reshape(2)).orElseThrow();
        // float32 and int64 keep their digits; the [4] of the constant's shape is a size too
        assertEquals("Reshape|allowzero=0|float32[#,#,#]a;int64[#]c[#,#,#,#]|float32[#,#,#,#]", f.skeleton());
        assertArrayEquals(new long[] {2, 128, 384, 4, 2, 128, 12, 32, 2, 128, 12, 32}, f.sizes());
        assertTrue(SizeFamily.of("Relu").isEmpty());
    }

    @Test
    void scalingsShareOneFactorEverywhere() {
        SizeFamily one = SizeFamily.of(reshape(1)).orElseThrow();
        SizeFamily four = SizeFamily.of(reshape(4)).orElseThrow();
        assertEquals(4.0, one.scaleTo(four));
        assertEquals(0.25, four.scaleTo(one));
        assertEquals(1.0, one.scaleTo(one));
        // batch doubled but heads not: two different factors, not a scaling
        SizeFamily mixed = SizeFamily.of("Reshape|allowzero=0|float32[2,128,384]a;int64[4]c[2,128,6,64]|float32[2,128,6,64]")
                .orElseThrow();
        assertTrue(Double.isNaN(one.scaleTo(mixed)));
        // another op or dtype: another family
        assertTrue(Double.isNaN(SizeFamily.of(relu(1)).orElseThrow().scaleTo(one)));
        assertTrue(Double.isNaN(SizeFamily.of(relu(1)).orElseThrow()
                .scaleTo(SizeFamily.of("Relu||float16[2,128,384]a|float16[2,128,384]").orElseThrow())));
    }

    @Test
    void heldOutKernelIsInterpolatedInLogLogBetweenItsNeighbours() {
        // batch 2 took 1 ms, batch 8 took 3 ms; batch 4 lies halfway in log r between them, so
        // log t is halfway too: t = sqrt(1 ms * 3 ms). Batch 4's own (odd) measurement is held out.
        List<Sample> s = List.of(reluSample(2, 1e-3), reluSample(8, 3e-3), reluSample(4, 100.0));
        EfficiencyModel full = new EfficiencyModel(SLOW, s);
        EfficiencyModel.Prediction p = full.without(Set.of(relu(4))).predict(reluKernel(4), relu(4));
        assertEquals("family", p.source());
        assertEquals(Math.sqrt(1e-3 * 3e-3), p.seconds(), 1e-12);
        // with its own measurement in the data, a kernel is predicted as measured
        assertEquals(100.0, full.predict(reluKernel(4), relu(4)).seconds(), 1e-12);
        // a quarter of the way: batch 2 to batch 32 is a factor 16 in r, batch 4 is a factor 2 of it
        EfficiencyModel wide = new EfficiencyModel(SLOW, List.of(reluSample(2, 1e-3), reluSample(32, 16e-3)));
        assertEquals(Math.exp(Math.log(1e-3) + 0.25 * Math.log(16)), wide.predict(reluKernel(4), relu(4)).seconds(),
                1e-12);
    }

    @Test
    void moreMembersGiveAWeightedLineThroughTheNearest() {
        // around batch 4: batch 2 (x = -1 doubling, 1 ms), batch 8 (x = +1, 3 ms), and the two
        // nearest others, batch 16 (x = +2, 8 ms) and batch 32 (x = +3, 20 ms); batch 64 is left out.
        // Weights 1 / (1 + x²): 1/2, 1/2, 1/5, 1/10. The weighted least-squares line in (x, log t)
        // at x = 0: intercept = (Sy·Sxx - Sx·Sxy) / (Sw·Sxx - Sx²)
        List<Sample> s = List.of(reluSample(2, 1e-3), reluSample(8, 3e-3), reluSample(16, 8e-3),
                reluSample(32, 20e-3), reluSample(64, 1.0));
        double y2 = Math.log(1e-3);
        double y8 = Math.log(3e-3);
        double y16 = Math.log(8e-3);
        double y32 = Math.log(20e-3);
        double sw = 0.5 + 0.5 + 0.2 + 0.1;
        double sx = -0.5 + 0.5 + 0.4 + 0.3;
        double sxx = 0.5 + 0.5 + 0.8 + 0.9;
        double sy = 0.5 * y2 + 0.5 * y8 + 0.2 * y16 + 0.1 * y32;
        double sxy = -0.5 * y2 + 0.5 * y8 + 0.4 * y16 + 0.3 * y32;
        double expected = Math.exp((sy * sxx - sx * sxy) / (sw * sxx - sx * sx));
        EfficiencyModel.Prediction p = new EfficiencyModel(SLOW, s).predict(reluKernel(4), relu(4));
        assertEquals(expected, p.seconds(), 1e-12 * expected);
        // the pair alone would give sqrt(1 ms * 3 ms) = 1.73 ms; the members above, on a steeper
        // part of the curve, move the line off it
        assertTrue(Math.abs(p.seconds() - Math.sqrt(1e-3 * 3e-3)) > 1e-5, "prediction " + p.seconds());
    }

    @Test
    void onOneSideOnlyTheNearestMemberIsCarriedAlongTheClassCurve() {
        // the class curve (other Relu widths, filed under class "same") is t = 2 ms + r / 1 over
        // r in seconds; the family's one member (filed under another class so that it does not
        // bend that curve) sits at batch 2 at 1 ms. Batch 4 lies above it:
        // t = 1 ms * curve(r4) / curve(r2)
        double r2 = 2.0 * 4 * 2 * 128 * 384 * 1e-9;
        double r4 = 2 * r2;
        List<Sample> s = List.of(
                new Sample(relu(2), "Relu", "member", 0, r2 * 1e9, DType.FLOAT32, 1e-3),
                new Sample("Relu||float32[1,7]a|float32[1,7]", "Relu", "same", 0, r2 * 1e9, DType.FLOAT32, 2e-3 + r2),
                new Sample("Relu||float32[1,9]a|float32[1,9]", "Relu", "same", 0, 8 * r2 * 1e9, DType.FLOAT32,
                        2e-3 + 8 * r2));
        EfficiencyModel m = new EfficiencyModel(SLOW, s);
        EfficiencyModel.Prediction p = m.predict(reluKernel(4), relu(4));
        assertEquals("family", p.source());
        assertEquals(r4, p.rooflineSeconds(), 1e-15);
        assertEquals(1e-3 * (2e-3 + r4) / (2e-3 + r2), p.seconds(), 1e-12);
        // without a signature, or with one of no measured family, the class curve answers
        assertEquals(2e-3 + r4, m.predict(reluKernel(4)).seconds(), 1e-12);
        EfficiencyModel.Prediction other = m.predict(reluKernel(4), "Relu||float32[3,3,3]a|float32[3,3,3]");
        assertEquals("class", other.source());
        assertEquals(2e-3 + r4, other.seconds(), 1e-12);
    }

    @Test
    void computeModelLooksUpANodesFamilyBySignature() {
        org.shardplan.graph.Node relu = new org.shardplan.graph.Node("r", "Relu", "",
                List.of(org.shardplan.graph.Value.intermediate("x", org.shardplan.graph.TensorType.of(DType.FLOAT32, 4, 128, 384))),
                List.of(org.shardplan.graph.Value.intermediate("y", org.shardplan.graph.TensorType.of(DType.FLOAT32, 4, 128, 384))),
                List.of());
        assertEquals(relu(4), org.shardplan.cost.calib.OpSignature.of(relu));
        ComputeModel cm = new ComputeModel(new EfficiencyModel(SLOW, List.of(reluSample(2, 1e-3), reluSample(8, 3e-3))));
        EfficiencyModel.Prediction p = cm.forward(relu);
        assertEquals("family", p.source());
        assertEquals(Math.sqrt(1e-3 * 3e-3), p.seconds(), 1e-12);
        assertEquals(p, cm.cost(relu).forward());
        // an analytic model has no families and builds no signatures
        assertTrue(!ComputeModel.analytic(SLOW).efficiency().hasFamilies());
        assertEquals("analytic", ComputeModel.analytic(SLOW).forward(relu).source());
    }
}
