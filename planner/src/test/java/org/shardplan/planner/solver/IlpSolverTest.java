package org.shardplan.planner.solver;

class IlpSolverTest extends SolverContractTest {
    @Override
    Solver solver() {
        return new IlpSolver();
    }
}
