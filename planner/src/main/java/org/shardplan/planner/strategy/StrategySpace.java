package org.shardplan.planner.strategy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.Strategies;
import org.shardplan.graph.space.Strategy;

/**
 * The candidate layouts of one operator: every even split of its splittable loop dimensions whose
 * factors multiply to a divisor of the device count ({@link Strategies#enumerate}), each placed on
 * the device hierarchy in every order of its split dimensions that gives a different share of
 * intra-node devices per dimension. The replicated layout comes first. With a cap, at most
 * {@code cap / 2} strategies are placed (those using most devices with fewest split dimensions) and
 * the layouts are capped in the same preference; the
 * {@code required} layouts (the standard families', {@code Baselines.familyLayouts}: data parallelism,
 * Megatron with and without sequence parallelism at each tensor-parallel degree) are always added.
 *
 * <p>More devices never remove a candidate: the layouts of {@code dd} include, copied over its most
 * significant digit ({@link #copied}), the layouts of the devices without that digit
 * ({@link DeviceDigits#withoutTopDigit}, the first {@code P / r} devices), and so, recursively, those of
 * every device count of the chain {@code P, P / r, ...} (for 64 devices: 32, 16, 8, 4, 2, 1). A plan for
 * fewer devices is therefore a point of the search on more devices, with the same cost (copies of a
 * block compute the same values and gradients: no collective runs over copy digits). With a cap, the
 * layouts that need the top digit are capped apart from the copied ones, so the candidates grow by at
 * most {@code cap} per digit (cap 64 on 64 devices: at most 64 · 6 + 1) and always hold the
 * {@code cap} layouts a cap over this device count alone would keep. Runs in
 * O(digits · strategies · k!) for k split dimensions per strategy.
 */
public final class StrategySpace {
    private StrategySpace() {
    }

    /**
     * The layouts of {@code space} on the devices {@code dd}.
     *
     * @param cap the most layouts to keep before the required ones are added (0: no cap)
     * @param required layouts that must be candidates
     */
    public static List<Layout> layouts(IterationSpace space, DeviceDigits dd, int cap, List<Layout> required) {
        return layouts(space, dd, cap, required, copied());
    }

    /**
     * Whether the candidates of fewer devices are kept, copied, so that a plan on more devices can
     * always do what a plan on fewer does ({@code -Dshardplan.copiedCandidates=true}). Off by default:
     * they triple to quintuple the candidates at 64 devices and the search's time with them, and on
     * densely connected models the elimination then no longer finishes within its limit.
     */
    public static boolean copied() {
        return Boolean.getBoolean("shardplan.copiedCandidates");
    }

    /** {@link #layouts(IterationSpace, DeviceDigits, int, List)}, with or without the copied candidates. */
    public static List<Layout> layouts(IterationSpace space, DeviceDigits dd, int cap, List<Layout> required,
            boolean withCopies) {
        // every candidate of the devices without the most significant digit, its blocks copied over that
        // digit: so the candidates on P devices hold those on each P' of the chain P, P/r, ... below it
        List<Layout> lifted = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        Optional<DeviceDigits> fewer = withCopies ? dd.withoutTopDigit() : Optional.empty();
        if (fewer.isPresent()) {
            for (Layout small : layouts(space, fewer.get(), cap, List.of(), true)) {
                Layout copied = copied(small, dd);
                if (seen.add(copied.key())) {
                    lifted.add(copied);
                }
            }
        }
        int devices = dd.devices();
        List<Strategy> strategies = Strategies.enumerate(space, devices,
                Strategies.Options.defaults().withMaxStrategies(cap > 0 ? Math.max(2, cap / 2) : 0));
        List<Layout> own = new ArrayList<>();
        for (Strategy s : strategies) {
            for (Layout l : placements(s, dd)) {
                if (seen.add(l.key())) {
                    own.add(l);
                }
            }
        }
        // the layouts that use the top digit, capped alone: the candidates hold at least those the cap kept
        // before the copied ones were added, so adding them never makes a plan slower either
        int ownCap = Math.max(0, cap);
        if (ownCap > 0 && own.size() > ownCap) {
            // replicated first, then the most devices, then the fewest split dimensions; a stable sort on
            // keys computed once per layout
            int n = own.size();
            int[] replicated = new int[n];
            int[] devicesUsed = new int[n];
            int[] splits = new int[n];
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                Strategy s = own.get(i).strategy();
                replicated[i] = s.isReplicated() ? 0 : 1;
                devicesUsed[i] = -s.devices();
                splits[i] = s.factors().size();
                order[i] = i;
            }
            java.util.Arrays.sort(order, Comparator.comparingInt((Integer i) -> replicated[i])
                    .thenComparingInt(i -> devicesUsed[i]).thenComparingInt(i -> splits[i]));
            List<Layout> first = new ArrayList<>(ownCap);
            for (int i = 0; i < ownCap; i++) {
                first.add(own.get(order[i]));
            }
            own = first;
        }
        List<Layout> out = new ArrayList<>(lifted);
        out.addAll(own);
        Set<String> kept = new HashSet<>();
        out.forEach(l -> kept.add(l.key()));
        for (Layout r : required) {
            if (kept.add(r.key())) {
                out.add(r);
            }
        }
        return List.copyOf(out);
    }

    /**
     * The placements of each strategy kept by devices and by the strategy's factors in their order: the
     * nodes of a model share few iteration spaces but many strategies (the same split of the same
     * dimensions), and every builder of a search on the same devices asks for them again. Bounded: past
     * {@link #PLACED_PER_DEVICES} strategies on one set of devices, placements are made without keeping them.
     */
    private static final Map<DeviceDigits, Map<String, List<Layout>>> PLACED = new ConcurrentHashMap<>();
    static final int PLACED_PER_DEVICES = 20_000;

    /**
     * The layouts of one strategy on the devices: for each order of its dimensions (every order when the
     * devices span several nodes, else the strategy's own), the layout it places, the first of each
     * distinct share of the nodes' devices per dimension. O(k! · digits) for k split dimensions the first time
     * for a strategy and devices, a look-up after.
     */
    static List<Layout> placements(Strategy s, DeviceDigits dd) {
        Map<String, List<Layout>> byFactors = PLACED.computeIfAbsent(dd, x -> new ConcurrentHashMap<>());
        // the factors' order matters: without permutations it is the placement order
        String key = s.factors().toString();
        List<Layout> kept = byFactors.get(key);
        if (kept != null) {
            return kept;
        }
        List<Layout> r = new ArrayList<>();
        List<String> dims = new ArrayList<>(s.factors().keySet());
        Set<String> shares = new HashSet<>();
        for (List<String> order : orders(dims, dd.devices() > dd.devicesPerNode())) {
            Optional<Layout> l = Layout.place(s, order, dd);
            if (l.isEmpty()) {
                continue;
            }
            String share = new java.util.TreeMap<>(l.get().intraNode()).toString();
            if (shares.add(share)) {
                r.add(l.get());
            }
        }
        r = List.copyOf(r);
        if (byFactors.size() < PLACED_PER_DEVICES) {
            byFactors.putIfAbsent(key, r);
        }
        return r;
    }

    /**
     * A layout of the devices {@code dd.withoutTopDigit()} (or of any prefix of {@code dd}'s digits) on
     * the devices {@code dd}: the same split on the same digits, its blocks copied over the digits
     * above. Each device of the larger set computes what the device of the smaller set with the same
     * low digits computes, so the collectives of a node (their groups are the split dimensions' digits)
     * and the resharding between nodes are those of the smaller set. O(digits).
     *
     * @throws IllegalArgumentException if the layout's digits are not those of {@code dd}'s low digits
     */
    public static Layout copied(Layout small, DeviceDigits dd) {
        Layout l = Layout.place(small.strategy(), small.placement(), dd).orElseThrow(() -> new IllegalArgumentException(
                "layout " + small.label() + " must fit the devices " + dd + ", found it does not"));
        if (!l.key().equals(small.key())) {
            throw new IllegalArgumentException("layout " + small.label() + " must lie on the low digits of " + dd
                    + ", found " + small.key() + " placed as " + l.key());
        }
        return l;
    }

    /** Every order of {@code dims} when {@code permute}, else just the given order. */
    static List<List<String>> orders(List<String> dims, boolean permute) {
        List<List<String>> r = new ArrayList<>();
        if (!permute || dims.size() <= 1) {
            r.add(List.copyOf(dims));
            return r;
        }
        permutations(new ArrayList<>(dims), 0, r);
        return r;
    }

    private static void permutations(List<String> a, int i, List<List<String>> out) {
        if (i == a.size()) {
            out.add(List.copyOf(a));
            return;
        }
        for (int j = i; j < a.size(); j++) {
            java.util.Collections.swap(a, i, j);
            permutations(a, i + 1, out);
            java.util.Collections.swap(a, i, j);
        }
    }

    /**
     * The layout of a strategy given as factors and a placement (as a plan file stores it), checked
     * against the operator's space.
     *
     * @throws IllegalArgumentException naming the dimension when the strategy does not fit the space
     *     or the devices
     */
    public static Layout layoutOf(IterationSpace space, Map<String, Integer> factors, List<String> placement,
            DeviceDigits dd) {
        Strategy s = space.check(Strategy.of(new LinkedHashMap<>(factors)));
        if (dd.devices() % s.devices() != 0) {
            throw new IllegalArgumentException("the product of the split factors " + s + " must divide the "
                    + dd.devices() + " devices, found " + s.devices());
        }
        if (!space.divides(s)) {
            throw new IllegalArgumentException("strategy " + s + " must split every dimension evenly (extents "
                    + space.extents() + ")");
        }
        List<String> order = placement.isEmpty() ? new ArrayList<>(s.factors().keySet()) : placement;
        return Layout.place(s, order, dd).orElseThrow(() -> new IllegalArgumentException("strategy " + s
                + " cannot be placed on devices with digits " + dd));
    }
}
