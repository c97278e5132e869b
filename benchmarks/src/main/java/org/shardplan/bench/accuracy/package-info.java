/**
 * How accurate the cost model is on this CPU: real models (MiniLM, PaddleOCR, torchvision
 * exports) profiled with ONNX Runtime, each node predicted with its own measurement held out, and
 * the ordering of model variants; writes {@code benchmarks/results/cost-accuracy.md}
 * ({@link org.shardplan.bench.accuracy.CostAccuracy}), and with {@code --held-out} each model
 * predicted from the other models only ({@link org.shardplan.bench.accuracy.LeaveOneModelOut},
 * {@code cost-accuracy-held-out.md}). Tools that look into the measurement itself: how repeatable
 * it is ({@link org.shardplan.bench.accuracy.Repeatability}), what a node costs inside the whole
 * model against alone ({@link org.shardplan.bench.accuracy.InModel}), and what the alignment of
 * a one-node model's buffers changes ({@link org.shardplan.bench.accuracy.FeedAlignment}).
 */
package org.shardplan.bench.accuracy;
