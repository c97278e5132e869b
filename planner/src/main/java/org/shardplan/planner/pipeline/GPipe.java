package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * GPipe (Huang et al., "GPipe: Efficient Training of Giant Neural Networks using Pipeline
 * Parallelism", NeurIPS 2019): every device runs the forwards of all {@code m} micro-batches, then
 * their backwards, then synchronises gradients; every device holds all {@code m} micro-batches of
 * activations at its peak.
 *
 * <p>Closed form, exact for any stage times, send times and synchronisation (the simulator's model).
 * The forward phase is a flow shop of {@code m} identical jobs through the machines
 * {@code f_0, c_0, f_1, ..., c_{p-2}, f_{p-1}} (stage forwards and the links between them), so the last
 * forward ends at
 * <pre>  T_F = sum(f) + sum(c) + (m-1) * max(f_0..f_{p-1}, c_0..c_{p-2}).</pre>
 * The last stage starts its backwards at {@code T_F} and the backward phase is the flow shop
 * {@code b_{p-1}, c_{p-2}, ..., c_0, b_0}; stage {@code s} ends at
 * <pre>  E_s = T_F + sum(b_s..b_{p-1}) + sum(c_s..c_{p-2}) + (m-1) * max(b_s..b_{p-1}, c_s..c_{p-2})</pre>
 * and the step is {@code max_s (E_s + g_s)}. Balanced stages without sends: {@code (m + p - 1)(f + b)},
 * bubble overhead {@code (p-1)/m}. Running time {@code O(p)} for the estimate, {@code O(p m)} for the
 * order.
 */
public final class GPipe implements Schedule {

    @Override
    public String name() {
        return "gpipe";
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
        // Forward machines f_0, c_0, f_1, ..., f_{p-1}; backward machines b_{p-1}, c_{p-2}, ..., b_0.
        double[] forward = new double[2 * p - 1];
        double[] backward = new double[2 * p - 1];
        for (int s = 0; s < p; s++) {
            forward[2 * s] = stages.get(s).forwardSeconds();
            backward[2 * (p - 1 - s)] = stages.get(s).backwardSeconds();
            if (s < p - 1) {
                forward[2 * s + 1] = stages.get(s).sendSeconds();
                backward[2 * (p - 1 - s) - 1] = stages.get(s).sendSeconds();
            }
        }
        double forwardEnd = Shapes.flowShop(forward, 0, 2 * p - 1, microBatches);
        double[] end = new double[p];
        int[] inFlight = new int[p];
        for (int s = 0; s < p; s++) {
            end[s] = forwardEnd + Shapes.flowShop(backward, 0, 2 * (p - 1 - s) + 1, microBatches);
            inFlight[s] = microBatches;
        }
        return Shapes.oneChunkEstimate(stages, microBatches, end, inFlight);
    }

    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        requireValid(devices, microBatches, virtualStages);
        List<Op> ops = new ArrayList<>();
        for (int i = 0; i < microBatches; i++) {
            ops.add(Op.forward(i, 0));
        }
        for (int i = 0; i < microBatches; i++) {
            ops.add(Op.backward(i, 0));
        }
        List<List<Op>> order = new ArrayList<>();
        for (int d = 0; d < devices; d++) {
            order.add(List.copyOf(ops));
        }
        return List.copyOf(order);
    }
}
