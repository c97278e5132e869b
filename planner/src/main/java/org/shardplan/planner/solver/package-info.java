/**
 * The strategy-selection problem as plain data and its exact solvers. A {@link
 * org.shardplan.planner.solver.Problem} (format 1 of {@code docs/problem-format.md}, read and
 * written by {@link org.shardplan.planner.solver.ProblemIo}) gives every node a list of strategies
 * with costs and memory and every edge a cost matrix; a {@link org.shardplan.planner.solver.Solver}
 * picks one strategy per node minimising the total, optionally under a memory limit, and returns a
 * {@link org.shardplan.planner.solver.Solution} with a proven lower bound. The solvers are the
 * exact variable-elimination dynamic program ({@link org.shardplan.planner.solver.DpSolver}), the
 * integer linear program ({@link org.shardplan.planner.solver.IlpSolver}) and their combination
 * ({@link org.shardplan.planner.solver.AutoSolver}); the {@link
 * org.shardplan.planner.solver.Evaluator} recomputes any answer independently. Nothing here knows
 * about models, graphs or cost models.
 */
package org.shardplan.planner.solver;
