package org.shardplan.runtime.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.shardplan.cost.profile.Ort;
import org.shardplan.graph.DType;
import org.shardplan.graph.Value;

/**
 * Input tensors for a model's graph inputs: floats uniform in [-1, 1), integers in {0, 1} (valid token
 * ids, masks and indices), booleans true. Seeded, so a run and its check see the same data.
 */
public final class Feeds {

    private Feeds() {}

    /** One input set for {@code inputs} with the given fully known shapes. */
    public static Map<String, OnnxTensor> random(List<Value> inputs, Map<String, long[]> shapes, SplittableRandom rnd)
            throws OrtException {
        Map<String, OnnxTensor> m = new LinkedHashMap<>();
        for (Value v : inputs) {
            long[] shape = shapes.get(v.name());
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            if (n > Integer.MAX_VALUE / 8) {
                throw new IllegalArgumentException("input " + v.name() + " is too large to feed: " + n + " elements");
            }
            DType t = v.dtype();
            OnnxTensor x;
            switch (t) {
                case FLOAT32 -> {
                    float[] f = new float[(int) n];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = (float) (rnd.nextDouble() * 2 - 1);
                    }
                    x = OnnxTensor.createTensor(Ort.environment(), FloatBuffer.wrap(f), shape);
                }
                case INT64 -> {
                    long[] l = new long[(int) n];
                    for (int i = 0; i < l.length; i++) {
                        l[i] = rnd.nextInt(2);
                    }
                    x = OnnxTensor.createTensor(Ort.environment(), LongBuffer.wrap(l), shape);
                }
                case INT32 -> {
                    ByteBuffer b = ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < n; i++) {
                        b.putInt(rnd.nextInt(2));
                    }
                    b.flip();
                    x = OnnxTensor.createTensor(Ort.environment(), b, shape, ai.onnxruntime.OnnxJavaType.INT32);
                }
                case BOOL -> {
                    ByteBuffer b = ByteBuffer.allocateDirect((int) n).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < n; i++) {
                        b.put((byte) 1);
                    }
                    b.flip();
                    x = OnnxTensor.createTensor(Ort.environment(), b, shape, ai.onnxruntime.OnnxJavaType.BOOL);
                }
                default -> throw new IllegalArgumentException("input " + v.name() + " has element type " + t
                        + "; the runner feeds float, int64, int32 and bool inputs");
            }
            m.put(v.name(), x);
        }
        return m;
    }

    /** Closes every tensor of the maps. */
    public static void close(List<Map<String, OnnxTensor>> feeds) {
        for (Map<String, OnnxTensor> f : new ArrayList<>(feeds)) {
            f.values().forEach(OnnxTensor::close);
        }
    }
}
