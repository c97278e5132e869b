package org.shardplan.planner.baseline;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.Graph;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.Value;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.TensorIndexing;

/**
 * Which loop dimension of each node carries the batch. The batch axis of each graph input is its
 * first axis of the batch size (axis 0 when the batch size is not given); from there it follows the
 * iteration spaces: a node's batch dimension is the outermost non-reduction dimension that indexes
 * the batch axis of one of its inputs, and its outputs' batch axes are the axes that dimension
 * indexes. O(nodes · rank).
 */
public final class BatchDims {
    private BatchDims() {
    }

    /** The batch dimension per coarse node name (nodes without one are absent), in graph order. */
    public static Map<String, String> of(CoarseGraph cg, long batch) {
        return of(cg, batch, CoarseSpaces.of(cg));
    }

    /** {@link #of(CoarseGraph, long)} with the graph's node spaces ({@link CoarseSpaces#of}) already worked out. */
    static Map<String, String> of(CoarseGraph cg, long batch, List<Optional<IterationSpace>> spaces) {
        Graph g = cg.graph();
        Map<String, Integer> axis = new HashMap<>();
        for (Value v : g.inputs()) {
            if (!v.shape().rankKnown() || v.shape().rank() == 0) {
                continue;
            }
            long[] dims = v.shape().isFullyKnown() ? v.shape().toLongs() : null;
            int a = 0;
            if (batch > 0 && dims != null) {
                a = -1;
                for (int i = 0; i < dims.length; i++) {
                    if (dims[i] == batch) {
                        a = i;
                        break;
                    }
                }
            }
            if (a >= 0) {
                axis.put(v.name(), a);
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (CoarseNode n : cg.nodes()) {
            Optional<IterationSpace> sp = spaces.get(n.index());
            if (sp.isEmpty()) {
                continue;
            }
            String dim = null;
            for (TensorIndexing t : sp.get().inputs()) {
                Integer a = axis.get(t.name());
                if (a == null || a >= t.axes().size()) {
                    continue;
                }
                for (String d : t.axes().get(a).dims()) {
                    LoopDim ld = sp.get().dim(d).orElseThrow();
                    if (ld.splittable() && ld.kind() != LoopKind.REDUCTION) {
                        dim = d;
                        break;
                    }
                }
                if (dim != null) {
                    break;
                }
            }
            if (dim == null) {
                continue;
            }
            out.put(n.name(), dim);
            for (TensorIndexing t : sp.get().outputs()) {
                List<AxisMap> axes = t.axes();
                for (int i = 0; i < axes.size(); i++) {
                    if (!axes.get(i).dims().isEmpty() && axes.get(i).dims().get(0).equals(dim)) {
                        axis.put(t.name(), i);
                        break;
                    }
                }
            }
        }
        return out;
    }
}
