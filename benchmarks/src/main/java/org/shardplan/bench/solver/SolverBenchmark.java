package org.shardplan.bench.solver;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.OptionalDouble;
import org.shardplan.planner.solver.AutoSolver;
import org.shardplan.planner.solver.DpSolver;
import org.shardplan.planner.solver.Evaluator;
import org.shardplan.planner.solver.IlpSolver;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.ProblemIo;
import org.shardplan.planner.solver.Solution;
import org.shardplan.planner.solver.Solver;

/**
 * Solves PaSE-shaped problems ({@link PaseShapedProblems}) of growing size and writes
 * {@code benchmarks/results/solver.md}: per problem the size, the solve time in process (first
 * solve in a fresh JVM and the best of three warm solves), and the end-to-end run of the command
 * line, {@code /usr/bin/time -v ./shardplan solve FILE}, with its wall time (JVM start, reading the
 * file and solving) and peak resident memory.
 *
 * <p>Usage, from the repository root: {@code java -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.solver.SolverBenchmark [--no-cli] [--levels N] [--memory-limits] [--backends] [--only NAME]... [--out FILE]}. Problems are written to
 * {@code benchmarks/target/solver-problems/}.
 */
public final class SolverBenchmark {

    /** Devices and the cap on strategies per node, per size level. */
    static final int[][] LEVELS = {{8, 30}, {16, 62}, {32, 146}, {64, 302}, {64, 566}};

    /** Time limit of every solve, in process and on the command line (seconds). */
    static int TIME_LIMIT = 300;

    /** The arguments of this run, for the results file. */
    static String ARGS = "";

    /** The 1-minute load average when the run started. */
    static double LOAD_AT_START = Double.NaN;

    private SolverBenchmark() {
    }

    record Row(String name, int nodes, int edges, int maxStrategies, long entries, long fileBytes, String status,
            double firstSeconds, double warmSeconds, double warmCpu, String cliStatus, double cliWall, double cliCpu,
            long cliRssKb, double cliSolve, double cliStart, double cliRead, String details) {
    }

    public static void main(String[] args) throws Exception {
        boolean cli = true;
        int levels = LEVELS.length;
        String javaOpts = ""; // the launcher's own default heap for solve
        ARGS = String.join(" ", args);
        LOAD_AT_START = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        boolean backends = false;
        boolean memoryLimits = false;
        List<String> only = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--no-cli" -> cli = false;
                case "--levels" -> levels = Integer.parseInt(args[++i]);
                case "--java-opts" -> javaOpts = args[++i];
                case "--time-limit" -> TIME_LIMIT = Integer.parseInt(args[++i]);
                case "--backends" -> backends = true;
                case "--out" -> OUT[0] = Path.of(args[++i]);
                case "--memory-limits" -> memoryLimits = true;
                case "--only" -> only.add(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Path.of("benchmarks/target/solver-problems");
        Files.createDirectories(dir);
        List<Row> rows = new ArrayList<>();
        if (cli) {
            warmUpLauncher(dir, javaOpts);
        }
        if (backends) {
            BACKEND_ROWS.addAll(backendRows());
        }
        for (int l = 0; l < levels; l++) {
            int devices = LEVELS[l][0];
            int cap = LEVELS[l][1];
            for (int model = 0; model < 2; model++) {
                Problem p = model == 0 ? PaseShapedProblems.inception(devices, cap, 128)
                        : PaseShapedProblems.transformer(devices, cap, 64, 6);
                if (!only.isEmpty() && !only.contains(p.name())) {
                    continue;
                }
                Path file = dir.resolve(p.name() + ".json.gz");
                if (!Files.exists(file)) {
                    ProblemIo.writeProblem(p, file);
                }
                rows.add(measure(p, file, cli, javaOpts, false));
                System.err.println(rows.get(rows.size() - 1));
                write(rows, cli, javaOpts);
            }
        }
        if (memoryLimits) {
            // a memory limit 10% below the memory of the unconstrained optimum, so that it binds
            for (Problem base : new Problem[] {PaseShapedProblems.inception(16, 62, 128),
                    PaseShapedProblems.transformer(8, 30, 64, 6)}) {
                Solution free = new DpSolver().solve(base);
                double memory = Evaluator.evaluate(base, free.choices()).memory();
                Problem p = new Problem(base.name() + "-mem90", base.nodes(), base.edges(),
                        OptionalDouble.of(Math.floor(0.9 * memory)));
                Path file = dir.resolve(p.name() + ".json.gz");
                ProblemIo.writeProblem(p, file);
                rows.add(measure(p, file, cli, javaOpts, true));
                System.err.println(rows.get(rows.size() - 1));
                write(rows, cli, javaOpts);
            }
        }
        write(rows, cli, javaOpts);
    }

    static final List<String[]> BACKEND_ROWS = new ArrayList<>();

    /** Where the table goes (option {@code --out}). */
    static final Path[] OUT = {Path.of("benchmarks/results/solver.md")};

    /** The ILP alone, per OR-Tools backend, on the example problems (60 s limit each). */
    private static List<String[]> backendRows() throws Exception {
        List<String[]> out = new ArrayList<>();
        Path shared = Path.of("examples", "problems");
        for (String name : new String[] {"pase-alexnet-b128-p8", "pase-rnnlm-b64-p8", "pase-inception3-b128-p8",
                "pase-transformer-b64-p4"}) {
            Path f = shared.resolve(name + ".json.gz");
            if (!Files.exists(f)) {
                continue;
            }
            Problem p = ProblemIo.readProblem(f);
            for (String backend : new String[] {"SCIP", "CP_SAT", "HIGHS"}) {
                Solution s = new IlpSolver(backend).solve(p, Solver.Options.withTimeLimit(60));
                out.add(new String[] {name, backend, s.status().name(), String.format(Locale.ROOT, "%.2f", s.seconds()),
                        String.format(Locale.ROOT, "%.6g", s.objective()), String.format(Locale.ROOT, "%.6g", s.lowerBound())});
                System.err.println(String.join(" ", out.get(out.size() - 1)));
            }
        }
        return out;
    }

    private static Row measure(Problem p, Path file, boolean cli, String javaOpts, boolean auto) throws Exception {
        int max = 0;
        for (int i = 0; i < p.size(); i++) {
            max = Math.max(max, p.strategies(i));
        }
        long entries = 0;
        for (Problem.Edge e : p.edges()) {
            entries += (long) e.rows() * e.cols();
        }
        Solver.Options options = Solver.Options.withTimeLimit(TIME_LIMIT);
        Solver solver = auto ? new AutoSolver() : new DpSolver();
        Solution first = solver.solve(p, options);
        double warm = Double.NaN;
        double warmCpu = Double.NaN;
        // CPU of the whole process (all solver threads, plus GC and JIT), not only the calling thread
        com.sun.management.OperatingSystemMXBean mx =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (int i = 0; i < 3 && first.seconds() < 20; i++) {
            long c0 = mx.getProcessCpuTime();
            double w = solver.solve(p, options).seconds();
            double c = (mx.getProcessCpuTime() - c0) / 1e9;
            warm = Double.isNaN(warm) ? w : Math.min(warm, w);
            warmCpu = Double.isNaN(warmCpu) ? c : Math.min(warmCpu, c);
        }
        String cliStatus = "";
        double wall = Double.NaN;
        long rss = -1;
        double cliSolve = Double.NaN;
        double cliCpu = Double.NaN;
        double cliStart = Double.NaN;
        double cliRead = Double.NaN;
        if (cli) {
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/time", "-v", "./shardplan", "solve", file.toString(), "--json",
                    "--verbose", "--time-limit", Integer.toString(TIME_LIMIT));
            if (!javaOpts.isEmpty()) {
                if (!javaOpts.isEmpty()) {
            pb.environment().put("SHARDPLAN_JAVA_OPTS", javaOpts);
        }
            }
            pb.redirectErrorStream(true);
            Process proc = pb.start();
            String out = new String(proc.getInputStream().readAllBytes());
            proc.waitFor();
            cliStatus = find(out, "\"status\" : \"(\\w+)\"");
            String s = find(out, "\"seconds\" : ([0-9.Ee-]+)");
            cliSolve = s.isEmpty() ? Double.NaN : Double.parseDouble(s);
            wall = parseWall(find(out, "Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\): ([0-9:.]+)"));
            String user = find(out, "User time \\(seconds\\): ([0-9.]+)");
            String sys = find(out, "System time \\(seconds\\): ([0-9.]+)");
            cliCpu = user.isEmpty() || sys.isEmpty() ? Double.NaN : Double.parseDouble(user) + Double.parseDouble(sys);
            String r = find(out, "Maximum resident set size \\(kbytes\\): (\\d+)");
            rss = r.isEmpty() ? -1 : Long.parseLong(r);
            // the phases of the --verbose timing line: start = launcher + JVM start to main + command line
            Matcher t = Pattern.compile("launcher ([0-9.]+) s, JVM start to main ([0-9.]+) s, command line ([0-9.]+) s, "
                    + "read ([0-9.]+) s").matcher(out);
            if (t.find()) {
                cliStart = Double.parseDouble(t.group(1)) + Double.parseDouble(t.group(2)) + Double.parseDouble(t.group(3));
                cliRead = Double.parseDouble(t.group(4));
            }
        }
        return new Row(p.name(), p.size(), p.edges().size(), max, entries, Files.size(file), first.status().name(),
                first.seconds(), warm, warmCpu, cliStatus, wall, cliCpu, rss, cliSolve, cliStart, cliRead,
                String.format(Locale.ROOT, "objective %.17g; ", first.objective()) + first.message());
    }

    /**
     * One run of the launcher on a two-node problem before anything is timed: it builds the command
     * line if sources changed and writes its class data archive, both of which happen once and would
     * otherwise land in the first measured row.
     */
    private static void warmUpLauncher(Path dir, String javaOpts) throws IOException, InterruptedException {
        Path tiny = dir.resolve("example-two-nodes.json");
        Files.writeString(tiny, """
                {"format": "shardplan-problem/1", "name": "example-two-nodes",
                 "nodes": [{"name": "Conv_0", "costs": [40590950000.0, 723063500000.0]},
                           {"name": "Relu_1", "costs": [2.0e8, 1.0e8, 5.0e7]}],
                 "edges": [{"from": 0, "to": 1, "costs": [[0.0, 1.2e11, null], [6.1e10, 0.0, 3.0e10]]}]}
                """);
        ProcessBuilder pb = new ProcessBuilder("./shardplan", "solve", tiny.toString(), "--json");
        if (!javaOpts.isEmpty()) {
            pb.environment().put("SHARDPLAN_JAVA_OPTS", javaOpts);
        }
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        proc.getInputStream().readAllBytes();
        System.err.println("launcher warm-up: exit code " + proc.waitFor());
    }

    private static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : "";
    }

    private static double parseWall(String s) {
        if (s.isEmpty()) {
            return Double.NaN;
        }
        String[] parts = s.split(":");
        double sec = 0;
        for (String part : parts) {
            sec = sec * 60 + Double.parseDouble(part);
        }
        return sec;
    }

    private static void write(List<Row> rows, boolean cli, String javaOpts) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("# Strategy solver benchmark\n\n");
        b.append("Machine: ").append(machine()).append("  \n");
        b.append("Date: ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE_TIME))
                .append(" UTC  \n");
        b.append("Command: `mvn -B -q -pl benchmarks -am package -DskipTests && java -cp "
                + "\"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.solver.SolverBenchmark" + (ARGS.isEmpty() ? "" : " " + ARGS) + "`").append("  \n");
        b.append(String.format(Locale.ROOT, "Load average (1 minute, 2 cores): %.1f at the start, %.1f when this was written  %n",
                LOAD_AT_START, java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        b.append("Problems: `PaseShapedProblems` (InceptionV3-like at batch 128, encoder-decoder Transformer-like "
                + "with 6+6 layers at batch 64), devices p and at most `cap` strategies per node; written to "
                + "`benchmarks/target/solver-problems/`.\n\n");
        b.append("In process: `DpSolver` (`AutoSolver` for the `-mem90` rows, which have a binding memory limit), "
                + "first solve in a fresh JVM (JIT cold) and best of 3 further solves (skipped when the first "
                + "took over 20 s); time limit " + TIME_LIMIT + " s. CLI: `/usr/bin/time -v ./shardplan solve FILE --json "
                + "--time-limit " + TIME_LIMIT + "` (solver auto)"
                + (javaOpts.isEmpty() ? " with the launcher's default heap for solve" : " with `SHARDPLAN_JAVA_OPTS=" + javaOpts + "`")
                + "; its wall time includes JVM start and reading the gzip JSON file; RSS is the peak resident set; "
                + "CLI start (launcher, JVM start and picocli) and CLI read (gunzip and parse) come from the timing line "
                + "that `--verbose` prints (breakdown over several runs: `solver-cli.md`, `SolverCliBenchmark`). "
                + "The machine is shared with other builds while this runs, so wall times carry noise.\n\n");
        b.append("| problem | nodes | edges | max strategies | edge entries | file (MB, gz) | status | first solve (s) "
                + "| warm solve (s) | warm solve CPU, process (s) | CLI status | CLI wall (s) | CLI CPU user+sys (s) "
                + "| CLI peak RSS (MB) | CLI start (s) | CLI read (s) | CLI solve (s) |\n");
        b.append("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %.1f | %s | %.3f | %.3f | %.3f | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.name(), r.nodes(), r.edges(), r.maxStrategies(), r.entries(), r.fileBytes() / 1e6, r.status(),
                    r.firstSeconds(), r.warmSeconds(), r.warmCpu(), cli ? r.cliStatus() : "-",
                    cli ? String.format(Locale.ROOT, "%.2f", r.cliWall()) : "-",
                    cli ? String.format(Locale.ROOT, "%.2f", r.cliCpu()) : "-",
                    cli ? Long.toString(r.cliRssKb() / 1024) : "-",
                    cli ? String.format(Locale.ROOT, "%.2f", r.cliStart()) : "-",
                    cli ? String.format(Locale.ROOT, "%.2f", r.cliRead()) : "-",
                    cli ? String.format(Locale.ROOT, "%.3f", r.cliSolve()) : "-"));
        }
        b.append("\nWhat the dynamic program did on each problem:\n\n");
        for (Row r : rows) {
            b.append("- ").append(r.name()).append(": ").append(r.details()).append('\n');
        }
        if (!BACKEND_ROWS.isEmpty()) {
            b.append("\n## ILP backends\n\n`IlpSolver` alone with each OR-Tools MPSolver backend on the shared "
                    + "examples (`examples/problems`), 60 s limit, one thread (option `--backends`):\n\n");
            b.append("| problem | backend | status | seconds | objective | lower bound |\n|---|---|---|---:|---:|---:|\n");
            for (String[] r : BACKEND_ROWS) {
                b.append("| ").append(String.join(" | ", r)).append(" |\n");
            }
        }
        Path out = OUT[0].toAbsolutePath();
        Files.createDirectories(out.getParent());
        Files.writeString(out, b.toString());
    }

    static String machine() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        String cpu = "";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException e) {
            cpu = System.getProperty("os.arch");
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, "
                + (((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                        .getTotalMemorySize() >> 30) + " GiB, Java " + System.getProperty("java.version") + " (" + host + ")";
    }
}
