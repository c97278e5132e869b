package org.shardplan.planner.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StepGraphTest {

    @Test
    void twoDevicesTwoMicroBatchesByHand() {
        // device 0: F0 F1 B0 B1; device 1: F0 B0 F1 B1 (one chunk each)
        List<List<Op>> order = List.of(
                List.of(Op.forward(0, 0), Op.forward(1, 0), Op.backward(0, 0), Op.backward(1, 0)),
                List.of(Op.forward(0, 0), Op.backward(0, 0), Op.forward(1, 0), Op.backward(1, 0)));
        StepGraph g = StepGraph.of(order, 2, 1);
        // 8 ops, 2 activations sent forward and 2 gradients sent back, all across devices
        assertEquals(12, g.nodes());
        assertEquals(2, g.chunks());
        assertEquals(3, g.lastOp(0));
        assertEquals(7, g.lastOp(1));
        assertFalse(g.split());
        int sends = 0;
        for (int n = 0; n < g.nodes(); n++) {
            if (g.kind(n) == StepGraph.SEND) {
                sends++;
                assertEquals(0, g.chunk(n), "every boundary is chunk 0's send");
            }
        }
        assertEquals(4, sends);
        // every node after all it depends on
        int[] position = new int[g.nodes()];
        int[] topo = g.topologicalOrder();
        for (int i = 0; i < topo.length; i++) {
            position[topo[i]] = i;
        }
        for (int n = 0; n < g.nodes(); n++) {
            for (int x = g.predecessorStart()[n]; x < g.predecessorStart()[n + 1]; x++) {
                assertTrue(position[g.predecessors()[x]] < position[n]);
            }
        }
        // forward 1, backward 2, send 0.5 per micro-batch: device 1 ends at
        // F0 (1) + send (0.5) -> 1.5 + F0 1 = 2.5, B0 4.5, F1 (its activation arrived at 2.5) 5.5, B1 7.5;
        // device 0: F0 1, F1 2, B0 waits for the gradient (4.5 + 0.5) -> 7, B1 waits for 7.5 + 0.5 -> 10
        StageProfile s = new StageProfile(1, 2, 0, 0.5, 0, 0, 0);
        double[] end = g.ends(List.of(s, s));
        assertEquals(10.0, end[g.lastOp(0)], 1e-12);
        assertEquals(7.5, end[g.lastOp(1)], 1e-12);
    }

    @Test
    void anOrderThatWaitsInACycleIsRefused() {
        // device 0 waits for micro-batch 0's gradient before sending its activation
        List<List<Op>> order = List.of(
                List.of(Op.backward(0, 0), Op.forward(0, 0)),
                List.of(Op.forward(0, 0), Op.backward(0, 0)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StepGraph.of(order, 1, 1));
        assertTrue(e.getMessage().startsWith("the op order must not wait in a cycle"), e.getMessage());
    }
}
