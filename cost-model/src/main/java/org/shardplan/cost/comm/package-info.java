/**
 * Collective communication costs in the alpha-beta model (Hockney): sending n bytes over a link
 * costs alpha + n·beta, alpha the latency and beta the inverse bandwidth. Ring and tree
 * (logarithmic-depth) algorithms for a flat group, and hierarchical algorithms for groups that
 * span nodes (inner link, then network, then inner link). Formulas follow Thakur, Rabenseifner and
 * Gropp, "Optimization of Collective Communication Operations in MPICH" (IJHPCA 2005), with the
 * pipelined double-binary-tree all-reduce of Sanders, Speck and Träff (2009).
 */
package org.shardplan.cost.comm;
