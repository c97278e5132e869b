/**
 * Built-in decoder language models, planned without an export: {@link org.shardplan.onnx.models.BuiltinModels}
 * resolves a name ({@code gpt-1.7b} ... {@code gpt-1t} after Megatron-LM's Table 1, {@code gpt3-175b},
 * {@code llama2-7b} ... {@code llama3-405b}, or the parametric {@code gpt?layers=..} and
 * {@code llama?layers=..}) to a {@link org.shardplan.onnx.models.DecoderSpec};
 * {@link org.shardplan.onnx.models.DecoderWriter} writes it as the ONNX graph a PyTorch export of that
 * model would be (weights as shapes with absent external data), which the ordinary importer reads, so
 * everything downstream (coarsening, iteration spaces, cost model, planner) treats it as a real export.
 */
package org.shardplan.onnx.models;
