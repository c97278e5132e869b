package org.shardplan.cli;

import org.shardplan.graph.ShardplanException;
import picocli.CommandLine.Option;

/**
 * {@code --batch N}, which {@code plan}, {@code inspect} and {@code profile} mix in ({@code @Mixin BatchOption batch;}):
 * the global batch, bound to the model's batch dimension as {@link PlanModel} binds it.
 */
final class BatchOption {

    @Option(names = "--batch", paramLabel = "N", description = "Global batch size: binds the model's batch dimension, the"
            + " one named batch, else the one batch-like name (batch_size, N, ...) leading its inputs.")
    Long batch;

    /** The batch given, 0 where none was; throws naming a batch below 1. */
    long given() throws ShardplanException {
        if (batch != null && batch < 1) {
            throw new ShardplanException("--batch must be >= 1, found " + batch);
        }
        return batch == null ? 0 : batch;
    }
}
