package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.eval.PlanEvaluator;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.sim.Simulator;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

class PipelineSearchTest {

    /** 16 layers of x[b, 2048] -> MatMul [2048, 2048] -> Relu: one block class of 16 instances. */
    static ModelSource deep = b -> Fixtures.deepMlp(16, b, 2048);

    @Test
    void partitionMinimisesTheSlowestStage() {
        // nodes 0..5 with times 1 1 1 1 4 1; cuts allowed anywhere: two stages {0..3 | 4..5}: max(4, 5) = 5
        int[] b = PipelineSearch.partition(new double[] {1, 1, 1, 1, 4, 1}, List.of(1, 2, 3, 4, 5), 2);
        assertArrayEquals(new int[] {0, 4, 6}, b);
        // three stages: {0..2 | 3 | 4..5}? max(3, 1, 5) = 5; {0..3 | 4 | 5}: max(4, 4, 1) = 4 is best
        assertArrayEquals(new int[] {0, 4, 5, 6}, PipelineSearch.partition(new double[] {1, 1, 1, 1, 4, 1},
                List.of(1, 2, 3, 4, 5), 3));
        // only cut 2 allowed: {0, 1 | 2..5}
        assertArrayEquals(new int[] {0, 2, 6}, PipelineSearch.partition(new double[] {1, 1, 1, 1, 4, 1}, List.of(2), 2));
        assertThrows(IllegalArgumentException.class,
                () -> PipelineSearch.partition(new double[] {1, 1, 1}, List.of(1), 3));
    }

    @Test
    void partitionByTheCrossingSearchCutsAsTryingEveryStart() {
        // random times with plateaus of zero-time nodes and repeated values (ties between starts), random cuts:
        // the crossing search must return the very cuts of the full recurrence (the first start of the least)
        java.util.Random r = new java.util.Random(5);
        boolean before = PipelineSearch.fastBottleneck;
        try {
            for (int trial = 0; trial < 400; trial++) {
                int n = 2 + r.nextInt(60);
                double[] t = new double[n];
                for (int i = 0; i < n; i++) {
                    int kind = r.nextInt(4);
                    t[i] = kind == 0 ? 0 : kind == 1 ? 1 : kind == 2 ? r.nextInt(5) * 0.25 : r.nextDouble() * 3;
                }
                List<Integer> cuts = new java.util.ArrayList<>();
                for (int c = 1; c < n; c++) {
                    if (r.nextInt(3) > 0) {
                        cuts.add(c);
                    }
                }
                int stages = 1 + r.nextInt(Math.min(8, cuts.size() + 1));
                PipelineSearch.fastBottleneck = false;
                int[] slow = PipelineSearch.partition(t, cuts, stages);
                PipelineSearch.fastBottleneck = true;
                int[] fast = PipelineSearch.partition(t, cuts, stages);
                assertArrayEquals(slow, fast, "trial " + trial + ": " + java.util.Arrays.toString(t) + " cuts " + cuts
                        + " stages " + stages);
            }
        } finally {
            PipelineSearch.fastBottleneck = before;
        }
    }

    @Test
    void aSingleStagePlanIsTheWholeModelOptimum() throws Exception {
        Graph g = Fixtures.deepMlp(16, 64, 2048);
        Planner planner = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        Plan p = planner.plan(g);
        assertEquals(1, p.stages().size());
        assertEquals(1, p.parallelism().microBatches());
        assertEquals("none", p.schedule().name());
        // the same problem solved directly, as the planner did before pipelines
        ProblemBuilder pb = planner.problemBuilder(Coarsening.coarsen(g));
        ProblemBuilder.Built built = pb.build(Coarsening.coarsen(g),
                PipelineSearch.required(Coarsening.coarsen(g), 64, pb));
        Solution s = new DpSolver().solve(built.problem().withMemoryLimit(OptionalDouble.empty()), Solver.Options.defaults());
        // the step is the solver's objective and the optimizer step after it
        double update = p.stages().get(0).updateSeconds();
        assertTrue(update > 0);
        assertEquals(s.objective() + update, p.totals().stepSeconds(), 1e-12 * s.objective());
        assertEquals("OPTIMAL", p.solver().status());
        double sum = 0;
        for (PlanNode n : p.nodes()) {
            sum += n.seconds();
        }
        assertEquals(sum + update, p.totals().stepSeconds(), 1e-12 * sum);
    }

    @Test
    void microBatchesRepeatTheWorkAndReduceGradientsOnce() throws Exception {
        Planner one = Planner.forCluster(Fixtures.a100(8)).withBatch(64)
                .withSearch(SearchOptions.singleStage(false, 0));
        Planner four = one.withSearch(SearchOptions.singleStage(false, 0).withMicroBatches(4));
        Plan p1 = one.plan(deep);
        Plan p4 = four.plan(deep);
        assertEquals(4, p4.parallelism().microBatches());
        assertEquals(64 / 4 / p4.parallelism().data(), p4.parallelism().microBatchSize());
        // a step of 4 micro-batches of 16 samples: compute 4 x that of 16 samples, with the batch 4 times smaller
        Plan p16 = Planner.forCluster(Fixtures.a100(8)).withBatch(16).withSearch(SearchOptions.singleStage(false, 0))
                .plan(Fixtures.deepMlp(16, 16, 2048));
        PlanNode n4 = p4.node("fc3").orElseThrow();
        PlanNode n16 = p16.node("fc3").orElseThrow();
        // the same layout for fc3 at the same micro-batch shapes, so its compute is exactly 4 times as much
        assertEquals(n16.strategyText(), n4.strategyText());
        assertEquals(4 * n16.computeSeconds(), n4.computeSeconds(), 1e-12 * n4.computeSeconds());
        // activations of one micro-batch: the 4-micro-batch plan holds less than the whole batch at once
        assertTrue(p4.totals().peakMemoryBytesPerDevice() < p1.totals().peakMemoryBytesPerDevice(),
                p4.totals().peakMemoryBytesPerDevice() + " < " + p1.totals().peakMemoryBytesPerDevice());
        double sum = 0;
        for (PlanNode n : p4.nodes()) {
            sum += n.seconds();
        }
        assertEquals(sum + p4.stages().get(0).updateSeconds(), p4.totals().stepSeconds(), 1e-12 * sum,
                "one stage: the step is the sum over nodes and the optimizer step");
    }

    @Test
    void aPipelinePlanPassesTheEvaluatorAndMatchesTheSimulator() throws Exception {
        for (String schedule : List.of("gpipe", "1f1b", "interleaved", "zero-bubble")) {
            Planner planner = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                    .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withSchedule(schedule)
                            .withRecompute(false).withZeroStage(0));
            Plan p = planner.plan(deep);
            assertEquals(4, p.parallelism().pipeline(), schedule);
            assertEquals(8, p.parallelism().microBatches(), schedule);
            assertEquals(schedule, p.schedule().name());
            // a bound across the stages, below the step
            assertTrue(p.solver().lowerBound() > 0 && p.solver().lowerBound() <= p.totals().stepSeconds(),
                    schedule + ": bound " + p.solver().lowerBound() + ", step " + p.totals().stepSeconds());
            // OPTIMAL exactly where the configuration's bound reaches the step
            assertEquals(p.solver().lowerBound() >= p.totals().stepSeconds() * (1 - 1e-9) ? "OPTIMAL" : "FEASIBLE",
                    p.solver().status(), schedule + ": bound " + p.solver().lowerBound() + ", step " + p.totals().stepSeconds());
            int v = p.schedule().virtualStages();
            assertEquals(4 * v, p.stages().size(), schedule);
            for (int s = 0; s < p.stages().size(); s++) {
                assertEquals((s % 4) * 4, p.stages().get(s).firstDevice(), schedule + " stage " + s);
                assertEquals(4, p.stages().get(s).devices());
            }
            // a device sends and receives the bytes of the stages it holds, not those of every stage
            double[] held = new double[4];
            for (PlanNode n : p.nodes()) {
                held[n.stage() % 4] += n.communicationBytes();
            }
            double most = java.util.Arrays.stream(held).max().getAsDouble();
            assertEquals(most, p.totals().communicationBytes(), 1e-12 * most, schedule);
            assertTrue(most < java.util.Arrays.stream(held).sum(), schedule + ": " + java.util.Arrays.toString(held));
            // evaluate re-costs to the same figures
            PlanEvaluator.Result r = planner.evaluate(p, deep);
            assertTrue(r.largestDifference() < 1e-9, schedule + ": largest difference " + r.largestDifference());
            assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * p.totals().stepSeconds());
            // JSON round trip
            assertEquals(p, PlanJson.parse(PlanJson.write(p), "p.json"));
            // the simulator replays the step from the stages' profiles
            double sim = Simulator.run(profiles(p), Schedules.of(schedule), 8, v).stepSeconds();
            assertEquals(sim, p.totals().stepSeconds(), 0.05 * sim, schedule + ": simulated " + sim + " vs predicted "
                    + p.totals().stepSeconds());
        }
    }

    @Test
    void anAsynchronousPlanRecordsItsStalenessAndPassesTheEvaluator() throws Exception {
        Planner planner = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withSchedule("amp")
                        .withRecompute(false).withZeroStage(0));
        Plan p = planner.plan(deep);
        assertEquals("amp", p.schedule().name());
        assertFalse(p.schedule().exact());
        assertTrue(p.provenance().exactness().startsWith("not exact: asynchronous pipeline amp"),
                p.provenance().exactness());
        assertEquals(4, p.schedule().staleness().size());
        int k = p.schedule().maxActiveKeys();
        int m = p.schedule().minUpdateFrequency();
        assertTrue(k >= 1 && k <= 8 && m >= 1 && m <= 8, k + " keys, update every " + m);
        // balanced layers: the step is m times the slowest stage's forward, backward and amortised update
        // (or the keys' round trip), below 1F1B's (m + P - 1) (f + b)
        Plan f1b = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withSchedule("1f1b")
                        .withRecompute(false).withZeroStage(0)).plan(deep);
        assertTrue(p.totals().stepSeconds() < f1b.totals().stepSeconds(), p.totals().stepSeconds() + " vs 1f1b "
                + f1b.totals().stepSeconds());
        List<StageProfile> ps = profiles(p);
        var ss = org.shardplan.planner.pipeline.Amp.steadyState(ps, k, m);
        // the step is the closed form's, or the replay's where that is slower (keys meeting at the workers)
        var replayed = Simulator.run(ps, Schedules.of("amp").withParameters(p.schedule().parameters()), 8, 1);
        assertEquals(Math.max(8 * ss.secondsPerInstance(), replayed.stepSeconds()), p.totals().stepSeconds(),
                1e-12 * p.totals().stepSeconds());
        // evaluate prices it as the planner did
        PlanEvaluator.Result r = planner.evaluate(p, deep);
        assertTrue(r.largestDifference() < 1e-9, "largest difference " + r.largestDifference());
        assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * p.totals().stepSeconds());
        assertEquals(p.schedule().staleness(), r.plan().schedule().staleness());
        // JSON round trip, staleness included
        assertEquals(p, PlanJson.parse(PlanJson.write(p), "p.json"));
        assertTrue(PlanJson.write(p).contains("\"staleness\""));
        var tree = PlanJson.tree(p);
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("schedule")).remove("maxActiveKeys");
        PlanFormatException noKeys = assertThrows(PlanFormatException.class, () -> PlanJson.parse(tree.toString(), "p.json"));
        assertEquals("p.json: schedule.maxActiveKeys must be the keys in flight of the asynchronous schedule (an integer"
                + " >= 1), found nothing", noKeys.getMessage());
        var short1 = PlanJson.tree(p);
        ((com.fasterxml.jackson.databind.node.ArrayNode) short1.get("schedule").get("staleness")).remove(0);
        PlanFormatException fewer = assertThrows(PlanFormatException.class, () -> PlanJson.parse(short1.toString(), "p.json"));
        assertTrue(fewer.getMessage().startsWith("p.json: schedule.staleness must be one entry per stage (4), found"),
                fewer.getMessage());
        // the replay: staleness within the tolerances of docs/schedules.md; the plan never promises a step
        // its replay does not reach, and is at most 2% slower than it (the closed form's margin)
        var schedule = Schedules.of("amp").withParameters(p.schedule().parameters());
        var sim = Simulator.run(ps, schedule, 8, 1);
        assertTrue(p.totals().stepSeconds() >= sim.stepSeconds() * (1 - 1e-12), p.totals().stepSeconds() + " < "
                + sim.stepSeconds());
        assertEquals(sim.stepSeconds(), p.totals().stepSeconds(), 0.02 * sim.stepSeconds());
        for (int s = 0; s < 4; s++) {
            assertEquals(p.schedule().staleness().get(s).expected(), sim.staleness().get(s).mean(), 3.0 / m + 1e-9);
        }
        // K = 1, M = 1 fixed: sequential SGD, staleness 0 on every stage
        Plan seq = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withSchedule("amp")
                        .withMaxActiveKeys(1).withMinUpdateFrequency(1).withRecompute(false).withZeroStage(0)).plan(deep);
        assertEquals(1, seq.schedule().maxActiveKeys());
        assertEquals(1, seq.schedule().minUpdateFrequency());
        seq.schedule().staleness().forEach(x -> assertEquals(org.shardplan.planner.pipeline.Staleness.NONE, x));
    }

    @Test
    void autoChoosesTheAsynchronousScheduleOnlyWhenAllowed() throws Exception {
        SearchOptions base = SearchOptions.AUTO.withPipeline(4).withMicroBatches(8).withRecompute(false).withZeroStage(0);
        Plan sync = Planner.forCluster(Fixtures.a100(16)).withBatch(64).withSearch(base).plan(deep);
        assertTrue(sync.schedule().exact(), sync.schedule().name());
        Plan async = Planner.forCluster(Fixtures.a100(16)).withBatch(64).withSearch(base.withAllowAsync(true)).plan(deep);
        // no bubble: amp is faster than every synchronous schedule on balanced stages
        assertEquals("amp", async.schedule().name());
        assertTrue(async.totals().stepSeconds() < sync.totals().stepSeconds());
        // a staleness bound of 0 leaves amp only K = 1 (sequential): slower than the synchronous plan
        Plan bounded = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(base.withAllowAsync(true).withMaxStaleness(0)).plan(deep);
        assertEquals(0, bounded.schedule().staleness().stream().mapToInt(x -> x.largest()).max().orElse(0));
        assertEquals(sync.totals().stepSeconds(), bounded.totals().stepSeconds(), 1e-12 * sync.totals().stepSeconds());
        // the options check each other
        ShardplanException e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(base.withSchedule("1f1b").withMaxActiveKeys(4)).plan(deep));
        assertTrue(e.getMessage().startsWith("--max-active-keys applies to the asynchronous schedule"), e.getMessage());
    }

    static List<StageProfile> profiles(Plan p) {
        return p.stages().stream().map(Plan.Stage::profile).toList();
    }

    @Test
    void stagesAreContiguousAndBalanced() throws Exception {
        Plan p = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(4).withSchedule("1f1b")).plan(deep);
        int last = 0;
        for (PlanNode n : p.nodes()) {
            assertTrue(n.stage() >= last, n.name() + " stage " + n.stage() + " after " + last);
            last = n.stage();
        }
        // 16 identical layers (MatMul with its Relu fused: one node each) over 4 stages: the balanced partition
        // gives 4 layers each (the schedule bound's minimisers left out)
        System.setProperty("shardplan.scheduleBound", "false");
        Plan balanced;
        try {
            balanced = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                    .withSearch(SearchOptions.AUTO.withPipeline(4).withMicroBatches(4).withSchedule("1f1b")).plan(deep);
        } finally {
            System.clearProperty("shardplan.scheduleBound");
        }
        for (Plan.Stage s : balanced.stages()) {
            assertEquals(4, s.nodes().size(), "stage " + s.index() + ": " + s.nodes());
        }
        // the schedule bound's minimiser is priced too: 1F1B's step prefers shorter stages later (a stage waits for
        // the ones before it, A(before s) + m A(s)) and the first layer has no input gradient, so 6, 4, 3, 3 is faster
        assertEquals(16, p.stages().stream().mapToInt(s -> s.nodes().size()).sum());
        assertTrue(p.totals().stepSeconds() <= balanced.totals().stepSeconds(), p.totals().stepSeconds() + " > "
                + balanced.totals().stepSeconds());
        // 1F1B holds min(p - s, m) micro-batches at stage s
        assertEquals(List.of(4, 3, 2, 1), p.stages().stream().map(Plan.Stage::microBatchesInFlight).toList());
    }

    @Test
    void fixedDegreesAreKeptAndImpossibleOnesNamed() throws Exception {
        Plan p = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(2).withData(2).withMicroBatches(4)).plan(deep);
        assertEquals(2, p.parallelism().pipeline());
        assertEquals(2, p.parallelism().data());
        assertEquals(4, p.parallelism().tensor());
        ShardplanException e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(SearchOptions.AUTO.withPipeline(3)).plan(deep));
        assertEquals("--pipeline-parallel must divide the 16 devices, found 3", e.getMessage());
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(64))
                .withBatch(64).withSearch(SearchOptions.AUTO.withPipeline(32)).plan(deep));
        assertTrue(e.getMessage().startsWith("--pipeline-parallel must be at most 16 for this model"), e.getMessage());
        // the interleaved schedule needs two chunks of layers a stage at least: named, not reported as memory
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(SearchOptions.AUTO.withPipeline(16).withSchedule("interleaved")).plan(deep));
        assertEquals("--schedule interleaved with --pipeline-parallel 16 needs 32 chunks of layers (2 virtual stages per"
                + " stage), but this model's layers give at most 16: take --pipeline-parallel 8 or less (or another"
                + " --schedule)", e.getMessage());
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(4).withSchedule("interleaved").withMicroBatches(2)).plan(deep));
        assertEquals("--schedule interleaved cannot run 4 pipeline stages with 2 micro-batches: micro-batches must be a"
                + " multiple of the pipeline stages for interleaved, found 2 micro-batches on 4 stages", e.getMessage());
        Plan inter = Planner.forCluster(Fixtures.a100(16)).withBatch(64)
                .withSearch(SearchOptions.AUTO.withPipeline(8).withSchedule("interleaved").withMicroBatches(8)).plan(deep);
        assertEquals("interleaved", inter.schedule().name());
        assertEquals(2, inter.schedule().virtualStages());
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(SearchOptions.AUTO.withMicroBatches(5)).plan(deep));
        assertEquals("--micro-batches must divide the global batch 64, found 5", e.getMessage());
        // a fixed data-parallel degree that does not divide the batch: named, with or without pipelines
        for (SearchOptions o : new SearchOptions[] {SearchOptions.AUTO.withData(2), SearchOptions.AUTO.withData(2)
                .withPipeline(1)}) {
            e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16)).withBatch(63)
                    .withSearch(o).plan(deep));
            assertEquals("--data-parallel 2 must divide the global batch 63", e.getMessage());
        }
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(SearchOptions.AUTO.withTensor(3)).plan(deep));
        assertEquals("no pipeline degree fits the fixed degrees: --tensor-parallel 3 must divide the devices of one"
                + " stage (the 16 devices over a pipeline degree of at most 16 that divides them)", e.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> SearchOptions.AUTO.withSchedule("pipedream"));
        assertTrue(bad.getMessage().startsWith("--schedule must be auto or one of gpipe, 1f1b"), bad.getMessage());
    }

    /**
     * A fixed virtual-stage count is the interleaved pipelines' count: one-stage plans (no chunks to interleave) stay
     * candidates beside them, as with a fixed schedule, instead of every one-stage configuration having no plan.
     */
    @Test
    void aFixedVirtualStageCountLeavesOneStagePlansAsTheyAre() throws Exception {
        Planner one = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        Plan plain = one.withSearch(SearchOptions.AUTO.withPipeline(1)).plan(deep);
        Plan fixed = one.withSearch(SearchOptions.AUTO.withPipeline(1).withVirtualStages(3)).plan(deep);
        assertEquals("none", fixed.schedule().name());
        assertEquals(1, fixed.schedule().virtualStages());
        assertEquals(plain.totals().stepSeconds(), fixed.totals().stepSeconds(), 1e-12);
        // with the stages searched too, the plan is at least as fast as the one-stage plan
        Plan any = one.withSearch(SearchOptions.AUTO.withVirtualStages(3)).plan(deep);
        assertTrue(any.totals().stepSeconds() <= plain.totals().stepSeconds() + 1e-12, any.totals().stepSeconds() + " > "
                + plain.totals().stepSeconds());
        assertTrue(any.schedule().virtualStages() == 1 || any.schedule().virtualStages() == 3, any.schedule().toString());
    }

    @Test
    void aTightMemoryLimitTurnsToMicroBatchesOrRecomputation() throws Exception {
        Planner free = Planner.forCluster(Fixtures.a100(8)).withBatch(512).withSearch(SearchOptions.AUTO.withPipeline(1));
        Plan p = free.withZeroStage(0).withRecompute(false).withSearch(SearchOptions.singleStage(false, 0).withData(8))
                .plan(b -> Fixtures.deepMlp(16, b, 2048));
        // half of the memory the data-parallel plan of one micro-batch without ZeRO or recomputation needs
        double limit = p.totals().peakMemoryBytesPerDevice() * 0.5;
        Plan q = free.withMemoryLimit(limit).plan(b -> Fixtures.deepMlp(16, b, 2048));
        assertTrue(q.totals().fits());
        assertTrue(q.totals().peakMemoryBytesPerDevice() <= limit);
        assertTrue(q.parallelism().microBatches() > 1 || q.options().recompute() || q.options().zeroStage() > 0
                || q.parallelism().tensor() > p.parallelism().tensor(),
                q.parallelism() + " " + q.options());
        assertEquals(Map.of("pipeline", "1"), Map.of("pipeline", q.options().requested().get("pipeline")));
    }
    /**
     * Where nothing fits without recomputation (one stage, one micro-batch), the least-memory check
     * says so before any solve: only configurations with recomputation are priced.
     */
    @Test
    void settingsThatCannotFitAreNotPriced() throws Exception {
        SearchOptions one = SearchOptions.AUTO.withPipeline(1).withMicroBatches(1);
        Planner base = Planner.forCluster(Fixtures.a100(8)).withBatch(16384);
        Plan off = base.withSearch(one.withRecompute(false).withZeroStage(3)).plan(b -> Fixtures.deepMlp(16, b, 2048));
        Plan on = base.withSearch(one.withRecompute(true).withZeroStage(3)).plan(b -> Fixtures.deepMlp(16, b, 2048));
        assertTrue(on.totals().peakMemoryBytesPerDevice() < 0.9 * off.totals().peakMemoryBytesPerDevice(),
                on.totals().peakMemoryBytesPerDevice() + " vs " + off.totals().peakMemoryBytesPerDevice());
        // between the two: only recomputation fits
        double limit = 0.5 * (on.totals().peakMemoryBytesPerDevice() + off.totals().peakMemoryBytesPerDevice());
        Plan q = base.withMemoryLimit(limit).withSearch(one).plan(b -> Fixtures.deepMlp(16, b, 2048));
        assertTrue(q.totals().fits());
        assertTrue(q.options().recompute(), q.options().toString());
        // recomputation with ZeRO 1, 2 and 3 at most; none of the three settings without it
        assertTrue(q.solver().configurations() <= 3, "configurations priced: " + q.solver().configurations());
    }
    /**
     * A pipeline's micro-batch counts are searched from P up, and below P only while the step keeps
     * falling; the answer is the best over every count.
     */
    @Test
    void aPipelineSearchesMicroBatchesFromItsDepth() throws Exception {
        ModelSource wide = b -> Fixtures.deepMlp(16, b, 4096);
        SearchOptions eight = SearchOptions.AUTO.withPipeline(8).withTensor(1).withSchedule("1f1b").withRecompute(false)
                .withZeroStage(1);
        Plan p = Planner.forCluster(Fixtures.a100(16)).withBatch(1024).withSearch(eight).plan(wide);
        // from 8 micro-batches up while the step falls, then 4 (worse): 1 and 2 are never priced
        assertTrue(p.solver().configurations() <= 4, "configurations priced: " + p.solver().configurations()
                + ", m = " + p.parallelism().microBatches());
        // the same step as pricing every count by hand (512 samples per data-parallel replica)
        double best = Double.POSITIVE_INFINITY;
        for (int m : List.of(1, 2, 4, 8, 16, 32, 64, 128)) {
            Plan q = Planner.forCluster(Fixtures.a100(16)).withBatch(1024).withSearch(eight.withMicroBatches(m)).plan(wide);
            best = Math.min(best, q.totals().stepSeconds());
        }
        assertEquals(best, p.totals().stepSeconds(), 1e-12 * best);
        SearchOptions four = eight.withPipeline(4);
        // 32 micro-batches of 2 samples cannot be split 4 ways: the options are wrong, not the memory
        ShardplanException e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16))
                .withBatch(64).withSearch(four.withMicroBatches(32)).plan(deep));
        assertFalse(e instanceof PlanInfeasibleException, e.getMessage());
        assertTrue(e.getMessage().startsWith("the fixed options leave no plan: with 4 pipeline stages and 32"
                + " micro-batches of 2 samples: node '"), e.getMessage());
        // one stage: tensor-parallel degree 1 on 16 devices asks for a data-parallel degree of 16 for 8 samples (before:
        // "no plan fits", exit 3, naming a least memory far below the limit)
        e = assertThrows(ShardplanException.class, () -> Planner.forCluster(Fixtures.a100(16)).withBatch(8)
                .withSearch(SearchOptions.AUTO.withPipeline(1).withTensor(1).withMicroBatches(1)).plan(deep));
        assertFalse(e instanceof PlanInfeasibleException, e.getMessage());
        assertTrue(e.getMessage().startsWith("the fixed options leave no plan: with 1 pipeline stage and 1"
                + " micro-batch of 8 samples: node '"), e.getMessage());
    }

    /**
     * The reported plan of a pipeline configuration sought only below a threshold ({@link PipelineSearch#reportedBelow},
     * the copies of fewer devices a stage): without a threshold it is {@code reported}'s plan and bound; below one
     * under the configuration's segment bound nothing is sought (the plan as priced, its bound at least the
     * threshold); below the plan's own reported step, the plan or a faster one, with a bound no larger than the full
     * one's (the enumerations capped at the threshold).
     */
    @Test
    void aReportedPlanSoughtBelowAThresholdStopsThere() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64).withTimeLimit(60);
        PipelineSearch full = new PipelineSearch(p, SearchOptions.AUTO, Fixtures.GPT8, 64, 60);
        PipelineSearch.Outcome o = full.price(2, 4, false, 1).orElseThrow();
        PipelineSearch.Reported all = full.reported(o);
        PipelineSearch.Reported same = new PipelineSearch(p, SearchOptions.AUTO, Fixtures.GPT8, 64, 60)
                .reportedBelow(o, Double.POSITIVE_INFINITY);
        assertEquals(all.lowerBound(), same.lowerBound(), 1e-15 * o.stepSeconds());
        assertEquals(all.plan().stepSeconds(), same.plan().stepSeconds(), 1e-15 * o.stepSeconds());
        PipelineSearch.Reported none = full.reportedBelow(o, 1e-9);
        assertTrue(none.plan() == o && none.lowerBound() >= 1e-9, none.lowerBound() + " s");
        double threshold = 0.5 * (all.lowerBound() + all.plan().stepSeconds());
        PipelineSearch.Reported below = full.reportedBelow(o, threshold);
        assertTrue(below.lowerBound() <= all.lowerBound() * (1 + 1e-12), below.lowerBound() + " > " + all.lowerBound());
        assertTrue(below.plan().stepSeconds() <= o.stepSeconds(), below.plan().stepSeconds() + " s");
    }

    @Test
    void bottleneckIsTheLeastLargestStageCost() {
        double[] t = {1, 1, 1, 1, 4, 1};
        double[] pre = new double[t.length + 1];
        for (int i = 0; i < t.length; i++) {
            pre[i + 1] = pre[i] + t[i];
        }
        List<Integer> any = List.of(1, 2, 3, 4, 5);
        // the sum of the stage: as partition(): {0..3 | 4..5} = max(4, 5); three stages {0..3 | 4 | 5} = 4
        assertEquals(5, PipelineSearch.bottleneck(6, any, 2, (i, j) -> pre[j] - pre[i]));
        assertEquals(4, PipelineSearch.bottleneck(6, any, 3, (i, j) -> pre[j] - pre[i]));
        // 1F1B's bound with m = 2: stage [i, j) costs pre[i] + 2 (pre[j] - pre[i]); two stages:
        // cut 4: max(2*4, 4 + 2*5) = 14; cut 5: max(2*8, 8 + 2) = 16; cut 3: max(6, 3 + 2*6) = 15: 14
        assertEquals(14, PipelineSearch.bottleneck(6, any, 2, (i, j) -> pre[i] + 2 * (pre[j] - pre[i])));
        // only cut 2: max(2*2, 2 + 2*7) = 16
        assertEquals(16, PipelineSearch.bottleneck(6, List.of(2), 2, (i, j) -> pre[i] + 2 * (pre[j] - pre[i])));
        // more stages than the cuts allow
        assertEquals(Double.POSITIVE_INFINITY, PipelineSearch.bottleneck(3, List.of(1), 3, (i, j) -> pre[j] - pre[i]));
    }

    @Test
    void stageMemoryCountsTheMicroBatchesEachStageHolds() {
        // 4 nodes of 1 byte of weights and 1 of activations per micro-batch (one candidate each); 2 stages,
        // 4 micro-batches: stage 0 holds 2, stage 1 holds 1. Stage 0 of a nodes: 3a; stage 1: 2 (4 - a)
        double[][][] parts = new double[4][][];
        for (int i = 0; i < 4; i++) {
            parts[i] = new double[][] {{1, 1}};
        }
        List<Integer> any = List.of(1, 2, 3);
        assertTrue(PipelineSearch.stageMemoryFits(parts, any, 2, 4, 6)); // a = 2: 6 and 4
        assertFalse(PipelineSearch.stageMemoryFits(parts, any, 2, 4, 5.9)); // a = 1: 3 and 6; a = 2: 6 and 4
        // with one micro-batch both stages hold one: a = 2 gives 4 and 4
        assertTrue(PipelineSearch.stageMemoryFits(parts, any, 2, 1, 4));
        // the least candidate counts: a second candidate of 3 bytes of weights and none of activations
        for (int i = 0; i < 4; i++) {
            parts[i] = new double[][] {{1, 1}, {1.5, 0}};
        }
        // stage 0 of a nodes: min(3, 1.5) a, stage 1: min(2, 1.5) (4 - a): a = 2 gives 3 and 3
        assertTrue(PipelineSearch.stageMemoryFits(parts, any, 2, 4, 3));
        assertFalse(PipelineSearch.stageMemoryFits(parts, any, 2, 4, 2.9));
        // only cut 1 allowed: 1.5 and 4.5
        assertFalse(PipelineSearch.stageMemoryFits(parts, List.of(1), 2, 4, 4.4));
        assertTrue(PipelineSearch.stageMemoryFits(parts, List.of(1), 2, 4, 4.5));
    }

    /**
     * The bound a configuration is skipped by never exceeds the step the search prices for it: every
     * stage count, micro-batch count, memory setting and schedule of a 16-layer model on 16 devices.
     */
    @Test
    void theConfigurationBoundNeverExceedsThePricedStep() throws Exception {
        ModelSource wide = b -> Fixtures.deepMlp(16, b, 4096);
        Planner planner = Planner.forCluster(Fixtures.a100(16)).withBatch(256);
        int checked = 0;
        double tightest = 0;
        for (String schedule : List.of("gpipe", "1f1b", "interleaved", "zero-bubble")) {
            for (int p : List.of(1, 2, 4, 8)) {
                for (int m : List.of(1, 2, 4, 8, 16, 32)) {
                    for (boolean rc : List.of(false, true)) {
                        SearchOptions so = SearchOptions.AUTO.withSchedule(schedule);
                        PipelineSearch ps = new PipelineSearch(planner, so, wide, 256, 60);
                        var o = ps.price(p, m, rc, 1);
                        if (o.isEmpty()) {
                            continue;
                        }
                        long micro = 256 / m;
                        var cg = ps.coarse(micro);
                        double lb = ps.stepLowerBound(cg, micro, ps.builder(micro, 16 / p, rc, 1), p, m);
                        String what = schedule + " P=" + p + " m=" + m + " recompute=" + rc;
                        assertTrue(lb <= o.get().stepSeconds() * (1 + 1e-12), what + ": bound " + lb + " > step "
                                + o.get().stepSeconds());
                        assertTrue(lb > 0, what);
                        tightest = Math.max(tightest, lb / o.get().stepSeconds());
                        checked++;
                    }
                }
            }
        }
        assertTrue(checked >= 100, "configurations checked: " + checked);
        // the bound is not vacuous: somewhere it comes within 10% of the step
        assertTrue(tightest > 0.9, "largest bound / step " + tightest);
    }

    /**
     * A configuration whose stages fit but whose fastest schedule (interleaved: more activations in flight than
     * zero bubble) does not is noted for pricing at the next ZeRO stage, where it may fit; its own plan is the same.
     * With the limit between the two schedules' peaks.
     */
    @Test
    void aConfigurationWhoseFasterScheduleDoesNotFitIsNotedForTheNextZeroStage() throws Exception {
        ModelSource wide = b -> Fixtures.deepMlp(16, b, 4096);
        Planner base = Planner.forCluster(Fixtures.a100(16)).withBatch(256);
        boolean was = PipelineSearch.scheduleBinds;
        int found = 0;
        try {
            for (int p : List.of(2, 4)) {
                for (int m : List.of(4, 8, 16)) {
                    PipelineSearch.scheduleBinds = true;
                    var inter = new PipelineSearch(base, SearchOptions.AUTO.withSchedule("interleaved"), wide, 256, 60)
                            .price(p, m, false, 1);
                    var zb = new PipelineSearch(base, SearchOptions.AUTO.withSchedule("zero-bubble"), wide, 256, 60)
                            .price(p, m, false, 1);
                    if (inter.isEmpty() || zb.isEmpty() || !(inter.get().stepSeconds() < zb.get().stepSeconds())) {
                        continue;
                    }
                    double peakI = java.util.Arrays.stream(inter.get().estimate().peakMemoryBytes()).max().orElseThrow();
                    double peakZ = java.util.Arrays.stream(zb.get().estimate().peakMemoryBytes()).max().orElseThrow();
                    if (!(peakZ < peakI)) {
                        continue;
                    }
                    Planner tight = base.withMemoryLimit((peakZ + peakI) / 2);
                    var held = new PipelineSearch(tight, SearchOptions.AUTO.withSchedule("interleaved"), wide, 256, 60)
                            .price(p, m, false, 1);
                    PipelineSearch ps = new PipelineSearch(tight, SearchOptions.AUTO, wide, 256, 60);
                    var free = ps.price(p, m, false, 1);
                    PipelineSearch.scheduleBinds = false;
                    PipelineSearch old = new PipelineSearch(tight, SearchOptions.AUTO, wide, 256, 60);
                    var before = old.price(p, m, false, 1);
                    String what = "P=" + p + " m=" + m;
                    if (held.isEmpty() || held.get().fits() || free.isEmpty() || !free.get().fits()
                            || !(held.get().stepSeconds() < free.get().stepSeconds()) || before.get().memoryBound()) {
                        continue; // the faster schedule fits, or a stage binds anyway
                    }
                    assertEquals(1, ps.nextZero.size(), what + ": the faster schedule does not fit, yet not noted");
                    assertArrayEquals(new int[] {p, m, 0, 1}, ps.nextZero.get(0), what);
                    assertTrue(old.nextZero.isEmpty(), what);
                    assertEquals(before.get().stepSeconds(), free.get().stepSeconds(), 0.0, what);
                    assertEquals(before.get().schedule().name(), free.get().schedule().name(), what);
                    assertTrue(free.get().fits(), what);
                    found++;
                }
            }
        } finally {
            PipelineSearch.scheduleBinds = was;
        }
        assertTrue(found > 0, "no configuration whose faster schedule does not fit");
    }

    /**
     * Skipping configurations by their bound, and putting off those in which memory binds, change no
     * plan: the same search pricing every configuration where it meets it.
     */
    @Test
    void theBoundChangesNoPlan() throws Exception {
        ModelSource wide = b -> Fixtures.deepMlp(16, b, 4096);
        ModelSource narrow = b -> Fixtures.deepMlp(16, b, 2048);
        record Case(Planner planner, ModelSource source, long batch, SearchOptions search) {
        }
        List<Case> cases = new java.util.ArrayList<>();
        for (double limitShare : List.of(1.0, 0.2, 0.05)) {
            for (int devices : List.of(8, 16)) {
                Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(256);
                cases.add(new Case(planner.withMemoryLimit(planner.memoryLimit() * limitShare), wide, 256, SearchOptions.AUTO));
            }
        }
        // half the memory of the data-parallel plan of 512 samples on 8 devices: memory binds
        Planner dp = Planner.forCluster(Fixtures.a100(8)).withBatch(512);
        double full = dp.withSearch(SearchOptions.singleStage(false, 0).withData(8)).plan(narrow).totals()
                .peakMemoryBytesPerDevice();
        for (double share : List.of(0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)) {
            cases.add(new Case(dp.withMemoryLimit(share * full), narrow, 512, SearchOptions.AUTO));
            cases.add(new Case(dp.withMemoryLimit(share * full), narrow, 512, SearchOptions.AUTO.withPipeline(1)
                    .withMicroBatches(1)));
        }
        int bounded = 0;
        for (Case c : cases) {
            PipelineSearch with = new PipelineSearch(c.planner(), c.search(), c.source(), c.batch(), 60);
            PipelineSearch without = new PipelineSearch(c.planner(), c.search(), c.source(), c.batch(), 60);
            without.useBound = false;
            without.defer = false;
            var a = with.run().orElseThrow();
            var b = without.run().orElseThrow();
            String what = c.planner().cluster().deviceCount() + " devices, limit " + c.planner().memoryLimit();
            assertSameConfiguration(b, a, 1e-12, what);
            assertEquals(0, without.bounded, what);
            assertEquals(0, without.deferredCount(), what);
            bounded += with.bounded;
        }
        assertTrue(bounded > 0, "no configuration was bounded");
    }

    /**
     * {@code actual} is the configuration {@code expected} is (stages, micro-batches, recomputation, ZeRO stage,
     * schedule, virtual stages) at the same step, to a relative {@code tolerance}.
     */
    /** Both searches found a plan or neither did, and where they did, the same configuration and layouts, to 1e-12. */
    static void assertSamePlan(java.util.Optional<PipelineSearch.Outcome> expected,
            java.util.Optional<PipelineSearch.Outcome> actual, String what) {
        assertEquals(expected.isPresent(), actual.isPresent(), what);
        if (expected.isPresent()) {
            assertSameConfiguration(expected.get(), actual.get(), 1e-12, what);
            assertEquals(java.util.Arrays.toString(expected.get().choice()), java.util.Arrays.toString(actual.get().choice()),
                    what);
        }
    }

    static void assertSameConfiguration(PipelineSearch.Outcome expected, PipelineSearch.Outcome actual, double tolerance,
            String what) {
        assertEquals(expected.stages(), actual.stages(), what);
        assertEquals(expected.microBatches(), actual.microBatches(), what);
        assertEquals(expected.recompute(), actual.recompute(), what);
        assertEquals(expected.zero(), actual.zero(), what);
        assertEquals(expected.schedule().name(), actual.schedule().name(), what);
        assertEquals(expected.virtual(), actual.virtual(), what);
        assertEquals(expected.stepSeconds(), actual.stepSeconds(), tolerance * expected.stepSeconds(), what);
    }

    @Test
    void aSharePropertyThatIsNoShareFallsBackToItsDefault() {
        String key = "shardplan.test.share";
        String before = System.getProperty(key);
        try {
            System.clearProperty(key);
            assertEquals(0.02, PipelineSearch.share(key, 0.02));
            System.setProperty(key, " 0.5 ");
            assertEquals(0.5, PipelineSearch.share(key, 0.02));
            System.setProperty(key, "0");
            assertEquals(0.0, PipelineSearch.share(key, 0.02));
            for (String bad : new String[] {"two percent", "-0.1", "1.5", "NaN", ""}) {
                System.setProperty(key, bad);
                assertEquals(0.02, PipelineSearch.share(key, 0.02), bad);
            }
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }
}
