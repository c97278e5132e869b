package org.shardplan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.Planner;
import org.shardplan.planner.SearchOptions;
import org.shardplan.planner.eval.PlanEvaluator;

/**
 * More devices never make a slower plan where the search may pipeline: torch.nn.Transformer (sequences of 32, batch
 * 4) chooses two stages on 8, 16 and 32 A100s, and the search on all of a stage's devices alone finds a slower plan on
 * 32 than on 16 (2.945, 2.821, 2.877 ms); the chosen configuration priced on fewer devices a stage (8 of a stage's 16)
 * and copied over the others gives 32 devices a plan at least as fast as 16 (2.821 ms). On 64 (2.846 ms by the search)
 * the configuration priced on 16 devices a stage is slower (2.916 ms) and on 8 it is the 32-device plan again (2.821
 * ms): the descent over the digits goes on past one slower digit ({@code Planner.DESCEND_SLOWER_DIGITS}). Each plan,
 * the copied ones too, is priced the same by the evaluator, which builds every layout again from the plan's factors
 * and placement.
 */
class MoreDevicesWithPipelinesTest {

    private static Plan plan(Path file, int devices) throws Exception {
        return plan(file, devices, 4, Map.of("src_seq", 32L, "tgt_seq", 32L));
    }

    /** The plan of {@code file} (its other dimensions {@code dims}) at batch {@code batch}, priced the same by the evaluator. */
    private static Plan plan(Path file, int devices, long batch, Map<String, Long> dims) throws Exception {
        ModelSource src = b -> {
            Map<String, Long> all = new java.util.HashMap<>(dims);
            all.put("batch", b);
            return OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(all)).graph();
        };
        Planner planner = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), devices)).withBatch(batch)
                .withTimeLimit(60).withSearch(SearchOptions.AUTO); // as the command line: pipelines allowed
        Plan p = planner.plan(src);
        PlanEvaluator.Result r = planner.evaluate(p, src);
        assertTrue(r.valid(), r.violations().toString());
        assertEquals(p.totals().stepSeconds(), r.plan().totals().stepSeconds(), 1e-9 * p.totals().stepSeconds(),
                devices + " devices");
        return p;
    }

    /** The plans of {@code file} on {@code fewer} and on {@code more} devices, the second checked no slower. */
    private static Plan[] fewerAndMore(Path file, int fewer, int more, long batch, Map<String, Long> dims) throws Exception {
        Plan small = plan(file, fewer, batch, dims);
        Plan large = plan(file, more, batch, dims);
        assertTrue(large.totals().stepSeconds() <= small.totals().stepSeconds() * (1 + 1e-12), more + " devices: "
                + large.totals().stepSeconds() + " s, " + fewer + ": " + small.totals().stepSeconds());
        return new Plan[] {small, large};
    }

    @Test
    void aTransformerPipelinedOnMoreDevicesIsNeverSlower() throws Exception {
        Path file = PlanRealModelsTest.model("transformer_seq2seq.onnx");
        double previous = Double.POSITIVE_INFINITY;
        boolean copies = false;
        for (int devices : new int[] {8, 16, 32, 64}) {
            Plan p = plan(file, devices);
            double step = p.totals().stepSeconds();
            assertTrue(step <= previous * (1 + 1e-12), devices + " devices: step " + step + " s, more than " + previous
                    + " s on fewer");
            assertTrue(p.parallelism().pipeline() > 1, devices + " devices: " + p.parallelism());
            copies |= p.solver().name().endsWith("fewer-devices");
            previous = step;
        }
        assertTrue(copies, "no plan was copied from fewer devices: the case this test is for did not arise");
    }

    /**
     * U-Net (small) at batch 1 chooses four stages of one micro-batch on 32 and 64 A100s (on 32 its plan on 16 of them,
     * the others idle, 0.4236 ms); on 64 (the search's plan 0.499 ms) the configuration priced on 4 devices a stage is
     * faster than on 8 (the first digit: half the devices), before their bound's minimisers are priced and after (0.426
     * and 0.4236 ms against 0.432 and 0.4322 ms), but copied over the 64 devices it is the slower (0.445 against 0.4113
     * ms), so that digit alone gives the plan on 16 devices with the other 48 idle (0.4236 ms); the first digit's plan is
     * reported too, and its copies are the plan (0.4113 ms).
     */
    @Test
    void theFirstDigitIsReportedWhereFewerDevicesStillPriceFaster() throws Exception {
        Path file = PlanRealModelsTest.model("unet_small.onnx");
        Plan p = fewerAndMore(file, 32, 64, 1, Map.of())[1];
        assertTrue(p.solver().name().endsWith("fewer-devices"), p.solver().name());
    }

    /**
     * Copies of another pipeline degree than the chosen one: U-Net (small) at batch 4 plans two stages on 32 A100s
     * (0.4752 ms) and four on 64 (0.4932 ms before), where two stages on all 64 devices priced 0.616 ms, 1.25 times the
     * four-stage plan, beyond {@code Planner.COPIED_OTHERS_WITHIN}, so a window that narrow prices them on no fewer
     * devices a stage; with {@code Planner.COPIED_OTHERS_TRIED} they are (on 16 devices a stage priced 0.530 ms, reported
     * 0.4752 ms, copied over the 64 devices 0.4670 ms), and 64 devices are no slower than 32.
     */
    @Test
    void anotherPipelineDegreeCopiedFromFewerDevicesKeepsMoreDevicesNoSlower() throws Exception {
        Plan p = fewerAndMore(PlanRealModelsTest.model("unet_small.onnx"), 32, 64, 4, Map.of())[1];
        assertTrue(p.solver().name().endsWith("fewer-devices"), p.solver().name());
    }

    /**
     * Devices left idle: U-Net (small) at batch 1 plans four stages on 16 A100s (4 devices a stage, two stages a node,
     * 0.4236 ms); on 32 every plan that uses all the devices is slower (the search's 0.4265 ms, and the 16-device plan
     * copied over 32, each stage a node of its own and every send between nodes, 0.463 ms), so the plan on the first 16
     * devices is reported with the other 16 idle: its cluster those 16, a warning saying so, priced the same by the
     * evaluator of the 32-device planner (on the first 16). Without it ({@code -Dshardplan.idleDevices=false}) 32
     * devices are slower than 16.
     */
    @Test
    void devicesAreLeftIdleWhereEveryPlanOnAllOfThemIsSlower() throws Exception {
        Path file = PlanRealModelsTest.model("unet_small.onnx");
        Plan[] both = fewerAndMore(file, 16, 32, 1, Map.of());
        double on16 = both[0].totals().stepSeconds();
        Plan p = both[1];
        assertEquals(16, p.cluster().devices(), p.cluster().toString());
        assertTrue(p.cluster().name().contains("16 of its 32 devices"), p.cluster().name());
        assertEquals(32, p.cluster().givenDevices());
        assertEquals(" (16 of the 32 devices given, the others idle)", p.cluster().idleNote());
        assertTrue(p.warnings().stream().anyMatch(w -> w.startsWith("16 of the 32 devices are left idle")), p.warnings().toString());
        assertEquals(4, p.stages().size());
        assertEquals(12, p.stages().get(3).firstDevice());
        // a cluster of fewer devices than the plan runs on cannot price it
        Planner eight = Planner.forCluster(Cluster.homogeneous(DeviceProfiles.get("a100-40gb"), 8)).withBatch(1);
        ModelSource src = b -> OnnxImporter.read(file, ImportOptions.DEFAULT.withDims(Map.of("batch", b))).graph();
        org.shardplan.planner.PlanFormatException e = org.junit.jupiter.api.Assertions.assertThrows(
                org.shardplan.planner.PlanFormatException.class, () -> eight.evaluate(p, src));
        assertTrue(e.getMessage().startsWith("cluster.devices: the plan runs on 16 devices"), e.getMessage());
        String before = System.getProperty("shardplan.idleDevices");
        System.setProperty("shardplan.idleDevices", "false");
        try {
            Plan all = plan(file, 32, 1, Map.of());
            assertEquals(32, all.cluster().devices());
            assertEquals(32, all.cluster().givenDevices());
            assertEquals("", all.cluster().idleNote());
            assertTrue(all.totals().stepSeconds() > on16 * (1 + 1e-6), "without idle devices 32 devices: "
                    + all.totals().stepSeconds() + " s, 16: " + on16 + " (the case this test is for did not arise)");
        } finally {
            if (before == null) {
                System.clearProperty("shardplan.idleDevices");
            } else {
                System.setProperty("shardplan.idleDevices", before);
            }
        }
    }
}
