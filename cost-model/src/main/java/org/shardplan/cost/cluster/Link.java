package org.shardplan.cost.cluster;

import java.util.Objects;

/**
 * A connection between devices, in the alpha-beta sense: sending {@code n} bytes costs
 * {@code latencySeconds + n / bandwidthBytesPerSecond}.
 *
 * @param type free-form kind of link ("nvlink", "pcie", "infiniband", "ethernet", "memory")
 * @param bandwidthBytesPerSecond bandwidth one device can send at in one direction (bytes/s), &gt; 0
 * @param latencySeconds start-up time of one message (s), &ge; 0
 */
public record Link(String type, double bandwidthBytesPerSecond, double latencySeconds) {

    public Link {
        Objects.requireNonNull(type, "type");
        if (!(bandwidthBytesPerSecond > 0) || Double.isInfinite(bandwidthBytesPerSecond)) {
            throw new IllegalArgumentException(
                    "link bandwidth must be a positive finite number, found " + bandwidthBytesPerSecond);
        }
        if (!(latencySeconds >= 0) || Double.isInfinite(latencySeconds)) {
            throw new IllegalArgumentException(
                    "link latency must be a finite number >= 0, found " + latencySeconds);
        }
    }

    /** A link from GB/s (10^9 bytes/s) and microseconds, the units of cluster files. */
    public static Link of(String type, double gigabytesPerSecond, double latencyMicroseconds) {
        return new Link(type, gigabytesPerSecond * 1e9, latencyMicroseconds * 1e-6);
    }

    /** Time to send {@code bytes} over this link: alpha + bytes / bandwidth. */
    public double transferSeconds(double bytes) {
        return latencySeconds + bytes / bandwidthBytesPerSecond;
    }

    /** The slower of two links in each respect: the smaller bandwidth and the larger latency. */
    public static Link bottleneck(Link a, Link b) {
        return new Link(a.bandwidthBytesPerSecond <= b.bandwidthBytesPerSecond ? a.type : b.type,
                Math.min(a.bandwidthBytesPerSecond, b.bandwidthBytesPerSecond),
                Math.max(a.latencySeconds, b.latencySeconds));
    }
}
