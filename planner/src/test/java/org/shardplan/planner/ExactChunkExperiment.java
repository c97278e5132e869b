package org.shardplan.planner;

import java.util.List;

/**
 * A measurement, not a test: on one pipeline configuration of DenseNet-121 (its own plan's schedule), how far the least
 * profiles of a partition lie below the partition's exact step, and where the difference comes from. Prints, to stderr:
 * the plan's partition on the least profiles and with every chunk's parts solved exactly over the whole chunk ({@link
 * PipelineBound#exactChunkSegments}); the local search's partition on both; the exact step of the partition the search
 * ends at with exact chunks ({@link PipelineBound#partitionBound}, its best column); per chunk its least parts against
 * that exact plan's; the step with each chunk's least profile replaced by the exact plan's alone; and (with {@code
 * -Dexp.probe=true}) the counts of the last chunk's ops on each device's longest path under the exact plan. The numbers of
 * docs/schedules.md ("What the least profiles of one partition miss"). Run from the repository root after {@code mvn
 * -q -o -pl planner test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test}:
 * {@code java -Dshardplan.root=. [-Dexp.devices=64 -Dexp.stages=16 -Dexp.m=16 -Dexp.batch=128 -Dexp.segments=40]
 * [-Dshardplan.models=build-data/survey-deep -Dexp.model=densenet201.onnx] -cp
 * "planner/target/test-classes:planner/target/classes:$(cat /tmp/cp.txt)" org.shardplan.planner.ExactChunkExperiment}.
 */
final class ExactChunkExperiment {
    private ExactChunkExperiment() {
    }

    public static void main(String[] args) throws Exception {
        PipelineBoundTest.Experimented ex = PipelineBoundTest.Experimented.of("densenet121.onnx", 64, 16, 16, 128);
        int stages = ex.stages();
        int m = ex.m();
        int segments = Integer.getInteger("exp.segments", 40);
        PipelineBoundTest.Pipelined pl = ex.pl();
        var o = pl.o();
        List<Integer> pos = pl.pos();
        PipelineBound least = PipelineBoundTest.leastOf(pl);
        int[] ends = new int[o.bounds().length - 1];
        for (int j = 0; j < ends.length; j++) {
            ends[j] = pos.indexOf(o.bounds()[j + 1]);
        }
        System.err.printf("EXP %s v%d, %d stages, %d micro-batches: the configuration's plan %.6f ms at %s%n",
                o.schedule().name(), o.virtual(), stages, m, o.stepSeconds() * 1e3, java.util.Arrays.toString(ends));
        var paths = new PipelineBound.Paths(o.schedule(), stages, m, o.virtual());
        double plan = least.new Leaves(paths, ends.length).step(ends.clone());
        int[] searched = ends.clone();
        double searchedStep = least.descend(paths, searched, 50, () -> 600);
        least.exactChunkSegments = segments;
        long t0 = System.nanoTime();
        double planExact = least.new Leaves(paths, ends.length).step(ends.clone());
        double searchedExact = least.new Leaves(paths, ends.length).step(searched.clone());
        int[] e = ends.clone();
        double exactSearch = least.descend(paths, e, 50, () -> 600);
        double exactSeconds = (System.nanoTime() - t0) / 1e9;
        System.err.printf("EXP the plan's partition: least profiles %.6f ms, exact chunks %.6f ms%n", plan * 1e3,
                planExact * 1e3);
        System.err.printf("EXP the local search from it: least profiles %.6f ms at %s (exact chunks there %.6f ms); with exact"
                + " chunks %.6f ms at %s (%.2f s)%n", searchedStep * 1e3, java.util.Arrays.toString(searched),
                searchedExact * 1e3, exactSearch * 1e3, java.util.Arrays.toString(e), exactSeconds);
        least.exactChunkSegments = 0;
        for (int r : new int[] {1, 40}) {
            var q = least.partitionBound(paths, stages, e, Double.POSITIVE_INFINITY, r, () -> 600);
            System.err.printf("EXP that partition solved exactly, %d round(s): at least %.6f ms, its best column %.6f ms (%d rows,"
                    + " %d columns)%n", r, q.bound() * 1e3, q.step() * 1e3, q.rows(), q.columns());
        }
        var pb = least.partitionBound(paths, stages, e, Double.POSITIVE_INFINITY, 40, () -> 600);
        least.exactChunkSegments = segments;
        int[] x = pb.layouts();
        var fixed = least.fixed(paths, e.length, x);
        double fixedStep = fixed.step(e.clone());
        var leaves = least.new Leaves(paths, e.length);
        double leavesStep = leaves.step(e.clone());
        System.err.printf("EXP its best column's step %.6f ms, its exact chunks' least profiles %.6f ms%n", fixedStep * 1e3,
                leavesStep * 1e3);
        if (Boolean.getBoolean("exp.probe")) {
            List<org.shardplan.planner.pipeline.StageProfile> prof = new java.util.ArrayList<>();
            for (int j = 0; j < e.length; j++) {
                prof.add(fixed.profileOf(j));
            }
            for (PipelineBound.Path path : paths.trace(prof)) {
                double[] c = path.coef();
                int at = (e.length - 1) * PipelineBound.Path.PARTS;
                System.err.printf("EXP probe device %d: last chunk coefs %s%n", path.device(),
                        java.util.Arrays.toString(java.util.Arrays.copyOfRange(c, at, at + PipelineBound.Path.PARTS)));
            }
        }
        for (int j = 0; j < e.length; j++) {
            int from = j == 0 ? 0 : e[j - 1];
            int to = e[j];
            double[] c = least.chunk(from, to);
            double[] t = least.terms(pos.get(from), pos.get(to), 1, x);
            System.err.printf("EXP chunk %2d [%3d, %3d): least f %.4f b_in %.4f w %.4f joint %.4f, f with b_in %.4f, own %.4f | column f %.4f b_in"
                    + " %.4f w %.4f reduction %.4f | step with the column's profile here %.6f ms%n", j, from, to, c[0] * 1e3,
                    c[1] * 1e3, c[2] * 1e3, c[3] * 1e3, c[4] * 1e3, least.chunkOwn(from, to) * 1e3, t[0] * 1e3, t[1] * 1e3, t[2] * 1e3,
                    t[3] * 1e3, leaves.stepWith(j, fixed.profileOf(j)) * 1e3);
        }
    }
}
