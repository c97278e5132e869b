package org.shardplan.export.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.PlanTotals;
import org.shardplan.planner.sim.Event;
import org.shardplan.planner.sim.Result;

/**
 * A plan as one self-contained HTML page: no scripts, no fonts, nothing fetched; the pictures are
 * inline SVG drawn here. Sections (by element id): {@code summary} (degrees, step, memory, bubble,
 * baselines, solver status and bound), {@code mesh} (the devices by cluster node, coloured by pipeline
 * stage, with each device's data- and tensor-parallel rank), {@code layers} (per folded row of nodes:
 * compute and communication time, strategy, stage), {@code memory} (per device group: weights and
 * optimizer state, activations, the limit), {@code schedule} (pipeline plans: the simulated step as
 * a Gantt chart per device group, micro-batches coloured) and {@code warnings}. O(nodes + events).
 */
public final class HtmlReport {
    private HtmlReport() {
    }

    private static final int WIDTH = 980;

    /** The page for a plan; {@code allNodes} lists every node instead of folding repeated blocks. */
    public static String html(Plan p, boolean allNodes) {
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>shardplan plan: ")
                .append(esc(p.model().name())).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        b.append("<h1>shardplan plan for ").append(esc(p.model().name())).append("</h1>\n");
        summary(b, p);
        mesh(b, p);
        layers(b, p, allNodes);
        memory(b, p);
        Optional<Result> sim = Timeline.of(p);
        sim.ifPresent(r -> schedule(b, p, r));
        warnings(b, p);
        b.append("<p class=\"foot\">shardplan ").append(esc(p.provenance().shardplanVersion())).append(", plan made ")
                .append(esc(p.provenance().createdAt())).append(", compute model ").append(esc(p.provenance().calibration()))
                .append(".</p>\n</body>\n</html>\n");
        return b.toString();
    }

    private static final String CSS = """
            body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1020px; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; } td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
            th { font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
            .big { font-size: 1.25em; font-weight: 600; } .bad { color: #b00020; } .ok { color: #1b7f3b; }
            svg text { font-family: sans-serif; } .foot { color: #777; font-size: 0.85em; margin-top: 2em; }
            .warn li { color: #8a5a00; }
            """;

    private static void summary(StringBuilder b, Plan p) {
        Plan.Parallelism par = p.parallelism();
        PlanTotals t = p.totals();
        Plan.SolverInfo s = p.solver();
        b.append("<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"big\">");
        b.append(String.format(Locale.ROOT, "step %s ms &middot; data %d &times; tensor %d &times; pipeline %d &middot; %s per device",
                ms(t.stepSeconds()), par.data(), par.tensor(), par.pipeline(), gib(t.peakMemoryBytesPerDevice())));
        b.append("</p>\n<table>\n");
        row(b, "model", esc(p.model().name()) + String.format(Locale.ROOT, " (%d graph nodes, %d planned)",
                p.model().graphNodes(), p.model().coarseNodes()));
        row(b, "cluster", esc(p.cluster().name()) + ": " + esc(p.cluster().devicesText(true)).replace(" x ", " &times; "));
        row(b, "batch", p.batch() + (p.dims().isEmpty() ? "" : " (" + esc(p.dims().toString()) + ")"));
        row(b, "micro-batches", String.format(Locale.ROOT, "%d of %d samples per data-parallel replica", par.microBatches(),
                par.microBatchSize()));
        row(b, "schedule", esc(p.schedule().name()) + (p.schedule().virtualStages() > 1 ? " (" + p.schedule().virtualStages()
                + " virtual stages)" : "") + String.format(Locale.ROOT, ", bubble %.1f%%", 100 * p.schedule().bubbleFraction()));
        if (p.schedule().maxActiveKeys() > 0) {
            StringBuilder st = new StringBuilder();
            p.schedule().staleness().forEach(x -> st.append(st.length() == 0 ? "" : ", ")
                    .append(String.format(Locale.ROOT, "%.1f (at most %d)", x.expected(), x.largest())));
            row(b, "asynchronous", String.format(Locale.ROOT, "%d micro-batches in flight, a local update every %d"
                    + " gradients; expected staleness per stage: %s", p.schedule().maxActiveKeys(),
                    p.schedule().minUpdateFrequency(), esc(st.toString())));
        }
        row(b, "step", String.format(Locale.ROOT, "%s ms (compute %s ms, communication %s ms on the busiest stage)",
                ms(t.stepSeconds()), ms(t.computeSeconds()), ms(t.communicationSeconds())));
        row(b, "memory", String.format(Locale.ROOT, "%s per device, limit %s: <span class=\"%s\">%s</span>",
                gib(t.peakMemoryBytesPerDevice()), gib(t.memoryLimitBytes()), t.fits() ? "ok" : "bad",
                t.fits() ? "fits" : "does not fit"));
        row(b, "options", String.format(Locale.ROOT, "optimizer %s, ZeRO stage %d, recomputation %s", esc(p.options().optimizer()),
                p.options().zeroStage(), p.options().recompute() ? "on" : "off"));
        row(b, "solver", String.format(Locale.ROOT, "%s <b>%s</b> in %.2f s, %d configuration%s, %d candidate layouts",
                esc(s.name()), esc(s.status()), s.seconds(), s.configurations(), s.configurations() == 1 ? "" : "s",
                s.strategies()));
        row(b, "lower bound", Double.isFinite(s.lowerBound()) ? ms(s.lowerBound()) + " ms over " + esc(s.boundScope())
                : "none proven (" + esc(s.boundScope()) + ")");
        row(b, "exactness", esc(p.provenance().exactness()));
        b.append("</table>\n");
        if (!p.baselines().isEmpty()) {
            b.append("<h3>Baselines (same cost model)</h3>\n<table id=\"baselines\">\n<tr><th>baseline</th><th>step ms</th>"
                    + "<th>memory</th><th>fits</th><th>plan's speed-up</th></tr>\n");
            for (Map.Entry<String, Plan.Baseline> e : p.baselines().entrySet()) {
                Plan.Baseline x = e.getValue();
                b.append("<tr><td>").append(esc(x.name())).append("</td><td class=\"n\">").append(ms(x.stepSeconds()))
                        .append("</td><td class=\"n\">").append(gib(x.peakMemoryBytesPerDevice())).append("</td><td>")
                        .append(x.fits() ? "yes" : "<span class=\"bad\">no</span>").append("</td><td class=\"n\">")
                        .append(String.format(Locale.ROOT, "%.2f&times;", x.stepSeconds() / t.stepSeconds()))
                        .append("</td></tr>\n");
            }
            b.append("</table>\n");
        }
        b.append("</section>\n");
    }

    private static void row(StringBuilder b, String k, String v) {
        b.append("<tr><th>").append(k).append("</th><td>").append(v).append("</td></tr>\n");
    }

    /** The hue of pipeline device group {@code g} (or micro-batch). */
    static String colour(int g, int lightness) {
        int hue = (g * 137 + 210) % 360;
        return "hsl(" + hue + ",60%," + lightness + "%)";
    }

    private static void mesh(StringBuilder b, Plan p) {
        int n = p.cluster().devices();
        int perNode = Math.max(1, Math.min(p.cluster().devicesPerNode(), n));
        int pipe = p.parallelism().pipeline();
        int stageDevices = Math.max(1, n / pipe);
        int t = p.parallelism().tensor();
        int cols = Math.min(perNode, 16);
        int w = 58;
        int h = 52;
        int rows = (n + cols - 1) / cols;
        int height = rows * (h + 8) + 24;
        b.append("<section id=\"mesh\">\n<h2>Devices</h2>\n<p>Each box is a device, numbered as the plan numbers them (node by"
                + " node); its colour is its pipeline device group, its text the stages it runs and its data- and"
                + " tensor-parallel rank inside the stage (tensor ranks on neighbouring devices).</p>\n");
        b.append(String.format(Locale.ROOT, "<svg id=\"mesh-svg\" width=\"%d\" height=\"%d\" role=\"img\">\n",
                Math.max(cols * (w + 6) + 120, 300), height));
        for (int d = 0; d < n; d++) {
            int r = d / cols;
            int c = d % cols;
            int x = 90 + c * (w + 6);
            int y = 8 + r * (h + 8);
            if (c == 0) {
                b.append(String.format(Locale.ROOT, "<text x=\"4\" y=\"%d\" font-size=\"11\">node %d</text>\n", y + h / 2 + 4,
                        d / perNode));
            }
            int group = d / stageDevices;
            int local = d % stageDevices;
            List<String> stages = new ArrayList<>();
            for (Plan.Stage s : p.stages()) {
                if (d >= s.firstDevice() && d <= s.lastDevice()) {
                    stages.add(Integer.toString(s.index()));
                }
            }
            b.append(String.format(Locale.ROOT, "<g><title>device %d: stage %s, data rank %d, tensor rank %d</title>"
                    + "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"%s\" stroke=\"#555\"/>", d,
                    String.join(",", stages), local / t, local % t, x, y, w, h, colour(group, 78)));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" font-weight=\"600\">%d</text>", x + 4,
                    y + 13, d));
            String st = stages.size() <= 2 ? String.join(",", stages) : stages.get(0) + ",…";
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">st %s</text>", x + 4, y + 27, st));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">d%d t%d</text></g>\n", x + 4, y + 41,
                    local / t, local % t));
        }
        b.append("</svg>\n<table id=\"stages\">\n<tr><th>stage</th><th>devices</th><th>nodes</th><th>first node</th>"
                + "<th>fwd ms/mb</th><th>bwd ms/mb</th><th>memory</th></tr>\n");
        for (Plan.Stage s : p.stages()) {
            b.append(String.format(Locale.ROOT, "<tr><td><span style=\"color:%s\">&#9632;</span> %d</td><td>%d&ndash;%d</td>"
                    + "<td class=\"n\">%d</td><td>%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
                    colour(s.firstDevice() / stageDevices, 55), s.index(), s.firstDevice(), s.lastDevice(), s.nodes().size(),
                    s.nodes().isEmpty() ? "" : esc(s.nodes().get(0)), ms(s.forwardSeconds()), ms(s.backwardSeconds()),
                    gib(s.memoryBytesPerDevice())));
        }
        b.append("</table>\n</section>\n");
    }

    private static void layers(StringBuilder b, Plan p, boolean all) {
        List<Folding.Row> rows = Folding.rows(p.nodes(), all);
        double max = 1e-12;
        for (Folding.Row r : rows) {
            max = Math.max(max, r.computeSeconds() + r.communicationSeconds());
        }
        int rowH = 17;
        int labelW = 330;
        int stratW = 190;
        int barW = WIDTH - labelW - stratW - 90;
        int height = rows.size() * rowH + 40;
        int stageDevices = Math.max(1, p.cluster().devices() / p.parallelism().pipeline());
        b.append("<section id=\"layers\">\n<h2>Layers</h2>\n<p>One row per node, or per group of nodes alike (the layers of a"
                + " repeated block, &ldquo;&times; N&rdquo;; the bar is the group's total): compute <span style=\"color:#3b6fb6\">"
                + "&#9632;</span> and communication <span style=\"color:#e8873a\">&#9632;</span> per step, the strategy (split"
                + " factor per loop dimension), the stage.</p>\n");
        b.append(String.format(Locale.ROOT, "<svg id=\"layers-svg\" width=\"%d\" height=\"%d\" role=\"img\">\n", WIDTH, height));
        b.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"12\" font-size=\"11\" font-weight=\"600\">node</text>"
                + "<text x=\"%d\" y=\"12\" font-size=\"11\" font-weight=\"600\">strategy</text>"
                + "<text x=\"%d\" y=\"12\" font-size=\"11\" font-weight=\"600\">time per step (max %s ms)</text>\n",
                labelW, labelW + stratW, ms(max)));
        int y = 22;
        for (Folding.Row r : rows) {
            PlanNode n = r.first();
            String label = r.label().length() > 52 ? "…" + r.label().substring(r.label().length() - 51) : r.label();
            double c = r.computeSeconds();
            double m = r.communicationSeconds();
            int cw = (int) Math.round(barW * c / max);
            int mw = (int) Math.round(barW * m / max);
            int group = p.stages().isEmpty() || n.stage() >= p.stages().size() ? 0
                    : p.stages().get(n.stage()).firstDevice() / stageDevices;
            String stripe = r.firstStage() == r.lastStage() ? colour(group, 55) : "#aaa";
            b.append(String.format(Locale.ROOT, "<g class=\"layer\"><title>%s (%s): %s; compute %s ms, communication %s ms,"
                    + " memory %s MiB per device%s; stage %s</title>", esc(r.label()), esc(n.op()), esc(n.strategyText()),
                    ms(c), ms(m), r.minMemoryBytes() == r.maxMemoryBytes() ? mib(n.memoryBytes())
                    : mib(r.minMemoryBytes()) + "-" + mib(r.maxMemoryBytes()), r.count() > 1 ? " each of " + r.count() : "", r.stages()));
            b.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"%d\" width=\"4\" height=\"%d\" fill=\"%s\"/>", y, rowH - 3,
                    stripe));
            b.append(String.format(Locale.ROOT, "<text x=\"8\" y=\"%d\" font-size=\"11\">%s</text>", y + 11, esc(label)));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>", labelW, y + 11,
                    esc(n.strategyText() + (n.supported() ? "" : " *") + (p.stages().size() > 1 ? "  [stage " + r.stages() + "]" : ""))));
            int x0 = labelW + stratW;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#3b6fb6\"/>", x0, y + 2,
                    Math.max(cw, c > 0 ? 1 : 0), rowH - 6));
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#e8873a\"/>", x0 + cw,
                    y + 2, Math.max(mw, m > 0 ? 1 : 0), rowH - 6));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\">%s</text></g>\n",
                    x0 + cw + mw + 4, y + 11, ms(c + m)));
            y += rowH;
        }
        b.append("</svg>\n</section>\n");
    }

    private static void memory(StringBuilder b, Plan p) {
        int pipe = p.parallelism().pipeline();
        int stageDevices = Math.max(1, p.cluster().devices() / pipe);
        double limit = p.totals().memoryLimitBytes();
        double[] total = new double[pipe];
        double[] statics = new double[pipe];
        for (Plan.Stage s : p.stages()) {
            int g = Math.min(pipe - 1, s.firstDevice() / stageDevices);
            double mem = s.memoryBytesPerDevice() > 0 ? s.memoryBytesPerDevice() : p.totals().peakMemoryBytesPerDevice();
            total[g] = Math.max(total[g], mem);
            statics[g] = Math.max(statics[g], Math.min(mem, s.staticBytes()));
        }
        double most = 0;
        for (double x : total) {
            most = Math.max(most, x);
        }
        // the limit on the scale unless the memory would be a sliver under it
        boolean limitShown = most >= limit / 20;
        double max = limitShown ? Math.max(limit, most) : most * 1.25;
        int barW = 46;
        int chartH = 200;
        int width = Math.max(360, 80 + pipe * (barW + 24));
        b.append("<section id=\"memory\">\n<h2>Memory per device</h2>\n<p>Peak memory of a device of each device group:"
                + " weights, gradients and optimizer state <span style=\"color:#6a51a3\">&#9632;</span>, saved activations"
                + " <span style=\"color:#9e9ac8\">&#9632;</span>; the dashed line is the limit (" + gib(limit) + ").</p>\n");
        b.append(String.format(Locale.ROOT, "<svg id=\"memory-svg\" width=\"%d\" height=\"%d\" role=\"img\">\n", width,
                chartH + 40));
        int base = chartH + 10;
        for (int g = 0; g < pipe; g++) {
            int x = 70 + g * (barW + 24);
            int th = (int) Math.round(chartH * total[g] / max);
            int sh = (int) Math.round(chartH * statics[g] / max);
            b.append(String.format(Locale.ROOT, "<g class=\"mem\"><title>devices %d-%d: %s (static %s)</title>", g * stageDevices,
                    (g + 1) * stageDevices - 1, gib(total[g]), gib(statics[g])));
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#9e9ac8\"/>", x,
                    base - th, barW, th));
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#6a51a3\"/>", x,
                    base - sh, barW, sh));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>", x, base - th - 4,
                    gib(total[g])));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text></g>\n", x, base + 14,
                    pipe == 1 ? "every device" : (g * stageDevices) + "–" + ((g + 1) * stageDevices - 1)));
        }
        int ly = limitShown ? base - (int) Math.round(chartH * limit / max) : 6;
        b.append(String.format(Locale.ROOT, "<line id=\"memory-limit\" x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#b00020\""
                + " stroke-dasharray=\"%s\"/><text x=\"0\" y=\"%d\" font-size=\"10\" fill=\"#b00020\">%s</text>\n", ly,
                width - 10, ly, limitShown ? "6 4" : "1 5", ly + 4, limitShown ? "limit" : "limit " + gib(limit) + " far above"));
        b.append("</svg>\n</section>\n");
    }

    private static void schedule(StringBuilder b, Plan p, Result r) {
        int groups = r.devices().size();
        int rowH = 26;
        int left = 90;
        int plotW = WIDTH - left - 20;
        double step = r.stepSeconds();
        int m = p.parallelism().microBatches();
        b.append("<section id=\"schedule\">\n<h2>Pipeline schedule</h2>\n<p>One step of the ").append(esc(p.schedule().name()))
                .append(" schedule replayed by the simulator (")
                .append(String.format(Locale.ROOT, "step %s ms, bubble %.1f%%; the closed form says %s ms", ms(step),
                        100 * r.bubbleFraction(), ms(p.totals().stepSeconds())))
                .append("): per device group, each micro-batch's forward (light) and backward (dark) in its colour, the"
                        + " gradient reduction in grey.</p>\n");
        b.append(String.format(Locale.ROOT, "<svg id=\"schedule-svg\" width=\"%d\" height=\"%d\" role=\"img\">\n", WIDTH,
                groups * rowH + 40));
        for (int g = 0; g < groups; g++) {
            b.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"%d\" font-size=\"11\">group %d</text>\n", 14 + g * rowH + 10, g));
        }
        for (Event e : r.events()) {
            if (!e.kind().compute() && e.kind() != Event.Kind.GRADIENT_SYNC) {
                continue;
            }
            double x = left + plotW * e.start() / step;
            double w = Math.max(0.5, plotW * e.seconds() / step);
            int y = 12 + e.device() * rowH;
            String fill = switch (e.kind()) {
                case FORWARD -> colour(e.microBatch(), 72);
                case BACKWARD, BACKWARD_INPUT -> colour(e.microBatch(), 45);
                case BACKWARD_WEIGHT -> colour(e.microBatch(), 32);
                default -> "#999";
            };
            b.append(String.format(Locale.ROOT, "<rect class=\"ev\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\""
                    + " stroke=\"#fff\" stroke-width=\"0.3\"><title>%s, micro-batch %d, chunk %d: %s&ndash;%s ms</title></rect>\n",
                    x, y, w, rowH - 6, fill, e.kind().name().toLowerCase(Locale.ROOT).replace('_', ' '), e.microBatch(),
                    e.virtualStage(), ms(e.start()), ms(e.end())));
        }
        int axis = 12 + groups * rowH;
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>", left, axis,
                left + plotW, axis));
        for (int k = 0; k <= 4; k++) {
            int x = left + plotW * k / 4;
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\">%s ms</text>", x,
                    axis + 14, k == 0 ? "start" : k == 4 ? "end" : "middle", ms(step * k / 4)));
        }
        b.append("\n</svg>\n<p>").append(m).append(" micro-batches; colours: ");
        for (int k = 0; k < Math.min(m, 12); k++) {
            b.append("<span style=\"color:").append(colour(k, 50)).append("\">&#9632;</span>").append(k).append(' ');
        }
        b.append(m > 12 ? "…" : "").append("</p>\n</section>\n");
    }

    private static void warnings(StringBuilder b, Plan p) {
        b.append("<section id=\"warnings\">\n<h2>Warnings</h2>\n");
        List<String> w = new ArrayList<>(p.warnings());
        if (!p.totals().fits()) {
            w.add(0, "the plan does not fit the memory limit");
        }
        if (w.isEmpty()) {
            b.append("<p>none</p>\n");
        } else {
            b.append("<ul class=\"warn\">\n");
            w.forEach(x -> b.append("<li>").append(esc(x)).append("</li>\n"));
            b.append("</ul>\n");
        }
        b.append("</section>\n");
    }

    /** Text made safe for HTML and SVG. */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
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
}
