package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.cluster.Link;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

class ProfilerTest {
    static final DeviceSpec CPU = new DeviceSpec("cpu-local", "test", "cpu", java.util.Map.of("float32", 1e10),
            1e10, 1e9, true, 1, Link.of("m", 1, 0), Link.of("n", 1, 0));
    static final Profiler.Options FAST = new Profiler.Options(1, new Timing(1, 3, 5, 0), "none", true);

    static TensorType f32(long... d) {
        return TensorType.of(DType.FLOAT32, d);
    }

    /** x[4,64] -> MatMul w1[64,32] -> Relu -> MatMul w2[32,16] -> y; the two MatMuls differ in shape. */
    static Graph mlp(boolean withBrokenNode) {
        Value x = Value.input("x", f32(4, 64));
        Value w1 = Value.parameter("w1", f32(64, 32));
        Value w2 = Value.parameter("w2", f32(32, 16));
        Value h = Value.intermediate("h", f32(4, 32));
        Value r = Value.intermediate("r", f32(4, 32));
        Value y = Value.intermediate("y", f32(4, 16));
        Graph.Builder b = Graph.builder("mlp").addInput(x).addParameter(w1).addParameter(w2)
                .addNode(new Node("mm1", "MatMul", "", List.of(x, w1), List.of(h), List.of()))
                .addNode(new Node("relu", "Relu", "", List.of(h), List.of(r), List.of()))
                .addNode(new Node("mm2", "MatMul", "", List.of(r, w2), List.of(y), List.of()));
        if (withBrokenNode) {
            Value z = Value.intermediate("z", f32(4, 16));
            b.addNode(new Node("odd", "NoSuchOperator", "", List.of(y), List.of(z), List.of())).addOutput(z);
        } else {
            b.addOutput(y);
        }
        return b.build();
    }

    /** The same MLP as an ONNX file. */
    static Path writeMlp(Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(3);
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("mlp")
                .addInput(OnnxModels.valueInfo("x", OnnxModels.FLOAT, new long[] {4, 64}))
                .addInitializer(OnnxModels.randomTensor("w1", OnnxModels.FLOAT, new long[] {64, 32}, rnd))
                .addInitializer(OnnxModels.randomTensor("w2", OnnxModels.FLOAT, new long[] {32, 16}, rnd))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("mm1").setOpType("MatMul").addInput("x").addInput("w1").addOutput("h"))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("relu").setOpType("Relu").addInput("h").addOutput("r"))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("mm2").setOpType("MatMul").addInput("r").addInput("w2").addOutput("y"))
                .addOutput(OnnxModels.valueInfo("y", OnnxModels.FLOAT, new long[] {4, 16}))
                .build();
        OnnxMl.ModelProto m = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build();
        Path f = dir.resolve("mlp.onnx");
        Files.write(f, m.toByteArray());
        return f;
    }

    static CalibrationFile emptyCalibration() {
        return new CalibrationFile(MachineFingerprint.localCpu(1, Ort.version() + " opt=none"));
    }

    @Test
    void measuresEachSignatureOncePredictsHeldOutAndTimesTheWholeModel(@TempDir Path dir) throws Exception {
        Graph g = mlp(false);
        CalibrationFile calib = emptyCalibration();
        List<Integer> steps = new java.util.ArrayList<>();
        ProfileReport r = new Profiler(CPU, FAST).profile("mlp", g, writeMlp(dir),
                SingleNodeModels.defaultOpsets(), calib, (done, total, what) -> steps.add(done));
        assertEquals(3, r.nodes().size());
        assertEquals(3, r.measuredSignatures());
        assertEquals(0, r.reusedSignatures());
        assertEquals(3, calib.size());
        assertTrue(r.wholeModelMeasuredSeconds().isPresent());
        assertTrue(r.wholeModelMeasuredSeconds().getAsDouble() > 0);
        assertEquals(0, r.flaggedCount());
        // progress counted 0..4: three signatures and the whole model
        assertEquals(List.of(0, 1, 2, 3, 4), steps);
        for (ProfileReport.NodeResult n : r.nodes()) {
            assertTrue(n.measuredSeconds().isPresent(), n.name());
            assertTrue(n.predictedSeconds() > 0, n.name());
        }
        // mm1 is held out: the only other MatMul (mm2, x[4,32]·w2[32,16]) is a scaling of it (K and
        // N halved, see SizeFamily), so mm1 is predicted from it as a member of its size family
        assertEquals("family", r.nodes().get(0).source());
        // Relu has no other element-wise sample: the matmul samples answer at the "all" level
        assertEquals("all", r.nodes().get(1).source());
        // the whole-model prediction is the sum of node predictions plus one call overhead, plus
        // the two weights (64·32 and 32·16 floats) and the activation arena (x and h live together
        // while mm1 runs, 4·64 + 4·32 floats, the most at once) read once from memory inside the whole model
        double sum = r.callOverheadSeconds();
        for (ProfileReport.NodeResult n : r.nodes()) {
            sum += n.predictedSeconds();
        }
        double cold = CPU.name().equals(org.shardplan.cost.cluster.DeviceProfiles.CPU_LOCAL)
                ? (64 * 32 + 32 * 16 + 4 * 64 + 4 * 32) * 4.0 / LocalCpu.memoryCurve().streamingBandwidth() : 0;
        assertEquals(cold, r.coldWeightSeconds(), 1e-18);
        assertEquals(sum + cold, r.predictedSeconds(), 1e-15);

        // a second run reuses everything: nothing is measured again, the file round-trips
        Path file = dir.resolve("calib.json");
        calib.write(file);
        CalibrationFile again = CalibrationFile.read(file);
        assertEquals(calib.entries(), again.entries());
        assertEquals(calib.fingerprint(), again.fingerprint());
        ProfileReport r2 = new Profiler(CPU, new Profiler.Options(1, new Timing(1, 3, 5, 0), "none", false))
                .profile("mlp", g, null, SingleNodeModels.defaultOpsets(), again, null);
        assertEquals(0, r2.measuredSignatures());
        assertEquals(3, r2.reusedSignatures());
        assertTrue(r2.nodes().get(2).cached());
    }

    @Test
    void anOperatorOnnxRuntimeCannotRunIsFlaggedAndNotRecorded() throws Exception {
        Graph g = mlp(true);
        CalibrationFile calib = emptyCalibration();
        ProfileReport r = new Profiler(CPU, new Profiler.Options(1, new Timing(1, 3, 5, 0), "none", false))
                .profile("mlp", g, null, SingleNodeModels.defaultOpsets(), calib, null);
        assertEquals(4, r.nodes().size());
        ProfileReport.NodeResult odd = r.nodes().get(3);
        assertTrue(odd.flag().startsWith("ONNX Runtime failed"), odd.flag());
        assertTrue(odd.flag().endsWith("analytic fallback"), odd.flag());
        assertTrue(odd.measuredSeconds().isEmpty());
        assertEquals(1, r.flaggedCount());
        assertEquals(3, calib.size());
        Node oddNode = g.nodes().get(3);
        assertTrue(calib.get(OpSignature.of(oddNode)).isEmpty());
        assertFalse(r.nodes().get(0).flag().length() > 0);
    }

    @Test
    void theWholeModelIsTimedAgainAndAFileThatCannotLoadIsAClearError(@TempDir Path dir) throws Exception {
        Profiler p = new Profiler(CPU, FAST);
        double again = p.timeWholeAgain(writeMlp(dir), mlp(false));
        assertTrue(again > 0 && again < 1, "one run of a 4x64 MLP: " + again);
        Path bad = dir.resolve("cut.onnx");
        Files.write(bad, new byte[] {8, 7});
        ProfileException e = assertThrows(ProfileException.class, () -> p.timeWholeAgain(bad, mlp(false)));
        assertTrue(e.getMessage().startsWith(bad + ": ONNX Runtime cannot load the model"), e.getMessage());
    }

    @Test
    void aModelOnnxRuntimeCannotLoadIsAClearError(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.onnx");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5});
        ProfileException e = assertThrows(ProfileException.class, () -> new Profiler(CPU, FAST)
                .profile("bad", mlp(false), bad, SingleNodeModels.defaultOpsets(), emptyCalibration(), null));
        assertTrue(e.getMessage().startsWith(bad + ": ONNX Runtime cannot load the model"), e.getMessage());
    }

    @Test
    void parametersThatAreGraphInputsAreFedRandomTensors(@TempDir Path dir) throws Exception {
        // the weight w is a graph input without an initializer: the whole-model run must feed it
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("feedw")
                .addInput(OnnxModels.valueInfo("x", OnnxModels.FLOAT, new long[] {4, 8}))
                .addInput(OnnxModels.valueInfo("w", OnnxModels.FLOAT, new long[] {8, 2}))
                .addNode(OnnxMl.NodeProto.newBuilder().setName("mm").setOpType("MatMul").addInput("x").addInput("w").addOutput("y"))
                .addOutput(OnnxModels.valueInfo("y", OnnxModels.FLOAT, new long[] {4, 2}))
                .build();
        Path f = dir.resolve("feedw.onnx");
        Files.write(f, OnnxMl.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build().toByteArray());
        Value x = Value.input("x", f32(4, 8));
        Value w = Value.input("w", f32(8, 2));
        Value y = Value.intermediate("y", f32(4, 2));
        Graph graph = Graph.builder("feedw").addInput(x).addInput(w)
                .addNode(new Node("mm", "MatMul", "", List.of(x, w), List.of(y), List.of())).addOutput(y).build();
        ProfileReport r = new Profiler(CPU, FAST).profile("feedw", graph, f, SingleNodeModels.defaultOpsets(),
                emptyCalibration(), null);
        assertTrue(r.wholeModelMeasuredSeconds().isPresent());
        assertEquals(1, r.measuredSignatures());
    }

    @Test
    void reportStatisticsAreHandCheckable() {
        java.util.OptionalDouble none = java.util.OptionalDouble.empty();
        List<ProfileReport.NodeResult> nodes = List.of(
                new ProfileReport.NodeResult("a", "MatMul", "s1", 1.1, java.util.OptionalDouble.of(1.0), "class", "", false),
                new ProfileReport.NodeResult("b", "Relu", "s2", 0.5, java.util.OptionalDouble.of(1.0), "op", "", false),
                new ProfileReport.NodeResult("c", "Add", "s3", 2.0, java.util.OptionalDouble.of(2.0), "op", "", false),
                new ProfileReport.NodeResult("d", "Shape", "", 0.0, java.util.OptionalDouble.of(0.0), "folded", "", false),
                new ProfileReport.NodeResult("e", "Odd", "s4", 3.0, none, "analytic", "failed", false));
        ProfileReport r = new ProfileReport("m", "cpu-local", "id", 0.25, nodes, java.util.OptionalDouble.of(7.0),
                java.util.Optional.empty(), 3, 0);
        // errors: a 0.1, b 0.5, c 0.0 (d folded, e unmeasured) -> sorted 0.0, 0.1, 0.5
        assertEquals(0.1, r.medianAbsRelError(), 1e-12);
        assertEquals(0.5, r.errorQuantile(0.9), 1e-12);
        assertEquals((0.1 + 0.5 + 0.0) / (1.0 + 1.0 + 2.0), r.weightedAbsRelError(), 1e-12);
        assertEquals(0.25 + 1.1 + 0.5 + 2.0 + 0.0 + 3.0, r.predictedSeconds(), 1e-12);
        assertEquals(Math.abs(6.85 - 7.0) / 7.0, r.wholeModelRelError().getAsDouble(), 1e-12);
    }

    @Test
    void aReusedEntryGetsTheCurrentWorkOfItsNodeAndKeepsItsMeasurement() {
        // an entry written when Tanh counted one FLOP per element: 3 x 5 elements, 15 FLOPs
        Node tanh = new Node("t", "Tanh", "", List.of(Value.intermediate("x", f32(3, 5))),
                List.of(Value.intermediate("y", f32(3, 5))), List.of());
        String sig = OpSignature.of(tanh);
        CalibrationFile cal = new CalibrationFile(MachineFingerprint.localCpu(1, "test"));
        cal.put(new org.shardplan.cost.calib.CalibrationEntry(sig, "Tanh", "same", "float32", 15, 120, 2.5e-6, 7, 1, 0.01));
        Profiler.refresh(cal, sig, tanh);
        var e = cal.get(sig).orElseThrow();
        // now 14 operations per element: 210; bytes (60 read, 60 written) unchanged; time, repeats and spread kept
        assertEquals(210, e.flops(), 0);
        assertEquals(120, e.bytes(), 0);
        assertEquals(2.5e-6, e.seconds(), 0);
        assertEquals(7, e.repeats());
        assertEquals(0.01, e.spread(), 0);
    }

    @Test
    void onlyALowOrMinimumStatisticInRoundsRemeasuresNodesWhoseRoundsDisagree() {
        Timing t = new Timing(1, 3, 5, 0);
        Profiler low = new Profiler(CPU, new Profiler.Options(1, t.withStatistic(Timing.Statistic.LOW), "none", false, 3,
                0.1));
        assertTrue(low.unsettled(Profiler.REMEASURE_SPREAD + 0.01));
        assertFalse(low.unsettled(Profiler.REMEASURE_SPREAD - 0.01));
        Profiler min = new Profiler(CPU, new Profiler.Options(1, t.withStatistic(Timing.Statistic.MIN), "none", false, 3,
                0.1));
        assertTrue(min.unsettled(1.0));
        // the median keeps its one measurement, as before; one round has no spread to judge by
        Profiler median = new Profiler(CPU, new Profiler.Options(1, t, "none", false, 3, 0.1));
        assertFalse(median.unsettled(1.0));
        Profiler oneRound = new Profiler(CPU, new Profiler.Options(1, t.withStatistic(Timing.Statistic.LOW), "none",
                false, 1, 0.1));
        assertFalse(oneRound.unsettled(1.0));
    }
}
