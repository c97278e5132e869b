package org.shardplan.export;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;

/** Module paths from PyTorch's ONNX names. */
class ModulePathsTest {
    @Test
    void scopesAndLayers() {
        assertEquals(Optional.of("encoder.layer.0.attention.self.query"),
                ModulePaths.fromNodeName("/encoder/layer.0/attention/self/query/MatMul"));
        assertEquals(Optional.empty(), ModulePaths.fromNodeName("MatMul_12"));
        assertEquals(Optional.empty(), ModulePaths.fromNodeName("/MatMul"));
        assertEquals(Optional.of("h.1.c_attn"), ModulePaths.fromParameterName("h.1.c_attn.bias"));
        assertEquals(Optional.empty(), ModulePaths.fromParameterName("onnx::MatMul_7"));
        assertEquals("encoder.layer.3", ModulePaths.layerOf("encoder.layer.3.attention.output.dense"));
        assertEquals("lm_head", ModulePaths.layerOf("lm_head"));
    }

    @Test
    void bundledTransformerScopesAreCompletedByStateDictNames() throws Exception {
        // torch 1.13 wrote /ln2_1/LayerNormalization for layers.1.ln2, and merged the equal norm weights
        // behind Identity nodes that keep the state-dict names
        CoarseGraph cg = Coarsening.coarsen(TestPlans.bundled().graph());
        Map<String, String> paths = new HashMap<>();
        for (CoarseNode n : cg.nodes()) {
            ModulePaths.of(n, cg.graph()).ifPresent(p -> paths.put(n.name(), p));
        }
        assertEquals("layers.0.ln2", paths.get("/ln2/LayerNormalization"));
        assertEquals("layers.1.ln2", paths.get("/ln2_1/LayerNormalization"));
        assertEquals("layers.3.ff1", paths.get("/ff1_3/MatMul"));
        assertEquals("norm", paths.get("/norm/LayerNormalization"));
        assertEquals("head", paths.get("/head/MatMul"));
    }
}
