package org.shardplan.cost.calib;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.compute.EfficiencyModel;

/**
 * Finds the calibration of a device among committed or cached calibration files (a directory of
 * {@code *.json} files in {@link CalibrationFile} format, such as the repository's
 * {@code calibration/}) and builds the compute model from it. A device with a calibration file
 * is reported as calibrated; one without keeps its spec-sheet profile and an analytic model.
 */
public final class Calibrations {
    private Calibrations() {}

    /**
     * The calibration files in {@code dir} whose fingerprint names {@code device}, newest file
     * name last (files that are not calibration files are skipped).
     */
    public static List<CalibrationFile> find(Path dir, String device) throws IOException {
        List<CalibrationFile> found = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return found;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
        for (Path f : files) {
            try {
                CalibrationFile c = CalibrationFile.read(f);
                if (c.fingerprint().device().equals(device)) {
                    found.add(c);
                }
            } catch (CalibrationException e) {
                // not a calibration file: skipped
            }
        }
        return found;
    }

    /**
     * The compute model of a device: learned from every calibration file for it in {@code dir},
     * or analytic when there is none.
     */
    public static ComputeModel computeModel(DeviceSpec device, Path dir) throws IOException {
        List<CalibrationFile> files = find(dir, device.name());
        if (files.isEmpty()) {
            return ComputeModel.analytic(device);
        }
        List<org.shardplan.cost.compute.Sample> samples = new ArrayList<>();
        for (CalibrationFile f : files) {
            samples.addAll(f.samples());
        }
        return new ComputeModel(new EfficiencyModel(markCalibrated(device), samples));
    }

    /** The device profile marked as calibrated (numbers unchanged). */
    public static DeviceSpec markCalibrated(DeviceSpec d) {
        return d.calibrated() ? d : d.calibratedWith(d.peakFlops(), d.memoryBandwidthBytesPerSecond(),
                d.description() + "; efficiencies from a calibration file");
    }

    /** The newest calibration file for the device in {@code dir}, if any. */
    public static Optional<CalibrationFile> latest(Path dir, String device) throws IOException {
        List<CalibrationFile> f = find(dir, device);
        return f.isEmpty() ? Optional.empty() : Optional.of(f.get(f.size() - 1));
    }
}
