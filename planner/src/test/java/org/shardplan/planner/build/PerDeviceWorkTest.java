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
 * nodes between them; and a builder whose compute model prices otherwise keeps its own.
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

    @Test
    void denseNetSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("densenet121.onnx", Map.of("batch", 16L));
    }

    @Test
    void transformerSharedEqualsOwn() throws Exception {
        sharedEqualsOwn("gpt2_style.onnx", Map.of("batch", 8L, "seq", 128L));
    }
}
