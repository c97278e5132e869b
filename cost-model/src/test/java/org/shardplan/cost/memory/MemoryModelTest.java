package org.shardplan.cost.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.ClusterException;

class MemoryModelTest {

    @Test
    void adamMixedPrecisionKeepsSixteenBytesPerParameter() {
        assertEquals(2 + 2 + 4 + 4 + 4, OptimizerSpec.ADAM_MIXED.bytesPerParameter());
        MemoryBreakdown m = MemoryModel.DEFAULT.parameters(1_000_000, 8);
        assertEquals(2e6, m.weights());
        assertEquals(2e6, m.gradients());
        assertEquals(12e6, m.optimizerState());
        assertEquals(16e6, m.total());
    }

    @Test
    void zeroStagesShardOverTheDataParallelGroup() {
        double p = 1_000_000;
        int d = 4;
        OptimizerSpec o = OptimizerSpec.ADAM_MIXED;
        assertEquals(2 * p + 2 * p + 12 * p / d, new MemoryModel(o, 1, false).parameters(p, d).total());
        assertEquals(2 * p + 2 * p / d + 12 * p / d, new MemoryModel(o, 2, false).parameters(p, d).total());
        assertEquals(16 * p / d, new MemoryModel(o, 3, false).parameters(p, d).total());
        assertEquals(4 * p + 4 * p + 4 * p / d,
                new MemoryModel(OptimizerSpec.SGD_MOMENTUM_FP32, 1, false).parameters(p, d).total());
        assertThrows(IllegalArgumentException.class, () -> new MemoryModel(o, 4, false));
    }

    @Test
    void recomputationKeepsCheckpointsAndTheLargestSegment() {
        List<Double> saved = List.of(10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0);
        assertEquals(10 + 20 + 30 + 40 + 50 + 60 + 70 + 80 + 90, MemoryModel.DEFAULT.activations(saved));
        // 9 nodes -> segments of 3: checkpoints 10, 40, 70; largest rest 80 + 90
        MemoryModel r = new MemoryModel(OptimizerSpec.ADAM_MIXED, 0, true);
        assertEquals(10 + 40 + 70 + (80 + 90), r.activations(saved));
        assertEquals(10 + 30 + 50 + 70 + 90 + 80, MemoryModel.checkpointed(saved, 2));
        MemoryBreakdown all = r.perDevice(100, 1, saved);
        assertEquals(16 * 100 + 10 + 40 + 70 + 80 + 90, all.total());
    }

    @Test
    void pyTorchsAutomaticMixedPrecisionKeepsFloat32StateAndMovesLessThanMegatronsStep() throws Exception {
        OptimizerSpec amp = OptimizerSpec.of("ADAM-AMP");
        assertEquals(OptimizerSpec.ADAM_AMP, amp);
        // float32 weights, gradients and two moments: as many bytes as Megatron's mixed precision keeps
        assertEquals(16, amp.bytesPerParameter(), 0);
        assertEquals(OptimizerSpec.ADAM_MIXED.bytesPerParameter(), amp.bytesPerParameter(), 0);
        assertEquals(4, amp.weightBytes(), 0);
        // the fused AdamW and the clipping norm move 32 bytes a parameter, Megatron-LM's step of 2021 52
        assertEquals(32, amp.stepBytesPerParameter(), 0);
        assertTrue(amp.stepBytesPerParameter() < OptimizerSpec.ADAM_MIXED.stepBytesPerParameter());
    }

    @Test
    void unknownOptimizerIsNamed() {
        ClusterException e = assertThrows(ClusterException.class, () -> OptimizerSpec.of("lamb"));
        assertEquals("optimizer must be one of [adam-mixed, adam-fp32, sgd-momentum-fp32, sgd-fp32, adam-amp], found"
                + " \"lamb\"",
                e.getMessage());
    }
}
