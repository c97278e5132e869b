/**
 * The planner's public Java API: {@link org.shardplan.planner.Planner} finds the fastest plan for
 * training a graph on a cluster; {@link org.shardplan.planner.Plan} (with
 * {@link org.shardplan.planner.PlanNode} and {@link org.shardplan.planner.PlanTotals}) is the answer,
 * written and read as {@code shardplan-plan/1} JSON by {@link org.shardplan.planner.PlanJson}.
 */
package org.shardplan.planner;
