package org.shardplan.planner.solver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Problem} after the exact static reductions that every solver shares:
 *
 * <ol>
 *   <li><b>Parallel edges merged</b>: all edges between the same two nodes become one table (their
 *       costs add up), so the interaction graph is simple.
 *   <li><b>Compact tables</b>: identical rows and columns of every edge matrix become one class
 *       ({@link Factor}).
 *   <li><b>Forbidden strategies</b>: a strategy whose every pairing with a neighbour's remaining
 *       strategies is forbidden can never be chosen (arc consistency, repeated to a fixed point).
 *   <li><b>Dominated strategies</b>: strategy s of a node is removed when another strategy t of the
 *       same node costs no more in the node cost, needs no more memory (when there is a memory
 *       limit) and costs no more in every row of every incident edge: any assignment using s is
 *       then no better than the same assignment using t. Ties keep the lowest index, so the result is
 *       deterministic.
 * </ol>
 *
 * <p>Removed strategies are marked dead, never renumbered: solutions keep the problem's indices.
 * Running time O(sum over nodes of k^2 x incident edge row lengths) in the worst case, usually far
 * less because comparisons stop at the first entry that differs the wrong way.
 */
final class CompiledProblem {
    final Problem problem;
    final int n;
    final int[] k;
    /** Pairwise factors, one per pair of adjacent nodes, in order of first appearance. */
    final List<Factor> factors;
    final boolean[][] dead;
    final int parallelEdgesMerged;
    final int dominatedRemoved;
    final int forbiddenRemoved;
    /** Why no assignment exists, or null. */
    final String infeasible;

    private CompiledProblem(Problem problem, List<Factor> factors, boolean[][] dead, int merged, int dominated,
            int forbidden, String infeasible) {
        this.problem = problem;
        this.n = problem.size();
        this.k = new int[n];
        for (int i = 0; i < n; i++) {
            k[i] = problem.strategies(i);
        }
        this.factors = List.copyOf(factors);
        this.dead = dead;
        this.parallelEdgesMerged = merged;
        this.dominatedRemoved = dominated;
        this.forbiddenRemoved = forbidden;
        this.infeasible = infeasible;
    }

    /**
     * Nodes with more strategies skip the dominance test (system property {@code
     * shardplan.dp.dominanceMax}): its pairs grow with the square of the strategies, and at 302 and
     * 566 strategies per node the LP-bound pruning that follows removes what it would (and far more)
     * for less; measured on the benchmark problems, the reductions took half as long without it
     * there, the pruning and elimination as long as before.
     */
    static final int DOMINANCE_MAX_STRATEGIES = Integer.getInteger("shardplan.dp.dominanceMax", 256);

    /** Applies the reductions; memory takes part in dominance when the problem has a memory limit. */
    static CompiledProblem of(Problem p) {
        int n = p.size();
        Map<Long, Factor> byPair = new LinkedHashMap<>();
        int merged = 0;
        // each edge's classes are found on its own (in parallel for large problems; the factors are
        // put in edge order afterwards, so the result does not depend on the threads)
        List<Problem.Edge> edges = p.edges();
        Factor[] built = new Factor[edges.size()];
        long entries = 0;
        for (Problem.Edge e : edges) {
            entries += (long) e.rows() * e.cols();
        }
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, edges.size());
        (entries >= 1_000_000 && VariableElimination.THREADS > 1 ? range.parallel() : range).forEach(i -> {
            Problem.Edge e = edges.get(i);
            built[i] = Factor.ofMatrix(e.from(), e.to(), e.rows(), e.cols(), e.costsUnshared());
        });
        for (int i = 0; i < built.length; i++) {
            Problem.Edge e = edges.get(i);
            Factor f = built[i];
            long key = (long) Math.min(e.from(), e.to()) * n + Math.max(e.from(), e.to());
            Factor old = byPair.get(key);
            if (old == null) {
                byPair.put(key, f);
            } else {
                byPair.put(key, Factor.sum(old, f));
                merged++;
            }
        }
        List<Factor> factors = new ArrayList<>(byPair.values());
        boolean[][] dead = new boolean[n][];
        for (int i = 0; i < n; i++) {
            dead[i] = new boolean[p.strategies(i)];
        }
        boolean useMemory = p.memoryLimit().isPresent();
        List<List<Factor>> adj = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            adj.add(new ArrayList<>());
        }
        for (Factor f : factors) {
            adj.get(f.vars[0]).add(f);
            adj.get(f.vars[1]).add(f);
        }
        int dominated = 0;
        int forbidden = 0;
        String infeasible = null;
        // passes over the nodes, each node pruned against the neighbours' strategies as they stood at
        // the start of the pass (so the nodes of a pass are independent: in parallel for large
        // problems, with the same result), the next pass over the neighbours of nodes that lost some
        int[] todo = java.util.stream.IntStream.range(0, n).toArray();
        for (int pass = 0; todo.length > 0 && pass < 8 && infeasible == null; pass++) {
            boolean[][] next = new boolean[n][];
            int[][] results = new int[n][];
            int[] nodes = todo;
            java.util.stream.IntStream each = java.util.stream.IntStream.range(0, nodes.length);
            (entries >= 1_000_000 && VariableElimination.THREADS > 1 ? each.parallel() : each).forEach(i -> {
                int v = nodes[i];
                next[v] = dead[v].clone();
                results[v] = prune(p, v, adj.get(v), dead, next[v], useMemory);
            });
            boolean[] lost = new boolean[n];
            for (int v : nodes) {
                int[] r = results[v];
                dead[v] = next[v];
                if (r[0] + r[1] > 0) {
                    lost[v] = true;
                    forbidden += r[0];
                    dominated += r[1];
                }
                if (r[2] >= 0 && infeasible == null) {
                    infeasible = "every strategy of node " + p.nodes().get(v).name() + " is forbidden with every remaining strategy of node "
                            + p.nodes().get(r[2]).name();
                }
            }
            boolean[] again = new boolean[n];
            for (int v = 0; v < n; v++) {
                if (lost[v]) {
                    for (Factor f : adj.get(v)) {
                        again[f.vars[0]] = true;
                        again[f.vars[1]] = true;
                    }
                }
            }
            todo = java.util.stream.IntStream.range(0, n).filter(v -> again[v]).toArray();
        }
        if (dominated + forbidden > 0 && infeasible == null) {
            // a factor between two nodes that lost nothing is its own restriction (the classes of its rows
            // and columns, numbered by first appearance, and their table stay as they are): only the
            // factors of nodes that lost strategies are recompressed
            boolean[] lostAny = new boolean[n];
            for (int v = 0; v < n; v++) {
                for (boolean d : dead[v]) {
                    lostAny[v] |= d;
                }
            }
            for (int i = 0; i < factors.size(); i++) {
                Factor f = factors.get(i);
                if (lostAny[f.vars[0]] || lostAny[f.vars[1]]) {
                    factors.set(i, restrict(f, dead));
                }
            }
        }
        return new CompiledProblem(p, factors, dead, merged, dominated, forbidden, infeasible);
    }

    /**
     * This problem with every strategy whose entry in {@code unary} is {@code +inf} removed as well
     * (strategies pruned by bounds), tables recompressed; the counts of the reductions are kept.
     */
    CompiledProblem restrictedTo(double[][] unary) {
        boolean[][] d = new boolean[n][];
        boolean any = false;
        for (int v = 0; v < n; v++) {
            d[v] = dead[v].clone();
            for (int x = 0; x < d[v].length; x++) {
                if (!d[v][x] && unary[v][x] == Double.POSITIVE_INFINITY) {
                    d[v][x] = true;
                    any = true;
                }
            }
        }
        if (!any) {
            return this;
        }
        List<Factor> fs = new ArrayList<>(factors.size());
        for (Factor f : factors) {
            fs.add(restrict(f, d));
        }
        return new CompiledProblem(problem, fs, d, parallelEdgesMerged, dominatedRemoved, forbiddenRemoved, infeasible);
    }

    /**
     * These reductions for {@code p}, a problem with the same nodes, strategies and edges whose node costs
     * may differ: valid where no strategy this one removed can be needed by {@code p} (e.g. node costs
     * {@code cost + lambda memory} with lambda &gt;= 0 after a compile with memory in dominance: a strategy
     * dominated in cost, memory and rows stays dominated). O(nodes).
     */
    CompiledProblem withNodeCosts(Problem p) {
        if (p.size() != n) {
            throw new IllegalArgumentException("problem must have " + n + " nodes, found " + p.size());
        }
        for (int i = 0; i < n; i++) {
            if (p.strategies(i) != k[i]) {
                throw new IllegalArgumentException("node " + i + " must have " + k[i] + " strategies, found "
                        + p.strategies(i));
            }
        }
        return new CompiledProblem(p, factors, dead, parallelEdgesMerged, dominatedRemoved, forbiddenRemoved, infeasible);
    }

    /** Number of strategies still alive, over all nodes. */
    int aliveStrategies() {
        int c = 0;
        for (boolean[] d : dead) {
            for (boolean x : d) {
                c += x ? 0 : 1;
            }
        }
        return c;
    }

    /** Node costs with dead strategies at +inf, plus {@code lambda} times memory. */
    double[][] unary(double lambda) {
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            Problem.Node node = problem.nodes().get(i);
            u[i] = new double[k[i]];
            for (int s = 0; s < k[i]; s++) {
                u[i][s] = dead[i][s] ? Double.POSITIVE_INFINITY
                        : lambda == 0 ? node.cost(s) : node.cost(s) + lambda * node.memory(s);
            }
        }
        return u;
    }

    /** Memory per strategy with dead strategies at +inf (the objective of the least-memory program). */
    double[][] memoryUnary() {
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            u[i] = new double[k[i]];
            for (int s = 0; s < k[i]; s++) {
                u[i][s] = dead[i][s] ? Double.POSITIVE_INFINITY : problem.memory(i, s);
            }
        }
        return u;
    }

    /** The factors with every finite entry replaced by 0: only forbidden pairs remain. */
    List<Factor> feasibilityFactors() {
        List<Factor> out = new ArrayList<>();
        for (Factor f : factors) {
            double[] t = new double[f.table.length];
            for (int i = 0; i < t.length; i++) {
                t[i] = f.table[i] == Double.POSITIVE_INFINITY ? Double.POSITIVE_INFINITY : 0.0;
            }
            out.add(new Factor(f.vars, f.cls, f.dims, t).compress());
        }
        return out;
    }

    /**
     * Prunes node v: marks in {@code mine} its strategies that are forbidden with every living
     * strategy of a neighbour, and those dominated by another living one, the neighbours' living
     * strategies read from {@code dead}; returns {forbidden removed, dominated removed, neighbour that
     * empties v or -1}.
     */
    private static int[] prune(Problem p, int v, List<Factor> fs, boolean[][] dead, boolean[] mine, boolean useMemory) {
        int kv = mine.length;
        int nf = fs.size();
        int[] axis = new int[nf];
        boolean[][] aliveCls = new boolean[nf][];
        for (int i = 0; i < nf; i++) {
            Factor f = fs.get(i);
            axis[i] = f.vars[0] == v ? 0 : 1;
            int o = 1 - axis[i];
            int other = f.vars[o];
            aliveCls[i] = new boolean[f.dims[o]];
            for (int t = 0; t < dead[other].length; t++) {
                if (!dead[other][t]) {
                    aliveCls[i][f.cls[o][t]] = true;
                }
            }
        }
        int forbidden = 0;
        int blocker = -1;
        for (int s = 0; s < kv; s++) {
            if (mine[s]) {
                continue;
            }
            for (int i = 0; i < nf; i++) {
                if (allForbidden(fs.get(i), axis[i], fs.get(i).cls[axis[i]][s], aliveCls[i])) {
                    mine[s] = true;
                    forbidden++;
                    blocker = fs.get(i).vars[1 - axis[i]];
                    break;
                }
            }
        }
        if (kv > DOMINANCE_MAX_STRATEGIES) {
            return new int[] {forbidden, 0, alive(mine).length == 0 ? blocker : -1};
        }
        Problem.Node node = p.nodes().get(v);
        Integer[] order = new Integer[kv];
        int alive = 0;
        for (int s = 0; s < kv; s++) {
            if (!mine[s]) {
                order[alive++] = s;
            }
        }
        if (alive == 0) {
            return new int[] {forbidden, 0, blocker};
        }
        if (alive == 1) {
            return new int[] {forbidden, 0, -1}; // nothing left to dominate
        }
        Integer[] sorted = Arrays.copyOf(order, alive);
        Arrays.sort(sorted, Comparator.<Integer>comparingDouble(node::cost)
                .thenComparingDouble(s -> useMemory ? node.memory(s) : 0.0).thenComparingInt(s -> s));
        // per table and class: the sum, least and greatest entry over the other end's living classes;
        // entrywise t <= s implies each of these is no greater for t (floating-point sums are monotone),
        // which rejects most pairs before their rows are compared
        double[][] summary = new double[nf][];
        for (int i = 0; i < nf; i++) {
            summary[i] = summaries(fs.get(i), axis[i], aliveCls[i]);
        }
        // the same per strategy, flat, led by the total of the sums (one comparison rejects most pairs)
        int width = 1 + 3 * nf;
        double[] flat = new double[kv * width];
        for (int x = 0; x < kv; x++) {
            if (mine[x]) {
                continue;
            }
            double total = 0;
            for (int i = 0; i < nf; i++) {
                double[] sm = summary[i];
                int at = 3 * fs.get(i).cls[axis[i]][x];
                flat[x * width + 1 + 3 * i] = sm[at];
                flat[x * width + 2 + 3 * i] = sm[at + 1];
                flat[x * width + 3 + 3 * i] = sm[at + 2];
                total += sm[at];
            }
            flat[x * width] = total;
        }
        int[] kept = new int[alive];
        int nKept = 0;
        int dominated = 0;
        for (int s : sorted) {
            boolean isDominated = false;
            for (int q = 0; q < nKept; q++) {
                int t = kept[q];
                if (flat[t * width] <= flat[s * width] && summariesAllow(flat, width, t, s)
                        && node.cost(t) <= node.cost(s) && (!useMemory || node.memory(t) <= node.memory(s))
                        && rowsDominate(fs, axis, aliveCls, t, s)) {
                    isDominated = true;
                    break;
                }
            }
            if (isDominated) {
                mine[s] = true;
                dominated++;
            } else {
                kept[nKept++] = s;
            }
        }
        return new int[] {forbidden, dominated, -1};
    }

    /**
     * Per class along axis {@code a} of a pairwise factor: {sum, least, greatest} of its entries over the
     * other end's living classes, the sum taken in the order of those classes; class {@code c}'s at {@code 3 c}
     * to {@code 3 c + 2}. The table is read in memory
     * order (the other axis outer where it is the table's rows); the entries are finite or {@code +inf}
     * ({@link Problem} admits no NaN), so comparisons give the least and greatest. O(table).
     */
    static double[] summaries(Factor f, int a, boolean[] aliveOther) {
        int o = 1 - a;
        int da = f.dims[a];
        int dOther = f.dims[o];
        int sa = f.strides[a];
        int so = f.strides[o];
        double[] table = f.table;
        double[] sum = new double[da];
        double[] lo = new double[da];
        double[] hi = new double[da];
        Arrays.fill(lo, Double.POSITIVE_INFINITY);
        Arrays.fill(hi, Double.NEGATIVE_INFINITY);
        if (sa == 1) {
            // the classes along a are the table's columns: rows of the other axis outer, each read in order
            for (int j = 0; j < dOther; j++) {
                if (!aliveOther[j]) {
                    continue;
                }
                int base = j * so;
                for (int c = 0; c < da; c++) {
                    double t = table[base + c];
                    sum[c] += t;
                    if (t < lo[c]) {
                        lo[c] = t;
                    }
                    if (t > hi[c]) {
                        hi[c] = t;
                    }
                }
            }
        } else {
            for (int c = 0; c < da; c++) {
                double s = 0;
                double l = Double.POSITIVE_INFINITY;
                double h = Double.NEGATIVE_INFINITY;
                int base = c * sa;
                for (int j = 0; j < dOther; j++) {
                    if (aliveOther[j]) {
                        double t = table[base + j * so];
                        s += t;
                        if (t < l) {
                            l = t;
                        }
                        if (t > h) {
                            h = t;
                        }
                    }
                }
                sum[c] = s;
                lo[c] = l;
                hi[c] = h;
            }
        }
        double[] sm = new double[3 * da];
        for (int c = 0; c < da; c++) {
            sm[3 * c] = sum[c];
            sm[3 * c + 1] = lo[c];
            sm[3 * c + 2] = hi[c];
        }
        return sm;
    }

    private static boolean allForbidden(Factor f, int axis, int c, boolean[] aliveOther) {
        int o = 1 - axis;
        for (int j = 0; j < f.dims[o]; j++) {
            if (aliveOther[j] && f.table[c * f.strides[axis] + j * f.strides[o]] != Double.POSITIVE_INFINITY) {
                return false;
            }
        }
        return true;
    }

    /** Whether t's row summaries (sum, least, greatest per table) are no greater than s's. */
    private static boolean summariesAllow(double[] flat, int width, int t, int s) {
        int ot = t * width;
        int os = s * width;
        for (int j = 1; j < width; j++) {
            if (flat[ot + j] > flat[os + j]) {
                return false;
            }
        }
        return true;
    }

    /** Whether strategy t's rows are entrywise no greater than s's rows in every factor. */
    private static boolean rowsDominate(List<Factor> fs, int[] axis, boolean[][] aliveCls, int t, int s) {
        for (int i = 0; i < fs.size(); i++) {
            Factor f = fs.get(i);
            int a = axis[i];
            int ct = f.cls[a][t];
            int cs = f.cls[a][s];
            if (ct == cs) {
                continue;
            }
            int o = 1 - a;
            int bt = ct * f.strides[a];
            int bs = cs * f.strides[a];
            int so = f.strides[o];
            boolean[] al = aliveCls[i];
            for (int j = 0; j < f.dims[o]; j++) {
                if (al[j] && f.table[bt + j * so] > f.table[bs + j * so]) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The factor recompressed over alive strategies only (dead ones map to class 0, never read). */
    static Factor restrict(Factor f, boolean[][] dead) {
        int u = f.vars[0];
        int w = f.vars[1];
        int[] ru = alive(dead[u]);
        int[] rw = alive(dead[w]);
        if (ru.length == 0 || rw.length == 0) {
            return f;
        }
        double[] m = new double[ru.length * rw.length];
        for (int i = 0; i < ru.length; i++) {
            int base = f.cls[0][ru[i]] * f.strides[0];
            for (int j = 0; j < rw.length; j++) {
                m[i * rw.length + j] = f.table[base + f.cls[1][rw[j]]];
            }
        }
        Factor sub = Factor.ofMatrix(0, 1, ru.length, rw.length, m);
        int[] cu = new int[dead[u].length];
        int[] cw = new int[dead[w].length];
        for (int i = 0; i < ru.length; i++) {
            cu[ru[i]] = sub.cls[0][i];
        }
        for (int j = 0; j < rw.length; j++) {
            cw[rw[j]] = sub.cls[1][j];
        }
        return new Factor(f.vars, new int[][] {cu, cw}, sub.dims, sub.table);
    }

    static int[] alive(boolean[] dead) {
        int c = 0;
        for (boolean d : dead) {
            c += d ? 0 : 1;
        }
        int[] r = new int[c];
        c = 0;
        for (int s = 0; s < dead.length; s++) {
            if (!dead[s]) {
                r[c++] = s;
            }
        }
        return r;
    }
}
