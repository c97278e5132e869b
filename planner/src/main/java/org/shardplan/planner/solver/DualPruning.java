package org.shardplan.planner.solver;

import java.util.Arrays;
import java.util.List;

/**
 * Exact pruning by the linear-programming bound before the dynamic program. The pairwise problem
 * {@code min sum_v u_v(x_v) + sum_e t_e(x_a, x_b)} has the local-polytope LP relaxation (Schlesinger
 * 1976; Werner 2007), whose dual is raised here first by a few iterations of sequential
 * tree-reweighted message passing (TRW-S, Kolmogorov 2006), then by block-coordinate ascent:
 * max-product linear programming edge updates (MPLP, Globerson and Jaakkola 2007), which also settle
 * the TRW-S messages into a form the bound below is tight on. The dual variables {@code lambda_e,v}
 * move cost between each table and its two nodes without changing any assignment's total, so for
 * the beliefs {@code b_v = u_v + sum_e lambda_e,v} and the reparametrised tables
 * {@code t'_e = t_e - lambda_e,a - lambda_e,b} every assignment costs exactly
 * {@code sum_v b_v(x_v) + sum_e t'_e(x_e)}, and
 * <pre>
 *   LB        = sum_v min b_v + sum_e min t'_e                      (a lower bound on the optimum)
 *   LB(v = s) = LB - min b_v + b_v(s) + sum_{e at v} (min_y t'_e(s, y) - min t'_e)
 * </pre>
 * bounds every assignment that gives node {@code v} strategy {@code s}. A strategy whose bound
 * exceeds the cost of a known assignment (the upper bound) is in no optimal assignment and is
 * removed; removals raise the bound, and the ascent goes on.
 *
 * <p>On parallelization problems the relaxation is tight or nearly so (resharding costs vanish when
 * layouts agree), so after a few iterations and sweeps most strategies are gone and the elimination
 * runs on a handful per node. The upper bound comes from decoding the beliefs (each node's
 * least-belief strategy, and sequential decoding in the TRW-S order, each followed by iterated
 * conditional modes) and from the dynamic program restricted to the few least-belief strategies of
 * every node.
 *
 * <p>Running time: one sweep is O(sum over tables of (classes(a) x classes(b)) + strategies(a) +
 * strategies(b)), on the compact class tables of {@link Factor}; memory O(sum over tables of the
 * strategies of both ends). The ascent stops when the bounds meet, when a sweep gains too little,
 * or at its share of the time limit.
 */
final class DualPruning {

    /** Sweeps between two computations of the bounds. */
    static final int CHECK_EVERY = 8;

    /** Sweeps at most. */
    static final int MAX_SWEEPS = 2000;

    /** Seconds per unit of {@link EliminationOrder} work, measured on the benchmark problems (rounded up). */
    static final double SECONDS_PER_WORK = 3e-9;

    /**
     * CPU seconds per living class-table entry per sweep (two passes over it, the quick compiler's
     * code), measured on the benchmark problems (rounded up); with {@link #SECONDS_PER_WORK} it decides
     * when eliminating beats sweeping on.
     */
    static final double SECONDS_PER_SWEEP_CELL = 1.5e-8;

    /** Node ranges whose tables are swept independently (fixed, so results never depend on the threads). */
    static final int PARTS = 2;

    /** Living table entries per sweep above which the parts run on their own threads. */
    static final long PARALLEL_ENTRIES = 200_000;

    /** TRW-S iterations before the MPLP sweeps ({@link #trwsIteration}); the system property {@code shardplan.dp.trws} overrides it. */
    static final int TRWS_ITERATIONS = Integer.getInteger("shardplan.dp.trws", 8);

    /** Strategies kept per node in the restricted problems that give upper bounds. */
    static final int RESTRICTED = 8;

    private static final boolean TRACE = Boolean.getBoolean("shardplan.dp.trace");

    /**
     * Pruned node costs ({@code +inf} = removed), the count removed, the bounds, the sweeps run, and an
     * assignment that costs {@code upper} when the search found one (else null).
     */
    record Result(double[][] unary, int removed, double upper, double lower, int sweeps, int trwsIterations, int[] best) {
        Result(double[][] unary, int removed, double upper, double lower, int sweeps) {
            this(unary, removed, upper, lower, sweeps, 0, null);
        }

        Result(double[][] unary, int removed, double upper, double lower, int sweeps, int trwsIterations) {
            this(unary, removed, upper, lower, sweeps, trwsIterations, null);
        }
    }

    private final Problem problem;
    private final List<Factor> factors;
    private final int n;
    private final int m;
    private final int[] k;
    private final double[][] unary;
    private final boolean[][] alive;
    private final double[][] belief;
    /** lambda[e][axis][strategy of that axis' node]. */
    private final double[][][] lambda;
    /** Incident tables of each node: {table index, axis} pairs. */
    private final int[][] incTable;
    private final int[][] incAxis;
    private final java.util.concurrent.atomic.AtomicInteger removedCount = new java.util.concurrent.atomic.AtomicInteger();
    /** The tables of each part (both ends inside it), then those between parts; see {@link #sweep}. */
    private final int[][] partTables;
    private final int[] cutTables;
    /** Each table restricted to its living classes, rebuilt after pruning. */
    private final Compact[] compact;
    /** The nodes of each part in index order: the chain order of the TRW-S passes. */
    private final int[][] partNodes;
    /** Per node, its tables inside its part towards earlier and later nodes: {table, axis of the node} pairs. */
    private final int[][] earlier;
    private final int[][] later;
    /** Per node, the TRW-S weight 1 / max(tables to earlier nodes, tables to later nodes). */
    private final double[] gamma;

    private DualPruning(Problem p, List<Factor> factors, double[][] unaryCosts) {
        this.problem = p;
        this.factors = factors;
        this.n = unaryCosts.length;
        this.m = factors.size();
        this.k = new int[n];
        this.unary = new double[n][];
        this.alive = new boolean[n][];
        this.belief = new double[n][];
        for (int v = 0; v < n; v++) {
            k[v] = unaryCosts[v].length;
            unary[v] = unaryCosts[v].clone();
            alive[v] = new boolean[k[v]];
            belief[v] = unaryCosts[v].clone();
            for (int x = 0; x < k[v]; x++) {
                alive[v][x] = unaryCosts[v][x] != Double.POSITIVE_INFINITY;
            }
        }
        this.lambda = new double[m][2][];
        this.compact = new Compact[m];
        int[] deg = new int[n];
        for (int e = 0; e < m; e++) {
            Factor f = factors.get(e);
            for (int a = 0; a < 2; a++) {
                lambda[e][a] = new double[k[f.vars[a]]];
                deg[f.vars[a]]++;
            }
        }
        incTable = new int[n][];
        incAxis = new int[n][];
        for (int v = 0; v < n; v++) {
            incTable[v] = new int[deg[v]];
            incAxis[v] = new int[deg[v]];
        }
        Arrays.fill(deg, 0);
        for (int e = 0; e < m; e++) {
            Factor f = factors.get(e);
            for (int a = 0; a < 2; a++) {
                int v = f.vars[a];
                incTable[v][deg[v]] = e;
                incAxis[v][deg[v]++] = a;
            }
        }
        // PARTS ranges of node indices with about equal table entries; a table belongs to the part
        // holding both its ends, or to the cut
        double total = 0;
        double[] weight = new double[n];
        for (Factor f : factors) {
            double w = (double) f.table.length;
            weight[f.vars[0]] += w / 2;
            weight[f.vars[1]] += w / 2;
            total += w;
        }
        int[] part = new int[n];
        double acc = 0;
        for (int v = 0; v < n; v++) {
            part[v] = (int) Math.min(PARTS - 1, Math.floor(acc / Math.max(1e-300, total) * PARTS));
            acc += weight[v];
        }
        List<List<Integer>> parts = new java.util.ArrayList<>();
        for (int i = 0; i < PARTS; i++) {
            parts.add(new java.util.ArrayList<>());
        }
        List<Integer> cut = new java.util.ArrayList<>();
        for (int e = 0; e < m; e++) {
            Factor f = factors.get(e);
            if (part[f.vars[0]] == part[f.vars[1]]) {
                parts.get(part[f.vars[0]]).add(e);
            } else {
                cut.add(e);
            }
        }
        partTables = new int[PARTS][];
        for (int i = 0; i < PARTS; i++) {
            partTables[i] = parts.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
        cutTables = cut.stream().mapToInt(Integer::intValue).toArray();
        partNodes = new int[PARTS][];
        for (int i = 0; i < PARTS; i++) {
            final int id = i;
            partNodes[i] = java.util.stream.IntStream.range(0, n).filter(v -> part[v] == id).toArray();
        }
        int[] before = new int[n];
        int[] after = new int[n];
        for (int[] tables : partTables) {
            for (int e : tables) {
                Factor f = factors.get(e);
                int lo = Math.min(f.vars[0], f.vars[1]);
                int hi = Math.max(f.vars[0], f.vars[1]);
                after[lo]++;
                before[hi]++;
            }
        }
        earlier = new int[n][];
        later = new int[n][];
        gamma = new double[n];
        for (int v = 0; v < n; v++) {
            earlier[v] = new int[2 * before[v]];
            later[v] = new int[2 * after[v]];
            gamma[v] = 1.0 / Math.max(1, Math.max(before[v], after[v]));
        }
        Arrays.fill(before, 0);
        Arrays.fill(after, 0);
        for (int[] tables : partTables) {
            for (int e : tables) {
                Factor f = factors.get(e);
                for (int a = 0; a < 2; a++) {
                    int v = f.vars[a];
                    int o = f.vars[1 - a];
                    if (o > v) {
                        later[v][2 * after[v]] = e;
                        later[v][2 * after[v]++ + 1] = a;
                    } else {
                        earlier[v][2 * before[v]] = e;
                        earlier[v][2 * before[v]++ + 1] = a;
                    }
                }
            }
        }
    }

    /**
     * Returns {@code unary} with every strategy whose LP bound exceeds the best known assignment's
     * cost set to {@code +inf}; unchanged (removed 0, NaN bounds) when some table is not pairwise, a
     * cost is not finite where it should be, or the deadline comes first.
     */
    static Result prune(Problem p, List<Factor> factors, double[][] unary, long budget, long deadline) {
        return prune(p, factors, unary, budget, deadline, Double.NaN);
    }

    /**
     * As {@link #prune(Problem, List, double[][], long, long)}, but with a given cut instead of the
     * best assignment found: every strategy whose bound exceeds {@code cut} is removed. This is how a
     * constrained problem is pruned through its Lagrangian relaxation: with {@code unary} = cost +
     * {@code lambda} x memory, an assignment within the memory limit L costs at least its relaxed cost
     * minus {@code lambda L}, so the cut is the best feasible cost plus {@code lambda L}. NaN = find
     * the upper bound by decoding, as the other method does.
     */
    static Result prune(Problem p, List<Factor> factors, double[][] unary, long budget, long deadline, double cut) {
        return prune(p, factors, unary, budget, deadline, cut, TRWS_ITERATIONS);
    }

    /** As {@link #prune(Problem, List, double[][], long, long, double)} with a given number of TRW-S iterations first. */
    static Result prune(Problem p, List<Factor> factors, double[][] unary, long budget, long deadline, double cut,
            int trwsIterations) {
        for (Factor f : factors) {
            if (f.arity() != 2) {
                return new Result(unary, 0, Double.NaN, Double.NaN, 0);
            }
        }
        DualPruning d = new DualPruning(p, factors, unary);
        return d.run(unary, budget, deadline, cut, trwsIterations);
    }

    /** The cost of an assignment under this pruning's node costs and tables. */
    private double cost(int[] x) {
        double c = 0;
        int[] at = new int[2];
        for (int v = 0; v < n; v++) {
            c += unary[v][x[v]];
        }
        for (Factor f : factors) {
            at[0] = x[f.vars[0]];
            at[1] = x[f.vars[1]];
            c += f.valueAt(at);
        }
        return c;
    }

    private Result run(double[][] original, long budget, long deadline, double givenCut, int trwsIterations) {
        boolean search = Double.isNaN(givenCut);
        long start = System.nanoTime();
        long cpu0 = TRACE ? cpuNanos() : 0;
        // the ascent may use at most a quarter of the time left
        long stop = start + Math.max(0, (deadline - start) / 4);
        double upper = search ? Double.POSITIVE_INFINITY : givenCut;
        int[] best = null;
        double lower = Double.NEGATIVE_INFINITY;
        double lastLower = Double.NEGATIVE_INFINITY;
        int sweeps = 0;
        long lastCheck = cpu0;
        int lastCheckSweeps = 0;
        int restrictedRuns = 0;
        int maxK = 1;
        int maxDim = 1;
        for (int v = 0; v < n; v++) {
            maxK = Math.max(maxK, k[v]);
        }
        for (Factor f : factors) {
            maxDim = Math.max(maxDim, Math.max(f.dims[0], f.dims[1]));
        }
        Scratch[] scratch = new Scratch[PARTS];
        for (int i = 0; i < PARTS; i++) {
            scratch[i] = new Scratch(maxK, maxDim);
        }
        compactTables();
        int trws = 0;
        for (; trws < trwsIterations && System.nanoTime() < stop; trws++) {
            if (!trwsIteration(scratch)) {
                return new Result(original, 0, Double.NaN, Double.NaN, 0, trws);
            }
        }
        if (TRACE) {
            System.err.printf("dual: %d TRW-S iterations, %.3f s of process CPU%n", trws, (cpuNanos() - cpu0) / 1e9);
        }
        while (sweeps < MAX_SWEEPS) {
            if (!sweep(scratch)) {
                return new Result(original, 0, Double.NaN, Double.NaN, sweeps, trws);
            }
            sweeps++;
            if (System.nanoTime() > stop) {
                break; // its share of the time is used up: keep what was removed so far
            }
            if (sweeps % CHECK_EVERY != 0 && sweeps != 1 && sweeps != 4) {
                continue;
            }
            double[][] living = search ? living(unary) : null;
            for (int[] x : search ? new int[][] {decode(), sequentialDecode()} : new int[0][]) {
                if (x != null) {
                    x = x.clone();
                    LocalSearch.improve(living, factors, x, 20, Long.MAX_VALUE); // iterated conditional modes
                    double cost = cost(x);
                    if (cost < upper) {
                        upper = cost;
                        best = x;
                    }
                }
            }
            // the exact optimum over each node's few least-belief strategies: cheap, and usually the
            // optimum itself once the beliefs are informative; the sooner the upper bound is tight,
            // the more the bounds remove
            if (search && sweeps >= (trws > 0 ? 1 : 4) && restrictedRuns < 3) {
                restrictedRuns++;
                long r0 = TRACE ? cpuNanos() : 0;
                int[] rx = restricted(budget, stop, deadline);
                double r = rx == null ? Double.POSITIVE_INFINITY : cost(rx);
                if (TRACE) {
                    System.err.printf("dual: restricted elimination %.12g in %.3f s of CPU%n", r, (cpuNanos() - r0) / 1e9);
                }
                if (r < upper) {
                    upper = r;
                    best = rx;
                }
            }
            double lb = pruneBelow(upper);
            if (Double.isNaN(lb)) {
                return new Result(original, 0, Double.NaN, Double.NaN, sweeps, trws);
            }
            lower = Math.max(lower, lb);
            compactTables();
            if (TRACE) {
                int left = 0;
                for (boolean[] al : alive) {
                    for (boolean a : al) {
                        left += a ? 1 : 0;
                    }
                }
                System.err.printf("dual: sweep %d lower %.12g upper %.12g, %d strategies left, %.3f s of process CPU%n", sweeps, lb,
                        upper, left, (cpuNanos() - cpu0) / 1e9);
            }
            long now = TRACE ? cpuNanos() : 0;
            if (DpSolver.closed(upper, lower) || System.nanoTime() > stop) {
                break;
            }
            // stop when the last sweeps closed less than a thousandth of the remaining gap, or when the
            // elimination on what is left is estimated to take less time than the next sweeps would
            double gap = upper - lower;
            if (Double.isFinite(lastLower) && Double.isFinite(gap) && lower - lastLower < 0.001 * gap) {
                break;
            }
            // both estimates from the sizes alone (not from measured times, which vary with the
            // machine's load), so that where the ascent stops depends on the problem only
            double dpSeconds = estimatedWork() * SECONDS_PER_WORK;
            double sweepSeconds = livingCells() * SECONDS_PER_SWEEP_CELL;
            if (TRACE) {
                System.err.printf("dual: elimination estimated at %.4f s, a sweep at %.4f s; last %d sweeps took %.4f s of CPU%n",
                        dpSeconds, sweepSeconds, sweeps - lastCheckSweeps, (now - lastCheck) / 1e9);
            }
            if (sweeps > 1 && dpSeconds < sweepSeconds * (CHECK_EVERY + 2)) { // + 2: the next check's own work
                break;
            }
            lastLower = lower;
            lastCheck = now;
            lastCheckSweeps = sweeps;
        }
        double[][] out = living(original);
        return new Result(out, removedCount.get(), upper, lower, sweeps, trws, best);
    }

    /** A table restricted to the classes of its two ends that still have a living strategy. */
    private record Compact(int[] rows, int[] cols, float[] table) {
    }

    /** Rebuilds the compact table of every factor whose living classes changed. */
    private void compactTables() {
        for (int e = 0; e < m; e++) {
            Factor f = factors.get(e);
            int[][] live = new int[2][];
            for (int a = 0; a < 2; a++) {
                boolean[] has = new boolean[f.dims[a]];
                int v = f.vars[a];
                int count = 0;
                for (int x = 0; x < k[v]; x++) {
                    if (alive[v][x] && !has[f.cls[a][x]]) {
                        has[f.cls[a][x]] = true;
                        count++;
                    }
                }
                int[] idx = new int[count];
                int c = 0;
                for (int i = 0; i < has.length; i++) {
                    if (has[i]) {
                        idx[c++] = i;
                    }
                }
                live[a] = idx;
            }
            Compact old = compact[e];
            if (old != null && old.rows.length == live[0].length && old.cols.length == live[1].length) {
                continue; // classes only disappear, so equal counts mean equal sets
            }
            int dw = f.dims[1];
            float[] t = new float[live[0].length * live[1].length];
            for (int ri = 0; ri < live[0].length; ri++) {
                int off = live[0][ri] * dw;
                for (int ci = 0; ci < live[1].length; ci++) {
                    t[ri * live[1].length + ci] = roundDown(f.table[off + live[1][ci]]);
                }
            }
            compact[e] = new Compact(live[0], live[1], t);
        }
    }

    /**
     * The greatest float not above x. The ascent runs on these (half the memory traffic of doubles):
     * a problem with every table entry rounded down has an optimum no greater than the true one, so
     * its dual values still bound the true problem from below; the bounds that prune are computed on
     * the exact tables anyway.
     */
    static float roundDown(double x) {
        float f = (float) x;
        return f > x ? Math.nextDown(f) : f;
    }

    /**
     * The process's CPU time (the sweeps' threads included), or wall time where the platform does not
     * report it: for the trace ({@code -Dshardplan.dp.trace=true}) only, so that what the pruning does
     * never depends on measured times.
     */
    private static long cpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long t = os.getProcessCpuTime();
            if (t >= 0) {
                return t;
            }
        }
        return System.nanoTime();
    }

    /**
     * One sweep: every part's tables forward then backward (the parts share no node, so they run on
     * their own threads and the result does not depend on how many there are), then the tables
     * between parts forward and backward. False when an update fails.
     */
    private boolean sweep(Scratch[] scratch) {
        return inParts(scratch, (id, sc) -> {
            int[] tables = partTables[id];
            for (int q = 0; q < tables.length; q++) {
                if (!update(tables[q], sc)) {
                    return false;
                }
            }
            for (int q = tables.length - 1; q >= 0; q--) {
                if (!update(tables[q], sc)) {
                    return false;
                }
            }
            return true;
        });
    }

    /**
     * One iteration of sequential tree-reweighted message passing (TRW-S, Kolmogorov 2006) inside
     * each part: the part's nodes in index order, each sending a message along every table to a later
     * node, then in reverse order along every table to an earlier node; then MPLP updates of the
     * tables between parts. The messages are the same dual variables as the MPLP updates' (a message
     * into {@code w} along table e is {@code lambda_e,w}), so the bounds keep their form. Along chains
     * of tables a message carries a node's whole information in one pass, where an MPLP update hands
     * on half, so on parallelization problems (series-parallel up to a small core) a few iterations
     * bring the dual much further than as many sweeps; the bound is then read off after MPLP sweeps,
     * which settle the messages into the form that the node and table minima bound tightly.
     * False when an update fails.
     */
    private boolean trwsIteration(Scratch[] scratch) {
        return inParts(scratch, (id, sc) -> {
            int[] nodes = partNodes[id];
            for (int i = 0; i < nodes.length; i++) {
                int u = nodes[i];
                int[] out = later[u];
                for (int j = 0; j < out.length; j += 2) {
                    if (!send(out[j], out[j + 1], gamma[u], sc)) {
                        return false;
                    }
                }
            }
            for (int i = nodes.length - 1; i >= 0; i--) {
                int u = nodes[i];
                int[] out = earlier[u];
                for (int j = 0; j < out.length; j += 2) {
                    if (!send(out[j], out[j + 1], gamma[u], sc)) {
                        return false;
                    }
                }
            }
            return true;
        });
    }

    /** Work of one part on its own scratch arrays; false when an update fails. */
    private interface PartWork {
        boolean run(int part, Scratch scratch);
    }

    /**
     * Runs {@code work} for every part (the parts share no node, so they run on their own threads and
     * the result does not depend on how many there are), then MPLP updates of the tables between
     * parts forward and backward. False when an update fails.
     */
    private boolean inParts(Scratch[] scratch, PartWork work) {
        long living = 0;
        for (Compact c : compact) {
            living += (long) c.rows.length * c.cols.length;
        }
        boolean[] ok = new boolean[PARTS];
        if (VariableElimination.THREADS > 1 && living >= PARALLEL_ENTRIES) {
            SolverThreads.runAll(PARTS, "shardplan-dual", true, id -> () -> ok[id] = work.run(id, scratch[id]));
        } else {
            for (int i = 0; i < PARTS; i++) {
                ok[i] = work.run(i, scratch[i]);
            }
        }
        for (boolean good : ok) {
            if (!good) {
                return false;
            }
        }
        for (int q = 0; q < cutTables.length; q++) {
            if (!update(cutTables[q], scratch[0])) {
                return false;
            }
        }
        for (int q = cutTables.length - 1; q >= 0; q--) {
            if (!update(cutTables[q], scratch[0])) {
                return false;
            }
        }
        return true;
    }

    /**
     * The TRW-S message along table e from its node on axis {@code a} (u) to its other node w:
     * {@code m(y) = min_x (gamma_u b_u(x) - lambda_e,u(x) + t_e(x, y))}, less its minimum, becomes
     * {@code lambda_e,w}, and w's beliefs follow. A strategy of w that no living strategy of u allows
     * is removed. False when w loses every strategy or a value stops being finite.
     */
    private boolean send(int e, int a, double gammaU, Scratch s) {
        Factor f = factors.get(e);
        int u = f.vars[a];
        int w = f.vars[1 - a];
        int[] cu = f.cls[a];
        int[] cw = f.cls[1 - a];
        double[] lu = lambda[e][a];
        double[] lw = lambda[e][1 - a];
        boolean[] alw = alive[w];
        double[] bw = belief[w];
        double[] minU = s.minU;
        Arrays.fill(minU, 0, f.dims[a], Double.POSITIVE_INFINITY);
        classMinima(u, cu, lu, gammaU, null, minU);
        double[] toW = s.toW;
        Arrays.fill(toW, 0, f.dims[1 - a], Double.POSITIVE_INFINITY);
        Compact c = compact[e];
        float[] t = c.table;
        int nr = c.rows.length;
        int nc = c.cols.length;
        if (a == 0) {
            // u on the rows: the minimum of every column
            double[] tw = s.tw;
            Arrays.fill(tw, 0, nc, Double.POSITIVE_INFINITY);
            for (int ri = 0; ri < nr; ri++) {
                double mu = minU[c.rows[ri]];
                if (mu != Double.POSITIVE_INFINITY) {
                    columnMinima(t, ri * nc, nc, mu, tw);
                }
            }
            for (int ci = 0; ci < nc; ci++) {
                toW[c.cols[ci]] = tw[ci];
            }
        } else {
            // u on the columns: the minimum of every row
            double[] mw = s.mw;
            for (int ci = 0; ci < nc; ci++) {
                mw[ci] = minU[c.cols[ci]];
            }
            for (int ri = 0; ri < nr; ri++) {
                toW[c.rows[ri]] = rowMinimum(t, ri * nc, nc, mw);
            }
        }
        double least = Double.POSITIVE_INFINITY;
        for (int y = 0; y < k[w]; y++) {
            if (alw[y]) {
                double to = toW[cw[y]];
                if (to == Double.POSITIVE_INFINITY) {
                    kill(w, y);
                } else if (to < least) {
                    least = to;
                }
            }
        }
        if (least == Double.POSITIVE_INFINITY) {
            return false;
        }
        for (int y = 0; y < k[w]; y++) {
            if (alw[y]) {
                double nl = toW[cw[y]] - least;
                bw[y] += nl - lw[y];
                lw[y] = nl;
                if (!Double.isFinite(bw[y])) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Entries of the compact tables (the living classes' combinations). */
    private long livingCells() {
        long cells = 0;
        for (Compact c : compact) {
            cells += (long) c.rows.length * c.cols.length;
        }
        return cells;
    }

    /** The elimination's estimated work on the living strategies ({@link EliminationOrder}). */
    private double estimatedWork() {
        int[] weight = new int[n];
        for (int v = 0; v < n; v++) {
            for (boolean a : alive[v]) {
                weight[v] += a ? 1 : 0;
            }
        }
        List<int[]> scopes = new java.util.ArrayList<>(m);
        for (Factor f : factors) {
            scopes.add(f.vars);
        }
        return EliminationOrder.choose(weight, scopes).work();
    }

    /** Work arrays of one sweep. */
    private static final class Scratch {
        final double[] au;
        final double[] aw;
        final double[] minU;
        final double[] minW;
        final double[] toU;
        final double[] toW;
        final double[] mu;
        final double[] mw;
        final double[] tw;

        Scratch(int maxK, int maxDim) {
            mu = new double[maxDim];
            mw = new double[maxDim];
            tw = new double[maxDim];
            au = new double[maxK];
            aw = new double[maxK];
            minU = new double[maxDim];
            minW = new double[maxDim];
            toU = new double[maxDim];
            toW = new double[maxDim];
        }
    }

    /**
     * One MPLP update of table e: with {@code a_v = b_v - lambda_e,v} (everything at v but this table),
     * {@code lambda_e,u(x) = (min_y (t(x, y) + a_w(y)) - a_u(x)) / 2} and the same for w, so that both
     * ends end up with the same min-marginal of the table plus their other beliefs. False when a
     * non-finite value appears where a finite one must be (the caller then gives up pruning).
     */
    private boolean update(int e, Scratch s) {
        Factor f = factors.get(e);
        int u = f.vars[0];
        int w = f.vars[1];
        int du = f.dims[0];
        int dw = f.dims[1];
        int[] cu = f.cls[0];
        int[] cw = f.cls[1];
        double[] lu = lambda[e][0];
        double[] lw = lambda[e][1];
        double[] au = s.au;
        double[] aw = s.aw;
        double[] minU = s.minU;
        double[] minW = s.minW;
        Arrays.fill(minU, 0, du, Double.POSITIVE_INFINITY);
        Arrays.fill(minW, 0, dw, Double.POSITIVE_INFINITY);
        classMinima(u, cu, lu, 1, au, minU);
        classMinima(w, cw, lw, 1, aw, minW);
        double[] toU = s.toU;
        double[] toW = s.toW;
        Arrays.fill(toU, 0, du, Double.POSITIVE_INFINITY);
        Arrays.fill(toW, 0, dw, Double.POSITIVE_INFINITY);
        // the table restricted to classes with a living strategy (pruning empties most of them)
        Compact v = compact[e];
        int nr = v.rows.length;
        int nc = v.cols.length;
        double[] mu = s.mu;
        double[] mw = s.mw;
        double[] tw = s.tw;
        for (int ri = 0; ri < nr; ri++) {
            mu[ri] = minU[v.rows[ri]];
        }
        for (int ci = 0; ci < nc; ci++) {
            mw[ci] = minW[v.cols[ci]];
            tw[ci] = Double.POSITIVE_INFINITY;
        }
        float[] t = v.table;
        for (int ri = 0; ri < nr; ri++) {
            int off = ri * nc;
            toU[v.rows[ri]] = rowMinimum(t, off, nc, mw);
            columnMinima(t, off, nc, mu[ri], tw);
        }
        for (int ci = 0; ci < nc; ci++) {
            toW[v.cols[ci]] = tw[ci];
        }
        return halve(u, cu, lu, au, toU) && halve(w, cw, lw, aw, toW) && anyAlive(u) && anyAlive(w);
    }

    /**
     * For every living strategy x of v, {@code a(x) = scale b_v(x) - lam(x)} (kept in {@code keep} when
     * it is not null), and per class the least of them into {@code mins} (which the caller fills
     * with +inf first).
     */
    private void classMinima(int v, int[] cls, double[] lam, double scale, double[] keep, double[] mins) {
        boolean[] al = alive[v];
        double[] b = belief[v];
        for (int x = 0; x < k[v]; x++) {
            if (al[x]) {
                double a = scale * b[x] - lam[x];
                if (keep != null) {
                    keep[x] = a;
                }
                if (a < mins[cls[x]]) {
                    mins[cls[x]] = a;
                }
            }
        }
    }

    /**
     * One end of an MPLP update: every living strategy x of v gets {@code lambda(x) = (to(class of x)
     * - a(x)) / 2} and the belief {@code a(x) + lambda(x)}; a strategy the table allows with no living
     * strategy of the other end ({@code to = +inf}) is removed. False when a belief stops being finite.
     */
    private boolean halve(int v, int[] cls, double[] lam, double[] a, double[] to) {
        boolean[] al = alive[v];
        double[] b = belief[v];
        for (int x = 0; x < k[v]; x++) {
            if (al[x]) {
                double t = to[cls[x]];
                if (t == Double.POSITIVE_INFINITY) {
                    kill(v, x);
                    continue;
                }
                double nl = 0.5 * (t - a[x]);
                lam[x] = nl;
                b[x] = a[x] + nl;
                if (!Double.isFinite(b[x])) {
                    return false;
                }
            }
        }
        return true;
    }

    /** {@code min over c < nc of t[off + c] + add[c]}, in four independent minima (no single dependency chain). */
    private static double rowMinimum(float[] t, int off, int nc, double[] add) {
        double b0 = Double.POSITIVE_INFINITY;
        double b1 = Double.POSITIVE_INFINITY;
        double b2 = Double.POSITIVE_INFINITY;
        double b3 = Double.POSITIVE_INFINITY;
        int c = 0;
        for (; c + 3 < nc; c += 4) {
            double c0 = t[off + c] + add[c];
            double c1 = t[off + c + 1] + add[c + 1];
            double c2 = t[off + c + 2] + add[c + 2];
            double c3 = t[off + c + 3] + add[c + 3];
            b0 = c0 < b0 ? c0 : b0;
            b1 = c1 < b1 ? c1 : b1;
            b2 = c2 < b2 ? c2 : b2;
            b3 = c3 < b3 ? c3 : b3;
        }
        for (; c < nc; c++) {
            double c0 = t[off + c] + add[c];
            b0 = c0 < b0 ? c0 : b0;
        }
        return Math.min(Math.min(b0, b1), Math.min(b2, b3));
    }

    /** {@code mins[c] = min(mins[c], t[off + c] + add)} for every {@code c < nc}: one row into the column minima. */
    private static void columnMinima(float[] t, int off, int nc, double add, double[] mins) {
        for (int c = 0; c < nc; c++) {
            double v = t[off + c] + add;
            if (v < mins[c]) {
                mins[c] = v;
            }
        }
    }

    private void kill(int v, int x) {
        if (alive[v][x]) {
            alive[v][x] = false;
            belief[v][x] = Double.POSITIVE_INFINITY;
            for (int i = 0; i < incTable[v].length; i++) {
                lambda[incTable[v][i]][incAxis[v][i]][x] = 0;
            }
            removedCount.incrementAndGet();
        }
    }

    private boolean anyAlive(int v) {
        for (boolean a : alive[v]) {
            if (a) {
                return true;
            }
        }
        return false;
    }

    /**
     * Computes the lower bound and removes every strategy whose bound exceeds {@code upper} (with a
     * margin against rounding); returns the lower bound, NaN when a node would lose every strategy.
     */
    private double pruneBelow(double upper) {
        double lb = 0;
        double[] nodeMin = new double[n];
        for (int v = 0; v < n; v++) {
            double mn = Double.POSITIVE_INFINITY;
            for (int x = 0; x < k[v]; x++) {
                if (alive[v][x] && belief[v][x] < mn) {
                    mn = belief[v][x];
                }
            }
            if (mn == Double.POSITIVE_INFINITY) {
                return Double.NaN;
            }
            nodeMin[v] = mn;
            lb += mn;
        }
        // per table and end: rowMin[e][a][class] = min over the other end of t'_e without this end's lambda;
        // the tables are independent (in parallel for large problems), the sum is taken in table order
        double[][][] rowMin = new double[m][2][];
        double[] tableMin = new double[m];
        long living = 0;
        for (Compact c : compact) {
            living += (long) c.rows.length * c.cols.length;
        }
        java.util.stream.IntStream each = java.util.stream.IntStream.range(0, m);
        (VariableElimination.THREADS > 1 && living >= PARALLEL_ENTRIES ? each.parallel() : each)
                .forEach(e -> tableMin[e] = tableBound(e, rowMin[e]));
        for (int e = 0; e < m; e++) {
            if (tableMin[e] == Double.POSITIVE_INFINITY) {
                return Double.NaN;
            }
            lb += tableMin[e];
        }
        if (!Double.isFinite(lb)) {
            return Double.NaN;
        }
        if (!(upper < Double.POSITIVE_INFINITY)) {
            return lb;
        }
        // a margin against rounding: the same sums in another order may differ in the last bits
        double cut = upper + 1e-9 * Math.max(1.0, Math.abs(upper));
        for (int v = 0; v < n; v++) {
            int[] kill = new int[k[v]];
            int nk = 0;
            int left = 0;
            for (int x = 0; x < k[v]; x++) {
                if (!alive[v][x]) {
                    continue;
                }
                double b = lb - nodeMin[v] + belief[v][x];
                for (int i = 0; i < incTable[v].length; i++) {
                    int e = incTable[v][i];
                    int a = incAxis[v][i];
                    Factor f = factors.get(e);
                    b += rowMin[e][a][f.cls[a][x]] - lambda[e][a][x] - tableMin[e];
                }
                if (b > cut) {
                    kill[nk++] = x;
                } else {
                    left++;
                }
            }
            if (left == 0) {
                return Double.NaN; // cannot happen when upper is a real assignment's cost; be safe
            }
            for (int i = 0; i < nk; i++) {
                kill(v, kill[i]);
            }
        }
        return lb;
    }

    /**
     * The least entry of table e reparametrised by its lambdas, on the exact (double) table, and in
     * {@code out[a]} for each end a the least entry of every class's slice without that end's own
     * lambda. Only classes with a living strategy are visited (the compact table's classes include
     * them; a class with none has no finite lambda minimum and adds nothing).
     */
    private double tableBound(int e, double[][] out) {
        Factor f = factors.get(e);
        double[][] negLambdaMin = new double[2][];
        for (int a = 0; a < 2; a++) {
            int v = f.vars[a];
            double[] l = new double[f.dims[a]];
            Arrays.fill(l, Double.POSITIVE_INFINITY);
            double[] lam = lambda[e][a];
            int[] cls = f.cls[a];
            for (int x = 0; x < k[v]; x++) {
                if (alive[v][x] && -lam[x] < l[cls[x]]) {
                    l[cls[x]] = -lam[x];
                }
            }
            negLambdaMin[a] = l;
        }
        int du = f.dims[0];
        int dw = f.dims[1];
        double[] r0 = new double[du];
        double[] r1 = new double[dw];
        Arrays.fill(r0, Double.POSITIVE_INFINITY);
        Arrays.fill(r1, Double.POSITIVE_INFINITY);
        int[] rows = compact[e].rows;
        int[] cols = compact[e].cols;
        double[] n1 = negLambdaMin[1];
        for (int i : rows) {
            double l0 = negLambdaMin[0][i];
            int off = i * dw;
            double best = Double.POSITIVE_INFINITY;
            for (int j : cols) {
                double t = f.table[off + j];
                double c0 = t + n1[j];
                if (c0 < best) {
                    best = c0;
                }
                double c1 = t + l0;
                if (c1 < r1[j]) {
                    r1[j] = c1;
                }
            }
            r0[i] = best;
        }
        double mn = Double.POSITIVE_INFINITY;
        for (int i = 0; i < du; i++) {
            mn = Math.min(mn, r0[i] + negLambdaMin[0][i]);
        }
        out[0] = r0;
        out[1] = r1;
        return mn;
    }

    /** Each node's least-belief living strategy; null when some node has none. */
    private int[] decode() {
        int[] x = new int[n];
        for (int v = 0; v < n; v++) {
            int best = -1;
            for (int s = 0; s < k[v]; s++) {
                if (alive[v][s] && (best < 0 || belief[v][s] < belief[v][best])) {
                    best = s;
                }
            }
            if (best < 0) {
                return null;
            }
            x[v] = best;
        }
        return x;
    }

    /**
     * The nodes in index order, each taking the living strategy that is cheapest given the strategies
     * already taken by its earlier neighbours (their table entries) and the dual messages from its
     * later ones ({@code lambda}): the way TRW-S reads off an assignment, which follows the chains
     * that the messages were passed along. Null when some node has no living strategy.
     */
    private int[] sequentialDecode() {
        int[] x = new int[n];
        boolean[] set = new boolean[n];
        for (int v = 0; v < n; v++) {
            int best = -1;
            double bestValue = Double.POSITIVE_INFINITY;
            for (int s = 0; s < k[v]; s++) {
                if (!alive[v][s]) {
                    continue;
                }
                double value = unary[v][s];
                for (int i = 0; i < incTable[v].length; i++) {
                    int e = incTable[v][i];
                    int a = incAxis[v][i];
                    Factor f = factors.get(e);
                    int o = f.vars[1 - a];
                    value += set[o] ? f.table[f.cls[a][s] * f.strides[a] + f.cls[1 - a][x[o]] * f.strides[1 - a]]
                            : lambda[e][a][s];
                }
                if (best < 0 || value < bestValue) {
                    best = s;
                    bestValue = value;
                }
            }
            if (best < 0) {
                return null;
            }
            x[v] = best;
            set[v] = true;
        }
        return x;
    }

    /** A copy of the node costs {@code base} with every removed strategy at {@code +inf}. */
    private double[][] living(double[][] base) {
        double[][] out = new double[n][];
        for (int v = 0; v < n; v++) {
            out[v] = base[v].clone();
            for (int s = 0; s < k[v]; s++) {
                if (!alive[v][s]) {
                    out[v][s] = Double.POSITIVE_INFINITY;
                }
            }
        }
        return out;
    }

    /**
     * The exact optimum over each node's few least-belief living strategies, an upper bound: as many per
     * node as the elimination can take in half the time left to the ascent ({@code stop}),
     * {@link #RESTRICTED} at most, then half as many while its estimated work ({@link EliminationOrder},
     * {@link #SECONDS_PER_WORK}) is more than that or a table is over the budget, down to two. Null when
     * none fits (each node's least-belief strategy, which needs no elimination, is {@link #decode}'s) or
     * the deadline comes first. The width of the interaction graph sets the number kept, not a fixed
     * cap: on densely connected problems the restricted elimination still finishes.
     */
    private int[] restricted(long budget, long stop, long deadline) {
        Integer[][] byBelief = new Integer[n][];
        for (int v = 0; v < n; v++) {
            Integer[] idx = new Integer[k[v]];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            double[] b = belief[v];
            Arrays.sort(idx, (x, y) -> {
                int c = Double.compare(b[x], b[y]);
                return c != 0 ? c : Integer.compare(x, y);
            });
            byBelief[v] = idx;
        }
        List<int[]> scopes = new java.util.ArrayList<>(m);
        for (Factor f : factors) {
            scopes.add(f.vars);
        }
        for (int keep = RESTRICTED; keep >= 2; keep /= 2) {
            double[][] restricted = new double[n][];
            int[] weight = new int[n];
            for (int v = 0; v < n; v++) {
                restricted[v] = new double[k[v]];
                Arrays.fill(restricted[v], Double.POSITIVE_INFINITY);
                for (int i : byBelief[v]) {
                    if (weight[v] < keep && alive[v][i]) {
                        restricted[v][i] = unary[v][i];
                        weight[v]++;
                    }
                }
                if (weight[v] == 0) {
                    return null;
                }
            }
            double left = (stop - System.nanoTime()) / 1e9;
            if (left <= 0) {
                return null;
            }
            EliminationOrder.Plan order = EliminationOrder.choose(weight, scopes);
            if (order.work() * SECONDS_PER_WORK > left / 2) {
                continue;
            }
            try {
                // until the ascent's stop and half the time after it at most: the rest is the exact elimination's
                VariableElimination ve = new VariableElimination(problem, factors, budget,
                        stop + Math.max(0, (deadline - stop) / 2));
                return ve.run(restricted, order).choices();
            } catch (VariableElimination.TooLarge e) {
                // a table over the budget: fewer strategies per node
            } catch (VariableElimination.Infeasible | VariableElimination.OutOfTime e) {
                return null;
            }
        }
        return null;
    }
}
