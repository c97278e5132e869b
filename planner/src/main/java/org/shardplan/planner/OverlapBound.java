package org.shardplan.planner;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.solver.DisjointSets;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.FloorProgram;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * Lower bounds on the step of every one-stage plan of a configuration whose data-parallel gradient
 * reduction overlaps the backward pass, each the optimum of an exact per-layer problem.
 *
 * <p><b>The step.</b> For one stage, {@code m} micro-batches and layouts {@code x}, the step the search
 * prices ({@link PipelineSearch#weightedObjective} less {@link PipelineSearch#overlapped}) is
 *
 * <pre>
 *   step(x) = W(x) + U(x) + E(x),   E(x) = max(G(x) / k(x), G(x) - B(x))   (E = G when nothing overlaps)
 * </pre>
 *
 * where, summed over the nodes' chosen layouts and the links between them: {@code W} is the work of the
 * {@code m} micro-batches (compute, collectives and resharding, times {@code m}); {@code U} the optimizer
 * step ({@link ComputeModel#optimizerStepSeconds}, linear in the static bytes, so a sum over nodes);
 * {@code G} the gradient reduction; {@code B} the backward pass of one micro-batch (each node's backward
 * compute and half its collectives, half of each link's resharding); {@code k(x) = max(1, ceil(V(x) / 2
 * / bucket))} the buckets of the gradient volume {@code V(x) / 2} ({@link PipelineSearch#exposedGradientSeconds}).
 *
 * <p><b>The bound.</b> Let {@code K = max(1, ceil(sum_i max_c V_ic / 2 / bucket))}, the buckets of the
 * largest volume any plan can have; {@code k(x) <= K} for every {@code x} (the ceiling is monotone), so
 * {@code G/k(x) >= G/K}. A maximum is at least any convex combination of its terms, so for every
 * {@code alpha} in [0, 1]:
 *
 * <pre>
 *   step(x) >= L_alpha(x) = W(x) + U(x) + alpha G(x) / K + (1 - alpha) (G(x) - B(x))
 * </pre>
 *
 * and {@code L_alpha} is a sum of per-node and per-link terms: an ordinary per-layer problem (node costs
 * {@code m (compute + collectives) + U_i + (alpha/K + 1 - alpha) G_i - (1 - alpha)(backward_i +
 * collectives_i / 2)}, link costs {@code (m - (1 - alpha)/2) resharding}, all non-negative since
 * {@code m >= 1}). Its optimum over the configuration's candidates is a lower bound on the step of every
 * plan of the configuration, fitting the memory limit or not. {@code phi(alpha) = min_x L_alpha(x)} is
 * concave (a minimum of functions linear in alpha); its slope at {@code alpha} is {@code D(x_alpha) =
 * G/K - (G - B)} of the minimiser, so the search over alpha is Kelley's cutting planes: alpha = 1 (the
 * maximum when its minimiser's slope is not negative: the plans whose last bucket is what stays
 * exposed), then 0 (likewise when the slope there is not positive: the plans whose reduction outlasts
 * the backward pass), then where the two lines meet, a few times. Every solve's minimiser is a plan
 * of the configuration too, which the search prices as a candidate. Where nothing overlaps, {@code E =
 * G} and the one problem {@code W + U + G} is exact: its optimum is the optimum of the step.
 *
 * <p>Running time: one exact dynamic program per alpha (at most {@link #MAX_SOLVES}) over the
 * configuration's untied problem, O(nodes · layouts + links · layouts²) to build each.
 */
final class OverlapBound {

    private static final boolean TRACE = Boolean.getBoolean("shardplan.trace");

    /** The most exact solves one configuration spends on its bound. */
    static final int MAX_SOLVES = 4;

    private final ProblemBuilder.Built b;
    private final int m;
    private final StageProblem.Filter filter;
    private final ComputeModel compute;
    private final OptimizerSpec optimizer;
    private final boolean overlap;
    /** The gradient bucket's size in bytes ({@link ComputeModel#gradientBucketBytes}). */
    private final double bucket;
    private final double buckets;
    private final int[][] allowed;
    /** Per node, the largest gradient bytes of its candidates; and half their sum, the largest volume. */
    private final double[] mostBytes;
    private final double mostVolume;

    /** The bound of configuration {@code b} with its builder's compute model and optimizer ({@code pb}). */
    OverlapBound(ProblemBuilder.Built b, ProblemBuilder pb, int m, StageProblem.Filter filter) {
        this(b, m, filter, pb.settings().compute(), pb.settings().memory().optimizer());
    }

    /**
     * @param b the configuration's built problem (one stage over its devices)
     * @param m micro-batches per step
     * @param filter the candidates the fixed degrees allow
     * @param compute the compute model (the optimizer step's rate; whether the reduction overlaps)
     * @param optimizer the optimizer whose step follows the reduction
     */
    OverlapBound(ProblemBuilder.Built b, int m, StageProblem.Filter filter, ComputeModel compute, OptimizerSpec optimizer) {
        if (m < 1) {
            throw new IllegalArgumentException("micro-batches must be >= 1, found " + m);
        }
        this.b = b;
        this.m = m;
        this.filter = filter;
        this.compute = compute;
        this.optimizer = optimizer;
        this.overlap = compute.gradientOverlap();
        this.bucket = compute.gradientBucketBytes();
        int n = b.units().size();
        allowed = new int[n][];
        mostBytes = new double[n];
        double volume = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            int[] a = new int[u.layouts().size()];
            int c = 0;
            double most = 0;
            for (int k = 0; k < a.length; k++) {
                if (filter.allows(u, k)) {
                    a[c++] = k;
                    most = Math.max(most, u.costs().get(k).gradientBytes());
                }
            }
            if (c == 0) {
                throw new IllegalArgumentException("node '" + u.name() + "' has no candidate layout left under the"
                        + " fixed parallelism degrees");
            }
            allowed[u.index()] = java.util.Arrays.copyOf(a, c);
            mostBytes[u.index()] = most;
            volume += most;
        }
        this.mostVolume = volume / 2;
        this.buckets = bucketsOf(volume / 2, bucket);
    }

    /**
     * The first solve of {@link #maximise} (alpha = 1, the problem {@code problem(1)}), started ahead on another
     * thread ({@link #presolve}); null when none was.
     */
    private BesideWork<Solution> first;

    /**
     * Starts the first solve of {@link #maximise} (the exact solve of {@code problem(1)}, which does not depend on
     * the target or on anything the search learns later) on {@code pool}, with the time limit {@code seconds};
     * {@link #maximise} then takes its answer instead of solving it again. The solve is a function of the problem
     * alone: its optimum and minimiser are those {@link #maximise} would find itself.
     */
    void presolve(java.util.concurrent.ExecutorService pool, double seconds) {
        if (first == null) {
            first = new BesideWork<>(pool, () -> new DpSolver().solve(problem(1), Solver.Options.withTimeLimit(seconds)));
        }
    }

    /** Whether {@link #presolve} started the first solve. */
    boolean presolving() {
        return first != null;
    }

    /**
     * The answer of the solve {@link #presolve} started, waiting for it; null where none was started or it did
     * not finish with the optimum (the time limit cut it short, or it failed): {@link #maximise} then solves
     * the problem itself, as without it.
     */
    private Solution presolved() {
        if (first == null) {
            return null;
        }
        Solution s;
        try {
            s = first.get(() -> null); // not started yet (the threads beside are busy): solved here, as without it
        } catch (RuntimeException e) {
            return null; // solved again here, where the failure shows as it would have
        }
        return s != null && s.status() == Status.OPTIMAL && s.hasChoices() ? s : null;
    }

    /** {@code K}: the most buckets any plan's gradient reduction can have. */
    double buckets() {
        return buckets;
    }

    /** The per-layer problem of {@code L_alpha} (untied; strategy s of node i is layout {@code allowed[i][s]}). */
    Problem problem(double alpha) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], found " + alpha);
        }
        return problem(overlap ? alpha / buckets + (1 - alpha) : 1, overlap ? 1 - alpha : 0, 0);
    }

    /**
     * The per-layer problem {@code W + U + gw G - bw B + mu (Vmax - V(x))}: the reduction weighted
     * {@code gw}, the last micro-batch's backward pass {@code -bw}, and, for {@code mu > 0}, the gradient
     * volume below its largest {@code mu} per byte (each node's own shortfall, so that no cost is
     * negative): its objective less {@code mu Vmax} is {@code W + U + gw G - bw B - mu V(x)}. For {@code mu
     * < 0} the volume itself costs {@code -mu} per byte: {@code W + U + gw G - bw B - mu V(x)} as it is.
     */
    Problem problem(double gw, double bw, double mu) {
        List<Problem.Node> nodes = new ArrayList<>();
        double[] t = new double[TERMS];
        for (ProblemBuilder.Unit u : b.units()) {
            int[] a = allowed[u.index()];
            double[] cost = new double[a.length];
            double[] mem = new double[a.length];
            for (int s = 0; s < a.length; s++) {
                ProblemBuilder.Cost c = u.costs().get(a[s]);
                java.util.Arrays.fill(t, 0);
                nodeTerms(u.index(), a[s], 1, t, 0);
                cost[s] = weighted(t, gw, bw)
                        + (mu > 0 ? mu * (mostBytes[u.index()] - c.gradientBytes()) / 2 : -mu * c.gradientBytes() / 2);
                mem[s] = c.parameterBytes() + c.activationBytes();
            }
            nodes.add(new Problem.Node(u.name(), cost, null, mem));
        }
        return new Problem(b.name() + " [step bound]", nodes, edges(m - bw / 2));
    }

    /**
     * The links' terms of {@link #problem(double, double, double)}, each link's seconds weighted by {@code lw} and summed
     * per pair of nodes: built once per weight (every solve of the bound at one {@code alpha} has the same; the edges
     * are immutable, so shared by its solves, on any thread).
     */
    private List<Problem.Edge> edges(double lw) {
        return edgesByWeight.computeIfAbsent(lw, this::buildEdges);
    }

    private final Map<Double, List<Problem.Edge>> edgesByWeight = new java.util.concurrent.ConcurrentHashMap<>();

    private List<Problem.Edge> buildEdges(double lw) {
        Map<Long, double[]> sums = new LinkedHashMap<>();
        int n = b.units().size();
        for (ProblemBuilder.Link l : b.links()) {
            int[] ra = allowed[l.from()];
            int[] ca = allowed[l.to()];
            int cols = b.units().get(l.to()).layouts().size();
            double[] acc = sums.computeIfAbsent((long) l.from() * n + l.to(), k -> new double[ra.length * ca.length]);
            for (int s = 0; s < ra.length; s++) {
                for (int q = 0; q < ca.length; q++) {
                    acc[s * ca.length + q] += lw * l.seconds()[ra[s] * cols + ca[q]];
                }
            }
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (Map.Entry<Long, double[]> e : sums.entrySet()) {
            int from = (int) (e.getKey() / n);
            int to = (int) (e.getKey() % n);
            edges.add(new Problem.Edge(from, to, allowed[from].length, allowed[to].length, e.getValue()));
        }
        return List.copyOf(edges);
    }

    /** The layout of every node under an assignment of {@link #problem}. */
    int[] layouts(int[] choices) {
        int[] r = new int[choices.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = allowed[i][choices[i]];
        }
        return r;
    }

    /**
     * The slope of {@code phi} at a minimiser {@code x} (layout indices): {@code G/K - (G - B)}; 0 where
     * nothing overlaps (one problem is exact).
     */
    double slope(int[] x) {
        if (!overlap) {
            return 0;
        }
        double[] t = sums(x);
        return t[1] / buckets - (t[1] - t[2]);
    }

    /**
     * Kelley's cutting planes over a weight {@code alpha} in [0, 1] of a concave function {@code phi} (a least of
     * lines): each solve at {@code alpha} gives a line through its value with its minimiser's slope; the lines at the
     * two ends are kept, and the next weight is where they meet. Serves {@link #maximise} and {@link #floored}.
     */
    static final class Cuts {
        private double lo = 0;
        private double hi = 1;
        private double valueLo = Double.NaN;
        private double slopeLo = Double.NaN;
        private double valueHi = Double.NaN;
        private double slopeHi = Double.NaN;

        /**
         * The weight to solve at next after the solve at {@code alpha} (first 1, then what this answers) found
         * {@code value} with slope {@code slope}; NaN where no further solve can beat {@code best} (the largest value
         * found so far) or the maximum is found.
         */
        double next(double alpha, double value, double slope, double best) {
            if (alpha == hi) {
                valueHi = value;
                slopeHi = slope;
                if (slope >= 0) {
                    return Double.NaN; // phi is concave and rising at its right end: this is its maximum
                }
            } else if (alpha == lo) {
                valueLo = value;
                slopeLo = slope;
                if (slope <= 0) {
                    return Double.NaN; // falling at its left end
                }
            } else if (slope >= 0) {
                // the new cut replaces the end on its side
                lo = alpha;
                valueLo = value;
                slopeLo = slope;
            } else {
                hi = alpha;
                valueHi = value;
                slopeHi = slope;
            }
            if (Double.isNaN(valueLo)) {
                return lo;
            }
            // where the two lines meet; the cutting-plane model's value there bounds phi from above: stop when it cannot
            // beat the bound
            return MultiplierCuts.meet(lo, valueLo, slopeLo, hi, valueHi, slopeHi, best);
        }
    }

    /**
     * The bound and the plans found on the way.
     *
     * @param lowerBound the largest of the solves' bounds ({@code -infinity} when none finished)
     * @param plans the minimiser of each solve that found one (layout indices), in solve order
     * @param solves the exact solves run
     */
    record Result(double lowerBound, List<int[]> plans, int solves) {
    }

    /**
     * Maximises {@code phi(alpha)} by cutting planes, at most {@link #MAX_SOLVES} solves, stopping once the
     * bound reaches {@code target} (the step of the best plan known, less a relative 1e-9: it is then
     * proven optimal), the maximum is found, or the time runs out ({@code secondsLeft} at or below 0.05:
     * the bound found so far stands). Each solve is an exact dynamic program; one stopped by the time limit
     * contributes its own proven bound, if any.
     */
    Result maximise(double target, DoubleSupplier secondsLeft) {
        return maximise(target, secondsLeft, x -> Double.POSITIVE_INFINITY);
    }

    /**
     * {@link #maximise(double, DoubleSupplier)}, with each minimiser priced by {@code step} (its step, or
     * infinity where it does not fit) as it is found: the target falls to the best of those steps (less
     * the same 1e-9), since the configuration's best plan is no slower than any of them.
     */
    Result maximise(double target, DoubleSupplier secondsLeft, java.util.function.ToDoubleFunction<int[]> step) {
        return maximise(target, secondsLeft, step, SPLIT_ABOVE);
    }

    /**
     * {@link #maximise(double, DoubleSupplier, java.util.function.ToDoubleFunction)} with the split by bucket
     * count run where the cutting planes leave the bound more than {@code splitAbove} (a share of the
     * target) below it ({@link #SPLIT_ABOVE} there; 0: wherever it is below).
     */
    Result maximise(double target, DoubleSupplier secondsLeft, java.util.function.ToDoubleFunction<int[]> step,
            double splitAbove) {
        List<int[]> plans = new ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        int solves = 0;
        Cuts cuts = new Cuts();
        double alpha = 1;
        double alphaStar = 1;
        int[] xStar = null;
        double phiStar = Double.NEGATIVE_INFINITY;
        while (solves < (overlap ? MAX_SOLVES : 1) && best < target && secondsLeft.getAsDouble() > 0.05) {
            Solution s = solves == 0 && alpha == 1 ? presolved() : null;
            if (s == null) {
                s = new DpSolver().solve(problem(alpha), Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
            }
            solves++;
            double bound = s.status() == Status.OPTIMAL ? s.objective() : s.lowerBound();
            if (!s.hasChoices() || s.status() != Status.OPTIMAL) {
                if (Double.isFinite(bound)) {
                    best = Math.max(best, bound);
                }
                break;
            }
            int[] x = layouts(s.choices());
            plans.add(x);
            target = Math.min(target, step.applyAsDouble(x) * (1 - PipelineSearch.PROVEN));
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "    step bound solve %d: alpha %.4f, phi %.6f s%n", solves, alpha, bound);
            }
            if (bound > best) {
                best = bound;
                alphaStar = alpha;
                xStar = x;
                phiStar = bound;
            }
            alpha = cuts.next(alpha, s.objective(), slope(x), best);
            if (Double.isNaN(alpha)) {
                break;
            }
        }
        if (overlap && xStar != null && buckets > 1 && best < target * (1 - splitAbove)) {
            int[] before = {solves};
            best = Math.max(best, byBucketCount(alphaStar, phiStar, xStar, target, secondsLeft, plans, before, step));
            solves = before[0];
        }
        edgesByWeight.clear(); // the solves are done: the edges are not kept past them
        if (mixPlans && plans.size() >= 2 && best < target && secondsLeft.getAsDouble() > 0.05) {
            mix(plans, step);
        }
        if (floorPlans && overlap && plans.size() >= 2 && best < target && secondsLeft.getAsDouble() > 0.05) {
            floored(plans, step, secondsLeft);
        }
        return new Result(best, plans, solves);
    }

    /** Whether the plans found are searched again with the volume floor ({@link #floored}; {@code -Dshardplan.floorPlans=false}: not). */
    static boolean floorPlans = !"false".equals(System.getProperty("shardplan.floorPlans"));

    /**
     * The most points a frontier of {@link #floored}'s programs keeps, the fewer it keeps where a program with
     * that many gives up, and the most points one program combines: about 0.5 s on the 2-core guest (10^-7 s a point)
     * and at most about 160 MB of frontiers (each point kept came from one combined; 32 bytes with its back-pointers).
     * The surveyed models' programs combine at most 2.4 million (Swin-S at 64 A100s).
     */
    static final int FLOOR_POINTS = 1024;
    static final int FLOOR_POINTS_AGAIN = 64;
    static final long FLOOR_WORK = 5_000_000L;

    /** The most bucket counts {@link #floored} solves for, and the most of its plans it prices. */
    static final int FLOOR_COUNTS = 6;
    static final int FLOOR_PRICED = 4;

    /** The most programs {@link #floored} solves for one bucket count (weights tried by cutting planes). */
    static final int FLOOR_SOLVES = 4;

    /**
     * Plans of the layouts the plans found use, with the gradient volume's buckets held: for each bucket count
     * {@code k} between the fewest and the most of the plans found (at least 2, at most {@link #FLOOR_COUNTS}, those
     * nearest the best plan's first), the least {@code W + U + a G / k + (1 - a)(G - B)} over the plans whose every
     * node takes one of its layouts among the plans found and whose volume is more than {@code k - 1} buckets ({@link
     * FloorProgram}: the volume is in the program's state, so the plans that move only some nodes of a repeated block
     * are among those it weighs, where the bound's minimisers move all or none). Every such plan has at least {@code
     * k} buckets, so {@code G / k} bounds its first term of the reduction; the weight {@code a} of the two terms is
     * chosen by cutting planes ({@link Cuts}, at most {@link #FLOOR_SOLVES} programs per count), and the programs'
     * plans are mixed pairwise ({@link #mixtures}: one weight's plan may be exact on one side of the maximum, another's
     * on the other). The best by their summed step are priced as every minimiser is, the best first improved node by
     * node ({@link #polish}). Deterministic: each program gives up past a count of work ({@link #FLOOR_WORK}), not a
     * time (or where the search's time runs out, as every solve of the bound does).
     */
    private void floored(List<int[]> plans, java.util.function.ToDoubleFunction<int[]> step, DoubleSupplier secondsLeft) {
        int n = b.units().size();
        int[][] dom = new int[n][];
        boolean varies = false;
        for (int i = 0; i < n; i++) {
            java.util.TreeSet<Integer> used = new java.util.TreeSet<>();
            for (int[] x : plans) {
                used.add(x[i]);
            }
            dom[i] = used.stream().mapToInt(Integer::intValue).toArray();
            varies |= dom[i].length > 1;
        }
        if (!varies) {
            return;
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        int fewest = Integer.MAX_VALUE;
        int most = 0;
        int[] fastest = null;
        double fastestStep = Double.POSITIVE_INFINITY;
        for (int[] x : plans) {
            seen.add(java.util.Arrays.toString(x));
            int k = bucketsOf(volume(x), bucket);
            fewest = Math.min(fewest, k);
            most = Math.max(most, k);
            double st = summedStep(x);
            if (st < fastestStep) {
                fastestStep = st;
                fastest = x;
            }
        }
        int around = bucketsOf(volume(fastest), bucket);
        List<Integer> counts = nearest(Math.max(2, fewest), most, around, FLOOR_COUNTS);
        List<int[]> solved = new ArrayList<>();
        for (int k : counts) {
            // the weight a of the reduction's two terms by cutting planes, as the bound's own solves choose theirs
            Cuts cuts = new Cuts();
            double a = 1;
            double best = Double.NEGATIVE_INFINITY;
            for (int solve = 0; solve < FLOOR_SOLVES && !Double.isNaN(a) && secondsLeft.getAsDouble() > 0.05; solve++) {
                int[] z = floorSolve(dom, k, a, secondsLeft);
                if (z == null) {
                    break;
                }
                solved.add(z);
                double[] t = sums(z);
                double value = weighted(t, a / k + 1 - a, 1 - a);
                best = Math.max(best, value);
                a = cuts.next(a, value, t[1] / k - (t[1] - t[2]), best);
            }
        }
        // the solves' plans and their mixtures (a plan of one weight may be exact on one side of the maximum, another's
        // on the other)
        List<Mixture> found = new ArrayList<>();
        for (int p = 0; p < solved.size(); p++) {
            int[] z = solved.get(p);
            if (seen.add(java.util.Arrays.toString(z))) {
                found.add(new Mixture(z, summedStep(z)));
            }
            for (int q = 0; q < p; q++) {
                for (Mixture w : mixtures(solved.get(q), z)) {
                    if (seen.add(java.util.Arrays.toString(w.x()))) {
                        found.add(w);
                    }
                }
            }
        }
        priceBest(found, FLOOR_PRICED, 1, plans, seen, step, "floored plan");
    }

    /** Whether the plans found are mixed ({@link #mix}; {@code -Dshardplan.mixPlans=false}: not). */
    static boolean mixPlans = !"false".equals(System.getProperty("shardplan.mixPlans"));

    /** The most pairs of plans {@link #mix} mixes, the mixtures of one pair it keeps, and the most it prices. */
    static final int MIX_PAIRS = 64;
    static final int MIX_KEPT = 3;
    static final int MIX_PRICED = 8;

    /** The mixtures {@link #mix} improves node by node ({@link #polish}), the best by their summed step. */
    static final int MIX_POLISHED = 3;

    /** A plan (layout indices) and its step as summed from its terms ({@link #stepOf}). */
    record Mixture(int[] x, double step) {
    }

    /**
     * Plans between the plans found, added to {@code plans} and priced by {@code step}. Two plans {@code x}
     * and {@code y} differ on a set of nodes; the links between nodes of that set join them into groups. Every
     * link with an end in the set has its other end in the same group or where {@code x} and {@code y} agree,
     * so the plan with some groups at {@code y}'s layouts and the rest at {@code x}'s is a plan of the
     * configuration whose sums {@code W, U, G, B, V} are {@code x}'s plus each switched group's own change:
     * each mixture's step is known from the groups' changes alone ({@link #mixtures}). The minimisers of the
     * bound's problems move the identical nodes of a repeated block together (they cost the same), so where the
     * best plan moves only some of them, its volume between the minimisers', it is one of their mixtures or
     * near one. The best mixtures by their summed step (of every pair of plans found, at most {@link
     * #MIX_PAIRS} pairs) are priced as every minimiser is, the best few first improved node by node.
     */
    private void mix(List<int[]> plans, java.util.function.ToDoubleFunction<int[]> step) {
        List<int[]> found = List.copyOf(plans);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int[] x : found) {
            seen.add(java.util.Arrays.toString(x));
        }
        List<Mixture> all = new ArrayList<>();
        int pairs = 0;
        for (int i = 0; i < found.size() && pairs < MIX_PAIRS; i++) {
            for (int j = i + 1; j < found.size() && pairs < MIX_PAIRS; j++) {
                pairs++;
                for (Mixture z : mixtures(found.get(i), found.get(j))) {
                    if (seen.add(java.util.Arrays.toString(z.x()))) {
                        all.add(z);
                    }
                }
            }
        }
        priceBest(all, MIX_PRICED, MIX_POLISHED, plans, seen, step, "mixture");
    }

    /**
     * The best {@code priced} of {@code found} by their summed step, added to {@code plans} and priced by {@code step} as
     * every minimiser is; the best {@code polished} of them first improved node by node ({@link #polish}), each
     * improvement not in {@code seen} added and priced too. {@code what} names them in the trace.
     */
    private void priceBest(List<Mixture> found, int priced, int polished, List<int[]> plans, java.util.Set<String> seen,
            java.util.function.ToDoubleFunction<int[]> step, String what) {
        found.sort(java.util.Comparator.comparingDouble(Mixture::step));
        for (int r = 0; r < found.size() && r < priced; r++) {
            int[] z = found.get(r).x();
            plans.add(z);
            double st = step.applyAsDouble(z);
            if (TRACE) {
                System.err.printf(java.util.Locale.ROOT, "    %s %d: summed step %.6f s, priced %.6f s%n", what, r,
                        found.get(r).step(), st);
            }
            if (r < polished) {
                Mixture p = polish(z);
                if (p.step() < found.get(r).step() && seen.add(java.util.Arrays.toString(p.x()))) {
                    plans.add(p.x());
                    st = step.applyAsDouble(p.x());
                    if (TRACE) {
                        System.err.printf(java.util.Locale.ROOT, "    polished %s %d: summed step %.6f s, priced %.6f s%n", what,
                                r, p.step(), st);
                    }
                }
            }
        }
    }

    /**
     * One program of {@link #floored}: the least {@code W + U + a G / k + (1 - a)(G - B)} over the plans of each
     * node's layouts {@code dom[i]} with more than {@code k - 1} buckets of volume; the plan (layout indices), or null
     * where none was found (or the program gave up, with {@link #FLOOR_POINTS} and then {@link #FLOOR_POINTS_AGAIN}, or
     * the time ran out: {@code secondsLeft} at or below 0.05).
     */
    private int[] floorSolve(int[][] dom, int k, double a, DoubleSupplier secondsLeft) {
        long t0 = System.nanoTime();
        int n = dom.length;
        double gw = a / k + (1 - a);
        double bw = 1 - a;
        double[][] cost = new double[n][];
        double[][] res = new double[n][];
        double[] t = new double[TERMS];
        for (int i = 0; i < n; i++) {
            cost[i] = new double[dom[i].length];
            res[i] = new double[dom[i].length];
            for (int s = 0; s < dom[i].length; s++) {
                java.util.Arrays.fill(t, 0);
                nodeTerms(i, dom[i][s], 1, t, 0);
                cost[i][s] = weighted(t, gw, bw);
                res[i][s] = t[3];
            }
        }
        List<FloorProgram.Pair> pairs = new ArrayList<>();
        for (ProblemBuilder.Link l : b.links()) {
            int[] ra = dom[l.from()];
            int[] ca = dom[l.to()];
            int cols = b.units().get(l.to()).layouts().size();
            double[] c = new double[ra.length * ca.length];
            for (int s = 0; s < ra.length; s++) {
                for (int q = 0; q < ca.length; q++) {
                    c[s * ca.length + q] = (m - bw / 2) * l.seconds()[ra[s] * cols + ca[q]];
                }
            }
            pairs.add(new FloorProgram.Pair(l.from(), l.to(), c));
        }
        double floor = Math.nextUp((k - 1) * bucket);
        java.util.function.BooleanSupplier expired = () -> secondsLeft.getAsDouble() <= 0.05;
        FloorProgram.Result r = FloorProgram.solve(cost, res, pairs, floor, FLOOR_POINTS, FLOOR_WORK, expired);
        if (r == null && !expired.getAsBoolean()) {
            r = FloorProgram.solve(cost, res, pairs, floor, FLOOR_POINTS_AGAIN, FLOOR_WORK, expired);
        }
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "    floored %d buckets at %.4f: %s (%.3f s)%n", k, a,
                    r == null ? "none" : String.format(java.util.Locale.ROOT, "%.6f s, volume %.2f MiB%s, %d points combined", r.cost(),
                            r.resource() / (1 << 20), r.exact() ? "" : " (thinned)", r.work()), (System.nanoTime() - t0) / 1e9);
        }
        if (r == null) {
            return null;
        }
        int[] z = new int[n];
        for (int i = 0; i < n; i++) {
            z[i] = dom[i][r.choices()[i]];
        }
        return z;
    }

    /** A node's or link's terms: W + U, G, B, V (see the class comment). */
    private static final int TERMS = 4;

    /**
     * Adds {@code sign} times node {@code i}'s terms at {@code layout} to {@code t[at..at+3]}: W + U (the {@code m}
     * micro-batches' compute and collectives, the optimizer step), G, B (backward compute and half the collectives) and
     * V; the one place the step's node terms are written ({@link #problem(double, double, double)}, {@link #slope},
     * the mixtures). O(1).
     */
    private void nodeTerms(int i, int layout, double sign, double[] t, int at) {
        ProblemBuilder.Cost c = b.units().get(i).costs().get(layout);
        t[at] += sign * (m * (c.microComputeSeconds() + c.microCommunicationSeconds())
                + compute.optimizerStepSeconds(c.parameterBytes(), optimizer));
        t[at + 1] += sign * c.gradientSeconds();
        t[at + 2] += sign * (c.microComputeSeconds() - c.forwardSeconds() + c.microCommunicationSeconds() / 2);
        t[at + 3] += sign * c.gradientBytes() / 2;
    }

    private void linkTerms(ProblemBuilder.Link l, int from, int to, double sign, double[] t, int at) {
        int cols = b.units().get(l.to()).layouts().size();
        double s = l.seconds()[from * cols + to];
        t[at] += sign * m * s;
        t[at + 2] += sign * s / 2;
    }

    /** The step of sums {@code t[at..at+3]}: {@code W + U + E}. */
    private double stepOf(double[] t, int at) {
        double g = t[at + 1];
        double e = !overlap ? g : g <= 0 ? 0 : Math.max(g / bucketsOf(t[at + 3], bucket), g - t[at + 2]);
        return t[at] + e;
    }

    /**
     * The objective {@code W + U + gw G - bw B} of terms {@code t[0..2]} (a node's, a link's or a plan's sums): what
     * {@link #problem(double, double, double)} and {@link #floored}'s programs minimise. O(1).
     */
    private static double weighted(double[] t, double gw, double bw) {
        return t[0] + gw * t[1] - bw * t[2];
    }

    /** The sums {@code W + U, G, B, V} of plan {@code x}. O(nodes + links). */
    private double[] sums(int[] x) {
        double[] t = new double[TERMS];
        for (int i = 0; i < x.length; i++) {
            nodeTerms(i, x[i], 1, t, 0);
        }
        for (ProblemBuilder.Link l : b.links()) {
            linkTerms(l, x[l.from()], x[l.to()], 1, t, 0);
        }
        return t;
    }

    /** The step of plan {@code x} as summed from its terms; the search's own step, as the class comment says. */
    double summedStep(int[] x) {
        return stepOf(sums(x), 0);
    }

    /**
     * The best few mixtures of {@code x} and {@code y} by their summed step ({@link #mix}), neither of them: every
     * prefix of the groups ordered by their change of the step at {@code x}'s bucket count per byte of volume,
     * then, from the best few, single groups switched while one lowers the step. O(nodes + links + groups^2).
     */
    List<Mixture> mixtures(int[] x, int[] y) {
        int n = x.length;
        int[] group = new int[n];
        java.util.Arrays.fill(group, -1);
        int[] parent = new int[n];
        int differ = 0;
        for (int i = 0; i < n; i++) {
            parent[i] = i;
            if (x[i] != y[i]) {
                group[i] = 0;
                differ++;
            }
        }
        if (differ < 2) {
            return List.of();
        }
        for (ProblemBuilder.Link l : b.links()) {
            if (group[l.from()] == 0 && group[l.to()] == 0) {
                int a = DisjointSets.find(parent, l.from());
                int c = DisjointSets.find(parent, l.to());
                if (a != c) {
                    parent[a] = c;
                }
            }
        }
        int groups = 0;
        int[] id = new int[n];
        java.util.Arrays.fill(id, -1);
        for (int i = 0; i < n; i++) {
            if (group[i] == 0) {
                int r = DisjointSets.find(parent, i);
                if (id[r] < 0) {
                    id[r] = groups++;
                }
                group[i] = id[r];
            }
        }
        if (groups < 2) {
            return List.of();
        }
        double[] base = sums(x);
        double[] d = new double[groups * TERMS];
        for (int i = 0; i < n; i++) {
            if (group[i] >= 0) {
                nodeTerms(i, y[i], 1, d, group[i] * TERMS);
                nodeTerms(i, x[i], -1, d, group[i] * TERMS);
            }
        }
        for (ProblemBuilder.Link l : b.links()) {
            int g = group[l.from()] >= 0 ? group[l.from()] : group[l.to()];
            if (g >= 0) {
                linkTerms(l, y[l.from()], y[l.to()], 1, d, g * TERMS);
                linkTerms(l, x[l.from()], x[l.to()], -1, d, g * TERMS);
            }
        }
        // the groups by their change of the step at x's bucket count per byte of volume: those that lower it without
        // changing the volume, then those that add volume most cheaply, then those that remove it (most saved per byte
        // removed first), then the rest
        double k = overlap ? bucketsOf(base[3], bucket) : 1;
        Integer[] order = new Integer[groups];
        int[] kind = new int[groups];
        double[] rank = new double[groups];
        for (int g = 0; g < groups; g++) {
            order[g] = g;
            double ds = d[g * TERMS] + d[g * TERMS + 1] / k;
            double dv = d[g * TERMS + 3];
            kind[g] = dv > 0 ? 1 : dv < 0 ? 2 : ds < 0 ? 0 : 3;
            rank[g] = dv > 0 ? ds / dv : dv < 0 ? -ds / dv : ds;
        }
        java.util.Arrays.sort(order, (p, q) -> kind[p] != kind[q] ? Integer.compare(kind[p], kind[q])
                : Double.compare(rank[p], rank[q]));
        double[] cur = base.clone();
        boolean[] in = new boolean[groups];
        boolean[][] starts = new boolean[groups + 1][];
        double[] startSteps = new double[groups + 1];
        for (int p = 0; p <= groups; p++) {
            if (p > 0) {
                int g = order[p - 1];
                in[g] = true;
                for (int t = 0; t < TERMS; t++) {
                    cur[t] += d[g * TERMS + t];
                }
            }
            starts[p] = in.clone();
            startSteps[p] = stepOf(cur, 0);
        }
        Integer[] byStep = new Integer[groups + 1];
        for (int p = 0; p <= groups; p++) {
            byStep[p] = p;
        }
        java.util.Arrays.sort(byStep, (p, q) -> Double.compare(startSteps[p], startSteps[q]));
        Map<String, Mixture> kept = new LinkedHashMap<>();
        for (int r = 0; r < Math.min(4, byStep.length); r++) {
            boolean[] s = starts[byStep[r]];
            double[] sum = base.clone();
            for (int g = 0; g < groups; g++) {
                if (s[g]) {
                    for (int t = 0; t < TERMS; t++) {
                        sum[t] += d[g * TERMS + t];
                    }
                }
            }
            double now = stepOf(sum, 0);
            double[] trial = new double[TERMS];
            for (int round = 0; round < 4 * groups; round++) {
                int pick = -1;
                double pickStep = now;
                for (int g = 0; g < groups; g++) {
                    double sign = s[g] ? -1 : 1;
                    for (int t = 0; t < TERMS; t++) {
                        trial[t] = sum[t] + sign * d[g * TERMS + t];
                    }
                    double st = stepOf(trial, 0);
                    if (st < pickStep * (1 - 1e-12)) {
                        pick = g;
                        pickStep = st;
                    }
                }
                if (pick < 0) {
                    break;
                }
                double sign = s[pick] ? -1 : 1;
                s[pick] = !s[pick];
                for (int t = 0; t < TERMS; t++) {
                    sum[t] += sign * d[pick * TERMS + t];
                }
                now = pickStep;
            }
            int on = 0;
            for (boolean v : s) {
                on += v ? 1 : 0;
            }
            if (on == 0 || on == groups) {
                continue; // x or y itself
            }
            int[] z = x.clone();
            for (int i = 0; i < n; i++) {
                if (group[i] >= 0 && s[group[i]]) {
                    z[i] = y[i];
                }
            }
            kept.putIfAbsent(java.util.Arrays.toString(s), new Mixture(z, now));
        }
        List<Mixture> out = new ArrayList<>(kept.values());
        out.sort(java.util.Comparator.comparingDouble(Mixture::step));
        return out.size() > MIX_KEPT ? List.copyOf(out.subList(0, MIX_KEPT)) : out;
    }

    /** The links at each node (indices into {@code b.links()}); made on first use. */
    private int[][] linksAt;

    private int[][] linksAt() {
        if (linksAt == null) {
            int n = b.units().size();
            int[] count = new int[n];
            for (ProblemBuilder.Link l : b.links()) {
                count[l.from()]++;
                count[l.to()]++;
            }
            int[][] at = new int[n][];
            for (int i = 0; i < n; i++) {
                at[i] = new int[count[i]];
                count[i] = 0;
            }
            List<ProblemBuilder.Link> links = b.links();
            for (int e = 0; e < links.size(); e++) {
                ProblemBuilder.Link l = links.get(e);
                at[l.from()][count[l.from()]++] = e;
                if (l.to() != l.from()) {
                    at[l.to()][count[l.to()]++] = e;
                }
            }
            linksAt = at;
        }
        return linksAt;
    }

    /** The most sweeps {@link #polish} makes over the nodes. */
    static final int POLISH_SWEEPS = 8;

    /**
     * Plan {@code x} improved node by node: each node in turn takes the layout among its candidates that lowers
     * the summed step most (its own terms and its links' changed), until a sweep changes none or after {@link
     * #POLISH_SWEEPS}. O(sweeps (nodes layouts degree)).
     */
    Mixture polish(int[] x) {
        int[] z = x.clone();
        double[] sum = sums(z);
        double now = stepOf(sum, 0);
        int[][] at = linksAt();
        List<ProblemBuilder.Link> links = b.links();
        double[] trial = new double[TERMS];
        for (int sweep = 0; sweep < POLISH_SWEEPS; sweep++) {
            boolean moved = false;
            for (int i = 0; i < z.length; i++) {
                int was = z[i];
                int pick = -1;
                double pickStep = now;
                for (int c : allowed[i]) {
                    if (c == was) {
                        continue;
                    }
                    System.arraycopy(sum, 0, trial, 0, TERMS);
                    addMove(z, i, c, trial, at, links);
                    double st = stepOf(trial, 0);
                    if (st < pickStep * (1 - 1e-12)) {
                        pick = c;
                        pickStep = st;
                    }
                }
                if (pick >= 0) {
                    addMove(z, i, pick, sum, at, links);
                    z[i] = pick;
                    now = stepOf(sum, 0);
                    moved = true;
                }
            }
            if (!moved) {
                break;
            }
        }
        return new Mixture(z, now);
    }

    /**
     * Adds to the sums {@code t} the change of node {@code i} of plan {@code z} from its layout to {@code c}: its own
     * terms and its links' ({@code at}: the links at each node). {@code z} is left as it was.
     */
    private void addMove(int[] z, int i, int c, double[] t, int[][] at, List<ProblemBuilder.Link> links) {
        int was = z[i];
        nodeTerms(i, was, -1, t, 0);
        nodeTerms(i, c, 1, t, 0);
        for (int e : at[i]) {
            ProblemBuilder.Link l = links.get(e);
            linkTerms(l, z[l.from()], z[l.to()], -1, t, 0);
            z[i] = c;
            linkTerms(l, z[l.from()], z[l.to()], 1, t, 0);
            z[i] = was;
        }
    }

    /**
     * The split by bucket count ({@link #byBucketCount}) runs only where the cutting planes leave the bound more
     * than this fraction below the target: below that, its solves could improve the bound (and the plans
     * found) by less than 0.1%, and they cost as much as the solves before them.
     */
    static final double SPLIT_ABOVE = 1e-3;

    /**
     * The gradient volume of plan {@code x}: half the bytes its reduction moves, which sets its buckets.
     * O(nodes).
     */
    double volume(int[] x) {
        double v = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            v += u.costs().get(x[u.index()]).gradientBytes() / 2;
        }
        return v;
    }

    /**
     * The at most {@code n} counts of {@code lo..hi} nearest to {@code around}, nearest first (the smaller of two as
     * near first), without enumerating the range: small buckets make bucket counts in the billions. O(n).
     */
    static List<Integer> nearest(int lo, int hi, int around, int n) {
        List<Integer> r = new ArrayList<>();
        for (long d = 0; r.size() < n && (around - d >= lo || around + d <= hi); d++) {
            for (long k : d == 0 ? new long[] {around} : new long[] {around - d, around + d}) {
                if (k >= lo && k <= hi && r.size() < n) {
                    r.add((int) k);
                }
            }
        }
        return r;
    }

    /** The bucket count of a gradient volume, as {@link PipelineSearch#exposedGradientSeconds} counts it. */
    static int bucketsOf(double volume, double bucket) {
        return (int) Math.max(1, Math.ceil(volume / bucket));
    }

    /** The most exact solves the split by bucket count ({@link #byBucketCount}) adds. */
    static final int MAX_SPLIT_SOLVES = 16;

    /**
     * A part of fewer counts than this (and more than one) is split without a multiplier of its own: its
     * counts' own parts, each with its own {@code G / j}, cost fewer solves than the multiplier and bound
     * them tighter (GPT-2-style on 64 A100s: 2..3 buckets cost 5 solves to a bound below the plan's step).
     */
    static final int SPLIT_FIRST = 4;

    /** The most exact solves one part of the split ({@link #part}) spends on its multiplier. */
    static final int PART_SOLVES = 5;

    /**
     * A part of the split by bucket count: the plans of {@code lo..hi} buckets (a gradient volume in
     * {@code ((lo - 1) bucket, hi bucket]}), their bound so far, and the bucket count of the minimiser of
     * its problem without multiplier ({@code free}; 0 while not solved).
     */
    private record Part(int lo, int hi, double bound, int free, int tried) {
        /** A part bounded at the weight of {@code phi}'s best line alone ({@link #TRIED_STAR}). */
        Part(int lo, int hi, double bound, int free) {
            this(lo, hi, bound, free, TRIED_STAR);
        }
    }

    /** The weights a part was bounded at ({@link Part#tried}): {@code phi}'s best, 1, 0. */
    private static final int TRIED_STAR = 1;
    private static final int TRIED_ONE = 2;
    private static final int TRIED_ZERO = 4;

    /** An exact solve's objective and minimiser (layout indices); {@code x} null when it did not finish. */
    private record Solve(double objective, int[] x) {
    }

    /**
     * A bound over the plans split by their bucket count {@code k(x)}, where {@code phi}'s minimiser (at
     * {@code alpha}) leaves it below the target. The plans of {@code lo..hi} buckets have {@code G / k >= G /
     * hi}, so their step is at least {@code L^hi(x) = W + U + a G / hi + (1 - a)(G - B)} (with {@code hi = 1},
     * {@code a = 1}: {@code E = max(G, G - B) = G} exactly); and their volume lies in {@code ((lo - 1)
     * bucket, hi bucket]}, so for every {@code lambda >= 0} their step is at least {@code L^hi(x) - lambda
     * (V(x) - (lo - 1) bucket)} and at least {@code L^hi(x) - lambda (hi bucket - V(x))} (Lagrangian
     * relaxation of either side). The least of that over all plans bounds the part; it is concave in the
     * multiplier (a minimum of lines), and each part maximises it on the side its free minimiser leaves
     * (none where that minimiser has lo..hi buckets: 0 is then the maximum) by cutting planes, at most {@link
     * #PART_SOLVES} solves. A part's bound is also its parent's (a bound over a larger set).
     *
     * <p>Branch and bound over the bucket count: starting from the one part {@code 1..K} (bounded by {@code
     * phi}), the part of least bound is split in two, at its free minimiser's count {@code j} ({@code
     * lo..j} and {@code j+1..hi}) where {@code lo <= j < hi}, else in halves; parts whose bound reaches the
     * target are done. It stops when every part reaches the target, when the weakest part is one count whose
     * free minimiser has that count (its bound is then {@code L^j}'s optimum, which no split improves), after
     * {@link #MAX_SPLIT_SOLVES} solves, or when the time runs out. Every plan is in one part, so the least of
     * the parts' bounds bounds them all. Returns that (at least {@code phi}); the minimisers join {@code
     * plans}, each priced by {@code step} as it is found (the target falls to the best step).
     */
    private double byBucketCount(double alpha, double phi, int[] xStar, double target, DoubleSupplier secondsLeft,
            List<int[]> plans, int[] solves, java.util.function.ToDoubleFunction<int[]> step) {
        int top = (int) buckets;
        // the solves without multiplier, by the part's largest count (the same problem for parts of one hi)
        Map<Integer, Solve> free = new java.util.HashMap<>();
        free.put(top, new Solve(phi, xStar));
        // the same at the other weights a part may be bounded at
        Map<Double, Map<Integer, Solve>> freeAt = new java.util.HashMap<>();
        List<Part> parts = new ArrayList<>();
        parts.add(new Part(1, top, phi, bucketsOf(volume(xStar), bucket)));
        int[] spent = {0};
        double[] goal = {target};
        while (spent[0] < MAX_SPLIT_SOLVES && secondsLeft.getAsDouble() > 0.05) {
            Part weakest = null;
            for (Part q : parts) {
                if (weakest == null || q.bound() < weakest.bound()) {
                    weakest = q;
                }
            }
            if (weakest.bound() >= goal[0]) {
                break; // every part reaches the target
            }
            int lo = weakest.lo();
            int hi = weakest.hi();
            int j = weakest.free();
            if (lo == hi || (j == hi && free.containsKey(hi) && j >= lo)) {
                // its free minimiser lies in its top count: L^hi's optimum, which no split moves. Where phi's best
                // weight lies strictly inside (0, 1) (both of the reduction's terms bind somewhere), the part is bounded
                // again at the weights 1 and 0 (every weight bounds every plan, so the larger bound holds): the part's
                // own best weight may differ from the whole model's
                double other = !overlap || hi == 1 || !(alpha > 0 && alpha < 1) ? Double.NaN
                        : (weakest.tried() & TRIED_ONE) == 0 ? 1 : (weakest.tried() & TRIED_ZERO) == 0 ? 0 : Double.NaN;
                if (Double.isNaN(other)) {
                    break;
                }
                parts.remove(weakest);
                Part again = part(lo, hi, other, weakest.bound(), freeAt.computeIfAbsent(other, x -> new java.util.HashMap<>()),
                        goal, secondsLeft, plans, spent, step);
                parts.add(new Part(lo, hi, Math.max(weakest.bound(), again.bound()), weakest.free(),
                        weakest.tried() | (other == 1 ? TRIED_ONE : TRIED_ZERO)));
                continue;
            }
            int cut = j >= lo && j < hi ? j : lo + (hi - lo) / 2;
            parts.remove(weakest);
            for (int[] r : new int[][] {{lo, cut}, {cut + 1, hi}}) {
                if (spent[0] >= MAX_SPLIT_SOLVES || secondsLeft.getAsDouble() <= 0.05) {
                    parts.add(new Part(r[0], r[1], weakest.bound(), 0));
                    continue;
                }
                parts.add(part(r[0], r[1], alpha, weakest.bound(), free, goal, secondsLeft, plans, spent, step));
            }
        }
        solves[0] += spent[0];
        double least = Double.POSITIVE_INFINITY;
        for (Part q : parts) {
            least = Math.min(least, q.bound());
        }
        if (TRACE) {
            StringBuilder sb = new StringBuilder();
            for (Part q : parts) {
                sb.append(String.format(java.util.Locale.ROOT, " %d..%d: %.6f", q.lo(), q.hi(), q.bound()));
            }
            System.err.printf(java.util.Locale.ROOT, "    step bound by bucket count: %.6f s after %d solves;%s%n",
                    least, spent[0], sb);
        }
        return Math.max(phi, least);
    }

    /**
     * The bound of the plans of {@code lo..hi} buckets (see {@link #byBucketCount}): at least {@code
     * inherited}, the bound of the part it was split from.
     */
    private Part part(int lo, int hi, double alphaStar, double inherited, Map<Integer, Solve> free, double[] goal,
            DoubleSupplier secondsLeft, List<int[]> plans, int[] spent, java.util.function.ToDoubleFunction<int[]> step) {
        double alpha = hi == 1 ? 1 : alphaStar;
        double gw = alpha / hi + (1 - alpha);
        double bw = 1 - alpha;
        double below = (lo - 1) * bucket; // every plan of the part has more volume
        double above = hi * bucket; // and at most this
        int before = spent[0];
        Solve s0 = free.get(hi);
        if (s0 == null) {
            s0 = solve(gw, bw, 0, secondsLeft, plans, spent, goal, step);
            if (s0.x() != null) {
                free.put(hi, s0);
            }
        }
        double best = Math.max(inherited, s0.objective());
        if (s0.x() == null) {
            return new Part(lo, hi, best, 0);
        }
        double v0 = volume(s0.x());
        int j = bucketsOf(v0, bucket);
        if (j >= lo && j <= hi) {
            trace(lo, hi, spent[0] - before, best);
            return new Part(lo, hi, best, j); // the multiplier 0 is the maximum
        }
        if (hi - lo >= 1 && hi - lo < SPLIT_FIRST) {
            trace(lo, hi, spent[0] - before, best);
            return new Part(lo, hi, best, j); // a few counts: splitting them costs less than the multiplier
        }
        // raise: reward volume (the free minimiser has too little) or penalise it (too much)
        boolean raise = j < lo;
        // along t >= 0: value(t) = objective - t (Vmax - below) when raising, objective - t above when
        // penalising; its slope at a minimiser x is below - V(x), or V(x) - above
        double s0Slope = raise ? below - v0 : v0 - above;
        MultiplierCuts cuts = new MultiplierCuts(s0.objective(), s0Slope);
        double reach = Double.isFinite(goal[0]) ? goal[0] : 2 * s0.objective();
        // the least multiplier at which the first line reaches it
        double t = Math.max(reach - s0.objective(), 1e-9 * s0.objective()) / s0Slope;
        int used = 0;
        while (used < PART_SOLVES && spent[0] < MAX_SPLIT_SOLVES && best < goal[0] && secondsLeft.getAsDouble() > 0.05) {
            Solve s = solve(gw, bw, raise ? t : -t, secondsLeft, plans, spent, goal, step);
            used++;
            double value = s.objective() - t * (raise ? mostVolume - below : above);
            if (s.x() == null) {
                if (Double.isFinite(value)) {
                    best = Math.max(best, value);
                }
                break;
            }
            best = Math.max(best, value);
            double v = volume(s.x());
            t = cuts.next(t, value, raise ? below - v : v - above, best);
            if (Double.isNaN(t)) {
                break;
            }
        }
        trace(lo, hi, spent[0] - before, best);
        return new Part(lo, hi, best, j);
    }

    private static void trace(int lo, int hi, int used, double bound) {
        if (TRACE) {
            System.err.printf(java.util.Locale.ROOT, "    step bound part %d..%d buckets: %.6f s (%d solves)%n", lo, hi, bound, used);
        }
    }

    /**
     * One exact solve of {@link #problem(double, double, double)}: its objective (its proven bound where the
     * time ran out, then no minimiser), the minimiser added to {@code plans} and priced, lowering {@code
     * goal}.
     */
    private Solve solve(double gw, double bw, double mu, DoubleSupplier secondsLeft, List<int[]> plans, int[] spent,
            double[] goal, java.util.function.ToDoubleFunction<int[]> step) {
        Solution s = new DpSolver().solve(problem(gw, bw, mu), Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
        spent[0]++;
        if (!s.hasChoices() || s.status() != Status.OPTIMAL) {
            return new Solve(s.lowerBound(), null);
        }
        int[] x = layouts(s.choices());
        plans.add(x);
        goal[0] = Math.min(goal[0], step.applyAsDouble(x) * (1 - PipelineSearch.PROVEN));
        return new Solve(s.objective(), x);
    }
}
