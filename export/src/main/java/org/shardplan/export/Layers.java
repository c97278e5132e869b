package org.shardplan.export;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;

/**
 * The repeated layers of a model (a transformer's blocks) and how a plan's pipeline stages hold them,
 * as engines that split pipelines by layers (Megatron-LM's layout string, torchtitan's module lists)
 * need them. The layers are the instances of the largest class of repeated blocks of the coarse graph
 * (most nodes in all instances), extended by the runs of nodes just before and after them whose
 * operators repeat the block's (a first layer that coarsening could not match because its input is the
 * embedding's sum). Nodes before the first layer are the embedding part, nodes after the last the
 * output part. O(nodes).
 *
 * @param ranges per layer, the first and last coarse-node index it spans, in model order
 * @param firstNames per layer, the name of its first coarse node
 */
public record Layers(List<int[]> ranges, List<String> firstNames) {

    public Layers {
        ranges = List.copyOf(ranges);
        firstNames = List.copyOf(firstNames);
    }

    /** The number of layers. */
    public int count() {
        return ranges.size();
    }

    /** The layers of the coarse graph; empty when it has no repeated blocks. */
    public static Layers of(CoarseGraph cg) {
        Optional<BlockClass> best = cg.blockClasses().stream()
                .max(Comparator.comparingLong(c -> (long) c.count() * c.blockSize()));
        if (best.isEmpty()) {
            return new Layers(List.of(), List.of());
        }
        BlockClass bc = best.get();
        List<int[]> r = new ArrayList<>();
        for (List<CoarseNode> inst : bc.instances()) {
            int lo = Integer.MAX_VALUE;
            int hi = -1;
            for (CoarseNode n : inst) {
                lo = Math.min(lo, n.index());
                hi = Math.max(hi, n.index());
            }
            r.add(new int[] {lo, hi});
        }
        r.sort(Comparator.comparingInt(x -> x[0]));
        int span = r.get(0)[1] - r.get(0)[0] + 1;
        List<String> ops = new ArrayList<>();
        for (int i = r.get(0)[0]; i <= r.get(0)[1]; i++) {
            ops.add(cg.node(i).opType());
        }
        // a layer just before the first (or after the last) with the same operators in the same order
        while (r.get(0)[0] - span >= 0 && sameOps(cg, r.get(0)[0] - span, ops)) {
            r.add(0, new int[] {r.get(0)[0] - span, r.get(0)[0] - 1});
        }
        while (r.get(r.size() - 1)[1] + span < cg.nodes().size() && sameOps(cg, r.get(r.size() - 1)[1] + 1, ops)) {
            int lo = r.get(r.size() - 1)[1] + 1;
            r.add(new int[] {lo, lo + span - 1});
        }
        List<String> names = new ArrayList<>();
        r.forEach(x -> names.add(cg.node(x[0]).name()));
        return new Layers(r, names);
    }

    private static boolean sameOps(CoarseGraph cg, int from, List<String> ops) {
        for (int j = 0; j < ops.size(); j++) {
            if (!cg.node(from + j).opType().equals(ops.get(j))) {
                return false;
            }
        }
        return true;
    }

    /**
     * What one pipeline stage holds.
     *
     * @param embedding whether it holds the nodes before the first layer
     * @param layers the number of whole layers it holds
     * @param output whether it holds the nodes after the last layer
     */
    public record StageLayers(boolean embedding, int layers, boolean output) {
    }

    /**
     * Which layers each stage of the plan holds, in stage order.
     *
     * @throws ExportException naming the stage and node where a stage boundary falls inside a layer
     */
    public List<StageLayers> perStage(Plan plan, CoarseGraph cg, String format) throws ExportException {
        Map<String, Integer> stageOf = new HashMap<>();
        for (PlanNode n : plan.nodes()) {
            stageOf.put(n.name(), n.stage());
        }
        int[] stage = new int[cg.nodes().size()];
        for (CoarseNode n : cg.nodes()) {
            stage[n.index()] = stageOf.getOrDefault(n.name(), 0);
        }
        int s = plan.stages().size();
        int[] count = new int[s];
        boolean[] emb = new boolean[s];
        boolean[] out = new boolean[s];
        if (ranges.isEmpty()) {
            if (s > 1) {
                throw new ExportException(format + ": the model has no repeated layers, and " + format
                        + " splits a pipeline between layers");
            }
            return List.of(new StageLayers(true, 0, true));
        }
        for (int i = 0; i < ranges.size(); i++) {
            int[] r = ranges.get(i);
            if (stage[r[0]] != stage[r[1]]) {
                int k = r[0];
                while (stage[k] == stage[r[0]]) {
                    k++;
                }
                throw new ExportException(format + ": stage " + stage[k] + " begins inside layer " + i + ", at node '"
                        + cg.node(k).name() + "' (the layer begins at '" + cg.node(r[0]).name() + "'); " + format
                        + " splits a pipeline between layers");
            }
            count[stage[r[0]]]++;
        }
        int first = ranges.get(0)[0];
        int last = ranges.get(ranges.size() - 1)[1];
        for (int i = 0; i < cg.nodes().size(); i++) {
            if (i < first) {
                emb[stage[i]] = true;
                if (stage[i] != stage[first] && stage[i] != 0) {
                    throw new ExportException(format + ": stage " + stage[i] + " holds '" + cg.node(i).name()
                            + "' before the first layer apart from stage 0; " + format + " keeps the embedding on the first stage");
                }
            } else if (i > last) {
                out[stage[i]] = true;
            }
        }
        List<StageLayers> r = new ArrayList<>();
        for (int i = 0; i < s; i++) {
            r.add(new StageLayers(emb[i], count[i], out[i]));
        }
        return r;
    }
}
