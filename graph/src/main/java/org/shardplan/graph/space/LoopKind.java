package org.shardplan.graph.space;

/**
 * How a loop dimension of an {@link IterationSpace} may be split across devices.
 *
 * <p>{@link #PARALLEL}, {@link #SPATIAL}, {@link #REDUCTION} and {@link #COUPLED} dimensions are
 * splittable; each split of the last three has a communication consequence that
 * {@link IterationSpace} reports. {@link #SEQUENTIAL} and {@link #FIXED} dimensions are never split.
 */
public enum LoopKind {
    /** Independent iterations: splitting it needs no communication inside the operator. */
    PARALLEL(true),
    /**
     * An output spatial dimension read through a window (convolution, pooling, resize): splitting it
     * is parallel, but each device also needs a halo of neighbouring input elements
     * ({@link IterationSpace#halo}).
     */
    SPATIAL(true),
    /**
     * A dimension summed (or max-ed) away: no output is indexed by it, so splitting it leaves every
     * device with partial results that an all-reduce (or reduce-scatter) must combine
     * ({@link IterationSpace#partialOutputs}). The vocabulary dimension of an embedding lookup is one.
     */
    REDUCTION(true),
    /**
     * Splittable only with a collective inside the operator: the normalised axes of Softmax,
     * LayerNormalization and BatchNormalization (an all-reduce of per-row statistics), the hidden
     * size of a recurrent cell (an all-gather of the hidden state at every step). See
     * {@link IterationSpace#couplingElements}.
     */
    COUPLED(true),
    /** Carried from one iteration to the next (the time steps of LSTM/GRU/RNN, CumSum): never split. */
    SEQUENTIAL(false),
    /**
     * Not splittable into a regular block layout (the axis of Concat, Slice, Pad, TopK; which part of
     * a Split; the reshaped axes that do not line up): never split.
     */
    FIXED(false);

    private final boolean splittable;

    LoopKind(boolean splittable) {
        this.splittable = splittable;
    }

    /** Whether a strategy may give this dimension a factor above 1. */
    public boolean splittable() {
        return splittable;
    }
}
