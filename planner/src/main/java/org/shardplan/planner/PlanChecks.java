package org.shardplan.planner;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.shardplan.cost.cluster.Cluster;
import org.shardplan.cost.cluster.ClusterException;
import org.shardplan.cost.cluster.ClusterFiles;
import org.shardplan.planner.strategy.Layout;

/**
 * Checks that a plan read from a file agrees with itself, as one that {@link Planner} wrote does: the
 * cluster summary with the cluster definition it carries, every node's split with the cluster, the
 * batch with the dimension bindings, the totals with the nodes. A plan edited by hand that breaks one
 * of these is refused with a message naming the field, before anything is printed or priced. The
 * per-node and total checks apply to single-stage plans; a pipeline's stages are checked by re-costing.
 * (Whether a strategy suits its layer needs the model: that is {@code PlanEvaluator}'s check.)
 * O(nodes + factors).
 */
public final class PlanChecks {

    /** Relative tolerance of the sums (the planner adds the same numbers in the same order). */
    static final double TOLERANCE = 1e-6;

    private PlanChecks() {
    }

    /**
     * The plan of {@code file} ({@link PlanJson#read}) where what does not depend on its strategies is consistent
     * ({@link #requireConsistent(Plan, String, boolean)}): how every command but {@code explain} takes a plan file.
     *
     * @throws PlanFormatException naming the file and what is wrong with it
     */
    public static Plan read(java.nio.file.Path file) throws PlanFormatException {
        return requireConsistent(PlanJson.read(file), file.toString(), false);
    }

    /**
     * Returns {@code p} when it is consistent, everything included: what {@code explain} prints.
     *
     * @param source names the plan in messages (its file)
     * @throws PlanFormatException naming the first field that disagrees, as "X must be Y, found Z"
     */
    public static Plan requireConsistent(Plan p, String source) throws PlanFormatException {
        return requireConsistent(p, source, true);
    }

    /**
     * Returns {@code p} when what does not depend on the nodes' strategies is consistent (batch, dimension
     * bindings, cluster, options): what a re-costing takes from the plan. The nodes' devices, layouts and
     * costs are checked too when {@code derived} is set; a re-costing recomputes them from the strategies
     * instead, so that a user may edit the strategies alone.
     *
     * @param source names the plan in messages (its file)
     * @throws PlanFormatException naming the first field that disagrees, as "X must be Y, found Z"
     */
    public static Plan requireConsistent(Plan p, String source, boolean derived) throws PlanFormatException {
        String pre = source + ": ";
        if (p.batch() < 0) {
            throw new PlanFormatException(pre + "batch must be >= 0, found " + p.batch());
        }
        for (Map.Entry<String, Long> d : p.dims().entrySet()) {
            if (d.getValue() < 1) {
                throw new PlanFormatException(pre + "dims." + d.getKey() + " must be >= 1, found " + d.getValue());
            }
        }
        Long dimBatch = p.dims().get("batch");
        if (dimBatch != null && dimBatch != p.batch()) {
            throw new PlanFormatException(pre + "batch must equal dims.batch (" + dimBatch + "), found " + p.batch());
        }
        Cluster cl;
        try {
            cl = ClusterFiles.parse(p.cluster().definition(), source + " cluster.definition");
        } catch (ClusterException | IllegalArgumentException e) {
            throw new PlanFormatException(e.getMessage(), e);
        }
        int devices = cl.deviceCount();
        if (p.cluster().devices() != devices) {
            throw new PlanFormatException(pre + "cluster.devices must be the " + devices
                    + " devices of cluster.definition, found " + p.cluster().devices());
        }
        int perNode = cl.devicesPerNode();
        if (p.cluster().devicesPerNode() != perNode) {
            throw new PlanFormatException(pre + "cluster.devicesPerNode must be " + perNode
                    + " (the nodes of cluster.definition), found " + p.cluster().devicesPerNode());
        }
        String device = cl.device(0).name();
        if (!p.cluster().device().equals(device)) {
            throw new PlanFormatException(pre + "cluster.device must be " + device
                    + " (the first node of cluster.definition), found " + p.cluster().device());
        }
        if (p.options().zeroStage() < 0 || p.options().zeroStage() > 3) {
            throw new PlanFormatException(pre + "options.zeroStage must be 0, 1, 2 or 3, found "
                    + p.options().zeroStage());
        }
        try {
            org.shardplan.planner.pipeline.Schedules.of(p.schedule().name());
        } catch (IllegalArgumentException e) {
            throw new PlanFormatException(pre + "schedule.name: " + e.getMessage(), e);
        }
        requireStages(p, pre, devices);
        if (!derived || p.stages().size() > 1) {
            // a pipeline's nodes split their stage's devices and its step time is the schedule's, not a
            // sum over the nodes: those are checked by re-costing (evaluate)
            return p;
        }
        Set<String> names = new HashSet<>();
        double seconds = 0;
        double communication = 0;
        double compute = 0;
        double memory = 0;
        for (PlanNode n : p.nodes()) {
            String at = pre + "node '" + n.name() + "': ";
            if (!names.add(n.name())) {
                throw new PlanFormatException(pre + "node names must be unique, found '" + n.name() + "' twice");
            }
            long product = 1;
            for (Map.Entry<String, Integer> f : n.strategy().entrySet()) {
                if (f.getValue() < 1 || f.getValue() > devices) {
                    throw new PlanFormatException(at + "strategy." + f.getKey() + " must be between 1 and the "
                            + devices + " devices, found " + f.getValue());
                }
                product *= f.getValue();
                if (product > devices) {
                    break;
                }
            }
            if (product > devices || devices % product != 0) {
                throw new PlanFormatException(at + "the product of the split factors " + n.strategy()
                        + " must divide the " + devices + " devices, found " + product);
            }
            if (n.devices() != product) {
                throw new PlanFormatException(at + "devices must be the product of the split factors ("
                        + product + "), found " + n.devices());
            }
            Set<String> placed = new HashSet<>();
            long copies = 1;
            for (String d : n.placement()) {
                if (d.startsWith(Layout.COPIES)) {
                    // ~N: N copies of the split at that level (layers replicated inside a tensor-parallel group)
                    long c = copiesOf(d);
                    copies *= Math.min(c, devices + 1L);
                    if (c < 1 || c > devices || copies * product > devices || devices % (copies * product) != 0) {
                        throw new PlanFormatException(at + "placement entry " + d + " must be ~N with N copies "
                                + "that, times the split factors, divide the " + devices + " devices, found "
                                + n.placement());
                    }
                    continue;
                }
                if (!n.strategy().containsKey(d) || !placed.add(d)) {
                    throw new PlanFormatException(at + "placement must list split dimensions of " + n.strategy()
                            + " once each, found " + n.placement());
                }
            }
            long inside = 1;
            for (Map.Entry<String, Integer> f : n.intraNode().entrySet()) {
                Integer whole = n.strategy().get(f.getKey());
                if (whole == null || f.getValue() < 1 || whole % f.getValue() != 0) {
                    throw new PlanFormatException(at + "intraNode." + f.getKey() + " must divide the split factor "
                            + (whole == null ? "(none: not a split dimension)" : whole) + ", found " + f.getValue());
                }
                inside *= f.getValue();
            }
            if (inside > perNode || perNode % inside != 0) {
                throw new PlanFormatException(at + "the intraNode factors " + n.intraNode()
                        + " must divide the " + perNode + " devices of a node, found a product of " + inside);
            }
            seconds += n.seconds();
            communication += n.communicationSeconds();
            compute += n.computeSeconds();
            memory += n.memoryBytes();
        }
        PlanTotals t = p.totals();
        // the step is the sum over the nodes less the part of the gradient reduction hidden behind the backward
        // pass (at most the nodes' communication) plus the optimizer step that ends it
        double update = p.stages().isEmpty() ? 0 : p.stages().get(0).updateSeconds();
        double scale = Math.max(Math.abs(seconds + update), Math.abs(t.stepSeconds()));
        if (t.stepSeconds() > seconds + update + TOLERANCE * scale
                || t.stepSeconds() < seconds - communication + update - TOLERANCE * scale) {
            throw new PlanFormatException(pre + "totals.stepSeconds must be the sum over the nodes (" + seconds
                    + ") plus the optimizer step (" + update + "), less at most the nodes' communication (" + communication
                    + ") hidden behind the backward pass, found " + t.stepSeconds());
        }
        requireClose(pre + "totals.computeSeconds", compute, t.computeSeconds());
        requireClose(pre + "totals.peakMemoryBytesPerDevice", memory, t.peakMemoryBytesPerDevice());
        boolean fits = t.peakMemoryBytesPerDevice() <= t.memoryLimitBytes();
        if (t.fits() != fits) {
            throw new PlanFormatException(pre + "totals.fits must be " + fits + " (peak memory "
                    + t.peakMemoryBytesPerDevice() + " against the limit " + t.memoryLimitBytes() + "), found " + t.fits());
        }
        return p;
    }

    private static void requireClose(String what, double sum, double stored) throws PlanFormatException {
        double scale = Math.max(Math.abs(sum), Math.abs(stored));
        if (Math.abs(sum - stored) > TOLERANCE * scale) {
            throw new PlanFormatException(what + " must be the sum over the nodes (" + sum + "), found " + stored);
        }
    }

    /** N of a placement entry {@code ~N} ({@link Layout#copies}); 0 where N is not an integer >= 1. */
    private static long copiesOf(String entry) {
        try {
            return Layout.copies(entry);
        } catch (IllegalArgumentException e) {
            return 0;
        }
    }

    /**
     * The stages as the planner lays them out: {@code pipeline} equal, contiguous submeshes in order, stage {@code i}
     * on submesh {@code i mod pipeline} (an interleaved schedule's chunks come round again), indexed in order; every
     * node listed by exactly one stage, the one its {@code stage} field names.
     */
    private static void requireStages(Plan p, String pre, int devices) throws PlanFormatException {
        int pipes = p.parallelism().pipeline();
        int count = p.stages().size();
        if (devices % pipes != 0 || count % pipes != 0) {
            throw new PlanFormatException(pre + "parallelism.pipeline must divide the " + devices + " devices and the "
                    + count + " stages, found " + pipes);
        }
        int per = devices / pipes;
        Map<String, Integer> listed = new java.util.HashMap<>();
        for (int i = 0; i < count; i++) {
            Plan.Stage st = p.stages().get(i);
            if (st.index() != i) {
                throw new PlanFormatException(pre + "stages[" + i + "].index must be " + i + ", found " + st.index());
            }
            int first = (i % pipes) * per;
            if (st.firstDevice() != first || st.devices() != per) {
                throw new PlanFormatException(pre + "stages[" + i + "].devices must be [" + first + ", " + (first + per - 1)
                        + "] (submesh " + (i % pipes) + " of " + pipes + " equal ones), found [" + st.firstDevice() + ", "
                        + (st.firstDevice() + st.devices() - 1) + "]");
            }
            for (String n : st.nodes()) {
                Integer before = listed.put(n, i);
                if (before != null) {
                    throw new PlanFormatException(pre + "node '" + n + "' must be listed by one stage, found in stages "
                            + before + " and " + i);
                }
            }
        }
        for (PlanNode n : p.nodes()) {
            Integer at = listed.remove(n.name());
            if (at == null || at != n.stage()) {
                throw new PlanFormatException(pre + "node '" + n.name() + "' has stage " + n.stage() + " and must be listed"
                        + " by stages[" + n.stage() + "].nodes, found " + (at == null ? "in no stage" : "in stages[" + at
                        + "].nodes"));
            }
        }
        if (!listed.isEmpty()) {
            throw new PlanFormatException(pre + "stages list node(s) the plan has not: " + listed.keySet().stream()
                    .sorted().limit(3).toList());
        }
    }
}
