package org.shardplan.cost.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.DeviceSpec;

class LocalCpuTest {

    @Test
    void measuresAndCachesTheLocalCpu(@TempDir Path dir) throws Exception {
        String old = System.getProperty("shardplan.cache");
        System.setProperty("shardplan.cache", dir.toString());
        try {
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
        } finally {
            if (old == null) {
                System.clearProperty("shardplan.cache");
            } else {
                System.setProperty("shardplan.cache", old);
            }
        }
    }
}
