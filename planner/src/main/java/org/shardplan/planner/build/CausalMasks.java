package org.shardplan.planner.build;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.DType;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Triangle;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseNode;

/**
 * Whether the mask of an attention chain's scores is causal: position {@code i} attends to positions
 * {@code j <= i} only, so that a FlashAttention-class kernel skips the score blocks above the diagonal
 * (Dao, "FlashAttention-2", 2023, Section 4.1: causal attention does about half the FLOPs). A chain is
 * causal only on evidence.
 *
 * <p>The proof is an interval analysis over the two triangles of the last two axes. Every value on the
 * way from the scores {@code S = QKᵀ} to the softmax is described, separately on and below the diagonal
 * ({@code j <= i}) and above it ({@code j > i}), as {@code a·S + b} with {@code a} and {@code b} in known
 * intervals (a mask, which does not read the scores, has {@code a = 0}). The chain is causal when the
 * softmax's input is, above the diagonal, at most {@value #VERY_NEGATIVE} ({@code b ≤ -1e4}, {@code a}
 * finite: the masked scores) and, on and below it, a finite function of the scores ({@code a} not
 * containing 0, {@code b} finite and above {@value #VERY_NEGATIVE}: no kept score is masked, so a sliding
 * window, which masks below the diagonal too, is not causal).
 *
 * <p>What a mask is known from, outside the scores' nodes:
 * <ul>
 * <li>known values (a constant, a value the import folded), of rank 2 or more;</li>
 * <li>a parameter's {@link Triangle} summary, which the importer computes for a buffer two-valued by the
 * triangle (the GPT-2-style export's {@code mask}, {@code tril(ones(1024, 1024))}: its values are not
 * kept, but its summary {@code (1, 0)} is);</li>
 * <li>the comparison ({@code Greater}, {@code Less}, {@code GreaterOrEqual}, {@code LessOrEqual}) of the
 * column and row broadcasts ({@code Unsqueeze} to {@code [1, s]} and {@code [s, 1]}) of one increasing
 * {@code Range}, as the built-in decoders write it;</li>
 * <li>{@code Trilu} of a described value (a {@code ConstantOfShape} fill: {@code torch.triu(full(-inf), 1)},
 * Llama-style exports);</li>
 * <li>through {@code Identity}, {@code Unsqueeze}, {@code Squeeze}, {@code Expand}, {@code Reshape}
 * (last two dimensions kept, not broadcast), {@code Slice} (starting at 0 with step 1 on the last two
 * axes: the leading corner of a triangle is a triangle), {@code Cast}, {@code Not}, {@code Neg},
 * {@code Equal} and the other comparisons, {@code Where}, {@code Add}, {@code Sub}, {@code Mul},
 * {@code Div} (operands of the same last two dimensions, or one-element constants).</li>
 * </ul>
 * So {@code Where(Equal(Slice(mask), 0), -inf, S)} (the GPT-2-style export's {@code masked_fill}),
 * {@code S·b - 1e4·(1 - b)} of a 0/1 lower triangle {@code b} (GPT-2's original code), an additive 0/-inf
 * mask and the built-in decoders' {@code Where} of a {@code Range} comparison are all proven. Anything
 * else (a mask read from a graph input, as a {@code torch.nn.Transformer} fed its {@code tgt_mask} at run
 * time, a buffer stored in an external data file, no mask) is not proven and the chain is priced as full.
 * Running time: O(k) operators walked per chain (each value described once), plus O(r·c) for a mask's
 * known values.
 */
final class CausalMasks {
    /** Values at or below this count as masked out (fp16's lowest is -65504; masks use it or -inf). */
    static final double VERY_NEGATIVE = -1e4;

    /** Deepest chain of mask operators followed. */
    private static final int MAX_DEPTH = 64;

    private CausalMasks() {
    }

    /** A closed interval of doubles; bounds may be infinite. */
    record Range(double lo, double hi) {
        static final Range ALL = new Range(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
        static final Range ZERO = point(0);
        static final Range BOOL = new Range(0, 1);

        static Range point(double v) {
            return Double.isNaN(v) ? ALL : new Range(v, v);
        }

        static Range of(double a, double b) {
            return Double.isNaN(a) || Double.isNaN(b) ? ALL : new Range(Math.min(a, b), Math.max(a, b));
        }

        boolean is(double v) {
            return lo == v && hi == v;
        }

        boolean contains(double v) {
            return lo <= v && v <= hi;
        }

        boolean finite() {
            return Double.isFinite(lo) && Double.isFinite(hi);
        }

        Range plus(Range o) {
            return of2(lo + o.lo, hi + o.hi);
        }

        Range minus(Range o) {
            return of2(lo - o.hi, hi - o.lo);
        }

        Range times(Range o) {
            if (is(0) || o.is(0)) {
                return ZERO;
            }
            double a = lo * o.lo;
            double b = lo * o.hi;
            double c = hi * o.lo;
            double d = hi * o.hi;
            if (Double.isNaN(a) || Double.isNaN(b) || Double.isNaN(c) || Double.isNaN(d)) {
                return ALL;
            }
            return new Range(Math.min(Math.min(a, b), Math.min(c, d)), Math.max(Math.max(a, b), Math.max(c, d)));
        }

        /** This divided by {@code o}; everything when {@code o} may be 0. */
        Range over(Range o) {
            if (o.contains(0)) {
                return ALL;
            }
            return times(of(1 / o.lo, 1 / o.hi));
        }

        Range hull(Range o) {
            return new Range(Math.min(lo, o.lo), Math.max(hi, o.hi));
        }

        private static Range of2(double a, double b) {
            return Double.isNaN(a) || Double.isNaN(b) ? ALL : new Range(a, b);
        }
    }

    /** The values of one triangle: {@code a·S + b}, S the scores ({@code a = 0} for a mask). */
    record Affine(Range a, Range b) {
        static Affine constant(Range b) {
            return new Affine(Range.ZERO, b);
        }

        boolean isMask() {
            return a.is(0);
        }
    }

    /** A value described on and below the diagonal of its last two axes, and above it. */
    record Split(Affine below, Affine above) {
        static Split uniform(Affine x) {
            return new Split(x, x);
        }

        static Split mask(Range below, Range above) {
            return new Split(Affine.constant(below), Affine.constant(above));
        }

        boolean isMask() {
            return below.isMask() && above.isMask();
        }
    }

    /** The set of true (non-zero) elements of a boolean's last two axes. */
    enum Tri {
        /** Exactly the elements above the diagonal ({@code j > i}). */
        UPPER,
        /** Exactly the elements on and below the diagonal ({@code j <= i}). */
        LOWER
    }

    /** Whether the softmax of a chain whose scores' node is {@code scores} reads a mask proven causal. */
    static boolean causal(Graph g, CoarseNode scores) {
        return causal(g, List.of(scores), null);
    }

    /**
     * Whether the value {@code softmaxInput} (null: the last output of the last node) of the nodes
     * {@code path} (the scores' node, then any element-wise node between it and the softmax) is the
     * scores with a causal mask applied (see the class).
     */
    static boolean causal(Graph g, List<CoarseNode> path, Value softmaxInput) {
        Prover p = new Prover(g);
        Map<String, Split> inside = new HashMap<>();
        Node anchor = path.get(0).anchor();
        if (anchor.outputs().isEmpty()) {
            return false;
        }
        inside.put(anchor.output(0).name(), Split.uniform(new Affine(Range.point(1), Range.ZERO)));
        Map<String, Boolean> produced = new HashMap<>();
        for (CoarseNode c : path) {
            for (Node m : c.members()) {
                for (Value o : m.outputs()) {
                    produced.put(o.name(), true);
                }
            }
        }
        for (CoarseNode c : path) {
            for (Node m : c.members()) {
                if (m == anchor || m.outputs().isEmpty()) {
                    continue;
                }
                Split s = p.apply(m, v -> produced.containsKey(v.name()) ? inside.get(v.name()) : p.describe(v, 0));
                if (s != null) {
                    inside.put(m.output(0).name(), s);
                }
            }
        }
        Value last = softmaxInput;
        if (last == null) {
            List<Value> outs = path.get(path.size() - 1).outputs();
            if (outs.isEmpty()) {
                return false;
            }
            last = outs.get(outs.size() - 1);
        }
        Split f = inside.get(last.name());
        return f != null && causal(f);
    }

    /** Whether the softmax's input described by {@code f} is causal: masked above the diagonal, kept on and below. */
    static boolean causal(Split f) {
        Affine up = f.above();
        Affine low = f.below();
        boolean masked = up.a().finite() && up.b().hi() <= VERY_NEGATIVE;
        boolean kept = low.a().finite() && !low.a().contains(0) && low.b().finite() && low.b().lo() > VERY_NEGATIVE;
        return masked && kept;
    }

    /** Whether an additive mask is 0 on and below the diagonal and very negative above it. */
    static boolean additive(Graph g, Value m) {
        Split s = new Prover(g).describe(m, 0);
        return s != null && s.isMask() && s.below().b().is(0) && s.above().b().hi() <= VERY_NEGATIVE;
    }

    /** The triangle of a boolean's true elements, proven, or null. */
    static Tri tri(Graph g, Value c) {
        Split s = new Prover(g).describe(c, 0);
        if (s == null || !s.isMask()) {
            return null;
        }
        Range lo = s.below().b();
        Range up = s.above().b();
        if (lo.is(0) && !up.contains(0)) {
            return Tri.UPPER;
        }
        if (up.is(0) && !lo.contains(0)) {
            return Tri.LOWER;
        }
        return null;
    }

    /** Describes values by their producers, each value once. */
    private static final class Prover {
        private final Graph g;
        private final Map<String, Optional<Split>> memo = new HashMap<>();

        Prover(Graph g) {
            this.g = g;
        }

        /** What is known of {@code v} by triangle, or null. */
        Split describe(Value v, int depth) {
            if (v.isAbsent()) {
                return null;
            }
            Optional<Split> m = memo.get(v.name());
            if (m != null) {
                return m.orElse(null);
            }
            Split s = depth > MAX_DEPTH ? null : compute(v, depth);
            memo.put(v.name(), Optional.ofNullable(s));
            return s;
        }

        private Split compute(Value v, int depth) {
            Optional<Split> known = known(v);
            if (known.isPresent()) {
                return known.get();
            }
            if (v.constant().isPresent() && v.constant().get().hasValues()) {
                return null;
            }
            if (v.triangle().isPresent()) {
                Triangle t = v.triangle().get();
                return Split.mask(Range.point(t.below()), Range.point(t.above()));
            }
            Optional<Node> p = g.producer(v);
            if (p.isEmpty()) {
                return null;
            }
            Node n = p.get();
            return apply(n, x -> describe(x, depth + 1));
        }

        /** The description of {@code n}'s first output from its inputs' ({@code in}), or null. */
        Split apply(Node n, java.util.function.Function<Value, Split> in) {
            if (n.outputs().isEmpty() || !n.isOnnxDomain()) {
                return null;
            }
            Value out = n.output(0);
            switch (n.opType()) {
                case "Identity":
                    return n.inputs().size() == 1 && sameLastTwo(n.input(0), out) ? in.apply(n.input(0)) : null;
                case "Unsqueeze", "Squeeze", "Expand", "Reshape":
                    return keepsLastTwo(n.input(0), out) ? in.apply(n.input(0)) : null;
                case "Slice":
                    return leadingCorner(n) ? in.apply(n.input(0)) : null;
                case "Cast": {
                    Split x = in.apply(n.input(0));
                    if (x == null || !sameLastTwo(n.input(0), out)) {
                        return null;
                    }
                    return cast(x, out.dtype());
                }
                case "Not": {
                    Split x = operand(n.input(0), out, in);
                    return x == null || !x.isMask() ? null
                            : Split.mask(not(x.below().b()), not(x.above().b()));
                }
                case "Neg": {
                    Split x = operand(n.input(0), out, in);
                    return x == null ? null : map(x, x, (a, b) -> new Affine(Range.ZERO.minus(a.a()), Range.ZERO.minus(a.b())));
                }
                case "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Equal": {
                    if (n.inputs().size() != 2) {
                        return null;
                    }
                    Tri t = byIndex(g, n);
                    if (t != null) {
                        return t == Tri.UPPER ? Split.mask(Range.ZERO, Range.point(1)) : Split.mask(Range.point(1), Range.ZERO);
                    }
                    Split x = operand(n.input(0), out, in);
                    Split y = operand(n.input(1), out, in);
                    if (x == null || y == null || !x.isMask() || !y.isMask()) {
                        return null;
                    }
                    return Split.mask(compare(n.opType(), x.below().b(), y.below().b()),
                            compare(n.opType(), x.above().b(), y.above().b()));
                }
                case "Where": {
                    if (n.inputs().size() != 3) {
                        return null;
                    }
                    Split c = operand(n.input(0), out, in);
                    Split x = operand(n.input(1), out, in);
                    Split y = operand(n.input(2), out, in);
                    if (c == null || x == null || y == null || !c.isMask()) {
                        return null;
                    }
                    return new Split(where(c.below().b(), x.below(), y.below()), where(c.above().b(), x.above(), y.above()));
                }
                case "Add", "Sub", "Mul", "Div": {
                    if (n.inputs().size() != 2) {
                        return null;
                    }
                    Split x = operand(n.input(0), out, in);
                    Split y = operand(n.input(1), out, in);
                    if (x == null || y == null) {
                        return null;
                    }
                    Affine lo = arithmetic(n.opType(), x.below(), y.below());
                    Affine up = arithmetic(n.opType(), x.above(), y.above());
                    return lo == null || up == null ? null : new Split(lo, up);
                }
                case "Trilu":
                    return trilu(n, in);
                case "ConstantOfShape": {
                    Optional<Tensor> t = n.attrTensor("value");
                    double fill = t.isPresent() && t.get().hasValues() && t.get().numElements() == 1 ? t.get().getDouble(0) : 0;
                    return t.isPresent() && !t.get().hasValues() ? null : Split.mask(Range.point(fill), Range.point(fill));
                }
                default:
                    return null;
            }
        }

        /**
         * {@code v} as an operand of an element-wise operator writing {@code out}: a one-element constant
         * (the same everywhere), or a value whose last two dimensions are those of {@code out} (no
         * broadcast across them, so its triangles are the output's); else null.
         */
        private Split operand(Value v, Value out, java.util.function.Function<Value, Split> in) {
            Optional<Double> s = scalar(v);
            if (s.isPresent()) {
                return Split.mask(Range.point(s.get()), Range.point(s.get()));
            }
            return sameLastTwo(v, out) ? in.apply(v) : null;
        }

        /** Trilu of a described value: the zeroed triangle becomes 0, with {@code k} moving the diagonal. */
        private Split trilu(Node n, java.util.function.Function<Value, Split> in) {
            Value x = n.input(0);
            if (!sameLastTwo(x, n.output(0))) {
                return null;
            }
            Split s = in.apply(x);
            if (s == null) {
                return null;
            }
            long k = 0;
            if (n.inputs().size() > 1 && !n.input(1).isAbsent()) {
                Optional<Double> kv = scalar(n.input(1));
                if (kv.isEmpty()) {
                    return null;
                }
                k = kv.get().longValue();
            }
            Affine zero = Affine.constant(Range.ZERO);
            if (n.attrInt("upper", 1) == 1) {
                // keeps j >= i + k: k = 1 keeps exactly the elements above the diagonal
                Affine lo = k >= 1 ? zero : hull(s.below(), zero);
                Affine up = k <= 1 ? s.above() : hull(s.above(), zero);
                return new Split(lo, up);
            }
            // keeps j <= i + k: k = 0 keeps exactly the elements on and below it
            Affine lo = k >= 0 ? s.below() : hull(s.below(), zero);
            Affine up = k <= 0 ? zero : hull(s.above(), zero);
            return new Split(lo, up);
        }

        /** Known values of rank 2 or more (each triangle's range), or of one element (the same everywhere). */
        private Optional<Split> known(Value v) {
            if (v.constant().isEmpty() || !v.constant().get().hasValues() || v.dtype() == DType.STRING) {
                return Optional.empty();
            }
            Tensor t = v.constant().get();
            if (t.numElements() == 1) {
                double x = t.getDouble(0);
                return Optional.of(Split.mask(Range.point(x), Range.point(x)));
            }
            long[] dims = t.dims();
            if (!Triangle.eligible(dims) || t.numElements() > Integer.MAX_VALUE) {
                return Optional.empty();
            }
            long rows = dims[dims.length - 2];
            long cols = dims[dims.length - 1];
            double[] r = {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
            int n = (int) t.numElements();
            for (int e = 0; e < n; e++) {
                long j = e % cols;
                long i = (e / cols) % rows;
                double x = t.getDouble(e);
                if (Double.isNaN(x)) {
                    return Optional.empty();
                }
                int at = j <= i ? 0 : 2;
                r[at] = Math.min(r[at], x);
                r[at + 1] = Math.max(r[at + 1], x);
            }
            return Optional.of(Split.mask(new Range(r[0], r[1]), new Range(r[2], r[3])));
        }
    }

    private static Split cast(Split x, DType to) {
        if (to == DType.BOOL) {
            if (!x.isMask()) {
                return null;
            }
            return Split.mask(toBool(x.below().b()), toBool(x.above().b()));
        }
        if (to.isFloatingPoint()) {
            return x;
        }
        if (!x.isMask()) {
            return null;
        }
        return Split.mask(truncate(x.below().b()), truncate(x.above().b()));
    }

    private static Range toBool(Range r) {
        return r.is(0) ? Range.ZERO : !r.contains(0) ? Range.point(1) : Range.BOOL;
    }

    private static Range truncate(Range r) {
        if (!r.finite()) {
            return Range.ALL;
        }
        double a = r.lo() < 0 ? Math.ceil(r.lo()) : Math.floor(r.lo());
        double b = r.hi() < 0 ? Math.ceil(r.hi()) : Math.floor(r.hi());
        return Range.of(a, b);
    }

    private static Range not(Range r) {
        Range b = toBool(r);
        return b.is(0) ? Range.point(1) : b.is(1) ? Range.ZERO : Range.BOOL;
    }

    private static Range compare(String op, Range x, Range y) {
        boolean always;
        boolean never;
        switch (op) {
            case "Greater" -> {
                always = x.lo() > y.hi();
                never = x.hi() <= y.lo();
            }
            case "Less" -> {
                always = x.hi() < y.lo();
                never = x.lo() >= y.hi();
            }
            case "GreaterOrEqual" -> {
                always = x.lo() >= y.hi();
                never = x.hi() < y.lo();
            }
            case "LessOrEqual" -> {
                always = x.hi() <= y.lo();
                never = x.lo() > y.hi();
            }
            default -> {
                always = x.lo() == x.hi() && y.lo() == y.hi() && x.lo() == y.lo();
                never = x.hi() < y.lo() || y.hi() < x.lo();
            }
        }
        return always ? Range.point(1) : never ? Range.ZERO : Range.BOOL;
    }

    private static Affine where(Range c, Affine x, Affine y) {
        Range b = toBool(c);
        return b.is(1) ? x : b.is(0) ? y : hull(x, y);
    }

    private static Affine hull(Affine x, Affine y) {
        return new Affine(x.a().hull(y.a()), x.b().hull(y.b()));
    }

    private static Affine arithmetic(String op, Affine x, Affine y) {
        return switch (op) {
            case "Add" -> new Affine(x.a().plus(y.a()), x.b().plus(y.b()));
            case "Sub" -> new Affine(x.a().minus(y.a()), x.b().minus(y.b()));
            case "Mul" -> x.isMask() ? new Affine(y.a().times(x.b()), y.b().times(x.b()))
                    : y.isMask() ? new Affine(x.a().times(y.b()), x.b().times(y.b())) : null;
            default -> y.isMask() ? new Affine(x.a().over(y.b()), x.b().over(y.b())) : null;
        };
    }

    private static Split map(Split x, Split y, java.util.function.BinaryOperator<Affine> f) {
        return new Split(f.apply(x.below(), y.below()), f.apply(x.above(), y.above()));
    }

    /**
     * UPPER or LOWER when {@code n} compares the column and row broadcasts of one increasing {@code Range}
     * (the built-in decoders' mask), else null.
     */
    private static Tri byIndex(Graph g, Node n) {
        String a = index(g, n.input(0));
        String b = index(g, n.input(1));
        if (a == null || b == null || !a.substring(2).equals(b.substring(2)) || a.charAt(0) == b.charAt(0)) {
            return null;
        }
        // a, b: "c:<range>" (the column index j) or "r:<range>" (the row index i)
        boolean colFirst = a.charAt(0) == 'c';
        return switch (n.opType()) {
            case "Greater" -> colFirst ? Tri.UPPER : null;              // j > i
            case "Less" -> colFirst ? null : Tri.UPPER;                 // i < j
            case "GreaterOrEqual" -> colFirst ? null : Tri.LOWER;       // i >= j
            case "LessOrEqual" -> colFirst ? Tri.LOWER : null;          // j <= i
            default -> null;
        };
    }

    /**
     * "c:NAME" when {@code v} is {@code Unsqueeze(p)} of shape {@code [1, s]} (the column index), "r:NAME"
     * when {@code [s, 1]} (the row index), for an increasing {@code Range p} named NAME; else null.
     */
    private static String index(Graph g, Value v) {
        Optional<Node> u = g.producer(v);
        if (u.isEmpty() || !u.get().opType().equals("Unsqueeze") || !v.shape().rankKnown() || v.shape().rank() != 2) {
            return null;
        }
        Value p = u.get().input(0);
        Optional<Node> r = g.producer(p);
        if (r.isEmpty() || !r.get().opType().equals("Range") || r.get().inputs().size() != 3
                || scalar(r.get().input(2)).orElse(0.0) <= 0) {
            return null;
        }
        boolean oneFirst = isOne(v.shape().dim(0));
        boolean oneSecond = isOne(v.shape().dim(1));
        if (oneFirst == oneSecond) {
            return null;
        }
        return (oneFirst ? "c:" : "r:") + p.name();
    }

    /** Whether a Slice takes the leading corner of its input's last two axes (start 0, step 1 there). */
    private static boolean leadingCorner(Node n) {
        Value x = n.input(0);
        if (!x.shape().rankKnown() || !n.output(0).shape().rankKnown() || x.shape().rank() != n.output(0).shape().rank()
                || x.shape().rank() < 2) {
            return false;
        }
        int rank = x.shape().rank();
        long[] starts;
        long[] axes;
        long[] steps = null;
        if (n.inputs().size() == 1) {
            starts = n.attrInts("starts").orElse(null);
            axes = n.attrInts("axes").orElse(null);
        } else {
            starts = ints(n.input(1));
            axes = n.inputs().size() > 3 && !n.input(3).isAbsent() ? ints(n.input(3)) : null;
            if (n.inputs().size() > 3 && !n.input(3).isAbsent() && axes == null) {
                return false;
            }
            if (n.inputs().size() > 4 && !n.input(4).isAbsent()) {
                steps = ints(n.input(4));
                if (steps == null) {
                    return false;
                }
            }
        }
        if (starts == null) {
            return false;
        }
        for (int k = 0; k < starts.length; k++) {
            long axis = axes == null ? k : axes[k];
            if (axis < 0) {
                axis += rank;
            }
            if (axis >= rank - 2 && (starts[k] != 0 || steps != null && steps[k] != 1)) {
                return false;
            }
        }
        return true;
    }

    private static long[] ints(Value v) {
        if (v.isAbsent() || v.constant().isEmpty() || !v.constant().get().hasValues()) {
            return null;
        }
        return v.constant().get().longs().orElse(null);
    }

    private static boolean isOne(Dim d) {
        return d instanceof Dim.Fixed f && f.value() == 1;
    }

    /** Whether {@code a} and {@code b} have the same last two dimensions (known or symbolic, rank 2 or more). */
    private static boolean sameLastTwo(Value a, Value b) {
        Shape x = a.shape();
        Shape y = b.shape();
        if (!x.rankKnown() || !y.rankKnown() || x.rank() < 2 || y.rank() < 2) {
            return false;
        }
        for (int k = 1; k <= 2; k++) {
            Dim d = x.dim(x.rank() - k);
            if (d instanceof Dim.Unknown || !d.equals(y.dim(y.rank() - k))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code out} keeps the last two dimensions of {@code in} (equal, and not 1: no broadcast). */
    private static boolean keepsLastTwo(Value in, Value out) {
        if (!sameLastTwo(in, out)) {
            return false;
        }
        Shape s = in.shape();
        return !isOne(s.dim(s.rank() - 1)) && !isOne(s.dim(s.rank() - 2));
    }

    /** The value of a one-element constant. */
    private static Optional<Double> scalar(Value v) {
        if (v.isAbsent() || v.constant().isEmpty() || !v.constant().get().hasValues() || v.dtype() == DType.STRING
                || v.constant().get().numElements() != 1) {
            return Optional.empty();
        }
        return Optional.of(v.constant().get().getDouble(0));
    }
}
