package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.PlanInfeasibleException;
import org.shardplan.planner.PlanJson;
import org.shardplan.planner.ModelSource;
import org.shardplan.planner.Planner;
import org.shardplan.planner.eval.PlanEvaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan evaluate PLAN MODEL [--dim N=V]... [--input-shape I=D,...]... [--out FILE] [--json]}:
 * re-costs a plan (for example one edited by hand) on its model under the plan's cluster and options.
 * Exit code 3 when the plan does not fit the memory limit.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        header = "Re-costs a saved plan on its model, independently of the search (for hand-edited plans).",
        description = {"Re-costs a plan on its model, independently of the search: checks every node's strategy against the "
                + "model and prices it again under the plan's cluster and options. For plans edited by hand.",
                "Exit code 3 when the plan does not fit the memory limit."})
public final class EvaluateCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PLAN", description = "The plan file.")
    Path planFile;

    @Parameters(index = "1", arity = "0..1", paramLabel = "MODEL",
            description = "The model (.onnx or builtin:NAME; default: the plan's model if it is a bundled one).")
    String model;

    @Mixin
    DimsOptions bindings;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the re-costed plan JSON to FILE (-: standard output).")
    Path out;

    @Option(names = "--json", description = "Print the re-costed plan JSON instead of the report.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        if (out != null && out.toString().equals("-")) {
            json = true; // --out -: the JSON on standard output (a file named '-' is ./-)
            out = null;
        }
        Plan plan = PlanChecks.read(planFile);
        PlanModel.ForPlan fp = PlanModel.forPlan(model, plan, bindings,
                "MODEL must be given for plan " + planFile + " of model " + plan.model().name());
        PlanModel pm = fp.model();
        ModelSource source = fp.source();
        PrintWriter w = spec.commandLine().getOut();
        if (fp.hashWarning().isPresent()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("warning: " + fp.hashWarning().get() + "; re-costing by node names");
            err.flush();
        }
        PlanEvaluator.Result r;
        try {
            Planner planner = Planner.forPlan(plan);
            r = LocalCalibration.apply(planner, planner.cluster()).evaluate(plan, source);
        } catch (PlanFormatException e) {
            // name the model given on the command line, which may not be the plan's
            String hint = "";
            int nodes = pm.imported().graph().nodes().size();
            if (e.getMessage().contains("does not match the model") && fp.hashWarning().isEmpty()
                    && !plan.model().sha256().isEmpty() && plan.model().graphNodes() != nodes) {
                // the very file the plan names: its graph came from another import of it
                hint = "; the model file is the one the plan was made from (the same SHA-256), but this version of"
                        + " shardplan imports it as " + nodes + " graph nodes where the plan's import had "
                        + plan.model().graphNodes() + ": plan it again";
            }
            throw new PlanFormatException(planFile + " on " + pm.display() + ": " + e.getMessage() + hint, e);
        }
        if (out != null) {
            try {
                PlanJson.write(r.plan(), out);
            } catch (IOException e) {
                throw new ShardplanException("--out " + out + ": cannot write the plan: " + e.getMessage(), e);
            }
        }
        if (json) {
            w.print(PlanJson.write(r.plan()));
        } else {
            w.print(PlanReport.text(r.plan(), pm.display()));
            w.printf(Locale.ROOT, "re-costed: step %s ms (the plan file says %s ms; largest difference %.2g%%)%n",
                    PlanReport.ms(r.plan().totals().stepSeconds()), PlanReport.ms(plan.totals().stepSeconds()),
                    100 * r.largestDifference());
        }
        w.flush();
        if (!r.valid()) {
            throw new PlanInfeasibleException("the plan is not valid: " + String.join("; ", r.violations()));
        }
        return 0;
    }
}
