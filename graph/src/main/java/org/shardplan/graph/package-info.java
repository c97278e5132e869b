/**
 * The graph IR of shardplan: an immutable {@link org.shardplan.graph.Graph} of
 * {@link org.shardplan.graph.Node}s that read and write named {@link org.shardplan.graph.Value}s, each
 * with a {@link org.shardplan.graph.TensorType} (a {@link org.shardplan.graph.DType} and a
 * {@link org.shardplan.graph.Shape} of fixed, symbolic or unknown {@link org.shardplan.graph.Dim}s).
 * Parameters are kept as metadata only; small constants keep their contents
 * ({@link org.shardplan.graph.Tensor}) for shape arithmetic. {@link org.shardplan.graph.WorkAnalysis}
 * gives each node's forward FLOPs and bytes. Frontends (ONNX) produce graphs; the cost model and the
 * planner only read them. {@link org.shardplan.graph.ShardplanException} is the bad-input exception of
 * every module.
 */
package org.shardplan.graph;
