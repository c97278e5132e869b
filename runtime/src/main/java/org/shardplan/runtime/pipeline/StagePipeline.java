package org.shardplan.runtime.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.shardplan.cost.profile.Ort;
import org.shardplan.runtime.stages.StageSplit;

/**
 * Runs per-stage ONNX models as a forward pipeline on this machine: one ONNX Runtime session (one
 * intra-op thread) and one worker thread per stage, micro-batches handed from stage to stage through
 * queues. A micro-batch travels as a bundle of named tensors: each stage takes the inputs it names,
 * adds its outputs, and passes the bundle on; tensors that skip a stage ride along. Also runs the same
 * stages one after another on one thread ({@link #chain}), for checking them against the whole model.
 */
public final class StagePipeline implements AutoCloseable {

    private final StageSplit split;
    private final List<OrtSession> sessions = new ArrayList<>();

    /** Opens one session per stage file (same order as the split's stages), all optimizations on. */
    public StagePipeline(StageSplit split, List<Path> files) throws OrtException {
        this(split, files, OrtSession.SessionOptions.OptLevel.ALL_OPT);
    }

    /**
     * Opens one session per stage file at the given optimization level. Fusions that the whole model
     * makes across a cut cannot be made in the stages, so outputs agree to rounding at {@code ALL_OPT}
     * and exactly at {@code NO_OPT}.
     */
    public StagePipeline(StageSplit split, List<Path> files, OrtSession.SessionOptions.OptLevel level)
            throws OrtException {
        if (files.size() != split.stages().size()) {
            throw new IllegalArgumentException("stage files must be one per stage (" + split.stages().size() + "), found "
                    + files.size());
        }
        this.split = split;
        try {
            for (Path f : files) {
                try (OrtSession.SessionOptions o = Ort.options(1, level)) {
                    sessions.add(Ort.environment().createSession(f.toString(), o));
                }
            }
        } catch (OrtException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A micro-batch's tensors as it travels, and the results to close once it is done. */
    private static final class Bundle {
        final int index;
        final Map<String, OnnxTensor> values = new HashMap<>();
        final List<OrtSession.Result> results = new ArrayList<>();

        Bundle(int index, Map<String, OnnxTensor> inputs) {
            this.index = index;
            values.putAll(inputs);
        }

        void close() {
            results.forEach(OrtSession.Result::close);
            results.clear();
        }
    }

    private void runStage(int s, Bundle b) throws OrtException {
        StageSplit.Stage st = split.stages().get(s);
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        for (String in : st.inputs()) {
            OnnxTensor t = b.values.get(in);
            if (t == null) {
                throw new IllegalStateException("stage " + s + " needs " + in + ", which no earlier stage or input provides");
            }
            feed.put(in, t);
        }
        OrtSession.Result r = sessions.get(s).run(feed);
        b.results.add(r);
        for (Map.Entry<String, OnnxValue> e : r) {
            if (e.getValue() instanceof OnnxTensor t) {
                b.values.put(e.getKey(), t);
            }
        }
    }

    /**
     * Runs the stages in order on one input set and returns the model outputs' values as floats
     * (flattened). Running time: that of the stages.
     */
    public Map<String, float[]> chain(Map<String, OnnxTensor> inputs, List<String> outputs) throws OrtException {
        Bundle b = new Bundle(0, inputs);
        try {
            for (int s = 0; s < sessions.size(); s++) {
                runStage(s, b);
            }
            return floats(b.values, outputs);
        } finally {
            b.close();
        }
    }

    /**
     * The timing of {@link #run}.
     *
     * @param stepSeconds  wall time of each step, in order
     * @param outputs      the model outputs of each micro-batch of the last step, flattened to floats
     * @param stageCpuSeconds per stage, the median processor time (of its worker thread) of one
     *                     micro-batch: the stage's own work, whatever else the machine runs
     */
    public record Timing(double[] stepSeconds, List<Map<String, float[]>> outputs, double[] stageCpuSeconds) {
    }

    /**
     * Streams {@code microBatches} through the stages {@code steps} times, at most {@code inFlight}
     * micro-batches between entering the first stage and leaving the last, each stage on its own
     * thread; returns the wall time of each step and the outputs of the last.
     */
    public Timing run(List<Map<String, OnnxTensor>> microBatches, int steps, int inFlight, List<String> outputs)
            throws OrtException, InterruptedException {
        int p = sessions.size();
        List<BlockingQueue<Bundle>> queues = new ArrayList<>();
        for (int s = 0; s <= p; s++) {
            queues.add(new LinkedBlockingQueue<>());
        }
        Bundle stop = new Bundle(-1, Map.of());
        Throwable[] failure = new Throwable[1];
        List<Thread> threads = new ArrayList<>();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        List<List<Double>> cpu = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            cpu.add(java.util.Collections.synchronizedList(new ArrayList<>()));
        }
        for (int s = 0; s < p; s++) {
            int stage = s;
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Bundle b = queues.get(stage).take();
                        if (b == stop) {
                            queues.get(stage + 1).put(stop);
                            return;
                        }
                        long c0 = mx.getCurrentThreadCpuTime();
                        runStage(stage, b);
                        cpu.get(stage).add((mx.getCurrentThreadCpuTime() - c0) / 1e9);
                        queues.get(stage + 1).put(b);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Throwable e) {
                    synchronized (failure) {
                        if (failure[0] == null) {
                            failure[0] = new IllegalStateException("stage " + stage + ": " + e.getMessage(), e);
                        }
                    }
                    queues.get(p).add(stop);
                }
            }, "pipeline-stage-" + s);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        double[] times = new double[steps];
        List<Map<String, float[]>> last = new ArrayList<>();
        Semaphore slots = new Semaphore(Math.max(1, inFlight));
        try {
            for (int step = 0; step < steps; step++) {
                long start = System.nanoTime();
                int done = 0;
                int sent = 0;
                List<Bundle> finished = new ArrayList<>();
                while (done < microBatches.size()) {
                    while (sent < microBatches.size() && slots.tryAcquire()) {
                        queues.get(0).put(new Bundle(sent, microBatches.get(sent)));
                        sent++;
                    }
                    Bundle b = queues.get(p).poll(60, TimeUnit.SECONDS);
                    if (b == null || b == stop) {
                        synchronized (failure) {
                            throw new IllegalStateException(failure[0] != null ? "pipeline failed in " + failure[0].getMessage()
                                    : "pipeline stalled: no micro-batch finished in 60 s", failure[0]);
                        }
                    }
                    slots.release();
                    done++;
                    finished.add(b);
                }
                times[step] = (System.nanoTime() - start) / 1e9;
                finished.sort((x, y) -> Integer.compare(x.index, y.index));
                for (Bundle b : finished) {
                    if (step == steps - 1) {
                        last.add(floats(b.values, outputs));
                    }
                    b.close();
                }
            }
        } finally {
            queues.get(0).put(stop);
            for (Thread t : threads) {
                t.join(5_000);
            }
        }
        double[] stageCpu = new double[p];
        for (int s = 0; s < p; s++) {
            double[] v;
            synchronized (cpu.get(s)) {
                v = cpu.get(s).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            }
            stageCpu[s] = v.length == 0 ? 0 : v[v.length / 2];
        }
        return new Timing(times, last, stageCpu);
    }

    static Map<String, float[]> floats(Map<String, OnnxTensor> values, List<String> names) throws OrtException {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (String n : names) {
            OnnxTensor t = values.get(n);
            if (t == null) {
                throw new IllegalStateException("model output " + n + " was not computed by any stage");
            }
            m.put(n, toFloats(t));
        }
        return m;
    }

    /** A tensor's values as floats (float, double and integer tensors). */
    static float[] toFloats(OnnxTensor t) throws OrtException {
        if (t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
            java.nio.FloatBuffer fb = t.getFloatBuffer();
            float[] f = new float[fb.remaining()];
            fb.get(f);
            return f;
        }
        Object o = t.getValue();
        List<Float> acc = new ArrayList<>();
        flatten(o, acc);
        float[] f = new float[acc.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = acc.get(i);
        }
        return f;
    }

    private static void flatten(Object o, List<Float> acc) {
        if (o instanceof float[] a) {
            for (float v : a) {
                acc.add(v);
            }
        } else if (o instanceof double[] a) {
            for (double v : a) {
                acc.add((float) v);
            }
        } else if (o instanceof long[] a) {
            for (long v : a) {
                acc.add((float) v);
            }
        } else if (o instanceof int[] a) {
            for (int v : a) {
                acc.add((float) v);
            }
        } else if (o instanceof boolean[] a) {
            for (boolean v : a) {
                acc.add(v ? 1f : 0f);
            }
        } else if (o instanceof Object[] a) {
            for (Object x : a) {
                flatten(x, acc);
            }
        } else if (o instanceof Float v) {
            acc.add(v);
        } else if (o instanceof Long v) {
            acc.add((float) (long) v);
        } else {
            throw new IllegalArgumentException("cannot read a tensor value of type " + o.getClass().getSimpleName());
        }
    }

    /**
     * The largest difference between two output sets relative to each tensor's largest magnitude
     * (0 when equal); {@code Infinity} when a shape differs.
     */
    public static double relativeDifference(Map<String, float[]> expected, Map<String, float[]> actual) {
        double worst = 0;
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            float[] a = actual.get(e.getKey());
            float[] x = e.getValue();
            if (a == null || a.length != x.length) {
                return Double.POSITIVE_INFINITY;
            }
            double scale = 0;
            double diff = 0;
            for (int i = 0; i < x.length; i++) {
                scale = Math.max(scale, Math.abs(x[i]));
                diff = Math.max(diff, Math.abs(x[i] - a[i]));
                if (Float.isNaN(x[i]) != Float.isNaN(a[i])) {
                    return Double.POSITIVE_INFINITY;
                }
            }
            worst = Math.max(worst, scale == 0 ? diff : diff / scale);
        }
        return worst;
    }

    @Override
    public void close() {
        for (OrtSession s : sessions) {
            try {
                s.close();
            } catch (OrtException e) {
                // closing: nothing left to do
            }
        }
        sessions.clear();
    }
}
