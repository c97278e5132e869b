package org.shardplan.cost.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.compute.Kernel;
import org.shardplan.graph.DType;
import org.shardplan.graph.Work;

class CalibrationsTest {

    static MachineFingerprint a100() {
        return new MachineFingerprint("a100-40gb", "NVIDIA A100-SXM4-40GB", 32, 0, "torch 2.3 cuda 12.1", "Linux amd64");
    }

    @Test
    void aGpuCalibrationFileMakesTheProfileCalibrated(@TempDir Path dir) throws Exception {
        DeviceSpec spec = DeviceProfiles.get("a100");
        ComputeModel none = Calibrations.computeModel(spec, dir);
        assertFalse(none.efficiency().device().calibrated());
        CalibrationFile c = new CalibrationFile(a100());
        // two MatMul samples: 19.5e12 FLOPs at float32 peak take 1 s of roofline; measured 2 s and 4 s for 1x and 2x
        c.put(new CalibrationEntry("s1", "MatMul", "2d/weight", "float32", 19.5e12, 0, 2.0, 10));
        c.put(new CalibrationEntry("s2", "MatMul", "2d/weight", "float32", 39.0e12, 0, 4.0, 10));
        c.write(dir.resolve("a100-40gb-test.json"));
        Files.writeString(dir.resolve("notes.json"), "{\"not\": \"a calibration\"}");
        ComputeModel m = Calibrations.computeModel(spec, dir);
        assertTrue(m.efficiency().device().calibrated());
        assertEquals(2, m.efficiency().samples().size());
        // on the line t = 2 r through both samples: 3x the first one's work takes 6 s
        Kernel k = new Kernel("forward", "MatMul", "2d/weight", new Work((long) 58.5e12, 0, 0, true), DType.FLOAT32);
        assertEquals(6.0, m.efficiency().predict(k).seconds(), 1e-9);
        assertEquals(1, Calibrations.find(dir, "a100-40gb").size());
        assertTrue(Calibrations.find(dir, "h100-sxm").isEmpty());
    }

    @Test
    void malformedEntriesAreNamed() {
        String json = """
            {"format": "shardplan-calibration/1", "fingerprint": {"device": "cpu-local"},
             "entries": [{"signature": "s", "op": "Add", "flops": 1, "bytes": 1, "seconds": -1}]}
            """;
        CalibrationException e = assertThrows(CalibrationException.class, () -> CalibrationFile.parse(json, "c.json"));
        assertEquals("c.json: entries[0].seconds must be a positive number, found -1", e.getMessage());
        CalibrationException f = assertThrows(CalibrationException.class,
                () -> CalibrationFile.parse("{\"format\": \"x\"}", "c.json"));
        assertEquals("c.json: format must be \"shardplan-calibration/1\", found \"x\"", f.getMessage());
    }

    @Test
    void theSpreadOfAMeasurementIsWrittenAndReadBack() throws Exception {
        CalibrationFile c = new CalibrationFile(a100());
        c.put(new CalibrationEntry("s1", "MatMul", "2d/weight", "float32", 1e9, 0, 2e-3, 7, 1, 0.125));
        c.put(new CalibrationEntry("s2", "Add", "same", "float32", 0, 1e6, 1e-4, 7));
        CalibrationFile back = CalibrationFile.parse(c.toJson(), "test");
        assertEquals(0.125, back.get("s1").orElseThrow().spread());
        assertEquals(0.0, back.get("s2").orElseThrow().spread());
        assertThrows(IllegalArgumentException.class,
                () -> new CalibrationEntry("s3", "Add", "same", "float32", 0, 1, 1e-4, 7, 1, -0.5));
    }
}
