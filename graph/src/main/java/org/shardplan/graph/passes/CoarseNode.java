package org.shardplan.graph.passes;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;

/**
 * One node of a {@link CoarseGraph}: an anchor operator and the element-wise operators fused into it.
 *
 * <p>The anchor decides the node's iteration space ({@link CoarseSpaces#of}); for a recognised pattern
 * (a LayerNormalization written out as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) the
 * anchor is a synthesised node of the pattern's operator, named after the pattern's first member,
 * reading the pattern's inputs and writing its output, and {@link #pattern()} names the operator.
 *
 * @param index position in {@link CoarseGraph#nodes()} (a topological order)
 * @param name the anchor's name (unique in the coarse graph)
 * @param kind what the node does
 * @param anchor the operator whose iteration space the node has
 * @param members the original nodes it stands for, in topological order (the anchor first unless the
 *     node is a pattern); a member that read the output of a removed Identity or Dropout is given as a
 *     copy that reads that node's input instead
 * @param inputs the distinct values it reads from outside: activations from other coarse nodes, graph
 *     inputs and parameters, in first-use order; constants are left out (they are folded)
 * @param outputs the values of its members that other coarse nodes or the graph's outputs read
 * @param pattern the operator a recognised multi-node pattern computes, if the node is one
 * @param work the forward work of all members together
 */
public record CoarseNode(int index, String name, Kind kind, Node anchor, List<Node> members, List<Value> inputs,
                         List<Value> outputs, Optional<String> pattern, Work work) {

    /** What a coarse node does. */
    public enum Kind {
        /** A compute operator (MatMul, Gemm, Conv, Softmax, a normalisation, an embedding Gather, ...)
         * with the element-wise operators fused after it. */
        COMPUTE,
        /** A data-movement operator kept on its own (Reshape, Transpose, Concat, Slice, Gather on
         * activations, ...): cheap, but it maps tensor axes onto each other. */
        LAYOUT,
        /** A chain of element-wise operators with no compute producer to join (for example, an
         * attention mask computed from a graph input). */
        ELEMENTWISE
    }

    public CoarseNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(anchor, "anchor");
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(work, "work");
        members = List.copyOf(members);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (members.isEmpty()) {
            throw new IllegalArgumentException("coarse node '" + name + "' must have at least one member, found none");
        }
    }

    /** The anchor's operator type. */
    public String opType() {
        return anchor.opType();
    }

    /** The inputs that are trained weights. */
    public List<Value> parameters() {
        return inputs.stream().filter(v -> v.kind() == Value.Kind.PARAMETER).toList();
    }

    /** Operator types of the members, in order: {@code [MatMul, Add, Relu]}. */
    public List<String> memberOps() {
        return members.stream().map(Node::opType).toList();
    }

    @Override
    public String toString() {
        return "#" + index + " " + name + " " + kind + " " + memberOps();
    }
}
