package org.shardplan.planner;

import java.util.List;

/**
 * The setup the measurement classes share ({@code CutBranchExperiment}, {@code ExactChunkExperiment}): one pipeline
 * configuration of a model priced (no bound), its cut positions and the bound of its problem.
 *
 * @param ps the search that priced it
 * @param o the configuration's plan (its schedule, layouts and stage bounds)
 * @param pos the cut positions
 * @param least the bound of the configuration's problem at those positions
 */
record ExperimentSetup(PipelineSearch ps, PipelineSearch.Outcome o, List<Integer> pos, PipelineBound least) {

    /** {@code model} at {@code batch} on {@code devices} A100s, priced at {@code stages} stages and {@code m} micro-batches. */
    static ExperimentSetup of(ModelSource model, int devices, int stages, int m, long batch) throws Exception {
        Planner p = Planner.forCluster(Fixtures.a100(devices)).withBatch(batch);
        PipelineSearch ps = new PipelineSearch(p, SearchOptions.AUTO, model, batch, 600);
        ps.useBound = false;
        var o = ps.price(stages, m, false, 1).orElseThrow();
        long micro = batch / m;
        var cg = ps.coarse(micro);
        List<Integer> pos = PipelineSearch.cutPositions(o.built().units().size(), ps.cuts(cg, micro));
        var sm = PipelineSearch.class.getDeclaredMethod("sendsAt", org.shardplan.planner.build.ProblemBuilder.Built.class,
                List.class, int.class);
        sm.setAccessible(true);
        double[] sends = (double[]) sm.invoke(ps, o.built(), pos, devices / stages);
        PipelineBound least = new PipelineBound(o.built(), ps.filter(cg, micro, devices / stages), pos, sends, false,
                o.builder().settings().compute(), o.builder().settings().memory().optimizer(), () -> 600);
        return new ExperimentSetup(ps, o, pos, least);
    }
}
