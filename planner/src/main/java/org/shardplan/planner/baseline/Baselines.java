package org.shardplan.planner.baseline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.Node;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * The hand-made plans shardplan compares with, each given as one {@link Layout} per node, so that they
 * are points of the same search space and are priced by the same cost model.
 *
 * <ul>
 * <li><b>data parallel</b>: every node splits its batch dimension ({@link BatchDims}) over as many
 *     devices as divide it; parameters are copied.
 * <li><b>megatron</b> (transformers; Shoeybi et al., 2019; Narayanan et al., SC'21): tensor parallelism
 *     of a degree t dividing the devices of a cluster node, inside the node, and data parallelism over
 *     the other devices ({@link #megatron}): QKV and first MLP layer column-parallel, attention split
 *     by heads, output projection and second MLP layer row-parallel, embedding and output layer split
 *     over the vocabulary, norms as t copies; <b>megatron-sp</b> the same with the norms split along
 *     the sequence (Korthikanti et al., 2022).
 * <li><b>one-weird-trick</b> (CNNs; Krizhevsky, 2014): data-parallel convolutions, then from the
 *     first fully connected layer on model parallelism: weight products split by all devices, the
 *     split carried through the operators that follow.
 * </ul>
 * Each runs in O(nodes · rank).
 */
public final class Baselines {
    private Baselines() {
    }

    /** Key of the data-parallel baseline in plans. */
    public static final String DATA_PARALLEL = "dataParallel";
    /** Key of the expert baseline in plans. */
    public static final String EXPERT = "expert";

    /**
     * A baseline: a name and a layout per node (nodes without one run replicated).
     *
     * @param name {@code data-parallel}, {@code megatron} or {@code one-weird-trick}
     * @param layouts layout per coarse node name
     */
    public record Baseline(String name, Map<String, Layout> layouts) {
        public Baseline {
            layouts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(layouts));
        }
    }

    /** The batch dimensions and iteration spaces of a coarse graph, which every baseline reads. */
    private record Analysed(CoarseGraph graph, long batch, Map<String, String> batchDims,
            List<Optional<IterationSpace>> spaces) {
    }

    /** The last graph analysed: the family layouts build several baselines of one graph in a row. */
    private static volatile Analysed last;

    private static Analysed analysed(CoarseGraph g, long batch) {
        Analysed a = last;
        if (a == null || a.graph() != g || a.batch() != batch) {
            a = new Analysed(g, batch, java.util.Collections.unmodifiableMap(BatchDims.of(g, batch)), CoarseSpaces.of(g));
            last = a;
        }
        return a;
    }

    /**
     * What the baselines of one graph at one batch size share across device sets: the graph's batch
     * dimensions and spaces (worked out once), each device set's baselines, and each device set's
     * placements of a strategy ({@link Layout#place} depends on the strategy, the placement order and the
     * devices alone, and the nodes of repeated blocks ask for the same ones). A search that asks for the
     * family layouts of one graph on several device counts (the stages' submeshes: 1,536, 768, 384, ...
     * devices) keeps one memo per graph. Not thread-safe.
     */
    public static final class Memo {
        private final CoarseGraph graph;
        private final long batch;
        private Analysed analysed;
        private final Map<DeviceDigits, List<Baseline>> baselines = new HashMap<>();
        private final Map<DeviceDigits, Map<List<Object>, Optional<Layout>>> places = new HashMap<>();
        private int analyses;

        /** An empty memo for the baselines of {@code graph} at {@code batch} samples. */
        public Memo(CoarseGraph graph, long batch) {
            this(graph, batch, null, null);
        }

        /**
         * An empty memo for the baselines of {@code graph} at {@code batch} samples that takes the nodes'
         * spaces ({@link CoarseSpaces#of}) and cost signatures ({@link ProblemBuilder#signature}) as a
         * builder of the same graph worked them out ({@link ProblemBuilder#spacesOf},
         * {@link ProblemBuilder#signaturesOf}); null: worked out here.
         *
         * @throws IllegalArgumentException if a list does not have one entry per node
         */
        public Memo(CoarseGraph graph, long batch, List<Optional<IterationSpace>> spaces, List<String> signatures) {
            this.graph = java.util.Objects.requireNonNull(graph, "graph");
            this.batch = batch;
            int n = graph.nodes().size();
            if ((spaces != null && spaces.size() != n) || (signatures != null && signatures.size() != n)) {
                throw new IllegalArgumentException("the spaces and signatures must have one entry per node of "
                        + graph.graph().name() + " (" + n + "), found " + (spaces == null ? "-" : spaces.size()) + " and "
                        + (signatures == null ? "-" : signatures.size()));
            }
            this.spaces = spaces;
            this.signatures = signatures;
        }

        private final List<Optional<IterationSpace>> spaces;
        private final List<String> signatures;

        /** Whether this is the memo of {@code g} (by identity) at {@code batch} samples. */
        public boolean isOf(CoarseGraph g, long batch) {
            return graph == g && this.batch == batch;
        }

        /** The device sets whose baselines were built so far (for tests). */
        public int deviceSets() {
            return baselines.size();
        }

        /** How many times the graph's batch dimensions and spaces were worked out: at most once (for tests). */
        public int analyses() {
            return analyses;
        }

        private Analysed analysed() {
            if (analysed == null) {
                List<Optional<IterationSpace>> sp = spaces != null ? spaces : CoarseSpaces.of(graph);
                analysed = new Analysed(graph, batch, java.util.Collections.unmodifiableMap(BatchDims.of(graph, batch, sp)),
                        sp);
                analyses++;
            }
            return analysed;
        }

        /**
         * Each node's class: nodes of one class have the same cost signature ({@link ProblemBuilder#signature}:
         * members' operators and types, loop dimensions, tensors' indexing) and the same anchor kind
         * (weight product, embedding), so that a baseline given the same batch dimension and the same
         * split inputs lays them out alike (the layers of a transformer, after the first).
         */
        private int[] classes() {
            if (classes == null) {
                List<Optional<IterationSpace>> spaces = analysed().spaces();
                Map<String, Integer> ids = new HashMap<>();
                int[] r = new int[graph.nodes().size()];
                for (CoarseNode n : graph.nodes()) {
                    String sig = signatures != null ? signatures.get(n.index()) : ProblemBuilder.signature(n, spaces.get(n.index()));
                    String key = sig + "|" + isLinear(n.anchor()) + "|" + isEmbedding(n.anchor());
                    r[n.index()] = ids.computeIfAbsent(key, k -> ids.size());
                }
                classes = r;
            }
            return classes;
        }

        private int[] classes;
    }

    /**
     * How one run of the baselines on one device set sees the graph and places layouts: from a {@link
     * Memo}, or (the public single baselines) from the last graph analysed, placing afresh.
     */
    private record Context(Analysed analysed, DeviceDigits dd, Map<List<Object>, Optional<Layout>> places, int[] classes) {
        static Context of(CoarseGraph g, long batch, DeviceDigits dd) {
            return new Context(Baselines.analysed(g, batch), dd, null, null);
        }

        static Context of(Memo memo, DeviceDigits dd) {
            return new Context(memo.analysed(), dd, memo.places.computeIfAbsent(dd, x -> new HashMap<>()), memo.classes());
        }

        /**
         * The key under which a baseline's decision for a node is kept for the nodes after it: its class
         * ({@link Memo#classes}) with what else the decision reads, {@code more}; null without a memo
         * (each node decided on its own).
         */
        List<Object> key(CoarseNode n, Object... more) {
            if (classes == null) {
                return null;
            }
            Object[] k = new Object[more.length + 1];
            k[0] = classes[n.index()];
            System.arraycopy(more, 0, k, 1, more.length);
            return java.util.Arrays.asList(k);
        }

        /**
         * The layout of a strategy placed in this order on these devices ({@link Layout#place}), empty when
         * the node's space does not divide by it or the devices cannot hold it; with a memo each strategy
         * and order is placed once.
         */
        Optional<Layout> place(IterationSpace sp, Strategy s, List<String> placement) {
            if (!sp.divides(s) || dd.devices() % s.devices() != 0) {
                return Optional.empty();
            }
            try {
                sp.check(s);
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            if (places == null) {
                return Layout.place(s, placement, dd);
            }
            // the factors in their order (a layout keeps its strategy's order, which its label shows)
            List<Object> key = List.of(new ArrayList<>(s.factors().entrySet()), List.copyOf(placement));
            Optional<Layout> l = places.get(key);
            if (l == null) {
                l = Layout.place(s, placement, dd);
                places.put(key, l);
            }
            return l;
        }
    }

    /** The data-parallel baseline. */
    public static Baseline dataParallel(CoarseGraph g, long batch, DeviceDigits dd) {
        return dataParallel(g, Context.of(g, batch, dd));
    }

    private static Baseline dataParallel(CoarseGraph g, Context cx) {
        Analysed an = cx.analysed();
        DeviceDigits dd = cx.dd();
        Map<String, String> bd = an.batchDims();
        List<Optional<IterationSpace>> spaces = an.spaces();
        Map<String, Layout> r = new LinkedHashMap<>();
        // a node's layout depends on its class and batch dimension alone: decided once per pair
        Map<List<Object>, Optional<Layout>> decided = new HashMap<>();
        for (CoarseNode n : g.nodes()) {
            org.shardplan.graph.Deadline.check("pricing the standard layouts (data parallelism, the expert's)");
            String dim = bd.get(n.name());
            Optional<IterationSpace> sp = spaces.get(n.index());
            if (dim == null || sp.isEmpty()) {
                continue;
            }
            List<Object> key = cx.key(n, dim);
            Optional<Layout> l = key == null ? null : decided.get(key);
            if (l == null) {
                int f = largestDivisor(sp.get(), dim, dd.devices());
                l = f > 1 ? cx.place(sp.get(), Strategy.of(dim, f), List.of(dim)) : Optional.empty();
                if (key != null) {
                    decided.put(key, l);
                }
            }
            l.ifPresent(x -> r.put(n.name(), x));
        }
        return new Baseline("data-parallel", r);
    }

    /**
     * The layouts of the standard families, per coarse node name, to be passed as required candidates
     * so that no cap on the candidates per node can drop them: data parallelism and every expert
     * baseline ({@link #experts}: Megatron and Megatron with sequence parallelism at each
     * tensor-parallel degree the model and the node size allow, each with data parallelism over the
     * other devices; one-weird-trick for CNNs), without repeats; then the same families on the devices
     * of {@code dd} without its top digit, and so on down to one device ({@link DeviceDigits#withoutTopDigit}),
     * copied over the digits above ({@link StrategySpace#copied}), so that every plan of the standard
     * families on fewer devices can also be chosen on more. O(digits · baselines · nodes · rank).
     */
    public static Map<String, List<Layout>> familyLayouts(CoarseGraph g, long batch, DeviceDigits dd) {
        return familyLayouts(g, batch, dd, new Memo(g, batch));
    }

    /**
     * {@link #familyLayouts(CoarseGraph, long, DeviceDigits)} with the graph's analysis, the baselines of
     * each device set and their placements kept in {@code memo} (the caller's, made for this graph and
     * batch): a search that asks for the family layouts on several device counts of one graph (the
     * stages' submeshes: 1,536, 768, 384, ... devices, whose chains of smaller sets overlap) analyses the
     * graph once and builds each set's baselines once. Each layout is copied over {@code dd} once however
     * many nodes share it. The same result as without the memo.
     *
     * @throws IllegalArgumentException if the memo was made for another graph or batch
     */
    public static Map<String, List<Layout>> familyLayouts(CoarseGraph g, long batch, DeviceDigits dd, Memo memo) {
        if (!memo.isOf(g, batch)) {
            throw new IllegalArgumentException("the baselines' memo must be of the graph " + g.graph().name()
                    + " at batch " + batch + ", found one of " + memo.graph.graph().name() + " at batch " + memo.batch);
        }
        Map<String, List<Layout>> r = new LinkedHashMap<>();
        Map<Layout, Layout> copies = new HashMap<>();
        for (Optional<DeviceDigits> sub = Optional.of(dd); sub.isPresent();
                sub = StrategySpace.copied() ? sub.get().withoutTopDigit() : Optional.empty()) {
            DeviceDigits at = sub.get();
            List<Baseline> all = memo.baselines.computeIfAbsent(at, x -> {
                Context cx = Context.of(memo, x);
                List<Baseline> bs = new ArrayList<>();
                bs.add(dataParallel(g, cx));
                bs.addAll(experts(g, cx));
                // kept: the layouts the nodes of repeated blocks share are held once
                Map<Layout, Layout> one = new HashMap<>();
                List<Baseline> kept = new ArrayList<>(bs.size());
                for (Baseline b : bs) {
                    Map<String, Layout> ls = new LinkedHashMap<>();
                    b.layouts().forEach((node, l) -> ls.put(node, one.computeIfAbsent(l, y -> y)));
                    kept.add(new Baseline(b.name(), ls));
                }
                return List.copyOf(kept);
            });
            for (Baseline b : all) {
                b.layouts().forEach((node, l) -> {
                    Layout c = copies.computeIfAbsent(l, x -> StrategySpace.copied(x, dd));
                    List<Layout> ls = r.computeIfAbsent(node, x -> new ArrayList<>());
                    if (!ls.contains(c)) {
                        ls.add(c);
                    }
                });
            }
        }
        return r;
    }

    /**
     * The expert baselines for this model: one-weird-trick when it has convolutions; when it has matrix
     * products with weights, Megatron at each tensor-parallel degree T that divides the devices of a
     * node (largest first) and to which the model lends itself ({@link #megatron}), each followed by its
     * sequence-parallel variant where that differs (the caller keeps the best, as an expert would tune
     * it); Megatron at T = 1 (data parallelism) when no degree fits; none otherwise.
     */
    public static List<Baseline> experts(CoarseGraph g, long batch, DeviceDigits dd) {
        return experts(g, Context.of(g, batch, dd));
    }

    private static List<Baseline> experts(CoarseGraph g, Context cx) {
        DeviceDigits dd = cx.dd();
        boolean conv = false;
        boolean linear = false;
        for (CoarseNode n : g.nodes()) {
            conv |= n.opType().equals("Conv");
            linear |= isLinear(n.anchor());
        }
        if (conv) {
            return List.of(oneWeirdTrick(g, cx));
        }
        List<Baseline> r = new ArrayList<>();
        if (linear) {
            for (int t = dd.devicesPerNode(); t >= 2; t--) {
                if (dd.devicesPerNode() % t != 0) {
                    continue;
                }
                Optional<Baseline> plain = megatron(g, cx, t, false);
                if (plain.isEmpty()) {
                    continue;
                }
                r.add(plain.get());
                megatron(g, cx, t, true).filter(sp -> !sp.layouts().equals(plain.get().layouts())).ifPresent(r::add);
            }
            if (r.isEmpty()) {
                megatron(g, cx, 1, false).ifPresent(r::add);
            }
        }
        return r;
    }

    /**
     * Megatron-LM's layout at tensor-parallel degree {@code t} (Shoeybi et al., 2019; Narayanan et al.,
     * SC'21, Section 3.2), with data parallelism over the other {@code devices / t} devices: the
     * tensor-parallel group is the {@code t} devices of the lowest digits (inside a node), the batch is
     * split over the rest. In graph order:
     * <ul>
     * <li>an operator reading a tensor that arrives split keeps that split: the axis' outermost
     *     dimension that is not {@link LoopKind#FIXED} is split by {@code t} (the fused QKV output
     *     through its {@code Split} into Q, K and V, the hidden size through the {@code Reshape} to
     *     heads, the heads through attention and back); a reduction dimension so split is the
     *     row-parallel product (output projection, second MLP layer), whose partial sums are
     *     all-reduced and whose outputs are whole again;
     * <li>a product with a weight whose input is whole is column-parallel: its output features split
     *     (QKV, first MLP layer, the output layer over the vocabulary);
     * <li>the token embedding (of the Gathers from a weight table by indices that carry the batch, the
     *     one with the largest table; not position or token-type embeddings, which stay whole) is
     *     vocabulary-parallel: its table's rows split, a reduction whose partial sums are all-reduced;
     * <li>everything else (norms, residual additions, dropout) runs as {@code t} copies inside the
     *     group, or with {@code sequenceParallel} (Korthikanti et al., 2022) split along the sequence:
     *     the axis after the batch axis of its output, when that output has rank 3 or more.
     * </ul>
     * Empty when the model does not lend itself to degree {@code t}: a split tensor arrives at an
     * operator that cannot keep it (the heads are not a multiple of {@code t}, say). Runs in
     * O(nodes · rank).
     *
     * @throws IllegalArgumentException unless {@code t} divides the devices of a node
     */
    public static Optional<Baseline> megatron(CoarseGraph g, long batch, DeviceDigits dd, int t, boolean sequenceParallel) {
        return megatron(g, Context.of(g, batch, dd), t, sequenceParallel);
    }

    private static Optional<Baseline> megatron(CoarseGraph g, Context cx, int t, boolean sequenceParallel) {
        DeviceDigits dd = cx.dd();
        if (t < 1 || dd.devicesPerNode() % t != 0) {
            throw new IllegalArgumentException("tensor-parallel degree must divide the " + dd.devicesPerNode()
                    + " devices of a node, found " + t);
        }
        Analysed an = cx.analysed();
        Map<String, String> bd = an.batchDims();
        List<Optional<IterationSpace>> spaces = an.spaces();
        Map<String, Integer> modelAxis = new HashMap<>();
        Map<String, Layout> r = new LinkedHashMap<>();
        int dp = dd.devices() / t;
        long rows = 0; // the rows of the largest table looked up by indices that carry the batch
        for (CoarseNode n : g.nodes()) {
            org.shardplan.graph.Deadline.check("pricing the standard layouts (data parallelism, the expert's)");
            if (bd.containsKey(n.name()) && isEmbedding(n.anchor())) {
                rows = Math.max(rows, spaces.get(n.index()).flatMap(x -> x.dim("v")).map(LoopDim::extent).orElse(0L));
            }
        }
        long vocabulary = rows;
        // a node's decision depends on its class, its batch dimension and which axis of each input arrives
        // split: decided once per such key (the layers after the first take the first's)
        Map<List<Object>, Decided> decided = new HashMap<>();
        for (CoarseNode n : g.nodes()) {
            org.shardplan.graph.Deadline.check("pricing the standard layouts (data parallelism, the expert's)");
            Optional<IterationSpace> osp = spaces.get(n.index());
            if (osp.isEmpty()) {
                continue;
            }
            IterationSpace sp = osp.get();
            String batchDim = bd.get(n.name());
            List<Object> key = null;
            Decided dc = null;
            if (cx.classes() != null) {
                Object[] split = new Object[sp.inputs().size() + 1];
                split[0] = batchDim;
                for (int i = 0; i < sp.inputs().size(); i++) {
                    TensorIndexing in = sp.inputs().get(i);
                    split[i + 1] = in.isParameter() ? null : modelAxis.get(in.name());
                }
                key = cx.key(n, split);
                dc = decided.get(key);
            }
            if (dc == null) {
                dc = megatronNode(sp, batchDim, n.anchor(), modelAxis, cx, t, dp, vocabulary, sequenceParallel);
                if (key != null) {
                    decided.put(key, dc);
                }
            }
            if (dc.fails()) {
                return Optional.empty();
            }
            if (dc.layout() == null) {
                continue;
            }
            r.put(n.name(), dc.layout());
            for (int i = 0; i < dc.outputAxes().length; i++) {
                if (dc.outputAxes()[i] >= 0) {
                    modelAxis.put(sp.outputs().get(i).name(), dc.outputAxes()[i]);
                }
            }
        }
        String name = sequenceParallel ? "megatron-sp (tensor parallel " + t + ", sequence parallel)"
                : "megatron (tensor parallel " + t + ")";
        return Optional.of(new Baseline(name, r));
    }

    /**
     * What a baseline does at one node: fails (the split that arrives cannot be kept), leaves it
     * replicated (layout null) or lays it out, and then at which axis each output carries the model
     * split (-1: none).
     */
    private record Decided(boolean fails, Layout layout, int[] outputAxes) {
        static final Decided FAILS = new Decided(true, null, new int[0]);
        static final Decided REPLICATED = new Decided(false, null, new int[0]);
    }

    /** {@link #megatron}'s decision at one node, given which axis of each input arrives split ({@code modelAxis}). */
    private static Decided megatronNode(IterationSpace sp, String batchDim, Node anchor, Map<String, Integer> modelAxis,
            Context cx, int t, int dp, long vocabulary, boolean sequenceParallel) {
        String md = null;
        for (TensorIndexing in : sp.inputs()) {
            Integer a = modelAxis.get(in.name());
            if (a == null || in.isParameter()) {
                continue;
            }
            String d = a < in.axes().size() ? outermostSplittable(sp, in.axes().get(a)) : null;
            LoopDim ld = d == null ? null : sp.dim(d).orElseThrow();
            if (ld == null || d.equals(batchDim) || !ld.splittable() || ld.extent() % t != 0
                    || (md != null && !md.equals(d))) {
                return Decided.FAILS; // the split cannot be kept here
            }
            md = d;
        }
        if (md == null && t > 1 && isLinear(anchor)) {
            md = columnDim(sp, batchDim, t);
        }
        if (md == null && t > 1 && batchDim != null && isEmbedding(anchor)
                && sp.dim("v").map(d -> d.extent() == vocabulary && d.extent() % t == 0).orElse(false)) {
            md = "v";
        }
        int batchFactor = batchDim == null ? 1 : largestDivisor(sp, batchDim, dp);
        Map<String, Integer> f = new LinkedHashMap<>();
        List<String> placement = new ArrayList<>();
        String seq = md == null && sequenceParallel && t > 1 ? sequenceDim(sp, batchDim, t) : null;
        if (md != null || seq != null) {
            f.put(md != null ? md : seq, t);
            placement.add(md != null ? md : seq);
        } else if (t > 1 && batchFactor > 1) {
            placement.add(Layout.COPIES + t);
        }
        if (batchFactor > 1) {
            f.put(batchDim, batchFactor);
            placement.add(batchDim);
        }
        if (f.isEmpty()) {
            return Decided.REPLICATED;
        }
        Optional<Layout> l = cx.place(sp, Strategy.of(f), placement);
        if (l.isEmpty()) {
            return md != null ? Decided.FAILS : Decided.REPLICATED;
        }
        int[] axes = new int[sp.outputs().size()];
        java.util.Arrays.fill(axes, -1);
        if (md != null && sp.dim(md).orElseThrow().kind() != LoopKind.REDUCTION) {
            for (int i = 0; i < axes.length; i++) {
                axes[i] = sp.outputs().get(i).axisOf(md);
            }
        }
        return new Decided(false, l.get(), axes);
    }

    /** The outermost dimension of an axis that is not fixed (for a Split's input, the position inside the parts). */
    private static String outermostSplittable(IterationSpace sp, AxisMap ax) {
        for (String d : ax.dims()) {
            if (sp.dim(d).orElseThrow().kind() != LoopKind.FIXED) {
                return d;
            }
        }
        return null;
    }

    private static boolean isEmbedding(Node n) {
        return n.opType().equals("Gather") && n.inputs().size() >= 2
                && n.input(0).kind() == org.shardplan.graph.Value.Kind.PARAMETER;
    }

    /**
     * The sequence dimension of a node for sequence parallelism: the one indexing the axis right after
     * the batch axis of its first output, when that output has rank 3 or more and the dimension is
     * parallel and a multiple of {@code t}; else null.
     */
    private static String sequenceDim(IterationSpace sp, String batchDim, int t) {
        if (batchDim == null || sp.outputs().isEmpty()) {
            return null;
        }
        TensorIndexing y = sp.outputs().get(0);
        int a = y.axisOf(batchDim);
        if (a < 0 || y.axes().size() < 3 || a + 1 >= y.axes().size() || y.axes().get(a + 1).dims().size() != 1) {
            return null;
        }
        LoopDim d = sp.dim(y.axes().get(a + 1).dims().get(0)).orElseThrow();
        return d.kind() == LoopKind.PARALLEL && d.splittable() && d.extent() % t == 0 ? d.name() : null;
    }

    private static boolean isLinear(Node n) {
        if (!(n.opType().equals("MatMul") || n.opType().equals("Gemm") || n.opType().equals("Einsum"))) {
            return false;
        }
        for (int i = 0; i < Math.min(2, n.inputs().size()); i++) {
            if (n.input(i).kind() == org.shardplan.graph.Value.Kind.PARAMETER) {
                return true;
            }
        }
        return false;
    }

    /**
     * The one weird trick (Krizhevsky, 2014): data parallelism up to the first weight product, then
     * model parallelism over all devices, the split carried through the operators that follow.
     */
    private static Baseline oneWeirdTrick(CoarseGraph g, Context cx) {
        DeviceDigits dd = cx.dd();
        int t = dd.devices();
        Analysed an = cx.analysed();
        Map<String, String> bd = an.batchDims();
        List<Optional<IterationSpace>> spaces = an.spaces();
        Map<String, Integer> modelAxis = new HashMap<>();
        Map<String, Layout> r = new LinkedHashMap<>();
        boolean fcSeen = false;
        for (CoarseNode n : g.nodes()) {
            org.shardplan.graph.Deadline.check("pricing the standard layouts (data parallelism, the expert's)");
            Optional<IterationSpace> osp = spaces.get(n.index());
            if (osp.isEmpty()) {
                continue;
            }
            IterationSpace sp = osp.get();
            String batchDim = bd.get(n.name());
            String md = null;
            for (TensorIndexing in : sp.inputs()) {
                Integer a = modelAxis.get(in.name());
                if (a == null || in.isParameter() || a >= in.axes().size()) {
                    continue;
                }
                for (String d : in.axes().get(a).dims()) {
                    LoopDim ld = sp.dim(d).orElseThrow();
                    if (!d.equals(batchDim) && ld.splittable() && ld.extent() % t == 0) {
                        md = d;
                    }
                    break;
                }
                if (md != null) {
                    break;
                }
            }
            boolean linear = isLinear(n.anchor());
            if (md == null && linear && t > 1) {
                md = columnDim(sp, batchDim, t);
            }
            fcSeen |= linear;
            int batchFactor = 1;
            if (batchDim != null && !fcSeen && md == null) {
                batchFactor = largestDivisor(sp, batchDim, dd.devices());
            }
            Map<String, Integer> f = new LinkedHashMap<>();
            List<String> placement = new ArrayList<>();
            if (md != null) {
                f.put(md, t);
                placement.add(md);
            }
            if (batchFactor > 1) {
                f.put(batchDim, batchFactor);
                placement.add(batchDim);
            }
            if (f.isEmpty()) {
                continue;
            }
            Optional<Layout> l = cx.place(sp, Strategy.of(f), placement);
            if (l.isEmpty()) {
                continue;
            }
            r.put(n.name(), l.get());
            if (md != null && sp.dim(md).orElseThrow().kind() != LoopKind.REDUCTION) {
                for (TensorIndexing out : sp.outputs()) {
                    int a = out.axisOf(md);
                    if (a >= 0) {
                        modelAxis.put(out.name(), a);
                    }
                }
            }
        }
        return new Baseline("one-weird-trick", r);
    }

    /**
     * The output-feature dimension of a weight product: indexes the weight and the output, not the batch;
     * of several, the one indexing the weight's outermost axis (the heads of {@code hnd}, not their size).
     */
    private static String columnDim(IterationSpace sp, String batchDim, int t) {
        for (TensorIndexing w : sp.parameters()) {
            for (AxisMap ax : w.axes()) {
                for (String name : ax.dims()) {
                    LoopDim d = sp.dim(name).orElseThrow();
                    boolean feature = d.kind() == LoopKind.PARALLEL && !d.name().equals(batchDim);
                    for (TensorIndexing o : sp.outputs()) {
                        feature &= o.indexedBy(d.name());
                    }
                    if (feature) {
                        return d.extent() % t == 0 && d.splittable() ? d.name() : null;
                    }
                }
            }
        }
        return null;
    }

    /** The largest factor of {@code devices} that divides the dimension's extent. */
    static int largestDivisor(IterationSpace sp, String dim, int devices) {
        long e = sp.dim(dim).map(LoopDim::extent).orElse(1L);
        for (int f = devices; f > 1; f--) {
            if (devices % f == 0 && e % f == 0) {
                return f;
            }
        }
        return 1;
    }
}
