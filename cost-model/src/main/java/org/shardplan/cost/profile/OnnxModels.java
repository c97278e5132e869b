package org.shardplan.cost.profile;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Builds small ONNX models in code: a model of one node with its inputs either fed at run time or
 * stored as initializers (weights are initializers, as in the model the node came from, so that
 * ONNX Runtime pre-packs them the same way).
 */
public final class OnnxModels {

    /** ONNX element type numbers (TensorProto.DataType). */
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int BOOL = 9;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int BFLOAT16 = 16;

    private OnnxModels() {}

    /** Bytes per element of an ONNX element type (0 for types shardplan does not size). */
    public static int elementBytes(int elemType) {
        return switch (elemType) {
            case FLOAT, INT32, 12 -> 4;
            case UINT8, INT8, BOOL -> 1;
            case 4, 5, FLOAT16, BFLOAT16 -> 2;
            case INT64, DOUBLE, 13 -> 8;
            default -> 0;
        };
    }

    /** A value description; a negative extent is written as a symbolic dimension. */
    public static OnnxMl.ValueInfoProto valueInfo(String name, int elemType, long[] dims) {
        OnnxMl.TypeProto.Tensor.Builder t = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType);
        if (dims != null) {
            OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] >= 0) {
                    s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
                } else {
                    s.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("d" + i));
                }
            }
            t.setShape(s);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(t)).build();
    }

    /** Number of elements of a shape. */
    public static long elements(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /**
     * A tensor of random values: floats uniform in [-1, 1), integers and booleans in {0, 1}
     * (valid as indices, masks and token ids).
     */
    public static OnnxMl.TensorProto randomTensor(String name, int elemType, long[] dims, SplittableRandom rnd) {
        long n = elements(dims);
        int eb = elementBytes(elemType);
        if (eb == 0) {
            throw new IllegalArgumentException("cannot make random data of ONNX element type " + elemType);
        }
        if (n * eb > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + name + " too large for random data: " + n + " elements");
        }
        ByteBuffer b = ByteBuffer.allocate((int) (n * eb)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) {
            switch (elemType) {
                case FLOAT -> b.putFloat((float) (rnd.nextDouble() * 2 - 1));
                case DOUBLE -> b.putDouble(rnd.nextDouble() * 2 - 1);
                case FLOAT16, BFLOAT16 -> b.putShort(elemType == FLOAT16 ? (short) 0x3800 : (short) 0x3f00);
                case INT64 -> b.putLong(rnd.nextInt(2));
                case INT32 -> b.putInt(rnd.nextInt(2));
                default -> b.put((byte) rnd.nextInt(2));
            }
        }
        return rawTensor(name, elemType, dims, b.array());
    }

    /** A tensor from little-endian raw bytes. */
    public static OnnxMl.TensorProto rawTensor(String name, int elemType, long[] dims, byte[] raw) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(elemType)
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** An int64 tensor with the given values. */
    public static OnnxMl.TensorProto int64Tensor(String name, long[] dims, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return rawTensor(name, INT64, dims, b.array());
    }

    /**
     * A model of one node.
     *
     * @param node the node; its input and output names must match the value descriptions
     * @param inputs graph inputs fed at run time
     * @param initializers constant inputs stored in the model
     * @param outputs graph outputs
     * @param opset the default-domain opset version
     */
    public static OnnxMl.ModelProto singleNode(OnnxMl.NodeProto node, List<OnnxMl.ValueInfoProto> inputs,
            List<OnnxMl.TensorProto> initializers, List<OnnxMl.ValueInfoProto> outputs, long opset) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("shardplan-probe")
                .addNode(node).addAllInput(inputs).addAllInitializer(initializers).addAllOutput(outputs);
        OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("shardplan")
                .setGraph(g)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
        if (!node.getDomain().isEmpty()) {
            m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(node.getDomain()).setVersion(1));
        }
        return m.build();
    }

    /** An integer attribute. */
    public static OnnxMl.AttributeProto intAttr(String name, long v) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(v).build();
    }

    /** An integer-list attribute. */
    public static OnnxMl.AttributeProto intsAttr(String name, long... v) {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (long x : v) {
            a.addInts(x);
        }
        return a.build();
    }
}
