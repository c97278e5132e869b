package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.RandomProblems;
import org.shardplan.planner.solver.Solver;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.Estimate;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;

/**
 * The pipeline bound ({@link PipelineBound}, {@link PipelineSearch#scheduleBound}) against the steps the search
 * prices: each chunk's least profile lies below the profile of random plans part by part (the sends equal), the
 * bound lies below the step of random plans (random partitions and layouts) under every schedule the search
 * could run and below the plan the search kept, and the pruned enumeration finds the same least step as an
 * enumeration of every partition.
 */
class PipelineBoundTest {

    /** A small GPT: 4 layers, hidden 256, 4 heads, sequence 64, vocabulary 1024. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=64,vocab=1024",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static final List<String> SCHEDULES = List.of("gpipe", "1f1b", "interleaved", "zero-bubble");

    /** A random partition of the cut positions into {@code chunks} non-empty runs: the node bounds. */
    private static int[] randomBounds(List<Integer> pos, int chunks, Random rnd) {
        List<Integer> inner = new ArrayList<>(pos.subList(1, pos.size() - 1));
        java.util.Collections.shuffle(inner, rnd);
        List<Integer> chosen = new ArrayList<>(inner.subList(0, chunks - 1));
        java.util.Collections.sort(chosen);
        int[] r = new int[chunks + 1];
        for (int j = 0; j < chunks - 1; j++) {
            r[j + 1] = chosen.get(j);
        }
        r[chunks] = pos.get(pos.size() - 1);
        return r;
    }

    @Test
    void theBoundIsBelowEveryPricedPlanAndEachChunkBelowItsProfile() throws Exception {
        Random rnd = new Random(7);
        int checked = 0;
        int profilesChecked = 0;
        for (int devices : List.of(8, 16)) {
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
            PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
            ps.useBound = false; // every configuration priced
            for (int stages : List.of(2, 4)) {
                for (int m : List.of(4, 8)) {
                    var o = ps.price(stages, m, false, 1);
                    if (o.isEmpty() || o.get().isBounded()) {
                        continue;
                    }
                    long micro = 64 / m;
                    var cg = ps.coarse(micro);
                    int per = devices / stages;
                    ProblemBuilder.Built b = o.get().built();
                    ProblemBuilder pb = o.get().builder();
                    List<Integer> pos = PipelineSearch.cutPositions(b.units().size(), ps.cuts(cg, micro));
                    double bound = ps.scheduleBound(o.get(), Double.POSITIVE_INFINITY);
                    String what = devices + " devices, P " + stages + ", m " + m;
                    assertTrue(bound > 0, what + ": no bound");
                    assertTrue(bound <= o.get().stepSeconds() * (1 + 1e-9), what + ": " + bound + " > plan " + o.get().stepSeconds());
                    assertEquals(Math.min(bound, o.get().stepSeconds()), ps.scheduleBound(o.get(), o.get().stepSeconds()),
                            1e-12 * bound, what + ": the threshold only caps");
                    PipelineBound least = leastOf(ps, b, pb, StageProblem.Filter.ALL, pos, per);
                    for (int t = 0; t < 60; t++) {
                        int[] x = Fixtures.randomLayouts(b, rnd);
                        for (String name : SCHEDULES) {
                            Schedule sch = Schedules.of(name);
                            for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                                if (sch.check(stages, m, v).isPresent() || stages * v > pos.size() - 1) {
                                    continue;
                                }
                                int[] bs = randomBounds(pos, stages * v, rnd);
                                List<StageProfile> prof = ps.profiles(b, pb, x, bs, per, false);
                                double step = sch.estimate(prof, m, v).stepSeconds() + PipelineSearch.updateAfter(sch, prof, stages);
                                assertTrue(bound <= step * (1 + 1e-9), what + " " + name + " v " + v + ": bound " + bound + " > " + step);
                                checked++;
                                for (int j = 0; j < prof.size(); j++) {
                                    StageProfile lo = least.profile(pos.indexOf(bs[j]), pos.indexOf(bs[j + 1]));
                                    StageProfile hi = prof.get(j);
                                    String at = what + " chunk " + j + " of " + prof.size();
                                    assertTrue(lo.forwardSeconds() <= hi.forwardSeconds() * (1 + 1e-9), at + " forward");
                                    assertTrue(lo.backwardSeconds() <= hi.backwardSeconds() * (1 + 1e-9), at + " backward");
                                    assertTrue(lo.backwardWeightSeconds() <= hi.backwardWeightSeconds() * (1 + 1e-9) + 1e-15, at + " weight");
                                    assertTrue(lo.backwardInputSeconds() <= hi.backwardInputSeconds() * (1 + 1e-9) + 1e-15, at + " input");
                                    assertTrue(lo.gradientSyncSeconds() <= hi.gradientSyncSeconds() * (1 + 1e-9) + 1e-15, at + " sync");
                                    assertTrue(lo.updateSeconds() <= hi.updateSeconds() * (1 + 1e-9) + 1e-15, at + " update");
                                    assertEquals(hi.sendSeconds(), lo.sendSeconds(), 1e-12 * Math.max(1e-9, hi.sendSeconds()), at + " send");
                                    jointBelow(least, pos.indexOf(bs[j]), pos.indexOf(bs[j + 1]), hi, at);
                                    profilesChecked++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked >= 500, "checked " + checked);
        assertTrue(profilesChecked >= 1500, "profiles checked " + profilesChecked);
    }

    /** The send times per cut position, through the search's own method. */
    /**
     * The payoff of each column against the rows' mixed strategy {@code w} ({@code againstRows}), or of each row
     * against the columns' {@code w}.
     */
    private static double[] payoffs(double[][] a, double[] w, boolean againstRows) {
        double[] v = new double[againstRows ? a[0].length : a.length];
        for (int r = 0; r < a.length; r++) {
            for (int c = 0; c < a[r].length; c++) {
                if (againstRows) {
                    v[c] += w[r] * a[r][c];
                } else {
                    v[r] += w[c] * a[r][c];
                }
            }
        }
        return v;
    }

    /** The bound of a configuration's built problem at these cut positions, without a time limit to speak of. */
    private static PipelineBound leastOf(PipelineSearch ps, ProblemBuilder.Built b, ProblemBuilder pb, StageProblem.Filter f,
            List<Integer> pos, int per) throws Exception {
        return new PipelineBound(b, f, pos, sendsAt(ps, b, pos, per), false, pb.settings().compute(),
                pb.settings().memory().optimizer(), () -> 600);
    }

    /**
     * The bound of the configuration of micro-batch size {@code micro} on {@code per} devices a stage (no
     * recomputation, ZeRO 1), every layout allowed, at the search's cut positions.
     */
    private static PipelineBound leastOf(PipelineSearch ps, long micro, int per) throws Exception {
        ProblemBuilder.Built b = ps.built(micro, per, false, 1);
        List<Integer> pos = PipelineSearch.cutPositions(b.units().size(), ps.cuts(ps.coarse(micro), micro));
        return leastOf(ps, b, ps.builder(micro, per, false, 1), StageProblem.Filter.ALL, pos, per);
    }

    private static double[] sendsAt(PipelineSearch ps, ProblemBuilder.Built b, List<Integer> pos, int devices) throws Exception {
        var m = PipelineSearch.class.getDeclaredMethod("sendsAt", ProblemBuilder.Built.class, List.class, int.class);
        m.setAccessible(true);
        return (double[]) m.invoke(ps, b, pos, devices);
    }

    /** Per chunk of the partition ending at {@code end}: what every layout adds to its least forward and input gradient together. */
    private static double[] fiOf(PipelineBound pb, int[] end) {
        double[] r = new double[end.length];
        int from = 0;
        for (int j = 0; j < end.length; j++) {
            r[j] = pb.chunk(from, end[j])[4];
            from = end[j];
        }
        return r;
    }

    /** The least step over every partition, no pruning. */
    private static double everyPartition(PipelineBound pb, Schedule sch, int p, int m, int v) {
        return every(pb, sch, p, m, v, new int[p * v], 0, 0);
    }

    private static double every(PipelineBound pb, Schedule sch, int p, int m, int v, int[] end, int j, int start) {
        int chunks = p * v;
        if (j == chunks) {
            List<StageProfile> ps = new ArrayList<>();
            int from = 0;
            for (int e : end) {
                ps.add(pb.profile(from, e));
                from = e;
            }
            double step = sch.estimate(ps, m, v).stepSeconds() + PipelineSearch.updateAfter(sch, ps, p);
            // with each chunk's joint slack on the pairs of its longest paths
            int f = 0;
            double[] bonus = new double[chunks];
            double[] own = new double[chunks];
            double[] ownU = new double[chunks];
            for (int c = 0; c < chunks; c++) {
                bonus[c] = pb.chunkJoint(f, end[c]);
                own[c] = pb.chunkOwn(f, end[c]);
                ownU[c] = pb.chunkOwnUpdate(f, end[c]);
                f = end[c];
            }
            return Math.max(step, new PipelineBound.Paths(sch, p, m, v).step(ps, bonus, fiOf(pb, end), own, ownU));
        }
        double best = Double.POSITIVE_INFINITY;
        int last = j == chunks - 1 ? pb.segments() : pb.segments() - (chunks - j - 1);
        for (int e = j == chunks - 1 ? pb.segments() : start + 1; e <= last; e++) {
            end[j] = e;
            best = Math.min(best, every(pb, sch, p, m, v, end, j + 1, e));
        }
        return best;
    }

    @Test
    void theLongestPathsAreTheSchedulesStep() {
        Random rnd = new Random(3);
        int compared = 0;
        for (String name : SCHEDULES) {
            Schedule sch = Schedules.of(name);
            for (int p : List.of(2, 4)) {
                for (int m : List.of(4, 8)) {
                    for (int v : List.of(1, 2, 4)) {
                        if (sch.check(p, m, v).isPresent()) {
                            continue;
                        }
                        PipelineBound.Paths paths = new PipelineBound.Paths(sch, p, m, v);
                        for (int t = 0; t < 20; t++) {
                            List<StageProfile> ps = new ArrayList<>();
                            for (int j = 0; j < p * v; j++) {
                                double b = 1 + rnd.nextDouble();
                                ps.add(new StageProfile(0.5 + rnd.nextDouble(), b, b * rnd.nextDouble(), 0.2 * rnd.nextDouble(),
                                        0.3 * rnd.nextDouble(), 0, 0, 0.1 * rnd.nextDouble()));
                            }
                            double step = sch.estimate(ps, m, v).stepSeconds();
                            String what = name + " p " + p + " m " + m + " v " + v;
                            assertEquals(step, paths.step(ps, new double[p * v]), 1e-9 * step, what);
                            // with the update after it: the step the search prices
                            double update = PipelineSearch.updateAfter(sch, ps, p);
                            double[] zero = new double[p * v];
                            assertEquals(step + update, paths.step(ps, zero, zero, zero), 1e-9 * step, what + " with the update");
                            // a joint with the update of 1 on chunk 0: device 0's path (which holds a pair of chunk 0
                            // wherever it ends after its backward) gains 1 + its own update in place of the largest update
                            double[] ownU = new double[p * v];
                            ownU[0] = 1;
                            double withU = paths.step(ps, zero, zero, ownU);
                            assertTrue(withU >= step + update - 1e-12 && withU <= step + 1 + update + 1e-9, what + ": " + withU);
                            // a bonus of 1 per forward-backward pair of chunk 0: at least the pairs the longest path to
                            // the last device holds there (device 0 with its m pairs ends last in most shapes)
                            double[] one = new double[p * v];
                            one[0] = 1;
                            double with = paths.step(ps, one);
                            assertTrue(with >= step - 1e-12 && with <= step + m + 1e-9, what + ": " + with + " against " + step);
                            compared++;
                        }
                    }
                }
            }
        }
        assertTrue(compared >= 200, "compared " + compared);
    }

    @Test
    void thePrunedEnumerationFindsTheLeastStepOverEveryPartition() throws Exception {
        int devices = 8;
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        int compared = 0;
        int cappedSolves = 0;
        for (int stages : List.of(2, 4)) {
            for (int m : List.of(4, 8)) {
                long micro = 64 / m;
                PipelineBound least = leastOf(ps, micro, devices / stages);
                PipelineBound tightened = leastOf(ps, micro, devices / stages);
                PipelineBound capped = leastOf(ps, micro, devices / stages);
                capped.cellBudget = 1; // the first partition solved, then none
                least.tightenPartitions = false;
                for (String name : SCHEDULES) {
                    Schedule sch = Schedules.of(name);
                    for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                        if (sch.check(stages, m, v).isPresent() || stages * v > least.segments()) {
                            continue;
                        }
                        double all = everyPartition(least, sch, stages, m, v);
                        double pruned = least.step(sch, stages, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600);
                        String what = "P " + stages + ", m " + m + ", " + name + " v " + v;
                        assertEquals(all, pruned, 1e-12 * all, what);
                        // a threshold below the least step is returned as it is; above it changes nothing
                        assertEquals(all * 0.9, least.step(sch, stages, m, v, all * 0.9, Long.MAX_VALUE, () -> 600), 1e-12 * all, what);
                        assertEquals(all, least.step(sch, stages, m, v, all * 1.1, Long.MAX_VALUE, () -> 600), 1e-12 * all, what);
                        // with the partitions' layouts solved exactly: at least as high, and the threshold still caps
                        double exact = tightened.step(sch, stages, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600);
                        assertTrue(exact >= all * (1 - 1e-12), what + ": tightened " + exact + " < " + all);
                        assertEquals(all * 0.9, tightened.step(sch, stages, m, v, all * 0.9, Long.MAX_VALUE, () -> 600), 1e-12 * all, what);
                        // past the budget of cells the rest keep their least profiles' step: between the two
                        int before = capped.tightened();
                        double some = capped.step(sch, stages, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600);
                        assertTrue(some >= all * (1 - 1e-12) && some <= exact * (1 + 1e-12), what + ": capped " + some
                                + " outside [" + all + ", " + exact + "]");
                        cappedSolves = Math.max(cappedSolves, capped.tightened() - before);
                        // the dual over partitions (smoothed) is at most the fastest plan found on any partition (each
                        // partition's exact solve's best column, priced as the search prices it); it may lie above the
                        // least of the enumeration's step, which takes each device's longest path on the least profiles
                        // only, where the dual's rows are every path
                        double planned = fastestPlan(least, new PipelineBound.Paths(sch, stages, m, v), stages,
                                new int[stages * v], 0, 0);
                        double dual = least.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600).step();
                        assertTrue(dual <= planned * (1 + 1e-9), what + ": dual " + dual + " above a plan's " + planned);
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared >= 8, "compared " + compared);
        assertTrue(cappedSolves <= 1, "a bound past its budget of cells solved " + cappedSolves + " partitions");
    }

    /**
     * The enumeration guided by a dual's paths ({@link PipelineBound#guided}) on a small decoder, where every partition
     * can be tried: it finishes, is at least the dual and the least step over every partition on the least profiles, and
     * at most the fastest plan over every partition (each partition's layouts solved exactly), under every schedule.
     */
    @Test
    void theEnumerationGuidedByTheDualsPathsIsBelowEveryPlan() throws Exception {
        int devices = 8;
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        int compared = 0;
        int raised = 0;
        for (int stages : List.of(2, 4)) {
            for (int m : List.of(4, 8)) {
                PipelineBound least = leastOf(ps, 64 / m, devices / stages);
                least.tightenPartitions = false;
                PipelineBound tight = leastOf(ps, 64 / m, devices / stages);
                for (String name : SCHEDULES) {
                    Schedule sch = Schedules.of(name);
                    for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                        if (sch.check(stages, m, v).isPresent() || stages * v > least.segments()) {
                            continue;
                        }
                        String what = "P " + stages + ", m " + m + ", " + name + " v " + v;
                        PipelineBound.Least dual = least.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600);
                        double guided = least.guided(dual, sch, stages, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE,
                                () -> 600).step();
                        assertTrue(least.guidedComplete, what + ": the guided enumeration stopped");
                        double all = everyPartition(least, sch, stages, m, v);
                        assertTrue(guided >= Math.max(all, dual.step()) * (1 - 1e-12), what + ": guided " + guided
                                + " below the dual " + dual.step() + " or the least profiles' least " + all);
                        double planned = fastestPlan(least, new PipelineBound.Paths(sch, stages, m, v), stages,
                                new int[stages * v], 0, 0);
                        assertTrue(guided <= planned * (1 + 1e-9), what + ": guided " + guided + " above a plan's " + planned);
                        // and no partition is left out that none of its paths shows at least as long as the result
                        double shown = leastShown(least, new PipelineBound.Paths(sch, stages, m, v), least.guidedRows, stages,
                                new int[stages * v], 0, 0);
                        assertTrue(guided <= Math.max(shown, dual.step()) * (1 + 1e-9), what + ": guided " + guided
                                + " above the least over partitions of their step and their paths' lengths " + shown);
                        // its least partitions solved exactly (as an enumeration's are): between the two
                        double tightened = tight.guided(tight.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600),
                                sch, stages, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600).step();
                        assertTrue(tightened >= guided * (1 - 1e-12) && tightened <= planned * (1 + 1e-9), what
                                + ": tightened " + tightened + " outside [" + guided + ", " + planned + "]");
                        raised += guided > dual.step() * (1 + 1e-9) ? 1 : 0;
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared >= 8, "compared " + compared);
        assertTrue(raised >= 1, "the guided enumeration raised no dual");
    }

    /**
     * The least over every partition of the larger of its step on the least profiles and the longest of {@code rows} on
     * its least values: what an enumeration cut off by those paths can reach at most.
     */
    private static double leastShown(PipelineBound pb, PipelineBound.Paths paths, List<PipelineBound.Path> rows, int p,
            int[] end, int j, int start) {
        if (j == end.length) {
            double x = pb.new Leaves(paths, end.length).step(end.clone());
            double[] vals = pb.values(end);
            for (PipelineBound.Path r : rows) {
                x = Math.max(x, r.length(vals, p));
            }
            return x;
        }
        double best = Double.POSITIVE_INFINITY;
        int last = pb.segments() - (end.length - j - 1);
        for (int e = j == end.length - 1 ? pb.segments() : start + 1; e <= last; e++) {
            end[j] = e;
            best = Math.min(best, leastShown(pb, paths, rows, p, end, j + 1, e));
        }
        return best;
    }

    /** SqueezeNet 1.0 (torchvision export): 39 coarse segments, a large first convolution. */
    private static final ModelSource SQUEEZENET = b -> OnnxImporter.read(Models.file("squeezenet1_0.onnx"),
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /**
     * SqueezeNet at 64 A100s, batch 64, 16 stages of 4 devices and 16 micro-batches under zero bubble: 39 segments into 16
     * chunks are 10^10 partitions, bounded by the dual, whose mixture of paths spreads the coarse segments over its
     * columns. The enumeration guided by its paths, adding the paths each partition it prices shows, finishes within the
     * search's budget of partitions and, its least partitions solved exactly, raises the bound by 11.5%, to the step of
     * the plan the search finds (docs/schedules.md, "The enumeration guided by the dual's paths").
     */
    @Test
    void theGuidedEnumerationClosesACoarseModelsGap() throws Exception {
        // checked with a stage's reduction priced as the sum of its latency shares: with the floor of one latency a stage
        // (ProblemBuilder.stageLatencyFloor) in the chunk prices, this enumeration's least partition so far rises (1.818 ->
        // 1.839 ms) while the dual's paths cut partial partitions no sooner, so it visits 2.8 times as many and runs out of
        // the budget on this configuration (its bound is then the dual's)
        boolean was = ProblemBuilder.stageLatencyFloor;
        ProblemBuilder.stageLatencyFloor = false;
        try {
            Pipelined pl = pipelined(SQUEEZENET, 64, 16, 16, 64);
            PipelineBound least = leastOf(pl);
            Schedule zb = Schedules.of("zero-bubble");
            PipelineBound.Least dual = least.dual(zb, 16, 16, 1, Double.POSITIVE_INFINITY, () -> 600);
            double plan = pl.o().stepSeconds();
            PipelineBound.Least guided = least.guided(dual, zb, 16, 16, 1, plan, PipelineSearch.SCHEDULE_BOUND_PARTITIONS,
                    () -> 600);
            assertTrue(least.guidedComplete, "the guided enumeration stopped");
            // the dual 1.638 ms; the guided enumeration 1.818 ms on the least profiles, 1.821 ms with its least partitions
            // solved exactly; this configuration's first plan 1.903 ms
            assertTrue(guided.step() > 1.1 * dual.step() && guided.step() <= plan, "guided " + guided.step() + ", dual "
                    + dual.step() + ", plan " + plan);
            assertTrue(guided.layouts() != null, "no partition solved exactly");
            assertTrue(guided.priced() <= PipelineSearch.SCHEDULE_BOUND_PARTITIONS, "spent " + guided.priced());
        } finally {
            ProblemBuilder.stageLatencyFloor = was;
        }
    }

    /**
     * The bound of a priced configuration's problem, at its fixed degrees and cut positions (the measurement classes,
     * {@code CutBranchExperiment} and {@code ExactChunkExperiment}, start from it too).
     */
    static PipelineBound leastOf(Pipelined pl) throws Exception {
        var o = pl.o();
        return leastOf(pl.ps(), o.built(), o.builder(), pl.ps().filter(pl.cg(), pl.micro(), pl.per()), pl.pos(), pl.per());
    }

    /**
     * The configuration a measurement class (the {@code ...Experiment} mains beside this test) prices: {@code -Dexp.model}
     * (a file of the models directory), {@code -Dexp.devices}, {@code -Dexp.stages}, {@code -Dexp.m} and {@code
     * -Dexp.batch}, each where given, else the default passed; {@link #pipelined} of it.
     */
    record Experimented(String model, int devices, int stages, int m, long batch, Pipelined pl) {
        static Experimented of(String model, int devices, int stages, int m, long batch) throws Exception {
            String name = System.getProperty("exp.model", model);
            int d = Integer.getInteger("exp.devices", devices);
            int p = Integer.getInteger("exp.stages", stages);
            int mb = Integer.getInteger("exp.m", m);
            long b = Long.getLong("exp.batch", batch);
            return new Experimented(name, d, p, mb, b, pipelined(x -> OnnxImporter.read(Models.file(name),
                    ImportOptions.DEFAULT.withDims(Map.of("batch", x))).graph(), d, p, mb, b));
        }
    }

    /** A model priced at P stages and m micro-batches (no bound), with its micro-batch, coarse graph and cut positions. */
    record Pipelined(PipelineSearch ps, PipelineSearch.Outcome o, long micro, CoarseGraph cg, int per,
            List<Integer> pos) {
    }

    static Pipelined pipelined(ModelSource model, int devices, int stages, int m, long batch) throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, model, batch, 600);
        ps.useBound = false;
        var o = ps.price(stages, m, false, 1).orElseThrow();
        long micro = batch / m;
        CoarseGraph cg = ps.coarse(micro);
        List<Integer> pos = PipelineSearch.cutPositions(o.built().units().size(), ps.cuts(cg, micro));
        return new Pipelined(ps, o, micro, cg, devices / stages, pos);
    }

    /**
     * Where the segment problems the pass must solve are more than {@code MAX_SOLVES}, the collection ahead gives the bound
     * up before any solve, as the pass gives it up after {@code MAX_SOLVES} of them: DenseNet-121 at batch 8 on 32 A100s,
     * two stages of 16 (one micro-batch), needs about 210 such solves (each single-node segment has too many layouts to
     * enumerate). Both say there is no bound; the pass alone has made its {@code MAX_SOLVES} solves, the collection none.
     * And on a configuration within the budget (the small GPT, 4 stages) the collection does not give up.
     */
    @Test
    void aBoundCertainToRunPastItsSolvesIsGivenUpBeforeAnySolve() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "one processor");
        Pipelined pl = pipelined(DENSENET, 32, 2, 1, 8L);
        var o = pl.o();
        StageProblem.Filter f = pl.ps().filter(pl.cg(), pl.micro(), pl.per());
        double[] sends = sendsAt(pl.ps(), o.built(), pl.pos(), pl.per());
        boolean was = PipelineBound.certainExhaustion;
        try {
            PipelineBound.certainExhaustion = false;
            PipelineBound pass = new PipelineBound(o.built(), f, pl.pos(), sends, false, o.builder().settings().compute(),
                    o.builder().settings().memory().optimizer(), () -> 600, true);
            PipelineBound.certainExhaustion = true;
            PipelineBound early = new PipelineBound(o.built(), f, pl.pos(), sends, false, o.builder().settings().compute(),
                    o.builder().settings().memory().optimizer(), () -> 600, true);
            assertTrue(pass.exhausted(), "the pass runs past its solves");
            assertEquals(PipelineBound.MAX_SOLVES, pass.solves(), "the pass's solves");
            assertTrue(early.exhausted(), "given up ahead");
            assertEquals(0, early.solves(), "no solve made");
            Pipelined gpt = pipelined(GPT, 16, 4, 8, 64L);
            var g = gpt.o();
            PipelineBound within = new PipelineBound(g.built(), gpt.ps().filter(gpt.cg(), gpt.micro(), gpt.per()), gpt.pos(),
                    sendsAt(gpt.ps(), g.built(), gpt.pos(), gpt.per()), false, g.builder().settings().compute(),
                    g.builder().settings().memory().optimizer(), () -> 600, true);
            assertFalse(within.exhausted(), "the small GPT's bound is within its solves");
        } finally {
            PipelineBound.certainExhaustion = was;
        }
    }

    /**
     * The segment problems solved ahead on the processors ({@code PipelineBound.prefetch}) give the same bound as one
     * pass alone: every chunk's least profile, the solves counted and the least step under each schedule, on the small
     * GPT at two configurations and on DenseNet-121 (single-node segments, enumerated in the pass); and on the GPT the
     * prefetch solved them (a pass that collected nothing, or found its problems under other keys, would leave the count
     * at 0 or the values apart).
     */
    @Test
    void segmentProblemsSolvedAheadGiveTheSameBound() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "one processor");
        int compared = 0;
        for (Object[] c : List.of(new Object[] {GPT, 8, 2, 4, 64L}, new Object[] {GPT, 16, 4, 8, 64L},
                new Object[] {DENSENET, 16, 8, 8, 16L})) {
            Pipelined pl = pipelined((ModelSource) c[0], (Integer) c[1], (Integer) c[2], (Integer) c[3], (Long) c[4]);
            var o = pl.o();
            StageProblem.Filter f = pl.ps().filter(pl.cg(), pl.micro(), pl.per());
            double[] sends = sendsAt(pl.ps(), o.built(), pl.pos(), pl.per());
            PipelineBound one = new PipelineBound(o.built(), f, pl.pos(), sends, false, o.builder().settings().compute(),
                    o.builder().settings().memory().optimizer(), () -> 600);
            PipelineBound ahead = new PipelineBound(o.built(), f, pl.pos(), sends, false, o.builder().settings().compute(),
                    o.builder().settings().memory().optimizer(), () -> 600, true);
            String what = c[0] == GPT ? "gpt P " + c[2] : "densenet";
            // DenseNet's segments are single nodes, each enumerated in the pass: nothing for the solver, nor ahead
            assertTrue(c[0] == GPT ? ahead.solvedAhead() > 0 : one.solves() == 0 && ahead.solvedAhead() == 0,
                    what + ": " + ahead.solvedAhead() + " solved ahead (" + one.solves() + " solves, " + one.enumerated()
                    + " enumerated)");
            assertEquals(one.enumerated(), ahead.enumerated(), what + ": enumerated");
            assertEquals(one.solvedAhead(), 0, what);
            assertEquals(one.solves(), ahead.solves(), what + ": solves");
            int k = one.segments();
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j <= Math.min(k, i + 6); j++) {
                    assertEquals(one.profile(i, j), ahead.profile(i, j), what + " chunk " + i + ".." + j);
                    compared++;
                }
            }
            for (String name : SCHEDULES) {
                Schedule sch = Schedules.of(name);
                int stages = (Integer) c[2];
                int m = (Integer) c[3];
                if (sch.check(stages, m, 1).isPresent()) {
                    continue;
                }
                assertEquals(one.least(sch, stages, m, 1, Double.POSITIVE_INFINITY, 20_000, () -> 600).step(),
                        ahead.least(sch, stages, m, 1, Double.POSITIVE_INFINITY, 20_000, () -> 600).step(), what + " " + name);
            }
        }
        assertTrue(compared >= 100, "compared " + compared);
    }

    /**
     * The basic bound (three solves a segment, {@code PipelineBound.basic}) bounds the same plans, more weakly: on the
     * small GPT at two configurations it solves fewer problems than the full bound, each chunk's least profile and the
     * least step under every schedule are at most the full bound's, and above 0; the full bound made after it from its
     * solves has the full bound's profiles, steps and solve count exactly. In the search ({@code scheduleBound}), a
     * threshold the basic bound reaches is answered by it alone (counted) with a value at least the threshold, as the
     * full bound answers; a threshold above it gives the full bound's value, the same with the basic bound first or not.
     */
    @Test
    void theBasicBoundIsBelowTheFullOneWhichReusesItsSolves() throws Exception {
        int compared = 0;
        for (Object[] c : List.of(new Object[] {8, 2, 4}, new Object[] {16, 4, 8})) {
            Pipelined pl = pipelined(GPT, (Integer) c[0], (Integer) c[1], (Integer) c[2], 64L);
            var o = pl.o();
            StageProblem.Filter f = pl.ps().filter(pl.cg(), pl.micro(), pl.per());
            double[] sends = sendsAt(pl.ps(), o.built(), pl.pos(), pl.per());
            var compute = o.builder().settings().compute();
            var opt = o.builder().settings().memory().optimizer();
            PipelineBound full = new PipelineBound(o.built(), f, pl.pos(), sends, false, compute, opt, () -> 600);
            PipelineBound basic = new PipelineBound(o.built(), f, pl.pos(), sends, false, compute, opt, () -> 600, false,
                    true, null);
            PipelineBound after = new PipelineBound(o.built(), f, pl.pos(), sends, false, compute, opt, () -> 600, false,
                    false, basic);
            String what = "P " + c[1];
            assertTrue(basic.solves() > 0 && basic.solves() < full.solves(), what + ": basic " + basic.solves()
                    + " solves, full " + full.solves());
            assertEquals(full.solves(), after.solves(), what + ": the solves taken over count");
            int k = full.segments();
            for (int i = 0; i < k; i++) {
                for (int j = i + 1; j <= Math.min(k, i + 6); j++) {
                    StageProfile lo = basic.profile(i, j);
                    StageProfile hi = full.profile(i, j);
                    String at = what + " chunk " + i + ".." + j;
                    assertTrue(lo.forwardSeconds() > 0 && lo.forwardSeconds() <= hi.forwardSeconds() * (1 + 1e-12), at);
                    assertTrue(lo.backwardSeconds() <= hi.backwardSeconds() * (1 + 1e-12), at);
                    assertEquals(hi, after.profile(i, j), at + ": the full bound from the basic one's solves");
                    compared++;
                }
            }
            int stages = (Integer) c[1];
            int m = (Integer) c[2];
            for (String name : SCHEDULES) {
                Schedule sch = Schedules.of(name);
                if (sch.check(stages, m, 1).isPresent()) {
                    continue;
                }
                double b = basic.least(sch, stages, m, 1, Double.POSITIVE_INFINITY, 20_000, () -> 600).step();
                double h = full.least(sch, stages, m, 1, Double.POSITIVE_INFINITY, 20_000, () -> 600).step();
                assertTrue(b > 0 && b <= h * (1 + 1e-12), what + " " + name + ": basic " + b + ", full " + h);
                assertEquals(h, after.least(sch, stages, m, 1, Double.POSITIVE_INFINITY, 20_000, () -> 600).step(),
                        what + " " + name);
            }
            // the search: a threshold the basic bound reaches, and one it does not
            PipelineSearch ps = pl.ps();
            double own = o.stepSeconds();
            double fullBound = ps.scheduleBound(o, own);
            assertTrue(fullBound < own, what + ": the full bound " + fullBound + " below the plan " + own);
            double low = 0.5 * fullBound;
            boolean was = PipelineSearch.basicFirst;
            try {
                PipelineSearch.basicFirst = true;
                int reached = ps.basicReached.get();
                double first = ps.scheduleBound(o, low);
                assertEquals(reached + 1, ps.basicReached.get(), what + ": the basic bound reached " + low);
                assertTrue(first >= low * (1 - 1e-12), what + ": " + first + " below the threshold " + low);
                double near = Math.min(own, fullBound * 1.001) * (1 - 1e-9);
                double withBasic = ps.scheduleBound(o, near);
                PipelineSearch.basicFirst = false;
                assertTrue(ps.scheduleBound(o, low) >= low * (1 - 1e-12), what + ": the full bound reaches " + low);
                assertEquals(ps.scheduleBound(o, near), withBasic, 1e-12 * near, what + ": threshold " + near);
            } finally {
                PipelineSearch.basicFirst = was;
            }
        }
        assertTrue(compared >= 20, "compared " + compared);
    }

    /**
     * The partitions the enumeration tightens, with a twin solving their first columns' chunk problems ahead on a thread
     * of its own ({@code PipelineBound.tightenAhead}), give the same least step, minimising partition and layouts, the
     * same partitions tightened and chunk solves as one thread alone: DenseNet-121 at batch 8 on 16 A100s, two stages
     * of one micro-batch under zero bubble (22 partitions tightened after the first); and the twin did solve some of
     * them (a twin that solved nothing, or whose problems were not the ones met, would leave the count at 0).
     */
    @Test
    void chunkProblemsSolvedAheadByATwinGiveTheSameTightenedBound() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "one processor");
        boolean was = PipelineBound.tightenAhead;
        boolean swept = PipelineBound.chunkSweeps;
        TightenedTwice t;
        try {
            PipelineBound.chunkSweeps = false; // the twin solves ahead only where each chunk problem is solved apart
            t = tightenedTwice(first -> PipelineBound.tightenAhead = first, true);
        } finally {
            PipelineBound.tightenAhead = was;
            PipelineBound.chunkSweeps = swept;
        }
        assertEquals(t.r()[1].step(), t.r()[0].step(), "least step");
        assertArrayEquals(t.r()[1].layouts(), t.r()[0].layouts(), "its layouts");
        assertEquals(0, t.bounds()[1].solvedByTwin(), "no twin");
        assertTrue(t.bounds()[0].solvedByTwin() > 0, "chunk problems taken from the twin: " + t.bounds()[0].solvedByTwin());
    }

    /**
     * The partitions the enumeration tightens with their chunk problems answered by sweeps ({@link ChunkSweep}, {@code
     * PipelineBound.chunkSweeps}) give the least step and the minimising partition of one solve per chunk problem, the
     * same partitions tightened and chunk solves: DenseNet-121 at batch 8 on 16 A100s, two stages of one micro-batch under
     * zero bubble; and the sweeps did answer them (a sweep path never taken would leave its count at 0).
     */
    @Test
    void chunkProblemsAnsweredBySweepsGiveTheSameTightenedBound() throws Exception {
        boolean was = PipelineBound.chunkSweeps;
        TightenedTwice t;
        try {
            t = tightenedTwice(first -> PipelineBound.chunkSweeps = first, false);
        } finally {
            PipelineBound.chunkSweeps = was;
        }
        assertEquals(t.r()[1].step(), t.r()[0].step(), 1e-12 * t.r()[1].step(), "least step");
        assertEquals(0, t.bounds()[1].sweepAnswers(), "no sweep");
        assertTrue(t.bounds()[0].sweepAnswers() > 0, "chunk problems answered by sweeps: " + t.bounds()[0].sweepAnswers());
    }

    /** Two bounds' least steps and the bounds themselves, the first made with a setting on, the second with it off. */
    private record TightenedTwice(PipelineBound.Least[] r, PipelineBound[] bounds) {
    }

    /**
     * DenseNet-121 at batch 8 on 16 A100s, two stages of one micro-batch, its zero-bubble least step bounded twice, {@code
     * set} given true before the first bound is made and false before the second ({@code otherCores}: another core
     * free for each); both tighten partitions past the first, the same ones with the same chunk solves, to the same least
     * partition (the caller compares the rest).
     */
    private static TightenedTwice tightenedTwice(java.util.function.Consumer<Boolean> set, boolean otherCores)
            throws Exception {
        Pipelined pl = pipelined(DENSENET, 16, 2, 1, 8L);
        var o = pl.o();
        StageProblem.Filter f = pl.ps().filter(pl.cg(), pl.micro(), pl.per());
        Schedule zb = Schedules.of("zero-bubble");
        PipelineBound.Least[] r = new PipelineBound.Least[2];
        PipelineBound[] bounds = new PipelineBound[2];
        for (int k = 0; k < 2; k++) {
            set.accept(k == 0);
            bounds[k] = leastOf(pl.ps(), o.built(), o.builder(), f, pl.pos(), pl.per());
            if (otherCores) {
                bounds[k].otherCores = () -> true;
            }
            r[k] = bounds[k].least(zb, 2, 1, 1, o.stepSeconds(), PipelineSearch.SCHEDULE_BOUND_PARTITIONS, () -> 600);
        }
        assertTrue(bounds[1].tightened() >= 2, "partitions tightened: " + bounds[1].tightened());
        assertArrayEquals(r[1].ends(), r[0].ends(), "minimising partition");
        assertEquals(bounds[1].tightened(), bounds[0].tightened(), "partitions tightened");
        assertEquals(bounds[1].chunkSolves(), bounds[0].chunkSolves(), "chunk solves");
        return new TightenedTwice(r, bounds);
    }

    /**
     * A partition's exact solve ({@link PipelineBound#partitionBound}) with its chunk problems answered by sweeps gives the
     * bound and the step of its layouts of one solve per chunk problem, on random partitions of DenseNet-121 (batch 8, 32
     * A100s, four stages of one micro-batch) and of a small GPT (four stages, eight micro-batches) under zero bubble; and
     * the same bound and layouts where the passes are dropped as soon as another is used (their ways back over budget)
     * and swept again when met again.
     */
    @Test
    void aPartitionsExactSolveBySweepsIsTheSolvers() throws Exception {
        Random rnd = new Random(3);
        int checked = 0;
        for (ModelSource model : List.of(DENSENET, Fixtures.GPT8)) {
            int m = model == DENSENET ? 1 : 8;
            Pipelined pl = pipelined(model, model == DENSENET ? 32 : 16, 4, m, model == DENSENET ? 8L : 64L);
            PipelineBound on = leastOf(pl);
            PipelineBound off = leastOf(pl);
            PipelineBound dropping = leastOf(pl);
            on.sweeping = true;
            dropping.sweeping = true;
            dropping.sweepBackBudget = 1; // every pass but the one in use dropped, and swept again when met again
            var paths = new PipelineBound.Paths(Schedules.of("zero-bubble"), 4, m, 1);
            for (int t = 0; t < 4; t++) {
                int[] ends = t == 0 ? on.evenShares(4) : PartitionSolveReuseTest.randomEnds(on.segments(), 4, rnd);
                var a = off.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                var b = on.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                var c = dropping.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS,
                        () -> 600);
                String what = (model == DENSENET ? "densenet" : "gpt") + " at " + java.util.Arrays.toString(ends);
                assertEquals(a.bound(), b.bound(), 1e-9 * a.bound(), what + ": bound");
                assertEquals(a.step(), b.step(), 1e-9 * a.step(), what + ": its layouts' step");
                assertEquals(b.bound(), c.bound(), 0.0, what + ": bound with passes dropped");
                assertArrayEquals(b.layouts(), c.layouts(), what + ": layouts with passes dropped");
                checked++;
            }
            assertTrue(on.sweepAnswers() > 0, "answered by sweeps: " + on.sweepAnswers());
            assertEquals(0, off.sweepAnswers());
            assertEquals(0, on.sweepsDropped());
            assertTrue(model != DENSENET || dropping.sweepsDropped() > 0, "passes dropped: " + dropping.sweepsDropped());
        }
        assertEquals(8, checked);
    }

    /** DenseNet-121 (torchvision export): no repeated layers, a cut position at every coarse node. */
    private static final ModelSource DENSENET = b -> OnnxImporter.read(Models.file("densenet121.onnx"),
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /**
     * On a graph without repeated layers and far too many partitions to enumerate (DenseNet-121, 254 segments into 8
     * stages), the bound ({@link PipelineBound#dual}) is below the step of the plan the search kept, of plans with its
     * layouts on random partitions and on its own partition moved by a few segments, and of random plans, under every
     * schedule and virtual-stage count the search could run.
     */
    @Test
    void withoutRepeatedLayersTheDualBoundIsBelowEveryPricedPlan() throws Exception {
        Random rnd = new Random(11);
        int stages = 8;
        int m = 8;
        Pipelined pl = pipelined(DENSENET, 16, stages, m, 16);
        PipelineSearch ps = pl.ps();
        var o = pl.o();
        long micro = pl.micro();
        var cg = pl.cg();
        int per = pl.per();
        ProblemBuilder.Built b = o.built();
        ProblemBuilder pb = o.builder();
        List<Integer> pos = pl.pos();
        assertTrue(PipelineBound.partitions(pos.size() - 2, stages - 1) > PipelineBound.ENUMERATED_PARTITIONS,
                "the partitions must be too many to enumerate, found " + (pos.size() - 1) + " segments");
        double bound = ps.scheduleBound(o, Double.POSITIVE_INFINITY);
        assertTrue(bound > 0, "no bound");
        assertTrue(bound <= o.stepSeconds() * (1 + 1e-9), bound + " > plan " + o.stepSeconds());
        PipelineBound least = leastOf(ps, b, pb, ps.filter(cg, micro, per), pos, per);
        int checked = 0;
        for (int t = 0; t < 40; t++) {
            int[] x = t % 2 == 0 ? o.choice() : Fixtures.randomLayouts(b, rnd);
            for (String name : SCHEDULES) {
                Schedule sch = Schedules.of(name);
                for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                    if (sch.check(stages, m, v).isPresent() || stages * v > pos.size() - 1) {
                        continue;
                    }
                    // the plan's partition moved only where it has this shape's chunks (the plan may be interleaved)
                    int[] bs = o.bounds().length - 1 == stages * v && t % 4 == 0 ? moved(o.bounds(), pos, rnd)
                            : randomBounds(pos, stages * v, rnd);
                    List<StageProfile> prof = ps.profiles(b, pb, x, bs, per, false);
                    double step = sch.estimate(prof, m, v).stepSeconds() + PipelineSearch.updateAfter(sch, prof, stages);
                    assertTrue(bound <= step * (1 + 1e-9), name + " v " + v + ": bound " + bound + " > " + step);
                    for (int j = 0; j < prof.size(); j++) {
                        jointBelow(least, pos.indexOf(bs[j]), pos.indexOf(bs[j + 1]), prof.get(j), name + " chunk " + j);
                    }
                    checked++;
                }
            }
        }
        assertTrue(checked >= 100, "checked " + checked);
    }

    /**
     * The pivot rows ({@link PipelineBound#pivot}) on a deep pipeline with fewer micro-batches than stages (DenseNet-121
     * at 64 A100s, batch 64, 32 stages, 16 micro-batches, zero bubble: one micro-batch's round trip through every chunk
     * is most of the step): the bound is below the step of plans with the search's layouts and with random ones on the
     * plan's partition, on the pivot's own partition and on random ones, and above the dual (the test of the rows: a
     * pivot that gave the dual, or nothing, fails it); the least over partitions that {@link PipelineBound#least} reports
     * is the larger of the two, and the dual alone with the rows off. Its partition is a whole partition into 32 chunks,
     * the start {@link PipelineBound#pivotStart} gives.
     */
    @Test
    void thePivotRowsRaiseTheDualAndStayBelowEveryPricedPlan() throws Exception {
        Random rnd = new Random(17);
        int stages = 32;
        int m = 16;
        Pipelined pl = pipelined(DENSENET, 64, stages, m, 64);
        PipelineSearch ps = pl.ps();
        var o = pl.o();
        ProblemBuilder.Built b = o.built();
        ProblemBuilder pb = o.builder();
        List<Integer> pos = pl.pos();
        PipelineBound least = leastOf(pl);
        Schedule zb = Schedules.of("zero-bubble");
        assertTrue(PipelineBound.partitions(least.segments() - 1, stages - 1) > PipelineBound.ENUMERATED_PARTITIONS,
                "the partitions must be too many to enumerate");
        double dual = least.dual(zb, stages, m, 1, Double.POSITIVE_INFINITY, () -> 600).step();
        PipelineBound.Least pv = least.pivot(zb, stages, m, 1, Double.POSITIVE_INFINITY, () -> 600);
        assertTrue(pv != null && pv.step() > dual * 1.01, "pivot " + (pv == null ? null : pv.step()) + ", dual " + dual);
        int[] ends = least.pivotStart(zb, stages, m, 1);
        assertArrayEquals(pv.ends(), ends);
        assertEquals(stages, ends.length);
        assertEquals(least.segments(), ends[stages - 1]);
        for (int j = 0; j < stages; j++) {
            assertTrue(ends[j] > (j == 0 ? 0 : ends[j - 1]), "chunk " + j + " empty: " + java.util.Arrays.toString(ends));
        }
        int[] own = PipelineSearch.stageBounds(pos, ends);
        for (int t = 0; t < 24; t++) {
            int[] x = t % 3 == 0 ? o.choice() : Fixtures.randomLayouts(b, rnd);
            int[] bs = t % 3 == 1 ? own : t % 3 == 2 ? randomBounds(pos, stages, rnd) : o.bounds();
            double step = priced(ps, b, pb, x, bs, pl.per(), zb, m, 1, stages);
            assertTrue(pv.step() <= step * (1 + 1e-9), "pivot " + pv.step() + " above a plan's step " + step);
        }
        boolean was = PipelineBound.pivotOn;
        try {
            PipelineBound fresh = leastOf(pl);
            double with = fresh.least(zb, stages, m, 1, Double.POSITIVE_INFINITY, 0, () -> 600).step();
            PipelineBound.pivotOn = false;
            PipelineBound off = leastOf(pl);
            double without = off.least(zb, stages, m, 1, Double.POSITIVE_INFINITY, 0, () -> 600).step();
            assertEquals(dual, without, 1e-12 * dual);
            assertEquals(pv.step(), with, 1e-12 * with);
            assertTrue(off.pivotStart(zb, stages, m, 1) == null, "no pivot with the rows off");
        } finally {
            PipelineBound.pivotOn = was;
        }
    }

    /**
     * A chunk's least forward, backward and exposed reduction with what every layout adds to them ({@link
     * PipelineBound#chunkJoint} for a pair, {@link PipelineBound#chunkOwn} once more with the reduction) are below a
     * plan's, and the least forward and backward with the first below the plan's.
     */
    private static void jointBelow(PipelineBound least, int from, int to, StageProfile hi, String at) {
        StageProfile lo = least.profile(from, to);
        double pair = least.chunkJoint(from, to);
        double own = least.chunkOwn(from, to);
        assertTrue(own >= 0 && pair >= 0, at + ": negative");
        double plan = hi.forwardSeconds() + hi.backwardSeconds();
        assertTrue(lo.forwardSeconds() + lo.backwardSeconds() + pair <= plan * (1 + 1e-9), at + " forward and backward");
        double fi = least.chunk(from, to)[4];
        assertTrue(fi >= 0, at + ": negative");
        assertTrue(lo.forwardSeconds() + lo.backwardSeconds() - lo.backwardWeightSeconds() + fi
                <= (hi.forwardSeconds() + hi.backwardSeconds() - hi.backwardWeightSeconds()) * (1 + 1e-9),
                at + " forward and input gradient");
        assertTrue(lo.forwardSeconds() + lo.backwardSeconds() + lo.gradientSyncSeconds() + pair + own
                <= (plan + hi.gradientSyncSeconds()) * (1 + 1e-9), at + " forward, backward and reduction");
        double ownU = least.chunkOwnUpdate(from, to);
        assertTrue(ownU >= own * (1 - 1e-12), at + ": the joint with the update below the one without");
        assertTrue(lo.forwardSeconds() + lo.backwardSeconds() + lo.gradientSyncSeconds() + lo.updateSeconds() + pair + ownU
                <= (plan + hi.gradientSyncSeconds() + hi.updateSeconds()) * (1 + 1e-9), at + " forward, backward, reduction and update");
    }

    /** A GPT whose embedding and output layer hold most of its weights (a large vocabulary), for {@link #aChunksJointStaysBelowPlansOfEveryLayout}. */
    private static final ModelSource VOCAB_GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=512,heads=8,seq=512,vocab=65536",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /**
     * What a chunk's least parts and its joint of work and reduction add up to ({@link PipelineBound#chunkOwn}, with the
     * stage's latency floor of {@link PipelineBound#chunkFloor}) stays below the chunk's price under any layouts: random
     * chunks (of two to four in a partition, so that each pays the floor) and random layouts, on a GPT whose large
     * vocabulary puts its weights in more than one bucket and on the small GPT. The check fails where the latency classes
     * add three times their latency. (It does not reach the case that keeps a chunk's {@code f + G} and {@code f + b + G
     * / K} sums apart: it passes with the larger of the two taken per segment too.)
     */
    @Test
    void aChunksJointStaysBelowPlansOfEveryLayout() throws Exception {
        Random rnd = new Random(11);
        int checked = 0;
        for (Object[] c : List.of(new Object[] {VOCAB_GPT, 16, 2, 2, 16L}, new Object[] {VOCAB_GPT, 64, 4, 4, 64L},
                new Object[] {GPT, 16, 4, 4, 16L})) {
            Pipelined pl = pipelined((ModelSource) c[0], (Integer) c[1], (Integer) c[2], (Integer) c[3], (Long) c[4]);
            var o = pl.o();
            PipelineBound least = leastOf(pl);
            List<Integer> pos = pl.pos();
            for (int t = 0; t < 60; t++) {
                int[] x = t == 0 ? o.choice() : Fixtures.randomLayouts(o.built(), rnd);
                int[] bs = randomBounds(pos, Math.min(pos.size() - 1, 2 + rnd.nextInt(3)), rnd);
                List<StageProfile> prof = pl.ps().profiles(o.built(), o.builder(), x, bs, pl.per(), false);
                for (int j = 0; j < prof.size(); j++) {
                    jointBelow(least, pos.indexOf(bs[j]), pos.indexOf(bs[j + 1]), prof.get(j), c[4] + " chunk " + j + " try " + t);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 300, "checked " + checked);
    }

    /** A partition's node bounds with each inner cut moved by up to 3 segments (kept increasing). */
    private static int[] moved(int[] bounds, List<Integer> pos, Random rnd) {
        int[] r = bounds.clone();
        for (int j = 1; j + 1 < r.length; j++) {
            int at = pos.indexOf(r[j]) + rnd.nextInt(7) - 3;
            int lo = pos.indexOf(r[j - 1]) + 1;
            int hi = pos.indexOf(bounds[j + 1]) - 1;
            r[j] = pos.get(Math.max(lo, Math.min(hi, at)));
        }
        return r;
    }

    /**
     * The dynamic program over partitions ({@link PipelineBound#partition}) equals the least over every partition of
     * the same sum, each partition's chunk values taken from {@link PipelineBound#values}, on random coefficients.
     */
    @Test
    void thePartitionProgramFindsTheLeastOverEveryPartition() throws Exception {
        int devices = 8;
        PipelineSearch ps = gptSearch(devices);
        Random rnd = new Random(5);
        int compared = 0;
        for (int stages : List.of(2, 4)) {
            long micro = 8;
            PipelineBound least = leastOf(ps, micro, devices / stages);
            for (int chunks : List.of(stages, 2 * stages)) {
                if (chunks > least.segments()) {
                    continue;
                }
                for (int t = 0; t < 10; t++) {
                    double[] agg = new double[chunks * PipelineBound.Path.PARTS];
                    double[] dev = new double[chunks];
                    for (int i = 0; i < agg.length; i++) {
                        agg[i] = rnd.nextInt(3) == 0 ? 0 : rnd.nextDouble() * 4;
                    }
                    for (int j = 0; j < chunks; j++) {
                        dev[j] = rnd.nextDouble();
                    }
                    int[] ends = new int[chunks];
                    double dp = least.partition(agg, dev, chunks, ends);
                    double all = every(least, agg, dev, new int[chunks], 0, 0);
                    assertEquals(all, dp, 1e-12 * all, stages + " stages, " + chunks + " chunks");
                    assertEquals(dp, sum(least.values(ends), agg, dev), 1e-12 * dp, "the minimiser's own sum");
                    compared++;
                }
            }
        }
        assertTrue(compared >= 30, "compared " + compared);
    }

    /**
     * The partition program reads its chunks' values from the table ({@link PipelineBound#partition}'s fast path, its
     * innermost loop over the starts of one end) and gives, to the last bit, the value and the ends of the same program
     * with every chunk's values computed where it is priced (the table off): the same sums in the same order, ties to
     * the earliest start. Random coefficients, a third of them 0 and some chunks all 0 (ties among their starts), the
     * smoothed mixture's too; from as few chunks as stages to as many as segments. The table's program leaves out the
     * starts its bound rules out ({@link PipelineBound#skipStarts}): the same bits and ends with every start priced, and
     * some starts left out. The balanced partition (each dual's first column) from the table, kept per chunk count, is
     * the one without it.
     */
    @Test
    void thePartitionProgramGivesTheSameBitsWithTheTableAsWithout() throws Exception {
        PipelineSearch ps = gptSearch(8);
        Random rnd = new Random(11);
        int compared = 0;
        long skipped = 0;
        for (int per : List.of(4, 2, 1)) { // 2, 4 and 8 stages of 8 devices
            int stages = 8 / per;
            PipelineBound least = leastOf(ps, 8, per);
            int k = least.segments();
            for (int chunks : new java.util.TreeSet<>(List.of(stages, 2 * stages, k / 2, k - 1, k))) {
                if (chunks < 1 || chunks > k) {
                    continue;
                }
                int t0 = compared;
                for (int t = 0; t < 8; t++) {
                    skipped -= least.skippedStarts;
                    double[] agg = new double[chunks * PipelineBound.Path.PARTS];
                    double[] dev = new double[chunks];
                    for (int j = 0; j < chunks; j++) {
                        boolean idle = rnd.nextInt(4) == 0; // a chunk no path weighs
                        for (int q = 0; q < PipelineBound.Path.PARTS; q++) {
                            agg[j * PipelineBound.Path.PARTS + q] = idle || rnd.nextInt(3) == 0 ? 0 : rnd.nextDouble() * 4;
                        }
                        dev[j] = idle || rnd.nextBoolean() ? 0 : rnd.nextDouble();
                    }
                    int[] fast = new int[chunks];
                    int[] every = new int[chunks];
                    int[] slow = new int[chunks];
                    least.tabled = true;
                    double a = least.partition(agg, dev, chunks, fast);
                    PipelineBound.skipStarts = false;
                    double c;
                    try {
                        c = least.partition(agg, dev, chunks, every);
                    } finally {
                        PipelineBound.skipStarts = true;
                    }
                    least.tabled = false;
                    double b = least.partition(agg, dev, chunks, slow);
                    least.tabled = true;
                    String at = stages + " stages, " + chunks + " chunks, draw " + t;
                    assertEquals(Double.doubleToRawLongBits(b), Double.doubleToRawLongBits(a), at + ": " + a + " against " + b);
                    assertArrayEquals(slow, fast, at + ": the ends");
                    assertEquals(Double.doubleToRawLongBits(c), Double.doubleToRawLongBits(a), at + ": every start " + c
                            + " against " + a);
                    assertArrayEquals(every, fast, at + ": the ends with every start");
                    skipped += least.skippedStarts;
                    compared++;
                }
                if (t0 == compared) {
                    continue;
                }
                least.tabled = false;
                int[] slowBalanced = least.balanced(chunks);
                least.tabled = true;
                assertArrayEquals(slowBalanced, least.balanced(chunks), stages + " stages, " + chunks + " chunks: balanced");
                assertArrayEquals(slowBalanced, least.balanced(chunks), stages + " stages, " + chunks + " chunks: balanced again");
            }
        }
        assertTrue(compared >= 60, "compared " + compared);
        assertTrue(skipped > 0, "the bound on the starts left out none");
    }

    /** The search of the small GPT on {@code devices} A100s, batch 64 (the partition programs' tests). */
    private static PipelineSearch gptSearch(int devices) throws Exception {
        return new PipelineSearch(Planner.forCluster(Fixtures.a100(devices)).withBatch(64), SearchOptions.AUTO, GPT, 64, 600);
    }

    private static double sum(double[] values, double[] agg, double[] dev) {
        double r = 0;
        for (int j = 0; j < dev.length; j++) {
            for (int k = 0; k < PipelineBound.Path.PARTS; k++) {
                r += agg[j * PipelineBound.Path.PARTS + k] * values[j * PipelineBound.Path.VALUES + k];
            }
            r += dev[j] * (values[j * PipelineBound.Path.VALUES + PipelineBound.Path.SYNC]
                    + values[j * PipelineBound.Path.VALUES + PipelineBound.Path.UPDATE]);
        }
        return r;
    }

    private static double every(PipelineBound pb, double[] agg, double[] dev, int[] end, int j, int start) {
        int chunks = end.length;
        if (j == chunks) {
            return sum(pb.values(end), agg, dev);
        }
        double best = Double.POSITIVE_INFINITY;
        int last = pb.segments() - (chunks - j - 1);
        for (int e = j == chunks - 1 ? pb.segments() : start + 1; e <= last; e++) {
            end[j] = e;
            best = Math.min(best, every(pb, agg, dev, end, j + 1, e));
        }
        return best;
    }

    /**
     * The matrix game's strategies are optimal: what the rows' strategy guarantees against every column equals what the
     * columns' strategy concedes to every row (the two linear programs' optima meet), on random games and two by hand:
     * matching pennies (value 1/2, both players half and half) and a game with a dominated row.
     */
    @Test
    void theGameIsSolvedToOptimality() {
        double[][] pennies = {{1, 0}, {0, 1}};
        double[][] mix = PipelineBound.game(pennies);
        assertEquals(0.5, mix[0][0], 1e-12);
        assertEquals(0.5, mix[1][0], 1e-12);
        // row 1 is dominated by row 0: the rows play row 0; the columns then play column 1 (payoff 2 < 3)
        double[][] dominated = {{3, 2}, {1, 0}};
        mix = PipelineBound.game(dominated);
        assertEquals(1, mix[0][0], 1e-12);
        assertEquals(1, mix[1][1], 1e-12);
        Random rnd = new Random(9);
        for (int t = 0; t < 200; t++) {
            int n = 1 + rnd.nextInt(40);
            int k = 1 + rnd.nextInt(12);
            double[][] a = randomGame(rnd, n, k, t % 2 == 0 ? 5 : 0, 3);
            double[][] g = PipelineBound.game(a);
            // what the rows' strategy guarantees against every column, what the columns' concedes to every row
            double guaranteed = java.util.Arrays.stream(payoffs(a, g[0], true)).min().orElseThrow();
            double conceded = java.util.Arrays.stream(payoffs(a, g[1], false)).max().orElseThrow();
            assertEquals(1, java.util.Arrays.stream(g[0]).sum(), 1e-9, "rows' strategy sums to 1");
            assertEquals(1, java.util.Arrays.stream(g[1]).sum(), 1e-9, "columns' strategy sums to 1");
            assertEquals(conceded, guaranteed, 1e-9, "game " + t + " (" + n + " x " + k + ")");
        }
    }

    /**
     * Games of the duals' size (hundreds of rows, dozens of columns), with payoffs of a few values (many pivots leave the
     * objective where it was) and with continuous ones: wherever Bland's rule from the start ends optimal within the
     * pivots allowed, Dantzig's rule handing over to Bland's ({@link PipelineBound#DEGENERATE_PIVOTS}) does too, in fewer
     * pivots over all, and it hands over on some. (Games of payoffs 0 and 1 stall both rules at the pivots allowed; their
     * strategies are then valid, not optimal: any distribution over the rows gives a bound.)
     */
    @Test
    void dantzigsRuleSolvesTheGamesBlandsRuleSolvesInFewerPivots() {
        Random rnd = new Random(23);
        int handedOver = 0;
        int solved = 0;
        long dantzig = 0;
        long bland = 0;
        boolean was = PipelineBound.blandOnly;
        try {
            for (int t = 0; t < 60; t++) {
                int n = 100 + rnd.nextInt(250);
                int k = 10 + rnd.nextInt(40);
                double[][] a = randomGame(rnd, n, k, t % 2 == 0 ? 4 : 0, 1);
                PipelineBound.blandOnly = true;
                int[] sb = new int[3];
                double[][] gb = PipelineBound.game(a, sb);
                PipelineBound.blandOnly = false;
                int[] sd = new int[3];
                double[][] gd = PipelineBound.game(a, sd);
                assertEquals(0, sb[2], "Bland's rule throughout hands over to nothing");
                if (!optimal(a, gb)) {
                    continue; // stalled at the pivots allowed
                }
                solved++;
                assertTrue(optimal(a, gd), "game " + t + " (" + n + " x " + k + "): Bland's rule " + sb[0] + " pivots,"
                        + " optimal; Dantzig's " + sd[0] + ", not");
                dantzig += sd[0];
                bland += sb[0];
                handedOver += sd[2];
            }
        } finally {
            PipelineBound.blandOnly = was;
        }
        assertTrue(solved >= 30, solved + " of 60 games solved by Bland's rule");
        assertTrue(dantzig < bland, "Dantzig's rule " + dantzig + " pivots, Bland's " + bland);
        assertTrue(handedOver > 0, "Dantzig's rule never handed over to Bland's");
    }

    /** An n x k game of payoffs drawn from {@code 0 .. values - 1}, or where {@code values} is 0 from [offset, offset + 1). */
    private static double[][] randomGame(Random rnd, int n, int k, int values, double offset) {
        double[][] a = new double[n][k];
        for (double[] row : a) {
            for (int c = 0; c < k; c++) {
                row[c] = values > 0 ? rnd.nextInt(values) : offset + rnd.nextDouble();
            }
        }
        return a;
    }

    /** Whether {@code g}'s strategies are optimal in game {@code a}: the rows' guarantee meets the columns' concession. */
    private static boolean optimal(double[][] a, double[][] g) {
        double guaranteed = java.util.Arrays.stream(payoffs(a, g[0], true)).min().orElseThrow();
        double conceded = java.util.Arrays.stream(payoffs(a, g[1], false)).max().orElseThrow();
        return Math.abs(conceded - guaranteed) <= 1e-9;
    }

    /**
     * A partition's layouts solved exactly ({@link PipelineBound#partitionBound}): its bound lies below the step of the
     * plan the search kept (with that partition) and of random plans with the partition, under every schedule and
     * virtual-stage count the search could run, and the step it reports for its own layouts is the step the search prices
     * for them; on a small GPT (every layout allowed) and on DenseNet-121 (the configuration's fixed degrees).
     */
    @Test
    void aPartitionsExactSolveIsBelowEveryPlanWithItAndPricesItsOwnLayouts() throws Exception {
        Random rnd = new Random(17);
        int checked = 0;
        int tight = 0;
        for (boolean dense : List.of(false, true)) {
            int stages = dense ? 8 : 4;
            int m = 8;
            Pipelined pl = pipelined(dense ? DENSENET : GPT, dense ? 16 : 8, stages, m, dense ? 16 : 64);
            PipelineSearch ps = pl.ps();
            var o = pl.o();
            int per = pl.per();
            ProblemBuilder.Built b = o.built();
            StageProblem.Filter filter = dense ? ps.filter(pl.cg(), pl.micro(), per) : StageProblem.Filter.ALL;
            List<Integer> pos = pl.pos();
            PipelineBound least = leastOf(ps, b, o.builder(), filter, pos, per);
            for (String name : SCHEDULES) {
                Schedule sch = Schedules.of(name);
                for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                    if (sch.check(stages, m, v).isPresent() || stages * v > pos.size() - 1) {
                        continue;
                    }
                    for (int t = 0; t < (dense ? 2 : 3); t++) {
                        boolean own = t == 0 && v == o.virtual() && name.equals(o.schedule().name());
                        int[] bs = own ? o.bounds() : randomBounds(pos, stages * v, rnd);
                        int[] ends = new int[bs.length - 1];
                        for (int j = 0; j < ends.length; j++) {
                            ends[j] = pos.indexOf(bs[j + 1]);
                        }
                        var pb = least.partitionBound(new PipelineBound.Paths(sch, stages, m, v), stages, ends,
                                Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                        String what = (dense ? "DenseNet " : "GPT ") + name + " v " + v + " at " + java.util.Arrays.toString(bs);
                        double its = priced(ps, b, o.builder(), pb.layouts(), bs, per, sch, m, v, stages);
                        assertEquals(its, pb.step(), 1e-9 * its, what + ": its layouts' step");
                        assertTrue(pb.bound() <= its * (1 + 1e-9), what + ": bound " + pb.bound() + " > its own layouts' " + its);
                        tight += pb.bound() >= its * (1 - 1e-3) ? 1 : 0;
                        for (int r = 0; r < 12; r++) {
                            int[] x = r == 0 ? o.choice() : allowedLayouts(b, filter, rnd);
                            double step = priced(ps, b, o.builder(), x, bs, per, sch, m, v, stages);
                            assertTrue(pb.bound() <= step * (1 + 1e-9), what + ": bound " + pb.bound() + " > " + step);
                            checked++;
                        }
                    }
                }
            }
        }
        assertTrue(checked >= 200, "checked " + checked);
        assertTrue(tight >= 3, "partitions whose bound is within 0.1% of its own layouts' step: " + tight);
    }

    /** A GPT whose chunks of two layers hold more than one bucket of gradients at their largest (hidden 1024). */
    private static final ModelSource WIDE_GPT = b -> BuiltinModels.read(
            "gpt?layers=8,hidden=1024,heads=16,seq=128,vocab=4096", ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /**
     * A partition's exact solve with its chunks bounded apart for the plans of one bucket and of more ({@link
     * PipelineBound#splitChunk}): never below the solve without, above it on
     * some partition (the chunks' minimisers shard their weights below one bucket, where the whole reduction stays
     * exposed), and still below the step of the plan the search kept, of the solve's own layouts and of random plans with
     * the partition, under every schedule the search could run.
     */
    @Test
    void chunksBoundedByTheirBucketCountStayBelowEveryPlan() throws Exception {
        Random rnd = new Random(23);
        int stages = 4;
        int m = 8;
        Pipelined pl = pipelined(WIDE_GPT, 16, stages, m, 64);
        PipelineSearch ps = pl.ps();
        var o = pl.o();
        int per = pl.per();
        ProblemBuilder.Built b = o.built();
        List<Integer> pos = pl.pos();
        int raised = 0;
        int checked = 0;
        boolean was = PipelineBound.splitBuckets;
        try {
            for (String name : SCHEDULES) {
                Schedule sch = Schedules.of(name);
                for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                    if (sch.check(stages, m, v).isPresent() || stages * v > pos.size() - 1) {
                        continue;
                    }
                    for (int t = 0; t < 2; t++) {
                        boolean own = t == 0 && v == o.virtual() && name.equals(o.schedule().name());
                        int[] bs = own ? o.bounds() : randomBounds(pos, stages * v, rnd);
                        int[] ends = new int[bs.length - 1];
                        for (int j = 0; j < ends.length; j++) {
                            ends[j] = pos.indexOf(bs[j + 1]);
                        }
                        var paths = new PipelineBound.Paths(sch, stages, m, v);
                        PipelineBound.splitBuckets = false;
                        var off = leastOf(ps, b, o.builder(), StageProblem.Filter.ALL, pos, per).partitionBound(paths, stages,
                                ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                        PipelineBound.splitBuckets = true;
                        var on = leastOf(ps, b, o.builder(), StageProblem.Filter.ALL, pos, per).partitionBound(paths, stages,
                                ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                        String what = name + " v " + v + " at " + java.util.Arrays.toString(bs) + ": split " + on.bound()
                                + ", without " + off.bound();
                        assertTrue(on.bound() >= off.bound() * (1 - 1e-9), what);
                        raised += on.bound() > off.bound() * (1 + 1e-3) ? 1 : 0;
                        for (var pb : List.of(on, off)) {
                            double its = priced(ps, b, o.builder(), pb.layouts(), bs, per, sch, m, v, stages);
                            assertEquals(its, pb.step(), 1e-9 * its, what + ": its layouts' step");
                            assertTrue(on.bound() <= its * (1 + 1e-9), what + " > its layouts' " + its);
                        }
                        for (int r = 0; r < 12; r++) {
                            int[] x = r == 0 ? o.choice() : allowedLayouts(b, StageProblem.Filter.ALL, rnd);
                            double step = priced(ps, b, o.builder(), x, bs, per, sch, m, v, stages);
                            assertTrue(on.bound() <= step * (1 + 1e-9), what + " > " + step);
                            checked++;
                        }
                    }
                }
            }
        } finally {
            PipelineBound.splitBuckets = was;
        }
        assertTrue(checked >= 60, "checked " + checked);
        assertTrue(raised >= 1, "no partition's bound raised by the split");
    }

    /** A plan's step as the search prices it: its profiles, the schedule's estimate and the optimizer step after it. */
    private static double priced(PipelineSearch ps, ProblemBuilder.Built b, ProblemBuilder pb, int[] x, int[] bs, int per,
            Schedule sch, int m, int v, int stages) {
        List<StageProfile> prof = ps.profiles(b, pb, x, bs, per, false);
        return sch.estimate(prof, m, v).stepSeconds() + PipelineSearch.updateAfter(sch, prof, stages);
    }

    /** Random layouts among those the filter allows. */
    private static int[] allowedLayouts(ProblemBuilder.Built b, StageProblem.Filter filter, Random rnd) {
        int[] x = new int[b.units().size()];
        for (ProblemBuilder.Unit u : b.units()) {
            List<Integer> ok = new ArrayList<>();
            for (int c = 0; c < u.costs().size(); c++) {
                if (filter.allows(u, c)) {
                    ok.add(c);
                }
            }
            x[u.index()] = ok.get(rnd.nextInt(ok.size()));
        }
        return x;
    }

    /** The small segment problems tried in full ({@link PipelineBound#enumerate}) have the dynamic program's optimum. */
    @Test
    void smallProblemsTriedInFullHaveTheOptimum() {
        Random rnd = new Random(13);
        for (int t = 0; t < 200; t++) {
            int n = 1 + rnd.nextInt(t < 100 ? 4 : 7);
            int[] k = new int[n];
            List<Problem.Node> nodes = RandomProblems.nodes(rnd, k, 6, t % 2 == 0);
            List<Problem.Edge> edges = new ArrayList<>();
            for (int i = 1; i < n; i++) {
                for (int from : List.of(rnd.nextInt(i), rnd.nextInt(i))) {
                    double[] c = new double[k[from] * k[i]];
                    for (int q = 0; q < c.length; q++) {
                        c[q] = t % 2 == 0 ? rnd.nextInt(50) : rnd.nextDouble() * 1e-3;
                    }
                    edges.add(new Problem.Edge(from, i, k[from], k[i], c));
                }
            }
            Problem pr = new Problem("small-" + t, nodes, edges);
            double dp = new DpSolver().solve(pr, Solver.Options.withTimeLimit(60)).objective();
            var e = PipelineBound.enumerate(nodes, edges);
            assertEquals(dp, e.value(), 1e-12 * Math.max(1, dp), "problem " + t);
            // the windows' dynamic program over the nodes in order has the same optimum
            long[] spent = new long[1];
            var f = PipelineBound.frontier(nodes, edges, 1_000_000, spent);
            assertEquals(dp, f.value(), 1e-12 * Math.max(1, dp), "problem " + t + " by its frontier");
            assertTrue(spent[0] > 0, "no work counted");
            double own = 0;
            for (int i = 0; i < n; i++) {
                own += nodes.get(i).costs()[e.choices()[i]];
            }
            for (Problem.Edge x : edges) {
                own += x.costs()[e.choices()[x.from()] * x.cols() + e.choices()[x.to()]];
            }
            assertEquals(e.value(), own, 1e-12 * Math.max(1, own), "problem " + t + ": the minimiser's own cost");
        }
    }

    /**
     * The windows of segments ({@link PipelineBound#windows}) on DenseNet-121, whose links skip up to five segments (the
     * concatenations of its dense blocks): each chunk's least forward, input gradient and work with them is at least the
     * bound without them and at most the chunk's exact least (every link inside it counted), and on most chunks of more than
     * one segment strictly higher. Without the windows (the segments alone and their neighbouring pairs) the chunks miss
     * the resharding along the skipped links.
     */
    @Test
    void windowsOfSegmentsSeeTheLinksThatSkipSegments() throws Exception {
        Pipelined pl = pipelined(DENSENET, 16, 8, 8, 16);
        var o = pl.o();
        PipelineBound with;
        PipelineBound without;
        boolean on = PipelineBound.windowsOn;
        try {
            PipelineBound.windowsOn = false;
            without = leastOf(pl);
            PipelineBound.windowsOn = true;
            with = leastOf(pl);
        } finally {
            PipelineBound.windowsOn = on;
        }
        Random rnd = new Random(5);
        int k = with.segments();
        int higher = 0;
        int chunks = 0;
        double closed = 0;
        double missing = 0;
        for (int t = 0; t < 60; t++) {
            int len = 2 + rnd.nextInt(t % 3 == 0 ? 4 : 30);
            int from = rnd.nextInt(k - len + 1);
            int to = from + len;
            double[] w = with.chunk(from, to);
            double[] n = without.chunk(from, to);
            double[] lw = {w[0], w[1], w[0] + w[1] + w[2] + w[3]};
            double[] ln = {n[0], n[1], n[0] + n[1] + n[2] + n[3]};
            boolean up = false;
            for (int q = 0; q < 3; q++) {
                double exact = with.exactPart(q, from, to);
                String at = "part " + q + " of segments [" + from + ", " + to + ")";
                assertTrue(lw[q] >= ln[q] * (1 - 1e-12), at + ": " + lw[q] + " below " + ln[q] + " without the windows");
                assertTrue(lw[q] <= exact * (1 + 1e-9), at + ": " + lw[q] + " above the exact least " + exact);
                up |= lw[q] > ln[q] * (1 + 1e-9);
                closed += lw[q] - ln[q];
                missing += exact - ln[q];
            }
            // the forward with the input gradient together: at most the chunk's exact least of the two
            double fi = w[0] + w[1] + w[4];
            double exactFI = with.exactPart(3, from, to);
            assertTrue(fi <= exactFI * (1 + 1e-9), "segments [" + from + ", " + to + "): forward and input gradient " + fi
                    + " above the exact least " + exactFI);
            higher += up ? 1 : 0;
            chunks++;
        }
        assertTrue(higher * 2 > chunks, "higher on " + higher + " of " + chunks + " chunks");
        System.err.printf(java.util.Locale.ROOT, "windows: higher on %d of %d chunks, %.1f%% of what the segments miss closed%n",
                higher, chunks, 100 * closed / missing);
        assertTrue(closed >= 0.6 * missing, "the windows closed " + closed + " of " + missing);
    }

    /**
     * The dual over partitions ({@link PipelineBound#dual}) on DenseNet-121 at 16 stages of 4 devices, 4 micro-batches
     * (batch 8, the plan of 64 A100s), zero bubble: below the plan, and within 8% of the least-profile step of the plan's own
     * partition (a single partition: the least over all of them lies between the two). With the payoffs clipped at the
     * threshold and 6 rounds of patience it stalled at 87%, the chunks without the windows at 3.69 ms against 4.46 ms.
     */
    @Test
    void theDualOverPartitionsComesNearASinglePartition() throws Exception {
        Dense64 d = dense64();
        var o = d.pl().o();
        PipelineBound least = d.least();
        int[] ends = d.ends();
        Schedule zb = Schedules.of("zero-bubble");
        double[] vals = least.values(ends);
        List<StageProfile> prof = new ArrayList<>();
        for (int j = 0; j < ends.length; j++) {
            int at = j * PipelineBound.Path.VALUES;
            prof.add(new StageProfile(vals[at], vals[at + 1] + vals[at + 2], vals[at + 2], vals[at + 4],
                    vals[at + PipelineBound.Path.SYNC], 0, 0, vals[at + PipelineBound.Path.UPDATE]));
        }
        double single = 0;
        for (PipelineBound.Path x : new PipelineBound.Paths(zb, 16, 4, 1).trace(prof)) {
            single = Math.max(single, x.length(vals, 16));
        }
        double dual = least.dual(zb, 16, 4, 1, Double.POSITIVE_INFINITY, () -> 600).step();
        assertTrue(dual <= o.stepSeconds() * (1 + 1e-9), "dual " + dual + " above the plan " + o.stepSeconds());
        assertTrue(dual >= 0.92 * single, "dual " + dual + " against a single partition's " + single);
    }

    /**
     * A zero-bubble path holds forwards and input gradients of chunks whose weight gradients it does not (DenseNet-121 at
     * 64 A100s, batch 8, 16 stages, 4 micro-batches: micro-batch 0's forward through every chunk before the last stage's,
     * the last stage's 4 forwards and input gradients, the input gradients back). What one layout cannot do for both is
     * priced for those pairs ({@link PipelineBound#chunk}'s fifth value): at most the chunk's exact least of the two and
     * the plan's, positive on the last chunk (its classifier's layouts trade forward for backward), and the least-profile
     * step of the plan's partition rises with it, staying below the plan.
     */
    @Test
    void forwardsWithInputGradientsArePricedTogether() throws Exception {
        Dense64 d = dense64();
        Pipelined pl = d.pl();
        var o = pl.o();
        PipelineBound least = d.least();
        int[] ends = d.ends();
        List<StageProfile> plan = pl.ps().profiles(o.built(), o.builder(), o.choice(), o.bounds(), pl.per(), false);
        int from = 0;
        double lastFI = 0;
        for (int j = 0; j < ends.length; j++) {
            double[] c = least.chunk(from, ends[j]);
            double exact = least.exactPart(3, from, ends[j]);
            assertTrue(c[0] + c[1] + c[4] <= exact * (1 + 1e-9), "chunk " + j + ": " + (c[0] + c[1] + c[4]) + " above the exact "
                    + exact);
            jointBelow(least, from, ends[j], plan.get(j), "chunk " + j);
            lastFI = c[4];
            from = ends[j];
        }
        assertTrue(lastFI > 0, "the last chunk's forward and input gradient priced apart");
        Schedule zb = Schedules.of("zero-bubble");
        double with = leafStep(least, zb, 16, 4, 1, ends);
        double without = leafStep(least, zb, 16, 4, 1, ends, false);
        assertTrue(with > without * (1 + 1e-3), "with the pairs " + with + ", without " + without);
        assertTrue(with <= o.stepSeconds() * (1 + 1e-9), "with the pairs " + with + " above the plan " + o.stepSeconds());
    }

    /**
     * The dual's strategy smoothed towards the best so far ({@link PipelineBound#smoothing}) on DenseNet-121 at 64 A100s,
     * batch 128 (16 stages, 16 micro-batches), interleaved with 4 chunks a device: the game's strategy alone swings from
     * round to round and stopped at 7.73 ms; smoothed it passes 9.5 ms, below the plan, the least-profile step of the
     * balanced partition and of the partition a local search reaches from it (single partitions: the least over them
     * is at least the dual).
     */
    @Test
    void theSmoothedDualPassesTheGamesStall() throws Exception {
        Pipelined pl = pipelined(DENSENET, 64, 16, 16, 128);
        var o = pl.o();
        PipelineBound least = leastOf(pl);
        Schedule sch = Schedules.of("interleaved");
        double was = PipelineBound.smoothing;
        boolean dwell = PipelineBound.dwellSeed;
        double alone;
        double smoothed;
        try {
            // the smoothing alone: the paths dwelling on each chunk also lift the game's strategy alone (8.75 ms)
            PipelineBound.dwellSeed = false;
            PipelineBound.smoothing = 0;
            alone = least.dual(sch, 16, 16, 4, Double.POSITIVE_INFINITY, () -> 600).step();
            PipelineBound.smoothing = 0.8;
            smoothed = least.dual(sch, 16, 16, 4, Double.POSITIVE_INFINITY, () -> 600).step();
        } finally {
            PipelineBound.smoothing = was;
            PipelineBound.dwellSeed = dwell;
        }
        assertTrue(smoothed >= 1.2 * alone, "smoothed " + smoothed + ", the game's strategy alone " + alone);
        assertTrue(smoothed <= o.stepSeconds() * (1 + 1e-9), "dual " + smoothed + " above the plan " + o.stepSeconds());
        int[] ends = least.evenShares(64);
        double balanced = leafStep(least, sch, 16, 16, 4, ends);
        double descended = descend(least, sch, 16, 16, 4, ends);
        assertTrue(descended <= balanced, "the local search went up");
        assertTrue(smoothed <= descended * (1 + 1e-9), "dual " + smoothed + " above a partition's " + descended);
    }

    /**
     * The dual started with a path dwelling on each chunk ({@link PipelineBound#dwellRows}) on DenseNet-121 at 64 A100s,
     * batch 128 (16 stages, 16 micro-batches), interleaved with 4 chunks a device: its 80 rounds end at least 0.5% higher
     * than without them (10.22 against 10.14 ms; 10.25 against 9.94 with the game's pivots by Bland's rule throughout),
     * and still below the plan and below the least-profile step of the
     * partitions a local search over the cuts reaches from equal shares and from the plan's own partition (single
     * partitions: the least over them is at least any valid bound).
     */
    @Test
    void pathsDwellingOnEachChunkRaiseTheDual() throws Exception {
        Pipelined pl = pipelined(DENSENET, 64, 16, 16, 128);
        var o = pl.o();
        PipelineBound least = leastOf(pl);
        Schedule sch = Schedules.of("interleaved");
        boolean was = PipelineBound.dwellSeed;
        double without;
        double with;
        try {
            PipelineBound.dwellSeed = false;
            without = least.dual(sch, 16, 16, 4, Double.POSITIVE_INFINITY, () -> 600).step();
            PipelineBound.dwellSeed = true;
            with = least.dual(sch, 16, 16, 4, Double.POSITIVE_INFINITY, () -> 600).step();
        } finally {
            PipelineBound.dwellSeed = was;
        }
        assertTrue(with >= 1.005 * without, "with the dwelling paths " + with + ", without " + without);
        assertTrue(with <= o.stepSeconds() * (1 + 1e-9), "dual " + with + " above the plan " + o.stepSeconds());
        for (int[] ends : new int[][] {least.evenShares(64), o.bounds().length == 65 ? endsOf(o.bounds(), pl.pos()) : null}) {
            if (ends == null) {
                continue;
            }
            double descended = descend(least, sch, 16, 16, 4, ends);
            assertTrue(with <= descended * (1 + 1e-9), "dual " + with + " above a partition's " + descended);
        }
    }

    /**
     * DenseNet-121 at 16 A100s, batch 8, 4 stages of 4 devices, 2 micro-batches: the partitions (254 segments into 4) are
     * few enough to enumerate, but one schedule's enumeration spends the budget of partitions; the schedules after it are
     * bounded by the dual instead of leaving the configuration without a schedule bound (it was 0: the plan's bound fell
     * to the nodes' least, 3.88 ms, 39% below its step).
     */
    /**
     * A shape whose partitions are few enough to enumerate but whose enumeration cuts off too few of them: DenseNet-121 at
     * batch 8 on 32 A100s, four stages of one micro-batch (8 devices a stage), zero bubble, 2.6 million partitions of its
     * 254 segments. The enumeration with the whole budget ran past it (0.4-1 s) and left the dual's bound; after its first
     * share ({@link PipelineBound#enumerationFirst}) the dual and the enumeration again with the dual's paths cutting off
     * partial partitions ({@link PipelineBound#guided}) finish, with a higher bound, still below the configuration's plan
     * and below the exact bound of that plan's own partition, for less of the budget. The tightening that follows solves
     * hundreds of the partitions below the first one's exact step, best first, its chunk problems answered by sweeps, and
     * raises the bound further; with a solve per chunk problem ({@code -Dshardplan.chunkSweeps=false}) it is left out:
     * those partitions are far more than its budgets could solve ({@link PipelineBound#TIGHTEN_REACH}).
     */
    @Test
    void anEnumerationPastItsFirstShareIsGuidedByTheDualsPaths() throws Exception {
        Pipelined pl = pipelined(DENSENET, 32, 4, 1, 8);
        var o = pl.o();
        Schedule zb = Schedules.of("zero-bubble");
        long keep = PipelineBound.enumerationFirst;
        PipelineBound.Least whole;
        PipelineBound.Least sliced;
        PipelineBound guided;
        try {
            PipelineBound.enumerationFirst = 0;
            whole = leastOf(pl).least(zb, 4, 1, 1, o.stepSeconds(), PipelineSearch.SCHEDULE_BOUND_PARTITIONS, () -> 600);
            PipelineBound.enumerationFirst = keep;
            guided = leastOf(pl);
            sliced = guided.least(zb, 4, 1, 1, o.stepSeconds(), PipelineSearch.SCHEDULE_BOUND_PARTITIONS, () -> 600);
        } finally {
            PipelineBound.enumerationFirst = keep;
        }
        assertTrue(whole.priced() + whole.visited() / 64 >= PipelineSearch.SCHEDULE_BOUND_PARTITIONS * 0.9,
                "the enumeration with the whole budget finished within it (" + whole.priced() + " priced, " + whole.visited()
                + " visited): no case for its first share");
        assertTrue(sliced.step() > whole.step() * (1 + 1e-3), "guided " + sliced.step() + " against the dual's " + whole.step());
        assertTrue(sliced.priced() + sliced.visited() / 64 < whole.priced() + whole.visited() / 64,
                "budget spent " + sliced.priced() + " / " + sliced.visited() + " against " + whole.priced() + " / " + whole.visited());
        assertTrue(sliced.step() <= o.stepSeconds() * (1 + 1e-9), "bound " + sliced.step() + " above the plan " + o.stepSeconds());
        PipelineBound.Paths paths = new PipelineBound.Paths(zb, 4, 1, 1);
        double own = leastOf(pl).partitionBound(paths, 4, endsOf(o.bounds(), pl.pos()), Double.POSITIVE_INFINITY,
                PipelineBound.PARTITION_ROUNDS, () -> 600).bound();
        assertTrue(sliced.step() <= own * (1 + 1e-9), "bound " + sliced.step() + " above the plan's partition's " + own);
        assertTrue(guided.tightened() >= 100, "partitions tightened by sweeps: " + guided.tightened());
        boolean swept = PipelineBound.chunkSweeps;
        PipelineBound solved;
        PipelineBound.Least unswept;
        try {
            PipelineBound.chunkSweeps = false;
            solved = leastOf(pl);
            unswept = solved.least(zb, 4, 1, 1, o.stepSeconds(), PipelineSearch.SCHEDULE_BOUND_PARTITIONS, () -> 600);
        } finally {
            PipelineBound.chunkSweeps = swept;
        }
        assertEquals(1, solved.tightened(), "without sweeps, the tightening past the first partition is left out");
        assertTrue(sliced.step() > unswept.step() * (1 + 1e-3), "tightened " + sliced.step() + " against " + unswept.step());
    }

    @Test
    void schedulesPastTheBudgetOfPartitionsAreBoundedByTheDual() throws Exception {
        Pipelined pl = pipelined(DENSENET, 16, 4, 2, 8);
        var o = pl.o();
        double bound = pl.ps().scheduleBound(o, o.stepSeconds());
        assertTrue(bound <= o.stepSeconds() * (1 + 1e-9), "bound " + bound + " above the plan " + o.stepSeconds());
        assertTrue(bound >= 0.8 * o.stepSeconds(), "bound " + bound + " against the plan " + o.stepSeconds());
    }

    /**
     * The search balances a pipeline's stages; the partition its schedule prefers can have faster plans. On DenseNet-121
     * at 64 A100s, batch 8 (16 stages, 4 micro-batches, zero bubble) the plan reported is faster than every plan on the
     * search's own partition (that partition's exact bound, {@link PipelineBound#partitionBound}: 4.985 ms; the plan
     * reported was 4.986 ms, 4.797 ms from the partitions local searches over the cuts reach, now 4.760 ms), fits, and is priced as
     * the step prices its layouts; the bound stays below it.
     */
    @Test
    void aLocalSearchOverTheCutsFindsAFasterPlan() throws Exception {
        Dense64 d = dense64();
        var o = d.pl().o();
        PipelineBound.Paths paths = new PipelineBound.Paths(o.schedule(), 16, 4, 1);
        double own = d.least().partitionBound(paths, 16, d.ends(), Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS,
                () -> 600).bound();
        var r = d.pl().ps().reported(o);
        var plan = r.plan();
        assertTrue(plan.stepSeconds() < 0.99 * own, "plan reported " + plan.stepSeconds() + ", every plan on the search's"
                + " partition at least " + own);
        assertTrue(r.lowerBound() <= plan.stepSeconds() * (1 + 1e-9), "bound " + r.lowerBound() + " above " + plan.stepSeconds());
        List<StageProfile> ps = d.pl().ps().profiles(o.built(), o.builder(), plan.choice(), plan.bounds(), d.pl().per(), false);
        Estimate e = plan.schedule().estimate(ps, 4, plan.virtual());
        assertEquals(e.stepSeconds() + PipelineSearch.updateAfter(plan.schedule(), ps, 16), plan.stepSeconds(),
                1e-12 * plan.stepSeconds());
        double sim = org.shardplan.planner.sim.Simulator.run(ps, plan.schedule(), 4, plan.virtual()).stepSeconds();
        assertEquals(sim, e.stepSeconds(), 1e-9 * sim, "the replay of the plan reported");
    }

    /**
     * A device runs its ops one after another, so the step of a partition is at least each device's ops' time with its
     * reduction and the largest update, its first op after the forwards before it ({@link PipelineBound.Paths#floor}):
     * below the step on the least profiles and on a plan's layouts for random partitions of DenseNet-121 at 64 A100s,
     * batch 128 (16 stages, 16 micro-batches; zero bubble, interleaved with 2 chunks a device),
     * and the local searches over the cuts, which skip the moves whose floor is at their step already, end at the same
     * partition and step, to the bit, as with every move priced, having skipped some.
     */
    @Test
    void theLocalSearchSkipsMovesBelowTheirFloorToTheSameEnd() throws Exception {
        Pipelined pl = pipelined(DENSENET, 64, 16, 16, 128);
        var o = pl.o();
        PipelineBound least = leastOf(pl);
        int k = least.segments();
        for (int chunks : List.of(16, 32, 64)) { // the duals' first columns: from the table as without it
            least.tabled = false;
            int[] slow = least.balanced(chunks);
            least.tabled = true;
            assertArrayEquals(slow, least.balanced(chunks), chunks + " chunks: balanced");
        }
        for (String name : List.of("zero-bubble", "interleaved")) {
            int v = name.equals("interleaved") ? 2 : 1;
            int chunks = 16 * v;
            PipelineBound.Paths paths = new PipelineBound.Paths(Schedules.of(name), 16, 16, v);
            List<PipelineBound.Chunks> kinds = List.of(least.new Leaves(paths, chunks), least.fixed(paths, chunks, o.choice()));
            Random rnd = new Random(5);
            for (PipelineBound.Chunks c : kinds) {
                for (int t = 0; t < 40; t++) {
                    int[] ends = new int[chunks];
                    java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>();
                    while (cuts.size() < chunks - 1) {
                        cuts.add(1 + rnd.nextInt(k - 1));
                    }
                    int j = 0;
                    for (int e : cuts) {
                        ends[j++] = e;
                    }
                    ends[chunks - 1] = k;
                    double step = c.step(ends);
                    double floor = c.floor();
                    assertTrue(floor > 0.3 * step && floor <= step * (1 + 1e-12), name + ": floor " + floor + ", step " + step);
                }
                for (int[] start : v == 1 && o.bounds().length == 17 ? List.of(least.evenShares(chunks), endsOf(o.bounds(), pl.pos()))
                        : List.of(least.evenShares(chunks))) {
                    int[] with = start.clone();
                    int[] without = start.clone();
                    long before = least.floored.sum();
                    double a = least.descend(c, with, PipelineSearch.DESCENT_PASSES, () -> 600);
                    long skipped = least.floored.sum() - before;
                    PipelineBound.descentFloor = false;
                    double b;
                    try {
                        b = least.descend(c, without, PipelineSearch.DESCENT_PASSES, () -> 600);
                    } finally {
                        PipelineBound.descentFloor = true;
                    }
                    assertEquals(Double.doubleToRawLongBits(b), Double.doubleToRawLongBits(a), name + ": " + a + " against " + b);
                    assertArrayEquals(without, with, name + ": the partition reached");
                    assertTrue(skipped > 0, name + ": no move skipped");
                }
            }
        }
    }

    /**
     * The local searches over the cuts end where no single cut move helps, so where they start matters. On DenseNet-121 at
     * 16 A100s, batch 128 (4 stages, 4 micro-batches, interleaved with 4 chunks a device) those from the search's own
     * partition end at a plan of 22.649 ms; from the model's least work cut into equal shares
     * ({@link PipelineBound#evenShares}) they reach 22.423 ms (22.393 ms before each stage's reduction paid at least one
     * latency). The plan reported is more than 0.5% faster than every plan on the partition the first searches end at
     * (its exact bound), and the bound stays below it.
     */
    @Test
    void aSecondStartOfTheLocalSearchFindsAFasterPlan() throws Exception {
        Pipelined pl = pipelined(DENSENET, 16, 4, 4, 128);
        var o = pl.o();
        PipelineBound least = leastOf(pl);
        PipelineBound.Paths paths = new PipelineBound.Paths(o.schedule(), 4, 4, o.virtual());
        int[] ends = endsOf(o.bounds(), pl.pos());
        least.descend(paths, ends, PipelineSearch.DESCENT_PASSES, () -> 600);
        for (int round = 0; round < PipelineSearch.DESCENT_ROUNDS; round++) {
            var mb = least.partitionBound(paths, 4, ends, o.stepSeconds(), PipelineBound.PARTITION_ROUNDS, () -> 600);
            int[] was = ends.clone();
            least.descend(least.fixed(paths, ends.length, mb.layouts()), ends, PipelineSearch.DESCENT_PASSES, () -> 600);
            if (java.util.Arrays.equals(was, ends)) {
                break;
            }
        }
        double first = least.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS,
                () -> 600).bound();
        var r = pl.ps().reported(o);
        assertTrue(r.plan().stepSeconds() < 0.995 * first, "plan reported " + r.plan().stepSeconds() + ", every plan on"
                + " the partition the searches from the search's own reach at least " + first);
        assertTrue(r.lowerBound() <= r.plan().stepSeconds() * (1 + 1e-9), "bound " + r.lowerBound() + " above "
                + r.plan().stepSeconds());
        int[] even = least.evenShares(16);
        for (int j = 0; j < even.length; j++) {
            assertTrue(even[j] > (j == 0 ? 0 : even[j - 1]), "chunk " + j + " empty: " + java.util.Arrays.toString(even));
        }
        assertEquals(least.segments(), even[even.length - 1]);
    }

    /**
     * A local search's partition is solved exactly only where a plan of it could be of use ({@link
     * PipelineSearch#usefulBelow}): its least-profile step below the plan's own and below the fastest plan found. On
     * DenseNet-121 at 16 A100s, batch 128 (4 stages, 4 micro-batches), with the plan itself the fastest found, the plan
     * reported is the one every partition solved gives; with a plan found elsewhere as fast as that one (a one-stage plan
     * kept, whose look beside asks for this configuration's plans below it), the searches' partitions are left unsolved
     * and the plan reported is no faster than that plan (nor is the plan's own partition solved, its least-profile step
     * being above it); with one between the two, the plans sought first without the
     * duals ({@link PipelineSearch#plansFirst}) find one below it, and the configuration's whole bound is reported with it.
     */
    @Test
    void aLocalSearchsPartitionIsSolvedOnlyWhereAPlanOfItCouldBeKept() throws Exception {
        boolean was = PipelineSearch.pruneDescents;
        boolean replay = PipelineSearch.replayLocalSearches;
        try {
            PipelineSearch.pruneDescents = false;
            Pipelined pl = pipelined(DENSENET, 16, 4, 4, 128);
            var o = pl.o();
            assertSame(o, pl.ps().incumbent, "the plan priced is the fastest found");
            var all = pl.ps().reported(o);
            double best = all.plan().stepSeconds();
            assertTrue(best < o.stepSeconds() * (1 - 1e-6), "the case this test is for: a minimiser faster than the plan");
            assertEquals(0, pl.ps().skippedDescents.get());

            PipelineSearch.pruneDescents = true;
            Pipelined same = pipelined(DENSENET, 16, 4, 4, 128);
            var r = same.ps().reported(same.o());
            assertEquals(best, r.plan().stepSeconds(), 1e-12 * best, "the plan reported with the plan itself the fastest found");
            assertEquals(all.lowerBound(), r.lowerBound(), 1e-12 * best);
            assertEquals(0, same.ps().ownPartitionsUnsolved.get(), "the plan's own partition left unsolved");

            Pipelined beside = pipelined(DENSENET, 16, 4, 4, 128);
            var b = beside.o();
            // a plan found elsewhere as fast as the best minimiser: no plan of this configuration at or above it is of use
            beside.ps().incumbent = new PipelineSearch.Outcome(1, 1, false, 1, b.schedule(), 1, b.micro(), b.built(),
                    b.builder(), b.choice(), b.bounds(), b.profiles(), b.estimate(), best, true, false, best, false, false, "dp");
            assertEquals(best, beside.ps().usefulBelow(b), 0);
            var rb = beside.ps().reported(b);
            assertTrue(beside.ps().skippedDescents.get() > 0, "no local search's partition left unsolved");
            // nor the plan's own partition, whose least-profile step is above that plan
            double leastOwn = leastOf(beside).descend(new PipelineBound.Paths(b.schedule(), 4, 4, b.virtual()),
                    endsOf(b.bounds(), beside.pos()), 0, () -> 600);
            assertTrue(leastOwn >= best, "the case: the plan's own partition at least " + leastOwn + " s on its least"
                    + " profiles, below " + best + " s");
            assertEquals(1, beside.ps().ownPartitionsUnsolved.get(), "the plan's own partition solved");
            assertTrue(rb.plan().stepSeconds() >= best * (1 - 1e-12), "a plan below the one found elsewhere: "
                    + rb.plan().stepSeconds() + " s against " + best + " s");
            assertTrue(rb.lowerBound() <= rb.plan().stepSeconds() * (1 + 1e-9), "bound " + rb.lowerBound() + " above "
                    + rb.plan().stepSeconds());
            assertEquals(0, beside.ps().plansFirstFound.get());

            // a plan found elsewhere between the two: the plans sought first (no duals) find one below it, and the bound
            // it reports is then its configuration's with the duals, as with the plan itself the fastest found
            Pipelined between = pipelined(DENSENET, 16, 4, 4, 128);
            var w = between.o();
            double mid = (w.stepSeconds() + best) / 2;
            between.ps().incumbent = new PipelineSearch.Outcome(1, 1, false, 1, w.schedule(), 1, w.micro(), w.built(),
                    w.builder(), w.choice(), w.bounds(), w.profiles(), w.estimate(), mid, true, false, mid, false, false, "dp");
            var rw = between.ps().reported(w);
            assertEquals(1, between.ps().plansFirstFound.get(), "no plan below " + mid + " s found first");
            assertEquals(best, rw.plan().stepSeconds(), 1e-12 * best);
            assertEquals(all.lowerBound(), rw.lowerBound(), 1e-9 * best);
            // the whole bound took the local searches the first look ran from it (Replays): the same plan and bound as
            // where it runs them again
            assertTrue(between.ps().localSearchesReplayed.get() > 0, "no local search taken from the first look");
            PipelineSearch.replayLocalSearches = false;
            Pipelined again = pipelined(DENSENET, 16, 4, 4, 128);
            var a = again.o();
            again.ps().incumbent = new PipelineSearch.Outcome(1, 1, false, 1, a.schedule(), 1, a.micro(), a.built(),
                    a.builder(), a.choice(), a.bounds(), a.profiles(), a.estimate(), mid, true, false, mid, false, false, "dp");
            var ra = again.ps().reported(a);
            assertEquals(0, again.ps().localSearchesReplayed.get());
            assertEquals(ra.plan().stepSeconds(), rw.plan().stepSeconds(), 0.0);
            assertArrayEquals(ra.plan().bounds(), rw.plan().bounds());
            assertArrayEquals(ra.plan().choice(), rw.plan().choice());
            assertEquals(ra.lowerBound(), rw.lowerBound(), 0.0);
        } finally {
            PipelineSearch.pruneDescents = was;
            PipelineSearch.replayLocalSearches = replay;
        }
    }

    /**
     * The local searches over the cuts also start from the best of the partitions the dual took as columns ({@link
     * PipelineBound#dualStart}). On DenseNet-121 at 64 A100s, batch 512 (8 stages, 8 micro-batches, zero bubble) the
     * searches from equal shares end at a partition whose every plan is at least 33.63 ms (its exact bound), those from
     * the search's own partition at a plan of 34.04 ms; the plan reported, from the columns' start, is faster than both
     * (33.18 ms), is priced as its layouts' step, and the bound stays below it. With single cut moves alone ({@link
     * PipelineBound#blockMoves} off: at 16 A100s, batch 128, interleaved over 16 chunks, the runs' shifts take the search
     * from equal shares to a partition as good as the columns'); here the runs' shifts leave every search where it ends
     * without them.
     */
    @Test
    void theDualsColumnsStartALocalSearchToAFasterPlan() throws Exception {
        PipelineBound.blockMoves = false;
        try {
            dualsColumnsStart();
        } finally {
            PipelineBound.blockMoves = true;
        }
    }

    private static void dualsColumnsStart() throws Exception {
        int stages = 8;
        int m = 8;
        Pipelined pl = pipelined(DENSENET, 64, stages, m, 512);
        var o = pl.o();
        PipelineBound least = leastOf(pl);
        PipelineBound.Paths paths = new PipelineBound.Paths(o.schedule(), stages, m, o.virtual());
        int chunks = stages * o.virtual();
        int[] ends = least.evenShares(chunks);
        least.descend(paths, ends, PipelineSearch.DESCENT_PASSES, () -> 600);
        for (int round = 0; round < PipelineSearch.DESCENT_ROUNDS; round++) {
            var mb = least.partitionBound(paths, stages, ends, o.stepSeconds(), PipelineBound.PARTITION_ROUNDS, () -> 600);
            int[] was = ends.clone();
            least.descend(least.fixed(paths, ends.length, mb.layouts()), ends, PipelineSearch.DESCENT_PASSES, () -> 600);
            if (java.util.Arrays.equals(was, ends)) {
                break;
            }
        }
        double even = least.partitionBound(paths, stages, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS,
                () -> 600).bound();
        var r = pl.ps().reported(o);
        var plan = r.plan();
        assertTrue(plan.stepSeconds() < 0.995 * even, "plan reported " + plan.stepSeconds() + ", every plan on the"
                + " partition the searches from equal shares reach at least " + even);
        assertTrue(r.lowerBound() <= plan.stepSeconds() * (1 + 1e-9), "bound " + r.lowerBound() + " above " + plan.stepSeconds());
        List<StageProfile> ps = pl.ps().profiles(o.built(), o.builder(), plan.choice(), plan.bounds(), pl.per(), false);
        Estimate e = plan.schedule().estimate(ps, m, plan.virtual());
        assertEquals(e.stepSeconds() + PipelineSearch.updateAfter(plan.schedule(), ps, stages), plan.stepSeconds(),
                1e-12 * plan.stepSeconds());
        // the dual's columns of this shape, with which the start is found, are there once its dual has run
        assertTrue(least.dualStart(paths, o.schedule(), stages, m, o.virtual(), () -> 600, false) == null, "no dual ran on this bound");
        least.dual(o.schedule(), stages, m, o.virtual(), Double.POSITIVE_INFINITY, () -> 600);
        int[] start = least.dualStart(paths, o.schedule(), stages, m, o.virtual(), () -> 600, false);
        assertEquals(chunks, start.length);
        assertEquals(least.segments(), start[chunks - 1]);
        // its descents on the processors (the search waiting for the bound) reach the same start
        int threaded = least.threadedDescents;
        assertArrayEquals(start, least.dualStart(paths, o.schedule(), stages, m, o.virtual(), () -> 600, true));
        if (Runtime.getRuntime().availableProcessors() >= 2) {
            assertEquals(threaded + 1, least.threadedDescents, "the descents ran on threads");
        }
    }

    /**
     * {@link PipelineBound#descend}: the partition it ends at has a least-profile step no higher than where it started,
     * equal to the enumeration's pricing of it ({@link #leafStep}), and no single cut moved to any other place between its
     * neighbours lowers it, nor any run of {@link PipelineBound#RUN_CUTS} or fewer consecutive cuts shifted together by at
     * most {@link PipelineBound#RUN_SHIFT} segments (DenseNet-121, 16 chunks, zero bubble). With the runs' moves off it
     * ends where such a shift still lowers the step (the test of the moves: it fails with {@code shiftRuns} a no-op).
     */
    @Test
    void theLocalSearchEndsWhereNoCutMoveLowersTheStep() throws Exception {
        Dense64 d = dense64();
        Schedule zb = Schedules.of("zero-bubble");
        PipelineBound.Paths paths = new PipelineBound.Paths(zb, 16, 4, 1);
        int[] ends = d.ends().clone();
        double start = leafStep(d.least(), zb, 16, 4, 1, ends);
        double got = d.least().descend(paths, ends, 1000, () -> 600);
        assertTrue(got < start, "the search's partition " + start + ", after the local search " + got);
        assertEquals(leafStep(d.least(), zb, 16, 4, 1, ends), got, 1e-12 * got);
        for (int j = 0; j + 1 < ends.length; j++) {
            int was = ends[j];
            for (int e = j == 0 ? 1 : ends[j - 1] + 1; e < ends[j + 1]; e++) {
                ends[j] = e;
                double s = leafStep(d.least(), zb, 16, 4, 1, ends);
                assertTrue(s >= got * (1 - 1e-12), "cut " + j + " moved to " + e + ": " + s + " below " + got);
            }
            ends[j] = was;
        }
        assertTrue(lowestRunShift(d.least(), zb, ends) >= got * (1 - 1e-12), "a run of cuts shifted lowers " + got);
        int helped = 0;
        for (String name : List.of("zero-bubble", "1f1b", "gpipe")) {
            Schedule sch = Schedules.of(name);
            PipelineBound.Paths ps = new PipelineBound.Paths(sch, 16, 4, 1);
            for (int[] from : List.of(d.ends(), d.least().evenShares(16))) {
                int[] single = from.clone();
                double singleStep;
                PipelineBound.blockMoves = false;
                try {
                    singleStep = d.least().descend(ps, single, 1000, () -> 600);
                } finally {
                    PipelineBound.blockMoves = true;
                }
                int[] both = from.clone();
                double bothStep = d.least().descend(ps, both, 1000, () -> 600);
                assertTrue(lowestRunShift(d.least(), sch, both) >= bothStep * (1 - 1e-12), name + ": a run shift lowers " + bothStep);
                if (lowestRunShift(d.least(), sch, single) < singleStep * (1 - 1e-9)) {
                    helped++;
                }
            }
        }
        assertTrue(helped > 0, "single cut moves alone ended where no run shift helps, from every start");
    }

    /** The least step of {@code ends} with a run of 2 to {@link PipelineBound#RUN_CUTS} cuts shifted together (16 chunks, 4 micro-batches). */
    private static double lowestRunShift(PipelineBound pb, Schedule sch, int[] ends) {
        double least = Double.POSITIVE_INFINITY;
        int chunks = ends.length;
        for (int j = 0; j + 1 < chunks; j++) {
            for (int len = 2; len <= PipelineBound.RUN_CUTS && j + len < chunks; len++) {
                for (int d = -PipelineBound.RUN_SHIFT; d <= PipelineBound.RUN_SHIFT; d++) {
                    int[] e = ends.clone();
                    for (int q = j; q < j + len; q++) {
                        e[q] += d;
                    }
                    if (d == 0 || e[j] <= (j == 0 ? 0 : e[j - 1]) || e[j + len - 1] >= e[j + len]) {
                        continue;
                    }
                    least = Math.min(least, leafStep(pb, sch, 16, 4, 1, e));
                }
            }
        }
        return least;
    }

    /**
     * {@link PipelineBound.Fixed}: a partition's step under one plan's layouts, each chunk from sums per segment and per
     * range of segments, equals the step the search prices for those layouts and stage bounds (profiles, the schedule's
     * estimate, the optimizer step after it) on random partitions, random layouts and the plan's, under zero bubble, 1F1B
     * and GPipe (DenseNet-121, 16 stages, 4 micro-batches).
     */
    @Test
    void aPlansChunksPricedFromSumsAreThePlansStep() throws Exception {
        Dense64 d = dense64();
        var o = d.pl().o();
        Random rnd = new Random(5);
        for (int t = 0; t < 12; t++) {
            int[] x = t % 3 == 0 ? o.choice() : Fixtures.randomLayouts(o.built(), rnd);
            String name = List.of("zero-bubble", "1f1b", "gpipe").get(t % 3);
            int v = 1;
            Schedule sch = Schedules.of(name);
            PipelineBound.Paths paths = new PipelineBound.Paths(sch, 16, 4, v);
            int[] bs = randomBounds(d.pl().pos(), 16 * v, rnd);
            int[] ends = endsOf(bs, d.pl().pos());
            double got = d.least().fixed(paths, ends.length, x).step(ends);
            List<StageProfile> ps = d.pl().ps().profiles(o.built(), o.builder(), x, bs, d.pl().per(), false);
            double step = sch.estimate(ps, 4, v).stepSeconds() + PipelineSearch.updateAfter(sch, ps, 16);
            assertEquals(step, got, 1e-9 * step, name + " v " + v + ", partition " + java.util.Arrays.toString(ends));
        }
    }

    /** The least over every partition of the step of the best column of its exact solve ({@link PipelineBound#partitionBound}). */
    private static double fastestPlan(PipelineBound pb, PipelineBound.Paths paths, int p, int[] end, int j, int start) {
        if (j == end.length) {
            return pb.partitionBound(paths, p, end.clone(), Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600)
                    .step();
        }
        double best = Double.POSITIVE_INFINITY;
        int last = j == end.length - 1 ? pb.segments() : pb.segments() - (end.length - j - 1);
        for (int e = j == end.length - 1 ? pb.segments() : start + 1; e <= last; e++) {
            end[j] = e;
            best = Math.min(best, fastestPlan(pb, paths, p, end, j + 1, e));
        }
        return best;
    }

    /** DenseNet-121's plan of 64 A100s at batch 8 (16 stages of 4 devices, 4 micro-batches), its bound and its chunks' ends. */
    private record Dense64(Pipelined pl, PipelineBound least, int[] ends) {
    }

    private static Dense64 dense64;

    /** {@link Dense64}, priced once for the tests that share it. */
    private static synchronized Dense64 dense64() throws Exception {
        if (dense64 == null) {
            Pipelined pl = pipelined(DENSENET, 64, 16, 4, 8);
            dense64 = new Dense64(pl, leastOf(pl), endsOf(pl.o().bounds(), pl.pos()));
        }
        return dense64;
    }

    /** The segments each chunk of a plan's stage bounds (node positions) ends at. */
    private static int[] endsOf(int[] bounds, List<Integer> pos) {
        int[] ends = new int[bounds.length - 1];
        for (int j = 0; j < ends.length; j++) {
            ends[j] = pos.indexOf(bounds[j + 1]);
            assertTrue(ends[j] > 0, "stage " + j + " does not end at a cut position");
        }
        return ends;
    }

    /** The least-profile step of a partition as the enumeration prices it ({@code fi}: with the forward-input pairs). */
    private static double leafStep(PipelineBound pb, Schedule sch, int p, int m, int v, int[] end, boolean fi) {
        int chunks = p * v;
        List<StageProfile> ps = new ArrayList<>();
        double[] bonus = new double[chunks];
        double[] own = new double[chunks];
        double[] ownU = new double[chunks];
        int f = 0;
        for (int c = 0; c < chunks; c++) {
            ps.add(pb.profile(f, end[c]));
            bonus[c] = pb.chunkJoint(f, end[c]);
            own[c] = pb.chunkOwn(f, end[c]);
            ownU[c] = pb.chunkOwnUpdate(f, end[c]);
            f = end[c];
        }
        return new PipelineBound.Paths(sch, p, m, v).step(ps, bonus, fi ? fiOf(pb, end) : null, own, ownU);
    }

    private static double leafStep(PipelineBound pb, Schedule sch, int p, int m, int v, int[] end) {
        return leafStep(pb, sch, p, m, v, end, true);
    }

    /** A local search over the partition's cuts (each moved to its best place in turn, until none moves), in place. */
    private static double descend(PipelineBound pb, Schedule sch, int p, int m, int v, int[] end) {
        double cur = leafStep(pb, sch, p, m, v, end);
        boolean moved = true;
        while (moved) {
            moved = false;
            for (int j = 0; j + 1 < end.length; j++) {
                int arg = end[j];
                for (int e = j == 0 ? 1 : end[j - 1] + 1; e < end[j + 1]; e++) {
                    end[j] = e;
                    double s = leafStep(pb, sch, p, m, v, end);
                    if (s < cur * (1 - 1e-12)) {
                        cur = s;
                        arg = e;
                        moved = true;
                    }
                }
                end[j] = arg;
            }
        }
        return cur;
    }

    /**
     * The schedule's path step leaves out the walks of devices whose end with the most their chunks' op counts could add
     * cannot pass the largest so far ({@code Paths.skipWalks}): on random profiles and bonuses it answers exactly what
     * walking every device answers, for each schedule and with and without the update after.
     */
    @Test
    void thePathStepSkipsOnlyWalksThatCannotRaiseIt() {
        Random rnd = new Random(17);
        int[][] shapes = {{8, 8, 1}, {4, 8, 1}, {4, 8, 2}, {2, 4, 1}};
        int compared = 0;
        for (String name : List.of("gpipe", "1f1b", "zero-bubble", "interleaved")) {
            for (int[] sh : shapes) {
                int p = sh[0];
                int m = sh[1];
                int v = name.equals("interleaved") ? sh[2] : 1;
                if (name.equals("interleaved") && v < 2) {
                    continue;
                }
                PipelineBound.Paths paths = new PipelineBound.Paths(Schedules.of(name), p, m, v);
                int chunks = p * v;
                for (int trial = 0; trial < 60; trial++) {
                    // balanced profiles with a little noise (the devices' ends close together) or any
                    boolean even = trial % 2 == 0;
                    List<StageProfile> ps = new ArrayList<>();
                    for (int j = 0; j < chunks; j++) {
                        double f = even ? 1 + 0.05 * rnd.nextDouble() : rnd.nextDouble();
                        double b = even ? 2 + 0.05 * rnd.nextDouble() : rnd.nextDouble();
                        ps.add(new StageProfile(f, b, b * (even ? 0.5 : rnd.nextDouble()), rnd.nextDouble() * 0.2,
                                even ? 0.1 * rnd.nextDouble() : rnd.nextDouble() * (trial % 3), 0, 0, rnd.nextDouble() * 0.1));
                    }
                    double[] bonus = new double[chunks];
                    double[] fi = new double[chunks];
                    double[] own = new double[chunks];
                    double[] ownU = new double[chunks];
                    for (int j = 0; j < chunks; j++) {
                        double scale = new double[] {0, 0.001, 0.01, 0.05, 0.3}[trial % 5];
                        bonus[j] = rnd.nextDouble() * scale;
                        fi[j] = rnd.nextDouble() * scale;
                        own[j] = rnd.nextDouble() * scale;
                        ownU[j] = rnd.nextDouble() * scale;
                    }
                    double[] skipped = {paths.step(ps, bonus, fi, own, ownU), paths.step(ps, bonus, own)};
                    PipelineBound.Paths.skipWalks = false;
                    try {
                        double[] walked = {paths.step(ps, bonus, fi, own, ownU), paths.step(ps, bonus, own)};
                        assertArrayEquals(walked, skipped, 0, name + " P=" + p + " m=" + m + " v=" + v + " trial " + trial);
                    } finally {
                        PipelineBound.Paths.skipWalks = true;
                    }
                    compared++;
                }
            }
        }
        assertTrue(compared >= 600, compared + " comparisons");
    }
    /**
     * Each device's longest path with the pairs' bonuses spread over its ops ({@code Paths.bonusPaths}) is walked beside
     * the longest path of the ops alone, and its own length and bonuses taken. On random least profiles and bonuses, under
     * every schedule: the path step is never below the one without these paths, above it on some (balanced chunks tie,
     * and the longest path of the ops need not hold the pairs whose bonuses are largest), and never above the step of
     * plans whose chunks pay the bonuses (each chunk's forward, input and weight gradients raised by random shares of its
     * pair's and its forward-input pair's bonus, the plain step of those profiles). It fails where a path's bonus is
     * counted on another path's length.
     */
    @Test
    void pathsWithTheirBonusesStayBelowEveryPlan() {
        Random rnd = new Random(23);
        int[][] shapes = {{8, 8, 1}, {4, 8, 1}, {4, 8, 2}, {2, 4, 1}, {4, 4, 4}};
        int compared = 0;
        int higher = 0;
        boolean was = PipelineBound.Paths.bonusPaths;
        try {
            for (String name : List.of("gpipe", "1f1b", "zero-bubble", "interleaved")) {
                for (int[] sh : shapes) {
                    int p = sh[0];
                    int m = sh[1];
                    int v = name.equals("interleaved") ? sh[2] : 1;
                    if (name.equals("interleaved") && v < 2 || !name.equals("interleaved") && sh[2] > 2) {
                        continue;
                    }
                    PipelineBound.Paths paths = new PipelineBound.Paths(Schedules.of(name), p, m, v);
                    boolean split = name.equals("zero-bubble");
                    int chunks = p * v;
                    for (int trial = 0; trial < 80; trial++) {
                        boolean even = trial % 2 == 0;
                        List<StageProfile> least = new ArrayList<>();
                        for (int j = 0; j < chunks; j++) {
                            double f = even ? 1 : 0.2 + rnd.nextDouble();
                            double b = even ? 2 : 0.2 + rnd.nextDouble();
                            least.add(new StageProfile(f, b, b * (even ? 0.5 : rnd.nextDouble()), even ? 0.1 : 0.2 * rnd.nextDouble(),
                                    even ? 0.05 : 0.1 * rnd.nextDouble(), 0, 0, 0.01 * rnd.nextDouble()));
                        }
                        double[] bonus = new double[chunks];
                        double[] fi = new double[chunks];
                        double[] zero = new double[chunks];
                        double scale = new double[] {0.05, 0.3, 1}[trial % 3];
                        // one chunk's pairs worth much more than the others' (a classifier's layouts that trade forward
                        // for backward), or every chunk's a little
                        int heavy = rnd.nextInt(chunks);
                        for (int j = 0; j < chunks; j++) {
                            bonus[j] = (j == heavy ? 1 : 0.1) * scale * rnd.nextDouble();
                            fi[j] = split ? bonus[j] * rnd.nextDouble() : 0;
                        }
                        PipelineBound.Paths.bonusPaths = false;
                        double without = paths.step(least, bonus, fi, zero, zero);
                        PipelineBound.Paths.bonusPaths = true;
                        double with = paths.step(least, bonus, fi, zero, zero);
                        String at = name + " P=" + p + " m=" + m + " v=" + v + " trial " + trial;
                        assertTrue(with >= without, at + ": " + with + " below " + without + " without the paths");
                        higher += with > without * (1 + 1e-9) ? 1 : 0;
                        for (int plan = 0; plan < 5; plan++) {
                            List<StageProfile> ps = new ArrayList<>();
                            for (int j = 0; j < chunks; j++) {
                                StageProfile l = least.get(j);
                                // shares of the forward-input pair's bonus on the forward and the input gradient, and of
                                // the rest of the pair's on all three (the weight gradient's on the backward where it is
                                // not split)
                                double a = rnd.nextDouble();
                                double rest = Math.max(0, bonus[j] - fi[j]);
                                double x = rnd.nextDouble();
                                double y = rnd.nextDouble() * (1 - x);
                                double df = a * fi[j] + x * rest;
                                double di = (1 - a) * fi[j] + y * rest;
                                double dw = (1 - x - y) * rest;
                                ps.add(new StageProfile(l.forwardSeconds() + df, l.backwardSeconds() + di + dw,
                                        l.backwardWeightSeconds() + dw, l.sendSeconds(), l.gradientSyncSeconds(), 0, 0,
                                        l.updateSeconds()));
                            }
                            double step = paths.step(ps, null, null, null);
                            assertTrue(with <= step * (1 + 1e-12), at + " plan " + plan + ": bound " + with + " above the plan's "
                                    + step);
                            compared++;
                        }
                    }
                }
            }
        } finally {
            PipelineBound.Paths.bonusPaths = was;
        }
        assertTrue(compared >= 1000, compared + " comparisons");
        assertTrue(higher >= 20, "higher on " + higher);
        System.err.printf("bonus paths: higher on %d of %d profiles%n", higher, compared / 5);
    }
}
