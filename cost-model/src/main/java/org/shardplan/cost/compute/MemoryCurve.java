package org.shardplan.cost.compute;

import java.util.Arrays;

/**
 * The rate at which one core streams data, by the size of the data: a kernel whose inputs and
 * outputs fit in a cache level moves them at that level's bandwidth, one whose data exceed the
 * last-level cache at the memory's. Measured points {@code (footprint bytes, bytes per second)},
 * footprints strictly increasing; between two points the bandwidth is interpolated linearly in
 * {@code (log footprint, log bandwidth)}, outside them it is the nearest end's.
 *
 * @param footprints bytes each point's kernel touched (inputs plus outputs), increasing
 * @param bandwidths its bytes moved per second
 */
public record MemoryCurve(double[] footprints, double[] bandwidths) {

    public MemoryCurve {
        footprints = footprints.clone();
        bandwidths = bandwidths.clone();
        if (footprints.length == 0 || footprints.length != bandwidths.length) {
            throw new IllegalArgumentException("a memory curve needs as many bandwidths as footprints, at least one, found "
                    + footprints.length + " and " + bandwidths.length);
        }
        for (int i = 0; i < footprints.length; i++) {
            if (!(footprints[i] > 0) || !(bandwidths[i] > 0) || Double.isInfinite(footprints[i])
                    || Double.isInfinite(bandwidths[i])) {
                throw new IllegalArgumentException("memory curve point " + i + " must have a positive footprint and "
                        + "bandwidth, found " + footprints[i] + " bytes at " + bandwidths[i] + " B/s");
            }
            if (i > 0 && !(footprints[i] > footprints[i - 1])) {
                throw new IllegalArgumentException("memory curve footprints must increase, found " + footprints[i - 1]
                        + " then " + footprints[i]);
            }
        }
    }

    /** Bytes per second for a kernel that touches {@code footprint} bytes. O(log n). */
    public double bandwidth(double footprint) {
        int n = footprints.length;
        if (footprint <= footprints[0]) {
            return bandwidths[0];
        }
        if (footprint >= footprints[n - 1]) {
            return bandwidths[n - 1];
        }
        int i = Arrays.binarySearch(footprints, footprint);
        if (i >= 0) {
            return bandwidths[i];
        }
        int hi = -i - 1;
        int lo = hi - 1;
        double w = Math.log(footprint / footprints[lo]) / Math.log(footprints[hi] / footprints[lo]);
        return Math.exp(Math.log(bandwidths[lo]) + w * Math.log(bandwidths[hi] / bandwidths[lo]));
    }

    /**
     * The bandwidth of data that no cache holds: the curve's point of largest footprint (for
     * {@code LocalCpu.memoryCurve} an Add of 192 MiB, beyond any last-level cache). O(1).
     */
    public double streamingBandwidth() {
        return bandwidths[bandwidths.length - 1];
    }

    /**
     * How many bytes the caches hold, as the curve sees it: the largest measured footprint whose
     * bandwidth is at least twice {@link #streamingBandwidth()} (data of that size are still served
     * mostly from a cache), or the smallest footprint when none is. The measured footprints are a
     * factor of 4 apart, so this is a coarse, lower estimate of the last-level cache. O(n).
     */
    public double cacheBytes() {
        double reach = footprints[0];
        for (int i = 0; i < footprints.length; i++) {
            if (bandwidths[i] >= 2 * streamingBandwidth()) {
                reach = footprints[i];
            }
        }
        return reach;
    }

    @Override
    public double[] footprints() {
        return footprints.clone();
    }

    @Override
    public double[] bandwidths() {
        return bandwidths.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MemoryCurve m && Arrays.equals(footprints, m.footprints) && Arrays.equals(bandwidths, m.bandwidths);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(footprints) + Arrays.hashCode(bandwidths);
    }

    @Override
    public String toString() {
        return "MemoryCurve" + Arrays.toString(footprints) + " -> " + Arrays.toString(bandwidths);
    }
}
