package org.shardplan.planner.build;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.planner.solver.Problem;
import org.shardplan.planner.strategy.Layout;

/**
 * The strategy problem of one pipeline stage: the nodes {@code [from, to)} of a built problem (in
 * coarse-graph order), their costs weighed by a {@link ProblemBuilder.Repeat} (micro-batch work
 * times the weight, the gradient reduction once, the activations of the micro-batches in flight),
 * the candidates a filter allows, and every instance of a repeated block that lies wholly inside
 * the range tied to one set of layouts as {@link Tying} does for the whole model. Edges leaving the
 * range are not part of it (they are the stage's point-to-point transfers). A solution expands to
 * one layout index per node of the range.
 *
 * <p>O(range nodes · layouts + range edges · layouts²).
 *
 * @param problem the tied, filtered problem of the stage
 * @param from first node of the range
 * @param representative for each node of the range, its node in {@code problem}
 * @param candidates for each node of {@code problem}, the original layout index of each of its strategies
 */
public record StageProblem(Problem problem, int from, int[] representative, int[][] candidates) {

    /** Which layouts of a node may be chosen. */
    @FunctionalInterface
    public interface Filter {
        /** Whether layout {@code layout} of unit {@code unit} is allowed. */
        boolean allows(ProblemBuilder.Unit unit, int layout);

        /** Every layout. */
        Filter ALL = (u, k) -> true;
    }

    /**
     * The stage problem of nodes {@code [from, to)} of {@code b}, weighed by {@code r}, with the
     * memory limit {@code limit} (empty: none); {@code tie} ties the repeated blocks inside the range.
     *
     * @throws IllegalArgumentException when the filter leaves a node without a candidate, naming it
     */
    public static StageProblem of(ProblemBuilder.Built b, int from, int to, ProblemBuilder.Repeat r, Filter filter,
            OptionalDouble limit, boolean tie) {
        int n = to - from;
        if (from < 0 || to > b.units().size() || n <= 0) {
            throw new IllegalArgumentException("stage range must be a non-empty part of 0.." + b.units().size()
                    + ", found " + from + ".." + to);
        }
        int[] allowedCount = new int[n];
        int[][] allowed = new int[n][];
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(from + i);
            int[] a = new int[u.layouts().size()];
            int c = 0;
            for (int k = 0; k < a.length; k++) {
                if (filter.allows(u, k)) {
                    a[c++] = k;
                }
            }
            if (c == 0) {
                throw new IllegalArgumentException("node '" + u.name() + "' has no candidate layout left under the"
                        + " fixed parallelism degrees");
            }
            allowed[i] = Arrays.copyOf(a, c);
            allowedCount[i] = c;
        }
        int[] rep = new int[n];
        for (int i = 0; i < n; i++) {
            rep[i] = i;
        }
        for (BlockClass bc : tie ? b.coarse().blockClasses() : List.<BlockClass>of()) {
            List<List<CoarseNode>> inside = new ArrayList<>();
            for (List<CoarseNode> inst : bc.instances()) {
                boolean in = true;
                for (CoarseNode c : inst) {
                    in &= c.index() >= from && c.index() < to;
                }
                if (in) {
                    inside.add(inst);
                }
            }
            if (inside.size() < 2) {
                continue;
            }
            for (int j = 0; j < bc.blockSize(); j++) {
                int r0 = inside.get(0).get(j).index() - from;
                boolean same = true;
                for (List<CoarseNode> inst : inside) {
                    int x = inst.get(j).index() - from;
                    same &= b.units().get(x + from).layouts().equals(b.units().get(r0 + from).layouts())
                            && Arrays.equals(allowed[x], allowed[r0]);
                }
                if (same) {
                    for (List<CoarseNode> inst : inside) {
                        rep[inst.get(j).index() - from] = r0;
                    }
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
        double w = r.microBatchWeight();
        double[][] cost = new double[m][];
        double[][] mem = new double[m][];
        int[][] cand = new int[m][];
        String[] names = new String[m];
        List<List<String>> labels = new ArrayList<>(java.util.Collections.nCopies(m, (List<String>) null));
        for (int i = 0; i < n; i++) {
            ProblemBuilder.Unit u = b.units().get(from + i);
            int t = map[i];
            int[] a = allowed[i];
            if (cost[t] == null) {
                cost[t] = new double[a.length];
                mem[t] = new double[a.length];
                cand[t] = a;
                names[t] = u.name();
                String[] all = b.labels(u.layouts());
                List<String> ls = new ArrayList<>(a.length);
                for (int k : a) {
                    ls.add(all[k]);
                }
                labels.set(t, ls);
            }
            for (int s = 0; s < a.length; s++) {
                ProblemBuilder.Cost c = u.costs().get(a[s]);
                cost[t][s] += w * (c.microComputeSeconds() + c.microCommunicationSeconds()) + r.gradientWeight() * c.gradientSeconds();
                mem[t][s] += c.parameterBytes() + r.activationCopies() * c.activationBytes();
            }
        }
        Map<Long, double[]> edges = new LinkedHashMap<>();
        Map<Long, int[]> dims = new HashMap<>();
        for (ProblemBuilder.Link l : b.links()) {
            if (l.from() < from || l.from() >= to || l.to() < from || l.to() >= to) {
                continue;
            }
            int fi = l.from() - from;
            int ti = l.to() - from;
            int f = map[fi];
            int t = map[ti];
            int cols = b.units().get(l.to()).layouts().size();
            int[] ra = allowed[fi];
            int[] ca = allowed[ti];
            if (f == t) {
                for (int s = 0; s < ra.length; s++) {
                    cost[f][s] += w * l.seconds()[ra[s] * cols + ra[s]];
                }
                continue;
            }
            long key = (long) f * m + t;
            double[] acc = edges.computeIfAbsent(key, x -> new double[ra.length * ca.length]);
            // the same sums as acc[s * nc + q] += w * seconds[ra[s] * cols + ca[q]], the invariants out of the
            // inner loop (the quick compiler the planner runs on does not move them)
            double[] seconds = l.seconds();
            int nc = ca.length;
            for (int s = 0; s < ra.length; s++) {
                int out = s * nc;
                int in = ra[s] * cols;
                for (int q = 0; q < nc; q++) {
                    acc[out + q] += w * seconds[in + ca[q]];
                }
            }
            dims.put(key, new int[] {f, t, ra.length, ca.length});
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
        return new StageProblem(new Problem(b.name() + " [" + from + ".." + to + ")", nodes, pe, limit), from,
                map, cand);
    }

    /** The layout index of every node of the range under an assignment of {@link #problem}. */
    public int[] expand(int[] choices) {
        int[] r = new int[representative.length];
        for (int i = 0; i < r.length; i++) {
            int t = representative[i];
            r[i] = candidates[t][choices[t]];
        }
        return r;
    }

    @Override
    public int[] representative() {
        return representative.clone();
    }

    @Override
    public int[][] candidates() {
        int[][] c = new int[candidates.length][];
        for (int i = 0; i < c.length; i++) {
            c[i] = candidates[i].clone();
        }
        return c;
    }
}
