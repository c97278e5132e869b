package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Work beside the search runs exactly once: on the thread beside when it got there first, else on the asking thread. */
class BesideWorkTest {

    @Test
    void workNotStartedIsRunByTheAskerAndNeverBeside() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch blocking = new CountDownLatch(1);
            // the only thread beside is busy: the work queued behind it has not started
            pool.submit(() -> {
                blocking.countDown();
                release.await();
                return null;
            });
            assertTrue(blocking.await(10, TimeUnit.SECONDS));
            AtomicInteger runs = new AtomicInteger();
            BesideWork<Integer> w = new BesideWork<>(pool, () -> runs.incrementAndGet() * 10);
            assertEquals(-1, w.get(() -> -1)); // taken back and run by the asker
            release.countDown();
            pool.submit(() -> null).get(10, TimeUnit.SECONDS); // the queue has drained
            assertEquals(0, runs.get(), "the work taken back still ran beside");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void workStartedBesideIsWaitedForNotRunAgain() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger runs = new AtomicInteger();
            BesideWork<Integer> w = new BesideWork<>(pool, () -> {
                started.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return runs.incrementAndGet();
            });
            assertTrue(started.await(10, TimeUnit.SECONDS));
            AtomicInteger inline = new AtomicInteger();
            Thread t = new Thread(release::countDown);
            t.start();
            assertEquals(1, w.get(inline::incrementAndGet)); // the answer beside, once
            assertEquals(0, inline.get(), "the asker ran work already running beside");
            assertEquals(1, runs.get());
            t.join();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void failuresBesideAreRethrownAsTheyWereAndDroppedWorkNeverRuns() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            BesideWork<Integer> bad = new BesideWork<>(pool, () -> {
                throw new IllegalArgumentException("no layout");
            });
            pool.submit(() -> null).get(10, TimeUnit.SECONDS); // it ran
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.get(() -> 0));
            assertEquals("no layout", e.getMessage());
            CountDownLatch release = new CountDownLatch(1);
            pool.submit(() -> {
                release.await();
                return null;
            });
            AtomicInteger runs = new AtomicInteger();
            BesideWork<Integer> dropped = new BesideWork<>(pool, runs::incrementAndGet);
            assertTrue(dropped.drop());
            assertFalse(dropped.drop());
            release.countDown();
            pool.submit(() -> null).get(10, TimeUnit.SECONDS);
            assertEquals(0, runs.get(), "dropped work ran");
        } finally {
            pool.shutdownNow();
        }
    }
}
