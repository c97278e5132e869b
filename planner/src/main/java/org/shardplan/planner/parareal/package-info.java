/**
 * Parareal layer-parallel networks (Lee, Park and Lee, "Parareal Neural Networks Emulating a
 * Parallel-in-Time Algorithm", IEEE TNNLS 2022, arXiv:2103.08802): chains of shape-keeping repeated
 * blocks (one or several, a ResNet's stages) are each torn into N fine segments that run at the same time on N device groups, and a small
 * coarse network, run sequentially, gives each segment an approximation of its input; the segments'
 * outputs are joined with the coarse corrections. {@link org.shardplan.planner.parareal.Chains} finds
 * the chains in a coarse graph, {@link org.shardplan.planner.parareal.PararealSearch} prices N
 * segments under the planner's cost model and chooses the chains, N and the cuts, and
 * {@link org.shardplan.planner.parareal.PararealRewrite} writes the rewritten ONNX model. The rewrite
 * changes the model (it must be trained), so plans that use it say so; docs/parareal.md gives the
 * formula and the choices made where the paper leaves them open.
 */
package org.shardplan.planner.parareal;
