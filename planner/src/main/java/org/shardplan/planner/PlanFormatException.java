package org.shardplan.planner;

import org.shardplan.graph.ShardplanException;

/** A plan file that cannot be read: bad JSON, a missing or mistyped field; the message names the field. */
public class PlanFormatException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public PlanFormatException(String message) {
        super(message);
    }

    public PlanFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
