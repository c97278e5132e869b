package org.shardplan.bench.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;

/** A replay summarising each signature over both of its measurements (nothing timed). */
class BothPassesTest {

    private static CalibrationFile cal() {
        CalibrationFile c = new CalibrationFile(MachineFingerprint.localCpu(1, "test"));
        c.put(new CalibrationEntry("A|x", "Add", "same", "float32", 10, 100, 4e-6, 7, 1, 0.1));
        c.put(new CalibrationEntry("B|y", "Mul", "same", "float32", 10, 100, 2e-6, 7, 1, 0));
        return c;
    }

    @Test
    void geometricMeanOfTheTwoMeasurementsReplacesTheFirst() {
        CalibrationFile c = cal();
        int n = CostAccuracy.bothPasses(c, List.of("signature\tfirst\tsecond", "A|x\t4.0E-6\t9.0E-6",
                "C|z\t1.0E-6\t2.0E-6", ""));
        assertEquals(1, n); // C is not in the calibration, B not in the file
        assertEquals(6e-6, c.get("A|x").orElseThrow().seconds(), 1e-15);
        assertEquals(0.1, c.get("A|x").orElseThrow().spread(), 0);
        assertEquals(2e-6, c.get("B|y").orElseThrow().seconds(), 0);
    }

    @Test
    void aFirstMeasurementOfAnotherSetFails() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CostAccuracy.bothPasses(cal(), List.of("signature\tfirst\tsecond", "A|x\t5.0E-6\t9.0E-6")));
        assertEquals(true, e.getMessage().contains("another measurement set"));
        assertThrows(IllegalArgumentException.class,
                () -> CostAccuracy.bothPasses(cal(), List.of("signature\tfirst\tsecond", "A|x\t4.0E-6")));
    }

    @Test
    void theLesserOfTheTwoMeasurementsReplacesTheFirstWhenAsked() {
        CalibrationFile c = cal();
        c.put(new CalibrationEntry("B|y", "Mul", "same", "float32", 10, 100, 2e-6, 7, 1, 0));
        int n = CostAccuracy.bothPasses(c, List.of("signature\tfirst\tsecond", "A|x\t4.0E-6\t9.0E-6",
                "B|y\t2.0E-6\t1.5E-6"), true);
        assertEquals(2, n);
        assertEquals(4e-6, c.get("A|x").orElseThrow().seconds(), 0); // the first was the lesser
        assertEquals(1.5e-6, c.get("B|y").orElseThrow().seconds(), 0); // the second was
        assertEquals(7, c.get("B|y").orElseThrow().repeats());
    }

    @Test
    void theReportSaysWhichSummaryItScoresAgainst() {
        String md = CostAccuracy.withNote("# Title\n\nbody\n", CostAccuracy.passNote(true));
        assertEquals(true, md.startsWith("# Title\n\n**Reference of this replay**"));
        assertEquals(true, md.contains("lesser of its two measurements"));
        assertEquals(true, md.endsWith("\nbody\n"));
        assertEquals(true, CostAccuracy.passNote(false).contains("geometric mean"));
        assertEquals("# T\n", CostAccuracy.withNote("# T\n", ""));
    }
}
