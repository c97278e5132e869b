package org.shardplan.planner.sim;

import java.util.Arrays;

/**
 * How many local updates of one stage the instances measured saw between their forward and their backward
 * on it ({@link org.shardplan.planner.pipeline.Staleness} defines the count).
 *
 * @param counts {@code counts[k]}: the instances that saw {@code k} updates
 */
public record StalenessDistribution(long[] counts) {

    public StalenessDistribution {
        counts = counts.clone();
        for (long c : counts) {
            if (c < 0) {
                throw new IllegalArgumentException("staleness counts must be >= 0, found " + Arrays.toString(counts));
            }
        }
    }

    @Override
    public long[] counts() {
        return counts.clone();
    }

    /** The number of instances measured. */
    public long instances() {
        return Arrays.stream(counts).sum();
    }

    /** The mean number of updates; 0 when nothing was measured. */
    public double mean() {
        long n = instances();
        double sum = 0;
        for (int k = 0; k < counts.length; k++) {
            sum += (double) k * counts[k];
        }
        return n == 0 ? 0 : sum / n;
    }

    /** The most updates any instance saw. */
    public int max() {
        for (int k = counts.length - 1; k >= 0; k--) {
            if (counts[k] > 0) {
                return k;
            }
        }
        return 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StalenessDistribution d && Arrays.equals(counts, d.counts);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
        return "StalenessDistribution" + Arrays.toString(counts);
    }
}
