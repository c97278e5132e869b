package org.shardplan.planner.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Node;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.IterationSpaces;
import org.shardplan.graph.space.Strategy;
import org.shardplan.planner.Fixtures;

class LayoutTest {

    @Test
    void digitsFollowTheNodeHierarchy() {
        DeviceDigits dd = DeviceDigits.of(64, 8);
        assertArrayEquals(new int[] {2, 2, 2, 2, 2, 2}, dd.radices());
        assertEquals(3, dd.intraDigits());
        assertEquals(8, dd.devicesPerNode());
        DeviceDigits odd = DeviceDigits.of(24, 4);
        assertArrayEquals(new int[] {2, 2, 2, 3}, odd.radices());
        assertEquals(2, odd.intraDigits());
    }

    @Test
    void innermostDimensionTakesTheDevicesOfANode() {
        DeviceDigits dd = DeviceDigits.of(64, 8);
        Layout l = Layout.place(Strategy.of("b", 8, "n", 8), List.of("n", "b"), dd).orElseThrow();
        assertArrayEquals(new int[] {2, 1, 0}, l.digitsOf("n"));
        assertArrayEquals(new int[] {5, 4, 3}, l.digitsOf("b"));
        assertEquals(Map.of("n", 8, "b", 1), l.intraNode());
        assertEquals("b=8@net n=8", l.label());
        Layout m = Layout.place(Strategy.of("b", 16, "n", 4), List.of("n", "b"), dd).orElseThrow();
        assertEquals(Map.of("n", 4, "b", 2), m.intraNode());
        // copies reserved inside the node push the batch split onto the network
        Layout c = Layout.place(Strategy.of("b", 8), List.of("~8", "b"), dd).orElseThrow();
        assertArrayEquals(new int[] {5, 4, 3}, c.digitsOf("b"));
    }

    @Test
    void candidatesOfAMatMulOnFourDevicesInOneNode() {
        Node n = Fixtures.node("mm", "MatMul", List.of(Fixtures.input("x", 8, 8), Fixtures.param("w", 8, 8)),
                List.of(Fixtures.act("y", 8, 8)));
        IterationSpace sp = IterationSpaces.of(n).orElseThrow();
        List<Layout> ls = StrategySpace.layouts(sp, DeviceDigits.of(4, 8), 0, List.of());
        // {}, m2, m4, n2, n4, k2, k4, m2n2, m2k2, n2k2
        assertEquals(10, ls.size(), ls.toString());
        assertTrue(ls.get(0).strategy().isReplicated());
    }

    @Test
    void placementOrdersThatShareTheNodeAlikeAreOneCandidate() {
        Node n = Fixtures.node("mm", "MatMul", List.of(Fixtures.input("x", 64, 64), Fixtures.param("w", 64, 64)),
                List.of(Fixtures.act("y", 64, 64)));
        IterationSpace sp = IterationSpaces.of(n).orElseThrow();
        DeviceDigits dd = DeviceDigits.of(16, 8);
        long mn = StrategySpace.layouts(sp, dd, 0, List.of()).stream()
                .filter(l -> l.strategy().equals(Strategy.of("m", 4, "n", 4))).count();
        // n inside (n=4 in node, m=2x2) or m inside (m=4 in node, n=2x2)
        assertEquals(2, mn);
    }
}
