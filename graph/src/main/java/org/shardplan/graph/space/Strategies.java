package org.shardplan.graph.space;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Enumerates the strategies of an iteration space on a number of devices: every assignment of a
 * factor to each splittable loop dimension whose product divides the device count (so the blocks tile
 * the devices, the rest replicating) or, optionally, is at most the device count; optionally only
 * those that cut every dimension and tensor axis evenly.
 *
 * <p>Running time: a depth-first search over the splittable dimensions; the number of strategies is
 * the number of ordered factorisations of the divisors of P over those dimensions
 * ({@code sum over e<=log2 P of C(e+D-1, D-1)} for a power of two P and D dimensions: 210 for four
 * dimensions on 64 devices), each checked in time linear in the tensor axes.
 */
public final class Strategies {
    private Strategies() {
    }

    /**
     * What to enumerate.
     *
     * @param kinds the kinds of loop dimension that may be split
     * @param evenOnly keep only strategies that {@link IterationSpace#divides} the space
     * @param useAllDevices keep only strategies whose product is the device count (the replicated
     *     strategy is still kept)
     * @param maxStrategies keep at most this many (0: no cap): those using the most devices, then those
     *     splitting fewer dimensions, then in search order; the replicated strategy is always kept
     * @param divisorsOnly keep only products that divide the device count (default); when false, any
     *     product up to it (5 of 12 devices, say)
     */
    public record Options(Set<LoopKind> kinds, boolean evenOnly, boolean useAllDevices, int maxStrategies,
                          boolean divisorsOnly) {
        public Options {
            kinds = Set.copyOf(EnumSet.copyOf(Objects.requireNonNull(kinds, "kinds").isEmpty()
                    ? EnumSet.noneOf(LoopKind.class) : kinds));
            if (maxStrategies < 0) {
                throw new IllegalArgumentException("maxStrategies must be >= 0, found " + maxStrategies);
            }
        }

        /** Every splittable kind, even splits only, any product dividing the device count, no cap. */
        public static Options defaults() {
            return new Options(EnumSet.of(LoopKind.PARALLEL, LoopKind.SPATIAL, LoopKind.REDUCTION, LoopKind.COUPLED),
                    true, false, 0, true);
        }

        public Options withKinds(Set<LoopKind> k) {
            return new Options(k, evenOnly, useAllDevices, maxStrategies, divisorsOnly);
        }

        public Options withEvenOnly(boolean b) {
            return new Options(kinds, b, useAllDevices, maxStrategies, divisorsOnly);
        }

        public Options withUseAllDevices(boolean b) {
            return new Options(kinds, evenOnly, b, maxStrategies, divisorsOnly);
        }

        public Options withMaxStrategies(int n) {
            return new Options(kinds, evenOnly, useAllDevices, n, divisorsOnly);
        }

        public Options withDivisorsOnly(boolean b) {
            return new Options(kinds, evenOnly, useAllDevices, maxStrategies, b);
        }
    }

    /** The strategies with {@link Options#defaults()}. */
    public static List<Strategy> enumerate(IterationSpace space, int devices) {
        return enumerate(space, devices, Options.defaults());
    }

    /**
     * The strategies of {@code space} on {@code devices} devices, replicated first, then in search order
     * (dimensions in loop order, factors ascending) unless capped.
     *
     * @throws IllegalArgumentException if {@code devices < 1}
     */
    public static List<Strategy> enumerate(IterationSpace space, int devices, Options opts) {
        if (devices < 1) {
            throw new IllegalArgumentException("device count must be >= 1, found " + devices);
        }
        List<LoopDim> dims = new ArrayList<>();
        for (LoopDim d : space.splittableDims()) {
            if (opts.kinds().contains(d.kind())) {
                dims.add(d);
            }
        }
        List<Strategy> out = new ArrayList<>();
        search(space, dims, 0, devices, 1, new LinkedHashMap<>(), opts, devices, out);
        if (opts.maxStrategies() > 0 && out.size() > opts.maxStrategies()) {
            List<Strategy> rest = mostDevicesFirst(out.subList(1, out.size()));
            List<Strategy> capped = new ArrayList<>();
            capped.add(out.get(0));
            capped.addAll(rest.subList(0, opts.maxStrategies() - 1));
            out = capped;
        }
        return List.copyOf(out);
    }

    /**
     * The strategies by devices used, most first, then by dimensions split, fewest first, ties in their
     * order: a stable sort, each strategy's devices worked out once (the searches of large device counts
     * find tens of thousands). O(n log n).
     */
    static List<Strategy> mostDevicesFirst(List<Strategy> in) {
        int n = in.size();
        int maxDims = 0;
        for (Strategy s : in) {
            maxDims = Math.max(maxDims, s.factors().size());
        }
        if (n >= 1 << 26 || maxDims >= 64) {
            List<Strategy> r = new ArrayList<>(in);
            r.sort(Comparator.comparingInt(Strategy::devices).reversed().thenComparingInt(s -> s.factors().size()));
            return r;
        }
        // one key per strategy, unique (the position breaks ties), so any sort gives the stable order:
        // devices descending in the high 32 bits, then dimensions split (6 bits), then the position (26 bits)
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            Strategy s = in.get(i);
            keys[i] = ((long) (Integer.MAX_VALUE - s.devices()) << 32) | ((long) s.factors().size() << 26) | i;
        }
        java.util.Arrays.sort(keys);
        List<Strategy> r = new ArrayList<>(n);
        for (long k : keys) {
            r.add(in.get((int) (k & ((1 << 26) - 1))));
        }
        return r;
    }

    /**
     * The strategies below the factors chosen so far ({@code cur}, whose product is {@code used}); the checks of a
     * whole choice read {@code cur} before a strategy is made of it (most choices of many devices are dropped).
     */
    private static void search(IterationSpace space, List<LoopDim> dims, int i, int remaining, long used,
                               Map<String, Integer> cur, Options opts, int devices, List<Strategy> out) {
        if (i == dims.size()) {
            if (opts.useAllDevices() && used != devices && used != 1) {
                return;
            }
            if (opts.evenOnly() && !space.divides(cur)) {
                return;
            }
            out.add(new Strategy(cur));
            return;
        }
        LoopDim d = dims.get(i);
        for (int f = 1; f <= remaining; f++) {
            if ((opts.divisorsOnly() && remaining % f != 0) || f > d.extent()) {
                continue;
            }
            if (opts.evenOnly() && d.extent() % f != 0) {
                continue;
            }
            if (f > 1) {
                cur.put(d.name(), f);
            }
            search(space, dims, i + 1, remaining / f, used * f, cur, opts, devices, out);
            cur.remove(d.name());
        }
    }
}
