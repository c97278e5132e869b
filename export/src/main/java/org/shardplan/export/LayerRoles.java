package org.shardplan.export;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.baseline.BatchDims;

/**
 * Reads every plan node's layout as a {@link LayerRole}, from the node's iteration space in the
 * coarse graph of the model at the plan's micro-batch size: which dimension carries the batch
 * ({@link BatchDims}), and what the other split dimension is to the operator. The roles follow
 * Megatron-LM's vocabulary (Shoeybi et al., 2019, Section 3: column- and row-parallel linear layers,
 * attention split by heads, the vocabulary-parallel embedding; Korthikanti et al., 2022, Section 4.2:
 * sequence parallelism of the norms and dropouts), which PyTorch's DTensor plans and torchtitan share.
 * Runs in O(nodes · rank).
 */
public final class LayerRoles {
    private LayerRoles() {
    }

    /**
     * The role of every plan node, in plan order.
     *
     * @param plan the plan
     * @param cg the coarse graph of the model at the plan's micro-batch size
     * @throws ExportException when a plan node is not in the graph
     */
    public static List<LayerRole> of(Plan plan, CoarseGraph cg) throws ExportException {
        long micro = plan.batch() > 0 ? plan.batch() / plan.parallelism().microBatches() : 0;
        Map<String, String> batchDims = BatchDims.of(cg, micro);
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(cg);
        java.util.Map<String, CoarseNode> byName = new java.util.HashMap<>();
        cg.nodes().forEach(n -> byName.put(n.name(), n));
        List<LayerRole> r = new ArrayList<>();
        for (PlanNode pn : plan.nodes()) {
            CoarseNode cn = byName.get(pn.name());
            if (cn == null) {
                throw new ExportException("plan node '" + pn.name() + "' must be a node of the model, found none of that"
                        + " name: the plan does not match the model (it is a plan of " + plan.model().name() + ")");
            }
            r.add(role(pn, cn, spaces.get(cn.index()), batchDims.get(cn.name())));
        }
        return r;
    }

    static LayerRole role(PlanNode pn, CoarseNode cn, Optional<IterationSpace> osp, String batchDim) {
        if (osp.isEmpty() || !pn.supported()) {
            return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.OPAQUE, 1, 0, "", 1, true, Optional.empty());
        }
        IterationSpace sp = osp.get();
        int data = batchDim == null ? 1 : pn.strategy().getOrDefault(batchDim, 1);
        long be = batchDim == null ? 0 : sp.dim(batchDim).map(LoopDim::extent).orElse(0L);
        List<String> others = new ArrayList<>();
        pn.strategy().forEach((d, f) -> {
            if (!d.equals(batchDim) && f > 1) {
                others.add(d);
            }
        });
        if (others.isEmpty()) {
            return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.REPLICATED, data, be, "", 1, true, Optional.empty());
        }
        if (others.size() > 1) {
            return other(pn, data, be, others.get(0), "splits " + String.join(" and ", others)
                    + " at once, where tensor parallelism splits one dimension of a layer");
        }
        String d = others.get(0);
        int t = pn.strategy().get(d);
        boolean inner = batchDim == null || data == 1 || pn.placement().indexOf(d) < pn.placement().indexOf(batchDim);
        LoopDim ld = sp.dim(d).orElseThrow();
        Node a = cn.anchor();
        boolean weighted = false;
        for (TensorIndexing w : sp.parameters()) {
            weighted |= w.indexedBy(d);
        }
        if (isLinear(a)) {
            if (ld.kind() == LoopKind.REDUCTION && weighted) {
                return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.ROW, data, be, d, t, inner, Optional.empty());
            }
            boolean allOutputs = true;
            for (TensorIndexing o : sp.outputs()) {
                allOutputs &= o.indexedBy(d);
            }
            if (ld.kind() == LoopKind.PARALLEL && weighted && allOutputs) {
                return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.COLUMN, data, be, d, t, inner, Optional.empty());
            }
            return other(pn, data, be, d, "splits " + d + " of a weight product, which is neither its output features"
                    + " (column-parallel) nor its input features (row-parallel)");
        }
        if (isEmbedding(a) && weighted && ld.kind() != LoopKind.PARALLEL) {
            return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.VOCABULARY, data, be, d, t, inner, Optional.empty());
        }
        if (isEmbedding(a) && weighted) {
            return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.EMBEDDING_FEATURES, data, be, d, t, inner, Optional.empty());
        }
        if (d.equals(sequenceDim(sp, batchDim))) {
            return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.SEQUENCE, data, be, d, t, inner, Optional.empty());
        }
        if (ld.kind() == LoopKind.REDUCTION) {
            return other(pn, data, be, d, "splits " + d + ", a reduction of " + pn.op() + " that has no weights");
        }
        if (weighted) {
            return other(pn, data, be, d, "splits " + d + " of the weights of " + pn.op());
        }
        return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.FOLLOWS, data, be, d, t, inner, Optional.empty());
    }

    private static LayerRole other(PlanNode pn, int data, long be, String d, String why) {
        return new LayerRole(pn.name(), pn.op(), LayerRole.Kind.OTHER, data, be, d, pn.strategy().getOrDefault(d, 1), true,
                Optional.of(why));
    }

    /**
     * The dimension indexing the axis right after the batch axis of the first output when that output
     * has rank 3 ({@code [batch, sequence, hidden]}, the activations sequence parallelism splits; the
     * rank-4 tensors inside attention have the heads there), or null.
     */
    static String sequenceDim(IterationSpace sp, String batchDim) {
        if (batchDim == null || sp.outputs().isEmpty()) {
            return null;
        }
        TensorIndexing y = sp.outputs().get(0);
        int a = y.axisOf(batchDim);
        if (a < 0 || y.axes().size() != 3 || a + 1 >= y.axes().size() || y.axes().get(a + 1).dims().size() != 1) {
            return null;
        }
        String d = y.axes().get(a + 1).dims().get(0);
        return sp.dim(d).map(x -> x.kind() == LoopKind.PARALLEL).orElse(false) ? d : null;
    }

    /** A matrix product with a weight among its first two inputs. */
    static boolean isLinear(Node n) {
        if (!(n.opType().equals("MatMul") || n.opType().equals("Gemm") || n.opType().equals("Einsum"))) {
            return false;
        }
        for (int i = 0; i < Math.min(2, n.inputs().size()); i++) {
            if (n.input(i).kind() == Value.Kind.PARAMETER) {
                return true;
            }
        }
        return false;
    }

    /** A lookup in a weight table. */
    static boolean isEmbedding(Node n) {
        return n.opType().equals("Gather") && n.inputs().size() >= 2 && n.input(0).kind() == Value.Kind.PARAMETER;
    }
}
