package org.shardplan.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan inspect [MODEL] [--dim N=V]... [--input-shape I=D,...]... [--json]}: imports an ONNX
 * model and reports its operators, parameters, forward FLOPs, inputs and outputs, and which shapes are
 * resolved. Without MODEL it inspects the bundled transformer encoder with batch=8, seq=128.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        header = "Summarises an ONNX model: operators, parameters, FLOPs, shapes and the coarse graph.",
        description = {"Reads an ONNX model and summarises it: operators, parameters, forward FLOPs, inputs and outputs with "
                + "their inferred shapes, the values whose shape is not resolved, and the coarse graph for planning.",
                "Without MODEL: the bundled transformer encoder (builtin:transformer, with batch=8, seq=128); "
                + "builtin:cnn is the bundled CNN."})
public final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL",
            description = "An .onnx file, or builtin:NAME: transformer, cnn, or a decoder such as gpt-1.7b, llama3-8b, "
                    + "gpt?layers=..,hidden=..,heads=.. (docs/models.md) (default: builtin:transformer).")
    String model;

    @Mixin
    DimsOptions bindings;

    @Mixin
    BatchOption batch;

    @Option(names = "--json", description = "Print one JSON document instead of the summary.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        Map<String, Long> userDims = bindings.dims();
        Map<String, List<Long>> shapes = bindings.inputShapes();
        Path file;
        String display;
        Map<String, Long> bindings = new LinkedHashMap<>();
        if (model == null || model.startsWith(InspectBundled.PREFIX)) {
            String name = model == null ? InspectBundled.DEFAULT : model.substring(InspectBundled.PREFIX.length());
            file = InspectBundled.extract(name);
            display = InspectBundled.PREFIX + name + (model == null ? " (bundled default)" : InspectBundled.label(name));
            bindings.putAll(InspectBundled.defaultDims(name));
        } else {
            file = Path.of(model);
            display = file.toString();
        }
        ImportOptions opts = ImportOptions.DEFAULT.withInputShapes(shapes)
                .withInputValues(this.bindings.inputValues())
                .withParamsAsInputs(this.bindings.paramsAsInputs());
        PlanModel.BatchBound bound = PlanModel.bindBatch(bindings, batch.given(), userDims,
                dims -> InspectBundled.read(file, model, opts.withDims(dims)));
        ImportedModel m = bound.model();
        InspectReport r = InspectReport.of(m, display, bound.dims());
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? r.json() : r.text());
        if (!json && bound.alias() != null) {
            out.println("note: --batch binds the model's batch dimension, named '" + bound.alias() + "'");
        }
        out.flush();
        return 0;
    }
}
