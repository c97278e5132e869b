package org.shardplan.graph;

/**
 * The time limit of a command, checked by the phases that run before and around the search (import,
 * coarsening, the standard families' layouts, bounds): a deadline set for the current thread with
 * {@link #at}, and {@link #check} in their loops, which throws {@link Expired} naming the phase once it
 * has passed. Without a deadline set (the library used directly, tests) nothing is checked. The search
 * itself keeps its own deadline ({@code ProblemBuilder.stopAt}, the solvers' limits) and answers with
 * the best plan priced when it runs out.
 *
 * <p>A check costs one thread-local read and one {@link System#nanoTime}; O(1).
 */
public final class Deadline {

    private static final ThreadLocal<long[]> AT = new ThreadLocal<>();

    private Deadline() {
    }

    /** The time limit ran out during {@link #phase}. */
    public static final class Expired extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String phase;

        public Expired(String phase) {
            super("the time limit ran out while " + phase, null, false, false);
            this.phase = phase;
        }

        /** What was running, e.g. "importing the model (node 12000 of 36010)". */
        public String phase() {
            return phase;
        }
    }

    /** Restores the deadline that was set before (none, or an outer one) when closed. */
    public static final class Scope implements AutoCloseable {
        private final long[] previous;

        private Scope(long[] previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            if (previous == null) {
                AT.remove();
            } else {
                AT.set(previous);
            }
        }
    }

    /** Sets the deadline of this thread to {@code nanoTime} (a {@link System#nanoTime} value) until the scope closes. */
    public static Scope at(long nanoTime) {
        long[] before = AT.get();
        AT.set(new long[] {nanoTime});
        return new Scope(before);
    }

    /** No deadline on this thread until the scope closes (work that must finish to answer at all). */
    public static Scope lifted() {
        long[] before = AT.get();
        AT.remove();
        return new Scope(before);
    }

    /** Whether a deadline is set on this thread and has passed. */
    public static boolean passed() {
        long[] d = AT.get();
        return d != null && System.nanoTime() - d[0] >= 0;
    }

    /** The deadline of this thread as a {@link System#nanoTime} value, if one is set. */
    public static java.util.OptionalLong get() {
        long[] d = AT.get();
        return d == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(d[0]);
    }

    /**
     * Throws {@link Expired} when this thread's deadline has passed.
     *
     * @param phase what is running, in words ("coarsening the graph"), for the message
     */
    public static void check(String phase) {
        if (passed()) {
            throw new Expired(phase);
        }
    }
}
