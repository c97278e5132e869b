package org.shardplan.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;
import org.shardplan.onnx.edit.NodeEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One pipeline stage's ONNX nodes, run as DJL (PyTorch) operations so that autograd records them.
 * The operator set is what multi-layer perceptrons, small residual convolutional networks and their
 * exports use: {@code Gemm}, {@code MatMul}, {@code Add}, {@code Sub}, {@code Mul}, {@code Div},
 * {@code Relu}, {@code Tanh}, {@code Sigmoid}, {@code Softmax}, {@code LogSoftmax}, {@code Flatten},
 * {@code Identity}, {@code Reshape} (its shape an int64 initializer) and 2-D {@code Conv} (symmetric
 * padding); any other operator is rejected when the program is built, with the node's name.
 *
 * @param nodes     the stage's nodes in topological order
 * @param input     the tensor the stage receives (the model's input for the first stage)
 * @param output    the tensor the stage sends on (the logits for the last)
 * @param params    the initializers its nodes read
 * @param constants the int64 initializers its nodes read (shapes), by name
 */
public record StageProgram(List<NodeEntry> nodes, String input, String output, List<String> params,
        Map<String, long[]> constants) {

    /** The operators this engine translates. */
    public static final Set<String> SUPPORTED = Set.of("Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu",
            "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Flatten", "Identity", "Reshape", "Conv");

    /** A stage whose nodes read no int64 constants. */
    public StageProgram(List<NodeEntry> nodes, String input, String output, List<String> params) {
        this(nodes, input, output, params, Map.of());
    }

    public StageProgram {
        nodes = List.copyOf(nodes);
        params = List.copyOf(params);
        constants = java.util.Collections.unmodifiableMap(new HashMap<>(constants));
        Set<String> unsupported = new TreeSet<>();
        for (NodeEntry n : nodes) {
            if (!SUPPORTED.contains(n.opType()) || !n.domain().isEmpty() && !n.domain().equals("ai.onnx")) {
                unsupported.add(n.opType() + " (node " + n.name() + ")");
            }
        }
        if (!unsupported.isEmpty()) {
            throw new IllegalArgumentException("the training engine does not translate " + String.join(", ", unsupported)
                    + "; it supports " + new TreeSet<>(SUPPORTED));
        }
    }

    /**
     * Runs the stage on {@code x} with the given parameter arrays; every intermediate is created on
     * {@code x}'s manager. Running time: that of the operators.
     */
    public NDArray forward(NDArray x, Map<String, NDArray> weights) {
        Map<String, NDArray> env = new HashMap<>(weights);
        env.put(input, x);
        for (NodeEntry n : nodes) {
            NDArray y = apply(n, env, constants);
            env.put(n.outputs().get(0), y);
        }
        NDArray out = env.get(output);
        if (out == null) {
            throw new IllegalStateException("stage output " + output + " was not computed by its nodes");
        }
        return out;
    }

    private static NDArray apply(NodeEntry n, Map<String, NDArray> env, Map<String, long[]> constants) {
        NDArray a = arg(n, 0, env);
        return switch (n.opType()) {
            case "Gemm" -> gemm(n, a, arg(n, 1, env), n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() ? arg(n, 2, env) : null);
            case "MatMul" -> a.matMul(arg(n, 1, env));
            case "Add" -> a.add(arg(n, 1, env));
            case "Sub" -> a.sub(arg(n, 1, env));
            case "Mul" -> a.mul(arg(n, 1, env));
            case "Div" -> a.div(arg(n, 1, env));
            case "Relu" -> Activation.relu(a);
            case "Tanh" -> a.tanh();
            case "Sigmoid" -> Activation.sigmoid(a);
            case "Softmax" -> a.softmax(axis(n, a, -1));
            case "LogSoftmax" -> a.logSoftmax(axis(n, a, -1));
            case "Flatten" -> flatten(a, (int) intAttr(n, "axis", 1));
            case "Identity" -> a;
            case "Reshape" -> reshape(n, a, constants);
            case "Conv" -> conv(n, a, arg(n, 1, env), n.inputs().size() > 2 && !n.inputs().get(2).isEmpty() ? arg(n, 2, env) : null);
            default -> throw new IllegalArgumentException("operator " + n.opType() + " (node " + n.name() + ") is not translated");
        };
    }

    /** ONNX Gemm: alpha * A' B' + beta * C, with A' and B' transposed when transA, transB are 1. */
    private static NDArray gemm(NodeEntry n, NDArray a, NDArray b, NDArray c) {
        if (intAttr(n, "transA", 0) != 0) {
            a = a.transpose();
        }
        if (intAttr(n, "transB", 0) != 0) {
            b = b.transpose();
        }
        NDArray y = a.matMul(b);
        float alpha = floatAttr(n, "alpha", 1f);
        if (alpha != 1f) {
            y = y.mul(alpha);
        }
        if (c != null) {
            float beta = floatAttr(n, "beta", 1f);
            y = y.add(beta == 1f ? c : c.mul(beta));
        }
        return y;
    }

    /** ONNX Reshape with its shape an int64 constant: 0 copies the input's dimension, -1 is inferred. */
    private static NDArray reshape(NodeEntry n, NDArray a, Map<String, long[]> constants) {
        String name = n.inputs().size() > 1 ? n.inputs().get(1) : "";
        long[] shape = constants.get(name);
        if (shape == null) {
            throw new IllegalArgumentException("node " + n.name() + " (Reshape) must read its shape from an int64"
                    + " initializer, found " + (name.isEmpty() ? "none" : name));
        }
        long[] s = shape.clone();
        for (int i = 0; i < s.length; i++) {
            if (s[i] == 0 && intAttr(n, "allowzero", 0) == 0) {
                s[i] = a.getShape().get(i);
            }
        }
        // a copy, not a view: a view of the stage's input, kept for a convolution's backward, read freed
        // memory in training runs (losses turned NaN after some steps)
        return a.reshape(new Shape(s)).duplicate();
    }

    /** ONNX Conv in two spatial dimensions: strides, symmetric pads, dilations and groups from the attributes. */
    private static NDArray conv(NodeEntry n, NDArray x, NDArray w, NDArray b) {
        Attributes at = Attributes.of(n);
        if (w.getShape().dimension() != 4) {
            throw new IllegalArgumentException("node " + n.name() + " (Conv) must have a 4-d weight (2-d convolution),"
                    + " found shape " + w.getShape());
        }
        long[] strides = at.ints("strides", new long[] {1, 1});
        long[] dilations = at.ints("dilations", new long[] {1, 1});
        long[] pads = at.ints("pads", new long[] {0, 0, 0, 0});
        if (pads.length != 4 || pads[0] != pads[2] || pads[1] != pads[3]) {
            throw new IllegalArgumentException("node " + n.name() + " (Conv) must pad both sides of each dimension"
                    + " alike, found pads " + java.util.Arrays.toString(pads));
        }
        // the convolution reads a copy of its input: on the input itself, training runs of the same seed
        // gave different losses and at times NaN (the input read back changed before the backward)
        return Conv2d.conv2d(x.duplicate(), w, b, new Shape(strides), new Shape(pads[0], pads[1]), new Shape(dilations),
                (int) at.i("group", 1)).singletonOrThrow();
    }

    private static NDArray flatten(NDArray a, int axis) {
        int rank = a.getShape().dimension();
        int ax = axis < 0 ? axis + rank : axis;
        long outer = 1;
        for (int i = 0; i < ax; i++) {
            outer *= a.getShape().get(i);
        }
        return a.reshape(outer, -1);
    }

    private static int axis(NodeEntry n, NDArray a, long dflt) {
        long ax = intAttr(n, "axis", dflt);
        return (int) (ax < 0 ? ax + a.getShape().dimension() : ax);
    }

    private static NDArray arg(NodeEntry n, int i, Map<String, NDArray> env) {
        if (i >= n.inputs().size()) {
            throw new IllegalArgumentException("node " + n.name() + " (" + n.opType() + ") must have input " + i
                    + ", found " + n.inputs().size() + " inputs");
        }
        NDArray v = env.get(n.inputs().get(i));
        if (v == null) {
            throw new IllegalArgumentException("node " + n.name() + " reads " + n.inputs().get(i)
                    + ", which its stage neither receives, holds nor computes");
        }
        return v;
    }

    private static long intAttr(NodeEntry n, String name, long dflt) {
        return Attributes.of(n).i(name, dflt);
    }

    private static float floatAttr(NodeEntry n, String name, float dflt) {
        return Attributes.of(n).f(name, dflt);
    }
}
