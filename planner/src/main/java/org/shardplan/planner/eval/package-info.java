/**
 * The independent re-coster of plans ({@link org.shardplan.planner.eval.PlanEvaluator}): rebuilds each
 * node's layout from the plan and prices it again without the search's tables.
 */
package org.shardplan.planner.eval;
