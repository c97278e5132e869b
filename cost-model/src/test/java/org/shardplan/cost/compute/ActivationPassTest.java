package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/** The pass of a fused non-ReLU activation over a blocked convolution's output ({@code EfficiencyModel.activationPass}). */
class ActivationPassTest {

    /** MobileNet-v2's first expansion layer: 16 to 96 channels, 1x1, stride 1, a fused Clip. */
    static final String POINTWISE_CLIP = "com.microsoft.nchwc:Conv|activation=Clip;activation_params=0.0,6.0;"
            + "auto_pad=NOTSET;dilations=1,1;group=1;kernel_shape=1,1;pads=0,0,0,0;strides=1,1"
            + "|float32[1,16,112,112]a;float32[96,16,1,1]p;float32[96]p|float32[1,96,112,112]";

    @Test
    void bytesAndFootprintOfOnePassAsMlasRunsIt() {
        // read and written: 2 · 4 B · 96 · 112 · 112; one pass: 4 filter blocks of 16 channels over the whole plane
        assertArrayEquals(new double[] {2.0 * 4 * 96 * 112 * 112, 4.0 * 16 * 4 * 112 * 112},
                EfficiencyModel.activationPass(POINTWISE_CLIP), 0);
        // a depthwise convolution of stride 2: one 16-channel block, one output row of 56 per pass
        String depthwise = "com.microsoft.nchwc:Conv|activation=Clip;activation_params=0.0,6.0;auto_pad=NOTSET;"
                + "dilations=1,1;group=96;kernel_shape=3,3;pads=1,1,1,1;strides=2,2"
                + "|float32[1,96,112,112]a;float32[96,1,3,3]p;float32[96]p|float32[1,96,56,56]";
        assertArrayEquals(new double[] {2.0 * 4 * 96 * 56 * 56, 4.0 * 16 * 56}, EfficiencyModel.activationPass(depthwise), 0);
        // a 3x3 convolution of 32 output channels: two filter blocks, one row
        String dense = "com.microsoft.nchwc:Conv|activation=HardSigmoid;auto_pad=NOTSET;group=1;kernel_shape=3,3;"
                + "strides=1,1|float32[1,16,40,40]a;float32[32,16,3,3]p|float32[1,32,40,40]";
        assertArrayEquals(new double[] {2.0 * 4 * 32 * 40 * 40, 4.0 * 16 * 2 * 40}, EfficiencyModel.activationPass(dense), 0);
        // ReLU runs inside the kernel, no activation has no pass, nor has a plain (NCHW) convolution
        assertArrayEquals(new double[] {0, 0}, EfficiencyModel.activationPass(POINTWISE_CLIP.replace("activation=Clip", "activation=Relu")), 0);
        assertArrayEquals(new double[] {0, 0}, EfficiencyModel.activationPass(
                "com.microsoft.nchwc:Conv|auto_pad=NOTSET;group=1;kernel_shape=1,1|float32[1,16,8,8]a;float32[32,16,1,1]p|float32[1,32,8,8]"), 0);
        assertArrayEquals(new double[] {0, 0}, EfficiencyModel.activationPass(POINTWISE_CLIP.substring("com.microsoft.nchwc:".length())), 0);
        // an edited calibration file's signature whose numbers do not parse has no pass (and no failure)
        assertArrayEquals(new double[] {0, 0}, EfficiencyModel.activationPass(
                POINTWISE_CLIP.replace("[1,96,112,112]", "[1,96,,112]")), 0);
        assertArrayEquals(new double[] {0, 0}, EfficiencyModel.activationPass(
                POINTWISE_CLIP.replace("group=1", "group=x")), 0);
    }

    @Test
    void thePassIsPricedAtTheMemoryCurvesRateForItsFootprintAndAddedToThePrediction() {
        // 200 GB/s up to 1 MB, 50 GB/s from 100 MB: the pass's 3.2 MB footprint streams at
        // exp(ln 200e9 + log(3.2112e6/1e6)/log(100) · ln(50e9/200e9)) bytes per second
        MemoryCurve curve = new MemoryCurve(new double[] {1e6, 1e8}, new double[] {200e9, 50e9});
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, List.of(), curve);
        double footprint = 4.0 * 16 * 4 * 112 * 112;
        double w = Math.log(footprint / 1e6) / Math.log(100);
        double bandwidth = Math.exp(Math.log(200e9) + w * Math.log(50e9 / 200e9));
        double pass = 2.0 * 4 * 96 * 112 * 112 / bandwidth;
        assertEquals(pass, e.activationPassSeconds(POINTWISE_CLIP), 1e-15);
        // the same kernel under a ReLU signature is priced without it
        Kernel k = new Kernel("forward", "Conv", "nchwc/k1x1/s1/dense",
                new Work(2.0 * 16 * 96 * 112 * 112, 4.0 * 16 * 112 * 112, 4.0 * 96 * 112 * 112, true), DType.FLOAT32);
        double relu = e.predict(k, POINTWISE_CLIP.replace("activation=Clip", "activation=Relu")).seconds();
        assertEquals(relu + pass, e.predict(k, POINTWISE_CLIP).seconds(), 1e-15);
        // without a memory curve there is no pass
        assertEquals(0, new EfficiencyModel(ComputeModelTest.SLOW, List.of()).activationPassSeconds(POINTWISE_CLIP));
    }

    @Test
    void aMeasuredSampleIsFittedWithThePassTakenOff() {
        // one sample measured at its pass plus 100 µs: predicted for its own signature, the family's
        // one member answers 100 µs and the pass is added back, the measured time
        MemoryCurve curve = new MemoryCurve(new double[] {1e6}, new double[] {100e9});
        double pass = 2.0 * 4 * 96 * 112 * 112 / 100e9;
        Work work = new Work(2.0 * 16 * 96 * 112 * 112, 4.0 * 16 * 112 * 112, 4.0 * 96 * 112 * 112, true);
        Sample s = new Sample(POINTWISE_CLIP, "Conv", "nchwc/k1x1/s1/dense", work.flops(),
                work.bytesRead() + work.bytesWritten(), DType.FLOAT32, 100e-6 + pass);
        EfficiencyModel e = new EfficiencyModel(ComputeModelTest.SLOW, List.of(s), curve);
        Kernel k = new Kernel("forward", "Conv", "nchwc/k1x1/s1/dense", work, DType.FLOAT32);
        assertEquals(100e-6 + pass, e.predict(k, POINTWISE_CLIP).seconds(), 1e-12);
        // the same convolution with a fused ReLU (another family): the class curve of the one sample, 100 µs
        assertEquals(100e-6, e.predict(k, POINTWISE_CLIP.replace("activation=Clip", "activation=Relu")).seconds(), 1e-12);
    }
}
