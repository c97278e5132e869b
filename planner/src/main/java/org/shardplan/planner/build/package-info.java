/**
 * From a graph and the cost model to a strategy problem: per node, the cost, communication and
 * memory of each candidate layout; per tensor edge, the resharding cost between producer and
 * consumer layouts, forward and backward ({@link org.shardplan.planner.build.ProblemBuilder}), with the
 * placement arithmetic of resharding kept by content for all builders of one cluster
 * ({@link org.shardplan.planner.build.Reshards}).
 */
package org.shardplan.planner.build;
