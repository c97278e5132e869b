/**
 * The strategy space of the planner: splits of an operator's loop dimensions
 * ({@link org.shardplan.graph.space.Strategy}) laid out on the device hierarchy of the cluster
 * ({@link org.shardplan.planner.strategy.DeviceDigits}, {@link org.shardplan.planner.strategy.Layout}),
 * which decides which collectives stay inside a node and which cross the network
 * ({@link org.shardplan.planner.strategy.Collectives}), and the enumeration of the candidates of one
 * node ({@link org.shardplan.planner.strategy.StrategySpace}).
 */
package org.shardplan.planner.strategy;
