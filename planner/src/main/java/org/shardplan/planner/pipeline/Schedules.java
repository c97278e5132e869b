package org.shardplan.planner.pipeline;

import java.util.List;
import java.util.stream.Collectors;

/** The schedules by name. */
public final class Schedules {

    private static final List<Schedule> ALL = List.of(new NoPipeline(), new GPipe(), new OneFOneB(),
            new Interleaved1F1B(), new ZeroBubbleH1(), new Amp(1, 1));

    private Schedules() {
    }

    /**
     * Every schedule, in the order {@code none, gpipe, 1f1b, interleaved, zero-bubble, amp}; {@code amp} with
     * one key in flight and an update per gradient ({@link Schedule#withParameters} configures it).
     */
    public static List<Schedule> all() {
        return ALL;
    }

    /** The names of {@link #all()}. */
    public static List<String> names() {
        return ALL.stream().map(Schedule::name).collect(Collectors.toUnmodifiableList());
    }

    /**
     * The schedule named {@code name}.
     *
     * @throws IllegalArgumentException naming the valid names when there is none
     */
    public static Schedule of(String name) {
        for (Schedule s : ALL) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("schedule must be one of " + String.join(", ", names()) + ", found " + name);
    }
}
