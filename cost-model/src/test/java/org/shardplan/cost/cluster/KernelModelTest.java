package org.shardplan.cost.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KernelModelTest {

    private static final KernelModel A100 = new KernelModel(108, 256, 128, 0.902, 128, 0.85, 4e-6, 0.70, 0.55);

    @Test
    void aWellShapedGemmRunsAtTheLargeGemmEfficiencyTimesItsReductionFactor() {
        // 6912 x 16384: 27 x 128 = 3456 tiles = 32 full waves of 108; K = 2048
        assertEquals(3456, A100.tiles(1, 6912, 16384), 0);
        assertEquals(0.902 * 2048.0 / (2048 + 128), A100.gemmEfficiency(1, 6912, 16384, 2048), 1e-12);
        // at the burst efficiency, the burst point: 1024 x 10240 x 5120, 320 tiles in 3 waves, 271.2 of 312 TFLOP/s
        assertEquals(271.2 / 312, A100.gemmEfficiency(1, 1024, 10240, 5120), 0.001);
    }

    @Test
    void theA100ProfilesReproduceTheirSustainedFitPoint() throws Exception {
        // 230 of 312 TFLOP/s for a float16 8192^3 product timed over seconds (mli/transformers-benchmarks):
        // 2048 tiles of 256 x 128 in 19 waves of 108, K = 8192
        for (String name : new String[] {"a100-80gb", "a100-40gb"}) {
            KernelModel k = DeviceProfiles.get(name).kernels().orElseThrow();
            assertEquals(230.0 / 312, k.gemmEfficiency(1, 8192, 8192, 8192), 0.001, name);
            assertEquals(k.gemmEfficiency() * 2048.0 / 2052 * 8192 / (8192 + 128), k.gemmEfficiency(1, 8192, 8192, 8192),
                    1e-12, name);
            // the burst figure of the same device (271.2 at 1024 x 10240 x 5120) times the sustained-to-burst ratio
            // the H100 profile applies (0.849) is 0.738 of peak; the sustained fit prices that shape at 0.723
            assertEquals(271.2 / 312 * 0.849, k.gemmEfficiency(1, 1024, 10240, 5120), 0.02, name);
        }
    }

    @Test
    void theH100ProfileReproducesItsFitPoints() throws Exception {
        DeviceSpec h = DeviceProfiles.get("h100-sxm");
        KernelModel k = h.kernels().orElseThrow();
        // 742.7 of 989.4 TFLOP/s burst at 2048 x 8192 x 8192 (512 tiles of 256 x 128 in 4 waves of 132, K = 8192),
        // times the sustained-to-burst ratio 0.849
        assertEquals(742.7 / 989.4 * 0.849, k.gemmEfficiency(1, 2048, 8192, 8192), 0.001);
        assertEquals(k.gemmEfficiency() * (512.0 / 528) * 8192 / (8192 + 128), k.gemmEfficiency(1, 2048, 8192, 8192), 1e-12);
        // the same at N = 32768: 2048 tiles in 16 waves
        assertEquals(k.gemmEfficiency(1, 2048, 8192, 8192), k.gemmEfficiency(1, 2048, 32768, 8192), 1e-12);
        // FlashAttention-2 without mask, head dimension 128, sequence 2k: 320 TFLOP/s over 3.5 F
        double perTflop = 1e12 / h.peakFlops("bfloat16")
                * (1 / k.attentionForwardEfficiency() + 2.5 / k.attentionBackwardEfficiency());
        assertEquals(3.5 / 320, perTflop, 3.5 / 320 * 0.002);
    }

    @Test
    void theH200ProfileScalesAttentionWithItsKeysAndHeadDimensionAsFitted() throws Exception {
        KernelModel k = DeviceProfiles.get("h200").kernels().orElseThrow();
        // the fit points of calibration/h200-attention-20261204.json, causal: forward 0.418 (S 2048, D 128), 0.554
        // (4096, 128), 0.277 (1024, 64), 0.378 (2048, 64); the fitted curve within 5% of each
        double[][] fit = {{2048, 128, 0.418}, {4096, 128, 0.554}, {1024, 64, 0.277}, {2048, 64, 0.378}};
        for (double[] f : fit) {
            double e = k.attentionForwardEfficiency() * k.attentionScale(f[0], f[1]);
            assertEquals(f[2], e, 0.05 * f[2], f[0] + " x " + f[1]);
        }
        // longer rows of keys and wider heads run closer to the limit; unknown sizes leave the efficiency as it is
        assertTrue(k.attentionScale(8192, 128) > k.attentionScale(4096, 128));
        assertTrue(k.attentionScale(4096, 128) > k.attentionScale(4096, 64));
        assertEquals(1, k.attentionScale(0, 0), 0);
        // the other profiles do not scale
        assertEquals(1, DeviceProfiles.get("h100-sxm").kernels().orElseThrow().attentionScale(8192, 128), 0);
        // kept by a published rate
        KernelModel r = k.withAttentionRate(400e12, true, 989.4e12);
        assertEquals(k.attentionSeqHalf(), r.attentionSeqHalf(), 0);
        assertEquals(k.attentionHeadDimHalf(), r.attentionHeadDimHalf(), 0);
        assertThrows(IllegalArgumentException.class,
                () -> new KernelModel(108, 256, 128, 0.9, 128, 0.85, 4e-6, 0.7, 0.55, -1, 0));
    }

    @Test
    void aPublishedAttentionRateSetsBothEfficienciesKeepingTheirRatio() throws Exception {
        KernelModel h = new KernelModel(132, 256, 128, 0.667, 128, 0.85, 4e-6, 0.40, 0.32);
        // without mask, 320 TFLOP/s: ef = (1 + 2.5 x 1.25) x 320 / (3.5 x 989.4) = 1320 / 3462.9 = 0.38119
        KernelModel open = h.withAttentionRate(320e12, false, 989.4e12);
        assertEquals(1320 / 3462.9, open.attentionForwardEfficiency(), 1e-12);
        assertEquals(0.38119, open.attentionForwardEfficiency(), 1e-5);
        assertEquals(1.25, open.attentionForwardEfficiency() / open.attentionBackwardEfficiency(), 1e-12);
        // a product pair of 1 TFLOP forward, priced as the cost model prices it, takes 3.5 TFLOP at 320 TFLOP/s
        assertEquals(3.5 / 320, 1 / 989.4 * (1 / open.attentionForwardEfficiency() + 2.5 / open.attentionBackwardEfficiency()),
                1e-12);
        // causal at 108 TFLOP/s: the benchmark counts half the FLOPs, 1.75 TFLOP at 108 = 16.2 ms;
        // ef = 4.125 x 108 / (1.75 x 989.4) = 445.5 / 1731.45 = 0.25730
        KernelModel causal = h.withAttentionRate(108e12, true, 989.4e12);
        assertEquals(445.5 / 1731.45, causal.attentionForwardEfficiency(), 1e-12);
        assertEquals(1.75 / 108,
                1 / 989.4 * (1 / causal.attentionForwardEfficiency() + 2.5 / causal.attentionBackwardEfficiency()), 1e-12);
        // the GEMM, memory and launch fields are kept
        assertEquals(h.gemmEfficiency(1, 4096, 4096, 4096), causal.gemmEfficiency(1, 4096, 4096, 4096), 0);
        assertEquals(0.85, causal.memoryEfficiency(), 0);
        // a rate the peak cannot give is refused: ef = 4.125 x 900 / 1731.45 = 2.144
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.withAttentionRate(900e12, true, 989.4e12));
        assertTrue(e.getMessage().startsWith("kernels.attentionForwardEfficiency must be in (0, 1], found 2.14"),
                e.getMessage());
        // a device given another kernel model keeps everything else
        DeviceSpec d = DeviceProfiles.get("h100-sxm");
        DeviceSpec other = d.withKernels(causal);
        assertEquals(causal, other.kernels().orElseThrow());
        assertEquals(d.peakFlops(), other.peakFlops());
        assertEquals(d.sources(), other.sources());
    }

    @Test
    void tileAndWaveQuantisationCostWhatTheyWaste() {
        // 300 x 128: the large tile runs 2 tiles on 2 of 108 multiprocessors, 300/512 of their area useful
        // (0.011); the 64 x 32 tile runs 5 x 4 = 20 tiles, 300/320 useful, at a quarter of the large tile's data
        // reuse (21.3 against 85.3): 0.25 x 0.9375 x 20/108 = 0.043, the best of the tiles
        double e = A100.gemmEfficiency(1, 300, 128, 4096);
        assertEquals(0.902 * 0.25 * (300.0 * 128 / (20 * 64 * 32)) * (20.0 / 108) * 4096.0 / (4096 + 128), e, 1e-12);
        assertTrue(e > 0.902 * (300.0 * 128 / (2 * 256 * 128)) * (2.0 / 108) * 4096.0 / (4096 + 128));
        // 109 tiles need two waves: the second runs one tile
        double twoWaves = A100.gemmEfficiency(109, 256, 128, 4096);
        assertEquals(0.902 * (109.0 / 216) * 4096.0 / (4096 + 128), twoWaves, 1e-12);
        assertTrue(twoWaves < A100.gemmEfficiency(108, 256, 128, 4096));
    }

    @Test
    void aSkinnyGemmIsFarFromPeakAndALargeOneReachesSeventyToEightyPercent() {
        assertTrue(A100.gemmEfficiency(1, 8192, 8192, 8192) > 0.7);
        assertTrue(A100.gemmEfficiency(1, 16, 4096, 4096) < 0.1);
        assertTrue(A100.gemmEfficiency(1, 8192, 8192, 64) < 0.5);
    }

    @Test
    void fractionsOutsideZeroToOneAreRefusedNamingTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KernelModel(108, 256, 128, 1.2, 128, 0.85, 4e-6, 0.7, 0.55));
        assertEquals("kernels.gemmEfficiency must be in (0, 1], found 1.2", e.getMessage());
    }

    @Test
    void theGpuProfilesAreFittedAndCiteEveryKernelField() throws Exception {
        for (String name : new String[] {"a100-40gb", "a100-80gb", "h100-sxm", "v100"}) {
            DeviceSpec d = DeviceProfiles.get(name);
            assertEquals(DeviceSpec.FITTED, d.calibration(), name);
            assertFalse(d.calibrated(), name);
            assertTrue(d.kernels().isPresent(), name);
            for (String f : new String[] {"sms", "tileM", "tileN", "gemmEfficiency", "gemmKHalf", "memoryEfficiency",
                "launchUs", "attentionForwardEfficiency", "attentionBackwardEfficiency"}) {
                assertTrue(d.sources().containsKey("kernels." + f), name + " cites kernels." + f);
            }
            assertTrue(d.sources().containsKey("defaults.intraNode.bandwidthGBps"), name);
            assertTrue(d.sources().containsKey("peakTflops"), name);
        }
    }

    @Test
    void aClusterFileRoundTripsTheKernelModelAndTheOldBooleanStillReads() throws Exception {
        DeviceSpec a = DeviceProfiles.get("a100-80gb");
        DeviceSpec back = ClusterFiles.parseDevice(ClusterFiles.deviceJson(a).toString(), "test");
        assertEquals(a.kernels(), back.kernels());
        assertEquals(DeviceSpec.FITTED, back.calibration());
        // with the attention half-points (H200): written and read back
        DeviceSpec h = DeviceProfiles.get("h200");
        assertTrue(ClusterFiles.deviceJson(h).toString().contains("attentionSeqHalf"));
        assertEquals(h.kernels(), ClusterFiles.parseDevice(ClusterFiles.deviceJson(h).toString(), "test").kernels());
        assertTrue(!ClusterFiles.deviceJson(a).toString().contains("attentionSeqHalf"));
        DeviceSpec old = ClusterFiles.parseDevice("{\"name\": \"x\", \"peakTflops\": {\"float32\": 10},"
                + " \"memoryBandwidthGBps\": 100, \"memoryGiB\": 8, \"calibrated\": true}", "test");
        assertTrue(old.calibrated());
        assertEquals(DeviceSpec.MEASURED, old.calibration());
        assertTrue(old.kernels().isEmpty());
        ClusterException bad = assertThrows(ClusterException.class, () -> ClusterFiles.parseDevice("{\"name\": \"x\","
                + " \"peakTflops\": {\"float32\": 10}, \"memoryBandwidthGBps\": 100, \"memoryGiB\": 8,"
                + " \"calibrated\": \"guessed\"}", "test"));
        assertTrue(bad.getMessage().contains("calibrated"), bad.getMessage());
    }
}
