package org.shardplan.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.planner.PlanJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code shardplan explain PLAN}: prints the report of a saved plan. */
@Command(name = "explain", mixinStandardHelpOptions = true,
        header = "Prints a saved plan's summary, stages, per-layer table and baselines.",
        description = "Prints the summary, stages, per-layer table and baselines of a saved plan (shardplan-plan/2 or /1).")
public final class ExplainCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PLAN", description = "A plan file written by shardplan plan --out.")
    Path planFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        Plan p = PlanChecks.requireConsistent(PlanJson.read(planFile), planFile.toString());
        PrintWriter w = spec.commandLine().getOut();
        w.print(PlanReport.text(p, p.model().name()));
        w.flush();
        return 0;
    }
}
