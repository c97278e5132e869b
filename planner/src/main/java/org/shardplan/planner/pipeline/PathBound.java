package org.shardplan.planner.pipeline;

import java.util.Arrays;
import java.util.List;

/**
 * Step times of the 1F1B family of schedules (1F1B, interleaved 1F1B, ZB-H1) as the longest of a
 * family of paths through the step's dependency graph, computed from the schedule's op order and the
 * stage profiles without replaying the step.
 *
 * <p>The dependency graph has one node per op, weighted by its compute time, and an edge for each
 * dependency: the op before it on its device; for a forward, the same micro-batch's forward at the stage
 * before plus the transfer; for a backward, the same micro-batch's backward at the stage after plus the
 * transfer. Each path is a lower bound on the step. The family searched here is the paths whose
 * <em>forward</em> ops are joined by three moves:
 * <ol>
 *   <li>along a device to its next forward (through the backwards between);</li>
 *   <li>the same micro-batch's forward at the next stage (with the transfer);</li>
 *   <li>a <em>round trip</em>: from {@code F(i)} at stage {@code j} forward to the last stage, back down
 *       to {@code B(i)} at some stage {@code r}, then along {@code r}'s device to its next forward,</li>
 * </ol>
 * starting from micro-batch 0's forward at any stage, and ending either from a forward to the last
 * stage and back down to {@code B(i)} on a device, then that device's remaining ops; or along a device to
 * the {@code B(m-1)} of one of its chunks and down; and from a device's last backward (its chunk-0
 * {@code B(m-1)}) on down to the devices below. The longest such path is found in topological order of
 * the forwards. Left out are paths that go down from a backward reached along a device other than
 * {@code B(m-1)}; and transfers are taken as never waiting for their link. For balanced stages, with or
 * without transfers, one of the family is critical for all three schedules, so the bound equals the
 * simulated step; with unbalanced stages it stays a few per cent below (docs/schedules.md gives the
 * measured gaps).
 *
 * <p>Running time {@code O(N p v)} for {@code N = p m v} forwards: {@code O(p^2 m v^2)}.
 */
final class PathBound {

    private PathBound() {
    }

    /**
     * When each device's last compute op ends, per the path family.
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
                    split[op.chunk() * p + d] = true;
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
        double[] end = new double[p];
        Arrays.fill(end, Double.NEGATIVE_INFINITY);
        // Nodes: every forward op, numbered device by device. best[n]: longest path ending at node n.
        int[] firstNode = new int[p + 1];
        for (int k = 0; k < p; k++) {
            firstNode[k + 1] = firstNode[k] + devices[k].forwards.length;
        }
        int nodes = firstNode[p];
        double[] best = new double[nodes];
        Arrays.fill(best, Double.NEGATIVE_INFINITY);
        // Edges out of each node: the device's next forward, the same micro-batch's forward at the next stage,
        // and the round trips (to the last stage, down to stage r's backward, on to r's device's next forward).
        int[][] out = new int[nodes][];
        double[][] weight = new double[nodes][];
        int[] indegree = new int[nodes];
        for (int k = 0; k < p; k++) {
            Device dev = devices[k];
            for (int t = 0; t < dev.forwards.length; t++) {
                int pos = dev.forwards[t];
                Op op = dev.ops.get(pos);
                int j = op.chunk() * p + k;
                int n = firstNode[k] + t;
                int[] to = new int[2 + count];
                double[] wt = new double[2 + count];
                int e = 0;
                if (t + 1 < dev.forwards.length) {
                    to[e] = n + 1;
                    wt[e++] = dev.seconds(pos, dev.forwards[t + 1]);
                }
                if (j + 1 < count) {
                    int k2 = (j + 1) % p;
                    to[e] = firstNode[k2] + devices[k2].forwardIndex(op.microBatch(), (j + 1) / p);
                    wt[e++] = send[j] + f[j + 1];
                }
                for (int r = 0; r < count; r++) {
                    Device via = devices[r % p];
                    int b = via.backwardPosition(op.microBatch(), r / p);
                    int next = via.nextForward(b);
                    if (next >= 0) {
                        Op nextOp = via.ops.get(next);
                        to[e] = firstNode[r % p] + via.forwardIndex(nextOp.microBatch(), nextOp.chunk());
                        wt[e++] = (head[count] - head[j + 1] + send[j]) + (down[count] - down[r]) + via.seconds(b, next);
                    }
                }
                out[n] = Arrays.copyOf(to, e);
                weight[n] = Arrays.copyOf(wt, e);
                for (int x = 0; x < e; x++) {
                    indegree[to[x]]++;
                }
                if (op.microBatch() == 0) {
                    best[n] = head[j] + f[j];
                }
            }
        }
        int[] queue = new int[nodes];
        int tail = 0;
        for (int n = 0; n < nodes; n++) {
            if (indegree[n] == 0) {
                queue[tail++] = n;
            }
        }
        for (int qi = 0; qi < tail; qi++) {
            int n = queue[qi];
            for (int x = 0; x < out[n].length; x++) {
                int to = out[n][x];
                best[to] = Math.max(best[to], best[n] + weight[n][x]);
                if (--indegree[to] == 0) {
                    queue[tail++] = to;
                }
            }
        }
        if (tail != nodes) {
            throw new IllegalStateException("the op order must not wait in a cycle, found " + (nodes - tail) + " forwards in one");
        }
        for (int k = 0; k < p; k++) {
            Device dev = devices[k];
            for (int t = 0; t < dev.forwards.length; t++) {
                int pos = dev.forwards[t];
                Op op = dev.ops.get(pos);
                int j = op.chunk() * p + k;
                double here = best[firstNode[k] + t];
                double toLastStage = head[count] - head[j + 1] + send[j]; // F at j excluded, to the last stage
                // Leave to the last stage and back down to B(i) on device d, chunk a, then d's remaining ops.
                for (int d = 0; d < p; d++) {
                    for (int a = 0; a < v; a++) {
                        int landing = a * p + d;
                        Device to = devices[d];
                        int lb = to.backwardPosition(op.microBatch(), a);
                        end[d] = Math.max(end[d], here + toLastStage + (down[count] - down[landing])
                                + to.seconds(lb, to.ops.size() - 1));
                    }
                }
                // Along k to B(m-1) of chunk z, then the gradient down to the devices below.
                for (int z = 0; z < v; z++) {
                    int bz = dev.backwardPosition(m - 1, z);
                    if (bz < pos) {
                        continue;
                    }
                    double at = here + dev.seconds(pos, bz);
                    int from = z * p + k;
                    for (int d = 0; d < p && d <= from; d++) {
                        end[d] = Math.max(end[d], at + (down[from] - down[d]) + devices[d].afterLastBackward());
                    }
                }
            }
        }
        // A device's last op is its chunk-0 backward of m-1 (then weight gradients); its gradient goes on down.
        for (int k = p - 1; k > 0; k--) {
            double lastBackward = end[k] - devices[k].afterLastBackward();
            for (int d = 0; d < k; d++) {
                end[d] = Math.max(end[d], lastBackward + (down[k] - down[d]) + devices[d].afterLastBackward());
            }
        }
        return end;
    }

    /** One device's op list with positions and prefix sums of compute time. */
    private static final class Device {
        final List<Op> ops;
        final double[] prefix; // prefix[i]: compute time of ops 0 .. i-1
        final int[][] backward; // [micro-batch][chunk] -> position of B or B_input
        final int[] nextForward; // position -> position of the next forward after it, or -1
        final int lastBackward;
        final int[] forwards; // positions of the forwards, in list order
        final int[][] forwardIndex; // [micro-batch][chunk] -> index into forwards

        Device(List<StageProfile> stages, List<Op> ops, int d, int p, int m, int v) {
            this.ops = ops;
            prefix = new double[ops.size() + 1];
            backward = new int[m][v];
            int last = -1;
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                StageProfile s = stages.get(op.chunk() * p + d);
                double t = switch (op.kind()) {
                    case FORWARD -> s.forwardSeconds();
                    case BACKWARD -> s.backwardSeconds();
                    case BACKWARD_INPUT -> s.backwardInputSeconds();
                    case BACKWARD_WEIGHT -> s.backwardWeightSeconds();
                };
                prefix[i + 1] = prefix[i] + t;
                if (op.kind() == Op.Kind.BACKWARD || op.kind() == Op.Kind.BACKWARD_INPUT) {
                    backward[op.microBatch()][op.chunk()] = i;
                    last = i;
                }
            }
            lastBackward = last;
            forwards = new int[m * v];
            forwardIndex = new int[m][v];
            int t = 0;
            for (int i = 0; i < ops.size(); i++) {
                Op op = ops.get(i);
                if (op.kind() == Op.Kind.FORWARD) {
                    forwardIndex[op.microBatch()][op.chunk()] = t;
                    forwards[t++] = i;
                }
            }
            nextForward = new int[ops.size()];
            int next = -1;
            for (int i = ops.size() - 1; i >= 0; i--) {
                nextForward[i] = next;
                if (ops.get(i).kind() == Op.Kind.FORWARD) {
                    next = i;
                }
            }
        }

        /** Compute time of the ops at positions {@code from + 1 .. to}. */
        double seconds(int from, int to) {
            return prefix[to + 1] - prefix[from + 1];
        }

        int forwardIndex(int microBatch, int chunk) {
            return forwardIndex[microBatch][chunk];
        }

        int backwardPosition(int microBatch, int chunk) {
            return backward[microBatch][chunk];
        }

        int nextForward(int position) {
            return nextForward[position];
        }

        /** Compute time after the last backward (weight-gradient ops put off to the end). */
        double afterLastBackward() {
            return seconds(lastBackward, ops.size() - 1);
        }
    }
}
