package org.shardplan.runtime.pipeline;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.planner.Plan;
import org.shardplan.runtime.stages.StageExport;

/**
 * {@code shardplan run}: a pipeline plan made for this machine ({@code --device cpu-local}, one device
 * per core), executed forward-only: the plan's stages written as ONNX models ({@link StageExport}), one
 * ONNX Runtime session and worker thread per stage, the plan's micro-batches streamed through them, and
 * the outputs checked against the whole model's.
 *
 * <p>Predicted time per step: the plan's forward time per micro-batch of each stage, f_s (with its send
 * time), in the closed form of a linear pipeline of M micro-batches, sum_s f_s + (M - 1) max_s f_s (the
 * fill and drain of GPipe, Huang et al. 2019, section 2.2, forward half). The plan's own step time is
 * for training (forward, backward and update) and is reported beside it.
 */
public final class PipelineRun {

    private PipelineRun() {}

    /**
     * What a run measured.
     *
     * @param predictedSecondsPerStep  the closed form above
     * @param measuredSecondsPerStep   median wall time of the timed steps
     * @param outputsMatch             whether every micro-batch's outputs equal the whole model's within
     *                                 {@link #TOLERANCE} relative to each output's largest magnitude
     * @param relativeDifference       the largest such difference
     * @param wholeModelSecondsPerStep the whole model on one thread, micro-batches one after another (median
     *                                 over as many steps)
     * @param stages                   pipeline stages
     * @param microBatches             micro-batches per step
     * @param microBatchSize           examples per micro-batch
     * @param stepSeconds              every timed step
     * @param planStepSeconds          the plan's training step time
     * @param predictedStageSeconds    per stage, the plan's forward (and send) time of one micro-batch
     * @param measuredStageCpuSeconds  per stage, the median processor time of one micro-batch on its worker
     * @param closedFormOfMeasured     the closed form over the measured stage times: what the step would
     *                                 take on otherwise idle cores
     * @param wholeModelCpuSecondsPerStep the whole model's processor time per step (median)
     */
    public record Report(double predictedSecondsPerStep, double measuredSecondsPerStep, boolean outputsMatch,
            double relativeDifference, double wholeModelSecondsPerStep, int stages, int microBatches,
            long microBatchSize, double[] stepSeconds, double planStepSeconds, double[] predictedStageSeconds,
            double[] measuredStageCpuSeconds, double closedFormOfMeasured, double wholeModelCpuSecondsPerStep) {
    }

    /** Outputs match when they differ by at most this fraction of their largest magnitude. */
    public static final double TOLERANCE = 1e-5;

    /**
     * Checks that {@code plan} can run here: made for {@code cpu-local} devices, no more devices than
     * this machine's cores, one device per stage.
     *
     * @return {@code plan}
     * @throws IllegalArgumentException naming what does not fit
     */
    public static Plan requireLocal(Plan plan, int cores) {
        if (!"cpu-local".equals(plan.cluster().device())) {
            throw new IllegalArgumentException("the plan is for " + plan.cluster().devices() + " x " + plan.cluster().device()
                    + " (cluster " + plan.cluster().name() + "); run executes plans made for this machine"
                    + " (plan --device cpu-local --devices N, N <= " + cores + ")");
        }
        if (plan.cluster().devices() > cores) {
            throw new IllegalArgumentException("the plan uses " + plan.cluster().devices() + " cpu-local devices, but this"
                    + " machine has " + cores + " cores");
        }
        for (Plan.Stage s : plan.stages()) {
            if (s.devices() != 1) {
                throw new IllegalArgumentException("run executes one device per stage, but stage " + s.index() + " spans "
                        + s.devices() + " devices (data " + plan.parallelism().data() + " x tensor "
                        + plan.parallelism().tensor() + "); plan with --data-parallel 1 --tensor-parallel 1");
            }
        }
        return plan;
    }

    private static double median(double[] v) {
        double[] sorted = v.clone();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    /** The closed-form forward time of a step (see the class comment). */
    public static double predicted(Plan plan, int microBatches) {
        return closedForm(stageSeconds(plan), microBatches);
    }

    /** Per stage, the plan's forward and send time of one micro-batch. */
    public static double[] stageSeconds(Plan plan) {
        return plan.stages().stream().mapToDouble(s -> s.forwardSeconds() + s.sendSeconds()).toArray();
    }

    /** sum_s f_s + (M - 1) max_s f_s: M items through a line of stages taking f_s each. */
    public static double closedForm(double[] f, int microBatches) {
        double sum = 0;
        double max = 0;
        for (double x : f) {
            sum += x;
            max = Math.max(max, x);
        }
        return sum + (microBatches - 1) * max;
    }

    /**
     * Writes the stages of {@code plan} into {@code workDir}, runs {@code steps} timed steps (after one
     * untimed warm-up step) of {@code microBatches} micro-batches (0: the plan's), and checks the
     * outputs. Running time: that of the model, (steps + 2) times per micro-batch.
     */
    public static Report run(Plan plan, Path model, Path workDir, int microBatches, int steps)
            throws OnnxImportException, IOException, OrtException, InterruptedException {
        int m = microBatches > 0 ? microBatches : plan.parallelism().microBatches();
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, found " + steps);
        }
        StageExport.Result ex = StageExport.write(plan, model, workDir);
        long mb = plan.parallelism().microBatchSize();
        Map<String, Long> dims = new HashMap<>(plan.dims());
        List<Value> data = ex.graph().inputs().stream().filter(v -> v.kind() == Value.Kind.INPUT).toList();
        // the batch is the first axis of the first input; bind its name to the micro-batch size
        if (!data.isEmpty() && data.get(0).shape().rankKnown() && data.get(0).shape().rank() > 0
                && data.get(0).shape().dim(0) instanceof Dim.Symbolic b) {
            dims.put(b.name(), mb);
        }
        // a model exported without its weights takes them as graph inputs, which the importer reads as parameters:
        // they are fed too (random values, as the data are)
        java.util.Set<String> fileInputs = new java.util.HashSet<>();
        ex.model().inputs().forEach(v -> fileInputs.add(v.name()));
        ex.model().initializers().forEach(t -> fileInputs.remove(t.name()));
        List<Value> inputs = new ArrayList<>(data);
        ex.graph().parameters().stream().filter(v -> fileInputs.contains(v.name())).forEach(inputs::add);
        Map<String, long[]> shapes = new HashMap<>();
        for (Value v : inputs) {
            Shape s = v.shape().bind(dims);
            if (!s.isFullyKnown()) {
                throw new IllegalArgumentException("input " + v.name() + " has shape " + s + " after binding " + dims
                        + "; give its dimensions when planning (--dim NAME=VALUE)");
            }
            shapes.put(v.name(), s.toLongs());
        }
        List<String> outputs = ex.graph().outputs().stream().map(Value::name).toList();
        SplittableRandom rnd = new SplittableRandom(42);
        List<Map<String, OnnxTensor>> feeds = new ArrayList<>();
        try {
            for (int i = 0; i < m; i++) {
                feeds.add(Feeds.random(inputs, shapes, rnd));
            }
            // the whole model, micro-batch after micro-batch on one thread: the reference and a baseline
            List<Map<String, float[]>> expected = new ArrayList<>();
            double[] wholeSteps = new double[steps];
            double[] wholeCpu = new double[steps];
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            try (WholeModel w = new WholeModel(model)) {
                for (Map<String, OnnxTensor> f : feeds) {
                    expected.add(w.run(f, outputs));
                }
                for (int k = 0; k < steps; k++) {
                    long t0 = System.nanoTime();
                    long c0 = mx.getCurrentThreadCpuTime();
                    for (Map<String, OnnxTensor> f : feeds) {
                        w.run(f, outputs);
                    }
                    wholeCpu[k] = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
                    wholeSteps[k] = (System.nanoTime() - t0) / 1e9;
                }
            }
            double whole = median(wholeSteps);
            double wholeCpuMedian = median(wholeCpu);
            try (StagePipeline p = new StagePipeline(ex.split(), ex.stages())) {
                int inFlight = Math.max(plan.stages().size(), plan.stages().get(0).microBatchesInFlight());
                p.run(feeds, 1, inFlight, outputs);
                StagePipeline.Timing t = p.run(feeds, steps, inFlight, outputs);
                double worst = 0;
                for (int i = 0; i < m; i++) {
                    worst = Math.max(worst, StagePipeline.relativeDifference(expected.get(i), t.outputs().get(i)));
                }
                return new Report(predicted(plan, m), median(t.stepSeconds()), worst <= TOLERANCE, worst, whole, plan.stages().size(), m, mb,
                        t.stepSeconds(), plan.totals().stepSeconds(), stageSeconds(plan), t.stageCpuSeconds(),
                        closedForm(t.stageCpuSeconds(), m), wholeCpuMedian);
            }
        } finally {
            Feeds.close(feeds);
        }
    }
}
