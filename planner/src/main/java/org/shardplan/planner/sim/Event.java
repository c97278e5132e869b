package org.shardplan.planner.sim;

/**
 * One interval of a simulated step: a compute op on a device, a transfer on a link leaving a device,
 * a device's gradient synchronisation, or (asynchronous schedules) a stage's local update.
 *
 * @param device       the device that computes, sends (transfers) or synchronises
 * @param kind         what happens
 * @param microBatch   the micro-batch, or {@code -1} for a synchronisation
 * @param virtualStage the model chunk on {@code device} (model stage {@code virtualStage * p + device}), or
 *                     {@code -1} for a synchronisation
 * @param start        start time in seconds from the beginning of the step
 * @param end          end time in seconds
 */
public record Event(int device, Kind kind, int microBatch, int virtualStage, double start, double end) {

    /** What an event is. */
    public enum Kind {
        FORWARD, BACKWARD, BACKWARD_INPUT, BACKWARD_WEIGHT,
        /** The output activation of a forward, to the device of the next stage. */
        SEND_ACTIVATION,
        /** The input gradient of a backward, to the device of the previous stage. */
        SEND_GRADIENT,
        /** The data-parallel gradient reduction after the device's last backward op. */
        GRADIENT_SYNC,
        /**
         * An asynchronous schedule's local update: the gradient reduction over the stage's replicas and the
         * optimizer step, after every M-th backward of the stage ({@code microBatch} is the instance whose
         * backward completed the M gradients).
         */
        LOCAL_UPDATE;

        /** Whether the event occupies the device's compute. */
        public boolean compute() {
            return ordinal() <= BACKWARD_WEIGHT.ordinal();
        }
    }

    /** Its length in seconds. */
    public double seconds() {
        return end - start;
    }
}
