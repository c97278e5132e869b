package org.shardplan.cost.comm;

/** How a collective is carried out. */
public enum Algorithm {
    /** Bandwidth-optimal ring (pipelined chain for broadcast, pairwise exchange for all-to-all). */
    RING,
    /**
     * Logarithmic depth: double binary tree for all-reduce, recursive doubling/halving for
     * all-gather/reduce-scatter, binomial tree for broadcast, Bruck for all-to-all.
     */
    TREE,
    /** Two levels for a group spanning nodes: inside each node, across nodes, inside again. */
    HIERARCHICAL
}
