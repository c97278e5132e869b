package org.shardplan.export;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.memory.OptimizerSpec;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanFormatException;
import org.shardplan.planner.Planner;

/**
 * The common path of the formats for engines of one degree per kind of parallelism: check the plan
 * ({@link EngineView#of}), else with {@code --approximate} find the nearest plan the engine can run
 * ({@link Approximation}) and check that, then write it ({@link #write}). A subclass says what its
 * engine lacks (schedules, ZeRO stages, stage boundaries) and writes the text.
 */
abstract class EngineExporter implements Exporter {

    @Override
    public boolean needsModel() {
        return true;
    }

    @Override
    public Output output() {
        return Output.TEXT;
    }

    /** Why the engine cannot run the plan's schedule, if it cannot. */
    Optional<String> scheduleLack(Plan p) {
        return Optional.empty();
    }

    /** The schedule to run instead when {@link #scheduleLack} says why. */
    String scheduleInstead(Plan p) {
        return "1f1b";
    }

    /** Why the engine cannot run the plan's ZeRO stage (with its other degrees), if it cannot. */
    Optional<String> zeroLack(Plan p) {
        return Optional.empty();
    }

    /** The ZeRO stage to use instead when {@link #zeroLack} says why. */
    int zeroInstead(Plan p) {
        return p.options().zeroStage();
    }

    /** Whether the engine can split an embedding table along its features. */
    boolean embeddingFeatures() {
        return false;
    }

    /** Whether the engine has Megatron's sequence parallelism (norms split along the sequence). */
    boolean sequenceParallel() {
        return true;
    }

    /** Why the engine cannot place the plan's stage boundaries (given that they fall between layers), if it cannot. */
    Optional<String> stagesLack(EngineView v) {
        return Optional.empty();
    }

    /** Whether the engine gives every pipeline stage the same number of layers (no stage boundaries of its own). */
    boolean evenStagesOnly() {
        return false;
    }

    /** The text for a plan the engine can run. */
    abstract String write(EngineView v, CoarseGraph cg, List<String> notes) throws ExportException;

    /**
     * The plan's gradient bucket ({@link Planner#gradientBucketBytesOf}) in elements of {@code bytesPerElement} of the
     * plan's optimizer (its gradients' or its weights' bytes), as engines that count buckets in elements take it.
     */
    static long bucketElements(Plan p, java.util.function.ToDoubleFunction<OptimizerSpec> bytesPerElement)
            throws ExportException {
        try {
            double bytes = Planner.gradientBucketBytesOf(p);
            return Math.max(1, Math.round(bytes / bytesPerElement.applyAsDouble(OptimizerSpec.of(p.options().optimizer()))));
        } catch (PlanFormatException | ClusterException e) {
            throw new ExportException("plan options: " + e.getMessage(), e);
        }
    }

    /** The message without the format's name in front. */
    private String bare(ExportException e) {
        String m = e.getMessage();
        return m.startsWith(name() + ": ") ? m.substring(name().length() + 2) : m;
    }

    @Override
    public Result export(Request req) throws ExportException {
        Plan plan = req.plan();
        ExportModel model = req.requireModel(name());
        CoarseGraph cg = EngineView.coarse(plan, model);
        List<String> lacks = new ArrayList<>();
        Optional<String> sch = scheduleLack(plan);
        Optional<String> zero = zeroLack(plan);
        sch.ifPresent(lacks::add);
        zero.ifPresent(lacks::add);
        boolean layouts = false;
        boolean stages = false;
        boolean even = false;
        EngineView view = null;
        try {
            EngineView.of(plan, cg, name(), embeddingFeatures(), false);
            try {
                view = EngineView.of(plan, cg, name(), embeddingFeatures(), true);
                if (view.sequenceParallel() && !sequenceParallel()) {
                    lacks.add("the plan splits nodes along the sequence: " + name() + " has no sequence parallelism");
                    layouts = true;
                }
                Optional<String> sl = stagesLack(view);
                if (sl.isPresent()) {
                    lacks.add(sl.get());
                    even = true;
                }
            } catch (ExportException e) {
                lacks.add(bare(e));
                stages = true;
            }
        } catch (ExportException e) {
            lacks.add(bare(e));
            layouts = true;
            stages = true;
        }
        if (lacks.isEmpty()) {
            List<String> notes = new ArrayList<>(); // what the format leaves to its defaults
            String text = write(view, cg, notes);
            return Result.text(text, notes, plan);
        }
        if (!req.approximate()) {
            throw new ExportException(name() + ": " + lacks.get(0) + " (--approximate writes the nearest plan " + name()
                    + " can run, priced again)");
        }
        even |= evenStagesOnly() && plan.parallelism().pipeline() > 1;
        Approximation.Approximated a = Approximation.of(plan, model, name(), new Approximation.Changes(layouts,
                stages || even, even, sch.map(x -> scheduleInstead(plan)), zero.map(x -> zeroInstead(plan)),
                !sequenceParallel(), String.join("; ", lacks)));
        Optional<String> zeroAfter = zeroLack(a.plan());
        if (zero.isEmpty() && zeroAfter.isPresent()) {
            // the layouts the engine can run changed the degrees (a data-parallel degree where there was none), and
            // the plan's ZeRO stage needs one the engine lacks: that changes too
            lacks.add(zeroAfter.get());
            a = Approximation.of(plan, model, name(), new Approximation.Changes(layouts, stages || even, even,
                    sch.map(x -> scheduleInstead(plan)), Optional.of(zeroInstead(plan)), !sequenceParallel(),
                    String.join("; ", lacks)));
        }
        Plan ap = a.plan();
        CoarseGraph acg = EngineView.coarse(ap, model);
        EngineView av = EngineView.of(ap, acg, name(), embeddingFeatures(), true);
        Optional<String> still = scheduleLack(ap).or(() -> zeroLack(ap)).or(() -> stagesLack(av))
                .or(() -> av.sequenceParallel() && !sequenceParallel() ? Optional.of("sequence parallelism") : Optional.empty());
        if (still.isPresent()) {
            throw new ExportException(name() + ": the nearest plan found still cannot be expressed: " + still.get());
        }
        List<String> notes = new ArrayList<>(a.notes());
        return Result.text(write(av, acg, notes), notes, ap);
    }
}
