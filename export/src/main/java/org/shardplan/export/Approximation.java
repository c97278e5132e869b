package org.shardplan.export;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.Planner;
import org.shardplan.planner.baseline.Baselines;
import org.shardplan.planner.eval.PlanEvaluator;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;

/**
 * The nearest plan a format can express, priced again by the planner's evaluator ({@link
 * Planner#evaluate}): the stages, micro-batches and memory options of the plan given, with
 * <ul>
 * <li>its per-layer layouts replaced, where asked, by Megatron-LM's layout at the plan's
 *     tensor-parallel degree (or the largest smaller one the model and node size allow) with the
 *     plan's sequence-parallel choice ({@link Baselines#megatron}): the layout every engine of one
 *     degree per kind can run;
 * <li>pipeline stage boundaries that fall inside a layer moved to the nearer end of that layer;
 * <li>a schedule the format lacks replaced by one it has (interleaved stages merged into contiguous
 *     ones), and a ZeRO stage it lacks by one it has.
 * </ul>
 * The notes state every change and the step time and memory before and after. Runs in O(nodes · rank)
 * plus one evaluation.
 */
public final class Approximation {
    private Approximation() {
    }

    /**
     * What to change.
     *
     * @param engineLayouts replace the layouts by Megatron-LM's at the plan's degrees
     * @param layerStages move stage boundaries to layer boundaries
     * @param evenStages give every stage the same number of layers, the first {@code layers % stages} one more
     *     ({@link #uniformStage}; the embedding on the first, the output on the last)
     * @param schedule the schedule to use instead, if any ({@code 1f1b}, {@code gpipe}, ...)
     * @param zeroStage the ZeRO stage to use instead, if any
     * @param noSequenceParallel lay out without sequence parallelism (with {@code engineLayouts})
     * @param why what the format lacks, for the notes
     */
    public record Changes(boolean engineLayouts, boolean layerStages, boolean evenStages, Optional<String> schedule, Optional<Integer> zeroStage,
            boolean noSequenceParallel, String why) {
    }

    /**
     * The approximated plan, priced again.
     *
     * @param plan the re-costed plan
     * @param notes the changes and the difference in step time and memory
     */
    public record Approximated(Plan plan, List<String> notes) {
        public Approximated {
            notes = List.copyOf(notes);
        }
    }

    /**
     * Applies the changes and prices the result.
     *
     * @throws ExportException when no such plan exists for the model (no tensor-parallel degree of
     *     Megatron's layout fits it) or it cannot be priced
     */
    public static Approximated of(Plan plan, ExportModel model, String format, Changes ch) throws ExportException {
        List<String> notes = new ArrayList<>();
        notes.add(format + ": approximated, because " + ch.why());
        CoarseGraph cg = EngineView.coarse(plan, model);
        Map<String, Integer> index = new HashMap<>();
        for (CoarseNode n : cg.nodes()) {
            index.put(n.name(), n.index());
        }
        int p = plan.parallelism().pipeline();
        int stageDevices = plan.cluster().devices() / p;
        long micro = plan.batch() > 0 ? plan.batch() / plan.parallelism().microBatches() : 0;
        // stages: merged when interleaving is dropped, boundaries moved to layer ends
        String schedule = ch.schedule().orElse(plan.schedule().name());
        int v = plan.schedule().virtualStages();
        boolean merge = plan.schedule().name().equals("interleaved") && !schedule.equals("interleaved") && v > 1;
        int[] stage = new int[cg.nodes().size()];
        Map<String, Integer> planStage = new HashMap<>();
        plan.nodes().forEach(n -> planStage.put(n.name(), n.stage()));
        for (CoarseNode n : cg.nodes()) {
            int s = planStage.getOrDefault(n.name(), 0);
            stage[n.index()] = merge ? s / v : s;
        }
        int stages = merge ? p : plan.stages().size();
        if (merge) {
            notes.add(format + ": the " + plan.stages().size() + " interleaved stages merged into " + p
                    + " contiguous ones (" + v + " consecutive chunks each)");
        }
        Layers layers = Layers.of(cg);
        if (ch.evenStages() && layers.count() > 0) {
            int[] before = stage.clone();
            int first = layers.ranges().get(0)[0];
            int last = layers.ranges().get(layers.count() - 1)[1];
            int s = 0;
            for (int i = 0; i < stage.length; i++) {
                if (i < first) {
                    s = 0;
                } else if (i > last) {
                    s = stages - 1;
                } else {
                    for (int l = 0; l < layers.count(); l++) {
                        if (layers.ranges().get(l)[0] <= i && i <= layers.ranges().get(l)[1]) {
                            s = uniformStage(l, layers.count(), stages);
                        }
                    }
                }
                stage[i] = s;
            }
            if (!java.util.Arrays.equals(before, stage)) {
                notes.add(format + ": the " + layers.count() + " layers spread evenly over the " + stages + " stages");
            }
        } else if (ch.layerStages()) {
            int moved = 0;
            for (int[] r : layers.ranges()) {
                if (stage[r[0]] != stage[r[1]]) {
                    int same = 0;
                    for (int i = r[0]; i <= r[1]; i++) {
                        same += stage[i] == stage[r[0]] ? 1 : 0;
                    }
                    int s = 2 * same >= r[1] - r[0] + 1 ? stage[r[0]] : stage[r[1]];
                    for (int i = r[0]; i <= r[1]; i++) {
                        stage[i] = s;
                    }
                    moved++;
                }
            }
            if (moved > 0) {
                notes.add(format + ": " + moved + " stage boundar" + (moved == 1 ? "y" : "ies")
                        + " moved to the nearer end of the layer it fell in");
            }
        }
        // layouts
        Map<String, Layout> layouts = null;
        if (ch.engineLayouts()) {
            boolean sp = false;
            for (LayerRole r : LayerRoles.of(plan, cg)) {
                sp |= r.kind() == LayerRole.Kind.SEQUENCE && r.tensorSplit() && !ch.noSequenceParallel();
            }
            DeviceDigits dd;
            try {
                dd = DeviceDigits.of(stageDevices, Math.min(plan.cluster().devicesPerNode(), stageDevices));
            } catch (IllegalArgumentException e) {
                throw new ExportException(format + ": cannot lay out " + stageDevices + " devices per stage: " + e.getMessage(), e);
            }
            int want = plan.parallelism().tensor();
            List<Integer> ordered = tensorDegrees(want, dd.devicesPerNode(), stageDevices, micro);
            for (int t : ordered) {
                if (layouts != null) {
                    break;
                }
                if (dd.devicesPerNode() % t != 0) {
                    continue;
                }
                for (boolean s : ch.noSequenceParallel() ? new boolean[] {false} : new boolean[] {sp, !sp}) {
                    Optional<Baselines.Baseline> b = Baselines.megatron(cg, micro, dd, t, s);
                    if (b.isPresent() && layouts == null) {
                        layouts = b.get().layouts();
                        notes.add(format + ": every layer laid out as Megatron-LM does at tensor-parallel degree " + t
                                + (s ? " with sequence parallelism" : "") + " and data-parallel degree " + (stageDevices / t)
                                + (t != want ? " (the plan's degree " + want + " has no such layout here, or leaves devices"
                                        + " holding copies of the same samples)" : ""));
                    }
                }
            }
            if (layouts == null) {
                throw new ExportException(format + ": no tensor-parallel degree lends the model Megatron-LM's layout on "
                        + stageDevices + " devices per stage; nothing near this plan can be exported");
            }
        }
        List<PlanNode> nodes = new ArrayList<>();
        for (PlanNode n : plan.nodes()) {
            Integer i = index.get(n.name());
            int s = i == null ? n.stage() : stage[i];
            if (layouts == null) {
                nodes.add(new PlanNode(n.name(), n.op(), n.strategy(), n.placement(), n.intraNode(), n.devices(),
                        n.supported(), 0, 0, 0, 0, s));
            } else {
                Layout l = layouts.getOrDefault(n.name(), Layout.replicated());
                nodes.add(new PlanNode(n.name(), n.op(), l.strategy().factors(), l.placement(), l.intraNode(),
                        l.strategy().devices(), n.supported(), 0, 0, 0, 0, s));
            }
        }
        List<Plan.Stage> st = new ArrayList<>();
        for (int s = 0; s < stages; s++) {
            List<String> names = new ArrayList<>();
            for (PlanNode n : nodes) {
                if (n.stage() == s) {
                    names.add(n.name());
                }
            }
            int group = s % p;
            st.add(new Plan.Stage(s, group * stageDevices, stageDevices, names, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
        }
        Plan.Schedule sched = new Plan.Schedule(schedule, plan.schedule().microBatches(), merge ? 1 : v,
                plan.schedule().bubbleFraction(), true);
        if (!schedule.equals(plan.schedule().name())) {
            notes.add(format + ": schedule " + schedule + " instead of " + plan.schedule().name());
        }
        Plan.Options o = plan.options();
        int zero = ch.zeroStage().orElse(o.zeroStage());
        if (zero != o.zeroStage()) {
            notes.add(format + ": ZeRO stage " + zero + " instead of " + o.zeroStage());
        }
        List<String> warnings = new ArrayList<>(plan.warnings());
        Plan draft = new Plan(plan.model(), plan.cluster(), plan.batch(), plan.dims(),
                new Plan.Options(o.optimizer(), zero, o.recompute(), o.memoryLimitBytes(), o.requested()), nodes,
                plan.parallelism(), sched, st, plan.totals(), plan.baselines(), plan.solver(), plan.provenance(), warnings);
        PlanEvaluator.Result r;
        try {
            r = Planner.forPlan(draft).evaluate(draft, model.source());
        } catch (ShardplanException e) {
            throw new ExportException(format + ": the nearest expressible plan cannot be priced: " + e.getMessage(), e);
        }
        Plan a = r.plan();
        String diff = String.format(Locale.ROOT, "%s: step %.3f ms instead of %.3f ms (%+.1f%%), memory %.2f GiB per device"
                + " instead of %.2f GiB (limit %.2f GiB%s)", format, 1e3 * a.totals().stepSeconds(),
                1e3 * plan.totals().stepSeconds(), 100 * (a.totals().stepSeconds() / plan.totals().stepSeconds() - 1),
                a.totals().peakMemoryBytesPerDevice() / (1L << 30), plan.totals().peakMemoryBytesPerDevice() / (1L << 30),
                a.totals().memoryLimitBytes() / (1L << 30), a.totals().fits() ? ", fits" : ", DOES NOT FIT");
        notes.add(diff);
        List<String> w = new ArrayList<>(a.warnings());
        w.add("approximated for " + format + " (" + ch.why() + "); " + diff.substring(format.length() + 2));
        Plan withNote = new Plan(a.model(), a.cluster(), a.batch(), a.dims(), a.options(), a.nodes(), a.parallelism(),
                a.schedule(), a.stages(), a.totals(), a.baselines(), a.solver(), a.provenance(), w);
        return new Approximated(withNote, notes);
    }

    /**
     * The tensor-parallel degrees the engine layouts are tried at, in order: the plan's ({@code want}), then lower ones,
     * then higher ones up to a node's {@code perNode} devices (those dividing it and the stage's {@code stageDevices});
     * first those whose data-parallel degree ({@code
     * stageDevices / t}) divides the micro-batch {@code micro} (0: unknown, any), then the others. Where it does not
     * divide, some devices hold copies of the same samples, which no engine runs: a plan copied from fewer devices,
     * data 16 x copies 2 of a micro-batch of 16 on 32 devices a stage, is laid out at tensor-parallel degree 2, not 1.
     * O(perNode).
     */
    static List<Integer> tensorDegrees(int want, int perNode, int stageDevices, long micro) {
        List<Integer> degrees = new ArrayList<>();
        for (int t = Math.min(want, perNode); t >= 1; t--) {
            degrees.add(t);
        }
        for (int t = want + 1; t <= perNode; t++) {
            degrees.add(t);
        }
        degrees.removeIf(t -> perNode % t != 0 || stageDevices % t != 0);
        List<Integer> ordered = new ArrayList<>();
        for (int t : degrees) {
            if (micro <= 0 || micro % (stageDevices / t) == 0) {
                ordered.add(t);
            }
        }
        for (int t : degrees) {
            if (!ordered.contains(t)) {
                ordered.add(t);
            }
        }
        return ordered;
    }

    /**
     * The stage of layer {@code l} of {@code n} spread evenly over {@code stages} stages as DeepSpeed's {@code
     * partition_uniform} spreads them (deepspeed/runtime/utils.py): each stage {@code n / stages} layers, the first
     * {@code n % stages} stages one more. Where {@code n < stages}, layer {@code l} alone on stage {@code l}.
     */
    static int uniformStage(int l, int n, int stages) {
        int chunk = n / stages;
        int residual = n % stages;
        if (chunk == 0) {
            return l;
        }
        int front = residual * (chunk + 1);
        return l < front ? l / (chunk + 1) : residual + (l - front) / chunk;
    }

    /** The layers per stage of {@link #uniformStage}. */
    static int[] uniformCounts(int n, int stages) {
        int[] c = new int[stages];
        for (int l = 0; l < n; l++) {
            c[uniformStage(l, n, stages)]++;
        }
        return c;
    }
}
