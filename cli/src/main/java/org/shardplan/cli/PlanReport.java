package org.shardplan.cli;

import java.util.Locale;
import java.util.Map;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.PlanTotals;

/** The human report of a plan: the per-node table, the totals, the baselines and the search. */
final class PlanReport {
    private PlanReport() {
    }

    static String text(Plan p, String modelDisplay) {
        StringBuilder b = new StringBuilder();
        Plan.ClusterInfo c = p.cluster();
        b.append(String.format(Locale.ROOT, "plan for %s on %d x %s (%d per node), batch %d%n", modelDisplay, c.devices(),
                c.device(), c.devicesPerNode(), p.batch()));
        b.append(String.format(Locale.ROOT, "options: optimizer %s, ZeRO stage %d, recomputation %s, memory limit %s%n",
                p.options().optimizer(), p.options().zeroStage(), p.options().recompute() ? "on" : "off",
                gib(p.options().memoryLimitBytes())));
        int w = 4;
        for (PlanNode n : p.nodes()) {
            w = Math.max(w, Math.min(40, n.name().length()));
        }
        String fmt = "%-" + w + "s  %-18s %-24s %7s %11s %11s %11s%n";
        b.append(String.format(Locale.ROOT, fmt, "node", "op", "strategy", "devices", "compute ms", "comm ms", "memory MiB"));
        for (PlanNode n : p.nodes()) {
            String name = n.name().length() > w ? "…" + n.name().substring(n.name().length() - w + 1) : n.name();
            b.append(String.format(Locale.ROOT, fmt, name, n.op() + (n.supported() ? "" : "*"), strategy(n),
                    n.devices(), ms(n.computeSeconds()), ms(n.communicationSeconds()), mib(n.memoryBytes())));
        }
        PlanTotals t = p.totals();
        b.append(String.format(Locale.ROOT, "%ntotal: step %s ms (compute %s ms, communication %s ms), memory %s per device"
                + " (limit %s, %s), %s communicated per device%n", ms(t.stepSeconds()), ms(t.computeSeconds()),
                ms(t.communicationSeconds()), gib(t.peakMemoryBytesPerDevice()), gib(t.memoryLimitBytes()),
                t.fits() ? "fits" : "DOES NOT FIT", mb(t.communicationBytes())));
        if (!p.baselines().isEmpty()) {
            b.append("baselines (same cost model):\n");
            for (Map.Entry<String, Plan.Baseline> e : p.baselines().entrySet()) {
                Plan.Baseline x = e.getValue();
                b.append(String.format(Locale.ROOT, "  %s step %s ms, memory %s, %s; plan is %.2fx faster%n", x.name(),
                        ms(x.stepSeconds()), gib(x.peakMemoryBytesPerDevice()), x.fits() ? "fits" : "does not fit",
                        x.stepSeconds() / t.stepSeconds()));
            }
        }
        Plan.SolverInfo s = p.solver();
        b.append(String.format(Locale.ROOT, "search: %s %s in %.2f s (solver %.2f s; %d nodes, %d edges, %d candidate layouts)%n", s.name(),
                s.status(), s.seconds(), s.solveSeconds(), s.problemNodes(), s.problemEdges(), s.strategies()));
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
