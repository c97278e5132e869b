package org.shardplan.planner.parareal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import org.shardplan.graph.DType;
import org.shardplan.graph.Graph;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.OnnxImporter;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.NodeSpec;
import org.shardplan.onnx.edit.TensorEntry;
import org.shardplan.onnx.edit.ValueEntry;
import org.shardplan.planner.Plan;
import org.jgrapht.graph.DefaultEdge;
import org.jgrapht.graph.DirectedAcyclicGraph;
import org.jgrapht.traverse.TopologicalOrderIterator;

/**
 * Writes the parareal network of a plan's {@code parareal} section as an ONNX model (Lee, Park and
 * Lee, arXiv:2103.08802; docs/parareal.md). With the chain's activations v_0 (its input), v_j (after
 * segment j) and v_N (its output), one coarse block G_j per segment and the fine segments F_j (the
 * original layers, with their weights):
 * <pre>
 *   λ_0 = v_0,   λ_j = G_j(λ_{j-1})                         (j = 1 .. N-1, sequential)
 *   f_1 = F_1(v_0),   f_j = F_j(λ_{j-1})                    (j = 2 .. N, parallel)
 *   U_1 = f_1,   U_j = G_j(U_{j-1}) + (f_j - G_j(λ_{j-1}))   (j = 2 .. N, sequential)
 * </pre>
 * and the rest of the model reads U_N where it read v_N. This is one iteration of the parareal update
 * of Lions, Maday and Turinici (2001) started from the coarse sweep; when every G_j computes what F_j
 * does, λ_j = v_j and U_j = v_j, so the network computes the original model (the check in the tests).
 *
 * <p>Names, so that a training script can place the parts: segment j's nodes are {@code
 * parareal/fine<j>/<original name>} (segment 1 keeps its value names; later segments' values are
 * renamed under the same prefix), coarse block j's are {@code parareal/coarse<j>/predict/...} (on
 * λ_{j-1}) and {@code parareal/coarse<j>/correct/...} (on U_{j-1}) with its parameters {@code
 * parareal/coarse<j>/<original parameter>}, and the join's are {@code parareal/join<j>/delta} and
 * {@code parareal/join<j>/correct}. A network of several chains names chain k's parts
 * {@code parareal/chain<k>/fine<j>/...} and so on (k = 1.. in the plan's order). The model's inputs,
 * outputs and their shapes are the original's;
 * weights that were graph inputs stay graph inputs.
 *
 * <p>The coarse network ({@link Coarse#BLOCK}, the default) is one block of the chain's class per
 * segment (the chain's second block, which reads an activation and has a gradient to give), its
 * floating-point parameters of more than one element new: a Conv, MatMul or Gemm weight uniform in
 * ±1/sqrt(fan-in) (PyTorch's default for Linear and Conv), a normalisation's scale and a vector
 * multiplied in 1, other vectors (biases, shifts, running means) 0, a BatchNormalization's running
 * variance 1; seeded. {@link Coarse#COPY} makes G_j a copy of segment j with the original weights
 * (the exactness check).
 *
 * <p>Segments are the nodes reached from one boundary activation that reach the next (JGraphT's
 * descendants and ancestors on the file's node graph), the written nodes ordered by JGraphT's
 * topological order; O(N · (V + E)) for V nodes and E values read, plus the bytes written.
 */
public final class PararealRewrite {
    private PararealRewrite() {
    }

    /** What each coarse block G_j is. */
    public enum Coarse {
        /** One block of the chain's class per segment with new, initialised parameters (the network to train). */
        BLOCK,
        /** A copy of segment j with its original weights: the rewritten model then computes the original's outputs. */
        COPY
    }

    /**
     * How to write the coarse network.
     *
     * @param coarse what each coarse block is
     * @param seed the seed of the new parameters' values
     */
    public record Options(Coarse coarse, long seed) {
        /** New blocks, seed 0. */
        public static final Options DEFAULT = new Options(Coarse.BLOCK, 0);

        public Options {
            Objects.requireNonNull(coarse, "coarse");
        }
    }

    /**
     * What was written.
     *
     * @param file the ONNX file
     * @param segments N
     * @param newParameters elements of the coarse network's new parameters (0 with {@link Coarse#COPY})
     * @param nodes nodes of the written graph
     * @param notes what a training script needs to know (names of the parts, what is new)
     */
    public record Written(Path file, int segments, long newParameters, int nodes, List<String> notes) {
        public Written {
            notes = List.copyOf(notes);
        }
    }

    /**
     * Writes the plan's parareal network of the ONNX model {@code model} to {@code out}, importing the
     * model at the plan's dimension bindings. For {@code shardplan export parareal PLAN MODEL --out OUT}.
     *
     * @throws ShardplanException one line naming what is wrong: a plan without a parareal section, a
     *     model that is not the plan's, a file that cannot be read or written
     */
    public static Written write(Plan plan, Path model, Path out) throws ShardplanException {
        Graph g = OnnxImporter.read(model, ImportOptions.DEFAULT.withDims(plan.dims())).graph();
        return write(plan, g, model, out, Options.DEFAULT);
    }

    /**
     * Writes the plan's parareal network of the ONNX model {@code model}, already imported as {@code
     * graph} at the plan's batch, to {@code out}, with new coarse blocks (seed 0).
     *
     * @throws ShardplanException as {@link #write(Plan, Path, Path)}
     */
    public static Written write(Plan plan, Graph graph, Path model, Path out) throws ShardplanException {
        return write(plan, graph, model, out, Options.DEFAULT);
    }

    /**
     * Why a plan has no parareal section: not asked for, or asked for with {@code auto} and found not to pay (the plan's
     * warning gives the fastest network's prediction), where {@code --parareal N} writes one all the same.
     */
    static String noSection(Plan plan) {
        String asked = plan.options().requested().getOrDefault("parareal", "off");
        if (asked.equals("auto")) {
            return "the plan has no parareal section: it was made with --parareal auto, and no parareal network was"
                    + " faster than the plan that keeps the model (its warnings say by how much); shardplan plan"
                    + " --parareal N makes a plan with N segments all the same";
        }
        return "the plan has no parareal section (make it with shardplan plan --parareal auto or --parareal N)";
    }

    /**
     * Writes the plan's parareal network of the ONNX model {@code model}, already imported as {@code
     * graph} at the plan's batch, to {@code out}.
     *
     * @throws ShardplanException as {@link #write(Plan, Path, Path)}
     */
    public static Written write(Plan plan, Graph graph, Path model, Path out, Options options) throws ShardplanException {
        Plan.Parareal p = plan.parareal().orElseThrow(() -> new ShardplanException(noSection(plan)));
        ModelFile m = ModelFile.read(model);
        Path dir = model.toAbsolutePath().getParent();
        Rewritten r = rewrite(m, graph, p, options, dir == null ? Path.of(".") : dir);
        try {
            r.builder.write(out);
        } catch (java.io.UncheckedIOException e) {
            throw new ShardplanException(e.getMessage(), e);
        }
        return new Written(out, p.chains().stream().mapToInt(Plan.PararealChain::segments).sum(), r.newParameters,
                r.builder.nodes().size(), r.notes);
    }

    /** A rewritten model not yet written. */
    record Rewritten(ModelBuilder builder, long newParameters, List<String> notes) {
    }

    /**
     * The rewritten model of {@code m} (imported as {@code g}) for the parareal section {@code p}: its
     * chains rewritten one after another, each in the model the previous one left (nodes outside a
     * chain keep their names, so the later chains' boundaries are still found by name).
     */
    static Rewritten rewrite(ModelFile m, Graph g, Plan.Parareal p, Options o, Path dir) throws ShardplanException {
        CoarseGraph cg = Coarsening.coarsen(g);
        List<Chain> found = Chains.find(cg);
        int count = p.chains().size();
        ModelFile at = m;
        ModelBuilder last = null;
        long params = 0;
        List<String> notes = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            Plan.PararealChain pc = p.chains().get(k);
            String where = count == 1 ? "parareal." : "parareal.chains[" + k + "].";
            Chain chain = null;
            for (Chain c : found) {
                if (c.firstName(cg).equals(pc.first()) && c.lastName(cg).equals(pc.last())) {
                    chain = c;
                }
            }
            if (chain == null) {
                throw new ShardplanException(where + "chain: " + pc.first() + " .. " + pc.last() + " is not a chain of"
                        + " shape-keeping blocks of model " + g.name() + " (is it the plan's model, at the plan's batch?)");
            }
            for (int q = 0; q < k; q++) {
                Plan.PararealChain before = p.chains().get(q);
                if (before.first().equals(pc.first())) {
                    throw new ShardplanException(where + "chain: " + pc.first() + " .. " + pc.last()
                            + " must be torn once, found it again at parareal.chains[" + q + "]");
                }
            }
            // the block index where each segment starts
            int n = pc.segments();
            int[] bounds = new int[n + 1];
            bounds[n] = chain.length();
            for (int j = 1; j < n; j++) {
                String cut = pc.cuts().get(j - 1);
                int idx = -1;
                for (int b = 1; b < chain.length(); b++) {
                    if (cg.node(chain.layers().get(b).from()).name().equals(cut)) {
                        idx = b;
                    }
                }
                if (idx <= bounds[j - 1]) {
                    throw new ShardplanException(where + "cuts[" + (j - 1) + "] must be the first node of a later block of"
                            + " the chain, found " + cut);
                }
                bounds[j] = idx;
            }
            String[] v = new String[n + 1];
            for (int j = 0; j <= n; j++) {
                v[j] = Chains.boundary(cg, chain, bounds[j]).name();
            }
            if (last != null) {
                try {
                    at = ModelFile.parse(last.bytes(), dir, g.name());
                } catch (org.shardplan.onnx.OnnxImportException e) {
                    throw new ShardplanException("cannot rewrite chain " + (k + 1) + ": " + e.getMessage(), e);
                }
            }
            String base = count == 1 ? "parareal/" : "parareal/chain" + (k + 1) + "/";
            Rewritten r = new Writer(at, g, o, base, k).rewrite(v, Chains.boundary(cg, chain, 1).name(),
                    Chains.boundary(cg, chain, 2).name());
            last = r.builder;
            params += r.newParameters;
            if (count == 1) {
                notes.addAll(r.notes);
            } else {
                r.notes.forEach(x -> notes.add("chain " + pc.first() + " .. " + pc.last() + ": " + x));
            }
        }
        if (count > 1) {
            notes.add(count + " chains torn, their parts named parareal/chain<k>/... (k = 1.." + count + " in model order)");
        }
        return new Rewritten(last, params, notes);
    }

    /** The rewriting of one model. */
    private static final class Writer {
        private final ModelFile m;
        private final Graph g;
        private final Options o;
        private final List<NodeEntry> nodes;
        private final Map<String, Integer> producer = new HashMap<>();
        private final Map<String, List<Integer>> consumers = new HashMap<>();
        private final DirectedAcyclicGraph<Integer, DefaultEdge> dag;
        private final Map<String, TensorEntry> inits = new LinkedHashMap<>();
        private final List<NodeEntry> added = new ArrayList<>();
        private final List<TensorEntry> newInits = new ArrayList<>();
        private final java.util.Set<String> createdNames = new java.util.HashSet<>();
        private final String base;
        private final int chainIndex;
        private long newParameters;

        Writer(ModelFile m, Graph g, Options o, String base, int chainIndex) throws ShardplanException {
            this.m = m;
            this.g = g;
            this.o = o;
            this.base = base;
            this.chainIndex = chainIndex;
            this.nodes = m.nodes();
            for (int i = 0; i < nodes.size(); i++) {
                for (String out : nodes.get(i).outputs()) {
                    if (!out.isEmpty()) {
                        producer.put(out, i);
                    }
                }
                for (String in : nodes.get(i).inputs()) {
                    if (!in.isEmpty()) {
                        consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
                    }
                }
            }
            m.initializers().forEach(t -> inits.put(t.name(), t));
            this.dag = dag(nodes);
        }

        /** The nodes as a JGraphT graph, an edge from each value's maker to each of its readers. */
        private static DirectedAcyclicGraph<Integer, DefaultEdge> dag(List<NodeEntry> nodes) throws ShardplanException {
            DirectedAcyclicGraph<Integer, DefaultEdge> d = new DirectedAcyclicGraph<>(DefaultEdge.class);
            Map<String, Integer> made = new HashMap<>();
            for (int i = 0; i < nodes.size(); i++) {
                d.addVertex(i);
                for (String out : nodes.get(i).outputs()) {
                    if (!out.isEmpty()) {
                        made.put(out, i);
                    }
                }
            }
            for (int i = 0; i < nodes.size(); i++) {
                for (String in : nodes.get(i).inputs()) {
                    Integer p = made.get(in);
                    if (p != null && p != i && !d.containsEdge(p, i)) {
                        try {
                            d.addEdge(p, i);
                        } catch (IllegalArgumentException e) {
                            throw new ShardplanException("cannot rewrite: node " + nodes.get(i).name() + " reading " + in
                                    + " closes a cycle");
                        }
                    }
                }
            }
            return d;
        }

        /**
         * The nodes between two activations: descendants of {@code from}'s readers that are ancestors of
         * {@code to}'s maker (or those nodes themselves), in file order.
         */
        List<Integer> between(String from, String to) throws ShardplanException {
            Set<Integer> down = new HashSet<>();
            for (int c : consumers.getOrDefault(from, List.of())) {
                down.add(c);
                down.addAll(dag.getDescendants(c));
            }
            Integer last = producer.get(to);
            if (last == null) {
                throw new ShardplanException("the chain's activation " + to + " is made by no node of the ONNX file");
            }
            Set<Integer> up = new HashSet<>(dag.getAncestors(last));
            up.add(last);
            down.retainAll(up);
            List<Integer> r = new ArrayList<>(down);
            java.util.Collections.sort(r);
            if (r.isEmpty()) {
                throw new ShardplanException("no node of the ONNX file leads from " + from + " to " + to);
            }
            return r;
        }

        private static String nodeName(NodeEntry e, int index) {
            return e.name().isEmpty() ? e.opType() + "_" + index : e.name();
        }

        /**
         * Adds a copy of {@code part} reading {@code input} where it read {@code from}, its values and
         * nodes renamed under {@code prefix}, parameters renamed by {@code params}; returns the name of
         * its copy of {@code to}.
         */
        String copy(List<Integer> part, String from, String input, String to, String prefix, Map<String, String> params) {
            Set<String> inside = new HashSet<>();
            for (int i : part) {
                for (String out : nodes.get(i).outputs()) {
                    if (!out.isEmpty()) {
                        inside.add(out);
                    }
                }
            }
            for (int i : part) {
                NodeEntry e = nodes.get(i);
                List<String> ins = new ArrayList<>();
                for (String in : e.inputs()) {
                    ins.add(in.isEmpty() ? in : inside.contains(in) ? prefix + in : in.equals(from) ? input
                            : params.getOrDefault(in, in));
                }
                List<String> outs = new ArrayList<>();
                for (String out : e.outputs()) {
                    outs.add(out.isEmpty() ? out : prefix + out);
                }
                added.add(e.withInputs(ins).withOutputs(outs).withName(prefix + nodeName(e, i)));
            }
            return prefix + to;
        }

        /** New parameters for coarse block {@code j}: each floating-point weight of more than one element. */
        Map<String, String> newParameters(List<Integer> block, int j) throws ShardplanException {
            Map<String, String> r = new LinkedHashMap<>();
            SplittableRandom rnd = new SplittableRandom(o.seed() * 1_000_003L + j + 7_919L * chainIndex);
            for (int i : block) {
                NodeEntry e = nodes.get(i);
                for (int slot = 0; slot < e.inputs().size(); slot++) {
                    String in = e.inputs().get(slot);
                    if (in.isEmpty() || r.containsKey(in)) {
                        continue;
                    }
                    // exporters read a deduplicated weight through an Identity: the weight is its input
                    String source = in;
                    while (producer.containsKey(source) && nodes.get(producer.get(source)).opType().equals("Identity")
                            && !block.contains(producer.get(source))) {
                        source = nodes.get(producer.get(source)).inputs().get(0);
                    }
                    if (producer.containsKey(source)) {
                        continue;
                    }
                    long[] dims = weightDims(source);
                    if (dims == null) {
                        continue;
                    }
                    long count = 1;
                    for (long d : dims) {
                        count *= d;
                    }
                    if (count <= 1) {
                        continue;
                    }
                    if (count > Integer.MAX_VALUE) {
                        throw new ShardplanException("coarse parameter " + in + " must have fewer than 2^31 elements, found "
                                + count);
                    }
                    String name = base + "coarse" + j + "/" + source;
                    // one new tensor per source weight, however many names read it (Identity copies)
                    if (createdNames.add(name)) {
                        newInits.add(TensorEntry.floats(name, dims, initial(e.opType(), slot, dims, (int) count, rnd)));
                        newParameters += count;
                    }
                    r.put(in, name);
                }
            }
            return r;
        }

        /** The shape of a float32 weight (an initializer, or a graph input the importer reads as a parameter), else null. */
        private long[] weightDims(String name) throws ShardplanException {
            TensorEntry t = inits.get(name);
            if (t != null) {
                if (t.dataType() != 1) {
                    if (t.dataType() == 10 || t.dataType() == 16 || t.dataType() == 11) {
                        throw new ShardplanException("coarse parameter " + name + " must be float32 to be initialised,"
                                + " found ONNX data type " + t.dataType());
                    }
                    return null;
                }
                return t.dims();
            }
            Value v = g.value(name).orElse(null);
            if (v == null || v.kind() != Value.Kind.PARAMETER || v.dtype() != DType.FLOAT32 || !v.shape().isFullyKnown()) {
                return null;
            }
            return v.shape().toLongs();
        }

        /** Initial values of a new weight read by {@code op} at input {@code slot}. */
        private static float[] initial(String op, int slot, long[] dims, int count, SplittableRandom rnd) {
            float[] x = new float[count];
            float fill;
            if (op.equals("BatchNormalization")) {
                fill = slot == 1 || slot == 4 ? 1f : 0f;
            } else if (op.endsWith("Normalization")) {
                fill = slot == 1 ? 1f : 0f;
            } else if (dims.length <= 1) {
                fill = op.equals("Mul") || op.equals("Div") ? 1f : 0f;
            } else {
                long fan = op.equals("MatMul") ? dims[dims.length - 2] : count / dims[0];
                double bound = 1 / Math.sqrt(Math.max(1, fan));
                for (int i = 0; i < count; i++) {
                    x[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
                }
                return x;
            }
            java.util.Arrays.fill(x, fill);
            return x;
        }

        Rewritten rewrite(String[] v, String blockIn, String blockOut) throws ShardplanException {
            int n = v.length - 1;
            List<List<Integer>> seg = new ArrayList<>();
            for (int j = 1; j <= n; j++) {
                seg.add(between(v[j - 1], v[j]));
            }
            List<Integer> block = between(blockIn, blockOut);
            Set<Integer> removed = new HashSet<>();
            for (int j = 2; j <= n; j++) {
                removed.addAll(seg.get(j - 1));
            }
            Set<Integer> first = new HashSet<>(seg.get(0));
            // coarse blocks: their parameters once per block, two calls each
            List<Map<String, String>> params = new ArrayList<>();
            for (int j = 1; j <= n; j++) {
                params.add(o.coarse() == Coarse.BLOCK ? newParameters(block, j) : Map.of());
            }
            String[] lambda = new String[n + 1];
            lambda[0] = v[0];
            String[] predicted = new String[n + 1];
            for (int j = 1; j <= n; j++) {
                predicted[j] = coarse(j, "predict", lambda[j - 1], v, seg, block, blockIn, blockOut, params.get(j - 1));
                if (j < n) {
                    lambda[j] = predicted[j];
                }
            }
            String u = v[1];
            for (int j = 2; j <= n; j++) {
                String f = copy(seg.get(j - 1), v[j - 1], lambda[j - 1], v[j], base + "fine" + j + "/", Map.of());
                String corrected = coarse(j, "correct", u, v, seg, block, blockIn, blockOut, params.get(j - 1));
                String delta = base + "join" + j + "/delta";
                added.add(NodeSpec.of("Sub", base + "join" + j + "/delta").inputs(f, predicted[j]).outputs(delta).entry());
                String next = j == n ? v[n] : base + "join" + j + "/U";
                added.add(NodeSpec.of("Add", base + "join" + j + "/correct").inputs(corrected, delta).outputs(next)
                        .entry());
                u = next;
            }
            List<NodeEntry> all = new ArrayList<>();
            Set<String> made = new HashSet<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (removed.contains(i)) {
                    continue;
                }
                NodeEntry e = nodes.get(i);
                all.add(first.contains(i) ? e.withName(base + "fine1/" + nodeName(e, i)) : e);
            }
            all.addAll(added);
            all.forEach(e -> made.addAll(e.outputs()));
            Set<String> available = new HashSet<>(made);
            m.initializers().forEach(t -> available.add(t.name()));
            newInits.forEach(t -> available.add(t.name()));
            m.inputs().forEach(x -> available.add(x.name()));
            // a value of a replaced segment read elsewhere is shape arithmetic (the coarse graph lets no
            // other activation leave a block): segment j's copy computes it from λ_{j-1}, of the same shape
            Map<String, String> moved = new HashMap<>();
            for (int j = 2; j <= n; j++) {
                for (int i : seg.get(j - 1)) {
                    for (String out : nodes.get(i).outputs()) {
                        moved.put(out, base + "fine" + j + "/" + out);
                    }
                }
            }
            for (int k = 0; k < all.size(); k++) {
                NodeEntry e = all.get(k);
                List<String> ins = new ArrayList<>(e.inputs());
                boolean changed = false;
                for (int i = 0; i < ins.size(); i++) {
                    String in = ins.get(i);
                    if (!in.isEmpty() && !available.contains(in) && moved.containsKey(in)) {
                        ins.set(i, moved.get(in));
                        changed = true;
                    }
                }
                if (changed) {
                    all.set(k, e.withInputs(ins));
                }
            }
            for (NodeEntry e : all) {
                for (String in : e.inputs()) {
                    if (!in.isEmpty() && !available.contains(in)) {
                        throw new ShardplanException("cannot rewrite: node " + e.name() + " reads " + in + ", which the"
                                + " parareal network no longer computes (it is read outside its segment)");
                    }
                }
            }
            for (ValueEntry x : m.outputs()) {
                if (!available.contains(x.name())) {
                    throw new ShardplanException("cannot rewrite: the graph output " + x.name() + " is made inside a"
                            + " segment, which the parareal network no longer computes");
                }
            }
            ModelBuilder b = ModelBuilder.like(m);
            for (NodeEntry e : topological(all)) {
                b.node(e);
            }
            m.initializers().forEach(b::initializer);
            newInits.forEach(b::initializer);
            m.inputs().forEach(b::input);
            m.outputs().forEach(b::output);
            for (ValueEntry x : m.valueInfo()) {
                if (made.contains(x.name())) {
                    b.valueInfo(x);
                }
            }
            m.graphFields().forEach(b::graphField);
            List<String> notes = new ArrayList<>();
            notes.add(n + " fine segments: nodes " + base + "fine<j>/..., segment j on device group j; they read λ_{j-1}"
                    + " (" + base + "coarse<j-1>/predict/...) and share the original weights");
            notes.add(o.coarse() == Coarse.BLOCK
                    ? "coarse network: " + n + " blocks (" + base + "coarse<j>/...), " + newParameters
                            + " new parameters initialised with seed " + o.seed() + "; it changes the model, which must be trained"
                    : "coarse network: copies of the fine segments with the original weights (the model computes the original)");
            notes.add("join: " + base + "join<j>/delta = f_j - G_j(λ_{j-1}), " + base + "join<j>/correct = G_j(U_{j-1}) + delta;"
                    + " the output of the last join is " + v[n]);
            return new Rewritten(b, newParameters, notes);
        }

        /** Adds a call of coarse block j on {@code input}; returns its output. */
        private String coarse(int j, String call, String input, String[] v, List<List<Integer>> seg, List<Integer> block,
                String blockIn, String blockOut, Map<String, String> params) {
            String prefix = base + "coarse" + j + "/" + call + "/";
            if (o.coarse() == Coarse.COPY) {
                return copy(seg.get(j - 1), v[j - 1], input, v[j], prefix, Map.of());
            }
            return copy(block, blockIn, input, blockOut, prefix, params);
        }

        /** The nodes in an order where every input is made before it is read (the earliest position first among those ready). */
        private static List<NodeEntry> topological(List<NodeEntry> all) throws ShardplanException {
            DirectedAcyclicGraph<Integer, DefaultEdge> d = dag(all);
            List<NodeEntry> r = new ArrayList<>();
            new TopologicalOrderIterator<>(d, Integer::compare).forEachRemaining(i -> r.add(all.get(i)));
            return r;
        }
    }
}
