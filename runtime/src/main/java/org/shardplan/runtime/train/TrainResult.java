package org.shardplan.runtime.train;

import java.util.List;
import java.util.Map;

/**
 * What a training run did.
 *
 * @param options    how it trained
 * @param epochs     per epoch: mean training loss of its instances, test loss and accuracy after it, seconds
 * @param losses     every instance's training loss, in the order the last stage computed them
 * @param staleness  per stage: how many updates of that stage fell between an instance's forward and its
 *                   backward there
 * @param weights    the final weights by initializer name
 * @param seconds    wall time of the whole run (evaluations excluded)
 */
public record TrainResult(TrainOptions options, List<Epoch> epochs, float[] losses, List<Staleness> staleness,
        Map<String, float[]> weights, double seconds) {

    /** One epoch's figures. */
    public record Epoch(int epoch, double trainLoss, double testLoss, double testAccuracy, double seconds, long instances) {
    }

    /**
     * Measured staleness of one stage.
     *
     * @param stage     stage index
     * @param mean      mean updates between forward and backward
     * @param max       the largest
     * @param histogram instances by staleness 0, 1, 2, ...
     * @param updates   updates the stage made
     */
    public record Staleness(int stage, double mean, int max, long[] histogram, long updates) {
    }
}
