package org.shardplan.planner;

import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;

/**
 * A model whose batch can be bound again: the graph at a given batch size. The planner asks for
 * the graph at the size of one micro-batch (global batch / micro-batches) when it splits a step into
 * micro-batches. An ONNX file is imported again with its {@code batch} dimension bound; a built-in
 * family is built at that size.
 */
@FunctionalInterface
public interface ModelSource {

    /**
     * The graph with its batch dimension bound to {@code batch}.
     *
     * @throws ShardplanException when the model cannot be bound to that size (naming it)
     */
    Graph at(long batch) throws ShardplanException;

    /** A source that has only the graph given (its batch cannot be bound again). */
    static ModelSource fixed(Graph g, long batch) {
        return new ModelSource() {
            @Override
            public Graph at(long b) throws ShardplanException {
                if (b != batch) {
                    throw new ShardplanException("the model " + g.name() + " is bound to batch " + batch
                            + " and cannot be bound to " + b + ": plan it from a file or a built-in model to use micro-batches");
                }
                return g;
            }

            @Override
            public boolean rebindable() {
                return false;
            }
        };
    }

    /** Whether {@link #at} accepts other sizes than the global batch. */
    default boolean rebindable() {
        return true;
    }
}
