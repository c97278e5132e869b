package org.shardplan.runtime.stages;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.TensorEntry;

/**
 * Which ONNX nodes, initializers and tensors each pipeline stage holds.
 *
 * <p>A plan's stages list the planner's nodes (the coarse graph: element-wise chains fused into their
 * producer, shape arithmetic folded). Every ONNX node is placed as follows: a node the plan names (or
 * whose output a named node of the imported graph writes) goes to that stage; any other node goes to the
 * latest stage among the producers of its inputs (so a fused activation or a residual Add follows its
 * producer), and a node that reads no computed tensor (a {@code Constant}, shape arithmetic on weights)
 * is copied into every stage that reads its outputs. A stage's inputs are the tensors it reads that
 * earlier stages or the model's inputs provide; its outputs are the tensors later stages read and the
 * model outputs it computes. Running time: linear in the nodes and their inputs.
 *
 * @param stages the stages in order
 */
public record StageSplit(List<Stage> stages) {

    /**
     * One stage.
     *
     * @param index        position in the pipeline
     * @param nodes        its nodes in the model's order
     * @param initializers names of the initializers its nodes read
     * @param inputs       tensors it receives, in first-use order
     * @param outputs      tensors it sends on (to later stages or out of the model)
     */
    public record Stage(int index, List<NodeEntry> nodes, List<String> initializers, List<String> inputs,
            List<String> outputs) {
        public Stage {
            nodes = List.copyOf(nodes);
            initializers = List.copyOf(initializers);
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    public StageSplit {
        stages = List.copyOf(stages);
    }

    /**
     * Splits {@code model} after {@code stageNodes}, the node names of each stage (a plan's);
     * {@code alias} maps tensor names to the name the importer gave their producer, for nodes the model
     * leaves unnamed (it may be empty).
     *
     * @throws IllegalArgumentException when a named node would read a tensor of a later stage, when a
     *         plan's node is not in the model, or when a stage would be empty
     */
    public static StageSplit of(ModelFile model, List<List<String>> stageNodes, Map<String, String> alias) {
        int p = stageNodes.size();
        if (p < 1) {
            throw new IllegalArgumentException("a split needs at least one stage, found none");
        }
        Map<String, Integer> named = new HashMap<>();
        for (int s = 0; s < p; s++) {
            for (String n : stageNodes.get(s)) {
                named.put(n, s);
            }
        }
        Set<String> present = new HashSet<>();
        model.nodes().forEach(n -> present.add(n.name()));
        Map<String, String> owners = owners(model.nodes());
        Set<String> parts = new HashSet<>();
        for (Map.Entry<String, Integer> e : new ArrayList<>(named.entrySet())) {
            String owner = present.contains(e.getKey()) ? null : owner(e.getKey(), owners);
            if (owner != null) {
                // a part of a node the importer rewrote (a loop unrolled, a sequence lowered): the node runs where
                // its last part does
                named.merge(owner, e.getValue(), Math::max);
                parts.add(e.getKey());
            }
        }
        Set<String> initializers = new HashSet<>();
        for (TensorEntry t : model.initializers()) {
            initializers.add(t.name());
        }
        List<NodeEntry> nodes = model.nodes();
        // what each node reads: its inputs and the values its subgraphs take from the graph around them
        List<List<String>> reads = new ArrayList<>(nodes.size());
        for (NodeEntry n : nodes) {
            List<String> captured = n.capturedInputs();
            if (captured.isEmpty()) {
                reads.add(n.inputs());
            } else {
                List<String> all = new ArrayList<>(n.inputs());
                all.addAll(captured);
                reads.add(all);
            }
        }
        Set<String> matched = new HashSet<>();
        Map<String, Integer> producer = new HashMap<>();
        int[] stageOf = new int[nodes.size()];
        boolean[] free = new boolean[nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            NodeEntry n = nodes.get(i);
            Integer s = named.get(n.name());
            if (s != null) {
                matched.add(n.name());
            } else {
                for (String o : n.outputs()) {
                    String a = alias.get(o);
                    if (s == null && a != null && named.containsKey(a)) {
                        s = named.get(a);
                        matched.add(a);
                    }
                }
            }
            int latest = -1;
            String latestInput = null;
            for (String in : reads.get(i)) {
                Integer from = producer.get(in);
                if (from != null && from > latest) {
                    latest = from;
                    latestInput = in;
                }
            }
            boolean readsComputed = false;
            for (String in : reads.get(i)) {
                if (!in.isEmpty() && !initializers.contains(in)) {
                    readsComputed = true;
                }
            }
            if (s == null) {
                if (!readsComputed) {
                    free[i] = true;
                    s = -1;
                } else {
                    s = Math.max(0, latest);
                }
            } else if (latest > s) {
                throw new IllegalArgumentException("node " + label(n) + " is in stage " + s + " but reads " + latestInput
                        + ", computed in the later stage " + latest);
            }
            stageOf[i] = s;
            for (String o : n.outputs()) {
                if (!o.isEmpty() && s >= 0) {
                    producer.put(o, s);
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (List<String> names : stageNodes) {
            for (String n : names) {
                if (!matched.contains(n) && !parts.contains(n)) {
                    missing.add(n);
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("the plan's stages name " + missing.size() + " node(s) the model does not have: "
                    + abbreviate(missing) + " (was the plan made for this model?)");
        }
        // a free node (no computed input) goes into every stage that reads it, directly or through other free nodes
        Map<String, Integer> freeProducer = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            if (free[i]) {
                for (String o : nodes.get(i).outputs()) {
                    freeProducer.put(o, i);
                }
            }
        }
        List<Set<Integer>> copies = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            copies.add(new HashSet<>());
        }
        for (int i = 0; i < nodes.size(); i++) {
            if (!free[i]) {
                for (String in : reads.get(i)) {
                    pullFree(in, stageOf[i], reads, freeProducer, copies);
                }
            }
        }
        Set<String> modelInputs = new LinkedHashSet<>();
        model.inputs().forEach(v -> {
            if (!initializers.contains(v.name())) {
                modelInputs.add(v.name());
            }
        });
        Set<String> modelOutputs = new LinkedHashSet<>();
        model.outputs().forEach(v -> modelOutputs.add(v.name()));

        List<Stage> stages = new ArrayList<>();
        for (int s = 0; s < p; s++) {
            List<NodeEntry> mine = new ArrayList<>();
            List<Integer> mineAt = new ArrayList<>();
            Set<String> produced = new HashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (stageOf[i] == s || free[i] && copies.get(s).contains(i)) {
                    mine.add(nodes.get(i));
                    mineAt.add(i);
                    produced.addAll(nodes.get(i).outputs());
                }
            }
            if (mine.isEmpty()) {
                throw new IllegalArgumentException("stage " + s + " must hold at least one of the model's nodes, found none"
                        + " (its plan nodes: " + abbreviate(stageNodes.get(s)) + ")");
            }
            Set<String> inits = new LinkedHashSet<>();
            Set<String> inputs = new LinkedHashSet<>();
            for (int i : mineAt) {
                for (String in : reads.get(i)) {
                    if (in.isEmpty()) {
                        continue;
                    }
                    if (initializers.contains(in)) {
                        inits.add(in);
                    } else if (!produced.contains(in)) {
                        inputs.add(in);
                    }
                }
            }
            Set<String> outputs = new LinkedHashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (stageOf[i] > s) {
                    for (String in : reads.get(i)) {
                        if (produced.contains(in) && !(freeProducer.containsKey(in))) {
                            outputs.add(in);
                        }
                    }
                }
            }
            for (String o : modelOutputs) {
                if (produced.contains(o) && producer.getOrDefault(o, -1) == s) {
                    outputs.add(o);
                }
            }
            stages.add(new Stage(s, mine, new ArrayList<>(inits), new ArrayList<>(inputs), new ArrayList<>(outputs)));
        }
        return new StageSplit(stages);
    }

    private static void pullFree(String value, int stage, List<List<String>> reads, Map<String, Integer> freeProducer,
            List<Set<Integer>> copies) {
        Integer i = freeProducer.get(value);
        if (i == null || !copies.get(stage).add(i)) {
            return;
        }
        for (String in : reads.get(i)) {
            pullFree(in, stage, reads, freeProducer, copies);
        }
    }

    /** Tensors the stages pass on: for each stage, the names it receives from earlier stages or the model's inputs. */
    public List<String> passed(int stage) {
        return stages.get(stage).inputs();
    }

    private static String label(NodeEntry n) {
        return (n.name().isEmpty() ? "(unnamed)" : n.name()) + " (" + n.opType() + ")";
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 3 ? names.toString() : names.subList(0, 3) + " and " + (names.size() - 3) + " more";
    }

    /** Each named node's name and each of its outputs' names, to the node's name (for {@link #owner}). */
    public static Map<String, String> owners(List<NodeEntry> nodes) {
        Map<String, String> r = new HashMap<>();
        for (NodeEntry n : nodes) {
            if (n.name().isEmpty()) {
                continue; // an unnamed node owns nothing by name: its outputs are matched as they are
            }
            for (String o : n.outputs()) {
                if (!o.isEmpty()) {
                    r.putIfAbsent(o, n.name());
                }
            }
        }
        for (NodeEntry n : nodes) {
            if (!n.name().isEmpty()) {
                r.put(n.name(), n.name());
            }
        }
        return r;
    }

    /**
     * The node that {@code name} is a part of: the importer names the nodes it makes of one (a loop's unrolled
     * body {@code loop/iterT/node}, a lowered sequence's {@code concat/unsqueeze} or {@code sequence/split/const},
     * an inlined function's {@code call/node}) by that node's name or its output's, a slash and more. The longest
     * such prefix that {@code owners} ({@link #owners}) knows, as the node it names; null where there is none.
     */
    public static String owner(String name, Map<String, String> owners) {
        for (int cut = name.lastIndexOf('/'); cut > 0; cut = name.lastIndexOf('/', cut - 1)) {
            String node = owners.get(name.substring(0, cut));
            if (node != null) {
                return node;
            }
        }
        return null;
    }
}
