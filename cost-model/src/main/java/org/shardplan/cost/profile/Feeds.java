package org.shardplan.cost.profile;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Random input tensors for ONNX Runtime runs (values as in {@link OnnxModels#randomTensor}). */
public final class Feeds {
    private Feeds() {}

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
        ByteBuffer b = ByteBuffer.allocateDirect(raw.length).order(ByteOrder.nativeOrder());
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
