package org.shardplan.planner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.StagePartition;
import org.shardplan.planner.solver.DoublesKey;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * The stage costs of {@link StagePartition} for one pipeline configuration: segment {@code g} is the
 * nodes between two consecutive cut positions, and stage {@code s} over segments {@code [i, j)} costs
 * its own exact stage solve per micro-batch, {@code objective / W} with {@code W = m + P - 1} the
 * micro-batch weight the stage solves use (its compute, collectives and resharding per micro-batch,
 * and its gradient reduction spread over the weight), plus the point-to-point transfers of one
 * micro-batch across its end (activation forward, gradient back; none for the last stage); infinite
 * where the stage cannot fit its memory limit with the {@code min(P - s, m)} micro-batches 1F1B holds
 * there.
 *
 * <p>Stage solves are shared by ranges of the same shape: the key of a range is the sequence of its
 * segments' kinds (nodes with the same cost tables, candidates and block membership, the same links
 * inside) and of the links between its segments, so that a stage of k identical layers is solved once
 * whatever its offset, and the distinct solves are O(K) on a chain of repeated layers rather than
 * O(K^2). The solve without the memory limit does not depend on the micro-batches held, so it is
 * shared by every position; where its layouts do not fit at a position the cost is a lower bound until
 * {@link #refine} solves the stage with its limit (through the search's own stage solve, which may put
 * the whole configuration off).
 *
 * <p>Running time: a range's shape O(1) once known (hash-consed from the shape one segment shorter,
 * O(range length) the first time for a start), so that a cost look-up is O(1) besides its solve; one tied
 * dynamic program per distinct shape asked for, and one solve with the limit per distinct shape and
 * micro-batches held.
 */
final class ExactPartition implements StagePartition.StageCosts {

    /** The search's exact solve of one stage with its memory limit; empty when it cannot fit. */
    @FunctionalInterface
    interface LimitedSolve {
        Optional<int[]> solve(int from, int to, ProblemBuilder.Repeat r);
    }

    /** Thrown by a cost look-up once the search's time limit has passed. */
    static final class OutOfTime extends RuntimeException {
        OutOfTime() {
            super(null, null, false, false);
        }
    }

    /** A solved stage: its per-micro-batch cost without transfers, and its layouts (range-relative). */
    private record Solved(double cost, int[] choice) {
    }

    /**
     * The solve without the limit: weighted objective, layouts, parameter and activation bytes per device, and the
     * tied problem's optimal assignment (null where the solve was not proven optimal).
     */
    private record Free(double objective, int[] choice, double staticBytes, double activationBytes, int[] tied) {
    }

    /** Int-array content as a map key. */
    private record Key(int[] v) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(v, k.v);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(v);
        }
    }

    private final ProblemBuilder.Built b;
    private final StageProblem.Filter filter;
    private final int[] pos;
    private final int stages;
    private final int m;
    private final double weight;
    private final double limit;
    private final double[] sendSeconds;
    private final LimitedSolve limited;
    private final DoubleSupplier secondsLeft;
    private final BooleanSupplier timeLeft;
    private final int[] kind;
    private final List<List<int[]>> incoming = new ArrayList<>();
    private final double[] leastTime;
    /** The candidates the filter allows, per node. */
    private final int[][] allowed;
    /** Per copies held (1 .. min(P, m)): prefix sums of each node's least memory, null until asked for. */
    private final double[][] leastMemory;
    /** The tied solves without the limit, by range shape ({@link #shape}); a null value: no solution. */
    private final Map<Integer, Free> free = new HashMap<>();
    /** The solves with the limit, by range shape and copies held ({@link #limitedKey}). */
    private final Map<Long, Optional<Solved>> limitedSolves = new HashMap<>();
    /** The node range {from, to} each of those solves ran on, by the same key. */
    private final Map<Long, int[]> solvedRanges = new HashMap<>();
    /** {@code shapes[i][j - i - 1]}: the shape of segments [i, j), 0 until computed. */
    private final int[][] shapes;
    /** Per segment g and distance d back to a range's start: the id of what g adds to that range's shape, 0 until computed. */
    private final int[][] parts;
    /** Ids of the segment parts by content, and of the shapes as (shape of the range one shorter, last part). */
    private final Map<Key, Integer> partIds = new HashMap<>();
    private final Map<Long, Integer> shapeIds = new HashMap<>();
    /**
     * The search's exact solve of a problem without a memory limit, shared with its stage solves (the same
     * range's stage problem at other micro-batches held is the same problem without the limit); null: a
     * dynamic program of its own.
     */
    java.util.function.Function<Problem, Solution> unlimited;

    /**
     * Distinct solves run (with and without the limit, those {@link #interpolate} answers counted as run, so that the
     * budget of solves stops the partition where it would stop without them), and cost look-ups answered.
     */
    int solves;
    int lookups;

    /**
     * Whether {@link #willCost} answers the solves without the limit of the ranges it is told of by
     * interpolation where it can ({@link #prefetch}); {@code -Dshardplan.partitionInterpolation=false}: each
     * solved on its own (tests compare the two).
     */
    boolean interpolate = INTERPOLATE;

    static final boolean INTERPOLATE = !"false".equals(System.getProperty("shardplan.partitionInterpolation"));

    /** The solves without the limit that {@link #prefetch} answered without a dynamic program (counted in {@link #solves}). */
    int interpolated;

    /**
     * @param pos the segment boundaries: 0, the cut positions, the node count
     * @param sendSecondsAtNode per node index c, the time to send one micro-batch's tensors produced before
     *     c and used at or after it (what a stage ending at c sends), one way
     * @param limited the search's stage solve with the memory limit
     */
    ExactPartition(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> pos, int stages, int m,
            double limit, double[] sendSecondsAtNode, LimitedSolve limited, DoubleSupplier secondsLeft,
            BooleanSupplier timeLeft) {
        this.b = b;
        this.filter = filter;
        this.pos = pos.stream().mapToInt(Integer::intValue).toArray();
        this.stages = stages;
        this.m = m;
        this.weight = m + stages - 1;
        this.limit = limit;
        this.limited = limited;
        this.secondsLeft = secondsLeft;
        this.timeLeft = timeLeft;
        int k = this.pos.length - 1;
        this.sendSeconds = new double[k + 1];
        for (int j = 0; j <= k; j++) {
            this.sendSeconds[j] = 2 * sendSecondsAtNode[this.pos[j]];
        }
        int n = b.units().size();
        int[] segOf = new int[n];
        for (int g = 0; g < k; g++) {
            for (int i = this.pos[g]; i < this.pos[g + 1]; i++) {
                segOf[i] = g;
            }
        }
        // candidates the filter allows, and each node's least weighted time over them
        int[][] allowed = new int[n][];
        this.allowed = allowed;
        this.leastMemory = new double[Math.min(stages, m) + 1][];
        leastTime = new double[n + 1];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(i);
            int[] a = new int[u.layouts().size()];
            int c = 0;
            double least = Double.POSITIVE_INFINITY;
            for (int l = 0; l < a.length; l++) {
                if (filter.allows(u, l)) {
                    a[c++] = l;
                    ProblemBuilder.Cost x = u.costs().get(l);
                    least = Least.min(least, weight * (x.microComputeSeconds() + x.microCommunicationSeconds())
                            + x.gradientSeconds());
                }
            }
            allowed[i] = Arrays.copyOf(a, c);
            leastTime[i + 1] = leastTime[i] + (c == 0 ? 0 : least);
        }
        // block membership of each node, relative to its segment's start: what decides the tying of a range
        List<List<int[]>> member = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            member.add(new ArrayList<>());
        }
        int ci = 0;
        for (BlockClass bc : b.coarse().blockClasses()) {
            for (List<CoarseNode> inst : bc.instances()) {
                int lo = Integer.MAX_VALUE;
                int hi = -1;
                for (CoarseNode c : inst) {
                    lo = Math.min(lo, c.index());
                    hi = Math.max(hi, c.index());
                }
                for (int j = 0; j < inst.size(); j++) {
                    int x = inst.get(j).index();
                    int start = this.pos[segOf[x]];
                    member.get(x).add(new int[] {ci, j, lo - start, hi - start});
                }
            }
            ci++;
        }
        boolean uniform = true;
        for (BlockClass bc : b.coarse().blockClasses()) {
            List<CoarseNode> first = bc.instances().get(0);
            for (List<CoarseNode> inst : bc.instances()) {
                for (int j = 0; j < inst.size() && uniform; j++) {
                    int x = inst.get(j).index();
                    int y = first.get(j).index();
                    uniform = b.units().get(x).layouts().equals(b.units().get(y).layouts())
                            && Arrays.equals(allowed[x], allowed[y]);
                }
            }
        }
        this.uniformTying = uniform;
        Map<Object, Integer> ids = new IdentityHashMap<>();
        Map<Key, Integer> contents = new HashMap<>();
        Map<DoublesKey, Integer> seconds = new HashMap<>();
        // links of repeated layers often share their table: by identity first, by content once per table
        Map<double[], Integer> secondsById = new IdentityHashMap<>();
        List<List<Integer>> inside = new ArrayList<>();
        for (int g = 0; g < k; g++) {
            inside.add(new ArrayList<>());
            incoming.add(new ArrayList<>());
        }
        for (ProblemBuilder.Link l : b.links()) {
            int sid = secondsById.computeIfAbsent(l.seconds(),
                    a -> seconds.computeIfAbsent(new DoublesKey(a), d -> seconds.size()));
            int gf = segOf[l.from()];
            int gt = segOf[l.to()];
            if (gf == gt) {
                List<Integer> in = inside.get(gf);
                in.add(l.from() - this.pos[gf]);
                in.add(l.to() - this.pos[gf]);
                in.add(sid);
            } else {
                int late = Math.max(gf, gt);
                int early = Math.min(gf, gt);
                incoming.get(late).add(new int[] {late - early, gf < gt ? 1 : 0, l.from() - this.pos[gf],
                        l.to() - this.pos[gt], sid});
            }
        }
        kind = new int[k];
        for (int g = 0; g < k; g++) {
            List<Integer> sig = new ArrayList<>();
            sig.add(this.pos[g + 1] - this.pos[g]);
            for (int i = this.pos[g]; i < this.pos[g + 1]; i++) {
                ProblemBuilder.Unit u = b.units().get(i);
                sig.add(ids.computeIfAbsent(u.costs(), x -> ids.size()));
                sig.add(ids.computeIfAbsent(u.layouts(), x -> ids.size()));
                sig.add(contents.computeIfAbsent(new Key(allowed[i]), x -> contents.size()));
                sig.add(member.get(i).size());
                for (int[] t : member.get(i)) {
                    for (int v : t) {
                        sig.add(v);
                    }
                }
            }
            sig.add(-1);
            sig.addAll(inside.get(g));
            kind[g] = contents.computeIfAbsent(new Key(sig.stream().mapToInt(Integer::intValue).toArray()),
                    x -> contents.size());
        }
        shapes = new int[k][];
        parts = new int[k][];
        for (int g = 0; g < k; g++) {
            shapes[g] = new int[k - g];
            int back = 0;
            for (int[] l : incoming.get(g)) {
                back = Math.max(back, l[0]);
            }
            parts[g] = new int[Math.min(back, g) + 1];
        }
    }

    /** The number of segments. */
    int segments() {
        return pos.length - 1;
    }

    /** The node index where segment boundary {@code j} lies. */
    int node(int j) {
        return pos[j];
    }

    /** Micro-batches stage s holds under 1F1B: {@code min(P - s, m)}. */
    private int copies(int s) {
        return Math.min(stages - s, m);
    }

    /**
     * The shape of segments [i, j): an id shared by exactly the ranges with the same sequence of segment
     * kinds and the same links between their segments (the links of each segment from the segments before
     * it within the range). Ids are hash-consed: the shape of [i, j) is the pair (shape of [i, j - 1), what
     * segment j - 1 adds at distance j - 1 - i from the start), so two ranges share an id exactly when their
     * parts are equal position by position. O(1) once known; O(j - i) the first time for a start i.
     */
    int shape(int i, int j) {
        int[] row = shapes[i];
        int known = row[j - i - 1];
        if (known != 0) {
            return known;
        }
        // extend from the longest range from i known so far
        int at = j - i - 1;
        while (at > 0 && row[at - 1] == 0) {
            at--;
        }
        int prev = at == 0 ? 0 : row[at - 1];
        for (int g = i + at; g < j; g++) {
            long pair = ((long) prev << 32) | (part(g, g - i) & 0xffffffffL);
            Integer id = shapeIds.get(pair);
            if (id == null) {
                id = shapeIds.size() + 1;
                shapeIds.put(pair, id);
            }
            prev = id;
            row[g - i] = prev;
        }
        return prev;
    }

    /**
     * What segment g adds to the shape of a range starting {@code d} segments before it: its kind and its
     * links from segments at most {@code d} back, in link order (the same id for every d past its
     * farthest link). O(links of g) the first time.
     */
    private int part(int g, int d) {
        int[] row = parts[g];
        int at = Math.min(d, row.length - 1);
        if (row[at] != 0) {
            return row[at];
        }
        List<int[]> in = incoming.get(g);
        int count = 1;
        for (int[] l : in) {
            if (l[0] <= d) {
                count += l.length;
            }
        }
        int[] v = new int[count];
        v[0] = kind[g];
        int c = 1;
        for (int[] l : in) {
            if (l[0] <= d) {
                System.arraycopy(l, 0, v, c, l.length);
                c += l.length;
            }
        }
        int id = partIds.computeIfAbsent(new Key(v), x -> partIds.size() + 1);
        row[at] = id;
        return id;
    }

    private double send(int j, int s) {
        return s == stages - 1 ? 0 : sendSeconds[j];
    }

    /** Whether the least memory of every node of the range (each its own least) exceeds the limit at stage s. */
    private boolean overMemory(int i, int j, int s) {
        int c = copies(s);
        double[] pre = leastMemory[c];
        if (pre == null) {
            int n = b.units().size();
            pre = new double[n + 1];
            // the units of a class share their cost list: where every layout is allowed, its least is the class's
            Map<List<ProblemBuilder.Cost>, Double> whole = new IdentityHashMap<>();
            for (int x = 0; x < n; x++) {
                ProblemBuilder.Unit u = b.units().get(x);
                List<ProblemBuilder.Cost> costs = u.costs();
                int[] a = allowed[x];
                boolean all = a.length == costs.size();
                Double known = all ? whole.get(costs) : null;
                double least;
                if (known != null) {
                    least = known;
                } else {
                    least = Double.POSITIVE_INFINITY;
                    for (int l : a) {
                        ProblemBuilder.Cost y = costs.get(l);
                        least = Least.min(least, y.parameterBytes() + c * y.activationBytes());
                    }
                    if (all) {
                        whole.put(costs, least);
                    }
                }
                pre[x + 1] = pre[x] + least;
            }
            leastMemory[c] = pre;
        }
        return pre[pos[j]] - pre[pos[i]] > limit;
    }

    @Override
    public double lowerBound(int i, int j, int s) {
        if (overMemory(i, j, s)) {
            return Double.POSITIVE_INFINITY;
        }
        double nodes = leastTime[pos[j]] - leastTime[pos[i]];
        double[] seg = segmentBounds();
        return Math.max(nodes, seg[j] - seg[i]) / weight + send(j, s);
    }

    /**
     * Prefix sums over the segments of each segment's own solve without the limit, a lower bound on the
     * objective of any range by superadditivity: the optimum of a range, restricted to one of its
     * segments, is an assignment of that segment's own problem (its ties are among the range's when every
     * block class's instances offer the same candidates position by position, so that tying inside a
     * range never depends on which instances it holds), and costs are not negative, so a range's objective
     * is at least the sum of its segments' optima. Where the candidates differ between instances, or a
     * segment has no solution, the nodes' least times (0 here). One solve per distinct segment shape.
     */
    private double[] segmentBounds() {
        if (segmentBounds != null) {
            return segmentBounds;
        }
        int k = pos.length - 1;
        double[] r = new double[k + 1];
        if (uniformTying) {
            for (int g = 0; g < k; g++) {
                Free f = free(g, g + 1);
                r[g + 1] = r[g] + (f == null ? 0 : f.objective());
            }
        }
        segmentBounds = r;
        return r;
    }

    private double[] segmentBounds;

    /**
     * How many distinct solves the first lower bound asked for would run from here, in
     * {@link #segmentBounds} (one per segment shape not solved yet), counted up to {@code atMost + 1}: 0
     * where those are known or not used, or where every range {@link StagePartition#solve} takes a lower
     * bound of is over its memory (no lower bound then needs them). No solve is run. O(P K^2 + K).
     */
    int segmentSolves(int atMost) {
        if (segmentBounds != null || !uniformTying) {
            return 0;
        }
        int k = pos.length - 1;
        boolean asked = false;
        // the ranges StagePartition.solve takes the lower bounds of, in its order, up to the first within memory
        for (int s = 0; s < stages && !asked; s++) {
            for (int i = s; i < k && !asked; i++) {
                for (int j = i + 1; j <= k - (stages - 1 - s) && !asked; j++) {
                    asked = !overMemory(i, j, s);
                }
            }
        }
        if (!asked) {
            return 0;
        }
        java.util.Set<Integer> fresh = new java.util.HashSet<>();
        for (int g = 0; g < k; g++) {
            int key = shape(g, g + 1);
            if (!free.containsKey(key) && fresh.add(key) && fresh.size() > atMost) {
                break;
            }
        }
        return fresh.size();
    }

    /** Whether the instances of every block class offer the same candidates at each position (see {@link #segmentBounds}). */
    private final boolean uniformTying;

    @Override
    public double cost(int i, int j, int s) {
        Optional<Solved> x = solved(i, j, s);
        if (x != null) {
            return x.isPresent() ? x.get().cost() + send(j, s) : Double.POSITIVE_INFINITY;
        }
        Free f = free(i, j);
        return f == null ? lowerBound(i, j, s) : f.objective() / weight + send(j, s);
    }

    @Override
    public boolean exact(int i, int j, int s) {
        return solved(i, j, s) != null;
    }

    @Override
    public void refine(int i, int j, int s) {
        if (exact(i, j, s)) {
            return;
        }
        if (!timeLeft.getAsBoolean()) {
            throw new OutOfTime();
        }
        ProblemBuilder.Repeat r = new ProblemBuilder.Repeat(weight, copies(s));
        Optional<int[]> ch = limited.solve(pos[i], pos[j], r);
        solves++;
        limitedSolves.put(limitedKey(i, j, s),
                ch.map(c -> new Solved(objective(pos[i], pos[j], c) / weight, c.clone())));
        solvedRanges.put(limitedKey(i, j, s), new int[] {pos[i], pos[j]});
    }

    /**
     * The node range {@code {from, to}} whose solve with the limit ({@link #refine}) answers stage s over
     * segments [i, j): the range of the same shape solved with the micro-batches stage s holds, whose stage
     * problem is the same, so that its answer is this range's too (range-relative layouts); null where the
     * range's answer is not such a solve (over its memory, its solve without the limit fits, or not known).
     * O(1) once the shape is known.
     */
    int[] solvedBy(int i, int j, int s) {
        if (overMemory(i, j, s)) {
            return null;
        }
        int[] r = solvedRanges.get(limitedKey(i, j, s));
        return r == null ? null : r.clone();
    }

    /**
     * How many distinct solves the {@link #cost} look-ups of these ranges ({@code {stage, from, to}}) would
     * run from here: a range costs a solve when it is not over its memory, its solve with the limit is not
     * known and its shape's solve without it not run; counted up to {@code atMost + 1}. No solve is run.
     * O(ranges) once the shapes are known.
     */
    int newSolves(List<int[]> ranges, int atMost) {
        return freshShapes(ranges, atMost).size();
    }

    /**
     * The shapes whose solve without the limit the look-ups of these ranges would run ({@link #newSolves}), each
     * with the segments {@code {i, j}} of its first range, in order; up to {@code atMost + 1} of them.
     */
    private Map<Integer, int[]> freshShapes(List<int[]> ranges, int atMost) {
        Map<Integer, int[]> fresh = new java.util.LinkedHashMap<>();
        for (int[] r : ranges) {
            int s = r[0];
            int i = r[1];
            int j = r[2];
            if (overMemory(i, j, s) || limitedSolves.containsKey(limitedKey(i, j, s))) {
                continue;
            }
            int k = shape(i, j);
            if (!free.containsKey(k) && fresh.putIfAbsent(k, new int[] {i, j}) == null && fresh.size() > atMost) {
                break;
            }
        }
        return fresh;
    }

    /**
     * The distinct solves allowed in all ({@code Integer.MAX_VALUE}: no limit besides {@code timeLeft}):
     * {@link #willCost} stops the partition at once where the ranges it is about to cost need more than
     * are left, as their look-ups would stop it at the budget.
     */
    int budget = Integer.MAX_VALUE;

    /** Whether {@link #willCost} stopped the partition. */
    boolean stoppedAtBudget;

    @Override
    public void willCost(List<int[]> ranges) {
        if (budget != Integer.MAX_VALUE) {
            int left = budget - solves;
            if (newSolves(ranges, left) > left) {
                stoppedAtBudget = true;
                throw new OutOfTime();
            }
        }
        if (interpolate) {
            prefetch(ranges);
        }
    }

    /** A range whose solve without the limit {@link #prefetch} answers: its shape, segments and tied problem. */
    private record Member(int shape, int i, int j, StageProblem tp) {
    }

    /**
     * The solves without the limit that the look-ups of {@code ranges} would run (see {@link #newSolves}), run here
     * or answered without a dynamic program. Ranges whose tied problems have the same structure (nodes, candidates,
     * labels, links; {@link #structure}) form a family, ordered by their segment count t (on a chain of repeated
     * layers: the ranges of t layers from one kind of start to one kind of end). Where two members t1 &lt; t2 have
     * the same optimal tied assignment x and every cost of each member between them is the linear interpolation in
     * t of theirs ({@link #affine}), x is optimal for those members too: each assignment's objective is then affine
     * in t, so the least over assignments, {@code g(t)}, is concave, and {@code g(t) >= ((t2 - t) g(t1) + (t - t1)
     * g(t2)) / (t2 - t1)}, which is x's objective at t. Each family is bisected: its two ends solved, the members
     * between answered by their assignment where they agree, else the middle one solved and each half done alike:
     * O(d log n) dynamic programs for n members and d distinct optima rather than n. The answers are those of the
     * look-ups (each member's own layouts, objective and bytes from x on its own range); the solves answered count
     * as run ({@link #solves}). O(members' problem sizes) besides the solves; about {@link #PREFETCH_CELLS} cost
     * entries of problems held at once.
     */
    private void prefetch(List<int[]> ranges) {
        Map<Integer, int[]> fresh = freshShapes(ranges, Integer.MAX_VALUE);
        if (fresh.size() < 3) {
            return; // nothing to answer between two solves
        }
        // the members' problems are held while their family is bisected: at most PREFETCH_CELLS cost entries at a
        // time (families formed within each batch), so that a graph of many distinct ranges (one per range without
        // repeated layers, O(K^2) problems of O(K) nodes each) does not hold them all
        Map<List<Object>, java.util.TreeMap<Integer, List<Member>>> families = new java.util.LinkedHashMap<>();
        long held = 0;
        for (Map.Entry<Integer, int[]> e : fresh.entrySet()) {
            int i = e.getValue()[0];
            int j = e.getValue()[1];
            StageProblem tp = tiedProblem(pos[i], pos[j]);
            families.computeIfAbsent(structure(tp), x -> new java.util.TreeMap<>())
                    .computeIfAbsent(j - i, x -> new ArrayList<>()).add(new Member(e.getKey(), i, j, tp));
            for (Problem.Node nd : tp.problem().nodes()) {
                held += nd.strategies();
            }
            for (Problem.Edge ed : tp.problem().edges()) {
                held += (long) ed.rows() * ed.cols();
            }
            if (held > prefetchCells) {
                bisect(families);
                families.clear();
                held = 0;
            }
        }
        bisect(families);
    }

    /**
     * Cost entries of the members' problems {@link #prefetch} holds at once, at most (one problem beyond); GPT-1T's
     * largest call holds 6.4 million.
     */
    static final long PREFETCH_CELLS = 1L << 24;

    /** {@link #PREFETCH_CELLS} for this partition (tests make batches of one problem). */
    long prefetchCells = PREFETCH_CELLS;

    /** {@link #prefetch}'s answers for the families formed: each bisected by segment count. */
    private void bisect(Map<List<Object>, java.util.TreeMap<Integer, List<Member>>> families) {
        for (java.util.TreeMap<Integer, List<Member>> f : families.values()) {
            List<Member> row = new ArrayList<>();
            for (List<Member> same : f.values()) {
                if (same.size() == 1) {
                    row.add(same.get(0));
                } else {
                    for (Member x : same) {
                        solveMember(x); // members of one t with different costs: each on its own
                    }
                }
            }
            if (!row.isEmpty()) {
                bisect(row, 0, row.size() - 1);
            }
        }
    }

    /** {@link #prefetch}'s bisection of members {@code [a, b]} of a family, by segment count. */
    private void bisect(List<Member> row, int a, int b) {
        Free fa = solveMember(row.get(a));
        Free fb = solveMember(row.get(b));
        if (b - a <= 1) {
            return;
        }
        if (fa != null && fb != null && fa.tied() != null && fb.tied() != null && Arrays.equals(fa.tied(), fb.tied())) {
            boolean all = true;
            for (int x = a + 1; x < b && all; x++) {
                all = affine(row.get(a), row.get(x), row.get(b));
            }
            if (all) {
                for (int x = a + 1; x < b; x++) {
                    Member m = row.get(x);
                    if (!free.containsKey(m.shape())) {
                        free.put(m.shape(), freeOf(pos[m.i()], pos[m.j()], m.tp(), fa.tied()));
                        solves++;
                        interpolated++;
                    }
                }
                return;
            }
        }
        int mid = (a + b) >>> 1;
        bisect(row, a, mid);
        bisect(row, mid, b);
    }

    /** A member's solve without the limit, run where not known (as {@link #free} would). */
    private Free solveMember(Member m) {
        if (free.containsKey(m.shape())) {
            return free.get(m.shape());
        }
        if (!timeLeft.getAsBoolean()) {
            throw new OutOfTime();
        }
        return solveFree(m.shape(), pos[m.i()], pos[m.j()], m.tp());
    }

    /**
     * What a tied problem's dynamic program without the limit reads besides its costs: per node its candidates
     * (layout indices) and labels, per link its ends and table size. Problems equal in it have one space of
     * assignments. O(nodes + links).
     */
    private static List<Object> structure(StageProblem tp) {
        List<Object> r = new ArrayList<>();
        int[][] cand = tp.candidates();
        List<Problem.Node> nodes = tp.problem().nodes();
        for (int n = 0; n < nodes.size(); n++) {
            r.add(new Key(cand[n]));
            r.add(nodes.get(n).labels());
        }
        r.add(-1);
        for (Problem.Edge e : tp.problem().edges()) {
            r.add(new Key(new int[] {e.from(), e.to(), e.rows(), e.cols()}));
        }
        return r;
    }

    /**
     * Whether every node cost and link cost of member {@code x} is the linear interpolation, by segment count, of
     * members {@code a}'s and {@code b}'s (to a relative 1e-9, the rounding of sums of t equal terms; infinite costs
     * equal in all three). O(problem size).
     */
    private static boolean affine(Member a, Member x, Member b) {
        double w = (double) ((x.j() - x.i()) - (a.j() - a.i())) / ((b.j() - b.i()) - (a.j() - a.i()));
        List<double[]> ca = costs(a);
        List<double[]> cx = costs(x);
        List<double[]> cb = costs(b);
        for (int c = 0; c < ca.size(); c++) {
            if (!affine(ca.get(c), cx.get(c), cb.get(c), w)) {
                return false;
            }
        }
        return true;
    }

    /** A member's tied problem's cost arrays: its nodes' in order, then its links'. */
    private static List<double[]> costs(Member m) {
        List<double[]> r = new ArrayList<>();
        for (Problem.Node n : m.tp().problem().nodes()) {
            r.add(n.costs());
        }
        for (Problem.Edge e : m.tp().problem().edges()) {
            r.add(e.costsKey().v()); // read only: no copy
        }
        return r;
    }

    private static boolean affine(double[] a, double[] x, double[] b, double w) {
        for (int c = 0; c < a.length; c++) {
            if (Double.isInfinite(a[c]) || Double.isInfinite(b[c]) || Double.isInfinite(x[c])) {
                if (!(a[c] == x[c] && x[c] == b[c])) {
                    return false;
                }
                continue;
            }
            double expected = a[c] + w * (b[c] - a[c]);
            double scale = Least.max(Math.abs(a[c]), Least.max(Math.abs(b[c]), Math.abs(x[c])));
            if (!(Math.abs(x[c] - expected) <= 1e-9 * scale)) {
                return false;
            }
        }
        return true;
    }

    /** The layouts of the range (range-relative) when its cost is exact and finite. */
    Optional<int[]> choice(int i, int j, int s) {
        Optional<Solved> x = solved(i, j, s);
        if (x == null) {
            throw new IllegalStateException("stage " + s + " over segments " + i + ".." + j + " must be solved, found"
                    + " a lower bound");
        }
        return x.map(Solved::choice);
    }

    /** The key of a solve with the limit: the range's shape and the micro-batches held. */
    private long limitedKey(int i, int j, int s) {
        return ((long) shape(i, j) << 32) | copies(s);
    }

    /**
     * Whether {@link #exact} holds for the range with no solve run (its shape's solve without the limit
     * not yet known: false, where {@link #exact} would solve it). O(1) once the shape is known.
     */
    boolean known(int i, int j, int s) {
        if (overMemory(i, j, s) || limitedSolves.containsKey(limitedKey(i, j, s))) {
            return true;
        }
        int k = shape(i, j);
        if (!free.containsKey(k)) {
            return false;
        }
        return fitsAt(free.get(k), s);
    }

    /** Whether the solve without the limit {@code f} (null: none) fits stage s's limit with the micro-batches it holds. */
    private boolean fitsAt(Free f, int s) {
        return f != null && f.staticBytes() + copies(s) * f.activationBytes() <= limit;
    }

    /** The exact solve of the range at stage s when known: empty when it cannot fit; null when not known yet. */
    private Optional<Solved> solved(int i, int j, int s) {
        lookups++;
        if (overMemory(i, j, s)) {
            return Optional.empty();
        }
        Optional<Solved> x = limitedSolves.get(limitedKey(i, j, s));
        if (x != null) {
            return x;
        }
        Free f = free(i, j);
        if (fitsAt(f, s)) {
            return Optional.of(new Solved(f.objective() / weight, f.choice()));
        }
        return null;
    }

    /** The tied solve of the range without the memory limit (shared by every position); null when it has none. */
    private Free free(int i, int j) {
        int k = shape(i, j);
        if (free.containsKey(k)) {
            return free.get(k);
        }
        if (!timeLeft.getAsBoolean()) {
            throw new OutOfTime();
        }
        return solveFree(k, pos[i], pos[j], tiedProblem(pos[i], pos[j]));
    }

    /** The problem the search's stage solve builds for nodes [from, to) (StageProblem with the limit, solved without it). */
    private StageProblem tiedProblem(int from, int to) {
        return StageProblem.of(b, from, to, new ProblemBuilder.Repeat(weight, 1), filter, OptionalDouble.of(limit), true);
    }

    /** The tied solve without the limit of nodes [from, to), whose tied problem is {@code tp}, kept as shape k's. */
    private Free solveFree(int k, int from, int to, StageProblem tp) {
        Problem tiedFree = tp.problem().withMemoryLimit(OptionalDouble.empty());
        Solution td = unlimited != null ? unlimited.apply(tiedFree)
                : new DpSolver().solve(tiedFree, Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
        solves++;
        Free r = null;
        if (td.hasChoices()) {
            r = freeOf(from, to, tp, td.choices());
            if (td.status() != org.shardplan.planner.solver.Status.OPTIMAL) {
                r = new Free(r.objective(), r.choice(), r.staticBytes(), r.activationBytes(), null);
            }
        }
        free.put(k, r);
        return r;
    }

    /** The answer of nodes [from, to) under the tied assignment {@code tied} of its tied problem {@code tp}. */
    private Free freeOf(int from, int to, StageProblem tp, int[] tied) {
        int[] ch = tp.expand(tied);
        double stat = 0;
        double act = 0;
        for (int x = 0; x < ch.length; x++) {
            ProblemBuilder.Cost c = b.units().get(from + x).costs().get(ch[x]);
            stat += c.parameterBytes();
            act += c.activationBytes();
        }
        return new Free(objective(from, to, ch), ch, stat, act, tied.clone());
    }

    /**
     * The stage objective of layouts {@code ch} on nodes [from, to): each node's micro-batch work times
     * the weight plus its gradient reduction, and the resharding between nodes of the range times the weight.
     */
    private double objective(int from, int to, int[] ch) {
        double total = 0;
        for (int x = from; x < to; x++) {
            ProblemBuilder.Cost c = b.units().get(x).costs().get(ch[x - from]);
            total += weight * (c.microComputeSeconds() + c.microCommunicationSeconds()) + c.gradientSeconds();
        }
        for (ProblemBuilder.Link l : b.links()) {
            if (l.from() >= from && l.from() < to && l.to() >= from && l.to() < to) {
                int cols = b.units().get(l.to()).layouts().size();
                total += weight * l.seconds()[ch[l.from() - from] * cols + ch[l.to() - from]];
            }
        }
        return total;
    }
}
