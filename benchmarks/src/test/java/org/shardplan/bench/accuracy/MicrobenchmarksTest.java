package org.shardplan.bench.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.OpClass;
import org.shardplan.graph.Node;

/** The per-channel convolution microbenchmarks are of the class they stand for, at shapes of their own (nothing timed). */
class MicrobenchmarksTest {
    @TempDir
    Path tmp;

    @Test
    void perChannelConvolutionsOfTheBlockedLayoutAtTheGridsShapes() throws Exception {
        List<Node> nodes = Microbenchmarks.perChannelConvolutions(tmp);
        assertEquals(Microbenchmarks.CHANNELS.length * Microbenchmarks.SIDES.length, nodes.size());
        Set<String> sigs = new HashSet<>();
        for (Node n : nodes) {
            // the class the planner prices DenseNet's pre-activations by, not its proxy
            assertEquals("nchwc/k1x1/s1/depthwise", OpClass.shapeClass(n));
            assertEquals("Conv", n.opType());
            assertEquals("com.microsoft.nchwc", n.domain());
            String sig = OpSignature.of(n);
            assertTrue(sig.startsWith("com.microsoft.nchwc:Conv|activation=Relu;auto_pad=NOTSET;group="), sig);
            long c = n.input(0).shape().toLongs()[1];
            assertEquals(c, n.attrInt("group", 1));
            // channel counts of no DenseNet layer (64 + 32 k) nor of any multiple of 32
            assertFalse(c % 32 == 0, sig);
            assertTrue(Backward.forward(n).work().bytes() > 0);
            sigs.add(sig);
        }
        assertEquals(nodes.size(), sigs.size());
    }
}
