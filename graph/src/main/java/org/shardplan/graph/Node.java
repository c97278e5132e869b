package org.shardplan.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One operator application: {@code outputs = opType(inputs; attributes)}.
 *
 * <p>Inputs keep their positions; an optional input that is left out is {@link Value#absent()}.
 * Attributes keep the order of the model file. Nested graphs (the branches of {@code If}, the bodies
 * of {@code Loop} and {@code Scan}) are attributes of kind GRAPH; {@link #subgraphs()} lists them.
 * A node is an entity: equality is identity, and within a {@link Graph} its name is unique.
 */
public final class Node {
    /** The default ONNX operator domain (written "" or "ai.onnx" in files). */
    public static final String ONNX_DOMAIN = "";

    private final String name;
    private final String opType;
    private final String domain;
    private final List<Value> inputs;
    private final List<Value> outputs;
    private final Map<String, Attribute> attributes;

    public Node(String name, String opType, String domain, List<Value> inputs, List<Value> outputs,
                List<Attribute> attributes) {
        this.name = Objects.requireNonNull(name, "name");
        this.opType = Objects.requireNonNull(opType, "opType");
        this.domain = "ai.onnx".equals(domain) ? ONNX_DOMAIN : Objects.requireNonNull(domain, "domain");
        if (opType.isEmpty()) {
            throw new IllegalArgumentException("node '" + name + "' must have an operator type, found none");
        }
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        for (Value v : this.outputs) {
            if (v.isAbsent()) {
                throw new IllegalArgumentException("node '" + name + "' (" + opType
                        + ") output must not be absent (drop trailing unused outputs)");
            }
        }
        Map<String, Attribute> m = new LinkedHashMap<>();
        for (Attribute a : attributes) {
            if (m.put(a.name(), a) != null) {
                throw new IllegalArgumentException("node '" + name + "' (" + opType + ") has attribute '"
                        + a.name() + "' twice");
            }
        }
        this.attributes = Collections.unmodifiableMap(m);
    }

    public String name() {
        return name;
    }

    public String opType() {
        return opType;
    }

    /** Operator domain, "" for the default ONNX domain. */
    public String domain() {
        return domain;
    }

    /** Whether the operator belongs to the default ONNX domain. */
    public boolean isOnnxDomain() {
        return domain.isEmpty();
    }

    /** Inputs by position, absent ones included. */
    public List<Value> inputs() {
        return inputs;
    }

    public List<Value> outputs() {
        return outputs;
    }

    /** Input {@code i}, or {@link Value#absent()} if the node has fewer inputs. */
    public Value input(int i) {
        return i < inputs.size() ? inputs.get(i) : Value.absent();
    }

    /** Whether input {@code i} is given (present and not absent). */
    public boolean hasInput(int i) {
        return i < inputs.size() && !inputs.get(i).isAbsent();
    }

    public Value output(int i) {
        return outputs.get(i);
    }

    /** Attributes by name, in file order. */
    public Map<String, Attribute> attributes() {
        return attributes;
    }

    public Optional<Attribute> attribute(String attrName) {
        return Optional.ofNullable(attributes.get(attrName));
    }

    /** Integer attribute or the default. */
    public long attrInt(String attrName, long dflt) {
        Attribute a = attributes.get(attrName);
        return a == null ? dflt : a.asInt();
    }

    /** Float attribute or the default. */
    public float attrFloat(String attrName, float dflt) {
        Attribute a = attributes.get(attrName);
        return a == null ? dflt : a.asFloat();
    }

    /** String attribute or the default. */
    public String attrString(String attrName, String dflt) {
        Attribute a = attributes.get(attrName);
        return a == null ? dflt : a.asString();
    }

    /** Integer-list attribute, if present. */
    public Optional<long[]> attrInts(String attrName) {
        Attribute a = attributes.get(attrName);
        return a == null ? Optional.empty() : Optional.of(a.asInts());
    }

    /** Float-list attribute, if present. */
    public Optional<float[]> attrFloats(String attrName) {
        Attribute a = attributes.get(attrName);
        return a == null ? Optional.empty() : Optional.of(a.asFloats());
    }

    /** Tensor attribute (TENSOR or SPARSE_TENSOR), if present. */
    public Optional<Tensor> attrTensor(String attrName) {
        Attribute a = attributes.get(attrName);
        return a == null ? Optional.empty() : Optional.of(a.asTensor());
    }

    /** The nested graphs of GRAPH and GRAPHS attributes, in attribute order. */
    public List<Graph> subgraphs() {
        List<Graph> r = new ArrayList<>();
        for (Attribute a : attributes.values()) {
            if (a.kind() == Attribute.Kind.GRAPH) {
                r.add(a.asGraph());
            } else if (a.kind() == Attribute.Kind.GRAPHS) {
                r.addAll(a.asGraphs());
            }
        }
        return List.copyOf(r);
    }

    /** The names that this node's subgraphs read from enclosing graphs, in first-use order. */
    public List<String> capturedNames() {
        List<String> r = new ArrayList<>();
        for (Graph g : subgraphs()) {
            for (String s : g.capturedNames()) {
                if (!r.contains(s)) {
                    r.add(s);
                }
            }
        }
        return r;
    }

    /** A copy with other inputs and outputs (same name, operator and attributes). */
    public Node withValues(List<Value> newInputs, List<Value> newOutputs) {
        return new Node(name, opType, domain, newInputs, newOutputs, List.copyOf(attributes.values()));
    }

    /** {@code node 'name' (OpType)}, or with the domain for non-ONNX operators: for error messages. */
    public String describe() {
        return "node '" + name + "' (" + (domain.isEmpty() ? "" : domain + ".") + opType + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
