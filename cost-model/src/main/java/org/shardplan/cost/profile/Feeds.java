package org.shardplan.cost.profile;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random input tensors for ONNX Runtime runs (values as in {@link OnnxModels#randomTensor}), in
 * buffers aligned as ONNX Runtime aligns its own tensors.
 *
 * <p>Inside a model every intermediate tensor comes from ONNX Runtime's CPU allocator, which
 * aligns to 64 bytes ({@code CPUAllocator::Alloc}, onnxruntime/core/framework/allocator.cc). A
 * plain {@code ByteBuffer.allocateDirect} is only as aligned as {@code malloc}: a large one starts
 * 16 bytes past a page boundary. The blocked (NCHWc) kernels of MLAS load and store 16 floats at a
 * time, so from such a buffer every vector access straddles two cache lines: a MobileNet-v2
 * depthwise convolution fed that way ran 1.2 to 1.6 times as long as from an aligned buffer (the
 * same inputs, runs interleaved; 1x1 convolutions unchanged), and as long again as the same node
 * inside the whole model. So one-node measurements feed, and write their outputs to, buffers
 * aligned to {@link #ALIGNMENT} bytes.
 */
public final class Feeds {
    private Feeds() {}

    /** Bytes to which feeds and pinned outputs are aligned: ONNX Runtime's CPU allocator's. */
    public static final int ALIGNMENT = 64;

    /**
     * The mark of measurements taken with aligned feeds in a calibration's fingerprint (its
     * runtime field), so that they are never mixed with measurements taken before, whose
     * element-wise and depthwise kernels ran from unaligned buffers.
     */
    public static final String TAG = " feeds=a64";

    /**
     * A direct buffer of {@code bytes} bytes in native order whose first byte is aligned to
     * {@link #ALIGNMENT} bytes. O(bytes).
     */
    static ByteBuffer aligned(int bytes) {
        // alignedSlice also rounds the end down to the alignment: room for both ends
        int rounded = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        ByteBuffer b = ByteBuffer.allocateDirect(rounded + ALIGNMENT).alignedSlice(ALIGNMENT);
        b.limit(bytes);
        return b.slice().order(ByteOrder.nativeOrder());
    }

    /** The ONNX Runtime Java type of an ONNX element type. */
    public static OnnxJavaType javaType(int elemType) {
        return switch (elemType) {
            case OnnxModels.FLOAT -> OnnxJavaType.FLOAT;
            case OnnxModels.DOUBLE -> OnnxJavaType.DOUBLE;
            case OnnxModels.INT64 -> OnnxJavaType.INT64;
            case OnnxModels.INT32 -> OnnxJavaType.INT32;
            case OnnxModels.INT8 -> OnnxJavaType.INT8;
            case OnnxModels.UINT8 -> OnnxJavaType.UINT8;
            case OnnxModels.BOOL -> OnnxJavaType.BOOL;
            case OnnxModels.FLOAT16 -> OnnxJavaType.FLOAT16;
            case OnnxModels.BFLOAT16 -> OnnxJavaType.BFLOAT16;
            default -> throw new IllegalArgumentException("no random feed for ONNX element type " + elemType);
        };
    }

    /** The ONNX element type of an ONNX Runtime Java type. */
    public static int elemType(OnnxJavaType t) {
        return switch (t) {
            case FLOAT -> OnnxModels.FLOAT;
            case DOUBLE -> OnnxModels.DOUBLE;
            case INT64 -> OnnxModels.INT64;
            case INT32 -> OnnxModels.INT32;
            case INT8 -> OnnxModels.INT8;
            case UINT8 -> OnnxModels.UINT8;
            case BOOL -> OnnxModels.BOOL;
            case FLOAT16 -> OnnxModels.FLOAT16;
            case BFLOAT16 -> OnnxModels.BFLOAT16;
            default -> throw new IllegalArgumentException("no random feed for ONNX Runtime type " + t);
        };
    }

    /** A tensor of random values of the given element type and shape. */
    public static OnnxTensor random(int elemType, long[] shape, SplittableRandom rnd) throws OrtException {
        byte[] raw = OnnxModels.randomTensor("feed", elemType, shape, rnd).getRawData().toByteArray();
        ByteBuffer b = aligned(raw.length);
        ByteBuffer src = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            b.put(src);
        } else {
            throw new IllegalStateException("shardplan's random feeds assume a little-endian machine");
        }
        b.rewind();
        return OnnxTensor.createTensor(Ort.environment(), b, shape, javaType(elemType));
    }
}
