package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/** Kernels larger than every sample of their group ({@code EfficiencyModel.aboveRange}). */
class AboveRangeTest {

    /** An Add of {@code bytes} on the 1 GB/s test device: roofline time bytes · 1e-9 s. */
    private static Sample add(int i, double bytes, double seconds) {
        return new Sample("s" + i, "Add", "same", 0, bytes, DType.FLOAT32, seconds);
    }

    private static Kernel addKernel(double bytes) {
        return new Kernel("forward", "Add", "same", new Work(0, bytes, 0, true), DType.FLOAT32);
    }

    /** t = c + k·r by least squares weighted 1/t², written out here independently of the model. */
    private static double weightedLine(double[] r, double[] t, double at) {
        double s = 0, sr = 0, srr = 0, st = 0, srt = 0;
        for (int i = 0; i < r.length; i++) {
            double w = 1 / (t[i] * t[i]);
            s += w;
            sr += w * r[i];
            srr += w * r[i] * r[i];
            st += w * t[i];
            srt += w * r[i] * t[i];
        }
        double k = (s * srt - sr * st) / (s * srr - sr * sr);
        double c = (st - k * sr) / s;
        return c + k * at;
    }

    @Test
    void aLineThroughTheLargestSamplesIsExtendedAsItIs() {
        // the four samples on t = 1 µs + r: at r = 16 µs (16 000 bytes at 1 GB/s) the line gives 17 µs
        List<Sample> s = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            s.add(add(i, 1000.0 * i, 1e-6 + 1e-6 * i));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        assertEquals(17e-6, e.predict(addKernel(16_000)).seconds(), 1e-15);
    }

    @Test
    void largestSamplesThatFallWithSizeGiveWayToAWiderNeighbourhood() {
        // four small samples on t = 2 r, four large ones whose times fall slightly with size (noise)
        double[] r = {1e-6, 2e-6, 3e-6, 4e-6, 5e-6, 6e-6, 7e-6, 8e-6};
        double[] t = {2e-6, 4e-6, 6e-6, 8e-6, 10.5e-6, 10.4e-6, 10.3e-6, 10.2e-6};
        List<Sample> s = new ArrayList<>();
        for (int i = 0; i < r.length; i++) {
            s.add(add(i, r[i] * 1e9, t[i]));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        double at16 = e.predict(addKernel(16_000)).seconds();
        // the four largest slope down, so the line through all eight answers
        assertEquals(weightedLine(r, t, 16e-6), at16, 1e-15);
        // which grows with the size, where a flat line would price 16 µs of bytes as 8
        assertTrue(at16 > 1.5 * e.predict(addKernel(8_000)).seconds(), "found " + at16);
        // inside the samples' range nothing changes: the four nearest 6.5 µs slope down, so the flat
        // weighted mean of their times answers
        double[] rt = {5e-6, 6e-6, 7e-6, 8e-6};
        double[] tt = {10.5e-6, 10.4e-6, 10.3e-6, 10.2e-6};
        double sw = 0;
        double swt = 0;
        for (int i = 0; i < rt.length; i++) {
            sw += 1 / (tt[i] * tt[i]);
            swt += tt[i] / (tt[i] * tt[i]);
        }
        assertEquals(swt / sw, e.predict(addKernel(6_500)).seconds(), 1e-15);
    }
}
