package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;

class ChunkDwellBoundTest {
    // the small decoder, its bound as the search builds it, and its partitions: CutBranchTest's
    private static final ModelSource GPT = CutBranchTest.GPT;

    private static PipelineBound leastOf(PipelineSearch ps, long micro, int per) throws Exception {
        return CutBranchTest.leastOf(ps, micro, per);
    }

    private static void every(int segments, int chunks, int[] ends, int j, List<int[]> out) {
        CutBranchTest.every(segments, chunks, ends, j, out);
    }

    /**
     * Against every partition of a small decoder's segments, for the rows of each schedule's dual: the bound over the rows
     * is at most the least over partitions of the largest row length (the quantity it relaxes, so at most every plan's
     * step), at least each row's own least (one row: exactly it, the partition program's least of that row's terms), and
     * capped by the threshold; with the dual's best weights as one more row, alone the dual's bound, with the paths at
     * least the larger of the two and at most the least over partitions of the largest of the weighted sum and the paths.
     */
    @Test
    void theBoundIsBetweenEachRowsLeastAndTheLeastOfTheLargestRow() throws Exception {
        int devices = 8;
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(64);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, GPT, 64, 600);
        int compared = 0;
        int aboveEveryRow = 0;
        int withWeights = 0;
        for (int stages : List.of(2, 4)) {
            for (int m : List.of(4, 8)) {
                long micro = 64 / m;
                PipelineBound pb = leastOf(ps, micro, devices / stages);
                for (String name : List.of("gpipe", "1f1b", "interleaved", "zero-bubble")) {
                    Schedule sch = Schedules.of(name);
                    for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                        int chunks = stages * v;
                        if (sch.check(stages, m, v).isPresent() || chunks > pb.segments()
                                || PipelineBound.partitions(pb.segments() - 1, chunks - 1) > 20000) {
                            continue;
                        }
                        String what = "P " + stages + ", m " + m + ", " + name + " v " + v;
                        double dual = pb.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600).step();
                        PipelineBound.DualState st = pb.lastDual(sch, stages, m, v);
                        List<PipelineBound.Path> rows = st.rows();
                        List<PipelineBound.Path> some = rows.subList(0, Math.min(12, rows.size()));
                        List<int[]> all = new ArrayList<>();
                        every(pb.segments(), chunks, new int[chunks], 0, all);
                        double leastOfLargest = Double.POSITIVE_INFINITY;
                        for (int[] e : all) {
                            double[] vals = pb.values(e);
                            double largest = 0;
                            for (PipelineBound.Path r : some) {
                                largest = Math.max(largest, r.length(vals, stages));
                            }
                            leastOfLargest = Math.min(leastOfLargest, largest);
                        }
                        ChunkDwellBound cd = new ChunkDwellBound(pb, stages, chunks);
                        double b = cd.bound(some, some.size(), Double.POSITIVE_INFINITY, () -> 600, 0);
                        assertEquals(some.size(), cd.rowsUsed, what);
                        assertTrue(b <= leastOfLargest * (1 + 1e-12), what + ": " + b + " above " + leastOfLargest);
                        double rowMost = 0;
                        for (PipelineBound.Path r : some) {
                            double own = Double.POSITIVE_INFINITY;
                            for (int[] e : all) {
                                own = Math.min(own, r.length(pb.values(e), stages));
                            }
                            double one = new ChunkDwellBound(pb, stages, chunks).bound(List.of(r), 1,
                                    Double.POSITIVE_INFINITY, () -> 600, 0);
                            assertEquals(own, one, 1e-9 * own, what + ": one row");
                            rowMost = Math.max(rowMost, own);
                        }
                        assertTrue(b >= rowMost * (1 - 1e-12), what + ": " + b + " below a row's least " + rowMost);
                        // the dual's best weights as a row: alone, the dual's bound; with the paths, at least it and at
                        // most the least over partitions of the largest of the weighted sum and the paths
                        if (st.agg() != null) {
                            ChunkDwellBound with = new ChunkDwellBound(pb, stages, chunks);
                            assertEquals(dual, with.bound(some, 0, st.agg(), st.dev(), Double.POSITIVE_INFINITY, () -> 600, 0),
                                    1e-9 * dual, what + ": the dual's weights alone");
                            double both = with.bound(some, some.size(), st.agg(), st.dev(), Double.POSITIVE_INFINITY, () -> 600, 0);
                            assertEquals(some.size() + 1, with.rowsUsed, what);
                            double leastOfBoth = Double.POSITIVE_INFINITY;
                            for (int[] e : all) {
                                double[] vals = pb.values(e);
                                double mixed = 0;
                                for (int j = 0; j < chunks; j++) {
                                    for (int i = 0; i < PipelineBound.Path.PARTS; i++) {
                                        mixed += st.agg()[j * PipelineBound.Path.PARTS + i] * vals[j * PipelineBound.Path.VALUES + i];
                                    }
                                    mixed += st.dev()[j] * (vals[j * PipelineBound.Path.VALUES + PipelineBound.Path.SYNC]
                                            + vals[j * PipelineBound.Path.VALUES + PipelineBound.Path.UPDATE]);
                                }
                                double largest = mixed;
                                for (PipelineBound.Path r : some) {
                                    largest = Math.max(largest, r.length(vals, stages));
                                }
                                leastOfBoth = Math.min(leastOfBoth, largest);
                            }
                            assertTrue(both >= Math.max(dual, b) * (1 - 1e-9), what + ": " + both + " below the dual or the paths");
                            assertTrue(both <= leastOfBoth * (1 + 1e-12), what + ": " + both + " above " + leastOfBoth);
                            withWeights++;
                        }
                        aboveEveryRow += b > rowMost * (1 + 1e-6) ? 1 : 0;
                        assertEquals(0.5 * b, cd.bound(some, some.size(), 0.5 * b, () -> 600, 0), 1e-12 * b, what);
                        assertEquals(0, cd.bound(some, some.size(), Double.POSITIVE_INFINITY, () -> 0, 0.05), what
                                + ": no time, no bound");
                        compared++;
                    }
                }
            }
        }
        assertTrue(compared >= 8, "compared " + compared);
        assertTrue(aboveEveryRow >= 1, "never above the largest row's own least");
        assertTrue(withWeights >= 8, "with the dual's weights " + withWeights);
    }
}
