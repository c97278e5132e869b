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
