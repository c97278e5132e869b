/**
 * Baselines as points of the planner's search space: data parallelism, Megatron-style tensor
 * parallelism for transformers and the "one weird trick" for CNNs, each a layout per node
 * ({@link org.shardplan.planner.baseline.Baselines}), with the batch dimension of every node found by
 * {@link org.shardplan.planner.baseline.BatchDims}.
 */
package org.shardplan.planner.baseline;
