package org.shardplan.planner.solver;

/** Outcome of a solve, as written in solution files. */
public enum Status {
    /** The assignment is proven optimal: the lower bound equals the objective up to rounding. */
    OPTIMAL,
    /** A valid assignment; optimality not proven (for example the time limit was reached). */
    FEASIBLE,
    /** No assignment satisfies the forbidden pairs and the memory limit. */
    INFEASIBLE,
    /** No assignment was found in time and infeasibility was not proven either. */
    UNKNOWN
}
