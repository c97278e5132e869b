package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;

/**
 * Nodes ONNX Runtime runs as several loops (ConvTranspose, Where), their work counted by hand, and
 * transcendental ops never measured priced from the other op types of their category.
 */
class LoopPartsTest {

    /** PaddleOCR det v4's first upsampling: 24 to 24 channels, 2x2 kernel, stride 2, 80x80 to 160x160. */
    static Node upsample() {
        return new Node("up", "ConvTranspose", "",
                List.of(ComputeModelTest.act("x", 1, 24, 80, 80), ComputeModelTest.weight("w", 24, 24, 2, 2)),
                List.of(ComputeModelTest.act("y", 1, 24, 160, 160)),
                List.of(Attribute.ofInt("group", 1), Attribute.ofInts("kernel_shape", 2, 2),
                        Attribute.ofInts("pads", 0, 0, 0, 0), Attribute.ofInts("strides", 2, 2)));
    }

    /** 2 images, 4 to 6 channels in 2 groups, 3x3 kernel, stride 2, one row of padding: 5x5 to 9x9, a bias. */
    static Node groupedPadded(boolean explicitPads) {
        List<Attribute> a = new ArrayList<>(List.of(Attribute.ofInt("group", 2), Attribute.ofInts("kernel_shape", 3, 3),
                Attribute.ofInts("strides", 2, 2)));
        a.add(explicitPads ? Attribute.ofInts("pads", 1, 1, 1, 1) : Attribute.ofInts("output_shape", 9, 9));
        return new Node("ct", "ConvTranspose", "",
                List.of(ComputeModelTest.act("x", 2, 4, 5, 5), ComputeModelTest.weight("w", 4, 3, 3, 3),
                        ComputeModelTest.weight("b", 6)),
                List.of(ComputeModelTest.act("y", 2, 6, 9, 9)), a);
    }

    @Test
    void convTransposeIsAGemmIntoColumnsAndAScatterOfThem() {
        Node n = upsample();
        List<Kernel> p = Backward.parts(n);
        assertEquals(2, p.size());
        // GEMM per image: M = 24 output channels x 4 taps = 96, N = 80 x 80 = 6400, K = 24
        Kernel gemm = p.get(0);
        assertEquals("MatMul", gemm.opType());
        assertEquals("2d/act", gemm.shapeClass());
        assertEquals(new Kernel.Gemm(1, 96, 6400, 24), gemm.gemm().orElseThrow());
        assertEquals(2.0 * 96 * 6400 * 24, gemm.work().flops(), 0);
        // the same FLOPs as the plain count of a ConvTranspose, 2 |X| |W| / C_in
        assertEquals(2.0 * (24 * 80 * 80) * (24 * 24 * 4) / 24, gemm.work().flops(), 0);
        assertEquals(WorkAnalysis.of(n).flops(), gemm.work().flops(), 0);
        // reads W (96 x 24) and X (24 x 6400) and X's packed copy, writes the copy and the 96 x 6400 columns
        assertEquals(4.0 * (96 * 24 + 2 * 24 * 6400), gemm.work().bytesRead(), 0);
        assertEquals(4.0 * (96 * 6400 + 24 * 6400), gemm.work().bytesWritten(), 0);
        // the scatter: stride 2 = kernel 2, no padding: every one of the 614400 column entries lands
        Kernel scatter = p.get(1);
        assertEquals("Transpose", scatter.opType());
        assertEquals("elements", scatter.shapeClass());
        assertEquals(614400, scatter.work().flops(), 0);
        // reads the columns and the output positions it adds to, writes them and the zero fill of Y
        assertEquals(4.0 * (614400 + 614400), scatter.work().bytesRead(), 0);
        assertEquals(4.0 * (614400 + 24 * 160 * 160), scatter.work().bytesWritten(), 0);
        // the node's work is its loops'
        Work w = Backward.work(n);
        assertEquals(2.0 * 96 * 6400 * 24 + 614400, w.flops(), 0);
        assertEquals(4.0 * (96 * 24 + 2 * 24 * 6400) + 4.0 * 2 * 614400, w.bytesRead(), 0);
        assertEquals(4.0 * (96 * 6400 + 24 * 6400) + 4.0 * 2 * 614400, w.bytesWritten(), 0);
    }

    @Test
    void convTransposeGroupsPaddingAndStrideByHand() {
        for (boolean explicit : new boolean[] {true, false}) {
            Node n = groupedPadded(explicit);
            // per dimension, input i in 0..4 and tap k in 0..2 reach o = 2i - 1 + k: o = -1 (i = 0, k = 0)
            // and o = 9 (i = 4, k = 2) fall outside 0..8, 13 of 15 pairs land; 169 of 225 in 2-D
            assertEquals(169.0 / 225, Backward.convTransposeValidFraction(n), 1e-12);
            List<Kernel> p = Backward.parts(n);
            assertEquals(3, p.size());
            // 2 images x 2 groups = 4 GEMMs of M = 3 channels x 9 taps = 27, N = 25, K = 4 / 2 = 2
            Kernel gemm = p.get(0);
            assertEquals("batched/act", gemm.shapeClass());
            assertEquals(new Kernel.Gemm(4, 27, 25, 2), gemm.gemm().orElseThrow());
            assertEquals(2.0 * 4 * 27 * 25 * 2, gemm.work().flops(), 0);
            // WorkAnalysis: 2 |X| |W| / C_in = 2 * 200 * 108 / 4 = 10800, plus |Y| = 972 for the bias
            assertEquals(10800 + 972, WorkAnalysis.of(n).flops(), 0);
            // per product W (27 x 2), X (2 x 25) twice; written: the columns and X's packed copy
            assertEquals(4.0 * 4 * (27 * 2 + 2 * 2 * 25), gemm.work().bytesRead(), 0);
            assertEquals(4.0 * (2700 + 4 * 2 * 25), gemm.work().bytesWritten(), 0);
            // 4 x 27 x 25 = 2700 column entries, 2700 * 169 / 225 = 2028 land in the output
            Kernel scatter = p.get(1);
            assertEquals(2028, scatter.work().flops(), 1e-9);
            assertEquals(4.0 * (2700 + 2028), scatter.work().bytesRead(), 1e-9);
            assertEquals(4.0 * (2028 + 972), scatter.work().bytesWritten(), 1e-9);
            // the bias, one per output channel, added over the 972 outputs
            Kernel bias = p.get(2);
            assertEquals("Add", bias.opType());
            assertEquals("outer", bias.shapeClass());
            assertEquals(972, bias.work().flops(), 0);
            assertEquals(4.0 * 972 + 4 * 6, bias.work().bytesRead(), 0);
            // backward: the data and weight gradients are convolutions of the GEMM's FLOPs
            List<Kernel> back = Backward.of(n);
            assertEquals("grad-input", back.get(0).role());
            assertEquals(10800, back.get(0).work().flops(), 0);
            assertEquals(10800, back.get(1).work().flops(), 0);
        }
    }

    @Test
    void aConvTransposeNeverMeasuredIsPricedAsItsLoops() {
        // on SLOW (1 GFLOP/s, 1 GB/s): matrix products at t = 2 r, element moves at t = 3 r
        List<Sample> s = new ArrayList<>();
        for (double f : new double[] {1e7, 2e7, 4e7, 8e7}) {
            s.add(new Sample("mm" + f, "MatMul", "2d/act", f, f / 20, DType.FLOAT32, 2 * f * 1e-9));
            s.add(new Sample("tr" + f, "Transpose", "elements", 0, f / 4, DType.FLOAT32, 3 * f / 4 * 1e-9));
        }
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, s);
        EfficiencyModel.Prediction p = e.predict(Backward.forward(upsample()));
        assertEquals("parts", p.source());
        // GEMM: r = 29491200 FLOPs at 1 GFLOP/s (its 4310016 bytes take less), t = 2 r;
        // scatter: r = 9830400 bytes at 1 GB/s, t = 3 r
        assertEquals(2 * 0.0294912 + 3 * 0.0098304, p.seconds(), 1e-9);
        // measured ConvTransposes answer for themselves
        s.add(new Sample("ct", "ConvTranspose", "k2x2/s2/dense", 3e7, 1e7, DType.FLOAT32, 0.1));
        assertEquals("class", new EfficiencyModel(ComputeModelTest.SLOW, s).predict(Backward.forward(upsample())).source());
    }

    @Test
    void aComputeBoundSampleFasterThanEveryMatrixProductIsLeftOut() {
        // products at t = 2 r at best; depthwise convolutions at t = 3 r, and one measured at t = r / 2
        List<Sample> s = new ArrayList<>();
        for (double f : new double[] {1e6, 2e6, 4e6}) {
            s.add(new Sample("mm" + f, "MatMul", "2d/weight", f, f / 100, DType.FLOAT32, 2 * f * 1e-9));
        }
        List<Sample> dw = new ArrayList<>();
        for (double f : new double[] {1e6, 1.5e6, 2.5e6, 3e6}) {
            dw.add(new Sample("dw" + f, "Conv", "nchwc/k3x3/s1/depthwise", f, f / 3, DType.FLOAT32, 3 * f * 1e-9));
        }
        dw.add(new Sample("fast", "Conv", "nchwc/k3x3/s1/depthwise", 2e6, 2e6 / 3, DType.FLOAT32, 0.5 * 2e6 * 1e-9));
        Kernel k = new Kernel("forward", "Conv", "nchwc/k3x3/s1/depthwise", new Work(2e6, 2e6 / 6, 2e6 / 6, true),
                DType.FLOAT32);
        List<Sample> both = new ArrayList<>(s);
        both.addAll(dw);
        // r = 2e-3 s: the line through the four slower samples, 3 r
        assertEquals(3 * 2e-3, new EfficiencyModel(ComputeModelTest.SLOW, both).predict(k).seconds(), 1e-12);
        // with no product to compare with, the fast sample stays and pulls the line down
        assertTrue(new EfficiencyModel(ComputeModelTest.SLOW, dw).predict(k).seconds() < 0.9 * 3 * 2e-3);
    }

    /** GPT-2's causal mask: Where(mask [1,1,32,32] bool, -inf scalar, scores [b,8,32,32]). */
    static Node where(long batch) {
        return new Node("w", "Where", "",
                List.of(Value.intermediate("c", TensorType.of(DType.BOOL, 1, 1, 32, 32)),
                        Value.parameter("v", TensorType.of(DType.FLOAT32)), ComputeModelTest.act("s", batch, 8, 32, 32)),
                List.of(ComputeModelTest.act("y", batch, 8, 32, 32)), List.of());
    }

    @Test
    void whereIsTwoSelectionsAndAMerge() {
        List<Kernel> p = Backward.parts(where(1));
        assertEquals(3, p.size());
        // condition with the scalar: 1024 elements, reading 1024 one-byte flags and 4 bytes
        assertEquals("scalar", p.get(0).shapeClass());
        assertEquals(1024, p.get(0).work().flops(), 0);
        assertEquals(1024 + 4, p.get(0).work().bytesRead(), 0);
        assertEquals(4 * 1024, p.get(0).work().bytesWritten(), 0);
        // condition with the scores: 8192 elements, the condition repeated over the heads (a suffix)
        assertEquals("suffix", p.get(1).shapeClass());
        assertEquals(8192, p.get(1).work().flops(), 0);
        assertEquals(1024 + 4 * 8192, p.get(1).work().bytesRead(), 0);
        // the merge of the two selections into the output
        assertEquals("suffix", p.get(2).shapeClass());
        assertEquals(4 * 1024 + 4 * 8192, p.get(2).work().bytesRead(), 0);
        assertEquals(4 * 8192, p.get(2).work().bytesWritten(), 0);
        assertTrue(p.stream().allMatch(k -> k.opType().equals("Add")));

        // priced from Adds (t = 4 r on SLOW) when no Where was measured: r is each pass's bytes
        List<Sample> s = new ArrayList<>();
        for (double b : new double[] {1e4, 3e4, 1e5}) {
            s.add(new Sample("as" + b, "Add", "scalar", b / 8, b, DType.FLOAT32, 4 * b * 1e-9));
            s.add(new Sample("au" + b, "Add", "suffix", b / 8, b, DType.FLOAT32, 4 * b * 1e-9));
        }
        EfficiencyModel.Prediction pr = new EfficiencyModel(ComputeModelTest.SLOW, s).predict(Backward.forward(where(1)));
        assertEquals("parts", pr.source());
        double bytes = (1028 + 4096) + (1024 + 32768 + 32768) + (4096 + 32768 + 32768);
        assertEquals(4 * bytes * 1e-9, pr.seconds(), 1e-12);
    }

    @Test
    void aTranscendentalOpNeverMeasuredTakesEveryOtherOpTypeAlike() {
        // per operation: QuickGelu at t = r (six sizes around the query), Sigmoid at 2 r, BiasGelu at 4 r
        // (two sizes each, farther away); the geometric mean is 2 r
        List<Sample> s = new ArrayList<>();
        for (double n : new double[] {20e3, 25e3, 30e3, 35e3, 40e3, 45e3}) {
            s.add(new Sample("qg" + n, "QuickGelu", "same", 19 * n, 8 * n, DType.FLOAT32, 19 * n * 1e-9));
        }
        for (double n : new double[] {1e5, 2e5}) {
            s.add(new Sample("sg" + n, "Sigmoid", "same", 17 * n, 8 * n, DType.FLOAT32, 2 * 17 * n * 1e-9));
            s.add(new Sample("bg" + n, "BiasGelu", "suffix", 43 * n, 8 * n, DType.FLOAT32, 4 * 43 * n * 1e-9));
        }
        Node tanh = new Node("t", "Tanh", "", List.of(ComputeModelTest.act("x", 32, 1024)),
                List.of(ComputeModelTest.act("y", 32, 1024)), List.of());
        EfficiencyModel.Prediction p = new EfficiencyModel(ComputeModelTest.SLOW, s).predict(Backward.forward(tanh));
        assertEquals("category", p.source());
        double r = 14.0 * 32768 * 1e-9;
        assertEquals(2 * r, p.seconds(), 1e-9 * r);
    }

    /** The closed-form count of landing (position, tap) pairs against the double loop it replaces. */
    @Test
    void landingPairsAreCountedInClosedForm() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int c = 0; c < 2000; c++) {
            long from = r.nextInt(1, 40);
            long k = r.nextInt(1, 8);
            long s = r.nextInt(1, 5);
            long dl = r.nextInt(1, 4);
            long begin = r.nextInt(-3, 10);
            long to = r.nextInt(1, 60);
            long brute = 0;
            for (long p = 0; p < from; p++) {
                for (long j = 0; j < k; j++) {
                    long at = p * s - begin + j * dl;
                    brute += at >= 0 && at < to ? 1 : 0;
                }
            }
            assertEquals(brute, Backward.landing(from, k, s, dl, begin, to),
                    from + " " + k + " " + s + " " + dl + " " + begin + " " + to);
        }
        // a spatial extent no loop over positions could visit
        assertEquals(3L * (1L << 40) - 2, Backward.landing(1L << 40, 3, 1, 1, 1, 1L << 40));
    }
}
