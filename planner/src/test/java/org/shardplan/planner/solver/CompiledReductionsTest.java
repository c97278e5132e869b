package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalDouble;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The static reductions of {@link CompiledProblem}: they recompress only the factors of nodes that lost
 * strategies, and every factor they leave is its own restriction to the living strategies (the same
 * classes, numbered alike, and the same table bit for bit), whether its nodes lost strategies or not; the
 * row summaries of the dominance test equal a direct computation, and the classes of a matrix's lines a
 * classification by content.
 */
class CompiledReductionsTest {

    private static void assertSameFactor(Factor a, Factor b, String what) {
        assertArrayEquals(a.vars, b.vars, what);
        assertArrayEquals(a.dims, b.dims, what);
        for (int x = 0; x < a.cls.length; x++) {
            assertArrayEquals(a.cls[x], b.cls[x], what + ": classes of axis " + x);
        }
        // assertArrayEquals on doubles compares them as Double.equals does: bit for bit
        assertArrayEquals(a.table, b.table, what + ": table");
    }

    @Test
    void everyFactorIsItsOwnRestriction() {
        int removedSomewhere = 0;
        int untouched = 0;
        for (long seed = 0; seed < 300; seed++) {
            Problem p = RandomProblems.random(seed, 4 + (int) (seed % 25), 12, (int) (seed % 9), seed % 3 == 0 ? 0.1 : 0);
            for (Problem q : new Problem[] {p, p.withMemoryLimit(OptionalDouble.of(Double.MAX_VALUE))}) {
                CompiledProblem c = CompiledProblem.of(q);
                if (c.infeasible != null) {
                    continue;
                }
                boolean any = c.dominatedRemoved + c.forbiddenRemoved > 0;
                removedSomewhere += any ? 1 : 0;
                for (Factor f : c.factors) {
                    boolean lost = false;
                    for (int v : f.vars) {
                        for (boolean d : c.dead[v]) {
                            lost |= d;
                        }
                    }
                    untouched += lost ? 0 : 1;
                    assertSameFactor(f, CompiledProblem.restrict(f, c.dead), "seed " + seed + ", factor over "
                            + f.vars[0] + " and " + f.vars[1]);
                }
            }
        }
        // both cases occur: problems that lost strategies, and factors whose nodes lost none
        assertTrue(removedSomewhere > 100, removedSomewhere + " problems lost strategies");
        assertTrue(untouched > 100, untouched + " factors between nodes that lost none");
    }

    @Test
    void rowSummariesEqualADirectComputation() {
        Random r = new Random(7);
        int factors = 0;
        for (long seed = 0; seed < 200; seed++) {
            Problem p = RandomProblems.random(seed, 3 + (int) (seed % 12), 15, (int) (seed % 5), seed % 2 == 0 ? 0.2 : 0);
            for (Factor f : CompiledProblem.of(p.withMemoryLimit(OptionalDouble.empty())).factors) {
                for (int a = 0; a < 2; a++) {
                    int o = 1 - a;
                    boolean[] alive = new boolean[f.dims[o]];
                    for (int j = 0; j < alive.length; j++) {
                        alive[j] = r.nextInt(4) > 0;
                    }
                    double[] got = CompiledProblem.summaries(f, a, alive);
                    for (int c = 0; c < f.dims[a]; c++) {
                        double sum = 0;
                        double lo = Double.POSITIVE_INFINITY;
                        double hi = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < f.dims[o]; j++) {
                            if (alive[j]) {
                                double t = f.table[c * f.strides[a] + j * f.strides[o]];
                                sum += t;
                                lo = Math.min(lo, t);
                                hi = Math.max(hi, t);
                            }
                        }
                        assertArrayEquals(new double[] {sum, lo, hi}, java.util.Arrays.copyOfRange(got, 3 * c, 3 * c + 3),
                                "seed " + seed + ", axis " + a + ", class " + c);
                    }
                    factors++;
                }
            }
        }
        assertTrue(factors > 1000, factors + " factors");
    }

    @Test
    void lineClassesEqualAClassificationByContent() {
        Random r = new Random(11);
        double[] pool = {0.0, -0.0, 1.0, 2.5, Double.POSITIVE_INFINITY, 1e-9};
        for (int trial = 0; trial < 500; trial++) {
            int rows = 1 + r.nextInt(60);
            int cols = 1 + r.nextInt(60);
            // a few distinct rows and columns, repeated
            int rk = 1 + r.nextInt(rows);
            int ck = 1 + r.nextInt(cols);
            double[][] base = new double[rk][ck];
            for (double[] row : base) {
                for (int j = 0; j < ck; j++) {
                    row[j] = pool[r.nextInt(pool.length)];
                }
            }
            int[] rowOf = new int[rows];
            int[] colOf = new int[cols];
            for (int i = 0; i < rows; i++) {
                rowOf[i] = r.nextInt(rk);
            }
            for (int j = 0; j < cols; j++) {
                colOf[j] = r.nextInt(ck);
            }
            double[] m = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    m[i * cols + j] = base[rowOf[i]][colOf[j]];
                }
            }
            int[] got = new int[rows];
            int[] want = new int[rows];
            int n = Factor.classifyLines(m, rows, cols, cols, 1, got);
            int nWant = Factor.classify(rows, i -> java.util.Arrays.copyOfRange(m, i * cols, (i + 1) * cols), want);
            assertEquals(nWant, n, "trial " + trial + ": row classes");
            assertArrayEquals(want, got, "trial " + trial + ": row classes");
            got = new int[cols];
            want = new int[cols];
            n = Factor.classifyLines(m, cols, rows, 1, cols, got);
            nWant = Factor.classify(cols, j -> {
                double[] c = new double[rows];
                for (int i = 0; i < rows; i++) {
                    c[i] = m[i * cols + j];
                }
                return c;
            }, want);
            assertEquals(nWant, n, "trial " + trial + ": column classes");
            assertArrayEquals(want, got, "trial " + trial + ": column classes");
        }
    }
}
