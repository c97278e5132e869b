package org.shardplan.planner;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.shardplan.planner.pipeline.Schedule;

/**
 * A branch over the cuts of a pipeline's partition with the dual over the op order's paths at each node: a lower bound on
 * the step of every plan of one schedule and shape (p stages, m micro-batches, v chunks a device) over every partition of
 * the segments into {@code p v} chunks, which sees that a partition is one partition where {@link PipelineBound#dual}
 * does not (its game's value is the least over mixtures of partitions, which can spread a chunk's work over several).
 *
 * <p>A node is the set of partitions whose chunk {@code j} ends within {@code [lo_j, hi_j]}. Its bound is the dual over
 * those partitions alone: for any distribution over paths of the op order, the least over the node's partitions of the
 * weighted sum of the paths' lengths on the chunks' least values, a dynamic program over (chunk, end) with the ends kept
 * within the ranges ({@link PipelineBound#partition(double[], double[], int, int[], int[], int[])}); the distribution is
 * found by the same double oracle as the dual's, started from the parent's rows and best weights (so a child's bound is at
 * least its parent's from its first program on). Every path is at most the step of every plan with the partition, so each
 * node's bound holds for every plan on its partitions. The node whose bound is least is split, best first, at the cut
 * where the partitions its game mixes disagree most: at their weighted mean end, so that no mixture of the two children's
 * columns can straddle it. The bound over every partition is the least over the open nodes (the nodes split or pruned
 * cover the rest): valid whenever the branch stops, so it stops cleanly at its time, keeping what it has.
 *
 * <p>Capped at a threshold (a plan's step, or the least bound of another schedule): nodes whose bound reaches it are
 * pruned, and the result is at most it, as {@link PipelineBound#dual}'s is.
 */
final class CutBranch {
    /** The most rounds of the double oracle at one node (a child starts from its parent's rows and weights). */
    static final int NODE_ROUNDS = 12;

    /** The most rows handed from a node to its children: the paths its game played last, then the newest. */
    static final int ROWS_HANDED = 300;

    private final PipelineBound pb;
    private final PipelineBound.Paths paths;
    private final int p;
    private final int chunks;
    private final int segments;

    /** The nodes whose bound the last {@link #bound} computed. */
    int nodes;
    /** Whether the last {@link #bound} ran out of open nodes below the threshold (its bound is the threshold). */
    boolean complete;

    CutBranch(PipelineBound pb, Schedule sch, int p, int m, int v) {
        this.pb = pb;
        this.paths = new PipelineBound.Paths(sch, p, m, v);
        this.p = p;
        this.chunks = p * v;
        this.segments = pb.segments();
    }

    /** A node: the ranges of the chunks' ends, its bound, and what its children start from. */
    private static final class Node {
        final int[] lo;
        final int[] hi;
        double bound;
        List<PipelineBound.Path> rows;
        double[] agg;
        double[] dev;
        List<int[]> cols = new ArrayList<>();
        double[] mix;
        /** The parent's columns: those within this node's ranges start its game. */
        List<int[]> inherited = List.of();

        Node(int[] lo, int[] hi) {
            this.lo = lo;
            this.hi = hi;
        }
    }

    /**
     * The bound over every partition, from a dual's rows and best weights ({@code start}), the nodes split until the time
     * {@code secondsLeft} gives falls to {@code stopAt} seconds or no open node is below {@code threshold}. At least
     * {@code start}'s bound (capped at the threshold). O(nodes NODE_ROUNDS (p v K^2 + game + ops)).
     */
    double bound(PipelineBound.DualState start, double threshold, DoubleSupplier secondsLeft, double stopAt) {
        complete = false;
        double floor = Math.min(threshold, start.bound());
        if (start.agg() == null || chunks < 2 || chunks > segments) {
            return floor;
        }
        int[] lo = new int[chunks];
        int[] hi = new int[chunks];
        for (int j = 0; j < chunks; j++) {
            lo[j] = j == chunks - 1 ? segments : j + 1;
            hi[j] = j == chunks - 1 ? segments : segments - (chunks - 1 - j);
        }
        Node root = new Node(lo, hi);
        root.bound = start.bound();
        root.rows = start.rows();
        root.agg = start.agg();
        root.dev = start.dev();
        root.inherited = start.columns();
        if (!solve(root, threshold, secondsLeft, stopAt)) {
            return floor;
        }
        PriorityQueue<Node> open = new PriorityQueue<>((a, b) -> Double.compare(a.bound, b.bound));
        open.add(root);
        while (!open.isEmpty() && open.peek().bound < threshold && secondsLeft.getAsDouble() > stopAt) {
            Node n = open.peek();
            List<Node> children = split(n);
            if (children.isEmpty()) {
                break; // the least open node is one partition: no split raises the least over the open nodes
            }
            open.poll();
            for (Node c : children) {
                if (!solve(c, threshold, secondsLeft, stopAt)) {
                    // the time ran out within the child: it keeps its parent's bound (valid over its partitions)
                    c.bound = n.bound;
                }
                if (c.bound < threshold) {
                    open.add(c);
                }
            }
        }
        complete = open.isEmpty() || open.peek().bound >= threshold || split(open.peek()).isEmpty();
        return Math.max(floor, Math.min(threshold, open.isEmpty() ? threshold : open.peek().bound));
    }

    /**
     * The two children of a node: the cut where the partitions of its game's mixture disagree most (the largest weighted
     * mean distance of their ends from their mean), split after its weighted mean end; where they agree, the widest range
     * halved. Each child's other ranges narrowed to what the ends' order allows. None where the node is one partition.
     */
    private List<Node> split(Node n) {
        int arg = -1;
        double most = 0;
        double at = 0;
        if (n.mix != null) {
            for (int j = 0; j + 1 < chunks; j++) {
                if (n.hi[j] <= n.lo[j]) {
                    continue;
                }
                double mean = 0;
                double w = 0;
                for (int c = 0; c < n.cols.size(); c++) {
                    mean += n.mix[c] * n.cols.get(c)[j];
                    w += n.mix[c];
                }
                if (w <= 0) {
                    continue;
                }
                mean /= w;
                double spread = 0;
                for (int c = 0; c < n.cols.size(); c++) {
                    spread += n.mix[c] * Math.abs(n.cols.get(c)[j] - mean);
                }
                if (spread > most * (1 + 1e-12) + 1e-12) {
                    most = spread;
                    arg = j;
                    at = mean;
                }
            }
        }
        if (arg < 0) {
            int widest = 0;
            for (int j = 0; j + 1 < chunks; j++) {
                if (n.hi[j] - n.lo[j] > widest) {
                    widest = n.hi[j] - n.lo[j];
                    arg = j;
                    at = (n.lo[j] + n.hi[j]) / 2.0;
                }
            }
            if (arg < 0) {
                return List.of(); // one partition: its bound is the dual over it alone
            }
        }
        int s = Math.max(n.lo[arg], Math.min(n.hi[arg] - 1, (int) Math.floor(at)));
        List<Node> r = new ArrayList<>(2);
        for (int side = 0; side < 2; side++) {
            int[] lo = n.lo.clone();
            int[] hi = n.hi.clone();
            if (side == 0) {
                hi[arg] = s;
            } else {
                lo[arg] = s + 1;
            }
            boolean empty = false;
            for (int j = 1; j < chunks; j++) {
                lo[j] = Math.max(lo[j], lo[j - 1] + 1);
            }
            for (int j = chunks - 2; j >= 0; j--) {
                hi[j] = Math.min(hi[j], hi[j + 1] - 1);
            }
            for (int j = 0; j < chunks; j++) {
                empty |= lo[j] > hi[j];
            }
            if (empty) {
                continue;
            }
            Node c = new Node(lo, hi);
            c.bound = n.bound;
            c.rows = n.rows;
            c.agg = n.agg;
            c.dev = n.dev;
            c.inherited = handedColumns(n);
            r.add(c);
        }
        return r;
    }

    /**
     * The node's dual: its parent's weights over the node's partitions first (at least the parent's bound), then the
     * double oracle's rounds. Sets the node's bound (at least its parent's), its rows, best weights, columns and their
     * last mixture. False where the time ran short before the first program (the node keeps its parent's bound).
     */
    private boolean solve(Node n, double threshold, DoubleSupplier secondsLeft, double stopAt) {
        if (secondsLeft.getAsDouble() <= stopAt) {
            return false;
        }
        nodes++;
        List<PipelineBound.Path> rows = new ArrayList<>(n.rows);
        Set<PipelineBound.Path> known = new HashSet<>(rows);
        List<double[]> vals = new ArrayList<>();
        Set<List<Integer>> seen = new HashSet<>();
        int[] first = new int[chunks];
        double got = pb.partition(n.agg, n.dev, chunks, first, n.lo, n.hi);
        if (got == Double.POSITIVE_INFINITY) {
            n.bound = Double.POSITIVE_INFINITY; // no partition here
            return true;
        }
        double best = Math.max(n.bound, got);
        double[] bestAgg = n.agg;
        double[] bestDev = n.dev;
        for (int[] e : n.inherited) {
            boolean within = true;
            for (int j = 0; j < chunks && within; j++) {
                within = e[j] >= n.lo[j] && e[j] <= n.hi[j];
            }
            if (within && seen.add(key(e))) {
                vals.add(pb.values(e));
                n.cols.add(e);
            }
        }
        n.inherited = List.of();
        addColumn(n, first, vals, seen, rows, known);
        double[] lambda = null;
        int stall = 0;
        for (int round = 0; round < NODE_ROUNDS && best < threshold && secondsLeft.getAsDouble() > stopAt; round++) {
            double[][] a = new double[rows.size()][vals.size()];
            for (int r = 0; r < a.length; r++) {
                for (int c = 0; c < vals.size(); c++) {
                    a[r][c] = rows.get(r).length(vals.get(c), p);
                }
            }
            double[][] mixed = PipelineBound.game(a);
            lambda = mixed[0];
            n.mix = mixed[1];
            double[][] w = PipelineBound.weights(lambda, rows::get, chunks, p);
            double[] agg = w[0];
            double[] dev = w[1];
            int[] next = new int[chunks];
            double value = pb.partition(agg, dev, chunks, next, n.lo, n.hi);
            // smoothed towards the best weights so far, as the dual's (the bound is concave in the weights)
            double s = PipelineBound.smoothing;
            int[] also = null;
            if (s > 0) {
                double[] sAgg = PipelineBound.between(s, bestAgg, agg);
                double[] sDev = PipelineBound.between(s, bestDev, dev);
                also = new int[chunks];
                double sValue = pb.partition(sAgg, sDev, chunks, also, n.lo, n.hi);
                if (sValue > value) {
                    value = sValue;
                    agg = sAgg;
                    dev = sDev;
                }
            }
            stall = value > best * (1 + PipelineBound.DUAL_STALL) ? 0 : stall + 1;
            if (value > best) {
                best = value;
                bestAgg = agg;
                bestDev = dev;
            }
            if (stall >= 3) {
                break;
            }
            // the rows' answer to the columns' mixture, and the new columns with their own longest paths
            double[] mean = new double[vals.get(0).length];
            for (int c = 0; c < vals.size(); c++) {
                for (int i = 0; i < mean.length; i++) {
                    mean[i] += mixed[1][c] * vals.get(c)[i];
                }
            }
            int before = rows.size();
            int cols = vals.size();
            addRows(PipelineBound.profiles(mean, chunks), rows, known);
            addColumn(n, next, vals, seen, rows, known);
            if (also != null) {
                addColumn(n, also, vals, seen, rows, known);
            }
            if (rows.size() == before && vals.size() == cols) {
                break; // neither side has a new answer
            }
        }
        n.bound = best;
        n.agg = bestAgg;
        n.dev = bestDev;
        // the rows handed on: those the last game played, then the newest
        List<PipelineBound.Path> handed = new ArrayList<>();
        Set<PipelineBound.Path> in = new HashSet<>();
        if (lambda != null) {
            for (int r = 0; r < lambda.length && handed.size() < ROWS_HANDED; r++) {
                if (lambda[r] > 0 && in.add(rows.get(r))) {
                    handed.add(rows.get(r));
                }
            }
        }
        for (int r = rows.size() - 1; r >= 0 && handed.size() < ROWS_HANDED; r--) {
            if (in.add(rows.get(r))) {
                handed.add(rows.get(r));
            }
        }
        n.rows = handed;
        if (n.mix != null && n.mix.length < n.cols.size()) {
            n.mix = java.util.Arrays.copyOf(n.mix, n.cols.size()); // the columns after the last game: unplayed
        }
        return true;
    }

    /** The most columns handed from a node to its children: those its last game played, then the newest. */
    static final int COLUMNS_HANDED = 40;

    private List<int[]> handedColumns(Node n) {
        List<int[]> r = new ArrayList<>();
        for (int c = 0; c < n.cols.size() && r.size() < COLUMNS_HANDED; c++) {
            if (n.mix != null && c < n.mix.length && n.mix[c] > 0) {
                r.add(n.cols.get(c));
            }
        }
        for (int c = n.cols.size() - 1; c >= 0 && r.size() < COLUMNS_HANDED; c--) {
            if (n.mix == null || c >= n.mix.length || !(n.mix[c] > 0)) {
                r.add(n.cols.get(c));
            }
        }
        return r;
    }

    private static List<Integer> key(int[] ends) {
        List<Integer> key = new ArrayList<>(ends.length);
        for (int e : ends) {
            key.add(e);
        }
        return key;
    }

    private void addColumn(Node n, int[] ends, List<double[]> vals, Set<List<Integer>> seen, List<PipelineBound.Path> rows,
            Set<PipelineBound.Path> known) {
        if (!seen.add(key(ends))) {
            return;
        }
        double[] v = pb.values(ends);
        vals.add(v);
        n.cols.add(ends.clone());
        addRows(PipelineBound.profiles(v, chunks), rows, known);
    }

    private void addRows(List<org.shardplan.planner.pipeline.StageProfile> ps, List<PipelineBound.Path> rows,
            Set<PipelineBound.Path> known) {
        for (PipelineBound.Path x : paths.trace(ps)) {
            if (known.add(x)) {
                rows.add(x);
            }
        }
    }
}
