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
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * The stage costs of the exact partition as {@link ExactPartition} computed them before its range shapes
 * became hash-consed ids and its least memory came from the allowed candidates: range keys as int arrays
 * built per range, the least memory per copies through the filter. Kept as the reference the faster
 * oracle must answer exactly like ({@code ExactPartitionFastTest}).
 */
final class ExactPartitionReference implements StagePartition.StageCosts {

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

    /** The solve without the limit: weighted objective, layouts, parameter and activation bytes per device. */
    private record Free(double objective, int[] choice, double staticBytes, double activationBytes) {
    }

    /** Int-array content as a map key. */
    record Key(int[] v) {
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
    private final Map<Integer, double[]> leastMemory = new HashMap<>();
    private final Map<Key, Free> free = new HashMap<>();
    private final Map<Key, Optional<Solved>> limitedSolves = new HashMap<>();
    private final Map<Long, Key> keys = new HashMap<>();
    /** Distinct solves run (with and without the limit), and cost look-ups answered. */
    int solves;
    int lookups;

    /**
     * @param pos the segment boundaries: 0, the cut positions, the node count
     * @param sendSecondsAtNode per node index c, the time to send one micro-batch's tensors produced before
     *     c and used at or after it (what a stage ending at c sends), one way
     * @param limited the search's stage solve with the memory limit
     */
    ExactPartitionReference(ProblemBuilder.Built b, StageProblem.Filter filter, List<Integer> pos, int stages, int m,
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
                    least = Math.min(least, weight * (x.microComputeSeconds() + x.microCommunicationSeconds())
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
        List<List<Integer>> inside = new ArrayList<>();
        for (int g = 0; g < k; g++) {
            inside.add(new ArrayList<>());
            incoming.add(new ArrayList<>());
        }
        for (ProblemBuilder.Link l : b.links()) {
            int sid = seconds.computeIfAbsent(new DoublesKey(l.seconds()), d -> seconds.size());
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

    /** The shape of segments [i, j): their kinds and the links between them. */
    Key key(int i, int j) {
        return keys.computeIfAbsent((long) i * (pos.length + 1) + j, x -> {
            List<Integer> v = new ArrayList<>();
            for (int g = i; g < j; g++) {
                v.add(kind[g]);
                for (int[] l : incoming.get(g)) {
                    if (g - l[0] >= i) {
                        for (int y : l) {
                            v.add(y);
                        }
                    }
                }
                v.add(-1);
            }
            return new Key(v.stream().mapToInt(Integer::intValue).toArray());
        });
    }

    private double send(int j, int s) {
        return s == stages - 1 ? 0 : sendSeconds[j];
    }

    /** Whether the least memory of every node of the range (each its own least) exceeds the limit at stage s. */
    private boolean overMemory(int i, int j, int s) {
        int c = copies(s);
        double[] pre = leastMemory.computeIfAbsent(c, cc -> {
            int n = b.units().size();
            double[] r = new double[n + 1];
            for (int x = 0; x < n; x++) {
                ProblemBuilder.Unit u = b.units().get(x);
                double least = Double.POSITIVE_INFINITY;
                for (int l = 0; l < u.layouts().size(); l++) {
                    if (filter.allows(u, l)) {
                        ProblemBuilder.Cost y = u.costs().get(l);
                        least = Math.min(least, y.parameterBytes() + cc * y.activationBytes());
                    }
                }
                r[x + 1] = r[x] + least;
            }
            return r;
        });
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
        java.util.Set<Key> fresh = new java.util.HashSet<>();
        for (int g = 0; g < k; g++) {
            Key key = key(g, g + 1);
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
    }

    /**
     * How many distinct solves the {@link #cost} look-ups of these ranges ({@code {stage, from, to}}) would
     * run from here: a range costs a solve when it is not over its memory, its solve with the limit is not
     * known and its shape's solve without it not run; counted up to {@code atMost + 1}. No solve is run.
     * O(ranges · range length) for the keys.
     */
    int newSolves(List<int[]> ranges, int atMost) {
        java.util.Set<Key> fresh = new java.util.HashSet<>();
        for (int[] r : ranges) {
            int s = r[0];
            int i = r[1];
            int j = r[2];
            if (overMemory(i, j, s) || limitedSolves.containsKey(limitedKey(i, j, s))) {
                continue;
            }
            Key k = key(i, j);
            if (!free.containsKey(k) && fresh.add(k) && fresh.size() > atMost) {
                break;
            }
        }
        return fresh.size();
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
        if (budget == Integer.MAX_VALUE) {
            return;
        }
        int left = budget - solves;
        if (newSolves(ranges, left) > left) {
            stoppedAtBudget = true;
            throw new OutOfTime();
        }
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

    private Key limitedKey(int i, int j, int s) {
        int[] k = key(i, j).v();
        int[] v = Arrays.copyOf(k, k.length + 1);
        v[k.length] = copies(s);
        return new Key(v);
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
        if (f != null && f.staticBytes() + copies(s) * f.activationBytes() <= limit) {
            return Optional.of(new Solved(f.objective() / weight, f.choice()));
        }
        return null;
    }

    /** The tied solve of the range without the memory limit (shared by every position); null when it has none. */
    private Free free(int i, int j) {
        Key k = key(i, j);
        if (free.containsKey(k)) {
            return free.get(k);
        }
        if (!timeLeft.getAsBoolean()) {
            throw new OutOfTime();
        }
        int from = pos[i];
        int to = pos[j];
        // the problem the search's stage solve builds (StageProblem with the limit, solved without it)
        StageProblem tp = StageProblem.of(b, from, to, new ProblemBuilder.Repeat(weight, 1), filter,
                OptionalDouble.of(limit), true);
        Solution td = new DpSolver().solve(tp.problem().withMemoryLimit(OptionalDouble.empty()),
                Solver.Options.withTimeLimit(secondsLeft.getAsDouble()));
        solves++;
        Free r = null;
        if (td.hasChoices()) {
            int[] ch = tp.expand(td.choices());
            double stat = 0;
            double act = 0;
            for (int x = 0; x < ch.length; x++) {
                ProblemBuilder.Cost c = b.units().get(from + x).costs().get(ch[x]);
                stat += c.parameterBytes();
                act += c.activationBytes();
            }
            r = new Free(objective(from, to, ch), ch, stat, act);
        }
        free.put(k, r);
        return r;
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
