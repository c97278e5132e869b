package org.shardplan.planner.pipeline;

import java.util.Arrays;
import java.util.List;

/**
 * Step times of a schedule's op order as the critical path (longest path) of the step's dependency
 * graph, for the schedules and stage times that have no closed form.
 *
 * <p>The graph has a node per op, weighted by its compute time, and a node per transfer, weighted by
 * its send time. An op depends on the op before it on its device; a forward on the transfer of the same
 * micro-batch's activation from the stage before; a backward (or input-gradient backward) on the
 * transfer of its gradient from the stage after. A transfer depends on the op that produced it and on
 * the transfer issued before it on the same directed link (links carry one transfer at a time, in the
 * order the sending device issues them; the two directions are separate). Chunks on the same device pass
 * data without a transfer. A node ends at its weight plus the latest end among the nodes it depends on
 * (zero for none); each device ends with its last op. This is the model the simulator replays in time,
 * computed instead as longest paths in topological order (Kahn's algorithm), so the two agree; the
 * simulator stays the check, with its own bookkeeping of devices and links.
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
        int p = order.size();
        int count = p * v;
        // Op nodes: device by device, in order. forwardNode / backwardNode: [stage][micro-batch] -> node.
        int[] base = new int[p + 1];
        for (int d = 0; d < p; d++) {
            base[d + 1] = base[d] + order.get(d).size();
        }
        int ops = base[p];
        int[][] forwardNode = new int[count][m];
        int[][] backwardNode = new int[count][m];
        Graph g = new Graph(ops);
        for (int d = 0; d < p; d++) {
            List<Op> list = order.get(d);
            for (int i = 0; i < list.size(); i++) {
                Op op = list.get(i);
                int j = op.virtualStage() * p + d;
                StageProfile s = stages.get(j);
                int n = base[d] + i;
                g.weight[n] = switch (op.kind()) {
                    case FORWARD -> s.forwardSeconds();
                    case BACKWARD -> s.backwardSeconds();
                    case BACKWARD_INPUT -> s.backwardInputSeconds();
                    case BACKWARD_WEIGHT -> s.backwardWeightSeconds();
                };
                if (op.kind() == Op.Kind.FORWARD) {
                    forwardNode[j][op.microBatch()] = n;
                } else if (op.kind() != Op.Kind.BACKWARD_WEIGHT) {
                    backwardNode[j][op.microBatch()] = n;
                }
                if (i > 0) {
                    g.edge(n - 1, n);
                }
            }
        }
        // Transfers, link by link in the order the sending device issues them.
        int[][] lastOnLink = new int[p][p];
        for (int[] row : lastOnLink) {
            Arrays.fill(row, -1);
        }
        for (int d = 0; d < p; d++) {
            List<Op> list = order.get(d);
            for (int i = 0; i < list.size(); i++) {
                Op op = list.get(i);
                int j = op.virtualStage() * p + d;
                int from = base[d] + i;
                int to;
                int neighbour;
                double seconds;
                if (op.kind() == Op.Kind.FORWARD && j + 1 < count) {
                    neighbour = j + 1;
                    to = forwardNode[j + 1][op.microBatch()];
                    seconds = stages.get(j).sendSeconds();
                } else if ((op.kind() == Op.Kind.BACKWARD || op.kind() == Op.Kind.BACKWARD_INPUT) && j > 0) {
                    neighbour = j - 1;
                    to = backwardNode[j - 1][op.microBatch()];
                    seconds = stages.get(j - 1).sendSeconds();
                } else {
                    continue;
                }
                int target = neighbour % p;
                if (target == d) {
                    g.edge(from, to);
                    continue;
                }
                int transfer = g.node(seconds);
                g.edge(from, transfer);
                g.edge(transfer, to);
                if (lastOnLink[d][target] >= 0) {
                    g.edge(lastOnLink[d][target], transfer);
                }
                lastOnLink[d][target] = transfer;
            }
        }
        double[] end = g.longestPaths();
        double[] result = new double[p];
        for (int d = 0; d < p; d++) {
            result[d] = base[d + 1] > base[d] ? end[base[d + 1] - 1] : 0;
        }
        return result;
    }

    /** A weighted DAG built edge by edge. */
    private static final class Graph {
        private double[] weight;
        private int nodes;
        private int[] source = new int[1024];
        private int[] target = new int[1024];
        private int edges;

        Graph(int opNodes) {
            weight = new double[Math.max(16, 2 * opNodes)];
            nodes = opNodes;
        }

        int node(double w) {
            if (nodes == weight.length) {
                weight = Arrays.copyOf(weight, 2 * nodes);
            }
            weight[nodes] = w;
            return nodes++;
        }

        void edge(int from, int to) {
            if (edges == source.length) {
                source = Arrays.copyOf(source, 2 * edges);
                target = Arrays.copyOf(target, 2 * edges);
            }
            source[edges] = from;
            target[edges++] = to;
        }

        /** Each node's end: its weight plus the latest end among its predecessors (zero for none). */
        double[] longestPaths() {
            int[] first = new int[nodes + 1];
            for (int e = 0; e < edges; e++) {
                first[source[e] + 1]++;
            }
            for (int n = 0; n < nodes; n++) {
                first[n + 1] += first[n];
            }
            int[] fill = Arrays.copyOf(first, nodes);
            int[] out = new int[edges];
            int[] indegree = new int[nodes];
            for (int e = 0; e < edges; e++) {
                out[fill[source[e]]++] = target[e];
                indegree[target[e]]++;
            }
            double[] start = new double[nodes];
            double[] end = new double[nodes];
            int[] queue = new int[nodes];
            int tail = 0;
            for (int n = 0; n < nodes; n++) {
                if (indegree[n] == 0) {
                    queue[tail++] = n;
                }
            }
            for (int head = 0; head < tail; head++) {
                int n = queue[head];
                end[n] = start[n] + weight[n];
                for (int x = first[n]; x < first[n + 1]; x++) {
                    int t = out[x];
                    start[t] = Math.max(start[t], end[n]);
                    if (--indegree[t] == 0) {
                        queue[tail++] = t;
                    }
                }
            }
            if (tail != nodes) {
                throw new IllegalStateException("the op order must not wait in a cycle, found " + (nodes - tail)
                        + " ops and transfers waiting on each other");
            }
            return end;
        }
    }
}
