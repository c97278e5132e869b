package org.shardplan.planner.pipeline;

import java.util.Arrays;
import java.util.List;

/**
 * The dependency graph of a pipeline step's op order, with no times: a node per op and a node per transfer
 * between devices. An op depends on the op before it on its device; a forward on the transfer of the same
 * micro-batch's activation from the chunk before; a backward (or input-gradient backward) on the transfer of
 * its gradient from the chunk after. A transfer depends on the op that produced it and on the transfer
 * issued before it on the same directed link (a link carries one transfer at a time, in the order the sending
 * device issues them; the two directions are separate). Chunks on the same device pass data without a
 * transfer. Chunk {@code j} runs on device {@code j % p}.
 *
 * <p>One graph serves every set of stage times of its shape: {@link CriticalPath} weights it with a plan's
 * profiles, and the pipeline bound traces its longest paths under many partitions' least profiles. Built in
 * {@code O(N)} for {@code N} ops ({@code 2 p m v}, or {@code 3 p m} with split backwards), with a topological
 * order (Kahn's algorithm) and each node's predecessors.
 */
public final class StepGraph {
    /** {@link #kind} of a transfer; an op's kind is its {@link Op.Kind}'s ordinal. */
    public static final int SEND = Op.Kind.values().length;
    private static final Op.Kind[] KINDS = Op.Kind.values();

    private final int p;
    private final int chunks;
    private final int[] kind;
    private final int[] chunk;
    private final int[] lastOp;
    private final int[] topo;
    private final int[] predStart;
    private final int[] preds;
    private final boolean split;

    private StepGraph(int p, int chunks, int[] kind, int[] chunk, int[] lastOp, int[] source, int[] target,
                      int edges, boolean split) {
        this.p = p;
        this.chunks = chunks;
        this.kind = kind;
        this.chunk = chunk;
        this.lastOp = lastOp;
        this.split = split;
        int nodes = kind.length;
        predStart = new int[nodes + 1];
        int[] outStart = new int[nodes + 1];
        for (int e = 0; e < edges; e++) {
            predStart[target[e] + 1]++;
            outStart[source[e] + 1]++;
        }
        for (int n = 0; n < nodes; n++) {
            predStart[n + 1] += predStart[n];
            outStart[n + 1] += outStart[n];
        }
        preds = new int[edges];
        int[] out = new int[edges];
        int[] pFill = Arrays.copyOf(predStart, nodes);
        int[] oFill = Arrays.copyOf(outStart, nodes);
        int[] indegree = new int[nodes];
        for (int e = 0; e < edges; e++) {
            preds[pFill[target[e]]++] = source[e];
            out[oFill[source[e]]++] = target[e];
            indegree[target[e]]++;
        }
        topo = new int[nodes];
        int tail = 0;
        for (int n = 0; n < nodes; n++) {
            if (indegree[n] == 0) {
                topo[tail++] = n;
            }
        }
        for (int head = 0; head < tail; head++) {
            int n = topo[head];
            for (int x = outStart[n]; x < outStart[n + 1]; x++) {
                if (--indegree[out[x]] == 0) {
                    topo[tail++] = out[x];
                }
            }
        }
        if (tail != nodes) {
            throw new IllegalStateException("the op order must not wait in a cycle, found " + (nodes - tail)
                    + " ops and transfers waiting on each other");
        }
    }

    /**
     * The graph of an op order.
     *
     * @param order each device's ops: FORWARD and BACKWARD, or FORWARD, BACKWARD_INPUT and BACKWARD_WEIGHT
     * @param m     micro-batches
     * @param v     chunks per device
     * @throws IllegalStateException when the order waits in a cycle
     */
    public static StepGraph of(List<List<Op>> order, int m, int v) {
        int p = order.size();
        int chunks = p * v;
        int[] base = new int[p + 1];
        for (int d = 0; d < p; d++) {
            base[d + 1] = base[d] + order.get(d).size();
        }
        int ops = base[p];
        int[] kind = new int[2 * ops + 1];
        int[] chunk = new int[2 * ops + 1];
        int nodes = ops;
        int[] source = new int[3 * ops + 1];
        int[] target = new int[3 * ops + 1];
        int edges = 0;
        int[][] forwardNode = new int[chunks][m];
        int[][] backwardNode = new int[chunks][m];
        boolean split = false;
        for (int d = 0; d < p; d++) {
            List<Op> list = order.get(d);
            for (int i = 0; i < list.size(); i++) {
                Op op = list.get(i);
                int j = op.virtualStage() * p + d;
                int n = base[d] + i;
                kind[n] = op.kind().ordinal();
                chunk[n] = j;
                split |= op.kind() == Op.Kind.BACKWARD_INPUT || op.kind() == Op.Kind.BACKWARD_WEIGHT;
                if (op.kind() == Op.Kind.FORWARD) {
                    forwardNode[j][op.microBatch()] = n;
                } else if (op.kind() != Op.Kind.BACKWARD_WEIGHT) {
                    backwardNode[j][op.microBatch()] = n;
                }
                if (i > 0) {
                    source[edges] = n - 1;
                    target[edges++] = n;
                }
            }
        }
        // transfers, link by link in the order the sending device issues them
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
                int sender;
                if (op.kind() == Op.Kind.FORWARD && j + 1 < chunks) {
                    neighbour = j + 1;
                    to = forwardNode[j + 1][op.microBatch()];
                    sender = j;
                } else if ((op.kind() == Op.Kind.BACKWARD || op.kind() == Op.Kind.BACKWARD_INPUT) && j > 0) {
                    neighbour = j - 1;
                    to = backwardNode[j - 1][op.microBatch()];
                    sender = j - 1; // the boundary between chunks j - 1 and j: priced as chunk j - 1's send
                } else {
                    continue;
                }
                if (edges + 3 > source.length) {
                    source = Arrays.copyOf(source, 2 * source.length);
                    target = Arrays.copyOf(target, 2 * target.length);
                }
                int to2 = neighbour % p;
                if (to2 == d) {
                    source[edges] = from;
                    target[edges++] = to;
                    continue;
                }
                int t = nodes++;
                kind[t] = SEND;
                chunk[t] = sender;
                source[edges] = from;
                target[edges++] = t;
                source[edges] = t;
                target[edges++] = to;
                if (lastOnLink[d][to2] >= 0) {
                    source[edges] = lastOnLink[d][to2];
                    target[edges++] = t;
                }
                lastOnLink[d][to2] = t;
            }
        }
        int[] lastOp = new int[p];
        for (int d = 0; d < p; d++) {
            lastOp[d] = base[d + 1] > base[d] ? base[d + 1] - 1 : -1;
        }
        return new StepGraph(p, chunks, Arrays.copyOf(kind, nodes), Arrays.copyOf(chunk, nodes), lastOp,
                source, target, edges, split);
    }

    /** Devices. */
    public int devices() {
        return p;
    }

    /** Chunks ({@code p v}). */
    public int chunks() {
        return chunks;
    }

    /** Ops and transfers. */
    public int nodes() {
        return kind.length;
    }

    /** An op's {@link Op.Kind} ordinal, or {@link #SEND} for a transfer. */
    public int kind(int n) {
        return kind[n];
    }

    /** The chunk an op belongs to; for a transfer, the chunk whose send it is (the earlier of the two). */
    public int chunk(int n) {
        return chunk[n];
    }

    /** Device {@code d}'s last op, -1 for a device without ops. */
    public int lastOp(int d) {
        return lastOp[d];
    }

    /** Whether the backward is split into input- and weight-gradient ops. */
    public boolean split() {
        return split;
    }

    /** Every node in an order where each comes after all it depends on. Not to be modified. */
    public int[] topologicalOrder() {
        return topo;
    }

    /** Node {@code n}'s predecessors are {@code predecessors()[predecessorStart()[n] .. predecessorStart()[n + 1])}. Not to be modified. */
    public int[] predecessorStart() {
        return predStart;
    }

    /** See {@link #predecessorStart()}. Not to be modified. */
    public int[] predecessors() {
        return preds;
    }

    /** Node {@code n}'s time under the chunks' profiles: its op's part of its chunk, or its chunk's send. */
    public double seconds(int n, List<StageProfile> stages) {
        StageProfile s = stages.get(chunk[n]);
        if (kind[n] == SEND) {
            return s.sendSeconds();
        }
        return switch (KINDS[kind[n]]) {
            case FORWARD -> s.forwardSeconds();
            case BACKWARD -> s.backwardSeconds();
            case BACKWARD_INPUT -> s.backwardInputSeconds();
            case BACKWARD_WEIGHT -> s.backwardWeightSeconds();
        };
    }

    /** Each node's end under the profiles: its time plus the latest end among its predecessors (zero for none). O(N). */
    public double[] ends(List<StageProfile> stages) {
        double[] end = new double[kind.length];
        for (int n : topo) {
            double start = 0;
            for (int x = predStart[n]; x < predStart[n + 1]; x++) {
                start = Math.max(start, end[preds[x]]);
            }
            end[n] = start + seconds(n, stages);
        }
        return end;
    }
}
