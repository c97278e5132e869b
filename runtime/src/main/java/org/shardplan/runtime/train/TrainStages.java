package org.shardplan.runtime.train;

import org.shardplan.onnx.edit.NodeEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Splits a {@link TrainModel} into consecutive {@link StageProgram}s that pass one tensor across each cut. */
public final class TrainStages {

    private TrainStages() {}

    /**
     * Stages from a stage index per node (in the model's node order); indices must not decrease along
     * the order and must cover 0..P-1. Each stage must receive exactly one tensor (the model input for
     * the first) and send one on. Running time: linear in the nodes and their inputs.
     */
    public static List<StageProgram> of(TrainModel model, int[] stageOf) {
        List<NodeEntry> nodes = model.nodes();
        if (stageOf.length != nodes.size()) {
            throw new IllegalArgumentException("stage assignment must give one stage per node (" + nodes.size()
                    + "), found " + stageOf.length);
        }
        int p = 0;
        for (int i = 0; i < stageOf.length; i++) {
            if (i > 0 && stageOf[i] < stageOf[i - 1]) {
                throw new IllegalArgumentException("node " + nodes.get(i).name() + " is in stage " + stageOf[i]
                        + " after a node of stage " + stageOf[i - 1] + ": stages must follow the node order");
            }
            p = Math.max(p, stageOf[i] + 1);
        }
        Map<String, Integer> producer = new HashMap<>();
        producer.put(model.input(), -1);
        for (int i = 0; i < nodes.size(); i++) {
            for (String o : nodes.get(i).outputs()) {
                producer.put(o, stageOf[i]);
            }
        }
        List<StageProgram> stages = new ArrayList<>();
        String received = model.input();
        for (int s = 0; s < p; s++) {
            List<NodeEntry> mine = new ArrayList<>();
            Set<String> params = new LinkedHashSet<>();
            Set<String> inputs = new LinkedHashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (stageOf[i] != s) {
                    continue;
                }
                mine.add(nodes.get(i));
                for (String in : nodes.get(i).inputs()) {
                    if (in.isEmpty()) {
                        continue;
                    }
                    if (model.parameters().containsKey(in)) {
                        params.add(in);
                    } else if (producer.getOrDefault(in, s) != s) {
                        inputs.add(in);
                    }
                }
            }
            if (mine.isEmpty()) {
                throw new IllegalArgumentException("stage " + s + " must hold at least one node, found none");
            }
            if (inputs.size() != 1 || !inputs.contains(received)) {
                throw new IllegalArgumentException("stage " + s + " must read exactly the one tensor its predecessor sends ("
                        + received + "), found " + inputs);
            }
            Set<String> sent = new LinkedHashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (stageOf[i] > s) {
                    for (String in : nodes.get(i).inputs()) {
                        Integer from = producer.get(in);
                        if (from != null && from == s) {
                            sent.add(in);
                        }
                        if (from != null && from < s && from >= 0) {
                            throw new IllegalArgumentException("node " + nodes.get(i).name() + " of stage " + stageOf[i]
                                    + " reads " + in + " from stage " + from + ", which skips a stage");
                        }
                    }
                }
            }
            if (s == p - 1) {
                if (producer.getOrDefault(model.output(), -2) != s) {
                    throw new IllegalArgumentException("the last stage must compute the model output " + model.output());
                }
                sent.add(model.output());
            }
            if (sent.size() != 1) {
                throw new IllegalArgumentException("stage " + s + " must send exactly one tensor on, found " + sent);
            }
            String out = sent.iterator().next();
            Map<String, long[]> constants = new HashMap<>();
            for (NodeEntry e : mine) {
                for (String in : e.inputs()) {
                    if (model.constants().containsKey(in)) {
                        constants.put(in, model.constants().get(in));
                    }
                }
            }
            stages.add(new StageProgram(mine, received, out, new ArrayList<>(params), constants));
            received = out;
        }
        return stages;
    }

    /**
     * {@code p} stages of about equal parameter counts, cut only where one tensor crosses: the cut
     * after node i is placed where the parameters before it come closest to k/p of the total.
     * Running time: O(n * p) for n nodes.
     */
    public static List<StageProgram> even(TrainModel model, int p) {
        List<NodeEntry> nodes = model.nodes();
        int n = nodes.size();
        if (p < 1 || p > n) {
            throw new IllegalArgumentException("stages must be between 1 and the node count " + n + ", found " + p);
        }
        long[] prefix = new long[n + 1];
        for (int i = 0; i < n; i++) {
            long c = 0;
            for (String in : nodes.get(i).inputs()) {
                TrainModel.Param w = model.parameters().get(in);
                if (w != null) {
                    c += w.values().length;
                }
            }
            prefix[i + 1] = prefix[i] + c;
        }
        // a cut after node i (1 <= i < n) is valid when only node i's output is read afterwards
        boolean[] valid = new boolean[n];
        for (int i = 1; i < n; i++) {
            Set<String> live = new LinkedHashSet<>();
            Set<String> produced = new LinkedHashSet<>();
            produced.add(model.input());
            for (int j = 0; j < i; j++) {
                produced.addAll(nodes.get(j).outputs());
            }
            for (int j = i; j < n; j++) {
                for (String in : nodes.get(j).inputs()) {
                    if (produced.contains(in)) {
                        live.add(in);
                    }
                }
            }
            valid[i] = live.size() == 1 && nodes.get(i - 1).outputs().containsAll(live);
        }
        int[] stageOf = new int[n];
        int last = 0;
        for (int k = 1; k < p; k++) {
            double target = prefix[n] * (double) k / p;
            int best = -1;
            for (int i = last + 1; i <= n - (p - k); i++) {
                if (valid[i] && (best < 0 || Math.abs(prefix[i] - target) < Math.abs(prefix[best] - target))) {
                    best = i;
                }
            }
            if (best < 0) {
                throw new IllegalArgumentException("the model has no place for cut " + k + " of " + (p - 1)
                        + " where one tensor crosses");
            }
            for (int i = best; i < n; i++) {
                stageOf[i] = k;
            }
            last = best;
        }
        return of(model, stageOf);
    }

    /** Stages from node names per stage (a plan's stages); nodes the lists leave out join their producer's stage. */
    public static List<StageProgram> named(TrainModel model, List<List<String>> stageNodes) {
        List<NodeEntry> nodes = model.nodes();
        Set<String> present = new java.util.HashSet<>();
        nodes.forEach(n -> present.add(n.name()));
        Map<String, String> owners = org.shardplan.runtime.stages.StageSplit.owners(nodes);
        Map<String, Integer> where = new HashMap<>();
        List<String> missing = new java.util.ArrayList<>();
        for (int s = 0; s < stageNodes.size(); s++) {
            for (String name : stageNodes.get(s)) {
                // a part of a node the importer rewrote runs with that node, in the stage of its last part
                String owner = present.contains(name) ? name : org.shardplan.runtime.stages.StageSplit.owner(name, owners);
                if (owner == null) {
                    missing.add(name);
                } else {
                    where.merge(owner, s, Math::max);
                }
            }
        }
        missing.sort(null);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("the plan's stages name " + missing.size() + " node(s) the model does not have, "
                    + "such as " + missing.get(0) + " (was the plan made for this model?)");
        }
        int[] stageOf = new int[nodes.size()];
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            Integer s = where.get(nodes.get(i).name());
            if (s == null) {
                int max = 0;
                for (String in : nodes.get(i).inputs()) {
                    max = Math.max(max, producer.getOrDefault(in, 0));
                }
                s = max;
            }
            stageOf[i] = s;
            for (String o : nodes.get(i).outputs()) {
                producer.put(o, s);
            }
        }
        return of(model, stageOf);
    }
}
