package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class IlpSolverTest extends SolverContractTest {
    @Override
    Solver solver() {
        return new IlpSolver();
    }

    /** SCIP's native cap: the table budget, or 2 GiB or a quarter of the physical memory when that is larger. */
    @Test
    void nativeMemoryCapIsTheBudgetOrUpToTwoGibibytes() {
        long physical = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize();
        long commandLine = 583L << 20; // a third of the solve command's 1750 MiB heap
        if (physical >= 8L << 30) {
            assertEquals(2L << 30, IlpSolver.nativeBudget(commandLine));
        } else {
            assertEquals(Math.max(commandLine, physical / 4), IlpSolver.nativeBudget(commandLine));
        }
        assertEquals(8L << 30, IlpSolver.nativeBudget(8L << 30), "a larger budget is kept");
        assertTrue(IlpSolver.nativeBudget(1L << 20) <= 2L << 30);
    }
}
