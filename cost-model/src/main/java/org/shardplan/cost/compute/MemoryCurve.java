package org.shardplan.cost.compute;

import java.util.Arrays;

/**
 * The rate at which one core streams data, by the size of the data: a kernel whose inputs and
 * outputs fit in a cache level moves them at that level's bandwidth, one whose data exceed the
 * last-level cache at the memory's. Measured points {@code (footprint bytes, bytes per second)},
 * footprints strictly increasing; between two points the bandwidth is interpolated linearly in
 * {@code (log footprint, log bandwidth)}, outside them it is the nearest end's.
 *
 * <p>Besides the curve, the rate at which a matrix product streams weights that exceed the caches
 * ({@link #weightStreamingBandwidth()}), where it was measured: a GEMM kernel reads its packed
 * weights while it computes, and does not reach the bandwidth of an Add.
 *
 * @param footprints bytes each point's kernel touched (inputs plus outputs), increasing
 * @param bandwidths its bytes moved per second
 * <p>And the rate of a reordering into the blocked channel layout whose channel planes are a
 * multiple of the first-level cache's set period apart ({@link #aliasedReorderBandwidth()}): its reads
 * of a block's 16 planes fall in one cache set, and it runs at a rate of its own, whatever its size.
 *
 * @param footprints bytes each point's kernel touched (inputs plus outputs), increasing
 * @param bandwidths its bytes moved per second
 * @param productBandwidth bytes per second of a matrix product's weights beyond {@link #cacheBytes()},
 *     measured as the time such a product takes beyond the same product with cached weights; 0 when
 *     not measured
 * @param aliasedReorderBandwidth bytes per second (read and written) of ONNX Runtime's reordering of
 *     16 channels of 128 x 128 floats (planes of 64 KiB) into the blocked layout; 0 when not measured
 */
public record MemoryCurve(double[] footprints, double[] bandwidths, double productBandwidth,
        double aliasedReorderBandwidth) {

    /** A curve without a measured product streaming rate. */
    public MemoryCurve(double[] footprints, double[] bandwidths) {
        this(footprints, bandwidths, 0, 0);
    }

    /** A curve without a measured rate of aliased reorderings. */
    public MemoryCurve(double[] footprints, double[] bandwidths, double productBandwidth) {
        this(footprints, bandwidths, productBandwidth, 0);
    }

    public MemoryCurve {
        if (!(productBandwidth >= 0) || Double.isInfinite(productBandwidth)) {
            throw new IllegalArgumentException("a memory curve's product streaming bandwidth must be finite and not "
                    + "negative (0: not measured), found " + productBandwidth);
        }
        if (!(aliasedReorderBandwidth >= 0) || Double.isInfinite(aliasedReorderBandwidth)) {
            throw new IllegalArgumentException("a memory curve's rate of aliased reorderings must be finite and not "
                    + "negative (0: not measured), found " + aliasedReorderBandwidth);
        }
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
     * The rate at which a matrix product's kernel reads weights beyond the caches, per byte beyond
     * {@link #cacheBytes()}: {@link #productBandwidth()} where it was measured, else
     * {@link #streamingBandwidth()}. O(1).
     */
    public double weightStreamingBandwidth() {
        return productBandwidth > 0 ? productBandwidth : streamingBandwidth();
    }

    /**
     * The product streaming bandwidth a measurement gives: a product with {@code weightBytes} of
     * weights took {@code streamedSeconds}, the same product with {@code cachedWeightBytes} of weights
     * (held by the caches) scaled to as many columns {@code cachedSeconds}; the time beyond it is
     * what reading the {@code weightBytes − cacheBytes()} beyond the caches costs. 0 (not measured)
     * when the cached weights do not fit {@link #cacheBytes()}, the larger ones do, or the larger
     * product was not slower. O(n).
     */
    public double productBandwidth(double weightBytes, double streamedSeconds, double cachedSeconds,
            double cachedWeightBytes) {
        double beyond = weightBytes - cacheBytes();
        double extra = streamedSeconds - cachedSeconds;
        return cachedWeightBytes <= cacheBytes() && beyond > 0 && extra > 0 ? beyond / extra : 0;
    }

    /** This curve with {@code rate} as its product streaming bandwidth. */
    public MemoryCurve withProductBandwidth(double rate) {
        return new MemoryCurve(footprints, bandwidths, rate, aliasedReorderBandwidth);
    }

    /** This curve with {@code rate} as its rate of aliased reorderings ({@link #aliasedReorderBandwidth()}). */
    public MemoryCurve withAliasedReorderBandwidth(double rate) {
        return new MemoryCurve(footprints, bandwidths, productBandwidth, rate);
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
        return o instanceof MemoryCurve m && Arrays.equals(footprints, m.footprints) && Arrays.equals(bandwidths, m.bandwidths)
                && Double.compare(productBandwidth, m.productBandwidth) == 0
                && Double.compare(aliasedReorderBandwidth, m.aliasedReorderBandwidth) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * Arrays.hashCode(footprints) + Arrays.hashCode(bandwidths)) + Double.hashCode(productBandwidth))
                + Double.hashCode(aliasedReorderBandwidth);
    }

    @Override
    public String toString() {
        return "MemoryCurve" + Arrays.toString(footprints) + " -> " + Arrays.toString(bandwidths)
                + (productBandwidth > 0 ? ", products stream weights at " + productBandwidth : "")
                + (aliasedReorderBandwidth > 0 ? ", aliased reorderings run at " + aliasedReorderBandwidth : "");
    }
}
