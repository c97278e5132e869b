package org.shardplan.planner;

import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * A lower bound on the step of every plan of one schedule and shape over every partition of the segments into {@code
 * chunks} chunks that prices each chunk as a whole: for a set of paths of the op order (rows), the least over partitions
 * of the largest over chunks {@code j} and rows {@code r} of
 *
 * <pre>  Phi_{r,j}(s, e) = g_r(j, s) + c_r(j; s, e) + h_r(j + 1, e)</pre>
 *
 * where chunk {@code j} is segments {@code [s, e)}, {@code c_r} is row {@code r}'s terms of that chunk ({@link
 * PipelineBound.Path#length}'s, on the chunk's least values), {@code g_r(j, s)} the least over the partitions of segments
 * {@code [0, s)} into chunks {@code 0..j-1} of the row's terms of those chunks, and {@code h_r(j + 1, e)} the same for
 * {@code [e, K)} and the chunks after {@code j}. On any partition {@code P} whose chunk {@code j} is {@code [s, e)},
 * {@code Phi_{r,j} <= L_r(P) <= } the step of every plan with {@code P}, so the least over partitions of the largest
 * {@code Phi} is a bound; it is a bottleneck program over the cuts (chunk by chunk, the largest so far least), exact.
 *
 * <p>What it sees that the dual ({@link PipelineBound#dual}) does not: a row is priced on one partition's chunk, so
 * the path that runs every micro-batch through a chunk is priced on that chunk as a partition cuts it, not on a mixture
 * of partitions that spreads it; what it gives up: each row's other chunks are cut as suits that row. The two are
 * different relaxations of the same least; the larger of the two holds. O(rows (p v K^2) + rows p v K^2).
 */
final class ChunkDwellBound {
    private final PipelineBound pb;
    private final int p;
    private final int chunks;
    private final int k;
    private final double[] t;

    /** The rows the last {@link #bound} priced. */
    int rowsUsed;

    ChunkDwellBound(PipelineBound pb, int p, int chunks) {
        this.pb = pb;
        this.p = p;
        this.chunks = chunks;
        this.k = pb.segments();
        this.t = pb.table();
    }

    /** The most numbers of the table of the largest {@code Phi} per chunk and cut pair (160 MB). */
    static final long CELLS = 20_000_000;

    /**
     * Whether the chunks' values are tabled (at most {@link PipelineBound#TABLE_SEGMENTS} segments) and the table of
     * {@code Phi} (chunks times (K + 1)^2 numbers) within {@link #CELLS}: else no bound.
     */
    boolean available() {
        return t != null && chunks >= 1 && chunks <= k && (long) chunks * (k + 1) * (k + 1) <= CELLS;
    }

    /**
     * A row: per chunk its coefficients of the chunk's values ({@link PipelineBound.Path#PARTS} a chunk) and of the chunk's
     * reduction and update ({@code dev}): a path (1 on its device's chunks) or a distribution over paths (their weighted
     * sums, {@link PipelineBound#dual}'s weights), at most the step of every plan either way.
     */
    private record Row(double[] coef, double[] dev) {
    }

    private Row row(PipelineBound.Path r) {
        double[] dev = new double[chunks];
        for (int j = r.device(); j < chunks; j += p) {
            dev[j] = 1;
        }
        return new Row(r.coef(), dev);
    }

    /** Row {@code r}'s terms of chunk {@code j} over segments {@code [st, e)}. O(1). */
    private double cost(Row r, int j, int st, int e) {
        int x = (e * k + st) * PipelineBound.Path.VALUES;
        int o = j * PipelineBound.Path.PARTS;
        double[] c = r.coef();
        double v = 0;
        for (int i = 0; i < PipelineBound.Path.PARTS; i++) {
            v += c[o + i] * t[x + i];
        }
        double d = r.dev()[j];
        if (d != 0) {
            v += d * (t[x + PipelineBound.Path.SYNC] + t[x + PipelineBound.Path.UPDATE]);
        }
        return v;
    }

    private int endLo(int j) {
        return j == chunks - 1 ? k : j + 1;
    }

    private int endHi(int j) {
        return k - (chunks - 1 - j);
    }

    /** {@code g[j][s]}: the least of the row's terms of chunks {@code 0..j-1} cut from segments {@code [0, s)}. */
    private double[][] prefix(Row r) {
        double[][] g = new double[chunks][k + 1];
        for (double[] a : g) {
            java.util.Arrays.fill(a, Double.POSITIVE_INFINITY);
        }
        g[0][0] = 0;
        for (int j = 1; j < chunks; j++) {
            // chunk j - 1 ends at e, starts at s
            for (int e = endLo(j - 1); e <= endHi(j - 1); e++) {
                double least = Double.POSITIVE_INFINITY;
                for (int s = j - 1; s < e; s++) {
                    double before = g[j - 1][s];
                    if (before == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    least = Math.min(least, before + cost(r, j - 1, s, e));
                }
                g[j][e] = least;
            }
        }
        return g;
    }

    /** {@code h[j][e]}: the least of the row's terms of chunks {@code j..} cut from segments {@code [e, K)} ({@code h[chunks][K] = 0}). */
    private double[][] suffix(Row r) {
        double[][] h = new double[chunks + 1][k + 1];
        for (double[] a : h) {
            java.util.Arrays.fill(a, Double.POSITIVE_INFINITY);
        }
        h[chunks][k] = 0;
        for (int j = chunks - 1; j >= 1; j--) {
            // chunk j starts at s (chunk j - 1's end) and ends at e
            for (int s = endLo(j - 1); s <= endHi(j - 1); s++) {
                double least = Double.POSITIVE_INFINITY;
                for (int e = Math.max(s + 1, endLo(j)); e <= endHi(j); e++) {
                    double after = h[j + 1][e];
                    if (after == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    least = Math.min(least, cost(r, j, s, e) + after);
                }
                h[j][s] = least;
            }
        }
        return h;
    }

    /**
     * The bound over the rows {@code rows} (at most {@code most} of them, in order), capped at {@code threshold}; 0 where
     * the time {@code secondsLeft} gives falls to {@code stopAt} before the last row's tables (no bound from a part).
     */
    double bound(List<PipelineBound.Path> rows, int most, double threshold, DoubleSupplier secondsLeft, double stopAt) {
        return bound(rows, most, null, null, threshold, secondsLeft, stopAt);
    }

    /**
     * {@link #bound(List, int, double, DoubleSupplier, double)} with one more row where {@code agg} is not null: the
     * distribution over paths whose coefficients per chunk are {@code agg} and per chunk's reduction and update {@code
     * dev} ({@link PipelineBound.DualState}'s best weights). Alone, that row gives the least over partitions of its
     * weighted sum: the dual's own bound; the paths beside it can only raise it.
     */
    double bound(List<PipelineBound.Path> paths, int most, double[] agg, double[] dev, double threshold,
            DoubleSupplier secondsLeft, double stopAt) {
        List<Row> rows = new java.util.ArrayList<>();
        if (agg != null) {
            rows.add(new Row(agg, dev));
        }
        for (int i = 0; i < Math.min(most, paths.size()); i++) {
            rows.add(row(paths.get(i)));
        }
        int n = rows.size();
        rowsUsed = 0;
        if (!available() || n == 0) {
            return 0;
        }
        // phi[j][e * (K + 1) + s]: the largest over the rows of Phi_{r,j}(s, e)
        double[][] phi = new double[chunks][];
        for (int j = 0; j < chunks; j++) {
            phi[j] = new double[(k + 1) * (k + 1)];
        }
        for (int i = 0; i < n; i++) {
            if (secondsLeft.getAsDouble() <= stopAt) {
                return 0;
            }
            Row r = rows.get(i);
            double[][] g = prefix(r);
            double[][] h = suffix(r);
            for (int j = 0; j < chunks; j++) {
                double[] ph = phi[j];
                for (int e = endLo(j); e <= endHi(j); e++) {
                    double after = h[j + 1][e];
                    if (after == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    int sLo = j == 0 ? 0 : j;
                    int sHi = j == 0 ? 0 : e - 1;
                    for (int s = sLo; s <= sHi; s++) {
                        double before = g[j][s];
                        if (before == Double.POSITIVE_INFINITY) {
                            continue;
                        }
                        double v = before + cost(r, j, s, e) + after;
                        int x = e * (k + 1) + s;
                        if (v > ph[x]) {
                            ph[x] = v;
                        }
                    }
                }
            }
            rowsUsed++;
        }
        // the bottleneck program: d[e], the least over the cuts of chunks 0..j ending at e of their largest phi
        double[] d = new double[k + 1];
        java.util.Arrays.fill(d, Double.POSITIVE_INFINITY);
        for (int e = endLo(0); e <= endHi(0); e++) {
            d[e] = phi[0][e * (k + 1)];
        }
        for (int j = 1; j < chunks; j++) {
            double[] next = new double[k + 1];
            java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
            double[] ph = phi[j];
            for (int e = endLo(j); e <= endHi(j); e++) {
                double least = Double.POSITIVE_INFINITY;
                for (int s = j; s < e; s++) {
                    if (d[s] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    least = Math.min(least, Math.max(d[s], ph[e * (k + 1) + s]));
                }
                next[e] = least;
            }
            d = next;
        }
        return Math.min(threshold, d[k]);
    }
}
