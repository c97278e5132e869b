package org.shardplan.runtime.train;

/**
 * How to train a pipeline.
 *
 * @param schedule           {@link Schedule#AMP} (asynchronous) or {@link Schedule#SYNC} (flushed)
 * @param maxActiveKeys      AMP: instances (micro-batches) in flight at once, K >= 1
 * @param minUpdateFrequency AMP: gradients a stage collects before it updates its weights, M >= 1
 * @param microBatchesPerStep SYNC: micro-batches per step (one update per stage per step)
 * @param microBatchSize     examples per instance
 * @param epochs             passes over the training examples
 * @param learningRate       SGD step size; an update subtracts it times the mean of the collected gradients
 * @param seed               seed of the example order
 * @param maxInstances       stop after this many instances in all (0: no limit), for tests
 */
public record TrainOptions(Schedule schedule, int maxActiveKeys, int minUpdateFrequency, int microBatchesPerStep,
        int microBatchSize, int epochs, double learningRate, long seed, long maxInstances) {

    /** The two ways a pipeline trains. */
    public enum Schedule {
        /** AMPNet (Gaunt et al. 2017): no barrier, K keys in flight, local updates every M gradients. */
        AMP,
        /** Synchronous: all micro-batches of a step, then one update per stage, then the next step. */
        SYNC
    }

    public TrainOptions {
        require(maxActiveKeys, "max active keys");
        require(minUpdateFrequency, "min update frequency");
        require(microBatchesPerStep, "micro-batches per step");
        require(microBatchSize, "micro-batch size");
        require(epochs, "epochs");
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be a positive number, found " + learningRate);
        }
        if (maxInstances < 0) {
            throw new IllegalArgumentException("instance limit must be >= 0, found " + maxInstances);
        }
    }

    private static void require(int v, String what) {
        if (v < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, found " + v);
        }
    }

    /** AMP with K keys in flight and updates every M gradients. */
    public static TrainOptions amp(int k, int m, int microBatchSize, int epochs, double lr, long seed) {
        return new TrainOptions(Schedule.AMP, k, m, 1, microBatchSize, epochs, lr, seed, 0);
    }

    /** Synchronous pipelined training with {@code n} micro-batches per step. */
    public static TrainOptions sync(int n, int microBatchSize, int epochs, double lr, long seed) {
        return new TrainOptions(Schedule.SYNC, n, n, n, microBatchSize, epochs, lr, seed, 0);
    }

    /** The same options stopping after {@code n} instances. */
    public TrainOptions withMaxInstances(long n) {
        return new TrainOptions(schedule, maxActiveKeys, minUpdateFrequency, microBatchesPerStep, microBatchSize, epochs,
                learningRate, seed, n);
    }

    /** Keys in flight: K for AMP, the micro-batches of a step for SYNC. */
    public int inFlight() {
        return schedule == Schedule.AMP ? maxActiveKeys : microBatchesPerStep;
    }

    /** Gradients per update: M for AMP, the micro-batches of a step for SYNC. */
    public int gradientsPerUpdate() {
        return schedule == Schedule.AMP ? minUpdateFrequency : microBatchesPerStep;
    }
}
