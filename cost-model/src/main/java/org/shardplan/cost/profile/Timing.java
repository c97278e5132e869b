package org.shardplan.cost.profile;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Times a piece of work: warm-up runs, then repeats until both a minimum count and a minimum
 * total time are reached (or a maximum count), and the median of the repeats.
 *
 * @param warmup runs before timing starts
 * @param minRepeats least number of timed runs
 * @param maxRepeats most number of timed runs
 * @param minSeconds keep repeating (up to {@code maxRepeats}) until this much time was timed
 */
public record Timing(int warmup, int minRepeats, int maxRepeats, double minSeconds, Clock clock, Statistic statistic) {

    /**
     * How the timed runs are summarised: the median (the default), or the minimum, the run least
     * disturbed by anything else on the machine (the usual choice for micro-benchmarks on a shared
     * machine, where disturbances only ever add time).
     */
    public enum Statistic {
        MEDIAN,
        MIN,
        /**
         * A low quantile ({@link Timing#LOW_QUANTILE}) of all timed runs, pooled over the rounds
         * of a measurement ({@link Timing#roundsSeconds}, {@link Timing#differenceSeconds}): like the
         * minimum it ignores the runs another process slowed down (on a shared machine a
         * disturbance only adds time), but one run that a timer read or a lucky cache state made
         * unusually fast does not decide it.
         */
        LOW;

        /**
         * What the statistic adds to a calibration's runtime description (the machine
         * fingerprint), so that files measured with different statistics never mix: nothing for
         * the median (files written before the other statistics existed), {@code " stat=min"},
         * {@code " stat=low"}.
         */
        public String tag() {
            return this == MEDIAN ? "" : " stat=" + name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The statistic named {@code median}, {@code min} or {@code low}; empty for anything else. */
        public static java.util.Optional<Statistic> named(String s) {
            for (Statistic st : values()) {
                if (st.name().toLowerCase(java.util.Locale.ROOT).equals(s)) {
                    return java.util.Optional.of(st);
                }
            }
            return java.util.Optional.empty();
        }
    }

    /** The quantile {@link Statistic#LOW} takes of the pooled runs: the 10th percentile. */
    public static final double LOW_QUANTILE = 0.1;

    /**
     * What a run's time is read from. {@link #THREAD_CPU} is the calling thread's CPU time: with
     * ONNX Runtime running on one intra-op thread (the caller's), it is the time the work took on
     * its core, unaffected by other processes taking turns on a shared machine.
     */
    public enum Clock {
        WALL,
        THREAD_CPU
    }

    /** The default: 3 warm-up runs, 7 to 2000 repeats, at least 0.1 s of timed runs, wall clock. */
    public static final Timing DEFAULT = new Timing(3, 7, 2000, 0.1);

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Timing by the wall clock. */
    public Timing(int warmup, int minRepeats, int maxRepeats, double minSeconds) {
        this(warmup, minRepeats, maxRepeats, minSeconds, Clock.WALL, Statistic.MEDIAN);
    }

    /** Timing by a given clock, summarised by the median. */
    public Timing(int warmup, int minRepeats, int maxRepeats, double minSeconds, Clock clock) {
        this(warmup, minRepeats, maxRepeats, minSeconds, clock, Statistic.MEDIAN);
    }

    /** The same timing read from another clock. */
    public Timing withClock(Clock c) {
        return new Timing(warmup, minRepeats, maxRepeats, minSeconds, c, statistic);
    }

    /** The same timing summarised by another statistic. */
    public Timing withStatistic(Statistic st) {
        return new Timing(warmup, minRepeats, maxRepeats, minSeconds, clock, st);
    }

    private long now() {
        return clock == Clock.THREAD_CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    public Timing {
        java.util.Objects.requireNonNull(clock, "clock");
        java.util.Objects.requireNonNull(statistic, "statistic");
        if (clock == Clock.THREAD_CPU && !THREADS.isCurrentThreadCpuTimeSupported()) {
            throw new IllegalArgumentException("this JVM cannot read a thread's CPU time");
        }
        if (warmup < 0 || minRepeats < 1 || maxRepeats < minRepeats || !(minSeconds >= 0)) {
            throw new IllegalArgumentException("timing needs warmup >= 0 and 1 <= minRepeats <= maxRepeats, found "
                    + warmup + ", " + minRepeats + ", " + maxRepeats);
        }
    }

    /** Work that may fail. */
    @FunctionalInterface
    public interface Run {
        void run() throws Exception;
    }

    /**
     * Runs {@code work} as described and returns the median (or, by {@link #statistic()}, the
     * minimum) time of one timed run in seconds.
     */
    public double medianSeconds(Run work) throws Exception {
        return summary(samples(work));
    }

    /** The statistic of a set of run times ({@link #statistic()}). */
    double summary(double[] t) {
        return switch (statistic) {
            case MIN -> Arrays.stream(t).min().getAsDouble();
            case LOW -> quantile(t, LOW_QUANTILE);
            case MEDIAN -> median(t);
        };
    }

    /** Runs {@code work} as described (warm-up, then the timed runs) and returns every timed run's seconds. */
    public double[] samples(Run work) throws Exception {
        for (int i = 0; i < warmup; i++) {
            work.run();
        }
        double[] times = new double[maxRepeats];
        int n = 0;
        double total = 0;
        while (n < maxRepeats && (n < minRepeats || total < minSeconds)) {
            long t0 = now();
            work.run();
            double s = (now() - t0) * 1e-9;
            times[n++] = s;
            total += s;
        }
        return Arrays.copyOf(times, n);
    }

    /**
     * A measurement taken in rounds: the time of one run, how far the rounds' medians spread,
     * and how many rounds were run.
     *
     * @param seconds with the median, the smallest of the rounds' medians (for
     *     {@link #differenceSeconds}: the median of the rounds' differences); with the minimum or the
     *     low quantile, that statistic of all runs pooled over the rounds (for a difference, the
     *     difference of the two pooled statistics)
     * @param spread (largest - smallest) / smallest of the rounds' statistics (of the differences:
     *     over the absolute result)
     * @param rounds rounds run
     */
    public record Rounds(double seconds, double spread, int rounds) {}

    /**
     * Runs {@code work} in {@code rounds} rounds, each timed as {@link #medianSeconds} with
     * {@link #minSeconds()} divided among the rounds (warm-up only before the first), and returns
     * the smallest round median (with {@link Statistic#MIN} or {@link Statistic#LOW}: that
     * statistic of all the rounds' runs pooled). On a shared machine a disturbance (another process on the
     * sibling hyper-thread, cache and memory-bandwidth contention) only ever adds time and tends
     * to last for a stretch, so the quietest round is the most repeatable estimate. When the
     * round medians spread by more than {@code maxSpread} (relative), up to {@code rounds} more
     * rounds are run, once. Running time: about 1 to 2 times {@link #minSeconds()} plus the
     * runs themselves.
     */
    public Rounds roundsSeconds(Run work, int rounds, double maxSpread) throws Exception {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be >= 1, found " + rounds);
        }
        for (int i = 0; i < warmup; i++) {
            work.run();
        }
        Timing round = new Timing(0, minRepeats, maxRepeats, minSeconds / rounds, clock, statistic);
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        int done = 0;
        int limit = rounds;
        double[] pooled = new double[0];
        while (done < limit) {
            double[] runs = round.samples(work);
            pooled = concat(pooled, runs);
            double t = round.summary(runs);
            lo = Math.min(lo, t);
            hi = Math.max(hi, t);
            done++;
            if (done == limit && limit == rounds && rounds > 1 && (hi - lo) / lo > maxSpread) {
                limit = 2 * rounds;
            }
        }
        // the median: the quietest round's; the minimum and the low quantile: of all runs pooled
        double kept = statistic == Statistic.MEDIAN ? lo : summary(pooled);
        return new Rounds(kept, lo > 0 ? (hi - lo) / lo : 0, done);
    }

    /**
     * The time {@code more} takes beyond {@code base}, the two timed in alternating rounds:
     * after warm-up of both, each round times {@code base} and then {@code more} as
     * {@link #medianSeconds} (with {@link #minSeconds()} divided among the 2·rounds timings) and
     * notes the difference of the two; the result is the median of the rounds' differences (with
     * {@link Statistic#MIN} or {@link Statistic#LOW}: the difference of that statistic of all runs of
     * each, pooled over the rounds). A
     * change of the machine's load shifts both timings of a round alike and so cancels, where
     * two measurements taken one after the other would each see a different load. When the
     * rounds' differences spread by more than {@code maxSpread} of their median, as many rounds
     * again are run, once.
     *
     * @return the median difference, the spread (largest - smallest) / |median| of the rounds'
     *     differences, and the rounds run
     */
    public Rounds differenceSeconds(Run base, Run more, int rounds, double maxSpread) throws Exception {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be >= 1, found " + rounds);
        }
        for (int i = 0; i < warmup; i++) {
            base.run();
            more.run();
        }
        Timing round = new Timing(0, minRepeats, maxRepeats, minSeconds / (2.0 * rounds), clock, statistic);
        double[] d = new double[2 * rounds];
        double[] pooledBase = new double[0];
        double[] pooledMore = new double[0];
        int done = 0;
        int limit = rounds;
        while (done < limit) {
            double[] ra = round.samples(base);
            double[] rb = round.samples(more);
            pooledBase = concat(pooledBase, ra);
            pooledMore = concat(pooledMore, rb);
            d[done++] = round.summary(rb) - round.summary(ra);
            if (done == limit && limit == rounds && rounds > 1) {
                double[] sofar = Arrays.copyOf(d, done);
                double med = median(sofar);
                double lo = Arrays.stream(sofar).min().getAsDouble();
                double hi = Arrays.stream(sofar).max().getAsDouble();
                if (med == 0 || (hi - lo) / Math.abs(med) > maxSpread) {
                    limit = 2 * rounds;
                }
            }
        }
        double[] all = Arrays.copyOf(d, done);
        // the median: of the rounds' differences; the minimum and the low quantile: the
        // difference of the statistics of all runs of each, pooled over the rounds
        double med = statistic == Statistic.MEDIAN ? median(all) : summary(pooledMore) - summary(pooledBase);
        double lo = Arrays.stream(all).min().getAsDouble();
        double hi = Arrays.stream(all).max().getAsDouble();
        return new Rounds(med, med != 0 ? (hi - lo) / Math.abs(med) : 0, done);
    }

    private static double[] concat(double[] a, double[] b) {
        double[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /**
     * The {@code q} quantile of the values, interpolated linearly between the order statistics
     * at ranks {@code q·(n−1)} (q = 0 the minimum, 0.5 the median, 1 the maximum). O(n log n).
     */
    public static double quantile(double[] values, double q) {
        if (values.length == 0) {
            throw new IllegalArgumentException("quantile of no values");
        }
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("quantile must be in [0, 1], found " + q);
        }
        double[] v = values.clone();
        Arrays.sort(v);
        double r = q * (v.length - 1);
        int i = (int) Math.floor(r);
        return i + 1 < v.length ? v[i] + (r - i) * (v[i + 1] - v[i]) : v[i];
    }

    /** The median of the values (the mean of the two middle ones for an even count). */
    public static double median(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("median of no values");
        }
        double[] v = values.clone();
        Arrays.sort(v);
        int m = v.length / 2;
        return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
    }
}
