package org.shardplan.cost.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceGroup;
import org.shardplan.cost.cluster.DeviceMesh;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;

/**
 * Inner link: 100 GB/s, 1 us; network: 10 GB/s, 10 us. One gigabyte over the inner link takes
 * 0.01 s, over the network 0.1 s.
 */
class CollectiveModelTest {
    static final Link INNER = new Link("inner", 100e9, 1e-6);
    static final Link OUTER = new Link("outer", 10e9, 10e-6);
    static final double GB = 1e9;
    static final double EPS = 1e-12;

    static Cluster twoNodesOfEight() throws Exception {
        DeviceSpec d = new DeviceSpec("test-gpu", "test", "gpu", Map.of("float32", 1e13), 1e12, 16e9,
                false, 8, INNER, OUTER);
        return Cluster.homogeneous(d, 16);
    }

    @Test
    void ringFormulas() {
        // all-reduce p=4: 2(p-1)alpha + 2(p-1)/p n beta
        assertEquals(2 * 3 * 1e-6 + 2 * (3.0 / 4) * 0.01,
                CollectiveModel.flat(Collective.ALL_REDUCE, Algorithm.RING, 4, INNER, GB), EPS);
        // all-gather and reduce-scatter p=8: (p-1)alpha + (p-1)/p n beta
        assertEquals(7 * 1e-6 + (7.0 / 8) * 0.01,
                CollectiveModel.flat(Collective.ALL_GATHER, Algorithm.RING, 8, INNER, GB), EPS);
        assertEquals(7 * 1e-6 + (7.0 / 8) * 0.01,
                CollectiveModel.flat(Collective.REDUCE_SCATTER, Algorithm.RING, 8, INNER, GB), EPS);
        assertEquals(7 * 1e-6 + (7.0 / 8) * 0.01,
                CollectiveModel.flat(Collective.ALL_TO_ALL, Algorithm.RING, 8, INNER, GB), EPS);
        assertEquals(7 * 1e-6 + 0.01,
                CollectiveModel.flat(Collective.BROADCAST, Algorithm.RING, 8, INNER, GB), EPS);
        assertEquals(1e-6 + 0.01,
                CollectiveModel.flat(Collective.POINT_TO_POINT, Algorithm.RING, 2, INNER, GB), EPS);
    }

    @Test
    void treeFormulas() {
        // L = ceil(log2 p): 2 for p=4, 3 for p=8 and for p=5
        assertEquals(2 * 2 * 1e-6 + 2 * 0.01,
                CollectiveModel.flat(Collective.ALL_REDUCE, Algorithm.TREE, 4, INNER, GB), EPS);
        assertEquals(3 * 1e-6 + (7.0 / 8) * 0.01,
                CollectiveModel.flat(Collective.ALL_GATHER, Algorithm.TREE, 8, INNER, GB), EPS);
        assertEquals(3 * 1e-6 + 3 * 0.5 * 0.01,
                CollectiveModel.flat(Collective.ALL_TO_ALL, Algorithm.TREE, 8, INNER, GB), EPS);
        assertEquals(3 * (1e-6 + 0.01),
                CollectiveModel.flat(Collective.BROADCAST, Algorithm.TREE, 5, INNER, GB), EPS);
        assertEquals(0, CollectiveModel.log2Ceil(1));
        assertEquals(3, CollectiveModel.log2Ceil(5));
        assertEquals(3, CollectiveModel.log2Ceil(8));
    }

    @Test
    void treeWinsForSmallMessagesRingForLargeOnes() {
        // 1000 bytes, p=8: ring 14 us + 1.75e-8, tree 6 us + 2e-8
        CollectiveModel.Estimate small = CollectiveModel.bestFlat(Collective.ALL_REDUCE, 8, INNER, 1000);
        assertEquals(Algorithm.TREE, small.algorithm());
        assertEquals(6e-6 + 2 * 1000 / 100e9, small.seconds(), EPS);
        CollectiveModel.Estimate large = CollectiveModel.bestFlat(Collective.ALL_REDUCE, 8, INNER, GB);
        assertEquals(Algorithm.RING, large.algorithm());
        assertEquals(14e-6 + 2 * (7.0 / 8) * 0.01, large.seconds(), EPS);
    }

    @Test
    void oneDeviceOrNoBytesCostNothing() throws Exception {
        assertEquals(0.0, CollectiveModel.flat(Collective.ALL_REDUCE, Algorithm.RING, 1, INNER, GB));
        assertEquals(0.0, CollectiveModel.flat(Collective.ALL_GATHER, Algorithm.TREE, 8, INNER, 0));
        Cluster c = twoNodesOfEight();
        assertEquals(0.0, CollectiveModel.best(Collective.ALL_REDUCE, DeviceGroup.range(c, 3, 1), GB).seconds());
    }

    @Test
    void costDependsOnWhereTheGroupLies() throws Exception {
        Cluster c = twoNodesOfEight();
        DeviceMesh mesh = new DeviceMesh(c, java.util.List.of(2, 4, 2));
        // axis 2 (stride 1): devices 0,1 on node 0 -> inner link
        DeviceGroup inside = mesh.groupAlong(2, 0);
        // axis 0 (stride 8): devices 0,8 on two nodes -> network
        DeviceGroup across = mesh.groupAlong(0, 0);
        double in = CollectiveModel.best(Collective.ALL_REDUCE, inside, GB).seconds();
        double out = CollectiveModel.best(Collective.ALL_REDUCE, across, GB).seconds();
        // p=2 ring: 2 alpha + n beta
        assertEquals(2 * 1e-6 + 0.01, in, EPS);
        assertEquals(2 * 10e-6 + 0.1, out, EPS);
    }

    @Test
    void hierarchicalAllReduceAcrossTwoNodes() throws Exception {
        Cluster c = twoNodesOfEight();
        DeviceGroup all = c.all();
        // reduce-scatter inside (8 devices, tree: 3 alpha + 7/8 n beta)
        double rsInner = 3e-6 + (7.0 / 8) * 0.01;
        // all-reduce across (2 nodes, n/8 bytes, ring: 2 alpha_o + 2(1/2)(n/8) beta_o)
        double arOuter = 2 * 10e-6 + (GB / 8) / 10e9;
        // all-gather inside, the same as the reduce-scatter
        double expected = rsInner + arOuter + rsInner;
        assertEquals(expected, CollectiveModel.cost(Collective.ALL_REDUCE, all, GB, Algorithm.HIERARCHICAL).get(), EPS);
        // flat ring over 16 at the network's speed: 2*15 alpha_o + 2*15/16 n beta_o
        double flatRing = 30 * 10e-6 + 2 * (15.0 / 16) * 0.1;
        assertEquals(flatRing, CollectiveModel.cost(Collective.ALL_REDUCE, all, GB, Algorithm.RING).get(), EPS);
        CollectiveModel.Estimate best = CollectiveModel.best(Collective.ALL_REDUCE, all, GB);
        assertEquals(Algorithm.HIERARCHICAL, best.algorithm());
        assertEquals(expected, best.seconds(), EPS);
    }

    @Test
    void hierarchicalGatherScatterAndAllToAll() {
        // 2 nodes x 4 devices, n = 1 GB
        // all-gather: AG_outer(2, n/4) = ring 1 alpha_o + 1/2 (n/4) beta_o; AG_inner(4, n) = tree 2 alpha + 3/4 n beta
        double ag = (10e-6 + 0.5 * 0.025) + (2e-6 + 0.75 * 0.01);
        assertEquals(ag, CollectiveModel.hierarchical(Collective.ALL_GATHER, 2, 4, INNER, OUTER, GB), EPS);
        assertEquals(ag, CollectiveModel.hierarchical(Collective.REDUCE_SCATTER, 2, 4, INNER, OUTER, GB), EPS);
        // all-to-all: A2A_inner(4, n) ring 3 alpha + 3/4 n beta (tree: 2 alpha + 2 n/2 beta is slower);
        // then (k-1) alpha_o + (k-1)/k n beta_o
        double a2a = (3e-6 + 0.75 * 0.01) + (10e-6 + 0.5 * 0.1);
        assertEquals(a2a, CollectiveModel.hierarchical(Collective.ALL_TO_ALL, 2, 4, INNER, OUTER, GB), EPS);
        assertTrue(CollectiveModel.hierarchical(Collective.POINT_TO_POINT, 2, 4, INNER, OUTER, GB)
                > CollectiveModel.hierarchical(Collective.POINT_TO_POINT, 1, 4, INNER, OUTER, GB));
    }

    @Test
    void raggedGroupsUseTheBottleneckLink() throws Exception {
        Cluster c = twoNodesOfEight();
        // devices 6,7,8: two on node 0, one on node 1 -> no hierarchical algorithm
        DeviceGroup g = DeviceGroup.range(c, 6, 3);
        assertTrue(CollectiveModel.cost(Collective.ALL_REDUCE, g, GB, Algorithm.HIERARCHICAL).isEmpty());
        assertEquals(2 * 2 * 10e-6 + 2 * (2.0 / 3) * 0.1,
                CollectiveModel.cost(Collective.ALL_REDUCE, g, GB, Algorithm.RING).get(), EPS);
    }
}
