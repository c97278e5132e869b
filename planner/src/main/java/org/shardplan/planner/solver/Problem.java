package org.shardplan.planner.solver;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

/**
 * A strategy-selection problem (format 1 of {@code docs/problem-format.md}): every node picks one
 * of its strategies; the total cost is the sum of the chosen node costs plus, for every edge, the
 * entry of the edge's matrix at (strategy of its source, strategy of its target); optionally the
 * chosen strategies' memory must sum to at most {@link #memoryLimit()}.
 *
 * <p>Plain, immutable data: arrays are copied in and out. Forbidden strategy pairs are stored as
 * {@link Double#POSITIVE_INFINITY} (written as {@code null} in the file). Validation happens in the
 * constructors, so every {@code Problem} is well formed; the checks throw
 * {@link IllegalArgumentException} with a message that names the node or edge, and
 * {@link ProblemIo} turns them into {@link ProblemFormatException}s.
 *
 * @param name        the problem's name
 * @param nodes       the nodes, indexed from 0
 * @param edges       the edges; several may join the same two nodes (their costs add up)
 * @param memoryLimit the bound on the summed memory of the chosen strategies, if any
 */
public record Problem(String name, List<Node> nodes, List<Edge> edges, OptionalDouble memoryLimit) {

    /** The file format tag of problems. */
    public static final String FORMAT = "shardplan-problem/1";

    public Problem {
        name = name == null ? "" : name;
        nodes = List.copyOf(nodes);
        edges = List.copyOf(edges);
        memoryLimit = memoryLimit == null ? OptionalDouble.empty() : memoryLimit;
        if (memoryLimit.isPresent() && !Double.isFinite(memoryLimit.getAsDouble())) {
            throw new IllegalArgumentException("memoryLimit must be a finite number, found " + memoryLimit.getAsDouble());
        }
        for (int j = 0; j < edges.size(); j++) {
            Edge e = edges.get(j);
            for (int end : new int[] {e.from(), e.to()}) {
                if (end < 0 || end >= nodes.size()) {
                    throw new IllegalArgumentException("edge " + j + ": node index must be in 0.." + (nodes.size() - 1)
                            + ", found " + end);
                }
            }
            if (e.from() == e.to()) {
                throw new IllegalArgumentException("edge " + j + " joins node " + e.from() + " ("
                        + nodes.get(e.from()).name() + ") to itself");
            }
            int rows = nodes.get(e.from()).strategies();
            int cols = nodes.get(e.to()).strategies();
            if (e.rows() != rows || e.cols() != cols) {
                throw new IllegalArgumentException("edge " + j + " (" + nodes.get(e.from()).name() + " -> "
                        + nodes.get(e.to()).name() + "): costs must be " + rows + "x" + cols
                        + " (strategies of its ends), found " + e.rows() + "x" + e.cols());
            }
        }
    }

    /** A problem without memory limit. */
    public Problem(String name, List<Node> nodes, List<Edge> edges) {
        this(name, nodes, edges, OptionalDouble.empty());
    }

    /** Number of nodes. */
    public int size() {
        return nodes.size();
    }

    /** Number of strategies of node {@code i}. */
    public int strategies(int i) {
        return nodes.get(i).strategies();
    }

    /** Number of complete assignments, as a double (it overflows every integer type quickly). */
    public double assignments() {
        double a = 1;
        for (Node n : nodes) {
            a *= n.strategies();
        }
        return a;
    }

    /** Memory of node {@code i} under strategy {@code k} (0 when the node gives none). */
    public double memory(int i, int k) {
        return nodes.get(i).memory(k);
    }

    /** This problem with another memory limit (or none). */
    public Problem withMemoryLimit(OptionalDouble limit) {
        return new Problem(name, nodes, edges, limit);
    }

    /**
     * One node: its strategies' costs, optional labels and optional memory.
     *
     * @param name   the node's name (for messages and reports)
     * @param costs  finite cost per strategy; its length is the number of strategies (at least 1)
     * @param labels one label per strategy, or empty
     * @param memory memory per strategy, or {@code null} when not given (then it counts as 0)
     */
    public record Node(String name, double[] costs, List<String> labels, double[] memory) {
        public Node {
            name = name == null ? "" : name;
            if (costs == null || costs.length == 0) {
                throw new IllegalArgumentException("node " + name + ": costs must have at least 1 entry, found "
                        + (costs == null ? "none" : "0"));
            }
            costs = costs.clone();
            for (int k = 0; k < costs.length; k++) {
                if (!Double.isFinite(costs[k])) {
                    throw new IllegalArgumentException("node " + name + ": costs[" + k + "] must be a finite number, found "
                            + costs[k]);
                }
            }
            labels = labels == null ? List.of() : List.copyOf(labels);
            if (!labels.isEmpty() && labels.size() != costs.length) {
                throw new IllegalArgumentException("node " + name + ": labels must have " + costs.length
                        + " entries (one per strategy), found " + labels.size());
            }
            if (memory != null) {
                memory = memory.clone();
                if (memory.length != costs.length) {
                    throw new IllegalArgumentException("node " + name + ": memory must have " + costs.length
                            + " entries (one per strategy), found " + memory.length);
                }
                for (int k = 0; k < memory.length; k++) {
                    if (!Double.isFinite(memory[k])) {
                        throw new IllegalArgumentException("node " + name + ": memory[" + k
                                + "] must be a finite number, found " + memory[k]);
                    }
                }
            }
        }

        /** A node with costs only. */
        public Node(String name, double... costs) {
            this(name, costs, List.of(), null);
        }

        @Override
        public double[] costs() {
            return costs.clone();
        }

        @Override
        public double[] memory() {
            return memory == null ? null : memory.clone();
        }

        /** The costs as a map key, without a copy (the key's array is this node's own: not to be changed). */
        public DoublesKey costsKey() {
            return new DoublesKey(costs);
        }

        /** The memory as a map key, without a copy (null when none; the key's array is not to be changed). */
        public DoublesKey memoryKey() {
            return memory == null ? null : new DoublesKey(memory);
        }

        /** Number of strategies. */
        public int strategies() {
            return costs.length;
        }

        /** Cost of strategy {@code k}. */
        public double cost(int k) {
            return costs[k];
        }

        /** Whether memory is given. */
        public boolean hasMemory() {
            return memory != null;
        }

        /** Memory of strategy {@code k}, 0 when none is given. */
        public double memory(int k) {
            return memory == null ? 0.0 : memory[k];
        }

        /** The label of strategy {@code k}, or its index as text when there are no labels. */
        public String label(int k) {
            return labels.isEmpty() ? Integer.toString(k) : labels.get(k);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Node n && name.equals(n.name) && Arrays.equals(costs, n.costs)
                    && labels.equals(n.labels) && Arrays.equals(memory, n.memory);
        }

        @Override
        public int hashCode() {
            return (name.hashCode() * 31 + Arrays.hashCode(costs)) * 31 + Arrays.hashCode(memory);
        }

        @Override
        public String toString() {
            return "Node[" + name + ", " + costs.length + " strategies]";
        }
    }

    /**
     * One edge: a dense cost matrix, {@code rows} = strategies of {@code from}, {@code cols} =
     * strategies of {@code to}, row-major; {@link Double#POSITIVE_INFINITY} marks a forbidden pair.
     *
     * @param from  source node index
     * @param to    target node index
     * @param rows  number of rows
     * @param cols  number of columns
     * @param costs {@code rows * cols} entries, finite or {@code +inf}
     */
    public record Edge(int from, int to, int rows, int cols, double[] costs) {
        public Edge {
            if (rows < 1 || cols < 1) {
                throw new IllegalArgumentException("edge " + from + " -> " + to + ": costs must have at least 1 row and 1 column, found "
                        + rows + "x" + cols);
            }
            if (costs == null || costs.length != (long) rows * cols) {
                throw new IllegalArgumentException("edge " + from + " -> " + to + ": costs must have " + rows + "x" + cols
                        + " entries, found " + (costs == null ? 0 : costs.length));
            }
            costs = costs.clone();
            for (int i = 0; i < costs.length; i++) {
                double c = costs[i];
                if (Double.isNaN(c) || c == Double.NEGATIVE_INFINITY) {
                    throw new IllegalArgumentException("edge " + from + " -> " + to + ": costs[" + (i / cols) + "]["
                            + (i % cols) + "] must be a finite number or null, found " + c);
                }
            }
        }

        /** An edge from a matrix given as rows ({@code null} rows are not allowed). */
        public static Edge of(int from, int to, double[][] matrix) {
            int rows = matrix.length;
            int cols = rows == 0 ? 0 : matrix[0].length;
            double[] flat = new double[rows * cols];
            for (int r = 0; r < rows; r++) {
                if (matrix[r].length != cols) {
                    throw new IllegalArgumentException("edge " + from + " -> " + to + ": row " + r + " must have " + cols
                            + " entries, found " + matrix[r].length);
                }
                System.arraycopy(matrix[r], 0, flat, r * cols, cols);
            }
            return new Edge(from, to, rows, cols, flat);
        }

        @Override
        public double[] costs() {
            return costs.clone();
        }

        /** The costs as a map key, without a copy (the key's array is this edge's own: not to be changed). */
        public DoublesKey costsKey() {
            return new DoublesKey(costs);
        }

        /** The matrix itself, row-major, for readers in this package that do not change it (no copy of millions of entries). */
        double[] costsUnshared() {
            return costs;
        }

        /**
         * A copy of the costs, row-major with rows the layouts of endpoint {@code node} ({@link #from} as stored, or
         * {@link #to}: the transpose).
         */
        public double[] costsFrom(int node) {
            if (node == from) {
                return costs.clone();
            }
            if (node != to) {
                throw new IllegalArgumentException("node " + node + " is not an endpoint of edge " + from + " -> " + to);
            }
            double[] t = new double[costs.length];
            for (int x = 0; x < cols; x++) {
                for (int y = 0; y < rows; y++) {
                    t[x * rows + y] = costs[y * cols + x];
                }
            }
            return t;
        }

        /** Cost of the pair (source strategy {@code s}, target strategy {@code t}); +inf if forbidden. */
        public double cost(int s, int t) {
            return costs[s * cols + t];
        }

        /** Whether the pair is forbidden. */
        public boolean forbidden(int s, int t) {
            return costs[s * cols + t] == Double.POSITIVE_INFINITY;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Edge e && from == e.from && to == e.to && rows == e.rows && cols == e.cols
                    && Arrays.equals(costs, e.costs);
        }

        @Override
        public int hashCode() {
            return ((from * 31 + to) * 31 + rows) * 31 + Arrays.hashCode(costs);
        }

        @Override
        public String toString() {
            return "Edge[" + from + " -> " + to + ", " + rows + "x" + cols + "]";
        }
    }

    /** Node names of the edge's ends, for messages: {@code "Conv_0 -> Relu_1"}. */
    String describe(Edge e) {
        return nodes.get(e.from()).name() + " -> " + nodes.get(e.to()).name();
    }
}
