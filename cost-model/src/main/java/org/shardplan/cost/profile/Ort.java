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
     * default, one per core), sequential execution, all graph optimizations.
     */
    public static OrtSession.SessionOptions options(int threads) throws OrtException {
        environment();
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
        o.setIntraOpNumThreads(Math.max(0, threads));
        o.setInterOpNumThreads(1);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return o;
    }
}
