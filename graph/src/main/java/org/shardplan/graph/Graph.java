package org.shardplan.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * An immutable computation graph: nodes in topological order, the values they read and write, the
 * graph's inputs and outputs, its parameters (trained weights, metadata only) and constants.
 *
 * <p>Built with {@link #builder(String)}, which checks the graph and throws
 * {@link IllegalArgumentException} with a one-line message naming the node and operator when it is
 * malformed: a cycle, a node reading a value nothing produces, a value or node name used twice, or
 * two different types given for one value. Nodes may be added in any order; {@link #nodes()} is a
 * topological order that keeps the insertion order wherever the dependencies allow (Kahn's
 * algorithm with a priority queue on insertion index, O((V + E) log V)).
 *
 * <p>A nested graph (a branch of {@code If}, a body of {@code Loop}/{@code Scan}) may read values of
 * its enclosing graphs; build it with {@link Builder#allowCaptures(boolean)} and those names are
 * listed by {@link #capturedNames()}. The enclosing graph orders the owning node after their producers.
 */
public final class Graph {
    private final String name;
    private final List<Node> nodes;
    private final List<Value> inputs;
    private final List<Value> outputs;
    private final List<Value> parameters;
    private final List<Value> constants;
    private final Map<String, Value> values;
    private final Map<String, Node> producers;
    private final Map<String, List<Node>> consumers;
    private final Map<String, Node> nodesByName;
    private final List<String> capturedNames;

    private Graph(Builder b, List<Node> sorted, Map<String, Value> values, List<String> captured) {
        this.name = b.name;
        this.nodes = List.copyOf(sorted);
        this.inputs = List.copyOf(b.inputs);
        this.outputs = List.copyOf(b.outputs);
        this.parameters = List.copyOf(b.parameters);
        this.constants = List.copyOf(b.constants);
        this.values = Collections.unmodifiableMap(values);
        this.capturedNames = List.copyOf(captured);
        Map<String, Node> prod = new HashMap<>();
        Map<String, List<Node>> cons = new HashMap<>();
        Map<String, Node> byName = new LinkedHashMap<>();
        for (Node n : nodes) {
            byName.put(n.name(), n);
            for (Value o : n.outputs()) {
                prod.put(o.name(), n);
            }
            Set<String> seen = new LinkedHashSet<>();
            for (Value in : n.inputs()) {
                if (!in.isAbsent()) {
                    seen.add(in.name());
                }
            }
            seen.addAll(n.capturedNames());
            for (String s : seen) {
                cons.computeIfAbsent(s, k -> new ArrayList<>()).add(n);
            }
        }
        cons.replaceAll((k, v) -> List.copyOf(v));
        this.producers = prod;
        this.consumers = cons;
        this.nodesByName = Collections.unmodifiableMap(byName);
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** A builder holding everything of this graph, to derive a changed graph from. */
    public Builder toBuilder() {
        Builder b = new Builder(name);
        b.allowCaptures(!capturedNames.isEmpty());
        inputs.forEach(b::addInput);
        parameters.forEach(b::addParameter);
        constants.forEach(b::addConstant);
        nodes.forEach(b::addNode);
        outputs.forEach(b::addOutput);
        return b;
    }

    public String name() {
        return name;
    }

    /** Nodes in topological order. */
    public List<Node> nodes() {
        return nodes;
    }

    /** Values fed at run time (parameters excluded). */
    public List<Value> inputs() {
        return inputs;
    }

    public List<Value> outputs() {
        return outputs;
    }

    /** Trained weights, in file order. */
    public List<Value> parameters() {
        return parameters;
    }

    /** Constants defined by the graph itself (not produced by a node), in file order. */
    public List<Value> constants() {
        return constants;
    }

    /**
     * Every value defined in this graph, by name, in stable order: inputs, parameters, constants,
     * then node outputs in topological order. Captured outer values are not included.
     */
    public Map<String, Value> values() {
        return values;
    }

    public Optional<Value> value(String valueName) {
        return Optional.ofNullable(values.get(valueName));
    }

    public Optional<Node> node(String nodeName) {
        return Optional.ofNullable(nodesByName.get(nodeName));
    }

    /** The node that writes the value, if a node does. */
    public Optional<Node> producer(String valueName) {
        return Optional.ofNullable(producers.get(valueName));
    }

    public Optional<Node> producer(Value v) {
        return producer(v.name());
    }

    /** Nodes that read the value (directly or from a subgraph), in topological order. */
    public List<Node> consumers(String valueName) {
        return consumers.getOrDefault(valueName, List.of());
    }

    public List<Node> consumers(Value v) {
        return consumers(v.name());
    }

    /** Names this graph reads from enclosing graphs (empty for a top-level graph). */
    public List<String> capturedNames() {
        return capturedNames;
    }

    /** Sum of the parameters' element counts (those with fully known shapes). */
    public long parameterCount() {
        long n = 0;
        for (Value p : parameters) {
            n += p.shape().numElements().orElse(0);
        }
        return n;
    }

    /** Sum of the parameters' byte sizes (those with fully known shapes). */
    public long parameterBytes() {
        long n = 0;
        for (Value p : parameters) {
            n += p.type().byteSize().orElse(0);
        }
        return n;
    }

    @Override
    public String toString() {
        return "graph '" + name + "' (" + nodes.size() + " nodes)";
    }

    /** Collects the parts of a graph and checks them in {@link #build()}. */
    public static final class Builder {
        private final String name;
        private final List<Value> inputs = new ArrayList<>();
        private final List<Value> outputs = new ArrayList<>();
        private final List<Value> parameters = new ArrayList<>();
        private final List<Value> constants = new ArrayList<>();
        private final List<Node> nodes = new ArrayList<>();
        private boolean allowCaptures;

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        public Builder addInput(Value v) {
            inputs.add(Objects.requireNonNull(v));
            return this;
        }

        public Builder addParameter(Value v) {
            parameters.add(Objects.requireNonNull(v));
            return this;
        }

        public Builder addConstant(Value v) {
            constants.add(Objects.requireNonNull(v));
            return this;
        }

        public Builder addNode(Node n) {
            nodes.add(Objects.requireNonNull(n));
            return this;
        }

        public Builder addOutput(Value v) {
            outputs.add(Objects.requireNonNull(v));
            return this;
        }

        public Builder addNodes(List<Node> ns) {
            ns.forEach(this::addNode);
            return this;
        }

        /** Whether names not defined in this graph may be read from enclosing graphs (for nested graphs). */
        public Builder allowCaptures(boolean allow) {
            this.allowCaptures = allow;
            return this;
        }

        private String where() {
            return "graph '" + name + "': ";
        }

        /** Checks the graph and returns it; see {@link Graph} for what is checked. */
        public Graph build() {
            Map<String, Value> defined = new LinkedHashMap<>();
            Map<String, String> definedBy = new HashMap<>();
            define(defined, definedBy, inputs, "a graph input");
            define(defined, definedBy, parameters, "a parameter");
            define(defined, definedBy, constants, "a constant");
            Map<String, Node> nodeNames = new HashMap<>();
            Map<String, Integer> producerIndex = new HashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                if (n.name().isEmpty()) {
                    throw new IllegalArgumentException(where() + "a node of operator " + n.opType()
                            + " must have a name, found none");
                }
                Node prev = nodeNames.put(n.name(), n);
                if (prev != null) {
                    throw new IllegalArgumentException(where() + "duplicate node name '" + n.name() + "': "
                            + prev.describe() + " and " + n.describe());
                }
                for (Value o : n.outputs()) {
                    String by = definedBy.get(o.name());
                    if (by != null) {
                        throw new IllegalArgumentException(where() + "duplicate value name '" + o.name()
                                + "': written by " + n.describe() + " and by " + by);
                    }
                    defined.put(o.name(), o);
                    definedBy.put(o.name(), n.describe());
                    producerIndex.put(o.name(), i);
                }
            }
            // Dependencies and dangling reads.
            Set<String> captured = new LinkedHashSet<>();
            List<List<Integer>> succ = new ArrayList<>();
            int[] indeg = new int[nodes.size()];
            for (int i = 0; i < nodes.size(); i++) {
                succ.add(new ArrayList<>());
            }
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                Set<String> reads = new LinkedHashSet<>();
                for (Value in : n.inputs()) {
                    if (in.isAbsent()) {
                        continue;
                    }
                    Value def = defined.get(in.name());
                    if (def != null && !def.type().equals(in.type())) {
                        throw new IllegalArgumentException(where() + n.describe() + " reads '" + in.name()
                                + "' as " + in.type() + " but it is defined as " + def.type());
                    }
                    reads.add(in.name());
                }
                reads.addAll(n.capturedNames());
                Set<Integer> preds = new LinkedHashSet<>();
                for (String r : reads) {
                    Integer p = producerIndex.get(r);
                    if (p != null) {
                        preds.add(p);
                    } else if (!defined.containsKey(r)) {
                        if (!allowCaptures) {
                            throw new IllegalArgumentException(where() + n.describe() + " reads '" + r
                                    + "', which no node, graph input or parameter produces");
                        }
                        captured.add(r);
                    }
                }
                for (int p : preds) {
                    if (p == i) {
                        throw new IllegalArgumentException(where() + "cycle: " + n.describe()
                                + " reads its own output");
                    }
                    succ.get(p).add(i);
                    indeg[i]++;
                }
            }
            for (Value o : outputs) {
                Value def = defined.get(o.name());
                if (def == null) {
                    if (!allowCaptures) {
                        throw new IllegalArgumentException(where() + "graph output '" + o.name()
                                + "' is not produced by any node, graph input or parameter");
                    }
                    captured.add(o.name());
                }
            }
            List<Node> sorted = topologicalOrder(succ, indeg);
            Map<String, Value> values = new LinkedHashMap<>();
            for (Value v : inputs) {
                values.put(v.name(), v);
            }
            for (Value v : parameters) {
                values.put(v.name(), v);
            }
            for (Value v : constants) {
                values.put(v.name(), v);
            }
            for (Node n : sorted) {
                for (Value o : n.outputs()) {
                    values.put(o.name(), o);
                }
            }
            return new Graph(this, sorted, values, new ArrayList<>(captured));
        }

        private void define(Map<String, Value> defined, Map<String, String> definedBy, List<Value> vs, String what) {
            for (Value v : vs) {
                if (v.isAbsent()) {
                    throw new IllegalArgumentException(where() + what + " must have a name, found none");
                }
                String by = definedBy.get(v.name());
                if (by != null) {
                    throw new IllegalArgumentException(where() + "duplicate value name '" + v.name() + "': "
                            + by + " and " + what);
                }
                defined.put(v.name(), v);
                definedBy.put(v.name(), what);
            }
        }

        private List<Node> topologicalOrder(List<List<Integer>> succ, int[] indeg) {
            int[] deg = indeg.clone();
            PriorityQueue<Integer> ready = new PriorityQueue<>();
            for (int i = 0; i < deg.length; i++) {
                if (deg[i] == 0) {
                    ready.add(i);
                }
            }
            List<Node> order = new ArrayList<>(nodes.size());
            while (!ready.isEmpty()) {
                int i = ready.poll();
                order.add(nodes.get(i));
                for (int s : succ.get(i)) {
                    if (--deg[s] == 0) {
                        ready.add(s);
                    }
                }
            }
            if (order.size() < nodes.size()) {
                throw new IllegalArgumentException(where() + "cycle: " + describeCycle(succ, deg));
            }
            return order;
        }

        /** Names the nodes of a shortest cycle among the nodes left with positive in-degree, in order. */
        private String describeCycle(List<List<Integer>> succ, int[] deg) {
            List<Integer> cycle = Cycles.find(succ).orElseThrow(() -> new IllegalStateException(
                    "a graph that does not sort must have a cycle"));
            List<String> names = new ArrayList<>();
            for (int v : cycle) {
                names.add(nodes.get(v).describe());
            }
            return String.join(" -> ", names);
        }
    }
}
