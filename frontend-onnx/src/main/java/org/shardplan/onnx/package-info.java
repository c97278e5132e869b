/**
 * The ONNX frontend: {@link org.shardplan.onnx.OnnxImporter} reads a model file (of any size, weights
 * never copied onto the heap) into a {@link org.shardplan.graph.Graph}, with shape and type inference
 * for every value, constant folding of shape arithmetic, and bindings of symbolic dimensions and input
 * shapes ({@link org.shardplan.onnx.ImportOptions}). Bad files raise
 * {@link org.shardplan.onnx.OnnxImportException}, whose one-line message names the file, node and operator.
 */
package org.shardplan.onnx;
