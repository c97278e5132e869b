/**
 * Baselines as points of the planner's search space: data parallelism, Megatron-style tensor
 * parallelism for transformers (with and without sequence parallelism, at every tensor-parallel degree
 * the model and the node size allow) and the "one weird trick" for CNNs, each a layout per node
 * ({@link org.shardplan.planner.baseline.Baselines}), with the batch dimension of every node found by
 * {@link org.shardplan.planner.baseline.BatchDims}. Their layouts together
 * ({@link org.shardplan.planner.baseline.Baselines#familyLayouts}) are the required candidates that keep
 * the standard layouts in the search whatever the cap on candidates per node.
 */
package org.shardplan.planner.baseline;
