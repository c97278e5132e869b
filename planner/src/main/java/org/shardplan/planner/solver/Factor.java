package org.shardplan.planner.solver;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A cost table over a few nodes, stored compactly: along each axis the node's strategies are
 * grouped into classes whose slices of the table are identical (an edge matrix with 566 rows often
 * has only a few dozen distinct rows, because many strategies leave a tensor in the same layout), and
 * the table holds one entry per combination of classes. Immutable.
 *
 * <p>{@code +inf} entries are forbidden combinations.
 */
final class Factor {
    final int[] vars;
    final int[][] cls;
    final int[] dims;
    final int[] strides;
    final double[] table;

    Factor(int[] vars, int[][] cls, int[] dims, double[] table) {
        this.vars = vars;
        this.cls = cls;
        this.dims = dims;
        this.table = table;
        this.strides = new int[vars.length];
        int s = 1;
        for (int a = vars.length - 1; a >= 0; a--) {
            strides[a] = s;
            s *= dims[a];
        }
        if (s != table.length) {
            throw new IllegalStateException("factor table size " + table.length + " does not match dims " + Arrays.toString(dims));
        }
    }

    int arity() {
        return vars.length;
    }

    int axisOf(int var) {
        for (int a = 0; a < vars.length; a++) {
            if (vars[a] == var) {
                return a;
            }
        }
        return -1;
    }

    boolean sameScope(Factor o) {
        return Arrays.equals(vars, o.vars);
    }

    long bytes() {
        return 8L * table.length;
    }

    /** The value at the given strategies (one per axis, in {@link #vars} order). */
    double valueAt(int[] strategies) {
        int off = 0;
        for (int a = 0; a < vars.length; a++) {
            off += cls[a][strategies[a]] * strides[a];
        }
        return table[off];
    }

    /** A pairwise factor from a dense matrix, with identical rows and columns merged into classes. */
    static Factor ofMatrix(int u, int w, int rows, int cols, double[] m) {
        int[] rowCls = new int[rows];
        int nr = classifyLines(m, rows, cols, cols, 1, rowCls);
        int[] colCls = new int[cols];
        int nc = classifyLines(m, cols, rows, 1, cols, colCls);
        int[] rowRep = representatives(rowCls, nr);
        int[] colRep = representatives(colCls, nc);
        double[] t = new double[nr * nc];
        for (int r = 0; r < nr; r++) {
            for (int c = 0; c < nc; c++) {
                t[r * nc + c] = m[rowRep[r] * cols + colRep[c]];
            }
        }
        if (u < w) {
            return new Factor(new int[] {u, w}, new int[][] {rowCls, colCls}, new int[] {nr, nc}, t);
        }
        double[] tt = new double[nr * nc];
        for (int r = 0; r < nr; r++) {
            for (int c = 0; c < nc; c++) {
                tt[c * nr + r] = t[r * nc + c];
            }
        }
        return new Factor(new int[] {w, u}, new int[][] {colCls, rowCls}, new int[] {nc, nr}, tt);
    }

    /** The sum of two factors over the same nodes (parallel edges merged), classes joined. */
    static Factor sum(Factor f, Factor g) {
        int n = f.vars.length;
        int[][] cls = new int[n][];
        int[] dims = new int[n];
        int[][] fOf = new int[n][];
        int[][] gOf = new int[n][];
        for (int a = 0; a < n; a++) {
            int k = f.cls[a].length;
            int[] joined = new int[k];
            Map<Long, Integer> ids = new HashMap<>();
            int[] fo = new int[k];
            int[] go = new int[k];
            int count = 0;
            for (int s = 0; s < k; s++) {
                long key = (long) f.cls[a][s] * g.dims[a] + g.cls[a][s];
                Integer id = ids.get(key);
                if (id == null) {
                    id = count;
                    fo[count] = f.cls[a][s];
                    go[count] = g.cls[a][s];
                    count++;
                    ids.put(key, id);
                }
                joined[s] = id;
            }
            cls[a] = joined;
            dims[a] = count;
            fOf[a] = Arrays.copyOf(fo, count);
            gOf[a] = Arrays.copyOf(go, count);
        }
        long size = 1;
        for (int d : dims) {
            size *= d;
        }
        double[] t = new double[Math.toIntExact(size)];
        int[] idx = new int[n];
        for (int i = 0; i < t.length; i++) {
            int fo = 0;
            int go = 0;
            for (int a = 0; a < n; a++) {
                fo += fOf[a][idx[a]] * f.strides[a];
                go += gOf[a][idx[a]] * g.strides[a];
            }
            t[i] = f.table[fo] + g.table[go];
            for (int a = n - 1; a >= 0; a--) {
                if (++idx[a] < dims[a]) {
                    break;
                }
                idx[a] = 0;
            }
        }
        return new Factor(f.vars, cls, dims, t).compress();
    }

    /** This factor with identical slices along every axis merged into one class. Running time O(size x arity). */
    Factor compress() {
        Factor f = this;
        for (int a = 0; a < f.vars.length; a++) {
            f = f.compressAxis(a);
        }
        return f;
    }

    /** {@link #compress} with every axis's slices copied out and classified (the reference the tests compare with). */
    Factor compressCopying() {
        Factor f = this;
        for (int a = 0; a < f.vars.length; a++) {
            f = f.compressAxis(a, true);
        }
        return f;
    }

    private Factor compressAxis(int a) {
        return compressAxis(a, false);
    }

    private Factor compressAxis(int a, boolean copying) {
        int d = dims[a];
        if (d == 1) {
            return this;
        }
        int sliceLen = table.length / d;
        int[] map = new int[d];
        int nd;
        if (!copying && (a == 0 || a == vars.length - 1)) {
            // the first axis's slices are blocks, the last's every d-th entry: classified in place (no copies)
            nd = a == 0 ? classifyLines(table, d, sliceLen, strides[0], 1, map)
                    : classifyLines(table, d, sliceLen, 1, d, map);
        } else {
            nd = classifySlices(a, d, sliceLen, map);
        }
        if (nd == d) {
            return this;
        }
        return compressed(a, d, nd, map);
    }

    /** {@link #classify} of the slices of axis {@code a} (copied out: a middle axis's are not one stride apart). */
    private int classifySlices(int a, int d, int sliceLen, int[] map) {
        double[][] slices = new double[d][];
        for (int i = 0; i < d; i++) {
            double[] sl = new double[sliceLen];
            int[] idx = new int[vars.length];
            idx[a] = i;
            for (int j = 0; j < sliceLen; j++) {
                int off = 0;
                for (int b = 0; b < vars.length; b++) {
                    off += idx[b] * strides[b];
                }
                sl[j] = table[off];
                for (int b = vars.length - 1; b >= 0; b--) {
                    if (b == a) {
                        continue;
                    }
                    if (++idx[b] < dims[b]) {
                        break;
                    }
                    idx[b] = 0;
                }
            }
            slices[i] = sl;
        }
        return classify(d, i -> slices[i], map);
    }

    /** This factor with axis {@code a}'s {@code d} slices merged into the {@code nd} classes of {@code map}. */
    private Factor compressed(int a, int d, int nd, int[] map) {
        int[] rep = representatives(map, nd);
        int[] ndims = dims.clone();
        ndims[a] = nd;
        int[] nstr = new int[vars.length];
        int s = 1;
        for (int b = vars.length - 1; b >= 0; b--) {
            nstr[b] = s;
            s *= ndims[b];
        }
        double[] t = new double[s];
        int[] idx = new int[vars.length];
        for (int i = 0; i < s; i++) {
            int off = 0;
            for (int b = 0; b < vars.length; b++) {
                off += (b == a ? rep[idx[b]] : idx[b]) * strides[b];
            }
            t[i] = table[off];
            for (int b = vars.length - 1; b >= 0; b--) {
                if (++idx[b] < ndims[b]) {
                    break;
                }
                idx[b] = 0;
            }
        }
        int[][] ncls = cls.clone();
        int[] c = new int[cls[a].length];
        for (int st = 0; st < c.length; st++) {
            c[st] = map[cls[a][st]];
        }
        ncls[a] = c;
        return new Factor(vars, ncls, ndims, t);
    }

    /** Groups {@code n} items by equal content; {@code out[i]} = class of item i, numbered by first appearance. */
    static int classify(int n, java.util.function.IntFunction<double[]> content, int[] out) {
        Map<DoublesKey, Integer> ids = new HashMap<>();
        int count = 0;
        for (int i = 0; i < n; i++) {
            DoublesKey k = new DoublesKey(content.apply(i));
            Integer id = ids.putIfAbsent(k, count);
            if (id == null) {
                out[i] = count++;
            } else {
                out[i] = id;
            }
        }
        return count;
    }

    /** The first member of every class. */
    static int[] representatives(int[] cls, int count) {
        int[] rep = new int[count];
        Arrays.fill(rep, -1);
        for (int i = 0; i < cls.length; i++) {
            if (rep[cls[i]] < 0) {
                rep[cls[i]] = i;
            }
        }
        return rep;
    }

    /**
     * Groups the {@code n} lines of a matrix (line i holds {@code len} values at
     * {@code m[i * lineStep + j * step]}) by bitwise-equal content, numbered by first appearance, like
     * {@link #classify}. Hashes are accumulated in memory order (one pass over the matrix, whether the
     * lines are its rows or its columns) and only lines with equal hashes are compared value by value.
     */
    static int classifyLines(double[] m, int n, int len, int lineStep, int step, int[] out) {
        long[] hash = new long[n];
        if (lineStep >= step) {
            for (int i = 0; i < n; i++) {
                long h = 1;
                int base = i * lineStep;
                for (int j = 0; j < len; j++) {
                    h = h * 1_000_003L + Double.doubleToLongBits(m[base + j * step]);
                }
                hash[i] = h;
            }
        } else {
            Arrays.fill(hash, 1);
            for (int j = 0; j < len; j++) {
                int base = j * step;
                for (int i = 0; i < n; i++) {
                    hash[i] = hash[i] * 1_000_003L + Double.doubleToLongBits(m[base + i * lineStep]);
                }
            }
        }
        // an open-addressing table from hash to the newest class representative with that hash, the
        // representatives of one hash chained (distinct classes differ in content, so a line matches at
        // most one of them, whatever the order they are tried in)
        int cap = Integer.highestOneBit(Math.max(2, n)) << 2;
        long[] slotHash = new long[cap];
        int[] slotHead = new int[cap];
        Arrays.fill(slotHead, -1);
        int[] nextRep = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            long h = hash[i];
            long z = h * 0x9E3779B97F4A7C15L;
            int slot = (int) (z ^ (z >>> 32)) & (cap - 1);
            while (slotHead[slot] >= 0 && slotHash[slot] != h) {
                slot = (slot + 1) & (cap - 1);
            }
            int found = -1;
            for (int r = slotHead[slot]; r >= 0; r = nextRep[r]) {
                if (sameLine(m, r, i, len, lineStep, step)) {
                    found = out[r];
                    break;
                }
            }
            if (found >= 0) {
                out[i] = found;
                continue;
            }
            out[i] = count++;
            slotHash[slot] = h;
            nextRep[i] = slotHead[slot];
            slotHead[slot] = i;
        }
        return count;
    }

    private static boolean sameLine(double[] m, int a, int b, int len, int lineStep, int step) {
        int oa = a * lineStep;
        int ob = b * lineStep;
        for (int j = 0; j < len; j++) {
            if (Double.doubleToLongBits(m[oa + j * step]) != Double.doubleToLongBits(m[ob + j * step])) {
                return false;
            }
        }
        return true;
    }
}
