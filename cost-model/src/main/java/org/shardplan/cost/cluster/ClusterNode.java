package org.shardplan.cost.cluster;

import java.util.Objects;

/**
 * One machine of a cluster: {@code devices} devices of one type joined by one intra-node link.
 *
 * @param name node name, unique in its cluster
 * @param device the device type of every device on this node
 * @param devices number of devices, at least 1
 * @param intraNode link between two devices of this node
 */
public record ClusterNode(String name, DeviceSpec device, int devices, Link intraNode) {
    public ClusterNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(intraNode, "intraNode");
        if (devices < 1) {
            throw new IllegalArgumentException("node " + name + ": devices must be at least 1, found " + devices);
        }
    }
}
