package org.shardplan.cli;

import java.nio.file.Path;
import java.util.Locale;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterFiles;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.ShardplanException;

/** The cluster options of {@code plan}: a cluster file, or a device count and type (default 8 x a100-40gb). */
final class PlanClusterArgs {
    private PlanClusterArgs() {
    }

    /** Devices of the default cluster. */
    static final int DEFAULT_DEVICES = 8;
    /** Device type of the default cluster. */
    static final String DEFAULT_DEVICE = "a100-40gb";

    static Cluster cluster(Path file, Integer devices, String device) throws ShardplanException {
        if (file != null) {
            if (devices != null || device != null) {
                throw new ShardplanException("--cluster must not be combined with --devices or --device, found both");
            }
            return ClusterFiles.read(file);
        }
        int n = devices == null ? DEFAULT_DEVICES : devices;
        if (n < 1) {
            throw new ShardplanException("--devices must be at least 1, found " + n);
        }
        return Cluster.homogeneous(DeviceProfiles.get(device == null ? DEFAULT_DEVICE : device), n);
    }

    /** Parses a byte count: a number with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB). */
    static double bytes(String option, String text) throws ShardplanException {
        String t = text.trim();
        int i = 0;
        while (i < t.length() && (Character.isDigit(t.charAt(i)) || t.charAt(i) == '.' || t.charAt(i) == 'e'
                || t.charAt(i) == 'E' || t.charAt(i) == '+')) {
            i++;
        }
        double mult = switch (t.substring(i).trim().toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "tb" -> 1e12;
            case "kib" -> 1024.0;
            case "mib" -> 1024.0 * 1024;
            case "gib" -> 1024.0 * 1024 * 1024;
            case "tib" -> 1024.0 * 1024 * 1024 * 1024;
            default -> -1;
        };
        double v;
        try {
            v = Double.parseDouble(t.substring(0, i));
        } catch (NumberFormatException e) {
            v = -1;
        }
        if (mult < 0 || !(v > 0) || Double.isInfinite(v)) {
            throw new ShardplanException(option + " must be a positive size in bytes (e.g. 16000000000 or 16GiB), found '"
                    + text + "'");
        }
        return v * mult;
    }
}
