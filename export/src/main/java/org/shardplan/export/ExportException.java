package org.shardplan.export;

import org.shardplan.graph.ShardplanException;

/**
 * A plan that a format cannot express, or an export that cannot be written. The message is one line
 * that names the format, the layer (the plan node) and what the format lacks, for example {@code
 * megatron: node '/h.3/attn/c_attn/MatMul' splits k (the reduction) and n: Megatron-LM splits a weight
 * product along one dimension}. The command line exits with code 2.
 */
public class ExportException extends ShardplanException {
    private static final long serialVersionUID = 1L;

    public ExportException(String message) {
        super(message);
    }

    public ExportException(String message, Throwable cause) {
        super(message, cause);
    }
}
