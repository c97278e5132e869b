package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * More devices never make a slower plan: real models planned with {@code shardplan plan MODEL --batch 8
 * --devices N --pipeline-parallel off} at 8, 16, 32 and 64 A100s, with the default options. The plan on
 * 64 devices is searched with the plan on 32 devices (itself searched with the plan on 16, and so on)
 * copied over the other devices among its candidates, at the same cost, so the step can only fall. (benchmarks/results/more-devices.md has the whole zoo.) The models are those where the step
 * time used to grow with the devices: the torch.nn Transformer (5 % slower on 16 devices than on 8),
 * MobileNet-v2 (slower at each step, 7 % from 8 to 64) and AlexNet (4 % slower on 64 than on 32).
 */
class MoreDevicesTest {

    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("transformer_seq2seq.onnx", List.of("--dim", "src_seq=32", "--dim", "tgt_seq=32")),
                Arguments.of("mobilenet_v2.onnx", List.of()),
                Arguments.of("alexnet.onnx", List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void stepTimeNeverGrowsWithTheDevices(String model, List<String> dims) throws Exception {
        Path file = PlanRealModelsTest.model(model);
        double previous = Double.POSITIVE_INFINITY;
        int previousDevices = 0;
        for (int devices : new int[] {8, 16, 32, 64}) {
            List<String> args = new ArrayList<>(List.of("plan", file.toString(), "--batch", "8", "--devices",
                    String.valueOf(devices), "--pipeline-parallel", "off", "--json"));
            args.addAll(dims);
            CliRun r = CliRun.of(args.toArray(String[]::new));
            assertEquals(0, r.code(), r.err());
            JsonNode plan = new ObjectMapper().readTree(r.out());
            assertEquals("OPTIMAL", plan.path("solver").path("status").asText(), model + " on " + devices + " devices");
            double step = plan.path("totals").path("stepSeconds").asDouble();
            assertTrue(step > 0, model + ": step " + step);
            assertTrue(step <= previous * (1 + 1e-9), model + ": the step on " + devices + " devices must be at most the "
                    + previous + " s on " + previousDevices + ", found " + step + " s");
            previous = step;
            previousDevices = devices;
        }
    }
}
