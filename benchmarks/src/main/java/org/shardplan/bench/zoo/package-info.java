/**
 * The model zoo benchmark of the planner: plans exported ONNX models (torchvision CNNs, a
 * torch.nn.Transformer, MiniLM, an LSTM language model) and transformers built in code
 * ({@link org.shardplan.bench.zoo.ZooGraphs}: BERT-large, GPT-style decoders up to GPT-3) on 8 to 1,024
 * devices and writes {@code benchmarks/results/plan-zoo.md} ({@link org.shardplan.bench.zoo.PlanZooBenchmark}).
 */
package org.shardplan.bench.zoo;
