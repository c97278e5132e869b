package org.shardplan.graph.space;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * A split factor per loop dimension of an {@link IterationSpace}: PaSE's "configuration". The
 * operator's iterations are cut into {@link #devices()} equal blocks, one per device; dimensions not
 * named have factor 1. Factors of 1 are dropped, so two strategies are equal exactly when they split
 * the same dimensions by the same factors. The map keeps the order it was given in.
 *
 * @param factors the factor (at least 2) of each split loop dimension, by name
 */
public record Strategy(Map<String, Integer> factors) {

    private static final Strategy REPLICATED = new Strategy(Map.of());

    public Strategy {
        Objects.requireNonNull(factors, "factors");
        Map<String, Integer> m = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : factors.entrySet()) {
            int f = Objects.requireNonNull(e.getValue(), "factor");
            if (f < 1) {
                throw new IllegalArgumentException("split factor of '" + e.getKey() + "' must be >= 1, found " + f);
            }
            if (f > 1) {
                m.put(e.getKey(), f);
            }
        }
        factors = java.util.Collections.unmodifiableMap(m);
        long p = 1;
        for (int f : factors.values()) {
            p = Math.multiplyExact(p, f);
        }
        if (p > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("strategy " + factors + " uses more than 2^31 devices");
        }
    }

    /** No dimension split: every device runs the whole operator (or only one device is used). */
    public static Strategy replicated() {
        return REPLICATED;
    }

    /** The strategy with these factors (entries of 1 are dropped). */
    public static Strategy of(Map<String, Integer> factors) {
        return new Strategy(factors);
    }

    /** A strategy splitting one dimension. */
    public static Strategy of(String dim, int factor) {
        return new Strategy(Map.of(dim, factor));
    }

    /** A strategy splitting two dimensions. */
    public static Strategy of(String dim1, int factor1, String dim2, int factor2) {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(dim1, factor1);
        m.put(dim2, factor2);
        return new Strategy(m);
    }

    /** This strategy with one more (or a changed) factor. */
    public Strategy with(String dim, int factor) {
        Map<String, Integer> m = new LinkedHashMap<>(factors);
        m.put(dim, factor);
        return new Strategy(m);
    }

    /** The factor of a dimension (1 if not split). */
    public int factor(String dim) {
        return factors.getOrDefault(dim, 1);
    }

    /** The number of blocks: the product of the factors. */
    public int devices() {
        int p = 1;
        for (int f : factors.values()) {
            p *= f;
        }
        return p;
    }

    /** Whether no dimension is split. */
    public boolean isReplicated() {
        return factors.isEmpty();
    }

    /** {@code {m=2, n=4}}, or {@code {}} for the replicated strategy. */
    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(", ", "{", "}");
        factors.forEach((k, v) -> j.add(k + "=" + v));
        return j.toString();
    }
}
