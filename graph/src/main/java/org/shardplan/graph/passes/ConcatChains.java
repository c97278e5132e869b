package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;

/**
 * Rewrites growing concatenations into a chain: a {@code Concat} whose inputs begin with all the
 * inputs of an earlier {@code Concat} on the same axis, in the same order, reads that Concat's output
 * instead of them. The values computed are the same; what changes is the structure the planner sees.
 *
 * <p>Why: a densely connected block (DenseNet, Huang et al., CVPR 2017, eq. 2:
 * {@code x_l = H_l([x_0, x_1, ..., x_{l-1}])}) exported by torchvision concatenates every earlier
 * output again in every layer, so layer {@code i}'s output is read by the Concat of every later
 * layer. In the strategy problem each such read is an edge, the Concats and producers of a block form
 * a half graph whose treewidth grows with the block's length (24 layers in DenseNet-121's third
 * block), and the elimination's tables grow with the number of layouts to that power. After the
 * rewrite {@code x_l = H_l([c_{l-1}, x_{l-1}])} with {@code c_{l-1}} the previous layer's
 * concatenation: each output is read once, by the next Concat, and the block is a chain of small
 * cycles (treewidth 2). This is also how DenseNet is run without quadratic memory: the
 * concatenations share one buffer that each layer appends its output to (Pleiss et al., "Memory-
 * Efficient Implementation of DenseNets", arXiv:1707.06990, 2017), so a feature map is moved into the
 * shared buffer's layout once, not once per later layer, which is what the chained edges price.
 *
 * <p>The longest earlier prefix (at least two inputs) is used. Concats on different axes, Concats
 * outside the ONNX domain, and earlier Concats whose output is a known constant are left alone.
 * Running time O(sum over Concats of k^2) for k inputs (one hash look-up per prefix length).
 */
public final class ConcatChains {
    private ConcatChains() {
    }

    /** The graph with growing concatenations chained; the same graph object when there are none. */
    public static Graph rewrite(Graph g) {
        Map<String, Node> byInputs = new HashMap<>();
        Map<String, Node> replaced = new HashMap<>();
        for (Node n : g.nodes()) {
            if (!isConcat(n)) {
                continue;
            }
            List<Value> in = n.inputs();
            String axis = axisKey(n);
            // longest earlier Concat whose inputs are a proper prefix of these
            StringBuilder key = new StringBuilder(axis);
            Node best = null;
            int bestLen = 0;
            for (int len = 1; len < in.size(); len++) {
                key.append('\u0000').append(in.get(len - 1).name());
                if (len >= 2) {
                    Node prev = byInputs.get(key.toString());
                    if (prev != null) {
                        best = prev;
                        bestLen = len;
                    }
                }
            }
            key.append('\u0000').append(in.get(in.size() - 1).name());
            byInputs.putIfAbsent(key.toString(), n);
            if (best != null) {
                List<Value> chained = new ArrayList<>();
                chained.add(best.output(0));
                chained.addAll(in.subList(bestLen, in.size()));
                replaced.put(n.name(), n.withValues(chained, n.outputs()));
            }
        }
        if (replaced.isEmpty()) {
            return g;
        }
        Graph.Builder b = Graph.builder(g.name());
        b.allowCaptures(!g.capturedNames().isEmpty());
        g.inputs().forEach(b::addInput);
        g.parameters().forEach(b::addParameter);
        g.constants().forEach(b::addConstant);
        for (Node n : g.nodes()) {
            b.addNode(replaced.getOrDefault(n.name(), n));
        }
        g.outputs().forEach(b::addOutput);
        return b.build();
    }

    /** How many Concats {@link #rewrite} changes in g (for reports and tests). */
    public static int chained(Graph g) {
        Graph r = rewrite(g);
        if (r == g) {
            return 0;
        }
        int count = 0;
        for (Node n : r.nodes()) {
            if (isConcat(n) && !n.inputs().equals(g.node(n.name()).orElseThrow().inputs())) {
                count++;
            }
        }
        return count;
    }

    private static boolean isConcat(Node n) {
        if (!n.isOnnxDomain() || !n.opType().equals("Concat") || n.inputs().size() < 2 || n.outputs().size() != 1
                || n.output(0).constant().isPresent()) {
            return false;
        }
        for (Value v : n.inputs()) {
            if (v.isAbsent()) {
                return false;
            }
        }
        return n.attribute("axis").isPresent();
    }

    /** The axis, made non-negative where the output's rank is known. */
    private static String axisKey(Node n) {
        long axis = n.attrInt("axis", 0);
        if (axis < 0 && n.output(0).shape().rankKnown()) {
            axis += n.output(0).shape().rank();
        }
        return Long.toString(axis);
    }
}
