package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.compute.MemoryCurve;
import org.shardplan.cost.profile.CpuLocalModel;
import org.shardplan.cost.profile.Ort;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;

/**
 * {@code profile}, {@code plan} and {@code evaluate} on {@code cpu-local} price a node by the same
 * calibrated model: the calibration {@code profile} writes by default and this core's memory curve.
 */
class LocalCalibrationTest {

    private String saved;

    @BeforeEach
    void keep() {
        saved = System.getProperty("shardplan.cache");
    }

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty("shardplan.cache");
        } else {
            System.setProperty("shardplan.cache", saved);
        }
    }

    /**
     * A memory curve, written where LocalCpu caches this machine's: 100 GB/s to 1 MB, 10 GB/s from 100 MB,
     * products streaming weights beyond the caches at 6 GB/s (a file with that rate is read as it is).
     */
    static MemoryCurve writeCurve(Path cache) throws Exception {
        MemoryCurve c = new MemoryCurve(new double[] {1e4, 1e6, 1e8}, new double[] {100e9, 50e9, 10e9}, 6e9);
        String id = MachineFingerprint.localCpu(1, Ort.version()).id();
        Files.createDirectories(cache);
        Files.writeString(cache.resolve("cpu-memory-" + id + ".json"),
                "{\"footprints\": [10000.0, 1000000.0, 100000000.0], \"bandwidths\": [1.0e11, 5.0e10, 1.0e10], "
                        + "\"productBandwidth\": 6.0e9}");
        return c;
    }

    @Test
    void planAndEvaluatePriceANodeAsProfileDoes(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        System.setProperty("shardplan.cache", cache.toString());
        MemoryCurve curve = writeCurve(cache);
        Path model = ProfileCommandTest.mlp(dir);

        // without a calibration: the analytic model, as before
        CliRun before = CliRun.of("plan", model.toString(), "--dim", "batch=4", "--device", "cpu-local", "--devices", "1",
                "--json");
        assertEquals(0, before.code(), before.err());
        JsonNode pb = new ObjectMapper().readTree(before.out());
        assertEquals("analytic", pb.get("provenance").get("calibration").asText());

        // profile with its defaults writes this machine's default calibration
        CliRun prof = CliRun.of("profile", model.toString(), "--dim", "batch=4", "--repeats", "3", "--min-time", "0",
                "--rounds", "1", "--json");
        assertEquals(0, prof.code(), prof.err());
        Path cal = CpuLocalModel.defaultCalibration();
        assertTrue(Files.isRegularFile(cal), cal.toString());
        CalibrationFile file = CalibrationFile.read(cal);
        assertEquals(3, file.size());

        // the model profile predicts with: the calibration's samples and the memory curve written above
        DeviceSpec cpu = DeviceProfiles.get(DeviceProfiles.CPU_LOCAL);
        EfficiencyModel profiles = new EfficiencyModel(cpu, file.samples(), curve);
        Graph g = OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(Map.of("batch", 4L))).graph();
        JsonNode pr = new ObjectMapper().readTree(prof.out());
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            String sig = OpSignature.of(n);
            // profile's own (held-out) prediction of each node is this model's without the node's signature
            double expected = profiles.without(Set.of(sig)).predict(Backward.forward(n), sig).seconds();
            assertEquals(expected, pr.get("nodes").get(i).get("predictedSeconds").asDouble(), 1e-12 * Math.abs(expected),
                    n.name());
        }

        // plan on cpu-local now prices every node by that model (forward and backward), naming the file
        CliRun after = CliRun.of("plan", model.toString(), "--dim", "batch=4", "--device", "cpu-local", "--devices", "1",
                "--json", "--out", dir.resolve("plan.json").toString());
        assertEquals(0, after.code(), after.err());
        JsonNode pa = new ObjectMapper().readTree(after.out());
        assertEquals(cal.toString(), pa.get("provenance").get("calibration").asText());
        ComputeModel same = new ComputeModel(profiles);
        ComputeModel analytic = ComputeModel.analytic(cpu);
        // one device: each plan node is a coarse node (a MatMul with the Relu after it fused in), its
        // compute the training time (forward and backward) of its graph nodes
        double expected = 0;
        double analyticTotal = 0;
        for (Node n : g.nodes()) {
            expected += same.cost(n).trainingSeconds();
            analyticTotal += analytic.cost(n).trainingSeconds();
        }
        double planned = 0;
        for (JsonNode pn : pa.get("nodes")) {
            planned += pn.get("computeSeconds").asDouble();
        }
        assertEquals(expected, planned, 1e-9 * expected, after.out());
        assertNotEquals(analyticTotal, planned, 1e-3 * expected);
        // the last MatMul is a plan node of its own: the same node, the same time
        JsonNode last = pa.get("nodes").get(pa.get("nodes").size() - 1);
        assertEquals("mm2", last.get("name").asText(), after.out());
        double mm2 = same.cost(g.nodes().get(2)).trainingSeconds();
        assertEquals(mm2, last.get("computeSeconds").asDouble(), 1e-9 * mm2);

        // the text report says where the compute times come from
        CliRun text = CliRun.of("plan", model.toString(), "--dim", "batch=4", "--device", "cpu-local", "--devices", "1");
        assertTrue(text.out().contains("compute priced from the calibration " + cal), text.out());

        // evaluate re-costs the plan with the same model: no difference
        CliRun ev = CliRun.of("evaluate", dir.resolve("plan.json").toString(), model.toString(), "--dim", "batch=4");
        assertEquals(0, ev.code(), ev.err());
        java.util.regex.Matcher d = java.util.regex.Pattern.compile("largest difference ([0-9.eE+-]+)%").matcher(ev.out());
        assertTrue(d.find(), ev.out());
        assertTrue(Double.parseDouble(d.group(1)) < 1e-6, ev.out());
    }
}
