package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.graph.Graph;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import org.shardplan.planner.eval.PlanEvaluator;

/**
 * Plans the real exported models (torchvision CNNs, torch.nn.Transformer, MiniLM, an LSTM language model,
 * a Llama-style decoder, a text CNN with k-max pooling)
 * at 1, 8 and 64 devices: one device gives the single-device plan, every plan passes the evaluator, and
 * no plan is slower than a baseline that fits.
 */
class PlanRealModelsTest {

    static Path models() {
        return Path.of(System.getProperty("shardplan.root", ".")).resolve("build-data/models");
    }

    /**
     * The build-data model {@code name}; where it is missing, the test is skipped, or fails when
     * SHARDPLAN_REQUIRE_TEST_DATA is set (the CI, which exports the models first).
     */
    static Path model(String name) {
        Path file = models().resolve(name);
        if (!Files.exists(file)) {
            Assumptions.assumeFalse(System.getenv("SHARDPLAN_REQUIRE_TEST_DATA") == null, file + " is missing (dev/setup-test-data)");
            throw new AssertionError(file + " is missing and SHARDPLAN_REQUIRE_TEST_DATA=1: run dev/setup-test-data");
        }
        return file;
    }

    static Stream<Arguments> cases() {
        List<Arguments> r = new ArrayList<>();
        String[] ms = {"resnet18.onnx", "resnet50.onnx", "alexnet.onnx", "vgg11.onnx", "mobilenet_v2.onnx",
            "inception_v3.onnx", "transformer_seq2seq.onnx", "all-minilm-l6-v2.onnx", "lstm_lm.onnx", "llama_gqa.onnx",
            "kmax_textcnn.onnx"};
        for (String m : ms) {
            for (int d : new int[] {1, 8, 64}) {
                r.add(Arguments.of(m, d));
            }
        }
        return r.stream();
    }

    static ImportOptions options(String model) {
        return switch (model) {
            case "transformer_seq2seq.onnx" -> ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "src_seq", 32L,
                    "tgt_seq", 32L));
            case "all-minilm-l6-v2.onnx" -> ImportOptions.DEFAULT.withInputShapes(Map.of("input_ids", List.of(64L, 128L),
                    "attention_mask", List.of(64L, 128L), "token_type_ids", List.of(64L, 128L)));
            case "lstm_lm.onnx" -> ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "seq", 35L));
            case "llama_gqa.onnx" -> ImportOptions.DEFAULT.withDims(Map.of("batch", 64L, "seq", 128L));
            default -> ImportOptions.DEFAULT.withDims(Map.of("batch", 64L));
        };
    }

    @ParameterizedTest(name = "{0} on {1} devices")
    @MethodSource("cases")
    void planIsValidAndNeverWorseThanTheBaselines(String model, int devices) throws Exception {
        Path file = model(model);
        Graph g = OnnxImporter.read(file, options(model)).graph();
        Planner planner = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), devices))
                .withBatch(64).withTimeLimit(120);
        Plan p = planner.plan(g);
        assertTrue(p.nodes().size() > 1, model);
        if (devices == 1) {
            for (PlanNode n : p.nodes()) {
                assertTrue(n.strategy().isEmpty(), n.name() + " must not be split on one device, found " + n.strategyText());
                assertEquals(0.0, n.communicationSeconds(), n.name());
            }
        }
        for (Plan.Baseline b : p.baselines().values()) {
            assertTrue(!b.fits() || p.totals().stepSeconds() <= b.stepSeconds() * (1 + 1e-12),
                    model + " on " + devices + ": plan " + p.totals().stepSeconds() + " s is slower than " + b);
        }
        PlanEvaluator.Result r = planner.evaluate(p, g);
        assertTrue(r.valid(), r.violations().toString());
        assertTrue(r.largestDifference() < 1e-9, model + ": evaluator differs by " + r.largestDifference());
        assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * p.totals().stepSeconds());
    }
}
