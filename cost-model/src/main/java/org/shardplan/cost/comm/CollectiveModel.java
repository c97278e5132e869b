package org.shardplan.cost.comm;

import java.util.Optional;
import org.shardplan.cost.cluster.DeviceGroup;
import org.shardplan.cost.cluster.Link;

/**
 * Time of a collective in the alpha-beta model. With p devices, n bytes (see {@link Collective}
 * for what n is), alpha the link latency, beta = 1/bandwidth and L = ceil(log2 p):
 *
 * <pre>
 *                   RING                          TREE
 * all-reduce        2(p-1)·alpha + 2(p-1)/p·n·beta  2L·alpha + 2·n·beta
 * all-gather        (p-1)·alpha + (p-1)/p·n·beta    L·alpha + (p-1)/p·n·beta
 * reduce-scatter    (p-1)·alpha + (p-1)/p·n·beta    L·alpha + (p-1)/p·n·beta
 * all-to-all        (p-1)·alpha + (p-1)/p·n·beta    L·alpha + L·n/2·beta
 * broadcast         (p-1)·alpha + n·beta            L·(alpha + n·beta)
 * point-to-point    alpha + n·beta                  alpha + n·beta
 * </pre>
 *
 * A flat algorithm over a group that spans nodes runs at the bottleneck link (smaller bandwidth,
 * larger latency). A group of k nodes with m devices on each (p = k·m) can also go
 * {@link Algorithm#HIERARCHICAL}, the best flat algorithm at each level:
 *
 * <pre>
 * all-reduce      RS_inner(m, n) + AR_outer(k, n/m) + AG_inner(m, n)
 * all-gather      AG_outer(k, n/m) + AG_inner(m, n)
 * reduce-scatter  RS_inner(m, n) + RS_outer(k, n/m)
 * all-to-all      A2A_inner(m, n) + (k-1)·alpha_o + (k-1)/k·n·beta_o
 * broadcast       BC_outer(k, n) + BC_inner(m, n)
 * </pre>
 *
 * (the m devices of a node each use their own share of the network at once). A group of one
 * device costs nothing. Every method runs in O(1) apart from reading the group's placement.
 */
public final class CollectiveModel {

    /** A time and the algorithm that achieves it. */
    public record Estimate(double seconds, Algorithm algorithm) {}

    private CollectiveModel() {}

    /** ceil(log2 p) for p &ge; 1. */
    static int log2Ceil(int p) {
        return p <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(p - 1);
    }

    /** A flat (one-level) algorithm over p devices joined by {@code link}; HIERARCHICAL is not flat. */
    public static double flat(Collective c, Algorithm a, int p, Link link, double bytes) {
        if (p < 1) {
            throw new IllegalArgumentException("a collective needs at least one device, found " + p);
        }
        if (!(bytes >= 0)) {
            throw new IllegalArgumentException("bytes must be >= 0, found " + bytes);
        }
        if (p == 1 || bytes == 0) {
            return 0.0;
        }
        double alpha = link.latencySeconds();
        double beta = 1.0 / link.bandwidthBytesPerSecond();
        double n = bytes;
        double frac = (p - 1.0) / p;
        int l = log2Ceil(p);
        return switch (a) {
            case RING -> switch (c) {
                case ALL_REDUCE -> 2 * (p - 1) * alpha + 2 * frac * n * beta;
                case ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL -> (p - 1) * alpha + frac * n * beta;
                case BROADCAST -> (p - 1) * alpha + n * beta;
                case POINT_TO_POINT -> alpha + n * beta;
            };
            case TREE -> switch (c) {
                case ALL_REDUCE -> 2 * l * alpha + 2 * n * beta;
                case ALL_GATHER, REDUCE_SCATTER -> l * alpha + frac * n * beta;
                case ALL_TO_ALL -> l * alpha + l * (n / 2) * beta;
                case BROADCAST -> l * (alpha + n * beta);
                case POINT_TO_POINT -> alpha + n * beta;
            };
            case HIERARCHICAL -> throw new IllegalArgumentException("HIERARCHICAL is not a flat algorithm");
        };
    }

    /** The faster of ring and tree over p devices on one link. */
    public static Estimate bestFlat(Collective c, int p, Link link, double bytes) {
        double ring = flat(c, Algorithm.RING, p, link, bytes);
        double tree = flat(c, Algorithm.TREE, p, link, bytes);
        return tree < ring ? new Estimate(tree, Algorithm.TREE) : new Estimate(ring, Algorithm.RING);
    }

    /**
     * Two-level algorithm for k nodes of m devices each (formulas in the class comment); each
     * level uses its faster flat algorithm.
     */
    public static double hierarchical(Collective c, int k, int m, Link inner, Link outer, double bytes) {
        if (k < 1 || m < 1) {
            throw new IllegalArgumentException("hierarchical collectives need k, m >= 1, found " + k + ", " + m);
        }
        double n = bytes;
        return switch (c) {
            case ALL_REDUCE -> bestFlat(Collective.REDUCE_SCATTER, m, inner, n).seconds()
                    + bestFlat(Collective.ALL_REDUCE, k, outer, n / m).seconds()
                    + bestFlat(Collective.ALL_GATHER, m, inner, n).seconds();
            case ALL_GATHER -> bestFlat(Collective.ALL_GATHER, k, outer, n / m).seconds()
                    + bestFlat(Collective.ALL_GATHER, m, inner, n).seconds();
            case REDUCE_SCATTER -> bestFlat(Collective.REDUCE_SCATTER, m, inner, n).seconds()
                    + bestFlat(Collective.REDUCE_SCATTER, k, outer, n / m).seconds();
            case ALL_TO_ALL -> bestFlat(Collective.ALL_TO_ALL, m, inner, n).seconds()
                    + (k <= 1 || n == 0 ? 0.0
                            : (k - 1) * outer.latencySeconds() + (k - 1.0) / k * n / outer.bandwidthBytesPerSecond());
            case BROADCAST -> bestFlat(Collective.BROADCAST, k, outer, n).seconds()
                    + bestFlat(Collective.BROADCAST, m, inner, n).seconds();
            case POINT_TO_POINT -> k > 1 ? outer.transferSeconds(n) : inner.transferSeconds(n);
        };
    }

    /** The time of one algorithm over a group; empty when the algorithm does not apply to the group. */
    public static Optional<Double> cost(Collective c, DeviceGroup g, double bytes, Algorithm a) {
        if (g.size() == 1) {
            return Optional.of(0.0);
        }
        if (c == Collective.POINT_TO_POINT) {
            // between the group's first and last device
            return Optional.of(g.cluster().linkBetween(g.devices().get(0), g.devices().get(g.size() - 1))
                    .transferSeconds(bytes));
        }
        if (a == Algorithm.HIERARCHICAL) {
            int m = g.uniformDevicesPerNode();
            int k = g.nodeCount();
            if (k < 2 || m < 2) {
                return Optional.empty();
            }
            return Optional.of(hierarchical(c, k, m, g.innerLink(), g.outerLink(), bytes));
        }
        return Optional.of(flat(c, a, g.size(), g.bottleneckLink(), bytes));
    }

    /** The fastest applicable algorithm for this collective over this group. */
    public static Estimate best(Collective c, DeviceGroup g, double bytes) {
        Estimate best = null;
        for (Algorithm a : Algorithm.values()) {
            Optional<Double> t = cost(c, g, bytes, a);
            if (t.isPresent() && (best == null || t.get() < best.seconds())) {
                best = new Estimate(t.get(), a);
            }
        }
        return best;
    }
}
