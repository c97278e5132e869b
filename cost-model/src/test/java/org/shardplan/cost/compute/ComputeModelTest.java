package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;

class ComputeModelTest {
    /** 1 GFLOP/s and 1 GB/s: roofline seconds are FLOPs or bytes times 1e-9. */
    static final DeviceSpec SLOW = new DeviceSpec("slow", "test", "cpu", Map.of("float32", 1e9), 1e9, 1e9,
            true, 1, Link.of("m", 1, 0), Link.of("n", 1, 0));

    static Value act(String name, long... dims) {
        return Value.intermediate(name, TensorType.of(DType.FLOAT32, dims));
    }

    static Value weight(String name, long... dims) {
        return Value.parameter(name, TensorType.of(DType.FLOAT32, dims));
    }

    static Node matmul(long m, long k, long n) {
        return new Node("mm", "MatMul", "", List.of(act("a", m, k), weight("b", k, n)), List.of(act("y", m, n)),
                List.of());
    }

    @Test
    void theOptimizerStepStreamsItsBytesPerParameter() throws Exception {
        // mixed-precision Adam keeps 16 bytes per parameter and its step moves 52 (Megatron-LM's kernels):
        // 1e9 parameters on an A100 80GB (2,039 GB/s at 85% streaming efficiency)
        DeviceSpec a100 = org.shardplan.cost.cluster.DeviceProfiles.get("a100-80gb");
        ComputeModel cm = ComputeModel.analytic(a100);
        double seconds = cm.optimizerStepSeconds(16e9, org.shardplan.cost.memory.OptimizerSpec.ADAM_MIXED);
        assertEquals(52e9 / (2039e9 * 0.85), seconds, 1e-12 * seconds);
        assertEquals(6 + 8 + 4 + 28 + 6, org.shardplan.cost.memory.OptimizerSpec.ADAM_MIXED.stepBytesPerParameter());
        // plain SGD in float32: 8 bytes kept, 12 moved (read weight and gradient, write the weight); a device
        // without a kernel model streams at its full bandwidth
        assertEquals(8e9 / 8 * 12 * 1e-9, ComputeModel.analytic(SLOW).optimizerStepSeconds(8e9,
                org.shardplan.cost.memory.OptimizerSpec.SGD_FP32), 1e-12);
        assertEquals(0, cm.optimizerStepSeconds(0, org.shardplan.cost.memory.OptimizerSpec.ADAM_MIXED));
        // the reduction is overlapped unless asked otherwise
        assertTrue(cm.gradientOverlap());
        assertTrue(!cm.withGradientOverlap(false).gradientOverlap());
        assertTrue(!cm.withGradientOverlap(false).withAttention(false).gradientOverlap());
    }

    @Test
    void aTrainingDropoutHasABackwardAnInferenceOneNone() {
        Value x = act("x", 64, 128);
        Value ratio = Value.constant("ratio", org.shardplan.graph.Tensor.ofDoubles(DType.FLOAT32, new long[0],
                new double[] {0.1}));
        Value on = Value.constant("on", org.shardplan.graph.Tensor.ofLongs(DType.BOOL, new long[0], new long[] {1}));
        Value off = Value.constant("off", org.shardplan.graph.Tensor.ofLongs(DType.BOOL, new long[0], new long[] {0}));
        Node train = new Node("d", "Dropout", "", List.of(x, ratio, on),
                List.of(act("y", 64, 128), Value.intermediate("mask", TensorType.of(DType.BOOL, 64, 128))), List.of());
        Node infer = new Node("d", "Dropout", "", List.of(x, ratio, off), List.of(act("y", 64, 128)), List.of());
        assertEquals(0, Backward.of(infer).size());
        List<Kernel> back = Backward.of(train);
        assertEquals(1, back.size());
        // the mask applied to the output gradient: twice the forward's one operation per element, reading the
        // forward's bytes (x 4 B, y 4 B, mask 1 B per element, the ratio 4 B and the flag 1 B) and writing dx
        long n = 64 * 128;
        assertEquals(4 * n + 4 + 1 + 4 * n + n, org.shardplan.graph.WorkAnalysis.of(train).bytes(), 1e-9);
        assertEquals(new Work(2.0 * n, 4 * n + 4 + 1 + 4 * n + n, 4 * n, true), back.get(0).work());
    }

    @Test
    void matmulBackwardIsTwoMatmulsOfKnownShapes() {
        Node mm = matmul(64, 128, 32);
        long f = 2L * 64 * 32 * 128;
        List<Kernel> back = Backward.of(mm);
        assertEquals(2, back.size());
        // dA = dY·Bᵀ: reads dY (64x32) and B (128x32), writes dA (64x128)
        assertEquals(new Work(f, 4L * (64 * 32 + 128 * 32), 4L * 64 * 128, true), back.get(0).work());
        assertEquals("grad-input", back.get(0).role());
        // dB = Aᵀ·dY: reads A (64x128) and dY, writes dB (128x32)
        assertEquals(new Work(f, 4L * (64 * 128 + 64 * 32), 4L * 128 * 32, true), back.get(1).work());
        assertEquals("2d/act", back.get(1).shapeClass());
        // A saved for dB: 64*128 elements
        assertEquals(64 * 128, Backward.savedElements(mm));
    }

    @Test
    void graphInputsNeedNoGradient() {
        Node first = new Node("mm", "MatMul", "",
                List.of(Value.input("x", TensorType.of(DType.FLOAT32, 8, 16)), weight("w", 16, 4)),
                List.of(act("y", 8, 4)), List.of());
        List<Kernel> back = Backward.of(first);
        assertEquals(1, back.size());
        assertEquals("grad-weight", back.get(0).role());
        Node add = new Node("add", "Add", "", List.of(Value.input("x", TensorType.of(DType.FLOAT32, 8)),
                Value.input("z", TensorType.of(DType.FLOAT32, 8))), List.of(act("s", 8)), List.of());
        assertTrue(Backward.of(add).isEmpty());
    }

    @Test
    void convBackwardHasDataWeightAndBiasGradients() {
        // X [1,3,8,8], W [4,3,3,3], B [4], Y [1,4,8,8] (pads 1)
        Node conv = new Node("c", "Conv", "", List.of(act("x", 1, 3, 8, 8), weight("w", 4, 3, 3, 3), weight("bias", 4)),
                List.of(act("y", 1, 4, 8, 8)),
                List.of(Attribute.ofInts("kernel_shape", 3, 3), Attribute.ofInts("pads", 1, 1, 1, 1)));
        long y = 4 * 8 * 8;
        long fNoBias = 2 * y * 3 * 3 * 3;
        List<Kernel> back = Backward.of(conv);
        assertEquals(List.of("grad-input", "grad-weight", "grad-bias"), back.stream().map(Kernel::role).toList());
        assertEquals(fNoBias, back.get(0).work().flops());
        assertEquals(fNoBias, back.get(1).work().flops());
        assertEquals(y, back.get(2).work().flops());
        assertEquals(4L * (y + 4 * 27), back.get(0).work().bytesRead());
        assertEquals(4L * (3 * 64), back.get(0).work().bytesWritten());
        assertEquals("k3x3/s1/dense", OpClass.shapeClass(conv));
    }

    @Test
    void efficiencyIsLearnedFromSamplesOfTheSameClass() {
        // samples on t = 1e-4 + 2 r: MatMul 2d/weight, flops 1e6, 2e6, 4e6 -> r = 1e-3, 2e-3, 4e-3
        List<Sample> s = new ArrayList<>();
        for (double flops : new double[] {1e6, 2e6, 4e6}) {
            s.add(new Sample("mm" + flops, "MatMul", "2d/weight", flops, 0, DType.FLOAT32, 1e-4 + 2 * flops * 1e-9));
        }
        ComputeModel cm = new ComputeModel(new EfficiencyModel(SLOW, s));
        // 64x128x32 matmul: 524288 FLOPs, roofline 5.24288e-4 s
        EfficiencyModel.Prediction p = cm.forward(matmul(64, 128, 32));
        assertEquals("class", p.source());
        assertEquals(2 * 64 * 128 * 32 * 1e-9, p.rooflineSeconds(), 1e-15);
        assertEquals(1e-4 + 2 * (2 * 64 * 128 * 32 * 1e-9), p.seconds(), 1e-12);
    }

    @Test
    void anUnseenClassIsPredictedFromTheSamplesOnItsSideOfTheRidge() {
        // SLOW's ridge is at 1 FLOP per byte. Conv samples: dense ones compute-bound at efficiency
        // 0.8 (t = 1.25 r), depthwise ones memory-bound at 0.2 (t = 5 r)
        List<Sample> s = new java.util.ArrayList<>();
        for (double x : new double[] {1e6, 2e6, 4e6, 8e6}) {
            s.add(new Sample("dense" + x, "Conv", "k3x3/s1/dense", x, x / 10, DType.FLOAT32, 1.25 * x * 1e-9));
            s.add(new Sample("dw" + x, "Conv", "k3x3/s1/depthwise", x / 4, x, DType.FLOAT32, 5 * x * 1e-9));
        }
        EfficiencyModel e = new EfficiencyModel(SLOW, s);
        // a 1x1 depthwise convolution (no sample of its class), 3e6 bytes: r = 3e-3 s, memory-bound
        Kernel dw = new Kernel("forward", "Conv", "k1x1/s1/depthwise", new Work(0.75e6, 2e6, 1e6, true), DType.FLOAT32);
        EfficiencyModel.Prediction p = e.predict(dw);
        assertEquals("op", p.source());
        assertEquals(5 * 3e-3, p.seconds(), 1e-12);
        // a compute-bound kernel of an unseen class: the dense line, t = 1.25 r
        Kernel dense = new Kernel("forward", "Conv", "k5x5/s1/dense", new Work(3e6, 2e5, 1e5, true), DType.FLOAT32);
        assertEquals(1.25 * 3e-3, e.predict(dense).seconds(), 1e-12);
    }

    @Test
    void singleSampleScalesTheCurveOfTheWiderGroup() {
        // two Gemm samples on t = 2 r; one MatMul sample at r = 1e-3 that took 3e-3
        List<Sample> s = List.of(
                new Sample("g1", "Gemm", "transB=1/weight", 1e6, 0, DType.FLOAT32, 2e-3),
                new Sample("g2", "Gemm", "transB=1/weight", 4e6, 0, DType.FLOAT32, 8e-3),
                new Sample("m1", "MatMul", "2d/weight", 1e6, 0, DType.FLOAT32, 3e-3));
        EfficiencyModel e = new EfficiencyModel(SLOW, s);
        // MatMul has one sample at class and op level: the category curve (all three samples) is
        // scaled to pass through it
        double[] rs = {1e-3, 4e-3, 1e-3};
        double[] ts = {2e-3, 8e-3, 3e-3};
        Kernel at1 = new Kernel("forward", "MatMul", "2d/weight", new Work(1_000_000, 0, 0, true), DType.FLOAT32);
        Kernel at2 = new Kernel("forward", "MatMul", "2d/weight", new Work(2_000_000, 0, 0, true), DType.FLOAT32);
        assertEquals("class", e.predict(at2).source());
        assertEquals(3e-3, e.predict(at1).seconds(), 1e-15);
        assertEquals(3e-3 * EfficiencyModel.localFit(rs, ts, 2e-3) / EfficiencyModel.localFit(rs, ts, 1e-3),
                e.predict(at2).seconds(), 1e-15);
        // held out: without the MatMul sample the Gemm line answers at category level: 2 r
        EfficiencyModel held = e.without(Set.of("m1"));
        assertEquals("category", held.predict(at2).source());
        assertEquals(2 * 2e-3, held.predict(at2).seconds(), 1e-15);
    }

    @Test
    void samplesOfOneSizeBorrowTheShapeOfAWiderGroup() {
        // two Gemm samples on t = 2 r; two MatMul samples of the same size (r = 2e-3) at 2e-3 and 8e-3:
        // no curve of their own, so the category curve is scaled through their geometric mean (2e-3, 4e-3)
        List<Sample> s = List.of(
                new Sample("g1", "Gemm", "transB=1/weight", 1e6, 0, DType.FLOAT32, 2e-3),
                new Sample("g2", "Gemm", "transB=1/weight", 4e6, 0, DType.FLOAT32, 8e-3),
                new Sample("m1", "MatMul", "2d/weight", 2e6, 0, DType.FLOAT32, 2e-3),
                new Sample("m2", "MatMul", "2d/weight", 2e6, 0, DType.FLOAT32, 8e-3));
        EfficiencyModel e = new EfficiencyModel(SLOW, s);
        double[] rs = {1e-3, 4e-3, 2e-3, 2e-3};
        double[] ts = {2e-3, 8e-3, 2e-3, 8e-3};
        Kernel small = new Kernel("forward", "MatMul", "2d/weight", new Work(500_000, 0, 0, true), DType.FLOAT32);
        assertEquals(4e-3 * EfficiencyModel.localFit(rs, ts, 0.5e-3) / EfficiencyModel.localFit(rs, ts, 2e-3),
                e.predict(small).seconds(), 1e-15);
        assertEquals("class", e.predict(small).source());
    }

    static String addClass(long[] a, long[] b, long[] y) {
        return OpClass.shapeClass(new Node("add", "Add", "", List.of(act("a", a), act("b", b)), List.of(act("y", y)),
                List.of()));
    }

    @Test
    void elementwiseShapeClassesSayHowTheyBroadcast() {
        long[] y = {2, 12, 128, 128};
        assertEquals("same", addClass(y, y, y));
        assertEquals("scalar", addClass(y, new long[] {1}, y));
        assertEquals("suffix", addClass(y, new long[] {128}, y));
        assertEquals("suffix", addClass(y, new long[] {1, 1, 1, 128}, y));
        assertEquals("outer", addClass(y, new long[] {2, 12, 1, 1}, y));
        assertEquals("general", addClass(y, new long[] {2, 1, 1, 128}, y));
        assertEquals("transcendental", OpClass.category("Erf"));
        assertEquals("elementwise", OpClass.category("HardSigmoid"));
        assertEquals("norm", OpClass.category("Softmax"));
    }

    @Test
    void iterationSpaceStrategiesGivePerDeviceWork() {
        Node mm = matmul(64, 128, 32);
        org.shardplan.graph.space.IterationSpace space = org.shardplan.graph.space.IterationSpaces.of(mm).orElseThrow();
        // split m by 4 and k by 2: A [16, 64], B [64, 32], Y [16, 32] (a partial sum)
        Node part = ComputeModel.perDevice(mm, space, org.shardplan.graph.space.Strategy.of("m", 4, "k", 2));
        assertEquals(List.of(16L, 64L), List.of(part.input(0).shape().toLongs()[0], part.input(0).shape().toLongs()[1]));
        assertEquals(2L * 16 * 32 * 64, Backward.forward(part).work().flops());
        ComputeModel cm = ComputeModel.analytic(SLOW);
        assertEquals(cm.cost(part).trainingSeconds(),
                cm.cost(mm, space, org.shardplan.graph.space.Strategy.of("m", 4, "k", 2)).trainingSeconds(), 0.0);
    }

    @Test
    void groupedConvolutionsAreFittedWithAPerCallCost() {
        // depthwise samples exactly on t = 1e-4 + 2 r + 5e-6 calls (r = flops * 1e-9 on the slow device)
        double[][] rc = {{1e6, 64}, {2e6, 512}, {4e6, 128}, {8e6, 1024}, {3e6, 2048}};
        List<Sample> s = new ArrayList<>();
        for (double[] x : rc) {
            s.add(new Sample("d" + x[0], "Conv", "k3x3/s1/depthwise", x[0], 0, DType.FLOAT32,
                    1e-4 + 2 * x[0] * 1e-9 + 5e-6 * x[1], (long) x[1]));
        }
        EfficiencyModel e = new EfficiencyModel(SLOW, s);
        Kernel k = new Kernel("forward", "Conv", "k3x3/s1/depthwise", new Work(5_000_000, 0, 0, true), DType.FLOAT32, 384);
        assertEquals(1e-4 + 2 * 5e-3 + 5e-6 * 384, e.predict(k).seconds(), 1e-9);
        // the node says how many calls: batch 4 x 384 groups
        Node dw = new Node("dw", "Conv", "", List.of(act("x", 4, 384, 14, 14), weight("w", 384, 1, 3, 3)),
                List.of(act("y", 4, 384, 14, 14)), List.of(Attribute.ofInt("group", 384),
                        Attribute.ofInts("kernel_shape", 3, 3), Attribute.ofInts("pads", 1, 1, 1, 1)));
        assertEquals(4 * 384, OpClass.calls(dw));
        assertEquals("k3x3/s1/depthwise", OpClass.shapeClass(dw));
        assertEquals(1, OpClass.calls(matmul(2, 3, 4)));
    }

    @Test
    void withoutCalibrationTheModelIsAnalyticAndSaysSo() {
        ComputeModel cm = ComputeModel.analytic(SLOW);
        EfficiencyModel.Prediction p = cm.forward(matmul(10, 10, 10));
        assertTrue(p.analytic());
        // 2000 FLOPs -> 2e-6 s roofline, efficiency 0.5, overhead 5 us
        assertEquals(5e-6 + 2e-6 / 0.5, p.seconds(), 1e-15);
        ComputeModel.NodeCost c = cm.cost(matmul(10, 10, 10));
        assertEquals(2, c.backward().size());
        assertEquals(3 * (5e-6 + 2e-6 / 0.5), c.trainingSeconds(), 1e-15);
    }

    @Test
    void perDeviceShapesDivideTheWork() {
        Node mm = matmul(64, 128, 32);
        // split M by 4: A [16,128], Y [16,32]
        Node part = ComputeModel.perDevice(mm, List.of(new long[] {16, 128}, new long[] {128, 32}),
                List.of(new long[] {16, 32}));
        assertEquals(2L * 16 * 32 * 128, Backward.forward(part).work().flops());
        ComputeModel cm = ComputeModel.analytic(SLOW);
        assertEquals(5e-6 + 2L * 16 * 32 * 128 * 1e-9 / 0.5, cm.forward(part).seconds(), 1e-15);
    }
}
