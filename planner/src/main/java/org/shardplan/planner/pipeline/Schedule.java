package org.shardplan.planner.pipeline;

import java.util.List;
import java.util.Optional;

/**
 * A pipeline schedule: the order in which each device runs the forward and backward passes of the
 * micro-batches of one training step, with its step time and peak memory per device in closed form
 * (or, where the stage times allow none, as the critical path of the order's dependency graph).
 * The event simulator ({@code org.shardplan.planner.sim.Simulator}) replays {@link #order} and is the
 * independent check of {@link #estimate}. Nothing outside a schedule looks at its name except to print
 * it or read it from options.
 *
 * <p>Shape: {@code p} devices (pipeline stages), {@code m} micro-batches per step, {@code v} model
 * chunks (virtual stages) per device. The stage profiles are given in model order, {@code p * v} of
 * them; profile {@code j} runs on device {@code j % p} as its chunk {@code j / p}.
 */
public interface Schedule {

    /**
     * The name used in options and plans: {@code none}, {@code gpipe}, {@code 1f1b}, {@code interleaved},
     * {@code zero-bubble}, {@code amp}.
     */
    String name();

    /** True when the schedule leaves the training math unchanged (synchronous: one weight version per step). */
    boolean exact();

    /**
     * Whether the schedule runs a fixed op order ({@link #order}) that the simulator replays. An asynchronous
     * schedule has none: its workers run the messages that arrive, within the limits of its
     * {@link #parameters()}, and the simulator replays it as message passing.
     */
    default boolean fixedOrder() {
        return true;
    }

    /** The parameters this schedule is configured with; {@link ScheduleParameters#NONE} for one that takes none. */
    default ScheduleParameters parameters() {
        return ScheduleParameters.NONE;
    }

    /**
     * The configured variants of this schedule the search prices on {@code stages} stages and
     * {@code microBatches} micro-batches, given the parameters the options fixed ({@code requested}; an empty
     * value is searched): this schedule alone for one that takes no parameters.
     */
    default List<Schedule> variants(int stages, int microBatches, ScheduleParameters requested) {
        return List.of(this);
    }

    /**
     * This schedule configured with the values of {@code p} (for example those a plan recorded).
     *
     * @throws IllegalArgumentException when {@code p} sets a parameter this schedule does not take
     */
    default Schedule withParameters(ScheduleParameters p) {
        if (p.maxActiveKeys().isPresent() || p.minUpdateFrequency().isPresent()) {
            throw new IllegalArgumentException("max active keys and min update frequency apply to the asynchronous"
                    + " schedule amp, found schedule " + name());
        }
        return this;
    }

    /** The virtual stages (model chunks per device) the search tries: {@code requested} if given, else 1. */
    default List<Integer> virtualStageCandidates(java.util.OptionalInt requested) {
        return List.of(requested.orElse(1));
    }

    /**
     * Checks the shape.
     *
     * @return empty when {@code (stages, microBatches, virtualStages)} is a valid shape for this schedule,
     *         else a message of the form "X must be Y, found Z"
     */
    Optional<String> check(int stages, int microBatches, int virtualStages);

    /**
     * The step time, bubble and peak memory of each device, without simulating the step.
     *
     * @param stages        {@code p * v} profiles in model order (profile {@code j} on device {@code j % p})
     * @param microBatches  {@code m}
     * @param virtualStages {@code v}
     * @throws IllegalArgumentException when the shape fails {@link #check}
     */
    Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages);

    /**
     * The op order of each device, as the simulator replays it.
     *
     * @return per device {@code 0 .. devices-1}, its ops in execution order
     * @throws IllegalArgumentException when the shape fails {@link #check}
     * @throws UnsupportedOperationException for a schedule without a fixed order ({@link #fixedOrder()})
     */
    List<List<Op>> order(int devices, int microBatches, int virtualStages);

    /** {@link #check} as an exception: throws {@link IllegalArgumentException} with the message when it fails. */
    default void requireValid(int stages, int microBatches, int virtualStages) {
        Optional<String> problem = check(stages, microBatches, virtualStages);
        if (problem.isPresent()) {
            throw new IllegalArgumentException(problem.get());
        }
    }
}
