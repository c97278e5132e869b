package org.shardplan.runtime.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;
import org.shardplan.onnx.edit.Wire;

/**
 * A model to train: the ONNX graph's nodes in file order (ONNX requires topological order), its
 * float initializers (the parameters and their initial values), its int64 initializers (constants
 * such as a Reshape's shape, not trained), and its one data input and one output.
 *
 * @param nodes      the graph's nodes
 * @param parameters float initializers by name: shape and values
 * @param constants  int64 initializers by name: their values (shape arguments)
 * @param input      the graph input that is not an initializer (the data)
 * @param inputWidth the input's feature count (its shape after the batch dimension, multiplied out)
 * @param output     the graph output (the logits the loss is taken of)
 */
public record TrainModel(List<NodeEntry> nodes, Map<String, Param> parameters, Map<String, long[]> constants,
        String input, long inputWidth, String output) {

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

    /** TensorProto fields: float_data 4, raw_data 9. */
    private static final int FLOAT_DATA = 4;
    private static final int RAW_DATA = 9;

    public TrainModel {
        nodes = List.copyOf(nodes);
        parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        constants = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(constants));
    }

    /** A model without int64 constants. */
    public TrainModel(List<NodeEntry> nodes, Map<String, Param> parameters, String input, long inputWidth, String output) {
        this(nodes, parameters, Map.of(), input, inputWidth, output);
    }

    /** Reads an ONNX file (weights inside the file). Running time: linear in the file's size. */
    public static TrainModel read(Path file) throws OnnxImportException {
        return of(ModelFile.read(file), file.toString());
    }

    /**
     * The model of a parsed ONNX file; {@code where} names it in messages.
     *
     * @throws IllegalArgumentException when it is not trainable here (non-float or external weights,
     *         not one data input and one output, an input width that is not a number)
     */
    public static TrainModel of(ModelFile model, String where) {
        Map<String, Param> params = new LinkedHashMap<>();
        Map<String, long[]> constants = new LinkedHashMap<>();
        for (TensorEntry t : model.initializers()) {
            if (!t.sparse() && !t.external() && t.dataType() == 7) {
                constants.put(t.name(), longs(t));
                continue;
            }
            if (t.sparse() || t.dataType() != 1) {
                throw new IllegalArgumentException(where + ": initializer " + t.name()
                        + " must be a dense float32 tensor (a parameter) or int64 tensor (a constant) for training, found"
                    + " ONNX type " + t.dataType());
            }
            if (t.external()) {
                throw new IllegalArgumentException(where + ": initializer " + t.name()
                        + " must be stored inside the file for training, found external data");
            }
            params.put(t.name(), new Param(t.dims(), floats(t)));
        }
        List<ValueEntry> inputs = new ArrayList<>();
        for (ValueEntry vi : model.inputs()) {
            if (!params.containsKey(vi.name()) && !constants.containsKey(vi.name())) {
                inputs.add(vi);
            }
        }
        if (inputs.size() != 1) {
            throw new IllegalArgumentException(where + ": the model must have one data input for training, found "
                    + inputs.size() + " " + inputs.stream().map(ValueEntry::name).toList());
        }
        if (model.outputs().size() != 1) {
            throw new IllegalArgumentException(where + ": the model must have one output (the logits) for training, found "
                    + model.outputs().size());
        }
        ValueEntry in = inputs.get(0);
        List<Object> dims = in.dims();
        long width = 1;
        for (int i = 1; i < dims.size(); i++) {
            if (!(dims.get(i) instanceof Long d)) {
                Object found = dims.get(i) == null ? "?" : "'" + dims.get(i) + "'";
                throw new IllegalArgumentException(where + ": input " + in.name() + " dimension " + i
                        + " must be a number for training, found " + found);
            }
            width *= d;
        }
        return new TrainModel(model.nodes(), params, constants, in.name(), width, model.outputs().get(0).name());
    }

    /** TensorProto field int64_data. */
    private static final int INT64_DATA = 7;

    /** The values of an inline int64 tensor (raw_data, or int64_data packed or not). */
    private static long[] longs(TensorEntry t) {
        long n = 1;
        for (long d : t.dims()) {
            n *= d;
        }
        long[] v = new long[(int) n];
        int at = 0;
        for (Wire.Field f : Wire.fields(t.raw())) {
            if (f.number() == RAW_DATA && f.wire() == 2) {
                ByteBuffer.wrap(f.payload()).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v, 0,
                        Math.min(v.length, f.payload().length / 8));
                return v;
            }
            if (f.number() == INT64_DATA && f.wire() == 0 && at < v.length) {
                v[at++] = f.value();
            } else if (f.number() == INT64_DATA && f.wire() == 2) {
                byte[] b = f.payload();
                int pos = 0;
                while (pos < b.length && at < v.length) {
                    long x = 0;
                    int shift = 0;
                    int c;
                    do {
                        c = b[pos++] & 0xff;
                        x |= (long) (c & 0x7f) << shift;
                        shift += 7;
                    } while ((c & 0x80) != 0 && pos < b.length);
                    v[at++] = x;
                }
            }
        }
        return v;
    }

    private static float[] floats(TensorEntry t) {
        long n = 1;
        for (long d : t.dims()) {
            n *= d;
        }
        float[] v = new float[(int) n];
        int at = 0;
        for (Wire.Field f : Wire.fields(t.raw())) {
            if (f.number() == RAW_DATA && f.wire() == 2) {
                byte[] b = f.payload();
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v, 0, Math.min(v.length, b.length / 4));
                return v;
            }
            if (f.number() == FLOAT_DATA) {
                if (f.wire() == 2) {
                    byte[] b = f.payload();
                    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                    while (bb.remaining() >= 4 && at < v.length) {
                        v[at++] = bb.getFloat();
                    }
                } else if (f.wire() == 5 && at < v.length) {
                    byte[] w = f.whole();
                    v[at++] = ByteBuffer.wrap(w, w.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
                }
            }
        }
        return v;
    }

    /**
     * A multi-layer perceptron as PyTorch's ONNX export writes {@code nn.Sequential(Linear, ReLU, ...,
     * Linear)}: {@code Gemm} with {@code transB = 1} (weights stored out x in) and {@code Relu} between
     * layers, input {@code x} of shape [batch, sizes[0]], output {@code logits}. Weights and biases are
     * drawn as PyTorch's {@code nn.Linear} does by default, uniform in [-1/sqrt(in), 1/sqrt(in)] (Kaiming
     * uniform with a = sqrt(5)), from a seeded generator. Returns the serialized model.
     *
     * @param sizes layer widths, input first, classes last (at least two)
     * @param seed  the generator's seed
     */
    public static byte[] mlp(int[] sizes, long seed) {
        return mlp(sizes, 0, seed);
    }

    /**
     * {@link #mlp(int[], long)} with {@code residual} residual blocks after the first hidden layer, each
     * {@code h + Relu(Gemm(h))} of that layer's width (the shape-keeping chain a parareal rewrite tears
     * into segments). Their weights are drawn after all the plain layers', so that {@code residual = 0}
     * is the plain MLP.
     */
    public static byte[] mlp(int[] sizes, int residual, long seed) {
        if (residual < 0) {
            throw new IllegalArgumentException("residual blocks must be >= 0, found " + residual);
        }
        if (residual > 0 && sizes.length < 3) {
            throw new IllegalArgumentException("residual blocks need a hidden layer: at least 3 layer widths, found "
                    + sizes.length);
        }
        if (sizes.length < 2) {
            throw new IllegalArgumentException("an MLP needs at least 2 layer widths, found " + sizes.length);
        }
        for (int s : sizes) {
            if (s < 1) {
                throw new IllegalArgumentException("layer widths must be >= 1, found " + s);
            }
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        ModelBuilder g = ModelBuilder.create(8, Map.of("", 17L)).graphName("mlp");
        g.input(ValueEntry.tensor("x", 1, List.of("batch", (long) sizes[0])));
        String prev = "x";
        for (int l = 0; l + 1 < sizes.length; l++) {
            int in = sizes[l];
            int out = sizes[l + 1];
            double bound = 1.0 / Math.sqrt(in);
            String w = "fc" + l + ".weight";
            String b = "fc" + l + ".bias";
            g.initializer(TensorEntry.floats(w, new long[] {out, in}, uniform(out * in, rnd, bound)));
            g.initializer(TensorEntry.floats(b, new long[] {out}, uniform(out, rnd, bound)));
            boolean last = l + 2 == sizes.length;
            String y = last ? "logits" : "/fc" + l + "/Gemm_output_0";
            g.node(NodeSpec.of("Gemm", "/fc" + l + "/Gemm").inputs(prev, w, b).outputs(y).attr("transB", 1L));
            prev = y;
            if (!last) {
                String r = "/relu" + l + "/Relu_output_0";
                g.node(NodeSpec.of("Relu", "/relu" + l + "/Relu").inputs(prev).outputs(r));
                prev = r;
            }
            if (l == 0) {
                prev = residualBlocks(g, prev, out, residual, new SplittableRandom(seed + 0x5eed));
            }
        }
        g.output(ValueEntry.tensor("logits", 1, List.of("batch", (long) sizes[sizes.length - 1])));
        return g.bytes();
    }

    /** {@code count} blocks {@code h + Relu(Gemm(h))} of width {@code w} after {@code prev}; returns the last output. */
    private static String residualBlocks(ModelBuilder g, String prev, int w, int count, SplittableRandom rnd) {
        double bound = 1.0 / Math.sqrt(w);
        for (int j = 0; j < count; j++) {
            String p = "/res" + j;
            String wt = "res" + j + ".weight";
            String b = "res" + j + ".bias";
            g.initializer(TensorEntry.floats(wt, new long[] {w, w}, uniform(w * w, rnd, bound)));
            g.initializer(TensorEntry.floats(b, new long[] {w}, uniform(w, rnd, bound)));
            g.node(NodeSpec.of("Gemm", p + "/Gemm").inputs(prev, wt, b).outputs(p + "/Gemm_output_0").attr("transB", 1L));
            g.node(NodeSpec.of("Relu", p + "/Relu").inputs(p + "/Gemm_output_0").outputs(p + "/Relu_output_0"));
            g.node(NodeSpec.of("Add", p + "/Add").inputs(prev, p + "/Relu_output_0").outputs(p + "/Add_output_0"));
            prev = p + "/Add_output_0";
        }
        return prev;
    }

    /**
     * A small residual convolutional network for the 28 x 28 digits, as PyTorch's ONNX export writes
     * it: the input {@code x} [batch, 784] reshaped to [batch, 1, 28, 28]; a stem Conv 3 x 3, stride 2,
     * padding 1, to {@code channels} maps of 14 x 14 and a Relu; {@code residual} blocks {@code h +
     * Relu(Conv(h))} with Conv 3 x 3, padding 1, {@code channels} to {@code channels} (the shape-keeping
     * chain a parareal rewrite tears); Flatten and a Gemm to the 10 classes, output {@code logits}.
     * Weights and biases are drawn as PyTorch's {@code nn.Conv2d} and {@code nn.Linear} do by default,
     * uniform in [-1/sqrt(fan-in), 1/sqrt(fan-in)], from a seeded generator. Returns the serialized model.
     *
     * @param channels the maps of the stem and the blocks (at least 1)
     * @param residual the residual blocks (at least 0)
     * @param seed     the generator's seed
     */
    public static byte[] convnet(int channels, int residual, long seed) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be >= 1, found " + channels);
        }
        if (residual < 0) {
            throw new IllegalArgumentException("residual blocks must be >= 0, found " + residual);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        ModelBuilder g = ModelBuilder.create(8, Map.of("", 17L)).graphName("resconv");
        g.input(ValueEntry.tensor("x", 1, List.of("batch", 784L)));
        g.initializer(TensorEntry.longs("image_shape", new long[] {4}, new long[] {-1, 1, 28, 28}));
        g.node(NodeSpec.of("Reshape", "/Reshape").inputs("x", "image_shape").outputs("/Reshape_output_0"));
        String prev = conv(g, "/stem", "stem", "/Reshape_output_0", 1, channels, 2, rnd);
        g.node(NodeSpec.of("Relu", "/stem/Relu").inputs(prev).outputs("/stem/Relu_output_0"));
        prev = "/stem/Relu_output_0";
        for (int j = 0; j < residual; j++) {
            String p = "/res" + j;
            String c = conv(g, p, "res" + j, prev, channels, channels, 1, rnd);
            g.node(NodeSpec.of("Relu", p + "/Relu").inputs(c).outputs(p + "/Relu_output_0"));
            g.node(NodeSpec.of("Add", p + "/Add").inputs(prev, p + "/Relu_output_0").outputs(p + "/Add_output_0"));
            prev = p + "/Add_output_0";
        }
        g.node(NodeSpec.of("Flatten", "/head/Flatten").inputs(prev).outputs("/head/Flatten_output_0").attr("axis", 1L));
        int features = channels * 14 * 14;
        double bound = 1.0 / Math.sqrt(features);
        g.initializer(TensorEntry.floats("head.weight", new long[] {10, features}, uniform(10 * features, rnd, bound)));
        g.initializer(TensorEntry.floats("head.bias", new long[] {10}, uniform(10, rnd, bound)));
        g.node(NodeSpec.of("Gemm", "/head/Gemm").inputs("/head/Flatten_output_0", "head.weight", "head.bias")
                .outputs("logits").attr("transB", 1L));
        g.output(ValueEntry.tensor("logits", 1, List.of("batch", 10L)));
        return g.bytes();
    }

    /** A Conv 3 x 3 with padding 1 and bias, {@code in} to {@code out} maps; returns its output's name. */
    private static String conv(ModelBuilder g, String node, String param, String input, int in, int out, int stride,
            SplittableRandom rnd) {
        int fan = in * 9;
        double bound = 1.0 / Math.sqrt(fan);
        String w = param + ".weight";
        String b = param + ".bias";
        g.initializer(TensorEntry.floats(w, new long[] {out, in, 3, 3}, uniform(out * fan, rnd, bound)));
        g.initializer(TensorEntry.floats(b, new long[] {out}, uniform(out, rnd, bound)));
        String y = node + "/Conv_output_0";
        g.node(NodeSpec.of("Conv", node + "/Conv").inputs(input, w, b).outputs(y)
                .attr("kernel_shape", new long[] {3, 3}).attr("pads", new long[] {1, 1, 1, 1})
                .attr("strides", new long[] {stride, stride}).attr("dilations", new long[] {1, 1}).attr("group", 1L));
        return y;
    }

    /** The built-in residual convolutional network (see {@link #convnet}), ready to train. */
    public static TrainModel convnetModel(int channels, int residual, long seed) {
        try {
            return of(ModelFile.parse(convnet(channels, residual, seed), Path.of("."), "builtin convnet"),
                    "builtin convnet");
        } catch (OnnxImportException e) {
            throw new IllegalStateException("the built-in convnet does not parse: " + e.getMessage(), e);
        }
    }

    /** The built-in MLP as a model ready to train. */
    public static TrainModel mlpModel(int[] sizes, long seed) {
        return mlpModel(sizes, 0, seed);
    }

    /** The built-in MLP with {@code residual} residual blocks (see {@link #mlp(int[], int, long)}), ready to train. */
    public static TrainModel mlpModel(int[] sizes, int residual, long seed) {
        try {
            return of(ModelFile.parse(mlp(sizes, residual, seed), Path.of("."), "builtin MLP"), "builtin MLP");
        } catch (OnnxImportException e) {
            throw new IllegalStateException("the built-in MLP does not parse: " + e.getMessage(), e);
        }
    }

    private static float[] uniform(int n, SplittableRandom rnd, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }
}
