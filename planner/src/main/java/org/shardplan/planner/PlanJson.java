package org.shardplan.planner;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes plans as {@code shardplan-plan/2} JSON ({@code docs/plan-format.md}), and reads
 * {@code shardplan-plan/1} files (single-stage plans: one stage over every device, one micro-batch).
 * Writing then reading gives an equal plan. Reading checks every field and names the one that is wrong
 * ({@code plan.json: nodes[3].strategy.b must be an integer >= 1, found -2}); unknown keys are ignored so
 * that later versions can add fields.
 */
public final class PlanJson {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PlanJson() {
    }

    /** JSON text in the compact form a plan stores it (so that writing and reading give equal plans). */
    public static String compact(String json) {
        try {
            return JSON.readTree(json).toString();
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("must be JSON, found: " + json, e);
        }
    }

    /** The plan as pretty-printed JSON text. */
    public static String write(Plan p) {
        try {
            return JSON.writeValueAsString(tree(p)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the plan to a file. */
    public static void write(Plan p, Path file) throws IOException {
        Files.writeString(file, write(p));
    }

    /** The plan as a JSON tree. */
    public static ObjectNode tree(Plan p) {
        ObjectNode r = JSON.createObjectNode();
        r.put("format", Plan.FORMAT);
        ObjectNode m = r.putObject("model");
        m.put("name", p.model().name());
        m.put("sha256", p.model().sha256());
        m.put("graphNodes", p.model().graphNodes());
        m.put("coarseNodes", p.model().coarseNodes());
        ObjectNode c = r.putObject("cluster");
        c.put("name", p.cluster().name());
        c.put("devices", p.cluster().devices());
        c.put("devicesPerNode", p.cluster().devicesPerNode());
        c.put("device", p.cluster().device());
        c.put("memoryBytesPerDevice", p.cluster().memoryBytesPerDevice());
        try {
            c.set("definition", JSON.readTree(p.cluster().definition()));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cluster definition must be JSON, found: " + p.cluster().definition(), e);
        }
        r.put("batch", p.batch());
        ObjectNode d = r.putObject("dims");
        p.dims().forEach(d::put);
        ObjectNode o = r.putObject("options");
        o.put("optimizer", p.options().optimizer());
        o.put("zeroStage", p.options().zeroStage());
        o.put("recompute", p.options().recompute());
        o.put("memoryLimitBytes", p.options().memoryLimitBytes());
        ObjectNode rq = o.putObject("requested");
        p.options().requested().forEach(rq::put);
        ObjectNode par = r.putObject("parallelism");
        par.put("data", p.parallelism().data());
        par.put("tensor", p.parallelism().tensor());
        par.put("pipeline", p.parallelism().pipeline());
        par.put("microBatches", p.parallelism().microBatches());
        par.put("microBatchSize", p.parallelism().microBatchSize());
        if (p.parallelism().copies() > 1) {
            par.put("copies", p.parallelism().copies());
        }
        ObjectNode sc = r.putObject("schedule");
        sc.put("name", p.schedule().name());
        sc.put("microBatches", p.schedule().microBatches());
        sc.put("virtualStages", p.schedule().virtualStages());
        sc.put("bubbleFraction", p.schedule().bubbleFraction());
        sc.put("exact", p.schedule().exact());
        if (p.schedule().maxActiveKeys() > 0) {
            sc.put("maxActiveKeys", p.schedule().maxActiveKeys());
            sc.put("minUpdateFrequency", p.schedule().minUpdateFrequency());
            ArrayNode stn = sc.putArray("staleness");
            for (int i = 0; i < p.schedule().staleness().size(); i++) {
                ObjectNode x = stn.addObject();
                x.put("stage", i);
                x.put("expected", p.schedule().staleness().get(i).expected());
                x.put("largest", p.schedule().staleness().get(i).largest());
            }
        }
        ArrayNode nodes = r.putArray("nodes");
        for (PlanNode n : p.nodes()) {
            ObjectNode x = nodes.addObject();
            x.put("name", n.name());
            x.put("op", n.op());
            ObjectNode s = x.putObject("strategy");
            n.strategy().forEach(s::put);
            ArrayNode pl = x.putArray("placement");
            n.placement().forEach(pl::add);
            ObjectNode in = x.putObject("intraNode");
            n.intraNode().forEach(in::put);
            x.put("devices", n.devices());
            x.put("supported", n.supported());
            x.put("computeSeconds", n.computeSeconds());
            x.put("communicationSeconds", n.communicationSeconds());
            x.put("communicationBytes", n.communicationBytes());
            x.put("memoryBytes", n.memoryBytes());
            x.put("stage", n.stage());
        }
        ArrayNode st = r.putArray("stages");
        for (Plan.Stage s : p.stages()) {
            ObjectNode x = st.addObject();
            x.put("index", s.index());
            ArrayNode dv = x.putArray("devices");
            dv.add(s.firstDevice());
            dv.add(s.lastDevice());
            ArrayNode ns = x.putArray("nodes");
            s.nodes().forEach(ns::add);
            x.put("computeSeconds", s.computeSeconds());
            x.put("communicationSeconds", s.communicationSeconds());
            x.put("memoryBytesPerDevice", s.memoryBytesPerDevice());
            x.put("forwardSeconds", s.forwardSeconds());
            x.put("backwardSeconds", s.backwardSeconds());
            x.put("backwardWeightSeconds", s.backwardWeightSeconds());
            x.put("sendSeconds", s.sendSeconds());
            x.put("gradientSyncSeconds", s.gradientSyncSeconds());
            x.put("staticBytes", s.staticBytes());
            x.put("activationBytesPerMicroBatch", s.activationBytesPerMicroBatch());
            x.put("microBatchesInFlight", s.microBatchesInFlight());
            x.put("updateSeconds", s.updateSeconds());
        }
        ObjectNode t = r.putObject("totals");
        t.put("stepSeconds", p.totals().stepSeconds());
        t.put("computeSeconds", p.totals().computeSeconds());
        t.put("communicationSeconds", p.totals().communicationSeconds());
        t.put("peakMemoryBytesPerDevice", p.totals().peakMemoryBytesPerDevice());
        t.put("communicationBytes", p.totals().communicationBytes());
        t.put("memoryLimitBytes", p.totals().memoryLimitBytes());
        t.put("fits", p.totals().fits());
        ObjectNode b = r.putObject("baselines");
        p.baselines().forEach((k, v) -> {
            ObjectNode x = b.putObject(k);
            x.put("name", v.name());
            x.put("stepSeconds", v.stepSeconds());
            x.put("peakMemoryBytesPerDevice", v.peakMemoryBytesPerDevice());
            x.put("fits", v.fits());
        });
        ObjectNode so = r.putObject("solver");
        so.put("name", p.solver().name());
        so.put("status", p.solver().status());
        so.put("objective", p.solver().objective());
        putBound(so, "lowerBound", p.solver().lowerBound());
        so.put("seconds", p.solver().seconds());
        so.put("solveSeconds", p.solver().solveSeconds());
        so.put("problemNodes", p.solver().problemNodes());
        so.put("problemEdges", p.solver().problemEdges());
        so.put("strategies", p.solver().strategies());
        so.put("boundScope", p.solver().boundScope());
        so.put("configurations", p.solver().configurations());
        ObjectNode pr = r.putObject("provenance");
        pr.put("shardplanVersion", p.provenance().shardplanVersion());
        pr.put("calibration", p.provenance().calibration());
        pr.put("createdAt", p.provenance().createdAt());
        pr.put("exactness", p.provenance().exactness());
        if (!p.provenance().overlap().isEmpty()) {
            pr.put("overlap", p.provenance().overlap());
        }
        ArrayNode w = r.putArray("warnings");
        p.warnings().forEach(w::add);
        if (p.parareal().isPresent()) {
            Plan.Parareal x = p.parareal().get();
            r.put("changesModel", true);
            ObjectNode q = r.putObject("parareal");
            if (x.chains().size() == 1) {
                // one chain: its fields at the top of the section (the form plans have always had)
                putChain(q, x.first(), x.coarseNetwork());
            } else {
                ObjectNode co = q.putObject("coarse");
                co.put("nodes", x.coarseNodes());
                co.put("parameters", x.coarseParameters());
                co.put("network", x.coarseNetwork());
            }
            q.put("stepSeconds", x.stepSeconds());
            q.put("speedup", x.speedup());
            q.put("exactStepSeconds", x.exactStepSeconds());
            if (x.chains().size() == 1) {
                ArrayNode ss = q.putArray("segmentSeconds");
                x.first().segmentSeconds().forEach(ss::add);
            }
            q.put("coarseSeconds", x.coarseSeconds());
            q.put("transferSeconds", x.transferSeconds());
            q.put("outsideSeconds", x.outsideSeconds());
            q.put("memoryBytesPerDevice", x.memoryBytesPerDevice());
            if (x.chains().size() > 1) {
                ArrayNode cs = q.putArray("chains");
                for (Plan.PararealChain pc : x.chains()) {
                    ObjectNode po = cs.addObject();
                    putChain(po, pc, null);
                    ArrayNode ss = po.putArray("segmentSeconds");
                    pc.segmentSeconds().forEach(ss::add);
                    po.put("coarseSeconds", pc.coarseSeconds());
                    po.put("transferSeconds", pc.transferSeconds());
                }
            }
        }
        return r;
    }

    /** A parareal chain's fields: segments, chain, cuts, chainBlocks, devicesPerSegment, coarse. */
    private static void putChain(ObjectNode q, Plan.PararealChain c, String network) {
        q.put("segments", c.segments());
        q.putArray("chain").add(c.first()).add(c.last());
        ArrayNode cuts = q.putArray("cuts");
        c.cuts().forEach(cuts::add);
        q.put("chainBlocks", c.chainBlocks());
        q.put("devicesPerSegment", c.devicesPerSegment());
        ObjectNode co = q.putObject("coarse");
        co.put("nodes", c.coarseNodes());
        co.put("parameters", c.coarseParameters());
        if (network != null) {
            co.put("network", network);
        }
    }

    private static void putBound(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    /** Reads a plan file. */
    public static Plan read(Path file) throws PlanFormatException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new PlanFormatException(file + ": plan file not found");
        } catch (IOException e) {
            throw new PlanFormatException(file + ": cannot read the plan file: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses plan JSON; {@code source} names it in messages. */
    public static Plan parse(String text, String source) throws PlanFormatException {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new PlanFormatException(source + ": not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr());
        }
        Reader r = new Reader(source);
        if (root == null || !root.isObject()) {
            throw r.bad("the document", "a JSON object", root);
        }
        String format = r.text(root, "format");
        boolean v1 = Plan.FORMAT_V1.equals(format);
        if (!Plan.FORMAT.equals(format) && !v1) {
            throw new PlanFormatException(source + ": format must be \"" + Plan.FORMAT + "\" (or \"" + Plan.FORMAT_V1
                    + "\"), found \"" + format + "\"");
        }
        JsonNode m = r.object(root, "model");
        Plan.Model model = new Plan.Model(r.text(m, "model.name"), r.text(m, "model.sha256"),
                r.int32(m, "model.graphNodes", 0), r.int32(m, "model.coarseNodes", 0));
        JsonNode c = r.object(root, "cluster");
        JsonNode def = r.field(c, "cluster.definition");
        if (!def.isObject()) {
            throw r.bad("cluster.definition", "a shardplan-cluster/1 object", def);
        }
        Plan.ClusterInfo cluster = new Plan.ClusterInfo(r.text(c, "cluster.name"),
                r.int32(c, "cluster.devices", 1), r.int32(c, "cluster.devicesPerNode", 1),
                r.text(c, "cluster.device"), r.number(c, "cluster.memoryBytesPerDevice", 0), def.toString());
        long batch = r.integer(root, "batch", 0);
        Map<String, Long> dims = new LinkedHashMap<>();
        JsonNode dn = r.object(root, "dims");
        for (Iterator<String> it = dn.fieldNames(); it.hasNext();) {
            String k = it.next();
            dims.put(k, r.integer(dn, "dims." + k, 0));
        }
        JsonNode on = r.object(root, "options");
        long zero = r.integer(on, "options.zeroStage", 0);
        if (zero > 3) {
            throw r.bad("options.zeroStage", "0, 1, 2 or 3", on.get("zeroStage"));
        }
        Map<String, String> requested = new LinkedHashMap<>();
        if (!v1 && on.has("requested")) {
            JsonNode rq = r.object(on, "options.requested");
            for (Iterator<String> it = rq.fieldNames(); it.hasNext();) {
                String k = it.next();
                requested.put(k, r.text(rq, "options.requested." + k));
            }
        }
        Plan.Options options = new Plan.Options(r.text(on, "options.optimizer"), (int) zero,
                r.bool(on, "options.recompute"), r.number(on, "options.memoryLimitBytes", 0), requested);
        List<PlanNode> nodes = new ArrayList<>();
        JsonNode na = r.array(root, "nodes");
        for (int i = 0; i < na.size(); i++) {
            String p = "nodes[" + i + "]";
            JsonNode x = na.get(i);
            if (!x.isObject()) {
                throw r.bad(p, "an object", x);
            }
            nodes.add(new PlanNode(r.text(x, p + ".name"), r.text(x, p + ".op"), r.factors(x, p + ".strategy"),
                    r.texts(x, p + ".placement"), r.factors(x, p + ".intraNode"), r.int32(x, p + ".devices", 1),
                    r.bool(x, p + ".supported"), r.number(x, p + ".computeSeconds", 0),
                    r.number(x, p + ".communicationSeconds", 0), r.number(x, p + ".communicationBytes", 0),
                    r.number(x, p + ".memoryBytes", 0), r.int32(x, p + ".stage", 0)));
        }
        List<Plan.Stage> stages = new ArrayList<>();
        JsonNode sa = r.array(root, "stages");
        Plan.Parallelism parallelism;
        Plan.Schedule schedule;
        if (v1) {
            // plan/1: one stage over every device, one micro-batch; the degrees are those of the layouts
            if (sa.size() != 1) {
                throw r.bad("stages", "one stage (a shardplan-plan/1 file)", sa);
            }
            String sched = r.text(root, "schedule");
            if (!sched.equals("none")) {
                throw r.bad("schedule", "\"none\" (a shardplan-plan/1 file)", root.get("schedule"));
            }
            stages.add(Plan.Stage.whole(cluster.devices(), r.texts(sa.get(0), "stages[0].nodes"), 0, 0, 0));
            parallelism = new Plan.Parallelism(1, cluster.devices(), 1, 1, batch);
            schedule = Plan.Schedule.none(1);
        } else {
            JsonNode pa = r.object(root, "parallelism");
            parallelism = new Plan.Parallelism(r.int32(pa, "parallelism.data", 1),
                    r.int32(pa, "parallelism.tensor", 1), r.int32(pa, "parallelism.pipeline", 1),
                    r.int32(pa, "parallelism.microBatches", 1), r.integer(pa, "parallelism.microBatchSize", 0),
                    pa.has("copies") ? r.int32(pa, "parallelism.copies", 1) : 1);
            JsonNode sc = r.object(root, "schedule");
            int keys = sc.has("maxActiveKeys") ? r.int32(sc, "schedule.maxActiveKeys", 1) : 0;
            int every = keys > 0 ? r.int32(sc, "schedule.minUpdateFrequency", 1) : 0;
            List<org.shardplan.planner.pipeline.Staleness> staleness = new ArrayList<>();
            if (sc.has("staleness")) {
                JsonNode stn = r.array(sc, "schedule.staleness");
                for (int i = 0; i < stn.size(); i++) {
                    String q = "schedule.staleness[" + i + "]";
                    JsonNode x = stn.get(i);
                    if (!x.isObject()) {
                        throw r.bad(q, "an object", x);
                    }
                    double expected = r.number(x, q + ".expected", 0);
                    long largest = r.integer(x, q + ".largest", 0);
                    if (expected > largest + 1e-9) {
                        throw r.bad(q + ".expected", "at most largest " + largest, x.get("expected"));
                    }
                    staleness.add(new org.shardplan.planner.pipeline.Staleness(expected, (int) largest));
                }
            }
            schedule = new Plan.Schedule(r.text(sc, "schedule.name"), r.int32(sc, "schedule.microBatches", 1),
                    r.int32(sc, "schedule.virtualStages", 1), r.number(sc, "schedule.bubbleFraction", 0),
                    r.bool(sc, "schedule.exact"), keys, every, staleness);
            for (int i = 0; i < sa.size(); i++) {
                String p = "stages[" + i + "]";
                JsonNode x = sa.get(i);
                if (!x.isObject()) {
                    throw r.bad(p, "an object", x);
                }
                JsonNode dv = r.array(x, p + ".devices");
                if (dv.size() != 2 || !dv.get(0).canConvertToInt() || !dv.get(1).canConvertToInt()
                        || dv.get(0).asInt() < 0 || dv.get(1).asInt() < dv.get(0).asInt()
                        || dv.get(1).asInt() >= cluster.devices()) {
                    throw r.bad(p + ".devices", "[first, last] device numbers with 0 <= first <= last < "
                            + cluster.devices(), dv);
                }
                int first = dv.get(0).asInt();
                stages.add(new Plan.Stage(r.int32(x, p + ".index", 0), first, dv.get(1).asInt() - first + 1,
                        r.texts(x, p + ".nodes"), r.number(x, p + ".computeSeconds", 0),
                        r.number(x, p + ".communicationSeconds", 0), r.number(x, p + ".memoryBytesPerDevice", 0),
                        r.number(x, p + ".forwardSeconds", 0), r.number(x, p + ".backwardSeconds", 0),
                        r.number(x, p + ".backwardWeightSeconds", 0), r.number(x, p + ".sendSeconds", 0),
                        r.number(x, p + ".gradientSyncSeconds", 0), r.number(x, p + ".staticBytes", 0),
                        r.number(x, p + ".activationBytesPerMicroBatch", 0),
                        r.int32(x, p + ".microBatchesInFlight", 0),
                        x.has("updateSeconds") ? r.number(x, p + ".updateSeconds", 0) : 0));
            }
            if (stages.isEmpty()) {
                throw r.bad("stages", "at least one stage", sa);
            }
            if (schedule.name().equals(org.shardplan.planner.pipeline.Amp.NAME) && schedule.maxActiveKeys() == 0) {
                throw r.bad("schedule.maxActiveKeys", "the keys in flight of the asynchronous schedule (an integer >= 1)",
                        sc.get("maxActiveKeys"));
            }
            if (schedule.maxActiveKeys() > 0 && schedule.staleness().size() != stages.size()) {
                throw r.bad("schedule.staleness", "one entry per stage (" + stages.size() + ")", sc.get("staleness"));
            }
        }
        JsonNode t = r.object(root, "totals");
        PlanTotals totals = new PlanTotals(r.number(t, "totals.stepSeconds", 0), r.number(t, "totals.computeSeconds", 0),
                r.number(t, "totals.communicationSeconds", 0), r.number(t, "totals.peakMemoryBytesPerDevice", 0),
                r.number(t, "totals.communicationBytes", 0), r.number(t, "totals.memoryLimitBytes", 0),
                r.bool(t, "totals.fits"));
        Map<String, Plan.Baseline> baselines = new LinkedHashMap<>();
        JsonNode bn = r.object(root, "baselines");
        for (Iterator<String> it = bn.fieldNames(); it.hasNext();) {
            String k = it.next();
            String p = "baselines." + k;
            JsonNode x = bn.get(k);
            if (!x.isObject()) {
                throw r.bad(p, "an object", x);
            }
            baselines.put(k, new Plan.Baseline(r.text(x, p + ".name"), r.number(x, p + ".stepSeconds", 0),
                    r.number(x, p + ".peakMemoryBytesPerDevice", 0), r.bool(x, p + ".fits")));
        }
        JsonNode so = r.object(root, "solver");
        JsonNode lb = r.field(so, "solver.lowerBound");
        Plan.SolverInfo solver = new Plan.SolverInfo(r.text(so, "solver.name"), r.text(so, "solver.status"),
                r.number(so, "solver.objective", 0), lb.isNull() ? Double.NEGATIVE_INFINITY
                        : r.number(so, "solver.lowerBound", Double.NEGATIVE_INFINITY),
                r.number(so, "solver.seconds", 0), r.number(so, "solver.solveSeconds", 0), r.int32(so, "solver.problemNodes", 0),
                r.int32(so, "solver.problemEdges", 0), r.integer(so, "solver.strategies", 0),
                v1 || !so.has("boundScope") ? "full" : r.text(so, "solver.boundScope"),
                v1 || !so.has("configurations") ? 1 : r.int32(so, "solver.configurations", 1));
        JsonNode pn = r.object(root, "provenance");
        Plan.Provenance prov = new Plan.Provenance(r.text(pn, "provenance.shardplanVersion"),
                r.text(pn, "provenance.calibration"), r.text(pn, "provenance.createdAt"),
                r.text(pn, "provenance.exactness"), pn.has("overlap") ? r.text(pn, "provenance.overlap") : "");
        List<String> warnings = r.texts(root, "warnings");
        boolean changes = root.has("changesModel") && r.bool(root, "changesModel");
        java.util.Optional<Plan.Parareal> parareal = java.util.Optional.empty();
        if (root.has("parareal")) {
            parareal = java.util.Optional.of(parareal(r, r.object(root, "parareal")));
        }
        if (changes != parareal.isPresent()) {
            throw new PlanFormatException(source + ": changesModel must be " + parareal.isPresent() + " when the plan "
                    + (parareal.isPresent() ? "has" : "has no") + " parareal section, found " + changes);
        }
        return new Plan(model, cluster, batch, dims, options, nodes, parallelism, schedule, stages, totals, baselines,
                solver, prov, warnings, parareal);
    }

    private static Plan.Parareal parareal(Reader r, JsonNode q) throws PlanFormatException {
        List<Plan.PararealChain> chains = new ArrayList<>();
        if (q.has("chains")) {
            JsonNode cs = r.array(q, "parareal.chains");
            if (cs.size() < 2) {
                throw r.bad("parareal.chains", "at least 2 chains (one chain is written without the list)", cs);
            }
            for (int i = 0; i < cs.size(); i++) {
                chains.add(chain(r, cs.get(i), "parareal.chains[" + i + "]."));
            }
        } else {
            chains.add(chain(r, q, "parareal."));
        }
        JsonNode co = r.object(q, "parareal.coarse");
        return new Plan.Parareal(chains, r.text(co, "parareal.coarse.network"), r.number(q, "parareal.stepSeconds", 0),
                r.number(q, "parareal.speedup", 0), r.number(q, "parareal.exactStepSeconds", 0),
                r.number(q, "parareal.outsideSeconds", 0), r.number(q, "parareal.memoryBytesPerDevice", 0));
    }

    /** One chain's fields, {@code at} the prefix that names them in errors. */
    private static Plan.PararealChain chain(Reader r, JsonNode q, String at) throws PlanFormatException {
        int n = r.int32(q, at + "segments", 2);
        JsonNode chain = r.array(q, at + "chain");
        if (chain.size() != 2 || !chain.get(0).isTextual() || !chain.get(1).isTextual()) {
            throw r.bad(at + "chain", "[first node, last node]", chain);
        }
        List<String> cuts = r.texts(q, at + "cuts");
        if (cuts.size() != n - 1) {
            throw r.bad(at + "cuts", (n - 1) + " node names (one fewer than the segments)", q.get("cuts"));
        }
        JsonNode co = r.object(q, at + "coarse");
        JsonNode ss = r.array(q, at + "segmentSeconds");
        List<Double> seg = new ArrayList<>();
        for (int i = 0; i < ss.size(); i++) {
            JsonNode v = ss.get(i);
            if (!v.isNumber() || !(v.asDouble() >= 0)) {
                throw r.bad(at + "segmentSeconds[" + i + "]", "a number >= 0", v);
            }
            seg.add(v.asDouble());
        }
        if (seg.size() != n) {
            throw r.bad(at + "segmentSeconds", n + " numbers (one per segment)", ss);
        }
        return new Plan.PararealChain(n, chain.get(0).asText(), chain.get(1).asText(), cuts,
                r.int32(q, at + "chainBlocks", n), r.int32(q, at + "devicesPerSegment", 1),
                r.int32(co, at + "coarse.nodes", 1), r.integer(co, at + "coarse.parameters", 0), seg,
                r.number(q, at + "coarseSeconds", 0), r.number(q, at + "transferSeconds", 0));
    }

    /** Field access that names the field in every error. */
    private record Reader(String source) {
        PlanFormatException bad(String field, String want, JsonNode found) {
            String f = found == null || found.isMissingNode() ? "nothing" : found.isTextual() ? "\"" + found.asText() + "\""
                    : found.toString();
            if (f.length() > 60) {
                f = f.substring(0, 57) + "...";
            }
            return new PlanFormatException(source + ": " + field + " must be " + want + ", found " + f);
        }

        private static String last(String path) {
            int dot = path.lastIndexOf('.');
            return dot < 0 ? path : path.substring(dot + 1);
        }

        JsonNode field(JsonNode parent, String path) throws PlanFormatException {
            JsonNode v = parent.get(last(path));
            if (v == null) {
                throw new PlanFormatException(source + ": " + path + " is missing");
            }
            return v;
        }

        JsonNode object(JsonNode parent, String path) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isObject()) {
                throw bad(path, "an object", v);
            }
            return v;
        }

        JsonNode array(JsonNode parent, String path) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isArray()) {
                throw bad(path, "an array", v);
            }
            return v;
        }

        String text(JsonNode parent, String path) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isTextual()) {
                throw bad(path, "a string", v);
            }
            return v.asText();
        }

        boolean bool(JsonNode parent, String path) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isBoolean()) {
                throw bad(path, "true or false", v);
            }
            return v.asBoolean();
        }

        double number(JsonNode parent, String path, double min) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isNumber() || !Double.isFinite(v.asDouble()) || v.asDouble() < min) {
                throw bad(path, "a number >= " + (min == Double.NEGATIVE_INFINITY ? "-inf" : fmt(min)), v);
            }
            return v.asDouble();
        }

        long integer(JsonNode parent, String path, long min) throws PlanFormatException {
            JsonNode v = field(parent, path);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) {
                throw bad(path, "an integer >= " + min, v);
            }
            return v.asLong();
        }

        /** {@link #integer} of a field the plan holds as an int: at most 2^31 - 1. */
        int int32(JsonNode parent, String path, long min) throws PlanFormatException {
            long x = integer(parent, path, min);
            if (x > Integer.MAX_VALUE) {
                throw bad(path, "an integer from " + min + " to " + Integer.MAX_VALUE, field(parent, path));
            }
            return (int) x;
        }

        List<String> texts(JsonNode parent, String path) throws PlanFormatException {
            JsonNode a = array(parent, path);
            List<String> r = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                if (!a.get(i).isTextual()) {
                    throw bad(path + "[" + i + "]", "a string", a.get(i));
                }
                r.add(a.get(i).asText());
            }
            return r;
        }

        Map<String, Integer> factors(JsonNode parent, String path) throws PlanFormatException {
            JsonNode o = object(parent, path);
            Map<String, Integer> r = new LinkedHashMap<>();
            for (Iterator<String> it = o.fieldNames(); it.hasNext();) {
                String k = it.next();
                JsonNode v = o.get(k);
                if (!v.isIntegralNumber() || v.asLong() < 1 || v.asLong() > Integer.MAX_VALUE) {
                    throw bad(path + "." + k, "an integer >= 1", v);
                }
                r.put(k, v.asInt());
            }
            return r;
        }

        private static String fmt(double d) {
            return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
        }
    }
}
