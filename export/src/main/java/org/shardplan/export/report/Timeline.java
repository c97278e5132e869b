package org.shardplan.export.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.planner.Plan;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.sim.Result;
import org.shardplan.planner.sim.Simulator;

/**
 * One simulated step of a pipeline plan ({@link Simulator}), from the stages' per-micro-batch
 * profiles and the schedule's parameters (the keys in flight of the asynchronous {@code amp}), as
 * {@code shardplan simulate} replays it. Empty for single-stage plans and plans without
 * profiles (shardplan-plan/1 files). O(events).
 */
public final class Timeline {
    private Timeline() {
    }

    /** The simulated step, when the plan has pipeline stages with profiles and a schedule the simulator knows. */
    public static Optional<Result> of(Plan p) {
        if (p.stages().size() < 2) {
            return Optional.empty();
        }
        List<StageProfile> profiles = new ArrayList<>();
        for (Plan.Stage st : p.stages()) {
            if (st.forwardSeconds() == 0 && st.backwardSeconds() == 0) {
                return Optional.empty();
            }
            try {
                profiles.add(st.profile());
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        Schedule s;
        try {
            s = Schedules.of(p.schedule().name()).withParameters(p.schedule().parameters());
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        int m = p.parallelism().microBatches();
        int v = p.schedule().virtualStages();
        if (s.check(p.parallelism().pipeline(), m, v).isPresent()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Simulator.run(profiles, s, m, v));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // a plan the replay refuses (an asynchronous one with too many keys)
        }
    }
}
