package org.shardplan.graph.passes;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.space.IterationSpaces;

/**
 * The coarsening pass: turns a shaped {@link Graph} into the {@link CoarseGraph} the planner works on.
 *
 * <ol>
 * <li><b>Chain.</b> A Concat that repeats an earlier Concat's inputs as its first inputs reads that
 *     Concat's output instead ({@link ConcatChains}: densely connected blocks become chains; the
 *     system property {@code shardplan.concatChains=false} turns this off for comparisons).
 * <li><b>Fold.</b> Constant nodes, nodes whose outputs all have known contents (the frontend's folded
 *     shape arithmetic), and nodes whose every output is read only at shape or index positions
 *     ({@code Reshape}'s shape, {@code Slice}'s starts, {@code Shape}'s input, ...) or by folded
 *     nodes are folded away, found in one backward sweep.
 * <li><b>Remove.</b> Identity and Dropout (when its mask is unused and it does not train,
 *     {@link #isTrainingDropout}) vanish: readers of their output read their input.
 * <li><b>Patterns.</b> A LayerNormalization written out as ReduceMean, Sub, Pow (or Mul), ReduceMean,
 *     Add, Sqrt, Div, optionally followed by Mul and Add with constant or parameter operands, becomes
 *     one compute node whose anchor is a synthesised LayerNormalization. An RMSNorm written out
 *     (Pow, ReduceMean, Add, Sqrt, Div or Reciprocal, Mul, optionally Mul by a scale) becomes one whose
 *     anchor is a synthesised RMSNormalization. A SwiGLU MLP's gate and up projections with their
 *     SiLU and product ({@code silu(x Wg) * (x Wu)}) become one compute node anchored at the gate's
 *     MatMul (pattern {@value #SWIGLU}); {@link CoarseSpaces} indexes the up projection like the gate.
 * <li><b>Fuse.</b> In topological order, an element-wise operator (and BatchNormalization, a
 *     per-channel affine map at planning granularity) joins the coarse node that produced the latest of
 *     its activation inputs when that node is a compute or element-wise node and the operator's output
 *     has the shape of that input (so the anchor's loop dimensions still index it); otherwise it starts
 *     an element-wise node. Layout operators (Reshape, Transpose, Concat, Slice, Gather on activations,
 *     ...) stay nodes of their own: they cost little but map tensor axes, which the planner needs to
 *     follow splits from producer to consumer. Everything else is a compute node.
 * <li><b>Blocks.</b> {@link RepeatedBlocks} groups repeated blocks into classes.
 * </ol>
 * Because a fused operator joins the latest producer, every edge goes from a lower to a higher coarse
 * index and the coarse graph is acyclic. Running time O((V + E) log V) for the graph plus the block
 * search ({@link RepeatedBlocks}).
 */
public final class Coarsening {
    private Coarsening() {
    }

    /** The pattern name of a coarse node holding a SwiGLU gated MLP's two MatMuls and its gating. */
    public static final String SWIGLU = "SwiGLU";

    /** Input positions at which an operator reads a tensor only as a shape, index list or scalar setting. */
    private static final Map<String, Set<Integer>> SHAPE_INPUTS = Map.ofEntries(
            Map.entry("Reshape", Set.of(1)), Map.entry("Expand", Set.of(1)), Map.entry("Tile", Set.of(1)),
            Map.entry("Slice", Set.of(1, 2, 3, 4)), Map.entry("Squeeze", Set.of(1)), Map.entry("Unsqueeze", Set.of(1)),
            Map.entry("Pad", Set.of(1, 2, 3)), Map.entry("Resize", Set.of(1, 2, 3)), Map.entry("Upsample", Set.of(1)),
            Map.entry("ConstantOfShape", Set.of(0)), Map.entry("Range", Set.of(0, 1, 2)), Map.entry("TopK", Set.of(1)),
            Map.entry("Split", Set.of(1)), Map.entry("ReduceSum", Set.of(1)), Map.entry("ReduceMean", Set.of(1)),
            Map.entry("ReduceMax", Set.of(1)), Map.entry("ReduceMin", Set.of(1)), Map.entry("ReduceProd", Set.of(1)),
            Map.entry("ReduceL1", Set.of(1)), Map.entry("ReduceL2", Set.of(1)), Map.entry("ReduceLogSum", Set.of(1)),
            Map.entry("ReduceLogSumExp", Set.of(1)), Map.entry("ReduceSumSquare", Set.of(1)),
            Map.entry("OneHot", Set.of(1)), Map.entry("CumSum", Set.of(1)), Map.entry("Trilu", Set.of(1)),
            Map.entry("Dropout", Set.of(1, 2)), Map.entry("Clip", Set.of(1, 2)),
            Map.entry("NonMaxSuppression", Set.of(2, 3, 4)), Map.entry("Shape", Set.of(0)), Map.entry("Size", Set.of(0)),
            Map.entry("RandomNormalLike", Set.of(0)), Map.entry("RandomUniformLike", Set.of(0)),
            Map.entry("EyeLike", Set.of(0)));

    /** Data-movement operators kept as layout nodes. */
    private static final Set<String> LAYOUT = Set.of(
            "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Pad", "Expand",
            "Tile", "GatherElements", "GatherND", "DepthToSpace", "SpaceToDepth", "Resize", "Upsample",
            "ScatterND", "ScatterElements", "Scatter", "Shape", "Size", "ConstantOfShape", "Range", "ReverseSequence",
            "Compress", "SplitToSequence", "ConcatFromSequence", "SequenceAt", "SequenceConstruct");

    /** Whether an operator is treated as a layout (data-movement) node. Gather is one unless it reads a parameter. */
    public static boolean isLayout(Node n) {
        if (!n.isOnnxDomain()) {
            return false;
        }
        if (n.opType().equals("Gather")) {
            return n.input(0).kind() != Value.Kind.PARAMETER;
        }
        return LAYOUT.contains(n.opType());
    }

    /**
     * Whether a node is a Dropout that drops in training: its {@code training_mode} input (opset 12 and
     * later) is a constant true, as in a model exported for training ({@code torch.onnx.export} with
     * {@code TrainingMode.TRAINING}). Such a Dropout does work (it draws a mask, scales and writes its
     * output, and its backward applies the mask), so coarsening keeps it as an element-wise operator;
     * an inference Dropout is an identity and is removed. O(1).
     */
    public static boolean isTrainingDropout(Node n) {
        if (!n.isOnnxDomain() || !n.opType().equals("Dropout") || !n.hasInput(2)) {
            return false;
        }
        return n.input(2).constant().filter(Tensor::hasValues).filter(t -> t.numElements() == 1)
                .map(t -> t.getLong(0) != 0).orElse(false);
    }

    /** Whether an operator may be fused into the node producing its input. */
    public static boolean isFusible(Node n) {
        String op = n.opType();
        if (!n.isOnnxDomain()) {
            return "com.microsoft".equals(n.domain()) && Set.of("Gelu", "FastGelu", "BiasGelu", "QuickGelu").contains(op);
        }
        return (IterationSpaces.isElementwise(op) && !op.equals("Identity")) || op.equals("BatchNormalization");
    }

    /** Coarsens the graph (see the class description). */
    public static CoarseGraph coarsen(Graph g) {
        boolean chain = !"false".equals(System.getProperty("shardplan.concatChains"));
        return new Run(chain ? ConcatChains.rewrite(g) : g).run();
    }

    private static boolean isConstant(Value v) {
        return v.kind() == Value.Kind.CONSTANT || v.constant().isPresent();
    }

    private static final class Run {
        final Graph g;
        final Set<Node> folded = new LinkedHashSet<>();
        final Set<Node> removed = new LinkedHashSet<>();
        final Map<String, Value> alias = new HashMap<>();
        final Set<String> graphOutputs = new HashSet<>();

        Run(Graph g) {
            this.g = g;
            g.outputs().forEach(v -> graphOutputs.add(v.name()));
        }

        /** The phase the time limit names when it runs out here. */
        private static final String PHASE = "coarsening the graph";

        Value resolve(Value v) {
            Value r = v;
            for (int guard = 0; guard < 1_000_000 && alias.containsKey(r.name()); guard++) {
                r = alias.get(r.name());
            }
            return r;
        }

        CoarseGraph run() {
            org.shardplan.graph.Deadline.check(PHASE);
            fold();
            org.shardplan.graph.Deadline.check(PHASE);
            remove();
            org.shardplan.graph.Deadline.check(PHASE);
            List<Group> groups = group();
            org.shardplan.graph.Deadline.check(PHASE);
            return assemble(groups);
        }

        void fold() {
            List<Node> nodes = g.nodes();
            for (int i = nodes.size() - 1; i >= 0; i--) {
                Node n = nodes.get(i);
                if (n.opType().equals("Constant") && n.isOnnxDomain()) {
                    folded.add(n);
                    continue;
                }
                if (n.opType().equals("Identity") && n.isOnnxDomain() && n.hasInput(0)
                        && n.input(0).kind() == Value.Kind.PARAMETER) {
                    continue; // another name for a weight (torch shares equal weights so): removed, not folded
                }
                boolean allConst = !n.outputs().isEmpty();
                boolean anyUse = false;
                boolean shapeOnly = true;
                for (Value o : n.outputs()) {
                    allConst &= o.constant().isPresent() && o.constant().get().hasValues();
                    if (graphOutputs.contains(o.name())) {
                        shapeOnly = false;
                    }
                    for (Node c : g.consumers(o)) {
                        anyUse = true;
                        if (folded.contains(c)) {
                            continue;
                        }
                        if (!readsOnlyAsShape(c, o)) {
                            shapeOnly = false;
                        }
                    }
                }
                boolean hasSubgraphs = !n.subgraphs().isEmpty();
                if (!hasSubgraphs && ((allConst && !anyGraphOutput(n)) || (anyUse && shapeOnly))) {
                    folded.add(n);
                }
            }
        }

        boolean anyGraphOutput(Node n) {
            for (Value o : n.outputs()) {
                if (graphOutputs.contains(o.name())) {
                    return true;
                }
            }
            return false;
        }

        boolean readsOnlyAsShape(Node c, Value v) {
            if (c.capturedNames().contains(v.name())) {
                return false;
            }
            Set<Integer> pos = c.isOnnxDomain() ? SHAPE_INPUTS.getOrDefault(c.opType(), Set.of()) : Set.of();
            for (int i = 0; i < c.inputs().size(); i++) {
                if (c.inputs().get(i).name().equals(v.name()) && !pos.contains(i)) {
                    return false;
                }
            }
            return true;
        }

        void remove() {
            for (Node n : g.nodes()) {
                if (folded.contains(n) || !n.isOnnxDomain() || !n.hasInput(0)) {
                    continue;
                }
                boolean drop = n.opType().equals("Identity") || (n.opType().equals("Dropout") && !isTrainingDropout(n)
                        && (n.outputs().size() < 2 || unused(n.output(1))));
                if (drop && !isConstant(n.input(0))) {
                    removed.add(n);
                    alias.put(n.output(0).name(), n.input(0));
                }
            }
        }

        boolean unused(Value v) {
            return g.consumers(v).isEmpty() && !graphOutputs.contains(v.name());
        }

        /** A coarse node under construction. */
        final class Group {
            final int index;
            final CoarseNode.Kind kind;
            Node anchor;
            final List<Node> members = new ArrayList<>();
            String pattern;

            Group(int index, CoarseNode.Kind kind, Node anchor) {
                this.index = index;
                this.kind = kind;
                this.anchor = anchor;
            }
        }

        List<Group> group() {
            List<Group> groups = new ArrayList<>();
            Map<Node, Group> groupOf = new HashMap<>();
            Map<String, Node> producer = new HashMap<>();
            for (Node n : g.nodes()) {
                for (Value o : n.outputs()) {
                    producer.put(o.name(), n);
                }
            }
            for (Node n : g.nodes()) {
                org.shardplan.graph.Deadline.check(PHASE);
                if (folded.contains(n) || removed.contains(n) || groupOf.containsKey(n)) {
                    continue;
                }
                Optional<LayerNormMatch> ln = matchLayerNorm(n);
                if (ln.isPresent()) {
                    Group grp = new Group(groups.size(), CoarseNode.Kind.COMPUTE, ln.get().anchor);
                    grp.pattern = "LayerNormalization";
                    grp.members.addAll(ln.get().members);
                    groups.add(grp);
                    ln.get().members.forEach(m -> groupOf.put(m, grp));
                    continue;
                }
                Optional<LayerNormMatch> rms = matchRmsNorm(n);
                if (rms.isPresent()) {
                    Group grp = new Group(groups.size(), CoarseNode.Kind.COMPUTE, rms.get().anchor);
                    grp.pattern = "RMSNormalization";
                    grp.members.addAll(rms.get().members);
                    groups.add(grp);
                    rms.get().members.forEach(m -> groupOf.put(m, grp));
                    continue;
                }
                Optional<LayerNormMatch> glu = matchSwiGlu(n, groupOf.keySet());
                if (glu.isPresent()) {
                    Group grp = new Group(groups.size(), CoarseNode.Kind.COMPUTE, glu.get().anchor);
                    grp.pattern = SWIGLU;
                    grp.members.addAll(glu.get().members);
                    groups.add(grp);
                    glu.get().members.forEach(m -> groupOf.put(m, grp));
                    continue;
                }
                if (isFusible(n)) {
                    // the coarse node that produced the latest activation input
                    List<Value> data = new ArrayList<>();
                    Group target = null;
                    for (Value in : n.inputs()) {
                        if (in.isAbsent()) {
                            continue;
                        }
                        Value r = resolve(in);
                        if (isConstant(r) || r.kind() == Value.Kind.PARAMETER) {
                            continue;
                        }
                        data.add(r);
                        Node p = producer.get(r.name());
                        Group pg = p == null ? null : groupOf.get(p);
                        if (pg != null && (target == null || pg.index > target.index)) {
                            target = pg;
                        }
                    }
                    boolean sameShape = false;
                    if (target != null && target.kind != CoarseNode.Kind.LAYOUT && n.output(0).shape().rankKnown()) {
                        for (Value r : data) {
                            Node p = producer.get(r.name());
                            if (p != null && groupOf.get(p) == target && r.shape().equals(n.output(0).shape())) {
                                sameShape = true;
                            }
                        }
                    }
                    if (sameShape) {
                        target.members.add(n);
                        groupOf.put(n, target);
                        continue;
                    }
                    Group grp = new Group(groups.size(), CoarseNode.Kind.ELEMENTWISE, n);
                    grp.members.add(n);
                    groups.add(grp);
                    groupOf.put(n, grp);
                    continue;
                }
                Group grp = new Group(groups.size(), isLayout(n) ? CoarseNode.Kind.LAYOUT : CoarseNode.Kind.COMPUTE, n);
                grp.members.add(n);
                groups.add(grp);
                groupOf.put(n, grp);
            }
            return groups;
        }

        // ------------------------------------------------------------ decomposed LayerNormalization

        record LayerNormMatch(Node anchor, List<Node> members) {
        }

        /** The single consumer of v (not folded or removed), if v has exactly one and is not a graph output. */
        Optional<Node> soleConsumer(Value v) {
            if (graphOutputs.contains(v.name())) {
                return Optional.empty();
            }
            List<Node> cs = liveConsumers(v);
            return cs.size() == 1 ? Optional.of(cs.get(0)) : Optional.empty();
        }

        List<Node> liveConsumers(Value v) {
            List<Node> r = new ArrayList<>();
            for (Node c : g.consumers(v)) {
                if (folded.contains(c)) {
                    continue;
                }
                if (removed.contains(c)) {
                    r.addAll(liveConsumers(c.output(0)));
                } else {
                    r.add(c);
                }
            }
            return r;
        }

        boolean is(Node n, String op) {
            return n != null && n.isOnnxDomain() && n.opType().equals(op) && !folded.contains(n) && !removed.contains(n);
        }

        /** Index of the input of n that resolves to v, or -1. */
        int inputIndex(Node n, Value v) {
            for (int i = 0; i < n.inputs().size(); i++) {
                if (!n.inputs().get(i).isAbsent() && resolve(n.inputs().get(i)).name().equals(v.name())) {
                    return i;
                }
            }
            return -1;
        }

        /** The other input of a binary node, if it is a constant or a parameter. */
        Optional<Value> constOperand(Node n, Value mine) {
            if (n.inputs().size() != 2) {
                return Optional.empty();
            }
            int i = inputIndex(n, mine);
            if (i < 0) {
                return Optional.empty();
            }
            Value other = resolve(n.input(1 - i));
            return isConstant(other) || other.kind() == Value.Kind.PARAMETER ? Optional.of(other) : Optional.empty();
        }

        Optional<LayerNormMatch> matchLayerNorm(Node r1) {
            if (!is(r1, "ReduceMean") || !r1.hasInput(0)) {
                return Optional.empty();
            }
            Value x = resolve(r1.input(0));
            Optional<int[]> axes = trailingAxes(r1, x);
            if (axes.isEmpty() || isConstant(x)) {
                return Optional.empty();
            }
            Value mean = r1.output(0);
            List<Node> mc = liveConsumers(mean);
            if (mc.size() != 1 || graphOutputs.contains(mean.name()) || !is(mc.get(0), "Sub")) {
                return Optional.empty();
            }
            Node sub = mc.get(0);
            if (inputIndex(sub, x) != 0 || inputIndex(sub, mean) != 1) {
                return Optional.empty();
            }
            Value d = sub.output(0);
            List<Node> dc = liveConsumers(d);
            if (dc.size() != 2 || graphOutputs.contains(d.name())) {
                return Optional.empty();
            }
            Node sq = null;
            Node div = null;
            for (Node c : dc) {
                if (is(c, "Pow") && inputIndex(c, d) == 0 && constOperand(c, d).isPresent()) {
                    sq = c;
                } else if (is(c, "Mul") && c.inputs().size() == 2 && resolve(c.input(0)).name().equals(d.name())
                        && resolve(c.input(1)).name().equals(d.name())) {
                    sq = c;
                } else if (is(c, "Div") && inputIndex(c, d) == 0) {
                    div = c;
                }
            }
            if (sq == null || div == null) {
                return Optional.empty();
            }
            Node r2 = soleConsumer(sq.output(0)).orElse(null);
            if (!is(r2, "ReduceMean") || trailingAxes(r2, sq.output(0)).map(a -> !java.util.Arrays.equals(a, axes.get()))
                    .orElse(true)) {
                return Optional.empty();
            }
            Node addEps = soleConsumer(r2.output(0)).orElse(null);
            if (!is(addEps, "Add") || constOperand(addEps, r2.output(0)).isEmpty()) {
                return Optional.empty();
            }
            Node sqrt = soleConsumer(addEps.output(0)).orElse(null);
            if (!is(sqrt, "Sqrt") || soleConsumer(sqrt.output(0)).orElse(null) != div || inputIndex(div, sqrt.output(0)) != 1) {
                return Optional.empty();
            }
            List<Node> members = new ArrayList<>(List.of(r1, sub, sq, r2, addEps, sqrt, div));
            Value out = div.output(0);
            Value scale = Value.absent();
            Value bias = Value.absent();
            Node mul = soleConsumer(out).orElse(null);
            if (is(mul, "Mul") && constOperand(mul, out).isPresent()) {
                scale = constOperand(mul, out).get();
                members.add(mul);
                out = mul.output(0);
                Node add = soleConsumer(out).orElse(null);
                if (is(add, "Add") && constOperand(add, out).isPresent()) {
                    bias = constOperand(add, out).get();
                    members.add(add);
                    out = add.output(0);
                }
            }
            double eps = constOperand(addEps, r2.output(0)).flatMap(Value::constant).filter(Tensor::hasValues)
                    .filter(t -> t.numElements() == 1).map(t -> t.getDouble(0)).orElse(1e-5);
            List<Attribute> attrs = List.of(Attribute.ofInt("axis", axes.get()[0]), Attribute.ofFloat("epsilon", (float) eps));
            List<Value> ins = new ArrayList<>(List.of(x, scale));
            if (!bias.isAbsent()) {
                ins.add(bias);
            }
            Node anchor = new Node(r1.name(), "LayerNormalization", Node.ONNX_DOMAIN, ins, List.of(out), attrs);
            return Optional.of(new LayerNormMatch(anchor, members));
        }

        // ------------------------------------------------------------ decomposed RMSNorm

        /**
         * RMSNorm written out (Zhang and Sennrich, 2019, "Root Mean Square Layer Normalization"), as torch
         * exports {@code x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight}: Pow(x, 2) (or
         * Mul(x, x)), ReduceMean over trailing axes, Add(eps), Sqrt, then Div(1, .) and Mul with x, or
         * Reciprocal and Mul with x, or Div(x, .); optionally a Mul by a constant or parameter scale.
         */
        Optional<LayerNormMatch> matchRmsNorm(Node sq) {
            Value x;
            if (is(sq, "Pow") && sq.inputs().size() == 2) {
                x = resolve(sq.input(0));
                double e = constOperand(sq, x).flatMap(Value::constant).filter(Tensor::hasValues)
                        .filter(t -> t.numElements() == 1).map(t -> t.getDouble(0)).orElse(0.0);
                if (e != 2.0 || inputIndex(sq, x) != 0) {
                    return Optional.empty();
                }
            } else if (is(sq, "Mul") && sq.inputs().size() == 2
                    && resolve(sq.input(0)).name().equals(resolve(sq.input(1)).name())) {
                x = resolve(sq.input(0));
            } else {
                return Optional.empty();
            }
            if (isConstant(x) || x.kind() == Value.Kind.PARAMETER) {
                return Optional.empty();
            }
            Node r = soleConsumer(sq.output(0)).orElse(null);
            if (!is(r, "ReduceMean")) {
                return Optional.empty();
            }
            Optional<int[]> axes = trailingAxes(r, sq.output(0));
            if (axes.isEmpty()) {
                return Optional.empty();
            }
            Node addEps = soleConsumer(r.output(0)).orElse(null);
            if (!is(addEps, "Add") || constOperand(addEps, r.output(0)).isEmpty()) {
                return Optional.empty();
            }
            Node sqrt = soleConsumer(addEps.output(0)).orElse(null);
            if (!is(sqrt, "Sqrt")) {
                return Optional.empty();
            }
            List<Node> members = new ArrayList<>(List.of(sq, r, addEps, sqrt));
            Node next = soleConsumer(sqrt.output(0)).orElse(null);
            Value inverse;
            if (is(next, "Div") && inputIndex(next, sqrt.output(0)) == 1) {
                Value num = resolve(next.input(0));
                members.add(next);
                if (num.name().equals(x.name())) {
                    return Optional.of(rmsAnchor(sq, x, next.output(0), members, axes.get(), addEps, r));
                }
                boolean one = num.constant().filter(Tensor::hasValues).filter(t -> t.numElements() == 1)
                        .map(t -> t.getDouble(0) == 1.0).orElse(false);
                if (!one) {
                    return Optional.empty();
                }
                inverse = next.output(0);
            } else if (is(next, "Reciprocal")) {
                members.add(next);
                inverse = next.output(0);
            } else {
                return Optional.empty();
            }
            Node mul = soleConsumer(inverse).orElse(null);
            if (!is(mul, "Mul") || mul.inputs().size() != 2 || inputIndex(mul, x) < 0 || inputIndex(mul, inverse) < 0) {
                return Optional.empty();
            }
            members.add(mul);
            return Optional.of(rmsAnchor(sq, x, mul.output(0), members, axes.get(), addEps, r));
        }

        private LayerNormMatch rmsAnchor(Node sq, Value x, Value normalised, List<Node> members, int[] axes, Node addEps,
                                         Node r) {
            Value out = normalised;
            Value scale = Value.absent();
            Node mul = soleConsumer(out).orElse(null);
            if (is(mul, "Mul") && constOperand(mul, out).isPresent()) {
                scale = constOperand(mul, out).get();
                members.add(mul);
                out = mul.output(0);
            }
            double eps = constOperand(addEps, r.output(0)).flatMap(Value::constant).filter(Tensor::hasValues)
                    .filter(t -> t.numElements() == 1).map(t -> t.getDouble(0)).orElse(1e-6);
            List<Attribute> attrs = List.of(Attribute.ofInt("axis", axes[0]), Attribute.ofFloat("epsilon", (float) eps));
            Node anchor = new Node(sq.name(), "RMSNormalization", Node.ONNX_DOMAIN, List.of(x, scale), List.of(out), attrs);
            return new LayerNormMatch(anchor, members);
        }

        // ------------------------------------------------------------ SwiGLU

        /**
         * The gated MLP of Shazeer (2020, "GLU Variants Improve Transformer"), SwiGLU:
         * {@code silu(x W_gate) * (x W_up)}, written as MatMul(x, W_gate), Sigmoid, Mul (SiLU), MatMul(x,
         * W_up) and their Mul, with W_gate and W_up parameters of one shape. {@code n} is the MatMul that
         * comes first; the anchor is the gate's MatMul.
         */
        Optional<LayerNormMatch> matchSwiGlu(Node n, Set<Node> grouped) {
            if (!is(n, "MatMul") || n.inputs().size() != 2) {
                return Optional.empty();
            }
            Value x = resolve(n.input(0));
            for (Node o : liveConsumers(x)) {
                if (o == n || !is(o, "MatMul") || o.inputs().size() != 2) {
                    continue;
                }
                for (Node[] pair : new Node[][] {{n, o}, {o, n}}) {
                    Optional<LayerNormMatch> m = swiGlu(pair[0], pair[1], x, grouped);
                    if (m.isPresent()) {
                        return m;
                    }
                }
            }
            return Optional.empty();
        }

        private Optional<LayerNormMatch> swiGlu(Node gate, Node up, Value x, Set<Node> grouped) {
            Value wg = resolve(gate.input(1));
            Value wu = resolve(up.input(1));
            if (inputIndex(gate, x) != 0 || inputIndex(up, x) != 0 || wg.kind() != Value.Kind.PARAMETER
                    || wu.kind() != Value.Kind.PARAMETER || !wg.type().equals(wu.type())
                    || !gate.output(0).type().equals(up.output(0).type())) {
                return Optional.empty();
            }
            Value g = gate.output(0);
            List<Node> gc = liveConsumers(g);
            if (gc.size() != 2 || graphOutputs.contains(g.name())) {
                return Optional.empty();
            }
            Node sig = null;
            Node silu = null;
            for (Node c : gc) {
                if (is(c, "Sigmoid")) {
                    sig = c;
                } else if (is(c, "Mul")) {
                    silu = c;
                }
            }
            if (sig == null || silu == null || soleConsumer(sig.output(0)).orElse(null) != silu
                    || inputIndex(silu, sig.output(0)) < 0 || inputIndex(silu, g) < 0) {
                return Optional.empty();
            }
            Node prod = soleConsumer(silu.output(0)).orElse(null);
            if (!is(prod, "Mul") || soleConsumer(up.output(0)).orElse(null) != prod || inputIndex(prod, up.output(0)) < 0
                    || !prod.output(0).type().equals(g.type())) {
                return Optional.empty();
            }
            List<Node> members = List.of(gate, sig, silu, up, prod);
            for (Node m : members) {
                if (grouped.contains(m)) {
                    return Optional.empty();
                }
            }
            return Optional.of(new LayerNormMatch(gate, new ArrayList<>(members)));
        }

        /** The reduced axes of a ReduceMean with keepdims, if they are the trailing axes of v, ascending. */
        Optional<int[]> trailingAxes(Node r, Value v) {
            if (r.attrInt("keepdims", 1) == 0 || !v.shape().rankKnown()) {
                return Optional.empty();
            }
            long[] axes = r.attrInts("axes").orElse(null);
            if (axes == null && r.hasInput(1)) {
                axes = r.input(1).constant().filter(Tensor::hasValues).flatMap(Tensor::longs).orElse(null);
            }
            int rank = v.shape().rank();
            if (axes == null || axes.length == 0 || rank == 0) {
                return Optional.empty();
            }
            int[] a = new int[axes.length];
            for (int i = 0; i < axes.length; i++) {
                a[i] = (int) (axes[i] < 0 ? axes[i] + rank : axes[i]);
            }
            java.util.Arrays.sort(a);
            for (int i = 0; i < a.length; i++) {
                if (a[i] != rank - a.length + i) {
                    return Optional.empty();
                }
            }
            return Optional.of(a);
        }

        // ------------------------------------------------------------ assembly

        CoarseGraph assemble(List<Group> groups) {
            Map<String, Integer> producedBy = new HashMap<>();
            for (Group grp : groups) {
                for (Node m : grp.members) {
                    for (Value o : m.outputs()) {
                        producedBy.put(o.name(), grp.index);
                    }
                }
            }
            Map<Integer, Map<String, Value>> outputsOf = new LinkedHashMap<>();
            List<CoarseEdge> edges = new ArrayList<>();
            List<List<Value>> inputsOf = new ArrayList<>();
            for (Group grp : groups) {
                org.shardplan.graph.Deadline.check(PHASE);
                Map<String, Value> ins = new LinkedHashMap<>();
                Set<String> edgeSeen = new HashSet<>();
                for (Node m : grp.members) {
                    List<Value> reads = new ArrayList<>(m.inputs());
                    for (String cap : m.capturedNames()) {
                        g.value(cap).ifPresent(reads::add);
                    }
                    for (Value in : reads) {
                        if (in.isAbsent()) {
                            continue;
                        }
                        Value r = resolve(in);
                        if (isConstant(r)) {
                            continue;
                        }
                        Integer from = producedBy.get(r.name());
                        if (from == null) {
                            Optional<Node> p = g.producer(r.name());
                            if (p.isPresent()) {
                                continue; // produced by a folded node
                            }
                            ins.putIfAbsent(r.name(), r);
                        } else if (from != grp.index) {
                            ins.putIfAbsent(r.name(), r);
                            if (edgeSeen.add(from + ":" + r.name())) {
                                edges.add(new CoarseEdge(from, grp.index, r));
                            }
                            outputsOf.computeIfAbsent(from, k -> new LinkedHashMap<>()).putIfAbsent(r.name(), r);
                        }
                    }
                }
                inputsOf.add(List.copyOf(ins.values()));
            }
            for (Value o : g.outputs()) {
                Value r = resolve(o);
                Integer from = producedBy.get(r.name());
                if (from != null) {
                    outputsOf.computeIfAbsent(from, k -> new LinkedHashMap<>()).putIfAbsent(r.name(), r);
                }
            }
            List<CoarseNode> nodes = new ArrayList<>();
            for (Group grp : groups) {
                Work w = Work.ZERO;
                for (Node m : grp.members) {
                    w = w.plus(WorkAnalysis.of(m));
                }
                // outputs in member order
                Map<String, Value> outs = outputsOf.getOrDefault(grp.index, Map.of());
                List<Value> ordered = new ArrayList<>();
                for (Node m : grp.members) {
                    for (Value o : m.outputs()) {
                        if (outs.containsKey(o.name())) {
                            ordered.add(o);
                        }
                    }
                }
                List<Node> members = new ArrayList<>();
                Node anchor = grp.anchor;
                for (Node m : grp.members) {
                    Node r = rewired(m);
                    members.add(r);
                    if (m == grp.anchor) {
                        anchor = r;
                    }
                }
                nodes.add(new CoarseNode(grp.index, grp.anchor.name(), grp.kind, anchor, members,
                        inputsOf.get(grp.index), ordered, Optional.ofNullable(grp.pattern), w));
            }
            edges.sort(java.util.Comparator.comparingInt(CoarseEdge::to));
            List<BlockClass> classes = RepeatedBlocks.find(nodes, edges);
            return new CoarseGraph(g, nodes, edges, new ArrayList<>(orderedFolded()), new ArrayList<>(orderedRemoved()),
                    classes);
        }

        /** The node reading the inputs of removed nodes instead of their outputs (itself if none). */
        Node rewired(Node m) {
            List<Value> ins = new ArrayList<>();
            boolean changed = false;
            for (Value v : m.inputs()) {
                Value r = v.isAbsent() ? v : resolve(v);
                changed |= r != v;
                ins.add(r);
            }
            return changed ? m.withValues(ins, m.outputs()) : m;
        }

        List<Node> orderedFolded() {
            List<Node> r = new ArrayList<>();
            for (Node n : g.nodes()) {
                if (folded.contains(n)) {
                    r.add(n);
                }
            }
            return r;
        }

        List<Node> orderedRemoved() {
            List<Node> r = new ArrayList<>();
            for (Node n : g.nodes()) {
                if (removed.contains(n)) {
                    r.add(n);
                }
            }
            return r;
        }
    }
}
