package org.shardplan.bench.accuracy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import org.shardplan.cost.calib.CalibrationEntry;
import org.shardplan.cost.calib.CalibrationFile;
import org.shardplan.cost.calib.OpSignature;
import org.shardplan.cost.cluster.DeviceSpec;
import org.shardplan.cost.compute.Backward;
import org.shardplan.cost.compute.EfficiencyModel;
import org.shardplan.cost.profile.ProfileReport;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;

/**
 * Leave-one-model-out bookkeeping for the accuracy benchmark: a model is predicted from a
 * calibration that holds nothing measured for it and none of its operator signatures.
 *
 * <p>Every calibration entry has an origin, the model whose profiling measured it (its nodes and
 * their size-sweep neighbours); an entry another model had measured first keeps that model as its
 * origin. The calibration for predicting model M keeps the entries whose origin is not M and whose
 * signature is no node signature of any case of M (so a signature M shares with another model is
 * left out as well: a held-out node never finds its own shape). Running time linear in the entries
 * plus M's nodes.
 */
public final class LeaveOneModelOut {
    private LeaveOneModelOut() {}

    /**
     * The signatures {@code after} holds that {@code before} did not, attributed to {@code model}
     * in {@code origin} (entries already attributed keep their origin).
     *
     * @return how many entries were attributed
     */
    public static int attribute(Set<String> before, Collection<CalibrationEntry> after, String model,
            Map<String, String> origin) {
        int n = 0;
        for (CalibrationEntry e : after) {
            if (!before.contains(e.signature()) && origin.putIfAbsent(e.signature(), model) == null) {
                n++;
            }
        }
        return n;
    }

    /** The signatures of the nodes of a graph that are not folded into constants. */
    public static Set<String> signatures(Graph g) {
        Set<String> s = new java.util.LinkedHashSet<>();
        for (Node n : g.nodes()) {
            if (!folded(n)) {
                s.add(OpSignature.of(n));
            }
        }
        return s;
    }

    /**
     * The calibration for predicting {@code model}: the entries of {@code all} whose origin is not
     * {@code model} and whose signature is not in {@code modelSignatures}. Entries without an origin
     * (read from an earlier run's file) count as another model's.
     */
    public static CalibrationFile heldOut(CalibrationFile all, Map<String, String> origin, String model,
            Set<String> modelSignatures) {
        CalibrationFile r = new CalibrationFile(all.fingerprint());
        for (CalibrationEntry e : all.entries()) {
            if (!model.equals(origin.get(e.signature())) && !modelSignatures.contains(e.signature())) {
                r.put(e);
            }
        }
        return r;
    }

    /**
     * The held-out report of one case: each node predicted from {@code held} (which must hold
     * none of the graph's signatures) and its measurement from {@code all}; whole model as given.
     */
    public static ProfileReport predict(String modelName, Graph g, DeviceSpec device, CalibrationFile all,
            CalibrationFile held, ProfileReport measured) {
        return predict(modelName, g, device, null, all, held, measured);
    }

    /** As {@link #predict(String, Graph, DeviceSpec, CalibrationFile, CalibrationFile, ProfileReport)}, with
     * the roofline's bytes moved at {@code memory}'s bandwidths (null: the device's one bandwidth). */
    public static ProfileReport predict(String modelName, Graph g, DeviceSpec device,
            org.shardplan.cost.compute.MemoryCurve memory, CalibrationFile all, CalibrationFile held,
            ProfileReport measured) {
        return predict(modelName, g, device, memory, all, held, measured, true);
    }

    /**
     * As {@link #predict(String, Graph, DeviceSpec, org.shardplan.cost.compute.MemoryCurve,
     * CalibrationFile, CalibrationFile, ProfileReport)}; {@code coldWeights} says whether the whole
     * model's prediction includes its weights read from memory once per run
     * ({@link EfficiencyModel#coldWeightSeconds}).
     */
    public static ProfileReport predict(String modelName, Graph g, DeviceSpec device,
            org.shardplan.cost.compute.MemoryCurve memory, CalibrationFile all, CalibrationFile held,
            ProfileReport measured, boolean coldWeights) {
        double cold = 0;
        EfficiencyModel model = new EfficiencyModel(device, held.samples(), memory);
        Map<String, EfficiencyModel.Prediction> bySig = new LinkedHashMap<>();
        List<ProfileReport.NodeResult> nodes = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (folded(n)) {
                nodes.add(new ProfileReport.NodeResult(n.name(), n.opType(), "", 0.0, OptionalDouble.of(0.0), "folded",
                        "", false));
                continue;
            }
            String s = OpSignature.of(n);
            if (held.get(s).isPresent()) {
                throw new IllegalStateException("held-out calibration for " + modelName + " must not hold signature " + s);
            }
            EfficiencyModel.Prediction p = bySig.computeIfAbsent(s, k -> model.predict(Backward.forward(n), k));
            cold += coldWeights ? model.coldWeightSeconds(n) : 0;
            Optional<CalibrationEntry> m = all.get(s);
            nodes.add(new ProfileReport.NodeResult(n.name(), n.opType(), s, p.seconds(),
                    m.isPresent() ? OptionalDouble.of(m.get().seconds()) : OptionalDouble.empty(), p.source(), "", true));
        }
        cold += coldWeights ? model.coldActivationSeconds(g) : 0;
        return new ProfileReport(modelName, measured.device(), measured.fingerprint(), measured.callOverheadSeconds(),
                nodes, measured.wholeModelMeasuredSeconds(), measured.wholeModelError(), measured.measuredSignatures(),
                measured.reusedSignatures(), measured.optimization(), cold);
    }

    private static boolean folded(Node n) {
        if (n.outputs().isEmpty()) {
            return false;
        }
        for (Value v : n.outputs()) {
            if (v.constant().isEmpty()) {
                return false;
            }
        }
        return true;
    }
}
