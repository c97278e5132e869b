package org.shardplan.onnx;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.graph.DType;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;

/**
 * Rewrites, node by node during import, the control flow and sequence operators that exporters emit
 * for plain tensor computations into ordinary tensor operators the planner can split:
 * <ol>
 * <li><b>Loops of known trip count</b> (at most {@link #MAX_TRIP_COUNT} iterations and
 *     {@link #MAX_UNROLLED_NODES} nodes unrolled, continuing while a
 *     condition that is constantly true, carrying values and writing no scan outputs) are unrolled: the
 *     body's nodes are copied once per iteration, named {@code loop/iterT/node}, the iteration number
 *     a constant; the loop's outputs are the last iteration's carried values.</li>
 * <li><b>Conditions known at import</b> (most often a comparison of shapes the bound dimensions fix):
 *     an {@code If} whose condition is known becomes the nodes of the branch it takes, named
 *     {@code if/then/node} or {@code if/else/node} (branches without nested graphs or initializers of
 *     their own), so that its work splits like the rest of the graph instead of running whole on every
 *     device.</li>
 * <li><b>Sequences whose items are known one by one</b> are lowered to their items: SplitToSequence
 *     becomes Split, SequenceEmpty / SequenceConstruct / SequenceInsert / SequenceErase / Identity only
 *     change the list of items, SequenceAt of a known position an Identity of that item, SequenceLength a
 *     constant, and ConcatFromSequence a Concat (with an Unsqueeze of each item when it stacks). A
 *     lowered sequence that an operator not lowered here reads is built again by a SequenceConstruct just
 *     before it.</li>
 * <li><b>torch's repeat_interleave reshapes.</b> torch before 2.1 exports {@code repeat_interleave} along
 *     axis {@code d} as Unsqueeze at {@code d+1}, Expand and a Reshape whose constant target has one entry
 *     per axis of the input before the Unsqueeze, with 0 for each axis the exporter did not know
 *     (pytorch/pytorch#100575 replaced that export). ONNX copies a 0 from the same axis of the Reshape's
 *     own, unsqueezed input, so read literally, a 0 after axis {@code d} takes the neighbouring axis and
 *     the result has another shape than torch's (the file cannot run). Such a Reshape is read as torch
 *     meant it: its target becomes {@code Concat(Shape(x)[:d], [-1], Shape(x)[d+1:])}.</li>
 * <li><b>Repeats written piece by piece.</b> The Concat of such repeats of every size-1 piece of one
 *     Split becomes one Unsqueeze, Expand and Reshape of the whole input, so that the planner can give each
 *     device the slice of a repeated tensor (the query heads' share of the KV heads) from the slice it
 *     repeats; the pieces' nodes, left without readers, are dropped.</li>
 * </ol>
 * Each rewrite returns the nodes to import instead of one node, and the importer imports them one by
 * one, so that a rewrite sees what inference found for the nodes before it. Running time linear in the
 * nodes written (a loop body's size times its trip count).
 */
final class Lowering {
    /** Loops with more iterations are kept as loops. */
    static final int MAX_TRIP_COUNT = 64;

    /** Loops whose unrolled body would have more nodes are kept as loops. */
    static final int MAX_UNROLLED_NODES = 10_000;

    /** What the importer knows while it converts a graph. */
    interface Lookup {
        /** What inference found for a value in scope, or null. */
        Info info(String name);

        /** The node that produced a value of the graph being converted, or null. */
        Node producer(String name);

        /** The default domain's opset. */
        int opset();
    }

    /** A lowered sequence: its items' value names and element type. */
    record Items(List<String> names, DType dtype) {
        Items {
            names = List.copyOf(names);
        }
    }

    private final Map<String, Items> sequences = new HashMap<>();
    private final Set<String> rebuilt = new HashSet<>();
    private final Set<String> unread = new HashSet<>();
    private int fresh;
    int unrolledLoops;
    int unrolledIterations;
    int loweredSequenceOps;
    int torchReshapes;
    int repeats;
    int boxScatters;
    int inlinedIfs;

    /** The nodes to import instead of {@code p}, or null to import {@code p} itself. */
    List<Pb.NodeP> rewrite(Pb.NodeP p, String name, Lookup l) {
        if (!(p.domain().isEmpty() || p.domain().equals("ai.onnx"))) {
            return null;
        }
        return switch (p.opType()) {
            case "Loop" -> unroll(p, name, l);
            case "If" -> takenBranch(p, name, l);
            case "SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceErase", "SequenceAt",
                 "SequenceLength", "SplitToSequence", "ConcatFromSequence", "Identity" -> sequence(p, name, l);
            case "Reshape" -> torchReshape(p, name, l);
            case "Concat" -> repeatedPieces(p, name, l);
            case "ScatterND" -> boxScatter(p, name, l);
            default -> null;
        };
    }

    /**
     * SequenceConstruct nodes that build again the lowered sequences {@code p} reads (directly or from a
     * nested graph), for a node that is imported as it is.
     */
    List<Pb.NodeP> rebuild(Pb.NodeP p) {
        if (sequences.isEmpty()) {
            return List.of();
        }
        List<String> reads = new ArrayList<>(p.inputs());
        for (Pb.AttrP a : p.attributes()) {
            if (a.g() != null) {
                reads.addAll(OnnxImporter.capturedNames(a.g()));
            }
            for (Pb.GraphP g : a.graphs()) {
                reads.addAll(OnnxImporter.capturedNames(g));
            }
        }
        return rebuild(reads);
    }

    /** SequenceConstruct (or SequenceEmpty) nodes that build again those of the named values that are lowered sequences. */
    List<Pb.NodeP> rebuild(List<String> reads) {
        List<Pb.NodeP> r = new ArrayList<>();
        for (String in : reads) {
            Items it = sequences.get(in);
            if (it != null && rebuilt.add(in)) {
                r.add(it.names().isEmpty()
                        ? new Pb.NodeP(in + "/rebuilt", "SequenceEmpty", "", List.of(), List.of(in),
                                List.of(intAttr("dtype", it.dtype().onnxCode())))
                        : new Pb.NodeP(in + "/rebuilt", "SequenceConstruct", "", it.names(), List.of(in), List.of()));
            }
        }
        return r;
    }

    // ------------------------------------------------------------------ loops

    private List<Pb.NodeP> unroll(Pb.NodeP p, String name, Lookup l) {
        Pb.AttrP bodyAttr = null;
        for (Pb.AttrP a : p.attributes()) {
            if (a.name().equals("body")) {
                bodyAttr = a;
            }
        }
        if (bodyAttr == null || bodyAttr.g() == null || p.inputs().size() < 2) {
            return null;
        }
        Pb.GraphP body = bodyAttr.g();
        int carried = p.inputs().size() - 2;
        if (body.inputs.size() != carried + 2 || body.outputs.size() != carried + 1 || p.outputs().size() > carried
                || !body.initializers.isEmpty()) {
            return null;
        }
        long[] trip = p.inputs().get(0).isEmpty() ? null : longs(l.info(p.inputs().get(0)));
        if (trip == null || trip.length != 1 || trip[0] < 0 || trip[0] > MAX_TRIP_COUNT
                || trip[0] * body.nodes.size() > MAX_UNROLLED_NODES) {
            return null;
        }
        if (!p.inputs().get(1).isEmpty() && !isTrue(l.info(p.inputs().get(1)))) {
            return null;
        }
        Map<String, Pb.NodeP> bodyProducer = new HashMap<>();
        for (Pb.NodeP n : body.nodes) {
            for (Pb.AttrP a : n.attributes()) {
                if (a.g() != null || !a.graphs().isEmpty()) {
                    return null; // nested control flow stays a loop
                }
            }
            for (String o : n.outputs()) {
                bodyProducer.put(o, n);
            }
        }
        String condIn = body.inputs.get(1).name();
        if (!constantlyTrue(body.outputs.get(0).name(), condIn, bodyProducer, l, 0)) {
            return null;
        }
        List<Pb.NodeP> sorted = topological(body);
        if (sorted == null) {
            return null;
        }
        List<Pb.NodeP> out = new ArrayList<>();
        List<String> state = new ArrayList<>(p.inputs().subList(2, p.inputs().size()));
        for (long t = 0; t < trip[0]; t++) {
            String prefix = name + "/iter" + t + "/";
            Map<String, String> rename = new HashMap<>();
            String iter = prefix + body.inputs.get(0).name();
            out.add(constant(iter, Tensor.int64Scalar(t)));
            rename.put(body.inputs.get(0).name(), iter);
            String cond = prefix + condIn;
            out.add(constant(cond, Tensor.ofLongs(DType.BOOL, new long[0], new long[] {1})));
            rename.put(condIn, cond);
            for (int j = 0; j < carried; j++) {
                rename.put(body.inputs.get(2 + j).name(), state.get(j));
            }
            for (Pb.NodeP n : body.nodes) {
                for (String o : n.outputs()) {
                    if (!o.isEmpty()) {
                        rename.put(o, join(prefix, o));
                    }
                }
            }
            out.addAll(copies(sorted, prefix, rename));
            List<String> next = new ArrayList<>();
            for (int j = 0; j < carried; j++) {
                String o = body.outputs.get(1 + j).name();
                next.add(rename.getOrDefault(o, o));
            }
            state = next;
        }
        for (int j = 0; j < p.outputs().size(); j++) {
            if (!p.outputs().get(j).isEmpty()) {
                out.add(new Pb.NodeP(name + "/out" + j, "Identity", "", List.of(state.get(j)),
                        List.of(p.outputs().get(j)), List.of()));
            }
        }
        unrolledLoops++;
        unrolledIterations += (int) trip[0];
        return out;
    }

    /**
     * Copies of a body's nodes (in the order given) under {@code prefix}, their values renamed by {@code rename}
     * (values not in it are read from outside the body as they are); a body may name two nodes alike, or none.
     */
    private static List<Pb.NodeP> copies(List<Pb.NodeP> nodes, String prefix, Map<String, String> rename) {
        List<Pb.NodeP> out = new ArrayList<>(nodes.size());
        Set<String> used = new HashSet<>();
        int k = 0;
        for (Pb.NodeP n : nodes) {
            List<String> ins = new ArrayList<>();
            for (String in : n.inputs()) {
                ins.add(in.isEmpty() ? in : rename.getOrDefault(in, in));
            }
            List<String> outs = new ArrayList<>();
            for (String o : n.outputs()) {
                outs.add(o.isEmpty() ? o : rename.get(o));
            }
            String nn = join(prefix, n.name().isEmpty() ? n.opType() + "_" + k : n.name());
            if (!used.add(nn)) {
                nn = nn + "_" + k;
                used.add(nn);
            }
            out.add(new Pb.NodeP(nn, n.opType(), n.domain(), ins, outs, n.attributes()));
            k++;
        }
        return out;
    }

    /** A body name under an iteration's prefix (torch's names start with '/', the prefix ends with one). */
    private static String join(String prefix, String name) {
        return prefix + (name.startsWith("/") ? name.substring(1) : name);
    }

    /** Whether a loop body's condition output is true at every iteration. */
    private static boolean constantlyTrue(String v, String condIn, Map<String, Pb.NodeP> producer, Lookup l, int depth) {
        if (depth > 8) {
            return false;
        }
        if (v.equals(condIn)) {
            return true; // passes the loop's own condition on, which is true
        }
        Pb.NodeP n = producer.get(v);
        if (n == null) {
            return isTrue(l.info(v)); // captured from outside
        }
        switch (n.opType()) {
            case "Identity", "Cast":
                return !n.inputs().isEmpty() && constantlyTrue(n.inputs().get(0), condIn, producer, l, depth + 1);
            case "Constant":
                for (Pb.AttrP a : n.attributes()) {
                    if (a.name().equals("value") && a.t() != null && a.t().contents() != null
                            && a.t().contents().hasValues() && a.t().contents().numElements() == 1) {
                        return a.t().contents().getDouble(0) != 0;
                    }
                    if (a.name().equals("value_int")) {
                        return a.i() != 0;
                    }
                }
                return false;
            default:
                return false;
        }
    }

    private static boolean isTrue(Info i) {
        return i != null && i.value() != null && i.value().numElements() == 1 && i.value().getDouble(0) != 0;
    }

    /** The body's nodes in an order where each comes after the body nodes it reads, or null on a cycle. */
    private static List<Pb.NodeP> topological(Pb.GraphP body) {
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < body.nodes.size(); i++) {
            for (String o : body.nodes.get(i).outputs()) {
                producer.put(o, i);
            }
        }
        int n = body.nodes.size();
        int[] indeg = new int[n];
        List<List<Integer>> succ = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            succ.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            for (String in : new HashSet<>(body.nodes.get(i).inputs())) {
                Integer q = producer.get(in);
                if (q != null) {
                    succ.get(q).add(i);
                    indeg[i]++;
                }
            }
        }
        Deque<Integer> ready = new ArrayDeque<>();
        for (int i = 0; i < n; i++) {
            if (indeg[i] == 0) {
                ready.add(i);
            }
        }
        List<Pb.NodeP> r = new ArrayList<>();
        while (!ready.isEmpty()) {
            int i = ready.poll();
            r.add(body.nodes.get(i));
            for (int s : succ.get(i)) {
                if (--indeg[s] == 0) {
                    ready.add(s);
                }
            }
        }
        return r.size() == n ? r : null;
    }

    // ------------------------------------------------------------------ conditions known at import

    private List<Pb.NodeP> takenBranch(Pb.NodeP p, String name, Lookup l) {
        if (p.inputs().size() != 1 || p.inputs().get(0).isEmpty()) {
            return null;
        }
        Info c = l.info(p.inputs().get(0));
        if (c == null || c.value() == null || c.value().numElements() != 1 || !c.value().hasValues()
                || !(c.value().isIntegral() || c.value().dtype() == DType.BOOL)) {
            return null;
        }
        boolean then = c.value().getDouble(0) != 0;
        Pb.GraphP g = null;
        for (Pb.AttrP a : p.attributes()) {
            if (a.name().equals(then ? "then_branch" : "else_branch")) {
                g = a.g();
            }
        }
        if (g == null || !g.inputs.isEmpty() || !g.initializers.isEmpty() || g.outputs.size() != p.outputs().size()) {
            return null;
        }
        for (Pb.ValueInfoP o : g.outputs) {
            if (o.name().isEmpty()) {
                return null; // the importer names what is wrong with the If itself
            }
        }
        for (Pb.NodeP n : g.nodes) {
            for (Pb.AttrP a : n.attributes()) {
                if (a.g() != null || !a.graphs().isEmpty()) {
                    return null; // nested control flow: the If stays
                }
            }
        }
        List<Pb.NodeP> sorted = topological(g);
        if (sorted == null) {
            return null;
        }
        String prefix = name + (then ? "/then/" : "/else/");
        Map<String, String> rename = new HashMap<>();
        for (Pb.NodeP n : g.nodes) {
            for (String o : n.outputs()) {
                if (!o.isEmpty()) {
                    rename.put(o, join(prefix, o));
                }
            }
        }
        List<Pb.NodeP> out = new ArrayList<>(copies(sorted, prefix, rename));
        for (int j = 0; j < p.outputs().size(); j++) {
            if (!p.outputs().get(j).isEmpty()) {
                String o = g.outputs.get(j).name();
                out.add(new Pb.NodeP(name + "/out" + j, "Identity", "", List.of(rename.getOrDefault(o, o)),
                        List.of(p.outputs().get(j)), List.of()));
            }
        }
        inlinedIfs++;
        return out;
    }

    // ------------------------------------------------------------------ sequences

    private List<Pb.NodeP> sequence(Pb.NodeP p, String name, Lookup l) {
        List<String> in = p.inputs();
        String out = p.outputs().isEmpty() ? "" : p.outputs().get(0);
        if (out.isEmpty() || p.outputs().size() != 1) {
            return null;
        }
        Items seq = in.isEmpty() || in.get(0).isEmpty() ? null : sequences.get(in.get(0));
        switch (p.opType()) {
            case "Identity":
                if (seq == null) {
                    return null;
                }
                return lowered(out, seq);
            case "SequenceEmpty": {
                long code = attrInt(p, "dtype", 1);
                DType d;
                try {
                    d = Protos.dtype((int) code, "SequenceEmpty");
                } catch (OnnxImportException e) {
                    return null;
                }
                return lowered(out, new Items(List.of(), d));
            }
            case "SequenceConstruct": {
                if (in.isEmpty() || in.contains("") || l.info(in.get(0)) == null) {
                    return null;
                }
                return lowered(out, new Items(in, l.info(in.get(0)).dtype()));
            }
            case "SequenceInsert", "SequenceErase": {
                boolean insert = p.opType().equals("SequenceInsert");
                int posAt = insert ? 2 : 1;
                if (seq == null || (insert && (in.size() < 2 || in.get(1).isEmpty()))) {
                    return null;
                }
                List<String> items = new ArrayList<>(seq.names());
                int n = items.size();
                int k;
                if (in.size() > posAt && !in.get(posAt).isEmpty()) {
                    long[] pos = longs(l.info(in.get(posAt)));
                    if (pos == null || pos.length != 1) {
                        return null;
                    }
                    k = (int) (pos[0] < 0 ? pos[0] + n : pos[0]);
                    if (k < 0 || k > n || (!insert && k == n)) {
                        return null; // out of range: inference reports it
                    }
                } else {
                    k = insert ? n : n - 1;
                    if (k < 0) {
                        return null;
                    }
                }
                if (insert) {
                    items.add(k, in.get(1));
                } else {
                    items.remove(k);
                }
                return lowered(out, new Items(items, seq.dtype()));
            }
            case "SequenceAt": {
                long[] pos = in.size() < 2 ? null : longs(l.info(in.get(1)));
                if (seq == null || pos == null || pos.length != 1) {
                    return null;
                }
                int n = seq.names().size();
                int k = (int) (pos[0] < 0 ? pos[0] + n : pos[0]);
                if (k < 0 || k >= n) {
                    return null;
                }
                loweredSequenceOps++;
                return List.of(new Pb.NodeP(name, "Identity", "", List.of(seq.names().get(k)), List.of(out), List.of()));
            }
            case "SequenceLength":
                if (seq == null) {
                    return null;
                }
                loweredSequenceOps++;
                return List.of(constant(out, Tensor.int64Scalar(seq.names().size())));
            case "SplitToSequence":
                return splitToSequence(p, name, out, l);
            case "ConcatFromSequence":
                return concatFromSequence(p, name, out, seq, l);
            default:
                return null;
        }
    }

    private List<Pb.NodeP> lowered(String out, Items items) {
        sequences.put(out, items);
        loweredSequenceOps++;
        return List.of();
    }

    private List<Pb.NodeP> splitToSequence(Pb.NodeP p, String name, String out, Lookup l) {
        Info x = l.info(p.inputs().get(0));
        if (x == null || !x.rankKnown() || l.opset() < 11) {
            return null;
        }
        int rank = x.rank();
        long axis = attrInt(p, "axis", 0);
        if (axis < -rank || axis >= rank) {
            return null;
        }
        int ax = (int) (axis < 0 ? axis + rank : axis);
        if (!x.shape().dim(ax).isFixed()) {
            return null;
        }
        long size = x.shape().dim(ax).value();
        boolean hasSplit = p.inputs().size() > 1 && !p.inputs().get(1).isEmpty();
        List<Long> sizes = new ArrayList<>();
        boolean keep = true;
        if (!hasSplit) {
            keep = attrInt(p, "keepdims", 1) != 0;
            for (long i = 0; i < size; i++) {
                sizes.add(1L);
            }
        } else {
            Info s = l.info(p.inputs().get(1));
            long[] v = longs(s);
            if (v == null) {
                return null;
            }
            if (s.rank() == 0) {
                if (v[0] <= 0) {
                    return null;
                }
                for (long left = size; left > 0; left -= v[0]) {
                    sizes.add(Math.min(v[0], left));
                }
            } else {
                for (long z : v) {
                    sizes.add(z);
                }
            }
        }
        if (sizes.isEmpty() || sizes.size() > 4096 || sizes.stream().mapToLong(Long::longValue).sum() != size) {
            return null; // inference reports a bad split
        }
        List<Pb.NodeP> r = new ArrayList<>();
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < sizes.size(); i++) {
            parts.add(out + "/" + i);
        }
        long[] sz = sizes.stream().mapToLong(Long::longValue).toArray();
        if (l.opset() >= 13) {
            String splitName = out + "/split";
            r.add(constant(splitName, Tensor.ofLongs(DType.INT64, new long[] {sz.length}, sz)));
            r.add(new Pb.NodeP(name, "Split", "", List.of(p.inputs().get(0), splitName), parts,
                    List.of(intAttr("axis", ax))));
        } else {
            r.add(new Pb.NodeP(name, "Split", "", List.of(p.inputs().get(0)), parts,
                    List.of(intAttr("axis", ax), intsAttr("split", sz))));
        }
        List<String> items = parts;
        if (!keep) {
            items = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                String sq = parts.get(i) + "/squeezed";
                r.addAll(axesOp("Squeeze", name + "/squeeze" + i, parts.get(i), sq, ax, l));
                items.add(sq);
            }
        }
        sequences.put(out, new Items(items, x.dtype()));
        loweredSequenceOps++;
        return r;
    }

    private List<Pb.NodeP> concatFromSequence(Pb.NodeP p, String name, String out, Items seq, Lookup l) {
        if (seq == null || seq.names().isEmpty()) {
            return null;
        }
        long axis = attrInt(p, "axis", 0);
        boolean stack = attrInt(p, "new_axis", 0) != 0;
        List<Pb.NodeP> r = new ArrayList<>();
        List<String> parts = seq.names();
        if (stack) {
            Info first = l.info(parts.get(0));
            if (first == null || !first.rankKnown()) {
                return null;
            }
            int rank = first.rank() + 1;
            if (axis < -rank || axis >= rank) {
                return null;
            }
            int ax = (int) (axis < 0 ? axis + rank : axis);
            List<String> un = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                String u = out + "/item" + i;
                r.addAll(axesOp("Unsqueeze", name + "/unsqueeze" + i, parts.get(i), u, ax, l));
                un.add(u);
            }
            parts = un;
            axis = ax;
        }
        r.add(new Pb.NodeP(name, "Concat", "", parts, List.of(out), List.of(intAttr("axis", axis))));
        loweredSequenceOps++;
        return r;
    }

    /** Squeeze or Unsqueeze of one axis, its axes an input from opset 13 and an attribute before. */
    private List<Pb.NodeP> axesOp(String op, String nodeName, String in, String out, int axis, Lookup l) {
        if (l.opset() >= 13) {
            String axes = out + "/axes";
            return List.of(constant(axes, Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {axis})),
                    new Pb.NodeP(nodeName, op, "", List.of(in, axes), List.of(out), List.of()));
        }
        return List.of(new Pb.NodeP(nodeName, op, "", List.of(in), List.of(out), List.of(intsAttr("axes", axis))));
    }

    // ------------------------------------------------------------------ torch's repeat_interleave

    private List<Pb.NodeP> torchReshape(Pb.NodeP p, String name, Lookup l) {
        if (p.inputs().size() != 2 || p.outputs().size() != 1 || l.opset() < 10) {
            return null;
        }
        Node expand = l.producer(p.inputs().get(0));
        if (expand == null || !expand.opType().equals("Expand") || !expand.isOnnxDomain() || !expand.hasInput(0)) {
            return null;
        }
        Node unsq = l.producer(expand.input(0).name());
        if (unsq == null || !unsq.opType().equals("Unsqueeze") || !unsq.isOnnxDomain() || !unsq.hasInput(0)) {
            return null;
        }
        long[] axes = unsqueezeAxes(unsq);
        Info y = l.info(unsq.input(0).name());
        long[] target = longs(l.info(p.inputs().get(1)));
        if (axes == null || axes.length != 1 || y == null || !y.rankKnown() || target == null) {
            return null;
        }
        int rank = y.rank();
        long a = axes[0] < 0 ? axes[0] + rank + 1 : axes[0];
        if (a < 1 || a > rank || target.length != rank || target[(int) a - 1] != -1) {
            return null;
        }
        boolean shifted = false;
        for (int j = (int) a; j < rank; j++) {
            shifted |= target[j] == 0;
        }
        if (!shifted) {
            return null;
        }
        String base = p.outputs().get(0) + "/target";
        String yName = unsq.input(0).name();
        List<Pb.NodeP> r = new ArrayList<>();
        r.add(new Pb.NodeP(name + "/shape", "Shape", "", List.of(yName), List.of(base + "/shape"), List.of()));
        List<String> pieces = new ArrayList<>();
        if (a - 1 > 0) {
            r.addAll(slice(name + "/head", base + "/shape", base + "/head", 0, 0, a - 1));
            pieces.add(base + "/head");
        }
        r.add(constant(base + "/merged", Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {-1})));
        pieces.add(base + "/merged");
        if (a < rank) {
            r.addAll(slice(name + "/tail", base + "/shape", base + "/tail", 0, a, rank));
            pieces.add(base + "/tail");
        }
        r.add(new Pb.NodeP(name + "/concat", "Concat", "", pieces, List.of(base), List.of(intAttr("axis", 0))));
        r.add(new Pb.NodeP(name, "Reshape", "", List.of(p.inputs().get(0), base), p.outputs(), p.attributes()));
        torchReshapes++;
        return r;
    }

    /**
     * {@code Concat} along axis {@code d} of the pieces of one {@code Split} of {@code x} along {@code d}
     * into size-1 pieces, each repeated {@code r} times by {@code Unsqueeze(d+1)}, {@code Expand} and a
     * {@code Reshape} merging the two axes (what torch writes for {@code repeat_interleave}, directly or
     * through a loop, once unrolled): one chain on the whole {@code x} instead,
     * {@code Reshape(Expand(Unsqueeze(x, d+1), [1, .., r, .., 1]), Concat(Shape(x)[:d], [-1], Shape(x)[d+1:]))},
     * whose iteration space maps each output slice along {@code d} to the input slice it repeats. The
     * pieces' nodes are left unread ({@link #unread()}).
     */
    private List<Pb.NodeP> repeatedPieces(Pb.NodeP p, String name, Lookup l) {
        int k = p.inputs().size();
        if (k < 2 || p.outputs().size() != 1 || l.opset() < 13) {
            return null;
        }
        Node split = null;
        long r = -1;
        int rank = -1;
        int d = -1;
        List<Node> chain = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            Node reshape = l.producer(p.inputs().get(i));
            Node expand = reshape == null || !reshape.opType().equals("Reshape") ? null : l.producer(reshape.input(0).name());
            Node unsq = expand == null || !expand.opType().equals("Expand") ? null : l.producer(expand.input(0).name());
            if (unsq == null || !unsq.opType().equals("Unsqueeze") || !unsq.hasInput(0)) {
                return null;
            }
            String pieceName = throughIdentities(unsq.input(0).name(), l);
            Node s = l.producer(pieceName);
            Info piece = l.info(pieceName);
            Info out = l.info(reshape.output(0).name());
            Info ex = l.info(expand.output(0).name());
            if (s == null || !s.opType().equals("Split") || (split != null && s != split) || s.outputs().size() != k
                    || !s.output(i).name().equals(pieceName) || piece == null || !piece.rankKnown()
                    || out == null || !out.rankKnown() || ex == null || !ex.rankKnown()) {
                return null;
            }
            split = s;
            if (i == 0) {
                rank = piece.rank();
                long ax = s.attrInt("axis", 0);
                d = (int) (ax < 0 ? ax + rank : ax);
            }
            long[] axes = unsqueezeAxes(unsq);
            if (d < 0 || d >= rank || axes == null || axes.length != 1 || (axes[0] < 0 ? axes[0] + rank + 1 : axes[0]) != d + 1
                    || piece.rank() != rank || out.rank() != rank || ex.rank() != rank + 1
                    || !piece.shape().dim(d).equals(org.shardplan.graph.Dim.of(1))
                    || !ex.shape().dim(d + 1).isFixed() || (r >= 0 && ex.shape().dim(d + 1).value() != r)
                    || !out.shape().dim(d).equals(ex.shape().dim(d + 1))) {
                return null;
            }
            r = ex.shape().dim(d + 1).value();
            for (int j = 0; j < rank; j++) {
                if (j != d && !out.shape().dim(j).equals(piece.shape().dim(j))) {
                    return null;
                }
            }
            chain.addAll(List.of(reshape, expand, unsq));
            for (Node id = l.producer(unsq.input(0).name()); id != null && id.opType().equals("Identity") && id.hasInput(0);
                    id = l.producer(id.input(0).name())) {
                chain.add(id);
            }
        }
        long ax = attrInt(p, "axis", 0);
        if ((ax < 0 ? ax + rank : ax) != d) {
            return null;
        }
        String x = split.input(0).name();
        String base = p.outputs().get(0) + "/repeat";
        long[] reps = new long[rank + 1];
        java.util.Arrays.fill(reps, 1);
        reps[d + 1] = r;
        List<Pb.NodeP> out = new ArrayList<>(axesOp("Unsqueeze", name + "/unsqueeze", x, base + "/unsqueezed", d + 1, l));
        out.add(constant(base + "/reps", Tensor.ofLongs(DType.INT64, new long[] {rank + 1}, reps)));
        out.add(new Pb.NodeP(name + "/expand", "Expand", "", List.of(base + "/unsqueezed", base + "/reps"),
                List.of(base + "/expanded"), List.of()));
        out.add(new Pb.NodeP(name + "/shape", "Shape", "", List.of(x), List.of(base + "/shape"), List.of()));
        List<String> pieces = new ArrayList<>();
        if (d > 0) {
            out.addAll(slice(name + "/head", base + "/shape", base + "/head", 0, 0, d));
            pieces.add(base + "/head");
        }
        out.add(constant(base + "/merged", Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {-1})));
        pieces.add(base + "/merged");
        if (d + 1 < rank) {
            out.addAll(slice(name + "/tail", base + "/shape", base + "/tail", 0, d + 1, rank));
            pieces.add(base + "/tail");
        }
        out.add(new Pb.NodeP(name + "/target", "Concat", "", pieces, List.of(base + "/target"), List.of(intAttr("axis", 0))));
        out.add(new Pb.NodeP(name, "Reshape", "", List.of(base + "/expanded", base + "/target"), p.outputs(), List.of()));
        chain.forEach(n -> unread.add(n.name()));
        unread.add(split.name());
        repeats++;
        return out;
    }

    // ------------------------------------------------------------------ slice assignments

    /**
     * A ScatterND (reduction none) whose indices write a box: {@code Concat} along the last axis of {@code k}
     * pieces, piece {@code j} an {@code Unsqueeze} at the last axis of a tensor known element by element (or an
     * {@code Expand} of one) that varies only along axis {@code j} of the index space, as consecutive positions
     * {@code s_j, s_j + 1, ..}; the index space's rank is {@code k}. The data then equals the result outside
     * the box {@code [s_j, s_j + n_j)} and the update inside it, so the result is the data's slices before and
     * after the box along each axis where the box is not the whole axis, concatenated with the update (the
     * innermost axis first). Anything else is imported as it is.
     */
    private List<Pb.NodeP> boxScatter(Pb.NodeP p, String name, Lookup l) {
        if (p.inputs().size() != 3 || p.outputs().size() != 1 || l.opset() < 11) {
            return null;
        }
        for (Pb.AttrP a : p.attributes()) {
            if (a.name().equals("reduction") && !a.s().equals("none")) {
                return null;
            }
        }
        Info data = l.info(p.inputs().get(0));
        Info idx = l.info(p.inputs().get(1));
        Info upd = l.info(p.inputs().get(2));
        if (data == null || idx == null || upd == null || !data.rankKnown() || !idx.rankKnown() || !upd.rankKnown()) {
            return null;
        }
        Node concat = l.producer(throughIdentities(p.inputs().get(1), l));
        if (concat == null || !concat.opType().equals("Concat") || !concat.isOnnxDomain()) {
            return null;
        }
        int k = concat.inputs().size();
        int r = data.rank();
        if (idx.rank() != k + 1 || k < 1 || k > r || upd.rank() != r) {
            return null;
        }
        long ax = concat.attrInt("axis", 0);
        if ((ax < 0 ? ax + k + 1 : ax) != k) {
            return null;
        }
        long[] q = new long[k];
        long[] d = new long[r];
        for (int j = 0; j < r; j++) {
            if (!data.shape().dim(j).isFixed() || !upd.shape().dim(j).isFixed()) {
                return null;
            }
            d[j] = data.shape().dim(j).value();
            if (j < k) {
                if (!idx.shape().dim(j).isFixed()) {
                    return null;
                }
                q[j] = idx.shape().dim(j).value();
            }
            if (upd.shape().dim(j).value() != (j < k ? q[j] : d[j])) {
                return null;
            }
        }
        long[] start = new long[k];
        List<Node> chain = new ArrayList<>();
        chain.add(concat);
        for (int j = 0; j < k; j++) {
            Node unsq = l.producer(concat.input(j).name());
            if (unsq == null || !unsq.opType().equals("Unsqueeze") || !unsq.isOnnxDomain() || !unsq.hasInput(0)) {
                return null;
            }
            long[] axes = unsqueezeAxes(unsq);
            if (axes == null || axes.length != 1 || (axes[0] < 0 ? axes[0] + k + 1 : axes[0]) != k) {
                return null;
            }
            chain.add(unsq);
            String v = unsq.input(0).name();
            Info vi = l.info(v);
            Node expand = l.producer(v);
            if (expand != null && expand.opType().equals("Expand") && expand.isOnnxDomain() && expand.hasInput(0)) {
                chain.add(expand);
                if (vi == null || vi.value() == null) {
                    vi = l.info(expand.input(0).name()); // too large to fold: what it expands
                }
            }
            long[] vals = longs(vi);
            if (vals == null || !vi.rankKnown() || vi.rank() > k) {
                return null;
            }
            long s = box(vals, vi.value().dims(), q, j, d[j]);
            if (s < 0) {
                return null;
            }
            start[j] = s;
        }
        // The box along each axis; the rewrite, innermost box axis first.
        List<Integer> cut = new ArrayList<>();
        for (int j = 0; j < k; j++) {
            if (start[j] != 0 || q[j] != d[j]) {
                cut.add(j);
            }
        }
        List<Pb.NodeP> out = new ArrayList<>();
        String base = p.outputs().get(0) + "/box";
        // The data inside the box along the axes before each cut axis: data, then sliced along cut(0), ...
        List<String> inner = new ArrayList<>();
        inner.add(p.inputs().get(0));
        for (int c = 0; c + 1 < cut.size(); c++) {
            int a = cut.get(c);
            String o = base + "/in" + a;
            out.addAll(slice(name + "/in" + a, inner.get(c), o, a, start[a], start[a] + q[a]));
            inner.add(o);
        }
        String value = p.inputs().get(2);
        for (int c = cut.size() - 1; c >= 0; c--) {
            int a = cut.get(c);
            String src = inner.get(c);
            List<String> parts = new ArrayList<>();
            if (start[a] > 0) {
                String o = base + "/before" + a;
                out.addAll(slice(name + "/before" + a, src, o, a, 0, start[a]));
                parts.add(o);
            }
            parts.add(value);
            if (start[a] + q[a] < d[a]) {
                String o = base + "/after" + a;
                out.addAll(slice(name + "/after" + a, src, o, a, start[a] + q[a], d[a]));
                parts.add(o);
            }
            String o = c == 0 ? p.outputs().get(0) : base + "/joined" + a;
            out.add(new Pb.NodeP(c == 0 ? name : name + "/joined" + a, "Concat", "", parts, List.of(o),
                    List.of(intAttr("axis", a))));
            value = o;
        }
        if (cut.isEmpty()) {
            out.add(new Pb.NodeP(name, "Identity", "", List.of(value), p.outputs(), List.of()));
        }
        chain.forEach(n -> unread.add(n.name()));
        boxScatters++;
        return out;
    }

    /**
     * The first position of index vector {@code j}, or -1 unless its values (dims {@code vd}, broadcast
     * against the index space {@code q}, aligned at the right) are {@code s + i} at every element whose
     * position along axis {@code j} is {@code i}, within an axis of size {@code size} (negative positions
     * counted from its end): consecutive along axis {@code j}, the same along every other axis.
     */
    static long box(long[] vals, long[] vd, long[] q, int j, long size) {
        int off = q.length - vd.length;
        if (off < 0) {
            return -1;
        }
        long count = 1;
        for (int i = 0; i < vd.length; i++) {
            if (vd[i] != 1 && vd[i] != q[i + off]) {
                return -1;
            }
            count *= vd[i];
        }
        int local = j - off; // axis j in the tensor's own dims, or below 0 where it is broadcast
        if (count != vals.length || vals.length == 0 || (q[j] != 1 && (local < 0 || vd[local] != q[j]))) {
            return -1; // one position written several times along axis j
        }
        long stride = 1;
        for (int i = vd.length - 1; i > local; i--) {
            stride *= vd[i];
        }
        long extent = local < 0 ? 1 : vd[local];
        long s = vals[0] < 0 ? vals[0] + size : vals[0];
        for (int e = 0; e < vals.length; e++) {
            long v = vals[e] < 0 ? vals[e] + size : vals[e];
            long at = (e / stride) % extent;
            if (v != s + at || v < 0 || v >= size) {
                return -1;
            }
        }
        return s;
    }

    /** The value an Identity chain (a lowered SequenceAt) passes on. */
    private static String throughIdentities(String v, Lookup l) {
        for (int guard = 0; guard < 16; guard++) {
            Node n = l.producer(v);
            if (n == null || !n.opType().equals("Identity") || !n.hasInput(0)) {
                break;
            }
            v = n.input(0).name();
        }
        return v;
    }

    /** Names of nodes a rewrite left without readers (unless something else reads them): the importer drops them. */
    Set<String> unread() {
        return unread;
    }

    /** A Slice of {@code in} along one axis, {@code [start, end)}; along axis 0 without an axes input (its default). */
    private static List<Pb.NodeP> slice(String nodeName, String in, String out, int axis, long start, long end) {
        List<Pb.NodeP> r = new ArrayList<>();
        r.add(constant(out + "/starts", Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {start})));
        r.add(constant(out + "/ends", Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {end})));
        List<String> ins = new ArrayList<>(List.of(in, out + "/starts", out + "/ends"));
        if (axis != 0) {
            r.add(constant(out + "/axes", Tensor.ofLongs(DType.INT64, new long[] {1}, new long[] {axis})));
            ins.add(out + "/axes");
        }
        r.add(new Pb.NodeP(nodeName, "Slice", "", ins, List.of(out), List.of()));
        return r;
    }

    /** The axes of an Unsqueeze, from its attribute (before opset 13) or its constant second input; null where unknown. */
    private static long[] unsqueezeAxes(Node unsq) {
        long[] axes = unsq.attrInts("axes").orElse(null);
        if (axes == null && unsq.hasInput(1)) {
            axes = unsq.input(1).constant().filter(Tensor::hasValues).flatMap(Tensor::longs).orElse(null);
        }
        return axes;
    }

    // ------------------------------------------------------------------ proto helpers

    /** A note on what was rewritten, or null when nothing was. */
    String note(String graph) {
        List<String> parts = new ArrayList<>();
        if (unrolledLoops > 0) {
            parts.add(unrolledLoops + " Loop" + (unrolledLoops == 1 ? "" : "s") + " of known trip count unrolled ("
                    + unrolledIterations + " iterations)");
        }
        if (loweredSequenceOps > 0) {
            parts.add(loweredSequenceOps + " sequence operators lowered to tensor operators");
        }
        if (torchReshapes > 0) {
            parts.add(torchReshapes + " Reshape" + (torchReshapes == 1 ? "" : "s") + " of torch's repeat_interleave export"
                    + " read as torch meant (the file's targets count the axes before the Unsqueeze;"
                    + " read literally they give other shapes)");
        }
        if (repeats > 0) {
            parts.add(repeats + " repeat_interleave" + (repeats == 1 ? "" : "s") + " written piece by piece (Split, "
                    + "Unsqueeze, Expand, Reshape, Concat) read as one Unsqueeze, Expand and Reshape");
        }
        if (inlinedIfs > 0) {
            parts.add(inlinedIfs + " If" + (inlinedIfs == 1 ? "" : "s") + " of a condition known at import replaced by"
                    + " the branch taken");
        }
        if (boxScatters > 0) {
            parts.add(boxScatters + " ScatterND" + (boxScatters == 1 ? "" : "s") + " writing a box (a slice assignment)"
                    + " read as Slices and Concats, without the index tensors");
        }
        return parts.isEmpty() ? null : "graph '" + graph + "': " + String.join("; ", parts);
    }

    static Pb.NodeP constant(String out, Tensor t) {
        RawModel.Init init = new RawModel.Init(out, t.dtype().onnxCode(), t.dims(), t, null, t.byteSize(),
                org.shardplan.graph.Triangle.of(t).orElse(null));
        return new Pb.NodeP(out + "/const", "Constant", "", List.of(), List.of(out), List.of(tensorAttr("value", init)));
    }

    private static Pb.AttrP tensorAttr(String name, RawModel.Init t) {
        return new Pb.AttrP(name, Pb.A_TENSOR, 0f, 0, "", t, null, new float[0], new long[0], List.of(), List.of(),
                List.of(), null, List.of(), "", null, List.of());
    }

    static Pb.AttrP intAttr(String name, long v) {
        return new Pb.AttrP(name, Pb.A_INT, 0f, v, "", null, null, new float[0], new long[0], List.of(), List.of(),
                List.of(), null, List.of(), "", null, List.of());
    }

    static Pb.AttrP intsAttr(String name, long... v) {
        return new Pb.AttrP(name, Pb.A_INTS, 0f, 0, "", null, null, new float[0], v.clone(), List.of(), List.of(),
                List.of(), null, List.of(), "", null, List.of());
    }

    private static long attrInt(Pb.NodeP p, String name, long dflt) {
        for (Pb.AttrP a : p.attributes()) {
            if (a.name().equals(name)) {
                return a.i();
            }
        }
        return dflt;
    }

    private static long[] longs(Info i) {
        return i == null ? null : i.longs();
    }
}
