package org.shardplan.planner;

import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;

/**
 * A measurement, not a test: the dual, the bound per chunk ({@link ChunkDwellBound}) and the branch over the cuts
 * ({@link CutBranch}) of one pipeline shape of DenseNet-121, with their times, printed to stderr (the numbers of
 * benchmarks/results/dense-graphs.md, 2026-12-03). Run from the repository root after {@code mvn -q -o -pl planner
 * test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test}:
 * {@code java -Dshardplan.root=. [-Dexp.devices=64 -Dexp.stages=16 -Dexp.m=16 -Dexp.v=4 -Dexp.batch=128
 * -Dexp.schedule=interleaved -Dexp.seconds=20 -Dexp.cap=MS -Dexp.enumSeconds=30 -Dexp.model=squeezenet1_0.onnx
 * -Dshardplan.models=DIR] -cp
 * "planner/target/test-classes:planner/target/classes:$(cat /tmp/cp.txt)" org.shardplan.planner.CutBranchExperiment}.
 */
final class CutBranchExperiment {
    private CutBranchExperiment() {
    }

    public static void main(String[] args) throws Exception {
        PipelineBoundTest.Experimented ex = PipelineBoundTest.Experimented.of("densenet121.onnx", 64, 16, 16, 128);
        int stages = ex.stages();
        int m = ex.m();
        int v = Integer.getInteger("exp.v", 4);
        String name = System.getProperty("exp.schedule", "interleaved");
        double seconds = Double.parseDouble(System.getProperty("exp.seconds", "20"));
        PipelineBoundTest.Pipelined pl = ex.pl();
        var o = pl.o();
        PipelineBound least = PipelineBoundTest.leastOf(pl);
        Schedule sch = Schedules.of(name);
        long t0 = System.nanoTime();
        double dual = least.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600).step();
        double t1 = (System.nanoTime() - t0) / 1e9;
        PipelineBound.DualState st = least.lastDual(sch, stages, m, v);
        for (int most : new int[] {0, 8, 32}) {
            long q = System.nanoTime();
            ChunkDwellBound cd = new ChunkDwellBound(least, stages, stages * v);
            double dw = cd.bound(st.rows(), most, st.agg(), st.dev(), Double.POSITIVE_INFINITY, () -> 600, 0);
            System.err.printf("EXP dwell bound with the dual's weights over %d of %d rows: %.6f ms (%.2f s)%n", cd.rowsUsed,
                    st.rows().size(), dw * 1e3, (System.nanoTime() - q) / 1e9);
        }
        for (int most : new int[] {8, 32}) {
            long q = System.nanoTime();
            ChunkDwellBound cd = new ChunkDwellBound(least, stages, stages * v);
            double dw = cd.bound(st.rows(), most, Double.POSITIVE_INFINITY, () -> 600, 0);
            System.err.printf("EXP dwell bound over %d of %d rows: %.6f ms (%.2f s)%n", cd.rowsUsed, st.rows().size(), dw * 1e3,
                    (System.nanoTime() - q) / 1e9);
        }
        double cap = Double.parseDouble(System.getProperty("exp.cap", "0"));
        if (cap > 0) {
            Class<?> sc = Class.forName("org.shardplan.planner.PipelineBound$Search");
            var ctor = sc.getDeclaredConstructor(PipelineBound.class, Schedule.class, int.class, int.class, int.class, double.class,
                    long.class, java.util.function.DoubleSupplier.class);
            ctor.setAccessible(true);
            long q = System.nanoTime();
            long stop = q + (long) (Double.parseDouble(System.getProperty("exp.enumSeconds", "30")) * 1e9);
            Object search = ctor.newInstance(least, sch, stages, m, v, cap / 1e3, Long.MAX_VALUE / 4,
                    (java.util.function.DoubleSupplier) () -> (stop - System.nanoTime()) / 1e9);
            var dfs = sc.getDeclaredMethod("dfs", int.class, double.class);
            dfs.setAccessible(true);
            dfs.invoke(search, 0, 0.0);
            java.lang.reflect.Field fb = sc.getDeclaredField("best");
            java.lang.reflect.Field fa = sc.getDeclaredField("aborted");
            java.lang.reflect.Field fp = sc.getDeclaredField("priced");
            java.lang.reflect.Field fv = sc.getDeclaredField("visited");
            for (var f : new java.lang.reflect.Field[] {fb, fa, fp, fv}) {
                f.setAccessible(true);
            }
            System.err.printf("EXP enumeration under %.6f ms: best %.6f ms, aborted %b, priced %d, visited %d (%.2f s)%n", cap,
                    fb.getDouble(search) * 1e3, fa.getBoolean(search), fp.getLong(search), fv.getLong(search),
                    (System.nanoTime() - q) / 1e9);
        }
        if (seconds <= 0) {
            return;
        }
        CutBranch cb = new CutBranch(least, sch, stages, m, v);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        double br = cb.bound(least.lastDual(sch, stages, m, v), o.stepSeconds(), () -> (end - System.nanoTime()) / 1e9, 0);
        double t2 = (System.nanoTime() - t0) / 1e9 - t1;
        System.err.printf("EXP %s v%d plan %.6f dual %.6f (%.2f s) branch %.6f (%.2f s, %d nodes, complete %b)%n", name, v,
                o.stepSeconds() * 1e3, dual * 1e3, t1, br * 1e3, t2, cb.nodes, cb.complete);
    }
}
