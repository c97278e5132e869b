package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;

/**
 * Finds repeated blocks in a coarse graph: runs of consecutive coarse nodes (in topological order)
 * that repeat with a period, like the layers of a transformer or the identical blocks of a ResNet
 * stage, and groups them into {@link BlockClass}es.
 *
 * <p>Each coarse node gets a canonical signature ({@link #signature}: kind, members' operators,
 * attributes and tensor types, constants' contents; the shape operand of Reshape and Expand by its type
 * only, since their input and output types fix what they do). For every period {@code p} the maximal runs with
 * {@code sig[i] == sig[i + p]} are tandem repeats of {@code floor((run + p) / p)} copies. Candidates
 * are taken greedily, largest coverage first (then shorter period, then earlier start), skipping
 * covered nodes; a candidate with slack chooses the alignment whose instances receive the fewest
 * distinct values from outside (ties: the latest alignment). An instance is accepted only with the
 * same wiring as its neighbours: the same edges between its own positions and the same inputs from
 * outside at the same positions; the longest run of such instances (at least 2, with at least one
 * compute node) becomes a class. Classes with the same signatures and wiring are merged (for example,
 * two groups of identical blocks separated by a different one).
 *
 * <p>Running time O(n log² n) for the candidate runs over all periods, n the number of coarse nodes
 * ({@link #periodicRuns}; a run of one repeated signature is a candidate of period 1 only, so that
 * thousands of identical nodes make one candidate, not n / 2 of them each scanned again), plus O(n · E)
 * for alignments in the worst case; linear-time in practice for layered models.
 */
public final class RepeatedBlocks {
    private RepeatedBlocks() {
    }

    /**
     * The canonical signature of a coarse node: equal for nodes that compute the same thing on tensors
     * of the same types (names are left out).
     */
    public static String signature(CoarseNode c) {
        StringBuilder sb = new StringBuilder();
        sb.append(c.kind()).append('|').append(c.pattern().orElse("")).append('|');
        for (Node m : c.members()) {
            sb.append(m.domain()).append(':').append(m.opType()).append('{');
            for (Attribute a : m.attributes().values()) {
                sb.append(a.name()).append('=');
                switch (a.kind()) {
                    case GRAPH -> sb.append("graph:").append(a.asGraph().nodes().size());
                    case GRAPHS -> sb.append("graphs:").append(a.asGraphs().size());
                    default -> sb.append(a.value());
                }
                sb.append(';');
            }
            sb.append("}(");
            boolean shapedByTypes = m.isOnnxDomain() && (m.opType().equals("Reshape") || m.opType().equals("Expand"));
            for (int i = 0; i < m.inputs().size(); i++) {
                Value v = m.inputs().get(i);
                // a Reshape or Expand is fixed by its input and output types: targets that differ only in
                // how they say it ([0, -1, 32] or [8, -1, 32]; [1, 4, 1] or [1, 4, 32]) are the same node
                sb.append(shapedByTypes && i == 1 && !v.isAbsent() ? "S" + v.type() : describe(v)).append(',');
            }
            sb.append(")->(");
            for (Value v : m.outputs()) {
                sb.append(v.type()).append(',');
            }
            sb.append(')');
        }
        return sb.toString();
    }

    /**
     * An input in a signature: its type, and for integer constants and scalar constants their values.
     * Parameters and larger floating-point constants read the same ("W"): exporters turn some
     * weights into constants (deduplicated zero biases, unit scales), which must not tell layers apart.
     */
    private static String describe(Value v) {
        if (v.isAbsent()) {
            return "-";
        }
        Optional<Tensor> c = v.constant().filter(Tensor::hasValues);
        if (v.kind() == Value.Kind.PARAMETER
                || (c.isPresent() && c.get().dtype().isFloatingPoint() && c.get().numElements() > 1)
                || (v.kind() == Value.Kind.CONSTANT && c.isEmpty())) {
            return "W" + v.type();
        }
        if (c.isPresent()) {
            return "C" + v.type() + (c.get().numElements() <= 64 ? c.get().toString() : "");
        }
        return "A" + v.type();
    }

    private record Cand(int start, int span, int period) {
        int coverage() {
            return span / period * period;
        }
    }

    /** The block classes of the coarse graph given by its nodes (topological) and edges. */
    public static List<BlockClass> find(List<CoarseNode> nodes, List<CoarseEdge> edges) {
        int n = nodes.size();
        int[] sig = new int[n];
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < n; i++) {
            sig[i] = ids.computeIfAbsent(signature(nodes.get(i)), k -> ids.size());
        }
        List<List<CoarseEdge>> in = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            in.add(new ArrayList<>());
        }
        for (CoarseEdge e : edges) {
            in.get(e.to()).add(e);
        }
        PriorityQueue<Cand> queue = new PriorityQueue<>(Comparator.comparingInt(Cand::coverage).reversed()
                .thenComparingInt(Cand::period).thenComparingInt(Cand::start));
        // sameUntil[i]: the end of the run of equal signatures that starts at i
        int[] sameUntil = new int[n];
        for (int i = n - 1; i >= 0; i--) {
            sameUntil[i] = i + 1 < n && sig[i + 1] == sig[i] ? sameUntil[i + 1] : i + 1;
        }
        for (int[] run : periodicRuns(sig)) {
            int i = run[0];
            int j = run[1];
            int p = run[2];
            // a run of one signature repeated (many identical nodes, say) is the period-1 candidate's:
            // the same run at a longer period covers no more and would only fill the queue with n / 2
            // candidates that each cost a scan of the run
            if (p == 1 || sameUntil[i] < j + p) {
                queue.add(new Cand(i, j - i + p, p));
            }
        }
        boolean[] covered = new boolean[n];
        List<List<Integer>> accepted = new ArrayList<>();
        while (!queue.isEmpty()) {
            org.shardplan.graph.Deadline.check("finding the repeated blocks of the graph");
            Cand c = queue.poll();
            if (!free(covered, c.start, c.span)) {
                for (int[] sub : freeRuns(covered, c.start, c.span)) {
                    if (sub[1] >= 2 * c.period) {
                        queue.add(new Cand(sub[0], sub[1], c.period));
                    }
                }
                continue;
            }
            int p = c.period;
            int k = c.span / p;
            int slack = c.span - k * p;
            int bestT = 0;
            int bestCross = Integer.MAX_VALUE;
            for (int t = 0; t <= slack; t++) {
                int cross = crossing(in, c.start + t, p, k);
                if (cross <= bestCross) {
                    bestCross = cross;
                    bestT = t;
                }
            }
            int s0 = c.start + bestT;
            List<String> forms = new ArrayList<>();
            for (int q = 0; q < k; q++) {
                forms.add(form(nodes, in, s0 + q * p, p));
            }
            // longest run of consecutive instances with equal wiring
            int bestFrom = 0;
            int bestLen = 1;
            for (int a = 0; a < k; ) {
                int b = a + 1;
                while (b < k && forms.get(b).equals(forms.get(a))) {
                    b++;
                }
                if (b - a > bestLen) {
                    bestLen = b - a;
                    bestFrom = a;
                }
                a = b;
            }
            boolean hasCompute = false;
            for (int j = 0; j < p; j++) {
                hasCompute |= nodes.get(s0 + j).kind() == CoarseNode.Kind.COMPUTE;
            }
            if (bestLen < 2 || !hasCompute) {
                continue;
            }
            int from = s0 + bestFrom * p;
            int len = bestLen * p;
            for (int i = from; i < from + len; i++) {
                covered[i] = true;
            }
            accepted.add(List.of(from, p, bestLen));
            // what is left of the candidate may still hold repeats of this period
            for (int[] sub : freeRuns(covered, c.start, c.span)) {
                if (sub[1] >= 2 * p) {
                    queue.add(new Cand(sub[0], sub[1], p));
                }
            }
        }
        // merge equal classes, order by first appearance
        accepted.sort(Comparator.comparingInt(a -> a.get(0)));
        Map<String, List<List<CoarseNode>>> merged = new LinkedHashMap<>();
        for (List<Integer> a : accepted) {
            int from = a.get(0);
            int p = a.get(1);
            int count = a.get(2);
            StringBuilder key = new StringBuilder();
            for (int j = 0; j < p; j++) {
                key.append(sig[from + j]).append(',');
            }
            key.append('|').append(form(nodes, in, from, p));
            List<List<CoarseNode>> insts = merged.computeIfAbsent(key.toString(), x -> new ArrayList<>());
            for (int q = 0; q < count; q++) {
                insts.add(List.copyOf(nodes.subList(from + q * p, from + (q + 1) * p)));
            }
        }
        List<BlockClass> classes = new ArrayList<>();
        for (List<List<CoarseNode>> insts : merged.values()) {
            classes.add(new BlockClass(classes.size(), insts));
        }
        return List.copyOf(classes);
    }

    /**
     * For every period {@code p} from 1 to {@code n / 2}, the maximal runs {@code [i, j)} of positions
     * {@code x} with {@code sig[x] == sig[x + p]} that are at least {@code p} long (tandem repeats of two or
     * more copies), as {i, j, p}, by period and then position. Such a run holds a multiple of {@code p}, so
     * only the multiples are looked at, each extended both ways by a longest-common-extension query on
     * polynomial hashes of the signatures (Main and Lorentz's sampling, J. Algorithms 1984; Karp and
     * Rabin's fingerprints): O(n log n) queries of O(log n) each, where comparing every position
     * for every period took O(n²).
     */
    public static List<int[]> periodicRuns(int[] sig) {
        int n = sig.length;
        long[] h = new long[n + 1];
        long[] pow = new long[n + 1];
        pow[0] = 1;
        for (int i = 0; i < n; i++) {
            h[i + 1] = addMod(mulMod(h[i], BASE), sig[i] + 1L);
            pow[i + 1] = mulMod(pow[i], BASE);
        }
        List<int[]> runs = new ArrayList<>();
        for (int p = 1; p <= n / 2; p++) {
            org.shardplan.graph.Deadline.check("finding the repeated blocks of the graph");
            int end = 0; // the end of the last run found at this period
            for (int q = 0; q + p < n; q += p) {
                if (q < end) {
                    q = (end + p - 1) / p * p - p; // the first multiple at or after end, next round
                    continue;
                }
                if (sig[q] != sig[q + p]) {
                    continue;
                }
                int right = extend(h, pow, sig, q, q + p, n - q - p);
                int left = extendBack(h, pow, sig, q, q + p, q);
                int i = q - left;
                int j = q + right;
                end = j;
                if (j - i >= p) {
                    runs.add(new int[] {i, j, p});
                }
            }
        }
        return runs;
    }

    private static final long MOD = (1L << 61) - 1;
    private static final long BASE = 1_000_003L;

    private static long addMod(long a, long b) {
        long r = a + b;
        return r >= MOD ? r - MOD : r;
    }

    private static long mulMod(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        long r = (lo & MOD) + ((lo >>> 61) | (hi << 3));
        r = (r & MOD) + (r >>> 61);
        return r >= MOD ? r - MOD : r;
    }

    /** The hash of sig[from, from + len). */
    private static long hash(long[] h, long[] pow, int from, int len) {
        long r = h[from + len] - mulMod(h[from], pow[len]);
        return r < 0 ? r + MOD : r;
    }

    /** The length of the longest common prefix of sig[a..] and sig[b..], at most {@code max}. */
    private static int extend(long[] h, long[] pow, int[] sig, int a, int b, int max) {
        int k = 0;
        while (k < max && k < 8) { // short extensions are the common case: compared directly
            if (sig[a + k] != sig[b + k]) {
                return k;
            }
            k++;
        }
        int lo = k;
        int hi = max;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (hash(h, pow, a, mid) == hash(h, pow, b, mid)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /** The length of the longest common suffix of sig[..a) and sig[..b), at most {@code max}. */
    private static int extendBack(long[] h, long[] pow, int[] sig, int a, int b, int max) {
        int k = 0;
        while (k < max && k < 8) {
            if (sig[a - 1 - k] != sig[b - 1 - k]) {
                return k;
            }
            k++;
        }
        int lo = k;
        int hi = max;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (hash(h, pow, a - mid, mid) == hash(h, pow, b - mid, mid)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private static boolean free(boolean[] covered, int start, int span) {
        for (int i = start; i < start + span; i++) {
            if (covered[i]) {
                return false;
            }
        }
        return true;
    }

    /** Maximal uncovered runs inside [start, start + span) as {start, length}. */
    private static List<int[]> freeRuns(boolean[] covered, int start, int span) {
        List<int[]> r = new ArrayList<>();
        int i = start;
        while (i < start + span) {
            if (covered[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < start + span && !covered[j]) {
                j++;
            }
            r.add(new int[] {i, j - i});
            i = j;
        }
        return r;
    }

    /** Distinct (value, instance) pairs entering the instances from outside them. */
    private static int crossing(List<List<CoarseEdge>> in, int s0, int p, int k) {
        int total = 0;
        for (int q = 0; q < k; q++) {
            int lo = s0 + q * p;
            Set<String> vals = new HashSet<>();
            for (int i = lo; i < lo + p; i++) {
                for (CoarseEdge e : in.get(i)) {
                    if (e.from() < lo) {
                        vals.add(e.value().name());
                    }
                }
            }
            total += vals.size();
        }
        return total;
    }

    /**
     * The wiring of the instance [s, s + p): for each position, each activation input (parameters left
     * out) either as the position and output index of its producer inside the instance, or as coming
     * from outside (another coarse node or a graph input) with its type. Edges leaving the instance
     * are not compared: the last instance of a run feeds other nodes than the rest.
     */
    private static String form(List<CoarseNode> nodes, List<List<CoarseEdge>> in, int s, int p) {
        List<String> items = new ArrayList<>();
        for (int j = 0; j < p; j++) {
            CoarseNode c = nodes.get(s + j);
            Map<String, Integer> from = new HashMap<>();
            for (CoarseEdge e : in.get(s + j)) {
                from.put(e.value().name(), e.from());
            }
            for (Value v : c.inputs()) {
                if (v.kind() == Value.Kind.PARAMETER) {
                    continue;
                }
                Integer f = from.get(v.name());
                if (f != null && f >= s) {
                    items.add(j + "<" + (f - s) + "." + nodes.get(f).outputs().indexOf(v));
                } else {
                    items.add(j + "<ext:" + v.type());
                }
            }
        }
        return items.toString();
    }
}
