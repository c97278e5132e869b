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

    /**
     * {@code INPUT=V1,V2,...} strings to tensors: int64 when every value is a whole number, float64
     * otherwise; a scalar for one value, a vector for several (the importer fits them to the input's
     * declared type and shape). Throws naming the bad one.
     */
    static Map<String, org.shardplan.graph.Tensor> inputValues(List<String> specs) throws ShardplanException {
        Map<String, org.shardplan.graph.Tensor> m = new LinkedHashMap<>();
        for (String s : specs) {
            int eq = s.lastIndexOf('=');
            if (eq <= 0 || eq == s.length() - 1) {
                throw new ShardplanException("--input-value must be INPUT=V1,V2,..., found '" + s + "'");
            }
            String name = s.substring(0, eq).trim();
            String[] parts = s.substring(eq + 1).split(",", -1);
            if (parts.length > 4096) {
                throw new ShardplanException("--input-value " + name + " must have at most 4096 values, found " + parts.length);
            }
            long[] dims = parts.length == 1 ? new long[0] : new long[] {parts.length};
            long[] longs = new long[parts.length];
            double[] doubles = new double[parts.length];
            boolean whole = true;
            for (int i = 0; i < parts.length; i++) {
                String p = parts[i].trim();
                try {
                    longs[i] = Long.parseLong(p);
                    doubles[i] = longs[i];
                } catch (NumberFormatException e) {
                    try {
                        doubles[i] = Double.parseDouble(p);
                        whole = false;
                    } catch (NumberFormatException e2) {
                        throw new ShardplanException("--input-value " + name + " values must be numbers, found '" + p + "'");
                    }
                }
            }
            m.put(name, whole ? org.shardplan.graph.Tensor.ofLongs(org.shardplan.graph.DType.INT64, dims, longs)
                    : org.shardplan.graph.Tensor.ofDoubles(org.shardplan.graph.DType.FLOAT64, dims, doubles));
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
