package org.shardplan.planner;

/**
 * The exact least of every chunk that starts at one node, for one objective, from one pass over the nodes after it: a
 * dynamic program over the nodes in order whose table, after node {@code i}, is indexed by the layouts of the nodes
 * before it that still have links to later ones (the frontier), each entry the least cost of the nodes so far and the
 * links among them. The least entry after node {@code e - 1} is the least of the chunk {@code [start, e)} (the links
 * that leave it are not yet counted), so one pass answers every end at once. Each entry keeps where it came from, so that
 * any end's minimiser can be read back. A pipeline's tightening solves thousands of chunks of a few combinations that
 * share their starts (DenseNet-121: 1,309 chunk problems over 390 starts and combinations), each a dynamic program of its
 * own without this; on graphs cut at every node the frontier holds a node or two.
 *
 * <p>The pass stops where the frontier's table would exceed {@link #MOST_STATES} entries; the ends past it are not
 * answered ({@link #reached}).
 */
final class ChunkSweep {
    /** The most entries of the frontier's table (where not given); past it the pass stops. */
    static final int MOST_STATES = 1 << 12;

    /**
     * The links into a node from nodes before it in the pass: per link, the earlier node's index (from the start) and
     * the table of costs by the earlier node's candidate (row) and this node's (column).
     */
    record Into(int[] from, double[][] table) {
    }

    /** The nodes of a pass, from its start: each one's candidates' costs and the links into it. */
    interface Source {
        /** Node {@code i}'s (from the start) candidates' costs. */
        double[] cost(int i);

        /** The links into node {@code i} from earlier nodes of the pass (none from before the start); null: none. */
        Into into(int i);
    }

    private final Source source;
    private final int[] lastUse;
    private final double factor;
    private final double[] least;
    private final int[] arg;
    /** Per step: per entry, the entry before it times the node's candidate count plus the node's candidate. */
    private final int[][] back;
    private final int[] radix;
    private int[] front = new int[0];
    private double[] table = {0};
    private final int[] pos;
    private int reached;
    private boolean stopped;
    private long work;
    private final long mostStates;
    private final long mostExtensions;
    private long extensions;

    /**
     * A pass over at most {@code lastUse.length} nodes, none taken yet ({@link #extendTo}).
     *
     * @param source the nodes' costs and links
     * @param lastUse per node from the start, the last node (from the start) it has a link to; itself where none
     * @param factor the weight of every link's cost
     * @param keepBack whether the minimisers can be read back ({@link #choices}); without, less memory
     */
    ChunkSweep(Source source, int[] lastUse, double factor, boolean keepBack) {
        this(source, lastUse, factor, keepBack, MOST_STATES, Long.MAX_VALUE);
    }

    /**
     * As {@link #ChunkSweep(Source, int[], double, boolean)}, the pass stopping where its table would exceed {@code
     * mostStates} entries or its extensions ({@link #extensions}) {@code mostExtensions}.
     */
    ChunkSweep(Source source, int[] lastUse, double factor, boolean keepBack, long mostStates, long mostExtensions) {
        this.mostStates = Math.min(mostStates, Integer.MAX_VALUE - 8); // a table is one array
        this.mostExtensions = mostExtensions;
        this.source = source;
        this.lastUse = lastUse;
        this.factor = factor;
        int n = lastUse.length;
        least = new double[n];
        arg = new int[n];
        back = keepBack ? new int[n][] : null;
        radix = new int[n];
        pos = new int[n];
    }

    /**
     * Takes the nodes up to the first {@code count} (from the start; at most all of them) into the pass, where the
     * frontier allows: afterwards {@link #reached} is {@code count}, or less where the table would have exceeded its most
     * entries or extensions (the pass has stopped for good). O(entries candidates (1 + links)) per node taken.
     */
    ChunkSweep extendTo(int count) {
        int most = Math.min(count, lastUse.length);
        while (!stopped && reached < most) {
            step(reached);
        }
        return this;
    }

    private void step(int i) {
        double[] c = source.cost(i);
        radix[i] = c.length;
        int[] next = nextFront(front, lastUse, i);
        long size = states(next, radix, mostStates);
        extensions += (long) table.length * c.length;
        if (size > mostStates || extensions > mostExtensions || c.length == 0) {
            stopped = true;
            return;
        }
        int[] stride = new int[next.length];
        for (int k = next.length - 1, st = 1; k >= 0; k--) {
            stride[k] = st;
            st *= radix[next[k]];
        }
        int[] digitStride = new int[front.length];
        for (int k = 0; k < front.length; k++) {
            int at = java.util.Arrays.binarySearch(next, front[k]);
            digitStride[k] = at >= 0 ? stride[at] : 0;
        }
        int ownStride = lastUse[i] > i ? stride[next.length - 1] : 0;
        for (int k = 0; k < front.length; k++) {
            pos[front[k]] = k;
        }
        Into in = source.into(i);
        int links = in == null ? 0 : in.from().length;
        int cn = c.length;
        // the row of a state (the node's candidates' costs plus its links' from the state's layouts) depends only on the
        // digits of the front nodes linked to it: the rows are made once per such digits (keyed in a mixed radix of
        // those nodes), then each state adds one of them; where the node leaves the frontier at once, only each row's
        // least is needed
        int[] keyStride = new int[front.length];
        int keys = 1;
        for (int k = front.length - 1; k >= 0; k--) {
            boolean linked = false;
            for (int q = 0; q < links && !linked; q++) {
                linked = pos[in.from()[q]] == k;
            }
            if (linked) {
                keyStride[k] = keys;
                keys *= radix[front[k]];
            }
        }
        double[] rows = new double[keys * cn];
        int[] keyDigit = new int[front.length];
        for (int key = 0; key < keys; key++) {
            if (key > 0) {
                for (int k = front.length - 1; k >= 0; k--) {
                    if (keyStride[k] == 0) {
                        continue;
                    }
                    if (++keyDigit[k] < radix[front[k]]) {
                        break;
                    }
                    keyDigit[k] = 0;
                }
            }
            int ro = key * cn;
            System.arraycopy(c, 0, rows, ro, cn);
            for (int q = 0; q < links; q++) {
                double[] e = in.table()[q];
                int off = keyDigit[pos[in.from()[q]]] * cn;
                for (int a = 0; a < cn; a++) {
                    rows[ro + a] += factor * e[off + a];
                }
            }
        }
        double[] rowLeast = null;
        int[] rowArg = null;
        if (ownStride == 0) {
            rowLeast = new double[keys];
            rowArg = new int[keys];
            for (int key = 0; key < keys; key++) {
                int ro = key * cn;
                int b = 0;
                for (int a = 1; a < cn; a++) {
                    if (rows[ro + a] < rows[ro + b]) {
                        b = a;
                    }
                }
                rowLeast[key] = rows[ro + b];
                rowArg[key] = b;
            }
        }
        int[] frontRadix = new int[front.length];
        for (int k = 0; k < front.length; k++) {
            frontRadix[k] = radix[front[k]];
        }
        double[] out = new double[(int) size];
        java.util.Arrays.fill(out, Double.POSITIVE_INFINITY);
        int[] from = back != null ? new int[(int) size] : null;
        int[] digit = new int[front.length];
        for (int t = 0; t < table.length; t++) {
            if (t > 0) {
                for (int k = front.length - 1; k >= 0 && ++digit[k] == frontRadix[k]; k--) {
                    digit[k] = 0;
                }
            }
            double have = table[t];
            if (have == Double.POSITIVE_INFINITY) {
                continue;
            }
            int base = 0;
            int key = 0;
            for (int k = 0; k < front.length; k++) {
                base += digit[k] * digitStride[k];
                key += digit[k] * keyStride[k];
            }
            if (rowLeast != null) {
                double v = have + rowLeast[key];
                if (v < out[base]) {
                    out[base] = v;
                    if (from != null) {
                        from[base] = t * cn + rowArg[key];
                    }
                }
                continue;
            }
            int ro = key * cn;
            for (int a = 0, x = base; a < cn; a++, x += ownStride) {
                double v = have + rows[ro + a];
                if (v < out[x]) {
                    out[x] = v;
                    if (from != null) {
                        from[x] = t * cn + a;
                    }
                }
            }
        }
        work += (long) keys * cn * (1 + links) + (long) table.length * (rowLeast != null ? 1 : cn);
        int best = 0;
        for (int x = 1; x < out.length; x++) {
            if (out[x] < out[best]) {
                best = x;
            }
        }
        least[i] = out[best];
        arg[i] = best;
        if (back != null) {
            back[i] = from;
        }
        front = next;
        table = out;
        reached = i + 1;
    }

    /**
     * How many nodes from the start a pass over nodes of {@code radix} candidates each (per node from the start) with
     * links as {@code lastUse} says can take before its frontier's table would exceed {@link #MOST_STATES} entries (or a
     * node has no candidate): what {@link #reached} comes to once extended to the end, known without a pass.
     * O(nodes frontier).
     */
    static int reach(int[] radix, int[] lastUse) {
        int n = lastUse.length;
        int[] front = new int[0];
        for (int i = 0; i < n; i++) {
            if (radix[i] == 0) {
                return i;
            }
            int[] next = nextFront(front, lastUse, i);
            if (states(next, radix, MOST_STATES) > MOST_STATES) {
                return i;
            }
            front = next;
        }
        return n;
    }

    /** The frontier after node {@code i}: the nodes of {@code front} and {@code i} itself that link past {@code i}. */
    private static int[] nextFront(int[] front, int[] lastUse, int i) {
        int[] next = new int[front.length + 1];
        int kept = 0;
        for (int f : front) {
            if (lastUse[f] > i) {
                next[kept++] = f;
            }
        }
        if (lastUse[i] > i) {
            next[kept++] = i;
        }
        return java.util.Arrays.copyOf(next, kept);
    }

    /** The entries of a table over {@code front}'s candidates ({@code radix} per node); past {@code most}, some larger. */
    private static long states(int[] front, int[] radix, long most) {
        long size = 1;
        for (int f : front) {
            size *= radix[f];
            if (size > most) {
                break;
            }
        }
        return size;
    }

    /**
     * The entries of the tables before each node taken (or tried) times that node's candidates: how far the pass went,
     * counted as the extensions of states by layouts.
     */
    long extensions() {
        return extensions;
    }

    /** How many nodes from the start the pass reached: the ends {@code start + 1 .. start + reached} are answered. */
    int reached() {
        return reached;
    }

    /**
     * The work of the pass so far: per node taken, its rows' entries times one plus its links, and its table's entries
     * times its candidates (times one where it leaves the frontier at once).
     */
    long work() {
        return work;
    }

    /**
     * The least of the chunk of the first {@code count} nodes (at most {@link #reached}); infinite where every assignment
     * costs infinitely much.
     */
    double least(int count) {
        return least[count - 1];
    }

    /**
     * A minimiser of the chunk of the first {@code count} nodes: per node, its candidate (an index into its costs); null
     * where the pass kept no way back or the least is infinite.
     */
    int[] choices(int count) {
        if (back == null || least[count - 1] == Double.POSITIVE_INFINITY) {
            return null;
        }
        int[] x = new int[count];
        int e = arg[count - 1];
        for (int i = count - 1; i >= 0; i--) {
            int packed = back[i][e];
            x[i] = packed % radix[i];
            e = packed / radix[i];
        }
        return x;
    }

    /** The entries of the way back this pass keeps (0 without): what it holds in memory beyond its answers. */
    long backEntries() {
        long r = 0;
        if (back != null) {
            for (int[] b : back) {
                r += b == null ? 0 : b.length;
            }
        }
        return r;
    }
}
