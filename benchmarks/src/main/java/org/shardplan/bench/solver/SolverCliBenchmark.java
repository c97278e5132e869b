package org.shardplan.bench.solver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.solver.ProblemIo;

/**
 * Where the wall time of {@code ./shardplan solve FILE --json} goes, end to end: runs the launcher
 * several times per PaSE-shaped problem ({@link PaseShapedProblems}, the files of
 * {@link SolverBenchmark}) under {@code /usr/bin/time -v} with {@code --verbose}, whose timing line
 * splits the run into launcher script, JVM start to main, command line (picocli), reading the file,
 * solving and output; {@code /usr/bin/time} gives the wall time, CPU time and peak resident memory
 * from outside. Writes {@code benchmarks/results/solver-cli.md} with the median of the runs, the
 * machine, date, command and the load average at each run (the machine may be shared).
 *
 * <p>Usage, from the repository root: {@code java -cp "benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*"
 * org.shardplan.bench.solver.SolverCliBenchmark [--runs N] [--levels N] [--only NAME]... [--time-limit S]
 * [--variant "LABEL|LAUNCHER|ENV=VALUE ..."]... [--out FILE]}. Without {@code --variant} the one variant is
 * this checkout's {@code ./shardplan} with its defaults. Several variants are run interleaved (one run of
 * each in turn), so that a change of load hits them alike. The first row is the two-node example of
 * {@code docs/problem-format.md}: the fixed cost of a run.
 */
public final class SolverCliBenchmark {

    private SolverCliBenchmark() {
    }

    /** One way of running the command line: a label, the launcher, extra environment. */
    record Variant(String label, String launcher, Map<String, String> env) {
        static Variant parse(String spec) {
            String[] parts = spec.split("\\|", -1);
            if (parts.length < 2 || parts.length > 3) {
                throw new IllegalArgumentException("--variant must be LABEL|LAUNCHER|ENV=VALUE ..., found " + spec);
            }
            Map<String, String> env = new LinkedHashMap<>();
            if (parts.length == 3) {
                for (String kv : parts[2].trim().split("\\s+")) {
                    if (kv.isEmpty()) {
                        continue;
                    }
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("--variant environment must be NAME=VALUE, found " + kv);
                    }
                    env.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            return new Variant(parts[0], parts[1], env);
        }

        String describe() {
            StringBuilder b = new StringBuilder("`");
            env.forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
            return b.append(launcher).append(" solve FILE --json --verbose`").toString();
        }
    }

    /** One run: the phases from the {@code --verbose} line (NaN where absent) and the outside view. */
    record Run(String status, double launcher, double jvm, double commandLine, double read, double solve, double output,
            double wall, double cpu, long rssKb, double load) {
    }

    private static final Pattern TIMING = Pattern.compile("shardplan: timing: launcher ([0-9.]+ s|n/a), JVM start to main "
            + "([0-9.]+ s|n/a), command line ([0-9.]+) s, read ([0-9.]+) s, solve ([0-9.]+) s, output ([0-9.]+) s");

    public static void main(String[] args) throws Exception {
        int runs = 3;
        int levels = SolverBenchmark.LEVELS.length;
        double timeLimit = SolverBenchmark.TIME_LIMIT;
        List<String> only = new ArrayList<>();
        List<Variant> variants = new ArrayList<>();
        Path out = Path.of("benchmarks/results/solver-cli.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--levels" -> levels = Integer.parseInt(args[++i]);
                case "--only" -> only.add(args[++i]);
                case "--time-limit" -> timeLimit = Double.parseDouble(args[++i]);
                case "--variant" -> variants.add(Variant.parse(args[++i]));
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (variants.isEmpty()) {
            variants.add(new Variant("this checkout", "./shardplan", Map.of()));
        }
        Path dir = Path.of("benchmarks/target/solver-problems");
        Files.createDirectories(dir);
        List<Path> files = new ArrayList<>();
        Path tiny = dir.resolve("example-two-nodes.json");
        Files.writeString(tiny, """
                {"format": "shardplan-problem/1", "name": "example-two-nodes",
                 "nodes": [{"name": "Conv_0", "costs": [40590950000.0, 723063500000.0]},
                           {"name": "Relu_1", "costs": [2.0e8, 1.0e8, 5.0e7]}],
                 "edges": [{"from": 0, "to": 1, "costs": [[0.0, 1.2e11, null], [6.1e10, 0.0, 3.0e10]]}]}
                """);
        files.add(tiny);
        for (int l = 0; l < levels; l++) {
            for (int model = 0; model < 2; model++) {
                int devices = SolverBenchmark.LEVELS[l][0];
                int cap = SolverBenchmark.LEVELS[l][1];
                String name = model == 0 ? "inception3-like-b128-p" + devices + "-c" + cap : "transformer-like-b64-p" + devices + "-c" + cap;
                if (!only.isEmpty() && !only.contains(name)) {
                    continue;
                }
                Path file = dir.resolve(name + ".json.gz");
                if (!Files.exists(file)) {
                    Problem p = model == 0 ? PaseShapedProblems.inception(devices, cap, 128)
                            : PaseShapedProblems.transformer(devices, cap, 64, 6);
                    ProblemIo.writeProblem(p, file);
                }
                files.add(file);
            }
        }
        // one run per variant first: the launcher builds if sources changed and makes its class data archive
        for (Variant v : variants) {
            Run warm = run(v, tiny, timeLimit);
            System.err.println("warm-up " + v.label() + ": " + warm);
        }
        Map<String, List<List<Run>>> table = new LinkedHashMap<>();
        for (Path f : files) {
            List<List<Run>> perVariant = new ArrayList<>();
            for (int k = 0; k < variants.size(); k++) {
                perVariant.add(new ArrayList<>());
            }
            for (int r = 0; r < runs; r++) {
                for (int k = 0; k < variants.size(); k++) {
                    Run one = run(variants.get(k), f, timeLimit);
                    System.err.println(f.getFileName() + " " + variants.get(k).label() + ": " + one);
                    perVariant.get(k).add(one);
                }
            }
            table.put(f.getFileName().toString().replaceAll("\\.json(\\.gz)?$", "") + "|" + Files.size(f), perVariant);
            write(out, table, variants, runs, timeLimit, args);
        }
        write(out, table, variants, runs, timeLimit, args);
    }

    private static Run run(Variant v, Path file, double timeLimit) throws IOException, InterruptedException {
        double load = loadAverage();
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/time", "-v", v.launcher(), "solve", file.toString(), "--json",
                "--verbose", "--time-limit", String.format(Locale.ROOT, "%s", timeLimit));
        pb.environment().putAll(v.env());
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String text = new String(proc.getInputStream().readAllBytes());
        proc.waitFor();
        Matcher m = TIMING.matcher(text);
        boolean timed = m.find();
        String user = find(text, "User time \\(seconds\\): ([0-9.]+)");
        String sys = find(text, "System time \\(seconds\\): ([0-9.]+)");
        String rss = find(text, "Maximum resident set size \\(kbytes\\): (\\d+)");
        String status = find(text, "\"status\" : \"(\\w+)\"");
        if (!timed || status.isEmpty()) {
            System.err.println("no timing or status in the output of " + v.launcher() + " solve " + file + ":\n" + text);
        }
        return new Run(status.isEmpty() ? "failed" : status, timed ? seconds(m.group(1)) : Double.NaN,
                timed ? seconds(m.group(2)) : Double.NaN, timed ? Double.parseDouble(m.group(3)) : Double.NaN,
                timed ? Double.parseDouble(m.group(4)) : Double.NaN, timed ? Double.parseDouble(m.group(5)) : Double.NaN,
                timed ? Double.parseDouble(m.group(6)) : Double.NaN,
                wall(find(text, "Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\): ([0-9:.]+)")),
                user.isEmpty() || sys.isEmpty() ? Double.NaN : Double.parseDouble(user) + Double.parseDouble(sys),
                rss.isEmpty() ? -1 : Long.parseLong(rss), load);
    }

    private static double seconds(String s) {
        return s.equals("n/a") ? Double.NaN : Double.parseDouble(s.replace(" s", ""));
    }

    private static double wall(String s) {
        if (s.isEmpty()) {
            return Double.NaN;
        }
        double sec = 0;
        for (String part : s.split(":")) {
            sec = sec * 60 + Double.parseDouble(part);
        }
        return sec;
    }

    private static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : "";
    }

    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    static double median(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
        double[] v = runs.stream().mapToDouble(f).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String f2(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static void write(Path out, Map<String, List<List<Run>>> table, List<Variant> variants, int runs, double timeLimit,
            String[] args) throws IOException {
        StringBuilder b = new StringBuilder("# `shardplan solve` end to end\n\n");
        b.append("Machine: ").append(SolverBenchmark.machine()).append("  \n");
        b.append("Date: ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE_TIME))
                .append(" UTC  \n");
        b.append("Command: `mvn -B -q -pl benchmarks -am package -DskipTests && java -cp "
                + "\"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.solver.SolverCliBenchmark");
        for (String a : args) {
            b.append(' ').append(a.contains(" ") || a.contains("|") ? "'" + a + "'" : a);
        }
        b.append("`  \n");
        b.append("Runs: ").append(runs).append(" per problem and variant, interleaved; medians shown; time limit ")
                .append(timeLimit).append(" s. Each run: `/usr/bin/time -v` around the variant's command:\n\n");
        for (Variant v : variants) {
            b.append("- ").append(v.label()).append(": ").append(v.describe()).append('\n');
        }
        b.append("""

                Columns: wall, CPU (user + system, all threads) and peak RSS from `/usr/bin/time`; the phases from the \
                line `--verbose` prints: launcher script (until it `exec`s java), JVM start to the command line's main \
                class, command line (picocli set-up and parsing), read (gunzip and parse the problem), solve (the \
                solver's own time, as in the solution's `seconds`), output (writing the solution JSON). Load: the \
                1-minute load average of the machine when the runs started (min-max over the runs); the machine has \
                2 cores, so a load above 2 means the runs shared them with other work and wall times are inflated.

                """);
        b.append("| problem | file (MB) | variant | status | wall (s) | launcher | JVM to main | command line | read | solve "
                + "| output | CPU (s) | peak RSS (MB) | load |\n");
        b.append("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Map.Entry<String, List<List<Run>>> e : table.entrySet()) {
            String[] key = e.getKey().split("\\|");
            for (int k = 0; k < variants.size(); k++) {
                List<Run> rs = e.getValue().get(k);
                String status = String.join("/", rs.stream().map(Run::status).distinct().toList());
                double loMin = rs.stream().mapToDouble(Run::load).min().orElse(Double.NaN);
                double loMax = rs.stream().mapToDouble(Run::load).max().orElse(Double.NaN);
                b.append(String.format(Locale.ROOT, "| %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %.1f-%.1f |%n",
                        key[0], Long.parseLong(key[1]) / 1e6, variants.get(k).label(), status, f2(median(rs, Run::wall)),
                        f2(median(rs, Run::launcher)), f2(median(rs, Run::jvm)), f2(median(rs, Run::commandLine)),
                        f2(median(rs, Run::read)), f2(median(rs, Run::solve)), f2(median(rs, Run::output)),
                        f2(median(rs, Run::cpu)), median(rs, r -> r.rssKb() / 1024.0), loMin, loMax));
            }
        }
        Path p = out.toAbsolutePath();
        Files.createDirectories(p.getParent());
        String text = b.toString();
        // keep a hand-written section below the table (after a line "## Notes") when the file is rewritten
        if (Files.exists(p)) {
            String old = Files.readString(p);
            int notes = old.indexOf("\n## Notes");
            if (notes >= 0) {
                text = text + old.substring(notes);
            }
        }
        Files.writeString(p, text);
        System.err.println("wrote " + p);
    }
}
