/**
 * Writing ONNX models from other ONNX models: a model read as raw entries ({@link
 * org.shardplan.onnx.edit.ModelFile}: nodes, initializers and value infos with their names decoded and
 * their bytes kept), new entries ({@link org.shardplan.onnx.edit.NodeSpec}, {@link
 * org.shardplan.onnx.edit.TensorEntry#floats}, {@link org.shardplan.onnx.edit.ValueEntry#tensor}), and
 * a writer ({@link org.shardplan.onnx.edit.ModelBuilder}) that assembles a new model from both. Used for
 * the per-stage models of a pipeline plan, the model annotated with its sharding, and rewritten
 * networks. {@link org.shardplan.onnx.edit.Proto} and {@link org.shardplan.onnx.edit.Wire} write and
 * split protobuf messages in wire format; nothing here depends on generated protobuf classes.
 */
package org.shardplan.onnx.edit;
