package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.MemoryCurve;

class LocalCpuTest {

    @TempDir
    Path dir;
    private String saved;

    /** Measurements cached in a fresh directory, the property restored afterwards. */
    @BeforeEach
    void cacheInTempDir() {
        saved = System.getProperty("shardplan.cache");
        System.setProperty("shardplan.cache", dir.toString());
    }

    @AfterEach
    void restoreCache() {
        if (saved == null) {
            System.clearProperty("shardplan.cache");
        } else {
            System.setProperty("shardplan.cache", saved);
        }
    }

    @Test
    void measuresAndCachesTheLocalCpu() throws Exception {
        DeviceSpec d = LocalCpu.profile();
        assertTrue(d.calibrated());
        assertEquals("cpu", d.kind());
        assertTrue(d.peakFlops("float32") > 0);
        assertTrue(d.memoryBandwidthBytesPerSecond() > 0);
        String id = MachineFingerprint.localCpu(1, Ort.version()).id();
        Path cached = dir.resolve("cpu-local-" + id + ".json");
        assertTrue(Files.isRegularFile(cached));
        // the second call reads the cache: the same numbers, not a new measurement
        assertEquals(d, LocalCpu.profile());
    }

    @Test
    void aMemoryCurveWithoutTheProductRateGainsItMeasuredAndKeepsItsPoints() throws Exception {
        String id = MachineFingerprint.localCpu(1, Ort.version()).id();
        Path file = dir.resolve("cpu-memory-" + id + ".json");
        // a file written before products were measured: the caches hold 10 MB (100 GB/s), memory streams at 30
        Files.writeString(file, "{\"footprints\": [1.0e6, 1.0e7, 2.0e8], \"bandwidths\": [1.0e11, 1.0e11, 3.0e10]}");
        MemoryCurve c = LocalCpu.memoryCurve();
        assertArrayEquals(new double[] {1e6, 1e7, 2e8}, c.footprints(), 0);
        assertArrayEquals(new double[] {1e11, 1e11, 3e10}, c.bandwidths(), 0);
        // 64 MiB of weights stream from memory: slower than 4 MiB (what 10 MB of caches hold) scaled to as many columns
        assertTrue(c.productBandwidth() > 0, c.toString());
        assertTrue(Files.readString(file).contains("productBandwidth"));
        // read back as written, not measured again
        assertEquals(c, LocalCpu.memoryCurve());
    }

    @Test
    void aMeasuredRateOfZeroIsReadAsItIsNotMeasuredOnEveryCall() throws Exception {
        String id = MachineFingerprint.localCpu(1, Ort.version()).id();
        Path file = dir.resolve("cpu-memory-" + id + ".json");
        // written on a machine whose caches hold every product's weights: the rate was measured, and is 0
        String text = "{\"footprints\": [1.0e6, 1.0e7, 2.0e8], \"bandwidths\": [1.0e11, 1.0e11, 3.0e10], "
                + "\"productBandwidth\": 0.0, \"aliasedReorderBandwidth\": 0.0}";
        Files.writeString(file, text);
        MemoryCurve c = LocalCpu.memoryCurve();
        assertEquals(0, c.productBandwidth(), 0);
        assertEquals(3e10, c.weightStreamingBandwidth(), 0);
        assertEquals(text, Files.readString(file));
    }

    @Test
    void aMemoryCurveWithoutTheRateOfAliasedReorderingsGainsItAndKeepsTheRest() throws Exception {
        String id = MachineFingerprint.localCpu(1, Ort.version()).id();
        Path file = dir.resolve("cpu-memory-" + id + ".json");
        // a file written before reorderings were measured: its points and product rate stay as they are
        Files.writeString(file, "{\"footprints\": [1.0e6, 1.0e7, 2.0e8], \"bandwidths\": [1.0e11, 1.0e11, 3.0e10], "
                + "\"productBandwidth\": 6.0e9}");
        MemoryCurve c = LocalCpu.memoryCurve();
        assertArrayEquals(new double[] {1e11, 1e11, 3e10}, c.bandwidths(), 0);
        assertEquals(6e9, c.productBandwidth(), 0);
        // 2 MiB reordered: a measured rate, within what a core can move
        assertTrue(c.aliasedReorderBandwidth() > 1e8 && c.aliasedReorderBandwidth() < 1e13, c.toString());
        assertTrue(Files.readString(file).contains("aliasedReorderBandwidth"));
        assertEquals(c, LocalCpu.memoryCurve());
    }

    @Test
    void theCachedProductIsTheLargestWhoseWeightsTakeTwoThirdsOfTheCaches() {
        // caches of 12 MiB: 4096 columns of 512 floats (8 MiB, two thirds of 12); of 10 MB: 2048 (4 MiB; 8 MiB > 6.7 MB)
        assertEquals(4096, LocalCpu.cachedColumns(new MemoryCurve(new double[] {12582912, 2e8}, new double[] {1e11, 3e10})));
        assertEquals(2048, LocalCpu.cachedColumns(new MemoryCurve(new double[] {1e7, 2e8}, new double[] {1e11, 3e10})));
        // caches too small for more: at least 256 columns
        assertEquals(256, LocalCpu.cachedColumns(new MemoryCurve(new double[] {1e5, 2e8}, new double[] {1e11, 3e10})));
    }
}
