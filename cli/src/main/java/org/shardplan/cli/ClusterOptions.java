package org.shardplan.cli;

import java.nio.file.Path;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.ClusterFiles;
import org.shardplan.cost.cluster.DeviceProfiles;
import picocli.CommandLine.Option;

/**
 * The cluster options a command mixes in ({@code @Mixin ClusterOptions cluster;}): a cluster file
 * ({@code --cluster FILE}, format {@code docs/cluster-format.md}) or the shorthand
 * {@code --devices N --device TYPE} (nodes of the profile's size, NVLink inside, InfiniBand
 * between), {@code --devices-per-node} to change the node size.
 */
public final class ClusterOptions {

    @Option(names = "--cluster", paramLabel = "FILE", description = "Cluster file (shardplan-cluster/1).")
    Path file;

    @Option(names = "--devices", paramLabel = "N", description = "Number of devices (with --device).")
    Integer devices;

    @Option(names = "--device", paramLabel = "TYPE",
            description = "Device profile: cpu-local, v100, a100 (a100-40gb), a100-80gb, h100 (h100-sxm), h200, rtx-2080ti, gtx-1080ti.")
    String device;

    @Option(names = "--devices-per-node", paramLabel = "N", description = "Node size for --devices (default: the profile's).")
    Integer perNode;

    /** Whether any cluster option was given. */
    public boolean given() {
        return file != null || devices != null || device != null || perNode != null;
    }

    /**
     * The cluster the options describe, or {@code fallback} devices of {@code fallbackDevice} when
     * none was given.
     */
    public Cluster resolve(int fallbackDevices, String fallbackDevice) throws ClusterException {
        if (file != null) {
            if (devices != null || device != null || perNode != null) {
                throw new ClusterException("--cluster must be given alone, found it with --devices/--device/--devices-per-node");
            }
            return ClusterFiles.read(file);
        }
        String type = device != null ? device : fallbackDevice;
        int n = devices != null ? devices : fallbackDevices;
        var spec = DeviceProfiles.get(type);
        return perNode != null ? Cluster.homogeneous(spec, n, perNode) : Cluster.homogeneous(spec, n);
    }
}
