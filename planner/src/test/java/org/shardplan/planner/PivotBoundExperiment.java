package org.shardplan.planner;

import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;

/**
 * A measurement, not a test: a bound on the least step over partitions from families of pivot rows, against the dual
 * ({@link PipelineBound#dual}), on one pipeline shape. A family is, for each chunk {@code k}, one
 * path of the op order traced on the balanced partition's least values with chunk {@code k}'s made {@code scale} times
 * heavier (the longest path to device {@code d}'s last op; {@code d = -1}: to chunk {@code k}'s own device; {@code -2}: to
 * any device). Its row on a partition is at most the step of every plan with that partition ({@link PipelineBound.Path}):
 * the row keeps its own coefficients on chunk {@code k} and after it, and the least over every row of its coefficients on
 * the chunks before (values are at least 0, so a row with smaller coefficients is shorter). The least over partitions of
 * the largest row is then a bisection over the step with a dynamic program over (chunk, end): the chunks before {@code k}
 * exact on the partition, the chunks after it the least over every partition of them (a relaxation), so every partition
 * whose rows all fit is found and the bisection's lower end is a bound. Run from the repository root after {@code mvn -q
 * -o -pl planner test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt -Dmdep.includeScope=test}:
 * {@code java -Xmx8g -Dshardplan.root=. -Dshardplan.models=build-data/survey-deep [-Dexp.devices=64 -Dexp.stages=32
 * -Dexp.m=16 -Dexp.v=1 -Dexp.schedule=zero-bubble -Dexp.batch=64 -Dexp.model=densenet201.onnx -Dexp.families=0:1.2,0:1.5,0:2,0:3,0:5] -cp
 * "planner/target/test-classes:planner/target/classes:$(cat /tmp/cp.txt)" org.shardplan.planner.PivotBoundExperiment}
 * (families as {@code d:scale}, comma-separated). The partition of the bound's least is then moved by the local search
 * ({@link PipelineBound#descend}), solved exactly ({@link PipelineBound#partitionBound}), moved on with its layouts and
 * solved again, as the search does from its other starts. Numbers in docs/schedules.md ("Rows that pivot on one
 * chunk").
 */
final class PivotBoundExperiment {
    private PivotBoundExperiment() {
    }

    public static void main(String[] args) throws Exception {
        PipelineBoundTest.Experimented ex = PipelineBoundTest.Experimented.of("densenet201.onnx", 64, 32, 16, 64);
        int stages = ex.stages();
        int m = ex.m();
        int v = Integer.getInteger("exp.v", 1);
        String name = System.getProperty("exp.schedule", "zero-bubble");
        PipelineBoundTest.Pipelined pl = ex.pl();
        PipelineBound least = PipelineBoundTest.leastOf(pl);
        Schedule sch = Schedules.of(name);
        int K = least.segments();
        int chunks = stages * v;
        System.err.printf("EXP %s: %d segments, plan %.6f ms%n", ex.model(), K, pl.o().stepSeconds() * 1e3);
        long t0 = System.nanoTime();
        double dual = least.dual(sch, stages, m, v, Double.POSITIVE_INFINITY, () -> 600).step();
        System.err.printf("EXP dual %.6f ms (%.2f s)%n", dual * 1e3, (System.nanoTime() - t0) / 1e9);
        PipelineBound.Paths paths = new PipelineBound.Paths(sch, stages, m, v);
        int[] base = least.balanced(chunks);
        double[] bv = least.values(base);
        int P = PipelineBound.Path.PARTS;
        int V = PipelineBound.Path.VALUES;
        String[] fams = System.getProperty("exp.families", "0:1.2,0:1.5,0:2,0:3,0:5").split(",");
        int F = fams.length;
        double[][][] coefs = new double[F][chunks][];
        int[][] dev = new int[F][chunks];
        for (int f = 0; f < F; f++) {
            int want = Integer.parseInt(fams[f].split(":")[0]);
            double scale = Double.parseDouble(fams[f].split(":")[1]);
            for (int k = 0; k < chunks; k++) {
                double[] heavy = bv.clone();
                for (int i = 0; i < V; i++) {
                    heavy[k * V + i] *= scale;
                }
                PipelineBound.Path top = null;
                double most = -1;
                for (PipelineBound.Path x : paths.trace(PipelineBound.profiles(heavy, chunks))) {
                    if (want == -2 || x.device() == (want < 0 ? k % stages : want)) {
                        double len = x.length(heavy, stages);
                        if (len > most) {
                            most = len;
                            top = x;
                        }
                    }
                }
                coefs[f][k] = top.coef();
                dev[f][k] = top.device();
            }
        }
        // per chunk j: the least over every row pivoting after it of its coefficients on j (the chunk's own index)
        double[][] al = new double[chunks][P];
        for (double[] r : al) {
            java.util.Arrays.fill(r, Double.POSITIVE_INFINITY);
        }
        for (int f = 0; f < F; f++) {
            for (int k = 0; k < chunks; k++) {
                for (int j = 0; j < k; j++) {
                    for (int q = 0; q < P; q++) {
                        al[j][q] = Math.min(al[j][q], coefs[f][k][j * P + q]);
                    }
                }
            }
        }
        for (int j = 0; j < chunks; j += Math.max(1, chunks / 8)) {
            System.err.printf("EXP before chunk %d: %s%n", j, java.util.Arrays.toString(al[j]));
        }
        double[][][] vals = new double[K + 1][K + 1][];
        for (int f = 0; f < K; f++) {
            for (int t = f + 1; t <= K; t++) {
                double[] val = f == 0 ? least.values(new int[] {t}) : least.values(new int[] {f, t});
                int off = f == 0 ? 0 : V;
                vals[f][t] = java.util.Arrays.copyOfRange(val, off, off + V);
            }
        }
        double[][][] A = new double[chunks][K + 1][K + 1];
        for (int j = 0; j < chunks - 1; j++) {
            for (int f = 0; f < K; f++) {
                for (int t = f + 1; t <= K; t++) {
                    double a = 0;
                    for (int q = 0; q < P; q++) {
                        a += al[j][q] * vals[f][t][q];
                    }
                    A[j][f][t] = a;
                }
            }
        }
        long tb = System.nanoTime();
        double[][][][] W = new double[F][chunks][][];
        double[][][] after = new double[F][chunks][];
        for (int f = 0; f < F; f++) {
            for (int k = 0; k < chunks; k++) {
                double[] nxt = new double[K + 1];
                java.util.Arrays.fill(nxt, Double.POSITIVE_INFINITY);
                nxt[K] = 0;
                for (int j = chunks - 1; j > k; j--) {
                    double[] cur = new double[K + 1];
                    java.util.Arrays.fill(cur, Double.POSITIVE_INFINITY);
                    double[] cj = java.util.Arrays.copyOfRange(coefs[f][k], j * P, j * P + P);
                    boolean own = dev[f][k] == j % stages;
                    for (int e = 0; e < K; e++) {
                        double best = Double.POSITIVE_INFINITY;
                        for (int t = e + 1; t <= K; t++) {
                            if (nxt[t] < Double.POSITIVE_INFINITY) {
                                double[] val = vals[e][t];
                                double c = 0;
                                for (int q = 0; q < P; q++) {
                                    c += cj[q] * val[q];
                                }
                                if (own) {
                                    c += val[PipelineBound.Path.SYNC] + val[PipelineBound.Path.UPDATE];
                                }
                                best = Math.min(best, c + nxt[t]);
                            }
                        }
                        cur[e] = best;
                    }
                    nxt = cur;
                }
                after[f][k] = nxt;
                double[][] ck = new double[K + 1][K + 1];
                double[] ckk = java.util.Arrays.copyOfRange(coefs[f][k], k * P, k * P + P);
                for (int s0 = 0; s0 < K; s0++) {
                    for (int t = s0 + 1; t <= K; t++) {
                        double[] val = vals[s0][t];
                        double c = 0;
                        for (int q = 0; q < P; q++) {
                            c += ckk[q] * val[q];
                        }
                        if (dev[f][k] == k % stages) {
                            c += val[PipelineBound.Path.SYNC] + val[PipelineBound.Path.UPDATE];
                        }
                        ck[s0][t] = c;
                    }
                }
                W[f][k] = ck;
            }
        }
        System.err.printf("EXP tables %.2f s%n", (System.nanoTime() - tb) / 1e9);
        double lo = 0;
        double hi = 1;
        long t1 = System.nanoTime();
        for (int it = 0; it < 40; it++) {
            double T = (lo + hi) / 2;
            if (feasible(T, chunks, K, A, W, after, null)) {
                hi = T;
            } else {
                lo = T;
            }
        }
        System.err.printf("EXP pivot bound %.6f ms over %d families (%.2f s)%n", lo * 1e3, F, (System.nanoTime() - t1) / 1e9);
        // the partition of the bound's least: a start for the local search
        int[] ends = new int[chunks];
        feasible(hi, chunks, K, A, W, after, ends);
        PipelineBound.Leaves leaves = least.new Leaves(paths, chunks);
        double at = leaves.step(ends);
        long td = System.nanoTime();
        double moved = least.descend(leaves, ends, PipelineSearch.DESCENT_PASSES, () -> 600);
        System.err.printf("EXP its partition on the least profiles %.6f ms, after the local search %.6f ms (%.2f s)%n", at * 1e3,
                moved * 1e3, (System.nanoTime() - td) / 1e9);
        PipelineBound.PartitionBound pb = least.partitionBound(paths, stages, ends, Double.POSITIVE_INFINITY,
                PipelineBound.PARTITION_ROUNDS, () -> 600);
        System.err.printf("EXP that partition solved: at least %.6f ms, its best column %.6f ms%n", pb.bound() * 1e3, pb.step() * 1e3);
        PipelineBound.Fixed fixed = least.fixed(paths, chunks, pb.layouts());
        if (fixed != null) {
            double on = least.descend(fixed, ends, PipelineSearch.DESCENT_PASSES, () -> 600);
            PipelineBound.PartitionBound pb2 = least.partitionBound(paths, stages, ends, Double.POSITIVE_INFINITY,
                    PipelineBound.PARTITION_ROUNDS, () -> 600);
            System.err.printf("EXP moved on with its layouts %.6f ms, solved again: %.6f ms%n", on * 1e3, pb2.step() * 1e3);
        }
    }

    private static boolean feasible(double T, int chunks, int K, double[][][] A, double[][][][] W, double[][][] after,
            int[] ends) {
        int[][] from = new int[chunks][K + 1];
        double[] pre = new double[K + 1];
        java.util.Arrays.fill(pre, Double.POSITIVE_INFINITY);
        pre[0] = 0;
        for (int j = 0; j < chunks; j++) {
            double[] next = new double[K + 1];
            java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
            for (int s = 0; s < K; s++) {
                if (pre[s] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                for (int t = s + 1; t <= K; t++) {
                    boolean ok = true;
                    for (int f = 0; f < W.length && ok; f++) {
                        double af = after[f][j][t];
                        ok = af < Double.POSITIVE_INFINITY && pre[s] + W[f][j][s][t] + af <= T;
                    }
                    if (ok && pre[s] + A[j][s][t] < next[t]) {
                        next[t] = pre[s] + A[j][s][t];
                        from[j][t] = s;
                    }
                }
            }
            pre = next;
        }
        if (ends != null && pre[K] < Double.POSITIVE_INFINITY) {
            int e = K;
            for (int j = chunks - 1; j >= 0; j--) {
                ends[j] = e;
                e = from[j][e];
            }
        }
        return pre[K] < Double.POSITIVE_INFINITY;
    }
}
