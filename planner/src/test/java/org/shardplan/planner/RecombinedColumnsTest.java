package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;

/**
 * A partition's exact solve ({@link PipelineBound#partitionBound}) with each chunk's layouts taken from whichever of its
 * columns makes the step least ({@link PipelineBound#recombined}): the same bound and rounds as without, a plan whose
 * step is never above the least column's, and below it on some partitions of a small decoder.
 */
class RecombinedColumnsTest {

    @Test
    void recombinedColumnsGiveTheSameBoundAndAPlanNoSlower() throws Exception {
        // two stages: with four, no partition of this decoder gains from recombining since its gradients are reduced
        // in one bucket (none of 64 partitions checked); with two, 6 of the 80 below
        int stages = 2;
        PartitionSolveReuseTest.Setup s = PartitionSolveReuseTest.setup(stages);
        int m = s.o().microBatches();
        java.util.Random rnd = new java.util.Random(7);
        int checked = 0;
        int faster = 0;
        boolean was = PipelineBound.recombineColumns;
        try {
            for (String name : java.util.List.of("gpipe", "1f1b", "interleaved", "zero-bubble")) {
                Schedule sch = Schedules.of(name);
                for (int v : sch.virtualStageCandidates(java.util.OptionalInt.empty())) {
                    if (sch.check(stages, m, v).isPresent()) {
                        continue;
                    }
                    var paths = new PipelineBound.Paths(sch, stages, m, v);
                    for (int t = 0; t < 16; t++) {
                        PipelineBound.recombineColumns = false;
                        PipelineBound off = PartitionSolveReuseTest.bound(s);
                        PipelineBound.recombineColumns = true;
                        PipelineBound on = PartitionSolveReuseTest.bound(s);
                        int segs = on.segments();
                        if (stages * v > segs) {
                            continue;
                        }
                        int[] ends = t == 0 ? on.evenShares(stages * v) : PartitionSolveReuseTest.randomEnds(segs, stages * v, rnd);
                        PipelineBound.recombineColumns = false;
                        var a = off.partitionBound(paths, stages, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                        PipelineBound.recombineColumns = true;
                        var b = on.partitionBound(paths, stages, ends, Double.POSITIVE_INFINITY, PipelineBound.PARTITION_ROUNDS, () -> 600);
                        String what = name + " v " + v + " at " + java.util.Arrays.toString(ends) + ": " + a.step() + " -> " + b.step();
                        assertEquals(a.bound(), b.bound(), 0, what + ": bound");
                        assertEquals(a.columns(), b.columns(), what + ": columns");
                        assertTrue(b.step() <= a.step() * (1 + 1e-12), what);
                        assertTrue(b.step() >= b.bound() * (1 - 1e-9), what + ": below its own bound");
                        faster += b.step() < a.step() * (1 - 1e-9) ? 1 : 0;
                        checked++;
                    }
                }
            }
        } finally {
            PipelineBound.recombineColumns = was;
        }
        assertTrue(checked >= 12, "partitions checked: " + checked);
        assertTrue(faster >= 1, "no partition's plan was faster recombined");
    }
}
