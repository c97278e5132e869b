package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.pipeline.StagePartition;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * {@link ExactPartition} (range shapes as hash-consed ids, least memory from the allowed candidates)
 * against {@link ExactPartitionReference}, the oracle as it was before (int-array keys built per range, the
 * least memory through the filter): on real graphs, under full and tight memory limits and a filter that
 * drops candidates, both must group the ranges into the same shapes, give bit for bit the same lower
 * bounds, costs, exactness and layouts, ask the search's stage solve with the limit for the same stages
 * in the same order, count the same solves, and lead {@link StagePartition#solve} to the same result,
 * also where a budget of solves stops it.
 */
class ExactPartitionFastTest {

    /** One configuration's inputs to both oracles. */
    private record Setup(ProblemBuilder.Built b, List<Integer> pos, double[] send, double limit, int stages, int m) {
    }

    private static Setup setup(ModelSource model, long batch, int devices, int stages, int m, double limitShare)
            throws Exception {
        Planner planner = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        PipelineSearch ps = new PipelineSearch(planner, SearchOptions.AUTO, model, batch, 600);
        long micro = batch / m;
        CoarseGraph cg = ps.coarse(micro);
        ProblemBuilder.Built b = ps.built(micro, devices / stages, false, 1);
        List<Integer> pos = PipelineSearch.cutPositions(b.units().size(), ps.cuts(cg, micro));
        // send times: any non-negative numbers do (both oracles add them alike); distinct per node
        Random rnd = new Random(pos.size() * 31L + stages);
        double[] send = new double[b.units().size() + 1];
        for (int i = 0; i < send.length; i++) {
            send[i] = rnd.nextDouble() * 1e-4;
        }
        return new Setup(b, pos, send, planner.memoryLimit() * limitShare, stages, m);
    }

    /** Drops candidate 1 of every node with three or more (a filter that leaves every node a candidate). */
    private static final StageProblem.Filter SOME = (u, k) -> k != 1 || u.layouts().size() < 3;

    /**
     * The stage solve with the limit as the search runs it, in short: the tied problem's optimum without the
     * limit where it fits, nothing where the nodes' least memory does not, else memory pricing. Logs each call.
     */
    private static ExactPartition.LimitedSolve limited(Setup x, StageProblem.Filter f, List<String> log) {
        return (from, to, r) -> {
            log.add(from + ".." + to + " w " + r.microBatchWeight() + " x" + r.activationCopies() + " g" + r.gradientWeight());
            StageProblem sp = StageProblem.of(x.b(), from, to, r, f, OptionalDouble.of(x.limit()), true);
            Solution sol = new DpSolver().solve(sp.problem().withMemoryLimit(OptionalDouble.empty()),
                    Solver.Options.defaults());
            if (sol.hasChoices() && Evaluator.evaluate(sp.problem(), sol.choices()).memory() <= x.limit()) {
                return Optional.of(sp.expand(sol.choices()));
            }
            double least = 0;
            for (var nd : sp.problem().nodes()) {
                double mm = Double.POSITIVE_INFINITY;
                for (int k = 0; k < nd.strategies(); k++) {
                    mm = Math.min(mm, nd.memory(k));
                }
                least += mm;
            }
            if (least > x.limit()) {
                return Optional.empty();
            }
            MemoryPricing.Result pr = MemoryPricing.solve(sp.problem(), 60);
            return pr == null ? Optional.empty() : Optional.of(sp.expand(pr.choices()));
        };
    }

    private static ExactPartition fast(Setup x, StageProblem.Filter f, List<String> log) {
        return new ExactPartition(x.b(), f, x.pos(), x.stages(), x.m(), x.limit(), x.send(), limited(x, f, log),
                () -> 600, () -> true);
    }

    private static ExactPartitionReference reference(Setup x, StageProblem.Filter f, List<String> log) {
        return new ExactPartitionReference(x.b(), f, x.pos(), x.stages(), x.m(), x.limit(), x.send(),
                (from, to, r) -> limited(x, f, log).solve(from, to, r), () -> 600, () -> true);
    }

    /** Both oracles' answers for every range and stage: lower bounds, and (with {@code costs}) costs, exactness, layouts. */
    private static void sameAnswers(ExactPartition a, ExactPartitionReference r, int k, int p, boolean costs, String what) {
        for (int s = 0; s < p; s++) {
            for (int i = s; i < k; i++) {
                for (int j = i + 1; j <= k - (p - 1 - s); j++) {
                    String at = what + ": stage " + s + " over " + i + ".." + j;
                    assertEquals(r.lowerBound(i, j, s), a.lowerBound(i, j, s), 0.0, at);
                    if (!costs) {
                        continue;
                    }
                    assertEquals(r.cost(i, j, s), a.cost(i, j, s), 0.0, at);
                    assertEquals(r.exact(i, j, s), a.exact(i, j, s), at);
                    if (a.exact(i, j, s)) {
                        Optional<int[]> ca = a.choice(i, j, s);
                        Optional<int[]> cr = r.choice(i, j, s);
                        assertEquals(cr.isPresent(), ca.isPresent(), at);
                        if (ca.isPresent()) {
                            assertArrayEquals(cr.get(), ca.get(), at);
                        }
                    }
                }
            }
        }
    }

    /** The shapes group the ranges exactly as the reference's int-array keys do (a bijection between the two). */
    private static int sameShapes(ExactPartition a, ExactPartitionReference r, int k, String what) {
        Map<ExactPartitionReference.Key, Integer> byKey = new HashMap<>();
        Map<Integer, ExactPartitionReference.Key> byShape = new HashMap<>();
        for (int i = 0; i < k; i++) {
            for (int j = i + 1; j <= k; j++) {
                ExactPartitionReference.Key key = r.key(i, j);
                int shape = a.shape(i, j);
                Integer had = byKey.putIfAbsent(key, shape);
                ExactPartitionReference.Key hadKey = byShape.putIfAbsent(shape, key);
                assertTrue(had == null || had == shape, what + ": range " + i + ".." + j + " has shape " + shape
                        + ", another range of its key " + had);
                assertTrue(hadKey == null || hadKey.equals(key), what + ": range " + i + ".." + j + " shares shape "
                        + shape + " with a range of another key");
            }
        }
        return byKey.size();
    }

    private static String result(StagePartition.Result x) {
        StringBuilder s = new StringBuilder("bottlenecks " + x.bottlenecks() + ", solved " + x.solved());
        for (StagePartition.Partition p : x.partitions()) {
            s.append("; ").append(java.util.Arrays.toString(p.bounds())).append(' ').append(Double.toHexString(p.objective()))
                    .append(' ').append(Double.toHexString(p.sum())).append(' ').append(Double.toHexString(p.slowest()));
        }
        return s.toString();
    }

    /** Compares the two oracles on one configuration; the number of distinct shapes and of stages solved with the limit. */
    private static int[] compare(ModelSource model, long batch, int devices, int stages, int m, double share,
            StageProblem.Filter f, boolean everyCost) throws Exception {
        Setup x = setup(model, batch, devices, stages, m, share);
        int k = x.pos().size() - 1;
        String what = devices + " devices, P=" + stages + " m=" + m + " limit x" + share + (f == SOME ? " filtered" : "");
        List<String> logA = new ArrayList<>();
        List<String> logR = new ArrayList<>();
        ExactPartition a = fast(x, f, logA);
        ExactPartitionReference r = reference(x, f, logR);
        int shapes = sameShapes(a, r, k, what);
        // what the search asks before the partition: the budget checks, then the partition itself
        for (int atMost : new int[] {0, 3, 1000}) {
            assertEquals(r.segmentSolves(atMost), a.segmentSolves(atMost), what);
        }
        sameAnswers(a, r, k, stages, false, what);
        List<int[]> certain = StagePartition.certainRanges(k, stages, m, a);
        assertEquals(r.newSolves(certain, 1000), a.newSolves(certain, 1000), what);
        StagePartition.Result ra = StagePartition.solve(k, stages, m, a, Double.POSITIVE_INFINITY, 4);
        StagePartition.Result rr = StagePartition.solve(k, stages, m, r, Double.POSITIVE_INFINITY, 4);
        assertEquals(result(rr), result(ra), what);
        assertEquals(r.solves, a.solves, what);
        assertEquals(r.lookups, a.lookups, what);
        assertEquals(logR, logA, what);
        // and every range afterwards (costing them all runs the solves the partition did not need), then
        // every range refined (solved with its limit where its solve without it does not fit)
        sameAnswers(a, r, k, stages, everyCost, what);
        assertEquals(logR, logA, what);
        assertEquals(r.solves, a.solves, what);
        int lazy = 0;
        if (everyCost) {
            for (int s = 0; s < stages; s++) {
                for (int i = s; i < k; i++) {
                    for (int j = i + 1; j <= k - (stages - 1 - s); j++) {
                        if (!a.exact(i, j, s)) {
                            lazy++;
                            a.refine(i, j, s);
                            r.refine(i, j, s);
                        }
                    }
                }
            }
            sameAnswers(a, r, k, stages, true, what);
            assertEquals(logR, logA, what);
            assertEquals(r.solves, a.solves, what);
        }
        // under a budget of solves both stop at the same point
        for (int budget : new int[] {2, 5}) {
            ExactPartition a2 = fast(x, f, new ArrayList<>());
            ExactPartitionReference r2 = reference(x, f, new ArrayList<>());
            a2.budget = budget;
            r2.budget = budget;
            String stopA = stop(() -> StagePartition.solve(k, stages, m, a2, Double.POSITIVE_INFINITY, 4));
            String stopR = stop(() -> StagePartition.solve(k, stages, m, r2, Double.POSITIVE_INFINITY, 4));
            assertEquals(stopR, stopA, what + ", budget " + budget);
            assertEquals(r2.solves, a2.solves, what + ", budget " + budget);
            assertEquals(r2.stoppedAtBudget, a2.stoppedAtBudget, what + ", budget " + budget);
        }
        int inf = 0;
        for (int s = 0; s < stages; s++) {
            for (int i = s; i < k; i++) {
                for (int j = i + 1; j <= k - (stages - 1 - s); j++) {
                    inf += a.lowerBound(i, j, s) == Double.POSITIVE_INFINITY ? 1 : 0;
                }
            }
        }
        System.out.println(what + ": " + shapes + " shapes, K " + k + ", solves " + a.solves + ", limited " + logA.size()
                + ", over memory " + inf + ", lazy " + lazy + ", result " + result(ra));
        return new int[] {shapes, logA.size()};
    }

    /** The result, or the simple name of what stopped it. */
    private static String stop(java.util.function.Supplier<StagePartition.Result> run) {
        try {
            return result(run.get());
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName();
        }
    }

    @Test
    void aBuiltinGptAnswersAsTheReference() throws Exception {
        // 12 layers: ranges of the same number of layers share a shape, except at the ends
        ModelSource gpt = b -> BuiltinModels.read("gpt?layers=12,hidden=512,heads=8,seq=128,vocab=4096",
                ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
        int limited = 0;
        // full memory; limits at which some stages fit only under their limit (solved with it) and some
        // ranges not at all; the candidates filtered
        Object[][] cases = {{1.0, 2, 4, StageProblem.Filter.ALL}, {0.02, 4, 8, StageProblem.Filter.ALL},
            {0.016, 4, 8, StageProblem.Filter.ALL}, {0.02, 2, 4, SOME}, {0.016, 3, 16, SOME}};
        for (Object[] c : cases) {
            int[] r = compare(gpt, 256, 16, (Integer) c[1], (Integer) c[2], (Double) c[0], (StageProblem.Filter) c[3], true);
            // repeated layers: fewer shapes than ranges (13 segments: 91 ranges)
            assertTrue(r[0] < 91, "shapes " + r[0]);
            limited += r[1];
        }
        assertTrue(limited > 0, "no stage was solved with its limit: the tight limits must bind somewhere");
    }

    @Test
    void anExportedGptAnswersAsTheReference() throws Exception {
        Path file = Models.file("gpt2_style.onnx");
        ModelSource gpt2 = b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b, "seq", 128L)))
                .graph();
        for (double share : new double[] {1.0, 0.01}) {
            compare(gpt2, 32, 16, 4, 8, share, StageProblem.Filter.ALL, true);
        }
    }

    @Test
    void densenetWithoutRepeatedLayersAnswersAsTheReference() throws Exception {
        // every range its own shape; only the lower bounds, the partition and its look-ups (not every range's cost)
        Path file = Models.file("densenet121.onnx");
        ModelSource densenet = b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
        compare(densenet, 32, 8, 2, 4, 1.0, StageProblem.Filter.ALL, false);
    }
}
