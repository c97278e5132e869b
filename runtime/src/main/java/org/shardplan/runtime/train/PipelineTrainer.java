package org.shardplan.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.shardplan.runtime.Torch;

/**
 * Trains a model split into pipeline stages, each stage on its own worker thread with its own copy of
 * its weights, forward and backward on real tensors (DJL's PyTorch engine), and SGD updates made by
 * each stage alone.
 *
 * <p><b>AMP</b> (Gaunt et al., "AMPNet: Asynchronous Model-Parallel Training for Dynamic Neural
 * Networks", 2017), with the runtime definitions of the planner's {@code amp} schedule
 * (docs/schedules.md): instances (micro-batches, the paper's keys) enter the first stage while fewer
 * than K are active (admitted and not yet through their backward on stage 0); each worker runs the
 * messages of its one first-in first-out queue in arrival order (so backwards reach a stage in key order
 * and at most K - 1 updates fall between an instance's forward and its backward there); a stage updates
 * its weights as soon as it has collected M gradients, before its next message, with no barrier
 * anywhere. Staleness, measured per stage and instance: the stage's updates between the instance's
 * forward and its backward there. One difference from the planner's definition, which has no weight
 * stashing: autograd keeps the weights a forward used, so the backward differentiates those (as
 * PipeDream's weight stashing does); the update is applied to the current weights. With K = 1 and
 * M = 1 this is sequential SGD, one micro-batch per step.
 *
 * <p><b>SYNC</b>: the micro-batches of a step all enter (up to all in flight), each stage updates once
 * it has their gradients, and the next step waits for the last backward (a flush, as GPipe and
 * PipeDream-flush): every forward of a step sees the same weights, staleness 0, the same arithmetic as
 * one SGD step on the step's examples.
 *
 * <p>An update is w <- w - lr * (g_1 + ... + g_M) / M, g_i the gradients of the mean softmax
 * cross-entropy of instance i. Epochs end with a drain (no instance in flight) so that the test figures
 * see settled weights. Running time: that of the operators, plus one hand-off per stage and instance.
 */
public final class PipelineTrainer {

    private final TrainModel model;
    private final List<StageProgram> stages;
    private final Examples data;
    private final TrainOptions options;

    private volatile Throwable failure;
    private final Semaphore slots;
    private final AtomicLong sequence = new AtomicLong();
    private final List<Float> losses = java.util.Collections.synchronizedList(new ArrayList<>());

    private PipelineTrainer(TrainModel model, List<StageProgram> stages, Examples data, TrainOptions options) {
        this.model = model;
        this.stages = List.copyOf(stages);
        this.data = data;
        this.options = options;
        this.slots = new Semaphore(options.inFlight());
        if (data.width() != model.inputWidth()) {
            throw new IllegalArgumentException("the model's input " + model.input() + " must take " + data.width()
                    + " features per example (the data set's), found " + model.inputWidth());
        }
    }

    /** Trains {@code model}, split into {@code stages}, on {@code data}. */
    public static TrainResult train(TrainModel model, List<StageProgram> stages, Examples data, TrainOptions options)
            throws InterruptedException {
        return new PipelineTrainer(model, stages, data, options).run();
    }

    private record Msg(boolean backward, long key, long seq, NDArray tensor, int[] labels) {
    }

    /** One parameter version of a stage, alive while a forward that used it waits for its backward. */
    private static final class Version {
        final int id;
        final NDManager manager;
        final Map<String, NDArray> weights = new LinkedHashMap<>();
        int users;

        Version(int id, NDManager manager) {
            this.id = id;
            this.manager = manager;
        }
    }

    /** What a stage remembers of an instance between its forward and its backward. */
    private record Pending(NDManager manager, NDArray input, NDArray output, Version version) {
    }

    private final class Worker implements Runnable {
        final int index;
        final StageProgram program;
        final LinkedBlockingQueue<Msg> queue = new LinkedBlockingQueue<>();
        final NDManager manager;
        final Map<String, NDArray> accumulated = new LinkedHashMap<>();
        final Map<Long, Pending> pending = new HashMap<>();
        Version current;
        int collected;
        long updates;
        final List<Integer> staleness = new ArrayList<>();
        Worker previous;
        Worker next;

        Worker(int index, StageProgram program, NDManager root) {
            this.index = index;
            this.program = program;
            this.manager = root.newSubManager();
            current = new Version(0, manager.newSubManager());
            for (String p : program.params()) {
                TrainModel.Param w = model.parameters().get(p);
                NDArray a = current.manager.create(w.values(), new Shape(w.shape()));
                a.setRequiresGradient(true);
                current.weights.put(p, a);
                accumulated.put(p, manager.zeros(new Shape(w.shape())));
            }
        }

        @Override
        public void run() {
            Torch.stageThread();
            try {
                while (true) {
                    Msg m = queue.take();
                    if (m.key < 0) {
                        return;
                    }
                    if (m.backward) {
                        backward(m.key, m.tensor);
                    } else {
                        forward(m);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Throwable t) {
                if (failure == null) {
                    failure = new IllegalStateException("stage " + index + ": " + t.getMessage(), t);
                }
                slots.release(options.inFlight());
            }
        }

        void forward(Msg m) {
            NDManager km = manager.newSubManager();
            NDArray x = m.tensor;
            x.attach(km);
            if (index > 0) {
                x.setRequiresGradient(true);
            }
            Version v = current;
            v.users++;
            NDArray y = program.forward(x, v.weights);
            pending.put(m.key, new Pending(km, x, y, v));
            if (next != null) {
                NDArray sent = y.stopGradient();
                sent.detach();
                next.queue.add(new Msg(false, m.key, m.seq, sent, m.labels));
            } else {
                // the loss: mean softmax cross-entropy over the instance's examples
                int b = m.labels.length;
                float[] onehot = new float[b * data.classes()];
                for (int i = 0; i < b; i++) {
                    onehot[i * data.classes() + m.labels[i]] = 1f;
                }
                NDArray t = km.create(onehot, new Shape(b, data.classes()));
                NDArray loss = y.logSoftmax(1).mul(t).sum().neg().div(b);
                losses.add(loss.getFloat());
                Torch.backward((PtNDArray) loss, (PtNDArray) km.create(1f));
                finishBackward(m.key);
            }
        }

        void backward(long key, NDArray grad) {
            Pending p = pending.get(key);
            grad.attach(p.manager);
            Torch.backward((PtNDArray) p.output, (PtNDArray) grad);
            finishBackward(key);
        }

        void finishBackward(long key) {
            Pending p = pending.remove(key);
            Version v = p.version;
            staleness.add(current.id - v.id);
            for (Map.Entry<String, NDArray> e : v.weights.entrySet()) {
                NDArray g = e.getValue().getGradient();
                accumulated.get(e.getKey()).addi(g);
                g.close();
                JniUtils.zeroGrad((PtNDArray) e.getValue());
            }
            NDArray upstream = null;
            if (previous != null) {
                upstream = p.input.getGradient().stopGradient();
                upstream.detach();
            }
            p.manager.close();
            v.users--;
            if (++collected >= options.gradientsPerUpdate()) {
                update();
            }
            if (v != current && v.users == 0) {
                v.manager.close();
            }
            // sent after this stage's own update, so that a drained pipeline has made all its updates
            if (previous != null) {
                previous.queue.add(new Msg(true, key, key, upstream, null));
            }
            if (previous == null) {
                slots.release();
            }
        }

        void update() {
            Version old = current;
            Version v = new Version(old.id + 1, manager.newSubManager());
            Torch.recordGradients(false);
            try {
                double scale = options.learningRate() / collected;
                for (Map.Entry<String, NDArray> e : old.weights.entrySet()) {
                    NDArray acc = accumulated.get(e.getKey());
                    NDArray step = acc.mul(scale);
                    NDArray w = e.getValue().sub(step);
                    step.close();
                    w.attach(v.manager);
                    w.setRequiresGradient(true);
                    v.weights.put(e.getKey(), w);
                    acc.muli(0);
                }
            } finally {
                Torch.recordGradients(true);
            }
            collected = 0;
            updates++;
            current = v;
            if (old.users == 0) {
                old.manager.close();
            }
        }
    }

    private TrainResult run() throws InterruptedException {
        Torch.engine();
        List<TrainResult.Epoch> epochs = new ArrayList<>();
        Map<String, float[]> finalWeights = new LinkedHashMap<>();
        List<TrainResult.Staleness> stale = new ArrayList<>();
        double total = 0;
        try (NDManager root = Torch.newManager()) {
            List<Worker> workers = new ArrayList<>();
            for (int s = 0; s < stages.size(); s++) {
                workers.add(new Worker(s, stages.get(s), root));
            }
            for (int s = 0; s < workers.size(); s++) {
                workers.get(s).previous = s > 0 ? workers.get(s - 1) : null;
                workers.get(s).next = s + 1 < workers.size() ? workers.get(s + 1) : null;
            }
            List<Thread> threads = new ArrayList<>();
            for (Worker w : workers) {
                Thread t = new Thread(w, "stage-" + w.index);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
            try {
                SplittableRandom rnd = new SplittableRandom(options.seed());
                int n = data.trainX().length;
                int b = options.microBatchSize();
                long instances = 0;
                outer:
                for (int e = 1; e <= options.epochs(); e++) {
                    int[] order = shuffled(n, rnd);
                    int lossesBefore = losses.size();
                    long start = System.nanoTime();
                    int inStep = 0;
                    long epochInstances = 0;
                    for (int at = 0; at + b <= n; at += b) {
                        if (options.maxInstances() > 0 && instances >= options.maxInstances()) {
                            drain();
                            epochs.add(epoch(workers, e, lossesBefore, start, epochInstances));
                            break outer;
                        }
                        acquire();
                        inject(workers.get(0), order, at, b);
                        instances++;
                        epochInstances++;
                        if (options.schedule() == TrainOptions.Schedule.SYNC && ++inStep == options.microBatchesPerStep()) {
                            drain();
                            inStep = 0;
                        }
                    }
                    drain();
                    epochs.add(epoch(workers, e, lossesBefore, start, epochInstances));
                }
                for (TrainResult.Epoch ep : epochs) {
                    total += ep.seconds();
                }
                for (Worker w : workers) {
                    long[] hist = new long[1 + w.staleness.stream().mapToInt(Integer::intValue).max().orElse(0)];
                    double sum = 0;
                    for (int s : w.staleness) {
                        hist[s]++;
                        sum += s;
                    }
                    stale.add(new TrainResult.Staleness(w.index, w.staleness.isEmpty() ? 0 : sum / w.staleness.size(),
                            hist.length - 1, hist, w.updates));
                    for (Map.Entry<String, NDArray> en : w.current.weights.entrySet()) {
                        finalWeights.put(en.getKey(), en.getValue().toFloatArray());
                    }
                }
            } finally {
                for (Worker w : workers) {
                    w.queue.add(new Msg(false, -1, Long.MAX_VALUE, null, null));
                }
                for (Thread t : threads) {
                    t.join(10_000);
                }
            }
        }
        float[] curve = new float[losses.size()];
        for (int i = 0; i < curve.length; i++) {
            curve[i] = losses.get(i);
        }
        return new TrainResult(options, epochs, curve, stale, finalWeights, total);
    }

    private TrainResult.Epoch epoch(List<Worker> workers, int e, int lossesBefore, long start, long instances) {
        double seconds = (System.nanoTime() - start) / 1e9;
        double sum = 0;
        int count = 0;
        synchronized (losses) {
            for (int i = lossesBefore; i < losses.size(); i++) {
                sum += losses.get(i);
                count++;
            }
        }
        double[] test = evaluate(workers);
        return new TrainResult.Epoch(e, count == 0 ? Double.NaN : sum / count, test[0], test[1], seconds, instances);
    }

    /** Test loss and accuracy with the stages' current weights (workers idle: called after a drain). */
    private double[] evaluate(List<Worker> workers) {
        if (data.testX().length == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        boolean was = JniUtils.isGradMode();
        Torch.recordGradients(false);
        try (NDManager m = Torch.newManager()) {
            int n = data.testX().length;
            int w = data.width();
            float[] flat = new float[n * w];
            for (int i = 0; i < n; i++) {
                System.arraycopy(data.testX()[i], 0, flat, i * w, w);
            }
            NDArray x = m.create(flat, new Shape(n, w));
            for (Worker wk : workers) {
                x = wk.program.forward(x, wk.current.weights);
            }
            float[] logp = x.logSoftmax(1).toFloatArray();
            double loss = 0;
            int right = 0;
            int c = data.classes();
            for (int i = 0; i < n; i++) {
                int best = 0;
                for (int k = 1; k < c; k++) {
                    if (logp[i * c + k] > logp[i * c + best]) {
                        best = k;
                    }
                }
                right += best == data.testY()[i] ? 1 : 0;
                loss -= logp[i * c + data.testY()[i]];
            }
            return new double[] {loss / n, (double) right / n};
        } finally {
            Torch.recordGradients(was);
        }
    }

    private void inject(Worker first, int[] order, int at, int b) {
        int w = data.width();
        float[] flat = new float[b * w];
        int[] labels = new int[b];
        for (int i = 0; i < b; i++) {
            System.arraycopy(data.trainX()[order[at + i]], 0, flat, i * w, w);
            labels[i] = data.trainY()[order[at + i]];
        }
        NDArray x = first.manager.create(flat, new Shape(b, w));
        x.detach();
        long key = sequence.getAndIncrement();
        first.queue.add(new Msg(false, key, key, x, labels));
    }

    private void acquire() throws InterruptedException {
        while (!slots.tryAcquire(200, TimeUnit.MILLISECONDS)) {
            check();
        }
        check();
    }

    /** Waits until no instance is in flight. */
    private void drain() throws InterruptedException {
        int k = options.inFlight();
        while (!slots.tryAcquire(k, 200, TimeUnit.MILLISECONDS)) {
            check();
        }
        slots.release(k);
        check();
    }

    private void check() {
        if (failure != null) {
            throw new IllegalStateException("training failed in " + failure.getMessage(), failure);
        }
    }

    /** The example order of an epoch: a Fisher-Yates shuffle drawn from {@code rnd}. */
    static int[] shuffled(int n, SplittableRandom rnd) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
