package org.shardplan.planner.build;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.comm.Collective;
import org.shardplan.cost.compute.Backward;
import org.shardplan.graph.Value;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.planner.strategy.Collectives;
import org.shardplan.planner.strategy.Layout;

/**
 * Resharding prices kept by what they depend on, for the builders of one cluster (every micro-batch size
 * and memory setting of a search on one submesh). An edge's matrix entry depends on the tensor's bytes
 * and on two <em>sides</em>: the producer's placement of the tensor under its layout (the digits that
 * index each axis, the digits its partial sums are reduce-scattered over, and the placements those give
 * it) and the consumer's (its placement, the variants its epilogue may scatter, the digits it
 * reduce-scatters the gradient over and the placements those give). Sides are interned by content; for
 * each pair of sides the placement arithmetic ({@link ProblemBuilder#holds}, the local fraction of
 * {@link ProblemBuilder#localFraction}, whether the transfer crosses nodes, the block's divisor) is done
 * once and kept, free of the tensor's size, and an edge's entries are then the alpha-beta times of those
 * fractions of its bytes, computed with the same operations as the direct path ({@link
 * ProblemBuilder#edgeCost(ProblemBuilder.Unit, ProblemBuilder.Unit, Value)}), so the numbers are the
 * same to the bit. Whole matrices are kept too, by their rows' and columns' sides, the bytes and whether
 * a gradient flows back: edges between different classes of nodes that place the tensor alike (the
 * many layers of a densely connected block, each of its own shape) take one matrix.
 *
 * <p>Without the memo an edge of {@code R x C} candidates with {@code r x c} distinct placements costs
 * O(R + C) to place plus O(r · c · digits) of placement arithmetic; with it, O((R + C) · digits) to
 * intern the sides plus O(r · c) look-ups and evaluations, the arithmetic done once per distinct pair
 * of sides over the whole search. Safe for the parallel pricing of {@link ProblemBuilder#build}.
 */
public final class Reshards {
    private Cluster cluster;
    private final Map<Side, Side> sides = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger();
    private final AtomicInteger pairs = new AtomicInteger();
    private final Map<MatrixKey, double[][]> matrices = new ConcurrentHashMap<>();
    /** The distinct pair plans and transfers, each kept once ({@link #internPlan}). */
    private final Map<PairPlan, PairPlan> plans = new ConcurrentHashMap<>();
    private final Map<Transfer, Transfer> transfers = new ConcurrentHashMap<>();

    /** An empty memo; the first builder that uses it fixes its cluster. */
    public Reshards() {
    }

    /** Checks that a builder of this cluster may use the memo: every builder must be of the same cluster. */
    synchronized void claim(Cluster c) {
        if (cluster == null) {
            cluster = c;
        } else if (!cluster.equals(c)) {
            throw new IllegalArgumentException("shared resharding prices must come from builders of one cluster, found "
                    + c.name() + " after " + cluster.name());
        }
    }

    /** Distinct sides interned so far. */
    public int sides() {
        return sides.size();
    }

    /** Distinct pairs of sides priced so far. */
    public int pairs() {
        return pairs.get();
    }

    /** Distinct plans of pairs of sides kept so far (pairs whose placement arithmetic agrees share one). */
    public int plans() {
        return plans.size();
    }

    /** Distinct matrices kept so far. */
    public int matrices() {
        return matrices.size();
    }

    /**
     * The resharding matrix {seconds, bytes} (row-major, producer candidate by consumer candidate) of tensor
     * {@code v} from unit {@code p} to unit {@code c}, equal to {@code b.edgeCost(p, c, v)}.
     */
    double[][] matrix(ProblemBuilder b, ProblemBuilder.Unit p, ProblemBuilder.Unit c, Value v) {
        int rows = p.layouts().size();
        int cols = c.layouts().size();
        double full = v.type().byteSize().orElse(0);
        if (!(full > 0)) {
            return new double[][] {new double[rows * cols], new double[rows * cols]};
        }
        boolean grad = Backward.needsGrad(v);
        Optional<TensorIndexing> pt = p.space().flatMap(s -> s.tensor(v.name()));
        Optional<TensorIndexing> ct = c.space().flatMap(s -> s.tensor(v.name()));
        Side[] row = new Side[rows];
        for (int r = 0; r < rows; r++) {
            row[r] = intern(producerSide(b, p, pt, p.layouts().get(r)));
        }
        Side[] col = new Side[cols];
        for (int k = 0; k < cols; k++) {
            col[k] = intern(consumerSide(b, c, ct, c.layouts().get(k), grad));
        }
        MatrixKey key = new MatrixKey(ids(row), ids(col), Double.doubleToLongBits(full), grad);
        double[][] kept = matrices.get(key);
        if (kept != null) {
            return kept;
        }
        // the distinct sides of this edge's rows and columns, each pair priced once
        List<Side> rowSides = new ArrayList<>();
        int[] rc = classes(row, rowSides);
        List<Side> colSides = new ArrayList<>();
        int[] cc = classes(col, colSides);
        int nc = colSides.size();
        double[] ps = new double[rowSides.size() * nc];
        double[] pb = new double[ps.length];
        Collectives coll = b.collectives();
        for (int i = 0; i < rowSides.size(); i++) {
            Side rs = rowSides.get(i);
            for (int j = 0; j < nc; j++) {
                Side cs = colSides.get(j);
                PairPlan plan = rs.pair(cs.id);
                if (plan == null) {
                    PairPlan made = internPlan(PairPlan.of(b, rs, cs, this::internTransfer));
                    plan = rs.keep(cs.id, made);
                    if (plan == made) {
                        pairs.incrementAndGet();
                    }
                }
                plan.price(coll, rs, cs, full, grad, ps, pb, i * nc + j);
            }
        }
        double[] sec = new double[rows * cols];
        double[] byt = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            int base = rc[r] * nc;
            for (int k = 0; k < cols; k++) {
                sec[r * cols + k] = ps[base + cc[k]];
                byt[r * cols + k] = pb[base + cc[k]];
            }
        }
        double[][] m = new double[][] {sec, byt};
        double[][] first = matrices.putIfAbsent(key, m);
        return first != null ? first : m;
    }

    /**
     * Each side's index among the distinct sides (by identity) in order of first appearance, which are added
     * to {@code distinct}. O(sides).
     */
    private static int[] classes(Side[] sides, List<Side> distinct) {
        Map<Side, Integer> index = new IdentityHashMap<>();
        int[] r = new int[sides.length];
        for (int i = 0; i < sides.length; i++) {
            r[i] = index.computeIfAbsent(sides[i], y -> {
                distinct.add(y);
                return distinct.size() - 1;
            });
        }
        return r;
    }

    private static int[] ids(Side[] s) {
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            r[i] = s[i].id;
        }
        return r;
    }

    /**
     * The plan kept that equals {@code p}, else {@code p}, kept: the pairs of sides are many (hundreds of thousands on
     * a search of a 100-layer decoder) and their plans few, and each kept plan is an object the collector traces
     * through the whole search.
     */
    private PairPlan internPlan(PairPlan p) {
        return keptOnce(plans, p);
    }

    /** The transfer kept that equals {@code t}, else {@code t}, kept (as {@link #internPlan}). */
    private Transfer internTransfer(Transfer t) {
        return keptOnce(transfers, t);
    }

    /** The value of {@code kept} equal to {@code x}, else {@code x}, added to it. */
    private static <T> T keptOnce(Map<T, T> kept, T x) {
        T before = kept.putIfAbsent(x, x);
        return before != null ? before : x;
    }

    private Side intern(Side s) {
        return sides.computeIfAbsent(s, x -> {
            x.id = nextId.getAndIncrement();
            return x;
        });
    }

    /** The producer's side under one layout: its placement, partial-sum digits and the placements they give. */
    private static Side producerSide(ProblemBuilder b, ProblemBuilder.Unit p, Optional<TensorIndexing> pt, Layout pl) {
        int[][] have = pt.isPresent() ? pl.tensorDigits(pt.get()) : new int[0][];
        int[] scattered = pt.isPresent() ? ProblemBuilder.partialDigits(p.space().get(), pt.get(), pl) : new int[0];
        List<int[][]> variants = scattered.length > 0 ? b.withDigits(have, scattered, pt.get()) : List.of();
        return new Side(have, scattered, variants, List.of(), b.digitProduct(have));
    }

    /**
     * The consumer's side under one layout: its placement with its epilogue variants (the needs), and the
     * digits it reduce-scatters the gradient over with the placements they give.
     */
    private static Side consumerSide(ProblemBuilder b, ProblemBuilder.Unit c, Optional<TensorIndexing> ct, Layout cl,
            boolean grad) {
        int[][] need = ct.isPresent() ? cl.tensorDigits(ct.get()) : new int[0][];
        int[] epilogue = new int[0];
        int[] gradScattered = new int[0];
        if (ct.isPresent() && !cl.strategy().isReplicated()) {
            IterationSpace sp = c.space().get();
            Strategy s = cl.strategy();
            if (ct.get().epilogue() && !sp.partialOutputs(s).isEmpty()) {
                epilogue = cl.digitsOf(ProblemBuilder.splitReductions(sp, s));
            }
            if (grad && !ct.get().isParameter()) {
                gradScattered = cl.digitsOf(sp.replicatedOver(ct.get(), s));
            }
        }
        List<int[][]> needs = new ArrayList<>();
        needs.add(need);
        if (epilogue.length > 0) {
            needs.addAll(b.withDigits(need, epilogue, ct.get()));
        }
        List<int[][]> variants = gradScattered.length > 0 ? b.withDigits(need, gradScattered, ct.get()) : List.of();
        return new Side(need, gradScattered, variants, needs, b.digitProduct(need));
    }

    /**
     * One side of an edge under one layout: {@code placement} (per tensor axis, its digits), {@code
     * scattered} (a producer's partial-sum digits, a consumer's gradient reduce-scatter digits), {@code
     * variants} (the placements with those digits added to one axis), {@code needs} (a consumer's
     * placement and its epilogue variants; empty for a producer), {@code product} (the devices the
     * placement splits the tensor over). Equal by content.
     */
    static final class Side {
        final int[][] placement;
        final int[] scattered;
        final List<int[][]> variants;
        final List<int[][]> needs;
        final double product;
        private final int[] code;
        private final int hash;
        int id;
        /**
         * The pairs with this side as the producer's, by the consumer side's id (ids are dense): read without
         * a lock (a plan's fields are final, so a plan read is whole; one not yet seen is looked for again
         * under the lock), written under this side's lock, the array grown there.
         */
        private volatile PairPlan[] asRow = new PairPlan[8];

        /** The plan of the pair with the consumer side of this id, or null when none is kept (yet). */
        PairPlan pair(int id) {
            PairPlan[] a = asRow;
            return id < a.length ? a[id] : null;
        }

        /** Keeps {@code made} for the consumer side of this id unless a plan is kept already; the plan kept. */
        synchronized PairPlan keep(int id, PairPlan made) {
            PairPlan[] a = asRow;
            if (id >= a.length) {
                a = Arrays.copyOf(a, Math.max(2 * a.length, id + 1));
            }
            if (a[id] == null) {
                a[id] = made;
            }
            asRow = a; // a volatile write after the element's: readers of the new array see it
            return a[id];
        }

        Side(int[][] placement, int[] scattered, List<int[][]> variants, List<int[][]> needs, double product) {
            this.placement = placement;
            this.scattered = scattered;
            this.variants = variants;
            this.needs = needs;
            this.product = product;
            Code c = new Code();
            c.add(placement);
            c.add(scattered);
            c.add(variants);
            c.add(needs);
            this.code = c.done();
            this.hash = Arrays.hashCode(code);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Side s && s.hash == hash && Arrays.equals(s.code, code);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** A side's content as one array of ints: each part's length, then its values. */
    private static final class Code {
        private int[] a = new int[32];
        private int n;

        private void put(int x) {
            if (n == a.length) {
                a = Arrays.copyOf(a, 2 * n);
            }
            a[n++] = x;
        }

        void add(int[] x) {
            put(x.length);
            for (int y : x) {
                put(y);
            }
        }

        void add(int[][] x) {
            put(x.length);
            for (int[] y : x) {
                add(y);
            }
        }

        void add(List<int[][]> x) {
            put(x.size());
            for (int[][] y : x) {
                add(y);
            }
        }

        int[] done() {
            return Arrays.copyOf(a, n);
        }
    }

    /** Rows' sides, columns' sides, the tensor's bytes (bits) and whether its gradient flows back. */
    private record MatrixKey(int[] rows, int[] cols, long fullBits, boolean grad) {
        @Override
        public boolean equals(Object o) {
            return o instanceof MatrixKey k && k.fullBits == fullBits && k.grad == grad && Arrays.equals(k.rows, rows)
                    && Arrays.equals(k.cols, cols);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(rows) + Arrays.hashCode(cols)) + Long.hashCode(fullBits) + (grad ? 1 : 0);
        }
    }

    /**
     * One block transfer, free of the tensor's size: none ({@code free}), or the fraction {@code local} of
     * the needed block already held, whether it crosses nodes, and the devices the needed block is one
     * part of ({@code product}).
     */
    private record Transfer(boolean free, double local, boolean crossing, double product) {
        static final Transfer FREE = new Transfer(true, 1, false, 1);

        /** {@link ProblemBuilder#transfer}'s arithmetic up to the bytes. */
        static Transfer of(ProblemBuilder b, int[][] need, int[][] have) {
            if (ProblemBuilder.holds(need, have)) {
                return FREE;
            }
            boolean[] crossing = new boolean[1];
            double local = b.localFraction(need, have, crossing);
            if (local >= 1) {
                return FREE;
            }
            return new Transfer(false, local, crossing[0], b.digitProduct(need));
        }
    }

    /**
     * The placement arithmetic of one pair of sides: whether the forward resharding is free (the
     * producer's scattered sums land where the consumer needs them), the transfer of each of the
     * consumer's needs, whether the backward is free (the consumer's scattered gradient lands where the
     * producer holds the tensor) and the gradient's transfer. See {@link ProblemBuilder#forward} and
     * {@link ProblemBuilder#gathered}.
     */
    private record PairPlan(boolean forwardFree, Transfer[] forward, boolean backwardFree, Transfer backward) {
        /** The plan of a pair of sides, each transfer passed through {@code kept} (the memo's one of equal content). */
        static PairPlan of(ProblemBuilder b, Side row, Side col, java.util.function.UnaryOperator<Transfer> kept) {
            boolean ff = false;
            for (int[][] h : row.variants) {
                for (int[][] n : col.needs) {
                    ff |= ProblemBuilder.holds(n, h);
                }
            }
            Transfer[] f = new Transfer[col.needs.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = kept.apply(Transfer.of(b, col.needs.get(i), row.placement));
            }
            boolean bf = false;
            if (col.scattered.length > 0) {
                for (int[][] n : col.variants) {
                    bf |= ProblemBuilder.holds(row.placement, n);
                }
            }
            return new PairPlan(ff, f, bf, kept.apply(Transfer.of(b, row.placement, col.placement)));
        }

        /** Equal by content, the forward transfers element by element. */
        @Override
        public boolean equals(Object o) {
            return o instanceof PairPlan p && p.forwardFree == forwardFree && p.backwardFree == backwardFree
                    && p.backward.equals(backward) && Arrays.equals(p.forward, forward);
        }

        @Override
        public int hashCode() {
            return (31 * Arrays.hashCode(forward) + backward.hashCode()) * 4 + (forwardFree ? 2 : 0) + (backwardFree ? 1 : 0);
        }

        /** Writes the pair's seconds and bytes for a tensor of {@code full} bytes at {@code at}. */
        void price(Collectives coll, Side row, Side col, double full, boolean grad, double[] sec, double[] bytes, int at) {
            double fb;
            double fs;
            if (forwardFree) {
                fb = 0;
                fs = 0;
            } else {
                fb = 0;
                fs = 0;
                boolean found = false;
                for (Transfer t : forward) {
                    double b0 = 0;
                    double s0 = 0;
                    if (!t.free()) {
                        double needBlock = full / t.product();
                        b0 = needBlock * (1 - t.local());
                        s0 = coll.transferSeconds(b0, t.crossing());
                    }
                    if (!found || s0 < fs) {
                        fb = b0;
                        fs = s0;
                        found = true;
                    }
                }
                if (row.scattered.length > 0) {
                    double block = full / row.product;
                    fb = fb + coll.bytesMoved(Collective.ALL_GATHER, row.scattered, block);
                    fs = fs + coll.seconds(Collective.ALL_GATHER, row.scattered, block);
                }
            }
            double s = fs;
            double b = fb;
            if (grad) {
                double gb;
                double gs;
                if (col.scattered.length > 0 && backwardFree) {
                    gb = 0;
                    gs = 0;
                } else {
                    gb = 0;
                    gs = 0;
                    if (!backward.free()) {
                        double needBlock = full / backward.product();
                        gb = needBlock * (1 - backward.local());
                        gs = coll.transferSeconds(gb, backward.crossing());
                    }
                    if (col.scattered.length > 0) {
                        double block = full / col.product;
                        gb = gb + coll.bytesMoved(Collective.ALL_GATHER, col.scattered, block);
                        gs = gs + coll.seconds(Collective.ALL_GATHER, col.scattered, block);
                    }
                }
                s += gs;
                b += gb;
            }
            sec[at] = s;
            bytes[at] = b;
        }
    }
}
