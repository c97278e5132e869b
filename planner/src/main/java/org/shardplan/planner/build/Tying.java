package org.shardplan.planner.build;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.solver.Problem;

/**
 * The problem in which every instance of a repeated block ({@link BlockClass}: the layers of a
 * transformer, the identical blocks of a ResNet stage) takes the same layouts: the instances' nodes
 * merge into one representative per block position, whose cost and memory are the instances' sums;
 * edges are mapped onto the representatives (edges between two instances of the same position,
 * which would join a representative to itself, become the diagonal of their matrix added to its node
 * cost, since both ends take the same layout). A solution of the tied problem expands to a solution of
 * the full problem with the same objective, so planning a 96-layer model costs about as much as
 * planning one layer. Positions whose instances do not share their candidate list stay untied.
 * O(nodes · layouts + edges · layouts²).
 *
 * @param problem the tied problem
 * @param representative for each node of the full problem, its node in the tied problem
 * @param tiedNodes how many full-problem nodes were merged away
 */
public record Tying(Problem problem, int[] representative, int tiedNodes) {

    /** Ties the block classes of a built problem. */
    public static Tying of(ProblemBuilder.Built b) {
        int n = b.units().size();
        int[] rep = new int[n];
        for (int i = 0; i < n; i++) {
            rep[i] = i;
        }
        for (BlockClass bc : b.coarse().blockClasses()) {
            List<CoarseNode> first = bc.instances().get(0);
            for (int j = 0; j < bc.blockSize(); j++) {
                int r = first.get(j).index();
                boolean same = true;
                for (List<CoarseNode> inst : bc.instances()) {
                    same &= b.units().get(inst.get(j).index()).layouts().equals(b.units().get(r).layouts());
                }
                if (!same) {
                    continue;
                }
                for (List<CoarseNode> inst : bc.instances()) {
                    rep[inst.get(j).index()] = r;
                }
            }
        }
        Map<Integer, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            if (rep[i] == i) {
                index.put(i, index.size());
            }
        }
        int[] map = new int[n];
        for (int i = 0; i < n; i++) {
            map[i] = index.get(rep[i]);
        }
        int m = index.size();
        double[][] cost = new double[m][];
        double[][] mem = new double[m][];
        List<List<String>> labels = new ArrayList<>();
        String[] names = new String[m];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(i);
            int t = map[i];
            int k = u.layouts().size();
            if (cost[t] == null) {
                cost[t] = new double[k];
                mem[t] = new double[k];
                names[t] = u.name();
                List<String> ls = new ArrayList<>();
                u.layouts().forEach(l -> ls.add(l.label()));
                labels.add(ls);
            }
            for (int s = 0; s < k; s++) {
                cost[t][s] += u.costs().get(s).seconds();
                mem[t][s] += u.costs().get(s).memoryBytes();
            }
        }
        Map<Long, double[]> edges = new LinkedHashMap<>();
        Map<Long, int[]> dims = new HashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            int f = map[l.from()];
            int t = map[l.to()];
            int cols = b.units().get(l.to()).layouts().size();
            if (f == t) {
                for (int s = 0; s < cols; s++) {
                    cost[f][s] += l.seconds()[s * cols + s];
                }
                continue;
            }
            long key = (long) f * m + t;
            double[] acc = edges.computeIfAbsent(key, x -> new double[l.seconds().length]);
            for (int x = 0; x < acc.length; x++) {
                acc[x] += l.seconds()[x];
            }
            dims.put(key, new int[] {f, t, b.units().get(l.from()).layouts().size(), cols});
        }
        List<Problem.Node> nodes = new ArrayList<>();
        for (int t = 0; t < m; t++) {
            nodes.add(new Problem.Node(names[t], cost[t], labels.get(t), mem[t]));
        }
        List<Problem.Edge> pe = new ArrayList<>();
        for (Map.Entry<Long, double[]> e : edges.entrySet()) {
            int[] d = dims.get(e.getKey());
            pe.add(new Problem.Edge(d[0], d[1], d[2], d[3], e.getValue()));
        }
        return new Tying(new Problem(b.problem().name() + " (blocks tied)", nodes, pe, b.problem().memoryLimit()), map,
                n - m);
    }

    /** The full problem's assignment of a tied assignment. */
    public int[] expand(int[] tiedChoices) {
        int[] r = new int[representative.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = tiedChoices[representative[i]];
        }
        return r;
    }

    @Override
    public int[] representative() {
        return representative.clone();
    }
}
