package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The exact partition of a chain of {@code K} segments into {@code P} contiguous pipeline stages, a
 * stage's cost being whatever the caller's exact solve of that stage gives (its per-micro-batch time,
 * infinite where it cannot be a stage there, for example over the memory limit with the micro-batches
 * the stage holds at its position). The objective is Alpa's for synchronous schedules that keep
 * {@code P} stages busy on {@code m} micro-batches (GPipe, 1F1B): the first micro-batch crosses every
 * stage, the other {@code m - 1} follow at the pace of the slowest,
 * <pre>
 *     T(partition) = sum_s c_s + (m - 1) max_s c_s
 * </pre>
 * (Zheng et al., "Alpa: Automating Inter- and Intra-Operator Parallelism for Distributed Deep
 * Learning", OSDI 2022, section 5). It is minimised exactly by Alpa's enumeration of the
 * bottleneck: for each candidate {@code t} among the distinct stage costs, in increasing order,
 * {@code S(t)} = the least sum of stage costs over partitions whose every stage costs at most
 * {@code t}, and {@code T* = min_t S(t) + (m - 1) t}; the enumeration stops at the first {@code t} with
 * {@code (m - 1) t + S(inf)} at or above the best found, since no later one can do better.
 *
 * <p>The stage costs come from an oracle ({@link StageCosts}) that may be expensive (an exact per-layer
 * solve per stage) and lazy: it gives a cheap lower bound for every range, a cost that may itself be
 * only a lower bound (a stage whose exact solve is put off: its memory limit binds), and refines that
 * cost to the exact one on demand. The partition asks for the cost of a range only when the range can
 * be part of a partition whose objective beats the upper bound given (the bound on the slowest stage,
 * {@code t <= min(U / m, (U - L) / (m - 1))} with {@code L} the least sum of lower bounds, and the
 * stages before and after it coverable within that bound), and refines the ranges of the optimum until
 * they are all exact, taking their costs again each round (an oracle may share one solve between ranges,
 * so that refining one makes others exact at a higher cost than the bound taken before): the partition
 * returned is then optimal among all partitions, whatever the costs of the ranges that were never asked
 * for or never refined.
 *
 * <p>Running time: {@code O(P K^2)} lower bounds and at most that many cost look-ups (the caller's
 * solves are what costs; with repeated layers the distinct ones are {@code O(K)}), then
 * {@code O(|T| P K^2)} for the {@code |T|} distinct stage costs the enumeration reaches, for each
 * round of refinement (at most one per range refined).
 */
public final class StagePartition {

    private StagePartition() {
    }

    /** The costs of the stages, by the segments they cover and their position. */
    public interface StageCosts {
        /**
         * A lower bound on {@link #cost}{@code (from, to, stage)}, cheap (no solve); may be 0, must not be
         * above the exact cost.
         */
        double lowerBound(int from, int to, int stage);

        /**
         * The cost of segments {@code [from, to)} as stage {@code stage} (0-based): exact, or a lower bound
         * on the exact cost where {@link #exact} says not; {@code +inf} where the range cannot be that stage.
         */
        double cost(int from, int to, int stage);

        /** Whether {@link #cost} of the range is exact. */
        boolean exact(int from, int to, int stage);

        /** Makes {@link #cost} of the range exact. */
        void refine(int from, int to, int stage);

        /**
         * Told the ranges {@code {stage, from, to}} {@link #solve} is about to ask the cost of (in that order),
         * before it asks any: an oracle that counts its solves may stop the search here, by throwing, when
         * it cannot afford them all. Does nothing by default.
         */
        default void willCost(List<int[]> ranges) {
        }
    }

    /**
     * A partition: stage {@code s} covers segments {@code [bounds[s], bounds[s + 1])}.
     *
     * @param bounds {@code P + 1} segment indices, 0 first and {@code K} last
     * @param objective {@code sum + (m - 1) * slowest}
     * @param sum the sum of the stage costs
     * @param slowest the largest stage cost
     */
    public record Partition(int[] bounds, double objective, double sum, double slowest) {
        public Partition {
            bounds = bounds.clone();
        }

        @Override
        public int[] bounds() {
            return bounds.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Partition p && Arrays.equals(bounds, p.bounds) && objective == p.objective
                    && sum == p.sum && slowest == p.slowest;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bounds) * 31 + Double.hashCode(objective);
        }

        @Override
        public String toString() {
            return "Partition" + Arrays.toString(bounds) + " objective " + objective;
        }
    }

    /**
     * The result: the optimum first, then the other partitions the enumeration found optimal for some
     * bound {@code t} whose stages are all exact (at most {@code alternatives} of them) and the optima of
     * earlier rounds of refinement that are exact by the end, by objective.
     *
     * @param partitions best first; empty when no partition has every stage finite
     * @param bottlenecks how many bounds {@code t} were enumerated (all rounds)
     * @param solved how many ranges the oracle was asked the cost of
     */
    public record Result(List<Partition> partitions, int bottlenecks, int solved) {
        public Result {
            partitions = List.copyOf(partitions);
        }

        /** The optimum, when some partition is feasible. */
        public Optional<Partition> best() {
            return partitions.isEmpty() ? Optional.empty() : Optional.of(partitions.get(0));
        }
    }

    /**
     * The partition of {@code segments} segments into {@code stages} stages minimising
     * {@code sum + (m - 1) * slowest}, exact (see the class comment).
     *
     * @param upper an upper bound on the optimum (the objective of a feasible partition, whose stages'
     *     costs are exact), or {@code +inf}: ranges that cannot beat it are never costed
     * @param alternatives how many partitions besides the optimum to return at most
     * @throws IllegalArgumentException when {@code stages} or {@code m} is below 1 or the segments are
     *     fewer than the stages
     */
    public static Result solve(int segments, int stages, int m, StageCosts costs, double upper, int alternatives) {
        return solve(segments, stages, m, costs, upper, alternatives, null);
    }

    /**
     * {@link #solve(int, int, int, StageCosts, double, int)}, telling {@code rounds} each round's optimum (its
     * bounds) as it is found, before its ranges are refined: a caller whose oracle may stop the search by
     * throwing (a budget of solves, a time limit) keeps the partitions found so far, and may price those whose
     * ranges are exact by then.
     *
     * @param rounds told each round's optimum; null for none
     */
    public static Result solve(int segments, int stages, int m, StageCosts costs, double upper, int alternatives,
            java.util.function.Consumer<int[]> rounds) {
        checkArguments(segments, stages, m);
        int k = segments;
        int p = stages;
        // the least sum of lower bounds, and the bound on the slowest stage of any partition beating `upper`
        double[][][] lb = lowerBounds(k, p, costs);
        double leastSum = minSum(lb, k, p, Double.POSITIVE_INFINITY, null);
        // the optimum under the lower bounds, costed: where its stages' costs are exact already, its
        // objective bounds the optimum too (near it when the lower bounds are tight)
        Enumerated byBound = enumerate(lb, k, p, m, Double.POSITIVE_INFINITY);
        if (!byBound.found().isEmpty()) {
            int[] x = byBound.found().get(0).bounds;
            double sum = 0;
            double slowest = 0;
            boolean exact = true;
            for (int s = 0; s < p && exact; s++) {
                double c = costs.cost(x[s], x[s + 1], s);
                exact = costs.exact(x[s], x[s + 1], s);
                sum += c;
                slowest = Math.max(slowest, c);
            }
            if (exact && sum + (m - 1) * slowest < upper) {
                upper = sum + (m - 1) * slowest;
            }
        }
        double cap = cap(upper, leastSum, m);
        // ranges that can be stage s within the cap: those before coverable by s stages, those after by the rest
        boolean[][] before = cover(lb, k, p, cap, true);
        boolean[][] after = cover(lb, k, p, cap, false);
        double[][][] c = new double[p][k + 1][k + 1];
        List<int[]> asked = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            for (double[] row : c[s]) {
                Arrays.fill(row, Double.POSITIVE_INFINITY);
            }
            for (int i = s; i < k; i++) {
                if (!before[s][i]) {
                    continue;
                }
                for (int j = i + 1; j <= k - (p - 1 - s); j++) {
                    if (after[s + 1][j] && lb[s][i][j] <= cap) {
                        asked.add(new int[] {s, i, j});
                    }
                }
            }
        }
        costs.willCost(asked);
        int solved = 0;
        for (int[] x : asked) {
            c[x[0]][x[1]][x[2]] = costs.cost(x[1], x[2], x[0]);
            solved++;
        }
        int enumerated = 0;
        // the optimum of each round whose costs were found stale or inexact: a partition the schedules may still
        // prefer (their step is not Alpa's objective), returned among the runners-up where it is exact by the end
        List<Partition> earlier = new ArrayList<>();
        while (true) {
            Enumerated e = enumerate(c, k, p, m, cap);
            List<Partition> found = e.found();
            enumerated += e.bottlenecks();
            if (found.isEmpty()) {
                return new Result(List.of(), enumerated, solved);
            }
            Partition best = found.get(0);
            if (rounds != null) {
                rounds.accept(best.bounds());
            }
            boolean refined = false;
            for (int s = 0; s < p; s++) {
                int i = best.bounds[s];
                int j = best.bounds[s + 1];
                if (!costs.exact(i, j, s)) {
                    costs.refine(i, j, s);
                }
                // a refinement may have made other ranges exact too (an oracle that shares one solve between
                // ranges of the same shape): the cost taken before is then a stale lower bound, taken again
                double now = costs.cost(i, j, s);
                if (Double.compare(now, c[s][i][j]) != 0) {
                    c[s][i][j] = now;
                    refined = true;
                }
            }
            if (refined) {
                earlier.add(best);
                continue;
            }
            List<Partition> r = new ArrayList<>();
            r.add(best);
            for (Partition x : found.subList(1, found.size())) {
                if (r.size() > alternatives) {
                    break;
                }
                Partition now = costed(x.bounds, p, m, costs);
                if (now != null) {
                    r.add(now);
                }
            }
            for (Partition x : earlier) {
                Partition now = costed(x.bounds, p, m, costs);
                if (now != null && r.stream().noneMatch(y -> Arrays.equals(y.bounds, x.bounds))) {
                    r.add(now);
                }
            }
            // the runners-up by their objectives as they are now, after the optimum
            r.subList(1, r.size()).sort(Comparator.comparingDouble(Partition::objective));
            return new Result(r, enumerated, solved);
        }
    }

    /**
     * The partition with its objective from the costs as they are now (those an enumeration took may be stale
     * lower bounds); null unless every stage's cost is exact and finite. O(P) look-ups.
     */
    private static Partition costed(int[] bounds, int p, int m, StageCosts costs) {
        double sum = 0;
        double slowest = 0;
        for (int s = 0; s < p; s++) {
            if (!costs.exact(bounds[s], bounds[s + 1], s)) {
                return null;
            }
            double cost = costs.cost(bounds[s], bounds[s + 1], s);
            if (!(cost < Double.POSITIVE_INFINITY)) {
                return null;
            }
            sum += cost;
            slowest = Math.max(slowest, cost);
        }
        return new Partition(bounds, sum + (m - 1) * slowest, sum, slowest);
    }

    /** {@code lb[s][i][j]}: the oracle's lower bound of segments {@code [i, j)} as stage s, where a range can be. O(P K^2). */
    private static double[][][] lowerBounds(int k, int p, StageCosts costs) {
        double[][][] lb = new double[p][k + 1][k + 1];
        for (int s = 0; s < p; s++) {
            for (int i = s; i < k; i++) {
                for (int j = i + 1; j <= k - (p - 1 - s); j++) {
                    lb[s][i][j] = costs.lowerBound(i, j, s);
                }
            }
        }
        return lb;
    }

    /**
     * The bound on the slowest stage of a partition that beats {@code upper}: its slowest stage costs at
     * most {@code upper / m} and, since its stages sum to at least {@code leastSum}, at most
     * {@code (upper - leastSum) / (m - 1)}; {@code +inf} when {@code upper} is. Non-decreasing in
     * {@code upper}. O(1).
     */
    private static double cap(double upper, double leastSum, int m) {
        if (!(upper < Double.POSITIVE_INFINITY)) {
            return Double.POSITIVE_INFINITY;
        }
        double cap = upper / m;
        if (m > 1) {
            cap = Math.min(cap, (upper - leastSum) / (m - 1));
        }
        return cap * (1 + 1e-9);
    }

    /** The checks {@link #solve} and {@link #certainRanges} share; see {@link #solve}'s exceptions. */
    private static void checkArguments(int segments, int stages, int m) {
        if (stages < 1 || m < 1) {
            throw new IllegalArgumentException("stages and micro-batches must be at least 1, found " + stages + " and " + m);
        }
        if (segments < stages) {
            throw new IllegalArgumentException("stages must be at most the " + segments + " segments, found " + stages);
        }
    }

    /**
     * The ranges {@code {stage, from, to}} whose cost {@link #solve} asks the oracle for whatever upper bound
     * it is given and whatever the costs above their lower bounds: a caller whose look-ups are counted (a
     * budget of exact solves) learns before the enumeration whether the budget can suffice. Every
     * partition's objective, with exact costs, is at least {@code leastSum + (m - 1) b} where
     * {@code leastSum} is the least sum of the lower bounds and {@code b} the least over partitions of
     * their largest lower bound ({@link #bottleneck}); so is the upper bound {@link #solve} ends with (the
     * one given, or the lower bounds' optimum costed, each a feasible partition's objective), and its cap
     * on the slowest stage, non-decreasing in that bound, is at least the cap of this least bound. The
     * ranges within that least cap, with the stages before and after coverable within it, are then among
     * those {@link #solve} costs (the cover only grows with the cap). O(P K^2) lower bounds, as {@link #solve}.
     *
     * @throws IllegalArgumentException as {@link #solve}
     */
    public static List<int[]> certainRanges(int segments, int stages, int m, StageCosts costs) {
        checkArguments(segments, stages, m);
        int k = segments;
        int p = stages;
        double[][][] lb = lowerBounds(k, p, costs);
        double leastSum = minSum(lb, k, p, Double.POSITIVE_INFINITY, null);
        double least = m == 1 ? leastSum : leastSum + (m - 1) * bottleneck(lb, k, p);
        double cap = cap(least, leastSum, m);
        boolean[][] before = cover(lb, k, p, cap, true);
        boolean[][] after = cover(lb, k, p, cap, false);
        List<int[]> r = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            for (int i = s; i < k; i++) {
                if (!before[s][i]) {
                    continue;
                }
                for (int j = i + 1; j <= k - (p - 1 - s); j++) {
                    if (after[s + 1][j] && lb[s][i][j] <= cap) {
                        r.add(new int[] {s, i, j});
                    }
                }
            }
        }
        return r;
    }

    private record Enumerated(List<Partition> found, int bottlenecks) {
    }

    /**
     * Alpa's enumeration over the slowest stage's cost: for each distinct finite cost {@code t <= cap}
     * in increasing order, the least-sum partition with every stage at most {@code t}. The distinct
     * partitions found, by objective. O(|T| P K^2).
     */
    private static Enumerated enumerate(double[][][] c, int k, int p, int m, double cap) {
        // the distinct finite costs within the cap, in increasing order (Double.compare's order)
        int count = 0;
        for (double[][] cs : c) {
            for (double[] row : cs) {
                for (double x : row) {
                    if (x < Double.POSITIVE_INFINITY && x <= cap) {
                        count++;
                    }
                }
            }
        }
        double[] values = new double[count];
        count = 0;
        for (double[][] cs : c) {
            for (double[] row : cs) {
                for (double x : row) {
                    if (x < Double.POSITIVE_INFINITY && x <= cap) {
                        values[count++] = x;
                    }
                }
            }
        }
        Arrays.sort(values);
        int distinct = 0;
        for (int i = 0; i < count; i++) {
            if (distinct == 0 || Double.compare(values[i], values[distinct - 1]) != 0) {
                values[distinct++] = values[i];
            }
        }
        List<Partition> found = new ArrayList<>();
        int enumerated = 0;
        int[] bounds = new int[p + 1];
        double[][] table = new double[p + 1][k + 1];
        int[][] arg = new int[p + 1][k + 1];
        double least = minSum(c, k, p, Double.POSITIVE_INFINITY, bounds, table, arg);
        // no bound below the least slowest stage of any partition admits one: start there
        double from = bottleneck(c, k, p);
        if (least == Double.POSITIVE_INFINITY) {
            return new Enumerated(found, 0);
        }
        double best = Double.POSITIVE_INFINITY;
        if (m == 1) {
            // the objective is the sum alone: the least-sum partition
            found.add(partition(c, bounds, m));
            return new Enumerated(found, 1);
        }
        // the recurrence, for each bound t on the slowest stage:
        //   S[0][0] = 0;  S[s][j] = min over i < j with c[s-1][i][j] <= t of S[s-1][i] + c[s-1][i][j]
        //   objective(t) = S[P][K] + (m - 1) t
        int first = 0;
        while (first < distinct && Double.compare(values[first], from) < 0) {
            first++;
        }
        for (int v = first; v < distinct; v++) {
            double t = values[v];
            if ((m - 1) * t + least >= best) {
                break; // S(t) >= S(inf): no larger t can beat the best
            }
            enumerated++;
            double sum = minSum(c, k, p, t, bounds, table, arg);
            if (sum == Double.POSITIVE_INFINITY) {
                continue;
            }
            Partition x = partition(c, bounds, m);
            boolean seen = false;
            for (Partition f : found) {
                seen |= Arrays.equals(f.bounds, x.bounds);
            }
            if (!seen) {
                found.add(x);
            }
            best = Math.min(best, x.objective);
        }
        found.sort(Comparator.comparingDouble(Partition::objective));
        return new Enumerated(found, enumerated);
    }

    /** The least over partitions of the largest stage cost ({@code +inf} when none is finite). O(P K^2). */
    static double bottleneck(double[][][] c, int k, int p) {
        double[] prev = new double[k + 1];
        double[] cur = new double[k + 1];
        Arrays.fill(prev, Double.POSITIVE_INFINITY);
        prev[0] = 0;
        for (int s = 1; s <= p; s++) {
            Arrays.fill(cur, Double.POSITIVE_INFINITY);
            double[][] cs = c[s - 1];
            for (int j = s; j <= k - (p - s); j++) {
                for (int i = s - 1; i < j; i++) {
                    double v = Math.max(prev[i], cs[i][j]);
                    if (v < cur[j]) {
                        cur[j] = v;
                    }
                }
            }
            double[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[k];
    }

    private static Partition partition(double[][][] c, int[] bounds, int m) {
        double sum = 0;
        double slowest = 0;
        for (int s = 0; s + 1 < bounds.length; s++) {
            double x = c[s][bounds[s]][bounds[s + 1]];
            sum += x;
            slowest = Math.max(slowest, x);
        }
        return new Partition(bounds, sum + (m - 1) * slowest, sum, slowest);
    }

    /**
     * The least sum of stage costs over partitions whose every stage costs at most {@code t}; the
     * partition into {@code bounds} when not null. O(P K^2).
     */
    static double minSum(double[][][] c, int k, int p, double t, int[] bounds) {
        return minSum(c, k, p, t, bounds, new double[p + 1][k + 1], new int[p + 1][k + 1]);
    }

    /** {@link #minSum(double[][][], int, int, double, int[])} in the caller's tables {@code f} and {@code from}, {@code (P + 1) x (K + 1)}. */
    private static double minSum(double[][][] c, int k, int p, double t, int[] bounds, double[][] f, int[][] from) {
        for (double[] row : f) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        f[0][0] = 0;
        for (int s = 1; s <= p; s++) {
            double[][] cs = c[s - 1];
            for (int j = s; j <= k - (p - s); j++) {
                double bestJ = Double.POSITIVE_INFINITY;
                int arg = -1;
                for (int i = s - 1; i < j; i++) {
                    double x = cs[i][j];
                    if (f[s - 1][i] == Double.POSITIVE_INFINITY || !(x <= t)) {
                        continue;
                    }
                    double v = f[s - 1][i] + x;
                    if (v < bestJ) {
                        bestJ = v;
                        arg = i;
                    }
                }
                f[s][j] = bestJ;
                from[s][j] = arg;
            }
        }
        if (bounds != null && f[p][k] < Double.POSITIVE_INFINITY) {
            int j = k;
            for (int s = p; s >= 1; s--) {
                bounds[s] = j;
                j = from[s][j];
            }
            bounds[0] = 0;
        }
        return f[p][k];
    }

    /**
     * {@code prefix}: whether segments {@code [0, i)} split into {@code s} stages (stages {@code 0..s-1})
     * each with a lower bound at most {@code cap}, as {@code r[s][i]}; otherwise whether segments
     * {@code [j, K)} split into stages {@code s..P-1} so, as {@code r[s][j]}. O(P K^2).
     */
    private static boolean[][] cover(double[][][] lb, int k, int p, double cap, boolean prefix) {
        boolean[][] r = new boolean[p + 1][k + 1];
        if (prefix) {
            r[0][0] = true;
            for (int s = 1; s <= p; s++) {
                for (int j = s; j <= k; j++) {
                    for (int i = s - 1; i < j && !r[s][j]; i++) {
                        r[s][j] = r[s - 1][i] && j <= k - (p - s) && lb[s - 1][i][j] <= cap;
                    }
                }
            }
        } else {
            r[p][k] = true;
            for (int s = p - 1; s >= 0; s--) {
                for (int i = s; i < k; i++) {
                    for (int j = i + 1; j <= k && !r[s][i]; j++) {
                        r[s][i] = r[s + 1][j] && j <= k - (p - 1 - s) && lb[s][i][j] <= cap;
                    }
                }
            }
        }
        return r;
    }
}
