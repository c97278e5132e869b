/**
 * ONNX's multi-device annotations (ONNX 1.18, IR version 11): {@link
 * org.shardplan.export.onnx.OnnxExporter} writes a plan into its model as {@code ModelProto.configuration}
 * and per node {@code device_configurations} (sharding of each input and output, pipeline stage);
 * {@link org.shardplan.export.onnx.DeviceAnnotations} reads them back. Field numbers are those of
 * {@code onnx/onnx.proto} at ONNX v1.18.0 (onnx/onnx e709452e): {@code ModelProto.configuration = 26},
 * {@code NodeProto.device_configurations = 10}, {@code DeviceConfigurationProto} (name 1, num_devices 2,
 * device 3), {@code NodeDeviceConfigurationProto} (configuration_id 1, sharding_spec 2, pipeline_stage 3),
 * {@code ShardingSpecProto} (tensor_name 1, device 2, index_to_device_group_map 3, sharded_dim 4),
 * {@code IntIntListEntryProto} (key 1, value 2), {@code ShardedDimProto} (axis 1, simple_sharding 2),
 * {@code SimpleShardedDimProto} (dim_value 1, dim_param 2, num_shards 3).
 */
package org.shardplan.export.onnx;
