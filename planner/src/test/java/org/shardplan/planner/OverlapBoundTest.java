package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.solver.Evaluator;

/**
 * The one-stage step bound ({@link OverlapBound}) against the step the search prices, plan by plan: the
 * problems' objectives equal their formula computed from the costs, lie below the step of every plan (random
 * plans, every plan of a small model by brute force), and the search reports the bound with its plans.
 */
class OverlapBoundTest {

    /** A small GPT: 2 layers, hidden 256, 4 heads, sequence 64, vocabulary 1024. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=2,hidden=256,heads=4,seq=64,vocab=1024",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static final ModelSource MLP = b -> Fixtures.mlp(b, 1024);

    /**
     * The parts of plan x's step summed from the costs by hand, {W, U, G, B, gradient volume}: W the m
     * micro-batches' work with the resharding, U the optimizer step, G the gradient reduction, B the last
     * micro-batch's backward (half of the collectives and resharding) the reduction can hide behind.
     */
    private static double[] partsByHand(ProblemBuilder.Built b, ProblemBuilder pb, int m, int[] x) {
        double w = 0;
        double g = 0;
        double back = 0;
        double volume = 0;
        double stat = 0;
        for (ProblemBuilder.Unit unit : b.units()) {
            ProblemBuilder.Cost c = unit.costs().get(x[unit.index()]);
            w += m * (c.microComputeSeconds() + c.microCommunicationSeconds());
            g += c.gradientSeconds();
            back += c.microComputeSeconds() - c.forwardSeconds() + c.microCommunicationSeconds() / 2;
            volume += c.gradientBytes() / 2;
            stat += c.parameterBytes();
        }
        for (ProblemBuilder.Link l : b.links()) {
            double s = l.seconds()[x[l.from()] * b.units().get(l.to()).layouts().size() + x[l.to()]];
            w += m * s;
            back += s / 2;
        }
        double u = pb.settings().compute().optimizerStepSeconds(stat, pb.settings().memory().optimizer());
        return new double[] {w, u, g, back, volume};
    }

    /** The step of plan x from the cost parts, written out (docs/schedules.md): W + U + max(G / k, G - B). */
    private static double stepByHand(ProblemBuilder.Built b, ProblemBuilder pb, int m, int[] x) {
        double[] p = partsByHand(b, pb, m, x);
        double g = p[2];
        double k = Math.max(1, Math.ceil(p[4] / pb.settings().compute().gradientBucketBytes()));
        return p[0] + p[1] + (g > 0 ? Math.max(g / k, g - p[3]) : 0);
    }

    @Test
    void theFloorsBucketCountsAreTheNearestToTheFastestPlansWithoutEnumeratingTheRange() {
        java.util.Random rnd = new java.util.Random(5);
        for (int t = 0; t < 500; t++) {
            int lo = 1 + rnd.nextInt(20);
            int hi = rnd.nextInt(40);
            int around = Math.max(1, lo - 1 + rnd.nextInt(Math.max(1, hi - lo + 3)));
            int n = 1 + rnd.nextInt(8);
            // the counts lo..hi sorted by distance from around, then by count, the first n of them
            List<Integer> all = new java.util.ArrayList<>();
            for (int k = lo; k <= hi; k++) {
                all.add(k);
            }
            all.sort(java.util.Comparator.comparingInt((Integer k) -> Math.abs(k - around)).thenComparingInt(k -> k));
            assertEquals(all.subList(0, Math.min(n, all.size())), OverlapBound.nearest(lo, hi, around, n),
                    lo + ".." + hi + " around " + around + ", " + n);
        }
        // buckets of a few bytes: counts in the billions, the six nearest without a list of them all
        assertEquals(List.of(2_000_000_000, 1_999_999_999, 2_000_000_001, 1_999_999_998, 2_000_000_002, 1_999_999_997),
                OverlapBound.nearest(2, Integer.MAX_VALUE, 2_000_000_000, 6));
        assertEquals(List.of(Integer.MAX_VALUE, Integer.MAX_VALUE - 1),
                OverlapBound.nearest(2, Integer.MAX_VALUE, Integer.MAX_VALUE, 2));
    }

    @Test
    void theBoundIsBelowTheStepOfEveryPlanPriced() throws Exception {
        Random rnd = new Random(11);
        int checked = 0;
        for (ModelSource src : List.of(MLP, GPT)) {
            for (int devices : List.of(4, 16)) {
                Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
                PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, src, 64, 600);
                for (int m : List.of(1, 4)) {
                    for (int z : List.of(0, 3)) {
                        long micro = 64 / m;
                        ProblemBuilder.Built b = ps.built(micro, devices, false, z);
                        ProblemBuilder pb = ps.builder(micro, devices, false, z);
                        OverlapBound ob = new OverlapBound(b, pb, m, StageProblem.Filter.ALL);
                        OverlapBound.Result r = ob.maximise(Double.POSITIVE_INFINITY, () -> 600);
                        assertTrue(r.solves() >= 1 && r.solves() <= OverlapBound.MAX_SOLVES + OverlapBound.MAX_SPLIT_SOLVES && !r.plans().isEmpty());
                        String what = devices + " devices, m " + m + ", ZeRO " + z;
                        double least = Double.POSITIVE_INFINITY;
                        for (int t = 0; t < 120; t++) {
                            int[] x = t < r.plans().size() ? r.plans().get(t) : Fixtures.randomLayouts(b, rnd);
                            double step = ps.oneStageStep(b, pb, m, x, devices, false);
                            assertEquals(stepByHand(b, pb, m, x), step, 1e-9 * step, what);
                            assertTrue(r.lowerBound() <= step * (1 + 1e-9), what + ": bound " + r.lowerBound()
                                    + " above the step " + step);
                            for (double alpha : new double[] {0, 0.3, 1}) {
                                // untied, every layout allowed: strategy s of node i is layout s
                                double l = Evaluator.objective(ob.problem(alpha), x);
                                assertTrue(l <= step * (1 + 1e-9), what + ", alpha " + alpha + ": " + l + " > " + step);
                            }
                            least = Math.min(least, step);
                            checked++;
                        }
                        // the bound is a bound of the best plan seen, and its own plans are priced
                        assertTrue(r.lowerBound() <= least * (1 + 1e-9));
                    }
                }
            }
        }
        assertTrue(checked > 1500, "checked " + checked);
    }

    @Test
    void theProblemIsTheFormulaTermByTerm() throws Exception {
        // L_alpha(x) = W + U + alpha G / K + (1 - alpha)(G - B), each part summed from the costs by hand
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        ProblemBuilder.Built b = ps.built(16, 8, false, 1);
        ProblemBuilder pb = ps.builder(16, 8, false, 1);
        OverlapBound ob = new OverlapBound(b, pb, 4, StageProblem.Filter.ALL);
        double most = 0;
        for (ProblemBuilder.Unit u : b.units()) {
            double v = 0;
            for (ProblemBuilder.Cost c : u.costs()) {
                v = Math.max(v, c.gradientBytes());
            }
            most += v;
        }
        assertEquals(Math.max(1, Math.ceil(most / 2 / (25 * 1024 * 1024))), ob.buckets(), 0.0);
        Random rnd = new Random(3);
        for (int t = 0; t < 50; t++) {
            int[] x = Fixtures.randomLayouts(b, rnd);
            double[] parts = partsByHand(b, pb, 4, x);
            double w = parts[0];
            double u = parts[1];
            double g = parts[2];
            double back = parts[3];
            for (double alpha : new double[] {0, 0.5, 1}) {
                double expected = w + u + alpha * g / ob.buckets() + (1 - alpha) * (g - back);
                assertEquals(expected, Evaluator.objective(ob.problem(alpha), x), 1e-9 * expected);
            }
            assertEquals(g / ob.buckets() - (g - back), ob.slope(x), 1e-9 * Math.max(g, back));
        }
    }

    @Test
    void onASmallModelTheBoundIsBelowTheBestPlanByBruteForce() throws Exception {
        // every plan of the two-layer perceptron (3 nodes) on 4 devices, micro-batches 1 and 4
        Planner p = Planner.forCluster(Fixtures.a100(4)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, MLP, 64, 600);
        for (int m : List.of(1, 4)) {
            ProblemBuilder.Built b = ps.built(64 / m, 4, false, 0);
            ProblemBuilder pb = ps.builder(64 / m, 4, false, 0);
            double[] least = {Double.POSITIVE_INFINITY};
            everyPlan(b, x -> least[0] = Math.min(least[0], ps.oneStageStep(b, pb, m, x, 4, false)));
            double best = least[0];
            OverlapBound ob = new OverlapBound(b, pb, m, StageProblem.Filter.ALL);
            OverlapBound.Result r = ob.maximise(Double.POSITIVE_INFINITY, () -> 600);
            assertTrue(r.lowerBound() <= best * (1 + 1e-9), "m " + m + ": bound " + r.lowerBound() + " above the optimum " + best);
            // a tiny model's reduction is one bucket, which the alpha = 1 problem prices exactly where it
            // stays exposed: the bound is within 1% of the optimum
            assertTrue(r.lowerBound() >= best * 0.99, "m " + m + ": bound " + r.lowerBound() + ", optimum " + best);
        }
    }

    @Test
    void overSeveralBucketCountsTheBoundIsBelowTheBestPlanByBruteForce() throws Exception {
        // the perceptron at d = 2048: 2 x 64 MiB of weights, so plans range from 1 bucket (split 4 ways)
        // to K = 6 (replicated); every plan on 4 devices enumerated, then the bound against the optimum
        ModelSource wide = b -> Fixtures.deepMlp(4, b, 4096);
        long batch = 16384;
        Planner p = Planner.forCluster(Fixtures.a100(4)).withBatch(batch);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, wide, batch, 600);
        int severalCounts = 0;
        int between = 0;
        StringBuilder seen = new StringBuilder();
        for (int m : List.of(1, 4)) {
            for (int z : List.of(0, 1)) {
                ProblemBuilder.Built b = ps.built(batch / m, 4, false, z);
                ProblemBuilder pb = ps.builder(batch / m, 4, false, z);
                OverlapBound ob = new OverlapBound(b, pb, m, StageProblem.Filter.ALL);
                double[] bestOf = {Double.POSITIVE_INFINITY};
                int[] bestCountOf = {0};
                java.util.Set<Integer> counts = new java.util.TreeSet<>();
                double all = everyPlan(b, x -> {
                    double st = ps.oneStageStep(b, pb, m, x, 4, false);
                    int k = OverlapBound.bucketsOf(ob.volume(x), pb.settings().compute().gradientBucketBytes());
                    if (st < bestOf[0]) {
                        bestOf[0] = st;
                        bestCountOf[0] = k;
                    }
                    counts.add(k);
                });
                double best = bestOf[0];
                int bestCount = bestCountOf[0];
                severalCounts += counts.size() >= 3 ? 1 : 0;
                double alphaOnly = Double.NEGATIVE_INFINITY;
                for (int i = 0; i <= 20; i++) {
                    alphaOnly = Math.max(alphaOnly, new org.shardplan.planner.solver.DpSolver()
                            .solve(ob.problem(i / 20.0), org.shardplan.planner.solver.Solver.Options.withTimeLimit(600)).objective());
                }
                String what = "m " + m + ", ZeRO " + z + ", counts " + counts + ", K " + ob.buckets() + ", plans " + all
                        + ", optimum " + best + " (" + bestCount + " buckets), alpha alone " + alphaOnly;
                seen.append(what).append("; ");
                // with the target at the optimum (the search's case) and without one, the split wherever it can
                // gain (0) and where it gains more than 0.1%
                for (double target : new double[] {best, Double.POSITIVE_INFINITY}) {
                    for (double above : new double[] {0, OverlapBound.SPLIT_ABOVE}) {
                        OverlapBound.Result r = ob.maximise(target, () -> 600,
                                y -> ps.oneStageStep(b, pb, m, y, 4, false), above);
                        assertTrue(r.lowerBound() <= best * (1 + 1e-9), what + ": bound " + r.lowerBound() + " above the optimum " + best);
                        assertTrue(r.solves() <= OverlapBound.MAX_SOLVES + OverlapBound.MAX_SPLIT_SOLVES, what + ": " + r.solves());
                        // every count bounded with its own G / j: within 1% of the optimum, and 1e-6 where the split
                        // runs wherever it gains
                        assertTrue(r.lowerBound() >= best * (above == 0 ? 1 - 1e-6 : 0.99), what + ": bound " + r.lowerBound()
                                + ", optimum " + best);
                        seen.append(" target ").append(target).append(" above ").append(above).append(": ").append(r.lowerBound())
                                .append(" in ").append(r.solves());
                    }
                }
                between += bestCount > 1 && bestCount < ob.buckets() ? 1 : 0;
            }
        }
        assertTrue(severalCounts > 0, "no configuration with plans of three or more bucket counts: " + seen);
        // the case of the split: an optimum of several buckets but fewer than K
        assertTrue(between > 0, "no optimum between 1 and K buckets: " + seen);
    }

    @Test
    void onGpt2StyleAt64DevicesTheSplitByBucketCountProvesThePlan() throws Exception {
        // DP1 TP32 copied twice (m 1, ZeRO 1): the best plans have 1-2 buckets of K = 3; the cutting planes
        // over alpha alone (every alpha on a grid, solved exactly) stay below the best step, the split reaches it
        java.nio.file.Path file = Models.file("gpt2_style.onnx");
        ModelSource src = bt -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("seq", 128L, "batch", bt))).graph();
        Planner p = Planner.forCluster(Fixtures.a100(64)).withBatch(8);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, src, 8, 600);
        ProblemBuilder.Built b = ps.built(8, 64, false, 1);
        ProblemBuilder pb = ps.builder(8, 64, false, 1);
        OverlapBound ob = new OverlapBound(b, pb, 1, StageProblem.Filter.ALL);
        assertTrue(ob.buckets() >= 2, "K " + ob.buckets());
        OverlapBound.Result r = ob.maximise(Double.POSITIVE_INFINITY, () -> 600, x -> ps.oneStageStep(b, pb, 1, x, 64, false));
        double least = Double.POSITIVE_INFINITY;
        int[] bestPlan = null;
        for (int[] x : r.plans()) {
            double st = ps.oneStageStep(b, pb, 1, x, 64, false);
            if (st < least) {
                least = st;
                bestPlan = x;
            }
        }
        assertTrue(r.lowerBound() <= least * (1 + 1e-9), r.lowerBound() + " > " + least);
        double alphaOnly = Double.NEGATIVE_INFINITY;
        for (int i = 0; i <= 10; i++) {
            alphaOnly = Math.max(alphaOnly, new org.shardplan.planner.solver.DpSolver()
                    .solve(ob.problem(i / 10.0), org.shardplan.planner.solver.Solver.Options.withTimeLimit(600)).objective());
        }
        assertTrue(alphaOnly < least * 0.99, "alpha alone " + alphaOnly + ", best " + least);
        assertTrue(r.lowerBound() >= least * (1 - 1e-6), "bound " + r.lowerBound() + ", best " + least);
        // plans near the best one (one to three nodes changed) lie above the bound too
        Random rnd = new Random(17);
        for (int t = 0; t < 300; t++) {
            int[] x = bestPlan.clone();
            for (int c = rnd.nextInt(3); c >= 0; c--) {
                ProblemBuilder.Unit u = b.units().get(rnd.nextInt(x.length));
                x[u.index()] = rnd.nextInt(u.layouts().size());
            }
            double st = ps.oneStageStep(b, pb, 1, x, 64, false);
            assertTrue(r.lowerBound() <= st * (1 + 1e-9), "bound " + r.lowerBound() + " > " + st);
        }
    }

    @Test
    void theSearchReportsTheBoundAndProvesOnlyWhatItReaches() throws Exception {
        for (int devices : List.of(4, 8, 16)) {
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
            for (ModelSource src : List.of(MLP, GPT)) {
                PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO.withPipeline(1), src, 64, 600);
                ps.useBound = false; // every configuration priced, none left with its bound alone
                for (int m : List.of(1, 2)) {
                    PipelineSearch.Outcome o = ps.price(1, m, false, 1).orElseThrow();
                    assertTrue(o.lowerBound() <= o.stepSeconds() * (1 + 1e-9), o.lowerBound() + " > " + o.stepSeconds());
                    assertEquals(o.proven(), o.lowerBound() >= o.stepSeconds() * (1 - PipelineSearch.PROVEN),
                            devices + " devices, m " + m + ": " + o.solver() + " " + o.lowerBound() + " " + o.stepSeconds() + " " + o.isBounded());
                    // the step the outcome reports is the one-stage pricing of its layouts
                    assertEquals(ps.oneStageStep(o.built(), o.builder(), m, o.choice(), devices, false), o.stepSeconds(),
                            1e-12 * o.stepSeconds());
                }
            }
        }
    }

    @Test
    void onRealModelsTheBoundIsBelowRandomPlans() throws Exception {
        // ResNet-18 and the GPT-2-style export on 8 and 64 devices, the split by bucket count run wherever it can
        // gain (above 0): random plans and plans near the best one found (one to three nodes changed)
        Random rnd = new Random(5);
        int split = 0;
        for (String name : List.of("resnet18.onnx", "gpt2_style.onnx")) {
            java.nio.file.Path file = Models.file(name);
            Map<String, Long> dims = name.startsWith("gpt") ? Map.of("seq", 128L) : Map.of();
            ModelSource src = b -> {
                Map<String, Long> d = new java.util.HashMap<>(dims);
                d.put("batch", b);
                return OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(d)).graph();
            };
            for (int devices : List.of(8, 64)) {
                Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(8);
                PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, src, 8, 600);
                ProblemBuilder.Built b = ps.built(8, devices, false, 1);
                ProblemBuilder pb = ps.builder(8, devices, false, 1);
                OverlapBound ob = new OverlapBound(b, pb, 1, StageProblem.Filter.ALL);
                OverlapBound.Result r = ob.maximise(Double.POSITIVE_INFINITY, () -> 600,
                        x -> ps.oneStageStep(b, pb, 1, x, devices, false), 0);
                split += r.solves() > 1 && ob.buckets() > 1 ? 1 : 0;
                int[] bestPlan = r.plans().get(0);
                for (int[] x : r.plans()) {
                    if (ps.oneStageStep(b, pb, 1, x, devices, false) < ps.oneStageStep(b, pb, 1, bestPlan, devices, false)) {
                        bestPlan = x;
                    }
                }
                for (int t = 0; t < 300; t++) {
                    int[] x;
                    if (t < r.plans().size()) {
                        x = r.plans().get(t);
                    } else if (t % 2 == 0) {
                        x = Fixtures.randomLayouts(b, rnd);
                    } else {
                        x = bestPlan.clone();
                        for (int c = rnd.nextInt(3); c >= 0; c--) {
                            ProblemBuilder.Unit u = b.units().get(rnd.nextInt(x.length));
                            x[u.index()] = rnd.nextInt(u.layouts().size());
                        }
                    }
                    double step = ps.oneStageStep(b, pb, 1, x, devices, false);
                    assertTrue(r.lowerBound() <= step * (1 + 1e-9), name + " on " + devices + ": bound " + r.lowerBound() + " > " + step);
                }
            }
        }
        assertTrue(split >= 2, "the split ran on " + split + " of 4");
    }

    @Test
    void thePipelineBoundFromSegmentSolvesIsBelowEveryPricedPipelineStep() throws Exception {
        int priced = 0;
        int above = 0;
        for (int devices : List.of(8, 16)) {
            Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
            PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
            ps.useBound = false; // every configuration priced
            for (int stages : List.of(2)) {
                for (int m : List.of(2, 4, 8)) {
                    var o = ps.price(stages, m, false, 1);
                    if (o.isEmpty() || o.get().isBounded()) {
                        continue;
                    }
                    long micro = 64 / m;
                    var cg = ps.coarse(micro);
                    ProblemBuilder pb = ps.builder(micro, devices / stages, false, 1);
                    double seg = ps.segmentBound(o.get().built(), StageProblem.Filter.ALL, cg, micro, stages, m, false);
                    double blind = ps.stepLowerBound(cg, micro, pb, stages, m);
                    String what = devices + " devices, P " + stages + ", m " + m;
                    assertTrue(seg <= o.get().stepSeconds() * (1 + 1e-9), what + ": " + seg + " > " + o.get().stepSeconds());
                    assertTrue(o.get().lowerBound() <= o.get().stepSeconds() * (1 + 1e-9), what);
                    assertEquals(blind, o.get().lowerBound(), 1e-12 * o.get().stepSeconds(), what);
                    ps.useScheduleBound = false;
                    assertEquals(Math.max(seg, blind), ps.reportedBound(o.get()), 1e-12 * o.get().stepSeconds(), what);
                    ps.useScheduleBound = true;
                    double all = ps.reportedBound(o.get());
                    assertTrue(all >= Math.max(seg, blind) && all <= o.get().stepSeconds() * (1 + 1e-9), what + ": " + all);
                    priced++;
                    above += seg > blind * (1 + 1e-9) ? 1 : 0;
                }
            }
        }
        assertTrue(priced >= 4, "priced " + priced);
        // the segments' resharding makes it the larger somewhere
        assertTrue(above > 0, "never above the least-time bound in " + priced);
    }

    /**
     * Calls {@code visit} with every plan of the problem (each unit's layout index), in odometer order, and
     * returns how many there were; fails when there are more than 2 million.
     */
    private static double everyPlan(ProblemBuilder.Built b, java.util.function.Consumer<int[]> visit) {
        int n = b.units().size();
        int[] sizes = new int[n];
        double all = 1;
        for (ProblemBuilder.Unit u : b.units()) {
            sizes[u.index()] = u.layouts().size();
            all *= sizes[u.index()];
        }
        assertTrue(all <= 2e6, "plans " + all);
        int[] x = new int[n];
        while (true) {
            visit.accept(x);
            int i = 0;
            while (i < n && ++x[i] == sizes[i]) {
                x[i++] = 0;
            }
            if (i == n) {
                return all;
            }
        }
    }
}
