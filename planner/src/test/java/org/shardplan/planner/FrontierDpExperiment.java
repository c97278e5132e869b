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

    /**
     * The least of a problem without memory by the frontier program (the windows' and the tightening's sweep, {@link
     * PipelineBound#frontier}); NaN where a state would exceed {@code cap}.
     */
    static double frontier(Problem p, int cap) {
        var s = PipelineBound.frontier(p.nodes(), p.edges(), cap, Long.MAX_VALUE, new long[1]);
        return s == null ? Double.NaN : s.value();
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
