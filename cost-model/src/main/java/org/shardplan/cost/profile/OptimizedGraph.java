package org.shardplan.cost.profile;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;

/**
 * The graph ONNX Runtime actually runs at a graph-optimization level, and how its nodes stand for
 * the nodes of the model as written.
 *
 * <p>{@link #write} has ONNX Runtime optimize the model at the level and save the result
 * ({@code SessionOptions.setOptimizedModelFilePath}): Conv+BatchNormalization folding,
 * Conv/Gemm+activation fusion (com.microsoft {@code FusedConv}, {@code FusedGemm}), MatMul+scale
 * into {@code FusedMatMul}, Gelu and LayerNormalization fusions, constant folding, and at level
 * {@code all} the blocked-channel layout (com.microsoft.nchwc {@code Conv}, pools,
 * {@code ReorderInput}/{@code ReorderOutput}). The saved file is imported like any model and
 * profiled node by node; this class's {@link #account} says which written nodes each optimized
 * node stands for.
 *
 * <p>Accounting, for each node n of the written graph (reverse topological order):
 * <ol>
 * <li>all outputs constant (shape arithmetic the importer folds, and so does ONNX Runtime):
 *     {@code folded};
 * <li>an output of n is produced by an optimized node m, or m is named after it ({@code
 *     <value>_nchwc}, ONNX Runtime's name for the blocked node computing that value; {@code
 *     <value>_bn_nchwc} for a BatchNormalization turned into a blocked convolution), m not a
 *     Reorder node (which are preferred last), or m has n's name and op type: n is <em>in</em> m;
 * <li>otherwise n's outputs are gone from the optimized graph. An element-wise or normalization
 *     node goes with the optimized node its consumers are in when that is itself element-wise (the
 *     pieces of a Gelu or a LayerNormalization), else with the latest optimized node its producers
 *     are in (a BatchNormalization, activation or residual addition fused into the convolution or
 *     MatMul before it); any other node goes with the optimized node all its consumers are in (a
 *     Conv into the FusedConv its BatchNormalization and Relu became, a Transpose into a
 *     FusedMatMul). Rules that wait on each other are broken one node at a time, the producer rule
 *     first. An Identity or Dropout is {@code removed};
 * <li>anything else is {@code unaccounted} and listed as such (never dropped silently).
 * </ol>
 * Optimized nodes no written node is in are {@code inserted} (the layout's reorders). Running
 * time: linear in the nodes and values of both graphs.
 */
public final class OptimizedGraph {
    private OptimizedGraph() {}

    /** Levels ONNX Runtime optimizes at. */
    public static final List<String> LEVELS = List.of("basic", "extended", "all");

    /**
     * One node of the optimized graph and the written nodes it stands for.
     *
     * @param node the optimized node's name
     * @param op its op type, with its domain when not the default ({@code com.microsoft:FusedConv})
     * @param from the written nodes it stands for, in the written order (empty: inserted)
     * @param fromOps their op types
     */
    public record Fused(String node, String op, List<String> from, List<String> fromOps) {
        public Fused {
            from = List.copyOf(from);
            fromOps = List.copyOf(fromOps);
        }

        /** True when the node is more than one written node, or another operator than the one written. */
        public boolean isFusion() {
            return from.size() > 1 || from.size() == 1 && !fromOps.get(0).equals(op);
        }
    }

    /**
     * How the optimized graph stands for the written one.
     *
     * @param level the optimization level
     * @param file the optimized model ONNX Runtime wrote
     * @param writtenNodes node count of the written graph
     * @param optimizedNodes node count of the optimized graph
     * @param nodes every optimized node, in its graph's order
     * @param folded written nodes whose outputs are constants
     * @param removed written no-op nodes (Identity, Dropout) ONNX Runtime took out
     * @param unaccounted written nodes not found in the optimized graph by the rules above
     */
    public record Accounting(String level, Path file, int writtenNodes, int optimizedNodes, List<Fused> nodes,
            List<String> folded, List<String> removed, List<String> unaccounted) {
        public Accounting {
            nodes = List.copyOf(nodes);
            folded = List.copyOf(folded);
            removed = List.copyOf(removed);
            unaccounted = List.copyOf(unaccounted);
        }

        /** The optimized nodes that are fusions ({@link Fused#isFusion}). */
        public List<Fused> fusions() {
            return nodes.stream().filter(Fused::isFusion).toList();
        }

        /** The optimized nodes that stand for no written node (layout reorders). */
        public List<Fused> inserted() {
            return nodes.stream().filter(f -> f.from().isEmpty()).toList();
        }

        /** Written nodes in some optimized node. */
        public int accountedNodes() {
            return nodes.stream().mapToInt(f -> f.from().size()).sum();
        }
    }

    /**
     * Has ONNX Runtime optimize {@code model} at {@code level} (basic, extended or all) with
     * {@code threads} intra-op threads and write the graph it runs to {@code out}.
     *
     * @return {@code out}
     */
    public static Path write(Path model, String level, int threads, Path out) throws ProfileException {
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException("optimization level must be basic, extended or all, found \"" + level
                    + "\"");
        }
        try {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.deleteIfExists(out);
        } catch (IOException e) {
            throw new ProfileException(out + ": cannot write the optimized model: " + e.getMessage(), e);
        }
        try (OrtSession.SessionOptions o = Ort.options(threads, Ort.optLevel(level))) {
            o.setOptimizedModelFilePath(out.toString());
            try (OrtSession s = Ort.environment().createSession(model.toString(), o)) {
                s.getNumInputs();
            }
        } catch (OrtException e) {
            throw new ProfileException(model + ": ONNX Runtime cannot optimize the model at level " + level + ": "
                    + e.getMessage().replace('\n', ' '), e);
        }
        if (!Files.isRegularFile(out)) {
            throw new ProfileException(model + ": ONNX Runtime wrote no optimized model to " + out);
        }
        return out;
    }

    /** Which written nodes of {@code written} each node of {@code optimized} stands for (class comment). */
    public static Accounting account(String level, Path file, Graph written, Graph optimized) {
        // optimized node by the written value names it stands for; Reorder nodes only where no other
        Map<String, Node> byValue = new HashMap<>();
        Map<String, Node> optProducer = new HashMap<>();
        for (Node m : optimized.nodes()) {
            for (Value v : m.outputs()) {
                optProducer.put(v.name(), m);
            }
        }
        for (int pass = 0; pass < 2; pass++) {
            for (Node m : optimized.nodes()) {
                boolean reorder = m.opType().startsWith("Reorder");
                if (reorder != (pass == 1)) {
                    continue;
                }
                // a value ONNX Runtime brings back out of the blocked layout was computed by the node
                // before the ReorderOutput
                Node src = m;
                if (m.opType().equals("ReorderOutput") && !m.inputs().isEmpty()) {
                    Node p = optProducer.get(m.input(0).name());
                    if (p != null && !p.opType().startsWith("Reorder")) {
                        src = p;
                    }
                }
                for (Value v : m.outputs()) {
                    byValue.putIfAbsent(v.name(), src);
                }
                if (m.name().endsWith("_nchwc")) {
                    String base = m.name().substring(0, m.name().length() - "_nchwc".length());
                    byValue.putIfAbsent(base, m);
                    if (base.endsWith("_bn")) {
                        // a BatchNormalization turned into a blocked 1x1 depthwise convolution
                        byValue.putIfAbsent(base.substring(0, base.length() - "_bn".length()), m);
                    }
                }
            }
        }
        Map<String, Node> byName = new HashMap<>();
        for (Node m : optimized.nodes()) {
            byName.putIfAbsent(m.name(), m);
        }
        Map<String, List<Node>> consumers = new HashMap<>();
        Map<String, Node> producer = new HashMap<>();
        for (Node n : written.nodes()) {
            for (Value v : n.inputs()) {
                if (!v.isAbsent()) {
                    consumers.computeIfAbsent(v.name(), k -> new ArrayList<>()).add(n);
                }
            }
            for (Value v : n.outputs()) {
                producer.put(v.name(), n);
            }
        }
        Map<Node, Integer> order = new HashMap<>();
        for (int i = 0; i < optimized.nodes().size(); i++) {
            order.put(optimized.nodes().get(i), i);
        }
        List<Node> nodes = written.nodes();
        java.util.Set<Node> foldedSet = new java.util.HashSet<>();
        for (Node n : nodes) {
            if (Profiler.folded(n)) {
                foldedSet.add(n);
            }
        }
        Map<Node, Node> in = new HashMap<>();
        List<Node> open = new ArrayList<>();
        List<String> folded = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> unaccounted = new ArrayList<>();
        for (Node n : nodes) {
            if (foldedSet.contains(n)) {
                continue;
            }
            Node m = null;
            for (Value v : n.outputs()) {
                m = byValue.get(v.name());
                if (m != null) {
                    break;
                }
            }
            if (m == null) {
                // an optimized node that kept the written node's name and op type (ONNX Runtime renames
                // the outputs of nodes inside the blocked layout, not the nodes)
                Node same = byName.get(n.name());
                m = same != null && same.opType().equals(n.opType()) ? same : null;
            }
            if (m != null) {
                in.put(n, m);
            } else if (!(NO_OPS.contains(n.opType()) && n.isOnnxDomain())) {
                open.add(n);
            }
        }
        // nodes whose outputs are gone: element-wise and normalization nodes go with the node their
        // consumers went into when that is itself an element-wise fusion (Gelu, LayerNormalization),
        // else with the producer they were fused into (BatchNormalization, activations and residual
        // additions into the convolution or MatMul before them); other nodes go with their
        // consumers (a Conv into the FusedConv its BatchNormalization and Relu became, a
        // Transpose into a FusedMatMul). Deadlocks (a Conv and its BatchNormalization, each
        // waiting for the other) are broken one node at a time, by the producer rule first.
        boolean changed = true;
        while (!open.isEmpty()) {
            changed = false;
            for (int i = open.size() - 1; i >= 0; i--) {
                Node n = open.get(i);
                Node cm = consumerRule(n, consumers, foldedSet, in);
                Node m = null;
                if (light(n)) {
                    if (cm != null && cm != PENDING && light(cm)) {
                        m = cm;
                    } else if (cm != PENDING) {
                        Node pm = producerRule(n, producer, foldedSet, in, order);
                        m = pm != PENDING ? pm : null;
                    }
                } else if (cm != PENDING) {
                    m = cm;
                }
                if (m != null) {
                    in.put(n, m);
                    open.remove(i);
                    changed = true;
                } else if (cm != PENDING && !light(n)) {
                    open.remove(i);
                    changed = true;
                }
            }
            if (changed) {
                continue;
            }
            // deadlock: the first open element-wise node whose producers are placed goes with the
            // latest of them; else the first whose placed consumers agree goes with them
            Node pick = null;
            Node to = null;
            for (Node n : open) {
                Node pm = light(n) ? producerRule(n, producer, foldedSet, in, order) : PENDING;
                if (pm != PENDING && pm != null) {
                    pick = n;
                    to = pm;
                    break;
                }
            }
            if (pick == null) {
                for (Node n : open) {
                    Node cm = consumerRule(n, consumers, foldedSet, in);
                    Node agreed = cm == PENDING ? placedConsumers(n, consumers, foldedSet, in) : cm;
                    if (agreed != null && agreed != PENDING) {
                        pick = n;
                        to = agreed;
                        break;
                    }
                }
            }
            if (pick == null) {
                break;
            }
            in.put(pick, to);
            open.remove(pick);
        }
        Map<Node, String> verdict = new HashMap<>();
        for (Node n : nodes) {
            if (foldedSet.contains(n)) {
                verdict.put(n, "folded");
            } else if (!in.containsKey(n) && NO_OPS.contains(n.opType()) && n.isOnnxDomain()) {
                verdict.put(n, "removed");
            }
        }
        Map<Node, List<Node>> members = new LinkedHashMap<>();
        for (Node m : optimized.nodes()) {
            members.put(m, new ArrayList<>());
        }
        for (Node n : nodes) {
            Node m = in.get(n);
            if (m != null) {
                members.get(m).add(n);
            } else if ("folded".equals(verdict.get(n))) {
                folded.add(n.name());
            } else if ("removed".equals(verdict.get(n))) {
                removed.add(n.name());
            } else {
                unaccounted.add(n.name());
            }
        }
        List<Fused> fused = new ArrayList<>();
        for (Map.Entry<Node, List<Node>> e : members.entrySet()) {
            Node m = e.getKey();
            fused.add(new Fused(m.name(), opName(m), e.getValue().stream().map(Node::name).toList(),
                    e.getValue().stream().map(OptimizedGraph::opName).toList()));
        }
        return new Accounting(level, file, nodes.size(), optimized.nodes().size(), fused, folded, removed,
                unaccounted);
    }

    /** Marks a rule that cannot decide yet (a neighbour not placed). */
    private static final Node PENDING = new Node("pending", "Pending", "", List.of(), List.of(), List.of());

    /** Element-wise and normalization operators, which fuse into their neighbours. */
    private static boolean light(Node n) {
        String c = org.shardplan.cost.compute.OpClass.category(n.opType());
        return c.equals("elementwise") || c.equals("transcendental") || c.equals("norm") && !n.opType().equals("Softmax");
    }

    /**
     * The optimized node every live consumer of {@code n} is in: null when there are none or they
     * are in different nodes, {@link #PENDING} when one is not placed yet.
     */
    private static Node consumerRule(Node n, Map<String, List<Node>> consumers, Set<Node> folded, Map<Node, Node> in) {
        Node common = null;
        boolean pending = false;
        for (Value v : n.outputs()) {
            for (Node c : consumers.getOrDefault(v.name(), List.of())) {
                if (folded.contains(c)) {
                    continue;
                }
                Node cm = in.get(c);
                if (cm == null) {
                    pending = true;
                } else if (common != null && common != cm) {
                    return null;
                } else {
                    common = cm;
                }
            }
        }
        return pending ? PENDING : common;
    }

    /** The optimized node the placed consumers of {@code n} agree on, or null. */
    private static Node placedConsumers(Node n, Map<String, List<Node>> consumers, Set<Node> folded, Map<Node, Node> in) {
        Node common = null;
        for (Value v : n.outputs()) {
            for (Node c : consumers.getOrDefault(v.name(), List.of())) {
                Node cm = folded.contains(c) ? null : in.get(c);
                if (cm != null) {
                    if (common != null && common != cm) {
                        return null;
                    }
                    common = cm;
                }
            }
        }
        return common;
    }

    /**
     * The latest (in the optimized graph's order) optimized node a producer of {@code n} is in:
     * null when no input comes from a placed node, {@link #PENDING} when a producer is not placed.
     */
    private static Node producerRule(Node n, Map<String, Node> producer, Set<Node> folded, Map<Node, Node> in,
            Map<Node, Integer> order) {
        Node best = null;
        for (Value v : n.inputs()) {
            Node p = v.isAbsent() ? null : producer.get(v.name());
            if (p == null || folded.contains(p)) {
                continue;
            }
            Node pm = in.get(p);
            if (pm == null) {
                if (NO_OPS.contains(p.opType())) {
                    continue;
                }
                return PENDING;
            }
            if (best == null || order.get(pm) > order.get(best)) {
                best = pm;
            }
        }
        return best;
    }

    /** Written operators ONNX Runtime removes outright (their consumers read the input instead). */
    static final Set<String> NO_OPS = Set.of("Identity", "Dropout");

    /** The op type, prefixed with its domain when not the default one. */
    static String opName(Node n) {
        return n.isOnnxDomain() ? n.opType() : n.domain() + ":" + n.opType();
    }

    /** Op-type patterns of the fusions, most frequent first ("Conv+BatchNormalization+Relu -> com.microsoft:FusedConv" x 16). */
    public static List<Map.Entry<String, Integer>> patterns(Accounting a) {
        Map<String, Integer> count = new LinkedHashMap<>();
        for (Fused f : a.fusions()) {
            count.merge(String.join("+", f.fromOps()) + " -> " + f.op(), 1, Integer::sum);
        }
        List<Map.Entry<String, Integer>> r = new ArrayList<>(count.entrySet());
        r.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()));
        return r;
    }
}
