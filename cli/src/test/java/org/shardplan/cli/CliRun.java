package org.shardplan.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the command line, as the tests see it: exit code, stdout and stderr. */
record CliRun(int code, String out, String err) {

    /** Runs {@code shardplan ARGS...} through {@link Main#run} and captures both streams. */
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter o = new PrintWriter(out);
        PrintWriter e = new PrintWriter(err);
        int code = Main.run(args, o, e);
        o.flush();
        e.flush();
        return new CliRun(code, out.toString(), err.toString());
    }
}
