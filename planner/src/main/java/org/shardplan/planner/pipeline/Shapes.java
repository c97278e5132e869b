package org.shardplan.planner.pipeline;

import java.util.List;
import java.util.Optional;

/** Shape checks and per-device sums shared by the schedules. */
final class Shapes {

    private Shapes() {
    }

    /** The checks every schedule makes: at least one stage, micro-batch and virtual stage. */
    static Optional<String> basic(int stages, int microBatches, int virtualStages) {
        if (stages < 1) {
            return Optional.of("pipeline stages must be at least 1, found " + stages);
        }
        if (microBatches < 1) {
            return Optional.of("micro-batches must be at least 1, found " + microBatches);
        }
        if (virtualStages < 1) {
            return Optional.of("virtual stages must be at least 1, found " + virtualStages);
        }
        return Optional.empty();
    }

    /** {@link #basic} and one chunk per device, for the schedules without interleaving. */
    static Optional<String> oneChunk(String name, int stages, int microBatches, int virtualStages) {
        Optional<String> basic = basic(stages, microBatches, virtualStages);
        if (basic.isPresent()) {
            return basic;
        }
        if (virtualStages != 1) {
            return Optional.of("virtual stages must be 1 for " + name + " (only interleaved runs several chunks per device), found "
                    + virtualStages);
        }
        return Optional.empty();
    }

    /** The number of devices {@code stages.size() / v}, after checking the shape; throws when invalid. */
    static int devices(Schedule schedule, List<StageProfile> stages, int microBatches, int virtualStages) {
        if (virtualStages < 1 || stages.isEmpty() || stages.size() % virtualStages != 0) {
            throw new IllegalArgumentException("stage profiles must be a positive multiple of the virtual stages "
                    + virtualStages + " (one per device and chunk), found " + stages.size());
        }
        int p = stages.size() / virtualStages;
        schedule.requireValid(p, microBatches, virtualStages);
        return p;
    }

    /** Compute time of each device in a step: {@code m} times the forward and backward of its chunks. */
    static double[] busy(List<StageProfile> stages, int devices, int microBatches) {
        double[] busy = new double[devices];
        for (int j = 0; j < stages.size(); j++) {
            busy[j % devices] += microBatches * (stages.get(j).forwardSeconds() + stages.get(j).backwardSeconds());
        }
        return busy;
    }

    /** Gradient synchronisation time of each device: the sum over its chunks. */
    static double[] sync(List<StageProfile> stages, int devices) {
        double[] sync = new double[devices];
        for (int j = 0; j < stages.size(); j++) {
            sync[j % devices] += stages.get(j).gradientSyncSeconds();
        }
        return sync;
    }

    /**
     * The estimate of devices whose last compute op ends at {@code end[d]}: step is the latest end plus
     * synchronisation; peak memory is the static bytes plus {@code inFlight[d]} micro-batches of the
     * (single) chunk's activations. For one chunk per device.
     */
    static Estimate oneChunkEstimate(List<StageProfile> stages, int microBatches, double[] end, int[] inFlight) {
        int p = stages.size();
        double[] sync = sync(stages, p);
        double step = 0;
        double[] peak = new double[p];
        for (int d = 0; d < p; d++) {
            step = Math.max(step, end[d] + sync[d]);
            StageProfile s = stages.get(d);
            peak[d] = s.staticBytes() + inFlight[d] * s.activationBytesPerMicroBatch();
        }
        return new Estimate(step, Estimate.bubble(step, busy(stages, p, microBatches)), peak, inFlight);
    }

    /**
     * Whether every stage has the same forward, backward and weight-gradient times and there are no
     * transfers between devices: the case the schedules' formulas cover.
     */
    static boolean balancedWithoutTransfers(List<StageProfile> stages, int devices) {
        StageProfile first = stages.get(0);
        for (int j = 0; j < stages.size(); j++) {
            StageProfile s = stages.get(j);
            if (s.forwardSeconds() != first.forwardSeconds() || s.backwardSeconds() != first.backwardSeconds()
                    || s.backwardWeightSeconds() != first.backwardWeightSeconds()
                    || (devices > 1 && j < stages.size() - 1 && s.sendSeconds() != 0)) {
                return false;
            }
        }
        return true;
    }

    /** {@code sum + (m - 1) * max} of {@code times}: the last job's completion in a flow shop of identical jobs. */
    static double flowShop(double[] times, int from, int to, int microBatches) {
        double sum = 0;
        double max = 0;
        for (int k = from; k < to; k++) {
            sum += times[k];
            max = Math.max(max, times[k]);
        }
        return sum + (microBatches - 1) * max;
    }
}
