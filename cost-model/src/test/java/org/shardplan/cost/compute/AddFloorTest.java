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
import org.shardplan.graph.Work;

/** No element-wise kernel is predicted to stream its bytes faster than the memory curve's Add of that footprint. */
class AddFloorTest {

    /** 200 GB/s at 1 MB, 100 at 10 MB, 40 at 100 MB, 25 at 1 GB. */
    private static final MemoryCurve CURVE = WeightStreamingTest.CURVE;

    private static Kernel kernel(String op, double bytes) {
        return new Kernel("forward", op, "same", new Work(0, bytes, 0, true), DType.FLOAT32);
    }

    /**
     * Samples of {@code op} that ran their bytes at twice the curve's bandwidth at 1 to 8 MB (the
     * small footprints' rates), so that their fitted curve, carried to larger kernels, is half
     * the curve's time there.
     */
    private static List<Sample> fastSamples(String op) {
        List<Sample> s = new ArrayList<>();
        for (double b : new double[] {1e6, 2e6, 4e6, 8e6}) {
            s.add(new Sample(op + b, op, "same", 0, b, DType.FLOAT32, 0.5 * b / CURVE.bandwidth(b)));
        }
        return s;
    }

    @Test
    void anElementWiseKernelTakesAtLeastItsBytesAtTheCurvesBandwidth() {
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, fastSamples("Add"), CURVE);
        // 50 MB: the curve interpolates between 100 GB/s (10 MB) and 40 GB/s (100 MB); the samples' line says half that time
        double bytes = 5e7;
        double floor = bytes / CURVE.bandwidth(bytes);
        assertEquals(floor, e.addFloorSeconds("Add", 0, bytes, DType.FLOAT32), 0);
        assertEquals(floor, e.predict(kernel("Add", bytes)).seconds(), 1e-15);
        assertEquals(floor, e.predict(kernel("Add", bytes), "Add||float32[6250000]a;float32[]c|float32[6250000]")
                .seconds(), 1e-15);
        // a Mul or Clip is priced by the same floor; a kernel the samples price slower keeps its time
        EfficiencyModel mul = new EfficiencyModel(ComputeModelTest.SLOW, fastSamples("Mul"), CURVE);
        assertEquals(floor, mul.predict(kernel("Mul", bytes)).seconds(), 1e-15);
        List<Sample> slow = new ArrayList<>();
        for (double b : new double[] {1e6, 2e6, 4e6, 8e6}) {
            slow.add(new Sample("Add" + b, "Add", "same", 0, b, DType.FLOAT32, 3 * b / CURVE.bandwidth(b)));
        }
        double t = new EfficiencyModel(ComputeModelTest.SLOW, slow, CURVE).predict(kernel("Add", bytes)).seconds();
        assertTrue(t > 2 * floor, "found " + t + " against " + floor);
    }

    @Test
    void onlyElementWiseKernelsOnACpuWithACurve() {
        double bytes = 5e7;
        double floor = bytes / CURVE.bandwidth(bytes);
        // without a curve the samples' own line answers, below the curve's time
        double flat = new EfficiencyModel(ComputeModelTest.SLOW, fastSamples("Add")).predict(kernel("Add", bytes))
                .seconds();
        assertEquals(0, new EfficiencyModel(ComputeModelTest.SLOW, fastSamples("Add"))
                .addFloorSeconds("Add", 0, bytes, DType.FLOAT32), 0);
        assertTrue(flat < floor, "found " + flat);
        // data movement (a Transpose's strided reads) and transcendental ops are not priced by an Add
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, fastSamples("Transpose"), CURVE);
        assertEquals(0, e.addFloorSeconds("Transpose", 0, bytes, DType.FLOAT32), 0);
        assertTrue(e.predict(kernel("Transpose", bytes)).seconds() < floor);
        assertEquals(0, e.addFloorSeconds("Tanh", 14 * bytes / 8, bytes, DType.FLOAT32), 0);
        // a compute-bound element-wise kernel: its FLOPs at peak exceed its bytes at the curve's bandwidth
        assertEquals(0, e.addFloorSeconds("Add", 1e9, bytes, DType.FLOAT32), 0);
        // a GPU
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 1e12), 1e12, 1e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        assertEquals(0, new EfficiencyModel(gpu, fastSamples("Add"), CURVE)
                .addFloorSeconds("Add", 0, bytes, DType.FLOAT32), 0);
    }
}
