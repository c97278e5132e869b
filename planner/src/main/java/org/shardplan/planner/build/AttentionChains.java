package org.shardplan.planner.build;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;

/**
 * Finds the attention chains of a coarse graph, by their structure and not by names: a MatMul of two
 * activations (the scores QKᵀ, with the scale and mask fused after it by the coarsening) whose only
 * reader is a Softmax over the last axis, whose only reader is a MatMul that takes the
 * probabilities as its first operand and another activation as its second (PV). The three nodes are
 * what a fused attention kernel (FlashAttention; Dao et al., 2022 and 2023) computes in one pass
 * without storing the {@code s x s} scores. Works on the built-in decoders (GPT, Llama, with or
 * without grouped keys) and on exported transformers, whose scale, mask (Add or Where) and dropout
 * are element-wise operators fused into the scores' or the softmax's coarse node. Where the mask is
 * computed after the scores in the file (the GPT-2-style export's first layer), the coarsening leaves
 * the operator that applies it in an element-wise node of its own between the product and the softmax
 * (it joins its latest producer, the mask, whose shape it does not have): that node, read only by the
 * softmax and reading the product's scores, is part of the chain as its {@link Role#MASK}. O(V + E).
 */
public final class AttentionChains {
    private AttentionChains() {
    }

    /** The part a coarse node plays in an attention chain. */
    public enum Role {
        /** QKᵀ with its scale and mask: priced as the first product of the fused kernel. */
        SCORES,
        /** The softmax over the scores: inside the fused kernel, no time of its own, nothing stored. */
        SOFTMAX,
        /**
         * The scale or mask applied to the scores in an element-wise node of its own, between the scores'
         * product and the softmax: inside the kernel too.
         */
        MASK,
        /** PV: priced as the second product of the fused kernel. */
        CONTEXT;

        /** Whether the node runs inside the fused kernel at no time of its own and stores nothing (softmax, mask). */
        public boolean insideKernel() {
            return this == SOFTMAX || this == MASK;
        }
    }

    /** The roles of the nodes of a coarse graph that are part of an attention chain (by identity). */
    public static Map<CoarseNode, Role> of(CoarseGraph cg) {
        Map<CoarseNode, Role> r = new IdentityHashMap<>();
        for (CoarseNode[] c : chains(cg)) {
            r.put(c[0], Role.SCORES);
            r.put(c[1], Role.SOFTMAX);
            r.put(c[2], Role.CONTEXT);
            if (c[3] != null) {
                r.put(c[3], Role.MASK);
            }
        }
        return r;
    }

    /**
     * The scores' and context's nodes of the chains whose mask is proven causal ({@link CausalMasks}: known
     * values, a buffer's triangle summary, or the structure the built-in decoders and Llama-style exports
     * write, followed through the mask's operators); a FlashAttention-class kernel skips the masked blocks,
     * about half the products' FLOPs. A chain whose mask is not proven causal (read from a graph input, a
     * buffer in an external data file, no mask) is not in the set and is priced as full. O(V + E) plus the
     * masks' known values.
     */
    public static java.util.Set<CoarseNode> causal(CoarseGraph cg) {
        java.util.Set<CoarseNode> r = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (CoarseNode[] c : chains(cg)) {
            List<CoarseNode> path = c[3] == null ? List.of(c[0]) : List.of(c[0], c[3]);
            if (CausalMasks.causal(cg.graph(), path, c[1].anchor().input(0))) {
                r.add(c[0]);
                r.add(c[2]);
            }
        }
        return r;
    }

    /** Each chain as {scores, softmax, context, mask node or null}. */
    private static List<CoarseNode[]> chains(CoarseGraph cg) {
        List<CoarseNode[]> r = new java.util.ArrayList<>();
        for (CoarseNode s : cg.nodes()) {
            if (!s.anchor().opType().equals("Softmax") || s.pattern().isPresent() || !lastAxis(s.anchor())) {
                continue;
            }
            CoarseNode q = onlyProducer(cg, s);
            CoarseNode mask = null;
            if (q != null && maskNode(cg, q, s)) {
                mask = q;
                q = scoresOf(cg, mask);
            }
            if (q == null || !isActivationProduct(q) || !onlyReader(cg, q, mask == null ? s : mask)) {
                continue;
            }
            List<CoarseEdge> out = cg.outEdges(s.index());
            if (out.isEmpty()) {
                continue;
            }
            int to = out.get(0).to();
            boolean one = true;
            for (CoarseEdge e : out) {
                one &= e.to() == to;
            }
            CoarseNode p = cg.node(to);
            if (!one || !isActivationProduct(p) || !readsFirst(p, s)) {
                continue;
            }
            r.add(new CoarseNode[] {q, s, p, mask});
        }
        return r;
    }

    /**
     * Whether {@code m}, the softmax's only producer, is an element-wise node read only by the softmax,
     * reading the scores of exactly one activation product and writing what the softmax reads in their
     * shape (see the class).
     */
    private static boolean maskNode(CoarseGraph cg, CoarseNode m, CoarseNode softmax) {
        if (m.kind() != CoarseNode.Kind.ELEMENTWISE || !onlyReader(cg, m, softmax)) {
            return false;
        }
        CoarseNode q = scoresOf(cg, m);
        if (q == null || q.anchor().outputs().isEmpty()) {
            return false;
        }
        Value scores = q.anchor().output(0);
        return scores.shape().rankKnown() && scores.shape().equals(softmax.anchor().input(0).shape());
    }

    /**
     * The one activation product among the producers of an element-wise node's inputs, when the node reads
     * one of its outputs (its scores, scaled or not); else null.
     */
    private static CoarseNode scoresOf(CoarseGraph cg, CoarseNode m) {
        CoarseNode found = null;
        for (CoarseEdge e : cg.inEdges(m.index())) {
            CoarseNode p = cg.node(e.from());
            if (isActivationProduct(p) && p != found) {
                if (found != null) {
                    return null;
                }
                found = p;
            }
        }
        if (found == null) {
            return null;
        }
        java.util.Set<String> outs = new java.util.HashSet<>();
        found.outputs().forEach(v -> outs.add(v.name()));
        for (Node member : m.members()) {
            for (Value v : member.inputs()) {
                if (outs.contains(v.name())) {
                    return found;
                }
            }
        }
        return null;
    }

    private static boolean lastAxis(Node softmax) {
        long axis = softmax.attrInt("axis", -1);
        Value x = softmax.input(0);
        return axis == -1 || (x.shape().rankKnown() && axis == x.shape().rank() - 1);
    }

    /** The one coarse node that produces the activations {@code c} reads, or null. */
    private static CoarseNode onlyProducer(CoarseGraph cg, CoarseNode c) {
        List<CoarseEdge> in = cg.inEdges(c.index());
        if (in.isEmpty()) {
            return null;
        }
        int from = in.get(0).from();
        for (CoarseEdge e : in) {
            if (e.from() != from) {
                return null;
            }
        }
        return cg.node(from);
    }

    private static boolean onlyReader(CoarseGraph cg, CoarseNode producer, CoarseNode reader) {
        for (CoarseEdge e : cg.outEdges(producer.index())) {
            if (e.to() != reader.index()) {
                return false;
            }
        }
        return true;
    }

    /** A MatMul (not a recognised pattern) both of whose operands are activations of rank 3 or more. */
    private static boolean isActivationProduct(CoarseNode c) {
        Node a = c.anchor();
        if (!a.opType().equals("MatMul") || c.pattern().isPresent() || a.inputs().size() != 2) {
            return false;
        }
        for (Value v : a.inputs()) {
            if (v.isAbsent() || v.kind() != Value.Kind.INTERMEDIATE || !v.shape().rankKnown() || v.shape().rank() < 3) {
                return false;
            }
        }
        return true;
    }

    /** Whether the product's first operand is an output of the softmax node. */
    private static boolean readsFirst(CoarseNode product, CoarseNode softmax) {
        String first = product.anchor().input(0).name();
        for (Value v : softmax.outputs()) {
            if (v.name().equals(first)) {
                return true;
            }
        }
        return false;
    }
}
