package org.shardplan.bench.fuzz;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.shardplan.cli.Main;

/**
 * Runs mutants of real ONNX models ({@link Mutator}) through the command line's entry point
 * ({@link Main#run}) in this process, one at a time, and classifies each run: exit code 0, 2 or 3 is
 * handled; exit code 1, a stack trace on stdout or stderr (no {@code --verbose} is given), a throwable
 * escaping the command line, or a run over {@link #LIMIT_SECONDS} is a failure. Every mutant is
 * inspected; a share of those from plannable seeds is also planned (8 devices, batch 8, 5 s solver
 * limit). Prints a results table, and writes it to {@code --out FILE} where given (the results kept in
 * {@code benchmarks/results/fuzz.md} gather several runs: a run is added to them by hand, not written over them).
 *
 * <p>Usage: {@code FuzzHarness [--count N] [--seed S] [--plan-share F] [--models DIR] [--out FILE]}.
 * Seeds are the bundled models and, with {@code --models}, the {@code .onnx} files of that folder up
 * to 4 MB. Running time: the mutants' inspections (milliseconds each) plus their plans (about a
 * second each).
 */
public final class FuzzHarness {

    /** A run longer than this is a failure. */
    static final double LIMIT_SECONDS = 10;

    /** A model mutants are made from; {@code plannable}: small enough to plan in about a second. */
    record Seed(String name, byte[] bytes, boolean plannable) {
    }

    /** One run of one mutant. */
    record Outcome(int index, String kind, String detail, String seed, String command, int exit, String verdict,
            String message, double seconds) {
        boolean failed() {
            return !verdict.equals("ok");
        }
    }

    private FuzzHarness() {
    }

    /** The two bundled models, read from the command line's resources. */
    static List<Seed> bundledSeeds() throws IOException {
        List<Seed> r = new ArrayList<>();
        for (String name : new String[] {"cnn", "transformer"}) {
            try (InputStream in = Main.class.getResourceAsStream("/models/" + name + ".onnx")) {
                if (in == null) {
                    throw new IOException("the bundled model " + name + " is missing from the class path");
                }
                r.add(new Seed("builtin:" + name, in.readAllBytes(), true));
            }
        }
        return r;
    }

    /** The .onnx files of a folder up to 4 MB, by name (plannable up to 256 KB). */
    static List<Seed> folderSeeds(Path dir) throws IOException {
        List<Seed> r = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return r;
        }
        try (var s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                long size = Files.size(p);
                if (p.toString().endsWith(".onnx") && size <= 4 << 20) {
                    r.add(new Seed(p.getFileName().toString(), Files.readAllBytes(p), size <= 256 << 10));
                }
            }
        }
        return r;
    }

    /**
     * Makes and runs {@code count} mutants, seeded; {@code each} sees every outcome as it comes.
     *
     * @param work a folder for the mutant files
     */
    static List<Outcome> run(List<Seed> seeds, int count, long seed, double planShare, Path work,
            java.util.function.Consumer<Outcome> each) throws IOException {
        Mutator mutator = new Mutator(seed);
        Random pickSeed = new Random(seed * 31 + 7);
        List<Outcome> all = new ArrayList<>();
        ExecutorService[] exec = {newExecutor()};
        Path file = work.resolve("mutant.onnx");
        try {
            for (int i = 0; i < count; i++) {
                Seed s = seeds.get(pickSeed.nextInt(seeds.size()));
                Mutator.Mutant m = mutator.mutate(s.bytes());
                Files.write(file, m.bytes());
                boolean plan = s.plannable() && pickSeed.nextDouble() < planShare;
                String[] inspect = {"inspect", file.toString(), "--dim", "batch=8", "--dim", "seq=32"};
                Outcome o = once(exec, i, m, s, inspect);
                all.add(o);
                each.accept(o);
                if (plan && o.exit() == 0) {
                    String[] planArgs = {"plan", file.toString(), "--batch", "8", "--dim", "seq=32", "--devices", "8",
                        "--time-limit", "5"};
                    Outcome p = once(exec, i, m, s, planArgs);
                    all.add(p);
                    each.accept(p);
                }
            }
        } finally {
            exec[0].shutdownNow();
        }
        return all;
    }

    private static ExecutorService newExecutor() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(null, r, "fuzz-run", 0);
            t.setDaemon(true);
            return t;
        });
    }

    private static Outcome once(ExecutorService[] exec, int index, Mutator.Mutant m, Seed s, String[] args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        long t0 = System.nanoTime();
        Future<Integer> f = exec[0].submit(() -> Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true)));
        int exit;
        String verdict;
        String message;
        try {
            exit = f.get((long) (LIMIT_SECONDS * 1000), TimeUnit.MILLISECONDS);
            String e = err.toString();
            String o = out.toString();
            if (e.contains("\tat ") || o.contains("\tat ") || e.contains("Exception in thread")) {
                verdict = "stack trace";
            } else if (exit == 0 || exit == 2 || exit == 3) {
                verdict = "ok";
            } else {
                verdict = "exit " + exit;
            }
            message = firstLine(e.isBlank() ? "" : e);
        } catch (TimeoutException e) {
            f.cancel(true);
            exec[0].shutdownNow();
            exec[0] = newExecutor(); // the stuck run keeps its daemon thread; the next runs get a new one
            exit = -1;
            verdict = "over " + (int) LIMIT_SECONDS + " s";
            message = "";
        } catch (java.util.concurrent.ExecutionException e) {
            exit = -1;
            verdict = "throwable";
            message = String.valueOf(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exit = -1;
            verdict = "interrupted";
            message = "";
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (verdict.equals("ok") && seconds > LIMIT_SECONDS) {
            verdict = "over " + (int) LIMIT_SECONDS + " s";
        }
        return new Outcome(index, m.kind(), m.detail(), s.name(), args[0], exit, verdict, message, seconds);
    }

    private static String firstLine(String s) {
        String l = s.strip().lines().findFirst().orElse("");
        return l.length() > 200 ? l.substring(0, 200) + "…" : l;
    }

    /** The results table: outcomes per mutation kind, then the failures. */
    static String table(List<Outcome> all, List<Seed> seeds, int count, long seed, double planShare, double wallSeconds) {
        Map<String, int[]> byKind = new LinkedHashMap<>();
        for (String k : Mutator.KINDS) {
            byKind.put(k, new int[6]);
        }
        int[] total = new int[6];
        List<Outcome> failures = new ArrayList<>();
        double slowest = 0;
        for (Outcome o : all) {
            int[] row = byKind.computeIfAbsent(o.kind(), k -> new int[6]);
            int col = o.failed() ? 4 : o.exit() == 0 ? 1 : o.exit() == 2 ? 2 : 3;
            for (int[] r : new int[][] {row, total}) {
                r[0]++;
                r[col]++;
                if (o.command().equals("plan")) {
                    r[5]++;
                }
            }
            if (o.failed()) {
                failures.add(o);
            }
            slowest = Math.max(slowest, o.seconds());
        }
        StringBuilder b = new StringBuilder();
        b.append("# Fuzzing the command line with mutated models\n\n");
        b.append(String.format(Locale.ROOT, "%d mutants (seed %d) of %d models (%s), each inspected; %.0f%% of those from "
                + "the plannable seeds that inspect accepts also planned (8 devices, batch 8, `--time-limit 5`). "
                + "Runs in-process through `Main.run`, one at a time. A run fails when it exits with 1, prints a stack "
                + "trace (no `--verbose` is given), lets a throwable escape, or takes over %.0f s. "
                + "Made by `org.shardplan.bench.fuzz.FuzzHarness`; wall time %.0f s, slowest run %.2f s.%n%n",
                count, seed, seeds.size(), String.join(", ", seeds.stream().map(Seed::name).toList()), 100 * planShare,
                LIMIT_SECONDS, wallSeconds, slowest));
        b.append("| mutation | runs | exit 0 | exit 2 | exit 3 | failures | of them plans |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, int[]> e : byKind.entrySet()) {
            int[] r = e.getValue();
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %d |%n", e.getKey(), r[0], r[1], r[2], r[3],
                    r[4], r[5]));
        }
        b.append(String.format(Locale.ROOT, "| **all** | %d | %d | %d | %d | **%d** | %d |%n%n", total[0], total[1], total[2],
                total[3], total[4], total[5]));
        if (failures.isEmpty()) {
            b.append("No failures.\n");
        } else {
            b.append("## Failures (first 50)\n\n| # | mutation | seed | command | verdict | message |\n|---|---|---|---|---|---|\n");
            for (Outcome o : failures.subList(0, Math.min(50, failures.size()))) {
                b.append(String.format(Locale.ROOT, "| %d | %s: %s | %s | %s | %s | %s |%n", o.index(), o.kind(),
                        o.detail().replace("|", "/"), o.seed(), o.command(), o.verdict(), o.message().replace("|", "/")));
            }
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        int count = 10_000;
        long seed = 1;
        double planShare = 0.2;
        Path models = null;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--count" -> count = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--plan-share" -> planShare = Double.parseDouble(args[++i]);
                case "--models" -> models = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<Seed> seeds = new ArrayList<>(bundledSeeds());
        seeds.addAll(folderSeeds(models));
        Path work = Files.createTempDirectory("shardplan-fuzz");
        long t0 = System.nanoTime();
        int[] done = {0, 0};
        int n = count;
        List<Outcome> all = run(seeds, count, seed, planShare, work, o -> {
            done[0]++;
            if (o.failed()) {
                done[1]++;
                System.err.println("FAIL " + o);
            }
            if (done[0] % 500 == 0) {
                System.err.printf(Locale.ROOT, "%d runs (mutant %d of %d), %d failures, %.0f s%n", done[0], o.index() + 1, n,
                        done[1], (System.nanoTime() - t0) / 1e9);
            }
        });
        String table = table(all, seeds, count, seed, planShare, (System.nanoTime() - t0) / 1e9);
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, table);
        }
        System.out.print(table);
    }
}
