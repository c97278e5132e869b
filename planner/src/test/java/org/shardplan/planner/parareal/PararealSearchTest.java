package org.shardplan.planner.parareal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.memory.MemoryModel;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;
import org.shardplan.planner.build.ProblemBuilder;

/** The parareal step against sums of node costs taken from the problem builder directly. */
class PararealSearchTest {
    private static final double EPS = 1e-12;

    private static ProblemBuilder.Built built(CoarseGraph cg, Cluster full, int devices) {
        Cluster c = devices == full.deviceCount() ? full : Fixtures.a100(devices);
        ProblemBuilder pb = new ProblemBuilder(new ProblemBuilder.Settings(c, ComputeModel.analytic(c.device(0)),
                MemoryModel.DEFAULT, 0, OptionalDouble.empty()), cg.nodes().size());
        return pb.build(cg, Map.of());
    }

    @Test
    void linearPartitionMinimisesTheLargestPart() {
        // [1, 2, 3 | 4 | 5]: 6; [1, 2, 3 | 4, 5]: 9
        assertArrayEquals(new int[] {0, 3, 4, 5}, PararealSearch.partition(new double[] {1, 2, 3, 4, 5}, 3));
        assertArrayEquals(new int[] {0, 3, 5}, PararealSearch.partition(new double[] {1, 2, 3, 4, 5}, 2));
        // equal blocks: 2 + 3 (the earliest cut among equals)
        assertArrayEquals(new int[] {0, 2, 5}, PararealSearch.partition(new double[] {1, 1, 1, 1, 1}, 2));
        assertArrayEquals(new int[] {0, 1, 2, 3}, PararealSearch.partition(new double[] {7, 1, 7}, 3));
    }

    @Test
    void twoSegmentsOnTwoDevicesAddUpFromNodeCosts() throws ShardplanException {
        long batch = 64;
        long d = 1024;
        CoarseGraph cg = Coarsening.coarsen(Fixtures.deepMlp(6, batch, d));
        Cluster two = Fixtures.a100(2);
        List<PararealSearch.Candidate> cs = PararealSearch.price(cg, n -> built(cg, two, n), two, 1e12,
                OptionalInt.of(2), 30, "--parareal");
        assertEquals(1, cs.size());
        PararealSearch.Candidate c = cs.get(0);
        assertEquals(2, c.segments());
        assertEquals(1, c.devicesPerSegment());
        assertArrayEquals(new int[] {0, 3, 6}, c.bounds());
        assertEquals(List.of("fc3"), c.cutNames(cg));
        // on one device every node has one layout, replicated: a segment is the sum of its three nodes
        ProblemBuilder.Built one = built(cg, two, 1);
        for (ProblemBuilder.Unit u : one.units()) {
            assertEquals(1, u.layouts().size());
        }
        double first = one.units().get(0).costs().get(0).seconds();
        double perNode = one.units().get(1).costs().get(0).seconds();
        assertTrue(first < perNode, "the first layer computes no gradient of the graph input");
        assertEquals(first + 2 * perNode, c.segmentSeconds()[0], perNode * 1e-9);
        assertEquals(3 * perNode, c.segmentSeconds()[1], perNode * 1e-9);
        // the coarse block on both devices: the cheapest layout of one node (it has no edges), evaluated
        // 2N - 1 = 3 times with its gradient reduced N = 2 times
        ProblemBuilder.Built all = built(cg, two, 2);
        ProblemBuilder.Cost bestG = null;
        for (ProblemBuilder.Cost k : all.units().get(1).costs()) {
            if (bestG == null || k.seconds() < bestG.seconds()) {
                bestG = k;
            }
        }
        double coarse = 3 * (bestG.seconds() - bestG.gradientSeconds()) + 2 * bestG.gradientSeconds();
        assertEquals(coarse, c.coarseSeconds(), coarse * 1e-9);
        // x[64, 1024] float32 goes to each group of 1 device and back, forward and backward: 4 transfers
        double bytes = batch * d * 4;
        double transfer = 4 * two.nodes().get(0).intraNode().transferSeconds(bytes);
        assertEquals(transfer, c.transferSeconds(), transfer * EPS);
        assertEquals(0, c.outsideSeconds(), "the chain is the whole model");
        assertEquals(coarse + 3 * perNode + transfer, c.stepSeconds(), c.stepSeconds() * 1e-9);
        assertEquals(2, c.coarseNodes());
        assertEquals(2 * d * d, c.coarseParameters());
        assertTrue(c.fits());
    }

    /**
     * A fine segment runs on a group of devices of its own and reduces its gradients in buckets of its own: a segment
     * whose gradient is less than a bucket pays at least one collective's latency, as a pipeline stage does, where the
     * model-wide shares of its buckets price less ({@link ProblemBuilder.Cost#stageReduction}).
     */
    @Test
    void aSegmentPaysAtLeastOneLatencyForItsReduction() throws ShardplanException {
        // six 256 x 256 layers at batch 4096 in two segments of two A100s, data parallel: 0.75 MiB of fp32 gradient a
        // segment, under a bucket
        CoarseGraph cg = Coarsening.coarsen(Fixtures.deepMlp(6, 4096, 256));
        Cluster four = Fixtures.a100(4);
        boolean was = ProblemBuilder.stageLatencyFloor;
        double[] on;
        double[] off;
        try {
            ProblemBuilder.stageLatencyFloor = true;
            on = PararealSearch.price(cg, n -> built(cg, four, n), four, 1e12, OptionalInt.of(2), 30, "--parareal")
                    .get(0).segmentSeconds();
            ProblemBuilder.stageLatencyFloor = false;
            off = PararealSearch.price(cg, n -> built(cg, four, n), four, 1e12, OptionalInt.of(2), 30, "--parareal")
                    .get(0).segmentSeconds();
        } finally {
            ProblemBuilder.stageLatencyFloor = was;
        }
        // the most a segment can add: one whole latency of its largest collective, on its two devices
        double most = 0;
        for (ProblemBuilder.Unit u : built(cg, four, 2).units()) {
            for (ProblemBuilder.Cost c : u.costs()) {
                most = Math.max(most, c.gradientLatencySeconds());
            }
        }
        assertTrue(most > 0, "the segments' layouts reduce gradients");
        for (int j = 0; j < 2; j++) {
            double added = on[j] - off[j];
            assertTrue(added > 0 && added < most, "segment " + j + ": " + off[j] + " -> " + on[j] + " s, at most " + most);
        }
    }

    @Test
    void autoPricesEveryDivisorUpToTheChainLength() throws ShardplanException {
        CoarseGraph cg = Coarsening.coarsen(Fixtures.deepMlp(5, 64, 512));
        Cluster eight = Fixtures.a100(8);
        List<PararealSearch.Candidate> cs = PararealSearch.price(cg, n -> built(cg, eight, n), eight, 1e12,
                OptionalInt.empty(), 30, "--parareal");
        // N in 2..min(5, 8) dividing 8: 2 and 4; the first layer is the cheapest (no gradient of the
        // graph input), so it shares its segment: [a + b | b | b | b] beats [a | b | b | b + b]
        assertEquals(List.of(2, 4), cs.stream().map(PararealSearch.Candidate::segments).toList());
        assertArrayEquals(new int[] {0, 2, 3, 4, 5}, cs.get(1).bounds());
        assertEquals(2, cs.get(1).devicesPerSegment());
    }

    @Test
    void badRequestsNameWhatIsWrong() {
        CoarseGraph chain = Coarsening.coarsen(Fixtures.deepMlp(4, 64, 256));
        Cluster four = Fixtures.a100(4);
        ShardplanException tooMany = assertThrows(ShardplanException.class, () -> PararealSearch.price(chain,
                n -> built(chain, four, n), four, 1e12, OptionalInt.of(8), 30, "--parareal"));
        assertEquals("--parareal must be at most 4, the blocks of the longest shape-keeping chain (fc0 .. fc3), found 8",
                tooMany.getMessage());
        ShardplanException divides = assertThrows(ShardplanException.class, () -> PararealSearch.price(chain,
                n -> built(chain, four, n), four, 1e12, OptionalInt.of(3), 30, "--parareal"));
        assertEquals("--parareal must divide the 4 devices (each segment runs on an equal group of devices), found 3",
                divides.getMessage());
        CoarseGraph none = Coarsening.coarsen(Fixtures.mlp(8, 64));
        ShardplanException noChain = assertThrows(ShardplanException.class, () -> PararealSearch.price(none,
                n -> built(none, four, n), four, 1e12, OptionalInt.of(2), 30, "--parareal"));
        assertTrue(noChain.getMessage().startsWith("--parareal 2: the model has no chain of at least 2 repeated blocks"),
                noChain.getMessage());
    }
}
