package org.shardplan.cost.cluster;

import org.shardplan.graph.ShardplanException;

/**
 * A cluster description that cannot be: zero devices, a negative bandwidth, an unknown device
 * type, a malformed cluster file. The message names the file or field and the value found, in
 * the form "X must be Y, found Z".
 */
public class ClusterException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public ClusterException(String message) {
        super(message);
    }

    public ClusterException(String message, Throwable cause) {
        super(message, cause);
    }
}
