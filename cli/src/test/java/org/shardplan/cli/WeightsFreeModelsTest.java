package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;

/**
 * AlexNet exported with its weights and without them ({@code export_params=False}, every weight a graph
 * input; both by {@code dev/export-models.py}) is planned alike: the weights fed as inputs are planned as
 * parameters, with their gradients reduced.
 */
class WeightsFreeModelsTest {

    /** torchvision's AlexNet: five convolutions and three fully connected layers, 61,100,840 parameters. */
    static final long ALEXNET_PARAMETERS = 61_100_840L;

    static Path model(String name) {
        return PlanRealModelsTest.model(name);
    }

    static Plan plan(Graph g) throws Exception {
        return Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(128)
                .withTimeLimit(60).plan(g);
    }

    @Test
    void alexNetPlansAgreeWithAndWithoutItsWeights() throws Exception {
        ImportOptions o = ImportOptions.DEFAULT.withDims(Map.of("batch", 128L));
        Graph with = OnnxImporter.read(model("alexnet.onnx"), o).graph();
        Graph without = OnnxImporter.read(model("alexnet_no_weights.onnx"), o).graph();
        assertEquals(ALEXNET_PARAMETERS, with.parameterCount());
        assertEquals(ALEXNET_PARAMETERS, without.parameterCount());
        assertEquals(16, without.parameters().size());
        assertEquals(1, without.inputs().size());

        Plan a = plan(with);
        Plan b = plan(without);
        double step = a.totals().stepSeconds();
        assertEquals(step, b.totals().stepSeconds(), 1e-9 * step);
        assertEquals(a.totals().communicationSeconds(), b.totals().communicationSeconds(), 1e-9 * step);
        assertEquals(a.totals().peakMemoryBytesPerDevice(), b.totals().peakMemoryBytesPerDevice(),
                1e-9 * a.totals().peakMemoryBytesPerDevice());
        assertEquals(a.nodes().stream().map(PlanNode::strategyText).toList(),
                b.nodes().stream().map(PlanNode::strategyText).toList());
        // gradients of 61 M parameters are reduced somewhere: well above the 23 us of activations alone
        assertTrue(b.totals().communicationSeconds() > 100e-6, "communication " + b.totals().communicationSeconds());

        // read as activations (the old reading), no gradient is reduced and the plan is another one
        Graph asInputs = OnnxImporter.read(model("alexnet_no_weights.onnx"),
                o.withParamsAsInputs(ImportOptions.ParamsAsInputs.OFF)).graph();
        assertEquals(0, asInputs.parameterCount());
        Plan c = plan(asInputs);
        // (on the A100 kernel model, with the gradients reduced in 25 MiB buckets: 72 us against 115 us)
        assertTrue(c.totals().communicationSeconds() < b.totals().communicationSeconds() * 0.75,
                c.totals() + " vs " + b.totals());
        assertTrue(c.totals().communicationBytes() < b.totals().communicationBytes() / 2, c.totals() + " vs " + b.totals());
    }

    @Test
    void theLlamaStyleDecoderPlansAlikeWithAndWithoutItsWeights() throws Exception {
        // its Linear weights are fed transposed, under torch's names (onnx::MatMul_965, ...)
        ImportOptions o = ImportOptions.DEFAULT.withDims(Map.of("batch", 8L, "seq", 128L));
        Graph with = OnnxImporter.read(model("llama_gqa.onnx"), o).graph();
        Graph without = OnnxImporter.read(model("llama_gqa_no_weights.onnx"), o).graph();
        // embedding and head 1000x256, per layer 2x256x256 + 2x256x64 + 3x256x688, one shared RMSNorm scale,
        // and the 16 rotary inverse frequencies (a floating-point Constant node, which the importer takes for a weight)
        long params = 2 * 1000L * 256 + 4 * (2 * 256L * 256 + 2 * 256L * 64 + 3 * 256L * 688) + 256 + 16;
        assertEquals(params, with.parameterCount());
        assertEquals(params, without.parameterCount());
        assertEquals(List.of("input_ids"), without.inputs().stream().map(v -> v.name()).toList());
        Plan a = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(8)
                .withTimeLimit(60).plan(with);
        Plan b = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(8)
                .withTimeLimit(60).plan(without);
        double step = a.totals().stepSeconds();
        assertEquals(step, b.totals().stepSeconds(), 1e-9 * step);
        assertEquals(a.totals().communicationSeconds(), b.totals().communicationSeconds(), 1e-9 * step);
    }

    @Test
    void theCommandLineSaysHowManyInputsAreParametersAndChecksTheMode() {
        String file = model("alexnet_no_weights.onnx").toString();
        CliRun r = CliRun.of("inspect", file, "--dim", "batch=8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("16 graph inputs are read as parameters"), r.out());
        assertTrue(r.out().contains("61,100,840"), r.out());
        CliRun off = CliRun.of("inspect", file, "--dim", "batch=8", "--params-as-inputs", "off");
        assertEquals(0, off.code(), off.err());
        assertTrue(!off.out().contains("read as parameters"), off.out());
        CliRun bad = CliRun.of("plan", file, "--batch", "8", "--params-as-inputs", "sometimes");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--params-as-inputs must be auto, on or off, found 'sometimes'"), bad.err());
    }
}
