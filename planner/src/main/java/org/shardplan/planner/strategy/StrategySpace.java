package org.shardplan.planner.strategy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.Strategies;
import org.shardplan.graph.space.Strategy;

/**
 * The candidate layouts of one operator: every even split of its splittable loop dimensions whose
 * factors multiply to a divisor of the device count ({@link Strategies#enumerate}), each placed on
 * the device hierarchy in every order of its split dimensions that gives a different share of
 * intra-node devices per dimension. The replicated layout comes first. With a cap, at most
 * {@code cap / 2} strategies are placed (those using most devices with fewest split dimensions) and at
 * most {@code cap} layouts kept, in the same preference; the
 * {@code required} layouts (the standard families', {@code Baselines.familyLayouts}: data parallelism,
 * Megatron with and without sequence parallelism at each tensor-parallel degree) are always added. Runs in O(strategies · k!) for k split
 * dimensions per strategy.
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
        int devices = dd.devices();
        List<Strategy> strategies = Strategies.enumerate(space, devices,
                Strategies.Options.defaults().withMaxStrategies(cap > 0 ? Math.max(2, cap / 2) : 0));
        List<Layout> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Strategy s : strategies) {
            List<String> dims = new ArrayList<>(s.factors().keySet());
            Set<String> shares = new HashSet<>();
            for (List<String> order : orders(dims, devices > dd.devicesPerNode())) {
                Optional<Layout> l = Layout.place(s, order, dd);
                if (l.isEmpty()) {
                    continue;
                }
                String share = new java.util.TreeMap<>(l.get().intraNode()).toString();
                if (shares.add(share) && seen.add(l.get().key())) {
                    out.add(l.get());
                }
            }
        }
        if (cap > 0 && out.size() > cap) {
            List<Layout> rest = new ArrayList<>(out.subList(1, out.size()));
            rest.sort(Comparator.comparingInt((Layout l) -> -l.strategy().devices())
                    .thenComparingInt(l -> l.strategy().factors().size()));
            List<Layout> capped = new ArrayList<>();
            capped.add(out.get(0));
            capped.addAll(rest.subList(0, cap - 1));
            out = capped;
            seen.clear();
            out.forEach(l -> seen.add(l.key()));
        }
        for (Layout r : required) {
            if (seen.add(r.key())) {
                out.add(r);
            }
        }
        return List.copyOf(out);
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
