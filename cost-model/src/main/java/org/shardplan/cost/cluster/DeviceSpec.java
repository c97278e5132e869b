package org.shardplan.cost.cluster;

import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One kind of device: its peak arithmetic rate per data type, memory bandwidth and memory size,
 * and the defaults a cluster of such devices is built with.
 *
 * @param name profile name ("a100-40gb", "cpu-local")
 * @param description human-readable name and where the numbers come from
 * @param kind "gpu" or "cpu"
 * @param peakFlops peak FLOP/s per data type name ("float32", "float16", "bfloat16", "tf32",
 *     "float64", "int8"), sorted by name; at least "float32"
 * @param memoryBandwidthBytesPerSecond device memory bandwidth (bytes/s)
 * @param memoryBytes device memory (bytes)
 * @param calibrated true when the numbers were measured on this kind of device (the local CPU
 *     profile; a GPU profile once a calibration file for it exists), false for spec-sheet numbers
 * @param devicesPerNode default devices per node for the {@code --devices N --device X} shorthand
 * @param intraNode default link between devices of one node
 * @param interNode default network between nodes (per device)
 * @param calibration where the numbers come from: {@link #SPEC_SHEET} (vendor data sheet),
 *     {@link #FITTED} (fitted to published measurements of this device type, not measured here) or
 *     {@link #MEASURED} (measured on this device: {@code calibrated} is true exactly then)
 * @param kernels the analytic kernel model of a GPU (GEMM efficiency by shape, memory-bound kernels,
 *     fused attention, launch overhead), empty when the profile has none (plain roofline)
 * @param sources per field of the profile (its JSON path, e.g. {@code "kernels.gemmEfficiency"}), the
 *     publication or repository file its number comes from; sorted by field
 */
public record DeviceSpec(
        String name,
        String description,
        String kind,
        Map<String, Double> peakFlops,
        double memoryBandwidthBytesPerSecond,
        double memoryBytes,
        boolean calibrated,
        int devicesPerNode,
        Link intraNode,
        Link interNode,
        String calibration,
        Optional<KernelModel> kernels,
        Map<String, String> sources) {

    /** The data type every profile must carry and the fallback for types a device lacks. */
    public static final String FLOAT32 = "float32";
    /** {@link #calibration()} of numbers from a vendor data sheet. */
    public static final String SPEC_SHEET = "spec-sheet";
    /** {@link #calibration()} of numbers fitted to published measurements of the device type. */
    public static final String FITTED = "fitted-to-published";
    /** {@link #calibration()} of numbers measured on the device itself. */
    public static final String MEASURED = "measured";

    /** A device without a kernel model or sources; calibration follows {@code calibrated}. */
    public DeviceSpec(String name, String description, String kind, Map<String, Double> peakFlops,
            double memoryBandwidthBytesPerSecond, double memoryBytes, boolean calibrated, int devicesPerNode,
            Link intraNode, Link interNode) {
        this(name, description, kind, peakFlops, memoryBandwidthBytesPerSecond, memoryBytes, calibrated, devicesPerNode,
                intraNode, interNode, calibrated ? MEASURED : SPEC_SHEET, Optional.empty(), Map.of());
    }

    public DeviceSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(intraNode, "intraNode");
        Objects.requireNonNull(interNode, "interNode");
        TreeMap<String, Double> flops = new TreeMap<>();
        for (Map.Entry<String, Double> e : peakFlops.entrySet()) {
            double v = e.getValue();
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("device " + name + ": peakFlops." + e.getKey()
                        + " must be a positive finite number, found " + v);
            }
            flops.put(e.getKey().toLowerCase(Locale.ROOT), v);
        }
        if (!flops.containsKey(FLOAT32)) {
            throw new IllegalArgumentException("device " + name + ": peakFlops must include "
                    + FLOAT32 + ", found " + flops.keySet());
        }
        peakFlops = Collections.unmodifiableMap(flops);
        requirePositive(name, "memoryBandwidth", memoryBandwidthBytesPerSecond);
        requirePositive(name, "memory", memoryBytes);
        Objects.requireNonNull(kernels, "kernels");
        if (!List.of(SPEC_SHEET, FITTED, MEASURED).contains(calibration)) {
            throw new IllegalArgumentException("device " + name + ": calibration must be one of " + SPEC_SHEET + ", "
                    + FITTED + ", " + MEASURED + ", found " + calibration);
        }
        if (calibrated != MEASURED.equals(calibration)) {
            throw new IllegalArgumentException("device " + name + ": calibrated must be true exactly when calibration is "
                    + MEASURED + ", found calibrated " + calibrated + " with " + calibration);
        }
        sources = Collections.unmodifiableMap(new TreeMap<>(sources));
        if (devicesPerNode < 1) {
            throw new IllegalArgumentException("device " + name
                    + ": devicesPerNode must be at least 1, found " + devicesPerNode);
        }
    }

    private static void requirePositive(String device, String field, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("device " + device + ": " + field
                    + " must be a positive finite number, found " + v);
        }
    }

    /**
     * Peak FLOP/s for a data type; a type the device lists no rate for runs at its float32 rate.
     * Names are matched without case and with ONNX spellings mapped ("float" is float32,
     * "double" float64, "float16"/"half" float16).
     */
    public double peakFlops(String dtype) {
        String key = canonicalDtype(dtype);
        Double v = peakFlops.get(key);
        return v != null ? v : peakFlops.get(FLOAT32);
    }

    /** Maps ONNX and common spellings of a data type to the keys of {@link #peakFlops()}. */
    public static String canonicalDtype(String dtype) {
        String d = dtype.toLowerCase(Locale.ROOT).replace("_", "");
        return switch (d) {
            case "float", "fp32", "f32", "float32" -> "float32";
            case "double", "fp64", "f64", "float64" -> "float64";
            case "half", "fp16", "f16", "float16" -> "float16";
            case "bf16", "bfloat16" -> "bfloat16";
            case "tf32", "tensorfloat32" -> "tf32";
            case "int8", "i8", "uint8" -> "int8";
            default -> d;
        };
    }

    /** This profile with new numbers from a measurement, marked calibrated. */
    public DeviceSpec calibratedWith(Map<String, Double> measuredPeakFlops, double measuredBandwidth,
            String newDescription) {
        return new DeviceSpec(name, newDescription, kind, measuredPeakFlops, measuredBandwidth,
                memoryBytes, true, devicesPerNode, intraNode, interNode, MEASURED, kernels, sources);
    }

    /**
     * This profile with another kernel model (a run that used other kernels than the profile's, such as
     * an older attention kernel, see {@link KernelModel#withAttentionRate}); the sources are kept.
     */
    public DeviceSpec withKernels(KernelModel model) {
        return new DeviceSpec(name, description, kind, peakFlops, memoryBandwidthBytesPerSecond, memoryBytes, calibrated,
                devicesPerNode, intraNode, interNode, calibration, Optional.of(model), sources);
    }

    /** This profile with a different memory size (a cluster file may override it per node). */
    public DeviceSpec withMemoryBytes(double bytes) {
        return new DeviceSpec(name, description, kind, peakFlops, memoryBandwidthBytesPerSecond,
                bytes, calibrated, devicesPerNode, intraNode, interNode, calibration, kernels, sources);
    }
}
