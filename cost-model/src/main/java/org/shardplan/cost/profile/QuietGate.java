package org.shardplan.cost.profile;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Waits, before a measurement, until the other processes of the machine leave its processors
 * alone. On a shared machine with few cores another process's work slows a measurement down
 * even on another core (a sibling hyper-thread, the shared caches and memory bandwidth), and it
 * does so for stretches of seconds to minutes: measurements taken in such a stretch disagree with
 * those taken outside it. The gate reads the machine's processor time ({@code /proc/stat}: busy
 * and total jiffies over all processors, stolen time counting as busy) and this process's own
 * processor time, and computes how many processors the <em>other</em> processes kept busy:
 * {@code others = busy / total · cpus − own / wall}. Before a measurement it looks at the stretch
 * since the previous look; when others kept more than {@link #threshold()} processors busy it
 * sleeps in steps of {@link #STEP_SECONDS}, looking at each step, until a step is quiet or
 * {@link #maxWaitSeconds()} have passed; the waits of a whole run are limited to
 * {@link #budgetSeconds()}, so that a machine that never gets quiet still gets measured. On a
 * system without {@code /proc/stat} it never waits.
 *
 * <p>Its counters make it a mutable object: one gate per measuring thread.
 */
public final class QuietGate {

    /** Length of one look while waiting, seconds. */
    static final double STEP_SECONDS = 0.1;

    private final double threshold;
    private final double maxWaitSeconds;
    private final double budgetSeconds;
    private Sample last;
    private double waitedSeconds;
    private int waits;
    private int timeouts;
    private int looks;

    /**
     * A gate.
     *
     * @param threshold processors the other processes may keep busy for a stretch to count as quiet
     * @param maxWaitSeconds longest wait before one measurement
     * @param budgetSeconds longest wait over all measurements of the gate's life
     */
    public QuietGate(double threshold, double maxWaitSeconds, double budgetSeconds) {
        if (!(threshold >= 0) || !(maxWaitSeconds >= 0) || !(budgetSeconds >= 0)) {
            throw new IllegalArgumentException("a quiet gate needs threshold, maxWaitSeconds and budgetSeconds >= 0,"
                    + " found " + threshold + ", " + maxWaitSeconds + ", " + budgetSeconds);
        }
        this.threshold = threshold;
        this.maxWaitSeconds = maxWaitSeconds;
        this.budgetSeconds = budgetSeconds;
    }

    /** A gate that never waits. */
    public static QuietGate off() {
        return new QuietGate(0, 0, 0);
    }

    public double threshold() {
        return threshold;
    }

    public double maxWaitSeconds() {
        return maxWaitSeconds;
    }

    public double budgetSeconds() {
        return budgetSeconds;
    }

    /** Total seconds waited. */
    public synchronized double waitedSeconds() {
        return waitedSeconds;
    }

    /** Measurements that waited at all. */
    public synchronized int waits() {
        return waits;
    }

    /** Measurements taken while others were still busy (the wait or the budget ran out). */
    public synchronized int timeouts() {
        return timeouts;
    }

    /** Measurements the gate was asked about. */
    public synchronized int looks() {
        return looks;
    }

    /**
     * One reading of the machine's and this process's processor time.
     *
     * @param busyJiffies busy time of all processors (user, nice, system, irq, softirq, steal)
     * @param totalJiffies the same plus idle and iowait
     * @param ownNanos this process's processor time
     * @param wallNanos the wall clock
     */
    record Sample(long busyJiffies, long totalJiffies, long ownNanos, long wallNanos) {}

    /**
     * Processors kept busy by other processes between two readings, on a machine of
     * {@code cpus} processors: the machine's busy share times its processors, less what this
     * process used per second of wall time. Never negative.
     */
    static double others(Sample a, Sample b, int cpus) {
        long total = b.totalJiffies - a.totalJiffies;
        long wall = b.wallNanos - a.wallNanos;
        if (total <= 0 || wall <= 0) {
            return 0;
        }
        double machine = (double) (b.busyJiffies - a.busyJiffies) / total * cpus;
        double own = (double) (b.ownNanos - a.ownNanos) / wall;
        return Math.max(0, machine - own);
    }

    /**
     * The busy and total jiffies of the {@code cpu} line of {@code /proc/stat} text: user, nice,
     * system, idle, iowait, irq, softirq, steal (guest time is already inside user).
     */
    static Optional<long[]> parse(List<String> procStat) {
        for (String line : procStat) {
            if (!line.startsWith("cpu ")) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            if (f.length < 5) {
                return Optional.empty();
            }
            long[] v = new long[8];
            for (int i = 0; i < 8 && i + 1 < f.length; i++) {
                try {
                    v[i] = Long.parseLong(f[i + 1]);
                } catch (NumberFormatException e) {
                    return Optional.empty();
                }
            }
            long idle = v[3] + v[4];
            long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
            return Optional.of(new long[] {busy, busy + idle});
        }
        return Optional.empty();
    }

    private static final Path PROC_STAT = Path.of("/proc/stat");

    private static Optional<Sample> read() {
        try {
            Optional<long[]> j = parse(Files.readAllLines(PROC_STAT));
            if (j.isEmpty()) {
                return Optional.empty();
            }
            long own = ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                    ? os.getProcessCpuTime() : -1;
            if (own < 0) {
                return Optional.empty();
            }
            return Optional.of(new Sample(j.get()[0], j.get()[1], own, System.nanoTime()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Waits until the machine is quiet (see the class comment), at most {@link #maxWaitSeconds()}
     * and within what is left of {@link #budgetSeconds()}.
     *
     * @return the seconds waited
     */
    public synchronized double await() {
        if (maxWaitSeconds == 0 || budgetSeconds == 0) {
            return 0;
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        looks++;
        Optional<Sample> now = read();
        if (now.isEmpty()) {
            return 0;
        }
        Sample before = last;
        last = now.get();
        if (before == null || others(before, now.get(), cpus) <= threshold) {
            return 0;
        }
        long start = System.nanoTime();
        double limit = Math.min(maxWaitSeconds, budgetSeconds - waitedSeconds);
        boolean quiet = false;
        while ((System.nanoTime() - start) * 1e-9 + STEP_SECONDS <= limit) {
            try {
                Thread.sleep((long) (STEP_SECONDS * 1000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            Optional<Sample> s = read();
            if (s.isEmpty()) {
                break;
            }
            double o = others(last, s.get(), cpus);
            last = s.get();
            if (o <= threshold) {
                quiet = true;
                break;
            }
        }
        double waited = (System.nanoTime() - start) * 1e-9;
        waitedSeconds += waited;
        waits++;
        if (!quiet) {
            timeouts++;
        }
        return waited;
    }
}
