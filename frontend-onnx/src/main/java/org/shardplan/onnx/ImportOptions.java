package org.shardplan.onnx;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.shardplan.graph.Tensor;

/**
 * How to import a model.
 *
 * @param dims values for symbolic dimensions, by symbol name ({@code --dim batch=64})
 * @param inputShapes whole shapes for graph inputs, by input name ({@code --input-shape ids=8,128}),
 *     replacing whatever the file declares
 * @param inputValues known contents of graph inputs (for tests that feed reference inputs, so that
 *     data-dependent shapes resolve as they would when the model runs)
 * @param trustDeclaredShapes whether shapes the file declares for intermediate values and outputs
 *     ({@code value_info}, graph outputs) fill in what inference leaves unknown; off to test inference alone
 */
public record ImportOptions(Map<String, Long> dims, Map<String, List<Long>> inputShapes,
                            Map<String, Tensor> inputValues, boolean trustDeclaredShapes) {

    public static final ImportOptions DEFAULT = new ImportOptions(Map.of(), Map.of(), Map.of(), true);

    public ImportOptions {
        dims = Map.copyOf(Objects.requireNonNull(dims, "dims"));
        inputShapes = Map.copyOf(Objects.requireNonNull(inputShapes, "inputShapes"));
        inputValues = Map.copyOf(Objects.requireNonNull(inputValues, "inputValues"));
        dims.forEach((k, v) -> {
            if (v < 0) {
                throw new IllegalArgumentException("--dim " + k + " must be >= 0, found " + v);
            }
        });
        inputShapes.forEach((k, v) -> v.forEach(d -> {
            if (d < 0) {
                throw new IllegalArgumentException("--input-shape " + k + " dimensions must be >= 0, found " + d);
            }
        }));
    }

    public ImportOptions withDims(Map<String, Long> d) {
        return new ImportOptions(d, inputShapes, inputValues, trustDeclaredShapes);
    }

    public ImportOptions withInputShapes(Map<String, List<Long>> s) {
        return new ImportOptions(dims, s, inputValues, trustDeclaredShapes);
    }

    public ImportOptions withInputValues(Map<String, Tensor> v) {
        return new ImportOptions(dims, inputShapes, v, trustDeclaredShapes);
    }

    public ImportOptions withTrustDeclaredShapes(boolean t) {
        return new ImportOptions(dims, inputShapes, inputValues, t);
    }
}
