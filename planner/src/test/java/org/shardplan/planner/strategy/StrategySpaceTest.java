package org.shardplan.planner.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.Node;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.IterationSpaces;
import org.shardplan.graph.space.Strategy;
import org.shardplan.planner.Fixtures;

class StrategySpaceTest {

    static IterationSpace matMul(long m, long k, long n) {
        Node mm = Fixtures.node("mm", "MatMul", List.of(Fixtures.input("x", m, k), Fixtures.param("w", k, n)),
                List.of(Fixtures.act("y", m, n)));
        return IterationSpaces.of(mm).orElseThrow();
    }

    @Test
    void droppingTheTopDigitGivesTheDigitsOfTheFirstDevices() {
        DeviceDigits dd = DeviceDigits.of(64, 8);
        int devices = 64;
        for (Optional<DeviceDigits> d = Optional.of(dd); d.isPresent(); d = d.get().withoutTopDigit()) {
            assertEquals(DeviceDigits.of(devices, 8), d.get());
            devices /= 2;
        }
        assertEquals(0, devices, "64, 32, ..., 2, 1 and then none");
        // 24 devices of 12 per node: [2, 2, 3 | 2] -> the 12 of one node -> 4 -> 2 -> 1
        assertEquals(DeviceDigits.of(12, 12), DeviceDigits.of(24, 12).withoutTopDigit().orElseThrow());
        assertEquals(DeviceDigits.of(4, 12), DeviceDigits.of(12, 12).withoutTopDigit().orElseThrow());
        assertArrayEquals(new int[0], DeviceDigits.of(1, 8).radices());
        assertTrue(DeviceDigits.of(1, 8).withoutTopDigit().isEmpty());
    }

    @Test
    void theCandidatesOnMoreDevicesHoldThoseOnFewerCopied() {
        IterationSpace sp = matMul(64, 64, 64);
        // with a cap of 6 the 64-device enumeration alone keeps the replicated layout and splits over 64
        // devices only; the candidates of 32, 16, ..., 1 devices come copied on top of them
        DeviceDigits dd = DeviceDigits.of(64, 8);
        List<Layout> large = StrategySpace.layouts(sp, dd, 6, List.of(), true);
        Set<String> keys = new HashSet<>();
        large.forEach(l -> keys.add(l.key()));
        for (Optional<DeviceDigits> d = dd.withoutTopDigit(); d.isPresent(); d = d.get().withoutTopDigit()) {
            for (Layout l : StrategySpace.layouts(sp, d.get(), 6, List.of())) {
                Layout c = StrategySpace.copied(l, dd);
                assertEquals(l.key(), c.key());
                assertTrue(keys.contains(c.key()), d.get() + ": " + l.label() + " must be a candidate on 64 devices");
            }
        }
        // so splits over one node (8 devices, copied over the 8 nodes) are among them, which the cap alone drops
        assertTrue(large.stream().anyMatch(l -> l.strategy().devices() == 8), large.toString());
        assertTrue(org.shardplan.graph.space.Strategies.enumerate(sp, 64,
                org.shardplan.graph.space.Strategies.Options.defaults().withMaxStrategies(3)).stream()
                .noneMatch(s -> s.devices() == 8));
        // without the copied candidates (-Dshardplan.copiedCandidates=false) the cap keeps none of them
        List<Layout> alone = StrategySpace.layouts(sp, dd, 6, List.of(), false);
        assertTrue(alone.size() <= 6 && alone.size() >= 2, alone.toString());
        assertTrue(alone.get(0).strategy().isReplicated());
        assertTrue(alone.stream().skip(1).allMatch(l -> l.strategy().devices() == 64), alone.toString());
        // and each layer of the chain adds at most its own capped set: 7 device counts of at most 6 each
        assertTrue(large.size() <= 7 * 6, large.size() + " candidates");
    }

    @Test
    void aLayoutThatDoesNotLieOnTheLowDigitsCannotBeCopied() {
        // 12 devices of 4 per node put the 3 on the network digit; 24 devices of 4 have a 2 there and the 3 above
        IterationSpace sp = matMul(12, 12, 12);
        Layout three = StrategySpace.layoutOf(sp, java.util.Map.of("m", 3), List.of(), DeviceDigits.of(12, 4));
        assertArrayEquals(new int[] {2}, three.digitsOf("m"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StrategySpace.copied(three, DeviceDigits.of(24, 4)));
        assertTrue(e.getMessage().contains("must lie on the low digits"), e.getMessage());
    }

    @Test
    void keptPlacementsFollowTheFactorsOrder() {
        // one node of 8 (digits 2, 2, 2 inside it): no permutations, so the factors' order is the placement
        // order and m=2 n=4 and n=4 m=2 take different digits; the kept placements must not mix them up
        DeviceDigits dd = DeviceDigits.of(8, 8);
        Strategy mn = Strategy.of(new java.util.LinkedHashMap<>(java.util.Map.of("m", 2)));
        java.util.LinkedHashMap<String, Integer> a = new java.util.LinkedHashMap<>();
        a.put("m", 2);
        a.put("n", 4);
        java.util.LinkedHashMap<String, Integer> b = new java.util.LinkedHashMap<>();
        b.put("n", 4);
        b.put("m", 2);
        for (int round = 0; round < 2; round++) { // the second round reads the kept lists
            List<Layout> first = StrategySpace.placements(Strategy.of(a), dd);
            List<Layout> second = StrategySpace.placements(Strategy.of(b), dd);
            assertEquals(1, first.size());
            assertEquals(1, second.size());
            // innermost first: m takes the lowest digit (0), n the next two (1, 2), most significant first
            assertArrayEquals(new int[] {0}, first.get(0).digitsOf("m"));
            assertArrayEquals(new int[] {2, 1}, first.get(0).digitsOf("n"));
            assertArrayEquals(new int[] {2}, second.get(0).digitsOf("m"));
            assertArrayEquals(new int[] {1, 0}, second.get(0).digitsOf("n"));
            assertEquals(Layout.place(Strategy.of(a), List.of("m", "n"), dd).orElseThrow(), first.get(0));
        }
        assertEquals(1, StrategySpace.placements(mn, dd).size());
    }
}
