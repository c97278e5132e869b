package org.shardplan.cost.memory;

import java.util.List;
import java.util.Objects;

/**
 * Memory per device. For P parameters on a device after tensor/operator sharding (the device's
 * own slice of every weight), a data-parallel group of D devices, and an optimizer keeping w, g
 * and s bytes per parameter for weights, gradients and state:
 *
 * <pre>
 * ZeRO stage   weights    gradients   optimizer state
 * 0 (none)     w·P        g·P         s·P
 * 1            w·P        g·P         s·P/D
 * 2            w·P        g·P/D       s·P/D
 * 3            w·P/D      g·P/D       s·P/D
 * </pre>
 *
 * (with Adam in mixed precision, 16·P bytes unsharded and 16·P/D under stage 3). Activations are
 * those saved for the backward pass; with recomputation the chain of saved activations a_1..a_n is
 * cut into segments of ceil(sqrt(n)) nodes: the first node of each segment keeps its activation
 * (the checkpoint) and the rest are recomputed one segment at a time, so the memory is the sum of
 * checkpoints plus the largest segment. All methods run in time linear in the number of nodes.
 *
 * @param optimizer bytes per parameter
 * @param zeroStage 0 to 3
 * @param recompute whether activations are recomputed
 */
public record MemoryModel(OptimizerSpec optimizer, int zeroStage, boolean recompute) {

    /** Adam in mixed precision, no ZeRO, no recomputation. */
    public static final MemoryModel DEFAULT = new MemoryModel(OptimizerSpec.ADAM_MIXED, 0, false);

    public MemoryModel {
        Objects.requireNonNull(optimizer, "optimizer");
        if (zeroStage < 0 || zeroStage > 3) {
            throw new IllegalArgumentException("ZeRO stage must be 0, 1, 2 or 3, found " + zeroStage);
        }
    }

    /**
     * Memory of parameters, gradients and optimizer state for {@code parameters} parameters held
     * on the device after sharding, replicated over a data-parallel group of {@code dataParallel}.
     */
    public MemoryBreakdown parameters(double parameters, int dataParallel) {
        if (dataParallel < 1) {
            throw new IllegalArgumentException("data-parallel degree must be at least 1, found " + dataParallel);
        }
        double d = dataParallel;
        double w = optimizer.weightBytes() * parameters / (zeroStage >= 3 ? d : 1);
        double g = optimizer.gradientBytes() * parameters / (zeroStage >= 2 ? d : 1);
        double s = optimizer.optimizerStateBytes() * parameters / (zeroStage >= 1 ? d : 1);
        return new MemoryBreakdown(w, g, s, 0);
    }

    /**
     * Activation memory for a chain of nodes that save {@code savedBytes[i]} bytes each for the
     * backward pass (per device): their sum, or under recomputation the checkpoints plus the
     * largest segment.
     */
    public double activations(List<Double> savedBytes) {
        if (!recompute) {
            double s = 0;
            for (double b : savedBytes) {
                s += b;
            }
            return s;
        }
        return checkpointed(savedBytes, (int) Math.ceil(Math.sqrt(savedBytes.size())));
    }

    /**
     * Activation memory with checkpoints every {@code segment} nodes: sum of the first node of
     * every segment plus the largest sum of the other nodes of one segment.
     */
    public static double checkpointed(List<Double> savedBytes, int segment) {
        if (savedBytes.isEmpty()) {
            return 0;
        }
        if (segment < 1) {
            throw new IllegalArgumentException("segment length must be at least 1, found " + segment);
        }
        double checkpoints = 0;
        double largest = 0;
        for (int start = 0; start < savedBytes.size(); start += segment) {
            checkpoints += savedBytes.get(start);
            double inner = 0;
            for (int i = start + 1; i < Math.min(savedBytes.size(), start + segment); i++) {
                inner += savedBytes.get(i);
            }
            largest = Math.max(largest, inner);
        }
        return checkpoints + largest;
    }

    /** Everything on one device: parameters, gradients, state and activations. */
    public MemoryBreakdown perDevice(double parameters, int dataParallel, List<Double> savedActivationBytes) {
        MemoryBreakdown p = parameters(parameters, dataParallel);
        return new MemoryBreakdown(p.weights(), p.gradients(), p.optimizerState(), activations(savedActivationBytes));
    }
}
