package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;

/** The CPU readings of a node's work and the groups an unmeasured kernel borrows its curve from. */
class CpuWorkTest {

    static Node biasGelu(long rows, long hidden) {
        return new Node("bg", "BiasGelu", "com.microsoft",
                List.of(ComputeModelTest.act("x", rows, hidden), ComputeModelTest.weight("b", hidden)),
                List.of(ComputeModelTest.act("y", rows, hidden)), List.of());
    }

    @Test
    void transcendentalOpsCountTheOperationsTheirKernelsRun() {
        // 2 x 8 elements: BiasGelu runs 43 vector operations per element, Tanh 14
        Work w = Backward.work(biasGelu(2, 8));
        assertEquals(43.0 * 16, w.flops(), 0);
        // bytes as WorkAnalysis counts them: x and b read (16 + 8 floats), y written (16 floats)
        assertEquals(4.0 * (16 + 8), w.bytesRead(), 0);
        assertEquals(4.0 * 16, w.bytesWritten(), 0);
        Node tanh = new Node("t", "Tanh", "", List.of(ComputeModelTest.act("x", 4, 5)),
                List.of(ComputeModelTest.act("y", 4, 5)), List.of());
        assertEquals(14.0 * 20, Backward.work(tanh).flops(), 0);
        assertEquals("transcendental", OpClass.category("BiasGelu"));
        assertEquals(0, OpClass.operationsPerElement("Add"));
        // the backward kernel is twice the forward arithmetic
        assertEquals(2 * 14.0 * 20, Backward.of(tanh).get(0).work().flops(), 0);
    }

    @Test
    void aTranscendentalOpNeverMeasuredIsPricedFromTheOthersByItsOperationCount() {
        // Tanh samples on SLOW (1 GFLOP/s, 1 GB/s) at t = 2 r, r = 14 N ns (the operations, not the
        // 8 N bytes, which would make them memory-bound at 8 N ns)
        List<Sample> s = new ArrayList<>();
        for (long n : new long[] {1000, 2000, 4000}) {
            s.add(new Sample("tanh" + n, "Tanh", "same", 14.0 * n, 8.0 * n, DType.FLOAT32, 2 * 14.0 * n * 1e-9));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        // BiasGelu over 10 x 100 elements, no sample of its own: r = 43 * 1000 ns, t = 2 r from the Tanh line
        EfficiencyModel.Prediction p = e.predict(Backward.forward(biasGelu(10, 100)));
        assertEquals("category", p.source());
        assertEquals(43e-6, p.rooflineSeconds(), 1e-15);
        assertEquals(2 * 43e-6, p.seconds(), 1e-12);
        // on a GPU the plain roofline: 14e3 operations at 1 GFLOP/s (1.4e-5 s) against 2e4 bytes at
        // 1 GB/s (2e-5 s)
        org.shardplan.cost.cluster.DeviceSpec gpu = new org.shardplan.cost.cluster.DeviceSpec("g", "test", "gpu",
                java.util.Map.of("float32", 1e9), 1e9, 1e9, true, 1, org.shardplan.cost.cluster.Link.of("m", 1, 0),
                org.shardplan.cost.cluster.Link.of("n", 1, 0));
        assertEquals(2e-5, new EfficiencyModel(gpu, List.of()).roofline("Tanh", 14e3, 2e4, DType.FLOAT32), 1e-15);
        assertEquals(1.4e-5, e.roofline("Tanh", 14e3, 2e4, DType.FLOAT32), 1e-15);
    }

    @Test
    void aFusedMatMulWithoutTransposesIsPricedAsTheMatMulOfItsClass() {
        // GPT-2's scaled projection: [1,32,1024] x a [1024,256] weight; a transposed A is another class
        Node plain = new Node("f", "FusedMatMul", "com.microsoft",
                List.of(ComputeModelTest.act("a", 1, 32, 1024), ComputeModelTest.weight("w", 1024, 256)),
                List.of(ComputeModelTest.act("y", 1, 32, 256)), List.of(Attribute.ofFloat("alpha", 0.5f)));
        Node transA = new Node("t", "FusedMatMul", "com.microsoft",
                List.of(ComputeModelTest.act("a", 1, 120, 40), ComputeModelTest.weight("w", 120, 6625)),
                List.of(ComputeModelTest.act("y", 1, 40, 6625)), List.of(Attribute.ofInt("transA", 1)));
        assertEquals("stacked/weight", OpClass.shapeClass(plain));
        assertEquals("stacked/weight/transA", OpClass.shapeClass(transA));
        assertEquals(java.util.Optional.of("MatMul/stacked/weight"), OpClass.proxy("FusedMatMul", "stacked/weight"));
        assertEquals(java.util.Optional.empty(), OpClass.proxy("FusedMatMul", "stacked/weight/transA"));
        // MatMul weight products on t = 2 r, a transposed FusedMatMul on t = 5 r: the plain FusedMatMul,
        // never measured in its class, takes the MatMul line, not the op type's mixture
        List<Sample> s = new ArrayList<>();
        for (double f : new double[] {1e6, 2e6, 4e6}) {
            s.add(new Sample("mm" + f, "MatMul", "stacked/weight", f, 0, DType.FLOAT32, 2 * f * 1e-9));
            s.add(new Sample("ft" + f, "FusedMatMul", "stacked/weight/transA", f, 0, DType.FLOAT32, 5 * f * 1e-9));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        Kernel k = new Kernel("forward", "FusedMatMul", "stacked/weight", new Work(3e6, 0, 0, true), DType.FLOAT32);
        EfficiencyModel.Prediction p = e.predict(k);
        assertEquals("proxy", p.source());
        assertEquals(2 * 3e-3, p.seconds(), 1e-12);
    }

    @Test
    void aPerChannelConvolutionNeverMeasuredIsPricedAsAPerChannelMultiply() {
        // per-channel multiplies (Mul/outer) memory-bound at t = 3 r; dense 3x3 convolutions at t = 1.25 r
        List<Sample> s = new ArrayList<>();
        for (double b : new double[] {1e6, 2e6, 4e6}) {
            s.add(new Sample("mul" + b, "Mul", "outer", b / 8, b, DType.FLOAT32, 3 * b * 1e-9));
            s.add(new Sample("conv" + b, "Conv", "nchwc/k3x3/s1/dense", b, b / 10, DType.FLOAT32, 1.25 * b * 1e-9));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        // a blocked 1x1 depthwise convolution of 3e6 bytes: r = 3e-3 s, from the multiplies' line
        Kernel k = new Kernel("forward", "Conv", "nchwc/k1x1/s1/depthwise", new Work(0.5e6, 1.5e6, 1.5e6, true),
                DType.FLOAT32);
        EfficiencyModel.Prediction p = e.predict(k);
        assertEquals("proxy", p.source());
        assertEquals(3 * 3e-3, p.seconds(), 1e-12);
        assertEquals(java.util.Optional.empty(), OpClass.proxy("Conv", "nchwc/k3x3/s1/depthwise"));
        // a BatchNormalization run as itself: a per-channel scale and shift, the multiplies' line too,
        // not the normalizations' (LayerNormalization-like reductions at t = 10 r)
        Node bn = new Node("bn", "BatchNormalization", "", List.of(ComputeModelTest.act("x", 1, 24, 160, 160),
                ComputeModelTest.weight("s", 24), ComputeModelTest.weight("b", 24), ComputeModelTest.weight("m", 24),
                ComputeModelTest.weight("v", 24)), List.of(ComputeModelTest.act("y", 1, 24, 160, 160)), List.of());
        assertEquals(java.util.Optional.of("Mul/outer"), OpClass.proxy("BatchNormalization", OpClass.shapeClass(bn)));
        for (double b : new double[] {1e6, 2e6, 4e6}) {
            s.add(new Sample("ln" + b, "LayerNormalization", "any", b / 8, b, DType.FLOAT32, 10 * b * 1e-9));
        }
        Kernel kb = Backward.forward(bn);
        EfficiencyModel.Prediction pb = new EfficiencyModel(ComputeModelTest.SLOW, s).predict(kb);
        assertEquals("proxy", pb.source());
        assertEquals(3 * kb.work().bytes() * 1e-9, pb.seconds(), 1e-12);
    }

    static Node nchwcConv(long group, long c, long h, long w, long k, long pad) {
        return new Node("c", "Conv", "com.microsoft.nchwc",
                List.of(ComputeModelTest.act("x", 1, c, h, w), ComputeModelTest.weight("w", c, c / group, k, k),
                        ComputeModelTest.weight("b", c)),
                List.of(ComputeModelTest.act("y", 1, c, h, w)),
                List.of(Attribute.ofInt("group", group), Attribute.ofInts("kernel_shape", k, k),
                        Attribute.ofInts("pads", pad, pad, pad, pad), Attribute.ofInts("strides", 1, 1)));
    }

    @Test
    void blockedDepthwiseConvolutionsCountOnlyTheTapsInsideTheInput() {
        // 5x5 depthwise on 8 channels of 2 x 96, padding 2. Rows: each of the 2 output rows sees input
        // rows 0 and 1 only, 4 of 10 (row, tap) pairs. Columns: 480 pairs, of which outputs 0 and 95
        // miss 2 and outputs 1 and 94 miss 1: 474. Fraction 0.4 * 474 / 480 = 0.395.
        Node dw = nchwcConv(8, 8, 2, 96, 5, 2);
        assertEquals(0.395, Backward.validTapFraction(dw), 1e-12);
        // nominal multiply-adds 2 * 1536 * 25 = 76800 FLOPs, of which 0.395 are run; bias 1536
        assertEquals(76800 + 1536, WorkAnalysis.of(dw).flops(), 0);
        assertEquals(76800 * 0.395 + 1536, Backward.work(dw).flops(), 1e-9);
        // a dense blocked convolution keeps the nominal count (measured: skipping its padding made
        // its held-out error worse)
        Node dense = nchwcConv(1, 8, 2, 96, 5, 2);
        assertEquals(WorkAnalysis.of(dense).flops(), Backward.work(dense).flops(), 0);
        // no padding: every pair is inside
        assertEquals(1.0, Backward.validTapFraction(nchwcConv(8, 8, 6, 6, 1, 0)), 0);
    }

    @Test
    void transposesThatKeepTheLastAxisAreAClassOfTheirOwn() {
        Node rows = new Node("t", "Transpose", "", List.of(ComputeModelTest.act("x", 1, 32, 8, 32)),
                List.of(ComputeModelTest.act("y", 1, 8, 32, 32)), List.of(Attribute.ofInts("perm", 0, 2, 1, 3)));
        Node elements = new Node("t", "Transpose", "", List.of(ComputeModelTest.act("x", 1, 32, 8, 32)),
                List.of(ComputeModelTest.act("y", 1, 8, 32, 32)), List.of(Attribute.ofInts("perm", 0, 2, 3, 1)));
        assertEquals("rows", OpClass.shapeClass(rows));
        assertEquals("elements", OpClass.shapeClass(elements));
    }

    @Test
    void aSliceReadsOnlyTheRegionItKeeps() {
        // 32 rows of a 1024 x 1024 float mask: 128 KiB read (plus 4 int64 index inputs of one
        // element, 32 bytes), not the 4 MiB of the whole input
        List<org.shardplan.graph.Value> ins = new ArrayList<>();
        ins.add(ComputeModelTest.weight("mask", 1024, 1024));
        for (String n : List.of("starts", "ends", "axes", "steps")) {
            ins.add(org.shardplan.graph.Value.constant(n, org.shardplan.graph.Tensor.int64Vector(0)));
        }
        Node slice = new Node("s", "Slice", "", ins, List.of(ComputeModelTest.act("y", 32, 1024)), List.of());
        assertEquals(4.0 * 1024 * 1024 + 32, WorkAnalysis.of(slice).bytesRead(), 0);
        assertEquals(4.0 * 32 * 1024 + 32, Backward.work(slice).bytesRead(), 0);
        assertEquals(4.0 * 32 * 1024, Backward.work(slice).bytesWritten(), 0);
    }

    static Node reorderOutput(long n, long c, long h, long w) {
        long blocked = (c + 15) / 16 * 16;
        return new Node("ro", "ReorderOutput", "com.microsoft.nchwc", List.of(ComputeModelTest.act("x", n, blocked, h, w)),
                List.of(ComputeModelTest.act("y", n, c, h, w)), List.of(Attribute.ofInt("channels", c),
                        Attribute.ofInt("channels_last", 0)));
    }

    @Test
    void aReorderingWhoseChannelPlanesAliasInTheL1MovesALinePerStore() {
        // 160 x 160 floats: planes 102400 B = 25 x 4 KiB apart, the 16 stores of a block in one L1 set
        Node aliased = reorderOutput(1, 16, 160, 160);
        assertEquals(true, Backward.aliasedScatter(aliased));
        double plane = 4.0 * 16 * 160 * 160;
        Work w = Backward.work(aliased);
        // written 4 times over (a 64 B line per 16 B store), read once plus 4 times for ownership
        assertEquals(4 * plane, w.bytesWritten(), 0);
        assertEquals(plane + 4 * plane, w.bytesRead(), 0);
        // 80 x 80: planes 25600 B, 6.25 x 4 KiB, spread over the sets: the plain count
        Node plain = reorderOutput(1, 16, 80, 80);
        assertEquals(false, Backward.aliasedScatter(plain));
        assertEquals(WorkAnalysis.of(plain).bytes(), Backward.work(plain).bytes(), 0);
        // fewer than a block of 16 channels: at most 12 stores per set, no thrashing
        assertEquals(false, Backward.aliasedScatter(reorderOutput(1, 12, 160, 160)));
    }

    @Test
    void anElementWiseOpOnOneTensorTwiceLoadsItTwice() {
        // Mul(x, x) of 32 x 1024 floats: x read through both operands, as Mul(x, y) reads x and y
        org.shardplan.graph.Value x = ComputeModelTest.act("x", 32, 1024);
        Node square = new Node("sq", "Mul", "", List.of(x, x), List.of(ComputeModelTest.act("y", 32, 1024)), List.of());
        Node product = new Node("xy", "Mul", "", List.of(x, ComputeModelTest.act("z", 32, 1024)),
                List.of(ComputeModelTest.act("y", 32, 1024)), List.of());
        double t = 4.0 * 32 * 1024;
        assertEquals(t, WorkAnalysis.of(square).bytesRead(), 0);
        assertEquals(t, Backward.repeatedOperandBytes(square), 0);
        assertEquals(2 * t, Backward.work(square).bytesRead(), 0);
        assertEquals(Backward.work(product).bytes(), Backward.work(square).bytes(), 0);
        assertEquals(WorkAnalysis.of(square).flops(), Backward.work(square).flops(), 0);
        // distinct operands, and ops that are not element-wise, count as before
        assertEquals(0, Backward.repeatedOperandBytes(product), 0);
        Node matmul = new Node("mm", "MatMul", "", List.of(ComputeModelTest.act("a", 32, 32), ComputeModelTest.act("a", 32, 32)),
                List.of(ComputeModelTest.act("c", 32, 32)), List.of());
        assertEquals(0, Backward.repeatedOperandBytes(matmul), 0);
        assertEquals(WorkAnalysis.of(matmul).bytes(), Backward.work(matmul).bytes(), 0);
    }
}
