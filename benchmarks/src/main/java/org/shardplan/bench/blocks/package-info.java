/**
 * Timing of the repeated-block search ({@link org.shardplan.graph.passes.RepeatedBlocks}) on many
 * identical nodes reading one value, the shape that once made it cubic.
 */
package org.shardplan.bench.blocks;
