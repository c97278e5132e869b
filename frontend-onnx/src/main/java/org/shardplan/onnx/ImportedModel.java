package org.shardplan.onnx;

import java.util.List;
import java.util.SortedSet;
import org.shardplan.graph.Graph;

/**
 * The result of importing an ONNX file.
 *
 * @param info what the file says about itself
 * @param graph the top-level graph with every value's inferred type
 * @param warnings things the user should know (opaque operators, inference gaps), in the order met
 * @param unknownOperators default-domain operators shardplan has no rule for (their outputs have unknown
 *     shapes unless the file declares them)
 * @param opaqueOperators operators of other domains, as {@code domain.OpType}, imported as opaque nodes
 */
public record ImportedModel(ModelInfo info, Graph graph, List<String> warnings, SortedSet<String> unknownOperators,
                            SortedSet<String> opaqueOperators) {
    public ImportedModel {
        warnings = List.copyOf(warnings);
        unknownOperators = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(unknownOperators));
        opaqueOperators = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(opaqueOperators));
    }
}
