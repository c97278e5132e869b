package org.shardplan.planner.solver;

import org.shardplan.graph.ShardplanException;

/**
 * A strategy problem or solution file (format 1, {@code docs/problem-format.md}) that cannot be
 * read: malformed JSON, wrong matrix sizes, NaN, an edge to a missing node. The message is one line
 * naming the file, node or edge and what was found.
 */
public final class ProblemFormatException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public ProblemFormatException(String message) {
        super(message);
    }

    public ProblemFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
