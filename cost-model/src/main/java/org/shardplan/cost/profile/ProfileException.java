package org.shardplan.cost.profile;

import org.shardplan.graph.ShardplanException;

/** A model ONNX Runtime cannot load or run as a whole: the message names the model and the reason. */
public class ProfileException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public ProfileException(String message, Throwable cause) {
        super(message, cause);
    }

    public ProfileException(String message) {
        super(message);
    }
}
