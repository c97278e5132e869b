package org.shardplan.planner;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Work started on a thread beside the search ({@link PipelineSearch#threads}) whose answer the search takes later, in
 * its own order. Run once: by the thread beside if it gets to it first, else by the search's thread when it asks for
 * the answer ({@link #get}: the work queued and not started yet is taken back and run there, so a busy thread beside
 * never makes the search wait for work it could do itself). The work must give the same answer on either thread.
 *
 * @param <T> the answer
 */
final class BesideWork<T> {
    private final AtomicBoolean claimed = new AtomicBoolean();
    private final Future<T> future;

    /** Queues {@code work} on {@code pool}. */
    BesideWork(ExecutorService pool, Supplier<T> work) {
        future = pool.submit(() -> claimed.compareAndSet(false, true) ? work.get() : null);
    }

    /**
     * The answer: {@code inline}'s, run here, where the thread beside has not started the work; else the work's,
     * waiting for it, its exceptions rethrown as they were thrown there.
     */
    T get(Supplier<T> inline) {
        if (claimed.compareAndSet(false, true)) {
            future.cancel(false);
            return inline.get();
        }
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a solve ran beside the search", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Keeps the work from starting where it has not (it is then never run), and leaves it running where it has (its
     * answer still to be taken with {@link #get}); true when it had not started.
     */
    boolean dropUnstarted() {
        if (claimed.compareAndSet(false, true)) {
            future.cancel(false);
            return true;
        }
        return false;
    }

    /** Whether the work has ended (run beside, or dropped). */
    boolean isDone() {
        return future.isDone();
    }

    /** Keeps the work from starting where it has not (it is then never run); true when it had not. */
    boolean drop() {
        boolean before = claimed.compareAndSet(false, true);
        future.cancel(false);
        return before;
    }
}
