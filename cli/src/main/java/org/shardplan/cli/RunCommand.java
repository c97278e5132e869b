package org.shardplan.cli;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.runtime.pipeline.PipelineRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code shardplan run PLAN MODEL [--micro-batches M] [--steps N] [--json]}: runs a pipeline plan made
 * for this machine, forward only, and reports measured against predicted time per step and whether
 * the outputs equal the whole model's.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        header = "Runs a pipeline plan made for this CPU forward, stage by stage, and checks its outputs.",
        description = {"Runs a pipeline plan made for this machine (plan --device cpu-local, one device per core) forward "
                + "only: each stage as its own ONNX model in its own ONNX Runtime session (one thread) on its own "
                + "worker thread, the plan's micro-batches streamed through queues. Reports measured against predicted "
                + "seconds per step and whether the outputs equal the whole model's (to 1e-5 of each output's largest "
                + "magnitude). Exit code 2 for a plan made for another cluster, 4 when the outputs differ."})
public final class RunCommand implements Callable<Integer> {

    /** Exit code when the pipeline's outputs differ from the whole model's. */
    static final int OUTPUTS_DIFFER = 4;

    @Parameters(index = "0", paramLabel = "PLAN", description = "A plan made with --device cpu-local.")
    Path planFile;

    @Parameters(index = "1", paramLabel = "MODEL", description = "The plan's model (.onnx).")
    Path model;

    @Option(names = "--micro-batches", paramLabel = "M", description = "Micro-batches per step (default: the plan's).")
    int microBatches;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "5",
            description = "Timed steps, after one warm-up step (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--stages-dir", paramLabel = "DIR",
            description = "Where the stage models are written (default: a temporary folder, removed afterwards).")
    Path stagesDir;

    @Option(names = "--json", description = "Print {predictedSecondsPerStep, measuredSecondsPerStep, outputsMatch, ...}.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (steps < 1) {
            throw new ShardplanException("--steps must be >= 1, found " + steps);
        }
        if (microBatches < 0) {
            throw new ShardplanException("--micro-batches must be >= 1, found " + microBatches);
        }
        if (!Files.isRegularFile(model)) {
            throw new ShardplanException("MODEL " + model + ": no such file");
        }
        Plan plan = PlanChecks.read(planFile);
        try {
            PipelineRun.requireLocal(plan, Runtime.getRuntime().availableProcessors());
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(planFile + ": " + e.getMessage(), e);
        }
        Path dir = stagesDir != null ? stagesDir : Files.createTempDirectory("shardplan-stages");
        PipelineRun.Report r;
        try {
            r = PipelineRun.run(plan, model, dir, microBatches, steps);
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(planFile + " on " + model + ": " + e.getMessage(), e);
        } catch (OnnxImportException e) {
            throw new ShardplanException(e.getMessage(), e);
        } catch (OrtException e) {
            throw new ShardplanException(model + ": ONNX Runtime: " + e.getMessage(), e);
        } finally {
            if (stagesDir == null) {
                deleteTree(dir);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectMapper om = new ObjectMapper();
            ObjectNode o = om.createObjectNode();
            o.put("predictedSecondsPerStep", r.predictedSecondsPerStep());
            o.put("measuredSecondsPerStep", r.measuredSecondsPerStep());
            o.put("outputsMatch", r.outputsMatch());
            o.put("relativeDifference", r.relativeDifference());
            o.put("wholeModelSecondsPerStep", r.wholeModelSecondsPerStep());
            o.put("stages", r.stages());
            o.put("microBatches", r.microBatches());
            o.put("microBatchSize", r.microBatchSize());
            o.put("planStepSeconds", r.planStepSeconds());
            var a = o.putArray("stepSeconds");
            for (double s : r.stepSeconds()) {
                a.add(s);
            }
            var ps = o.putArray("predictedStageSeconds");
            for (double s : r.predictedStageSeconds()) {
                ps.add(s);
            }
            var ms = o.putArray("measuredStageCpuSeconds");
            for (double s : r.measuredStageCpuSeconds()) {
                ms.add(s);
            }
            o.put("closedFormOfMeasuredStages", r.closedFormOfMeasured());
            o.put("wholeModelCpuSecondsPerStep", r.wholeModelCpuSecondsPerStep());
            out.println(om.writerWithDefaultPrettyPrinter().writeValueAsString(o));
        } else {
            out.printf(Locale.ROOT, "%s on %s: %d stages, %d micro-batches of %d per step, %d timed steps%n", planFile.getFileName(),
                    model.getFileName(), r.stages(), r.microBatches(), r.microBatchSize(), r.stepSeconds().length);
            out.printf(Locale.ROOT, "forward step: measured %.2f ms (median), predicted %.2f ms (measured/predicted %.2f)%n",
                    1e3 * r.measuredSecondsPerStep(), 1e3 * r.predictedSecondsPerStep(),
                    r.measuredSecondsPerStep() / r.predictedSecondsPerStep());
            out.printf(Locale.ROOT, "whole model on one thread: %.2f ms per step, %.2f ms of processor time (pipeline speed-up %.2fx)%n",
                    1e3 * r.wholeModelSecondsPerStep(), 1e3 * r.wholeModelCpuSecondsPerStep(),
                    r.wholeModelSecondsPerStep() / r.measuredSecondsPerStep());
            out.printf(Locale.ROOT, "outputs %s the whole model's (largest difference %.2g of the output's magnitude)%n",
                    r.outputsMatch() ? "equal" : "DIFFER from", r.relativeDifference());
            for (int s = 0; s < r.stages(); s++) {
                out.printf(Locale.ROOT, "stage %d: one micro-batch forward %.2f ms of processor time, predicted %.2f ms%n", s,
                        1e3 * r.measuredStageCpuSeconds()[s], 1e3 * r.predictedStageSeconds()[s]);
            }
            out.printf(Locale.ROOT, "the closed form over the measured stage times: %.2f ms per step (on otherwise idle cores)%n",
                    1e3 * r.closedFormOfMeasured());
            out.printf(Locale.ROOT, "the plan's training step (forward, backward, update): %.2f ms%n", 1e3 * r.planStepSeconds());
        }
        out.flush();
        return r.outputsMatch() ? 0 : OUTPUTS_DIFFER;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
