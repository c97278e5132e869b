package org.shardplan.runtime;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The one place that loads libtorch (DJL's PyTorch engine). Everything it needs is on the class
 * path: {@code pytorch-native-cpu} (linux-x86_64) carries libtorch 2.7.1 and {@code pytorch-jni} the
 * JNI bridge; DJL copies both into its cache folder ({@code ~/.djl.ai/pytorch}, or {@code
 * DJL_CACHE_DIR}) on first use and never downloads anything, because {@code ai.djl.offline} is set
 * before the engine starts. {@code PYTORCH_LIBRARY_PATH} still overrides the bundled library.
 *
 * <p>Autograd is driven through {@link JniUtils} rather than DJL's {@code GradientCollector}: that
 * collector allows one collecting thread per process, while a pipeline records a graph on every stage's
 * worker at once. PyTorch's grad mode is per thread, so each worker turns it on for itself.
 */
public final class Torch {

    private static Engine engine;

    private Torch() {}

    /** The PyTorch engine, loaded once, offline. */
    public static synchronized Engine engine() {
        if (engine == null) {
            if (System.getProperty("ai.djl.offline") == null) {
                System.setProperty("ai.djl.offline", "true");
            }
            if (System.getProperty("slf4j.internal.verbosity") == null) {
                System.setProperty("slf4j.internal.verbosity", "ERROR");
            }
            if (System.getProperty("ai.djl.pytorch.graph_optimizer") == null) {
                System.setProperty("ai.djl.pytorch.graph_optimizer", "false");
            }
            try {
                engine = Engine.getEngine("PyTorch");
            } catch (RuntimeException | UnsatisfiedLinkError e) {
                throw new IllegalStateException("could not load libtorch from the pytorch-native-cpu jar"
                        + " (DJL " + Engine.getDjlVersion() + "): " + e.getMessage(), e);
            }
            // one thread per operator: the pipeline's parallelism is its stages, one per core
            JniUtils.setNumThreads(Integer.getInteger("shardplan.torch.threads", 1));
        }
        return engine;
    }

    /** A new manager on the PyTorch engine. */
    public static NDManager newManager() {
        return engine().newBaseManager();
    }

    /**
     * Prepares the calling thread to run one stage: one operator thread (libtorch's OpenMP setting is
     * per thread, so each worker sets it for itself; a stage is one core's work) and autograd on.
     */
    public static void stageThread() {
        engine();
        JniUtils.setNumThreads(Integer.getInteger("shardplan.torch.threads", 1));
        JniUtils.setGradMode(true);
    }

    /** Turns autograd recording on or off for the calling thread. */
    public static void recordGradients(boolean on) {
        engine();
        JniUtils.setGradMode(on);
    }

    /**
     * Back-propagates {@code grad} (the gradient of some loss with respect to {@code output}, same
     * shape) through the graph recorded for {@code output}, adding into the gradients of its leaves.
     */
    public static void backward(PtNDArray output, PtNDArray grad) {
        JniUtils.backward(output, grad, false, false);
    }
}
