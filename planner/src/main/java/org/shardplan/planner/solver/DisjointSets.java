package org.shardplan.planner.solver;

/**
 * Disjoint sets over {@code 0..n-1} kept in a parent array ({@code parent[x] == x} for a root): the find with path
 * halving that the planner's forests and components share.
 */
public final class DisjointSets {

    private DisjointSets() {
    }

    /** The root of {@code x}'s set, halving the path on the way up. */
    public static int find(int[] parent, int x) {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
}
