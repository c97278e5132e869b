package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.shardplan.export.ExportException;
import org.shardplan.export.ExportModel;
import org.shardplan.export.Exporter;
import org.shardplan.export.Exporters;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan export FORMAT PLAN [MODEL] [--out PATH] [--approximate]}: writes a plan for a
 * training stack ({@link Exporters}: megatron, deepspeed, torchtitan, dtensor, onnx, ...). Text formats
 * go to standard output without {@code --out}; model formats need it. A plan the format cannot express
 * is an error naming the layer and what the format lacks, or with {@code --approximate} the nearest
 * plan it can express, priced again, the difference stated on standard error.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        header = "Writes a plan as a training stack's config: Megatron-LM, DeepSpeed, torchtitan, DTensor, ONNX.",
        description = {"Writes a plan for a training stack: megatron (Megatron-LM arguments), deepspeed (DeepSpeed JSON), "
                + "torchtitan (a Trainer.Config's parallelism), dtensor (PyTorch parallelize_plan, mesh, split_spec), "
                + "onnx (the model with ONNX 1.18 multi-device annotations). docs/exports.md describes each.",
                "A plan the format cannot express is an error naming the layer, unless --approximate."})
public final class ExportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FORMAT", description = "The format: ${COMPLETION-CANDIDATES}.",
            completionCandidates = Formats.class)
    String format;

    @Parameters(index = "1", paramLabel = "PLAN", description = "The plan file (shardplan-plan/2 or /1).")
    Path planFile;

    @Parameters(index = "2", arity = "0..1", paramLabel = "MODEL",
            description = "The plan's model (.onnx or builtin:NAME; default: the plan's model if it is built in).")
    String model;

    @Mixin
    DimsOptions bindings;

    @Option(names = "--out", paramLabel = "PATH", description = "Write to PATH (required for model formats; default or -: standard output).")
    Path out;

    @Option(names = "--approximate", description = "Write the nearest plan the format can express, priced again, instead of failing.")
    boolean approximate;

    @Spec
    CommandSpec spec;

    /** The format names, for the help text. */
    static final class Formats implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Exporters.all().keySet().iterator();
        }
    }

    @Override
    public Integer call() throws ShardplanException {
        Exporter ex = Exporters.require(format);
        boolean stdout = out != null && out.toString().equals("-"); // --out -: standard output (a file named '-' is ./-)
        if (ex.output() == Exporter.Output.MODEL_FILE && (out == null || stdout)) {
            throw new ShardplanException("export " + format + " writes a model file: give --out PATH"
                    + (stdout ? " (not standard output)" : ""));
        }
        if (stdout) {
            out = null;
        }
        Plan plan = PlanChecks.read(planFile);
        Optional<ExportModel> em = Optional.empty();
        PrintWriter err = spec.commandLine().getErr();
        if (ex.needsModel() || model != null) {
            em = Optional.of(load(plan, err));
        }
        Exporter.Result r;
        try (Progress progress = Progress.onConsole("exporting " + format + (approximate ? " (pricing the nearest plan)" : ""), 0)) {
            r = ex.export(new Exporter.Request(plan, em, approximate, Optional.ofNullable(out)));
        }
        for (String n : r.notes()) {
            err.println("note: " + n);
        }
        err.flush();
        PrintWriter w = spec.commandLine().getOut();
        if (ex.output() == Exporter.Output.TEXT) {
            if (out == null) {
                w.print(r.text());
            } else {
                try {
                    Files.writeString(out, r.text(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new ShardplanException("--out " + out + ": cannot write: " + org.shardplan.graph.IoErrors.reason(e), e);
                }
                w.println("wrote " + out);
            }
        } else {
            w.println("wrote " + r.written().orElse(out));
        }
        w.flush();
        return 0;
    }

    /** The plan's model: MODEL, or the plan's own when it is built in; checked against the plan. */
    private ExportModel load(Plan plan, PrintWriter err) throws ShardplanException {
        PlanModel.ForPlan fp = PlanModel.forPlan(model, plan, bindings, "export " + format
                + " needs the model: give MODEL (the plan " + planFile + " is of " + plan.model().name() + ")");
        PlanModel pm = fp.model();
        ModelSource source = fp.source();
        // the plan's nodes are those of the coarse graph at its micro-batch size
        long micro = plan.batch() > 0 ? plan.batch() / plan.parallelism().microBatches() : 0;
        CoarseGraph cg = Coarsening.coarsen(micro > 0 ? source.at(micro) : pm.imported().graph());
        Map<String, String> ops = new HashMap<>();
        for (CoarseNode n : cg.nodes()) {
            ops.put(n.name(), Planner.opLabel(n));
        }
        for (PlanNode n : plan.nodes()) {
            String op = ops.get(n.name());
            if (op == null || !op.equals(n.op())) {
                throw new ExportException("MODEL " + pm.display() + " is not the graph the plan " + planFile + " was made for:"
                        + " plan node '" + n.name() + "' (" + n.op() + ") " + (op == null ? "is not in it" : "is a " + op + " in it"));
            }
        }
        if (cg.nodes().size() != plan.nodes().size()) {
            throw new ExportException("MODEL " + pm.display() + " is not the graph the plan " + planFile + " was made for: it"
                    + " has " + cg.nodes().size() + " coarse nodes, the plan " + plan.nodes().size());
        }
        if (fp.hashWarning().isPresent()) {
            err.println("warning: " + fp.hashWarning().get() + "; the graph is the same, so the export goes on");
            err.flush();
        }
        return new ExportModel(pm.display(), pm.imported().graph(), source, Optional.of(pm.file()));
    }
}
