/**
 * Iteration spaces: every compute operator described by named loop dimensions
 * ({@link org.shardplan.graph.space.LoopDim}, each {@link org.shardplan.graph.space.LoopKind parallel,
 * spatial, reduction, coupled, sequential or fixed}) and, for each input and output tensor, which loop
 * dimensions index each of its axes ({@link org.shardplan.graph.space.TensorIndexing},
 * {@link org.shardplan.graph.space.AxisMap}). {@link org.shardplan.graph.space.IterationSpaces#of} builds
 * them from a node's shapes; a {@link org.shardplan.graph.space.Strategy} (a split factor per dimension)
 * then gives per-device shapes, work, partial sums, replicas and halos through
 * {@link org.shardplan.graph.space.IterationSpace}, and
 * {@link org.shardplan.graph.space.Strategies} enumerates the strategies that fit a device count.
 * This is the strategy space of PaSE (Elango, 2021) and FlexFlow (Jia et al., 2019). See
 * {@code docs/iteration-spaces.md}.
 */
package org.shardplan.graph.space;
