package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.parareal.Models;

/**
 * The per-device nodes' prices shared by the builders of one graph ({@link ProblemBuilder.PerDeviceWork}):
 * builders on submeshes of several sizes and under several memory models that share one memo give every
 * node the same costs, in every field, as builders with memos of their own; they price fewer per-device
 * nodes between them; and a builder whose compute model prices otherwise keeps its own. The graph's own
 * facts (spaces, signatures, attention chains) are worked out once for all of them.
 */
class PerDeviceWorkTest {

    private static ProblemBuilder builder(int devices, ComputeModel cm, MemoryModel mm, ProblemBuilder.PerDeviceWork w) {
        Cluster c = Fixtures.a100(devices);
        return new ProblemBuilder(new ProblemBuilder.Settings(c, cm, mm, 64, OptionalDouble.empty()), 100,
                new ProblemBuilder.Shared(new Reshards(), w));
    }

    private static void sharedEqualsOwn(String model, Map<String, Long> dims) throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph(model, dims));
        ProblemBuilder.PerDeviceWork shared = new ProblemBuilder.PerDeviceWork();
        int own = 0;
        MemoryModel rc = new MemoryModel(MemoryModel.DEFAULT.optimizer(), 1, true);
        for (int d : new int[] {64, 16, 8}) {
            for (MemoryModel mm : List.of(MemoryModel.DEFAULT, rc)) {
                // a fresh analytic model per builder, as the planner makes them: it prices alike
                ComputeModel cm = ComputeModel.analytic(Fixtures.a100(d).device(0));
                ProblemBuilder.PerDeviceWork alone = new ProblemBuilder.PerDeviceWork();
                List<List<ProblemBuilder.Cost>> expected = builder(d, cm, mm, alone).nodeCosts(cg, Map.of());
                own += alone.size();
                assertEquals(expected, builder(d, cm, mm, shared).nodeCosts(cg, Map.of()),
                        model + " on " + d + " devices, " + mm);
            }
        }
        assertTrue(shared.size() > 0 && shared.size() * 2 < own, shared.size() + " per-device nodes shared, " + own
                + " priced alone");
        // attention priced unfused: another model, whose builder keeps prices of its own
        ComputeModel unfused = ComputeModel.analytic(Fixtures.a100(8).device(0)).withAttention(false);
        int before = shared.size();
        List<List<ProblemBuilder.Cost>> expected = builder(8, unfused, MemoryModel.DEFAULT, new ProblemBuilder.PerDeviceWork())
                .nodeCosts(cg, Map.of());
        assertEquals(expected, builder(8, unfused, MemoryModel.DEFAULT, shared).nodeCosts(cg, Map.of()));
        assertEquals(before, shared.size());
    }

    /**
     * The graph's facts (spaces, signatures, attention chains) worked out once for all the builders that
     * share a memo, whatever their devices, memory or compute model (attention fused and not), and the
     * same candidates, memory parts and costs as builders that work them out alone.
     */
    @Test
    void graphFactsWorkedOutOnce() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph("gpt2_style.onnx", Map.of("batch", 8L, "seq", 128L)));
        ProblemBuilder.PerDeviceWork shared = new ProblemBuilder.PerDeviceWork();
        MemoryModel rc = new MemoryModel(MemoryModel.DEFAULT.optimizer(), 3, true);
        int builders = 0;
        for (int d : new int[] {16, 8}) {
            ComputeModel fused = ComputeModel.analytic(Fixtures.a100(d).device(0));
            for (ComputeModel cm : List.of(fused, fused.withAttention(false))) {
                for (MemoryModel mm : List.of(MemoryModel.DEFAULT, rc)) {
                    String what = d + " devices, " + mm + ", attention fused " + cm.fusedAttention();
                    ProblemBuilder alone = builder(d, cm, mm, new ProblemBuilder.PerDeviceWork());
                    ProblemBuilder sharing = builder(d, cm, mm, shared);
                    Map<String, List<org.shardplan.planner.strategy.Layout>> req =
                            org.shardplan.planner.baseline.Baselines.familyLayouts(cg, 8, alone.digits());
                    double[][][] only = sharing.memoryOnlyParts(cg, req);
                    double[][][] parts = alone.memoryParts(cg, req);
                    assertTrue(java.util.Arrays.deepEquals(parts, only), what + ": memory-only parts");
                    assertTrue(java.util.Arrays.deepEquals(parts, sharing.memoryParts(cg, req)), what + ": memory parts");
                    ProblemBuilder.Built a = alone.build(cg, req);
                    ProblemBuilder.Built b = sharing.build(cg, req);
                    for (int i = 0; i < a.units().size(); i++) {
                        assertEquals(a.units().get(i).layouts(), b.units().get(i).layouts(), what + ": unit " + i);
                        assertEquals(a.units().get(i).costs(), b.units().get(i).costs(), what + ": unit " + i);
                    }
                    builders++;
                }
            }
        }
        assertEquals(8, builders);
        assertEquals(1, shared.graphsAnalysed(), "the graph's facts worked out once for " + builders + " builders");
    }

    @Test
    void denseNetSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("densenet121.onnx", Map.of("batch", 16L));
    }

    @Test
    void transformerSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("gpt2_style.onnx", Map.of("batch", 8L, "seq", 128L));
    }
}
