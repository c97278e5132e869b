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
 * @param stepBytesPerParameter bytes the optimizer step reads and writes in device memory per
 *     parameter it updates (memory-bound kernels: the step runs at the device's streaming rate)
 */
public record OptimizerSpec(String name, double weightBytes, double gradientBytes, double optimizerStateBytes,
        double activationBytesPerElement, double stepBytesPerParameter) {

    /**
     * Adam, mixed precision: 2 + 2 + (4 + 4 + 4) = 16 bytes per parameter, float16 activations. Its step
     * moves 52 bytes per parameter, the kernels of Megatron-LM's {@code Float16OptimizerWithFloat16Params.step}
     * ({@code megatron/optimizer/optimizer.py}, 2021): float16 gradients copied to float32 (read 2, write 4),
     * unscaled and checked for infinities (read 4, write 4), their L2 norm for clipping (read 4), apex's
     * FusedAdam (read weight, gradient and both moments, 16; write weight and moments, 12), the float32
     * master weights copied to the float16 weights (read 4, write 2): 6 + 8 + 4 + 28 + 6.
     */
    public static final OptimizerSpec ADAM_MIXED = new OptimizerSpec("adam-mixed", 2, 2, 12, 2, 52);
    /**
     * Adam in float32: 4 + 4 + (4 + 4) = 16 bytes per parameter, float32 activations; its step the L2 norm
     * of the gradients (read 4) and a fused Adam (read 16, write 12): 32 bytes per parameter.
     */
    public static final OptimizerSpec ADAM_FP32 = new OptimizerSpec("adam-fp32", 4, 4, 8, 4, 32);
    /**
     * Adam as PyTorch's automatic mixed precision runs it ({@code torch.autocast} and a fused AdamW, the usual set-up
     * of DDP and FSDP): float32 weights and gradients and the two float32 moments, no separate master copy, 4 + 4 + 8
     * = 16 bytes per parameter; activations in the autocast type (2 bytes); its step the gradients' L2 norm for
     * clipping (read 4) and the fused AdamW (read weight, gradient and both moments, 16; write weight and moments,
     * 12): 32 bytes per parameter, where Megatron-LM's step of {@link #ADAM_MIXED} moves 52.
     */
    public static final OptimizerSpec ADAM_AMP = new OptimizerSpec("adam-amp", 4, 4, 8, 2, 32);
    /**
     * SGD with momentum in float32: 4 + 4 + 4 = 12 bytes per parameter; its step reads weight, gradient and
     * momentum and writes weight and momentum: 20 bytes.
     */
    public static final OptimizerSpec SGD_MOMENTUM_FP32 = new OptimizerSpec("sgd-momentum-fp32", 4, 4, 4, 4, 20);
    /** Plain SGD in float32: 4 + 4 = 8 bytes per parameter; its step reads weight and gradient, writes the weight: 12. */
    public static final OptimizerSpec SGD_FP32 = new OptimizerSpec("sgd-fp32", 4, 4, 0, 4, 12);

    /** The presets, default first. */
    public static final List<OptimizerSpec> PRESETS = List.of(ADAM_MIXED, ADAM_FP32, SGD_MOMENTUM_FP32, SGD_FP32,
            ADAM_AMP);

    public OptimizerSpec {
        Objects.requireNonNull(name, "name");
        for (double b : new double[] {weightBytes, gradientBytes, optimizerStateBytes, activationBytesPerElement,
                stepBytesPerParameter}) {
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
