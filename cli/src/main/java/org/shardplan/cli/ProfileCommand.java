package org.shardplan.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.MachineFingerprint;
import org.shardplan.cost.cluster.DeviceProfiles;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.profile.LocalCpu;
import org.shardplan.cost.profile.OptimizedGraph;
import org.shardplan.cost.profile.Ort;
import org.shardplan.cost.profile.ProfileReport;
import org.shardplan.cost.profile.Profiler;
import org.shardplan.cost.profile.QuietGate;
import org.shardplan.cost.profile.Timing;
import org.shardplan.graph.ShardplanException;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.OnnxImporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan profile MODEL [--dim ..] [--input-shape ..] [--threads N] [--json]}: measures
 * every distinct operator of a model and the whole model with ONNX Runtime on this CPU, stores
 * the measurements in the calibration file of this machine, and compares the cost model's
 * held-out predictions with them.
 */
@Command(name = "profile", mixinStandardHelpOptions = true,
        header = "Measures a model's operators with ONNX Runtime on this CPU and calibrates the cost model.",
        description = "Measures a model's operators and the whole model with ONNX Runtime on this CPU, records them"
                + " in this machine's calibration file, and compares the cost model's predictions with the measurements"
                + " (each node predicted from the calibration of other shapes, its own measurement held out).")
public final class ProfileCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MODEL", description = "The ONNX model file.")
    Path model;

    @Mixin
    DimsOptions bindings;

    @Mixin
    BatchOption batch;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "ONNX Runtime intra-op threads (default ${DEFAULT-VALUE}: timed by the thread's CPU time, steady on a"
                    + " busy machine; 0: one per core, and any other count, timed by the wall clock).")
    int threads;

    @Option(names = "--optimization", paramLabel = "none|basic|extended|all", defaultValue = "none",
            description = "ONNX Runtime graph optimization level (default ${DEFAULT-VALUE}: operators as in the file). Above"
                    + " none, ONNX Runtime writes the graph it runs at that level (fusions, folded BatchNormalization, at"
                    + " 'all' the blocked NCHWc layout); that graph is profiled node by node, the whole model runs at the"
                    + " level, and the report lists which nodes were fused into what.")
    String optimization;

    @Option(names = "--whole-statistic", paramLabel = "median|min", defaultValue = "median",
            description = "How the whole model's runs are summarised (default ${DEFAULT-VALUE}: the quietest round's median;"
                    + " min: the fastest of all runs, which load cannot make faster).")
    String wholeStatistic;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "7", description = "Least timed runs per measurement (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--min-time", paramLabel = "SECONDS", defaultValue = "0.1",
            description = "Keep repeating (up to 2000 runs) until this much was timed (default ${DEFAULT-VALUE}).")
    double minTime;

    @Option(names = "--statistic", paramLabel = "low|median|min", defaultValue = "low",
            description = "How repeated runs are summarised (default ${DEFAULT-VALUE}: the 10th percentile of all runs of"
                    + " the rounds, which load on a shared machine moves least; median: the quietest round's median; min:"
                    + " the fastest run). Measurements with different statistics are kept in different calibration files.")
    String statistic;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "3",
            description = "Rounds each measurement is taken in; rounds that disagree by more than 10%% get as many again,"
                    + " and with low or min a node whose rounds still disagree by more than 25%% is measured once more"
                    + " after the others, the one whose rounds agreed better kept (default ${DEFAULT-VALUE}; 1: a single timing).")
    int rounds;

    @Option(names = "--calibration", paramLabel = "FILE",
            description = "Calibration file to read and extend (default: this machine's file under ~/.cache/shardplan/calibration).")
    Path calibration;

    @Option(names = "--sweep",
            description = "Also measure every distinct operator at neighbouring sizes (one axis halved and doubled),"
                    + " each recorded under its own signature, so that held-out predictions interpolate between"
                    + " other shapes of the operator's size family (about three times the measurements).")
    boolean sweep;

    @Option(names = "--no-whole-model", description = "Do not time the whole model.")
    boolean noWholeModel;

    @Option(names = "--quiet", paramLabel = "THRESHOLD,MAXWAIT,BUDGET",
            description = "Before each measurement, wait while other processes keep more than THRESHOLD processors"
                    + " busy: at most MAXWAIT seconds each time and BUDGET seconds in all (for example 0.3,15,600;"
                    + " off by default). For shared machines, where other work skews the timings.")
    String quiet;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (threads < 0) {
            throw new ShardplanException("--threads must be >= 0, found " + threads);
        }
        if (repeats < 1) {
            throw new ShardplanException("--repeats must be at least 1, found " + repeats);
        }
        if (rounds < 1) {
            throw new ShardplanException("--rounds must be at least 1, found " + rounds);
        }
        if (!(minTime >= 0) || Double.isInfinite(minTime)) {
            throw new ShardplanException("--min-time must be a number of seconds >= 0, found " + minTime);
        }
        if (!List.of("none", "basic", "extended", "all").contains(optimization)) {
            throw new ShardplanException("--optimization must be none, basic, extended or all, found \"" + optimization + "\"");
        }
        if (!List.of("median", "min").contains(wholeStatistic)) {
            throw new ShardplanException("--whole-statistic must be median or min, found \"" + wholeStatistic + "\"");
        }
        Timing.Statistic stat = Timing.Statistic.named(statistic).orElseThrow(() -> new ShardplanException(
                "--statistic must be low, median or min, found \"" + statistic + "\""));
        QuietGate gate = quiet == null ? QuietGate.off() : quietGate(quiet);
        ImportOptions shapes = ImportOptions.DEFAULT.withInputShapes(bindings.inputShapes())
                .withParamsAsInputs(bindings.paramsAsInputs());
        PlanModel.BatchBound bound = PlanModel.bindBatch(Map.of(), batch.given(), bindings.dims(),
                dims -> OnnxImporter.read(model, shapes.withDims(dims)));
        ImportOptions io = shapes.withDims(bound.dims());
        ImportedModel m = bound.model();
        DeviceSpec cpu = DeviceProfiles.get(DeviceProfiles.CPU_LOCAL);
        // one-node models always run without graph optimization (the optimized graph's nodes are what
        // ONNX Runtime runs), so every level shares the calibration of level none
        MachineFingerprint fp = MachineFingerprint.localCpu(threads, Ort.version() + " opt=none" + stat.tag() + org.shardplan.cost.profile.Feeds.TAG);
        Path calFile = calibration != null ? calibration : CalibrationFile.defaultPath(LocalCpu.cacheDirectory(), fp);
        CalibrationFile cal = CalibrationFile.readOrEmpty(calFile, fp);
        if (!cal.fingerprint().id().equals(fp.id())) {
            throw new ShardplanException(calFile + ": fingerprint must be this machine's " + fp.id()
                    + " (" + fp.processor() + ", " + fp.threads() + " threads, " + fp.runtime() + "), found "
                    + cal.fingerprint().id() + " (" + cal.fingerprint().processor() + ", " + cal.fingerprint().threads()
                    + " threads, " + cal.fingerprint().runtime() + ")");
        }
        Profiler.Options opts = new Profiler.Options(threads, new Timing(3, repeats, Math.max(repeats, 2000), minTime)
                .withStatistic(stat),
                optimization, !noWholeModel, rounds, 0.1, sweep)
                .withWholeStatistic("min".equals(wholeStatistic) ? Timing.Statistic.MIN : Timing.Statistic.MEDIAN);
        String name = model.getFileName().toString();
        ProfileReport r;
        if ("none".equals(optimization)) {
            r = new Profiler(cpu, opts, gate).profile(name, m.graph(), model, m.info().opsetImports(), cal,
                    ProfileProgress.onConsole());
        } else {
            Path optFile = OptimizedGraph.write(model, optimization, threads,
                    LocalCpu.cacheDirectory().resolve("optimized").resolve(optimizedName(model, optimization)));
            ImportedModel om = OnnxImporter.read(optFile, io);
            OptimizedGraph.Accounting acc = OptimizedGraph.account(optimization, optFile, m.graph(), om.graph());
            r = new Profiler(cpu, opts, gate).profile(name, om.graph(), model, om.info().opsetImports(), cal,
                    ProfileProgress.onConsole()).withOptimization(acc);
        }
        try {
            cal.write(calFile);
        } catch (IOException e) {
            throw new ShardplanException(calFile + ": cannot write the calibration file: " + e.getMessage(), e);
        }
        PrintWriter w = spec.commandLine().getOut();
        w.print(json ? r.toJson() + System.lineSeparator() : table(r, calFile));
        w.flush();
        return 0;
    }

    /** The file name of a model's optimized graph in the cache: its name, a hash of its path, the level. */
    static String optimizedName(Path model, String level) {
        String stem = model.getFileName().toString().replaceFirst("\\.onnx$", "");
        return String.format(Locale.ROOT, "%s-%08x.%s.onnx", stem, model.toAbsolutePath().normalize().toString().hashCode(),
                level);
    }

    /** The human report: one line per node, then the totals. */
    static String table(ProfileReport r, Path calFile) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "model %s on %s (calibration %s)%n", r.model(), r.device(), calFile));
        int w = 4;
        for (ProfileReport.NodeResult n : r.nodes()) {
            w = Math.max(w, Math.min(48, n.name().length()));
        }
        String fmt = "%-" + w + "s  %-22s %12s %12s %8s  %s%n";
        b.append(String.format(Locale.ROOT, fmt, "node", "op", "predicted", "measured", "error", "from"));
        for (ProfileReport.NodeResult n : r.nodes()) {
            if ("folded".equals(n.source())) {
                continue;
            }
            String name = n.name().length() > w ? n.name().substring(0, w - 3) + "..." : n.name();
            b.append(String.format(Locale.ROOT, fmt, name, n.op(), ms(n.predictedSeconds()),
                    n.measuredSeconds().isPresent() ? ms(n.measuredSeconds().getAsDouble()) : "-",
                    n.absRelError().isPresent() ? pct(n.absRelError().getAsDouble()) : "-",
                    n.flag().isEmpty() ? n.source() + (n.cached() ? ", cached" : "") : "FLAGGED: " + n.flag()));
        }
        b.append(String.format(Locale.ROOT, "%nwhole model   predicted %s, measured %s%s%n", ms(r.predictedSeconds()),
                r.wholeModelMeasuredSeconds().isPresent() ? ms(r.wholeModelMeasuredSeconds().getAsDouble()) : "-",
                r.wholeModelRelError().isPresent() ? " (error " + pct(r.wholeModelRelError().getAsDouble()) + ")" : ""));
        b.append(String.format(Locale.ROOT, "per node      median error %s, 90th percentile %s, time-weighted %s%n",
                pct(r.medianAbsRelError()), pct(r.errorQuantile(0.9)), pct(r.weightedAbsRelError())));
        b.append(String.format(Locale.ROOT, "call overhead %s per ONNX Runtime run (subtracted from each operator, added once)%n",
                ms(r.callOverheadSeconds())));
        b.append(String.format(Locale.ROOT, "cold memory   %s: every weight and the activation arena read once from memory in a whole-model run (added once)%n",
                ms(r.coldWeightSeconds())));
        b.append(String.format(Locale.ROOT, "signatures    %d measured now, %d from the calibration file, %d nodes flagged%n",
                r.measuredSignatures(), r.reusedSignatures(), r.flaggedCount()));
        r.optimization().ifPresent(a -> b.append(optimizationText(a)));
        return b.toString();
    }

    /** What ONNX Runtime's graph optimizations did: counts, fusion patterns, every fused node. */
    static String optimizationText(OptimizedGraph.Accounting a) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "optimization  level %s: %d written nodes -> %d nodes ONNX Runtime runs (%s)%n",
                a.level(), a.writtenNodes(), a.optimizedNodes(), a.file()));
        b.append(String.format(Locale.ROOT, "              %d fused nodes, %d inserted (layout reorders), %d written nodes folded"
                + " into constants, %d removed, %d unaccounted%n", a.fusions().size(), a.inserted().size(),
                a.folded().size(), a.removed().size(), a.unaccounted().size()));
        for (var p : OptimizedGraph.patterns(a)) {
            b.append(String.format(Locale.ROOT, "  %4d x  %s%n", p.getValue(), p.getKey()));
        }
        b.append(String.format(Locale.ROOT, "%nfused nodes%n"));
        for (OptimizedGraph.Fused f : a.fusions()) {
            b.append(String.format(Locale.ROOT, "  %s (%s) <- ", f.node(), f.op()));
            for (int i = 0; i < f.from().size(); i++) {
                b.append(i == 0 ? "" : " + ").append(f.fromOps().get(i)).append(" '").append(f.from().get(i)).append('\'');
            }
            b.append(System.lineSeparator());
        }
        if (!a.unaccounted().isEmpty()) {
            b.append(String.format(Locale.ROOT, "unaccounted written nodes: %s%n", String.join(", ", a.unaccounted())));
        }
        return b.toString();
    }

    private static String ms(double s) {
        return String.format(Locale.ROOT, "%.4f ms", s * 1e3);
    }

    private static String pct(double e) {
        return Double.isFinite(e) ? String.format(Locale.ROOT, "%.1f%%", 100 * e) : "-";
    }

    /** The gate of {@code --quiet THRESHOLD,MAXWAIT,BUDGET}. */
    static QuietGate quietGate(String spec) throws ShardplanException {
        String[] parts = spec.split(",", -1);
        String why = "--quiet must be THRESHOLD,MAXWAIT,BUDGET (three numbers >= 0), found \"" + spec + "\"";
        if (parts.length != 3) {
            throw new ShardplanException(why);
        }
        double[] v = new double[3];
        for (int i = 0; i < 3; i++) {
            try {
                v[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new ShardplanException(why);
            }
            if (!(v[i] >= 0) || Double.isInfinite(v[i])) {
                throw new ShardplanException(why);
            }
        }
        return new QuietGate(v[0], v[1], v[2]);
    }
}
