package org.shardplan.planner;

import org.shardplan.planner.build.ProblemBuilder;
import org.shardplan.planner.build.StageProblem;

/**
 * A measurement, not a test: how wide a chunk's problem is when swept node by node in the problem's order, the
 * question that decides whether every chunk's exact least could be had from one sweep per start (a dynamic program
 * over the nodes whose state is the layouts of the nodes already placed that still have links to later ones). Prints,
 * to stderr, per start position of one configuration's cut positions, the largest count of such open nodes and the
 * largest product of their allowed layouts over the sweep to the model's end, and their maxima over the starts. Run
 * as {@link ExactChunkExperiment} is ({@code -Dexp.devices -Dexp.stages -Dexp.m -Dexp.batch -Dexp.model}).
 */
final class FrontierWidthExperiment {
    private FrontierWidthExperiment() {
    }

    public static void main(String[] args) throws Exception {
        PipelineBoundTest.Experimented ex = PipelineBoundTest.Experimented.of("densenet121.onnx", 32, 4, 1, 8);
        PipelineBoundTest.Pipelined pl = ex.pl();
        ProblemBuilder.Built b = pl.o().built();
        StageProblem.Filter f = pl.ps().filter(pl.cg(), pl.micro(), pl.per());
        int n = b.units().size();
        int[] allowed = new int[n];
        for (ProblemBuilder.Unit u : b.units()) {
            for (int k = 0; k < u.layouts().size(); k++) {
                allowed[u.index()] += f.allows(u, k) ? 1 : 0;
            }
        }
        int[] lastUse = new int[n];
        for (int i = 0; i < n; i++) {
            lastUse[i] = i;
        }
        for (ProblemBuilder.Link l : b.links()) {
            lastUse[l.from()] = Math.max(lastUse[l.from()], l.to());
        }
        int widest = 0;
        double largest = 0;
        long sumStates = 0;
        for (int start : pl.pos()) {
            if (start >= n) {
                continue;
            }
            int w = 0;
            double states = 1;
            for (int i = start; i < n; i++) {
                int open = 0;
                double prod = 1;
                for (int j = start; j <= i; j++) {
                    if (lastUse[j] > i) {
                        open++;
                        prod *= allowed[j];
                    }
                }
                w = Math.max(w, open);
                states = Math.max(states, prod);
                sumStates += (long) Math.min(prod * allowed[i], 1e12);
            }
            widest = Math.max(widest, w);
            largest = Math.max(largest, states);
        }
        double meanLayouts = 0;
        for (int a : allowed) {
            meanLayouts += a;
        }
        System.err.printf("EXP %s, %d devices, %d stages, %d micro-batches: %d nodes, %d cut positions, %.1f layouts a node;"
                + " the widest sweep %d open nodes, at most %.3g states; cells over every start's sweep to the end %.3g%n",
                ex.model(), ex.devices(), ex.stages(), ex.m(), n, pl.pos().size(), meanLayouts / n, widest, largest, (double) sumStates);
    }
}
