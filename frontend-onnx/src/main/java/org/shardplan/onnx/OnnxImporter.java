package org.shardplan.onnx;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;
import org.shardplan.graph.Attribute;
import org.shardplan.graph.Cycles;
import org.shardplan.graph.DType;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Tensor;
import org.shardplan.graph.TensorType;
import org.shardplan.graph.Value;
import org.shardplan.graph.Work;
import org.shardplan.graph.WorkAnalysis;

/**
 * Reads an ONNX model file into a shardplan {@link Graph}, inferring the type and shape of every
 * value.
 *
 * <p>The file is memory-mapped and read by {@link ModelReader}: weights are never copied onto the
 * heap, and initializers stored in external files are recorded, not loaded. Nodes are put in
 * topological order (checked for cycles, dangling reads and duplicate names), then each node's
 * outputs are inferred by the rules of {@link ShapeRules} from its inputs' types and, where known, their
 * contents: the shape arithmetic that exporters emit ({@code Shape}, {@code Gather}, {@code Concat},
 * {@code Reshape} targets with 0 and -1, ...) is folded, symbolically where a dimension is an unbound
 * symbol. Nested graphs of {@code If}, {@code Loop} and {@code Scan} are inferred in their scope.
 * Operators of other domains are imported as opaque nodes and use the types the file declares.
 * Running time is linear in the file's node count plus the size of the folded constants.
 *
 * <p>Floating-point initializers (and integer ones of more than {@link Fold#MAX_ELEMENTS} elements) are
 * {@link Value.Kind#PARAMETER}s; integer and boolean initializers up to that size, and floating-point
 * scalars, are {@link Value.Kind#CONSTANT}s with their contents. A parameter stored in the file whose
 * values are one value on and below the diagonal of its last two axes and another above it (a
 * causal-mask buffer) carries that {@link org.shardplan.graph.Triangle} summary, found by one streaming
 * scan of its bytes that stops at the first counter-example. Graph inputs that are weights (a model
 * exported without its weights feeds them as inputs) are parameters too, as {@link ParameterInputs}
 * recognises them under {@link ImportOptions#paramsAsInputs()}; a warning counts them.
 */
public final class OnnxImporter {
    /** Opset assumed for the default domain when a file imports none. */
    static final int DEFAULT_OPSET = 7;
    /** How deeply rewrites of {@link Lowering} may nest (a loop inside an unrolled loop's body, ...). */
    static final int MAX_REWRITE_DEPTH = 8;
    private static final Set<String> MICROSOFT_RULES = Set.of("FusedMatMul", "FusedConv", "FusedGemm", "Gelu", "FastGelu", "BiasGelu",
            "QuickGelu", "SkipLayerNormalization", "Attention", "RMSNormalization");

    /**
     * The kinds of attributes whose name means the same in every operator of the default domain that
     * has them (from the operator schemas of onnx/defs): checked when a node is read, so that a file
     * with, say, {@code axis} as a string is refused there and not deep in the planner. An INTS
     * attribute may come as INT (an empty list without its type field reads as INT), a FLOAT one as INT.
     */
    private static final Map<String, Attribute.Kind> KNOWN_KINDS = knownKinds();

    private static Map<String, Attribute.Kind> knownKinds() {
        Map<String, Attribute.Kind> m = new HashMap<>();
        for (String a : new String[] {"axis", "group", "keepdims", "transA", "transB", "ceil_mode", "count_include_pad",
            "storage_order", "batch_dims", "largest", "sorted", "to", "noop_with_empty_axes", "exclusive", "reverse",
            "select_last_index", "blocksize", "allowzero", "num_outputs", "hidden_size", "num_scan_inputs", "stash_type",
            "training_mode", "num_heads"}) {
            m.put(a, Attribute.Kind.INT);
        }
        for (String a : new String[] {"axes", "kernel_shape", "strides", "pads", "dilations", "perm", "output_padding",
            "output_shape", "split", "starts", "ends"}) {
            m.put(a, Attribute.Kind.INTS);
        }
        for (String a : new String[] {"alpha", "beta", "epsilon", "momentum", "lambd"}) {
            m.put(a, Attribute.Kind.FLOAT);
        }
        for (String a : new String[] {"auto_pad", "direction", "equation", "coordinate_transformation_mode",
            "nearest_mode"}) {
            m.put(a, Attribute.Kind.STRING);
        }
        return Map.copyOf(m);
    }

    /** Null when the attribute's kind fits its name (or the name is not one of {@link #KNOWN_KINDS}); else the message. */
    static String wrongKind(Attribute a) {
        Attribute.Kind want = KNOWN_KINDS.get(a.name());
        if (want == null || a.kind() == want || a.kind() == Attribute.Kind.INT
                && (want == Attribute.Kind.INTS || want == Attribute.Kind.FLOAT)) {
            return null;
        }
        return "attribute '" + a.name() + "' must be " + want + ", found " + a.kind()
                + (a.value() instanceof Long || a.value() instanceof Float || a.value() instanceof String ? " " + a.value() : "");
    }

    private OnnxImporter() {
    }

    /** Imports with default options. */
    public static ImportedModel read(Path file) throws OnnxImportException {
        return read(file, ImportOptions.DEFAULT);
    }

    /** Imports the file, binding dimensions and input shapes as the options say. */
    public static ImportedModel read(Path file, ImportOptions options) throws OnnxImportException {
        ModelReader.Result r = ModelReader.read(file);
        PARSED.put(r.sha256(), new Parsed(r.model(), r.size()));
        return convert(file, options, r);
    }

    /** A file's parse and its size, kept for {@link #reread}. */
    private record Parsed(RawModel model, long size) {
    }

    /**
     * The parse of each file read, by the {@link FileHash} of its read (by identity, weakly: dropped once
     * no model of that read is left): {@link #reread} converts it again instead of parsing the file again.
     * The conversion only reads a parse, and its small tensors' contents are then shared by the graphs of
     * every batch size.
     */
    private static final Map<FileHash, Parsed> PARSED = Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * Imports a file read before in this run again with other options (another batch size bound, for
     * micro-batches): as {@link #read(Path, ImportOptions)}, without hashing the file again; the model
     * records the earlier read's SHA-256, {@code first.info().sha256()}. The whole file is hashed once per
     * run: for a model of a few dozen megabytes its hash costs more than parsing it; and it is parsed once
     * too, the first read's parse converted again while that model is alive.
     */
    public static ImportedModel reread(ImportedModel first, ImportOptions options) throws OnnxImportException {
        Path file = first.info().file();
        FileHash hash = first.info().hash();
        Parsed p = PARSED.get(hash);
        return convert(file, options, p != null ? new ModelReader.Result(p.model(), hash, p.size())
                : ModelReader.read(file, hash));
    }

    private static ImportedModel convert(Path file, ImportOptions options, ModelReader.Result r) throws OnnxImportException {
        RawModel m = r.model();
        Converter c = new Converter(file.toString(), options, m);
        Graph g = c.top(m.graph);
        ModelInfo info = new ModelInfo(file, m.graph.name, m.producerName, m.producerVersion, m.irVersion,
                Collections.unmodifiableMap(new LinkedHashMap<>(m.opsets)), r.sha256(), r.size());
        return new ImportedModel(info, g, c.warnings, c.unknownOps, c.opaqueOps);
    }

    /** Converts one model's graphs; holds what is shared between a graph and its nested graphs. */
    private static final class Converter {
        final String file;
        final ImportOptions options;
        final Map<String, Long> opsets;
        final FunctionInliner inliner;
        final List<String> warnings = new ArrayList<>();
        final TreeSet<String> unknownOps = new TreeSet<>();
        final TreeSet<String> opaqueOps = new TreeSet<>();
        final Set<String> usedDims = new HashSet<>();
        int graphCounter;
        /**
         * Above 0 while an {@code If} branch that failed inference is converted again: inference errors
         * of its nodes leave their outputs unknown instead of failing the import.
         */
        int lenient;
        /** Forward work of the nodes converted so far (all levels), checked to fit in 64 bits. */

        /** Blocked channel counts of the outputs of {@code ReorderInput} nodes ({@link #nchwcPaddedChannels}). */
        Map<String, Long> nchwcPadded = Map.of();
        /** The channel block of the model's NCHWc layout where no consumer tells a tensor's padded count. */
        long nchwcBlock = 8;

        /**
         * The padded channel count of every {@code ReorderInput} output of an optimized model, read
         * from the weights of the blocked convolutions that consume it ({@code W[1]·group}, since
         * ONNX Runtime pads the filter's input channels to the block); where no convolution consumes
         * it, the channels are rounded up to {@link #nchwcBlock}: 16 when every blocked filter has a
         * multiple of 16 output channels, else 8 (AVX-512 and AVX2 blocks). Linear in the nodes.
         */
        Map<String, Long> nchwcPaddedChannels(Pb.GraphP raw) {
            Map<String, long[]> dims = new HashMap<>();
            for (RawModel.Init in : raw.initializers) {
                dims.put(in.name(), in.dims());
            }
            Set<String> reordered = new HashSet<>();
            boolean any = false;
            boolean all16 = true;
            for (Pb.NodeP p : raw.nodes) {
                if (!p.domain().equals(ShapeRules.NCHWC_DOMAIN)) {
                    continue;
                }
                if (p.opType().equals("ReorderInput") && !p.outputs().isEmpty()) {
                    reordered.add(p.outputs().get(0));
                } else if (p.opType().equals("Conv") && p.inputs().size() > 1) {
                    long[] w = dims.get(p.inputs().get(1));
                    if (w != null && w.length > 0) {
                        any = true;
                        all16 &= w[0] % 16 == 0;
                    }
                }
            }
            nchwcBlock = any && all16 ? 16 : 8;
            Map<String, Long> r = new HashMap<>();
            for (Pb.NodeP p : raw.nodes) {
                if (p.domain().equals(ShapeRules.NCHWC_DOMAIN) && p.opType().equals("Conv") && p.inputs().size() > 1
                        && reordered.contains(p.inputs().get(0))) {
                    long[] w = dims.get(p.inputs().get(1));
                    long group = 1;
                    for (Pb.AttrP a : p.attributes()) {
                        if (a.name().equals("group")) {
                            group = a.i();
                        }
                    }
                    if (w != null && w.length > 1) {
                        r.putIfAbsent(p.inputs().get(0), w[1] * group);
                    }
                }
            }
            return r;
        }

        Converter(String file, ImportOptions options, RawModel m) {
            this.file = file;
            this.options = options;
            this.opsets = m.opsets;
            this.inliner = new FunctionInliner(m.functions);
        }

        int opset(String domain) {
            Long v = opsets.get(domain.equals("ai.onnx") ? "" : domain);
            return v == null ? (domain.isEmpty() ? DEFAULT_OPSET : 1) : v.intValue();
        }

        OnnxImportException error(String msg) {
            return new OnnxImportException(file + ": " + msg);
        }

        OnnxImportException error(String msg, Throwable cause) {
            return new OnnxImportException(file + ": " + msg, cause);
        }

        /**
         * A given input value in the input's declared element type and, when the number of elements
         * agrees, its declared shape (so that {@code --input-value sr=16000} fits an int64 input of
         * shape [] or [1]).
         */
        Tensor asDeclared(Tensor given, TensorType declared, String input) throws OnnxImportException {
            DType d = declared.dtype();
            Shape s = declared.shape();
            long[] dims = given.type().shape().toLongs();
            if (s.isFullyKnown()) {
                long want = s.numElements().orElse(-1);
                if (want != given.numElements()) {
                    throw error("--input-value " + input + " must have " + want + " value(s) (input shape " + s
                            + "), found " + given.numElements());
                }
                dims = s.toLongs();
            }
            if (d == DType.UNDEFINED || d == DType.STRING || (d == given.dtype() && java.util.Arrays.equals(dims,
                    given.type().shape().toLongs()))) {
                return given;
            }
            int n = (int) given.numElements();
            if (d.isFloatingPoint()) {
                double[] v = new double[n];
                for (int i = 0; i < n; i++) {
                    v[i] = given.getDouble(i);
                }
                return Tensor.ofDoubles(d, dims, v);
            }
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
                v[i] = given.dtype().isFloatingPoint() ? (long) given.getDouble(i) : given.getLong(i);
            }
            return Tensor.ofLongs(d, dims, v);
        }

        Graph top(Pb.GraphP raw) throws OnnxImportException {
            nchwcPadded = nchwcPaddedChannels(raw);
            Set<String> inputNames = new HashSet<>();
            for (Pb.ValueInfoP vi : raw.inputs) {
                inputNames.add(vi.name());
            }
            for (String name : options.inputValues().keySet()) {
                if (!inputNames.contains(name)) {
                    List<String> names = new ArrayList<>();
                    raw.inputs.forEach(v -> names.add(v.name()));
                    throw error("--input-value names input '" + name + "', but the model's inputs are: "
                            + String.join(", ", names));
                }
            }
            for (String name : options.inputShapes().keySet()) {
                if (!inputNames.contains(name)) {
                    List<String> names = new ArrayList<>();
                    raw.inputs.forEach(v -> names.add(v.name()));
                    throw error("--input-shape names input '" + name + "', but the model's inputs are: "
                            + String.join(", ", names));
                }
            }
            Scope scope = new Scope(null);
            Graph g = convert(raw, scope, null, true).graph;
            for (String d : options.dims().keySet()) {
                if (!usedDims.contains(d)) {
                    warnings.add("--dim " + d + " names no symbolic dimension of the model");
                }
            }
            return g;
        }

        /** Values and what inference knows about them, chained to enclosing graphs. */
        static final class Scope {
            final Scope parent;
            final Map<String, Value> values = new HashMap<>();
            final Map<String, Info> infos = new HashMap<>();

            Scope(Scope parent) {
                this.parent = parent;
            }

            Value value(String n) {
                for (Scope s = this; s != null; s = s.parent) {
                    Value v = s.values.get(n);
                    if (v != null) {
                        return v;
                    }
                }
                return null;
            }

            Info info(String n) {
                for (Scope s = this; s != null; s = s.parent) {
                    Info v = s.infos.get(n);
                    if (v != null) {
                        return v;
                    }
                }
                return null;
            }

            boolean definedLocally(String n) {
                return values.containsKey(n);
            }

            void put(Value v, Info i) {
                values.put(v.name(), v);
                infos.put(v.name(), i);
            }
        }

        record Converted(Graph graph, List<Info> outputs) {
        }

        Map<String, Long> bindings() {
            return options.dims();
        }

        TensorType declared(Pb.ValueInfoP vi, String what) throws OnnxImportException {
            TensorType t = Protos.type(vi.type(), bindings(), what, file);
            collectSymbols(vi.type());
            return t;
        }

        private void collectSymbols(Pb.TypeP t) {
            if (t != null && t.shape() != null) {
                for (Pb.DimP d : t.shape()) {
                    if (!d.param().isEmpty()) {
                        usedDims.add(d.param());
                    }
                }
            }
        }

        /**
         * Converts a graph. {@code inputTypes}, for nested graphs, gives the types the owning node
         * passes in (null: use the declared ones).
         */
        Converted convert(Pb.GraphP raw, Scope outer, List<Info> inputTypes, boolean top)
                throws OnnxImportException {
            String gname = raw.name.isEmpty() ? (top ? "main" : "subgraph_" + (++graphCounter)) : raw.name;
            Scope scope = new Scope(outer);
            Graph.Builder b = Graph.builder(gname).allowCaptures(!top);
            Map<String, String> definedBy = new HashMap<>();

            // Initializers.
            Set<String> initNames = new HashSet<>();
            for (RawModel.Init in : raw.initializers) {
                if (in.name().isEmpty()) {
                    throw error("graph '" + gname + "' has an initializer without a name");
                }
                if (!initNames.add(in.name())) {
                    throw error("graph '" + gname + "': duplicate value name '" + in.name() + "': two initializers");
                }
                DType d = Protos.dtype(in.dataType(), file + ": initializer '" + in.name() + "'");
                Protos.checkDims(in.dims(), "initializer '" + in.name() + "'", file);
                TensorType t = new TensorType(d, Shape.of(in.dims()));
                Tensor contents = in.contents();
                boolean small = contents != null && contents.hasValues()
                        && (!d.isFloatingPoint() || contents.numElements() <= 1);
                Value v;
                if (in.external() != null) {
                    v = Value.parameter(in.name(), t, in.external());
                    b.addParameter(v);
                } else if (small) {
                    v = Value.constant(in.name(), contents);
                    b.addConstant(v);
                } else {
                    // a two-valued triangle (a causal-mask buffer) keeps its summary for the planner
                    v = Value.parameter(in.name(), t).withTriangle(Optional.ofNullable(in.triangle()));
                    b.addParameter(v);
                }
                Info info = small ? Info.of(contents) : contents != null && contents.hasValues()
                        ? new Info(t, contents, null) : Info.of(t);
                scope.put(v, info);
                definedBy.put(v.name(), "an initializer");
            }

            // Graph inputs (those that are not initializers); weights fed as inputs become parameters.
            Set<String> paramInputs = top ? ParameterInputs.find(raw, raw.nodes, initNames, options) : Set.of();
            if (!paramInputs.isEmpty()) {
                warnings.add(ParameterInputs.note(paramInputs, options.paramsAsInputs(), 6));
            }
            int k = 0;
            for (Pb.ValueInfoP vi : raw.inputs) {
                String n = vi.name();
                if (n.isEmpty()) {
                    throw error("graph '" + gname + "': input " + k + " must have a name, found an empty one");
                }
                if (initNames.contains(n)) {
                    k++;
                    continue;
                }
                if (definedBy.containsKey(n)) {
                    throw error("graph '" + gname + "': duplicate value name '" + n + "': two graph inputs");
                }
                TensorType t = declared(vi, "input '" + n + "'");
                Info info = Info.of(t);
                if (top) {
                    List<Long> shape = options.inputShapes().get(n);
                    if (shape != null) {
                        long[] dims = shape.stream().mapToLong(Long::longValue).toArray();
                        t = new TensorType(t.dtype(), Shape.of(dims));
                        info = Info.of(t);
                    }
                    Tensor given = options.inputValues().get(n);
                    if (given != null && given.hasValues()) {
                        Tensor v = asDeclared(given, t, n);
                        info = new Info(v.type(), v, null);
                        t = v.type();
                    }
                } else if (inputTypes != null && k < inputTypes.size() && inputTypes.get(k) != null) {
                    Info given = inputTypes.get(k);
                    t = merge(given.type(), t);
                    info = new Info(t, given.value() != null && given.value().type().equals(t) ? given.value() : null,
                            given.elements());
                }
                k++;
                Value v;
                if (paramInputs.contains(n)) {
                    v = Value.parameter(n, t);
                    b.addParameter(v);
                } else {
                    v = Value.input(n, t);
                    b.addInput(v);
                }
                scope.put(v, info);
                definedBy.put(n, "a graph input");
            }

            // Declared types of intermediate values and outputs.
            Map<String, TensorType> declared = new HashMap<>();
            if (options.trustDeclaredShapes()) {
                for (Pb.ValueInfoP vi : raw.valueInfo) {
                    declared.put(vi.name(), declared(vi, "value '" + vi.name() + "'"));
                }
                for (Pb.ValueInfoP vi : raw.outputs) {
                    if (vi.type() != null) {
                        declared.put(vi.name(), declared(vi, "output '" + vi.name() + "'"));
                    }
                }
            } else {
                for (Pb.ValueInfoP vi : raw.outputs) {
                    if (vi.type() != null) {
                        declared(vi, "output '" + vi.name() + "'"); // checks dims
                    }
                }
            }

            // Constant nodes that hold floating-point tensors are weights (some exporters write all
            // weights this way): they become parameters.
            List<Pb.NodeP> protos = new ArrayList<>();
            int before = inliner.calls();
            List<Pb.NodeP> expanded = inliner.expand(raw.nodes, file);
            if (inliner.calls() > before) {
                warnings.add("graph '" + gname + "': " + (inliner.calls() - before)
                        + " calls of model-local functions were inlined");
            }
            for (Pb.NodeP p : expanded) {
                Tensor wt = weightConstant(p);
                Value w = wt == null ? null : Value.parameter(p.outputs().get(0), wt.type())
                        .withTriangle(Optional.ofNullable(p.attributes().get(0).t().triangle()));
                if (w != null && !definedBy.containsKey(w.name())) {
                    b.addParameter(w);
                    scope.put(w, new Info(wt.type(), wt, null)); // contents (when small) still serve inference
                    definedBy.put(w.name(), "a weight Constant node");
                } else {
                    protos.add(p);
                }
            }

            // Node names, unique and non-empty.
            List<String> names = new ArrayList<>();
            Set<String> taken = new HashSet<>();
            for (Pb.NodeP p : protos) {
                taken.add(p.name());
            }
            Set<String> used = new HashSet<>();
            for (int i = 0; i < protos.size(); i++) {
                org.shardplan.graph.Deadline.check("importing the model");
                Pb.NodeP p = protos.get(i);
                String n = p.name();
                if (n.isEmpty() || used.contains(n)) {
                    String base = n.isEmpty() ? p.opType() + "_" + i : n;
                    String cand = base;
                    int j = 1;
                    while (taken.contains(cand) || used.contains(cand)) {
                        cand = base + "_" + (j++);
                    }
                    if (!n.isEmpty()) {
                        warnings.add("node name '" + n + "' is used twice; the second is called '" + cand + "'");
                    }
                    n = cand;
                    taken.add(n);
                }
                used.add(n);
                names.add(n);
            }

            List<Integer> order = order(protos, names, definedBy, scope, top, gname);

            // Inference, node by node; loops and sequences that are plain tensor computations are lowered.
            List<Node> nodes = new ArrayList<>();
            Map<String, Node> producers = new HashMap<>();
            Lowering lowering = new Lowering();
            Lowering.Lookup lookup = new Lowering.Lookup() {
                @Override
                public Info info(String n) {
                    return scope.info(n);
                }

                @Override
                public Node producer(String n) {
                    return producers.get(n);
                }

                @Override
                public int opset() {
                    return Converter.this.opset("");
                }
            };
            for (int idx : order) {
                org.shardplan.graph.Deadline.check("importing the model");
                importNode(protos.get(idx), names.get(idx), scope, declared, lowering, lookup, nodes, producers, 0);
            }
            List<String> outNames = new ArrayList<>();
            raw.outputs.forEach(vi -> outNames.add(vi.name()));
            for (Pb.NodeP q : lowering.rebuild(outNames)) {
                add(convertNode(q, q.name(), scope, declared), nodes, producers);
            }
            String lowered = lowering.note(gname);
            if (lowered != null) {
                warnings.add(lowered);
            }
            dropUnread(nodes, lowering.unread(), raw.outputs);
            b.addNodes(nodes);

            List<Info> outInfos = new ArrayList<>();
            for (Pb.ValueInfoP vi : raw.outputs) {
                if (vi.name().isEmpty()) {
                    throw error("graph '" + gname + "': every output must have a name, found an empty one");
                }
                Value v = scope.value(vi.name());
                if (v == null) {
                    throw error("graph '" + gname + "': output '" + vi.name()
                            + "' is not produced by any node, graph input or initializer");
                }
                b.addOutput(v);
                outInfos.add(scope.info(vi.name()));
            }
            try {
                return new Converted(b.build(), outInfos);
            } catch (IllegalArgumentException e) {
                throw error(e.getMessage(), e);
            }
        }

        /** Imports one node, or the nodes {@link Lowering} puts in its place (depth: how many rewrites deep). */
        private void importNode(Pb.NodeP p, String name, Scope scope, Map<String, TensorType> declared, Lowering lowering,
                                Lowering.Lookup lookup, List<Node> nodes, Map<String, Node> producers, int depth)
                throws OnnxImportException {
            List<Pb.NodeP> instead = depth > MAX_REWRITE_DEPTH ? null : lowering.rewrite(p, name, lookup);
            if (instead != null) {
                for (Pb.NodeP q : instead) {
                    importNode(q, q.name(), scope, declared, lowering, lookup, nodes, producers, depth + 1);
                }
                return;
            }
            for (Pb.NodeP q : lowering.rebuild(p)) {
                add(convertNode(q, q.name(), scope, declared), nodes, producers);
            }
            add(convertNode(p, name, scope, declared), nodes, producers);
        }

        /**
         * Drops the nodes named in {@code candidates} that nothing reads (no node, nested graph or graph
         * output), last first, so that a chain of them goes; linear in the nodes' inputs.
         */
        private static void dropUnread(List<Node> nodes, Set<String> candidates, List<Pb.ValueInfoP> outputs) {
            if (candidates.isEmpty()) {
                return;
            }
            Map<String, Integer> readers = new HashMap<>();
            for (Node n : nodes) {
                for (String r : reads(n)) {
                    readers.merge(r, 1, Integer::sum);
                }
            }
            outputs.forEach(o -> readers.merge(o.name(), 1, Integer::sum));
            boolean[] drop = new boolean[nodes.size()];
            for (int i = nodes.size() - 1; i >= 0; i--) {
                Node n = nodes.get(i);
                if (!candidates.contains(n.name())) {
                    continue;
                }
                boolean read = false;
                for (Value o : n.outputs()) {
                    read |= readers.getOrDefault(o.name(), 0) > 0;
                }
                if (!read) {
                    drop[i] = true;
                    for (String r : reads(n)) {
                        readers.merge(r, -1, Integer::sum);
                    }
                }
            }
            List<Node> kept = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                if (!drop[i]) {
                    kept.add(nodes.get(i));
                }
            }
            nodes.clear();
            nodes.addAll(kept);
        }

        private static Set<String> reads(Node n) {
            Set<String> r = new LinkedHashSet<>();
            for (Value v : n.inputs()) {
                if (!v.isAbsent()) {
                    r.add(v.name());
                }
            }
            r.addAll(n.capturedNames());
            return r;
        }

        private static void add(Node n, List<Node> nodes, Map<String, Node> producers) {
            nodes.add(n);
            for (Value o : n.outputs()) {
                producers.put(o.name(), n);
            }
        }

        /** The tensor of a Constant node of a floating-point tensor with more than one element (a weight), or null. */
        private Tensor weightConstant(Pb.NodeP p) throws OnnxImportException {
            if (!p.opType().equals("Constant") || !(p.domain().isEmpty() || p.domain().equals("ai.onnx"))
                    || p.outputs().size() != 1 || p.outputs().get(0).isEmpty() || p.attributes().size() != 1) {
                return null;
            }
            Pb.AttrP a = p.attributes().get(0);
            if (!a.name().equals("value") || a.t() == null) {
                return null;
            }
            Tensor t = Protos.tensor(a.t(), file);
            if (!t.dtype().isFloatingPoint() || t.numElements() <= 1) {
                return null;
            }
            return t;
        }

        /** Topological order of the node protos, checking duplicates, dangling reads and cycles. */
        private List<Integer> order(List<Pb.NodeP> protos, List<String> names, Map<String, String> definedBy,
                                    Scope scope, boolean top, String gname) throws OnnxImportException {
            Map<String, Integer> producer = new HashMap<>();
            for (int i = 0; i < protos.size(); i++) {
                Pb.NodeP p = protos.get(i);
                for (String o : p.outputs()) {
                    if (o.isEmpty()) {
                        continue;
                    }
                    String prev = definedBy.get(o);
                    if (prev != null) {
                        throw error("duplicate value name '" + o + "': written by " + describe(p, names.get(i))
                                + " and by " + prev);
                    }
                    definedBy.put(o, describe(p, names.get(i)));
                    producer.put(o, i);
                }
            }
            int n = protos.size();
            List<List<Integer>> succ = new ArrayList<>();
            int[] indeg = new int[n];
            for (int i = 0; i < n; i++) {
                succ.add(new ArrayList<>());
            }
            for (int i = 0; i < n; i++) {
                Pb.NodeP p = protos.get(i);
                Set<String> reads = new LinkedHashSet<>();
                for (String in : p.inputs()) {
                    if (!in.isEmpty()) {
                        reads.add(in);
                    }
                }
                for (Pb.AttrP a : p.attributes()) {
                    if (a.g() != null) {
                        reads.addAll(captured(a.g()));
                    }
                    for (Pb.GraphP g : a.graphs()) {
                        reads.addAll(captured(g));
                    }
                }
                Set<Integer> preds = new LinkedHashSet<>();
                for (String r : reads) {
                    Integer q = producer.get(r);
                    if (q != null) {
                        preds.add(q);
                    } else if (!definedBy.containsKey(r) && scope.value(r) == null) {
                        throw error(describe(p, names.get(i)) + " reads '" + r
                                + "', which no node, graph input or initializer produces");
                    }
                }
                for (int q : preds) {
                    if (q == i) {
                        throw error("cycle: " + describe(p, names.get(i)) + " reads its own output");
                    }
                    succ.get(q).add(i);
                    indeg[i]++;
                }
            }
            PriorityQueue<Integer> ready = new PriorityQueue<>();
            for (int i = 0; i < n; i++) {
                if (indeg[i] == 0) {
                    ready.add(i);
                }
            }
            List<Integer> order = new ArrayList<>(n);
            while (!ready.isEmpty()) {
                int i = ready.poll();
                order.add(i);
                for (int s : succ.get(i)) {
                    if (--indeg[s] == 0) {
                        ready.add(s);
                    }
                }
            }
            if (order.size() < n) {
                List<String> path = new ArrayList<>();
                for (int i : Cycles.find(succ).orElseThrow(() -> new IllegalStateException(
                        "a graph that does not sort must have a cycle"))) {
                    path.add(describe(protos.get(i), names.get(i)));
                }
                throw error("graph '" + gname + "' has a cycle: " + String.join(" -> ", path));
            }
            return order;
        }

        /** Names a nested graph reads from enclosing scopes. */
        static Set<String> captured(Pb.GraphP g) {
            Set<String> defined = new HashSet<>();
            g.inputs.forEach(v -> defined.add(v.name()));
            g.initializers.forEach(t -> defined.add(t.name()));
            for (Pb.NodeP p : g.nodes) {
                defined.addAll(p.outputs());
            }
            Set<String> r = new LinkedHashSet<>();
            for (Pb.NodeP p : g.nodes) {
                for (String in : p.inputs()) {
                    if (!in.isEmpty() && !defined.contains(in)) {
                        r.add(in);
                    }
                }
                for (Pb.AttrP a : p.attributes()) {
                    if (a.g() != null) {
                        for (String s : captured(a.g())) {
                            if (!defined.contains(s)) {
                                r.add(s);
                            }
                        }
                    }
                    for (Pb.GraphP sg : a.graphs()) {
                        for (String s : captured(sg)) {
                            if (!defined.contains(s)) {
                                r.add(s);
                            }
                        }
                    }
                }
            }
            for (Pb.ValueInfoP o : g.outputs) {
                if (!defined.contains(o.name())) {
                    r.add(o.name());
                }
            }
            return r;
        }

        static String describe(Pb.NodeP p, String name) {
            String d = p.domain();
            return "node '" + name + "' (" + (d.isEmpty() || d.equals("ai.onnx") ? "" : d + ".") + p.opType() + ")";
        }

        private Node convertNode(Pb.NodeP p, String name, Scope scope, Map<String, TensorType> declared)
                throws OnnxImportException {
            String where = describe(p, name);
            String domain = p.domain().equals("ai.onnx") ? "" : p.domain();
            String op = p.opType();
            List<Value> inputs = new ArrayList<>();
            List<Info> infos = new ArrayList<>();
            for (String in : p.inputs()) {
                if (in.isEmpty()) {
                    inputs.add(Value.absent());
                    infos.add(null);
                } else {
                    inputs.add(scope.value(in));
                    infos.add(scope.info(in));
                }
            }
            // Trailing absent inputs carry no information.
            while (!infos.isEmpty() && infos.get(infos.size() - 1) == null) {
                infos.remove(infos.size() - 1);
                inputs.remove(inputs.size() - 1);
            }
            List<Attribute> attrs = new ArrayList<>();
            Map<String, Attribute> attrMap = new LinkedHashMap<>();
            List<Pb.AttrP> graphAttrs = new ArrayList<>();
            for (Pb.AttrP a : p.attributes()) {
                if (Protos.isGraphAttribute(a)) {
                    graphAttrs.add(a);
                    continue;
                }
                Attribute at = Protos.attribute(a, file + ": " + where);
                if (at == null) {
                    continue;
                }
                String wrong = domain.isEmpty() ? wrongKind(at) : null;
                if (wrong != null) {
                    throw error(where + ": " + wrong);
                }
                attrs.add(at);
                attrMap.put(at.name(), at);
            }
            // Trailing empty output names are dropped; inner empty ones get placeholder names.
            List<String> outNames = new ArrayList<>(p.outputs());
            while (!outNames.isEmpty() && outNames.get(outNames.size() - 1).isEmpty()) {
                outNames.remove(outNames.size() - 1);
            }
            int numOut = outNames.size();
            if (numOut == 0) {
                throw error(where + ": must name at least one output, found " + (p.outputs().isEmpty() ? "none"
                        : "only empty names"));
            }
            int opset = opset(domain);
            NodeCtx ctx = new NodeCtx(name, op, domain, opset, attrMap, infos, numOut);
            List<Info> result;
            List<Attribute> subgraphAttrs = new ArrayList<>();
            try {
                if (domain.isEmpty() && (op.equals("If") || op.equals("Loop") || op.equals("Scan"))) {
                    result = controlFlow(ctx, graphAttrs, scope, subgraphAttrs, where);
                } else {
                    for (Pb.AttrP a : graphAttrs) {
                        subgraphAttrs.add(graphAttribute(a, scope, null, where));
                    }
                    if (domain.isEmpty() && ShapeRules.supports(op)) {
                        result = ShapeRules.infer(ctx);
                    } else if (domain.equals(ShapeRules.TRAINING_DOMAIN) && ShapeRules.TRAINING_OPS.contains(op)) {
                        result = ShapeRules.optimizerStep(ctx);
                    } else if (domain.equals(ShapeRules.NCHWC_DOMAIN) && ShapeRules.NCHWC_OPS.contains(op)) {
                        long padded = 0;
                        if (op.equals("ReorderInput")) {
                            Long known = nchwcPadded.get(outNames.get(0));
                            Info x = infos.isEmpty() ? null : infos.get(0);
                            boolean last = attrMap.containsKey("channels_last") && ctx.attrInt("channels_last", 0) != 0;
                            if (known != null) {
                                padded = known;
                            } else if (x != null && x.shape().rankKnown() && x.shape().rank() >= 3) {
                                Dim ch = x.shape().dim(last ? x.shape().rank() - 1 : 1);
                                padded = ch.isFixed() ? (ch.value() + nchwcBlock - 1) / nchwcBlock * nchwcBlock : 0;
                            }
                        }
                        result = ShapeRules.nchwc(ctx, padded);
                        noteOpaque(domain, op);
                    } else if (domain.equals("com.microsoft") && MICROSOFT_RULES.contains(op)) {
                        result = ShapeRules.infer(ctx);
                        noteOpaque(domain, op);
                    } else {
                        result = Collections.nCopies(numOut, Info.UNKNOWN);
                        if (domain.isEmpty()) {
                            if (unknownOps.add(op)) {
                                warnings.add("operator " + op + " is unknown to shardplan (first at " + where
                                        + "); its outputs keep the shapes the file declares, if any");
                            }
                        } else {
                            noteOpaque(domain, op);
                        }
                    }
                }
            } catch (IllegalArgumentException | ArithmeticException | Attribute.WrongKindException e) {
                if (lenient == 0) {
                    throw error(where + ": " + e.getMessage(), e);
                }
                result = Collections.nCopies(numOut, Info.UNKNOWN);
                subgraphAttrs.clear();
                for (Pb.AttrP a : graphAttrs) {
                    subgraphAttrs.add(graphAttribute(a, scope, null, where));
                }
            } catch (RuntimeException e) {
                warnings.add("shape inference failed at " + where + " (" + e + "); its outputs are unknown");
                result = Collections.nCopies(numOut, Info.UNKNOWN);
            }
            List<Value> outputs = new ArrayList<>();
            for (int i = 0; i < numOut; i++) {
                String on = outNames.get(i);
                if (on.isEmpty()) {
                    on = name + ":unused_output_" + i;
                }
                Info info = i < result.size() && result.get(i) != null ? result.get(i) : Info.UNKNOWN;
                TensorType d = declared.get(on);
                if (d != null) {
                    TensorType m = merge(info.type(), d);
                    if (!m.equals(info.type())) {
                        info = new Info(m, info.value() != null && info.value().type().equals(m) ? info.value() : null,
                                info.elements());
                    }
                }
                if (info.shape().isFullyKnown()) {
                    try {
                        info.type().byteSize();
                    } catch (ArithmeticException e) {
                        throw error(where + ": output '" + on + "' of shape " + info.shape()
                                + " has more elements than fit in 64 bits");
                    }
                }
                Tensor keep = info.value() != null && info.value().numElements() <= Fold.MAX_ELEMENTS
                        && info.value().type().equals(info.type()) ? info.value() : null;
                Value.Kind kind = op.equals("Constant") && domain.isEmpty() ? Value.Kind.CONSTANT : Value.Kind.INTERMEDIATE;
                Value v = new Value(on, info.type(), kind, Optional.ofNullable(keep), Optional.empty());
                scope.put(v, info);
                outputs.add(v);
            }
            attrs.addAll(subgraphAttrs);
            Node node;
            try {
                node = new Node(name, op, domain, inputs, outputs, attrs);
            } catch (IllegalArgumentException e) {
                throw error(e.getMessage(), e);
            }
            try {
                // a node's work is counted in 64 bits (totals over nodes in doubles): a node whose own
                // work overflows is refused here
                WorkAnalysis.of(node).bytes();
            } catch (ArithmeticException e) {
                throw error(where + ": the work of this node (floating-point operations or bytes)"
                        + " must fit in 64 bits, found more: the sizes are too large");
            } catch (IllegalArgumentException | Attribute.WrongKindException e) {
                throw error(where + ": " + e.getMessage(), e);
            }
            return node;
        }

        private void noteOpaque(String domain, String op) {
            if (opaqueOps.add(domain + "." + op)) {
                warnings.add("operator " + domain + "." + op + " is imported as an opaque node"
                        + (MICROSOFT_RULES.contains(op) || domain.equals(ShapeRules.NCHWC_DOMAIN) && ShapeRules.NCHWC_OPS.contains(op)
                        ? " (shapes from shardplan's rule)" : " (shapes as the file declares them)"));
            }
        }

        private Attribute graphAttribute(Pb.AttrP a, Scope scope, List<Info> inputTypes, String where)
                throws OnnxImportException {
            if (a.g() != null || a.type() == Pb.A_GRAPH) {
                Converted c = convert(a.g(), scope, inputTypes, false);
                return Attribute.ofGraph(a.name(), c.graph);
            }
            List<Graph> gs = new ArrayList<>();
            for (Pb.GraphP g : a.graphs()) {
                gs.add(convert(g, scope, inputTypes, false).graph);
            }
            return new Attribute(a.name(), Attribute.Kind.GRAPHS, gs);
        }

        private List<Info> controlFlow(NodeCtx c, List<Pb.AttrP> graphAttrs, Scope scope,
                                       List<Attribute> out, String where) throws OnnxImportException {
            Map<String, Pb.AttrP> byName = new LinkedHashMap<>();
            for (Pb.AttrP a : graphAttrs) {
                byName.put(a.name(), a);
            }
            switch (c.op) {
                case "If": {
                    Converted thenG = null;
                    Converted elseG = null;
                    long[] known = c.longs(0);
                    for (Pb.AttrP a : graphAttrs) {
                        Converted cv;
                        try {
                            cv = convert(a.g(), scope, null, false);
                        } catch (OnnxImportException e) {
                            boolean taken = known != null && known.length == 1
                                    && (known[0] != 0) == a.name().equals("then_branch");
                            if (taken || a.g() == null) {
                                throw e;
                            }
                            // the branch not taken (or not known to be taken) need not fit the bound shapes:
                            // a model may choose its branch by an input's value (a sample rate, say)
                            warnings.add(where + ": branch " + a.name() + " cannot be inferred under the bound shapes ("
                                    + e.getMessage().substring(Math.min(e.getMessage().length(), file.length() + 2))
                                    + "); its values are unknown" + (known == null
                                    ? " (--input-value binds the condition's input, which chooses the branch)" : ""));
                            lenient++;
                            try {
                                cv = convert(a.g(), scope, null, false);
                            } finally {
                                lenient--;
                            }
                            cv = new Converted(cv.graph(), Collections.nCopies(cv.outputs().size(), Info.UNKNOWN));
                        }
                        out.add(Attribute.ofGraph(a.name(), cv.graph));
                        if (a.name().equals("then_branch")) {
                            thenG = cv;
                        } else if (a.name().equals("else_branch")) {
                            elseG = cv;
                        }
                    }
                    if (thenG == null || elseG == null) {
                        throw new IllegalArgumentException("If must have then_branch and else_branch, found "
                                + byName.keySet());
                    }
                    long[] cond = c.longs(0);
                    List<Info> r = new ArrayList<>();
                    for (int i = 0; i < c.numOutputs; i++) {
                        Info t = i < thenG.outputs.size() ? thenG.outputs.get(i) : Info.UNKNOWN;
                        Info e = i < elseG.outputs.size() ? elseG.outputs.get(i) : Info.UNKNOWN;
                        if (cond != null && cond.length == 1) {
                            r.add(cond[0] != 0 ? t : e);
                        } else {
                            r.add(Info.of(union(t.type(), e.type())));
                        }
                    }
                    return r;
                }
                case "Loop": {
                    Pb.AttrP body = byName.get("body");
                    if (body == null) {
                        throw new IllegalArgumentException("Loop must have a body, found none");
                    }
                    int nCarried = Math.max(0, c.inputCount() - 2);
                    List<Info> bodyIn = new ArrayList<>();
                    bodyIn.add(Info.of(DType.INT64, Shape.scalar()));
                    bodyIn.add(Info.of(DType.BOOL, Shape.scalar()));
                    for (int i = 0; i < nCarried; i++) {
                        Info x = c.in(2 + i);
                        bodyIn.add(x == null ? null : Info.of(x.type()));
                    }
                    Converted cv = convert(body.g(), scope, bodyIn, false);
                    out.add(Attribute.ofGraph("body", cv.graph));
                    long[] trip = c.longs(0);
                    Dim n = trip != null && trip.length == 1 && trip[0] >= 0 ? Dim.of(trip[0]) : Dim.unknown();
                    List<Info> r = new ArrayList<>();
                    for (int i = 0; i < c.numOutputs; i++) {
                        int bo = i + 1;
                        Info o = bo < cv.outputs.size() ? cv.outputs.get(bo) : Info.UNKNOWN;
                        if (i < nCarried) {
                            Info init = c.in(2 + i);
                            r.add(Info.of(init == null ? o.type() : union(init.type(), o.type())));
                        } else {
                            Shape s = o.shape();
                            List<Dim> d = new ArrayList<>();
                            d.add(n);
                            if (!s.rankKnown()) {
                                r.add(Info.of(o.dtype(), Shape.unknownRank()));
                                continue;
                            }
                            d.addAll(s.dims());
                            r.add(Info.of(o.dtype(), Shape.of(d)));
                        }
                    }
                    return r;
                }
                default: { // Scan, opset 9 and later
                    Pb.AttrP body = byName.get("body");
                    if (body == null) {
                        throw new IllegalArgumentException("Scan must have a body, found none");
                    }
                    if (c.opset < 9) {
                        return scan8(c, body, scope, out, this);
                    }
                    int m = (int) c.attrInt("num_scan_inputs", 1);
                    int nState = c.inputCount() - m;
                    long[] inAxes = c.attrInts("scan_input_axes");
                    long[] outAxes = c.attrInts("scan_output_axes");
                    List<Info> bodyIn = new ArrayList<>();
                    Dim len = Dim.unknown();
                    for (int i = 0; i < nState; i++) {
                        bodyIn.add(Info.of(c.in(i).type()));
                    }
                    for (int j = 0; j < m; j++) {
                        Info x = c.in(nState + j);
                        if (x == null || !x.rankKnown()) {
                            bodyIn.add(null);
                            continue;
                        }
                        int ax = ShapeRules.axis(inAxes == null ? 0 : inAxes[j], x.rank(), c);
                        List<Dim> d = new ArrayList<>(x.shape().dims());
                        if (j == 0) {
                            len = d.get(ax);
                        }
                        d.remove(ax);
                        bodyIn.add(Info.of(x.dtype(), Shape.of(d)));
                    }
                    Converted cv = convert(body.g(), scope, bodyIn, false);
                    out.add(Attribute.ofGraph("body", cv.graph));
                    List<Info> r = new ArrayList<>();
                    for (int i = 0; i < c.numOutputs; i++) {
                        Info o = i < cv.outputs.size() ? cv.outputs.get(i) : Info.UNKNOWN;
                        if (i < nState) {
                            r.add(Info.of(o.type()));
                            continue;
                        }
                        Shape s = o.shape();
                        if (!s.rankKnown()) {
                            r.add(Info.of(o.dtype(), Shape.unknownRank()));
                            continue;
                        }
                        int j = i - nState;
                        List<Dim> d = new ArrayList<>(s.dims());
                        int ax = ShapeRules.axis(outAxes == null ? 0 : outAxes[j], s.rank() + 1, c);
                        d.add(ax, len);
                        r.add(Info.of(o.dtype(), Shape.of(d)));
                    }
                    return r;
                }
            }
        }
    }

    /** Names a nested graph reads from enclosing scopes. */
    static Set<String> capturedNames(Pb.GraphP g) {
        return Converter.captured(g);
    }

    /**
     * Scan of opset 8: input 0 is the optional sequence lengths, then the states, then the scan inputs,
     * all with a leading batch axis; scan inputs are {@code [batch, sequence, ...]} and the body sees one
     * step without batch and sequence axes. Outputs: final states {@code [batch, ...]}, scan outputs
     * {@code [batch, sequence, ...]}.
     */
    private static List<Info> scan8(NodeCtx c, Pb.AttrP body, Converter.Scope scope, List<Attribute> out,
                                    Converter conv) throws OnnxImportException {
        int m = (int) c.attrInt("num_scan_inputs", 1);
        int nState = c.inputCount() - 1 - m;
        List<Info> bodyIn = new ArrayList<>();
        Dim batch = Dim.unknown();
        Dim len = Dim.unknown();
        for (int i = 0; i < nState + m; i++) {
            Info x = c.in(1 + i);
            if (x == null || !x.rankKnown() || x.rank() < (i < nState ? 1 : 2)) {
                bodyIn.add(null);
                continue;
            }
            List<Dim> d = new ArrayList<>(x.shape().dims());
            batch = d.get(0);
            d.remove(0);
            if (i >= nState) {
                if (i == nState) {
                    len = d.get(0);
                }
                d.remove(0);
            }
            bodyIn.add(Info.of(x.dtype(), Shape.of(d)));
        }
        Converter.Converted cv = conv.convert(body.g(), scope, bodyIn, false);
        out.add(Attribute.ofGraph("body", cv.graph()));
        List<Info> r = new ArrayList<>();
        for (int i = 0; i < c.numOutputs; i++) {
            Info o = i < cv.outputs().size() ? cv.outputs().get(i) : Info.UNKNOWN;
            if (!o.rankKnown()) {
                r.add(Info.of(o.dtype(), Shape.unknownRank()));
                continue;
            }
            List<Dim> d = new ArrayList<>(o.shape().dims());
            if (i >= nState) {
                d.add(0, len);
            }
            d.add(0, batch);
            r.add(Info.of(o.dtype(), Shape.of(d)));
        }
        return r;
    }

    /**
     * Combines what inference found with what the file declares: an inferred fixed size wins, then a
     * declared fixed size, then a symbol; an inferred element type wins unless undefined.
     */
    static TensorType merge(TensorType inferred, TensorType declared) {
        DType d = inferred.dtype() != DType.UNDEFINED ? inferred.dtype() : declared.dtype();
        Shape a = inferred.shape();
        Shape b = declared.shape();
        Shape s;
        if (!a.rankKnown()) {
            s = b;
        } else if (!b.rankKnown() || a.rank() != b.rank()) {
            s = a;
        } else {
            List<Dim> dims = new ArrayList<>();
            for (int i = 0; i < a.rank(); i++) {
                Dim x = a.dim(i);
                Dim y = b.dim(i);
                if (x.isFixed()) {
                    dims.add(x);
                } else if (y.isFixed()) {
                    dims.add(y);
                } else if (x instanceof Dim.Symbolic) {
                    dims.add(x);
                } else {
                    dims.add(y);
                }
            }
            s = Shape.of(dims);
        }
        return new TensorType(d, s);
    }

    /** The type both of two alternatives have: equal dimensions kept, others unknown. */
    static TensorType union(TensorType x, TensorType y) {
        DType d = x.dtype() == y.dtype() ? x.dtype() : x.dtype() == DType.UNDEFINED ? y.dtype() : x.dtype();
        Shape a = x.shape();
        Shape b = y.shape();
        if (!a.rankKnown() || !b.rankKnown() || a.rank() != b.rank()) {
            return new TensorType(d, Shape.unknownRank());
        }
        List<Dim> dims = new ArrayList<>();
        for (int i = 0; i < a.rank(); i++) {
            dims.add(a.dim(i).equals(b.dim(i)) ? a.dim(i) : Dim.unknown());
        }
        return new TensorType(d, Shape.of(dims));
    }
}
