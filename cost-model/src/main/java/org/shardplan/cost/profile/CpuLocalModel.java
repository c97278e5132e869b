package org.shardplan.cost.profile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.shardplan.cost.calib.CalibrationException;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.Calibrations;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterNode;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.compute.Sample;

/**
 * The one compute model of this machine's CPU that every command prices it with: {@code profile}
 * predicts its nodes with it, and {@code plan} and {@code evaluate} with a cluster of
 * {@code cpu-local} devices use it whenever {@code profile} has written a calibration. It is the
 * {@link EfficiencyModel} learned from the calibration's measurements, its roofline moving bytes at
 * this core's {@link LocalCpu#memoryCurve} and streaming weights beyond the caches from memory
 * ({@code EfficiencyModel.streamSeconds}). A device other than {@code cpu-local} gets no memory
 * curve (its bandwidth is its profile's).
 *
 * <p>The calibration {@code plan} reads is the file {@code profile} writes with its defaults: one
 * ONNX Runtime thread (the {@code cpu-local} profile is one core), the default statistic of repeated runs,
 * {@code <cache>/calibration/cpu-local-<fingerprint>.json} ({@link #defaultCalibration()}).
 */
public final class CpuLocalModel {
    private CpuLocalModel() {}

    /**
     * The efficiency model of {@code device} learned from {@code samples}: with this core's memory
     * curve when the device is {@code cpu-local} (measured once and cached, {@link LocalCpu#memoryCurve}),
     * else with the device's one bandwidth. O(n log n) in the samples.
     */
    public static EfficiencyModel efficiency(DeviceSpec device, List<Sample> samples) {
        return new EfficiencyModel(device, samples,
                DeviceProfiles.CPU_LOCAL.equals(device.name()) ? LocalCpu.memoryCurve() : null);
    }

    /**
     * The fingerprint of {@code profile}'s default measurements on this machine: one thread,
     * graph optimization off for the one-node models, the default statistic
     * ({@link Profiler#DEFAULT_STATISTIC}).
     */
    public static MachineFingerprint defaultFingerprint() {
        return MachineFingerprint.localCpu(1, Ort.version() + " opt=none" + Profiler.DEFAULT_STATISTIC.tag() + Feeds.TAG);
    }

    /** The calibration file {@code profile} writes with its defaults (it may not exist). */
    public static Path defaultCalibration() {
        return CalibrationFile.defaultPath(LocalCpu.cacheDirectory(), defaultFingerprint());
    }

    /**
     * A compute model and the calibration it was learned from.
     *
     * @param model the model
     * @param calibration the calibration file
     * @param entries how many measurements the file holds
     */
    public record Calibrated(ComputeModel model, Path calibration, int entries) {}

    /**
     * The calibrated model of a cluster whose devices are all {@code cpu-local}, learned from
     * {@code calibration} (as {@link #efficiency}, the device marked calibrated); empty when some
     * device is another, or the file does not exist or holds no measurement. A file that exists but
     * cannot be read is an error naming it. O(n log n) in the file's entries.
     */
    public static Optional<Calibrated> forCluster(Cluster cluster, Path calibration) throws CalibrationException {
        DeviceSpec device = null;
        for (ClusterNode n : cluster.nodes()) {
            if (!DeviceProfiles.CPU_LOCAL.equals(n.device().name())) {
                return Optional.empty();
            }
            device = device == null ? n.device() : device;
        }
        if (device == null || !Files.isRegularFile(calibration)) {
            return Optional.empty();
        }
        CalibrationFile f = CalibrationFile.read(calibration);
        if (f.size() == 0) {
            return Optional.empty();
        }
        return Optional.of(new Calibrated(new ComputeModel(efficiency(Calibrations.markCalibrated(device), f.samples())),
                calibration, f.size()));
    }

    /** {@link #forCluster(Cluster, Path)} with {@link #defaultCalibration()}. */
    public static Optional<Calibrated> forCluster(Cluster cluster) throws CalibrationException {
        for (ClusterNode n : cluster.nodes()) {
            if (!DeviceProfiles.CPU_LOCAL.equals(n.device().name())) {
                return Optional.empty();
            }
        }
        return forCluster(cluster, defaultCalibration());
    }
}
