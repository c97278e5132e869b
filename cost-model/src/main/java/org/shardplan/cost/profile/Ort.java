package org.shardplan.cost.profile;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;

/**
 * The one place shardplan loads ONNX Runtime's native library and holds its
 * {@link OrtEnvironment}. Everything that runs a model goes through {@link #environment()} and
 * {@link #options(int)}.
 */
public final class Ort {
    private static OrtEnvironment env;

    private Ort() {}

    /** The process-wide ONNX Runtime environment (logging at error level only). */
    public static synchronized OrtEnvironment environment() {
        if (env == null) {
            env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "shardplan");
        }
        return env;
    }

    /** ONNX Runtime's version string. */
    public static String version() {
        return environment().getVersion();
    }

    /**
     * Session options for timing on the CPU: {@code threads} intra-op threads (0: ONNX Runtime's
     * default, one per core), sequential execution, all graph optimizations, denormal floats
     * treated as zero.
     */
    public static OrtSession.SessionOptions options(int threads) throws OrtException {
        return options(threads, OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    /** The optimization level of a name: none, basic, extended or all. */
    public static OrtSession.SessionOptions.OptLevel optLevel(String name) {
        return switch (name) {
            case "none" -> OrtSession.SessionOptions.OptLevel.NO_OPT;
            case "basic" -> OrtSession.SessionOptions.OptLevel.BASIC_OPT;
            case "extended" -> OrtSession.SessionOptions.OptLevel.EXTENDED_OPT;
            case "all" -> OrtSession.SessionOptions.OptLevel.ALL_OPT;
            default -> throw new IllegalArgumentException(
                    "optimization level must be none, basic, extended or all, found \"" + name + "\"");
        };
    }

    /** Session options as {@link #options(int)} with a given graph optimization level. */
    public static OrtSession.SessionOptions options(int threads, OrtSession.SessionOptions.OptLevel level)
            throws OrtException {
        environment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
        o.setIntraOpNumThreads(Math.max(0, threads));
        o.setInterOpNumThreads(1);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        o.setOptimizationLevel(level);
        // denormal floats as zero: a chain of copies of a node (Profiler.measure) feeds each copy the
        // previous one's output, and repeated multiplications of random data can pass through
        // denormal values, which the processor handles far more slowly; ONNX Runtime applies this
        // to the calling thread when the process creates its first session
        o.addConfigEntry("session.set_denormal_as_zero", "1");
        return o;
    }
}
