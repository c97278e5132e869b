package org.shardplan.cost.profile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The result of profiling a model: for every node the cost model's held-out prediction and the
 * measurement, and the same for the whole model.
 *
 * @param model model name
 * @param device device profile name
 * @param fingerprint machine fingerprint id the calibration belongs to
 * @param callOverheadSeconds measured cost of one ONNX Runtime call from Java, subtracted from
 *     every single-operator measurement and added once to the whole-model prediction
 * @param nodes one entry per node, in graph order
 * @param wholeModelMeasuredSeconds median time of the whole model, if it ran
 * @param wholeModelError why the whole model could not be timed, if it could not
 * @param measuredSignatures distinct operator signatures measured in this run
 * @param reusedSignatures distinct signatures taken from the calibration file
 * @param optimization when the nodes are those of ONNX Runtime's optimized graph: the level and
 *     which written nodes each optimized node stands for ({@link OptimizedGraph#account})
 * @param coldWeightSeconds what the nodes' weights and the run's activation buffers add inside a
 *     whole-model run, read from memory once per run where a one-node measurement finds them cached
 *     ({@code EfficiencyModel.coldWeightSeconds}, {@code EfficiencyModel.coldActivationSeconds});
 *     added once to the whole-model prediction
 */
public record ProfileReport(String model, String device, String fingerprint, double callOverheadSeconds,
        List<NodeResult> nodes, OptionalDouble wholeModelMeasuredSeconds, Optional<String> wholeModelError,
        int measuredSignatures, int reusedSignatures, Optional<OptimizedGraph.Accounting> optimization,
        double coldWeightSeconds) {

    public ProfileReport {
        nodes = List.copyOf(nodes);
        if (!(coldWeightSeconds >= 0) || Double.isInfinite(coldWeightSeconds)) {
            throw new IllegalArgumentException("cold-weight time must be finite and at least 0, found " + coldWeightSeconds);
        }
    }

    /** A report without a cold-weight time. */
    public ProfileReport(String model, String device, String fingerprint, double callOverheadSeconds,
            List<NodeResult> nodes, OptionalDouble wholeModelMeasuredSeconds, Optional<String> wholeModelError,
            int measuredSignatures, int reusedSignatures, Optional<OptimizedGraph.Accounting> optimization) {
        this(model, device, fingerprint, callOverheadSeconds, nodes, wholeModelMeasuredSeconds, wholeModelError,
                measuredSignatures, reusedSignatures, optimization, 0);
    }

    /** A report of the graph as written (no graph optimization). */
    public ProfileReport(String model, String device, String fingerprint, double callOverheadSeconds,
            List<NodeResult> nodes, OptionalDouble wholeModelMeasuredSeconds, Optional<String> wholeModelError,
            int measuredSignatures, int reusedSignatures) {
        this(model, device, fingerprint, callOverheadSeconds, nodes, wholeModelMeasuredSeconds, wholeModelError,
                measuredSignatures, reusedSignatures, Optional.empty());
    }

    /** The same report of an optimized graph. */
    public ProfileReport withOptimization(OptimizedGraph.Accounting a) {
        return new ProfileReport(model, device, fingerprint, callOverheadSeconds, nodes, wholeModelMeasuredSeconds,
                wholeModelError, measuredSignatures, reusedSignatures, Optional.of(a), coldWeightSeconds);
    }

    /** The same report with another whole-model measurement (a timing over more runs). */
    public ProfileReport withWholeModelMeasured(OptionalDouble seconds) {
        return new ProfileReport(model, device, fingerprint, callOverheadSeconds, nodes, seconds, wholeModelError,
                measuredSignatures, reusedSignatures, optimization, coldWeightSeconds);
    }

    /** The same report with the whole model's cold-weight time {@code seconds}. */
    public ProfileReport withColdWeights(double seconds) {
        return new ProfileReport(model, device, fingerprint, callOverheadSeconds, nodes, wholeModelMeasuredSeconds,
                wholeModelError, measuredSignatures, reusedSignatures, optimization, seconds);
    }

    /**
     * One node.
     *
     * @param name node name
     * @param op operator type
     * @param signature operator signature
     * @param predictedSeconds prediction from calibration data of other signatures (held out)
     * @param measuredSeconds the measurement of this signature, call overhead subtracted, if any
     * @param source which calibration group answered ("class", "op", "category", "all", "analytic",
     *     or "folded" for a node whose outputs are constants)
     * @param flag why the node is flagged ("" when it is not): its measurement failed and the
     *     prediction is analytic
     * @param cached whether the measurement came from the calibration file
     */
    public record NodeResult(String name, String op, String signature, double predictedSeconds,
            OptionalDouble measuredSeconds, String source, String flag, boolean cached) {

        /** |predicted - measured| / measured, when measured. */
        public OptionalDouble absRelError() {
            if (measuredSeconds.isEmpty()) {
                return OptionalDouble.empty();
            }
            double m = measuredSeconds.getAsDouble();
            return OptionalDouble.of(Math.abs(predictedSeconds - m) / m);
        }
    }

    /** Sum of the node predictions plus one call overhead and the cold-weight time. */
    public double predictedSeconds() {
        double s = callOverheadSeconds + coldWeightSeconds;
        for (NodeResult n : nodes) {
            s += n.predictedSeconds();
        }
        return s;
    }

    /** Sum of the node measurements plus one call overhead (nodes without one count their prediction). */
    public double sumOfMeasuredSeconds() {
        double s = callOverheadSeconds;
        for (NodeResult n : nodes) {
            s += n.measuredSeconds().orElse(n.predictedSeconds());
        }
        return s;
    }

    /** Per-node absolute relative errors of measured nodes (folded nodes excluded), ascending. */
    public double[] absRelErrors() {
        List<Double> e = new ArrayList<>();
        for (NodeResult n : nodes) {
            if (!"folded".equals(n.source())) {
                n.absRelError().ifPresent(e::add);
            }
        }
        return e.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    }

    /** The q-quantile (0..1) of the per-node errors, nearest rank; NaN without any. */
    public double errorQuantile(double q) {
        double[] e = absRelErrors();
        if (e.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * e.length);
        return e[Math.max(0, Math.min(e.length - 1, rank - 1))];
    }

    /** Median of the per-node errors. */
    public double medianAbsRelError() {
        double[] e = absRelErrors();
        if (e.length == 0) {
            return Double.NaN;
        }
        int m = e.length / 2;
        return e.length % 2 == 1 ? e[m] : (e[m - 1] + e[m]) / 2;
    }

    /** Time-weighted error: sum |predicted - measured| over sum measured, over measured nodes. */
    public double weightedAbsRelError() {
        double num = 0;
        double den = 0;
        for (NodeResult n : nodes) {
            if (n.measuredSeconds().isPresent() && !"folded".equals(n.source())) {
                num += Math.abs(n.predictedSeconds() - n.measuredSeconds().getAsDouble());
                den += n.measuredSeconds().getAsDouble();
            }
        }
        return den == 0 ? Double.NaN : num / den;
    }

    /** |predicted - measured| / measured for the whole model, when it ran. */
    public OptionalDouble wholeModelRelError() {
        if (wholeModelMeasuredSeconds.isEmpty()) {
            return OptionalDouble.empty();
        }
        double m = wholeModelMeasuredSeconds.getAsDouble();
        return OptionalDouble.of(Math.abs(predictedSeconds() - m) / m);
    }

    /** Number of flagged nodes. */
    public long flaggedCount() {
        return nodes.stream().filter(n -> !n.flag().isEmpty()).count();
    }

    /**
     * The report as JSON: model, device, fingerprint, one object per node (name, op,
     * predictedSeconds, measuredSeconds or null, source, flag, cached) and the totals
     * (predictedSeconds, measuredSeconds of the whole model or null, medianAbsRelError,
     * p90AbsRelError, weightedAbsRelError, wholeModelRelError, counts).
     */
    public String toJson() {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("model", model);
        root.put("device", device);
        root.put("fingerprint", fingerprint);
        root.put("callOverheadSeconds", callOverheadSeconds);
        ArrayNode ns = root.putArray("nodes");
        for (NodeResult n : nodes) {
            ObjectNode o = ns.addObject();
            o.put("name", n.name());
            o.put("op", n.op());
            o.put("predictedSeconds", n.predictedSeconds());
            if (n.measuredSeconds().isPresent()) {
                o.put("measuredSeconds", n.measuredSeconds().getAsDouble());
            } else {
                o.putNull("measuredSeconds");
            }
            o.put("source", n.source());
            if (!n.flag().isEmpty()) {
                o.put("flag", n.flag());
            }
            o.put("cached", n.cached());
        }
        ObjectNode t = root.putObject("totals");
        t.put("predictedSeconds", predictedSeconds());
        t.put("coldWeightSeconds", coldWeightSeconds);
        if (wholeModelMeasuredSeconds.isPresent()) {
            t.put("measuredSeconds", wholeModelMeasuredSeconds.getAsDouble());
            t.put("wholeModelRelError", wholeModelRelError().getAsDouble());
        } else {
            t.putNull("measuredSeconds");
            t.putNull("wholeModelRelError");
        }
        t.put("sumOfNodesMeasuredSeconds", sumOfMeasuredSeconds());
        putNumber(t, "medianAbsRelError", medianAbsRelError());
        putNumber(t, "p90AbsRelError", errorQuantile(0.9));
        putNumber(t, "weightedAbsRelError", weightedAbsRelError());
        t.put("nodes", nodes.size());
        t.put("flagged", flaggedCount());
        t.put("measuredSignatures", measuredSignatures);
        t.put("reusedSignatures", reusedSignatures);
        wholeModelError.ifPresent(e -> t.put("wholeModelError", e));
        optimization.ifPresent(a -> {
            ObjectNode o = root.putObject("optimization");
            o.put("level", a.level());
            o.put("optimizedModel", a.file().toString());
            o.put("writtenNodes", a.writtenNodes());
            o.put("optimizedNodes", a.optimizedNodes());
            ArrayNode fs = o.putArray("fusions");
            for (OptimizedGraph.Fused f : a.fusions()) {
                ObjectNode fo = fs.addObject();
                fo.put("node", f.node());
                fo.put("op", f.op());
                ArrayNode from = fo.putArray("from");
                for (int i = 0; i < f.from().size(); i++) {
                    from.addObject().put("name", f.from().get(i)).put("op", f.fromOps().get(i));
                }
            }
            ArrayNode ins = o.putArray("inserted");
            a.inserted().forEach(f -> ins.addObject().put("node", f.node()).put("op", f.op()));
            ArrayNode fo = o.putArray("folded");
            a.folded().forEach(fo::add);
            ArrayNode rm = o.putArray("removed");
            a.removed().forEach(rm::add);
            ArrayNode un = o.putArray("unaccounted");
            a.unaccounted().forEach(un::add);
        });
        try {
            return json.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putNumber(ObjectNode o, String k, double v) {
        if (Double.isFinite(v)) {
            o.put(k, v);
        } else {
            o.putNull(k);
        }
    }
}
