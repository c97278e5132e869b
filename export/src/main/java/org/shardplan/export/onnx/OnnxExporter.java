package org.shardplan.export.onnx;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.shardplan.export.EngineView;
import org.shardplan.export.ExportException;
import org.shardplan.export.ExportModel;
import org.shardplan.export.Exporter;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.CoarseSpaces;
import org.shardplan.graph.space.AxisMap;
import org.shardplan.graph.space.IterationSpace;
import org.shardplan.graph.space.TensorIndexing;
import org.shardplan.onnx.OnnxImportException;
import org.shardplan.onnx.edit.ModelBuilder;
import org.shardplan.onnx.edit.ModelFile;
import org.shardplan.onnx.edit.NodeEntry;
import org.shardplan.onnx.edit.Proto;
import org.shardplan.planner.Plan;
import org.shardplan.planner.PlanNode;
import org.shardplan.planner.strategy.DeviceDigits;
import org.shardplan.planner.strategy.Layout;
import org.shardplan.planner.strategy.StrategySpace;

/**
 * The plan's model with ONNX's multi-device annotations (ONNX 1.18, IR version 11): one
 * {@code DeviceConfigurationProto} named {@code shardplan} with the cluster's devices, and on every
 * ONNX node of every planned (coarse) node a {@code NodeDeviceConfigurationProto} with the node's
 * {@code pipeline_stage} and, for each of its inputs and outputs the node's iteration space indexes,
 * a {@code ShardingSpecProto}: the sharded axes with their size at the plan's micro-batch and number of
 * shards, and per shard (row-major over the sharded axes) the device holding it, or a device group
 * ({@code index_to_device_group_map}) when several devices hold copies. Device numbers are the plan's
 * (global, node by node). Nodes shardplan folded away (shape arithmetic, constants) are left as they
 * are. Everything else in the file is kept byte for byte; the IR version is raised to 11 where it was
 * lower, so ONNX Runtime still loads and runs the model. O(nodes · devices).
 */
public final class OnnxExporter implements Exporter {

    /** The configuration's name, the {@code configuration_id} of every node annotation. */
    public static final String CONFIGURATION = "shardplan";

    /** The IR version that has the multi-device messages. */
    static final long IR_MULTI_DEVICE = 11;

    @Override
    public String name() {
        return "onnx";
    }

    @Override
    public String description() {
        return "the model with ONNX multi-device annotations (ONNX 1.18, IR 11: ModelProto.configuration,"
                + " NodeProto.device_configurations)";
    }

    @Override
    public boolean needsModel() {
        return true;
    }

    @Override
    public Output output() {
        return Output.MODEL_FILE;
    }

    @Override
    public Result export(Request req) throws ExportException {
        Plan plan = req.plan();
        ExportModel model = req.requireModel(name());
        Path out = req.requireOut(name(), "the annotated model is a file");
        Path file = model.file().orElseThrow(() -> new ExportException("onnx: the model's ONNX file is needed, found a graph"
                + " built in code"));
        ModelFile mf;
        try {
            mf = ModelFile.read(file);
        } catch (OnnxImportException e) {
            throw new ExportException("onnx: " + e.getMessage(), e);
        }
        CoarseGraph cg = EngineView.coarse(plan, model);
        Map<String, Proto> annotations = annotations(plan, cg);
        Map<String, Integer> used = new HashMap<>();
        ModelBuilder b = ModelBuilder.copyOf(mf).irVersion(Math.max(mf.irVersion(), IR_MULTI_DEVICE)).withoutModelField(26);
        b.modelField(new Proto().message(26, configuration(plan)));
        b.mapNodes(n -> {
            Proto a = annotations.get(n.name());
            String key = n.name();
            if (a == null && !n.outputs().isEmpty()) {
                key = "output:" + n.outputs().get(0);
                a = annotations.get(key);
            }
            if (a == null) {
                return n;
            }
            used.merge(key, 1, Integer::sum);
            return n.withoutField(10).withFields(new Proto().message(10, a));
        });
        if (used.isEmpty() && !annotations.isEmpty()) {
            throw new ExportException("onnx: no node of " + file + " matches the plan's nodes (by name or output): the file is"
                    + " not the plan's model");
        }
        try {
            b.write(out);
        } catch (UncheckedIOException e) {
            throw new ExportException("--out " + out + ": cannot write the model: " + e.getCause().getMessage(), e);
        }
        List<String> notes = new ArrayList<>();
        int members = 0;
        for (CoarseNode n : cg.nodes()) {
            members += n.members().size();
        }
        notes.add(String.format(java.util.Locale.ROOT, "onnx: annotated %d of the model's %d nodes (%d planned nodes); IR"
                + " version %d", used.size(), mf.nodes().size(), cg.nodes().size(), Math.max(mf.irVersion(), IR_MULTI_DEVICE)));
        if (used.size() < members) {
            notes.add("onnx: " + (members - used.size()) + " planned ONNX nodes were not found in the file by name or output");
        }
        return new Result("", Optional.of(out), notes, plan);
    }

    /** {@code DeviceConfigurationProto}: the cluster's devices, named {@code device0}... */
    static Proto configuration(Plan p) {
        Proto c = new Proto().string(1, CONFIGURATION).varint(2, p.cluster().devices());
        List<String> types = p.cluster().deviceTypes();
        for (int d = 0; d < p.cluster().devices(); d++) {
            c.string(3, types.get(d) + ":" + d);
        }
        return c;
    }

    /**
     * The {@code NodeDeviceConfigurationProto} of every ONNX node of the planned nodes, by ONNX node name
     * (or {@code output:NAME} of its first output for unnamed nodes).
     */
    static Map<String, Proto> annotations(Plan plan, CoarseGraph cg) throws ExportException {
        Map<String, PlanNode> byName = new HashMap<>();
        plan.nodes().forEach(n -> byName.put(n.name(), n));
        List<Optional<IterationSpace>> spaces = CoarseSpaces.of(cg);
        int stageDevices = plan.cluster().devices() / plan.parallelism().pipeline();
        DeviceDigits dd;
        try {
            dd = DeviceDigits.of(stageDevices, Math.min(plan.cluster().devicesPerNode(), stageDevices));
        } catch (IllegalArgumentException e) {
            throw new ExportException("onnx: " + e.getMessage(), e);
        }
        Map<String, Proto> r = new LinkedHashMap<>();
        for (CoarseNode cn : cg.nodes()) {
            PlanNode pn = byName.get(cn.name());
            if (pn == null) {
                throw new ExportException("onnx: model node '" + cn.name() + "' is not in the plan: the plan is of another graph");
            }
            int first = plan.stages().get(Math.min(pn.stage(), plan.stages().size() - 1)).firstDevice();
            Optional<IterationSpace> sp = spaces.get(cn.index());
            Layout l;
            try {
                l = sp.isEmpty() ? Layout.replicated() : StrategySpace.layoutOf(sp.get(), pn.strategy(), pn.placement(), dd);
            } catch (IllegalArgumentException e) {
                throw new ExportException("onnx: node '" + pn.name() + "': " + e.getMessage(), e);
            }
            for (Node m : cn.members()) {
                Proto a = new Proto().string(1, CONFIGURATION);
                if (sp.isPresent()) {
                    List<TensorIndexing> ts = new ArrayList<>(sp.get().inputs());
                    ts.addAll(sp.get().outputs());
                    List<String> done = new ArrayList<>();
                    for (TensorIndexing t : ts) {
                        String v = t.value().name();
                        if (!done.contains(v) && (names(m.inputs()).contains(v) || names(m.outputs()).contains(v))) {
                            a.message(2, spec(t, l, dd, first, plan.cluster().devices()));
                            done.add(v);
                        }
                    }
                }
                a.varint(3, pn.stage());
                String key = m.name().isEmpty() && !m.outputs().isEmpty() ? "output:" + m.outputs().get(0).name() : m.name();
                r.put(key, a);
            }
        }
        return r;
    }

    private static List<String> names(List<Value> vs) {
        List<String> r = new ArrayList<>();
        for (Value v : vs) {
            if (v != null) {
                r.add(v.name());
            }
        }
        return r;
    }

    /**
     * {@code ShardingSpecProto} of a tensor under a layout on the stage's devices (global numbers from
     * {@code first}): the shard each device holds follows from the device's digits on the axes' split
     * dimensions ({@link Layout#tensorDigits}).
     */
    static Proto spec(TensorIndexing t, Layout l, DeviceDigits dd, int first, int totalDevices) {
        int[][] td = l.tensorDigits(t);
        int[] radix = dd.radices();
        int n = dd.devices();
        int axes = td.length;
        long[] shards = new long[axes];
        for (int a = 0; a < axes; a++) {
            shards[a] = 1;
            for (int d : td[a]) {
                shards[a] *= radix[d];
            }
        }
        Map<Long, List<Long>> holders = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            long index = 0;
            for (int a = 0; a < axes; a++) {
                long c = 0;
                for (int d : td[a]) {
                    c = c * radix[d] + digit(i, d, radix);
                }
                index = index * shards[a] + c;
            }
            holders.computeIfAbsent(index, k -> new ArrayList<>()).add((long) (first + i));
        }
        Proto s = new Proto().string(1, t.value().name());
        long total = 1;
        for (long x : shards) {
            total *= x;
        }
        long group = totalDevices;
        List<long[]> groups = new ArrayList<>();
        for (long k = 0; k < total; k++) {
            List<Long> h = holders.get(k);
            if (h.size() == 1) {
                s.varint(2, h.get(0));
            } else {
                s.varint(2, group);
                long[] g = new long[h.size() + 1];
                g[0] = group;
                for (int j = 0; j < h.size(); j++) {
                    g[j + 1] = h.get(j);
                }
                groups.add(g);
                group++;
            }
        }
        for (long[] g : groups) {
            Proto e = new Proto().varint(1, g[0]);
            for (int j = 1; j < g.length; j++) {
                e.varint(2, g[j]);
            }
            s.message(3, e);
        }
        for (int a = 0; a < axes; a++) {
            if (shards[a] > 1) {
                AxisMap ax = t.axes().get(a);
                s.message(4, new Proto().varint(1, a).message(2, new Proto().varint(1, ax.size()).varint(3, shards[a])));
            }
        }
        return s;
    }

    /** Digit {@code d} of device {@code i} (least significant first). */
    private static long digit(int i, int d, int[] radix) {
        long v = i;
        for (int j = 0; j < d; j++) {
            v /= radix[j];
        }
        return v % radix[d];
    }
}
