package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * 1F1B, or PipeDream-flush (Narayanan, Phanishayee, Shi, Chen and Zaharia, "Memory-Efficient
 * Pipeline-Parallel DNN Training", ICML 2021; the non-interleaved schedule of Megatron-LM, Narayanan et
 * al., SC'21). Device {@code s} of {@code p} runs {@code min(p - s - 1, m)} warm-up forwards, then
 * alternates one forward and one backward, then runs the remaining backwards, then synchronises
 * gradients. It has GPipe's bubble with less memory: device {@code s} holds at most
 * {@code min(p - s, m)} micro-batches of activations, instead of {@code m}.
 *
 * <p>Closed form for balanced stages ({@code f}, {@code b} each) without transfers: device {@code s}'s
 * last backward ends at {@code (m + p - 1)(f + b) - s b}, the step is {@code (m + p - 1)(f + b)} plus
 * synchronisation, and the bubble overhead is {@code (p - 1)/m}; the estimate uses this formula for
 * balanced stages without transfers. For other stage times and for transfers it is the critical path
 * of the op order's dependency graph ({@link CriticalPath}), the step the simulator replays. Running
 * time {@code O(p)} by the formula, {@code O(p m)} by the critical path; the order {@code O(p m)}.
 */
public final class OneFOneB implements Schedule {

    @Override
    public String name() {
        return "1f1b";
    }

    @Override
    public boolean exact() {
        return true;
    }

    @Override
    public Optional<String> check(int stages, int microBatches, int virtualStages) {
        return Shapes.oneChunk(name(), stages, microBatches, virtualStages);
    }

    /** Forwards device {@code s} of {@code p} runs before its first backward: {@code min(p - s - 1, m)}. */
    static int warmup(int p, int s, int m) {
        return Math.min(p - s - 1, m);
    }

    @Override
    public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
        int p = Shapes.devices(this, stages, microBatches, virtualStages);
        int[] inFlight = new int[p];
        for (int s = 0; s < p; s++) {
            inFlight[s] = Math.min(p - s, microBatches);
        }
        double[] end = Shapes.balancedWithoutTransfers(stages, p)
                ? balancedEnds(p, microBatches, stages.get(0).forwardSeconds(), stages.get(0).backwardSeconds())
                : CriticalPath.ends(stages, order(p, microBatches, 1), microBatches, 1);
        return Shapes.oneChunkEstimate(stages, microBatches, end, inFlight);
    }

    /** Balanced stages without transfers: device {@code s} ends at {@code (m + p - 1)(f + b) - s b}. */
    static double[] balancedEnds(int p, int m, double f, double b) {
        double[] end = new double[p];
        for (int s = 0; s < p; s++) {
            end[s] = (m + p - 1) * (f + b) - s * b;
        }
        return end;
    }

    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        requireValid(devices, microBatches, virtualStages);
        List<List<Op>> order = new ArrayList<>();
        for (int s = 0; s < devices; s++) {
            int w = warmup(devices, s, microBatches);
            List<Op> ops = new ArrayList<>();
            for (int i = 0; i < w; i++) {
                ops.add(Op.forward(i, 0));
            }
            for (int k = 0; k < microBatches - w; k++) {
                ops.add(Op.forward(w + k, 0));
                ops.add(Op.backward(k, 0));
            }
            for (int i = microBatches - w; i < microBatches; i++) {
                ops.add(Op.backward(i, 0));
            }
            order.add(List.copyOf(ops));
        }
        return List.copyOf(order);
    }
}
