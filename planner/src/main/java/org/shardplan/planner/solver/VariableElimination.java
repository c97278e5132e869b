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

        String describe() {
            return "eliminated " + stepsByNeighbours[0] + " isolated, " + stepsByNeighbours[1] + " degree-1, "
                    + stepsByNeighbours[2] + " degree-2 and " + stepsByNeighbours[3]
                    + " higher-degree nodes (largest neighbourhood " + largestNeighbourhood + ", largest table "
                    + largestTable + " entries, peak " + (peakBytes >> 20) + " MiB of tables)";
        }
    }

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
        for (int step = 0; step < n; step++) {
            int best = -1;
            for (int v = 0; v < n; v++) {
                if (done[v]) {
                    continue;
                }
                if (plans[v] == null) {
                    plans[v] = plan(v);
                }
                if (best < 0 || plans[v].work < plans[best].work) {
                    best = v;
                }
            }
            Step s = plans[best];
            done[best] = true;
            plans[best] = null;
            for (int u : s.nbrs) {
                plans[u] = null;
            }
            double c = eliminate(s, records, plans);
            constant += c;
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
        for (Factor f : fs) {
            int a = f.axisOf(u);
            if (a < 0) {
                continue;
            }
            Map<Long, Integer> ids = new HashMap<>();
            int next = 0;
            for (int x = 0; x < k[u]; x++) {
                if (unary[u][x] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                long key = (long) out[x] * f.dims[a] + f.cls[a][x];
                Integer id = ids.get(key);
                if (id == null) {
                    id = next++;
                    ids.put(key, id);
                }
                out[x] = id;
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
        long need = s.outSize * 12 + gathered * 8;
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
        double[] gu = s.groupUnary;
        int[] gs = s.groupStrategy;
        int[] idx = new int[d];
        int[] roff = new int[nf];
        double[] tmp = nf > 2 ? new double[G] : null;
        boolean anyFinite = false;
        for (int o = 0; o < size; o++) {
            if ((o & 1023) == 1023 && System.nanoTime() > deadlineNanos) {
                throw new OutOfTime("time limit reached while eliminating node " + name(v));
            }
            for (int i = 0; i < nf; i++) {
                int r = 0;
                int[][] mi = map[i];
                for (int b = 0; b < d; b++) {
                    r += mi[b][idx[b]];
                }
                roff[i] = r * G;
            }
            double best = Double.POSITIVE_INFINITY;
            int bq = -1;
            if (nf == 0) {
                for (int q = 0; q < G; q++) {
                    if (gu[q] < best) {
                        best = gu[q];
                        bq = q;
                    }
                }
            } else if (nf == 1) {
                double[] a0 = m[0];
                int o0 = roff[0];
                for (int q = 0; q < G; q++) {
                    double c = gu[q] + a0[o0 + q];
                    if (c < best) {
                        best = c;
                        bq = q;
                    }
                }
            } else if (nf == 2) {
                double[] a0 = m[0];
                double[] a1 = m[1];
                int o0 = roff[0];
                int o1 = roff[1];
                for (int q = 0; q < G; q++) {
                    double c = gu[q] + a0[o0 + q] + a1[o1 + q];
                    if (c < best) {
                        best = c;
                        bq = q;
                    }
                }
            } else {
                System.arraycopy(gu, 0, tmp, 0, G);
                for (int i = 0; i < nf; i++) {
                    double[] ai = m[i];
                    int oi = roff[i];
                    for (int q = 0; q < G; q++) {
                        tmp[q] += ai[oi + q];
                    }
                }
                for (int q = 0; q < G; q++) {
                    if (tmp[q] < best) {
                        best = tmp[q];
                        bq = q;
                    }
                }
            }
            table[o] = best;
            arg[o] = bq < 0 ? firstAlive(v) : gs[bq];
            anyFinite |= best != Double.POSITIVE_INFINITY;
            for (int b = d - 1; b >= 0; b--) {
                if (++idx[b] < s.counts[b]) {
                    break;
                }
                idx[b] = 0;
            }
        }
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
