package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.shardplan.export.report.HtmlReport;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan report PLAN --html OUT.html [--all-nodes]}: draws a saved plan as one
 * self-contained HTML page ({@link HtmlReport}); without {@code --html}, the terminal report.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        header = "Draws a saved plan: a self-contained HTML page (--html) or the terminal report.",
        description = {"Draws a saved plan: with --html, one self-contained HTML page (summary, device mesh, per-layer "
                + "strategies and times, memory against the limit, the simulated pipeline schedule, warnings; SVG, no "
                + "network); without, the terminal report."})
public final class ReportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PLAN", description = "A plan file (shardplan-plan/2 or /1).")
    Path planFile;

    @Option(names = "--html", paramLabel = "OUT.html", description = "Write the HTML page to OUT.html.")
    Path html;

    @Option(names = "--all-nodes", description = "List every node (default: one row per group of nodes alike).")
    boolean allNodes;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        Plan plan = PlanChecks.read(planFile);
        PrintWriter w = spec.commandLine().getOut();
        if (html == null) {
            w.print(PlanReport.text(plan, plan.model().name(), allNodes));
        } else {
            try {
                Files.writeString(html, HtmlReport.html(plan, allNodes), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ShardplanException("--html " + html + ": cannot write: " + org.shardplan.graph.IoErrors.reason(e), e);
            }
            w.println("wrote " + html);
        }
        w.flush();
        return 0;
    }
}
