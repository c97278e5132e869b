package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;

/** A global average pooling priced by its additions (a chain of dependent vector adds), not by its bytes. */
class GlobalPoolSumTest {

    static final DeviceSpec CPU = new DeviceSpec("cpu", "test", "cpu", Map.of("float32", 100e9), 100e9, 50e9, true, 1,
            Link.of("m", 1, 0), Link.of("n", 1, 0));
    /** Bandwidth halving between 100 KB and 1 MB, as a core's second-level cache gives way to the third. */
    static final MemoryCurve CURVE = new MemoryCurve(new double[] {1e5, 1e6}, new double[] {200e9, 50e9});

    static Node pool(long n, long c, long h, long w) {
        return new Node("g", "GlobalAveragePool", "", List.of(ComputeModelTest.act("x", n, c, h, w)),
                List.of(ComputeModelTest.act("y", n, c, 1, 1)), List.of());
    }

    @Test
    void itsRooflineIsItsAdditionsAtPeakOnACpuOnly() {
        Kernel k = Backward.forward(pool(8, 88, 3, 96));
        EfficiencyModel e = new EfficiencyModel(CPU, List.of(), CURVE);
        double flops = k.work().flops();
        assertTrue(flops > 0);
        // its bytes at the curve's bandwidth would take longer than its additions at peak: not what it is bound by
        assertTrue(k.work().bytes() / CURVE.bandwidth(k.work().bytes()) > flops / 100e9);
        assertEquals(flops / 100e9, e.roofline("GlobalAveragePool", flops, k.work().bytes(), DType.FLOAT32), 1e-18);
        // another pooling and a GPU keep the plain roofline
        assertEquals(e.roofline(flops, k.work().bytes(), DType.FLOAT32),
                e.roofline("MaxPool", flops, k.work().bytes(), DType.FLOAT32), 0);
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 100e9), 100e9, 50e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        EfficiencyModel g = new EfficiencyModel(gpu, List.of(), CURVE);
        assertEquals(g.roofline(flops, k.work().bytes(), DType.FLOAT32),
                g.roofline("GlobalAveragePool", flops, k.work().bytes(), DType.FLOAT32), 0);
    }

    @Test
    void poolingsTimedByTheirElementsArePricedSoAcrossTheCachesBend() {
        // timed as 0.3 µs + 0.15 ns per element (the calibration models' global poolings), footprints
        // of 37 KB to 0.9 MB, across the curve's bend
        long[][] shapes = {{1, 32, 3, 96}, {1, 40, 3, 96}, {1, 88, 3, 96}, {1, 200, 2, 96}, {8, 32, 3, 96},
            {8, 48, 3, 96}, {8, 104, 2, 96}, {8, 88, 3, 96}};
        List<Sample> s = new ArrayList<>();
        for (long[] d : shapes) {
            Kernel k = Backward.forward(pool(d[0], d[1], d[2], d[3]));
            double elements = d[0] * d[1] * d[2] * d[3];
            s.add(new Sample("gap" + java.util.Arrays.toString(d), "GlobalAveragePool", k.shapeClass(), k.work().flops(),
                    k.work().bytes(), DType.FLOAT32, 0.3e-6 + 0.15e-9 * elements));
        }
        EfficiencyModel e = new EfficiencyModel(CPU, s, CURVE);
        // between the samples and beyond them: within 3% of the same law
        for (long[] d : new long[][] {{1, 24, 40, 40}, {2, 24, 80, 80}, {4, 96, 10, 10}}) {
            double elements = d[0] * d[1] * d[2] * d[3];
            double truth = 0.3e-6 + 0.15e-9 * elements;
            double p = e.predict(Backward.forward(pool(d[0], d[1], d[2], d[3]))).seconds();
            assertEquals(truth, p, 0.03 * truth, java.util.Arrays.toString(d));
        }
    }
}
