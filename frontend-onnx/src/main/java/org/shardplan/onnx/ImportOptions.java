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
 * @param paramsAsInputs which graph inputs are read as parameters ({@code --params-as-inputs}): models
 *     exported without their weights ({@code torch.onnx.export(..., export_params=False)}) feed every
 *     weight as a graph input
 */
public record ImportOptions(Map<String, Long> dims, Map<String, List<Long>> inputShapes,
                            Map<String, Tensor> inputValues, boolean trustDeclaredShapes,
                            ParamsAsInputs paramsAsInputs) {

    public static final ImportOptions DEFAULT = new ImportOptions(Map.of(), Map.of(), Map.of(), true,
            ParamsAsInputs.AUTO);

    /**
     * Which graph inputs are parameters (trained weights) rather than data fed at run time; see
     * {@link ParameterInputs} for the rules.
     */
    public enum ParamsAsInputs {
        /** Inputs named like weights and read as weights, of fixed shape, are parameters. */
        AUTO,
        /** Every floating-point input of fixed shape that an operator reads as a weight is a parameter. */
        ON,
        /** Graph inputs are never parameters. */
        OFF;

        /** The mode named by {@code auto}, {@code on} or {@code off} (any case). */
        public static ParamsAsInputs parse(String s) {
            for (ParamsAsInputs m : values()) {
                if (m.name().equalsIgnoreCase(s.trim())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--params-as-inputs must be auto, on or off, found '" + s + "'");
        }
    }

    /** Options without a {@code --params-as-inputs} choice (auto). */
    public ImportOptions(Map<String, Long> dims, Map<String, List<Long>> inputShapes,
                         Map<String, Tensor> inputValues, boolean trustDeclaredShapes) {
        this(dims, inputShapes, inputValues, trustDeclaredShapes, ParamsAsInputs.AUTO);
    }

    public ImportOptions {
        Objects.requireNonNull(paramsAsInputs, "paramsAsInputs");
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
        return new ImportOptions(d, inputShapes, inputValues, trustDeclaredShapes, paramsAsInputs);
    }

    public ImportOptions withInputShapes(Map<String, List<Long>> s) {
        return new ImportOptions(dims, s, inputValues, trustDeclaredShapes, paramsAsInputs);
    }

    public ImportOptions withInputValues(Map<String, Tensor> v) {
        return new ImportOptions(dims, inputShapes, v, trustDeclaredShapes, paramsAsInputs);
    }

    public ImportOptions withTrustDeclaredShapes(boolean t) {
        return new ImportOptions(dims, inputShapes, inputValues, t, paramsAsInputs);
    }

    public ImportOptions withParamsAsInputs(ParamsAsInputs m) {
        return new ImportOptions(dims, inputShapes, inputValues, trustDeclaredShapes, m);
    }
}
