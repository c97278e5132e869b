package org.shardplan.cli;

import java.io.PrintStream;
import org.shardplan.cost.profile.Profiler;

/**
 * A one-line progress bar on the terminal's stderr, redrawn in place; silent when stderr is not
 * a console (pipes, files, tests).
 */
final class ProfileProgress implements Profiler.Listener {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final boolean enabled;

    ProfileProgress(PrintStream err, boolean enabled) {
        this.err = err;
        this.enabled = enabled;
    }

    /** A bar on System.err, shown only when the process has a console. */
    static ProfileProgress onConsole() {
        return new ProfileProgress(System.err, System.console() != null);
    }

    @Override
    public void progress(int done, int total, String what) {
        if (!enabled) {
            return;
        }
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        String label = what.length() > 40 ? what.substring(0, 37) + "..." : what;
        StringBuilder b = new StringBuilder("\rprofiling [");
        b.append("#".repeat(filled)).append(".".repeat(WIDTH - filled)).append("] ")
                .append(done).append('/').append(total).append(' ').append(label);
        b.append(" ".repeat(Math.max(0, 50 - label.length())));
        if (done >= total) {
            b.append('\r').append(" ".repeat(b.length())).append('\r');
        }
        err.print(b);
        err.flush();
    }
}
