package org.shardplan.graph;

/**
 * The one checked exception family of shardplan: bad input from a user (a malformed model, problem,
 * cluster or plan file, an impossible request). Its message is a single line that names the file,
 * node, field or value involved, and is meant to be shown as it is.
 *
 * <p>Every module's I/O boundary throws a subclass of this (for example the ONNX frontend's
 * {@code OnnxImportException}); the command line turns it into a one-line error and
 * {@link #exitCode()}. Anything else that escapes is an internal error (exit code 1).
 */
public class ShardplanException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Exit code for bad input, as documented in the README. */
    public static final int BAD_INPUT = 2;

    private final int exitCode;

    public ShardplanException(String message) {
        this(message, BAD_INPUT, null);
    }

    public ShardplanException(String message, Throwable cause) {
        this(message, BAD_INPUT, cause);
    }

    public ShardplanException(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** The process exit code the command line uses for this error (2 unless a subclass says otherwise). */
    public int exitCode() {
        return exitCode;
    }
}
