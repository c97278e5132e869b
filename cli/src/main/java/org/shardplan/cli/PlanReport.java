package org.shardplan.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.shardplan.export.report.Folding;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.PlanTotals;

/** The human report of a plan: the per-node table, the totals, the baselines and the search. */
final class PlanReport {
    private PlanReport() {
    }

    static String text(Plan p, String modelDisplay) {
        return text(p, modelDisplay, false);
    }

    /**
     * The report: a summary first (degrees, micro-batches, schedule, step, memory, bubble, baselines,
     * search), then one row per pipeline stage, then the layers: one row per group of nodes that differ
     * only in the numbers of their names and share operator, strategy and cost, in any stage (the
     * layers of a repeated block, "x N", {@link Folding}), or every node with {@code allNodes}.
     */
    static String text(Plan p, String modelDisplay, boolean allNodes) {
        StringBuilder b = new StringBuilder();
        Plan.ClusterInfo c = p.cluster();
        Plan.Parallelism par = p.parallelism();
        PlanTotals t = p.totals();
        b.append(String.format(Locale.ROOT, "plan for %s on %s%s, batch %d%n", modelDisplay, c.devicesText(true), c.idleNote(),
                p.batch()));
        b.append(String.format(Locale.ROOT, "parallelism: data %d x tensor %d x pipeline %d%s; %d micro-batch%s of %d per"
                + " replica; schedule %s%s%n", par.data(), par.tensor(), par.pipeline(), par.copies() > 1 ? " x "
                + par.copies() + " copies (devices computing the same blocks, no collective between them)" : "",
                par.microBatches(),
                par.microBatches() == 1 ? "" : "es", par.microBatchSize(), p.schedule().name(),
                p.schedule().virtualStages() > 1 ? " (" + p.schedule().virtualStages() + " virtual stages)" : ""));
        if (!p.schedule().exact()) {
            int largest = p.schedule().staleness().stream().mapToInt(x -> x.largest()).max().orElse(0);
            b.append(String.format(Locale.ROOT, "asynchronous (not exact): %d micro-batches in flight, a local update every %d"
                    + " gradients, staleness up to %d updates (expected per stage %s)%n", p.schedule().maxActiveKeys(),
                    p.schedule().minUpdateFrequency(), largest, p.schedule().staleness().stream()
                            .map(x -> String.format(Locale.ROOT, "%.2f", x.expected())).toList()));
        }
        b.append(String.format(Locale.ROOT, "step %s ms, bubble %.1f%%, memory %s per device (limit %s, %s)%n",
                ms(t.stepSeconds()), 100 * p.schedule().bubbleFraction(), gib(t.peakMemoryBytesPerDevice()),
                gib(t.memoryLimitBytes()), t.fits() ? "fits" : "DOES NOT FIT"));
        b.append(String.format(Locale.ROOT, "options: optimizer %s, ZeRO stage %d, recomputation %s%s%n",
                p.options().optimizer(), p.options().zeroStage(), p.options().recompute() ? "on" : "off",
                requested(p)));
        if (!p.provenance().overlap().isEmpty()) {
            b.append("overlap: ").append(p.provenance().overlap()).append('\n');
        }
        if (!p.baselines().isEmpty()) {
            b.append("baselines (same cost model, one stage, one micro-batch):\n");
            for (Map.Entry<String, Plan.Baseline> e : p.baselines().entrySet()) {
                Plan.Baseline x = e.getValue();
                b.append(String.format(Locale.ROOT, "  %s step %s ms, memory %s, %s; plan is %.2fx faster%n", x.name(),
                        ms(x.stepSeconds()), gib(x.peakMemoryBytesPerDevice()), x.fits() ? "fits" : "does not fit",
                        x.stepSeconds() / t.stepSeconds()));
            }
        }
        Plan.SolverInfo s = p.solver();
        b.append(String.format(Locale.ROOT, "search: %s %s in %.2f s (%d configuration%s; %d nodes, %d edges, %d candidate"
                + " layouts)%n", s.name(), s.status(), s.seconds(), s.configurations(), s.configurations() == 1 ? "" : "s",
                s.problemNodes(), s.problemEdges(), s.strategies()));
        if (Double.isFinite(s.lowerBound())) {
            b.append(String.format(Locale.ROOT, "lower bound %s ms, over %s%n", ms(s.lowerBound()), s.boundScope()));
        } else {
            b.append("lower bound: none proven (").append(s.boundScope()).append(")\n");
        }
        if (p.stages().size() > 1) {
            b.append(String.format(Locale.ROOT, "%n%-5s %-11s %6s %11s %11s %11s %11s %9s %10s%n", "stage", "devices", "nodes",
                    "fwd ms/mb", "bwd ms/mb", "send ms/mb", "sync ms", "in flight", "memory"));
            for (Plan.Stage st : p.stages()) {
                b.append(String.format(Locale.ROOT, "%-5d %-11s %6d %11s %11s %11s %11s %9d %10s%n", st.index(),
                        st.firstDevice() + "-" + st.lastDevice(), st.nodes().size(), ms(st.forwardSeconds()),
                        ms(st.backwardSeconds()), ms(st.sendSeconds()), ms(st.gradientSyncSeconds()),
                        st.microBatchesInFlight(), gib(st.memoryBytesPerDevice())));
            }
        }
        List<Folding.Row> rows = Folding.rows(p.nodes(), allNodes);
        int w = 4;
        for (Folding.Row r : rows) {
            w = Math.max(w, Math.min(52, r.label().length()));
        }
        boolean staged = p.stages().size() > 1;
        String fmt = "%-" + w + "s  %-18s %-24s %7s" + (staged ? " %6s" : "%s") + " %11s %11s %11s%n";
        b.append('\n');
        b.append(String.format(Locale.ROOT, fmt, "node", "op", "strategy", "devices", staged ? "stage" : "", "compute ms",
                "comm ms", "memory MiB"));
        for (Folding.Row r : rows) {
            PlanNode n = r.first();
            String label = r.label().length() > w ? "…" + r.label().substring(r.label().length() - w + 1) : r.label();
            b.append(String.format(Locale.ROOT, fmt, label, n.op() + (n.supported() ? "" : "*"), strategy(n),
                    n.devices(), staged ? r.stages() : "", ms(n.computeSeconds()),
                    ms(n.communicationSeconds()), r.minMemoryBytes() == r.maxMemoryBytes() ? mib(n.memoryBytes())
                    : mib(r.minMemoryBytes()) + "-" + mib(r.maxMemoryBytes())));
        }
        if (!allNodes && rows.size() < p.nodes().size()) {
            b.append("(rows marked x N stand for N nodes alike, each with the times shown and memory in the range shown; --all-nodes lists them)\n");
        }
        b.append(String.format(Locale.ROOT, "%ntotal: step %s ms (busiest stage: compute %s ms, communication %s ms), memory"
                + " %s per device, %s communicated per device%n", ms(t.stepSeconds()), ms(t.computeSeconds()),
                ms(t.communicationSeconds()), gib(t.peakMemoryBytesPerDevice()), mb(t.communicationBytes())));
        p.parareal().ifPresent(x -> {
            for (Plan.PararealChain pc : x.chains()) {
                b.append(String.format(Locale.ROOT, "parareal (changes the model): %d segments of %s .. %s (%d blocks), %d"
                        + " device%s each, cut before %s; coarse network %,d parameters%n", pc.segments(), pc.first(),
                        pc.last(), pc.chainBlocks(), pc.devicesPerSegment(), pc.devicesPerSegment() == 1 ? "" : "s",
                        String.join(", ", pc.cuts()), pc.coarseParameters()));
            }
            b.append(String.format(Locale.ROOT, "parareal step %s ms, %.2fx the plan above%n", ms(x.stepSeconds()),
                    x.speedup()));
        });
        for (String x : p.warnings()) {
            b.append("warning: ").append(x).append('\n');
        }
        boolean any = false;
        for (PlanNode n : p.nodes()) {
            any |= !n.supported();
        }
        if (any) {
            b.append("* operator without an iteration space: every device runs it whole\n");
        }
        return b.toString();
    }

    private static String requested(Plan p) {
        StringBuilder b = new StringBuilder();
        p.options().requested().forEach((k, v) -> {
            // attention is how the cost model prices a kernel, not a decision of the search
            if (!v.equals("auto") && !k.equals("attention")) {
                b.append(b.length() == 0 ? "" : ", ").append(k).append(' ').append(v);
            }
        });
        String attention = p.options().requested().get("attention");
        return (b.length() == 0 ? "; all chosen by the search" : "; fixed: " + b)
                + (attention == null ? "" : "; attention priced " + attention);
    }

    static String strategy(PlanNode n) {
        if (n.strategy().isEmpty()) {
            return "replicated";
        }
        StringBuilder b = new StringBuilder();
        n.strategy().forEach((k, v) -> {
            b.append(b.length() == 0 ? "" : " ").append(k).append('=').append(v);
            int in = n.intraNode().getOrDefault(k, 1);
            if (in != v) {
                b.append(in == 1 ? "@net" : "@" + in + "x" + (v / in));
            }
        });
        return b.toString();
    }

    static String ms(double s) {
        return String.format(Locale.ROOT, "%.3f", s * 1e3);
    }

    static String mib(double b) {
        return String.format(Locale.ROOT, "%.1f", b / (1 << 20));
    }

    static String gib(double b) {
        return String.format(Locale.ROOT, "%.2f GiB", b / (1L << 30));
    }

    static String mb(double b) {
        return String.format(Locale.ROOT, "%.1f MB", b / 1e6);
    }
}
