package org.shardplan.cost.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Devices the model is trained on: nodes of devices, each node with its own intra-node link, and
 * one network between nodes. Devices are numbered 0..{@code deviceCount()-1}, node by node in the
 * order the nodes are listed, so devices {@code k*d .. k*d+d-1} of a homogeneous cluster with
 * {@code d} devices per node share node {@code k}.
 *
 * @param name cluster name (for reports and provenance)
 * @param nodes the nodes, in device-numbering order, at least one
 * @param interNode network between two devices on different nodes (bandwidth per device)
 */
public record Cluster(String name, List<ClusterNode> nodes, Link interNode) {

    /**
     * The most devices a cluster may have: a million, about five times the largest training clusters
     * announced to date, so that a mistyped count gets a message instead of hours of work.
     */
    public static final int MAX_DEVICES = 1_000_000;

    public Cluster {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(interNode, "interNode");
        nodes = List.copyOf(nodes);
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("cluster " + name + ": nodes must not be empty, found 0 nodes");
        }
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (ClusterNode n : nodes) {
            total += n.devices();
            if (total > MAX_DEVICES) {
                throw new IllegalArgumentException("cluster " + name + ": the number of devices must be at most "
                        + MAX_DEVICES + ", found more");
            }
            if (!seen.add(n.name())) {
                throw new IllegalArgumentException("cluster " + name + ": node names must be unique, found "
                        + n.name() + " twice");
            }
        }
    }

    /**
     * A homogeneous cluster: {@code devices} devices of one type in nodes of the profile's
     * default size, joined by the profile's default links (NVLink inside a node and InfiniBand
     * between nodes for the data-center GPUs). This is the {@code --devices N --device X}
     * shorthand.
     *
     * @throws ClusterException when {@code devices} is less than 1 or, above one node, not a
     *     multiple of the node size
     */
    public static Cluster homogeneous(DeviceSpec device, int devices) throws ClusterException {
        return homogeneous(device, devices, Math.min(devices, device.devicesPerNode()));
    }

    /** A homogeneous cluster with an explicit node size; see {@link #homogeneous(DeviceSpec, int)}. */
    public static Cluster homogeneous(DeviceSpec device, int devices, int devicesPerNode)
            throws ClusterException {
        if (devices < 1) {
            throw new ClusterException("--devices must be at least 1, found " + devices);
        }
        if (devices > MAX_DEVICES) {
            throw new ClusterException("--devices must be at most " + MAX_DEVICES + ", found " + devices);
        }
        if (devicesPerNode < 1) {
            throw new ClusterException("devices per node must be at least 1, found " + devicesPerNode);
        }
        if (devices % devicesPerNode != 0) {
            throw new ClusterException("--devices must be a multiple of the node size " + devicesPerNode
                    + " for device " + device.name() + ", found " + devices);
        }
        List<ClusterNode> nodes = new ArrayList<>();
        for (int i = 0; i < devices / devicesPerNode; i++) {
            nodes.add(new ClusterNode("node" + i, device, devicesPerNode, device.intraNode()));
        }
        return new Cluster(devices + "x" + device.name(), nodes, device.interNode());
    }

    /** Total number of devices. */
    public int deviceCount() {
        int n = 0;
        for (ClusterNode node : nodes) {
            n += node.devices();
        }
        return n;
    }

    /** Index of the node holding global device {@code device}. */
    public int nodeOf(int device) {
        if (device < 0) {
            throw new IndexOutOfBoundsException("device " + device);
        }
        int start = 0;
        for (int i = 0; i < nodes.size(); i++) {
            start += nodes.get(i).devices();
            if (device < start) {
                return i;
            }
        }
        throw new IndexOutOfBoundsException("device " + device + " of " + deviceCount());
    }

    /** The device type of global device {@code device}. */
    public DeviceSpec device(int device) {
        return nodes.get(nodeOf(device)).device();
    }

    /** True when every node has the same device type and count. */
    public boolean isHomogeneous() {
        ClusterNode first = nodes.get(0);
        for (ClusterNode n : nodes) {
            if (!n.device().equals(first.device()) || n.devices() != first.devices()
                    || !n.intraNode().equals(first.intraNode())) {
                return false;
            }
        }
        return true;
    }

    /** Devices per node of a homogeneous cluster; the smallest node's count otherwise. */
    public int devicesPerNode() {
        int m = Integer.MAX_VALUE;
        for (ClusterNode n : nodes) {
            m = Math.min(m, n.devices());
        }
        return m;
    }

    /** The link between two distinct devices: the node's link when they share one, else the network. */
    public Link linkBetween(int a, int b) {
        int na = nodeOf(a);
        int nb = nodeOf(b);
        return na == nb ? nodes.get(na).intraNode() : interNode;
    }

    /** The whole cluster as one device group. */
    public DeviceGroup all() {
        return DeviceGroup.range(this, 0, deviceCount());
    }

    /** Memory of the smallest device, bytes: the limit a plan that runs anywhere must meet. */
    public double minDeviceMemoryBytes() {
        double m = Double.POSITIVE_INFINITY;
        for (ClusterNode n : nodes) {
            m = Math.min(m, n.device().memoryBytes());
        }
        return m;
    }
}
