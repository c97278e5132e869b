package org.shardplan.planner.solver;

/** The dynamic program's sort of positions by value, for the planner's own scans over tables. */
public final class Orders {
    private Orders() {
    }

    /**
     * Sorts the positions {@code 0..n-1} of {@code key} by value, ties by position ({@link Double#compare}'s order), into
     * {@code order}, with the values in that order into {@code sorted}. O(n log n).
     */
    public static void byValue(double[] key, int[] order, double[] sorted, int n) {
        VariableElimination.sortByKey(key, order, sorted, n);
    }
}
