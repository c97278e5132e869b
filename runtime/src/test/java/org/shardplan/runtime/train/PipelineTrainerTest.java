package org.shardplan.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PipelineTrainerTest {

    private static final int[] SIZES = {12, 16, 8, 4};

    private static TrainModel mlp() {
        return TrainModel.mlpModel(SIZES, 7);
    }

    /** Replays the trainer's example order through the hand-written reference, g micro-batches per step. */
    private static SgdReference reference(TrainModel model, Examples data, int b, int g, long steps, double lr, long seed) {
        SgdReference ref = new SgdReference(model);
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] order = PipelineTrainer.shuffled(data.trainX().length, rnd);
        for (long s = 0; s < steps; s++) {
            float[][][] xs = new float[g][b][];
            int[][] ys = new int[g][b];
            for (int k = 0; k < g; k++) {
                for (int i = 0; i < b; i++) {
                    int at = (int) ((s * g + k) * b + i);
                    xs[k][i] = data.trainX()[order[at]];
                    ys[k][i] = data.trainY()[order[at]];
                }
            }
            ref.step(xs, ys, lr);
        }
        return ref;
    }

    private static void assertWeights(Map<String, double[]> expected, Map<String, float[]> actual, double tol) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) {
            double[] e = expected.get(k);
            float[] a = actual.get(k);
            assertEquals(e.length, a.length, k);
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], a[i], tol, k + "[" + i + "]");
            }
        }
    }

    @Test
    void ampWithOneKeyAndUpdatesEveryGradientIsSequentialSgd() throws Exception {
        TrainModel model = mlp();
        Examples data = SgdReference.blobs(12, 4, 400, 40, 3);
        List<StageProgram> stages = TrainStages.even(model, 3);
        assertEquals(3, stages.size());
        TrainOptions amp = TrainOptions.amp(1, 1, 5, 1, 0.2, 11).withMaxInstances(30);
        TrainResult r = PipelineTrainer.train(model, stages, data, amp);
        assertEquals(30, r.losses().length);
        assertWeights(reference(model, data, 5, 1, 30, 0.2, 11).weights(), r.weights(), 1e-6);
        for (TrainResult.Staleness s : r.staleness()) {
            assertEquals(0, s.max(), "stage " + s.stage());
            assertEquals(30, s.updates());
        }
        // the same run on one stage: the pipeline changes nothing
        TrainResult one = PipelineTrainer.train(model, TrainStages.even(model, 1), data, amp);
        for (String k : r.weights().keySet()) {
            assertArrayEquals(one.weights().get(k), r.weights().get(k), 1e-6f, k);
        }
    }

    @Test
    void synchronousStepsAreSgdOnTheStepsExamples() throws Exception {
        TrainModel model = mlp();
        Examples data = SgdReference.blobs(12, 4, 400, 40, 5);
        // 4 micro-batches of 5 per step: each stage updates once per step on the mean gradient
        TrainOptions sync = TrainOptions.sync(4, 5, 1, 0.3, 2).withMaxInstances(40);
        TrainResult r = PipelineTrainer.train(model, TrainStages.even(model, 2), data, sync);
        assertWeights(reference(model, data, 5, 4, 10, 0.3, 2).weights(), r.weights(), 1e-6);
        for (TrainResult.Staleness s : r.staleness()) {
            assertEquals(0, s.max());
            assertEquals(10, s.updates());
        }
    }

    @Test
    void ampStalenessIsBoundedByTheKeysInFlight() throws Exception {
        TrainModel model = mlp();
        Examples data = SgdReference.blobs(12, 4, 800, 80, 9);
        int k = 3;
        TrainResult r = PipelineTrainer.train(model, TrainStages.even(model, 3), data,
                TrainOptions.amp(k, 1, 4, 1, 0.1, 4));
        assertEquals(200, r.losses().length);
        // the last stage runs backward right after forward: never stale
        TrainResult.Staleness last = r.staleness().get(2);
        assertEquals(0, last.max());
        // elsewhere at most K - 1 other instances can finish their backward in between
        for (TrainResult.Staleness s : r.staleness()) {
            assertTrue(s.max() <= k - 1, "stage " + s.stage() + " staleness " + s.max());
            assertEquals(200, s.updates());
        }
        assertTrue(r.epochs().get(0).testAccuracy() > 0.5, "accuracy " + r.epochs().get(0).testAccuracy());
    }

    @Test
    void theTranslatedForwardEqualsOnnxRuntimeOnTheWrittenModel() throws Exception {
        int[] sizes = {784, 64, 32, 10};
        byte[] bytes = TrainModel.mlp(sizes, 5);
        TrainModel model = TrainModel.mlpModel(sizes, 5);
        float[] flat = images(SgdReference.blobs(784, 10, 8, 0, 1), 8);
        float[] expected = onnxRuntime(bytes, flat, 8);
        float[] actual = translated(model, flat, 8, 2);
        assertEquals(80, expected.length);
        assertArrayEquals(expected, actual, 1e-5f);
    }

    @Test
    void theTranslatedConvnetEqualsOnnxRuntimeInOneAndInTwoStages() throws Exception {
        // Reshape (an int64 shape), Conv with stride 2 and with stride 1, Relu, Add, Flatten, Gemm
        byte[] bytes = TrainModel.convnet(4, 3, 9);
        TrainModel model = TrainModel.convnetModel(4, 3, 9);
        assertArrayEquals(new long[] {-1, 1, 28, 28}, model.constants().get("image_shape"));
        assertTrue(!model.parameters().containsKey("image_shape"), "a shape is not trained");
        float[] flat = images(SgdReference.blobs(784, 10, 4, 0, 2), 4);
        float[] expected = onnxRuntime(bytes, flat, 4);
        assertEquals(40, expected.length);
        for (int stages : new int[] {1, 2}) {
            assertArrayEquals(expected, translated(model, flat, 4, stages), 1e-4f, stages + " stage(s)");
        }
    }

    @Test
    void trainingAConvnetTwiceFromOneSeedGivesTheSameWeights() throws Exception {
        TrainModel model = TrainModel.convnetModel(8, 6, 3);
        Examples data = SgdReference.blobs(784, 10, 1280, 0, 4);
        TrainOptions sync = TrainOptions.sync(4, 16, 1, 0.02, 6);
        TrainResult a = PipelineTrainer.train(model, TrainStages.even(model, 1), data, sync);
        TrainResult b = PipelineTrainer.train(model, TrainStages.even(model, 1), data, sync);
        assertEquals(20, a.losses().length / 4, "1,280 examples in steps of 4 x 16");
        for (String k : a.weights().keySet()) {
            for (float v : a.weights().get(k)) {
                assertTrue(Float.isFinite(v), k);
            }
            assertArrayEquals(a.weights().get(k), b.weights().get(k), 0f, k);
        }
        assertTrue(a.losses()[a.losses().length - 1] < a.losses()[0], "the loss falls: " + java.util.Arrays.toString(a.losses()));
    }

    @Test
    void aConvWithUnevenPadsIsNamed() throws Exception {
        var conv = org.shardplan.onnx.edit.NodeSpec.of("Conv", "/c/Conv").inputs("x", "w").outputs("y")
                .attr("pads", new long[] {0, 0, 1, 1}).entry();
        StageProgram p = new StageProgram(List.of(conv), "x", "y", List.of("w"));
        try (var m = org.shardplan.runtime.Torch.newManager()) {
            var x = m.zeros(new ai.djl.ndarray.types.Shape(1, 1, 4, 4));
            var w = m.zeros(new ai.djl.ndarray.types.Shape(1, 1, 3, 3));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.forward(x, Map.of("w", w)));
            assertEquals("node /c/Conv (Conv) must pad both sides of each dimension alike, found pads [0, 0, 1, 1]",
                    e.getMessage());
        }
    }

    @Test
    void unsupportedOperatorsAreNamed() {
        var bad = org.shardplan.onnx.edit.NodeSpec.of("MaxPool", "/pool/MaxPool").inputs("x").outputs("y").entry();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new StageProgram(List.of(bad), "x", "y", List.of()));
        assertTrue(e.getMessage().contains("MaxPool (node /pool/MaxPool)"), e.getMessage());
    }

    /** The first {@code n} training examples of {@code data}, 784 values each, one after another. */
    private static float[] images(Examples data, int n) {
        float[] flat = new float[n * 784];
        for (int i = 0; i < n; i++) {
            System.arraycopy(data.trainX()[i], 0, flat, i * 784, 784);
        }
        return flat;
    }

    /** The first output of the model {@code bytes} run by ONNX Runtime on {@code flat} as an input of shape [n, 784]. */
    private static float[] onnxRuntime(byte[] bytes, float[] flat, int n) throws Exception {
        var env = org.shardplan.cost.profile.Ort.environment();
        try (var o = org.shardplan.cost.profile.Ort.options(1); var s = env.createSession(bytes, o);
                var x = ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.wrap(flat), new long[] {n, 784});
                var r = s.run(Map.of("x", x))) {
            var fb = ((ai.onnxruntime.OnnxTensor) r.get(0)).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    /** The forward pass of {@code model} translated to {@code stages} even stages, on [n, 784] inputs. */
    private static float[] translated(TrainModel model, float[] flat, int n, int stages) {
        try (var m = org.shardplan.runtime.Torch.newManager()) {
            var x = m.create(flat, new ai.djl.ndarray.types.Shape(n, 784));
            for (StageProgram p : TrainStages.even(model, stages)) {
                Map<String, ai.djl.ndarray.NDArray> w = new java.util.HashMap<>();
                for (String name : p.params()) {
                    TrainModel.Param v = model.parameters().get(name);
                    w.put(name, m.create(v.values(), new ai.djl.ndarray.types.Shape(v.shape())));
                }
                x = p.forward(x, w);
            }
            return x.toFloatArray();
        }
    }
}
