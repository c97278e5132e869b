package org.shardplan.planner.strategy;

import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.Link;
import org.shardplan.cost.comm.Algorithm;
import org.shardplan.cost.comm.Collective;
import org.shardplan.cost.comm.CollectiveModel;

/**
 * Times of the collectives a layout needs, over the devices that differ only in some digits of the
 * device index ({@link DeviceDigits}). Such a group holds {@code m} devices in each of {@code k}
 * cluster nodes (m the product of its intra-node digits' radices), so the alpha-beta model of
 * {@link CollectiveModel} applies: the faster of ring and tree on the bottleneck link, or the
 * hierarchical algorithm when the group spans several nodes with several devices in each; an all-reduce
 * may also run as a reduce-scatter followed by an all-gather. O(digits).
 */
public final class Collectives {
    private final DeviceDigits dd;
    private final Link inner;
    private final Link outer;
    /** The slower of the two in each respect: a message or collective that crosses nodes (made once). */
    private final Link crossing;

    public Collectives(Cluster cluster, DeviceDigits dd) {
        this.dd = dd;
        Link in = cluster.nodes().get(0).intraNode();
        for (org.shardplan.cost.cluster.ClusterNode n : cluster.nodes()) {
            in = Link.bottleneck(in, n.intraNode());
        }
        this.inner = in; // a collective is as fast as its slowest node's link
        this.outer = cluster.interNode();
        this.crossing = Link.bottleneck(inner, outer);
    }

    public DeviceDigits digits() {
        return dd;
    }

    /** Time of collective {@code c} of {@code bytes} (as {@link Collective} defines them) over the digits' group. */
    public double seconds(Collective c, int[] digits, double bytes) {
        int m = 1;
        int k = 1;
        for (int d : digits) {
            if (dd.intra(d)) {
                m *= dd.radix(d);
            } else {
                k *= dd.radix(d);
            }
        }
        int p = m * k;
        if (p == 1 || bytes <= 0) {
            return 0;
        }
        Link flatLink = k == 1 ? inner : crossing;
        double best = Math.min(CollectiveModel.flat(c, Algorithm.RING, p, flatLink, bytes),
                CollectiveModel.flat(c, Algorithm.TREE, p, flatLink, bytes));
        if (k >= 2 && m >= 2) {
            best = Math.min(best, CollectiveModel.hierarchical(c, k, m, inner, outer, bytes));
        }
        if (c == Collective.ALL_REDUCE) {
            // Rabenseifner's all-reduce: a reduce-scatter, then an all-gather (Thakur, Rabenseifner and
            // Gropp, 2005, Section 4.4); so an all-reduce never costs more than the two halves priced apart
            best = Math.min(best, seconds(Collective.REDUCE_SCATTER, digits, bytes)
                    + seconds(Collective.ALL_GATHER, digits, bytes));
        }
        return best;
    }

    /** The bucket size {@link #bucketedSeconds} takes for collectives run per tensor, unbucketed (FSDP's units). */
    public static final double PER_TENSOR = 0;

    /**
     * A tensor's share of a collective that runs in buckets of {@code bucket} bytes: the tensors of a group
     * are packed into buckets and each bucket is one collective, so a tensor smaller than a bucket pays its
     * bytes' share of a full bucket's time, {@code min(t(b), b / B t(B))}, and a larger one its own time.
     * The shares add up to the buckets' times when the tensors fill them, and a tensor never pays more
     * than alone. This is how data-parallel training reduces gradients (DDP's buckets, DeepSpeed's
     * reduce buckets, Megatron-LM's contiguous gradient buffer): one latency per bucket, not per tensor.
     * O(digits).
     */
    public double bucketedSeconds(Collective c, int[] digits, double bytes, double bucket) {
        return bucketShare(c, digits, bytes, bucket).seconds();
    }

    /**
     * A tensor's part of a bucketed collective: its {@code seconds} ({@link #bucketedSeconds}) and the {@code share} of
     * one collective's latency they hold ({@code b / B} where it shares a bucket, 1 where it pays its own collective,
     * 0 where nothing runs).
     */
    public record BucketShare(double seconds, double share) {
    }

    /** {@link #bucketedSeconds} with the share of a latency it holds ({@link BucketShare}). O(digits). */
    public BucketShare bucketShare(Collective c, int[] digits, double bytes, double bucket) {
        // PER_TENSOR (0): every size is at least the bucket, so each tensor pays its own collective
        double alone = seconds(c, digits, bytes);
        if (alone <= 0) {
            return new BucketShare(alone, 0);
        }
        if (bytes >= bucket) {
            return new BucketShare(alone, 1);
        }
        double shared = bytes / bucket * seconds(c, digits, bucket);
        return shared < alone ? new BucketShare(shared, bytes / bucket) : new BucketShare(alone, 1);
    }

    /** The latency of collective {@code c} over the digits' group: its time for one byte. O(digits). */
    public double latency(Collective c, int[] digits) {
        return seconds(c, digits, 1);
    }

    /** Bytes one device sends (and receives) in a ring collective of {@code bytes} over the digits' group. */
    public double bytesMoved(Collective c, int[] digits, double bytes) {
        int p = groupSize(digits);
        if (p == 1) {
            return 0;
        }
        double frac = (p - 1.0) / p;
        return switch (c) {
            case ALL_REDUCE -> 2 * frac * bytes;
            case ALL_GATHER, REDUCE_SCATTER, ALL_TO_ALL -> frac * bytes;
            case BROADCAST, POINT_TO_POINT -> bytes;
        };
    }

    /** Number of devices of the digits' group. */
    public int groupSize(int[] digits) {
        int p = 1;
        for (int d : digits) {
            p *= dd.radix(d);
        }
        return p;
    }

    /** Whether any of the digits crosses nodes. */
    public boolean crossesNodes(int[] digits) {
        for (int d : digits) {
            if (!dd.intra(d)) {
                return true;
            }
        }
        return false;
    }

    /** Time to receive {@code bytes} from devices that differ in the given digits: one message on the slowest link. */
    public double transferSeconds(double bytes, boolean crossesNodes) {
        if (bytes <= 0) {
            return 0;
        }
        return (crossesNodes ? crossing : inner).transferSeconds(bytes);
    }
}
