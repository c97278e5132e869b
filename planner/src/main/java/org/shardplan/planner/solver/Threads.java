package org.shardplan.planner.solver;

/** Helpers for the short-lived worker threads the solvers and bounds start. */
public final class Threads {
    private Threads() {
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
}
