package org.shardplan.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.ProblemIo;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;
import org.shardplan.planner.solver.Solvers;
import org.shardplan.planner.solver.Status;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan solve PROBLEM [--solver auto|dp|ilp] [--time-limit SECONDS] [--out FILE] [--json]}:
 * solves a strategy problem file (format 1) and prints the solution as JSON or as a short summary.
 * An infeasible problem is an answer (exit code 0); a malformed file is bad input (exit code 2).
 */
@Command(name = "solve", mixinStandardHelpOptions = true,
        description = {"Solves a strategy problem file (shardplan-problem/1, plain or .json.gz): picks one strategy per node",
                "minimising node plus edge costs, within the memory limit if the file sets one."})
public final class SolveCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PROBLEM", description = "The problem file (JSON, gzip allowed).")
    Path problem;

    @Option(names = "--solver", paramLabel = "auto|dp|ilp", defaultValue = "auto",
            description = "auto (default): exact DP where its tables fit, else ILP, else best found; dp; ilp.")
    String solver;

    @Option(names = "--time-limit", paramLabel = "SECONDS", defaultValue = "60",
            description = "Wall-clock limit of the solve in seconds (default ${DEFAULT-VALUE}).")
    double timeLimit;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the solution JSON to FILE (.gz compresses).")
    Path out;

    @Option(names = "--json", description = "Print the solution JSON (shardplan-solution/1) instead of a summary.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (!Solvers.NAMES.contains(solver)) {
            throw new ShardplanException("--solver must be one of " + String.join(", ", Solvers.NAMES) + ", found " + solver);
        }
        if (!(timeLimit > 0) || Double.isInfinite(timeLimit)) {
            throw new ShardplanException("--time-limit must be a positive number of seconds, found " + timeLimit);
        }
        Problem p = ProblemIo.readProblem(problem);
        Solution s = Solvers.byName(solver).solve(p, Solver.Options.withTimeLimit(timeLimit));
        if (out != null) {
            ProblemIo.writeSolution(s, out);
        }
        PrintWriter w = spec.commandLine().getOut();
        if (json) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            ProblemIo.writeSolution(s, buf);
            w.print(buf.toString(StandardCharsets.UTF_8));
        } else {
            w.print(summary(p, s));
        }
        w.flush();
        return 0;
    }

    /** The human summary: status, objective, bound, time, solver, reductions. */
    static String summary(Problem p, Solution s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "problem     %s (%d nodes, %d edges%s)%n", p.name(), p.size(), p.edges().size(),
                p.memoryLimit().isPresent() ? ", memory limit " + num(p.memoryLimit().getAsDouble()) : ""));
        b.append(String.format(Locale.ROOT, "status      %s%n", s.status()));
        if (s.status() == Status.INFEASIBLE) {
            b.append(String.format(Locale.ROOT, "why         %s%n", s.message()));
        } else {
            if (s.hasChoices()) {
                b.append(String.format(Locale.ROOT, "objective   %s%n", num(s.objective())));
            }
            b.append(String.format(Locale.ROOT, "bound       %s%s%n", num(s.lowerBound()),
                    s.hasChoices() && s.status() != Status.OPTIMAL
                            ? String.format(Locale.ROOT, " (gap %.3g%%)", 100 * s.gap()) : ""));
            b.append(String.format(Locale.ROOT, "details     %s%n", s.message()));
        }
        b.append(String.format(Locale.ROOT, "solver      %s, %.3f s%n", s.solver(), s.seconds()));
        return b.toString();
    }

    private static String num(double v) {
        if (!Double.isFinite(v)) {
            return Double.isNaN(v) ? "none" : v > 0 ? "+inf" : "-inf";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e18 ? String.format(Locale.ROOT, "%.0f", v)
                : String.format(Locale.ROOT, "%.17g", v);
    }
}
