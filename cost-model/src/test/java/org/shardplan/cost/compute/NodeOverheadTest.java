package org.shardplan.cost.compute;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class NodeOverheadTest {
    @Test
    void overheadIsTheMedianResidualPerNode() {
        // residuals per node: (12 - 10) / 100 = 0.02, (5 - 4) / 20 = 0.05, (30 - 31) / 50 = -0.02
        NodeOverhead o = NodeOverhead.fit(List.of(new NodeOverhead.Run(100, 10, 12), new NodeOverhead.Run(20, 4, 5),
                new NodeOverhead.Run(50, 31, 30)));
        assertEquals(0.02, o.secondsPerNode(), 1e-12);
        assertEquals(3, o.models());
        assertEquals(7 + 0.02 * 10, o.predict(10, 7), 1e-12);
        // an even count takes the mean of the middle two
        assertEquals((0.02 + 0.05) / 2, NodeOverhead.fit(List.of(new NodeOverhead.Run(100, 10, 12),
                new NodeOverhead.Run(20, 4, 5))).secondsPerNode(), 1e-12);
        assertEquals(0, NodeOverhead.fit(List.of()).secondsPerNode());
        // never below zero
        assertEquals(0, new NodeOverhead(-1, 1).predict(10, 3));
        assertThrows(IllegalArgumentException.class, () -> new NodeOverhead.Run(0, 1, 1));
    }
}
