package org.shardplan.planner;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.planner.build.ProblemBuilder;

/**
 * Explains why no plan fits the memory limit: the least memory any plan needs (each node in its
 * smallest layout), the nodes that need most, and which changes would bring the least under the
 * limit (recomputation, ZeRO stage 3, more devices). O(alternatives · building the problem).
 */
final class Infeasible {
    private Infeasible() {
    }

    /** A size in the largest of GiB, MiB and KiB that it reaches, else in bytes. */
    static String size(double bytes) {
        double m = Math.abs(bytes);
        return m >= (1L << 30) ? String.format(Locale.ROOT, "%.2f GiB", bytes / (1L << 30))
                : m >= (1 << 20) ? String.format(Locale.ROOT, "%.1f MiB", bytes / (1 << 20))
                : m >= (1 << 10) ? String.format(Locale.ROOT, "%.1f KiB", bytes / (1 << 10))
                : String.format(Locale.ROOT, "%.0f B", bytes);
    }

    static double leastMemory(ProblemBuilder.Built b) {
        double s = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            s += minMemory(u);
        }
        return s;
    }

    private static double minMemory(ProblemBuilder.Unit u) {
        double m = Double.POSITIVE_INFINITY;
        for (ProblemBuilder.Cost c : u.costs()) {
            m = Math.min(m, c.memoryBytes());
        }
        return m;
    }

    static String explain(Planner p, CoarseGraph g, ProblemBuilder.Built b, double limit) {
        double least = leastMemory(b);
        StringBuilder s = new StringBuilder();
        s.append("no plan fits ").append(size(limit)).append(" per device: the least memory any plan needs is ")
                .append(size(least)).append(" (").append(size(least - limit)).append(" over)");
        List<ProblemBuilder.Unit> us = new ArrayList<>(b.units());
        us.sort(Comparator.comparingDouble((ProblemBuilder.Unit u) -> -minMemory(u)));
        List<String> alone = new ArrayList<>();
        for (ProblemBuilder.Unit u : us) {
            if (minMemory(u) > limit) {
                alone.add(u.name() + " needs " + size(minMemory(u)) + " by itself");
            }
        }
        if (!alone.isEmpty()) {
            s.append("; layers that do not fit alone: ").append(String.join(", ", alone.subList(0, Math.min(5, alone.size()))));
        } else {
            s.append("; largest layers: ");
            for (int i = 0; i < Math.min(3, us.size()); i++) {
                s.append(i == 0 ? "" : ", ").append(us.get(i).name()).append(" (").append(size(minMemory(us.get(i))))
                        .append(")");
            }
        }
        List<String> fits = new ArrayList<>();
        if (!p.memoryModel().recompute()) {
            fits.add(tryOne(p.withRecompute(true), g, limit, "--recompute"));
        }
        if (p.memoryModel().zeroStage() < 3) {
            fits.add(tryOne(p.withZeroStage(3), g, limit, "--zero 3"));
        }
        if (!p.memoryModel().recompute() && p.memoryModel().zeroStage() < 3) {
            fits.add(tryOne(p.withZeroStage(3).withRecompute(true), g, limit, "--recompute --zero 3"));
        }
        Cluster cl = p.cluster();
        if (cl.isHomogeneous()) {
            for (int k : new int[] {2, 4, 8}) {
                try {
                    Cluster bigger = Cluster.homogeneous(cl.device(0), cl.deviceCount() * k, cl.devicesPerNode());
                    fits.add(tryOne(p.withCluster(bigger), g, limit, (cl.deviceCount() * k) + " devices"));
                } catch (ClusterException e) {
                    // a size the device type cannot make: no answer for it
                }
            }
        }
        fits.removeIf(String::isEmpty);
        s.append(fits.isEmpty() ? "; neither recomputation, ZeRO stage 3 nor up to 8 times the devices would fit"
                : "; would fit: " + String.join(", ", fits));
        return s.toString();
    }

    private static String tryOne(Planner q, CoarseGraph g, double limit, String what) {
        double least = q.problemBuilder(g).leastMemory(g);
        return least <= limit ? what + " (needs at least " + size(least) + ")" : "";
    }
}
