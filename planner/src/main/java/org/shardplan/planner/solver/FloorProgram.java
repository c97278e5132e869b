package org.shardplan.planner.solver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * The least sum of node and pair costs over the assignments whose summed node resource reaches a floor: a
 * per-layer problem with one knapsack row, {@code min sum_i c_i(x_i) + sum_ij c_ij(x_i, x_j)} subject to
 * {@code sum_i r_i(x_i) >= floor}, by variable elimination (the order {@link EliminationOrder} chooses) in which
 * every table entry holds, instead of one least cost, the Pareto frontier of (cost, resource) over the eliminated
 * nodes' assignments: a point is dropped where another costs no more and has at least its resource. Resources
 * are summed saturated at the floor (past it, more makes no difference), so a frontier has at most one point per
 * distinct resource below the floor plus one at it. Each point keeps the eliminated node's choice and the points
 * of the tables it was summed from; back-substitution reads the assignment off them.
 *
 * <p>Exact while no frontier is thinned. A frontier of more than {@code maxPoints} points is thinned to one
 * point per {@code floor / maxPoints} of resource (the one with the most resource in each, so that what it
 * answers reaches the floor), after which the answer is an assignment that reaches the floor, its cost no less
 * than the optimum. Deterministic: the work (points combined) is counted and the solve gives up, answering
 * nothing, past {@code maxWork}, whatever the machine's speed.
 *
 * <p>Running time: the sum over eliminations of (output entries x the eliminated node's choices x the points
 * combined for each table summed), each frontier sorted once per entry; memory: the tables' points with their
 * back-pointers.
 */
public final class FloorProgram {

    /** The cost of each pair of choices of nodes {@code a} and {@code b}: {@code cost[sa * choices(b) + sb]}. */
    public record Pair(int a, int b, double[] cost) {
    }

    /**
     * An assignment found, its cost and resource summed afresh (not saturated).
     *
     * @param exact whether no frontier was thinned: the cost is then the least of every assignment that
     *     reaches the floor
     * @param work the points combined
     */
    public record Result(int[] choices, double cost, double resource, boolean exact, long work) {
    }

    /** The most entries one table may have; a larger one gives up the solve. */
    static final long MAX_ENTRIES = 1L << 20;

    private final int n;
    private final int[] dom;
    private final double floor;
    private final int maxPoints;
    private final long maxWork;
    private long work;
    private boolean thinned;

    private final java.util.function.BooleanSupplier expired;
    private long nextCheck;
    /** A choice per node, for the eliminations (one array for all: each reads its scope's and its node's alone). */
    private final int[] scratch;

    private FloorProgram(int[] dom, double floor, int maxPoints, long maxWork, java.util.function.BooleanSupplier expired) {
        this.n = dom.length;
        this.dom = dom;
        this.floor = floor;
        this.maxPoints = maxPoints;
        this.maxWork = maxWork;
        this.expired = expired;
        this.nextCheck = CHECK_EVERY;
        this.scratch = new int[dom.length];
    }

    /** The work between two looks at the deadline. */
    private static final long CHECK_EVERY = 100_000;

    /**
     * The least-cost assignment whose resource reaches {@code floor}; null where none does, or where the solve
     * gave up (a table of more than {@link #MAX_ENTRIES} entries, or more than {@code maxWork} points combined).
     * Deterministic: the work is counted, not timed.
     *
     * @param cost per node, the cost of each choice (finite)
     * @param resource per node, the resource of each choice (as many as its costs)
     * @param pairs costs of pairs of choices of two different nodes (several per pair of nodes are summed)
     * @param floor the least total resource
     * @param maxPoints the most points a frontier keeps ({@code >= 1})
     * @param maxWork the most points combined in all
     */
    public static Result solve(double[][] cost, double[][] resource, List<Pair> pairs, double floor, int maxPoints,
            long maxWork) {
        return solve(cost, resource, pairs, floor, maxPoints, maxWork, () -> false);
    }

    /**
     * {@link #solve(double[][], double[][], List, double, int, long)} that also gives up once {@code expired} answers
     * true (looked at every 100,000 points combined): the caller's time limit.
     */
    public static Result solve(double[][] cost, double[][] resource, List<Pair> pairs, double floor, int maxPoints,
            long maxWork, java.util.function.BooleanSupplier expired) {
        int n = cost.length;
        if (resource.length != n || maxPoints < 1) {
            throw new IllegalArgumentException("one resource row per node and at least one point are needed");
        }
        int[] dom = new int[n];
        for (int i = 0; i < n; i++) {
            dom[i] = cost[i].length;
            if (dom[i] == 0 || resource[i].length != dom[i]) {
                throw new IllegalArgumentException("node " + i + " needs a choice and one resource per choice");
            }
        }
        FloorProgram p = new FloorProgram(dom, floor, maxPoints, maxWork, expired);
        try {
            return p.run(cost, resource, pairs);
        } catch (GiveUp e) {
            return null;
        }
    }

    /** The solve went past its work or table limit. */
    private static final class GiveUp extends Exception {
        private static final long serialVersionUID = 1L;

        GiveUp() {
            super(null, null, false, false);
        }
    }

    /** A frontier: points by resource descending (so by cost descending); {@code ptr}: per point, a row of ints. */
    private record Front(double[] l, double[] v, int[] ptr) {
    }

    /** A table over {@code scope} (ascending), one frontier per entry; {@code inputs} null for a given table. */
    private static final class Factor {
        final int[] scope;
        final int[] stride;
        final Front[] fronts;
        final int eliminated;
        final Factor[] inputs;
        boolean dead;

        Factor(int[] scope, int[] dom, Front[] fronts, int eliminated, Factor[] inputs) {
            this.scope = scope;
            this.stride = new int[scope.length];
            int s = 1;
            for (int p = scope.length - 1; p >= 0; p--) {
                stride[p] = s;
                s *= dom[scope[p]];
            }
            this.fronts = fronts;
            this.eliminated = eliminated;
            this.inputs = inputs;
        }

        int index(int[] assign) {
            int e = 0;
            for (int p = 0; p < scope.length; p++) {
                e += assign[scope[p]] * stride[p];
            }
            return e;
        }
    }

    private Result run(double[][] cost, double[][] resource, List<Pair> pairs) throws GiveUp {
        double[][] unary = new double[n][];
        for (int i = 0; i < n; i++) {
            unary[i] = cost[i].clone();
        }
        List<Factor> factors = new ArrayList<>();
        List<int[]> scopes = new ArrayList<>();
        for (Pair q : pairs) {
            if (q.a() == q.b()) {
                for (int s = 0; s < dom[q.a()]; s++) {
                    unary[q.a()][s] += q.cost()[s * dom[q.a()] + s];
                }
                continue;
            }
            int a = Math.min(q.a(), q.b());
            int b = Math.max(q.a(), q.b());
            Front[] fronts = new Front[dom[a] * dom[b]];
            for (int sa = 0; sa < dom[a]; sa++) {
                for (int sb = 0; sb < dom[b]; sb++) {
                    double c = a == q.a() ? q.cost()[sa * dom[b] + sb] : q.cost()[sb * dom[a] + sa];
                    fronts[sa * dom[b] + sb] = new Front(new double[] {c}, new double[] {0}, null);
                }
            }
            factors.add(new Factor(new int[] {a, b}, dom, fronts, -1, null));
            scopes.add(new int[] {a, b});
        }
        for (int i = 0; i < n; i++) {
            Front[] fronts = new Front[dom[i]];
            for (int s = 0; s < dom[i]; s++) {
                fronts[s] = prune(new double[] {unary[i][s]}, new double[] {Math.min(floor, resource[i][s])}, null, 0, 1);
            }
            factors.add(new Factor(new int[] {i}, dom, fronts, -1, null));
            scopes.add(new int[] {i});
        }
        @SuppressWarnings("unchecked")
        List<Factor>[] at = new List[n];
        for (int i = 0; i < n; i++) {
            at[i] = new ArrayList<>();
        }
        for (Factor f : factors) {
            for (int v : f.scope) {
                at[v].add(f);
            }
        }
        int[] order = EliminationOrder.choose(dom, scopes).order();
        for (int v : order) {
            List<Factor> in = new ArrayList<>();
            for (Factor f : at[v]) {
                if (!f.dead) {
                    f.dead = true;
                    in.add(f);
                }
            }
            at[v] = null;
            Factor g = eliminate(v, in);
            for (int u : g.scope) {
                at[u].add(g);
            }
            factors.add(g);
        }
        List<Factor> rest = new ArrayList<>();
        for (Factor f : factors) {
            if (!f.dead && f.scope.length == 0) {
                rest.add(f);
            }
        }
        Factor root = eliminate(-1, rest);
        Front top = root.fronts[0];
        if (top.v().length == 0 || top.v()[0] < floor) {
            return null;
        }
        int[] assign = new int[n];
        ArrayDeque<int[]> stack = new ArrayDeque<>();
        List<Factor> byId = new ArrayList<>();
        byId.add(root);
        stack.push(new int[] {0, 0, 0});
        while (!stack.isEmpty()) {
            int[] top3 = stack.pop();
            Factor f = byId.get(top3[0]);
            if (f.inputs == null) {
                continue;
            }
            int width = 1 + f.inputs.length;
            int[] ptr = f.fronts[top3[1]].ptr();
            int row = top3[2] * width;
            if (f.eliminated >= 0) {
                assign[f.eliminated] = ptr[row];
            }
            for (int j = 0; j < f.inputs.length; j++) {
                Factor c = f.inputs[j];
                byId.add(c);
                stack.push(new int[] {byId.size() - 1, c.index(assign), ptr[row + 1 + j]});
            }
        }
        double c = 0;
        double r = 0;
        for (int i = 0; i < n; i++) {
            c += cost[i][assign[i]];
            r += resource[i][assign[i]];
        }
        for (Pair q : pairs) {
            c += q.cost()[assign[q.a()] * dom[q.b()] + assign[q.b()]];
        }
        return new Result(assign, c, r, !thinned, work);
    }

    /** The table of eliminating {@code v} (-1: none, the tables summed alone) from the tables {@code in}. */
    private Factor eliminate(int v, List<Factor> in) throws GiveUp {
        TreeSet<Integer> union = new TreeSet<>();
        for (Factor f : in) {
            for (int u : f.scope) {
                if (u != v) {
                    union.add(u);
                }
            }
        }
        int[] scope = union.stream().mapToInt(Integer::intValue).toArray();
        long entries = 1;
        for (int u : scope) {
            entries *= dom[u];
            if (entries > MAX_ENTRIES) {
                throw new GiveUp();
            }
        }
        Factor[] inputs = in.toArray(new Factor[0]);
        int width = 1 + inputs.length;
        Front[] fronts = new Front[(int) entries];
        int[] assign = scratch; // only the scope's and v's entries are read
        int values = v >= 0 ? dom[v] : 1;
        for (int e = 0; e < entries; e++) {
            int rem = e;
            for (int p = scope.length - 1; p >= 0; p--) {
                assign[scope[p]] = rem % dom[scope[p]];
                rem /= dom[scope[p]];
            }
            double[] accL = new double[0];
            double[] accV = new double[0];
            int[] accP = new int[0];
            for (int val = 0; val < values; val++) {
                if (v >= 0) {
                    assign[v] = val;
                }
                double[] l = {0};
                double[] r = {0};
                int[] ptr = new int[width];
                ptr[0] = val;
                int count = 1;
                for (int j = 0; j < inputs.length && count > 0; j++) {
                    Front fr = inputs[j].fronts[inputs[j].index(assign)];
                    int k = fr.l().length;
                    work += (long) count * k;
                    if (work > maxWork) {
                        throw new GiveUp();
                    }
                    if (work >= nextCheck) {
                        nextCheck = work + CHECK_EVERY;
                        if (expired.getAsBoolean()) {
                            throw new GiveUp();
                        }
                    }
                    double[] nl = new double[count * k];
                    double[] nr = new double[count * k];
                    int[] np = new int[count * k * width];
                    int t = 0;
                    for (int a = 0; a < count; a++) {
                        for (int b = 0; b < k; b++) {
                            nl[t] = l[a] + fr.l()[b];
                            nr[t] = Math.min(floor, r[a] + fr.v()[b]);
                            System.arraycopy(ptr, a * width, np, t * width, width);
                            np[t * width + 1 + j] = b;
                            t++;
                        }
                    }
                    Front f = prune(nl, nr, np, width, t);
                    l = f.l();
                    r = f.v();
                    ptr = f.ptr();
                    count = l.length;
                }
                int was = accL.length;
                accL = Arrays.copyOf(accL, was + count);
                accV = Arrays.copyOf(accV, was + count);
                accP = Arrays.copyOf(accP, (was + count) * width);
                System.arraycopy(l, 0, accL, was, count);
                System.arraycopy(r, 0, accV, was, count);
                System.arraycopy(ptr, 0, accP, was * width, count * width);
            }
            fronts[e] = prune(accL, accV, accP, width, accL.length);
        }
        return new Factor(scope, dom, fronts, v, inputs);
    }

    /**
     * The Pareto frontier of the first {@code count} points (least cost, most resource), by resource descending,
     * with their rows of {@code width} ints; thinned to one point per {@code floor / maxPoints} of resource where it
     * has more than {@code maxPoints}. Points of infinite or NaN cost are dropped.
     */
    private Front prune(double[] l, double[] r, int[] ptr, int width, int count) {
        Integer[] idx = new Integer[count];
        for (int i = 0; i < count; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (p, q) -> r[p] != r[q] ? Double.compare(r[q], r[p]) : Double.compare(l[p], l[q]));
        int[] keep = new int[count];
        int kept = 0;
        double least = Double.POSITIVE_INFINITY;
        for (int i : idx) {
            if (l[i] < least) {
                least = l[i];
                keep[kept++] = i;
            }
        }
        if (kept > maxPoints) {
            thinned = true;
            int out = 0;
            long lastBin = Long.MIN_VALUE;
            for (int q = 0; q < kept; q++) {
                int i = keep[q];
                long bin = floor > 0 ? (long) Math.floor(r[i] / floor * maxPoints) : 0;
                if (bin != lastBin) {
                    keep[out++] = i; // the most resource of its bin (the points come by resource descending)
                    lastBin = bin;
                }
            }
            kept = out;
        }
        double[] nl = new double[kept];
        double[] nr = new double[kept];
        int[] np = ptr == null ? null : new int[kept * width];
        for (int q = 0; q < kept; q++) {
            nl[q] = l[keep[q]];
            nr[q] = r[keep[q]];
            if (np != null) {
                System.arraycopy(ptr, keep[q] * width, np, q * width, width);
            }
        }
        return new Front(nl, nr, np);
    }
}
