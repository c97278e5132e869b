/**
 * Clusters and devices: {@link org.shardplan.cost.cluster.DeviceSpec} (peak FLOP/s per data type,
 * memory bandwidth and size), {@link org.shardplan.cost.cluster.Link} (bandwidth and latency of
 * a connection), {@link org.shardplan.cost.cluster.Cluster} (nodes of devices joined by an
 * intra-node link and an inter-node network), the built-in device profiles, the cluster JSON
 * file format ({@code docs/cluster-format.md}) and {@link org.shardplan.cost.cluster.DeviceGroup}
 * / {@link org.shardplan.cost.cluster.DeviceMesh}, which say which devices a collective spans.
 */
package org.shardplan.cost.cluster;
