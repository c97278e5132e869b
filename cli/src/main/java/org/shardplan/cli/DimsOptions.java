package org.shardplan.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import picocli.CommandLine.Option;

/**
 * The dimension-binding options every model-reading command mixes in
 * ({@code @Mixin DimsOptions bindings;}): {@code --dim NAME=VALUE} for a named symbolic dimension
 * and {@code --input-shape INPUT=D1,D2,...} for a graph input's whole shape, and
 * {@code --params-as-inputs auto|on|off} for weights fed as graph inputs. Parsing and its error
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

    @Option(names = "--params-as-inputs", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "Whether graph inputs that are weights (models exported without them, e.g. "
                    + "export_params=False) are planned as parameters: auto (default: inputs named like weights, of "
                    + "fixed shape, read as weights), on (every fixed-shape input read as a weight), off (none).")
    String paramsAsInputs = "auto";

    /** The {@code --params-as-inputs} mode; throws naming a bad one. */
    ImportOptions.ParamsAsInputs paramsAsInputs() throws ShardplanException {
        try {
            return ImportOptions.ParamsAsInputs.parse(paramsAsInputs);
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(e.getMessage());
        }
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
