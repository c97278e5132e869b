package org.shardplan.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.solver.CostScaling;
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
        header = "Solves a strategy problem file (shardplan-problem/1): one strategy per node, least cost.",
        description = {"Solves a strategy problem file (shardplan-problem/1, plain or .json.gz): picks one strategy per node "
                + "minimising node plus edge costs, within the memory limit if the file sets one."})
public final class SolveCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PROBLEM", description = "The problem file (JSON, gzip allowed).")
    Path problem;

    @Option(names = "--solver", paramLabel = "auto|dp|ilp", defaultValue = "auto",
            description = "auto (default): exact DP where its tables fit, else ILP, else best found; dp; ilp.")
    String solver;

    @Option(names = "--time-limit", paramLabel = "SECONDS", defaultValue = "60",
            description = "Wall-clock limit of the solve in seconds (default ${DEFAULT-VALUE}).")
    double timeLimit;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the solution JSON to FILE (.gz compresses; -: standard output, as --json).")
    Path out;

    @Option(names = "--json", description = "Print the solution JSON (shardplan-solution/1) instead of a summary.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (out != null && out.toString().equals("-")) {
            json = true; // --out -: the JSON on standard output (a file named '-' is ./-)
            out = null;
        }
        long called = System.nanoTime();
        if (!Solvers.NAMES.contains(solver)) {
            throw new ShardplanException("--solver must be one of " + String.join(", ", Solvers.NAMES) + ", found " + solver);
        }
        if (!(timeLimit > 0) || Double.isInfinite(timeLimit)) {
            throw new ShardplanException("--time-limit must be a positive number of seconds, found " + timeLimit);
        }
        Problem p;
        Solution s;
        long read;
        try {
            p = ProblemIo.readProblem(problem);
            read = System.nanoTime();
            s = CostScaling.solve(Solvers.byName(solver), p, Solver.Options.withTimeLimit(timeLimit));
        } catch (CostScaling.OverflowException e) {
            throw new ShardplanException(problem + ": " + e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            // the solver's tables are budgeted; this is the problem itself or other working memory
            throw new ShardplanException(problem + ": the problem needs more memory than the "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB heap: give the JVM more (SHARDPLAN_JAVA_OPTS=-Xmx...)"
                    + " or split the problem", e);
        }
        long solved = System.nanoTime();
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
        if (Main.anyVerbose(spec.root().commandLine().getParseResult())) {
            PrintWriter err = spec.commandLine().getErr();
            err.println(timing(called, read, solved, System.nanoTime()));
            err.flush();
        }
        return 0;
    }

    /**
     * The one line {@code --verbose} adds on stderr: where the wall time went, from the start of the
     * launcher script (which passes the moments of its start and of its {@code exec} of the JVM in
     * {@code SHARDPLAN_LAUNCH_TIME} and {@code SHARDPLAN_EXEC_TIME}, epoch seconds) through the JVM's
     * start up to the command line's main class, picocli, reading, solving and output, then peak
     * memory. Example: {@code shardplan: timing: launcher 0.02 s, JVM start to main 0.15 s, command line
     * 0.11 s, read 0.80 s, solve 1.10 s, output 0.01 s, total 2.19 s; peak RSS 412 MiB, max heap 2048 MiB}.
     * Without the launcher (plain {@code java -jar}) the first two read "n/a" and the total starts at main.
     */
    static String timing(long called, long read, long solved, long done) {
        double main = Main.STARTED_MILLIS;
        double launch = epochMillis(System.getenv("SHARDPLAN_LAUNCH_TIME"));
        double exec = epochMillis(System.getenv("SHARDPLAN_EXEC_TIME"));
        boolean launcher = !Double.isNaN(launch) && !Double.isNaN(exec) && launch <= exec && exec <= main;
        double end = main + (done - Main.STARTED_NANOS) / 1e6;
        long rss = peakRssKib();
        return String.format(Locale.ROOT, "shardplan: timing: launcher %s, JVM start to main %s, command line %.2f s, "
                        + "read %.2f s, solve %.2f s, output %.2f s, total %.2f s; peak RSS %s, max heap %d MiB",
                launcher ? String.format(Locale.ROOT, "%.2f s", (exec - launch) / 1e3) : "n/a",
                launcher ? String.format(Locale.ROOT, "%.2f s", (main - exec) / 1e3) : "n/a",
                (called - Main.STARTED_NANOS) / 1e9, (read - called) / 1e9, (solved - read) / 1e9, (done - solved) / 1e9,
                (end - (launcher ? launch : main)) / 1e3, rss < 0 ? "unknown" : (rss >> 10) + " MiB",
                Runtime.getRuntime().maxMemory() >> 20);
    }

    /** Epoch seconds as bash's {@code $EPOCHREALTIME} writes them, in milliseconds; NaN when absent or malformed. */
    private static double epochMillis(String seconds) {
        if (seconds == null || !seconds.matches("[0-9]+([.,][0-9]+)?")) {
            return Double.NaN;
        }
        return Double.parseDouble(seconds.replace(',', '.')) * 1e3;
    }

    /** Peak resident set of this process in KiB ({@code VmHWM} of {@code /proc/self/status}), or -1 where there is none. */
    static long peakRssKib() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (java.io.IOException | NumberFormatException | SecurityException e) {
            return -1;
        }
        return -1;
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
