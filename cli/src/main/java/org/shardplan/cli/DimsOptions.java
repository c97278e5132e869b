package org.shardplan.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.ShardplanException;
import picocli.CommandLine.Option;

/**
 * The dimension-binding options every model-reading command mixes in
 * ({@code @Mixin DimsOptions bindings;}): {@code --dim NAME=VALUE} for a named symbolic dimension
 * and {@code --input-shape INPUT=D1,D2,...} for a graph input's whole shape. Parsing and its error
 * messages are {@link DimsArgs}'.
 */
final class DimsOptions {

    @Option(names = "--dim", paramLabel = "NAME=VALUE",
            description = "Binds a symbolic dimension, e.g. --dim batch=64 (repeatable).")
    List<String> dims = new ArrayList<>();

    @Option(names = "--input-shape", paramLabel = "INPUT=D1,D2,...",
            description = "Gives a graph input's whole shape, e.g. --input-shape ids=8,128 (repeatable).")
    List<String> inputShapes = new ArrayList<>();

    @Option(names = "--input-value", paramLabel = "INPUT=V1,V2,...",
            description = "Gives a small graph input's contents, e.g. --input-value sr=16000, so that what depends on it "
                    + "(the branch of an If) is known (repeatable).")
    List<String> inputValues = new ArrayList<>();

    /** The {@code --input-value} bindings in the order given; throws naming a malformed one. */
    Map<String, org.shardplan.graph.Tensor> inputValues() throws ShardplanException {
        return DimsArgs.inputValues(inputValues);
    }

    /** The {@code --dim} bindings in the order given; throws naming a malformed one. */
    Map<String, Long> dims() throws ShardplanException {
        return DimsArgs.dims(dims);
    }

    /** The {@code --input-shape} bindings in the order given; throws naming a malformed one. */
    Map<String, List<Long>> inputShapes() throws ShardplanException {
        return DimsArgs.inputShapes(inputShapes);
    }
}
