package org.shardplan.planner.parareal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;

/**
 * Finds the {@link Chain}s of a coarse graph: for every repeated-block class the coarsening found
 * ({@link CoarseGraph#blockClasses()}), the maximal runs of adjacent instances across whose every
 * boundary exactly one activation flows, of the type of the run's input.
 *
 * <p>For a run starting at coarse node {@code a}, the activations crossing the boundary {@code c} are
 * the values made by nodes {@code a..c-1} that a node at {@code c} or later (or the graph's outputs)
 * reads; the run grows block by block while that set is one value of the run's type, or values all
 * computed from one of them alone ({@link #carried}: a pre-activation block's Relu of its residual sum). The run's input
 * is what its first block reads where its second block reads the first block's output (the blocks are
 * isomorphic, so their nodes' inputs correspond). A ResNet-50 gives its four stages' equal bottlenecks
 * (2, 3, 5 and 2), a BERT encoder its layers (the attention mask a side input), VGG-16 its equal
 * 3x3 convolutions between poolings.
 *
 * <p>O(B · E) for B blocks in classes and E coarse edges.
 */
public final class Chains {
    private Chains() {
    }

    /** The chains of the coarse graph, longest first (then in graph order). */
    public static List<Chain> find(CoarseGraph cg) {
        int n = cg.nodes().size();
        Set<String> graphOutputs = new HashSet<>();
        cg.graph().outputs().forEach(v -> graphOutputs.add(v.name()));
        Map<String, Integer> producer = new HashMap<>();
        for (CoarseEdge e : cg.edges()) {
            producer.putIfAbsent(e.value().name(), e.from());
        }
        for (CoarseNode c : cg.nodes()) {
            for (Value v : c.outputs()) {
                producer.putIfAbsent(v.name(), c.index());
            }
        }
        List<Chain> r = new ArrayList<>();
        for (BlockClass bc : cg.blockClasses()) {
            List<int[]> ranges = new ArrayList<>();
            for (List<CoarseNode> inst : bc.instances()) {
                int lo = inst.stream().mapToInt(CoarseNode::index).min().orElseThrow();
                int hi = inst.stream().mapToInt(CoarseNode::index).max().orElseThrow();
                ranges.add(new int[] {lo, hi + 1, hi - lo + 1 == inst.size() ? 1 : 0});
            }
            ranges.sort(Comparator.comparingInt(x -> x[0]));
            // runs of contiguous instances that are adjacent to each other
            int i = 0;
            while (i < ranges.size()) {
                if (ranges.get(i)[2] == 0) {
                    i++;
                    continue;
                }
                int j = i + 1;
                while (j < ranges.size() && ranges.get(j)[2] == 1 && ranges.get(j)[0] == ranges.get(j - 1)[1]) {
                    j++;
                }
                chainsIn(cg, bc, ranges.subList(i, j), producer, graphOutputs, n, r);
                i = j;
            }
        }
        r.sort(Comparator.comparingInt((Chain c) -> -c.length()).thenComparingInt(Chain::from));
        return List.copyOf(r);
    }

    /** The chains inside one run of adjacent instances. */
    private static void chainsIn(CoarseGraph cg, BlockClass bc, List<int[]> run, Map<String, Integer> producer,
            Set<String> graphOutputs, int n, List<Chain> out) {
        int s = 0;
        while (s + 1 < run.size()) {
            int start = run.get(s)[0];
            List<Value> carried = new ArrayList<>();
            int k = s;
            while (k < run.size()) {
                Value v = carried(cg, crossing(cg, start, run.get(k)[1], graphOutputs));
                if (v == null) {
                    break;
                }
                if (!carried.isEmpty() && !v.type().equals(carried.get(0).type())) {
                    break;
                }
                carried.add(v);
                k++;
            }
            // blocks s..k-1 each hand exactly one activation on; their input decides the first block
            if (k - s >= 2) {
                Value in = inputOf(cg, run.get(s), run.get(s + 1), carried.get(0), start, producer);
                int first = s;
                if (in == null || !in.type().equals(carried.get(0).type())) {
                    first = s + 1;
                    in = carried.get(0);
                }
                if (k - first >= 2) {
                    List<Chain.Layer> layers = new ArrayList<>();
                    for (int b = first; b < k; b++) {
                        layers.add(new Chain.Layer(run.get(b)[0], run.get(b)[1]));
                    }
                    Value last = carried.get(k - s - 1);
                    if (k - s >= 2) {
                        last = alike(cg.graph(), last, carried.get(k - s - 2), 4);
                    }
                    out.add(new Chain(bc, layers, in, last, sideInputs(cg, layers, in, producer)));
                }
            }
            s = Math.max(k, s + 1);
        }
    }

    /**
     * The activation entering block {@code k} of a chain ({@code k == length}: the chain's output):
     * the one value crossing the boundary before it.
     */
    public static Value boundary(CoarseGraph cg, Chain c, int k) {
        if (k < 0 || k > c.length()) {
            throw new IllegalArgumentException("block must be between 0 and " + c.length() + ", found " + k);
        }
        if (k == 0) {
            return c.input();
        }
        if (k == c.length()) {
            return c.output();
        }
        Set<String> graphOutputs = new HashSet<>();
        cg.graph().outputs().forEach(v -> graphOutputs.add(v.name()));
        Set<Value> cross = crossing(cg, c.from(), c.layers().get(k).from(), graphOutputs);
        Value v = carried(cg, cross);
        if (v == null) {
            throw new IllegalStateException("one activation must cross into block " + k + " of " + c + ", found " + cross);
        }
        return v;
    }

    /**
     * The one activation a boundary carries: the crossing value itself when only one crosses, or the
     * crossing value every other crossing value is computed from by nodes of one activation input and
     * otherwise weights and constants, of its shape (a pre-activation block's Relu, or BatchNormalization
     * and Relu, of the value the residual Add makes, which the next block reads besides it); else null.
     * The parareal segments are cut at that value, so a segment's copy recomputes the others from it.
     */
    static Value carried(CoarseGraph cg, Set<Value> cross) {
        if (cross.size() == 1) {
            return cross.iterator().next();
        }
        for (Value root : cross) {
            boolean all = true;
            for (Value v : cross) {
                if (!derives(cg.graph(), v, root, 4)) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return root;
            }
        }
        return null;
    }

    /**
     * The chain's output where its last block's boundary carries a value computed from the block's
     * own result ({@code v}, a pre-activation network's final Relu of its last residual sum): the value
     * made by the same operator as the earlier boundaries' ({@code like}) that {@code v} is computed
     * from alone, so that the chain ends where its blocks do; {@code v} itself when there is none.
     */
    static Value alike(org.shardplan.graph.Graph g, Value v, Value like, int depth) {
        String op = g.producer(like).map(org.shardplan.graph.Node::opType).orElse("");
        Value at = v;
        for (int d = 0; d <= depth; d++) {
            org.shardplan.graph.Node p = g.producer(at).orElse(null);
            if (p == null) {
                return v;
            }
            if (p.opType().equals(op)) {
                return at;
            }
            Value act = null;
            for (Value in : p.inputs()) {
                if (in.kind() == Value.Kind.PARAMETER || in.kind() == Value.Kind.CONSTANT) {
                    continue;
                }
                if (act != null && !act.name().equals(in.name())) {
                    return v;
                }
                act = in;
            }
            if (act == null || p.outputs().size() != 1 || !act.type().equals(v.type())) {
                return v;
            }
            at = act;
        }
        return v;
    }

    /** Whether {@code v} is {@code root} or computed from it alone (besides weights and constants), within {@code depth} nodes. */
    static boolean derives(org.shardplan.graph.Graph g, Value v, Value root, int depth) {
        if (v.name().equals(root.name())) {
            return true;
        }
        if (depth == 0 || !v.type().equals(root.type())) {
            return false;
        }
        org.shardplan.graph.Node p = g.producer(v).orElse(null);
        if (p == null || p.outputs().size() != 1) {
            return false;
        }
        Value act = null;
        for (Value in : p.inputs()) {
            if (in.kind() == Value.Kind.PARAMETER || in.kind() == Value.Kind.CONSTANT) {
                continue;
            }
            if (act != null && !act.name().equals(in.name())) {
                return false;
            }
            act = in;
        }
        return act != null && derives(g, act, root, depth - 1);
    }

    /** Activations made by nodes {@code [from, c)} and read at {@code c} or later, or by the graph's outputs. */
    static Set<Value> crossing(CoarseGraph cg, int from, int c, Set<String> graphOutputs) {
        Set<Value> r = new LinkedHashSet<>();
        for (int i = from; i < c; i++) {
            for (CoarseEdge e : cg.outEdges(i)) {
                if (e.to() >= c) {
                    r.add(e.value());
                }
            }
            for (Value v : cg.node(i).outputs()) {
                if (graphOutputs.contains(v.name())) {
                    r.add(v);
                }
            }
        }
        return r;
    }

    /**
     * What the first block reads where the second reads {@code carried} (the first block's output),
     * when that is made before the first block or is a graph input; else null.
     */
    private static Value inputOf(CoarseGraph cg, int[] first, int[] second, Value carried, int start,
            Map<String, Integer> producer) {
        for (int j = 0; j < second[1] - second[0]; j++) {
            List<Value> ins = cg.node(second[0] + j).inputs();
            for (int i = 0; i < ins.size(); i++) {
                if (ins.get(i).name().equals(carried.name())) {
                    List<Value> mine = cg.node(first[0] + j).inputs();
                    if (i >= mine.size()) {
                        return null;
                    }
                    Value v = mine.get(i);
                    Integer p = producer.get(v.name());
                    boolean before = p == null ? v.kind() == Value.Kind.INPUT : p < start;
                    return before ? v : null;
                }
            }
        }
        return null;
    }

    private static List<Value> sideInputs(CoarseGraph cg, List<Chain.Layer> layers, Value in, Map<String, Integer> producer) {
        int from = layers.get(0).from();
        int to = layers.get(layers.size() - 1).to();
        Map<String, Value> r = new LinkedHashMap<>();
        for (int i = from; i < to; i++) {
            for (Value v : cg.node(i).inputs()) {
                if (v.kind() == Value.Kind.PARAMETER || derives(cg.graph(), v, in, 4)) {
                    continue;
                }
                Integer p = producer.get(v.name());
                if (p == null ? v.kind() == Value.Kind.INPUT : p < from) {
                    r.putIfAbsent(v.name(), v);
                }
            }
        }
        return List.copyOf(r.values());
    }
}
