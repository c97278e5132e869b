package org.shardplan.export;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.shardplan.graph.Graph;
import org.shardplan.graph.Node;
import org.shardplan.graph.Value;
import org.shardplan.graph.passes.CoarseNode;

/**
 * PyTorch module paths recovered from an ONNX export. PyTorch's exporter names a node after the scope
 * of the module that ran it ({@code /encoder/layer.0/attention/self/query/MatMul} is the
 * {@code MatMul} of module {@code encoder.layer.0.attention.self.query}), and names the parameters it
 * keeps after the state dict ({@code encoder.layer.0.attention.self.query.bias}). Older exporters
 * drop the index of a module list from the scope and number repeated names instead
 * ({@code /c_attn_1/MatMul} for {@code h.1.c_attn}); the parameter names then give the full path. O(members).
 */
public final class ModulePaths {
    private ModulePaths() {
    }

    /**
     * The module path of a coarse node: from its anchor's name, completed by the name of a parameter of
     * its members whose module path ends with it ({@code h.1.c_attn.bias} completes {@code c_attn_1});
     * empty when the name is not a scope path ({@code MatMul_12}). The parameters are read in {@code g},
     * the graph the coarse graph was made from, where weights an exporter merged keep their own names
     * (as outputs of {@code Identity} nodes).
     */
    public static Optional<String> of(CoarseNode n, Graph g) {
        Optional<String> scope = fromNodeName(n.name());
        List<String> fromParams = new ArrayList<>();
        for (Node member : n.members()) {
            // the imported graph's node: coarsening reads merged weights through their source
            Node m = g.node(member.name()).orElse(member);
            for (Value v : m.inputs()) {
                // weights by their state-dict names: parameters, or (an exporter that merged equal
                // initializers) the Identity outputs that stand for them
                if (v != null && v.kind() != Value.Kind.INPUT) {
                    fromParameterName(v.name()).ifPresent(fromParams::add);
                }
            }
        }
        if (scope.isEmpty()) {
            return Optional.empty();
        }
        String s = scope.get();
        String bare = s.replaceAll("_[0-9]+$", "");
        for (String p : fromParams) {
            if (p.equals(s) || p.endsWith("." + s) || p.endsWith("." + bare)) {
                return Optional.of(p);
            }
        }
        return scope;
    }

    /** {@code /a/b.0/c/MatMul} -> {@code a.b.0.c}; empty unless the name is a scope path of two or more parts. */
    public static Optional<String> fromNodeName(String name) {
        if (!name.startsWith("/")) {
            return Optional.empty();
        }
        String[] parts = name.substring(1).split("/");
        if (parts.length < 2) {
            return Optional.empty();
        }
        return Optional.of(String.join(".", java.util.Arrays.copyOf(parts, parts.length - 1)));
    }

    /** {@code h.1.c_attn.bias} -> {@code h.1.c_attn}; empty for names that are not state-dict keys ({@code onnx::MatMul_7}). */
    static Optional<String> fromParameterName(String name) {
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)+") ) {
            return Optional.empty();
        }
        return Optional.of(name.substring(0, name.lastIndexOf('.')));
    }

    /**
     * The layer a module path belongs to: the path up to its last numeric part ({@code encoder.layer.3.attention}
     * -> {@code encoder.layer.3}), or the path itself when no part is numeric.
     */
    public static String layerOf(String path) {
        String[] parts = path.split("\\.");
        for (int i = parts.length - 1; i >= 0; i--) {
            if (parts[i].matches("[0-9]+")) {
                return String.join(".", java.util.Arrays.copyOf(parts, i + 1));
            }
        }
        return path;
    }
}
