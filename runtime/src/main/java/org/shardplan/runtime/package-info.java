/**
 * Running pipeline stages on this machine. {@link org.shardplan.runtime.Torch} is the one place that
 * loads libtorch (DJL's PyTorch engine, offline, from the {@code pytorch-native-cpu} jar); ONNX Runtime
 * is loaded by the cost model's {@code Ort}. The subpackages write a plan's stages as ONNX models
 * ({@code stages}), run them as a forward pipeline on ONNX Runtime ({@code pipeline}), and train a
 * model split into stages asynchronously (AMPNet) or synchronously with autograd ({@code train}).
 */
package org.shardplan.runtime;
