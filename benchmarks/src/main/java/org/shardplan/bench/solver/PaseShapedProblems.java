package org.shardplan.bench.solver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.shardplan.planner.solver.Problem;

/**
 * Generators of strategy problems shaped like PaSE's benchmarks (Elango, IPDPS 2021): an
 * InceptionV3-like graph (219 nodes, 253 edges: convolutions each followed by a normalisation,
 * inception modules of parallel branches joined by concatenations) and an encoder-decoder
 * Transformer-like graph (about 200 nodes: attention and feed-forward blocks with residual
 * connections, and every decoder layer reading the encoder's output, which is what keeps the
 * graph from being series-parallel).
 *
 * <p>Costs are built the way a parallelization cost model builds them, so that reductions see a
 * realistic structure. Every node is an iteration space (named loop dimensions with sizes, some of
 * them reductions, some indexing weights); a strategy is a split factor per dimension (a divisor of
 * its size) whose product is at most the device count, and at most {@code cap} strategies per node
 * are kept (those using the most devices). A node's cost is its compute divided by the devices
 * it uses, plus the all-reduce of partial sums when a reduction dimension is split, plus the
 * gradient all-reduce of weights that are replicated. An edge carries one tensor; each end sees it
 * in a layout (split factor per tensor dimension) implied by its strategy, and the edge cost is the
 * data that must move between the two layouts, forward and backward, plus a latency. So all the
 * strategies of a node that leave a tensor in the same layout have identical rows, as in real
 * problems. Deterministic: the same arguments give the same problem.
 */
public final class PaseShapedProblems {

    /** Floating-point operations that cost as much as moving one byte (the cost unit is flops). */
    static final double FLOPS_PER_BYTE = 330;
    /** Latency of one resharding, in flops. */
    static final double LATENCY = 1.0e6;

    private PaseShapedProblems() {
    }

    /** One iteration space. */
    private record Op(String name, long[] sizes, boolean[] reduction, int[] outDims, int[][] inDims, int[] weightDims,
            double flops) {
    }

    private final static class Graph {
        final List<Op> ops = new ArrayList<>();
        final List<int[]> edges = new ArrayList<>(); // from, to, input slot of 'to'

        int add(String kind, long[] sizes, boolean[] reduction, int[] outDims, int[][] inDims, int[] weightDims,
                double flops) {
            ops.add(new Op(kind + "_" + ops.size(), sizes, reduction, outDims, inDims, weightDims, flops));
            return ops.size() - 1;
        }

        void edge(int from, int to, int slot) {
            edges.add(new int[] {from, to, slot});
        }
    }

    // ------------------------------------------------------------------ InceptionV3-like

    /** An InceptionV3-like problem for {@code devices} devices and at most {@code cap} strategies per node. */
    public static Problem inception(int devices, int cap, long batch) {
        Graph g = new Graph();
        Cnn c = new Cnn(g, batch);
        int x = c.convNorm(-1, 3, 32, 149, 3);
        x = c.convNorm(x, 32, 32, 147, 3);
        x = c.convNorm(x, 32, 64, 147, 3);
        x = c.pool(x, 64, 73);
        x = c.convNorm(x, 64, 80, 73, 1);
        x = c.convNorm(x, 80, 192, 71, 3);
        x = c.pool(x, 192, 35);
        long ch = 192;
        for (int i = 0; i < 3; i++) { // module A: [1x1], [1x1, 5x5], [1x1, 3x3, 3x3], [pool, 1x1]
            int a = c.convNorm(x, ch, 64, 35, 1);
            int b = c.convNorm(c.convNorm(x, ch, 48, 35, 1), 48, 64, 35, 5);
            int d = c.convNorm(c.convNorm(c.convNorm(x, ch, 64, 35, 1), 64, 96, 35, 3), 96, 96, 35, 3);
            int e = c.convNorm(c.pool(x, ch, 35), ch, i == 0 ? 32 : 64, 35, 1);
            ch = 64 + 64 + 96 + (i == 0 ? 32 : 64);
            x = c.concat(new int[] {a, b, d, e}, ch, 35);
        }
        { // module B (grid reduction): [3x3], [1x1, 3x3, 3x3], [pool]
            int a = c.convNorm(x, ch, 384, 17, 3);
            int b = c.convNorm(c.convNorm(c.convNorm(x, ch, 64, 35, 1), 64, 96, 35, 3), 96, 96, 17, 3);
            int d = c.pool(x, ch, 17);
            ch = 384 + 96 + ch;
            x = c.concat(new int[] {a, b, d}, ch, 17);
        }
        for (int i = 0; i < 4; i++) { // module C: [1x1], [1x1, 1x7, 7x1], [1x1, 7x1, 1x7, 7x1, 1x7], [pool, 1x1]
            long m = i == 0 ? 128 : i == 3 ? 192 : 160;
            int a = c.convNorm(x, ch, 192, 17, 1);
            int b = c.convNorm(c.convNorm(c.convNorm(x, ch, m, 17, 1), m, m, 17, 7), m, 192, 17, 7);
            int d = c.convNorm(x, ch, m, 17, 1);
            d = c.convNorm(d, m, m, 17, 7);
            d = c.convNorm(d, m, m, 17, 7);
            d = c.convNorm(d, m, m, 17, 7);
            d = c.convNorm(d, m, 192, 17, 7);
            int e = c.convNorm(c.pool(x, ch, 17), ch, 192, 17, 1);
            ch = 768;
            x = c.concat(new int[] {a, b, d, e}, ch, 17);
        }
        { // module D (grid reduction): [1x1, 3x3], [1x1, 1x7, 7x1, 3x3], [pool]
            int a = c.convNorm(c.convNorm(x, ch, 192, 17, 1), 192, 320, 8, 3);
            int b = c.convNorm(x, ch, 192, 17, 1);
            b = c.convNorm(b, 192, 192, 17, 7);
            b = c.convNorm(b, 192, 192, 17, 7);
            b = c.convNorm(b, 192, 192, 8, 3);
            int d = c.pool(x, ch, 8);
            ch = 320 + 192 + ch;
            x = c.concat(new int[] {a, b, d}, ch, 8);
        }
        for (int i = 0; i < 2; i++) { // module E: [1x1], [1x1, {1x3, 3x1}], [1x1, 3x3, {1x3, 3x1}], [pool, 1x1]
            int a = c.convNorm(x, ch, 320, 8, 1);
            int b = c.convNorm(x, ch, 384, 8, 1);
            int b1 = c.convNorm(b, 384, 384, 8, 3);
            int b2 = c.convNorm(b, 384, 384, 8, 3);
            int bc = c.concat(new int[] {b1, b2}, 768, 8);
            int d = c.convNorm(c.convNorm(x, ch, 448, 8, 1), 448, 384, 8, 3);
            int d1 = c.convNorm(d, 384, 384, 8, 3);
            int d2 = c.convNorm(d, 384, 384, 8, 3);
            int dc = c.concat(new int[] {d1, d2}, 768, 8);
            int e = c.convNorm(c.pool(x, ch, 8), ch, 192, 8, 1);
            ch = 2048;
            x = c.concat(new int[] {a, bc, dc, e}, ch, 8);
        }
        x = c.reduceMean(x, ch, 8);
        int fc = g.add("FC", new long[] {batch, 1000, ch}, new boolean[] {false, false, true}, new int[] {0, 1},
                new int[][] {{0, 2}}, new int[] {1, 2}, 2.0 * batch * 1000 * ch);
        g.edge(x, fc, 0);
        int loss = g.add("SoftmaxCrossEntropy", new long[] {batch, 1000}, new boolean[] {false, false},
                new int[] {0, 1}, new int[][] {{0, 1}}, new int[0], 10.0 * batch * 1000);
        g.edge(fc, loss, 0);
        return build("inception3-like-b" + batch + "-p" + devices + "-c" + cap, g, devices, cap);
    }

    /** Builders of CNN nodes (dims b, c, h, w for activations). */
    private static final class Cnn {
        final Graph g;
        final long batch;

        Cnn(Graph g, long batch) {
            this.g = g;
            this.batch = batch;
        }

        /** Conv (b, cout, cin, h, w, kh, kw) followed by a normalisation (b, c, h, w). */
        int convNorm(int in, long cin, long cout, long hw, long k) {
            long[] sizes = {batch, cout, cin, hw, hw, k, k};
            boolean[] red = {false, false, true, false, false, true, true};
            double flops = 2.0 * batch * cout * cin * hw * hw * k * k;
            int conv = g.add("Conv", sizes, red, new int[] {0, 1, 3, 4}, new int[][] {{0, 2, 3, 4}},
                    new int[] {1, 2, 5, 6}, flops);
            if (in >= 0) {
                g.edge(in, conv, 0);
            }
            int norm = g.add("Norm", new long[] {batch, cout, hw, hw}, new boolean[4], new int[] {0, 1, 2, 3},
                    new int[][] {{0, 1, 2, 3}}, new int[] {1}, 8.0 * batch * cout * hw * hw);
            g.edge(conv, norm, 0);
            return norm;
        }

        int pool(int in, long c, long hw) {
            int p = g.add("Pooling", new long[] {batch, c, hw, hw}, new boolean[4], new int[] {0, 1, 2, 3},
                    new int[][] {{0, 1, 2, 3}}, new int[0], 9.0 * batch * c * hw * hw);
            g.edge(in, p, 0);
            return p;
        }

        int concat(int[] ins, long c, long hw) {
            int[][] slots = new int[ins.length][];
            Arrays.fill(slots, new int[] {0, 1, 2, 3});
            int x = g.add("Concat", new long[] {batch, c, hw, hw}, new boolean[4], new int[] {0, 1, 2, 3}, slots,
                    new int[0], 1.0 * batch * c * hw * hw);
            for (int i = 0; i < ins.length; i++) {
                g.edge(ins[i], x, i);
            }
            return x;
        }

        int reduceMean(int in, long c, long hw) {
            int x = g.add("ReduceMean", new long[] {batch, c, hw, hw}, new boolean[] {false, false, true, true},
                    new int[] {0, 1}, new int[][] {{0, 1, 2, 3}}, new int[0], 1.0 * batch * c * hw * hw);
            g.edge(in, x, 0);
            return x;
        }
    }

    // ------------------------------------------------------------------ Transformer-like

    /**
     * An encoder-decoder Transformer-like problem ({@code layers} encoder and {@code layers}
     * decoder layers, model width 1024, 16 heads, sequence 256).
     */
    public static Problem transformer(int devices, int cap, long batch, int layers) {
        Graph g = new Graph();
        Tf t = new Tf(g, batch, 256, 1024, 16, 4096);
        int x = t.elementwise(-1, -1);
        for (int i = 0; i < layers; i++) {
            x = t.selfAttention(x);
            x = t.feedForward(x);
        }
        int enc = x;
        int y = t.elementwise(-1, -1);
        for (int i = 0; i < layers; i++) {
            y = t.selfAttention(y);
            y = t.crossAttention(y, enc);
            y = t.feedForward(y);
        }
        int logits = g.add("Einsum", new long[] {batch, t.s, 32000, t.h}, new boolean[] {false, false, false, true},
                new int[] {0, 1, 2}, new int[][] {{0, 1, 3}}, new int[] {2, 3}, 2.0 * batch * t.s * 32000 * t.h);
        g.edge(y, logits, 0);
        int loss = g.add("SoftmaxCrossEntropy", new long[] {batch, t.s, 32000}, new boolean[3], new int[] {0, 1, 2},
                new int[][] {{0, 1, 2}}, new int[0], 10.0 * batch * t.s * 32000);
        g.edge(logits, loss, 0);
        return build("transformer-like-b" + batch + "-p" + devices + "-c" + cap, g, devices, cap);
    }

    /** Builders of Transformer nodes (activations b, s, h; heads n, head width e). */
    private static final class Tf {
        final Graph g;
        final long b;
        final long s;
        final long h;
        final long n;
        final long e;
        final long f;

        Tf(Graph g, long b, long s, long h, long n, long f) {
            this.g = g;
            this.b = b;
            this.s = s;
            this.h = h;
            this.n = n;
            this.e = h / n;
            this.f = f;
        }

        int elementwise(int in, int other) {
            int[][] slots = other >= 0 ? new int[][] {{0, 1, 2}, {0, 1, 2}} : new int[][] {{0, 1, 2}};
            int x = g.add("Elementwise", new long[] {b, s, h}, new boolean[3], new int[] {0, 1, 2}, slots, new int[0],
                    1.0 * b * s * h);
            if (in >= 0) {
                g.edge(in, x, 0);
            }
            if (other >= 0) {
                g.edge(other, x, 1);
            }
            return x;
        }

        int norm(int in) {
            int x = g.add("Norm", new long[] {b, s, h}, new boolean[] {false, false, false}, new int[] {0, 1, 2},
                    new int[][] {{0, 1, 2}}, new int[] {2}, 8.0 * b * s * h);
            g.edge(in, x, 0);
            return x;
        }

        /** Projection (b, s, out, in), input (b, s, in), output (b, s, out). */
        int proj(int in, long out, long inWidth) {
            int x = g.add("Einsum", new long[] {b, s, out, inWidth}, new boolean[] {false, false, false, true},
                    new int[] {0, 1, 2}, new int[][] {{0, 1, 3}}, new int[] {2, 3}, 2.0 * b * s * out * inWidth);
            g.edge(in, x, 0);
            return x;
        }

        /** Attention core after Q and the stacked K, V: scores, softmax, context, output projection. */
        int attend(int q, int kv, int residual) {
            // unstack (b, s, 2, n, e) -> K and V as (b, s, n, e)
            int un = g.add("Unstack", new long[] {b, s, 2, n, e}, new boolean[5], new int[] {0, 1, 3, 4},
                    new int[][] {{0, 1, 2, 3, 4}}, new int[0], 1.0 * b * s * 2 * h);
            g.edge(kv, un, 0);
            // scores (b, n, sq, sk, e): Q (b, sq, n, e) via the q projection output (b, s, h) seen as (b, sq, n)
            int sc = g.add("Einsum", new long[] {b, n, s, s, e}, new boolean[] {false, false, false, false, true},
                    new int[] {0, 1, 2, 3}, new int[][] {{0, 2, 1}, {0, 3, 1, 4}}, new int[0], 2.0 * b * n * s * s * e);
            g.edge(q, sc, 0);
            g.edge(un, sc, 1);
            int sm = g.add("Softmax", new long[] {b, n, s, s}, new boolean[4], new int[] {0, 1, 2, 3},
                    new int[][] {{0, 1, 2, 3}}, new int[0], 5.0 * b * n * s * s);
            g.edge(sc, sm, 0);
            // context (b, n, sq, e, sk): P (b, n, sq, sk), V (b, sk, n, e) -> (b, sq, n, e)
            int cx = g.add("Einsum", new long[] {b, n, s, e, s}, new boolean[] {false, false, false, false, true},
                    new int[] {0, 2, 1, 3}, new int[][] {{0, 1, 2, 4}, {0, 4, 1, 3}}, new int[0], 2.0 * b * n * s * s * e);
            g.edge(sm, cx, 0);
            g.edge(un, cx, 1);
            // output projection (b, s, o, n, e) from (b, s, n, e)
            int op = g.add("Einsum", new long[] {b, s, h, n, e}, new boolean[] {false, false, false, true, true},
                    new int[] {0, 1, 2}, new int[][] {{0, 1, 3, 4}}, new int[] {2, 3, 4}, 2.0 * b * s * h * h);
            g.edge(cx, op, 0);
            return norm(elementwise(op, residual));
        }

        int selfAttention(int x) {
            int q = proj(x, h, h);
            int kv = g.add("Einsum", new long[] {b, s, 2, n, e, h}, new boolean[] {false, false, false, false, false, true},
                    new int[] {0, 1, 2, 3, 4}, new int[][] {{0, 1, 5}}, new int[] {2, 3, 4, 5}, 4.0 * b * s * h * h);
            g.edge(x, kv, 0);
            return attend(q, kv, x);
        }

        int crossAttention(int x, int encoder) {
            int q = proj(x, h, h);
            int kv = g.add("Einsum", new long[] {b, s, 2, n, e, h}, new boolean[] {false, false, false, false, false, true},
                    new int[] {0, 1, 2, 3, 4}, new int[][] {{0, 1, 5}}, new int[] {2, 3, 4, 5}, 4.0 * b * s * h * h);
            g.edge(encoder, kv, 0);
            return attend(q, kv, x);
        }

        int feedForward(int x) {
            int up = proj(x, f, h); // the activation is fused into the up projection
            int down = proj(up, h, f);
            return norm(elementwise(down, x));
        }
    }

    // ------------------------------------------------------------------ strategies and costs

    /** Split configurations of an op: divisors per dimension, product at most devices, at most cap. */
    static List<int[]> configurations(long[] sizes, int devices, int cap) {
        List<int[]> all = new ArrayList<>();
        enumerate(sizes, devices, 0, new int[sizes.length], 1, all);
        all.sort(Comparator.<int[]>comparingLong(PaseShapedProblems::product).reversed()
                .thenComparing(Arrays::compare));
        List<int[]> kept = new ArrayList<>(all.subList(0, Math.min(cap, all.size())));
        kept.sort(Arrays::compare);
        return kept;
    }

    private static void enumerate(long[] sizes, int devices, int d, int[] cur, long prod, List<int[]> out) {
        if (d == sizes.length) {
            out.add(cur.clone());
            return;
        }
        for (int f = 1; f * prod <= devices; f++) {
            if (sizes[d] % f == 0) {
                cur[d] = f;
                enumerate(sizes, devices, d + 1, cur, prod * f, out);
            }
        }
    }

    private static long product(int[] f) {
        long p = 1;
        for (int x : f) {
            p *= x;
        }
        return p;
    }

    private static Problem build(String name, Graph g, int devices, int cap) {
        List<List<int[]>> cfg = new ArrayList<>();
        List<Problem.Node> nodes = new ArrayList<>();
        for (Op op : g.ops) {
            List<int[]> c = configurations(op.sizes(), devices, cap);
            cfg.add(c);
            double[] costs = new double[c.size()];
            double[] memory = new double[c.size()];
            List<String> labels = new ArrayList<>();
            for (int i = 0; i < c.size(); i++) {
                int[] f = c.get(i);
                costs[i] = nodeCost(op, f);
                memory[i] = nodeMemory(op, f);
                StringBuilder sb = new StringBuilder();
                for (int x : f) {
                    sb.append(sb.length() == 0 ? "" : "x").append(x);
                }
                labels.add(sb.toString());
            }
            nodes.add(new Problem.Node(op.name(), costs, labels, memory));
        }
        List<Problem.Edge> edges = new ArrayList<>();
        for (int[] e : g.edges) {
            Op u = g.ops.get(e[0]);
            Op v = g.ops.get(e[1]);
            int[] vin = v.inDims()[e[2]];
            long[] shape = new long[u.outDims().length];
            for (int t = 0; t < shape.length; t++) {
                shape[t] = u.sizes()[u.outDims()[t]];
            }
            double bytes = 4.0 * Arrays.stream(shape).asDoubleStream().reduce(1, (a, b) -> a * b);
            List<int[]> cu = cfg.get(e[0]);
            List<int[]> cv = cfg.get(e[1]);
            int rank = Math.min(u.outDims().length, vin.length);
            double[] m = new double[cu.size() * cv.size()];
            for (int i = 0; i < cu.size(); i++) {
                int[] a = cu.get(i);
                for (int j = 0; j < cv.size(); j++) {
                    int[] b = cv.get(j);
                    m[i * cv.size() + j] = reshard(a, u.outDims(), b, vin, rank, bytes);
                }
            }
            edges.add(new Problem.Edge(e[0], e[1], cu.size(), cv.size(), m));
        }
        return new Problem(name, nodes, edges);
    }

    /** Data moved between a producer layout and a consumer layout, forward and backward, in flops. */
    private static double reshard(int[] a, int[] aDims, int[] b, int[] bDims, int rank, double bytes) {
        double pa = 1;
        double pb = 1;
        double overlap = 1;
        boolean same = true;
        for (int t = 0; t < rank; t++) {
            int x = a[aDims[t]];
            int y = b[bDims[t]];
            pa *= x;
            pb *= y;
            overlap /= Math.max(x, y);
            same &= x == y;
        }
        if (same) {
            return 0;
        }
        double moved = bytes * (Math.max(0, 1 / pb - overlap) + Math.max(0, 1 / pa - overlap));
        return FLOPS_PER_BYTE * moved + LATENCY;
    }

    private static double nodeCost(Op op, int[] f) {
        double p = product(f);
        double compute = 3 * op.flops() / p;
        double outSplit = 1;
        for (int d : op.outDims()) {
            outSplit *= f[d];
        }
        double outBytes = 4.0;
        for (int d : op.outDims()) {
            outBytes *= op.sizes()[d];
        }
        double reduce = 1;
        for (int d = 0; d < f.length; d++) {
            if (op.reduction()[d]) {
                reduce *= f[d];
            }
        }
        double comm = 0;
        if (reduce > 1) {
            comm += 2 * (reduce - 1) / reduce * outBytes / outSplit;
        }
        if (op.weightDims().length > 0) {
            double wBytes = 4.0;
            double wSplit = 1;
            for (int d : op.weightDims()) {
                wBytes *= op.sizes()[d];
                wSplit *= f[d];
            }
            double replicas = p / wSplit;
            if (replicas > 1) {
                comm += 2 * (replicas - 1) / replicas * wBytes / wSplit;
            }
        }
        return compute + FLOPS_PER_BYTE * comm;
    }

    private static double nodeMemory(Op op, int[] f) {
        double outBytes = 4.0;
        double outSplit = 1;
        for (int d : op.outDims()) {
            outBytes *= op.sizes()[d];
            outSplit *= f[d];
        }
        double mem = outBytes / outSplit;
        if (op.weightDims().length > 0) {
            double wBytes = 4.0;
            double wSplit = 1;
            for (int d : op.weightDims()) {
                wBytes *= op.sizes()[d];
                wSplit *= f[d];
            }
            mem += 4 * wBytes / wSplit; // weights, gradients and two optimizer moments
        }
        return mem;
    }
}
