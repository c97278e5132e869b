package org.shardplan.planner.build;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * The compute model's {training seconds, forward seconds} of per-device nodes, kept by the nodes' contents:
 * operator, attributes, and each input's and output's kind, type and shape, the constants' values and which
 * positions name the same value. A model bound at several micro-batch sizes gives one graph per size, and
 * {@link ProblemBuilder.PerDeviceWork} keeps its prices per graph (by node identity); a per-device node of
 * one graph is often the same node as one of another graph (a micro-batch of 16 split 4 ways and one of 8
 * split 2 ways leave each device 4 samples), priced once here for all of them. A node whose contents this
 * key would not capture exactly (an attribute holding a tensor or a graph, a constant without values or of
 * more than {@value #MOST_CONSTANT} elements, a shape not fully known, a causal-mask summary) gets no key
 * and is priced every time, as without this memo. Thread-safe. Each look-up is O(size of the node's
 * description).
 */
public final class LocalPrices {
    /** The most elements of a constant input whose values the key spells out. */
    static final int MOST_CONSTANT = 64;

    private final Map<String, double[]> prices = new ConcurrentHashMap<>();
    private volatile ComputeModel compute;

    /** An empty memo. */
    public LocalPrices() {
    }

    /**
     * Whether a builder with this compute model may use these prices: the first builder's model, or one that
     * prices alike ({@link ComputeModel#pricesAs}).
     */
    synchronized boolean admits(ComputeModel cm) {
        if (compute == null) {
            compute = cm;
        }
        return compute.pricesAs(cm);
    }

    /** The prices kept for a key, or null. */
    double[] get(String key) {
        return prices.get(key);
    }

    /** Keeps the prices of a key (the first kept stays). */
    void put(String key, double[] seconds) {
        prices.putIfAbsent(key, seconds.clone());
    }

    /** The count of distinct nodes priced (for tests). */
    public int size() {
        return prices.size();
    }

    /**
     * The key of a node's contents as the compute model reads them, or null where the key would not capture
     * them exactly. O(inputs + outputs + attributes + constant elements).
     */
    static String key(Node n) {
        StringBuilder b = new StringBuilder(160);
        b.append(n.domain()).append(':').append(n.opType()).append('|');
        for (Attribute a : new TreeMap<>(n.attributes()).values()) {
            switch (a.kind()) {
                case INT, FLOAT, STRING, INTS, FLOATS, STRINGS -> b.append(a.name()).append('=')
                        .append(a.kind()).append(OpSignature.attributeText(a)).append(';');
                default -> {
                    return null;
                }
            }
        }
        b.append('|');
        List<Value> ins = n.inputs();
        for (int i = 0; i < ins.size(); i++) {
            if (!value(b, ins.get(i), ins, i)) {
                return null;
            }
        }
        b.append('|');
        List<Value> outs = n.outputs();
        for (int i = 0; i < outs.size(); i++) {
            Value v = outs.get(i);
            // an output that names an input (or an earlier output) is told apart by its position
            int same = -1;
            for (int j = 0; j < ins.size() && same < 0; j++) {
                same = !ins.get(j).isAbsent() && ins.get(j).name().equals(v.name()) ? j : -1;
            }
            if (same >= 0) {
                b.append('@').append(same);
            }
            if (!value(b, v, outs, i)) {
                return null;
            }
        }
        return b.toString();
    }

    /** Appends one value's description; false where it cannot be described exactly. */
    private static boolean value(StringBuilder b, Value v, List<Value> list, int at) {
        if (v.isAbsent()) {
            b.append("-;");
            return true;
        }
        if (v.triangle().isPresent() || !v.shape().rankKnown() || !v.shape().isFullyKnown()) {
            return false;
        }
        // the first earlier position of the list that names the same value (Mul(x, x) is not Mul(x, y))
        for (int j = 0; j < at; j++) {
            if (!list.get(j).isAbsent() && list.get(j).name().equals(v.name())) {
                b.append('=').append(j);
                break;
            }
        }
        b.append(v.kind()).append(v.externalData().isPresent() ? "x" : "").append(v.dtype())
                .append(Arrays.toString(v.shape().toLongs()));
        if (v.constant().isPresent()) {
            Tensor t = v.constant().get();
            if (t.numElements() > MOST_CONSTANT) {
                return false;
            }
            if (t.isIntegral()) {
                b.append('c').append(t.dtype()).append(Arrays.toString(t.dims())).append(Arrays.toString(t.longs().get()));
            } else if (t.doubles().isPresent()) {
                b.append('c').append(t.dtype()).append(Arrays.toString(t.dims())).append(Arrays.toString(t.doubles().get()));
            } else {
                return false;
            }
        }
        b.append(';');
        return true;
    }
}
