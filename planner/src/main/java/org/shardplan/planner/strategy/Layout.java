package org.shardplan.planner.strategy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.Strategy;
import org.shardplan.graph.space.TensorIndexing;

/**
 * A {@link Strategy} laid out on the device hierarchy: each split loop dimension owns some digits of
 * the device index ({@link DeviceDigits}). Dimensions are placed innermost first in
 * {@link #placement()}: the first takes the lowest digits (devices of one node), the next the
 * following ones, and so on; digits left over index copies (devices computing the same block). From
 * the digits follow the groups of every collective (and whether they cross the network) and the
 * block every device holds of every tensor.
 *
 * @param strategy the split factors
 * @param placement the split dimensions, innermost first
 * @param digits per split dimension, its digits, most significant first
 * @param intraNode per split dimension, the product of its digits' radices that lie inside a node
 * @param key a stable key: equal for equal strategies placed on equal digits (computed from the
 *     other components whatever is passed; kept so that comparisons do not build it again)
 */
public record Layout(Strategy strategy, List<String> placement, Map<String, int[]> digits,
        Map<String, Integer> intraNode, String key) {

    public Layout {
        Objects.requireNonNull(strategy, "strategy");
        placement = List.copyOf(placement);
        digits = Collections.unmodifiableMap(new LinkedHashMap<>(digits));
        intraNode = Collections.unmodifiableMap(new LinkedHashMap<>(intraNode));
        key = keyOf(strategy, placement, digits);
    }

    /** A layout; its key is computed. */
    public Layout(Strategy strategy, List<String> placement, Map<String, int[]> digits, Map<String, Integer> intraNode) {
        this(strategy, placement, digits, intraNode, "");
    }

    /** The layout of a strategy with no split: one block, every device a copy. */
    public static Layout replicated() {
        return new Layout(Strategy.replicated(), List.of(), Map.of(), Map.of());
    }

    /**
     * Places {@code strategy} with its dimensions in {@code placement} order (innermost first); each
     * dimension takes, from the lowest free digit up, digits whose radices divide what its factor still
     * needs. Empty when the factors cannot be made from the free digits.
     *
     * @throws IllegalArgumentException if {@code placement} does not list exactly the split dimensions
     */
    public static java.util.Optional<Layout> place(Strategy strategy, List<String> placement, DeviceDigits dd) {
        List<String> dimsOnly = new ArrayList<>();
        for (String d : placement) {
            if (!d.startsWith(COPIES)) {
                dimsOnly.add(d);
            }
        }
        // as many names as split dimensions, each of them among the names: each exactly once
        if (dimsOnly.size() != strategy.factors().size() || !dimsOnly.containsAll(strategy.factors().keySet())) {
            throw new IllegalArgumentException("placement must list the split dimensions " + strategy.factors().keySet()
                    + " once each, found " + placement);
        }
        boolean[] used = new boolean[dd.size()];
        Map<String, int[]> digits = new LinkedHashMap<>();
        Map<String, Integer> intra = new LinkedHashMap<>();
        for (String dim : placement) {
            int need = dim.startsWith(COPIES) ? copies(dim) : strategy.factor(dim);
            List<Integer> mine = new ArrayList<>();
            int in = 1;
            for (int d = 0; d < dd.size() && need > 1; d++) {
                if (!used[d] && need % dd.radix(d) == 0) {
                    used[d] = true;
                    need /= dd.radix(d);
                    mine.add(d);
                    if (dd.intra(d)) {
                        in *= dd.radix(d);
                    }
                }
            }
            if (need != 1) {
                return java.util.Optional.empty();
            }
            if (dim.startsWith(COPIES)) {
                continue;
            }
            int[] msbFirst = new int[mine.size()];
            for (int i = 0; i < msbFirst.length; i++) {
                msbFirst[i] = mine.get(mine.size() - 1 - i);
            }
            digits.put(dim, msbFirst);
            intra.put(dim, in);
        }
        return java.util.Optional.of(new Layout(strategy, placement, digits, intra));
    }

    /**
     * Prefix of a placement entry that reserves digits for copies instead of a dimension: {@code "~8"}
     * in a placement puts 8 copies of every block at that level (Megatron keeps the tensor-parallel
     * group inside a node this way for the layers it does not split).
     */
    public static final String COPIES = "~";

    /**
     * N of a placement entry {@code ~N} ({@link #COPIES}).
     *
     * @throws IllegalArgumentException where N is not an integer >= 1
     */
    public static int copies(String entry) {
        try {
            int c = Integer.parseInt(entry.substring(COPIES.length()));
            if (c < 1) {
                throw new NumberFormatException();
            }
            return c;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("placement entry " + entry + " must be ~N with N >= 1 copies");
        }
    }

    /** The digits of a dimension, most significant first (none when it is not split). */
    public int[] digitsOf(String dim) {
        int[] d = digits.get(dim);
        return d == null ? new int[0] : d;
    }

    /** The digits of several dimensions together (a collective over them). */
    public int[] digitsOf(List<String> dims) {
        if (dims.size() == 1) {
            return digitsOf(dims.get(0)).clone();
        }
        int n = 0;
        for (int k = 0; k < dims.size(); k++) {
            n += digitsOf(dims.get(k)).length;
        }
        int[] r = new int[n];
        int i = 0;
        for (int k = 0; k < dims.size(); k++) {
            int[] dd = digitsOf(dims.get(k));
            System.arraycopy(dd, 0, r, i, dd.length);
            i += dd.length;
        }
        return r;
    }

    /**
     * The digits that index each axis of a tensor, most significant first: for an axis flattened from
     * several loop dimensions, the outer dimension's digits come first.
     */
    public int[][] tensorDigits(TensorIndexing t) {
        int[][] r = new int[t.axes().size()][];
        // indexed loops: the quick compiler the planner runs on allocates an iterator for each for-each over a list
        for (int a = 0; a < r.length; a++) {
            List<String> dims = t.axes().get(a).dims();
            int n = 0;
            for (int k = 0; k < dims.size(); k++) {
                n += digitsOf(dims.get(k)).length;
            }
            int[] x = new int[n];
            int i = 0;
            for (int k = 0; k < dims.size(); k++) {
                int[] dd = digitsOf(dims.get(k));
                System.arraycopy(dd, 0, x, i, dd.length);
                i += dd.length;
            }
            r[a] = x;
        }
        return r;
    }

    private static String keyOf(Strategy strategy, List<String> placement, Map<String, int[]> digits) {
        StringBuilder b = new StringBuilder();
        for (String d : placement) {
            if (d.startsWith(COPIES)) {
                b.append(d).append(';');
                continue;
            }
            b.append(d).append('=').append(strategy.factor(d)).append(java.util.Arrays.toString(digits.get(d))).append(';');
        }
        return b.toString();
    }

    /** {@code b=8 n=8}, with {@code (n in node)} when a factor crosses nodes. */
    public String label() {
        if (strategy.isReplicated()) {
            return "replicated";
        }
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, Integer> e : strategy.factors().entrySet()) {
            b.append(b.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(e.getValue());
            int in = intraNode.getOrDefault(e.getKey(), 1);
            if (in != e.getValue()) {
                b.append(in == 1 ? "@net" : "@" + in + "x" + (e.getValue() / in));
            }
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l && key.equals(l.key);
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }

    @Override
    public String toString() {
        return label();
    }
}
