package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;

class MemoryCurveTest {
    /** 100 GB/s up to 1 MB, 25 GB/s from 100 MB. */
    static final MemoryCurve CURVE = new MemoryCurve(new double[] {1e6, 1e8}, new double[] {100e9, 25e9});

    @Test
    void bandwidthIsInterpolatedInLogLogAndHeldAtTheEnds() {
        assertEquals(100e9, CURVE.bandwidth(1e3), 0);
        assertEquals(25e9, CURVE.bandwidth(1e9), 0);
        // 10 MB is halfway in log footprint: halfway in log bandwidth, sqrt(100 * 25) = 50 GB/s
        assertEquals(50e9, CURVE.bandwidth(1e7), 1e-3);
        assertThrows(IllegalArgumentException.class, () -> new MemoryCurve(new double[] {2, 1}, new double[] {1, 1}));
    }

    @Test
    void theRooflineMovesBytesAtTheBandwidthOfTheirFootprint() {
        EfficiencyModel plain = new EfficiencyModel(ComputeModelTest.SLOW, List.of());
        EfficiencyModel curved = plain.withMemory(CURVE);
        // SLOW: 1 GB/s flat; with the curve 10 MB move at 50 GB/s: 2e-4 s
        assertEquals(1e7 / 1e9, plain.roofline(0, 1e7, DType.FLOAT32), 1e-15);
        assertEquals(1e7 / 50e9, curved.roofline(0, 1e7, DType.FLOAT32), 1e-12);
        // FLOPs still bound a kernel that does more arithmetic than the bytes take: 1e6 FLOPs at 1 GFLOP/s
        assertEquals(1e-3, curved.roofline(1e6, 1e7, DType.FLOAT32), 1e-15);
    }
}
