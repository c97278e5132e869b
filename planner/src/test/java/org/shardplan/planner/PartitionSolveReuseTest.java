package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Solver;

/**
 * The solves the pipeline bound shares: problems met before found by what determines their keys
 * ({@link PipelineBound#quickKey}), a partition's chunk problems solved with their combination normalised (its
 * multiples share one solve), and the segment bound's equal segments solved once ({@link PipelineSearch#contentKey}).
 * Each gives what solving every problem anew gives.
 */
class PartitionSolveReuseTest {

    /** A small GPT: 8 layers, hidden 256, 4 heads, sequence 64, vocabulary 1024. */
    private static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=8,hidden=256,heads=4,seq=64,vocab=1024",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    private static final List<String> SCHEDULES = List.of("gpipe", "1f1b", "interleaved", "zero-bubble");

    record Setup(PipelineSearch ps, PipelineSearch.Outcome o, List<Integer> pos, int per) {
    }

    static Setup setup(int stages) throws Exception {
        int devices = 16;
        long batch = 64;
        int m = 8;
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, batch, 600);
        ps.useBound = false;
        var o = ps.price(stages, m, false, 1).orElseThrow();
        long micro = batch / m;
        CoarseGraph cg = ps.coarse(micro);
        List<Integer> pos = PipelineSearch.cutPositions(o.built().units().size(), ps.cuts(cg, micro));
        return new Setup(ps, o, pos, devices / stages);
    }

    static PipelineBound bound(Setup s) throws Exception {
        ProblemBuilder.Built b = s.o().built();
        ProblemBuilder pb = s.o().builder();
        var sends = PipelineSearch.class.getDeclaredMethod("sendsAt", ProblemBuilder.Built.class, List.class, int.class);
        sends.setAccessible(true);
        return new PipelineBound(b, StageProblem.Filter.ALL, s.pos(), (double[]) sends.invoke(s.ps(), b, s.pos(), s.per()),
                false, pb.settings().compute(), pb.settings().memory().optimizer(), () -> 600);
    }

    /** The plan's partition as chunk ends at the cut positions. */
    private static int[] ends(Setup s) {
        int[] bs = s.o().bounds();
        int[] ends = new int[bs.length - 1];
        for (int j = 0; j < ends.length; j++) {
            ends[j] = s.pos().indexOf(bs[j + 1]);
        }
        return ends;
    }

    /**
     * A bound made with the problems it met found by their quick keys has every segment's profile, every chunk's parts,
     * every schedule's least step and a partition's exact solve equal, to the last bit, to one that builds every key.
     */
    @Test
    void problemsFoundByTheirQuickKeysGiveTheSameBounds() throws Exception {
        Setup s = setup(4);
        boolean was = PipelineBound.quickKeysByDefault;
        PipelineBound quick;
        PipelineBound whole;
        try {
            PipelineBound.quickKeysByDefault = true;
            quick = bound(s);
            PipelineBound.quickKeysByDefault = false;
            whole = bound(s);
        } finally {
            PipelineBound.quickKeysByDefault = was;
        }
        int segs = quick.segments();
        assertEquals(whole.segments(), segs);
        assertEquals(whole.solves(), quick.solves(), "the same distinct problems solved");
        for (int i = 0; i < segs; i++) {
            for (int j = i + 1; j <= Math.min(segs, i + 6); j++) {
                assertEquals(whole.profile(i, j), quick.profile(i, j), "profile " + i + ".." + j);
                assertArrayEquals(whole.chunk(i, j), quick.chunk(i, j), "chunk " + i + ".." + j);
            }
        }
        int m = s.o().microBatches();
        int checked = 0;
        for (String name : SCHEDULES) {
            Schedule sch = Schedules.of(name);
            for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                if (sch.check(4, m, v).isPresent() || 4 * v > segs) {
                    continue;
                }
                assertEquals(whole.step(sch, 4, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600),
                        quick.step(sch, 4, m, v, Double.POSITIVE_INFINITY, Long.MAX_VALUE, () -> 600), name + " v " + v);
                checked++;
            }
        }
        assertTrue(checked >= 3, "schedules checked: " + checked);
        var paths = new PipelineBound.Paths(Schedules.of("zero-bubble"), 4, m, 1);
        int[] ends = whole.evenShares(4);
        var a = whole.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
        var b = quick.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
        assertEquals(a.bound(), b.bound());
        assertArrayEquals(a.layouts(), b.layouts());
    }

    /**
     * A partition's exact solve with its chunks' combinations normalised gives the bound and the layouts of the one
     * that solves each combination as it comes, and solves fewer chunk problems where combinations differ by a factor
     * (the middle chunks of a decoder), on every schedule's partition of the plan's cuts.
     */
    @Test
    void normalisedCombinationsGiveTheSameExactSolveWithFewerProblems() throws Exception {
        Setup s = setup(4);
        int m = s.o().microBatches();
        int fewer = 0;
        int checked = 0;
        for (String name : SCHEDULES) {
            Schedule sch = Schedules.of(name);
            if (sch.check(4, m, 1).isPresent()) {
                continue;
            }
            var paths = new PipelineBound.Paths(sch, 4, m, 1);
            PipelineBound on = bound(s);
            PipelineBound off = bound(s);
            off.normaliseCombos = false;
            int[] ends = s.o().virtual() == 1 ? ends(s) : on.evenShares(4);
            var a = off.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
            var b = on.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
            assertEquals(a.bound(), b.bound(), 1e-12 * a.bound(), name + ": bound");
            assertEquals(a.step(), b.step(), 1e-12 * a.step(), name + ": its layouts' step");
            assertEquals(off.chunkSolves(), on.chunkSolves(), name + ": the same rounds");
            assertTrue(on.chunkProblems() <= off.chunkProblems(), name + ": " + on.chunkProblems() + " > " + off.chunkProblems());
            fewer += on.chunkProblems() < off.chunkProblems() ? 1 : 0;
            checked++;
        }
        assertTrue(checked >= 3, "schedules checked: " + checked);
        assertTrue(fewer >= 1, "no schedule's exact solve shared a normalised combination");
    }

    /**
     * A partition's exact solve with its chunks answered from their segments where their layouts reach the segments'
     * sum gives the bound (to rounding), the columns' steps and the cells counted of the one that solves every chunk
     * whole, under every schedule, on the plan's cuts and on random ones; and some chunks are answered so.
     */
    @Test
    void chunksAnsweredFromTheirSegmentsGiveTheSameExactSolve() throws Exception {
        Setup s = setup(4);
        int m = s.o().microBatches();
        java.util.Random rnd = new java.util.Random(5);
        int certified = 0;
        int checked = 0;
        for (String name : SCHEDULES) {
            Schedule sch = Schedules.of(name);
            if (sch.check(4, m, 1).isPresent()) {
                continue;
            }
            var paths = new PipelineBound.Paths(sch, 4, m, 1);
            for (int t = 0; t < 3; t++) {
                PipelineBound on = bound(s);
                PipelineBound off = bound(s);
                off.segmentCertificates = false;
                int segs = on.segments();
                int[] ends = t == 0 ? on.evenShares(4) : randomEnds(segs, 4, rnd);
                var a = off.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                var b = on.partitionBound(paths, 4, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                String what = name + " at " + java.util.Arrays.toString(ends);
                assertEquals(a.bound(), b.bound(), 1e-11 * a.bound(), what + ": bound");
                assertEquals(a.step(), b.step(), 1e-11 * a.step(), what + ": its layouts' step");
                assertEquals(off.chunkSolves(), on.chunkSolves(), what + ": the same rounds");
                assertEquals(off.partitionCells(), on.partitionCells(), what + ": the cells counted");
                assertEquals(0, off.chunksCertified());
                certified += on.chunksCertified();
                checked++;
            }
        }
        assertTrue(checked >= 9, "partitions checked: " + checked);
        assertTrue(certified >= 4, "chunks answered from their segments: " + certified);
    }

    /** Random chunk ends: {@code chunks} non-empty runs of {@code segs} segments. */
    static int[] randomEnds(int segs, int chunks, java.util.Random rnd) {
        java.util.TreeSet<Integer> cut = new java.util.TreeSet<>();
        while (cut.size() < chunks - 1) {
            cut.add(1 + rnd.nextInt(segs - 1));
        }
        int[] ends = new int[chunks];
        int j = 0;
        for (int c : cut) {
            ends[j++] = c;
        }
        ends[chunks - 1] = segs;
        return ends;
    }

    /**
     * Segments of equal problems (a decoder's layers) have equal content keys and the same optimum; the first segment
     * (the embedding) and a layer's have different ones.
     */
    @Test
    void equalSegmentsShareTheirContentKey() throws Exception {
        Setup s = setup(4);
        ProblemBuilder.Built b = s.o().built();
        List<Integer> pos = s.pos();
        List<List<Object>> keys = new ArrayList<>();
        List<Double> optima = new ArrayList<>();
        for (int k = 0; k + 1 < pos.size(); k++) {
            StageProblem sp = StageProblem.of(b, pos.get(k), pos.get(k + 1), new ProblemBuilder.Repeat(1, 1, 0),
                    StageProblem.Filter.ALL, OptionalDouble.empty(), false);
            keys.add(PipelineSearch.contentKey(sp.problem()));
            optima.add(new DpSolver().solve(sp.problem(), Solver.Options.withTimeLimit(60)).objective());
        }
        int equal = 0;
        for (int i = 0; i < keys.size(); i++) {
            for (int j = i + 1; j < keys.size(); j++) {
                if (keys.get(i).equals(keys.get(j))) {
                    assertEquals(keys.get(i).hashCode(), keys.get(j).hashCode());
                    assertEquals(optima.get(i), optima.get(j), "segments " + i + " and " + j);
                    equal++;
                }
            }
        }
        assertTrue(equal >= 10, "pairs of equal segments: " + equal);
        assertNotEquals(keys.get(0), keys.get(keys.size() / 2), "the embedding's segment and a layer's");
    }
}
