package org.shardplan.planner.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.pipeline.Estimate;
import org.shardplan.planner.pipeline.Op;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;

/** The simulator on hand-checked timelines, and as the check of every schedule's closed form. */
class SimulatorTest {

    private static final int[] STAGES = {1, 2, 4, 8};
    private static final int[] MICRO_BATCHES = {1, 2, 4, 8, 16, 32};
    private static final int[] VIRTUAL = {1, 2, 4};

    private static List<StageProfile> balanced(int count, double send, double sync) {
        return balanced(count, 1, 2, 0.8, send, sync);
    }

    private static List<StageProfile> balanced(int count, double f, double b, double w, double send, double sync) {
        List<StageProfile> stages = new ArrayList<>();
        for (int j = 0; j < count; j++) {
            stages.add(new StageProfile(f, b, w, send, sync, 10, 3));
        }
        return stages;
    }

    /** Stage times spread by a factor {@code 1 +- spread}, transfers {@code send} of the mean compute. */
    private static List<StageProfile> unbalanced(Random random, int count, double spread, double send) {
        List<StageProfile> stages = new ArrayList<>();
        for (int j = 0; j < count; j++) {
            double f = 1 + spread * (2 * random.nextDouble() - 1);
            double b = 2 * (1 + spread * (2 * random.nextDouble() - 1));
            double w = 0.4 * b * (1 + spread * (2 * random.nextDouble() - 1));
            double c = send * 1.5 * (1 + spread * (2 * random.nextDouble() - 1));
            stages.add(new StageProfile(f, b, w, c, 0.1 * random.nextDouble(), 5 + random.nextInt(5), 1 + random.nextInt(4)));
        }
        return stages;
    }

    /** Relative difference of estimate and simulation over the grid, after checking memory and the bubble. */
    private static double worstGap(Schedule schedule, java.util.function.IntFunction<List<StageProfile>> profiles,
            boolean lowerBound) {
        double worst = 0;
        int cases = 0;
        for (int p : STAGES) {
            for (int m : MICRO_BATCHES) {
                for (int v : VIRTUAL) {
                    if (schedule.check(p, m, v).isPresent()) {
                        continue;
                    }
                    cases++;
                    List<StageProfile> stages = profiles.apply(p * v);
                    Estimate e = schedule.estimate(stages, m, v);
                    Result r = Simulator.run(stages, schedule, m, v);
                    String where = schedule.name() + " p=" + p + " m=" + m + " v=" + v;
                    for (int d = 0; d < p; d++) {
                        assertEquals(r.devices().get(d).peakMemoryBytes(), e.peakMemoryBytes()[d], 1e-9, where + " device " + d);
                        assertEquals(r.devices().get(d).microBatchesInFlight(), e.microBatchesInFlight()[d], where + " device " + d);
                    }
                    double gap = (r.stepSeconds() - e.stepSeconds()) / r.stepSeconds();
                    if (lowerBound) {
                        assertTrue(gap >= -1e-9, where + ": estimate " + e.stepSeconds() + " above simulated " + r.stepSeconds());
                    }
                    // The bubble has one definition: the same busy time over the same step.
                    double busy = r.devices().stream().mapToDouble(DeviceResult::busySeconds).sum();
                    assertEquals(1 - busy / (p * e.stepSeconds()), e.bubbleFraction(), 1e-9, where);
                    worst = Math.max(worst, Math.abs(gap));
                }
            }
        }
        assertTrue(cases > 0);
        return worst;
    }

    @Test
    void closedFormsEqualTheSimulationOnBalancedStages() {
        for (Schedule s : Schedules.all()) {
            assertEquals(0, worstGap(s, n -> balanced(n, 0, 0), false), 1e-9, s.name());
            assertEquals(0, worstGap(s, n -> balanced(n, 0, 0.7), false), 1e-9, s.name() + " with gradient sync");
            // A forward longer than the backward; a weight gradient longer than the input gradient.
            assertEquals(0, worstGap(s, n -> balanced(n, 2, 1, 0.2, 0, 0.7), false), 1e-9, s.name());
            assertEquals(0, worstGap(s, n -> balanced(n, 1, 1.2, 1, 0, 0.7), false), 1e-9, s.name());
        }
    }

    @Test
    void closedFormsEqualTheSimulationOnBalancedStagesWithTransfers() {
        // Transfers of 0.3 s against 3 s of compute per stage: every closed form still has the critical path.
        for (Schedule s : Schedules.all()) {
            assertEquals(0, worstGap(s, n -> balanced(n, 0.3, 0.2), false), 1e-9, s.name());
        }
    }

    @Test
    void estimatesEqualTheSimulationOnUnbalancedStages() {
        // Stage times within +-50% of each other, transfers 20% of a stage's compute, 3 seeds: no transfer waits
        // for its link, so GPipe's flow shop and the critical path of the others are the simulated step.
        for (Schedule s : Schedules.all()) {
            for (long seed = 1; seed <= 3; seed++) {
                Random random = new Random(seed);
                assertEquals(0, worstGap(s, n -> unbalanced(random, n, 0.5, 0.2), true), 1e-9, s.name() + " seed " + seed);
            }
        }
    }

    @Test
    void estimatesEqualTheSimulationWhenTransfersQueueOnTheirLinks() {
        // Transfers as long as a stage's forward and backward together: links are busy when the next transfer is
        // ready. GPipe's flow shops have the links as machines; the critical path has the links' order as edges.
        for (Schedule s : Schedules.all()) {
            Random random = new Random(7);
            assertEquals(0, worstGap(s, n -> unbalanced(random, n, 0.2, 2), true), 1e-9, s.name());
        }
        // And the transfers do queue: p = 4, m = 8, v = 2.
        Random random = new Random(7);
        List<StageProfile> stages = unbalanced(random, 8, 0.2, 2);
        Result r = Simulator.run(stages, Schedules.of("interleaved"), 8, 2);
        long queued = r.events().stream().filter(e -> e.kind() == Event.Kind.SEND_ACTIVATION)
                .filter(send -> r.events().stream().noneMatch(e -> e.kind() == Event.Kind.FORWARD && e.device() == send.device()
                        && e.microBatch() == send.microBatch() && e.virtualStage() == send.virtualStage()
                        && e.end() == send.start()))
                .count();
        assertTrue(queued > 0, "no activation waited for its link");
    }

    @Test
    void replays1f1bOnTwoStagesAsWorkedByHand() {
        // p = 2, m = 2, f = 1, b = 2. Device 0: F0 F1 B0 B1; device 1: F0 B0 F1 B1.
        List<StageProfile> stages = List.of(StageProfile.compute(1, 2), StageProfile.compute(1, 2));
        Result r = Simulator.run(stages, Schedules.of("1f1b"), 2, 1);
        List<String> timeline = r.events().stream().filter(e -> e.kind().compute())
                .map(e -> e.device() + ":" + e.kind().name().charAt(0) + e.microBatch() + "@" + e.start() + "-" + e.end())
                .collect(Collectors.toList());
        assertEquals(List.of("0:F0@0.0-1.0", "0:F1@1.0-2.0", "1:F0@1.0-2.0", "1:B0@2.0-4.0", "0:B0@4.0-6.0",
                "1:F1@4.0-5.0", "1:B1@5.0-7.0", "0:B1@7.0-9.0"), timeline);
        assertEquals((2 + 1) * 3, r.stepSeconds(), 1e-12);
        assertEquals(6, r.devices().get(0).busySeconds(), 1e-12);
        assertEquals(1 - 12.0 / (2 * 9), r.bubbleFraction(), 1e-12);
    }

    @Test
    void transfersOnOneLinkWaitForEachOther() {
        // GPipe, p = 2, m = 3, f = b = 1, transfers of 2: the link is the bottleneck of the forward phase, the
        // last activation arrives at 1 + 3 * 2 = 7, the last forward ends at 8; backwards follow the same way.
        List<StageProfile> stages = List.of(new StageProfile(1, 1, 0, 2, 0, 0, 0), StageProfile.compute(1, 1));
        Result r = Simulator.run(stages, Schedules.of("gpipe"), 3, 1);
        List<Event> sends = r.events().stream().filter(e -> e.kind() == Event.Kind.SEND_ACTIVATION).collect(Collectors.toList());
        assertEquals(List.of(1.0, 3.0, 5.0), sends.stream().map(Event::start).collect(Collectors.toList()));
        assertEquals(8 + 1 + 3 * 2 + 1, r.stepSeconds(), 1e-12);
        assertEquals(r.stepSeconds(), Schedules.of("gpipe").estimate(stages, 3, 1).stepSeconds(), 1e-12);
    }

    @Test
    void zeroBubbleFreesActivationsAtTheWeightGradient() {
        // Last stage of p = 4: F B F B F B F B W W W W ... holds 4 micro-batches although 1F1B's last stage holds 1.
        List<StageProfile> stages = balanced(4, 0, 0);
        Result zb = Simulator.run(stages, Schedules.of("zero-bubble"), 8, 1);
        Result oneF = Simulator.run(stages, Schedules.of("1f1b"), 8, 1);
        assertEquals(4, zb.devices().get(3).microBatchesInFlight());
        assertEquals(1, oneF.devices().get(3).microBatchesInFlight());
        assertEquals(oneF.maxPeakMemoryBytes(), zb.maxPeakMemoryBytes(), 1e-9);
        assertTrue(zb.stepSeconds() < oneF.stepSeconds());
    }

    @Test
    void interleavedChunksWithUnequalActivationsPeakAsTheClosedFormSays() {
        Random random = new Random(5);
        List<StageProfile> stages = new ArrayList<>();
        for (int j = 0; j < 4 * 3; j++) {
            stages.add(new StageProfile(1, 2, 0, 0, 0, 1, 1 + random.nextInt(9)));
        }
        Schedule s = Schedules.of("interleaved");
        Estimate e = s.estimate(stages, 8, 3);
        Result r = Simulator.run(stages, s, 8, 3);
        for (int d = 0; d < 4; d++) {
            assertEquals(r.devices().get(d).peakMemoryBytes(), e.peakMemoryBytes()[d], 1e-9, "device " + d);
        }
    }

    @Test
    void brokenOrdersAreReported() {
        List<StageProfile> two = List.of(StageProfile.compute(1, 1), StageProfile.compute(1, 1));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Simulator.run(two, new FixedOrder(List.of(List.of(Op.backward(0, 0), Op.forward(0, 0)),
                        List.of(Op.forward(0, 0), Op.backward(0, 0)))), 1, 1));
        assertEquals("schedule fixed must not deadlock, found ops waiting on each other: device 0 at B0, device 1 at F0", e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> Simulator.run(two, new FixedOrder(List.of(List.of(Op.forward(0, 0), Op.forward(0, 0)),
                        List.of(Op.forward(0, 0), Op.backward(0, 0)))), 1, 1));
        assertEquals("schedule fixed must run each op once, found F0 again on device 0", e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> Simulator.run(two, new FixedOrder(List.of(List.of(Op.forward(0, 0)),
                        List.of(Op.forward(0, 0), Op.backward(0, 0)))), 1, 1));
        assertEquals("schedule fixed must run the forward and the whole backward of every micro-batch at every stage, "
                + "found micro-batch 0 of stage 0 incomplete", e.getMessage());
    }

    /** A schedule with a given order, for the simulator's checks. */
    private record FixedOrder(List<List<Op>> ops) implements Schedule {
        @Override
        public String name() {
            return "fixed";
        }

        @Override
        public boolean exact() {
            return true;
        }

        @Override
        public Optional<String> check(int stages, int microBatches, int virtualStages) {
            return Optional.empty();
        }

        @Override
        public Estimate estimate(List<StageProfile> stages, int microBatches, int virtualStages) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<List<Op>> order(int devices, int microBatches, int virtualStages) {
            return ops;
        }
    }
}
