package org.shardplan.onnx;

import org.shardplan.graph.ShardplanException;

/**
 * A model file that shardplan cannot read: missing, not an ONNX protobuf, truncated, or a graph that
 * is malformed (a cycle, a node reading a value nothing produces, a name used twice, a negative
 * dimension). The message is one line naming the file and, where it applies, the node and operator.
 */
public class OnnxImportException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public OnnxImportException(String message) {
        super(message);
    }

    public OnnxImportException(String message, Throwable cause) {
        super(message, cause);
    }
}
