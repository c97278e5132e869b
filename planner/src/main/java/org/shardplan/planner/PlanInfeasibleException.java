package org.shardplan.planner;

import org.shardplan.graph.ShardplanException;

/**
 * No plan fits the per-device memory limit. The message says which layers do not fit and by how much,
 * and what would fit; the command line exits with {@link #EXIT_CODE}.
 */
public class PlanInfeasibleException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    /** Exit code of the command line when no plan fits. */
    public static final int EXIT_CODE = 3;

    public PlanInfeasibleException(String message) {
        super(message, EXIT_CODE, null);
    }
}
