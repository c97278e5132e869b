/**
 * The GPU fidelity benchmark: shardplan's predicted step time for published end-to-end training runs
 * (the check set, never fitted on), with the device profiles fitted to published microbenchmarks,
 * written to {@code benchmarks/results/gpu-fidelity.md}.
 */
package org.shardplan.bench.gpu;
