/**
 * Fuzzing of the command line with mutated ONNX models: {@link org.shardplan.bench.fuzz.Wire} reads
 * and writes protobuf messages field by field, {@link org.shardplan.bench.fuzz.Mutator} makes
 * byte-level and structural mutants of real models, and {@link org.shardplan.bench.fuzz.FuzzHarness}
 * runs them through the command line in-process and classifies each result (exit 0, 2 or 3 is a
 * handled result; exit 1, a stack trace without {@code --verbose}, an escaping throwable or a run over
 * the time limit is a failure).
 */
package org.shardplan.bench.fuzz;
