/**
 * Forward pipelines on this machine: {@link org.shardplan.runtime.pipeline.StagePipeline} runs stage
 * models in ONNX Runtime sessions of one thread each, one worker thread per stage, micro-batches handed
 * on through queues; {@link org.shardplan.runtime.pipeline.PipelineRun} is {@code shardplan run}: a
 * cpu-local plan's stages measured against the plan's forward times and checked against the whole
 * model ({@link org.shardplan.runtime.pipeline.WholeModel}).
 */
package org.shardplan.runtime.pipeline;
