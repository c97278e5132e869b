package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.models.BuiltinModels;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;

class CutBranchTest {
    static final ModelSource GPT = b -> BuiltinModels.read("gpt?layers=4,hidden=256,heads=4,seq=64,vocab=1024",
            ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();

    /** The bound of a small decoder at micro-batch {@code micro} on {@code per} devices a stage (as the search builds it). */
    static PipelineBound leastOf(PipelineSearch ps, long micro, int per) throws Exception {
        var b = ps.built(micro, per, false, 1);
        List<Integer> pos = PipelineSearch.cutPositions(b.units().size(), ps.cuts(ps.coarse(micro), micro));
        var sm = PipelineSearch.class.getDeclaredMethod("sendsAt", org.shardplan.planner.build.ProblemBuilder.Built.class,
                List.class, int.class);
        sm.setAccessible(true);
        double[] sends = (double[]) sm.invoke(ps, b, pos, per);
        var pb = ps.builder(micro, per, false, 1);
        return new PipelineBound(b, org.shardplan.planner.build.StageProblem.Filter.ALL, pos, sends, false,
                pb.settings().compute(), pb.settings().memory().optimizer(), () -> 600);
    }

    /** Every partition of the segments into {@code chunks} chunks (as chunk ends), each chunk at least one segment. */
    static void every(int segments, int chunks, int[] ends, int j, List<int[]> out) {
        if (j == chunks) {
            out.add(ends.clone());
            return;
        }
        int start = j == 0 ? 0 : ends[j - 1];
        int last = j == chunks - 1 ? segments : segments - (chunks - 1 - j);
        for (int e = j == chunks - 1 ? segments : start + 1; e <= last; e++) {
            ends[j] = e;
            every(segments, chunks, ends, j + 1, out);
        }
    }

    /** The weighted sum the partition program minimises, from a partition's chunk values. */
    private static double weighted(PipelineBound pb, double[] agg, double[] dev, int[] ends) {
        double[] v = pb.values(ends);
        double r = 0;
        for (int j = 0; j < ends.length; j++) {
            int o = j * PipelineBound.Path.PARTS;
            int x = j * PipelineBound.Path.VALUES;
            for (int k = 0; k < PipelineBound.Path.PARTS; k++) {
                r += agg[o + k] * v[x + k];
            }
            r += dev[j] * (v[x + PipelineBound.Path.SYNC] + v[x + PipelineBound.Path.UPDATE]);
        }
        return r;
    }

    /**
     * The partition program with the chunks' ends kept within ranges is the least over exactly the partitions within
     * them, against every partition enumerated, with and without the table of chunk values; infinite where none is.
     */
    @Test
    void theProgramWithinRangesIsTheLeastOverThePartitionsWithinThem() throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(8)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        PipelineBound pb = leastOf(ps, 16, 2);
        int k = pb.segments();
        java.util.Random rnd = new java.util.Random(3);
        int checked = 0;
        int empty = 0;
        for (int chunks : List.of(2, 3, 4)) {
            List<int[]> all = new java.util.ArrayList<>();
            every(k, chunks, new int[chunks], 0, all);
            for (int t = 0; t < 40; t++) {
                double[] agg = new double[chunks * PipelineBound.Path.PARTS];
                double[] dev = new double[chunks];
                for (int i = 0; i < agg.length; i++) {
                    agg[i] = rnd.nextInt(4) == 0 ? 0 : rnd.nextDouble() * 8;
                }
                for (int i = 0; i < dev.length; i++) {
                    dev[i] = rnd.nextInt(3) == 0 ? 0 : rnd.nextDouble();
                }
                int[] lo = new int[chunks];
                int[] hi = new int[chunks];
                for (int j = 0; j < chunks; j++) {
                    int a = 1 + rnd.nextInt(k);
                    int b = 1 + rnd.nextInt(k);
                    lo[j] = j == chunks - 1 ? k : Math.min(a, b);
                    hi[j] = j == chunks - 1 ? k : Math.max(a, b);
                }
                double brute = Double.POSITIVE_INFINITY;
                for (int[] e : all) {
                    boolean within = true;
                    for (int j = 0; j < chunks; j++) {
                        within &= e[j] >= lo[j] && e[j] <= hi[j];
                    }
                    if (within) {
                        brute = Math.min(brute, weighted(pb, agg, dev, e));
                    }
                }
                for (boolean tabled : List.of(true, false)) {
                    pb.tabled = tabled;
                    int[] ends = new int[chunks];
                    double got = pb.partition(agg, dev, chunks, ends, lo, hi);
                    String what = chunks + " chunks, ranges " + java.util.Arrays.toString(lo) + " " + java.util.Arrays.toString(hi)
                            + (tabled ? "" : " (no table)");
                    if (brute == Double.POSITIVE_INFINITY) {
                        assertEquals(Double.POSITIVE_INFINITY, got, what);
                        empty++;
                        continue;
                    }
                    assertEquals(brute, got, 1e-9 * Math.abs(brute), what);
                    assertEquals(got, weighted(pb, agg, dev, ends), 1e-9 * Math.abs(got), what + ": its minimiser");
                    for (int j = 0; j < chunks; j++) {
                        assertTrue(ends[j] >= lo[j] && ends[j] <= hi[j], what + ": end " + j + " outside its range");
                    }
                    checked++;
                }
                pb.tabled = true;
            }
        }
        assertTrue(checked >= 100 && empty >= 2, "checked " + checked + ", empty " + empty);
    }

    /**
     * On a model small enough to enumerate every partition: the branch's bound, run until no node is open, is at least
     * the dual it starts from, at most the fastest plan over every partition (each partition's layouts solved exactly,
     * priced as the search prices plans), and at most every partition's plans as the search's own balanced layouts price
     * them; stopped at once it is the dual's, and capped by the threshold.
     */
    @Test
    void theBranchIsBetweenTheDualAndEveryPlanOverEveryPartition() throws Exception {
        int devices = 8;
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        int compared = 0;
        int complete = 0;
        int raised = 0;
        for (int stages : List.of(2, 4)) {
            for (int m : List.of(4, 8)) {
                long micro = 64 / m;
                PipelineBound pb = leastOf(ps, micro, devices / stages);
                for (String name : List.of("1f1b", "interleaved", "zero-bubble")) {
                    Schedule sch = Schedules.of(name);
                    for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                        int chunks = stages * v;
                        if (sch.check(stages, m, v).isPresent() || chunks > pb.segments()
                                || PipelineBound.partitions(pb.segments() - 1, chunks - 1) > 3000) {
                            continue;
                        }
                        String what = "P " + stages + ", m " + m + ", " + name + " v " + v;
                        double dual = pb.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600).step();
                        PipelineBound.DualState st = pb.lastDual(sch, stages, m, v);
                        CutBranch cb = new CutBranch(pb, sch, stages, m, v);
                        double branch = cb.bound(st, Double.POSITIVE_INFINITY, () -> 600, 0);
                        complete += cb.complete ? 1 : 0;
                        raised += branch > dual * (1 + 1e-6) ? 1 : 0;
                        assertTrue(branch >= dual * (1 - 1e-12), what + ": branch " + branch + " below the dual " + dual);
                        List<int[]> all = new java.util.ArrayList<>();
                        every(pb.segments(), chunks, new int[chunks], 0, all);
                        PipelineBound.Paths paths = new PipelineBound.Paths(sch, stages, m, v);
                        double fastest = Double.POSITIVE_INFINITY;
                        for (int[] e : all) {
                            fastest = Math.min(fastest, pb.partitionBound(paths, stages, e, Double.POSITIVE_INFINITY,
                                    PipelineBound.PARTITION_ROUNDS, () -> 600).step());
                            // every plan on the partition: its exact solve's bound is at most them, and the branch at most it
                        }
                        assertTrue(branch <= fastest * (1 + 1e-9), what + ": branch " + branch + " above a plan's " + fastest);
                        System.err.printf("branch %s: dual %.6f, branch %.6f (%d nodes), fastest plan %.6f ms%n", what,
                                dual * 1e3, branch * 1e3, cb.nodes, fastest * 1e3);
                        // stopped before its first node: the dual's bound; capped by the threshold
                        CutBranch none = new CutBranch(pb, sch, stages, m, v);
                        assertEquals(dual, none.bound(st, Double.POSITIVE_INFINITY, () -> 0, 0.05), 1e-12 * dual, what);
                        assertEquals(0.9 * dual, cb.bound(st, 0.9 * dual, () -> 600, 0), 1e-12 * dual, what + ": capped");
                        compared++;
                    }
                }
            }
        }
        System.err.printf("branch: %d compared, %d complete, %d above their dual%n", compared, complete, raised);
        assertTrue(compared >= 6, "compared " + compared);
        assertTrue(complete >= 1, "no branch ran to its end");
    }
}
