/**
 * Per-stage ONNX models of a pipeline plan: {@link org.shardplan.runtime.stages.StageSplit} places
 * every ONNX node of the model into a stage (the plan names the planner's coarse nodes; fused and
 * folded nodes follow their producers, constants are copied where they are read) and finds the tensors
 * that cross each cut; {@link org.shardplan.runtime.stages.StageExport} writes {@code stage<i>.onnx}
 * files from the model's raw entries (through {@code org.shardplan.onnx.edit}) and a {@code
 * manifest.json}.
 */
package org.shardplan.runtime.stages;
