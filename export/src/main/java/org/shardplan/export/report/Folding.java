package org.shardplan.export.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.planner.PlanNode;

/**
 * Plan nodes folded for display: the nodes of repeated blocks (names alike but for their numbers, the
 * same operator, layout, stage and cost) become one row "x N". O(nodes).
 */
public final class Folding {
    private Folding() {
    }

    /**
     * One row: a node, or {@code count} nodes alike.
     *
     * @param label the node's name, or the shared name pattern with {@code #} for numbers and "x N"
     * @param first the first node of the row (its figures are every node's)
     * @param count how many nodes the row stands for
     * @param firstStage the lowest pipeline stage of the row's nodes
     * @param lastStage the highest
     * @param minMemoryBytes the least memory per device of the row's nodes (activations held depend on the stage)
     * @param maxMemoryBytes the most
     */
    public record Row(String label, PlanNode first, int count, int firstStage, int lastStage, double minMemoryBytes,
            double maxMemoryBytes) {
        /** The stages as text: {@code 3}, or {@code 1-15}. */
        public String stages() {
            return firstStage == lastStage ? Integer.toString(firstStage) : firstStage + "-" + lastStage;
        }

        /** Compute of all the row's nodes. */
        public double computeSeconds() {
            return first.computeSeconds() * count;
        }

        /** Communication of all the row's nodes. */
        public double communicationSeconds() {
            return first.communicationSeconds() * count;
        }
    }

    /** The rows, in order of each row's first node; every node on its own with {@code all}. */
    public static List<Row> rows(List<PlanNode> nodes, boolean all) {
        List<Row> r = new ArrayList<>();
        if (all) {
            nodes.forEach(n -> r.add(new Row(n.name(), n, 1, n.stage(), n.stage(), n.memoryBytes(), n.memoryBytes())));
            return r;
        }
        Map<String, List<PlanNode>> groups = new LinkedHashMap<>();
        for (PlanNode n : nodes) {
            String key = pattern(n.name()) + "|" + n.op() + "|" + n.strategy() + "|" + n.placement() + "|"
                    + Math.round(n.computeSeconds() * 1e9) + "|" + Math.round(n.communicationSeconds() * 1e9);
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(n);
        }
        for (List<PlanNode> g : groups.values()) {
            PlanNode n = g.get(0);
            int lo = g.stream().mapToInt(PlanNode::stage).min().orElse(0);
            int hi = g.stream().mapToInt(PlanNode::stage).max().orElse(0);
            double mlo = g.stream().mapToDouble(PlanNode::memoryBytes).min().orElse(0);
            double mhi = g.stream().mapToDouble(PlanNode::memoryBytes).max().orElse(0);
            r.add(new Row(g.size() == 1 ? n.name() : label(g) + " x " + g.size(), n, g.size(), lo, hi, mlo, mhi));
        }
        return r;
    }

    /** The names' shared pattern: each number that differs among them replaced by {@code #}, the others kept. */
    static String label(List<PlanNode> g) {
        List<List<String>> toks = new ArrayList<>();
        for (PlanNode n : g) {
            List<String> t = new ArrayList<>();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("[0-9]+|[^0-9]+").matcher(n.name());
            while (m.find()) {
                t.add(m.group());
            }
            toks.add(t);
        }
        StringBuilder b = new StringBuilder();
        List<String> first = toks.get(0);
        for (int i = 0; i < first.size(); i++) {
            boolean same = true;
            for (List<String> t : toks) {
                same &= t.size() == first.size() && t.get(i).equals(first.get(i));
            }
            b.append(same ? first.get(i) : "#");
        }
        return b.toString();
    }

    /** The name with every number replaced by {@code #}. */
    static String pattern(String name) {
        return name.replaceAll("[0-9]+", "#");
    }
}
