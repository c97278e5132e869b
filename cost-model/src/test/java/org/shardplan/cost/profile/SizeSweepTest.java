package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.compute.Kernel;
import org.shardplan.cost.compute.SizeFamily;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;

class SizeSweepTest {
    static double roofline(Node n) {
        Kernel k = Backward.forward(n);
        return new EfficiencyModel(ProfilerTest.CPU, List.of()).roofline(k.work().flops(), k.work().bytes(), k.dtype());
    }

    static TensorType f32(long... d) {
        return TensorType.of(DType.FLOAT32, d);
    }

    @Test
    void reshapeScalesItsInputOutputAndTargetShapeButNotOtherAxes() {
        Node n = new Node("r", "Reshape", "", List.of(Value.intermediate("x", f32(1, 128, 384)),
                Value.constant("s", Tensor.int64Vector(1, 128, 12, 32))),
                List.of(Value.intermediate("y", f32(1, 128, 12, 32))), List.of());
        Node twice = SizeSweep.scaled(n, 0, 2, 1).orElseThrow();
        assertArrayEquals(new long[] {2, 128, 384}, twice.input(0).shape().toLongs());
        assertArrayEquals(new long[] {2, 128, 12, 32}, twice.input(1).constant().get().longs().get());
        assertArrayEquals(new long[] {2, 128, 12, 32}, twice.output(0).shape().toLongs());
        // batch 1 cannot be halved
        assertTrue(SizeSweep.scaled(n, 0, 1, 2).isEmpty());
        // axis 2 (12 heads) of the output: no input carries it three places from its end with
        // size 12 (the input has 128 there), only the target shape names it
        Node heads = SizeSweep.scaled(n, 2, 1, 2).orElseThrow();
        assertSame(n.input(0), heads.input(0));
        assertArrayEquals(new long[] {1, 128, 6, 32}, heads.input(1).constant().get().longs().get());
        // the original is left as it was
        assertArrayEquals(new long[] {1, 128, 12, 32}, n.input(1).constant().get().longs().get());
        // a scaling in the size-family sense: every changed size doubled
        SizeFamily a = SizeFamily.of(OpSignature.of(n)).orElseThrow();
        assertEquals(2.0, a.scaleTo(SizeFamily.of(OpSignature.of(twice)).orElseThrow()));
    }

    @Test
    void matmulWithAWeightKeepsTheWeightAndScalesRows() {
        Node mm = new Node("mm", "MatMul", "", List.of(Value.intermediate("a", f32(64, 32)),
                Value.parameter("w", f32(32, 16))), List.of(Value.intermediate("y", f32(64, 16))), List.of());
        List<List<Node>> c = SizeSweep.candidates(mm);
        // axis 0 (rows 64): halved and doubled, the weight untouched
        assertEquals(2, c.get(0).size());
        assertArrayEquals(new long[] {32, 32}, c.get(0).get(0).input(0).shape().toLongs());
        assertArrayEquals(new long[] {128, 32}, c.get(0).get(1).input(0).shape().toLongs());
        assertArrayEquals(new long[] {32, 16}, c.get(0).get(1).input(1).shape().toLongs());
        assertArrayEquals(new long[] {128, 16}, c.get(0).get(1).output(0).shape().toLongs());
        // axis 1 (columns 16) is carried by no activation: no candidate for it
        assertEquals(1, c.size());
    }

    @Test
    void profilingWithSweepsRecordsValidatedNeighboursUnderTheirOwnSignatures(@TempDir Path dir) throws Exception {
        Graph g = ProfilerTest.mlp(false);
        CalibrationFile calib = ProfilerTest.emptyCalibration();
        Profiler.Options sweep = new Profiler.Options(1, new Timing(1, 3, 5, 0), "none", false, 1, 0.1, true);
        ProfileReport r = new Profiler(ProfilerTest.CPU, sweep).profile("mlp", g, null,
                SingleNodeModels.defaultOpsets(), calib, null);
        // mm1 x[4,64]·w1[64,32]: rows 2 and 8 measured besides 4
        Node mm1 = g.nodes().get(0);
        for (long rows : new long[] {2, 8}) {
            Node nb = SizeSweep.scaled(mm1, 0, rows, 4).orElseThrow();
            CalibrationEntry e = calib.get(OpSignature.of(nb)).orElseThrow();
            assertEquals(2.0 * rows * 32 * 64, e.flops());
        }
        assertEquals(3, r.measuredSignatures());
        // each of the three nodes has a neighbour below and above (×1/2, ×2 of its rows)
        assertEquals(9, calib.size());
        for (ProfileReport.NodeResult n : r.nodes()) {
            assertEquals("family", n.source(), n.name());
        }
        // the held-out prediction of the Relu (its family: its two neighbours only) interpolates
        // them in (log roofline, log time), not its own measurement
        Node relu = g.nodes().get(1);
        Node half = SizeSweep.scaled(relu, 0, 1, 2).orElseThrow();
        Node twice = SizeSweep.scaled(relu, 0, 2, 1).orElseThrow();
        double t2 = calib.get(OpSignature.of(half)).get().seconds();
        double t8 = calib.get(OpSignature.of(twice)).get().seconds();
        double r2 = roofline(half);
        double r4 = roofline(relu);
        double r8 = roofline(twice);
        double w = Math.log(r4 / r2) / Math.log(r8 / r2);
        double expected = Math.exp(Math.log(t2) + w * Math.log(t8 / t2));
        assertEquals(expected, r.nodes().get(1).predictedSeconds(), 1e-9 * expected);
        // an operator ONNX Runtime refuses at the scaled shape is not recorded: a Reshape whose
        // target shape does not name the scaled axis cannot run at twice the batch
        Node reshape = new Node("r", "Reshape", "", List.of(Value.intermediate("x", f32(2, 6)),
                Value.constant("s", Tensor.int64Vector(3, 4))), List.of(Value.intermediate("y", f32(3, 4))), List.of());
        Profiler p = new Profiler(ProfilerTest.CPU, sweep);
        Node bad = SizeSweep.scaled(reshape, 0, 2, 3).orElseThrow();
        assertNotEquals(OpSignature.of(reshape), OpSignature.of(bad));
        assertTrue(!p.runsAsBuilt(bad, SingleNodeModels.defaultOpsets(), new java.util.SplittableRandom(1)));
        assertTrue(p.runsAsBuilt(reshape, SingleNodeModels.defaultOpsets(), new java.util.SplittableRandom(1)));
    }
}
