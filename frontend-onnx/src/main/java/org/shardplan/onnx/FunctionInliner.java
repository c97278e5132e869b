package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replaces calls of model-local functions ({@code ModelProto.functions}, written by newer exporters)
 * with the functions' bodies, so that every node is an ordinary operator inference knows. Formal inputs
 * and outputs become the call's actual values, the body's own values and nodes are named
 * {@code call/name}, and attributes given by reference ({@code ref_attr_name}) take the call's
 * attribute or the function's default. Linear in the size of the expanded graph; calls nest up to
 * {@link #MAX_DEPTH} deep.
 */
final class FunctionInliner {
    static final int MAX_DEPTH = 16;

    private final Map<String, Pb.FunctionP> functions = new LinkedHashMap<>();
    private int calls;

    FunctionInliner(List<Pb.FunctionP> fs) {
        for (Pb.FunctionP f : fs) {
            functions.put(key(f.domain(), f.name()), f);
        }
    }

    private static String key(String domain, String name) {
        return (domain.equals("ai.onnx") ? "" : domain) + "." + name;
    }

    /** Whether the node calls a model-local function. */
    boolean isFunction(Pb.NodeP n) {
        return functions.containsKey(key(n.domain(), n.opType()));
    }

    /** Number of calls inlined so far. */
    int calls() {
        return calls;
    }

    /** The nodes with every function call replaced by the function's body. */
    List<Pb.NodeP> expand(List<Pb.NodeP> nodes, String file) throws OnnxImportException {
        if (functions.isEmpty()) {
            return nodes;
        }
        List<Pb.NodeP> out = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            expand(nodes.get(i), i, 0, out, file);
        }
        return out;
    }

    private void expand(Pb.NodeP call, int index, int depth, List<Pb.NodeP> out, String file) throws OnnxImportException {
        Pb.FunctionP f = functions.get(key(call.domain(), call.opType()));
        if (f == null) {
            out.add(call);
            return;
        }
        String callName = call.name().isEmpty() ? call.opType() + "_" + index : call.name();
        if (depth >= MAX_DEPTH) {
            throw new OnnxImportException(file + ": node '" + callName + "' (" + call.domain() + "." + call.opType()
                    + ") calls functions more than " + MAX_DEPTH + " deep");
        }
        calls++;
        Map<String, String> names = new HashMap<>();
        for (int i = 0; i < f.inputs().size(); i++) {
            names.put(f.inputs().get(i), i < call.inputs().size() ? call.inputs().get(i) : "");
        }
        for (int i = 0; i < f.outputs().size(); i++) {
            String actual = i < call.outputs().size() ? call.outputs().get(i) : "";
            names.put(f.outputs().get(i), actual.isEmpty() ? callName + "/" + f.outputs().get(i) : actual);
        }
        Map<String, Pb.AttrP> given = new HashMap<>();
        for (Pb.AttrP a : call.attributes()) {
            given.put(a.name(), a);
        }
        for (Pb.AttrP a : f.attributeDefaults()) {
            given.putIfAbsent(a.name(), a);
        }
        for (int j = 0; j < f.nodes().size(); j++) {
            Pb.NodeP n = f.nodes().get(j);
            List<String> in = new ArrayList<>();
            for (String s : n.inputs()) {
                in.add(rename(s, names, callName));
            }
            List<String> outs = new ArrayList<>();
            for (String s : n.outputs()) {
                outs.add(rename(s, names, callName));
            }
            List<Pb.AttrP> attrs = new ArrayList<>();
            for (Pb.AttrP a : n.attributes()) {
                if (a.refAttrName().isEmpty()) {
                    attrs.add(a);
                } else if (given.containsKey(a.refAttrName())) {
                    attrs.add(given.get(a.refAttrName()).renamed(a.name()));
                }
            }
            String name = callName + "/" + (n.name().isEmpty() ? n.opType() + "_" + j : n.name());
            Pb.NodeP inner = new Pb.NodeP(name, n.opType(), n.domain(), List.copyOf(in), List.copyOf(outs),
                    List.copyOf(attrs));
            expand(inner, j, depth + 1, out, file);
        }
    }

    private static String rename(String s, Map<String, String> names, String prefix) {
        if (s.isEmpty()) {
            return s;
        }
        String r = names.get(s);
        return r != null ? r : prefix + "/" + s;
    }
}
