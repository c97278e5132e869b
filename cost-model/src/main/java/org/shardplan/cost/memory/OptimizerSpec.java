package org.shardplan.cost.memory;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.shardplan.cost.cluster.ClusterException;

/**
 * Bytes kept per trainable parameter. The default, Adam in mixed precision, keeps 16 bytes per
 * parameter: float16 weights (2) and gradients (2) for the forward and backward pass, and an
 * optimizer state of 12: a float32 master copy of the weights (4), Adam's first moment (4) and
 * second moment (4).
 *
 * @param name preset name
 * @param weightBytes bytes of the weights the passes use
 * @param gradientBytes bytes of the gradients
 * @param optimizerStateBytes bytes the optimizer keeps (master weights and moments)
 * @param activationBytesPerElement bytes of one saved activation element (2 in mixed precision)
 */
public record OptimizerSpec(String name, double weightBytes, double gradientBytes, double optimizerStateBytes,
        double activationBytesPerElement) {

    /** Adam, mixed precision: 2 + 2 + (4 + 4 + 4) = 16 bytes per parameter, float16 activations. */
    public static final OptimizerSpec ADAM_MIXED = new OptimizerSpec("adam-mixed", 2, 2, 12, 2);
    /** Adam in float32: 4 + 4 + (4 + 4) = 16 bytes per parameter, float32 activations. */
    public static final OptimizerSpec ADAM_FP32 = new OptimizerSpec("adam-fp32", 4, 4, 8, 4);
    /** SGD with momentum in float32: 4 + 4 + 4 = 12 bytes per parameter. */
    public static final OptimizerSpec SGD_MOMENTUM_FP32 = new OptimizerSpec("sgd-momentum-fp32", 4, 4, 4, 4);
    /** Plain SGD in float32: 4 + 4 = 8 bytes per parameter. */
    public static final OptimizerSpec SGD_FP32 = new OptimizerSpec("sgd-fp32", 4, 4, 0, 4);

    /** The presets, default first. */
    public static final List<OptimizerSpec> PRESETS = List.of(ADAM_MIXED, ADAM_FP32, SGD_MOMENTUM_FP32, SGD_FP32);

    public OptimizerSpec {
        Objects.requireNonNull(name, "name");
        for (double b : new double[] {weightBytes, gradientBytes, optimizerStateBytes, activationBytesPerElement}) {
            if (!(b >= 0) || Double.isInfinite(b)) {
                throw new IllegalArgumentException("optimizer " + name + ": byte counts must be finite and >= 0, found " + b);
            }
        }
    }

    /** Bytes per parameter when nothing is sharded. */
    public double bytesPerParameter() {
        return weightBytes + gradientBytes + optimizerStateBytes;
    }

    /** A preset by name. */
    public static OptimizerSpec of(String name) throws ClusterException {
        String n = name.toLowerCase(Locale.ROOT);
        for (OptimizerSpec o : PRESETS) {
            if (o.name.equals(n)) {
                return o;
            }
        }
        throw new ClusterException("optimizer must be one of "
                + PRESETS.stream().map(OptimizerSpec::name).toList() + ", found \"" + name + "\"");
    }
}
