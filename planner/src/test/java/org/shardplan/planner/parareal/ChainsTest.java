package org.shardplan.planner.parareal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.Fixtures;

/** Chains of shape-keeping repeated blocks, in code and in real exports. */
class ChainsTest {

    @Test
    void everyLayerOfADeepPerceptronIsOneBlock() {
        CoarseGraph cg = Coarsening.coarsen(Fixtures.deepMlp(6, 64, 256));
        List<Chain> chains = Chains.find(cg);
        assertEquals(1, chains.size());
        Chain c = chains.get(0);
        assertEquals(6, c.length());
        assertEquals("x", c.input().name());
        assertEquals("r5", c.output().name());
        assertEquals("fc0", c.firstName(cg));
        assertEquals("fc5", c.lastName(cg));
        assertEquals(List.of(), c.sideInputs());
    }

    @Test
    void aPerceptronThatChangesWidthHasNoChain() {
        assertEquals(List.of(), Chains.find(Coarsening.coarsen(Fixtures.mlp(8, 64))));
    }

    @Test
    void resnet50HasItsFourStagesEqualBottlenecks() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph("resnet50.onnx", Map.of("batch", 8L)));
        List<Chain> chains = Chains.find(cg);
        // torchvision's stages have 3, 4, 6 and 3 bottlenecks; the first of each has a downsample branch
        assertEquals(List.of(5, 3, 2, 2), chains.stream().map(Chain::length).toList());
        Chain c = chains.get(0);
        assertEquals("/layer3/layer3.1/conv1/Conv", c.firstName(cg));
        assertEquals("/layer3/layer3.5/conv3/Conv", c.lastName(cg));
        assertEquals("/layer3/layer3.0/relu_2/Relu_output_0", c.input().name());
        assertEquals("[8, 1024, 14, 14]", c.type().shape().toString());
        for (Chain x : chains) {
            for (Chain.Layer l : x.layers()) {
                assertEquals(3, l.size(), "a bottleneck is three convolutions");
            }
        }
    }

    @Test
    void minilmLayersReadTheAttentionMaskBesideTheHiddenState() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph("all-minilm-l6-v2.onnx",
                Map.of("batch_size", 4L, "sequence_length", 32L)));
        List<Chain> chains = Chains.find(cg);
        assertEquals(1, chains.size());
        Chain c = chains.get(0);
        assertEquals(6, c.length());
        assertEquals("[4, 32, 384]", c.type().shape().toString());
        assertEquals(1, c.sideInputs().size(), "the extended attention mask");
        assertTrue(c.firstName(cg).startsWith("/encoder/layer.0/"), c.firstName(cg));
        assertTrue(c.lastName(cg).startsWith("/encoder/layer.5/"), c.lastName(cg));
    }

    @Test
    void vgg11HasOnePairOfEqualConvolutions() throws Exception {
        CoarseGraph cg = Coarsening.coarsen(Models.graph("vgg11.onnx", Map.of("batch", 8L)));
        List<Chain> chains = Chains.find(cg);
        assertEquals(1, chains.size());
        assertEquals(2, chains.get(0).length());
        assertEquals("[8, 512, 14, 14]", chains.get(0).type().shape().toString());
    }
}
