/**
 * The 3D-plan benchmark against Megatron-LM's published GPT runs: shardplan's free plan, the plan
 * held to Megatron's degrees, and the measured step, written to {@code benchmarks/results/megatron.md}.
 */
package org.shardplan.bench.megatron;
