package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;

/** Weights larger than the caches, streamed from memory on every call of a matrix product. */
class WeightStreamingTest {

    /** 200 GB/s at 1 MB, 100 at 10 MB, 40 at 100 MB, 25 at 1 GB (the memory). */
    static final MemoryCurve CURVE = new MemoryCurve(new double[] {1e6, 1e7, 1e8, 1e9},
            new double[] {200e9, 100e9, 40e9, 25e9});

    @Test
    void theCurveSaysHowMuchTheCachesHoldAndHowFastMemoryStreams() {
        assertEquals(25e9, CURVE.streamingBandwidth(), 0);
        // twice the memory's 25 GB/s is 50: 10 MB still run at 100, 100 MB only at 40
        assertEquals(1e7, CURVE.cacheBytes(), 0);
        // no footprint at twice the memory's bandwidth: the smallest one
        assertEquals(1e6, new MemoryCurve(new double[] {1e6, 1e9}, new double[] {40e9, 25e9}).cacheBytes(), 0);
    }

    @Test
    void weightBytesAreThoseOfAMatrixProductsTrainedOperands() {
        Node mm = ComputeModelTest.matmul(32, 256, 1000);
        assertEquals(256 * 1000 * 4.0, Backward.weightBytes(mm), 0);
        assertEquals(256 * 1000 * 4.0, Backward.forward(mm).weightBytes(), 0);
        Node add = new Node("add", "Add", "", List.of(ComputeModelTest.act("x", 4, 4), ComputeModelTest.weight("b", 4)),
                List.of(ComputeModelTest.act("y", 4, 4)), List.of());
        assertEquals(0, Backward.weightBytes(add), 0);
        // the same count read from operator signatures (calibration samples carry no node)
        assertEquals(256 * 50304 * 4.0, EfficiencyModel.signatureWeightBytes(
                "MatMul||float32[1,32,256]a;float32[256,50304]p|float32[1,32,50304]"), 0);
        assertEquals((1000 * 256 + 1000) * 4.0, EfficiencyModel.signatureWeightBytes(
                "Gemm|transB=1|float32[32,256]a;float32[1000,256]p;float32[1000]p|float32[32,1000]"), 0);
        assertEquals(0, EfficiencyModel.signatureWeightBytes("Add||float32[4,4]a;float32[4]p|float32[4,4]"), 0);
        assertEquals(0, EfficiencyModel.signatureWeightBytes("MatMul||float32[8,8]a;float32[8,8]a|float32[8,8]"), 0);
    }

    private static Kernel matmulKernel(double flops, double weightBytes) {
        return new Kernel("forward", "MatMul", "2d/weight", new Work(flops, weightBytes, 0, true), DType.FLOAT32, 1,
                Optional.empty(), weightBytes);
    }

    @Test
    void weightsBeyondTheCachesAddTheirStreamingTime() {
        // SLOW: 1 GFLOP/s. Cached products on t = 2 r (r = F / 1e9 s, compute-bound), and one whose
        // 100 MB weight exceeds the 10 MB the caches hold: 90 MB at 25 GB/s = 3.6 ms more
        List<Sample> s = new ArrayList<>();
        for (double f : new double[] {1e7, 2e7, 4e7, 8e7}) {
            s.add(new Sample("mm" + f, "MatMul", "2d/weight", f, 1e5, DType.FLOAT32, 2 * f * 1e-9));
        }
        s.add(new Sample("MatMul||float32[1,1000]a;float32[1000,25000]p|float32[1,25000]", "MatMul", "2d/weight", 5e7,
                1e8, DType.FLOAT32, 2 * 5e7 * 1e-9 + 3.6e-3));
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s, CURVE);
        assertEquals(3.6e-3, e.streamSeconds("MatMul", 1e8), 1e-15);
        // the large sample is fitted with its streaming time taken off: all five on t = 2 r, so a
        // product of 1e8 FLOPs takes 0.2 s, plus (50 - 10) MB / 25 GB/s = 1.6 ms for its 50 MB weight
        assertEquals(0.2 + 1.6e-3, e.predict(matmulKernel(1e8, 5e7)).seconds(), 1e-12);
        // a weight the caches hold streams nothing
        assertEquals(0.2, e.predict(matmulKernel(1e8, 5e6)).seconds(), 1e-12);
        // without a memory curve there is no streaming term (the large sample then pulls the line up)
        EfficiencyModel flat = new EfficiencyModel(ComputeModelTest.SLOW, s);
        assertEquals(0, flat.streamSeconds("MatMul", 1e8), 0);
        // not a matrix product, or not a CPU: nothing either
        assertEquals(0, e.streamSeconds("Add", 1e8), 0);
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 1e12), 1e12, 1e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        assertEquals(0, new EfficiencyModel(gpu, s, CURVE).streamSeconds("MatMul", 1e8), 0);
    }

    @Test
    void productsStreamWeightsAtTheRateMeasuredForThem() {
        // a product measured streaming its weights at 10 GB/s beyond the caches' 10 MB, where an Add streams 25
        MemoryCurve measured = CURVE.withProductBandwidth(10e9);
        assertEquals(10e9, measured.weightStreamingBandwidth(), 0);
        assertEquals(25e9, CURVE.weightStreamingBandwidth(), 0);
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, List.of(), measured);
        // 90 MB beyond the caches at 10 GB/s: 9 ms (3.6 ms at the Add's 25 GB/s)
        assertEquals(9e-3, e.streamSeconds("MatMul", 1e8), 1e-15);
        assertEquals(0, e.streamSeconds("MatMul", 5e6), 0);
        // samples are fitted with that time taken off: a product of 100 MB of weights measured at 2 r + 9 ms
        // sits on the cached products' line t = 2 r, and a 50 MB one is priced 0.2 s + 40 MB at 10 GB/s
        List<Sample> s = new ArrayList<>();
        for (double f : new double[] {1e7, 2e7, 4e7, 8e7}) {
            s.add(new Sample("mm" + f, "MatMul", "2d/weight", f, 1e5, DType.FLOAT32, 2 * f * 1e-9));
        }
        s.add(new Sample("MatMul||float32[1,1000]a;float32[1000,25000]p|float32[1,25000]", "MatMul", "2d/weight", 5e7,
                1e8, DType.FLOAT32, 2 * 5e7 * 1e-9 + 9e-3));
        assertEquals(0.2 + 4e-3, new EfficiencyModel(ComputeModelTest.SLOW, s, measured)
                .predict(matmulKernel(1e8, 5e7)).seconds(), 1e-12);
        // two curves that differ only in the product rate price differently
        assertFalse(new EfficiencyModel(ComputeModelTest.SLOW, s, measured)
                .pricesAs(new EfficiencyModel(ComputeModelTest.SLOW, s, CURVE)));
        assertTrue(new EfficiencyModel(ComputeModelTest.SLOW, s, measured)
                .pricesAs(new EfficiencyModel(ComputeModelTest.SLOW, s, CURVE.withProductBandwidth(10e9))));
    }

    @Test
    void theProductRateIsTheTimeBeyondTheCachedProductPerByteBeyondTheCaches() {
        // 64 MB of weights took 12.5 ms, 8 MB scaled to as many columns 10 ms: 54 MB beyond the 10 MB in 2.5 ms
        assertEquals(54e6 / 2.5e-3, CURVE.productBandwidth(64e6, 12.5e-3, 10e-3, 8e6), 1e-3);
        // not measured: the cached product's weights exceed the caches, the large ones do not, or no time beyond
        assertEquals(0, CURVE.productBandwidth(64e6, 12.5e-3, 10e-3, 2e7), 0);
        assertEquals(0, CURVE.productBandwidth(8e6, 12.5e-3, 10e-3, 4e6), 0);
        assertEquals(0, CURVE.productBandwidth(64e6, 9e-3, 10e-3, 8e6), 0);
        assertThrows(IllegalArgumentException.class, () -> CURVE.withProductBandwidth(-1));
    }

    @Test
    void insideAWholeModelEveryNodeReadsItsWeightsFromMemoryOnce() {
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, List.of(), CURVE);
        // a 3x3 convolution of 32 to 64 channels: (64·32·9 + 64) floats of weights and bias,
        // 73,984 bytes at the memory's 25 GB/s
        Node conv = new Node("conv", "Conv", "", List.of(ComputeModelTest.act("x", 1, 32, 8, 8),
                ComputeModelTest.weight("w", 64, 32, 3, 3), ComputeModelTest.weight("b", 64)),
                List.of(ComputeModelTest.act("y", 1, 64, 8, 8)), List.of());
        assertEquals((64 * 32 * 9 + 64) * 4.0, Backward.parameterBytes(conv), 0);
        assertEquals(73984 / 25e9, e.coldWeightSeconds(conv), 1e-18);
        // a product whose weights the caches hold (256·1000 floats, 1 MB < 10 MB): read cold once
        Node mm = ComputeModelTest.matmul(32, 256, 1000);
        assertEquals(256 * 1000 * 4 / 25e9, e.coldWeightSeconds(mm), 1e-18);
        // one whose weights exceed the caches already streams them in its own prediction: nothing more
        Node big = ComputeModelTest.matmul(1, 1000, 25000);
        assertEquals(0, e.coldWeightSeconds(big), 0);
        // an embedding lookup reads the rows its indices pick, not the table
        Node gather = new Node("g", "Gather", "", List.of(ComputeModelTest.weight("table", 30000, 384),
                Value.intermediate("ids", TensorType.of(DType.INT64, 1, 64))),
                List.of(ComputeModelTest.act("e", 1, 64, 384)), List.of());
        assertEquals(0, Backward.parameterBytes(gather), 0);
        assertEquals(0, e.coldWeightSeconds(gather), 0);
        // an activation-only node has no weights
        Node relu = new Node("r", "Relu", "", List.of(ComputeModelTest.act("x", 1, 32, 8, 8)),
                List.of(ComputeModelTest.act("y", 1, 32, 8, 8)), List.of());
        assertEquals(0, e.coldWeightSeconds(relu), 0);
        // without a memory curve, or on a GPU: nothing
        assertEquals(0, new EfficiencyModel(ComputeModelTest.SLOW, List.of()).coldWeightSeconds(conv), 0);
        DeviceSpec gpu = new DeviceSpec("gpu", "test", "gpu", Map.of("float32", 1e12), 1e12, 1e9, true, 1,
                Link.of("m", 1, 0), Link.of("n", 1, 0));
        assertEquals(0, new EfficiencyModel(gpu, List.of(), CURVE).coldWeightSeconds(conv), 0);
    }
}
