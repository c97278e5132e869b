package org.shardplan.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.solver.DoublesKey;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Status;

/**
 * A lower bound on the step of every pipeline plan of a configuration (P stages, m micro-batches,
 * recomputation, ZeRO stage) under one synchronous schedule: the least over every partition at the cut
 * positions of the schedule's own step, priced with each chunk's profile at a lower bound of every
 * profile its layouts can have.
 *
 * <p><b>Why it is a bound.</b> A synchronous schedule's step, as the search prices it ({@link
 * Schedule#estimate} plus {@link PipelineSearch#updateAfter}), is the longest path of the op order's
 * dependency graph ({@link org.shardplan.planner.pipeline.CriticalPath}; the closed forms equal it where
 * they apply) plus each device's gradient synchronisation after its last op, plus the largest optimizer
 * step: a maximum of sums of the profiles' forward {@code f}, input gradient {@code b - b_w}, weight
 * gradient {@code b_w}, send {@code c}, synchronisation {@code g} and update {@code u} times with
 * non-negative coefficients, so monotone in each. For a fixed partition every plan's profiles are at least
 * (component by component):
 * <ul>
 * <li>{@code f}: the sum over the chunk's segments (the ranges between consecutive cut positions) of
 *     each segment's exact least forward time: its nodes' forward compute and half their collectives,
 *     half the resharding between its nodes, an exact dynamic program over the segment's candidates
 *     (links between segments dropped, all terms non-negative: a relaxation);</li>
 * <li>{@code b - b_w}: the same with the input-gradient part (backward compute and half the
 *     collectives less the weight part, half the resharding); {@code b_w}: the sum of the nodes' least
 *     weight parts; {@code b}: their sum;</li>
 * <li>{@code c}: exact, since the bytes crossing a cut do not depend on the layouts (the values produced
 *     before the cut and read after it, over the stage's devices, on the link the stages cross);</li>
 * <li>{@code g}: the exposed reduction {@code max(G/k, G - b) >= G/k >= Gmin / K}, with {@code Gmin} the
 *     sum of the nodes' least reduction times and {@code K} the buckets of the largest volume the chunk's
 *     nodes can have; {@code G} itself where nothing overlaps;</li>
 * <li>{@code u}: the optimizer step of the nodes' least static bytes (linear in the bytes).</li>
 * </ul>
 * So the step of every plan with that partition is at least the step of these profiles, and the least of
 * that over partitions bounds every plan of the configuration under the schedule, fitting the memory limit
 * or not. The partitions are enumerated depth first, chunk by chunk in model order, and a partial one is
 * cut off once a path every completion keeps reaches the threshold: device {@code d}'s first op waits for
 * micro-batch 0's forward through chunks {@code 0..d-1} and their sends, it runs its {@code m} forwards
 * and backwards of each of its chunks one after another, and (all but zero bubble, whose weight-gradient ops
 * may run last) its last op, micro-batch {@code m - 1}'s backward through its first chunk, is followed by
 * that backward through chunks {@code d-1..0}; the devices' work shares sum to {@code m} times the total, so
 * the largest of those paths is at least their mean. Every partition is priced or cut off at a path of its
 * own at least the threshold, so the result is {@code min(threshold, least step)}.
 *
 * <p>Running time: two exact dynamic programs per distinct segment problem (layers share one), then per
 * schedule at most {@code budget} partitions priced, O(p m v) each; the number of partitions is at most
 * {@code C(K - 1, p v - 1)} for K segments, most cut off on balanced chains.
 */
final class PipelineBound {

    /** Per segment: least forward, input-gradient and weight-gradient times of one micro-batch. */
    private final double[] forward;
    private final double[] backwardInput;
    private final double[] backwardWeight;
    /** Per segment: least gradient-reduction seconds, largest gradient volume (bytes), least static bytes. */
    private final double[] gradient;
    private final double[] mostVolume;
    private final double[] leastStatic;
    /** Per segment boundary 0..K: the send time of a stage ending there (0 at both ends). */
    private final double[] sendAt;
    private final boolean overlap;
    private final ComputeModel compute;
    private final OptimizerSpec optimizer;
    private final int segments;
    /** The exact dynamic programs run for the segments (distinct problems only). */
    private int solves;

    /**
     * @param b the configuration's problem (one submesh: a stage's devices)
     * @param filter the candidates the fixed degrees allow
     * @param positions the cut positions, 0 first and the node count last (segments between consecutive ones)
     * @param sendAt per position, the seconds a stage ending there sends (its output to the next stage, one
     *     micro-batch); ignored at both ends
     * @param recompute whether activations are recomputed (the second forward is backward work, not weight work)
     * @param compute the compute model (the optimizer's rate; whether the reduction overlaps)
     * @param optimizer the optimizer
     * @param secondsLeft the time left; a segment whose solve does not finish keeps its nodes' least times
     */
    PipelineBound(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> positions, double[] sendAt,
            boolean recompute, ComputeModel compute, OptimizerSpec optimizer, DoubleSupplier secondsLeft) {
        if (positions.size() < 2 || positions.get(0) != 0 || positions.get(positions.size() - 1) != b.units().size()) {
            throw new IllegalArgumentException("cut positions must run from 0 to " + b.units().size() + ", found " + positions);
        }
        if (sendAt.length != positions.size()) {
            throw new IllegalArgumentException("send times must be one per cut position (" + positions.size() + "), found "
                    + sendAt.length);
        }
        this.segments = positions.size() - 1;
        this.sendAt = sendAt.clone();
        this.overlap = compute.gradientOverlap();
        this.compute = compute;
        this.optimizer = optimizer;
        forward = new double[segments];
        backwardInput = new double[segments];
        backwardWeight = new double[segments];
        gradient = new double[segments];
        mostVolume = new double[segments];
        leastStatic = new double[segments];
        Map<DoublesKey, Double> seen = new HashMap<>();
        for (int k = 0; k < segments; k++) {
            int from = positions.get(k);
            int to = positions.get(k + 1);
            if (to <= from) {
                throw new IllegalArgumentException("cut positions must increase, found " + positions);
            }
            double[] fl = new double[to - from];
            double[] il = new double[to - from];
            for (int i = from; i < to; i++) {
                ProblemBuilder.Unit u = b.units().get(i);
                double f = Double.POSITIVE_INFINITY;
                double in = Double.POSITIVE_INFINITY;
                double w = Double.POSITIVE_INFINITY;
                double g = Double.POSITIVE_INFINITY;
                double v = 0;
                double st = Double.POSITIVE_INFINITY;
                for (int c = 0; c < u.costs().size(); c++) {
                    if (!filter.allows(u, c)) {
                        continue;
                    }
                    ProblemBuilder.Cost x = u.costs().get(c);
                    f = Math.min(f, forwardPart(x));
                    in = Math.min(in, inputPart(x, recompute));
                    w = Math.min(w, weightPart(x, recompute));
                    g = Math.min(g, x.gradientSeconds());
                    v = Math.max(v, x.gradientBytes() / 2);
                    st = Math.min(st, x.parameterBytes());
                }
                if (f == Double.POSITIVE_INFINITY) {
                    throw new IllegalArgumentException("node '" + u.name() + "' has no candidate layout left under the"
                            + " fixed parallelism degrees");
                }
                fl[i - from] = f;
                il[i - from] = in;
                backwardWeight[k] += w;
                gradient[k] += g;
                mostVolume[k] += v;
                leastStatic[k] += st;
            }
            forward[k] = Math.max(sum(fl), solve(b, filter, from, to, true, recompute, seen, secondsLeft));
            backwardInput[k] = Math.max(sum(il), solve(b, filter, from, to, false, recompute, seen, secondsLeft));
        }
    }

    /** A node's forward time of one micro-batch as the stage profiles count it: compute and half the collectives. */
    static double forwardPart(ProblemBuilder.Cost x) {
        return x.forwardSeconds() + x.microCommunicationSeconds() / 2;
    }

    /** A node's weight-gradient time of one micro-batch as the stage profiles count it. */
    static double weightPart(ProblemBuilder.Cost x, boolean recompute) {
        double back = x.microComputeSeconds() - x.forwardSeconds();
        return x.parameterBytes() > 0 ? Math.max(0, (back - (recompute ? x.forwardSeconds() : 0)) / 2) : 0;
    }

    /** A node's input-gradient time: its backward compute and half the collectives, less its weight part. */
    static double inputPart(ProblemBuilder.Cost x, boolean recompute) {
        double back = x.microComputeSeconds() - x.forwardSeconds();
        return back + x.microCommunicationSeconds() / 2 - weightPart(x, recompute);
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double x : a) {
            s += x;
        }
        return s;
    }

    /**
     * The exact least forward ({@code forward}) or input-gradient time of one micro-batch of nodes
     * {@code [from, to)}: the node parts plus half of each link's resharding inside the range; 0 where the
     * solve does not finish (the caller keeps the nodes' least times). Identical problems are solved once.
     */
    private double solve(ProblemBuilder.Built b, StageProblem.Filter filter, int from, int to, boolean forward,
            boolean recompute, Map<DoublesKey, Double> seen, DoubleSupplier secondsLeft) {
        int n = to - from;
        int[][] allowed = new int[n][];
        List<Problem.Node> nodes = new ArrayList<>();
        List<Double> key = new ArrayList<>();
        key.add(forward ? 1.0 : 0.0);
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(from + i);
            int[] a = new int[u.layouts().size()];
            int c = 0;
            for (int k = 0; k < a.length; k++) {
                if (filter.allows(u, k)) {
                    a[c++] = k;
                }
            }
            allowed[i] = java.util.Arrays.copyOf(a, c);
            double[] cost = new double[c];
            key.add((double) -c);
            for (int s = 0; s < c; s++) {
                ProblemBuilder.Cost x = u.costs().get(allowed[i][s]);
                cost[s] = forward ? forwardPart(x) : inputPart(x, recompute);
                key.add(cost[s]);
            }
            nodes.add(new Problem.Node(u.name(), cost, null, null));
        }
        Map<Long, double[]> sums = new LinkedHashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            if (l.from() < from || l.from() >= to || l.to() < from || l.to() >= to) {
                continue;
            }
            int[] ra = allowed[l.from() - from];
            int[] ca = allowed[l.to() - from];
            int cols = b.units().get(l.to()).layouts().size();
            double[] acc = sums.computeIfAbsent((long) (l.from() - from) * n + (l.to() - from),
                    k -> new double[ra.length * ca.length]);
            for (int s = 0; s < ra.length; s++) {
                for (int q = 0; q < ca.length; q++) {
                    acc[s * ca.length + q] += l.seconds()[ra[s] * cols + ca[q]] / 2;
                }
            }
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (Map.Entry<Long, double[]> e : sums.entrySet()) {
            int f = (int) (e.getKey() / n);
            int t = (int) (e.getKey() % n);
            edges.add(new Problem.Edge(f, t, allowed[f].length, allowed[t].length, e.getValue()));
            key.add((double) -1 - f);
            key.add((double) -1 - t);
            for (double x : e.getValue()) {
                key.add(x);
            }
        }
        double[] k = new double[key.size()];
        for (int i = 0; i < k.length; i++) {
            k[i] = key.get(i);
        }
        DoublesKey dk = new DoublesKey(k);
        Double known = seen.get(dk);
        if (known != null) {
            return known;
        }
        double r = 0;
        if (secondsLeft.getAsDouble() > 0.05) {
            Solution s = new DpSolver().solve(new Problem(b.name() + " [segment " + (forward ? "forward" : "backward") + "]",
                    nodes, edges), Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
            solves++;
            double v = s.status() == Status.OPTIMAL ? s.objective() : s.lowerBound();
            r = Double.isFinite(v) ? Math.max(0, v) : 0;
        }
        seen.put(dk, r);
        return r;
    }

    /** The exact dynamic programs run for the segments. */
    int solves() {
        return solves;
    }

    /** The number of segments. */
    int segments() {
        return segments;
    }

    /** The profile of a chunk of segments {@code [from, to)}: each part at its lower bound. O(to - from). */
    StageProfile profile(int from, int to) {
        double f = 0;
        double in = 0;
        double w = 0;
        double g = 0;
        double v = 0;
        double st = 0;
        for (int k = from; k < to; k++) {
            f += forward[k];
            in += backwardInput[k];
            w += backwardWeight[k];
            g += gradient[k];
            v += mostVolume[k];
            st += leastStatic[k];
        }
        double sync = g <= 0 ? 0 : overlap ? g / Math.max(1, Math.ceil(v / PipelineSearch.BUCKET_BYTES)) : g;
        double send = to < segments ? sendAt[to] : 0;
        return new StageProfile(f, in + w, w, send, sync, 0, 0, compute.optimizerStepSeconds(st, optimizer));
    }

    /**
     * The least over partitions into {@code p v} chunks of the step of schedule {@code sch} (with the
     * optimizer step after it) on the chunks' least profiles, or {@code threshold} where none is below it;
     * NaN where more than {@code budget} partitions would have to be priced or the time ran out (no bound).
     *
     * @param sch a synchronous schedule ({@link Schedule#exact}) whose shape {@code (p, m, v)} is valid
     */
    double step(Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
        if (!sch.exact()) {
            throw new IllegalArgumentException("the schedule must be synchronous, found " + sch.name());
        }
        int chunks = p * v;
        if (chunks > segments) {
            return Double.POSITIVE_INFINITY; // no partition: no plan
        }
        Search s = new Search(sch, p, m, v, threshold, budget, secondsLeft);
        s.dfs(0, 0);
        return s.aborted ? Double.NaN : s.best;
    }

    private final class Search {
        final Schedule sch;
        final int p;
        final int m;
        final int v;
        final int chunks;
        final boolean drain;
        final long budget;
        final DoubleSupplier secondsLeft;
        final int[] end;
        final double[] work;
        final double[] chain;
        final double[] prefixF;
        final double[] prefixB;
        final double[] prefixA;
        double best;
        long priced;
        boolean aborted;

        Search(Schedule sch, int p, int m, int v, double threshold, long budget, DoubleSupplier secondsLeft) {
            this.sch = sch;
            this.p = p;
            this.m = m;
            this.v = v;
            this.chunks = p * v;
            // every schedule's device d but zero bubble's ends with micro-batch m - 1's backward through its first chunk
            this.drain = !sch.name().equals("zero-bubble");
            this.budget = budget;
            this.secondsLeft = secondsLeft;
            this.best = threshold;
            end = new int[chunks];
            work = new double[p];
            chain = new double[p];
            prefixF = new double[segments + 1];
            prefixB = new double[segments + 1];
            prefixA = new double[segments + 1];
            for (int k = 0; k < segments; k++) {
                prefixF[k + 1] = prefixF[k] + forward[k];
                prefixB[k + 1] = prefixB[k] + backwardInput[k] + backwardWeight[k];
                prefixA[k + 1] = prefixF[k + 1] + prefixB[k + 1];
            }
        }

        /** Chunks {@code 0..j-1} end at {@code end[0..j-1]}, the last at segment {@code start}; {@code sends} their sends. */
        void dfs(int j, double sends) {
            if (aborted) {
                return;
            }
            int start = j == 0 ? 0 : end[j - 1];
            if (j == chunks) {
                price();
                return;
            }
            int d = j % p;
            if (j < p) {
                // device d's first op waits for micro-batch 0's forward through chunks 0..j-1 (and its backward after)
                chain[d] = prefixF[start] + sends + (drain ? prefixB[start] + sends : 0);
            }
            int last = segments - (chunks - j - 1);
            // the last chunk ends with the model
            for (int e = j == chunks - 1 ? segments : start + 1; e <= last; e++) {
                double a = prefixA[e] - prefixA[start];
                double dev = chain[d] + m * (work[d] + a);
                if (dev >= best) {
                    break; // longer chunks only lengthen this device's path
                }
                // every device's path: its chain (those not started wait at least for the chunks so far) and its
                // share of the m (f + b) of all segments; the largest is at least the mean
                double chains = 0;
                for (int q = 0; q < p; q++) {
                    chains += q <= j ? chain[q] : prefixF[e] + sends + (drain ? prefixB[e] + sends : 0);
                }
                if ((chains + m * prefixA[segments]) / p >= best) {
                    continue;
                }
                end[j] = e;
                work[d] += a;
                dfs(j + 1, sends + (e < segments ? sendAt[e] : 0));
                work[d] -= a;
                if (aborted) {
                    return;
                }
            }
        }

        void price() {
            if (++priced > budget || (priced % 1024 == 0 && secondsLeft.getAsDouble() <= 0.05)) {
                aborted = true;
                return;
            }
            List<StageProfile> ps = new ArrayList<>(chunks);
            int from = 0;
            for (int j = 0; j < chunks; j++) {
                ps.add(profile(from, end[j]));
                from = end[j];
            }
            double step = sch.estimate(ps, m, v).stepSeconds() + PipelineSearch.updateAfter(sch, ps, p);
            if (step < best) {
                best = step;
            }
        }
    }
}
