package org.shardplan.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jgrapht.Graph;
import org.jgrapht.GraphPath;
import org.jgrapht.alg.connectivity.GabowStrongConnectivityInspector;
import org.jgrapht.alg.shortestpath.BFSShortestPath;
import org.jgrapht.graph.AsSubgraph;
import org.jgrapht.graph.DefaultDirectedGraph;
import org.jgrapht.graph.DefaultEdge;

/**
 * Finds a cycle to report in a graph that failed to sort topologically, so that an error can name
 * the nodes on it in order. Built on JGraphT only when a graph is found cyclic: the strongly connected
 * components (Gabow's algorithm), then a shortest cycle through the first vertex of the first
 * component that has one, by breadth-first search. Running time {@code O(V + E)} for the components
 * and {@code O(d (V + E))} for the cycle, {@code d} the vertex's out-degree.
 */
public final class Cycles {
    private Cycles() {
    }

    /**
     * A shortest cycle through the lowest-numbered vertex that lies on any cycle.
     *
     * @param successors for each vertex {@code 0 .. n-1}, the vertices it has edges to
     * @return the cycle's vertices in edge order, starting and ending at the same vertex
     *         ({@code [v, v]} for a self-loop); empty when the graph is acyclic
     */
    public static Optional<List<Integer>> find(List<? extends List<Integer>> successors) {
        Graph<Integer, DefaultEdge> g = new DefaultDirectedGraph<>(DefaultEdge.class);
        for (int v = 0; v < successors.size(); v++) {
            g.addVertex(v);
        }
        for (int v = 0; v < successors.size(); v++) {
            for (int w : successors.get(v)) {
                if (v == w) {
                    return Optional.of(List.of(v, v));
                }
                g.addVertex(w);
                g.addEdge(v, w);
            }
        }
        int best = Integer.MAX_VALUE;
        Set<Integer> component = null;
        for (Set<Integer> c : new GabowStrongConnectivityInspector<>(g).stronglyConnectedSets()) {
            if (c.size() > 1) {
                int low = c.stream().mapToInt(Integer::intValue).min().orElseThrow();
                if (low < best) {
                    best = low;
                    component = c;
                }
            }
        }
        if (component == null) {
            return Optional.empty();
        }
        Graph<Integer, DefaultEdge> sub = new AsSubgraph<>(g, component);
        int v = best;
        GraphPath<Integer, DefaultEdge> shortest = null;
        for (int w : successors.get(v)) {
            if (!component.contains(w)) {
                continue;
            }
            GraphPath<Integer, DefaultEdge> p = BFSShortestPath.findPathBetween(sub, w, v);
            if (p != null && (shortest == null || p.getLength() < shortest.getLength())) {
                shortest = p;
            }
        }
        List<Integer> cycle = new ArrayList<>();
        cycle.add(v);
        cycle.addAll(shortest.getVertexList());
        return Optional.of(List.copyOf(cycle));
    }
}
