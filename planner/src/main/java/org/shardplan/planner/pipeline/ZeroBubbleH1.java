package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * ZB-H1, the memory-bounded zero-bubble schedule of Qi, Wan, Huang and Lin ("Zero Bubble Pipeline
 * Parallelism", ICLR 2024). The backward is split into the input-gradient pass B, which the previous
 * stage waits for, and the weight-gradient pass W, which nothing waits for; W passes are put off to
 * fill what would be 1F1B's bubble. Device {@code s} of {@code p} runs, with
 * {@code w = min(p - s - 1, m)} and {@code d = min(s, m - w)},
 * <pre>
 *   w x F,  d x (F, B),  (m - w - d) x (F, B, W),  w x (B, W),  d x W
 * </pre>
 * (the order of the authors' DeepSpeed implementation, {@code ZeroBubbleH1Pipeline}, with its exact
 * semantics; on the first stage B and W run back to back, as its whole backward). A micro-batch's
 * activations are kept until its W, so every device holds at most {@code min(p, m)} micro-batches: the
 * most 1F1B holds on any device (its first), so the peak over devices is 1F1B's.
 *
 * <p>Closed form for balanced stages ({@code f}, {@code b = b_in + b_w}) without transfers and
 * {@code m >= p}: device {@code s}'s last op ends at
 * <pre>  E_s = m (f + b) + (p - 1) f + (p - 1 - s)(b_in - b_w),</pre>
 * so the step is {@code m (f + b) + (p - 1)(f + max(b_in - b_w, 0))} plus synchronisation: the paper's
 * bubble {@code (p - 1)(T_F + T_B - T_W)} when {@code T_B >= T_W}, and {@code (p - 1) T_F} when the
 * weight gradient is the longer half. With {@code b_w = 0} it is 1F1B's step. The estimate uses this
 * formula for balanced stages without transfers and {@code m >= p}; otherwise the critical path of the
 * op order's dependency graph ({@link CriticalPath}), the step the simulator replays. Running time
 * {@code O(p)} by the formula, {@code O(p m)} by the critical path; the order {@code O(p m)}.
 */
public final class ZeroBubbleH1 implements Schedule {

    @Override
    public String name() {
        return "zero-bubble";
    }

    @Override
    public boolean exact() {
        return true;
    }

    @Override
    public Optional<String> check(int stages, int microBatches, int virtualStages) {
        return Shapes.oneChunk(name(), stages, microBatches, virtualStages);
    }

    @Override
    public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
        int p = Shapes.devices(this, stages, microBatches, virtualStages);
        int[] inFlight = new int[p];
        for (int s = 0; s < p; s++) {
            inFlight[s] = Math.min(p, microBatches);
        }
        double[] end = microBatches >= p && Shapes.balancedWithoutTransfers(stages, p)
                ? balancedEnds(p, microBatches, stages.get(0))
                : CriticalPath.ends(stages, order(p, microBatches, 1), microBatches, 1);
        return Shapes.oneChunkEstimate(stages, microBatches, end, inFlight);
    }

    /**
     * Balanced stages without transfers and {@code m >= p}: device {@code s} ends at
     * {@code m (f + b) + (p - 1) f + (p - 1 - s)(b_in - b_w)}.
     */
    static double[] balancedEnds(int p, int m, StageProfile stage) {
        double[] end = new double[p];
        double f = stage.forwardSeconds();
        double b = stage.backwardSeconds();
        for (int s = 0; s < p; s++) {
            end[s] = m * (f + b) + (p - 1) * f + (p - 1 - s) * (stage.backwardInputSeconds() - stage.backwardWeightSeconds());
        }
        return end;
    }

    /** Weight-gradient ops stage {@code s} of {@code p} puts off: {@code min(s, m - min(p - s - 1, m))}. */
    static int deferred(int p, int s, int m) {
        return Math.min(s, m - Math.min(p - s - 1, m));
    }

    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        requireValid(devices, microBatches, virtualStages);
        int m = microBatches;
        List<List<Op>> order = new ArrayList<>();
        for (int s = 0; s < devices; s++) {
            List<Op> ops = new ArrayList<>();
            int forward = 0;
            int backward = 0;
            int weight = 0;
            int warmup = Math.min(devices - s - 1, m);
            while (forward < warmup) {
                ops.add(Op.forward(forward++, 0));
            }
            for (int k = deferred(devices, s, m); k > 0; k--) {
                ops.add(Op.forward(forward++, 0));
                ops.add(Op.backwardInput(backward++, 0));
            }
            while (forward < m) {
                ops.add(Op.forward(forward++, 0));
                ops.add(Op.backwardInput(backward++, 0));
                ops.add(Op.backwardWeight(weight++, 0));
            }
            while (backward < m) {
                ops.add(Op.backwardInput(backward++, 0));
                ops.add(Op.backwardWeight(weight++, 0));
            }
            while (weight < m) {
                ops.add(Op.backwardWeight(weight++, 0));
            }
            order.add(List.copyOf(ops));
        }
        return List.copyOf(order);
    }
}
