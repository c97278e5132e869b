package org.shardplan.planner.solver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A factor's compression classifies its first and last axes' slices in place ({@code Factor.classifyLines}: blocks and
 * every d-th entry) and its middle axes' by copies: the same classes, numbered alike, the same table, as copying every
 * axis's slices out ({@code Factor.compressCopying}); on tables of one to four axes with repeated slices along each
 * axis, with -0.0 and 0.0 and infinities among the values (bitwise equality keeps -0.0 and 0.0 apart).
 */
class FactorCompressTest {

    @Test
    void inPlaceAndCopiedSlicesGiveTheSameFactor() {
        Random r = new Random(11);
        int merged = 0;
        for (int trial = 0; trial < 400; trial++) {
            int arity = 1 + trial % 4;
            int[] vars = new int[arity];
            int[] dims = new int[arity];
            int[][] cls = new int[arity][];
            int size = 1;
            for (int a = 0; a < arity; a++) {
                vars[a] = a;
                dims[a] = 1 + r.nextInt(arity <= 2 ? 12 : 5);
                cls[a] = new int[dims[a]];
                for (int i = 0; i < dims[a]; i++) {
                    cls[a][i] = i;
                }
                size *= dims[a];
            }
            // each axis's index drawn from a few "sources", so that slices repeat along every axis
            int[][] source = new int[arity][];
            for (int a = 0; a < arity; a++) {
                int distinct = 1 + r.nextInt(dims[a]);
                source[a] = new int[dims[a]];
                for (int i = 0; i < dims[a]; i++) {
                    source[a][i] = r.nextInt(distinct);
                }
            }
            double[] values = {0.0, -0.0, 1.5, Double.POSITIVE_INFINITY, 3.0, 7.25};
            long seed = r.nextLong();
            double[] table = new double[size];
            int[] idx = new int[arity];
            for (int o = 0; o < size; o++) {
                long h = seed;
                for (int a = 0; a < arity; a++) {
                    h = h * 31 + source[a][idx[a]];
                }
                table[o] = values[(int) Math.floorMod(h ^ (h >>> 17), (long) values.length)];
                for (int a = arity - 1; a >= 0; a--) {
                    if (++idx[a] < dims[a]) {
                        break;
                    }
                    idx[a] = 0;
                }
            }
            Factor f = new Factor(vars, cls, dims, table);
            Factor inPlace = f.compress();
            Factor copied = f.compressCopying();
            assertArrayEquals(copied.dims, inPlace.dims, "trial " + trial);
            assertArrayEquals(copied.table, inPlace.table, "trial " + trial);
            for (int a = 0; a < arity; a++) {
                assertArrayEquals(copied.cls[a], inPlace.cls[a], "trial " + trial + ", axis " + a);
            }
            merged += inPlace.table.length < table.length ? 1 : 0;
        }
        assertTrue(merged > 200, "only " + merged + " of 400 factors had slices to merge");
    }
}
