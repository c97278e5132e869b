package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FeedsTest {

    /**
     * Feeds start on a 64-byte boundary at every size: small ones (malloc's 16-byte alignment),
     * and large ones (mmap'd by malloc, 16 bytes past a page boundary without the alignment).
     */
    @Test
    void buffersAreAlignedAsOnnxRuntimeAlignsItsTensors() {
        for (int bytes : new int[] {4, 60, 1000, 4096, 200_000, 1 << 20, 3 * (1 << 20) + 12}) {
            ByteBuffer b = Feeds.aligned(bytes);
            assertEquals(0, b.alignmentOffset(0, Feeds.ALIGNMENT), "offset of a buffer of " + bytes + " bytes");
            assertEquals(bytes, b.capacity());
            assertEquals(ByteOrder.nativeOrder(), b.order());
        }
    }

    /** The tensor holds the random values of OnnxModels.randomTensor, in the shape asked for. */
    @Test
    void randomFeedHasTheShapeAndTheValues() throws Exception {
        long[] shape = {2, 3, 5};
        try (OnnxTensor t = Feeds.random(OnnxModels.FLOAT, shape, new SplittableRandom(3))) {
            assertEquals(java.util.List.of(2L, 3L, 5L), java.util.Arrays.stream(t.getInfo().getShape()).boxed().toList());
            FloatBuffer got = t.getFloatBuffer();
            ByteBuffer want = ByteBuffer.wrap(OnnxModels.randomTensor("feed", OnnxModels.FLOAT, shape,
                    new SplittableRandom(3)).getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(30, got.remaining());
            for (int i = 0; i < 30; i++) {
                assertEquals(want.getFloat(4 * i), got.get(i), "element " + i);
            }
        }
    }
}
