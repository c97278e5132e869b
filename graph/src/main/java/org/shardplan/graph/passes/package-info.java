/**
 * Graph passes for planning. {@link org.shardplan.graph.passes.Coarsening} folds shape arithmetic and
 * constants, removes Identity and Dropout, fuses element-wise chains into the compute node that
 * produces them and recognises written-out LayerNormalization, giving a
 * {@link org.shardplan.graph.passes.CoarseGraph} of {@link org.shardplan.graph.passes.CoarseNode}s and
 * {@link org.shardplan.graph.passes.CoarseEdge}s; {@link org.shardplan.graph.passes.RepeatedBlocks}
 * groups repeated blocks (transformer layers, ResNet blocks) into
 * {@link org.shardplan.graph.passes.BlockClass}es so a planner can share one strategy per class; and
 * {@link org.shardplan.graph.passes.CoarseSpaces} gives each coarse node its iteration space. See
 * {@code docs/coarsening.md}.
 */
package org.shardplan.graph.passes;
