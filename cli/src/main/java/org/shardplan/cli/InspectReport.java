package org.shardplan.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.shardplan.graph.Dim;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Shape;
import org.shardplan.graph.Value;
import org.shardplan.graph.WorkAnalysis;
import org.shardplan.graph.passes.BlockClass;
import org.shardplan.graph.passes.CoarseGraph;
import org.shardplan.graph.passes.CoarseNode;
import org.shardplan.graph.passes.Coarsening;
import org.shardplan.onnx.ImportedModel;
import org.shardplan.onnx.ModelInfo;

/**
 * What {@code shardplan inspect} reports about an imported model, and its two renderings: the
 * human summary and the JSON document. Built in one pass over the graph (linear in its size).
 *
 * @param model the import result
 * @param displayName how to name the model's file to the user
 * @param bindings the dimension bindings in effect (user's and defaults), in order
 * @param values every value a top-level node reads or writes, and every graph input and output,
 *     once each, in topological order
 * @param opTypes node count by operator type, most frequent first (ties by name)
 * @param work total forward work
 * @param unknown values with an unknown rank or dimension
 * @param symbolic values with a symbolic dimension left unbound (and no unknown one)
 * @param unboundSymbols the symbol names left unbound, sorted
 * @param coarse the graph coarsened for planning ({@link Coarsening}), or null if coarsening failed
 * @param coarseError why coarsening failed, or null
 */
record InspectReport(ImportedModel model, String displayName, Map<String, Long> bindings, List<Value> values,
                     Map<String, Integer> opTypes, WorkAnalysis.Totals work, List<Value> unknown, List<Value> symbolic,
                     Set<String> unboundSymbols, CoarseGraph coarse, String coarseError) {

    static InspectReport of(ImportedModel m, String displayName, Map<String, Long> bindings) {
        Graph g = m.graph();
        Set<Value> seen = new LinkedHashSet<>(g.inputs());
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            counts.merge(n.isOnnxDomain() ? n.opType() : n.domain() + "." + n.opType(), 1, Integer::sum);
            for (Value v : n.inputs()) {
                if (!v.isAbsent()) {
                    seen.add(v);
                }
            }
            seen.addAll(n.outputs());
        }
        seen.addAll(g.outputs());
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(counts.entrySet());
        sorted.sort((a, b) -> a.getValue().equals(b.getValue()) ? a.getKey().compareTo(b.getKey())
                : b.getValue() - a.getValue());
        Map<String, Integer> ops = new LinkedHashMap<>();
        sorted.forEach(e -> ops.put(e.getKey(), e.getValue()));
        List<Value> unknown = new ArrayList<>();
        List<Value> symbolic = new ArrayList<>();
        Set<String> symbols = new TreeSet<>();
        for (Value v : seen) {
            Shape s = v.shape();
            boolean unk = !s.rankKnown() || s.dims().stream().anyMatch(d -> d instanceof Dim.Unknown);
            boolean sym = s.dims().stream().anyMatch(d -> d instanceof Dim.Symbolic);
            s.dims().stream().filter(d -> d instanceof Dim.Symbolic).forEach(d -> symbols.add(d.toString()));
            if (unk) {
                unknown.add(v);
            } else if (sym) {
                symbolic.add(v);
            }
        }
        CoarseGraph coarse = null;
        String coarseError = null;
        try {
            coarse = Coarsening.coarsen(g);
        } catch (RuntimeException e) {
            coarseError = e.toString();
        }
        return new InspectReport(m, displayName, bindings, List.copyOf(seen), ops, WorkAnalysis.Totals.of(g),
                List.copyOf(unknown), List.copyOf(symbolic), symbols, coarse, coarseError);
    }

    // ------------------------------------------------------------------ JSON

    ObjectNode toJson(ObjectMapper om) {
        ModelInfo info = model.info();
        Graph g = model.graph();
        ObjectNode root = om.createObjectNode();
        ObjectNode mo = root.putObject("model");
        mo.put("name", info.name());
        mo.put("file", displayName);
        mo.put("producer", info.producer());
        mo.put("producerVersion", info.producerVersion());
        mo.put("irVersion", info.irVersion());
        mo.put("opset", info.opset());
        ObjectNode imports = mo.putObject("opsetImports");
        info.opsetImports().forEach((d, v) -> imports.put(d.isEmpty() ? "ai.onnx" : d, v));
        mo.put("sha256", info.sha256());
        mo.put("fileBytes", info.fileBytes());
        ObjectNode b = root.putObject("bindings");
        bindings.forEach(b::put);
        ObjectNode s = root.putObject("summary");
        s.put("nodes", g.nodes().size());
        s.put("parameters", g.parameterCount());
        s.put("parameterBytes", g.parameterBytes());
        putCount(s, "forwardFlops", work.flops());
        s.put("forwardFlopsComplete", work.complete());
        putCount(s, "forwardBytesRead", work.bytesRead());
        putCount(s, "forwardBytesWritten", work.bytesWritten());
        s.put("values", values.size());
        s.put("unknownShapes", unknown.size());
        s.put("symbolicShapes", symbolic.size());
        if (coarse != null) {
            s.put("coarseNodes", coarse.nodes().size());
        } else {
            s.putNull("coarseNodes");
        }
        ObjectNode ops = root.putObject("opTypes");
        opTypes.forEach(ops::put);
        root.set("inputs", valueArray(om, g.inputs()));
        root.set("outputs", valueArray(om, g.outputs()));
        if (coarse != null) {
            ObjectNode c = root.putObject("coarse");
            c.put("nodes", coarse.nodes().size());
            ObjectNode kinds = c.putObject("kinds");
            coarse.kindCounts().forEach((k, v) -> kinds.put(k.name().toLowerCase(Locale.ROOT), v));
            c.put("edges", coarse.edges().size());
            c.put("foldedNodes", coarse.foldedNodes().size());
            c.put("removedNodes", coarse.removedNodes().size());
            ArrayNode classes = c.putArray("blockClasses");
            for (BlockClass bc : coarse.blockClasses()) {
                ObjectNode o = classes.addObject();
                o.put("id", bc.id());
                o.put("instances", bc.count());
                o.put("blockSize", bc.blockSize());
                ArrayNode bops = o.putArray("ops");
                bc.ops().forEach(bops::add);
            }
        } else {
            root.putNull("coarse");
        }
        ArrayNode unk = root.putArray("unknownOperators");
        model.unknownOperators().forEach(unk::add);
        ArrayNode opq = root.putArray("opaqueOperators");
        model.opaqueOperators().forEach(opq::add);
        ArrayNode syms = root.putArray("unboundSymbols");
        unboundSymbols.forEach(syms::add);
        ArrayNode warn = root.putArray("warnings");
        model.warnings().forEach(warn::add);
        root.set("values", valueArray(om, values));
        return root;
    }

    private static ArrayNode valueArray(ObjectMapper om, List<Value> vs) {
        ArrayNode a = om.createArrayNode();
        for (Value v : vs) {
            ObjectNode o = a.addObject();
            o.put("name", v.name());
            o.put("dtype", v.dtype().displayName());
            Shape s = v.shape();
            if (!s.rankKnown()) {
                o.putNull("shape");
            } else {
                ArrayNode d = o.putArray("shape");
                for (Dim x : s.dims()) {
                    if (x instanceof Dim.Fixed f) {
                        d.add(f.value());
                    } else if (x instanceof Dim.Symbolic y) {
                        d.add(y.name());
                    } else {
                        d.addNull();
                    }
                }
            }
            o.put("kind", v.kind().name().toLowerCase(Locale.ROOT));
        }
        return a;
    }

    String json() {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            return om.writeValueAsString(toJson(om)) + System.lineSeparator();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("JSON rendering failed", e);
        }
    }

    // ------------------------------------------------------------------ human text

    String text() {
        ModelInfo info = model.info();
        Graph g = model.graph();
        StringBuilder b = new StringBuilder();
        line(b, "model", (info.name().isEmpty() ? "(unnamed)" : info.name()) + "  " + displayName);
        String producer = (info.producer() + " " + info.producerVersion()).trim();
        line(b, "producer", producer.isEmpty() ? "(not recorded)" : producer);
        StringBuilder opsets = new StringBuilder();
        info.opsetImports().forEach((d, v) -> {
            if (!d.isEmpty()) {
                opsets.append(", ").append(d).append(' ').append(v);
            }
        });
        line(b, "format", "ONNX IR version " + info.irVersion() + ", opset " + info.opset() + opsets);
        line(b, "sha256", info.sha256());
        line(b, "bindings", bindings.isEmpty() ? "(none)" : join(bindings));
        b.append('\n');
        line(b, "nodes", String.format(Locale.ROOT, "%,d", g.nodes().size()));
        line(b, "op types", wrap(opTypes));
        line(b, "parameters", String.format(Locale.ROOT, "%,d (%s)", g.parameterCount(), bytes(g.parameterBytes())));
        Set<String> inputSymbols = inputSymbols(g);
        String flops;
        if (!work.complete() && work.flops() == 0 && !inputSymbols.isEmpty()) {
            flops = "unknown until " + String.join(", ", inputSymbols) + " are bound";
        } else {
            flops = String.format(Locale.ROOT, "%,.0f FLOPs (%s), reads %s, writes %s", work.flops(),
                    scaled(work.flops(), "FLOP"), bytes(work.bytesRead()), bytes(work.bytesWritten()));
            if (!work.complete()) {
                flops += inputSymbols.isEmpty() ? "; a lower bound: some shapes are unknown or operators have no formula"
                        : "; a lower bound until " + String.join(", ", inputSymbols) + " are bound";
            }
        }
        line(b, "forward", flops);
        b.append("inputs\n");
        valueLines(b, g.inputs());
        b.append("outputs\n");
        valueLines(b, g.outputs());
        if (unknown.isEmpty() && symbolic.isEmpty()) {
            line(b, "shapes", String.format(Locale.ROOT, "all %,d values resolved", values.size()));
        } else {
            line(b, "shapes", String.format(Locale.ROOT, "%,d of %,d values resolved; %,d unknown, %,d symbolic%s",
                    values.size() - unknown.size() - symbolic.size(), values.size(), unknown.size(), symbolic.size(),
                    inputSymbols.isEmpty() ? "" : " (bind with --dim " + String.join("=N --dim ", inputSymbols)
                            + "=N)"));
            int shown = 0;
            for (Value v : unknown) {
                if (shown++ == 10) {
                    b.append(String.format(Locale.ROOT, "  ... and %,d more unknown%n", unknown.size() - 10));
                    break;
                }
                b.append("  unknown ").append(v.name()).append(' ').append(v.type()).append(producerOf(g, v)).append('\n');
            }
        }
        if (!model.unknownOperators().isEmpty()) {
            line(b, "unknown ops", String.join(", ", model.unknownOperators()));
        }
        if (!model.opaqueOperators().isEmpty()) {
            line(b, "opaque ops", String.join(", ", model.opaqueOperators()));
        }
        if (coarse == null) {
            line(b, "coarse", "not computed: " + coarseError);
        } else {
            Map<CoarseNode.Kind, Integer> k = coarse.kindCounts();
            line(b, "coarse", String.format(Locale.ROOT,
                    "%,d nodes (%d compute, %d layout, %d element-wise), %,d edges; %,d nodes folded, %,d removed",
                    coarse.nodes().size(), k.get(CoarseNode.Kind.COMPUTE), k.get(CoarseNode.Kind.LAYOUT),
                    k.get(CoarseNode.Kind.ELEMENTWISE), coarse.edges().size(), coarse.foldedNodes().size(),
                    coarse.removedNodes().size()));
            if (coarse.blockClasses().isEmpty()) {
                line(b, "blocks", "no repeated blocks");
            }
            for (BlockClass bc : coarse.blockClasses()) {
                List<String> ops = bc.ops();
                String shown = ops.size() <= 8 ? String.join(" ", ops)
                        : String.join(" ", ops.subList(0, 8)) + " ... (" + ops.size() + ")";
                line(b, bc.id() == 0 ? "blocks" : "", String.format(Locale.ROOT, "class %d: %d x %d nodes: %s",
                        bc.id(), bc.count(), bc.blockSize(), shown));
            }
        }
        if (!model.warnings().isEmpty()) {
            b.append("warnings\n");
            for (String w : model.warnings()) {
                b.append("  ").append(w).append('\n');
            }
        }
        return b.toString();
    }

    /** Symbols of the graph inputs' shapes, sorted (binding these resolves the rest). */
    private static Set<String> inputSymbols(Graph g) {
        Set<String> r = new TreeSet<>();
        for (Value v : g.inputs()) {
            v.shape().dims().stream().filter(d -> d instanceof Dim.Symbolic).forEach(d -> r.add(d.toString()));
        }
        return r;
    }

    private static String producerOf(Graph g, Value v) {
        return g.producer(v).map(n -> " from " + n.describe()).orElse("");
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(String.format(Locale.ROOT, "%-12s%s%n", key, value));
    }

    private static void valueLines(StringBuilder b, List<Value> vs) {
        int w = 4;
        for (Value v : vs) {
            w = Math.max(w, v.name().length());
        }
        for (Value v : vs) {
            b.append(String.format(Locale.ROOT, "  %-" + w + "s  %-8s %s%n", v.name(), v.dtype(), v.shape()));
        }
    }

    private static String join(Map<String, Long> m) {
        List<String> parts = new ArrayList<>();
        m.forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(", ", parts);
    }

    private static String wrap(Map<String, Integer> ops) {
        StringBuilder b = new StringBuilder();
        int col = 0;
        for (Map.Entry<String, Integer> e : ops.entrySet()) {
            String item = e.getKey() + " " + e.getValue();
            if (col > 0 && col + item.length() + 2 > 80) {
                b.append(",\n            ");
                col = 0;
            } else if (col > 0) {
                b.append(", ");
                col += 2;
            }
            b.append(item);
            col += item.length();
        }
        return b.toString();
    }

    /**
     * A count summed in doubles, as an integer where it fits in 64 bits (exact up to 2^53, rounded
     * to double precision beyond), else as a number with an exponent.
     */
    private static void putCount(ObjectNode o, String key, double v) {
        if (v < 0x1p63) {
            o.put(key, (long) v);
        } else {
            o.put(key, v);
        }
    }

    /** Bytes with a binary unit: 1.4 MiB. */
    static String bytes(double n) {
        if (n < 1024) {
            return (long) n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** A count with a decimal prefix: 4.77 GFLOP. */
    static String scaled(double n, String unit) {
        String[] p = {"", "k", "M", "G", "T", "P", "E", "Z"};
        double v = n;
        int i = 0;
        while (v >= 1000 && i < p.length - 1) {
            v /= 1000;
            i++;
        }
        return String.format(Locale.ROOT, i == 0 ? "%.0f %s%s" : "%.2f %s%s", v, p[i], unit);
    }
}
