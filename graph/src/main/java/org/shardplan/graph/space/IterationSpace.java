package org.shardplan.graph.space;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

/**
 * The iteration space of one operator: its named loop dimensions and how every input and output tensor
 * is indexed by them (the description PaSE and FlexFlow build their strategy spaces on). A
 * {@link Strategy} splits each loop dimension by a factor; from this one description follow, for that
 * strategy, each tensor's per-device shape ({@link #localShape}), the per-device work
 * ({@link #localWork}), the outputs left as partial sums ({@link #partialOutputs}), the tensors held in
 * several copies ({@link #replication}; a replicated parameter's gradient needs an all-reduce over
 * its copies), the halo of windowed inputs ({@link #halo}) and the statistics a split normalisation
 * exchanges ({@link #couplingElements}), and each tensor's layout over the devices ({@link #layout}).
 *
 * <p>Every method is linear in the number of tensor axes plus loop dimensions. The methods the planner
 * calls per candidate layout walk the lists by index: the planner runs on the quick compiler, which
 * allocates every iterator of a for-each loop (list iterators were 14% of the bytes DenseNet-121's search
 * allocated in JFR's allocation samples).
 *
 * @param op the operator type ({@code "MatMul"}; for a coarse node, the anchor's)
 * @param node the name of the node described
 * @param dims the loop dimensions, in a fixed order (names unique)
 * @param inputs the indexing of the inputs that are present, in input order
 * @param outputs the indexing of the outputs, in output order
 * @param coupling what a split of a {@link LoopKind#COUPLED} dimension exchanges
 */
public record IterationSpace(String op, String node, List<LoopDim> dims, List<TensorIndexing> inputs,
                             List<TensorIndexing> outputs, Coupling coupling) {

    /** What devices exchange inside the operator when a {@link LoopKind#COUPLED} dimension is split. */
    public enum Coupling {
        /** No coupled dimension. */
        NONE,
        /**
         * Per-row statistics (mean and variance, or maximum and sum): 2 values per iteration of the
         * other dimensions, all-reduced among the devices that share a row.
         */
        STATISTICS,
        /** The hidden state of a recurrent cell: every step all-gathers the full hidden vector. */
        HIDDEN_STATE
    }

    public IterationSpace {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(coupling, "coupling");
        dims = List.copyOf(dims);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        Set<String> names = new HashSet<>();
        for (LoopDim d : dims) {
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("node '" + node + "' (" + op + "): loop dimension '" + d.name()
                        + "' appears twice");
            }
        }
        for (List<TensorIndexing> ts : List.of(inputs, outputs)) {
            for (TensorIndexing t : ts) {
                for (AxisMap a : t.axes()) {
                    for (String d : a.dims()) {
                        if (!names.contains(d)) {
                            throw new IllegalArgumentException("node '" + node + "' (" + op + "): tensor '"
                                    + t.name() + "' is indexed by '" + d + "', which is not a loop dimension of "
                                    + dims);
                        }
                    }
                }
            }
        }
    }

    /** The loop dimension of that name. */
    public Optional<LoopDim> dim(String name) {
        for (LoopDim d : dims) {
            if (d.name().equals(name)) {
                return Optional.of(d);
            }
        }
        return Optional.empty();
    }

    /** The dimensions a strategy may split (splittable kind, extent above 1), in order. */
    public List<LoopDim> splittableDims() {
        List<LoopDim> r = new ArrayList<>();
        for (LoopDim d : dims) {
            if (d.splittable()) {
                r.add(d);
            }
        }
        return List.copyOf(r);
    }

    /** The product of all loop extents: the number of iterations. */
    public BigInteger volume() {
        BigInteger v = BigInteger.ONE;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            v = v.multiply(BigInteger.valueOf(d.extent()));
        }
        return v;
    }

    /** The input or output tensor of that name (inputs first). */
    public Optional<TensorIndexing> tensor(String valueName) {
        for (int ti = 0, tn = inputs.size(); ti < tn; ti++) {
            TensorIndexing t = inputs.get(ti);
            if (t.name().equals(valueName)) {
                return Optional.of(t);
            }
        }
        for (int ti = 0, tn = outputs.size(); ti < tn; ti++) {
            TensorIndexing t = outputs.get(ti);
            if (t.name().equals(valueName)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** The inputs that are trained weights. */
    public List<TensorIndexing> parameters() {
        List<TensorIndexing> r = new ArrayList<>();
        for (int ti = 0, tn = inputs.size(); ti < tn; ti++) {
            TensorIndexing t = inputs.get(ti);
            if (t.isParameter()) {
                r.add(t);
            }
        }
        return List.copyOf(r);
    }

    private String where() {
        return "node '" + node + "' (" + op + ")";
    }

    /**
     * Checks that the strategy names only loop dimensions of this space, splits only splittable ones and
     * no factor exceeds its extent; returns it.
     *
     * @throws IllegalArgumentException naming the dimension otherwise
     */
    public Strategy check(Strategy s) {
        for (Map.Entry<String, Integer> e : s.factors().entrySet()) {
            LoopDim d = dim(e.getKey()).orElseThrow(() -> new IllegalArgumentException(where() + ": strategy "
                    + s + " splits '" + e.getKey() + "', which must be one of " + dimNames() + ", found none"));
            if (!d.kind().splittable()) {
                throw new IllegalArgumentException(where() + ": loop dimension '" + d.name() + "' is "
                        + d.kind() + " and must not be split, found factor " + e.getValue());
            }
            if (e.getValue() > d.extent()) {
                throw new IllegalArgumentException(where() + ": factor of '" + d.name() + "' must be <= its extent "
                        + d.extent() + ", found " + e.getValue());
            }
        }
        return s;
    }

    private List<String> dimNames() {
        List<String> r = new ArrayList<>();
        dims.forEach(d -> r.add(d.name()));
        return r;
    }

    /**
     * Whether the strategy cuts everything into equal blocks: each factor divides its dimension's extent,
     * and each non-windowed tensor axis' size is divisible by the product of its dimensions' factors.
     */
    public boolean divides(Strategy s) {
        return divides(s.factors());
    }

    /** {@link #divides(Strategy)} of the strategy these factors make (factors of 1 may be present). */
    boolean divides(Map<String, Integer> factors) {
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (d.extent() % factors.getOrDefault(d.name(), 1) != 0) {
                return false;
            }
        }
        for (int side = 0; side < 2; side++) {
            List<TensorIndexing> ts = side == 0 ? inputs : outputs;
            for (int ti = 0, tn = ts.size(); ti < tn; ti++) {
                TensorIndexing t = ts.get(ti);
                for (int ai = 0, an = t.axes().size(); ai < an; ai++) {
                    AxisMap a = t.axes().get(ai);
                    if (a.window().isEmpty() && a.size() % product(a, factors) != 0) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    private static long product(AxisMap a, Strategy s) {
        return product(a, s.factors());
    }

    private static long product(AxisMap a, Map<String, Integer> factors) {
        long p = 1;
        for (int di = 0, dn = a.dims().size(); di < dn; di++) {
            p *= factors.getOrDefault(a.dims().get(di), 1);
        }
        return p;
    }

    private long localExtent(String dim, Strategy s) {
        LoopDim d = dim(dim).orElseThrow();
        return Window.ceilDiv(d.extent(), s.factor(dim));
    }

    /** The per-device size of one axis (the largest block when a split does not divide evenly). */
    public long localAxis(AxisMap a, Strategy s) {
        if (a.dims().isEmpty()) {
            return a.size();
        }
        if (a.window().isPresent()) {
            String d = a.dims().get(0);
            if (s.factor(d) == 1) {
                return a.size();
            }
            return a.window().get().inputExtent(localExtent(d, s), a.size());
        }
        return Window.ceilDiv(a.size(), product(a, s));
    }

    /** The per-device shape of a tensor under the strategy (halo included for windowed axes). */
    public long[] localShape(TensorIndexing t, Strategy s) {
        long[] r = new long[t.axes().size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = localAxis(t.axes().get(i), s);
        }
        return r;
    }

    /** Per-device shapes of the inputs, in order. */
    public List<long[]> localInputShapes(Strategy s) {
        List<long[]> r = new ArrayList<>();
        inputs.forEach(t -> r.add(localShape(t, s)));
        return r;
    }

    /** Per-device shapes of the outputs, in order. */
    public List<long[]> localOutputShapes(Strategy s) {
        List<long[]> r = new ArrayList<>();
        outputs.forEach(t -> r.add(localShape(t, s)));
        return r;
    }

    /** Per-device bytes of a tensor under the strategy (0 when its element type has no fixed size). */
    public long localBytes(TensorIndexing t, Strategy s) {
        long n = 1;
        for (long x : localShape(t, s)) {
            n = Math.multiplyExact(n, x);
        }
        DType dt = t.value().dtype();
        return dt.bits() == 0 ? 0 : dt.byteSize(n);
    }

    /**
     * The fraction of the iterations one device runs: {@code prod(ceil(E_d / f_d)) / prod(E_d)}, exactly
     * {@code 1 / devices} when the strategy divides.
     */
    public double computeFraction(Strategy s) {
        double f = 1;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            int k = s.factor(d.name());
            if (k > 1) {
                f *= (double) Window.ceilDiv(d.extent(), k) / d.extent();
            }
        }
        return f;
    }

    /**
     * The work of one device. FLOPs are the whole node's scaled by the iterations each device runs
     * (exactly {@code whole.flops() / devices} when the strategy divides; rounded up otherwise); bytes
     * are the per-device sizes of the distinct inputs (halos included; for a {@link TensorIndexing#sparseRead}
     * input, the bytes of the first output instead) and of the outputs.
     */
    public Work localWork(Work whole, Strategy s) {
        double flops;
        if (whole.flops() < 0x1p53) {
            // exact: the rational count rounded up
            BigInteger num = BigInteger.valueOf((long) whole.flops());
            BigInteger den = BigInteger.ONE;
            for (int di = 0, dn = dims.size(); di < dn; di++) {
                LoopDim d = dims.get(di);
                int k = s.factor(d.name());
                if (k > 1) {
                    num = num.multiply(BigInteger.valueOf(Window.ceilDiv(d.extent(), k)));
                    den = den.multiply(BigInteger.valueOf(d.extent()));
                }
            }
            BigInteger[] qr = num.divideAndRemainder(den);
            flops = qr[0].doubleValue() + (qr[1].signum() > 0 ? 1 : 0);
        } else {
            // beyond 2^53 the count is a double already: scale it
            flops = whole.flops() * computeFraction(s);
        }
        long read = 0;
        Set<String> seen = new HashSet<>();
        for (int ti = 0, tn = inputs.size(); ti < tn; ti++) {
            TensorIndexing t = inputs.get(ti);
            if (!seen.add(t.name())) {
                continue;
            }
            if (t.sparseRead() && !outputs.isEmpty()) {
                read = Math.addExact(read, localBytes(outputs.get(0), s));
            } else {
                read = Math.addExact(read, localBytes(t, s));
            }
        }
        long written = 0;
        for (int ti = 0, tn = outputs.size(); ti < tn; ti++) {
            TensorIndexing t = outputs.get(ti);
            written = Math.addExact(written, localBytes(t, s));
        }
        return new Work(flops, read, written, whole.complete());
    }

    /**
     * The number of devices holding partial results of each output: the product of the factors of the
     * split {@link LoopKind#REDUCTION} dimensions (1 when none is split).
     */
    public int partialSumGroup(Strategy s) {
        int p = 1;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (d.kind() == LoopKind.REDUCTION) {
                p *= s.factor(d.name());
            }
        }
        return p;
    }

    /**
     * The outputs that the strategy leaves as partial results (sums, or maxima for max reductions), to be
     * combined by an all-reduce or reduce-scatter among {@link #partialSumGroup} devices: every output
     * not indexed by a split reduction dimension, none when no reduction dimension is split.
     */
    public List<TensorIndexing> partialOutputs(Strategy s) {
        List<TensorIndexing> r = new ArrayList<>();
        for (int ti = 0, tn = outputs.size(); ti < tn; ti++) {
            TensorIndexing t = outputs.get(ti);
            for (int di = 0, dn = dims.size(); di < dn; di++) {
                LoopDim d = dims.get(di);
                if (d.kind() == LoopKind.REDUCTION && s.factor(d.name()) > 1 && !t.indexedBy(d.name())) {
                    r.add(t);
                    break;
                }
            }
        }
        return List.copyOf(r);
    }

    /**
     * The split dimensions along which the devices hold the same block of the tensor and each compute a
     * part of its gradient, in loop order: the split dimensions that do not index it, except, for an
     * {@link TensorIndexing#epilogue} input, the reduction dimensions (the devices that split those read
     * it only after the sums are combined, so their gradients of it are equal, not parts). For a
     * parameter these are the dimensions over which its gradient must be all-reduced (data parallelism:
     * the batch dimension); a row-parallel product's bias is all-reduced over the batch only.
     */
    public List<String> replicatedOver(TensorIndexing t, Strategy s) {
        List<String> r = new ArrayList<>();
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (s.factor(d.name()) > 1 && !t.indexedBy(d.name())
                    && !(t.epilogue() && d.kind() == LoopKind.REDUCTION)) {
                r.add(d.name());
            }
        }
        return List.copyOf(r);
    }

    /**
     * The number of devices holding each block of the tensor: the product of the factors of the split
     * dimensions that do not index it (for an epilogue input, reduction dimensions included).
     */
    public int replication(TensorIndexing t, Strategy s) {
        int p = 1;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (!t.indexedBy(d.name())) {
                p *= s.factor(d.name());
            }
        }
        return p;
    }

    /**
     * Per axis, the elements a device needs beyond its own block of the tensor: for a windowed axis split
     * by {@code f}, {@code localAxis − ceil(size / f)} (0 when it is not split or the windows do not
     * overlap); 0 for every other axis.
     */
    public long[] halo(TensorIndexing t, Strategy s) {
        long[] r = new long[t.axes().size()];
        for (int i = 0; i < r.length; i++) {
            AxisMap a = t.axes().get(i);
            if (a.window().isPresent() && s.factor(a.dims().get(0)) > 1) {
                long own = Window.ceilDiv(a.size(), s.factor(a.dims().get(0)));
                r[i] = Math.max(0, localAxis(a, s) - own);
            }
        }
        return r;
    }

    /**
     * Elements of the tensor that one device receives from its neighbours: its local block with halos
     * minus its local block without them.
     */
    public long haloElements(TensorIndexing t, Strategy s) {
        long[] h = halo(t, s);
        long with = 1;
        long without = 1;
        boolean any = false;
        for (int i = 0; i < h.length; i++) {
            long local = localAxis(t.axes().get(i), s);
            with = Math.multiplyExact(with, local);
            without = Math.multiplyExact(without, local - h[i]);
            any |= h[i] > 0;
        }
        return any ? with - without : 0;
    }

    /**
     * How the strategy lays the tensor out (see {@link TensorLayout}). For an output, split reduction
     * dimensions count as partial results, not replicas; for an input they are replicas like any other
     * dimension that does not index it.
     */
    public TensorLayout layout(TensorIndexing t, Strategy s) {
        boolean isOutput = outputs.contains(t);
        List<Long> shape = new ArrayList<>();
        List<Integer> splits = new ArrayList<>();
        List<Boolean> strided = new ArrayList<>();
        for (int ai = 0, an = t.axes().size(); ai < an; ai++) {
            AxisMap a = t.axes().get(ai);
            shape.add(a.size());
            splits.add((int) product(a, s));
            // blocks are contiguous when every dimension outside the innermost split one is cut to single indices
            int last = -1;
            for (int i = 0; i < a.dims().size(); i++) {
                if (s.factor(a.dims().get(i)) > 1) {
                    last = i;
                }
            }
            boolean str = false;
            for (int i = 0; i < last; i++) {
                str |= localExtent(a.dims().get(i), s) > 1;
            }
            strided.add(str);
        }
        int replicas = 1;
        int partial = 1;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            int f = s.factor(d.name());
            if (f == 1 || t.indexedBy(d.name())) {
                continue;
            }
            if (isOutput && d.kind() == LoopKind.REDUCTION) {
                partial *= f;
            } else {
                replicas *= f;
            }
        }
        return new TensorLayout(shape, splits, strided, replicas, partial);
    }

    /** The {@link LoopKind#COUPLED} dimensions the strategy splits. */
    public List<LoopDim> splitCoupledDims(Strategy s) {
        List<LoopDim> r = new ArrayList<>();
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (d.kind() == LoopKind.COUPLED && s.factor(d.name()) > 1) {
                r.add(d);
            }
        }
        return List.copyOf(r);
    }

    /**
     * Elements one device contributes to the collective inside the operator when the strategy splits a
     * coupled dimension (0 otherwise). {@link Coupling#STATISTICS}: {@code 2 · prod(local extents of
     * the other dimensions)} (mean and variance per row); {@link Coupling#HIDDEN_STATE}:
     * {@code prod(local extents of the other dimensions) · prod(full coupled extents)} (the hidden state
     * gathered at every step).
     */
    public long couplingElements(Strategy s) {
        if (splitCoupledDims(s).isEmpty()) {
            return 0;
        }
        long n = 1;
        for (int di = 0, dn = dims.size(); di < dn; di++) {
            LoopDim d = dims.get(di);
            if (d.kind() != LoopKind.COUPLED) {
                n = Math.multiplyExact(n, localExtent(d.name(), s));
            } else if (coupling == Coupling.HIDDEN_STATE) {
                n = Math.multiplyExact(n, d.extent());
            }
        }
        return coupling == Coupling.HIDDEN_STATE ? n : Math.multiplyExact(2, n);
    }

    /** The loop extents by name, in order. */
    public Map<String, Long> extents() {
        Map<String, Long> m = new LinkedHashMap<>();
        dims.forEach(d -> m.put(d.name(), d.extent()));
        return java.util.Collections.unmodifiableMap(m);
    }

    @Override
    public String toString() {
        return op + " " + dims + " in=" + inputs + " out=" + outputs;
    }
}
