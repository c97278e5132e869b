package org.shardplan.cost.compute;

import java.util.Arrays;
import java.util.List;

/**
 * What running nodes inside a whole model adds to the sum of their one-node times: a cost per
 * node (the runtime's dispatch between kernels, allocation from its arena), learned from models
 * whose whole run was measured. Each measured model gives {@code (measured - predicted) / nodes};
 * the overhead is the median of these over the models, which a few odd models cannot pull far.
 * A model's own whole-run measurement must not be among those its prediction is fitted from
 * (the caller leaves it out, as it leaves a node's own signature out of the node's prediction).
 *
 * @param secondsPerNode the fitted overhead per node (may be negative: nodes inside a model run
 *     faster than alone, their inputs already in cache)
 * @param models how many whole-model measurements it was fitted from
 */
public record NodeOverhead(double secondsPerNode, int models) {

    /**
     * One measured whole model.
     *
     * @param nodes nodes that run (folded constants excluded)
     * @param predictedSeconds the sum of the nodes' predictions plus one call overhead
     * @param measuredSeconds the measured whole run
     */
    public record Run(int nodes, double predictedSeconds, double measuredSeconds) {
        public Run {
            if (nodes < 1 || !(predictedSeconds >= 0) || !(measuredSeconds > 0)) {
                throw new IllegalArgumentException("a whole-model run needs nodes >= 1, predicted >= 0 and measured > 0,"
                        + " found " + nodes + ", " + predictedSeconds + ", " + measuredSeconds);
            }
        }
    }

    /** No overhead (no measured models). */
    public static final NodeOverhead NONE = new NodeOverhead(0, 0);

    /** The median per-node residual of the runs ({@link #NONE} without any). O(n log n). */
    public static NodeOverhead fit(List<Run> runs) {
        if (runs.isEmpty()) {
            return NONE;
        }
        double[] d = new double[runs.size()];
        for (int i = 0; i < d.length; i++) {
            Run r = runs.get(i);
            d[i] = (r.measuredSeconds() - r.predictedSeconds()) / r.nodes();
        }
        Arrays.sort(d);
        int m = d.length / 2;
        double med = d.length % 2 == 1 ? d[m] : (d[m - 1] + d[m]) / 2;
        return new NodeOverhead(med, runs.size());
    }

    /** A model's predicted whole run: its summed prediction plus the overhead of its nodes (at least 0). */
    public double predict(int nodes, double predictedSeconds) {
        return Math.max(0, predictedSeconds + secondsPerNode * nodes);
    }
}
