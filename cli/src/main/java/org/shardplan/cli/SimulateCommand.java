package org.shardplan.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanChecks;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.pipeline.Schedule;
import org.shardplan.planner.pipeline.Schedules;
import org.shardplan.planner.pipeline.StageProfile;
import org.shardplan.planner.sim.DeviceResult;
import org.shardplan.planner.sim.Result;
import org.shardplan.planner.sim.Simulator;
import org.shardplan.planner.sim.StalenessDistribution;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code shardplan simulate PLAN [--json]}: replays one training step of a saved plan as events on its
 * devices (every micro-batch's forward and backward on each stage in the schedule's order, the
 * point-to-point transfers between stages, the gradient reduction of each stage) and reports the
 * step time, the bubble, and per device group the busy time and the peak memory. The simulator is
 * independent of the schedules' closed forms, so the report also gives the plan's predicted step
 * next to it.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        header = "Replays one step of a saved plan as events: schedule, transfers, reductions, memory.",
        description = {"Replays one step of a saved plan (shardplan-plan/2) as events: per device group the forward and "
                + "backward of each micro-batch in schedule order, point-to-point transfers, gradient reductions, "
                + "memory over time. Prints step time, bubble fraction, busy time and peak memory per device group; for "
                + "the asynchronous amp, the message passing of its keys in flight and local updates, the time per "
                + "micro-batch and the distribution of staleness per stage against the plan's prediction."})
public final class SimulateCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "PLAN", description = "A plan file written by shardplan plan --out.")
    Path planFile;

    @Option(names = "--json", description = "Print {stepSeconds, bubbleFraction, predictedStepSeconds, devices: [...]} as JSON.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws ShardplanException {
        Plan p = PlanChecks.read(planFile);
        int m = p.parallelism().microBatches();
        int v = p.schedule().virtualStages();
        String name = p.stages().size() == 1 ? "none" : p.schedule().name();
        Schedule s;
        try {
            s = Schedules.of(name);
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException(planFile + ": schedule.name: " + e.getMessage(), e);
        }
        if (p.stages().size() > 1) {
            try {
                s = s.withParameters(p.schedule().parameters());
            } catch (IllegalArgumentException e) {
                throw new PlanFormatException(planFile + ": schedule: " + e.getMessage(), e);
            }
        }
        List<StageProfile> profiles = new ArrayList<>();
        for (Plan.Stage st : p.stages()) {
            if (st.forwardSeconds() == 0 && st.backwardSeconds() == 0 && st.computeSeconds() > 0) {
                throw new PlanFormatException(planFile + ": stages[" + st.index() + "] has no per-micro-batch profile"
                        + " (a shardplan-plan/1 file): run shardplan evaluate on it first to write one");
            }
            try {
                profiles.add(st.profile());
            } catch (IllegalArgumentException e) {
                throw new PlanFormatException(planFile + ": stages[" + st.index() + "]: " + e.getMessage(), e);
            }
        }
        if (p.stages().size() > 1) {
            java.util.Optional<String> bad = s.check(p.parallelism().pipeline(), m, v);
            if (bad.isPresent()) {
                throw new PlanFormatException(planFile + ": " + bad.get());
            }
        }
        Result r;
        try {
            r = Simulator.run(profiles, s, m, v);
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException(planFile + ": " + e.getMessage(), e);
        }
        PrintWriter w = spec.commandLine().getOut();
        if (json) {
            ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode o = om.createObjectNode();
            o.put("stepSeconds", r.stepSeconds());
            o.put("bubbleFraction", r.bubbleFraction());
            o.put("predictedStepSeconds", p.totals().stepSeconds());
            o.put("schedule", name);
            o.put("microBatches", m);
            if (!r.staleness().isEmpty()) {
                o.put("secondsPerInstance", r.secondsPerInstance());
                o.put("maxActiveKeys", p.schedule().maxActiveKeys());
                o.put("minUpdateFrequency", p.schedule().minUpdateFrequency());
                ArrayNode sa = o.putArray("staleness");
                for (int i = 0; i < r.staleness().size(); i++) {
                    StalenessDistribution x = r.staleness().get(i);
                    ObjectNode e = sa.addObject();
                    e.put("stage", i);
                    e.put("mean", x.mean());
                    e.put("max", x.max());
                    if (i < p.schedule().staleness().size()) {
                        e.put("predictedExpected", p.schedule().staleness().get(i).expected());
                        e.put("predictedLargest", p.schedule().staleness().get(i).largest());
                    }
                    ArrayNode counts = e.putArray("counts");
                    for (long c : x.counts()) {
                        counts.add(c);
                    }
                }
            }
            ArrayNode d = o.putArray("devices");
            for (int i = 0; i < r.devices().size(); i++) {
                DeviceResult x = r.devices().get(i);
                ObjectNode e = d.addObject();
                e.put("group", i);
                e.put("busySeconds", x.busySeconds());
                e.put("peakMemoryBytes", x.peakMemoryBytes());
                e.put("microBatchesInFlight", x.microBatchesInFlight());
            }
            try {
                w.print(om.writeValueAsString(o) + "\n");
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        } else {
            w.printf(Locale.ROOT, "simulated step of %s: %s, %d micro-batch%s, %d device group%s%n", p.model().name(),
                    name, m, m == 1 ? "" : "es", r.devices().size(), r.devices().size() == 1 ? "" : "s");
            w.printf(Locale.ROOT, "step %.3f ms (predicted %.3f ms, %+.2f%%), bubble %.1f%%%n", r.stepSeconds() * 1e3,
                    p.totals().stepSeconds() * 1e3, 100 * (p.totals().stepSeconds() / r.stepSeconds() - 1),
                    100 * r.bubbleFraction());
            w.printf(Locale.ROOT, "%-6s %12s %12s %10s %10s%n", "group", "busy ms", "utilisation", "in flight", "peak GiB");
            for (int i = 0; i < r.devices().size(); i++) {
                DeviceResult x = r.devices().get(i);
                w.printf(Locale.ROOT, "%-6d %12.3f %11.1f%% %10d %10.2f%n", i, x.busySeconds() * 1e3,
                        100 * x.busySeconds() / r.stepSeconds(), x.microBatchesInFlight(), x.peakMemoryBytes() / (1L << 30));
            }
            if (!r.staleness().isEmpty()) {
                w.printf(Locale.ROOT, "asynchronous: %d micro-batches in flight, a local update every %d gradients; %.3f ms per"
                        + " micro-batch in the steady state (step = %d of them)%n", p.schedule().maxActiveKeys(),
                        p.schedule().minUpdateFrequency(), r.secondsPerInstance() * 1e3, m);
                w.printf(Locale.ROOT, "staleness (local updates between a micro-batch's forward and its backward):%n");
                w.printf(Locale.ROOT, "%-6s %10s %10s %10s %10s  %s%n", "stage", "mean", "predicted", "max", "predicted",
                        "distribution (updates: micro-batches)");
                for (int i = 0; i < r.staleness().size(); i++) {
                    StalenessDistribution x = r.staleness().get(i);
                    boolean known = i < p.schedule().staleness().size();
                    StringBuilder dist = new StringBuilder();
                    long[] counts = x.counts();
                    for (int k = 0; k < counts.length; k++) {
                        if (counts[k] > 0) {
                            dist.append(dist.length() == 0 ? "" : ", ").append(k).append(": ").append(counts[k]);
                        }
                    }
                    w.printf(Locale.ROOT, "%-6d %10.2f %10s %10d %10s  %s%n", i, x.mean(),
                            known ? String.format(Locale.ROOT, "%.2f", p.schedule().staleness().get(i).expected()) : "-",
                            x.max(), known ? Integer.toString(p.schedule().staleness().get(i).largest()) : "-", dist);
                }
            }
        }
        w.flush();
        return 0;
    }
}
