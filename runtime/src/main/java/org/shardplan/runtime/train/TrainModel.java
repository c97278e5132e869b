package org.shardplan.runtime.train;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A model to train: the ONNX graph's nodes in file order (ONNX requires topological order), its
 * float initializers (the parameters and their initial values), and its one data input and one output.
 *
 * @param nodes      the graph's nodes
 * @param parameters float initializers by name: shape and values
 * @param input      the graph input that is not an initializer (the data)
 * @param inputWidth the input's feature count (its shape after the batch dimension, multiplied out)
 * @param output     the graph output (the logits the loss is taken of)
 */
public record TrainModel(List<OnnxMl.NodeProto> nodes, Map<String, Param> parameters, String input,
        long inputWidth, String output) {

    /** An initializer: its shape and float values. */
    public record Param(long[] shape, float[] values) {
        public Param {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            if (n != values.length) {
                throw new IllegalArgumentException("parameter values must number " + n + ", found " + values.length);
            }
        }
    }

    public TrainModel {
        nodes = List.copyOf(nodes);
        parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
    }

    /** Reads an ONNX file (weights inside the file). Running time: linear in the file's size. */
    public static TrainModel read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return of(OnnxMl.ModelProto.parseFrom(in), file.toString());
        }
    }

    /** The model of a parsed ONNX protobuf; {@code where} names it in messages. */
    public static TrainModel of(OnnxMl.ModelProto model, String where) {
        OnnxMl.GraphProto g = model.getGraph();
        Map<String, Param> params = new LinkedHashMap<>();
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            if (t.getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
                throw new IllegalArgumentException(where + ": initializer " + t.getName()
                        + " must be float32 for training, found ONNX type " + t.getDataType());
            }
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) {
                throw new IllegalArgumentException(where + ": initializer " + t.getName()
                        + " must be stored inside the file for training, found external data");
            }
            long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
            float[] v;
            if (!t.getRawData().isEmpty()) {
                ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                v = new float[b.remaining() / 4];
                b.asFloatBuffer().get(v);
            } else {
                v = new float[t.getFloatDataCount()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = t.getFloatData(i);
                }
            }
            params.put(t.getName(), new Param(dims, v));
        }
        List<OnnxMl.ValueInfoProto> inputs = new ArrayList<>();
        for (OnnxMl.ValueInfoProto vi : g.getInputList()) {
            if (!params.containsKey(vi.getName())) {
                inputs.add(vi);
            }
        }
        if (inputs.size() != 1) {
            throw new IllegalArgumentException(where + ": the model must have one data input for training, found "
                    + inputs.size() + " " + inputs.stream().map(OnnxMl.ValueInfoProto::getName).toList());
        }
        if (g.getOutputCount() != 1) {
            throw new IllegalArgumentException(where + ": the model must have one output (the logits) for training, found "
                    + g.getOutputCount());
        }
        OnnxMl.ValueInfoProto in = inputs.get(0);
        long width = 1;
        List<OnnxMl.TensorShapeProto.Dimension> dims = in.getType().getTensorType().getShape().getDimList();
        for (int i = 1; i < dims.size(); i++) {
            if (!dims.get(i).hasDimValue()) {
                throw new IllegalArgumentException(where + ": input " + in.getName() + " dimension " + i
                        + " must be a number for training, found '" + dims.get(i).getDimParam() + "'");
            }
            width *= dims.get(i).getDimValue();
        }
        return new TrainModel(g.getNodeList(), params, in.getName(), width, g.getOutput(0).getName());
    }

    /**
     * A multi-layer perceptron as PyTorch's ONNX export writes {@code nn.Sequential(Linear, ReLU, ...,
     * Linear)}: {@code Gemm} with {@code transB = 1} (weights stored out x in) and {@code Relu} between
     * layers, input {@code x} of shape [batch, sizes[0]], output {@code logits}. Weights and biases are
     * drawn as PyTorch's {@code nn.Linear} does by default, uniform in [-1/sqrt(in), 1/sqrt(in)] (Kaiming
     * uniform with a = sqrt(5)), from a seeded generator.
     *
     * @param sizes layer widths, input first, classes last (at least two)
     * @param seed  the generator's seed
     */
    public static OnnxMl.ModelProto mlp(int[] sizes, long seed) {
        if (sizes.length < 2) {
            throw new IllegalArgumentException("an MLP needs at least 2 layer widths, found " + sizes.length);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("mlp");
        g.addInput(valueInfo("x", sizes[0]));
        String prev = "x";
        for (int l = 0; l + 1 < sizes.length; l++) {
            int in = sizes[l];
            int out = sizes[l + 1];
            double bound = 1.0 / Math.sqrt(in);
            String w = "fc" + l + ".weight";
            String b = "fc" + l + ".bias";
            g.addInitializer(floats(w, new long[] {out, in}, rnd, bound));
            g.addInitializer(floats(b, new long[] {out}, rnd, bound));
            boolean last = l + 2 == sizes.length;
            String y = last ? "logits" : "/fc" + l + "/Gemm_output_0";
            g.addNode(OnnxMl.NodeProto.newBuilder().setName("/fc" + l + "/Gemm").setOpType("Gemm")
                    .addInput(prev).addInput(w).addInput(b).addOutput(y)
                    .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("transB").setI(1)
                            .setType(OnnxMl.AttributeProto.AttributeType.INT)));
            prev = y;
            if (!last) {
                String r = "/relu" + l + "/Relu_output_0";
                g.addNode(OnnxMl.NodeProto.newBuilder().setName("/relu" + l + "/Relu").setOpType("Relu")
                        .addInput(prev).addOutput(r));
                prev = r;
            }
        }
        g.addOutput(valueInfo("logits", sizes[sizes.length - 1]));
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("shardplan")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(g).build();
    }

    private static OnnxMl.ValueInfoProto valueInfo(String name, int width) {
        OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder()
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("batch"))
                .addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(width));
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    private static OnnxMl.TensorProto floats(String name, long[] dims, SplittableRandom rnd, double bound) {
        int n = (int) java.util.Arrays.stream(dims).reduce(1, (a, b) -> a * b);
        ByteBuffer buf = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            buf.putFloat((float) ((rnd.nextDouble() * 2 - 1) * bound));
        }
        buf.flip();
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(1)
                .setRawData(ByteString.copyFrom(buf));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }
}
