package org.shardplan.planner.build;

import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseNode;

/**
 * Whether the mask of an attention chain's scores is causal: position {@code i} attends to positions
 * {@code j <= i} only, so that a FlashAttention-class kernel skips the score blocks above the diagonal
 * (Dao, "FlashAttention-2", 2023, Section 4.1: causal attention does about half the FLOPs). A chain is
 * causal only on evidence, read from the scores' coarse node (its scale and mask fused after QKᵀ):
 *
 * <ul>
 * <li>an additive mask ({@code Add}) whose {@code [s, s]} values are known (a constant or a value the
 * import folded) and are 0 on and below the diagonal and at most {@value #VERY_NEGATIVE} above it;</li>
 * <li>an additive mask {@code Where(c, x, y)} of scalar constants with the boolean {@code c} proven
 * strictly upper ({@code x} very negative, {@code y = 0}) or lower ({@code x = 0}, {@code y} very
 * negative), as the built-in decoders write it: {@code Greater(Unsqueeze(p, 0), Unsqueeze(p, 1))} of one
 * increasing {@code Range p};</li>
 * <li>an additive mask {@code Trilu(upper = 1, k = 1)} of a tensor filled with one very negative value
 * ({@code ConstantOfShape}), as {@code torch.triu(full(-inf), 1)} exports (Llama-style exports);</li>
 * <li>a {@code Where(c, x, scores)} with {@code x} very negative and {@code c} proven strictly upper,
 * or {@code Where(c, scores, x)} with {@code c} proven lower;</li>
 * </ul>
 *
 * through shape-preserving {@code Unsqueeze}, {@code Expand}, {@code Cast} (last two dimensions kept) and
 * {@code Not} (which flips a boolean's triangle). A boolean is proven triangular by known values, by the
 * comparison of the column and row broadcasts of one increasing {@code Range}, or by {@code Not} of one.
 * Anything else (a mask read from a graph input, a parameter buffer whose values the import does not
 * keep, as the causal buffer ({@code mask}, float [1, 1, 1024, 1024]) of the GPT-2-style export, or no
 * mask) is not proven and the chain is priced as full.
 * Running time: O(k) operators walked per chain, plus O(s²) when the mask's values are known.
 */
final class CausalMasks {
    /** Values at or below this count as masked out (fp16's lowest is -65504; masks use it or -inf). */
    static final double VERY_NEGATIVE = -1e4;

    private CausalMasks() {
    }

    /** Whether the scores' node of an attention chain applies a mask proven causal (see the class). */
    static boolean causal(Graph g, CoarseNode scores) {
        Set<String> inside = new HashSet<>();
        for (Node m : scores.members()) {
            for (Value o : m.outputs()) {
                inside.add(o.name());
            }
        }
        for (Node m : scores.members()) {
            if (m == scores.anchor()) {
                continue;
            }
            if (m.opType().equals("Add") && m.inputs().size() == 2) {
                for (int k = 0; k < 2; k++) {
                    if (inside.contains(m.input(1 - k).name()) && !inside.contains(m.input(k).name())
                            && additive(g, m.input(k))) {
                        return true;
                    }
                }
            }
            if (m.opType().equals("Where") && m.inputs().size() == 3 && !inside.contains(m.input(0).name())) {
                boolean xIn = inside.contains(m.input(1).name());
                boolean yIn = inside.contains(m.input(2).name());
                if (!xIn && yIn && scalar(m.input(1)).orElse(0.0) <= VERY_NEGATIVE && tri(g, m.input(0)) == Tri.UPPER) {
                    return true;
                }
                if (xIn && !yIn && scalar(m.input(2)).orElse(0.0) <= VERY_NEGATIVE && tri(g, m.input(0)) == Tri.LOWER) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The set of true (non-zero) elements of a boolean's last two axes. */
    enum Tri {
        /** Exactly the elements above the diagonal ({@code j > i}). */
        UPPER,
        /** Exactly the elements on and below the diagonal ({@code j <= i}). */
        LOWER
    }

    /** Whether an additive mask is 0 on and below the diagonal and very negative above it. */
    static boolean additive(Graph g, Value m) {
        Optional<double[]> known = values(m);
        if (known.isPresent()) {
            return pattern(m, known.get(), true) != null;
        }
        Optional<Node> p = g.producer(m);
        if (p.isEmpty()) {
            return false;
        }
        Node n = p.get();
        switch (n.opType()) {
            case "Unsqueeze", "Expand", "Cast":
                return keepsLastTwo(n.input(0), m) && additive(g, n.input(0));
            case "Where": {
                if (n.inputs().size() != 3) {
                    return false;
                }
                Optional<Double> x = scalar(n.input(1));
                Optional<Double> y = scalar(n.input(2));
                if (x.isEmpty() || y.isEmpty()) {
                    return false;
                }
                Tri t = tri(g, n.input(0));
                return (t == Tri.UPPER && x.get() <= VERY_NEGATIVE && y.get() == 0)
                        || (t == Tri.LOWER && x.get() == 0 && y.get() <= VERY_NEGATIVE);
            }
            case "Trilu": {
                if (n.attrInt("upper", 1) != 1) {
                    return false;
                }
                long k = 0;
                if (n.inputs().size() > 1 && !n.input(1).isAbsent()) {
                    Optional<Double> kv = scalar(n.input(1));
                    if (kv.isEmpty()) {
                        return false;
                    }
                    k = kv.get().longValue();
                }
                return k == 1 && squareLastTwo(m) && uniform(g, n.input(0)).orElse(0.0) <= VERY_NEGATIVE;
            }
            default:
                return false;
        }
    }

    /** The triangle of a boolean's true elements, proven, or null. */
    static Tri tri(Graph g, Value c) {
        Optional<double[]> known = values(c);
        if (known.isPresent()) {
            return pattern(c, known.get(), false);
        }
        Optional<Node> p = g.producer(c);
        if (p.isEmpty()) {
            return null;
        }
        Node n = p.get();
        switch (n.opType()) {
            case "Unsqueeze", "Expand":
                return keepsLastTwo(n.input(0), c) ? tri(g, n.input(0)) : null;
            case "Cast":
                return n.input(0).dtype() == c.dtype() && keepsLastTwo(n.input(0), c) ? tri(g, n.input(0)) : null;
            case "Not": {
                Tri t = tri(g, n.input(0));
                return t == null ? null : t == Tri.UPPER ? Tri.LOWER : Tri.UPPER;
            }
            case "Greater", "Less", "GreaterOrEqual", "LessOrEqual": {
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
                    default -> colFirst ? Tri.LOWER : null;                     // j <= i
                };
            }
            default:
                return null;
        }
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

    private static boolean isOne(Dim d) {
        return d instanceof Dim.Fixed f && f.value() == 1;
    }

    /** Whether {@code out} keeps the last two dimensions of {@code in} (equal, and not 1). */
    private static boolean keepsLastTwo(Value in, Value out) {
        if (!in.shape().rankKnown() || !out.shape().rankKnown() || in.shape().rank() < 2 || out.shape().rank() < 2) {
            return false;
        }
        int ri = in.shape().rank();
        int ro = out.shape().rank();
        for (int k = 1; k <= 2; k++) {
            Dim a = in.shape().dim(ri - k);
            if (isOne(a) || a instanceof Dim.Unknown || !a.equals(out.shape().dim(ro - k))) {
                return false;
            }
        }
        return true;
    }

    private static boolean squareLastTwo(Value v) {
        if (!v.shape().rankKnown() || v.shape().rank() < 2) {
            return false;
        }
        int r = v.shape().rank();
        Dim a = v.shape().dim(r - 2);
        return !(a instanceof Dim.Unknown) && !isOne(a) && a.equals(v.shape().dim(r - 1));
    }

    /** The single value every element of {@code v} holds, when known (values, or {@code ConstantOfShape}). */
    private static Optional<Double> uniform(Graph g, Value v) {
        Optional<double[]> known = values(v);
        if (known.isPresent()) {
            double[] x = known.get();
            for (double e : x) {
                if (e != x[0]) {
                    return Optional.empty();
                }
            }
            return x.length == 0 ? Optional.empty() : Optional.of(x[0]);
        }
        Optional<Node> p = g.producer(v);
        if (p.isPresent() && p.get().opType().equals("ConstantOfShape")) {
            Optional<Tensor> t = p.get().attrTensor("value");
            return t.isPresent() && t.get().hasValues() && t.get().numElements() == 1
                    ? Optional.of(t.get().getDouble(0)) : Optional.of(0.0);
        }
        return Optional.empty();
    }

    /** The value of a scalar (or one-element) constant. */
    private static Optional<Double> scalar(Value v) {
        return values(v).filter(x -> x.length == 1).map(x -> x[0]);
    }

    private static Optional<double[]> values(Value v) {
        if (v.isAbsent() || v.constant().isEmpty() || !v.constant().get().hasValues()) {
            return Optional.empty();
        }
        Tensor t = v.constant().get();
        if (t.numElements() > Integer.MAX_VALUE) {
            return Optional.empty();
        }
        double[] r = new double[(int) t.numElements()];
        for (int i = 0; i < r.length; i++) {
            r[i] = t.getDouble(i);
        }
        return Optional.of(r);
    }

    /**
     * The triangle of known values over their last two axes (every leading index alike): for an additive
     * mask ({@code additive}), {@link Tri#UPPER} when 0 on and below the diagonal and very negative above
     * (else null); for a boolean, the triangle of its non-zero elements, or null.
     */
    private static Tri pattern(Value v, double[] x, boolean additive) {
        long[] dims = v.constant().get().dims();
        if (dims.length < 2 || dims[dims.length - 1] != dims[dims.length - 2] || dims[dims.length - 1] < 2) {
            return null;
        }
        int s = (int) dims[dims.length - 1];
        boolean upper = true;
        boolean lower = true;
        for (int base = 0; base < x.length; base += s * s) {
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) {
                    double e = x[base + i * s + j];
                    if (additive) {
                        upper &= j > i ? e <= VERY_NEGATIVE : e == 0;
                    } else {
                        upper &= (e != 0) == (j > i);
                        lower &= (e != 0) == (j <= i);
                    }
                }
            }
        }
        if (additive) {
            return upper ? Tri.UPPER : null;
        }
        return upper ? Tri.UPPER : lower ? Tri.LOWER : null;
    }
}
