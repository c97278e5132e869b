package org.shardplan.export;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.graph.ShardplanException;
import org.shardplan.planner.Plan;

/**
 * A plan as the training engines that take one degree per kind of parallelism see it (Megatron-LM,
 * DeepSpeed, torchtitan, a DTensor mesh): one data-parallel degree for every layer, one tensor-parallel
 * group of neighbouring devices in which every layer is column- or row-parallel, split over the
 * vocabulary, by heads, along the sequence, or copied, and pipeline stages that begin at layer
 * boundaries. {@link #of} checks that the plan is such a plan and names the first node that is not.
 *
 * @param plan the plan
 * @param roles the role of every node ({@link LayerRoles})
 * @param layers the model's repeated layers
 * @param stageLayers what each stage holds
 * @param sequenceParallel whether nodes outside the weight products are split along the sequence
 *     (Korthikanti et al., 2022)
 */
public record EngineView(Plan plan, List<LayerRole> roles, Layers layers, List<Layers.StageLayers> stageLayers,
        boolean sequenceParallel) {

    public EngineView {
        Objects.requireNonNull(plan, "plan");
        roles = List.copyOf(roles);
        Objects.requireNonNull(layers, "layers");
        stageLayers = List.copyOf(stageLayers);
    }

    /** Data-parallel degree. */
    public int data() {
        return plan.parallelism().data();
    }

    /** Tensor-parallel degree. */
    public int tensor() {
        return plan.parallelism().tensor();
    }

    /** Pipeline degree (device groups). */
    public int pipeline() {
        return plan.parallelism().pipeline();
    }

    /** Whether some node of that kind is split in the tensor-parallel group. */
    public boolean has(LayerRole.Kind kind) {
        return roles.stream().anyMatch(r -> r.kind() == kind && r.tensorSplit());
    }

    /** The coarse graph of the plan's model at its micro-batch size. */
    public static CoarseGraph coarse(Plan plan, ExportModel model) throws ExportException {
        long micro = plan.batch() > 0 ? plan.batch() / plan.parallelism().microBatches() : 0;
        try {
            return Coarsening.coarsen(micro > 0 && micro != plan.batch() ? model.source().at(micro) : model.graph());
        } catch (ExportException e) {
            throw e;
        } catch (ShardplanException e) {
            throw new ExportException(model.display() + ": cannot bind the model at the micro-batch size " + micro + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * The plan as an engine of one degree per kind sees it.
     *
     * @param format the format's name, for messages
     * @param embeddingFeatures whether the format can split an embedding table along its features, not
     *     only over the vocabulary (none of this module's formats: a feature-split embedding's output
     *     reaches operators outside any module)
     * @param layerStages whether pipeline stages must begin at layer boundaries
     * @throws ExportException naming the first node (or stage) the format cannot express, and what it lacks
     */
    public static EngineView of(Plan plan, CoarseGraph cg, String format, boolean embeddingFeatures, boolean layerStages)
            throws ExportException {
        List<LayerRole> roles = LayerRoles.of(plan, cg);
        Plan.Parallelism par = plan.parallelism();
        int d = par.data();
        int t = par.tensor();
        if (par.copies() > 1) {
            throw new ExportException(String.format(Locale.ROOT, "%s: the plan leaves its heaviest layers unsplit over %d"
                    + " devices of each stage (%d copies of each block: data %d x tensor %d x pipeline %d x copies %d), which"
                    + " %s cannot express; plan with --tensor-parallel or --data-parallel fixed to get a plan it can",
                    format, par.copies(), par.copies(), d, t, par.pipeline(), par.copies(), format));
        }
        if ((long) d * t * par.pipeline() != plan.cluster().devices()) {
            throw new ExportException(String.format(Locale.ROOT, "%s: data %d x tensor %d x pipeline %d must be the %d"
                    + " devices of the cluster", format, d, t, par.pipeline(), plan.cluster().devices()));
        }
        if (plan.batch() > 0 && par.microBatchSize() * d * par.microBatches() != plan.batch()) {
            throw new ExportException(String.format(Locale.ROOT, "%s: the batch %d must be micro-batch size %d x data %d x"
                    + " micro-batches %d, as %s counts it, found %d", format, plan.batch(), par.microBatchSize(), d,
                    par.microBatches(), format, par.microBatchSize() * d * par.microBatches()));
        }
        boolean sp = false;
        for (LayerRole r : roles) {
            String where = format + ": node '" + r.node() + "' (" + r.op() + ") ";
            switch (r.kind()) {
                case OTHER -> throw new ExportException(where + r.problem().orElse("has a layout") + "; " + format
                        + " has no such layer layout");
                case EMBEDDING_FEATURES -> {
                    if (!embeddingFeatures) {
                        throw new ExportException(where + "splits the embedding table along its features (" + r.tensorDim()
                                + "); " + format + " splits an embedding only over the vocabulary");
                    }
                }
                case SEQUENCE -> sp |= r.tensor() > 1;
                default -> { }
            }
            if (r.kind() == LayerRole.Kind.OPAQUE) {
                continue;
            }
            if (r.data() != d && !(r.data() == 1 && (r.batchExtent() == 0 || r.batchExtent() % d != 0))) {
                throw new ExportException(where + "splits the batch " + r.data() + " way" + (r.data() == 1 ? "" : "s")
                        + " where the plan's data-parallel degree is " + d + "; " + format
                        + " has one data-parallel degree for every layer");
            }
            if (r.tensor() != 1 && r.tensor() != t) {
                throw new ExportException(where + "splits " + r.tensorDim() + " " + r.tensor() + " ways where the plan's"
                        + " tensor-parallel degree is " + t + "; " + format + " has one tensor-parallel degree for every layer");
            }
            if (!r.innerTensor()) {
                throw new ExportException(where + "places the batch split on neighbouring devices and the split of "
                        + r.tensorDim() + " across them; " + format + " makes the tensor-parallel group of neighbouring devices");
            }
        }
        Layers layers = Layers.of(cg);
        List<Layers.StageLayers> sl = layerStages ? layers.perStage(plan, cg, format)
                : List.of(new Layers.StageLayers(true, layers.count(), true));
        return new EngineView(plan, roles, layers, sl, sp);
    }
}
