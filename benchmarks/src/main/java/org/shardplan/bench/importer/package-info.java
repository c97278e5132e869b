/**
 * Import speed and memory of the ONNX frontend ({@link org.shardplan.bench.importer.ImportBenchmark}),
 * on MiniLM and on generated models of more than 1 and 2 GiB of weights
 * ({@link org.shardplan.bench.importer.LargeModelWriter}).
 */
package org.shardplan.bench.importer;
