package org.shardplan.planner.pipeline;

import java.util.Arrays;
import java.util.List;

/**
 * Step times of the 1F1B family of schedules (1F1B, interleaved 1F1B, ZB-H1) as the critical path of
 * the step's dependency graph, computed from the schedule's op order and the stage profiles without
 * replaying the step in time.
 *
 * <p>The dependency graph has one node per op, weighted by its compute time, and an edge for each
 * dependency: the op before it on its device; for a forward, the same micro-batch's forward at the stage
 * before, plus the transfer; for a backward (or input-gradient backward), the same micro-batch's one at
 * the stage after, plus the transfer. The end of a device's last op is the longest path to it. The
 * graph is kept small: its nodes are the forwards and the backwards after a device's last forward
 * (the cool-down); the ops between two nodes of a device are summed from prefix sums; a path that leaves
 * a device from a backward is an edge from the node before that backward, down any number of stages, to
 * the node on or after the backward it lands on. Longest paths are then taken in topological order
 * (Kahn's algorithm).
 *
 * <p>It equals the simulated step whenever no transfer waits for its link (the graph takes transfers
 * as fixed delays, the simulator queues transfers on a link); when one does, it is a lower bound.
 * docs/schedules.md gives the measured gaps. Running time {@code O(N p v)} for the {@code N ~ p m v}
 * nodes, that is {@code O(p^2 m v^2)}.
 */
final class CriticalPath {

    private CriticalPath() {
    }

    /**
     * When each device's last compute op ends.
     *
     * @param stages profiles in model order ({@code p * v}, stage {@code j} on device {@code j % p})
     * @param order  each device's ops, FORWARD and BACKWARD or FORWARD, BACKWARD_INPUT and BACKWARD_WEIGHT
     * @param m      micro-batches
     * @param v      chunks per device
     */
    static double[] ends(List<StageProfile> stages, List<List<Op>> order, int m, int v) {
        int p = order.size();
        int count = p * v;
        double[] f = new double[count];
        double[] back = new double[count]; // the op that sends the gradient on: B, or B_input when split
        double[] send = new double[count];
        boolean[] split = new boolean[count];
        for (int d = 0; d < p; d++) {
            for (Op op : order.get(d)) {
                if (op.kind() == Op.Kind.BACKWARD_INPUT) {
                    split[op.virtualStage() * p + d] = true;
                }
            }
        }
        for (int j = 0; j < count; j++) {
            StageProfile s = stages.get(j);
            f[j] = s.forwardSeconds();
            back[j] = split[j] ? s.backwardInputSeconds() : s.backwardSeconds();
            send[j] = p > 1 && j < count - 1 ? s.sendSeconds() : 0; // stages on one device pass data for free
        }
        // head[j]: sum over s < j of f_s + send_s (micro-batch 0 reaches stage j).
        // down[j]: sum over s < j of back_s + send_s (a gradient from stage j down to stage 0, j excluded).
        double[] head = new double[count + 1];
        double[] down = new double[count + 1];
        for (int j = 0; j < count; j++) {
            head[j + 1] = head[j] + f[j] + send[j];
            down[j + 1] = down[j] + back[j] + send[j];
        }
        Device[] devices = new Device[p];
        for (int d = 0; d < p; d++) {
            devices[d] = new Device(stages, order.get(d), d, p, m, v);
        }
        // Nodes: every forward, and every backward after its device's last forward; numbered device by device.
        int[] firstNode = new int[p + 1];
        for (int k = 0; k < p; k++) {
            firstNode[k + 1] = firstNode[k] + devices[k].nodes.length;
        }
        int nodes = firstNode[p];
        double[] best = new double[nodes]; // longest path ending with node n's op
        Arrays.fill(best, Double.NEGATIVE_INFINITY);
        Edges edges = new Edges(nodes, devices, firstNode, p);
        for (int k = 0; k < p; k++) {
            Device dev = devices[k];
            for (int t = 0; t < dev.nodes.length; t++) {
                int pos = dev.nodes[t];
                Op op = dev.ops.get(pos);
                int j = op.virtualStage() * p + k;
                int n = firstNode[k] + t;
                int stop = t + 1 < dev.nodes.length ? dev.nodes[t + 1] : dev.ops.size();
                // Along the device to its next node.
                if (t + 1 < dev.nodes.length) {
                    edges.add(n, n + 1, dev.seconds(pos, stop));
                }
                if (op.kind() == Op.Kind.FORWARD) {
                    if (op.microBatch() == 0) {
                        best[n] = head[j] + f[j];
                    }
                    // The same micro-batch's forward at the next stage.
                    if (j + 1 < count) {
                        int k2 = (j + 1) % p;
                        edges.add(n, firstNode[k2] + devices[k2].nodeAt[devices[k2].forward[op.microBatch()][(j + 1) / p]],
                                send[j] + f[j + 1]);
                    }
                }
                // Descents: from a backward at or after this node, before the next, down to the backward at stage r.
                for (int x = pos; x < stop; x++) {
                    Op b = dev.ops.get(x);
                    if (b.kind() == Op.Kind.BACKWARD || b.kind() == Op.Kind.BACKWARD_INPUT) {
                        int from = b.virtualStage() * p + k;
                        double along = x == pos ? 0 : dev.seconds(pos, x);
                        for (int r = 0; r < from; r++) {
                            edges.land(n, along + (down[from] - down[r]), r, b.microBatch());
                        }
                    }
                }
            }
        }
        // Longest paths in topological order; the edges are chains of dependencies, so there is no cycle unless
        // the op order deadlocks.
        for (int n : edges.topologicalOrder()) {
            for (int x = edges.first[n]; x < edges.first[n + 1]; x++) {
                best[edges.target[x]] = Math.max(best[edges.target[x]], best[n] + edges.weight[x]);
            }
        }
        // Each device ends along its own ops from one of its nodes.
        double[] end = new double[p];
        Arrays.fill(end, Double.NEGATIVE_INFINITY);
        for (int k = 0; k < p; k++) {
            Device dev = devices[k];
            for (int t = 0; t < dev.nodes.length; t++) {
                end[k] = Math.max(end[k], best[firstNode[k] + t] + dev.seconds(dev.nodes[t], dev.ops.size() - 1));
            }
        }
        return end;
    }


    /** The edges between nodes, gathered then sorted by source. */
    private static final class Edges {
        private final int nodes;
        private final Device[] devices;
        private final int[] firstNode;
        private final int p;
        private int size;
        private int[] source = new int[16];
        private int[] target = new int[16];
        private double[] weight = new double[16];
        private int[] first;

        Edges(int nodes, Device[] devices, int[] firstNode, int p) {
            this.nodes = nodes;
            this.devices = devices;
            this.firstNode = firstNode;
            this.p = p;
        }

        void add(int from, int to, double w) {
            if (size == source.length) {
                source = Arrays.copyOf(source, 2 * size);
                target = Arrays.copyOf(target, 2 * size);
                weight = Arrays.copyOf(weight, 2 * size);
            }
            source[size] = from;
            target[size] = to;
            weight[size++] = w;
        }

        /**
         * An edge from node {@code from} that reaches the backward of {@code microBatch} at stage {@code r}
         * (included) after {@code seconds}: to that backward if it is a node, else on to its device's next forward.
         */
        void land(int from, double seconds, int r, int microBatch) {
            Device via = devices[r % p];
            int b = via.backward[microBatch][r / p];
            if (via.nodeAt[b] >= 0) {
                add(from, firstNode[r % p] + via.nodeAt[b], seconds);
            } else {
                int next = via.nextForward[b];
                add(from, firstNode[r % p] + via.nodeAt[next], seconds + via.seconds(b, next));
            }
        }

        /** Sorts the edges by source ({@code first[n] .. first[n+1]} are node n's) and returns a topological order. */
        int[] topologicalOrder() {
            first = new int[nodes + 1];
            for (int x = 0; x < size; x++) {
                first[source[x] + 1]++;
            }
            for (int n = 0; n < nodes; n++) {
                first[n + 1] += first[n];
            }
            int[] fill = Arrays.copyOf(first, nodes);
            int[] sortedTarget = new int[size];
            double[] sortedWeight = new double[size];
            int[] indegree = new int[nodes];
            for (int x = 0; x < size; x++) {
                int at = fill[source[x]]++;
                sortedTarget[at] = target[x];
                sortedWeight[at] = weight[x];
                indegree[target[x]]++;
            }
            target = sortedTarget;
            weight = sortedWeight;
            int[] queue = new int[nodes];
            int tail = 0;
            for (int n = 0; n < nodes; n++) {
                if (indegree[n] == 0) {
                    queue[tail++] = n;
                }
            }
            for (int head = 0; head < tail; head++) {
                int n = queue[head];
                for (int x = first[n]; x < first[n + 1]; x++) {
                    if (--indegree[target[x]] == 0) {
                        queue[tail++] = target[x];
                    }
                }
            }
            if (tail != nodes) {
                throw new IllegalStateException("the op order must not wait in a cycle, found " + (nodes - tail)
                        + " ops in one");
            }
            return queue;
        }
    }

    /** One device's op list: positions, nodes and prefix sums of compute time. */
    private static final class Device {
        final List<Op> ops;
        final double[] prefix; // prefix[i]: compute time of ops 0 .. i-1
        final int[][] forward; // [micro-batch][chunk] -> position of F
        final int[][] backward; // [micro-batch][chunk] -> position of B or B_input
        final int[] nextForward; // position -> position of the next forward after it, or -1
        final int[] nodes; // positions of the forwards and of the backwards after the last forward
        final int[] nodeAt; // position -> index into nodes, or -1

        Device(List<StageProfile> stages, List<Op> ops, int d, int p, int m, int v) {
            this.ops = ops;
            prefix = new double[ops.size() + 1];
            forward = new int[m][v];
            backward = new int[m][v];
            int lastForward = -1;
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                StageProfile s = stages.get(op.virtualStage() * p + d);
                double t = switch (op.kind()) {
                    case FORWARD -> s.forwardSeconds();
                    case BACKWARD -> s.backwardSeconds();
                    case BACKWARD_INPUT -> s.backwardInputSeconds();
                    case BACKWARD_WEIGHT -> s.backwardWeightSeconds();
                };
                prefix[i + 1] = prefix[i] + t;
                if (op.kind() == Op.Kind.FORWARD) {
                    forward[op.microBatch()][op.virtualStage()] = i;
                    lastForward = i;
                } else if (op.kind() == Op.Kind.BACKWARD || op.kind() == Op.Kind.BACKWARD_INPUT) {
                    backward[op.microBatch()][op.virtualStage()] = i;
                }
            }
            nextForward = new int[ops.size()];
            nodeAt = new int[ops.size()];
            int next = -1;
            int count = 0;
            for (int i = ops.size() - 1; i >= 0; i--) {
                nextForward[i] = next;
                Op.Kind kind = ops.get(i).kind();
                if (kind == Op.Kind.FORWARD) {
                    next = i;
                }
                boolean node = kind == Op.Kind.FORWARD
                        || (i > lastForward && (kind == Op.Kind.BACKWARD || kind == Op.Kind.BACKWARD_INPUT));
                nodeAt[i] = node ? 0 : -1;
                count += node ? 1 : 0;
            }
            nodes = new int[count];
            int t = 0;
            for (int i = 0; i < ops.size(); i++) {
                if (nodeAt[i] >= 0) {
                    nodeAt[i] = t;
                    nodes[t++] = i;
                }
            }
        }

        /** Compute time of the ops at positions {@code from + 1 .. to}. */
        double seconds(int from, int to) {
            return prefix[to + 1] - prefix[from + 1];
        }
    }
}
