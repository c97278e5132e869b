package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Exact min-sum variable elimination (bucket elimination, Dechter 1999) over compact
 * {@link Factor}s: nodes are eliminated one at a time, each time replacing the tables that mention
 * the node by one table over its neighbours that holds, for every combination of their strategies,
 * the cheapest cost of the eliminated node's part; back-substitution then reads the choices off the
 * stored argmin tables.
 *
 * <p>It subsumes the reductions of OptCNN (Jia et al., ICML 2018): eliminating a node with one
 * neighbour folds its costs into that neighbour (node elimination of a leaf), eliminating a node
 * with two neighbours makes one edge of a min-plus product (edge/node elimination of a chain), and
 * a new table over two nodes that already share one is added into it (parallel edges merged).
 * Beyond that it runs on graphs of any shape, like PaSE's dynamic program (Elango, IPDPS 2021), but
 * with a greedy order that eliminates next the node whose step is cheapest (output classes x
 * strategy groups, so degree-1 and degree-2 nodes and tiny domains go first), and in the compact
 * class space: a node's strategies that look the same to all its tables form one group (only the
 * cheapest is kept), and a neighbour's strategies that look the same form one class.
 *
 * <p>Running time: the sum over steps of (output classes x groups x tables involved); memory: the
 * live tables plus the argmin tables. Both are computed exactly before a step allocates anything; a
 * step over the byte budget throws {@link TooLarge} and a step past the deadline throws
 * {@link OutOfTime}, so the program never runs out of memory or past its time.
 */
final class VariableElimination {

    /** No assignment avoids the forbidden pairs. */
    static final class Infeasible extends Exception {
        private static final long serialVersionUID = 1L;

        Infeasible(String message) {
            super(message);
        }
    }

    /** A table would exceed the memory budget. */
    static final class TooLarge extends Exception {
        private static final long serialVersionUID = 1L;

        TooLarge(String message) {
            super(message);
        }
    }

    /** The deadline passed. */
    static final class OutOfTime extends Exception {
        private static final long serialVersionUID = 1L;

        OutOfTime(String message) {
            super(message);
        }
    }

    /** The optimum and one optimal assignment. */
    record Result(double value, int[] choices) {
    }

    /** What the last run did, for reports. */
    static final class Stats {
        /** Steps by number of neighbours of the eliminated node (index 3 = three or more). */
        final int[] stepsByNeighbours = new int[4];
        long largestTable;
        int largestNeighbourhood;
        long peakBytes;
        long work;
        String order = "";
        double estimatedWork;

        void reset() {
            java.util.Arrays.fill(stepsByNeighbours, 0);
            largestTable = 0;
            largestNeighbourhood = 0;
            peakBytes = 0;
            work = 0;
        }

        String describe() {
            return order + " order, eliminated " + stepsByNeighbours[0] + " isolated, " + stepsByNeighbours[1] + " degree-1, "
                    + stepsByNeighbours[2] + " degree-2 and " + stepsByNeighbours[3]
                    + " higher-degree nodes (largest neighbourhood " + largestNeighbourhood + ", largest table "
                    + largestTable + " entries, peak " + (peakBytes >> 20) + " MiB of tables)";
        }
    }

    private static final boolean TRACE = Boolean.getBoolean("shardplan.dp.trace");

    /**
     * Whether a node with one neighbour and one factor with it has that factor's rows sorted lazily by the scans that
     * read them ({@link Scan#scan1Lazy}) rather than each sorted whole first ({@code -Dshardplan.lazyRows=false}: whole;
     * tests set it). Each row is read by one scan, which mostly stops after a few positions.
     */
    static boolean lazyRowSort = !"false".equals(System.getProperty("shardplan.lazyRows"));

    /** The eliminations whose rows were sorted lazily ({@link #lazyRowSort}), for tests. */
    static final java.util.concurrent.atomic.AtomicLong LAZY_ELIMINATIONS = new java.util.concurrent.atomic.AtomicLong();

    private final Problem problem;
    private final int n;
    private final int[] k;
    private final List<Factor> initial;
    private final long budgetBytes;
    private final long deadlineNanos;
    final Stats stats = new Stats();

    VariableElimination(Problem problem, List<Factor> factors, long budgetBytes, long deadlineNanos) {
        this.problem = problem;
        this.n = problem.size();
        this.k = new int[n];
        for (int i = 0; i < n; i++) {
            k[i] = problem.strategies(i);
        }
        this.initial = factors;
        this.budgetBytes = budgetBytes;
        this.deadlineNanos = deadlineNanos;
    }

    // per-run state
    private double[][] unary;
    private List<List<Factor>> adj;
    private long liveBytes;

    /** One elimination step, planned before anything large is allocated. */
    private static final class Step {
        int v;
        Factor[] fs;
        int[] nbrs;
        int[][] joined;
        int[] counts;
        int[][] reps;
        int groups;
        int[] groupStrategy;
        double[] groupUnary;
        long outSize;
        double work;
    }

    /** What back-substitution needs of one step. */
    private record Record(int v, int[] nbrs, int[][] joined, int[] strides, int[] arg) {
    }

    /** Minimises sum of {@code unary} (+inf = excluded strategy) plus all factors. */
    Result run(double[][] unaryCosts) throws Infeasible, TooLarge, OutOfTime {
        return run(unaryCosts, null);
    }

    /**
     * The order {@link #run} takes for these node costs ({@link EliminationOrder#choose} on the allowed
     * strategies' counts), with its estimated work: what a caller checks before starting.
     */
    static EliminationOrder.Plan order(double[][] unaryCosts, List<Factor> factors) {
        int[] weight = new int[unaryCosts.length];
        for (int i = 0; i < weight.length; i++) {
            weight[i] = Math.max(1, CompiledProblem.alive(deadOf(unaryCosts[i])).length);
        }
        List<int[]> scopes = new ArrayList<>();
        for (Factor f : factors) {
            scopes.add(f.vars);
        }
        return EliminationOrder.choose(weight, scopes);
    }

    /** {@link #run(double[][])} in a given order ({@link #order}; null: chosen here). */
    Result run(double[][] unaryCosts, EliminationOrder.Plan given) throws Infeasible, TooLarge, OutOfTime {
        stats.reset();
        unary = new double[n][];
        for (int i = 0; i < n; i++) {
            unary[i] = unaryCosts[i].clone();
            if (CompiledProblem.alive(deadOf(unary[i])).length == 0) {
                throw new Infeasible("node " + name(i) + " has no allowed strategy");
            }
        }
        adj = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            adj.add(new ArrayList<>());
        }
        liveBytes = 0;
        for (Factor f : initial) {
            for (int v : f.vars) {
                adj.get(v).add(f);
            }
            liveBytes += f.bytes();
        }
        boolean[] done = new boolean[n];
        Step[] plans = new Step[n];
        List<Record> records = new ArrayList<>(n);
        double constant = 0;
        int[] weight = new int[n];
        for (int i = 0; i < n; i++) {
            weight[i] = CompiledProblem.alive(deadOf(unary[i])).length;
        }
        List<int[]> scopes = new ArrayList<>();
        for (Factor f : initial) {
            scopes.add(f.vars);
        }
        EliminationOrder.Plan order = given != null ? given : EliminationOrder.choose(weight, scopes);
        stats.order = order.heuristic();
        stats.estimatedWork = order.work();
        for (int step = 0; step < n; step++) {
            int best = order.order()[step];
            if (plans[best] == null) {
                plans[best] = plan(best);
            }
            Step s = plans[best];
            done[best] = true;
            plans[best] = null;
            for (int u : s.nbrs) {
                plans[u] = null;
            }
            long tt0 = System.nanoTime();
            double c = eliminate(s, records, plans);
            constant += c;
            if (TRACE && System.nanoTime() - tt0 > 20_000_000L) {
                StringBuilder tb = new StringBuilder();
                for (int b = 0; b < s.nbrs.length; b++) {
                    tb.append(' ').append(name(s.nbrs[b])).append('/').append(s.counts[b]);
                }
                System.err.printf("step %d %s groups %d (k %d) out %d nf %d: %.3f s;%s%n", step, name(best), s.groups,
                        k[best], s.outSize, s.fs.length, (System.nanoTime() - tt0) / 1e9, tb);
            }
            if (System.nanoTime() > deadlineNanos) {
                throw new OutOfTime("time limit reached after eliminating " + (step + 1) + " of " + n + " nodes");
            }
        }
        int[] choice = new int[n];
        for (int i = records.size() - 1; i >= 0; i--) {
            Record r = records.get(i);
            int idx = 0;
            for (int b = 0; b < r.nbrs.length; b++) {
                idx += r.joined[b][choice[r.nbrs[b]]] * r.strides[b];
            }
            choice[r.v] = r.arg[idx];
        }
        return new Result(constant, choice);
    }

    private Step plan(int v) {
        Step s = new Step();
        s.v = v;
        List<Factor> fs = adj.get(v);
        s.fs = fs.toArray(new Factor[0]);
        int[] nb = new int[0];
        for (Factor f : s.fs) {
            for (int u : f.vars) {
                if (u != v && Arrays.binarySearch(nb, u) < 0) {
                    nb = Arrays.copyOf(nb, nb.length + 1);
                    nb[nb.length - 1] = u;
                    Arrays.sort(nb);
                }
            }
        }
        s.nbrs = nb;
        s.joined = new int[nb.length][];
        s.counts = new int[nb.length];
        s.reps = new int[nb.length][];
        long out = 1;
        for (int b = 0; b < nb.length; b++) {
            int u = nb[b];
            int[] joined = new int[k[u]];
            int count = join(u, s.fs, joined);
            s.joined[b] = joined;
            s.counts[b] = count;
            s.reps[b] = reps(u, joined, count);
            out = satMul(out, count);
        }
        int[] gid = new int[k[v]];
        int groups = join(v, s.fs, gid);
        int[] gs = new int[groups];
        double[] gu = new double[groups];
        Arrays.fill(gs, -1);
        Arrays.fill(gu, Double.POSITIVE_INFINITY);
        for (int x = 0; x < k[v]; x++) {
            double c = unary[v][x];
            if (c == Double.POSITIVE_INFINITY) {
                continue;
            }
            int g = gid[x];
            if (gs[g] < 0 || c < gu[g]) {
                gs[g] = x;
                gu[g] = c;
            }
        }
        s.groups = groups;
        s.groupStrategy = gs;
        s.groupUnary = gu;
        s.outSize = out;
        s.work = (double) out * Math.max(1, groups) * Math.max(1, s.fs.length) + out;
        return s;
    }

    /** Joins the classes of node u over all factors in fs that mention it; alive strategies only. */
    private int join(int u, Factor[] fs, int[] out) {
        Arrays.fill(out, 0);
        int count = 1;
        boolean any = false;
        // the pairs (group so far, class on f's axis) numbered by first appearance, in an open-addressing table
        int cap = Integer.highestOneBit(Math.max(2, k[u])) << 2;
        long[] slotKey = new long[cap];
        int[] slotId = new int[cap];
        for (Factor f : fs) {
            int a = f.axisOf(u);
            if (a < 0) {
                continue;
            }
            Arrays.fill(slotId, -1);
            int next = 0;
            for (int x = 0; x < k[u]; x++) {
                if (unary[u][x] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                long key = (long) out[x] * f.dims[a] + f.cls[a][x];
                long z = key * 0x9E3779B97F4A7C15L;
                int slot = (int) (z ^ (z >>> 32)) & (cap - 1);
                while (slotId[slot] >= 0 && slotKey[slot] != key) {
                    slot = (slot + 1) & (cap - 1);
                }
                if (slotId[slot] < 0) {
                    slotKey[slot] = key;
                    slotId[slot] = next++;
                }
                out[x] = slotId[slot];
            }
            count = Math.max(1, next);
            any = true;
        }
        if (!any) {
            count = 1;
        }
        for (int x = 0; x < k[u]; x++) {
            if (unary[u][x] == Double.POSITIVE_INFINITY) {
                out[x] = 0;
            }
        }
        return count;
    }

    private int[] reps(int u, int[] joined, int count) {
        int[] rep = new int[count];
        Arrays.fill(rep, -1);
        for (int x = 0; x < k[u]; x++) {
            if (unary[u][x] != Double.POSITIVE_INFINITY && rep[joined[x]] < 0) {
                rep[joined[x]] = x;
            }
        }
        for (int j = 0; j < count; j++) {
            if (rep[j] < 0) {
                rep[j] = 0;
            }
        }
        return rep;
    }

    private double eliminate(Step s, List<Record> records, Step[] plans) throws Infeasible, TooLarge, OutOfTime {
        int v = s.v;
        int G = s.groups;
        int nf = s.fs.length;
        int d = s.nbrs.length;
        // exact memory needed by this step, before allocating it
        long gathered = 0;
        for (Factor f : s.fs) {
            gathered += (long) (f.table.length / f.dims[f.axisOf(v)]) * G;
        }
        long need = s.outSize * 12 + gathered * 20; // table + argmin, gathered factors + their sorted rows
        if (s.outSize > Integer.MAX_VALUE - 16 || gathered > Integer.MAX_VALUE - 16
                || liveBytes + need > budgetBytes) {
            throw new TooLarge("eliminating node " + name(v) + " needs a table of " + s.outSize + " entries over "
                    + d + " neighbours (" + ((liveBytes + need) >> 20) + " MiB with the live tables), over the budget of "
                    + (budgetBytes >> 20) + " MiB");
        }
        stats.peakBytes = Math.max(stats.peakBytes, liveBytes + need);
        stats.largestTable = Math.max(stats.largestTable, s.outSize);
        stats.largestNeighbourhood = Math.max(stats.largestNeighbourhood, d);
        stats.stepsByNeighbours[Math.min(3, d)]++;
        stats.work += (long) s.work;

        // gather each factor as [reduced index over its other axes][group], groups contiguous
        double[][] m = new double[nf][];
        int[][][] map = new int[nf][][]; // map[i][b] : output class of nbr b -> reduced-index contribution
        for (int i = 0; i < nf; i++) {
            Factor f = s.fs[i];
            int av = f.axisOf(v);
            int rsize = f.table.length / f.dims[av];
            int[] rstr = new int[f.vars.length];
            int acc = 1;
            for (int a = f.vars.length - 1; a >= 0; a--) {
                if (a == av) {
                    continue;
                }
                rstr[a] = acc;
                acc *= f.dims[a];
            }
            double[] g = new double[rsize * G];
            int[] idx = new int[f.vars.length];
            for (int r = 0; r < rsize; r++) {
                int off = 0;
                for (int a = 0; a < f.vars.length; a++) {
                    off += idx[a] * f.strides[a];
                }
                int base = r * G;
                for (int q = 0; q < G; q++) {
                    int x = s.groupStrategy[q];
                    g[base + q] = x < 0 ? Double.POSITIVE_INFINITY : f.table[off + f.cls[av][x] * f.strides[av]];
                }
                for (int a = f.vars.length - 1; a >= 0; a--) {
                    if (a == av) {
                        continue;
                    }
                    if (++idx[a] < f.dims[a]) {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            m[i] = g;
            map[i] = new int[d][];
            for (int b = 0; b < d; b++) {
                int a = f.axisOf(s.nbrs[b]);
                int[] mm = new int[s.counts[b]];
                if (a >= 0) {
                    for (int j = 0; j < s.counts[b]; j++) {
                        mm[j] = f.cls[a][s.reps[b][j]] * rstr[a];
                    }
                }
                map[i][b] = mm;
            }
        }
        int size = (int) s.outSize;
        double[] table = new double[size];
        int[] arg = new int[size];
        boolean anyFinite = minimise(s, m, map, table, arg);
        if (!anyFinite) {
            StringBuilder sb = new StringBuilder();
            for (int u : s.nbrs) {
                sb.append(sb.length() == 0 ? "" : ", ").append(name(u));
            }
            throw new Infeasible("forbidden pairs leave no valid assignment: node " + name(v)
                    + " has no strategy compatible with " + (d == 0 ? "the rest of the graph" : "any strategies of " + sb));
        }
        int[] strides = new int[d];
        int acc = 1;
        for (int b = d - 1; b >= 0; b--) {
            strides[b] = acc;
            acc *= s.counts[b];
        }
        records.add(new Record(v, s.nbrs, s.joined, strides, arg));
        liveBytes += 4L * size;
        for (Factor f : s.fs) {
            for (int u : f.vars) {
                adj.get(u).remove(f);
            }
            liveBytes -= f.bytes();
        }
        if (d == 0) {
            return table[0];
        }
        if (d == 1) {
            int u = s.nbrs[0];
            boolean changedAlive = false;
            boolean anyAlive = false;
            for (int x = 0; x < k[u]; x++) {
                if (unary[u][x] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                unary[u][x] += table[s.joined[0][x]];
                if (unary[u][x] == Double.POSITIVE_INFINITY) {
                    changedAlive = true;
                } else {
                    anyAlive = true;
                }
            }
            if (!anyAlive) {
                throw new Infeasible("forbidden pairs leave no valid assignment: every strategy of node " + name(u)
                        + " is forbidden with every strategy of node " + name(v));
            }
            if (changedAlive) {
                for (Factor f : adj.get(u)) {
                    for (int w : f.vars) {
                        plans[w] = null;
                    }
                }
            }
            plans[u] = null;
            return 0;
        }
        Factor nf2 = new Factor(s.nbrs, s.joined, s.counts, table).compress();
        List<Factor> first = adj.get(s.nbrs[0]);
        Factor same = null;
        for (Factor f : first) {
            if (f.sameScope(nf2)) {
                same = f;
                break;
            }
        }
        if (same != null) {
            for (int u : same.vars) {
                adj.get(u).remove(same);
            }
            liveBytes -= same.bytes();
            nf2 = Factor.sum(same, nf2);
        }
        for (int u : nf2.vars) {
            adj.get(u).add(nf2);
        }
        liveBytes += nf2.bytes();
        return 0;
    }

    /**
     * Fills {@code table[o] = min_q (groupUnary[q] + sum_f M_f[o][q])} and its argmin for every output
     * index o. The neighbour with the most classes is the innermost axis; for each setting of the other
     * axes the groups are sorted by their cost from the factors that do not mention that axis, and the
     * scan over groups stops as soon as that cost plus the row minimum of the remaining factors cannot
     * beat the best found. Exact; on parallelization costs, where most strategies are far from the best,
     * it looks at a small fraction of the groups.
     */
    private boolean minimise(Step s, double[][] m, int[][][] map, double[] table, int[] arg) throws OutOfTime {
        int d = s.nbrs.length;
        int G = s.groups;
        int nf = s.fs.length;
        double[] gu = s.groupUnary;
        int[] gs = s.groupStrategy;
        int fallback = firstAlive(s.v);
        if (d == 0) {
            double best = Double.POSITIVE_INFINITY;
            int bq = -1;
            for (int q = 0; q < G; q++) {
                double c = gu[q];
                for (int i = 0; i < nf; i++) {
                    c += m[i][q];
                }
                if (c < best) {
                    best = c;
                    bq = q;
                }
            }
            table[0] = best;
            arg[0] = bq < 0 ? fallback : gs[bq];
            return best != Double.POSITIVE_INFINITY;
        }
        // the innermost axis: a neighbour whose tables with v are all pairwise (their rows can be
        // sorted once), the one with the most classes among those
        int last = -1;
        boolean lastPairwise = false;
        for (int b = 0; b < d; b++) {
            boolean pairwise = true;
            for (Factor f : s.fs) {
                if (f.vars.length > 2 && f.axisOf(s.nbrs[b]) >= 0) {
                    pairwise = false;
                }
            }
            if (last < 0 || (pairwise && !lastPairwise)
                    || (pairwise == lastPairwise && s.counts[b] >= s.counts[last])) {
                last = b;
                lastPairwise = pairwise;
            }
        }
        int[] strides = new int[d];
        int acc = 1;
        for (int b = d - 1; b >= 0; b--) {
            strides[b] = acc;
            acc *= s.counts[b];
        }
        int nInner = 0;
        int nOuter = 0;
        int[] innerF = new int[nf];
        int[] outerF = new int[nf];
        for (int i = 0; i < nf; i++) {
            boolean mentions = false;
            for (int u : s.fs[i].vars) {
                mentions |= u == s.nbrs[last];
            }
            if (mentions) {
                innerF[nInner++] = i;
            } else {
                outerF[nOuter++] = i;
            }
        }
        // row minima of the inner factors: rowMin[i][r] = min_q M_i[r][q]
        double[][] rowMin = new double[nf][];
        for (int j = 0; j < nInner; j++) {
            int i = innerF[j];
            int rows = m[i].length / Math.max(1, G);
            double[] rm = new double[rows];
            for (int r = 0; r < rows; r++) {
                double mn = Double.POSITIVE_INFINITY;
                int base = r * G;
                for (int q = 0; q < G; q++) {
                    mn = Math.min(mn, m[i][base + q]);
                }
                rm[r] = mn;
            }
            rowMin[i] = rm;
        }
        // inner factors over (v, last neighbour) only: each row sorted once, for the threshold scan; where v has one
        // neighbour and one such factor, each row is read by one scan, which sorts it only as far as it reads (lazyRows)
        int[][][] rowOrder = new int[nf][][];
        double[][][] rowSorted = new double[nf][][];
        int nSorted = 0;
        int[] sortedF = new int[nf];
        int nStatic = 0;
        int[] staticF = new int[nf];
        final boolean lazyRows = lazyRowSort && d == 1 && nInner == 1 && s.fs[innerF[0]].vars.length == 2;
        if (lazyRows) {
            LAZY_ELIMINATIONS.incrementAndGet();
        }
        boolean innerPairwise = true;
        for (int j = 0; j < nInner; j++) {
            innerPairwise &= s.fs[innerF[j]].vars.length == 2;
        }
        // the rows of the one- and two-row scans (scan1, scan2) are sorted as far as PREFIX only
        final boolean prefixed = prefixRows && innerPairwise && nInner <= 2 && G > 2 * PREFIX;
        if (prefixed) {
            PREFIX_ELIMINATIONS.incrementAndGet();
        }
        for (int j = 0; j < nInner; j++) {
            int i = innerF[j];
            if (lazyRows) {
                sortedF[nSorted++] = i;
            } else if (s.fs[i].vars.length == 2) {
                double[] mi = m[i];
                int rows = mi.length / Math.max(1, G);
                int len = prefixed ? PREFIX : G;
                rowOrder[i] = new int[rows][len];
                rowSorted[i] = new double[rows][len];
                if (len < G) {
                    long[] heapKeys = new long[len];
                    for (int r = 0; r < rows; r++) {
                        sortPrefix(mi, r * G, G, rowOrder[i][r], rowSorted[i][r], heapKeys);
                    }
                } else {
                    double[] key = new double[G];
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(mi, r * G, key, 0, G);
                        sortByKey(key, rowOrder[i][r], rowSorted[i][r], G);
                    }
                }
                sortedF[nSorted++] = i;
            } else {
                staticF[nStatic++] = i;
            }
        }
        final int lastAxis = last;
        final int nIn = nInner;
        final int nOut = nOuter;
        final int nSort = nSorted;
        final int nStat = nStatic;
        int cl = s.counts[last];
        int outerCount = table.length / cl;
        RangeTask task = (from, to, sc) -> {
            int[] rowOf = new int[nf];
            int[] idx = new int[d];
            int rem = from;
            for (int b = d - 1; b >= 0; b--) {
                if (b != lastAxis) {
                    idx[b] = rem % s.counts[b];
                    rem /= s.counts[b];
                }
            }
            double[] partial = new double[G];
            double[] sorted = new double[G];
            int[] order = new int[G];
            sc.partialOrder = new LazyOrder(G);
            if (lazyRows) {
                sc.rowOrder = new LazyOrder(G);
                sc.rowKey = new double[G];
                sc.rowPositions = new int[G];
                sc.rowSorted = new double[G];
            }
            int[] innerBase = new int[nf];
            boolean anyFinite = false;
            for (int oc = from; oc < to; oc++) {
                if ((oc & 63) == 63 && System.nanoTime() > deadlineNanos) {
                    throw new OutOfTime("time limit reached while eliminating node " + name(s.v));
                }
                int outBase = 0;
                for (int b = 0; b < d; b++) {
                    if (b != lastAxis) {
                        outBase += idx[b] * strides[b];
                    }
                }
                System.arraycopy(gu, 0, partial, 0, G);
                for (int j = 0; j < nOut; j++) {
                    int i = outerF[j];
                    int r = 0;
                    for (int b = 0; b < d; b++) {
                        r += map[i][b][idx[b]];
                    }
                    double[] mi = m[i];
                    int off = r * G;
                    for (int q = 0; q < G; q++) {
                        partial[q] += mi[off + q];
                    }
                }
                for (int j = 0; j < nIn; j++) {
                    int i = innerF[j];
                    int r = 0;
                    for (int b = 0; b < d; b++) {
                        if (b != lastAxis) {
                            r += map[i][b][idx[b]];
                        }
                    }
                    innerBase[i] = r;
                }
                sc.partialOrder.start(partial, order, sorted, G);
                for (int c = 0; c < cl; c++) {
                    // threshold algorithm (Fagin, Lotem and Naor 2003): the groups are read in the order of
                    // the partial costs and in the order of each sorted inner row; an unseen group costs at
                    // least the sum of the frontiers plus the row minima of the other inner factors
                    double lb = 0;
                    for (int j = 0; j < nIn; j++) {
                        int i = innerF[j];
                        rowOf[i] = innerBase[i] + map[i][lastAxis][c];
                    }
                    for (int j = 0; j < nStat; j++) {
                        int i = staticF[j];
                        lb += rowMin[i][rowOf[i]];
                    }
                    long found;
                    if (lazyRows) {
                        int i = sortedF[0];
                        found = sc.scan1Lazy(G, sorted, order, partial, m[i], rowOf[i] * G);
                    } else if (nIn == 1 && nSort == 1) {
                        int i = sortedF[0];
                        found = sc.scan1(G, sorted, order, partial, rowSorted[i][rowOf[i]], rowOrder[i][rowOf[i]], m[i],
                                rowOf[i] * G);
                    } else if (nIn == 2 && nSort == 2) {
                        int i = sortedF[0];
                        int i2 = sortedF[1];
                        found = sc.scan2(G, sorted, order, partial, rowSorted[i][rowOf[i]], rowOrder[i][rowOf[i]], m[i],
                                rowOf[i] * G, rowSorted[i2][rowOf[i2]], rowOrder[i2][rowOf[i2]], m[i2], rowOf[i2] * G);
                    } else {
                        found = sc.scanAny(G, sorted, order, partial, lb, nIn, innerF, nSort, sortedF, rowSorted, rowOrder,
                                m, rowOf);
                    }
                    int bq = (int) found;
                    double best = bq < 0 ? Double.POSITIVE_INFINITY : sc.bestValue;
                    int o = outBase + c * strides[lastAxis];
                    table[o] = best;
                    arg[o] = bq < 0 ? fallback : gs[bq];
                    anyFinite |= best != Double.POSITIVE_INFINITY;
                }
                for (int b = d - 1; b >= 0; b--) {
                    if (b == lastAxis) {
                        continue;
                    }
                    if (++idx[b] < s.counts[b]) {
                        break;
                    }
                    idx[b] = 0;
                }
            }
            return anyFinite;
        };
        return runRanges(task, outerCount, (double) table.length * G * Math.max(1, nf));
    }

    /** Work on output indices [from, to) of one step, with its own scan state. */
    private interface RangeTask {
        boolean run(int from, int to, Scan sc) throws OutOfTime;
    }

    /** Threads for the large steps (system property {@code shardplan.dp.threads}, default the processors, at most 8). */
    static final int THREADS = Math.max(1, Integer.getInteger("shardplan.dp.threads",
            Math.min(8, Runtime.getRuntime().availableProcessors())));

    /** Estimated work (entries x groups x tables) above which a step is split over threads. */
    private static final double PARALLEL_WORK = 2e6;

    /**
     * Runs the task over 0..count-1, in chunks handed out to {@link #THREADS} threads when the step is
     * large. Every output index is computed alone, so the result does not depend on the split.
     */
    private static boolean runRanges(RangeTask task, int count, double work) throws OutOfTime {
        int threads = work < PARALLEL_WORK || count < 2 ? 1 : Math.min(THREADS, count);
        if (threads == 1) {
            return task.run(0, count, new Scan());
        }
        int chunks = Math.min(count, threads * 16);
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean any = new java.util.concurrent.atomic.AtomicBoolean();
        Throwable[] failure = new Throwable[threads];
        SolverThreads.runAll(threads, "shardplan-dp", false, id -> () -> {
            Scan sc = new Scan();
            try {
                for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                    int from = (int) ((long) count * c / chunks);
                    int to = (int) ((long) count * (c + 1) / chunks);
                    if (task.run(from, to, sc)) {
                        any.set(true);
                    }
                }
            } catch (OutOfTime | RuntimeException | Error e) {
                failure[id] = e;
                next.set(chunks);
            }
        });
        for (Throwable f : failure) {
            if (f instanceof OutOfTime o) {
                throw o;
            }
            SolverThreads.rethrowUnchecked(f);
        }
        return any.get();
    }

    /** The state of the threshold scans of one thread: the lazily sorted partial costs. */
    private static final class Scan {
        /** The value found by the last scan (kept in a field so the scans can return the index alone). */
        double bestValue;

        /** Threshold scan with one sorted inner row; returns the best group or -1. */
        private long scan1(int G, double[] sorted, int[] order, double[] partial, double[] rs, int[] ro, double[] mi, int off) {
            return scan1(G, sorted, order, partial, rs, ro, mi, off, null);
        }

        /** {@link #scan1} with the inner row's order made as far as the scan reads it by {@code row}, where not null. */
        private long scan1(int G, double[] sorted, int[] order, double[] partial, double[] rs, int[] ro, double[] mi, int off,
                LazyOrder row) {
            double best = Double.POSITIVE_INFINITY;
            int bq = -1;
            for (int t = 0; t < G; t++) {
                if (t >= partialOrder.filled) {
                    partialOrder.reach(t); // read as far as the scan goes (the quick compiler inlines no call)
                }
                if (row != null && t >= row.filled) {
                    row.reach(t);
                }
                if (t == rs.length) {
                    // a row sorted as far as PREFIX only: the rest of its order, made here for this scan
                    rs = wholeRow(0, mi, off, G);
                    ro = wholeOrder[0];
                }
                double pq = sorted[t];
                if (pq + rs[t] >= best || pq == Double.POSITIVE_INFINITY) {
                    break;
                }
                int q = order[t];
                double val = pq + mi[off + q];
                if (val < best || (val == best && q < bq)) {
                    best = val;
                    bq = q;
                }
                int q2 = ro[t];
                double val2 = partial[q2] + rs[t];
                if (val2 < best || (val2 == best && q2 < bq)) {
                    best = val2;
                    bq = q2;
                }
            }
            bestValue = best;
            return bq;
        }

        /**
         * {@link #scan1} with the inner row {@code mi[off .. off + G)} sorted only as far as the scan reads it ({@link
         * LazyOrder}, as the partial costs are): the same order, by value then index, so the same answer; for a row read
         * by one scan, where sorting it whole costs more than the scan.
         */
        private long scan1Lazy(int G, double[] sorted, int[] order, double[] partial, double[] mi, int off) {
            System.arraycopy(mi, off, rowKey, 0, G);
            rowOrder.start(rowKey, rowPositions, rowSorted, G);
            return scan1(G, sorted, order, partial, rowSorted, rowPositions, mi, off, rowOrder);
        }

        // the inner row's lazy sort (scan1Lazy): its values copied, its positions and values in sorted order
        LazyOrder rowOrder;
        double[] rowKey;
        int[] rowPositions;
        double[] rowSorted;

        /** Threshold scan with two sorted inner rows; returns the best group or -1. */
        private long scan2(int G, double[] sorted, int[] order, double[] partial, double[] rs, int[] ro, double[] mi,
                int off, double[] rs2, int[] ro2, double[] mi2, int off2) {
            double best = Double.POSITIVE_INFINITY;
            int bq = -1;
            for (int t = 0; t < G; t++) {
                if (t >= partialOrder.filled) {
                    partialOrder.reach(t);
                }
                if (t == rs.length) {
                    rs = wholeRow(0, mi, off, G);
                    ro = wholeOrder[0];
                }
                if (t == rs2.length) {
                    rs2 = wholeRow(1, mi2, off2, G);
                    ro2 = wholeOrder[1];
                }
                double pq = sorted[t];
                if (pq + rs[t] + rs2[t] >= best || pq == Double.POSITIVE_INFINITY) {
                    break;
                }
                int q = order[t];
                double val = pq + mi[off + q] + mi2[off2 + q];
                if (val < best || (val == best && q < bq)) {
                    best = val;
                    bq = q;
                }
                q = ro[t];
                val = partial[q] + rs[t] + mi2[off2 + q];
                if (val < best || (val == best && q < bq)) {
                    best = val;
                    bq = q;
                }
                q = ro2[t];
                val = partial[q] + mi[off + q] + rs2[t];
                if (val < best || (val == best && q < bq)) {
                    best = val;
                    bq = q;
                }
            }
            bestValue = best;
            return bq;
        }

        /** Threshold scan in general (sorted pairwise rows and row minima of the other inner factors). */
        private long scanAny(int G, double[] sorted, int[] order, double[] partial, double lb, int nInner, int[] innerF,
                int nSorted, int[] sortedF, double[][][] rowSorted, int[][][] rowOrder, double[][] m, int[] rowOf) {
            double best = Double.POSITIVE_INFINITY;
            int bq = -1;
            for (int t = 0; t < G; t++) {
                if (t >= partialOrder.filled) {
                    partialOrder.reach(t);
                }
                double threshold = sorted[t] + lb;
                for (int j = 0; j < nSorted; j++) {
                    int i = sortedF[j];
                    threshold += rowSorted[i][rowOf[i]][t];
                }
                if (threshold >= best || sorted[t] == Double.POSITIVE_INFINITY) {
                    break;
                }
                for (int cand = -1; cand < nSorted; cand++) {
                    int q = cand < 0 ? order[t] : rowOrder[sortedF[cand]][rowOf[sortedF[cand]]][t];
                    double val = partial[q];
                    for (int j = 0; j < nInner; j++) {
                        int i = innerF[j];
                        val += m[i][rowOf[i] * G + q];
                    }
                    if (val < best || (val == best && q < bq)) {
                        best = val;
                        bq = q;
                    }
                }
            }
            bestValue = best;
            return bq;
        }

        /** The partial costs' lazy sort. */
        LazyOrder partialOrder;

        // the whole orders of up to two rows sorted as far as PREFIX only, made by a scan that reads past it
        private final int[][] wholeOrder = new int[2][];
        private final double[][] wholeSorted = new double[2][];
        private double[] wholeKey;
        private long[] wholeScratch;

        /** Sorts the row {@code mi[off .. off + G)} whole into slot {@code slot}; returns its sorted values. */
        private double[] wholeRow(int slot, double[] mi, int off, int G) {
            if (wholeKey == null || wholeKey.length < G) {
                wholeKey = new double[G];
                wholeScratch = new long[G];
                wholeOrder[0] = new int[G];
                wholeOrder[1] = new int[G];
                wholeSorted[0] = new double[G];
                wholeSorted[1] = new double[G];
            }
            System.arraycopy(mi, off, wholeKey, 0, G);
            sortByKey(wholeKey, wholeOrder[slot], wholeSorted[slot], G, wholeScratch);
            ROWS_SORTED_WHOLE.incrementAndGet();
            return wholeSorted[slot];
        }
    }

    /**
     * Whether the rows read by the one- and two-row scans are sorted only as far as their first {@link #PREFIX}
     * positions, a scan that reads past them sorting the row whole for itself ({@code -Dshardplan.prefixRows=false}:
     * every row sorted whole first; tests set it). Each row is read by many scans (one per setting of the other
     * neighbours), nearly all of which stop within a few positions; the scans visit the positions in the same order,
     * so the answer is the same.
     */
    static boolean prefixRows = !"false".equals(System.getProperty("shardplan.prefixRows"));

    /** The eliminations whose rows were sorted as far as {@link #PREFIX}, and the scans that read past it (tests). */
    static final java.util.concurrent.atomic.AtomicLong PREFIX_ELIMINATIONS = new java.util.concurrent.atomic.AtomicLong();
    static final java.util.concurrent.atomic.AtomicLong ROWS_SORTED_WHOLE = new java.util.concurrent.atomic.AtomicLong();

    /** The positions of a row sorted before any scan reads it, where {@link #prefixRows}. */
    static final int PREFIX = 16;

    /**
     * The {@code order.length} least positions of the row {@code m[off .. off + G)} in the order of {@link #sortByKey}
     * (by value, ties by position) into {@code order}, their values into {@code sorted}: a bounded max-heap over the row,
     * then sorted. O(G log K). {@code keys}: scratch of the same length.
     */
    static void sortPrefix(double[] m, int off, int G, int[] order, double[] sorted, long[] keys) {
        int cap = order.length;
        int size = 0;
        for (int q = 0; q < G; q++) {
            long kq = sortable(m[off + q]);
            if (size < cap) {
                // sift up into the max-heap
                int i = size++;
                while (i > 0) {
                    int p = (i - 1) >>> 1;
                    if (!before(keys[p], order[p], kq, q)) {
                        break;
                    }
                    keys[i] = keys[p];
                    order[i] = order[p];
                    i = p;
                }
                keys[i] = kq;
                order[i] = q;
            } else if (before(kq, q, keys[0], order[0])) {
                // replaces the largest kept: sift down from the root
                int i = 0;
                while (true) {
                    int c = 2 * i + 1;
                    if (c >= cap) {
                        break;
                    }
                    if (c + 1 < cap && before(keys[c], order[c], keys[c + 1], order[c + 1])) {
                        c++;
                    }
                    if (!before(kq, q, keys[c], order[c])) {
                        break;
                    }
                    keys[i] = keys[c];
                    order[i] = order[c];
                    i = c;
                }
                keys[i] = kq;
                order[i] = q;
            }
        }
        sortPairs(keys, order, 0, size - 1);
        for (int i = 0; i < size; i++) {
            sorted[i] = m[off + order[i]];
        }
    }

    /**
     * A lazy sort of {@code n} keys: a binary heap over their positions, popped into the sorted order (by value, ties by
     * position: {@link #less}) only as far as a scan reads it; past 16 positions, the rest sorted at once (a deep scan:
     * cheaper than popping it). The order made is the one a whole sort makes. O(n) to start, O(log n) a position read.
     */
    static final class LazyOrder {
        private final int[] heap;
        private int heapSize;
        private int filled;
        private double[] key;
        private int[] order;
        private double[] sorted;

        LazyOrder(int capacity) {
            heap = new int[capacity];
        }

        /** Starts the sort of {@code key[0 .. n)} into {@code order} (positions) and {@code sorted} (their keys). */
        void start(double[] key, int[] order, double[] sorted, int n) {
            this.key = key;
            this.order = order;
            this.sorted = sorted;
            filled = 0;
            heapSize = n;
            for (int i = 0; i < n; i++) {
                heap[i] = i;
            }
            for (int i = n / 2 - 1; i >= 0; i--) {
                siftDown(i);
            }
        }

        /** Makes positions 0..t of the sorted order known. */
        void reach(int t) {
            if (t < filled) {
                return;
            }
            if (t >= 16 && heapSize > 0) {
                quicksort(key, heap, 0, heapSize - 1);
                for (int i = 0; i < heapSize; i++) {
                    order[filled] = heap[i];
                    sorted[filled] = key[heap[i]];
                    filled++;
                }
                heapSize = 0;
                return;
            }
            while (filled <= t && heapSize > 0) {
                int top = heap[0];
                order[filled] = top;
                sorted[filled] = key[top];
                filled++;
                heap[0] = heap[--heapSize];
                siftDown(0);
            }
        }

        private void siftDown(int i) {
            int x = heap[i];
            while (true) {
                int c = 2 * i + 1;
                if (c >= heapSize) {
                    break;
                }
                if (c + 1 < heapSize && less(key, heap[c + 1], heap[c])) {
                    c++;
                }
                if (!less(key, heap[c], x)) {
                    break;
                }
                heap[i] = heap[c];
                i = c;
            }
            heap[i] = x;
        }
    }

    /**
     * Sorts indices 0..n-1 by (key, index) ascending into order, with the sorted keys: the order of {@link
     * Double#compare}, ties by index (a strict total order, so the permutation is unique). The keys are
     * mapped once to longs in the same order ({@link #sortable}) and sorted beside their indices, each
     * comparison two longs. O(n log n).
     */
    static void sortByKey(double[] key, int[] order, double[] sortedKeys, int n) {
        sortByKey(key, order, sortedKeys, n, new long[n]);
    }

    /** {@link #sortByKey} with {@code k} (at least {@code n} long) as its scratch. */
    static void sortByKey(double[] key, int[] order, double[] sortedKeys, int n, long[] k) {
        for (int i = 0; i < n; i++) {
            order[i] = i;
            k[i] = sortable(key[i]);
        }
        sortPairs(k, order, 0, n - 1);
        for (int i = 0; i < n; i++) {
            sortedKeys[i] = key[order[i]];
        }
    }

    /**
     * A long whose signed order is {@link Double#compare}'s order of the doubles: the bits of {@link
     * Double#doubleToLongBits} (one NaN), with every bit but the sign flipped for negative values
     * (so that -0.0 comes before 0.0 and larger magnitudes of negatives first).
     */
    static long sortable(double x) {
        long b = Double.doubleToLongBits(x);
        return b < 0 ? b ^ Long.MAX_VALUE : b;
    }

    /** Whether (ka, a) comes before (kb, b). */
    private static boolean before(long ka, int a, long kb, int b) {
        return ka < kb || (ka == kb && a < b);
    }

    /** Sorts the pairs (k[i], o[i]) in lo..hi by key, then index. */
    private static void sortPairs(long[] k, int[] o, int lo, int hi) {
        while (hi - lo > 16) {
            int mid = (lo + hi) >>> 1;
            // median of three as pivot
            if (before(k[mid], o[mid], k[lo], o[lo])) {
                swapPair(k, o, mid, lo);
            }
            if (before(k[hi], o[hi], k[lo], o[lo])) {
                swapPair(k, o, hi, lo);
            }
            if (before(k[hi], o[hi], k[mid], o[mid])) {
                swapPair(k, o, hi, mid);
            }
            long pk = k[mid];
            int po = o[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (before(k[i], o[i], pk, po)) {
                    i++;
                }
                while (before(pk, po, k[j], o[j])) {
                    j--;
                }
                if (i <= j) {
                    swapPair(k, o, i, j);
                    i++;
                    j--;
                }
            }
            if (j - lo < hi - i) {
                sortPairs(k, o, lo, j);
                lo = i;
            } else {
                sortPairs(k, o, i, hi);
                hi = j;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            long xk = k[i];
            int xo = o[i];
            int j = i - 1;
            while (j >= lo && before(xk, xo, k[j], o[j])) {
                k[j + 1] = k[j];
                o[j + 1] = o[j];
                j--;
            }
            k[j + 1] = xk;
            o[j + 1] = xo;
        }
    }

    private static void swapPair(long[] k, int[] o, int a, int b) {
        long tk = k[a];
        k[a] = k[b];
        k[b] = tk;
        int t = o[a];
        o[a] = o[b];
        o[b] = t;
    }

    private static boolean less(double[] key, int a, int b) {
        int c = Double.compare(key[a], key[b]);
        return c < 0 || (c == 0 && a < b);
    }

    private static void quicksort(double[] key, int[] o, int lo, int hi) {
        while (hi - lo > 16) {
            int mid = (lo + hi) >>> 1;
            // median of three as pivot
            if (less(key, o[mid], o[lo])) {
                swap(o, mid, lo);
            }
            if (less(key, o[hi], o[lo])) {
                swap(o, hi, lo);
            }
            if (less(key, o[hi], o[mid])) {
                swap(o, hi, mid);
            }
            int pivot = o[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (less(key, o[i], pivot)) {
                    i++;
                }
                while (less(key, pivot, o[j])) {
                    j--;
                }
                if (i <= j) {
                    swap(o, i, j);
                    i++;
                    j--;
                }
            }
            if (j - lo < hi - i) {
                quicksort(key, o, lo, j);
                lo = i;
            } else {
                quicksort(key, o, i, hi);
                hi = j;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            int x = o[i];
            int j = i - 1;
            while (j >= lo && less(key, x, o[j])) {
                o[j + 1] = o[j];
                j--;
            }
            o[j + 1] = x;
        }
    }

    private static void swap(int[] o, int a, int b) {
        int t = o[a];
        o[a] = o[b];
        o[b] = t;
    }

    private int firstAlive(int v) {
        for (int x = 0; x < k[v]; x++) {
            if (unary[v][x] != Double.POSITIVE_INFINITY) {
                return x;
            }
        }
        return 0;
    }

    private static boolean[] deadOf(double[] u) {
        boolean[] d = new boolean[u.length];
        for (int i = 0; i < u.length; i++) {
            d[i] = u[i] == Double.POSITIVE_INFINITY;
        }
        return d;
    }

    private String name(int v) {
        return problem.nodes().get(v).name();
    }

    private static long satMul(long a, long b) {
        long r = a * b;
        return (a != 0 && (r / a != b || r < 0)) ? Long.MAX_VALUE : r;
    }
}
