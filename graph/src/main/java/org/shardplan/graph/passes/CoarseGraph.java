package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;

/**
 * The planning view of a {@link Graph}, made by {@link Coarsening#coarsen}: shape arithmetic and
 * constants folded away, Identity and Dropout removed, element-wise operators fused into the compute
 * node that produces their input, and repeated blocks grouped into {@link BlockClass}es.
 *
 * <p>Nodes are in a topological order (every edge goes from a lower to a higher index). Each
 * original node is either a member of exactly one coarse node ({@link #nodeOf}), folded
 * ({@link #foldedNodes}) or removed ({@link #removedNodes}). Immutable.
 */
public final class CoarseGraph {
    private final Graph graph;
    private final List<CoarseNode> nodes;
    private final List<CoarseEdge> edges;
    private final List<Node> folded;
    private final List<Node> removed;
    private final List<BlockClass> classes;
    private final Map<String, Integer> byMember;
    private final List<List<CoarseEdge>> in;
    private final List<List<CoarseEdge>> out;
    private final int[] classOf;

    CoarseGraph(Graph graph, List<CoarseNode> nodes, List<CoarseEdge> edges, List<Node> folded, List<Node> removed,
                List<BlockClass> classes) {
        this.graph = Objects.requireNonNull(graph, "graph");
        this.nodes = List.copyOf(nodes);
        this.edges = List.copyOf(edges);
        this.folded = List.copyOf(folded);
        this.removed = List.copyOf(removed);
        this.classes = List.copyOf(classes);
        Map<String, Integer> m = new HashMap<>();
        List<List<CoarseEdge>> ins = new ArrayList<>();
        List<List<CoarseEdge>> outs = new ArrayList<>();
        for (CoarseNode c : this.nodes) {
            for (Node n : c.members()) {
                m.put(n.name(), c.index());
            }
            ins.add(new ArrayList<>());
            outs.add(new ArrayList<>());
        }
        for (CoarseEdge e : this.edges) {
            outs.get(e.from()).add(e);
            ins.get(e.to()).add(e);
        }
        this.byMember = Collections.unmodifiableMap(m);
        this.in = ins.stream().map(List::copyOf).toList();
        this.out = outs.stream().map(List::copyOf).toList();
        this.classOf = new int[this.nodes.size()];
        java.util.Arrays.fill(classOf, -1);
        for (BlockClass b : this.classes) {
            for (List<CoarseNode> inst : b.instances()) {
                for (CoarseNode c : inst) {
                    classOf[c.index()] = b.id();
                }
            }
        }
    }

    /** The graph this was made from. */
    public Graph graph() {
        return graph;
    }

    /** The coarse nodes in topological order; {@code nodes().get(i).index() == i}. */
    public List<CoarseNode> nodes() {
        return nodes;
    }

    public CoarseNode node(int index) {
        return nodes.get(index);
    }

    /** The edges, ordered by consumer then by the consumer's first read. */
    public List<CoarseEdge> edges() {
        return edges;
    }

    /** Edges into the node of that index. */
    public List<CoarseEdge> inEdges(int index) {
        return in.get(index);
    }

    /** Edges out of the node of that index. */
    public List<CoarseEdge> outEdges(int index) {
        return out.get(index);
    }

    /** The coarse node an original node is a member of (empty for folded and removed nodes). */
    public Optional<CoarseNode> nodeOf(String originalNodeName) {
        Integer i = byMember.get(originalNodeName);
        return i == null ? Optional.empty() : Optional.of(nodes.get(i));
    }

    /** Original nodes folded away: shape arithmetic and constants. */
    public List<Node> foldedNodes() {
        return folded;
    }

    /** Original nodes removed because they do nothing in planning (Identity, Dropout). */
    public List<Node> removedNodes() {
        return removed;
    }

    /** The classes of repeated blocks, in order of first appearance. */
    public List<BlockClass> blockClasses() {
        return classes;
    }

    /** The block class the node of that index belongs to, if any. */
    public Optional<BlockClass> classOf(int index) {
        int c = classOf[index];
        return c < 0 ? Optional.empty() : Optional.of(classes.get(c));
    }

    /** Number of coarse nodes of each kind. */
    public Map<CoarseNode.Kind, Integer> kindCounts() {
        Map<CoarseNode.Kind, Integer> m = new EnumMap<>(CoarseNode.Kind.class);
        for (CoarseNode.Kind k : CoarseNode.Kind.values()) {
            m.put(k, 0);
        }
        nodes.forEach(c -> m.merge(c.kind(), 1, Integer::sum));
        return Collections.unmodifiableMap(m);
    }

    @Override
    public String toString() {
        return "coarse graph of '" + graph.name() + "': " + nodes.size() + " nodes from " + graph.nodes().size()
                + ", " + classes.size() + " block classes";
    }
}
