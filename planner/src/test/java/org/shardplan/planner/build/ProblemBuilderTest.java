package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.shardplan.planner.strategy.StrategySpace;

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
        // devices on NVLink (300 GB/s, 2 us): the fastest of ring, tree, and a reduce-scatter and an
        // all-gather in log2(8) = 3 steps each (Rabenseifner)
        double n = 4096 * 1024 * 2.0;
        // the 8 MiB gradient is a third of a 25 MiB bucket: it pays that share of the bucket's all-reduce, the
        // bucket's latency paid once for all the tensors in it
        double bucket = 25 * 1024 * 1024;
        assertEquals(n / bucket * allReduceOn8(bucket), cost.communicationSeconds(), 1e-15);
        assertTrue(cost.communicationSeconds() < allReduceOn8(n));
        // a gradient larger than a bucket pays its own all-reduce: w2 of a 2048-wide MLP, 8192 x 2048 x 2 bytes
        ProblemBuilder.Unit wide = pb.build(Fixtures.mlp(64, 2048), Map.of()).unit("fc2").orElseThrow();
        double wn = 8192 * 2048 * 2.0;
        assertEquals(allReduceOn8(wn), wide.costs().get(wide.indexOf(dp)).communicationSeconds(), 1e-15);
        // weights 2 + gradients 2 + Adam state 12 bytes per parameter, unsharded
        double params = 4096 * 1024 * 16.0;
        // fc2 saves its input r for the weight gradient: 64/8 x 4096 floats
        assertEquals(params + 8 * 4096 * 4.0, cost.memoryBytes(), 1e-6);
    }

    @Test
    void aModelWhoseGradientFitsOneBucketPaysOneAllReduceOfAllOfIt() {
        Cluster c = Fixtures.a100(8);
        Graph g = Fixtures.mlp(64, 64); // w1 [64, 256] and w2 [256, 64]: 64 KiB of 2-byte gradients
        org.shardplan.graph.passes.CoarseGraph cg = org.shardplan.graph.passes.Coarsening.coarsen(g);
        ProblemBuilder.Settings settings = builder(c).settings().forModel(cg);
        double whole = 2 * 64 * 256 * 2.0;
        assertEquals(whole, settings.gradientBucketBytes(), 0);
        ProblemBuilder pb = new ProblemBuilder(settings, 2);
        ProblemBuilder.Built b = pb.build(cg, Map.of());
        double grad = 0;
        for (String name : List.of("fc1", "fc2")) {
            ProblemBuilder.Unit u = b.unit(name).orElseThrow();
            Layout dp = Layout.place(Strategy.of("m", 8), List.of("m"), pb.digits()).orElseThrow();
            grad += u.costs().get(u.indexOf(dp)).gradientSeconds();
        }
        // data parallel: the two weights' shares add up to one all-reduce of the whole gradient, one latency
        assertEquals(allReduceOn8(whole), grad, 1e-15);
        assertTrue(grad < allReduceOn8(whole / 2) * 2 * (1 - 1e-3), "less than two all-reduces, each with its latency");
        // settings made without a model keep the full 25 MiB bucket
        assertEquals(25 * 1024 * 1024, builder(c).settings().gradientBucketBytes(), 0);
    }

    /**
     * An all-reduce of {@code n} bytes over 8 devices on NVLink (300 GB/s, 2 us): the fastest of ring, tree,
     * and a reduce-scatter and an all-gather in log2(8) = 3 steps each (Rabenseifner), which is the last.
     */
    private static double allReduceOn8(double n) {
        double ring = 2 * 7 * 2e-6 + 2 * (7 / 8.0) * n / 210e9;
        double tree = 2 * 3 * 2e-6 + 2 * n / 210e9;
        double halves = 2 * (3 * 2e-6 + (7 / 8.0) * n / 210e9);
        assertEquals(halves, Math.min(Math.min(ring, tree), halves), 1e-18);
        return halves;
    }

    @Test
    void splittingTheReductionDimensionReduceScattersThePartialSums() {
        Cluster c = Fixtures.a100(8);
        ProblemBuilder pb = builder(c);
        ProblemBuilder.Built b = pb.build(Fixtures.mlp(64, 1024), Map.of());
        ProblemBuilder.Unit fc2 = b.unit("fc2").orElseThrow();
        Layout rowParallel = Layout.place(Strategy.of("k", 8), List.of("k"), pb.digits()).orElseThrow();
        ProblemBuilder.Cost cost = fc2.costs().get(fc2.indexOf(rowParallel));
        // output y (64 x 1024 floats) reduce-scattered over the 8 devices (the all-gather, if a consumer
        // needs y whole, is on the edge to it; y is the graph's output and stays scattered); w2 is split,
        // not copied; the input r is split along k, so its gradient needs no reduction either
        double n = 64 * 1024 * 4.0;
        double ring = 7 * 2e-6 + (7 / 8.0) * n / 210e9;
        double tree = 3 * 2e-6 + (7 / 8.0) * n / 210e9;
        assertEquals(Math.min(ring, tree), cost.communicationSeconds(), 1e-15);
        assertEquals((7 / 8.0) * n, cost.communicationBytes(), 1e-6);
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
        assertEquals(2e-6 + full * 7 / 8 / 210e9, t[1], 1e-15);
    }

    @Test
    void repeatedNodesShareOneCostTable() {
        ProblemBuilder pb = builder(Fixtures.a100(8));
        ProblemBuilder.Built b = pb.build(Fixtures.mlp(64, 1024), Map.of());
        assertEquals(2, b.units().size());
        assertEquals(Optional.empty(), b.unit("relu"), "relu is fused into fc1");
        assertEquals(1, b.links().size());
    }
    static ProblemBuilder builder(Cluster c, int maxLayouts) {
        return new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)), MemoryModel.DEFAULT,
                maxLayouts, OptionalDouble.empty()), 2);
    }

    @Test
    void copiesOnMoreDevicesCostWhatTheFewerDevicesCost() {
        // with a cap of 4 layouts per node, the 64-device candidates would hold only splits over many
        // devices; every 8-device candidate is also one on 64 devices, copied 8 times, at the same cost
        Graph g = Fixtures.deepMlp(2, 64, 1024);
        ProblemBuilder small = builder(Fixtures.a100(8), 4);
        ProblemBuilder large = builder(Fixtures.a100(64), 4);
        ProblemBuilder.Built bs = small.build(g, Map.of());
        ProblemBuilder.Built bl;
        System.setProperty("shardplan.copiedCandidates", "true");
        try {
            bl = large.build(g, Map.of());
        } finally {
            System.clearProperty("shardplan.copiedCandidates");
        }
        for (ProblemBuilder.Unit u : bs.units()) {
            ProblemBuilder.Unit v = bl.unit(u.name()).orElseThrow();
            for (int i = 0; i < u.layouts().size(); i++) {
                Layout copied = StrategySpace.copied(u.layouts().get(i), large.digits());
                int j = v.indexOf(copied);
                assertTrue(j >= 0, u.name() + ": " + u.layouts().get(i).label() + " must be a candidate on 64 devices");
                assertEquals(u.costs().get(i), v.costs().get(j), u.name() + " " + copied.label());
            }
        }
        ProblemBuilder.Link ls = bs.links().get(0);
        ProblemBuilder.Link ll = bl.links().get(0);
        ProblemBuilder.Unit p = bs.units().get(ls.from());
        ProblemBuilder.Unit c = bs.units().get(ls.to());
        for (int i = 0; i < p.layouts().size(); i++) {
            for (int k = 0; k < c.layouts().size(); k++) {
                int i64 = bl.units().get(ll.from()).indexOf(StrategySpace.copied(p.layouts().get(i), large.digits()));
                int k64 = bl.units().get(ll.to()).indexOf(StrategySpace.copied(c.layouts().get(k), large.digits()));
                int cols64 = bl.units().get(ll.to()).layouts().size();
                assertEquals(ls.seconds()[i * c.layouts().size() + k], ll.seconds()[i64 * cols64 + k64], 0.0);
                assertEquals(ls.bytes()[i * c.layouts().size() + k], ll.bytes()[i64 * cols64 + k64], 0.0);
            }
        }
    }

    @Test
    void reduceScatteredSumsLandFreeInALayoutSplitOverTheSameDevices() {
        // fc0 -> r0 [64, 1024] -> fc1: the edge's price under row-parallel, data-parallel, column-parallel and
        // replicated layouts on one node of 8 A100s (NVLink: 300 GB/s, 2 us)
        Graph g = Fixtures.deepMlp(2, 64, 1024);
        ProblemBuilder pb = builder(Fixtures.a100(8));
        ProblemBuilder.Built b = pb.build(g, Map.of());
        ProblemBuilder.Unit fc0 = b.unit("fc0").orElseThrow();
        ProblemBuilder.Unit fc1 = b.unit("fc1").orElseThrow();
        org.shardplan.graph.Value r0 = b.coarse().edges().get(0).value();
        assertEquals("r0", r0.name());
        DeviceDigits dd = pb.digits();
        Layout row = Layout.place(Strategy.of("k", 8), List.of("k"), dd).orElseThrow();
        Layout batch = Layout.place(Strategy.of("m", 8), List.of("m"), dd).orElseThrow();
        Layout column = Layout.place(Strategy.of("n", 8), List.of("n"), dd).orElseThrow();
        Layout whole = Layout.replicated();
        double full = 64 * 1024 * 4.0;
        double gather = 3 * 2e-6 + 7 / 8.0 * full / 210e9; // all-gather of r0 over 8 devices: log2(8) steps
        double receive = 2e-6 + 7 / 8.0 * full / 210e9;   // resharding: one message of the 7/8 a device lacks
        // row-parallel fc0 reduce-scatters r0; batch-parallel fc1 needs exactly its rows: nothing forward; its
        // gradient comes back split by rows and fc0 needs it whole (the backward of a reduce-scatter)
        assertArrayEquals(new double[] {receive, 7 / 8.0 * full}, pb.edgeCost(fc0, row, fc1, batch, r0), 1e-15);
        // a replicated consumer needs r0 whole: the all-gather that completes the all-reduce
        assertArrayEquals(new double[] {gather, 7 / 8.0 * full}, pb.edgeCost(fc0, row, fc1, whole, r0), 1e-15);
        // column-parallel fc1 reads r0 whole (forward: gathered from the rows fc0 holds) and reduce-scatters
        // the parts of its gradient, which land in batch-parallel fc0's rows
        assertArrayEquals(new double[] {receive, 7 / 8.0 * full}, pb.edgeCost(fc0, batch, fc1, column, r0), 1e-15);
        // ... or are all-gathered for a producer that holds r0 whole
        assertArrayEquals(new double[] {gather, 7 / 8.0 * full}, pb.edgeCost(fc0, whole, fc1, column, r0), 1e-15);
        // the node pays the reduce-scatter of the gradient of r0 (an input held in 8 copies): 3 steps, 7/8 each
        ProblemBuilder.Cost cc = fc1.costs().get(fc1.indexOf(column));
        assertEquals(7 / 8.0 * full, cc.microCommunicationBytes(), 1e-6);
        assertEquals(3 * 2e-6 + 7 / 8.0 * full / 210e9, cc.microCommunicationSeconds(), 1e-15);
        // Megatron's MLP (column-parallel, then row-parallel): the split hidden activations need no resharding
        Layout fc0Column = column;
        Layout fc1Row = row;
        assertArrayEquals(new double[] {0, 0}, pb.edgeCost(fc0, fc0Column, fc1, fc1Row, r0), 0);
    }
}
