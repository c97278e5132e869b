package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.Graph;
import org.shardplan.graph.space.Strategy;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;

class ProblemBuilderTest {

    static ProblemBuilder builder(Cluster c) {
        return new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)), MemoryModel.DEFAULT, 0,
                OptionalDouble.empty()), 2);
    }

    @Test
    void dataParallelPaysTheGradientAllReduceOfItsWeights() {
        Cluster c = Fixtures.a100(8);
        ProblemBuilder pb = builder(c);
        Graph g = Fixtures.mlp(64, 1024);
        ProblemBuilder.Built b = pb.build(g, Map.of());
        ProblemBuilder.Unit fc2 = b.unit("fc2").orElseThrow();
        Layout dp = Layout.place(Strategy.of("m", 8), List.of("m"), pb.digits()).orElseThrow();
        ProblemBuilder.Cost cost = fc2.costs().get(fc2.indexOf(dp));
        // gradient of w2 (4096 x 1024, 2 bytes each with Adam in mixed precision) all-reduced over 8
        // devices on NVLink (300 GB/s, 2 us): the faster of ring and tree
        double n = 4096 * 1024 * 2.0;
        double ring = 2 * 7 * 2e-6 + 2 * (7 / 8.0) * n / 300e9;
        double tree = 2 * 3 * 2e-6 + 2 * n / 300e9;
        assertEquals(Math.min(ring, tree), cost.communicationSeconds(), 1e-15);
        // weights 2 + gradients 2 + Adam state 12 bytes per parameter, unsharded
        double params = 4096 * 1024 * 16.0;
        // fc2 saves its input r for the weight gradient: 64/8 x 4096 floats
        assertEquals(params + 8 * 4096 * 4.0, cost.memoryBytes(), 1e-6);
    }

    @Test
    void splittingTheReductionDimensionAllReducesThePartialSums() {
        Cluster c = Fixtures.a100(8);
        ProblemBuilder pb = builder(c);
        ProblemBuilder.Built b = pb.build(Fixtures.mlp(64, 1024), Map.of());
        ProblemBuilder.Unit fc2 = b.unit("fc2").orElseThrow();
        Layout rowParallel = Layout.place(Strategy.of("k", 8), List.of("k"), pb.digits()).orElseThrow();
        ProblemBuilder.Cost cost = fc2.costs().get(fc2.indexOf(rowParallel));
        // output y (64 x 1024 floats) all-reduced over the 8 devices; w2 is split, not copied; the input
        // r is split along k, so its gradient needs no reduction either
        double n = 64 * 1024 * 4.0;
        double ring = 2 * 7 * 2e-6 + 2 * (7 / 8.0) * n / 300e9;
        double tree = 2 * 3 * 2e-6 + 2 * n / 300e9;
        assertEquals(Math.min(ring, tree), cost.communicationSeconds(), 1e-15);
    }

    @Test
    void localFractionsOfCommonReshardings() {
        ProblemBuilder pb = builder(Fixtures.a100(8));
        DeviceDigits dd = pb.digits();
        assertEquals(3, dd.size());
        // a tensor split 8 ways on its first axis, needed whole: each device holds 1/8
        assertEquals(1 / 8.0, pb.localFraction(new int[][] {{}, {}}, new int[][] {{2, 1, 0}, {}}), 0);
        // held whole, needed split: all of it is local
        assertEquals(1.0, pb.localFraction(new int[][] {{2, 1, 0}, {}}, new int[][] {{}, {}}), 0);
        // rows split by digit 0, then columns split by digit 0 (a transpose of the split): 1/2 local
        assertEquals(0.5, pb.localFraction(new int[][] {{}, {0}}, new int[][] {{0}, {}}), 0);
        // the same split on other digits: the blocks agree on one device in 2
        assertEquals(0.5, pb.localFraction(new int[][] {{1}, {}}, new int[][] {{0}, {}}), 0);
        // identical layouts
        assertEquals(1.0, pb.localFraction(new int[][] {{2, 1}, {0}}, new int[][] {{2, 1}, {0}}), 0);
        // all-gather of a tensor split 8 ways: each device receives 7/8 of it over NVLink
        double full = 64 * 1024 * 4.0;
        double[] t = pb.transfer(new int[][] {{}, {}}, new int[][] {{2, 1, 0}, {}}, full);
        assertEquals(full * 7 / 8, t[0], 1e-6);
        assertEquals(2e-6 + full * 7 / 8 / 300e9, t[1], 1e-15);
    }

    @Test
    void repeatedNodesShareOneCostTable() {
        ProblemBuilder pb = builder(Fixtures.a100(8));
        ProblemBuilder.Built b = pb.build(Fixtures.mlp(64, 1024), Map.of());
        assertEquals(2, b.units().size());
        assertEquals(Optional.empty(), b.unit("relu"), "relu is fused into fc1");
        assertEquals(1, b.links().size());
    }
}
