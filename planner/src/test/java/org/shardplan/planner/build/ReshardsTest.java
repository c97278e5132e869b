package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.passes.CoarseEdge;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.parareal.Models;

/**
 * The memoised resharding prices ({@link Reshards}) against the direct path ({@link
 * ProblemBuilder#edgeCost(ProblemBuilder.Unit, ProblemBuilder.Unit, org.shardplan.graph.Value)}, which the
 * evaluator uses): every entry of every edge of the zoo's models equal to the bit, on one node and on
 * several, with the memo fresh and shared with builders of other micro-batch sizes.
 */
class ReshardsTest {

    private static ProblemBuilder builder(Cluster c, ProblemBuilder.Shared shared) {
        // the planner's cap of 64 layouts per node
        return new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)), MemoryModel.DEFAULT, 64,
                OptionalDouble.empty()), 100, shared);
    }

    /** Asserts every link's tables equal (bit for bit) the direct pricing of its tensor; returns the entries compared. */
    private static long assertSameAsDirect(ProblemBuilder pb, ProblemBuilder.Built b, String what) {
        CoarseGraph cg = b.coarse();
        long entries = 0;
        for (int i = 0; i < b.links().size(); i++) {
            ProblemBuilder.Link l = b.links().get(i);
            CoarseEdge e = cg.edges().get(i);
            double[][] direct = pb.edgeCost(b.units().get(e.from()), b.units().get(e.to()), e.value());
            // Arrays.equals on doubles compares the bits (doubleToLongBits)
            if (!Arrays.equals(direct[0], l.seconds()) || !Arrays.equals(direct[1], l.bytes())) {
                throw new AssertionError(what + ": edge " + i + " (" + l.value() + ") differs from the direct pricing: "
                        + Arrays.toString(l.seconds()) + " against " + Arrays.toString(direct[0]));
            }
            entries += l.seconds().length;
        }
        return entries;
    }

    private static void zoo(String model, Map<String, Long> dims, int... devices) throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph(model, dims));
        for (int d : devices) {
            ProblemBuilder pb = builder(Fixtures.a100(d), new ProblemBuilder.Shared());
            ProblemBuilder.Built b = pb.build(cg, Map.of());
            long entries = assertSameAsDirect(pb, b, model + " on " + d + " devices");
            assertTrue(entries > b.links().size(), model + ": " + entries + " entries compared");
        }
    }

    @Test
    void denseNetEqualsDirectPricing() throws Exception {
        zoo("densenet121.onnx", Map.of("batch", 16L), 8, 64);
    }

    @Test
    void uNetAndInceptionEqualDirectPricing() throws Exception {
        zoo("unet_small.onnx", Map.of("batch", 8L), 8, 16);
        zoo("inception_v3.onnx", Map.of("batch", 16L), 8, 64);
    }

    @Test
    void transformersEqualDirectPricing() throws Exception {
        // tensor parallelism: partial sums reduce-scattered forward, gradient parts backward, epilogues
        zoo("gpt2_style.onnx", Map.of("batch", 8L, "seq", 128L), 8, 16, 64);
    }

    @Test
    void sharedAcrossMicroBatchSizesStillEqual() throws Exception {
        Cluster c = Fixtures.a100(16);
        Reshards memo = new Reshards();
        int pairsAlone = 0;
        for (long micro : List.of(32L, 16L, 8L)) {
            CoarseGraph cg = Coarsening.coarsen(Models.graph("resnet50.onnx", Map.of("batch", micro)));
            ProblemBuilder pb = builder(c, new ProblemBuilder.Shared(memo));
            assertSameAsDirect(pb, pb.build(cg, Map.of()), "resnet50 at micro-batch " + micro);
            if (micro == 32) {
                pairsAlone = memo.pairs();
            }
        }
        // the smaller micro-batches place their tensors alike: few pairs of sides are new
        assertTrue(memo.pairs() < 2 * pairsAlone, memo.pairs() + " pairs after three sizes, " + pairsAlone + " after one");
        assertTrue(memo.matrices() > 0 && memo.sides() > 0);
        // each pair keeps one of the few distinct plans (interned), every entry still equal to the direct pricing
        assertTrue(memo.plans() > 0 && 10 * memo.plans() < memo.pairs(), memo.plans() + " distinct plans for "
                + memo.pairs() + " pairs");
    }

    @Test
    void oneClusterPerMemo() {
        Reshards memo = new Reshards();
        builder(Fixtures.a100(8), new ProblemBuilder.Shared(memo));
        builder(Fixtures.a100(8), new ProblemBuilder.Shared(memo));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder(Fixtures.a100(16), new ProblemBuilder.Shared(memo)));
        assertTrue(e.getMessage().startsWith("shared resharding prices must come from builders of one cluster"),
                e.getMessage());
    }

    @Test
    void equalTensorsShareOneMatrix() {
        // two layers of one MLP whose activations have the same shape: their edges are different classes of
        // nodes only where the nodes differ, and the tables of equal tensors between equal placements are one
        Cluster c = Fixtures.a100(8);
        ProblemBuilder pb = builder(c, new ProblemBuilder.Shared());
        ProblemBuilder.Built b = pb.build(Coarsening.coarsen(Fixtures.deepMlp(4, 64, 256)), Map.of());
        assertSameAsDirect(pb, b, "deep MLP");
        long distinct = b.links().stream().map(ProblemBuilder.Link::seconds).distinct().count();
        assertTrue(distinct < b.links().size(), distinct + " distinct tables for " + b.links().size() + " links");
        assertEquals(b.links().size(), b.coarse().edges().size());
    }
}
