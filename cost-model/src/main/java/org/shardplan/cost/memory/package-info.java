/**
 * Memory per device during training: parameter shards, gradients, optimizer state (sharded by
 * ZeRO stages 1 to 3 over the data-parallel group), activations saved for the backward pass, and
 * activation recomputation (checkpointing). The accounting follows Rajbhandari et al., "ZeRO:
 * Memory Optimizations Toward Training Trillion Parameter Models" (SC 2020) and Chen et al.,
 * "Training Deep Nets with Sublinear Memory Cost" (2016).
 */
package org.shardplan.cost.memory;
