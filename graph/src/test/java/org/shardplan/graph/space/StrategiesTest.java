package org.shardplan.graph.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Node;

class StrategiesTest {

    static IterationSpace batchedMatmul() {
        Node mm = IterationSpacesTest.node("MatMul", List.of(IterationSpacesTest.act("a", 64, 128, 256),
                IterationSpacesTest.act("b", 64, 256, 512)), List.of(IterationSpacesTest.act("y", 64, 128, 512)));
        return IterationSpaces.of(mm).orElseThrow();
    }

    @Test
    void allFactorisationsOfEightOverFourDimensions() {
        List<Strategy> all = Strategies.enumerate(batchedMatmul(), 8);
        // products 1, 2, 4, 8 over b, m, n, k: C(3,3) + C(4,3) + C(5,3) + C(6,3)
        assertEquals(1 + 4 + 10 + 20, all.size());
        assertEquals(all.size(), new HashSet<>(all).size());
        assertEquals(Strategy.replicated(), all.get(0));
        assertTrue(all.contains(Strategy.of("b", 2, "k", 4)));
        for (Strategy s : all) {
            assertEquals(0, 8 % s.devices(), s.toString());
        }
    }

    @Test
    void useAllDevicesAndKindsFilter() {
        IterationSpace s = batchedMatmul();
        List<Strategy> full = Strategies.enumerate(s, 8, Strategies.Options.defaults().withUseAllDevices(true));
        assertEquals(1 + 20, full.size());
        List<Strategy> noReduction = Strategies.enumerate(s, 8, Strategies.Options.defaults()
                .withKinds(EnumSet.of(LoopKind.PARALLEL)));
        // products 1, 2, 4, 8 over b, m, n: 1 + 3 + 6 + 10
        assertEquals(1 + 3 + 6 + 10, noReduction.size());
    }

    @Test
    void divisibilityAndNonPowersOfTwo() {
        Node mm = IterationSpacesTest.node("MatMul", List.of(IterationSpacesTest.act("a", 6, 10),
                IterationSpacesTest.act("b", 10, 7)), List.of(IterationSpacesTest.act("y", 6, 7)));
        IterationSpace s = IterationSpaces.of(mm).orElseThrow();
        // 12 devices, divisors 1, 2, 3, 4, 6, 12; m=6 takes 1,2,3,6; n=7 takes 1; k=10 takes 1,2
        List<Strategy> all = Strategies.enumerate(s, 12);
        assertEquals(List.of(Strategy.replicated(), Strategy.of("k", 2), Strategy.of("m", 2), Strategy.of("m", 2, "k", 2),
                Strategy.of("m", 3), Strategy.of("m", 3, "k", 2), Strategy.of("m", 6), Strategy.of("m", 6, "k", 2)), all);
        List<Strategy> uneven = Strategies.enumerate(s, 12, Strategies.Options.defaults().withEvenOnly(false));
        assertTrue(uneven.contains(Strategy.of("n", 4)));
        assertTrue(uneven.contains(Strategy.of("m", 4)));
        assertFalse(uneven.contains(Strategy.of("n", 7)));
        // any product up to 12: 7 of the 12 devices on n, or 5 x 2
        List<Strategy> any = Strategies.enumerate(s, 12, Strategies.Options.defaults().withEvenOnly(false)
                .withDivisorsOnly(false));
        assertTrue(any.contains(Strategy.of("n", 7)));
        assertTrue(any.contains(Strategy.of("m", 5, "k", 2)));
        for (Strategy st : any) {
            assertTrue(st.devices() <= 12, st.toString());
        }
        // m takes 1..6, n 1..7, k 1..10 with m·n·k <= 12: counted by brute force
        int count = 0;
        for (int m = 1; m <= 6; m++) {
            for (int n = 1; n <= 7; n++) {
                for (int k = 1; k <= 10; k++) {
                    count += m * n * k <= 12 ? 1 : 0;
                }
            }
        }
        assertEquals(count, any.size());
    }

    @Test
    void capKeepsReplicatedAndTheWidestStrategies() {
        List<Strategy> capped = Strategies.enumerate(batchedMatmul(), 8,
                Strategies.Options.defaults().withMaxStrategies(5));
        assertEquals(5, capped.size());
        assertEquals(Strategy.replicated(), capped.get(0));
        for (Strategy st : capped.subList(1, 5)) {
            assertEquals(8, st.devices());
            assertEquals(1, st.factors().size(), st.toString());
        }
    }

    @Test
    void oneDeviceHasOnlyTheReplicatedStrategy() {
        assertEquals(List.of(Strategy.replicated()), Strategies.enumerate(batchedMatmul(), 1));
    }

    /**
     * The cap's order ({@link Strategies#mostDevicesFirst}, keys worked out once) against the stable sort
     * by a comparator that works them out at each comparison: the same list, ties in search order, on
     * the batched product's strategies on 1,536 devices (many ties of devices and dimensions split), and
     * the capped enumeration keeps that order's head.
     */
    @Test
    void capOrderIsTheStableSortByDevicesThenDimensions() {
        IterationSpace s = batchedMatmul();
        List<Strategy> all = Strategies.enumerate(s, 1536);
        assertTrue(all.size() > 100, all.size() + " strategies");
        List<Strategy> rest = all.subList(1, all.size());
        List<Strategy> expected = new java.util.ArrayList<>(rest);
        expected.sort(java.util.Comparator.comparingInt(Strategy::devices).reversed()
                .thenComparingInt(x -> x.factors().size()));
        assertEquals(expected, Strategies.mostDevicesFirst(rest));
        // the order differs from the search's, so the test can tell a sort from none
        assertFalse(expected.equals(rest));
        List<Strategy> capped = Strategies.enumerate(s, 1536, Strategies.Options.defaults().withMaxStrategies(17));
        assertEquals(Strategy.replicated(), capped.get(0));
        assertEquals(expected.subList(0, 16), capped.subList(1, 17));
    }
}
