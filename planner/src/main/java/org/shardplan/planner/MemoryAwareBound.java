package org.shardplan.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.solver.DisjointSets;
import org.shardplan.planner.solver.DoublesKey;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Status;

/**
 * A lower bound on the step of every plan of a configuration (P stages, m micro-batches) whose stages
 * each meet the memory limit the search solves them under, from each node's candidates alone (no edge
 * priced, nothing solved): the memory-aware counterpart of {@link PipelineSearch#stepLowerBound}.
 *
 * <p>The search solves stage s (of P) with the activations of the micro-batches 1F1B holds there,
 * {@code c_s = min(P - s, m)} (one with one stage): its layouts x satisfy
 * {@code sum_i p_i(x_i) + c_s act_i(x_i) <= L}. Its per-micro-batch time {@code A_s(x) = sum_i a_i(x_i)}
 * (compute and collectives; resharding only adds) is then at least the value of the multiple-choice
 * knapsack {@code min sum_i a_i(x_i)} under that constraint, and so at least its Lagrangian dual
 * <pre>
 *     A_mem(range, c) = max over lambda &gt;= 0 of  sum_{i in range} min_k (a_ik + lambda (p_ik + c act_ik)) - lambda L
 * </pre>
 * (weak duality: for any lambda and any x that fits, the bracket is at most {@code A(x)}; Fisher, "The
 * Lagrangian relaxation method for solving integer programming problems", Management Science 1981).
 * lambda = 0 gives the least time of {@link PipelineSearch#leastTimes}, so this bound is never below the
 * memory-blind one. The maximum is taken over a fixed geometric grid of lambda (any lambda gives a valid
 * bound), with prefix sums over the cut positions so that each range costs O(log G).
 *
 * <p>The schedules' fill-and-drain bounds are those of {@link PipelineSearch#stepLowerBound}, the
 * stage's own term taken with memory: GPipe and 1F1B {@code A(stages < s) + m A_mem(s)}; ZB-H1 {@code
 * max(F(stages < s) + m A_mem(s), C(stages < s) + m C(s))}; interleaved {@code m sum_s A_mem(s) / P}
 * (the per-stage limits hold for the P-stage partition the layouts were solved at), and m times the busiest
 * device's work where its devices hold different numbers of micro-batches ({@link #busiestDevice}); one stage
 * {@code m A_mem(whole model, 1)}. The partition is any one at the cuts (the least over partitions, by
 * the stage-balancing recurrence with a stage's cost depending on its index).
 *
 * <p>Running time: O(D G C + n G C) to build the tables for D distinct candidate lists, n nodes, G grid
 * points and C distinct counts of micro-batches held; O(P K^2 log G) per bound for K cut positions.
 */
final class MemoryAwareBound {

    /** The schedule families a bound is taken over. */
    enum Kind {
        /** GPipe and 1F1B: {@code A(stages < s) + m A(s)}. */
        FILL_DRAIN,
        /** ZB-H1. */
        ZERO_BUBBLE,
        /** Interleaved 1F1B: each device's fill and drain around its share of {@code m A} ({@link #fillDrain}). */
        INTERLEAVED
    }

    /** lambda grid, seconds per byte: 0, then 1e-18 .. 1e-6 geometrically (ratio 2^(1/4)). */
    static final double[] LAMBDAS;

    static {
        List<Double> l = new ArrayList<>();
        l.add(0.0);
        for (double x = 1e-18; x <= 1e-6; x *= Math.pow(2, 0.25)) {
            l.add(x);
        }
        LAMBDAS = l.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private final int n;
    private final int[] pos;
    private final double limit;
    /** per node: candidates' {a, p, act} (shared between nodes of one class). */
    private final double[][][] cand;
    /** prefix sums at the cut positions of the least f, a, c (no memory). */
    private final double[] pf;
    private final double[] pa;
    private final double[] pc;
    /** per count of micro-batches held: prefix[k * G + g] at cut position k. */
    private final Map<Integer, double[]> prefix = new HashMap<>();
    /** The repeated blocks tied within a stage ({@link TiedBlocks}); null: each node alone. */
    private final TiedBlocks tied;
    /** With {@link #tied}: per cut position, the pure block segments before it. */
    private final int[] pureBefore;
    /** With {@link #tied}: a pure block segment (its nodes' terms stand for every pure segment's). */
    private final int somePure;
    private final java.util.function.DoubleSupplier secondsLeft;

    /**
     * @param costs the candidates' costs per node, in coarse-graph order ({@link ProblemBuilder#nodeCosts})
     * @param recompute whether the costs are those with recomputation (the weight-gradient share)
     * @param cuts where a stage may start ({@link PipelineSearch#cuts})
     * @param limit the memory limit per device, bytes
     */
    MemoryAwareBound(List<List<ProblemBuilder.Cost>> costs, boolean recompute, List<Integer> cuts, double limit) {
        this(costs, recompute, cuts, limit, null, null);
    }

    /**
     * The bound of plans whose stages tie the instances of the repeated block they hold wholly to one set of
     * layouts (every plan the search prices with more than one stage: {@link
     * org.shardplan.planner.build.StageProblem} ties them): a stage of n &gt;= 2 such instances costs, at
     * every lambda, at least n times the tied block's dual {@link TiedBlocks#at} (the rest of its nodes each
     * at its own least, as without ties). Without tied blocks ({@code tied} null) the bound above.
     *
     * @param tied the model's repeated blocks, or null
     * @param secondsLeft the time left for the blocks' solves
     */
    MemoryAwareBound(List<List<ProblemBuilder.Cost>> costs, boolean recompute, List<Integer> cuts, double limit,
            TiedBlocks tied, java.util.function.DoubleSupplier secondsLeft) {
        this.tied = tied;
        this.secondsLeft = secondsLeft;
        this.n = costs.size();
        this.pos = PipelineSearch.cutPositions(n, cuts).stream().mapToInt(Integer::intValue).toArray();
        // a larger limit only lowers the bound: the stage solves' comparisons are exact, this leaves room
        this.limit = limit * (1 + 1e-9);
        Map<List<ProblemBuilder.Cost>, double[][]> seen = new IdentityHashMap<>();
        this.cand = new double[n][][];
        for (int i = 0; i < n; i++) {
            cand[i] = seen.computeIfAbsent(costs.get(i), cs -> {
                double[][] x = new double[cs.size()][];
                for (int k = 0; k < x.length; k++) {
                    ProblemBuilder.Cost c = cs.get(k);
                    x[k] = new double[] {c.microComputeSeconds() + c.microCommunicationSeconds(), c.parameterBytes(),
                            c.activationBytes()};
                }
                return x;
            });
        }
        if (tied != null) {
            pureBefore = new int[pos.length];
            int some = -1;
            for (int k = 0; k + 1 < pos.length; k++) {
                pureBefore[k + 1] = pureBefore[k] + (tied.pure[k] ? 1 : 0);
                if (tied.pure[k] && some < 0) {
                    some = k;
                }
            }
            somePure = some;
        } else {
            pureBefore = null;
            somePure = -1;
        }
        double[][] least = PipelineSearch.leastTimes(costs, recompute);
        int k = pos.length;
        pf = new double[k];
        pa = new double[k];
        pc = new double[k];
        double f = 0;
        double a = 0;
        double c = 0;
        int at = 1;
        for (int i = 0; i < n; i++) {
            f += least[i][0];
            a += least[i][1];
            c += least[i][2];
            while (at < k && pos[at] == i + 1) {
                pf[at] = f;
                pa[at] = a;
                pc[at] = c;
                at++;
            }
        }
    }

    /** The prefix table for {@code copies} micro-batches of activations held. */
    private double[] table(int copies) {
        return prefix.computeIfAbsent(copies, cp -> {
            int g = LAMBDAS.length;
            Map<double[][], double[]> perClass = new IdentityHashMap<>();
            double[] t = new double[pos.length * g];
            double[] run = new double[g];
            int at = 1;
            for (int i = 0; i < n; i++) {
                double[] v = perClass.computeIfAbsent(cand[i], cs -> {
                    double[] r = new double[g];
                    for (int q = 0; q < g; q++) {
                        double lam = LAMBDAS[q];
                        double best = Double.POSITIVE_INFINITY;
                        for (double[] x : cs) {
                            best = Least.min(best, x[0] + lam * (x[1] + cp * x[2]));
                        }
                        r[q] = best;
                    }
                    return r;
                });
                for (int q = 0; q < g; q++) {
                    run[q] += v[q];
                }
                while (at < pos.length && pos[at] == i + 1) {
                    System.arraycopy(run, 0, t, at * g, g);
                    at++;
                }
            }
            return t;
        });
    }

    /**
     * {@code A_mem} of the nodes between cut positions {@code i < j} with {@code copies} micro-batches of
     * activations held: the largest over the grid of the dual function, which is concave in lambda (a
     * search for the peak, then the neighbours scanned; whatever point it stops at is a valid bound).
     */
    double stageTime(int i, int j, int copies) {
        return stageTime(i, j, copies, Double.POSITIVE_INFINITY);
    }

    /**
     * {@link #stageTime}, or the first grid point's value at least {@code cap} where the search meets one (also a
     * valid bound, at least {@code cap}).
     */
    private double stageTime(int i, int j, int copies, double cap) {
        double[] t = table(copies);
        int g = LAMBDAS.length;
        if (tied != null && pureBefore[j] - pureBefore[i] >= 2) {
            if (cap < Double.POSITIVE_INFINITY) {
                // the tied function is at least the nodes' at every price: where theirs reaches the cap, so does it
                double plain = peak(g, q -> dual(t, i, j, q, g), cap);
                if (plain >= cap) {
                    return plain;
                }
            }
            return tiedStageTime(t, i, j, copies, cap);
        }
        return peak(g, q -> dual(t, i, j, q, g), cap);
    }

    /**
     * The largest of {@code f} over the grid points {@code 0..g-1} where {@code f} is concave along the
     * grid (a minimum of lines in lambda, less lambda L): a ternary search for the peak, then the points
     * left and point 0 (each point is a valid bound, so a plateau or rounding only costs tightness; the
     * largest point evaluated is returned, which is the peak where {@code f} is concave).
     * O(log g) evaluations; it stops at the first value at least {@code cap} and returns it (a caller that
     * only asks whether the peak reaches {@code cap}).
     */
    private static double peak(int g, java.util.function.IntToDoubleFunction f, double cap) {
        int lo = 0;
        int hi = g - 1;
        // every point is a bound: the largest seen is kept (the tied stages' function need not be concave, so the
        // search may leave a larger point behind)
        double seen = Double.NEGATIVE_INFINITY;
        while (hi - lo > 3) {
            int m1 = lo + (hi - lo) / 3;
            int m2 = hi - (hi - lo) / 3;
            double v1 = f.applyAsDouble(m1);
            if (v1 >= cap) {
                return v1;
            }
            double v2 = f.applyAsDouble(m2);
            if (v2 >= cap) {
                return v2;
            }
            seen = Math.max(seen, Math.max(v1, v2));
            if (v1 < v2) {
                lo = m1 + 1;
            } else if (v1 > v2) {
                hi = m2 - 1;
            } else {
                lo = m1;
                hi = m2;
            }
        }
        double best = Math.max(seen, f.applyAsDouble(0));
        for (int q = lo; q <= hi && best < cap; q++) {
            best = Math.max(best, f.applyAsDouble(q));
        }
        return best;
    }

    private double dual(double[] t, int i, int j, int q, int g) {
        return t[j * g + q] - t[i * g + q] - LAMBDAS[q] * limit;
    }

    /**
     * {@link #stageTime} of a range holding n &gt;= 2 pure block segments, their instances tied: at each grid
     * point the nodes' dual with the n blocks' terms raised to n times {@link TiedBlocks#at} where that is
     * larger (each pure segment's nodes give the same terms, the block's candidates being one list); the
     * largest over the grid by the same search for the peak (concave: a minimum of lines in lambda, less
     * lambda L), each point a valid bound. O(log G) duals, each a block solve the first time.
     */
    private double tiedStageTime(double[] t, int i, int j, int copies, double cap) {
        int g = LAMBDAS.length;
        int blocks = pureBefore[j] - pureBefore[i];
        java.util.function.IntToDoubleFunction at = q -> {
            double base = dual(t, i, j, q, g);
            double nodes = t[(somePure + 1) * g + q] - t[somePure * g + q];
            // at most the block's dual at the micro-batches held (TiedBlocks.atGrid: solved at powers of two)
            double block = tied.atGrid(q, copies, secondsLeft);
            // the blocks' own terms sum to blocks x nodes (up to the rounding of the prefix sums: a share of
            // 1e-12 of the total is left out)
            double raise = block > nodes ? blocks * (block - nodes) : 0;
            return base + raise - 1e-12 * (Math.abs(base) + Math.abs(raise));
        };
        return peak(g, at, cap);
    }

    /** The dynamic programs the tied blocks' bound has run (0 without tied blocks). */
    int tiedSolves() {
        return tied == null ? 0 : tied.solves;
    }

    /** Cut positions: 0, the cuts inside (0, n), n. */
    int positions() {
        return pos.length;
    }

    /**
     * The bound on the step of P stages and m micro-batches over the schedule families {@code kinds}
     * (the least over them); with one stage the kinds are not read. 0 when the cuts allow fewer than P
     * stages or no family applies.
     */
    double step(int stages, int m, Set<Kind> kinds) {
        return step(stages, m, kinds, Double.POSITIVE_INFINITY);
    }

    /**
     * {@link #step} for a caller that only compares the bound with {@code target} (the plan found): GPipe's, 1F1B's
     * and ZB-H1's stage terms stop their search over the grid at the first point where the stage alone reaches the
     * target (every point is a bound; its partitions then reach the target). A valid bound either way; far cheaper
     * where most stages are far above the target.
     */
    double step(int stages, int m, Set<Kind> kinds, double target) {
        int k = pos.length;
        if (stages == 1) {
            return m * stageTime(0, k - 1, 1);
        }
        if (k - 1 < stages || kinds.isEmpty()) {
            return 0; // no partition at the cuts, or no schedule: nothing to bound (the search prices none)
        }
        double lb = Double.POSITIVE_INFINITY;
        if (kinds.contains(Kind.FILL_DRAIN) || kinds.contains(Kind.ZERO_BUBBLE)) {
            boolean fill = kinds.contains(Kind.FILL_DRAIN);
            boolean zb = kinds.contains(Kind.ZERO_BUBBLE);
            // both families share A_mem(s): the least over partitions of the largest stage bound, per family
            double[][] prev = new double[2][k];
            double[][] cur = new double[2][k];
            for (double[] r : prev) {
                java.util.Arrays.fill(r, Double.POSITIVE_INFINITY);
                r[0] = 0;
            }
            for (int s = 1; s <= stages; s++) {
                int copies = Math.min(stages - (s - 1), m);
                for (double[] r : cur) {
                    java.util.Arrays.fill(r, Double.POSITIVE_INFINITY);
                }
                for (int j = s; j < k; j++) {
                    for (int i = s - 1; i < j; i++) {
                        // a start whose first stages alone reach the best end found so far cannot lower it
                        // (max(prev, x) >= prev), in either family: its stage is not needed
                        if ((!fill || prev[0][i] >= cur[0][j]) && (!zb || prev[1][i] >= cur[1][j])) {
                            continue;
                        }
                        // the stage's time past which its terms reach the target, with a margin for rounding
                        double from = fill && zb ? Math.min(pa[i], pf[i]) : fill ? pa[i] : pf[i];
                        double cap = (target - from) / m * (1 + 1e-9) + 1e-12;
                        double am = m * stageTime(i, j, copies, cap);
                        if (fill) {
                            cur[0][j] = Math.min(cur[0][j], Math.max(prev[0][i], pa[i] + am));
                        }
                        if (zb) {
                            double v = Math.max(pf[i] + am, pc[i] + m * (pc[j] - pc[i]));
                            cur[1][j] = Math.min(cur[1][j], Math.max(prev[1][i], v));
                        }
                    }
                }
                double[][] x = prev;
                prev = cur;
                cur = x;
            }
            if (fill) {
                lb = Math.min(lb, prev[0][k - 1]);
            }
            if (zb) {
                lb = Math.min(lb, prev[1][k - 1]);
            }
        }
        if (kinds.contains(Kind.INTERLEAVED)) {
            // the work of a micro-batch is at least the least over partitions of the summed stage times (the
            // layouts were solved stage by stage), by the same recurrence with a sum
            double[] prev = new double[k];
            double[] cur = new double[k];
            java.util.Arrays.fill(prev, Double.POSITIVE_INFINITY);
            prev[0] = 0;
            for (int s = 1; s <= stages; s++) {
                int copies = Math.min(stages - (s - 1), m);
                java.util.Arrays.fill(cur, Double.POSITIVE_INFINITY);
                for (int j = s; j < k; j++) {
                    for (int i = s - 1; i < j; i++) {
                        if (prev[i] != Double.POSITIVE_INFINITY) {
                            cur[j] = Math.min(cur[j], prev[i] + stageTime(i, j, copies));
                        }
                    }
                }
                double[] x = prev;
                prev = cur;
                cur = x;
            }
            double work = prev[k - 1];
            // and, where the interleaved schedule fits, at least what each device's own memory allows it
            // (interleavedWork); then each device's path through its fill and drain (fillDrain)
            work = Math.max(work, interleavedWork(stages));
            double[] g = new double[stages];
            for (int d = 0; d < stages; d++) {
                g[d] = pa[d];
            }
            // and at least m times the busiest device's work, the repeated segments spread over devices that hold
            // different numbers of micro-batches (busiestDevice)
            lb = Math.min(lb, Math.max(fillDrain(g, m * work), m * busiestDevice(stages)));
        }
        return lb == Double.POSITIVE_INFINITY ? 0 : lb;
    }

    /** {@link #busiestDevice} per count of stages. */
    private final Map<Integer, Double> busiest = new HashMap<>();

    /**
     * A lower bound on the busiest device's work per micro-batch, {@code max_d W_d}, of every interleaved plan of P
     * stages that fits, from the model's most frequent segment between neighbouring cuts (its N copies: segments
     * whose nodes have the same candidate lists, position by position; the other segments' work and memory are at
     * least 0 and left out). Every chunk is a run of whole segments, so device d holds some number {@code n_d} of
     * those copies, {@code sum_d n_d = N}, and {@link #interleavedHeld} {@code h_d} micro-batches of each chunk's
     * activations: its memory limit and weak duality give, for every lambda &gt;= 0, {@code W_d >= n_d D_h(lambda) -
     * lambda L} with {@code D_h(lambda) = sum_{nodes of the segment} min_k (a_ik + lambda (p_ik + h act_ik))}. So
     * {@code W_d <= T} needs {@code n_d <= N_h(T) = min over lambda of (T + lambda L) / D_h(lambda)}, and every plan
     * has {@code max_d W_d >= T*}, the least T with {@code sum_d N_{h_d}(T) >= N} (found by bisection; {@code
     * N_h} rises with T). Where memory binds on the devices that hold many micro-batches, the copies must go to
     * those that hold few, which are few: this bound follows that, which the average work of {@link
     * #interleavedWork} ({@code m W / P}) does not see. O(nodes) to find the segments, then O(P G) per bisection
     * step; once per count of stages.
     */
    double busiestDevice(int stages) {
        if (stages < 2) {
            return 0;
        }
        return busiest.computeIfAbsent(stages, p -> {
            // the segments by their candidate lists, position by position (the lists are shared within a class)
            Map<IdentityList, List<Integer>> kinds = new HashMap<>();
            for (int k = 0; k + 1 < pos.length; k++) {
                List<double[][]> key = new ArrayList<>();
                for (int i = pos[k]; i < pos[k + 1]; i++) {
                    key.add(cand[i]);
                }
                kinds.computeIfAbsent(new IdentityList(key), x -> new ArrayList<>()).add(k);
            }
            List<Integer> most = List.of();
            for (List<Integer> v : kinds.values()) {
                if (v.size() > most.size()) {
                    most = v;
                }
            }
            int copies = most.size();
            if (copies < 2) {
                return 0.0;
            }
            int seg = most.get(0);
            int g = LAMBDAS.length;
            int[] held = new int[p];
            Map<Integer, double[]> dual = new HashMap<>();
            for (int d = 0; d < p; d++) {
                held[d] = interleavedHeld(p, d);
                dual.computeIfAbsent(held[d], h -> {
                    double[] t = table(h);
                    double[] r = new double[g];
                    for (int q = 0; q < g; q++) {
                        r[q] = t[(seg + 1) * g + q] - t[seg * g + q];
                    }
                    return r;
                });
            }
            // sum_d N_{h_d}(T) against the copies: the least T that reaches them
            java.util.function.DoubleUnaryOperator room = t -> {
                double n = 0;
                for (int d = 0; d < p; d++) {
                    double[] dh = dual.get(held[d]);
                    double fits = Double.POSITIVE_INFINITY;
                    for (int q = 0; q < g; q++) {
                        if (dh[q] > 0) {
                            fits = Math.min(fits, (t + LAMBDAS[q] * limit) / dh[q]);
                        }
                    }
                    n += fits;
                }
                return n;
            };
            double lo = 0;
            if (room.applyAsDouble(lo) >= copies) {
                return 0.0;
            }
            double hi = 1e-6;
            while (room.applyAsDouble(hi) < copies) {
                hi *= 2;
                if (hi > 1e12) {
                    return hi; // no plan fits: any value is a bound
                }
            }
            for (int it = 0; it < 60 && hi - lo > 1e-12 * hi; it++) {
                double mid = (lo + hi) / 2;
                if (room.applyAsDouble(mid) >= copies) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return lo; // room(lo) < copies: every plan's busiest device does more than lo
        });
    }

    /** A list compared by its elements' identity (candidate lists shared within a class). */
    private record IdentityList(List<double[][]> items) {
        @Override
        public boolean equals(Object o) {
            if (!(o instanceof IdentityList other) || other.items.size() != items.size()) {
                return false;
            }
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i) != other.items.get(i)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (double[][] x : items) {
                h = 31 * h + System.identityHashCode(x);
            }
            return h;
        }
    }

    /**
     * The least number of micro-batches of each of its chunks' activations that device {@code d} of an
     * interleaved pipeline of {@code P} stages holds at once: {@code min(P, 2 (P - d) - 1)}, whatever the
     * virtual stages {@code v >= 2} and micro-batches {@code m} (a multiple of P). After its warm-up of
     * {@code w = min(2 (P - d - 1) + (v - 1) P, m v)} forwards and one more, before any backward, each
     * chunk before the last has run P forwards (groups of P micro-batches per chunk) and the last
     * {@code min(P, 2 (P - d) - 1)} (all m when the warm-up is every forward):
     * {@link org.shardplan.planner.pipeline.Interleaved1F1B#peakBytes} counts at least that. O(1).
     */
    static int interleavedHeld(int stages, int d) {
        return Math.min(stages, 2 * (stages - d) - 1);
    }

    /**
     * A lower bound on the per-micro-batch work {@code W = sum_i a_i(x_i)} of every interleaved plan of P
     * stages that fits: device d's layouts satisfy {@code sum_{i on d} p_i + h_d act_i <= L} with
     * {@code h_d = }{@link #interleavedHeld}, whichever nodes its chunks hold. For any mu &gt;= 0, weak duality
     * on device d with the multiplier {@code mu P / h_d} (at least mu, as {@code h_d <= P}) gives
     * {@code A_d >= sum_{i on d} min_k (a_ik + mu (p_ik + P act_ik)) - mu P L / h_d}, and summed over the
     * devices {@code W >= sum_i min_k (a_ik + mu (p_ik + P act_ik)) - mu P L H} with {@code H = sum_d 1 / h_d};
     * with the multiplier mu on every device, {@code W >= sum_i min_k (a_ik + mu (p_ik + act_ik)) - mu P L}.
     * The larger of the two, each maximised over the grid. O(G) after the tables.
     */
    double interleavedWork(int stages) {
        double h = 0;
        for (int d = 0; d < stages; d++) {
            h += 1.0 / interleavedHeld(stages, d);
        }
        int last = pos.length - 1;
        return Math.max(dualMax(0, last, stages, stages * h), dualMax(0, last, 1, stages));
    }

    /**
     * {@code max over the grid of sum_{i in [i, j)} min_k (a_ik + lambda (p_ik + copies act_ik)) - lambda
     * scale L}: each point a valid bound, the whole grid scanned. O(G).
     */
    private double dualMax(int i, int j, int copies, double scale) {
        double[] t = table(copies);
        int g = LAMBDAS.length;
        double best = Double.NEGATIVE_INFINITY;
        for (int q = 0; q < g; q++) {
            best = Math.max(best, t[j * g + q] - t[i * g + q] - LAMBDAS[q] * scale * limit);
        }
        return best;
    }

    /**
     * The interleaved schedule's step bound from the devices' fill and drain: in Megatron's order device
     * d's first op is the forward of micro-batch 0 through chunk 0 (model stage d) and its last the
     * backward of micro-batch m - 1 through the same chunk, so the step is at least micro-batch 0's
     * forward through model stages 0..d-1, then all of device d's work {@code m W_d}, then micro-batch
     * m - 1's backward through stages d-1..0: {@code g_d + m W_d}, where {@code g_d} is at most the forward
     * and backward of those d stages ({@code g} here: the least times of the first d segments, each stage
     * holding at least one) and {@code sum_d W_d = W}. The least over every split of the work of the
     * largest of those, by water-filling: the least T with {@code sum_d max(0, T - g_d) >= m W} and
     * {@code T >= g_d} for every d. With every {@code g_d = 0} it is {@code m W / P}. O(P).
     *
     * @param g    per device, nondecreasing, {@code g[0] = 0}
     * @param work {@code m W}
     */
    static double fillDrain(double[] g, double work) {
        int p = g.length;
        double sum = 0;
        double t = Double.POSITIVE_INFINITY;
        for (int k = 1; k <= p; k++) {
            sum += g[k - 1];
            double x = (work + sum) / k;
            if (k == p || x <= g[k]) {
                t = x;
                break;
            }
        }
        return Math.max(t, g[p - 1]);
    }
    /**
     * The model's largest repeated block as a stage ties it: one instance's problem whose minimum, with
     * memory priced at lambda, bounds each instance's share of a stage holding n &gt;= 2 of them. For a tied
     * assignment x (the same layouts in every instance) the stage's n instances cost {@code n f(x) + (n - 1)
     * r(x)}: f the instance's compute, collectives and resharding on its own edges, r the resharding from one
     * instance into the next (the same for every consecutive pair, checked), at least 0; since {@code n - 1
     * >= n / 2}, at least {@code n (f(x) + r(x) / 2)}, and with memory priced, summed over x's fitting the
     * limit, at least {@code n min_x (f(x) + r(x) / 2 + lambda (params(x) + copies act(x)))}. Only the
     * instances that make a segment between neighbouring cuts by themselves ("pure" segments) count; the
     * others' nodes keep their own least terms. O(block nodes · layouts^2) to build; by default the block is
     * relaxed to a forest ({@link #forest}) and solved by one pass of {@link Forest} per grid price and count held
     * that is a power of two ({@link #atGrid}); else one exact dynamic program of the block per (lambda, copies)
     * asked for, its compile shared by the lambdas of one count.
     */
    static final class TiedBlocks {
        /** Per segment: whether it is exactly one instance of the block. */
        final boolean[] pure;
        private final Problem block;
        private final double[][] params;
        private final double[][] acts;
        private final Map<Integer, DpSolver.Priced> compiled = new HashMap<>();
        private final Map<List<Object>, Double> known = new HashMap<>();
        /** Dynamic programs (or passes of the forest) run, for the trace and tests. */
        int solves;

        TiedBlocks(boolean[] pure, Problem block, double[][] params, double[][] acts) {
            this.pure = pure;
            this.block = block;
            this.params = params;
            this.acts = acts;
            this.tree = forest ? Forest.of(block) : null;
        }

        /**
         * The tied blocks of {@code b} at the cut positions {@code positions} under {@code filter}; null when
         * there are fewer than two pure segments in a row, or the instances differ in their candidates, the
         * layouts the filter allows or the resharding between consecutive instances, or some resharding is
         * negative (then nothing here would be a bound).
         *
         * @param main the block class the cuts are made at
         * @param asForest the block's problem relaxed to a forest ({@link #forest}, the default), else closed (every edge
         *     kept, solved by the dynamic program)
         */
        static TiedBlocks of(ProblemBuilder.Built b, org.shardplan.graph.passes.BlockClass main, List<Integer> positions,
                StageProblem.Filter filter, boolean asForest) {
            if (main == null || main.count() < 2) {
                return null;
            }
            int bs = main.blockSize();
            List<List<org.shardplan.graph.passes.CoarseNode>> inst = main.instances();
            List<ProblemBuilder.Unit> units = b.units();
            // every instance alike, position by position: candidates, costs and allowed layouts
            int[][] allowed = new int[bs][];
            int[] nodeInst = new int[units.size()];
            int[] nodePos = new int[units.size()];
            java.util.Arrays.fill(nodeInst, -1);
            for (int q = 0; q < inst.size(); q++) {
                if (inst.get(q).size() != bs) {
                    return null;
                }
                for (int j = 0; j < bs; j++) {
                    ProblemBuilder.Unit u = units.get(inst.get(q).get(j).index());
                    ProblemBuilder.Unit u0 = units.get(inst.get(0).get(j).index());
                    if (!u.layouts().equals(u0.layouts()) || !u.costs().equals(u0.costs())) {
                        return null;
                    }
                    int[] a = java.util.stream.IntStream.range(0, u.layouts().size()).filter(k -> filter.allows(u, k)).toArray();
                    if (a.length == 0 || (allowed[j] != null && !java.util.Arrays.equals(a, allowed[j]))) {
                        return null;
                    }
                    allowed[j] = a;
                    nodeInst[u.index()] = q;
                    nodePos[u.index()] = j;
                }
            }
            for (ProblemBuilder.Link l : b.links()) {
                for (double v : l.seconds()) {
                    if (v < 0) {
                        return null;
                    }
                }
            }
            // the pure segments, and which instance each is
            int segs = positions.size() - 1;
            boolean[] pure = new boolean[segs];
            int[] segInst = new int[segs];
            int pairs = 0;
            for (int k = 0; k < segs; k++) {
                int from = positions.get(k);
                int to = positions.get(k + 1);
                int q = nodeInst[from];
                boolean all = q >= 0 && to - from == bs;
                for (int x = from; all && x < to; x++) {
                    all = nodeInst[x] == q;
                }
                pure[k] = all;
                segInst[k] = all ? q : -1;
                if (k > 0 && pure[k] && pure[k - 1]) {
                    pairs++;
                }
            }
            if (pairs == 0) {
                return null;
            }
            // the resharding from each pure instance into the next pure one: the same (positions and tables)
            // for every such pair
            Map<Integer, List<ProblemBuilder.Link>> into = new HashMap<>();
            for (ProblemBuilder.Link l : b.links()) {
                int qa = nodeInst[l.from()];
                int qb = nodeInst[l.to()];
                if (qa >= 0 && qb >= 0 && qa != qb) {
                    into.computeIfAbsent(qa * 1_000_003 + qb, x -> new ArrayList<>()).add(l);
                }
            }
            List<Object> signature = null;
            int first = -1;
            for (int k = 1; k < segs; k++) {
                if (!(pure[k] && pure[k - 1])) {
                    continue;
                }
                int qa = segInst[k - 1];
                int qb = segInst[k];
                List<Object> sig = new ArrayList<>();
                for (ProblemBuilder.Link l : into.getOrDefault(qa * 1_000_003 + qb, List.of())) {
                    sig.add(List.of(nodePos[l.from()], nodePos[l.to()], new DoublesKey(l.seconds())));
                }
                if (signature == null) {
                    signature = sig;
                    first = qa;
                } else if (!signature.equals(sig)) {
                    return null;
                }
            }
            int q0 = first;
            int qn = -1;
            for (int k = 1; k < segs; k++) {
                if (pure[k] && pure[k - 1] && segInst[k - 1] == q0) {
                    qn = segInst[k];
                }
            }
            // the block's problem: one instance (q0), its own edges, and half of those into the next (qn)
            double[][] cost = new double[bs][];
            double[][] params = new double[bs][];
            double[][] acts = new double[bs][];
            for (int j = 0; j < bs; j++) {
                ProblemBuilder.Unit u = units.get(inst.get(q0).get(j).index());
                cost[j] = new double[allowed[j].length];
                params[j] = new double[allowed[j].length];
                acts[j] = new double[allowed[j].length];
                for (int s = 0; s < allowed[j].length; s++) {
                    ProblemBuilder.Cost c = u.costs().get(allowed[j][s]);
                    cost[j][s] = c.microComputeSeconds() + c.microCommunicationSeconds();
                    params[j][s] = c.parameterBytes();
                    acts[j][s] = c.activationBytes();
                }
            }
            List<Problem.Edge> edges = new ArrayList<>();
            for (ProblemBuilder.Link l : b.links()) {
                int qa = nodeInst[l.from()];
                int qb = nodeInst[l.to()];
                double w;
                if (qa == q0 && qb == q0) {
                    w = 1;
                } else if (qa == q0 && qb == qn) {
                    w = 0.5;
                } else {
                    continue;
                }
                int pa = nodePos[l.from()];
                int pb = nodePos[l.to()];
                int[] ra = allowed[pa];
                int[] ca = allowed[pb];
                int cols = units.get(l.to()).layouts().size();
                if (pa == pb) {
                    // into the same position of the next instance: the same layout on both ends
                    for (int s = 0; s < ra.length; s++) {
                        cost[pa][s] += w * l.seconds()[ra[s] * cols + ra[s]];
                    }
                    continue;
                }
                double[] t = new double[ra.length * ca.length];
                for (int s = 0; s < ra.length; s++) {
                    for (int x = 0; x < ca.length; x++) {
                        t[s * ca.length + x] = w * l.seconds()[ra[s] * cols + ca[x]];
                    }
                }
                edges.add(new Problem.Edge(pa, pb, ra.length, ca.length, t));
            }
            if (asForest) {
                edges = forest(edges, cost, bs);
            }
            List<Problem.Node> nodes = new ArrayList<>();
            for (int j = 0; j < bs; j++) {
                nodes.add(new Problem.Node(units.get(inst.get(q0).get(j).index()).name(), cost[j], null, null));
            }
            return new TiedBlocks(pure, new Problem(b.name() + " [tied block]", nodes, edges), params, acts);
        }

        /** Per power of two 2^e of micro-batches held: the forest's value at each grid point, NaN until computed. */
        private final double[][] grid = new double[32][];

        /**
         * A lower bound on {@link #at} at grid point {@code LAMBDAS[q]} for a stage holding {@code copies}
         * micro-batches. With the forest's solve: exact at a power of two, else the chord between the powers of
         * two around the count (the value is a minimum over layouts of lines in the count, so concave in it: the
         * chord lies below it, and above the value at the lower power, as the value does not fall with the
         * count); a table per count, no key built. Without it: the value at the count rounded down to a power of
         * two. Either way the counts of a pipeline share few solves.
         */
        double atGrid(int q, int copies, java.util.function.DoubleSupplier secondsLeft) {
            int low = Integer.highestOneBit(copies);
            if (tree == null) {
                return at(LAMBDAS[q], low, secondsLeft);
            }
            double v = forestAt(q, low);
            if (low == copies) {
                return v;
            }
            double w = forestAt(q, 2 * low);
            return v + (w - v) * (copies - low) / low;
        }

        private double forestAt(int q, int copies) {
            int e = Integer.numberOfTrailingZeros(copies);
            double[] row = grid[e];
            if (row == null) {
                row = new double[LAMBDAS.length];
                java.util.Arrays.fill(row, Double.NaN);
                grid[e] = row;
            }
            double v = row[q];
            if (Double.isNaN(v)) {
                solves++;
                v = tree.least(LAMBDAS[q], copies, params, acts);
                row[q] = v;
            }
            return v;
        }

        /** The block's problem as a forest ({@link #forest}), solved by {@link Forest#least}; null when it is not one. */
        private final Forest tree;

        /**
         * The exact minimum of a problem whose edges form a forest, with memory priced: each tree rooted at its
         * first node, the nodes taken leaves first, each sending its parent the least over its own layouts of its
         * priced cost, what its children sent and the edge between them. O(sum over edges of K_i K_j) per price,
         * no compile: the block's prices cost microseconds where a dynamic program's set-up costs milliseconds.
         */
        static final class Forest {
            private final double[][] cost;
            /** The nodes, each after its parent; -1: a root. */
            private final int[] order;
            private final int[] parent;
            /** The edge to the parent, rows the parent's layouts, columns the node's. */
            private final double[][] up;

            /**
             * Per node with a parent: each row of {@link #up} (a parent's layout) sorted, its columns ({@code upOrder}) and
             * values ({@code upSorted}), by value then column: the edges do not change with the price, so they are sorted
             * once for every {@link #least}.
             */
            private final int[][][] upOrder;
            private final double[][][] upSorted;

            private Forest(double[][] cost, int[] order, int[] parent, double[][] up) {
                this.cost = cost;
                this.order = order;
                this.parent = parent;
                this.up = up;
                int n = order.length;
                upOrder = new int[n][][];
                upSorted = new double[n][][];
                for (int w = 0; w < n; w++) {
                    if (parent[w] < 0) {
                        continue;
                    }
                    int kw = cost[w].length;
                    int kv = cost[parent[w]].length;
                    upOrder[w] = new int[kv][];
                    upSorted[w] = new double[kv][];
                    for (int x = 0; x < kv; x++) {
                        upOrder[w][x] = new int[kw];
                        upSorted[w][x] = new double[kw];
                        org.shardplan.planner.solver.Orders.byValue(java.util.Arrays.copyOfRange(up[w], x * kw, (x + 1) * kw),
                                upOrder[w][x], upSorted[w][x], kw);
                    }
                }
            }

            /**
             * Whether {@link #least} reads each edge's rows in the order of their values and the node's priced costs in
             * theirs, stopping once the two frontiers' sum reaches the least found (Fagin, Lotem and Naor's threshold
             * algorithm; the same minimum: {@code -Dshardplan.forestScan=false} reads every pair; tests set it).
             */
            static boolean thresholdScan = !"false".equals(System.getProperty("shardplan.forestScan"));

            /** The problem's forest, or null when its edges close a cycle (or join a pair twice). */
            static Forest of(Problem p) {
                int n = p.size();
                List<List<Problem.Edge>> adj = new ArrayList<>();
                for (int j = 0; j < n; j++) {
                    adj.add(new ArrayList<>());
                }
                for (Problem.Edge e : p.edges()) {
                    adj.get(e.from()).add(e);
                    adj.get(e.to()).add(e);
                }
                double[][] cost = new double[n][];
                for (int j = 0; j < n; j++) {
                    cost[j] = p.nodes().get(j).costs();
                }
                int[] parent = new int[n];
                double[][] up = new double[n][];
                int[] order = new int[n];
                boolean[] seen = new boolean[n];
                int at = 0;
                int edgesSeen = 0;
                for (int r = 0; r < n; r++) {
                    if (seen[r]) {
                        continue;
                    }
                    seen[r] = true;
                    parent[r] = -1;
                    int head = at;
                    order[at++] = r;
                    while (head < at) {
                        int v = order[head++];
                        for (Problem.Edge e : adj.get(v)) {
                            int w = e.from() == v ? e.to() : e.from();
                            if (seen[w]) {
                                continue;
                            }
                            seen[w] = true;
                            parent[w] = v;
                            edgesSeen++;
                            up[w] = e.costsFrom(v); // rows: v's layouts (the parent), columns: w's
                            order[at++] = w;
                        }
                    }
                }
                return edgesSeen == p.edges().size() ? new Forest(cost, order, parent, up) : null;
            }

            /** {@code min_x sum_j cost_j(x_j) + lambda (params_j(x_j) + copies acts_j(x_j)) + the edges' terms}. */
            double least(double lambda, int copies, double[][] params, double[][] acts) {
                int n = order.length;
                double[][] in = new double[n][];
                for (int j = 0; j < n; j++) {
                    double[] u = new double[cost[j].length];
                    for (int x = 0; x < u.length; x++) {
                        u[x] = cost[j][x] + lambda * (params[j][x] + copies * acts[j][x]);
                    }
                    in[j] = u;
                }
                double total = 0;
                for (int q = n - 1; q >= 0; q--) {
                    int w = order[q];
                    double[] u = in[w];
                    int v = parent[w];
                    if (v < 0) {
                        double least = Double.POSITIVE_INFINITY;
                        for (double x : u) {
                            least = Least.min(least, x);
                        }
                        total += least;
                        continue;
                    }
                    double[] t = up[w];
                    double[] pv = in[v];
                    int kw = u.length;
                    if (thresholdScan && kw > 8) {
                        // any column not yet read costs at least the two frontiers' sum, so the scan stops there
                        int[] uo = new int[kw];
                        double[] us = new double[kw];
                        org.shardplan.planner.solver.Orders.byValue(u, uo, us, kw);
                        for (int x = 0; x < pv.length; x++) {
                            int base = x * kw;
                            int[] to = upOrder[w][x];
                            double[] ts = upSorted[w][x];
                            double least = Double.POSITIVE_INFINITY;
                            for (int i = 0; i < kw; i++) {
                                int a = uo[i];
                                if (!(us[i] + ts[i] < least)) {
                                    break;
                                }
                                least = Least.min(least, u[a] + t[base + a]);
                                int c = to[i];
                                least = Least.min(least, u[c] + t[base + c]);
                            }
                            pv[x] += least;
                        }
                        continue;
                    }
                    for (int x = 0; x < pv.length; x++) {
                        double least = Double.POSITIVE_INFINITY;
                        int base = x * kw;
                        for (int y = 0; y < kw; y++) {
                            least = Least.min(least, u[y] + t[base + y]);
                        }
                        pv[x] += least;
                    }
                }
                return total;
            }
        }

        /**
         * -Dshardplan.tiedForest=false: the block's problem keeps every edge (closed by the edges into the next
         * instance, its dynamic program is wide); true by default: {@link #forest}.
         */
        static boolean forest = !"false".equals(System.getProperty("shardplan.tiedForest"));

        /**
         * The edges of the block's problem relaxed to a forest, so that its dynamic program is a tree's ({@code
         * O(sum of K_i K_j)} per price) however the edges into the next instance close it: the edges between the
         * same two nodes summed into one; then a spanning forest of largest spread ({@code max - min} of a table,
         * Kruskal) kept whole, and each edge left out replaced by its row minima added to its first node's costs
         * and the column minima of what is left added to its second's ({@code r(x, y) >= u(x) + w(y)}, {@code u(x) =
         * min_y r(x, y)}, {@code w(y) = min_x (r(x, y) - u(x))}; the rest at least 0 and dropped). Every assignment then costs at most
         * what it costs with every edge, so the block's priced optimum, and the bound, only fall. O(E log E + sum
         * of the tables).
         */
        static List<Problem.Edge> forest(List<Problem.Edge> edges, double[][] cost, int nodes) {
            // the edges between the same two nodes summed, oriented from the lower index
            Map<Long, double[]> merged = new java.util.LinkedHashMap<>();
            Map<Long, int[]> dims = new HashMap<>();
            for (Problem.Edge e : edges) {
                int a = Math.min(e.from(), e.to());
                int c = Math.max(e.from(), e.to());
                int rows = cost[a].length;
                int cols = cost[c].length;
                long key = (long) a * nodes + c;
                double[] acc = merged.computeIfAbsent(key, x -> new double[rows * cols]);
                dims.put(key, new int[] {a, c});
                double[] t = e.costsFrom(a);
                for (int x = 0; x < t.length; x++) {
                    acc[x] += t[x];
                }
            }
            List<Long> keys = new ArrayList<>(merged.keySet());
            double[] spread = new double[keys.size()];
            for (int q = 0; q < spread.length; q++) {
                double lo = Double.POSITIVE_INFINITY;
                double hi = Double.NEGATIVE_INFINITY;
                for (double v : merged.get(keys.get(q))) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                spread[q] = hi - lo;
            }
            Integer[] order = new Integer[keys.size()];
            for (int q = 0; q < order.length; q++) {
                order[q] = q;
            }
            // largest spread first; ties in the order of the edges (stable)
            java.util.Arrays.sort(order, (x, y) -> Double.compare(spread[y], spread[x]));
            int[] root = new int[nodes];
            for (int j = 0; j < nodes; j++) {
                root[j] = j;
            }
            List<Problem.Edge> kept = new ArrayList<>();
            for (int q : order) {
                long key = keys.get(q);
                int[] d = dims.get(key);
                int ra = DisjointSets.find(root, d[0]);
                int rc = DisjointSets.find(root, d[1]);
                int rows = cost[d[0]].length;
                int cols = cost[d[1]].length;
                double[] t = merged.get(key);
                if (ra != rc) {
                    root[ra] = rc;
                    kept.add(new Problem.Edge(d[0], d[1], rows, cols, t));
                    continue;
                }
                // r(x, y) >= u(x) + w(y) with u its row minima and w the column minima of r - u (both at least 0)
                double[] u = new double[rows];
                for (int x = 0; x < rows; x++) {
                    double least = Double.POSITIVE_INFINITY;
                    for (int y = 0; y < cols; y++) {
                        least = Math.min(least, t[x * cols + y]);
                    }
                    u[x] = least;
                    cost[d[0]][x] += least;
                }
                for (int y = 0; y < cols; y++) {
                    double least = Double.POSITIVE_INFINITY;
                    for (int x = 0; x < rows; x++) {
                        least = Math.min(least, t[x * cols + y] - u[x]);
                    }
                    cost[d[1]][y] += least;
                }
            }
            return kept;
        }

        /**
         * {@code min_x f(x) + r(x) / 2 + lambda (params(x) + copies act(x))} over one instance's allowed
         * layouts, or a proven lower bound on it where the solve does not finish ({@code -infinity} when none).
         *
         * <p>The function {@code D(lambda)} is concave and piecewise linear (a minimum over x of lines in lambda),
         * so the prices solved exactly tell it between them without another solve: for lambda between two
         * solved prices a &lt; b with minimisers x_a, x_b, D(lambda) is at least the chord through (a, D(a)) and
         * (b, D(b)) (concavity) and at most the lines of x_a and x_b. Where the two agree (to a share of
         * {@link #ENVELOPE_GAP}) the chord is returned, a bound within that share of the exact value; else one
         * dynamic program where the two lines cross either shows they meet on D (D is then those two lines
         * between a and b) or finds a piece below them, and the interval is halved there. Prices solved: about
         * twice the pieces of D the queried prices reach, against one per price queried ({@link #envelope}
         * false, or {@code -Dshardplan.tiedEnvelope=false}).
         */
        double at(double lambda, int copies, java.util.function.DoubleSupplier secondsLeft) {
            List<Object> key = List.of(lambda, copies);
            Double v = known.get(key);
            if (v != null) {
                return v;
            }
            double r;
            if (tree != null) {
                solves++;
                r = tree.least(lambda, copies, params, acts);
            } else {
                r = envelope ? fromEnvelope(lambda, copies, secondsLeft) : solveAt(lambda, copies, secondsLeft);
            }
            known.put(key, r);
            return r;
        }

        /**
         * Whether {@link #at} reads the prices between solved ones off the envelope; tests turn it off to
         * compare.
         */
        boolean envelope = !"false".equals(System.getProperty("shardplan.tiedEnvelope"));

        /** The largest gap, as a share of the value, between the chord and the lines for {@link #at} to use the chord. */
        static final double ENVELOPE_GAP = 1e-9;

        /** Per count of micro-batches held: the prices solved to optimality, each {D, M(x)} of its minimiser x. */
        private final Map<Integer, java.util.TreeMap<Double, double[]>> solved = new HashMap<>();

        private double fromEnvelope(double lambda, int copies, java.util.function.DoubleSupplier secondsLeft) {
            java.util.TreeMap<Double, double[]> pts = solved.computeIfAbsent(copies, c -> new java.util.TreeMap<>());
            if (pts.isEmpty()) {
                // the ends of the grid first: every price asked for then lies between two solved ones
                solveAt(LAMBDAS[0], copies, secondsLeft);
                solveAt(LAMBDAS[LAMBDAS.length - 1], copies, secondsLeft);
            }
            for (int guard = 0; guard < 64; guard++) {
                double[] here = pts.get(lambda);
                if (here != null) {
                    return here[0];
                }
                Map.Entry<Double, double[]> lo = pts.lowerEntry(lambda);
                Map.Entry<Double, double[]> hi = pts.higherEntry(lambda);
                if (lo == null || hi == null) {
                    break;
                }
                double a = lo.getKey();
                double b = hi.getKey();
                double da = lo.getValue()[0];
                double db = hi.getValue()[0];
                double ma = lo.getValue()[1];
                double mb = hi.getValue()[1];
                // the lines of the two minimisers (D(a) = F_a + a M_a) and the chord between the two points
                double la = da + (lambda - a) * ma;
                double lb = db + (lambda - b) * mb;
                double upper = Math.min(la, lb);
                double chord = da + (lambda - a) * (db - da) / (b - a);
                if (upper - chord <= ENVELOPE_GAP * Math.max(Math.abs(upper), Math.abs(chord))) {
                    return Math.min(chord, upper);
                }
                // where the lines cross (strictly between a and b when neither is D alone on [a, b])
                double star = ma == mb ? Double.NaN : (db - b * mb - da + a * ma) / (ma - mb);
                double at = star > a && star < b ? star : lambda;
                double got = solveAt(at, copies, secondsLeft);
                if (!pts.containsKey(at)) {
                    // not solved to optimality (the time limit): the price's own bound
                    return at == lambda ? got : solveAt(lambda, copies, secondsLeft);
                }
            }
            return solveAt(lambda, copies, secondsLeft);
        }

        /**
         * One dynamic program of the block at {@code lambda}: its optimum (kept with its minimiser's memory as a
         * point of the envelope), or a proven lower bound where it does not finish ({@code -infinity} when none;
         * NaN when no time was left to start).
         */
        private double solveAt(double lambda, int copies, java.util.function.DoubleSupplier secondsLeft) {
            DpSolver.Priced p = compiled.computeIfAbsent(copies, c -> {
                List<Problem.Node> nodes = new ArrayList<>();
                for (int j = 0; j < block.size(); j++) {
                    Problem.Node nd = block.nodes().get(j);
                    double[] mem = new double[params[j].length];
                    for (int s = 0; s < mem.length; s++) {
                        mem[s] = params[j][s] + c * acts[j][s];
                    }
                    nodes.add(new Problem.Node(nd.name(), nd.costs(), null, mem));
                }
                return new DpSolver.Priced(new Problem(block.name(), nodes, block.edges()));
            });
            double left = secondsLeft.getAsDouble();
            if (!(left > 0)) {
                return Double.NEGATIVE_INFINITY;
            }
            solves++;
            Solution s = p.solve(lambda, left);
            if (s.status() == Status.OPTIMAL && s.hasChoices()) {
                double mem = 0;
                int[] x = s.choices();
                for (int j = 0; j < x.length; j++) {
                    mem += params[j][x[j]] + copies * acts[j][x[j]];
                }
                solved.computeIfAbsent(copies, c -> new java.util.TreeMap<>()).put(lambda, new double[] {s.objective(), mem});
                return s.objective();
            }
            return Double.isFinite(s.lowerBound()) ? s.lowerBound() : Double.NEGATIVE_INFINITY;
        }
    }
}
