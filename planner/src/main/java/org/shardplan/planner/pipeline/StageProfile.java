package org.shardplan.planner.pipeline;

/**
 * The costs of one pipeline stage (in model order) for one micro-batch, as the schedules and the
 * simulator see them: compute times, the point-to-point transfer to the next stage, the gradient
 * synchronisation at the end of the step, and memory per device.
 *
 * <p>With interleaving ({@link Interleaved1F1B}) an entry is one model chunk (a virtual stage); chunk
 * {@code j} of {@code p * v} runs on device {@code j % p}.
 *
 * @param forwardSeconds               forward time of one micro-batch
 * @param backwardSeconds              full backward time of one micro-batch (input and weight gradients)
 * @param backwardWeightSeconds        the weight-gradient part of {@code backwardSeconds}, {@code 0} to
 *                                     {@code backwardSeconds}; only the zero-bubble schedule runs it as a
 *                                     separate op (Qi et al., ICLR 2024)
 * @param sendSeconds                  time to send this stage's output activation of one micro-batch to the
 *                                     next stage; the gradient coming back costs the same; ignored for the
 *                                     last stage
 * @param gradientSyncSeconds          once per step, after the stage's device has run its last backward op
 *                                     (the data-parallel gradient reduction)
 * @param staticBytes                  weights, gradients and optimizer state of this stage per device
 * @param activationBytesPerMicroBatch activations of one micro-batch this stage keeps from its forward to its
 *                                     backward (to the weight-gradient op with zero bubble), per device
 * @param updateSeconds                one optimizer step of the stage's weights (the bytes the optimizer moves
 *                                     at the device's streaming rate); the asynchronous schedule
 *                                     ({@link Amp}) prices it once per local update; for the synchronous
 *                                     schedules the planner adds one per step after the gradient reduction
 *                                     ({@code PipelineSearch.updateAfter}), outside their closed forms
 */
public record StageProfile(double forwardSeconds, double backwardSeconds, double backwardWeightSeconds,
        double sendSeconds, double gradientSyncSeconds, double staticBytes, double activationBytesPerMicroBatch,
        double updateSeconds) {

    public StageProfile {
        requireFinite("forward seconds", forwardSeconds);
        requireFinite("backward seconds", backwardSeconds);
        requireFinite("backward weight seconds", backwardWeightSeconds);
        requireFinite("send seconds", sendSeconds);
        requireFinite("gradient sync seconds", gradientSyncSeconds);
        requireFinite("static bytes", staticBytes);
        requireFinite("activation bytes per micro-batch", activationBytesPerMicroBatch);
        requireFinite("update seconds", updateSeconds);
        if (backwardWeightSeconds > backwardSeconds) {
            throw new IllegalArgumentException("backward weight seconds must be at most the backward seconds "
                    + backwardSeconds + ", found " + backwardWeightSeconds);
        }
    }

    /** A profile without an optimizer step time. */
    public StageProfile(double forwardSeconds, double backwardSeconds, double backwardWeightSeconds, double sendSeconds,
            double gradientSyncSeconds, double staticBytes, double activationBytesPerMicroBatch) {
        this(forwardSeconds, backwardSeconds, backwardWeightSeconds, sendSeconds, gradientSyncSeconds, staticBytes,
                activationBytesPerMicroBatch, 0);
    }

    /** A stage with compute times only: no transfers, no synchronisation, no memory. */
    public static StageProfile compute(double forwardSeconds, double backwardSeconds) {
        return new StageProfile(forwardSeconds, backwardSeconds, 0, 0, 0, 0, 0);
    }

    /** The input-gradient part of the backward, {@code backwardSeconds - backwardWeightSeconds}. */
    public double backwardInputSeconds() {
        return backwardSeconds - backwardWeightSeconds;
    }

    /** This profile with another send time. */
    public StageProfile withSendSeconds(double seconds) {
        return new StageProfile(forwardSeconds, backwardSeconds, backwardWeightSeconds, seconds, gradientSyncSeconds,
                staticBytes, activationBytesPerMicroBatch, updateSeconds);
    }

    /** This profile with another optimizer step time. */
    public StageProfile withUpdateSeconds(double seconds) {
        return new StageProfile(forwardSeconds, backwardSeconds, backwardWeightSeconds, sendSeconds, gradientSyncSeconds,
                staticBytes, activationBytesPerMicroBatch, seconds);
    }

    private static void requireFinite(String what, double value) {
        if (!(value >= 0) || !Double.isFinite(value)) {
            throw new IllegalArgumentException(what + " must be a finite number >= 0, found " + value);
        }
    }
}
