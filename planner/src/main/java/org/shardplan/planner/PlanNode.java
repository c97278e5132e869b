package org.shardplan.planner;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One compute node of the planned graph and how it runs.
 *
 * @param name the graph node's name
 * @param op its operator type
 * @param strategy split factor per loop dimension (dimensions not named are not split; empty: every
 *     device runs the whole node)
 * @param placement the split dimensions from innermost to outermost on the device hierarchy: the
 *     first ones take the devices inside a cluster node, the later ones cross the network
 * @param intraNode the part of each factor that stays inside one cluster node
 * @param devices the number of distinct blocks (product of the factors); the other devices hold copies
 * @param supported false when shardplan has no iteration space for the operator (it runs replicated)
 * @param computeSeconds forward plus backward compute per device (plus a second forward when
 *     activations are recomputed)
 * @param communicationSeconds collectives the split needs (gradient all-reduce, partial sums, halos,
 *     statistics) plus resharding of the node's inputs, forward and backward
 * @param communicationBytes bytes one device sends or receives for this node per step
 * @param memoryBytes memory per device: weights, gradients and optimizer state of its parameters
 *     and the activations it keeps for the backward pass
 * @param stage the pipeline stage (0: the only stage of a plan without pipelining)
 */
public record PlanNode(String name, String op, Map<String, Integer> strategy, List<String> placement,
        Map<String, Integer> intraNode, int devices, boolean supported, double computeSeconds,
        double communicationSeconds, double communicationBytes, double memoryBytes, int stage) {

    public PlanNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(op, "op");
        strategy = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(strategy));
        placement = List.copyOf(placement);
        intraNode = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(intraNode));
    }

    /** Compute plus communication. */
    public double seconds() {
        return computeSeconds + communicationSeconds;
    }

    /** The strategy as text: {@code b=8 n=8}, or {@code replicated}. */
    public String strategyText() {
        if (strategy.isEmpty()) {
            return "replicated";
        }
        StringBuilder b = new StringBuilder();
        strategy.forEach((k, v) -> b.append(b.length() == 0 ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }
}
