package org.shardplan.bench.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.Kernel;
import org.shardplan.cost.profile.ProfileReport;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;

/** The bookkeeping of the leave-one-model-out benchmark (nothing timed). */
class LeaveOneModelOutTest {
    @TempDir
    Path tmp;

    private static CalibrationEntry entry(Node n, double seconds) {
        Kernel k = Backward.forward(n);
        return new CalibrationEntry(OpSignature.of(n), n.opType(), k.shapeClass(), k.dtype().toString(),
                k.work().flops(), k.work().bytes(), seconds, 7, k.calls(), 0);
    }

    /** x[b,64] -> MatMul w[64,64] -> Relu -> y. */
    private Graph mlp(long batch) throws Exception {
        float[] w = new float[64 * 64];
        Path f = Files.write(tmp.resolve("mlp.onnx"), ModelBuilder.create(8, Map.of("", 17L)).graphName("mlp")
                .input(ValueEntry.tensor("x", 1, List.of("b", 64)))
                .initializer(TensorEntry.floats("w", new long[] {64, 64}, w))
                .node(NodeSpec.of("MatMul", "mm").inputs("x", "w").outputs("h"))
                .node(NodeSpec.of("Relu", "act").inputs("h").outputs("y"))
                .output(ValueEntry.tensor("y", 1, List.of("b", 64))).bytes());
        return OnnxImporter.read(f, ImportOptions.DEFAULT.withDims(Map.of("b", batch))).graph();
    }

    @Test
    void heldOutCalibrationHoldsNothingOfTheModel() throws Exception {
        Graph a8 = mlp(8);
        Graph a16 = mlp(16);
        Graph b32 = mlp(32);
        CalibrationFile cal = new CalibrationFile(MachineFingerprint.localCpu(1, "test"));
        Map<String, String> origin = new HashMap<>();
        // model A measures its batch-8 and batch-16 nodes; model B its batch-32 nodes and, shared
        // with A's batch 8, nothing new for the MatMul at batch 8
        Set<String> before = new HashSet<>();
        for (Node n : a8.nodes()) {
            cal.put(entry(n, 1e-5));
        }
        for (Node n : a16.nodes()) {
            cal.put(entry(n, 2e-5));
        }
        assertEquals(4, LeaveOneModelOut.attribute(before, cal.entries(), "A", origin));
        cal.entries().forEach(e -> before.add(e.signature()));
        for (Node n : b32.nodes()) {
            cal.put(entry(n, 4e-5));
        }
        assertEquals(2, LeaveOneModelOut.attribute(before, cal.entries(), "B", origin));
        // attributing again changes nothing: an entry keeps the model that measured it first
        assertEquals(0, LeaveOneModelOut.attribute(Set.of(), cal.entries(), "C", origin));

        Set<String> sigsB = LeaveOneModelOut.signatures(b32);
        assertEquals(2, sigsB.size());
        CalibrationFile forB = LeaveOneModelOut.heldOut(cal, origin, "B", sigsB);
        assertEquals(4, forB.size());
        for (String s : sigsB) {
            assertTrue(forB.get(s).isEmpty(), s);
        }
        // a signature B shares with A is left out too, though A measured it
        Set<String> sigsBWithShared = new HashSet<>(sigsB);
        sigsBWithShared.add(OpSignature.of(a8.nodes().get(0)));
        assertEquals(3, LeaveOneModelOut.heldOut(cal, origin, "B", sigsBWithShared).size());
        CalibrationFile forA = LeaveOneModelOut.heldOut(cal, origin, "A", LeaveOneModelOut.signatures(a8));
        assertEquals(2, forA.size());
    }

    @Test
    void heldOutPredictionsDoNotDependOnTheModelsOwnMeasurements() throws Exception {
        Graph a8 = mlp(8);
        Graph a16 = mlp(16);
        Graph b32 = mlp(32);
        DeviceSpec cpu = DeviceProfiles.get(DeviceProfiles.CPU_LOCAL);
        ProfileReport measured = new ProfileReport("B", "cpu-local", "id", 1e-6, List.of(), OptionalDouble.of(1e-4),
                Optional.empty(), 0, 0);
        double[] predicted = new double[2];
        for (int round = 0; round < 2; round++) {
            CalibrationFile cal = new CalibrationFile(MachineFingerprint.localCpu(1, "test"));
            Map<String, String> origin = new HashMap<>();
            a8.nodes().forEach(n -> cal.put(entry(n, 1e-5)));
            a16.nodes().forEach(n -> cal.put(entry(n, 2e-5)));
            LeaveOneModelOut.attribute(Set.of(), cal.entries(), "A", origin);
            // B's own measurements differ by a factor of 100 between the rounds
            double own = round == 0 ? 4e-5 : 4e-3;
            b32.nodes().forEach(n -> cal.put(entry(n, own)));
            LeaveOneModelOut.attribute(Set.of(), cal.entries(), "B", origin);
            CalibrationFile held = LeaveOneModelOut.heldOut(cal, origin, "B", LeaveOneModelOut.signatures(b32));
            ProfileReport r = LeaveOneModelOut.predict("B", b32, cpu, cal, held, measured);
            predicted[round] = r.predictedSeconds();
            assertEquals(own, r.nodes().get(0).measuredSeconds().getAsDouble());
            // the whole-model measurement is carried over unchanged
            assertEquals(1e-4, r.wholeModelMeasuredSeconds().getAsDouble());
            // predicting with a calibration that still holds B's signature is refused
            assertThrows(IllegalStateException.class, () -> LeaveOneModelOut.predict("B", b32, cpu, cal, cal, measured));
        }
        assertEquals(predicted[0], predicted[1], 0.0);
        assertTrue(predicted[0] > 0);
    }
}
