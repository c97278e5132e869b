/**
 * How accurate the cost model is on this CPU: real models (MiniLM, PaddleOCR, torchvision
 * exports) profiled with ONNX Runtime, each node predicted with its own measurement held out, and
 * the ordering of model variants; writes {@code benchmarks/results/cost-accuracy.md}.
 */
package org.shardplan.bench.accuracy;
