package org.shardplan.planner.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * No pipeline: one stage runs the {@code m} micro-batches one after the other, forward then backward
 * (gradient accumulation), then synchronises its gradients. Step time {@code m (f + b) + sync}, exact;
 * one micro-batch of activations held at a time. Running time {@code O(1)} for the estimate,
 * {@code O(m)} for the order.
 */
public final class NoPipeline implements Schedule {

    @Override
    public String name() {
        return "none";
    }

    @Override
    public boolean exact() {
        return true;
    }

    /**
     * One stage has no model chunks to interleave: 1, whatever is requested (a fixed {@code --virtual-stages} is the
     * interleaved pipelines' count; one-stage plans stay candidates beside them, as with a fixed {@code --schedule}).
     */
    @Override
    public List<Integer> virtualStageCandidates(java.util.OptionalInt requested) {
        return List.of(1);
    }

    @Override
    public Optional<String> check(int stages, int microBatches, int virtualStages) {
        Optional<String> basic = Shapes.oneChunk(name(), stages, microBatches, virtualStages);
        if (basic.isPresent()) {
            return basic;
        }
        if (stages != 1) {
            return Optional.of("pipeline stages must be 1 for none, found " + stages);
        }
        return Optional.empty();
    }

    @Override
    public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
        Shapes.devices(this, stages, microBatches, virtualStages);
        StageProfile s = stages.get(0);
        double end = microBatches * (s.forwardSeconds() + s.backwardSeconds());
        return Shapes.oneChunkEstimate(stages, microBatches, new double[] {end}, new int[] {1});
    }

    @Override
    public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
        requireValid(devices, microBatches, virtualStages);
        List<Op> ops = new ArrayList<>();
        for (int i = 0; i < microBatches; i++) {
            ops.add(Op.forward(i, 0));
            ops.add(Op.backward(i, 0));
        }
        return List.of(List.copyOf(ops));
    }
}
