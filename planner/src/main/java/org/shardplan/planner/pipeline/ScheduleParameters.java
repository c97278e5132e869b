package org.shardplan.planner.pipeline;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * The parameters of a schedule beyond its shape, both as the search options ask for them (an empty
 * value: the search chooses) and as a configured schedule carries them ({@link Schedule#parameters}).
 * Only the asynchronous schedule ({@link Amp}) has any today; the synchronous ones carry {@link #NONE}.
 *
 * @param maxActiveKeys      {@code K}: the most instances (micro-batches) in flight at once, AMPNet's
 *                           {@code max_active_keys}
 * @param minUpdateFrequency {@code M}: gradients a stage collects before it updates its weights, AMPNet's
 *                           {@code min_update_frequency}
 * @param maxStaleness       a bound on the largest staleness of any stage (local updates between an
 *                           instance's forward and its backward); a search option only
 */
public record ScheduleParameters(OptionalInt maxActiveKeys, OptionalInt minUpdateFrequency, OptionalInt maxStaleness) {

    /** Nothing asked, nothing configured. */
    public static final ScheduleParameters NONE = new ScheduleParameters(OptionalInt.empty(), OptionalInt.empty(),
            OptionalInt.empty());

    public ScheduleParameters {
        java.util.Objects.requireNonNull(maxActiveKeys, "maxActiveKeys");
        java.util.Objects.requireNonNull(minUpdateFrequency, "minUpdateFrequency");
        java.util.Objects.requireNonNull(maxStaleness, "maxStaleness");
        check("--max-active-keys", maxActiveKeys, 1).ifPresent(m -> {
            throw new IllegalArgumentException(m);
        });
        check("--min-update-frequency", minUpdateFrequency, 1).ifPresent(m -> {
            throw new IllegalArgumentException(m);
        });
        check("--max-staleness", maxStaleness, 0).ifPresent(m -> {
            throw new IllegalArgumentException(m);
        });
    }

    private static Optional<String> check(String option, OptionalInt v, int least) {
        if (v.isPresent() && v.getAsInt() < least) {
            return Optional.of(option + " must be auto or an integer >= " + least + ", found " + v.getAsInt());
        }
        return Optional.empty();
    }

    /** {@code K} and {@code M} fixed, no staleness bound. */
    public static ScheduleParameters of(int maxActiveKeys, int minUpdateFrequency) {
        return new ScheduleParameters(OptionalInt.of(maxActiveKeys), OptionalInt.of(minUpdateFrequency), OptionalInt.empty());
    }

    /** Whether anything is asked or configured. */
    public boolean isEmpty() {
        return maxActiveKeys.isEmpty() && minUpdateFrequency.isEmpty() && maxStaleness.isEmpty();
    }

    public ScheduleParameters withMaxActiveKeys(int k) {
        return new ScheduleParameters(OptionalInt.of(k), minUpdateFrequency, maxStaleness);
    }

    public ScheduleParameters withMinUpdateFrequency(int m) {
        return new ScheduleParameters(maxActiveKeys, OptionalInt.of(m), maxStaleness);
    }

    public ScheduleParameters withMaxStaleness(int s) {
        return new ScheduleParameters(maxActiveKeys, minUpdateFrequency, OptionalInt.of(s));
    }
}
