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

    /** The name used in options and plans: {@code none}, {@code gpipe}, {@code 1f1b}, {@code interleaved}, {@code zero-bubble}. */
    String name();

    /** True when the schedule leaves the training math unchanged (synchronous: one weight version per step). */
    boolean exact();

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
