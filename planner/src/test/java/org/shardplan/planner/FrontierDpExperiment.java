package org.shardplan.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * A measurement, not a test: the exact least of random chunks' stage problems (no memory limit, untied) by the solver
 * and by a dynamic program over the nodes in order whose state is the candidates of the nodes placed that still have
 * edges to later ones (exact for any problem; cheap only where that state stays small, as {@link
 * FrontierWidthExperiment} measures). Prints, to stderr, the largest difference of the two optima and their times. Run
 * as {@link ExactChunkExperiment} is ({@code -Dexp.devices -Dexp.stages -Dexp.m -Dexp.batch -Dexp.model}, and {@code
 * -Dexp.chunks} chunks of up to {@code -Dexp.length} nodes).
 */
final class FrontierDpExperiment {
    private FrontierDpExperiment() {
    }

    /** The least of a problem without memory by the frontier program; NaN where a state would exceed {@code cap}. */
    static double frontier(Problem p, int cap) {
        int n = p.size();
        List<List<Problem.Edge>> into = new ArrayList<>();
        int[] last = new int[n];
        for (int i = 0; i < n; i++) {
            into.add(new ArrayList<>());
            last[i] = i;
        }
        for (Problem.Edge e : p.edges()) {
            if (e.from() >= e.to()) {
                return Double.NaN; // only edges forward in the order
            }
            into.get(e.to()).add(e);
            last[e.from()] = Math.max(last[e.from()], e.to());
        }
        int[] open = new int[0]; // the open nodes, in order
        double[] value = {0};
        for (int i = 0; i < n; i++) {
            int k = p.strategies(i);
            // the new open set: the old ones still read after i, and i where read after it
            int[] next = new int[open.length + 1];
            int c = 0;
            for (int j : open) {
                if (last[j] > i) {
                    next[c++] = j;
                }
            }
            if (last[i] > i) {
                next[c++] = i;
            }
            next = java.util.Arrays.copyOf(next, c);
            long size = 1;
            for (int j : next) {
                size *= p.strategies(j);
            }
            if (size > cap) {
                return Double.NaN;
            }
            double[] nv = new double[(int) size];
            java.util.Arrays.fill(nv, Double.POSITIVE_INFINITY);
            int[] oldStride = strides(p, open);
            int[] newStride = strides(p, next);
            // per edge into i: the position of its source among the open nodes
            List<Problem.Edge> in = into.get(i);
            int[] srcPos = new int[in.size()];
            for (int e = 0; e < in.size(); e++) {
                srcPos[e] = indexOf(open, in.get(e).from());
            }
            int[] keepOld = new int[next.length]; // per new open node: its position among the old (-1: i itself)
            for (int q = 0; q < next.length; q++) {
                keepOld[q] = next[q] == i ? -1 : indexOf(open, next[q]);
            }
            int[] digits = new int[open.length];
            for (int s = 0; s < value.length; s++) {
                if (value[s] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                int rem = s;
                for (int q = 0; q < open.length; q++) {
                    digits[q] = rem / oldStride[q];
                    rem %= oldStride[q];
                }
                int base = 0;
                int iStride = 0;
                for (int q = 0; q < next.length; q++) {
                    if (keepOld[q] >= 0) {
                        base += digits[keepOld[q]] * newStride[q];
                    } else {
                        iStride = newStride[q];
                    }
                }
                for (int x = 0; x < k; x++) {
                    double v = value[s] + p.nodes().get(i).cost(x);
                    for (int e = 0; e < srcPos.length; e++) {
                        v += in.get(e).cost(digits[srcPos[e]], x);
                    }
                    int t = base + x * iStride;
                    if (v < nv[t]) {
                        nv[t] = v;
                    }
                }
            }
            open = next;
            value = nv;
        }
        double best = Double.POSITIVE_INFINITY;
        for (double v : value) {
            best = Math.min(best, v);
        }
        return best;
    }

    private static int[] strides(Problem p, int[] open) {
        int[] s = new int[open.length];
        int acc = 1;
        for (int q = open.length - 1; q >= 0; q--) {
            s[q] = acc;
            acc *= p.strategies(open[q]);
        }
        return s;
    }

    private static int indexOf(int[] a, int x) {
        for (int q = 0; q < a.length; q++) {
            if (a[q] == x) {
                return q;
            }
        }
        return -1;
    }

    public static void main(String[] args) throws Exception {
        PipelineBoundTest.Experimented ex = PipelineBoundTest.Experimented.of("densenet121.onnx", 32, 4, 1, 8);
        int stages = ex.stages();
        int m = ex.m();
        int chunks = Integer.getInteger("exp.chunks", 200);
        int length = Integer.getInteger("exp.length", 80);
        PipelineBoundTest.Pipelined pl = ex.pl();
        ProblemBuilder.Built b = pl.o().built();
        int n = b.units().size();
        Random r = new Random(7);
        List<Problem> ps = new ArrayList<>();
        for (int c = 0; c < chunks; c++) {
            int from = r.nextInt(n - 1);
            int to = Math.min(n, from + 1 + r.nextInt(length));
            ps.add(StageProblem.of(b, from, to, new ProblemBuilder.Repeat(m + stages - 1, 1), StageProblem.Filter.ALL,
                    OptionalDouble.empty(), false).problem());
        }
        for (int round = 0; round < 3; round++) {
            double worst = 0;
            int skipped = 0;
            long t0 = System.nanoTime();
            double[] a = new double[ps.size()];
            for (int c = 0; c < ps.size(); c++) {
                Solution s = new DpSolver().solve(ps.get(c), Solver.Options.withTimeLimit(600));
                a[c] = s.objective();
            }
            long t1 = System.nanoTime();
            double[] f = new double[ps.size()];
            for (int c = 0; c < ps.size(); c++) {
                f[c] = frontier(ps.get(c), 1 << 16);
            }
            long t2 = System.nanoTime();
            for (int c = 0; c < ps.size(); c++) {
                if (Double.isNaN(f[c])) {
                    skipped++;
                } else {
                    worst = Math.max(worst, Math.abs(f[c] - a[c]) / Math.max(1e-30, Math.abs(a[c])));
                }
            }
            System.err.printf("EXP %s, %d chunks of up to %d nodes: solver %.3f s, frontier %.3f s, largest relative"
                    + " difference %.3g, %d too wide%n", ex.model(), ps.size(), length, (t1 - t0) / 1e9, (t2 - t1) / 1e9, worst,
                    skipped);
        }
    }
}
