package org.shardplan.planner.pipeline;

/**
 * How stale one stage's weights are under an asynchronous schedule: the number of local updates of the
 * stage that complete between the start of an instance's forward on the stage and the start of its
 * backward on the stage (so the backward computes its gradient on weights that many versions newer
 * than those its forward used). Zero for every synchronous schedule.
 *
 * @param expected the mean over instances in the steady state
 * @param largest  the most any instance sees in the steady state
 */
public record Staleness(double expected, int largest) {

    /** No staleness: forward and backward see the same weights. */
    public static final Staleness NONE = new Staleness(0, 0);

    public Staleness {
        if (!(expected >= 0) || Double.isInfinite(expected) || largest < 0 || expected > largest + 1e-9) {
            throw new IllegalArgumentException("staleness must be 0 <= expected <= largest, found expected " + expected
                    + " and largest " + largest);
        }
    }
}
