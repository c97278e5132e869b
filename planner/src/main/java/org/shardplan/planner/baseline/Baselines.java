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
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.LoopDim;
import org.shardplan.graph.space.LoopKind;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;

/**
 * The hand-made plans shardplan compares with, each given as one {@link Layout} per node, so that they
 * are points of the same search space and are priced by the same cost model.
 *
 * <ul>
 * <li><b>data parallel</b>: every node splits its batch dimension ({@link BatchDims}) over as many
 *     devices as divide it; parameters are copied.
 * <li><b>megatron</b> (transformers; Shoeybi et al., 2019): tensor parallelism of degree t = devices
 *     per cluster node inside each node, data parallelism across nodes. A matrix product with a weight
 *     whose input is not split is column-parallel (its output features split by t); one whose input
 *     features arrive split is row-parallel (its reduction dimension split, partial sums all-reduced);
 *     other operators keep the split their input arrives with (attention is then split by heads), and
 *     the rest run as t copies inside the node.
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

    /** The data-parallel baseline. */
    public static Baseline dataParallel(CoarseGraph g, long batch, DeviceDigits dd) {
        Map<String, String> bd = BatchDims.of(g, batch);
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(g);
        Map<String, Layout> r = new LinkedHashMap<>();
        for (CoarseNode n : g.nodes()) {
            String dim = bd.get(n.name());
            Optional<IterationSpace> sp = spaces.get(n.index());
            if (dim == null || sp.isEmpty()) {
                continue;
            }
            int f = largestDivisor(sp.get(), dim, dd.devices());
            if (f > 1) {
                place(sp.get(), Strategy.of(dim, f), List.of(dim), dd).ifPresent(l -> r.put(n.name(), l));
            }
        }
        return new Baseline("data-parallel", r);
    }

    /**
     * The expert baselines for this model: one-weird-trick when it has convolutions; megatron with each
     * tensor-parallel degree that divides the devices of a node (largest first; the caller keeps the
     * best, as an expert would tune it) when it has matrix products with weights; none otherwise.
     */
    public static List<Baseline> experts(CoarseGraph g, long batch, DeviceDigits dd) {
        boolean conv = false;
        boolean linear = false;
        for (CoarseNode n : g.nodes()) {
            conv |= n.opType().equals("Conv");
            linear |= isLinear(n.anchor());
        }
        if (conv) {
            return List.of(propagate(g, batch, dd, true, dd.devices()));
        }
        List<Baseline> r = new ArrayList<>();
        if (linear) {
            for (int t = dd.devicesPerNode(); t >= 1; t--) {
                if (dd.devicesPerNode() % t == 0 && (t > 1 || r.isEmpty())) {
                    r.add(propagate(g, batch, dd, false, t));
                }
            }
        }
        return r;
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

    private static Baseline propagate(CoarseGraph g, long batch, DeviceDigits dd, boolean weirdTrick, int t) {
        Map<String, String> bd = BatchDims.of(g, batch);
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(g);
        Map<String, Integer> modelAxis = new HashMap<>();
        Map<String, Layout> r = new LinkedHashMap<>();
        boolean fcSeen = false;
        for (CoarseNode n : g.nodes()) {
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
            int modelFactor = md == null ? 1 : t;
            int batchFactor = 1;
            if (batchDim != null && !(weirdTrick && fcSeen)) {
                batchFactor = largestDivisor(sp, batchDim, dd.devices() / (weirdTrick ? 1 : t));
            }
            if (weirdTrick && md != null) {
                batchFactor = 1;
            }
            Map<String, Integer> f = new LinkedHashMap<>();
            List<String> placement = new ArrayList<>();
            if (md != null) {
                f.put(md, modelFactor);
                placement.add(md);
            } else if (!weirdTrick && t > 1 && batchFactor > 1) {
                placement.add(Layout.COPIES + t);
            }
            if (batchFactor > 1) {
                f.put(batchDim, batchFactor);
                placement.add(batchDim);
            }
            if (f.isEmpty()) {
                continue;
            }
            Optional<Layout> l = place(sp, Strategy.of(f), placement, dd);
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
        return new Baseline(weirdTrick ? "one-weird-trick" : "megatron (tensor parallel " + t + ")", r);
    }

    /**
     * The output-feature dimension of a weight product: indexes the weight and the output, not the batch;
     * of several, the one indexing the weight's outermost axis (the heads of {@code hnd}, not their size).
     */
    private static String columnDim(IterationSpace sp, String batchDim, int t) {
        for (TensorIndexing w : sp.parameters()) {
            for (org.shardplan.graph.space.AxisMap ax : w.axes()) {
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

    private static Optional<Layout> place(IterationSpace sp, Strategy s, List<String> placement, DeviceDigits dd) {
        if (!sp.divides(s) || dd.devices() % s.devices() != 0) {
            return Optional.empty();
        }
        try {
            sp.check(s);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        return Layout.place(s, placement, dd);
    }
}
