package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.IterationSpaces;
import org.shardplan.graph.space.TensorIndexing;

/**
 * The iteration space of a coarse node: its anchor's loop dimensions, with the indexing of the coarse
 * node's own inputs and outputs. The indexing is carried through the fused element-wise members (those
 * fused after a recognised pattern too, such as the scale of a normalised query): a
 * member's output is indexed like its input of the same shape, and its other inputs (a bias, a
 * residual) broadcast onto that (right-aligned; axes of size 1, or of a size that does not match, are
 * read whole); the per-channel operands of a fused BatchNormalization follow the channel axis; in a
 * SwiGLU node ({@link Coarsening#SWIGLU}) the up projection's weight and output are indexed like the gate's
 * (and its operands are the anchor's, not epilogue inputs). So {@link IterationSpace#localWork} of a coarse node counts only the tensors that cross
 * its boundary, which is what fusion saves. Inputs that only fused members read are
 * {@link TensorIndexing#epilogue} inputs: they meet the anchor's results after its reductions, so a
 * split reduction dimension copies them without splitting their gradient (the residual added after a
 * row-parallel product needs no all-reduce of its gradient). Linear in the members' total rank.
 */
public final class CoarseSpaces {
    private CoarseSpaces() {
    }

    /** The space of the coarse node, or empty when its anchor has none ({@link IterationSpaces#of}). */
    public static Optional<IterationSpace> of(CoarseNode c) {
        Optional<IterationSpace> base = IterationSpaces.of(c.anchor());
        if (base.isEmpty()) {
            return Optional.empty();
        }
        IterationSpace s = base.get();
        Map<String, List<AxisMap>> known = new HashMap<>();
        Map<String, Boolean> sparse = new HashMap<>();
        for (TensorIndexing t : s.inputs()) {
            known.putIfAbsent(t.name(), t.axes());
            sparse.putIfAbsent(t.name(), t.sparseRead());
        }
        for (TensorIndexing t : s.outputs()) {
            known.putIfAbsent(t.name(), t.axes());
        }
        boolean swiGlu = c.pattern().filter(Coarsening.SWIGLU::equals).isPresent();
        java.util.Set<String> anchorReads = new java.util.HashSet<>();
        for (Value v : c.anchor().inputs()) {
            anchorReads.add(v.name());
        }
        // a pattern's own members only index values inside the node (its inputs and output are the
        // anchor's, known already); the element-wise members fused after it index its outputs
        Node a = c.anchor();
        for (Node m : c.members()) {
            if (m == a) {
                continue;
            }
            if (swiGlu && m.opType().equals("MatMul")) {
                // the up projection: the same input, a weight and output of the gate's types, read
                // before any reduction like the anchor's own operands
                if (known.containsKey(a.input(1).name()) && known.containsKey(a.output(0).name())) {
                    known.putIfAbsent(m.input(1).name(), known.get(a.input(1).name()));
                    known.putIfAbsent(m.output(0).name(), known.get(a.output(0).name()));
                }
                m.inputs().forEach(v -> anchorReads.add(v.name()));
                continue;
            }
            propagate(m, known);
        }
        List<TensorIndexing> ins = new ArrayList<>();
        for (Value v : c.inputs()) {
            ins.add(new TensorIndexing(v, indexing(v, known), sparse.getOrDefault(v.name(), false),
                    !anchorReads.contains(v.name())));
        }
        List<TensorIndexing> outs = new ArrayList<>();
        for (Value v : c.outputs()) {
            outs.add(new TensorIndexing(v, indexing(v, known)));
        }
        return Optional.of(new IterationSpace(s.op(), c.name(), s.dims(), ins, outs, s.coupling()));
    }

    /** The spaces of every node of the coarse graph, by index (empty where the anchor has none). */
    public static List<Optional<IterationSpace>> of(CoarseGraph g) {
        synchronized (CACHE) {
            List<Optional<IterationSpace>> known = CACHE.get(g);
            if (known != null) {
                return known;
            }
        }
        List<Optional<IterationSpace>> r = new ArrayList<>();
        g.nodes().forEach(c -> r.add(of(c)));
        List<Optional<IterationSpace>> done = List.copyOf(r);
        synchronized (CACHE) {
            CACHE.put(g, done);
        }
        return done;
    }

    /** The spaces of the coarse graphs in use (a coarse graph is immutable; keys held weakly, by identity). */
    private static final Map<CoarseGraph, List<Optional<IterationSpace>>> CACHE = new java.util.WeakHashMap<>();

    private static List<AxisMap> indexing(Value v, Map<String, List<AxisMap>> known) {
        List<AxisMap> k = known.get(v.name());
        if (k != null && v.shape().rankKnown() && k.size() == v.shape().rank()) {
            return k;
        }
        List<AxisMap> whole = new ArrayList<>();
        if (v.shape().rankKnown()) {
            for (int i = 0; i < v.shape().rank(); i++) {
                whole.add(AxisMap.whole(v.shape().dim(i).isFixed() ? v.shape().dim(i).value() : 0));
            }
        }
        return whole;
    }

    private static void propagate(Node m, Map<String, List<AxisMap>> known) {
        for (Value o : m.outputs()) {
            if (!o.shape().isFullyKnown()) {
                continue;
            }
            List<AxisMap> outMap = null;
            for (Value in : m.inputs()) {
                if (!in.isAbsent() && known.containsKey(in.name()) && in.shape().equals(o.shape())) {
                    outMap = known.get(in.name());
                    break;
                }
            }
            if (outMap == null) {
                continue;
            }
            known.putIfAbsent(o.name(), outMap);
            boolean perChannel = m.isOnnxDomain() && m.opType().equals("BatchNormalization") && outMap.size() >= 2;
            for (Value in : m.inputs()) {
                if (in.isAbsent() || known.containsKey(in.name()) || !in.shape().isFullyKnown()) {
                    continue;
                }
                long[] s = in.shape().toLongs();
                if (perChannel && s.length == 1) {
                    // scale, bias, mean and variance of BatchNormalization follow the channel axis
                    known.put(in.name(), List.of(s[0] == outMap.get(1).size() ? outMap.get(1) : AxisMap.whole(s[0])));
                    continue;
                }
                List<AxisMap> r = new ArrayList<>();
                int off = outMap.size() - s.length;
                for (int i = 0; i < s.length; i++) {
                    int j = i + off;
                    if (j >= 0 && s[i] == outMap.get(j).size() && s[i] != 1) {
                        r.add(outMap.get(j));
                    } else {
                        r.add(AxisMap.whole(s[i]));
                    }
                }
                known.put(in.name(), r);
            }
        }
    }
}
