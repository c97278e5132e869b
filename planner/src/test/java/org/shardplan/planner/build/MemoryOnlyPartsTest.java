package org.shardplan.planner.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.parareal.Models;
import org.shardplan.planner.strategy.Layout;

/**
 * The memory-only pricing ({@link ProblemBuilder#memoryOnlyParts}, {@link ProblemBuilder#memoryOf}) against
 * the full one ({@link ProblemBuilder#memoryParts}, the costs' parameter and activation bytes): equal to the
 * bit on the zoo's dense and attention models under every ZeRO stage (0 to 3) and with recomputation,
 * attention fused and not; and the full costs a builder prices after its memory-only pass equal, in
 * every field, those of a builder that priced them at once.
 */
class MemoryOnlyPartsTest {

    private static ProblemBuilder builder(Cluster c, ComputeModel cm, MemoryModel mm) {
        return new ProblemBuilder(new ProblemBuilder.Settings(c, cm, mm, 64, OptionalDouble.empty()), 100,
                new ProblemBuilder.Shared());
    }

    /** Asserts the two kinds of parts equal (bit for bit) for every node and candidate; returns the candidates compared. */
    private static long assertSameParts(double[][][] only, double[][][] full, String what) {
        assertEquals(full.length, only.length, what);
        long candidates = 0;
        for (int i = 0; i < full.length; i++) {
            assertEquals(full[i].length, only[i].length, what + ": candidates of node " + i);
            for (int k = 0; k < full[i].length; k++) {
                // Arrays.equals on doubles compares the bits
                if (!Arrays.equals(full[i][k], only[i][k])) {
                    throw new AssertionError(what + ": node " + i + " candidate " + k + " memory-only "
                            + Arrays.toString(only[i][k]) + " against " + Arrays.toString(full[i][k]) + " in full");
                }
                candidates++;
            }
        }
        return candidates;
    }

    private static void compare(String model, Map<String, Long> dims, long batch, boolean attention, int... devices)
            throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph(model, dims));
        OptimizerSpec adam = MemoryModel.DEFAULT.optimizer();
        for (int d : devices) {
            Cluster c = Fixtures.a100(d);
            ComputeModel base = ComputeModel.analytic(c.device(0));
            for (ComputeModel cm : List.of(base, base.withAttention(false))) {
                if (!cm.fusedAttention() && !attention) {
                    continue;
                }
                // every ZeRO stage, recomputation with two of them
                for (int setting = 0; setting < 6; setting++) {
                    int zero = setting % 4;
                    boolean rc = setting >= 4;
                    MemoryModel mm = new MemoryModel(adam, zero, rc);
                    String what = model + " on " + d + " devices, ZeRO " + zero + ", recomputation " + rc
                            + ", attention " + (cm.fusedAttention() ? "fused" : "unfused");
                    ProblemBuilder first = builder(c, cm, mm);
                    ProblemBuilder fresh = builder(c, cm, mm);
                    Map<String, List<Layout>> req = Baselines.familyLayouts(cg, batch, first.digits());
                    double[][][] only = first.memoryOnlyParts(cg, req);
                    double[][][] full = fresh.memoryParts(cg, req);
                    long n = assertSameParts(only, full, what);
                    assertTrue(n > cg.nodes().size(), what + ": " + n + " candidates");
                    // the builder that priced memory alone prices the rest afterwards: the same costs in every field
                    List<List<ProblemBuilder.Cost>> late = first.nodeCosts(cg, req);
                    assertEquals(fresh.nodeCosts(cg, req), late, what + ": full costs after the memory-only pass");
                    // and once priced, its memory-only parts are read from the costs, still equal
                    assertSameParts(first.memoryOnlyParts(cg, req), full, what + " (after pricing)");
                }
            }
        }
    }

    @Test
    void denseNetMemoryEqualsFullPricing() throws Exception {
        compare("densenet121.onnx", Map.of("batch", 16L), 16, false, 8, 64);
    }

    @Test
    void inceptionAndUNetMemoryEqualsFullPricing() throws Exception {
        compare("inception_v3.onnx", Map.of("batch", 16L), 16, false, 16);
        compare("unet_small.onnx", Map.of("batch", 8L), 8, false, 8);
    }

    @Test
    void transformerMemoryEqualsFullPricing() throws Exception {
        // fused attention chains (their products' saved Q, K, V and outputs), tensor-parallel weights
        compare("gpt2_style.onnx", Map.of("batch", 8L, "seq", 128L), 8, true, 8, 16);
    }

    @Test
    void replicatedParametersByHand() {
        // fc1 holds w1[64, 256], fc2 w2[256, 64]: replicated, each device holds every weight with its
        // gradient and Adam's state, 16 bytes per parameter in mixed precision (2 + 2 + 4 + 4 + 4)
        CoarseGraph cg = Coarsening.coarsen(Fixtures.mlp(32, 64));
        Cluster c = Fixtures.a100(8);
        ProblemBuilder pb = builder(c, ComputeModel.analytic(c.device(0)), MemoryModel.DEFAULT);
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(cg);
        double total = 0;
        for (CoarseNode n : cg.nodes()) {
            double[] m = pb.memoryOf(n, spaces.get(n.index()), Layout.replicated());
            total += m[0];
            assertEquals(pb.nodeCost(n, spaces.get(n.index()), Layout.replicated()).parameterBytes(), m[0]);
            assertEquals(pb.nodeCost(n, spaces.get(n.index()), Layout.replicated()).activationBytes(), m[1]);
        }
        assertEquals(16.0 * (64 * 256 + 256 * 64), total, 1e-6);
    }
}
