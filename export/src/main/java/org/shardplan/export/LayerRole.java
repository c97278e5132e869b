package org.shardplan.export;

import java.util.Objects;
import java.util.Optional;

/**
 * How one plan node runs in the terms training engines use: its data-parallel factor and, inside the
 * tensor-parallel group, whether it is column-parallel, row-parallel, split over the vocabulary,
 * along the sequence, split as its input arrives (attention by heads), or a copy.
 *
 * @param node the plan node's name
 * @param op its operator
 * @param kind the role
 * @param data the split of its batch dimension (1: not split, or no batch dimension)
 * @param batchExtent the extent of its batch dimension (0: none)
 * @param tensorDim the one other dimension it splits ("" when none)
 * @param tensor that dimension's factor (1 when none)
 * @param innerTensor whether the tensor split takes lower device digits than the batch split (the
 *     tensor-parallel group is made of neighbouring devices), true when either is absent
 * @param problem why no engine's tensor parallelism expresses the node ({@link Kind#OTHER} only)
 */
public record LayerRole(String node, String op, Kind kind, int data, long batchExtent, String tensorDim, int tensor, boolean innerTensor,
        Optional<String> problem) {

    /** The roles. */
    public enum Kind {
        /** A weight product whose output features are split (Megatron's column-parallel linear). */
        COLUMN,
        /** A weight product whose reduction (input features) is split, partial sums reduced (row-parallel). */
        ROW,
        /** A table lookup whose table rows are split (vocabulary-parallel embedding). */
        VOCABULARY,
        /** A table lookup whose embedding features are split (no engine here runs it: the split output leaves the module). */
        EMBEDDING_FEATURES,
        /** A node split along the sequence, the axis after the batch (Megatron's sequence parallelism). */
        SEQUENCE,
        /** A node without weights split along a dimension its input arrives split on (attention by heads). */
        FOLLOWS,
        /** Not split inside the tensor-parallel group: each device of it holds a copy. */
        REPLICATED,
        /** An operator shardplan has no iteration space for: every device runs it whole. */
        OPAQUE,
        /** A layout no engine's tensor parallelism has: see {@link LayerRole#problem}. */
        OTHER
    }

    public LayerRole {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(tensorDim, "tensorDim");
        Objects.requireNonNull(problem, "problem");
    }

    /** Whether the node is split inside the tensor-parallel group. */
    public boolean tensorSplit() {
        return tensor > 1;
    }
}
