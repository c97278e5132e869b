package org.shardplan.planner.pipeline;

import java.util.List;

/**
 * Step times of a schedule's op order as the critical path (longest path) of the step's dependency
 * graph, for the schedules and stage times that have no closed form.
 *
 * <p>The graph is the op order's {@link StepGraph}, each op weighted by its compute time and each transfer
 * by its send time. A node ends at its weight plus the latest end among the nodes it depends on (zero for
 * none); each device ends with its last op. This is the model the simulator replays in time, computed
 * instead as longest paths in topological order, so the two agree; the simulator stays the check, with its
 * own bookkeeping of devices and links.
 *
 * <p>Running time {@code O(N)} for {@code N} ops ({@code 2 p m v}, or {@code 3 p m} with split
 * backwards).
 */
final class CriticalPath {

    private CriticalPath() {
    }

    /**
     * When each device's last compute op ends.
     *
     * @param stages profiles in model order ({@code p * v}, stage {@code j} on device {@code j % p})
     * @param order  each device's ops: FORWARD and BACKWARD, or FORWARD, BACKWARD_INPUT and BACKWARD_WEIGHT
     * @param m      micro-batches
     * @param v      chunks per device
     * @throws IllegalStateException when the order waits in a cycle
     */
    static double[] ends(List<StageProfile> stages, List<List<Op>> order, int m, int v) {
        StepGraph g = StepGraph.of(order, m, v);
        double[] end = g.ends(stages);
        double[] result = new double[g.devices()];
        for (int d = 0; d < result.length; d++) {
            result[d] = g.lastOp(d) >= 0 ? end[g.lastOp(d)] : 0;
        }
        return result;
    }
}
