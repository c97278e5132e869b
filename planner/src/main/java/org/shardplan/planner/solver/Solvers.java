package org.shardplan.planner.solver;

import java.util.List;

/** The solvers by name, for the command line and the benchmarks. */
public final class Solvers {
    private Solvers() {
    }

    /** The names {@link #byName} accepts, default first. */
    public static final List<String> NAMES = List.of("auto", "dp", "ilp");

    /**
     * The solver called {@code name}.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Solver byName(String name) {
        return switch (name) {
            case "auto" -> new AutoSolver();
            case "dp" -> new DpSolver();
            case "ilp" -> new IlpSolver();
            default -> throw new IllegalArgumentException("solver must be one of " + NAMES + ", found " + name);
        };
    }
}
