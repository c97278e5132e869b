package org.shardplan.cost.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A set of devices of one cluster that take part in one collective. What a collective costs
 * depends on where its devices are: a group inside one node talks over the node's link (NVLink);
 * a group spanning nodes also crosses the network, and when it holds the same number of devices
 * on each node it can use a hierarchical algorithm (inner link, then network, then inner link).
 *
 * @param cluster the cluster the devices belong to
 * @param devices global device indices, ascending, distinct, at least one
 */
public record DeviceGroup(Cluster cluster, List<Integer> devices) {

    public DeviceGroup {
        Objects.requireNonNull(cluster, "cluster");
        devices = List.copyOf(devices);
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("a device group must hold at least one device, found none");
        }
        int n = cluster.deviceCount();
        int prev = -1;
        for (int d : devices) {
            if (d <= prev || d >= n) {
                throw new IllegalArgumentException("device group indices must be ascending, distinct and below "
                        + n + ", found " + devices);
            }
            prev = d;
        }
    }

    /** Devices {@code start, start+1, .., start+size-1}. */
    public static DeviceGroup range(Cluster cluster, int start, int size) {
        return strided(cluster, start, size, 1);
    }

    /** Devices {@code start, start+stride, .., start+(size-1)*stride}. */
    public static DeviceGroup strided(Cluster cluster, int start, int size, int stride) {
        List<Integer> d = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            d.add(start + i * stride);
        }
        return new DeviceGroup(cluster, d);
    }

    /** Number of devices. */
    public int size() {
        return devices.size();
    }

    /** How many devices of the group each spanned node holds, by node index, ascending. */
    public Map<Integer, Integer> devicesPerNode() {
        Map<Integer, Integer> m = new TreeMap<>();
        for (int d : devices) {
            m.merge(cluster.nodeOf(d), 1, Integer::sum);
        }
        return m;
    }

    /** Number of nodes the group spans. */
    public int nodeCount() {
        return devicesPerNode().size();
    }

    /** True when all devices share one node. */
    public boolean withinOneNode() {
        return nodeCount() == 1;
    }

    /**
     * Devices per node when every spanned node holds the same number of the group's devices
     * (the shape a hierarchical collective needs), or -1.
     */
    public int uniformDevicesPerNode() {
        int m = -1;
        for (int c : devicesPerNode().values()) {
            if (m == -1) {
                m = c;
            } else if (m != c) {
                return -1;
            }
        }
        return m;
    }

    /** The slowest intra-node link among the spanned nodes. */
    public Link innerLink() {
        Link l = null;
        for (int node : devicesPerNode().keySet()) {
            Link x = cluster.nodes().get(node).intraNode();
            l = l == null ? x : Link.bottleneck(l, x);
        }
        return l;
    }

    /** The network between nodes (meaningful when the group spans more than one node). */
    public Link outerLink() {
        return cluster.interNode();
    }

    /**
     * The link a flat (single-level) algorithm is limited by: the inner link within one node,
     * otherwise the slower of inner link and network.
     */
    public Link bottleneckLink() {
        return withinOneNode() ? innerLink() : Link.bottleneck(innerLink(), outerLink());
    }
}
