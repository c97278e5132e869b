package org.shardplan.cost.calib;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a measurement depends on besides the operator: the processor, how many threads ONNX
 * Runtime used, the runtime's version. Measurements are reused only on a machine with the same
 * fingerprint.
 *
 * @param device device profile name the measurement is for ("cpu-local", "a100-40gb")
 * @param processor processor model ("AMD EPYC", "NVIDIA A100-SXM4-40GB")
 * @param logicalCpus logical processors of the host
 * @param threads intra-op threads used for the measurement
 * @param runtime the runtime and its version ("onnxruntime 1.28.0", "torch 2.3 cuda 12.1")
 * @param os operating system and architecture
 */
public record MachineFingerprint(String device, String processor, int logicalCpus, int threads,
        String runtime, String os) {

    /** A short stable identifier: the first 12 hex digits of the SHA-256 of all fields. */
    public String id() {
        String s = String.join("|", device, processor, Integer.toString(logicalCpus),
                Integer.toString(threads), runtime, os);
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The fingerprint of this machine for CPU measurements with {@code threads} threads. */
    public static MachineFingerprint localCpu(int threads, String runtimeVersion) {
        int cpus = Runtime.getRuntime().availableProcessors();
        return new MachineFingerprint("cpu-local", processorName(), cpus, threads <= 0 ? cpus : threads,
                "onnxruntime " + runtimeVersion,
                System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    }

    /** The processor model from /proc/cpuinfo, or the JVM's architecture where there is none. */
    public static String processorName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch", "unknown");
    }
}
