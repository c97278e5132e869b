package org.shardplan.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A line on the terminal's stderr saying that long work goes on ("planning builtin:gpt-1.7b: 12 s of
 * at most 60 s"), redrawn in place once a second by a daemon thread and erased when the work ends;
 * silent when stderr is not a console (pipes, files, tests), so that piped output stays clean.
 */
final class Progress implements AutoCloseable {
    private final PrintStream err;
    private final Thread ticker;
    private final long started = System.nanoTime();
    private volatile boolean done;
    private int width;

    /**
     * @param err where to draw
     * @param enabled whether to draw at all
     * @param what what is going on ("planning MODEL")
     * @param limitSeconds the time limit to show (0: none)
     * @param intervalMillis how often to redraw
     */
    Progress(PrintStream err, boolean enabled, String what, double limitSeconds, long intervalMillis) {
        this.err = err;
        if (!enabled) {
            ticker = null;
            return;
        }
        ticker = new Thread(() -> {
            while (!done) {
                try {
                    Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                    return;
                }
                if (done) {
                    return;
                }
                double s = (System.nanoTime() - started) / 1e9;
                String line = String.format(Locale.ROOT, "%s: %.0f s%s", what, s,
                        limitSeconds > 0 ? String.format(Locale.ROOT, " (time limit %.0f s)", limitSeconds) : "");
                synchronized (this) {
                    width = Math.max(width, line.length());
                    err.print("\r" + line);
                    err.flush();
                }
            }
        }, "shardplan-progress");
        ticker.setDaemon(true);
        ticker.start();
    }

    /** Progress on System.err, drawn only when the process has a console. */
    static Progress onConsole(String what, double limitSeconds) {
        return new Progress(System.err, System.console() != null, what, limitSeconds, 1000);
    }

    @Override
    public void close() {
        done = true;
        if (ticker == null) {
            return;
        }
        ticker.interrupt();
        try {
            ticker.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (width > 0) {
                err.print("\r" + " ".repeat(width) + "\r");
                err.flush();
            }
        }
    }
}
