package org.shardplan.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.ShardplanException;

/**
 * Parses the dimension bindings commands take: {@code --dim NAME=VALUE} for a named symbolic
 * dimension and {@code --input-shape INPUT=D1,D2,...} for a graph input's whole shape.
 */
final class DimsArgs {
    private DimsArgs() {
    }

    /** {@code NAME=VALUE} strings to an ordered map; throws naming the bad one. */
    static Map<String, Long> dims(List<String> specs) throws ShardplanException {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String s : specs) {
            int eq = s.indexOf('=');
            if (eq <= 0 || eq == s.length() - 1) {
                throw new ShardplanException("--dim must be NAME=VALUE, found '" + s + "'");
            }
            String name = s.substring(0, eq).trim();
            m.put(name, size("--dim " + name, s.substring(eq + 1).trim()));
        }
        return m;
    }

    /** {@code INPUT=D1,D2,...} strings to an ordered map of shapes; throws naming the bad one. */
    static Map<String, List<Long>> inputShapes(List<String> specs) throws ShardplanException {
        Map<String, List<Long>> m = new LinkedHashMap<>();
        for (String s : specs) {
            int eq = s.lastIndexOf('=');
            if (eq <= 0) {
                throw new ShardplanException("--input-shape must be INPUT=D1,D2,..., found '" + s + "'");
            }
            String name = s.substring(0, eq).trim();
            String dims = s.substring(eq + 1).trim();
            List<Long> shape = new ArrayList<>();
            if (!dims.isEmpty()) {
                for (String d : dims.split(",", -1)) {
                    shape.add(size("--input-shape " + name, d.trim()));
                }
            }
            m.put(name, shape);
        }
        return m;
    }

    private static long size(String what, String text) throws ShardplanException {
        try {
            long v = Long.parseLong(text);
            if (v < 1) {
                throw new ShardplanException(what + " must be a size >= 1, found " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ShardplanException(what + " must be a whole number, found '" + text + "'");
        }
    }
}
