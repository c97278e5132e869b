package org.shardplan.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DigitsAndStagesTest {

    @Test
    void theNpmPackageHoldsTenThousandDigits() throws Exception {
        Path dir = Path.of(System.getProperty("shardplan.mnist",
                Digits.defaultDir(Path.of(System.getProperty("shardplan.root", ".."))).toString()));
        assumeTrue(Files.isDirectory(dir), "missing " + dir + " (dev/setup-test-data)");
        Examples e = Digits.load(dir, 0.2, 0);
        assertEquals(8000, e.trainX().length);
        assertEquals(2000, e.testX().length);
        assertEquals(784, e.width());
        // images per digit in mnist 1.1.0's src/digits/D.json: data length / 784
        int[] expected = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
        int[] count = new int[10];
        for (int y : e.trainY()) {
            count[y]++;
        }
        for (int y : e.testY()) {
            count[y]++;
        }
        for (int d = 0; d < 10; d++) {
            assertEquals(expected[d], count[d], "digit " + d);
        }
        for (float[] x : e.trainX()) {
            for (float v : x) {
                assertTrue(v >= 0 && v <= 1, "pixel " + v);
            }
        }
    }

    @Test
    void planStagesPlaceUnnamedNodesWithTheirProducer() {
        TrainModel m = TrainModel.mlpModel(new int[] {6, 5, 4, 3}, 1);
        // the plan names the Gemms only (the planner fuses Relu into its producer)
        List<StageProgram> s = TrainStages.named(m, List.of(List.of("/fc0/Gemm", "/fc1/Gemm"), List.of("/fc2/Gemm")));
        assertEquals(2, s.size());
        assertEquals(List.of("/fc0/Gemm", "/relu0/Relu", "/fc1/Gemm", "/relu1/Relu"),
                s.get(0).nodes().stream().map(n -> n.name()).toList());
        assertEquals("/relu1/Relu_output_0", s.get(0).output());
        assertEquals("/relu1/Relu_output_0", s.get(1).input());
        assertEquals(List.of("fc2.weight", "fc2.bias"), s.get(1).params());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainStages.named(m, List.of(List.of("/fc0/Gemm"), List.of("/conv/Conv"))));
        assertTrue(e.getMessage().contains("/conv/Conv"), e.getMessage());
    }

    @Test
    void evenStagesBalanceParameters() {
        // 784-256-128-10: fc0 holds 200,960 parameters, fc1 and fc2 34,186: the one cut goes after fc0's Relu or Gemm
        TrainModel m = TrainModel.mlpModel(new int[] {784, 256, 128, 10}, 1);
        List<StageProgram> s = TrainStages.even(m, 2);
        assertEquals(List.of("fc0.weight", "fc0.bias"), s.get(0).params());
        assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"), s.get(1).params());
    }
}
