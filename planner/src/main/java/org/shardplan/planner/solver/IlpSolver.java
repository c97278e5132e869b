package org.shardplan.planner.solver;

import com.google.ortools.linearsolver.MPConstraint;
import com.google.ortools.linearsolver.MPObjective;
import com.google.ortools.linearsolver.MPSolver;
import com.google.ortools.linearsolver.MPSolverParameters;
import com.google.ortools.linearsolver.MPVariable;
import java.util.ArrayList;
import java.util.List;

/**
 * The integer linear program, solved with OR-Tools' MPSolver (SCIP by default).
 *
 * <p>Variables: one binary {@code x[v][s]} per node and remaining strategy ({@code sum_s x[v][s] = 1}).
 * Edges use the marginal (local-polytope) linearisation on the compact classes of
 * {@link CompiledProblem}: one continuous {@code y[e][r][c] >= 0} per pair of row class r and column
 * class c whose cost is finite, with {@code sum_c y[e][r][c] = sum_{s in r} x[u][s]} and
 * {@code sum_r y[e][r][c] = sum_{t in c} x[w][t]}. For integral x this forces y to the one chosen
 * pair, so the model is exact, and its LP relaxation is at least as tight as the classic
 * {@code y >= x_u + x_w - 1} linearisation while having far fewer variables than one per strategy
 * pair. Forbidden pairs simply have no y variable. An edge whose matrix has one row class (or one
 * column class) is folded into the node costs of the other end. The memory limit is one knapsack
 * row. Costs are scaled by a power of two so that the coefficients are near 1.
 *
 * <p>Returns the best assignment found within the time limit and the solver's best bound; the
 * status is {@code OPTIMAL} only when the backend proves it. Branch and bound: exponential in the
 * worst case; PaSE-shaped problems with a few thousand classes solve in seconds. Deterministic:
 * one thread, variables created in node and edge order.
 */
public final class IlpSolver implements Solver {

    /** Models with more edge variables than this are refused rather than built. */
    static final long MAX_EDGE_VARIABLES = 4_000_000;

    private final String backend;
    private long memoryLimitMb;

    /**
     * The default backend, SCIP: on the shared PaSE examples it proves the optimum where CP-SAT
     * (through MPSolver, which scales the objective to integers) stops at the time limit and HiGHS
     * overruns the time limit several-fold; see docs/solver.md and benchmarks/results/solver.md.
     */
    public IlpSolver() {
        this("SCIP");
    }

    /** A given MPSolver backend id, for example {@code SCIP}, {@code CP_SAT} or {@code HIGHS}. */
    public IlpSolver(String backend) {
        this.backend = backend;
    }

    @Override
    public String name() {
        return "ilp";
    }

    @Override
    public Solution solve(Problem problem, Options options) {
        long t0 = System.nanoTime();
        CompiledProblem c = CompiledProblem.of(problem);
        return solve(c, null, t0 + (long) (options.timeLimitSeconds() * 1e9), t0, options.memoryBudgetBytes());
    }

    /**
     * The cap on SCIP's own memory (native, outside the Java heap) for a solve whose table budget is
     * {@code budgetBytes}: that budget or, when larger, 2 GiB or a quarter of the machine's physical
     * memory, whichever is less. SCIP runs after the dynamic program's tables are gone, and a cap of a
     * third of the solve command's heap (583 MiB) stopped it after a few seconds on problems it proves
     * optimal in half a minute with 2 GiB (`benchmarks/results/solver.md`, memory limits).
     */
    static long nativeBudget(long budgetBytes) {
        long physical = 0;
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            physical = os.getTotalMemorySize();
        }
        long roomy = physical > 0 ? Math.min(2L << 30, physical / 4) : 0;
        return Math.max(budgetBytes, roomy);
    }

    /**
     * Solves a compiled problem, optionally starting from {@code hint} (may be null); SCIP's own
     * memory (native, outside the Java heap) is limited to {@link #nativeBudget nativeBudget(memoryBudgetBytes)}.
     */
    Solution solve(CompiledProblem c, int[] hint, long deadline, long t0, long memoryBudgetBytes) {
        Problem p = c.problem;
        if (c.infeasible != null) {
            return new Solution(p.name(), Status.INFEASIBLE, Double.NaN, Double.POSITIVE_INFINITY, new int[0], name(),
                    DpSolver.seconds(t0), c.infeasible);
        }
        long edgeVars = 0;
        for (Factor f : c.factors) {
            edgeVars += (long) f.dims[0] * f.dims[1];
        }
        if (edgeVars > MAX_EDGE_VARIABLES) {
            return unknown(p, t0, "ilp: the model would need " + edgeVars + " edge variables, over the limit of "
                    + MAX_EDGE_VARIABLES);
        }
        OrTools.load();
        MPSolver solver = MPSolver.createSolver(backend);
        if (solver == null) {
            return unknown(p, t0, "ilp: the OR-Tools backend " + backend + " is not available on this platform");
        }
        memoryLimitMb = nativeBudget(memoryBudgetBytes) >> 20;
        if ("SCIP".equals(backend)) {
            solver.setSolverSpecificParametersAsString("limits/memory = " + Math.max(64, memoryLimitMb) + "\n");
        }
        try {
            return build(c, solver, hint, deadline, t0, edgeVars);
        } finally {
            solver.delete();
        }
    }

    private Solution build(CompiledProblem c, MPSolver solver, int[] hint, long deadline, long t0, long edgeVars) {
        Problem p = c.problem;
        int n = c.n;
        double inf = MPSolver.infinity();
        double scale = scale(c);
        double[][] unary = c.unary(0);
        MPVariable[][] x = new MPVariable[n][];
        for (int v = 0; v < n; v++) {
            x[v] = new MPVariable[c.k[v]];
        }
        List<Factor> pairwise = new ArrayList<>();
        for (Factor f : c.factors) {
            if (f.dims[0] == 1 || f.dims[1] == 1) {
                int a = f.dims[0] == 1 ? 1 : 0; // the axis that varies (or axis 0 when both are single)
                int w = f.vars[a];
                for (int s = 0; s < c.k[w]; s++) {
                    if (!c.dead[w][s]) {
                        unary[w][s] += f.table[f.cls[a][s] * f.strides[a]];
                    }
                }
            } else {
                pairwise.add(f);
            }
        }
        MPObjective obj = solver.objective();
        for (int v = 0; v < n; v++) {
            MPConstraint one = solver.makeConstraint(1, 1, "one_" + v);
            for (int s = 0; s < c.k[v]; s++) {
                if (c.dead[v][s]) {
                    continue;
                }
                MPVariable var = solver.makeBoolVar("x_" + v + "_" + s);
                x[v][s] = var;
                one.setCoefficient(var, 1);
                if (unary[v][s] == Double.POSITIVE_INFINITY) {
                    var.setUb(0);
                } else {
                    obj.setCoefficient(var, unary[v][s] / scale);
                }
            }
        }
        int e = 0;
        for (Factor f : pairwise) {
            // building a model of millions of variables takes seconds: the time limit holds here too
            if (System.nanoTime() > deadline) {
                return unknown(p, t0, "ilp: time limit reached while building the model (" + e + " of "
                        + pairwise.size() + " edge tables)");
            }
            int u = f.vars[0];
            int w = f.vars[1];
            int nr = f.dims[0];
            int nc = f.dims[1];
            MPConstraint[] rows = new MPConstraint[nr];
            MPConstraint[] cols = new MPConstraint[nc];
            boolean[] rowAlive = aliveClasses(f.cls[0], c.dead[u], nr);
            boolean[] colAlive = aliveClasses(f.cls[1], c.dead[w], nc);
            for (int r = 0; r < nr; r++) {
                if (rowAlive[r]) {
                    rows[r] = solver.makeConstraint(0, 0, "row_" + e + "_" + r);
                }
            }
            for (int cc = 0; cc < nc; cc++) {
                if (colAlive[cc]) {
                    cols[cc] = solver.makeConstraint(0, 0, "col_" + e + "_" + cc);
                }
            }
            for (int s = 0; s < c.k[u]; s++) {
                if (x[u][s] != null) {
                    rows[f.cls[0][s]].setCoefficient(x[u][s], -1);
                }
            }
            for (int t = 0; t < c.k[w]; t++) {
                if (x[w][t] != null) {
                    cols[f.cls[1][t]].setCoefficient(x[w][t], -1);
                }
            }
            for (int r = 0; r < nr; r++) {
                for (int cc = 0; cc < nc; cc++) {
                    double cost = f.table[r * nc + cc];
                    if (!rowAlive[r] || !colAlive[cc] || cost == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    MPVariable y = solver.makeNumVar(0, 1, "y_" + e + "_" + r + "_" + cc);
                    rows[r].setCoefficient(y, 1);
                    cols[cc].setCoefficient(y, 1);
                    if (cost != 0) {
                        obj.setCoefficient(y, cost / scale);
                    }
                }
            }
            e++;
        }
        if (p.memoryLimit().isPresent()) {
            double memScale = 0;
            for (int v = 0; v < n; v++) {
                for (int s = 0; s < c.k[v]; s++) {
                    memScale = Math.max(memScale, Math.abs(p.memory(v, s)));
                }
            }
            memScale = memScale == 0 ? 1 : memScale;
            MPConstraint mem = solver.makeConstraint(-inf, p.memoryLimit().getAsDouble() / memScale, "memory");
            for (int v = 0; v < n; v++) {
                for (int s = 0; s < c.k[v]; s++) {
                    if (x[v][s] != null && p.memory(v, s) != 0) {
                        mem.setCoefficient(x[v][s], p.memory(v, s) / memScale);
                    }
                }
            }
        }
        obj.setMinimization();
        if (hint != null && hint.length == n) {
            List<MPVariable> hv = new ArrayList<>();
            List<Double> hx = new ArrayList<>();
            for (int v = 0; v < n; v++) {
                for (int s = 0; s < c.k[v]; s++) {
                    if (x[v][s] != null) {
                        hv.add(x[v][s]);
                        hx.add(s == hint[v] ? 1.0 : 0.0);
                    }
                }
            }
            solver.setHint(hv.toArray(new MPVariable[0]), hx.stream().mapToDouble(Double::doubleValue).toArray());
        }
        long remainingMs = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        solver.setTimeLimit(remainingMs);
        solver.setNumThreads(1);
        MPSolverParameters params = new MPSolverParameters();
        params.setDoubleParam(MPSolverParameters.DoubleParam.RELATIVE_MIP_GAP, 1e-9);
        MPSolver.ResultStatus rs = solver.solve(params);
        String size = "ilp (" + backend + "): " + solver.numVariables() + " variables (" + edgeVars
                + " for edges), " + solver.numConstraints() + " constraints";
        if (rs == MPSolver.ResultStatus.INFEASIBLE) {
            String why = p.memoryLimit().isPresent()
                    ? "no assignment avoids the forbidden pairs within the memory limit " + p.memoryLimit().getAsDouble()
                    : "forbidden pairs leave no valid assignment";
            return new Solution(p.name(), Status.INFEASIBLE, Double.NaN, Double.POSITIVE_INFINITY, new int[0], name(),
                    DpSolver.seconds(t0), why + " (" + size + ")");
        }
        if (rs != MPSolver.ResultStatus.OPTIMAL && rs != MPSolver.ResultStatus.FEASIBLE) {
            String why = rs == MPSolver.ResultStatus.ABNORMAL && "SCIP".equals(backend)
                    ? "the backend stopped early (ABNORMAL: its memory limit of " + Math.max(64, memoryLimitMb)
                            + " MiB or numerical trouble)"
                    : "no assignment found (" + rs + ")";
            return unknown(p, t0, size + ": " + why);
        }
        int[] choices = new int[n];
        for (int v = 0; v < n; v++) {
            double bestVal = -1;
            for (int s = 0; s < c.k[v]; s++) {
                if (x[v][s] != null && x[v][s].solutionValue() > bestVal) {
                    bestVal = x[v][s].solutionValue();
                    choices[v] = s;
                }
            }
        }
        Evaluator.Evaluation ev = Evaluator.evaluate(p, choices);
        double bound = solver.objective().bestBound() * scale;
        if (!ev.feasible()) {
            return unknown(p, t0, size + ": the backend's assignment violates " + ev.violations().get(0));
        }
        // OPTIMAL only when the backend says so and its bound meets the objective (CP-SAT, for one,
        // reports OPTIMAL for its scaled integer objective with a bound slightly below ours)
        boolean proven = rs == MPSolver.ResultStatus.OPTIMAL && DpSolver.closed(ev.total(), bound);
        double lb = Math.min(bound, ev.total());
        String why = proven ? "" : rs == MPSolver.ResultStatus.OPTIMAL
                ? "; the backend's bound " + bound + " does not meet the objective, optimality not proven"
                : "; time limit reached, optimality not proven";
        return new Solution(p.name(), proven ? Status.OPTIMAL : Status.FEASIBLE, ev.total(), lb, choices, name(),
                DpSolver.seconds(t0), size + why + "; " + DpSolver.reductions(c));
    }

    private Solution unknown(Problem p, long t0, String why) {
        return new Solution(p.name(), Status.UNKNOWN, Double.NaN, Double.NEGATIVE_INFINITY, new int[0], name(),
                DpSolver.seconds(t0), why);
    }

    private static boolean[] aliveClasses(int[] cls, boolean[] dead, int count) {
        boolean[] a = new boolean[count];
        for (int s = 0; s < cls.length; s++) {
            if (!dead[s]) {
                a[cls[s]] = true;
            }
        }
        return a;
    }

    /** A power of two near the largest finite cost, so that scaled coefficients are about 1. */
    private static double scale(CompiledProblem c) {
        double max = 0;
        for (int v = 0; v < c.n; v++) {
            for (int s = 0; s < c.k[v]; s++) {
                max = Math.max(max, Math.abs(c.problem.nodes().get(v).cost(s)));
            }
        }
        for (Factor f : c.factors) {
            for (double t : f.table) {
                if (Double.isFinite(t)) {
                    max = Math.max(max, Math.abs(t));
                }
            }
        }
        return max == 0 ? 1 : Math.scalb(1.0, Math.getExponent(max));
    }
}
