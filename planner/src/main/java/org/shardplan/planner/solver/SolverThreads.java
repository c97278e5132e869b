package org.shardplan.planner.solver;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads the solvers start of their own ({@link DualPruning}'s parts) that are running now, in this JVM: work
 * that runs beside the search at a lower priority (the planner's reported bound during the passes) gives way while
 * there are any.
 */
public final class SolverThreads {
    private static final AtomicInteger RUNNING = new AtomicInteger();

    private SolverThreads() {
    }

    /** The solver threads running now. */
    public static int running() {
        return RUNNING.get();
    }

    /**
     * Runs {@code body.apply(t)} for {@code t = 0 .. n - 1} at once: the first {@code n - 1} on daemon threads named
     * {@code name-t} (counted among the solver threads, {@link #running}, where {@code counted}), the last on the
     * caller's; returns once every one has ended ({@link #joinAll}). Each body records its own failures.
     */
    public static void runAll(int n, String name, boolean counted, java.util.function.IntFunction<Runnable> body) {
        Thread[] workers = new Thread[Math.max(0, n - 1)];
        for (int t = 0; t < n; t++) {
            Runnable r = body.apply(t);
            if (t < n - 1) {
                workers[t] = new Thread(counted ? counted(r) : r, name + "-" + t);
                workers[t].setDaemon(true);
                workers[t].start();
            } else {
                r.run();
            }
        }
        joinAll(workers);
    }

    /**
     * Throws {@code f} where it is unchecked (a {@link RuntimeException} or an {@link Error} a body of {@link #runAll}
     * recorded), as it was thrown there; returns otherwise (null, or a checked failure the caller looks for itself).
     */
    public static void rethrowUnchecked(Throwable f) {
        if (f instanceof RuntimeException re) {
            throw re;
        } else if (f instanceof Error er) {
            throw er;
        }
    }

    /**
     * Waits for every worker (null entries skipped) even when interrupted, and then restores the
     * interrupt flag: the workers write into tables the caller reads next.
     */
    public static void joinAll(Thread[] workers) {
        boolean interrupted = false;
        for (Thread w : workers) {
            while (w != null) {
                try {
                    w.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code work} counted among the solver threads while it runs. */
    static Runnable counted(Runnable work) {
        return () -> {
            RUNNING.incrementAndGet();
            try {
                work.run();
            } finally {
                RUNNING.decrementAndGet();
            }
        };
    }
}
