package org.shardplan.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.ShardplanException;
import org.shardplan.graph.Value;
import org.shardplan.onnx.ImportOptions;
import org.shardplan.onnx.ImportedModel;

/**
 * A model loaded for planning: an ONNX file, a bundled model ({@code builtin:transformer},
 * {@code builtin:cnn}) or a built-in decoder ({@code builtin:gpt-1.7b}, ...; its batch is not defaulted), imported with the dimension bindings, with every graph input's shape resolved.
 *
 * @param imported the imported model
 * @param display how to name it in reports
 * @param name the model's name in plans (the file name, or {@code builtin:NAME})
 * @param bindings the dimension bindings used
 * @param file the ONNX file read (a bundled or built-in model's temporary copy)
 * @param batchDim the model's dimension {@code --batch} bound where it is not named {@code batch} (null otherwise)
 */
record PlanModel(ImportedModel imported, String display, String name, Map<String, Long> bindings, Path file,
        String batchDim) {

    /** Default batch of the bundled models when planning. */
    static final long BUNDLED_BATCH = 64;

    /**
     * Loads MODEL (null: the bundled default) with {@code --batch} (0: none given), {@code --dim} and
     * {@code --input-shape}.
     *
     * @throws ShardplanException for a bad file, a bad binding or an input whose shape stays unresolved
     */
    static PlanModel load(String model, long batch, DimsOptions options, Map<String, Long> base)
            throws ShardplanException {
        return load(model, batch, options, base, null);
    }

    /**
     * This model imported again at another batch size (for micro-batches), from the same file without
     * hashing it again ({@link org.shardplan.onnx.OnnxImporter#reread}); {@code model}, {@code options}
     * as given to the {@link #load} that made this one.
     */
    PlanModel rebound(String model, long batch, DimsOptions options) throws ShardplanException {
        return load(model, batch, options, Map.of(), this);
    }

    private static PlanModel load(String model, long batch, DimsOptions options, Map<String, Long> base, PlanModel first)
            throws ShardplanException {
        Map<String, Long> userDims = options.dims();
        Map<String, Long> bindings = new LinkedHashMap<>(base);
        Path file;
        String display;
        String name;
        if (model == null || model.startsWith(InspectBundled.PREFIX)) {
            String b = model == null ? InspectBundled.DEFAULT : model.substring(InspectBundled.PREFIX.length());
            file = first != null ? first.file() : InspectBundled.extract(b);
            name = InspectBundled.PREFIX + b;
            display = name + (model == null ? " (bundled default)" : InspectBundled.label(b));
            if (base.isEmpty()) {
                bindings.putAll(InspectBundled.defaultDims(b));
                if (!InspectBundled.isDecoder(b)) {
                    bindings.put("batch", BUNDLED_BATCH);
                }
            }
        } else {
            file = Path.of(model);
            display = file.toString();
            name = file.getFileName().toString();
        }
        if (batch > 0) {
            bindings.put("batch", batch);
        }
        bindings.putAll(userDims);
        String batchDim = first == null ? null : first.batchDim();
        if (batchDim != null && bindings.containsKey("batch") && !userDims.containsKey(batchDim)) {
            bindings.put(batchDim, bindings.get("batch"));
        }
        ImportOptions opts = options(bindings, batchDim, options);
        ImportedModel m = InspectBundled.read(file, model, opts, first == null ? null : first.imported());
        boolean batchUnused = bindings.containsKey("batch") && m.warnings().contains(UNUSED_BATCH);
        if (batchDim == null && batchUnused) {
            // exporters name the batch dimension in many ways (batch_size, N, ...): where no dimension is named
            // batch and one batch-like name leads the inputs that are still open, --batch binds that one
            batchDim = batchAlias(m, bindings);
            if (batchDim != null) {
                bindings.put(batchDim, bindings.get("batch"));
                m = InspectBundled.read(file, model, options(bindings, batchDim, options), m);
            }
        }
        if (first == null && batch > 0 && batchDim == null && batchUnused && !userDims.containsKey("batch")) {
            // --batch names no dimension: only a model whose inputs already have that batch may be planned at it
            requireFixedBatch(m, batch, display);
        }
        for (Value v : m.graph().inputs()) {
            if (!v.shape().rankKnown()) {
                throw new ShardplanException(display + ": input '" + v.name()
                        + "' must have a known shape, found unknown rank: give it with --input-shape " + v.name() + "=D1,D2,...");
            }
            List<String> open = new ArrayList<>();
            for (Dim d : v.shape().dims()) {
                if (!d.isFixed()) {
                    open.add(d.toString());
                }
            }
            if (!open.isEmpty()) {
                // --batch binds the batch dimension (where it was not given and one open dimension says batch); every
                // other open dimension needs --dim
                boolean batchOpen = !bindings.containsKey("batch") && open.stream().anyMatch(PlanModel::batchLike);
                List<String> give = new ArrayList<>();
                for (String d : open) {
                    if (!(batchOpen && batchLike(d))) {
                        give.add("--dim " + d + "=VALUE");
                    }
                }
                if (batchOpen) {
                    give.add(0, "--batch N");
                }
                throw new ShardplanException(display + ": input '" + v.name() + "' has shape " + v.shape()
                        + " with unresolved dimension(s) " + String.join(", ", open) + ": give " + String.join(" ", give)
                        + " (or its whole shape with --input-shape " + v.name() + "=D1,D2,...)");
            }
        }
        return new PlanModel(m, display, name, bindings, file, batchDim);
    }

    /** Imports a model with the given dimension bindings. */
    interface Reader {
        ImportedModel read(Map<String, Long> dims) throws ShardplanException;
    }

    /**
     * A model read with {@code --batch} bound as {@code plan} binds it, for the commands that take {@code --batch} beside
     * {@code --dim} without planning: the bindings, the model and the batch-like name bound (null where the dimension
     * named {@code batch} took it, or none did).
     */
    record BatchBound(Map<String, Long> dims, ImportedModel model, String alias) {
    }

    /**
     * {@code base} (defaults), then {@code batch} (0: none) as the dimension {@code batch}, then {@code userDims} (a
     * {@code --dim} given wins); where the model names no dimension {@code batch} and one batch-like name leads its open
     * inputs ({@link #batchAlias}), that name is bound to the batch instead and the model read again.
     */
    static BatchBound bindBatch(Map<String, Long> base, long batch, Map<String, Long> userDims, Reader read)
            throws ShardplanException {
        Map<String, Long> d = new LinkedHashMap<>(base);
        if (batch > 0) {
            d.put("batch", batch);
        }
        d.putAll(userDims);
        ImportedModel m = read.read(d);
        if (batch > 0 && !userDims.containsKey("batch") && m.warnings().contains(UNUSED_BATCH)) {
            String alias = batchAlias(m, d);
            if (alias != null) {
                d.remove("batch");
                d.put(alias, batch);
                return new BatchBound(d, read.read(d), alias);
            }
        }
        return new BatchBound(d, m, null);
    }

    /** The importer's warning where the binding {@code batch} names no dimension of the model. */
    static final String UNUSED_BATCH = "--dim batch names no symbolic dimension of the model";

    /**
     * Where {@code --batch} bound no dimension and every input's first axis is fixed: one of them must be that batch
     * already (a model exported at a fixed batch), else the plan would price one batch and say another.
     */
    private static void requireFixedBatch(ImportedModel m, long batch, String display) throws ShardplanException {
        List<String> firsts = new ArrayList<>();
        for (Value v : m.graph().inputs()) {
            if (v.kind() == Value.Kind.INPUT && v.shape().rankKnown() && v.shape().rank() > 0) {
                Dim d = v.shape().dim(0);
                if (!d.isFixed() || d.value() == batch) {
                    return; // that batch already, or an open axis: the check of unresolved dimensions names it
                }
                firsts.add(v.name() + ": " + d);
            }
        }
        throw new ShardplanException(display + ": --batch " + batch + " binds no dimension of the model: no input has a"
                + " symbolic axis named batch (or one batch-like name such as batch_size or N) and no input's first axis"
                + " is " + batch + (firsts.isEmpty() ? "" : " (" + String.join(", ", firsts) + ")") + "; leave --batch out"
                + " to plan the model at its own sizes, or bind the batch's dimension with --dim NAME=" + batch);
    }

    /** The import options of {@code bindings}; where the batch is bound by another name, without {@code batch} itself. */
    private static ImportOptions options(Map<String, Long> bindings, String batchDim, DimsOptions options)
            throws ShardplanException {
        Map<String, Long> dims = bindings;
        if (batchDim != null) {
            dims = new LinkedHashMap<>(bindings);
            dims.remove("batch");
        }
        return ImportOptions.DEFAULT.withDims(dims).withInputShapes(options.inputShapes())
                .withInputValues(options.inputValues())
                .withParamsAsInputs(options.paramsAsInputs());
    }

    /**
     * The one batch-like name ({@link #batchLike}) among the unresolved first axes of the model's inputs, where no
     * dimension of theirs was named {@code batch} and the bindings do not give it; null where there is none or more
     * than one.
     */
    static String batchAlias(ImportedModel m, Map<String, Long> bindings) {
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        for (Value v : m.graph().inputs()) {
            if (v.shape().rankKnown() && v.shape().rank() > 0 && !v.shape().dim(0).isFixed()) {
                String d = v.shape().dim(0).toString();
                if (batchLike(d) && !bindings.containsKey(d)) {
                    names.add(d);
                }
            }
        }
        return names.size() == 1 ? names.first() : null;
    }

    /** Whether a dimension's name says batch: it contains "batch" (any case), or is N, B, bs or bsz. */
    static boolean batchLike(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.contains("batch") || n.equals("n") || n.equals("b") || n.equals("bs") || n.equals("bsz");
    }

    /** The batch size: {@code --batch}, else the {@code batch} binding, else the first input's first axis, else 0. */
    long batch(long given) {
        if (given > 0) {
            return given;
        }
        if (bindings.containsKey("batch")) {
            return bindings.get("batch");
        }
        Value v = firstFixedAxisInput();
        return v == null ? 0 : noBatchAxis() != null ? 1 : v.shape().dim(0).value();
    }

    /** The operators whose first input's first axis is the batch they run over. */
    private static final Set<String> BATCH_LED = Set.of("Conv", "ConvTranspose", "MatMul", "Gemm");

    /**
     * Where {@link #batch} would take the model's own batch from an input's first axis that is no batch: the graph has
     * convolutions or matrix products and none of them runs over an axis of that size first (a detection export's
     * image [3, height, width], which the graph makes a batch of one inside). Then the model is one sample, planned at
     * batch 1; the note says why. Null where the axis leads one of them, where the graph has none, or where the batch
     * is given or bound.
     */
    String noBatchAxis() {
        if (bindings.containsKey("batch")) {
            return null;
        }
        Value v = firstFixedAxisInput();
        if (v == null || v.shape().dim(0).value() <= 1) {
            return null;
        }
        long size = v.shape().dim(0).value();
        boolean any = false;
        for (Node n : imported.graph().nodes()) {
            if (!BATCH_LED.contains(n.opType()) || !n.isOnnxDomain() || n.inputs().isEmpty() || n.input(0) == null) {
                continue;
            }
            any = true;
            Shape x = n.input(0).shape();
            if (x.rankKnown() && x.rank() >= 2 && x.dim(0).isFixed() && x.dim(0).value() == size) {
                return null;
            }
        }
        return any ? "the first axis of input '" + v.name() + "' of shape " + v.shape() + " leads none of the model's"
                + " convolutions and matrix products, so it is no batch: the model is planned as one sample (batch 1);"
                + " where the model has a batch axis, name it with --batch or --dim" : null;
    }

    /** The first input whose first axis is fixed: where {@link #batch} takes the model's own batch from; null if none. */
    private Value firstFixedAxisInput() {
        for (Value v : imported.graph().inputs()) {
            if (v.shape().rankKnown() && v.shape().rank() > 0 && v.shape().dim(0).isFixed()) {
                return v;
            }
        }
        return null;
    }

    /**
     * Where {@link #batch} took the batch from, for messages: {@code --batch} where it was given, else the dimension
     * bound to {@code batch}, else the first axis of the first input whose first axis is fixed (the model's own batch,
     * which may be no batch at all: a single image's channels).
     */
    String batchOrigin(long given) {
        if (given > 0) {
            return "--batch " + given;
        }
        if (bindings.containsKey("batch")) {
            return "the batch " + bindings.get("batch") + " (the dimension 'batch' as bound)";
        }
        Value v = firstFixedAxisInput();
        if (v != null && noBatchAxis() != null) {
            return "the batch 1 (the model as one sample: the first axis of input '" + v.name() + "' of shape " + v.shape()
                    + " is no batch)";
        }
        return v == null ? "the batch" : "the model's own batch " + v.shape().dim(0).value()
                + " (no --batch given: the first axis of input '" + v.name() + "' of shape " + v.shape() + ")";
    }

    /**
     * The model a plan file is read again on: {@code model} (MODEL on the command line), or the plan's
     * own when it is built in; loaded at the plan's dimensions, with a source that loads it again at
     * other micro-batch sizes.
     *
     * @param model MODEL as given, or null
     * @param missing the message when MODEL is needed and not given
     * @throws ShardplanException when MODEL is needed and missing, or the model cannot be read
     */
    static ForPlan forPlan(String model, org.shardplan.planner.Plan plan, DimsOptions options, String missing)
            throws ShardplanException {
        String m = model;
        if (m == null) {
            if (!plan.model().name().startsWith(InspectBundled.PREFIX)) {
                throw new ShardplanException(missing);
            }
            m = plan.model().name();
        }
        String given = m;
        PlanModel pm = load(given, 0, options, plan.dims());
        org.shardplan.planner.ModelSource source = micro -> micro == plan.batch() ? pm.imported().graph()
                : load(given, micro, options, plan.dims()).imported().graph();
        String sha = pm.imported().info().sha256();
        String recorded = plan.model().sha256();
        String differs = recorded.isEmpty() || recorded.equals(sha) || given.startsWith(InspectBundled.PREFIX) ? null
                : "the model file's SHA-256 differs from the plan's (" + recorded.substring(0, Math.min(12, recorded.length()))
                        + "… vs " + sha.substring(0, 12) + "…)";
        return new ForPlan(pm, source, java.util.Optional.ofNullable(differs));
    }

    /**
     * A plan's model: as loaded at the plan's batch, the source at other micro-batch sizes, and the
     * warning to print when the file is not the one the plan names by hash.
     */
    record ForPlan(PlanModel model, org.shardplan.planner.ModelSource source, java.util.Optional<String> hashWarning) {
    }
}
