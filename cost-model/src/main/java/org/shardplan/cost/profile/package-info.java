/**
 * Measurement with ONNX Runtime on the CPU: the one {@link org.shardplan.cost.profile.Ort}
 * environment, one-node ONNX models built in code ({@link org.shardplan.cost.profile.OnnxModels}),
 * timing with warm-up, repeats and the median ({@link org.shardplan.cost.profile.Timing}), the
 * local CPU's peak rates ({@link org.shardplan.cost.profile.LocalCpu}) and the profiler that
 * measures every distinct operator of a model and the model end to end
 * ({@link org.shardplan.cost.profile.Profiler}).
 */
package org.shardplan.cost.profile;
