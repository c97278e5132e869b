/**
 * Benchmarks of the strategy solvers: {@link org.shardplan.bench.solver.PaseShapedProblems}
 * generates problems shaped like PaSE's InceptionV3 and Transformer benchmarks at growing device
 * counts, and {@link org.shardplan.bench.solver.SolverBenchmark} solves them in process and through
 * the command line and writes {@code benchmarks/results/solver.md}.
 */
package org.shardplan.bench.solver;
