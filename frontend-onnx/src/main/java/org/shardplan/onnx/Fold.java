package org.shardplan.onnx;

import java.util.function.IntUnaryOperator;
import org.shardplan.graph.DType;
import org.shardplan.graph.Tensor;

/**
 * Evaluation of operators on small tensors whose contents are known (constant folding). Integer and
 * boolean tensors compute in {@code long}, floating-point ones in {@code double}. Every method
 * returns null when it cannot evaluate (an unsupported combination), never a wrong answer.
 */
final class Fold {
    /** Largest number of elements shardplan keeps and computes with. */
    static final int MAX_ELEMENTS = 1 << 16;

    private Fold() {
    }

    static long[] strides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    static long numel(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Numeric broadcast of shapes, or null if they do not broadcast. */
    static long[] broadcast(long[]... shapes) {
        int r = 0;
        for (long[] s : shapes) {
            r = Math.max(r, s.length);
        }
        long[] out = new long[r];
        java.util.Arrays.fill(out, 1);
        for (long[] s : shapes) {
            for (int i = 0; i < s.length; i++) {
                int k = r - s.length + i;
                if (s[i] == out[k] || s[i] == 1) {
                    continue;
                }
                if (out[k] == 1) {
                    out[k] = s[i];
                } else {
                    return null;
                }
            }
        }
        return out;
    }

    /** Maps an output flat index to the flat index of an input broadcast to {@code out}. */
    static IntUnaryOperator broadcastIndex(long[] in, long[] out) {
        long[] inStrides = strides(in);
        long[] outStrides = strides(out);
        int off = out.length - in.length;
        return idx -> {
            long rem = idx;
            long src = 0;
            for (int k = 0; k < out.length; k++) {
                long coord = rem / outStrides[k];
                rem %= outStrides[k];
                int j = k - off;
                if (j >= 0 && in[j] != 1) {
                    src += coord * inStrides[j];
                }
            }
            return (int) src;
        };
    }

    static Tensor make(DType t, long[] dims, long[] longs, double[] doubles) {
        if (t.isFloatingPoint()) {
            double[] d = doubles;
            if (d == null) {
                d = new double[longs.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = longs[i];
                }
            }
            if (t == DType.FLOAT32) {
                for (int i = 0; i < d.length; i++) {
                    d[i] = (float) d[i];
                }
            }
            return Tensor.ofDoubles(t, dims, d);
        }
        long[] l = longs;
        if (l == null) {
            l = new long[doubles.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = (long) doubles[i];
            }
        }
        if (t == DType.BOOL) {
            for (int i = 0; i < l.length; i++) {
                l[i] = l[i] != 0 ? 1 : 0;
            }
        } else if (t == DType.INT32) {
            for (int i = 0; i < l.length; i++) {
                l[i] = (int) l[i];
            }
        }
        return Tensor.ofLongs(t, dims, l);
    }

    private static boolean numeric(Tensor t) {
        return t != null && t.hasValues() && t.dtype() != DType.STRING;
    }

    /** Element-wise operator over broadcast inputs. */
    static Tensor elementwise(String op, DType outType, Tensor... in) {
        for (Tensor t : in) {
            if (!numeric(t)) {
                return null;
            }
        }
        long[][] shapes = new long[in.length][];
        for (int i = 0; i < in.length; i++) {
            shapes[i] = in[i].dims();
        }
        long[] out = broadcast(shapes);
        if (out == null || numel(out) > MAX_ELEMENTS) {
            return null;
        }
        int n = (int) numel(out);
        IntUnaryOperator[] map = new IntUnaryOperator[in.length];
        for (int i = 0; i < in.length; i++) {
            map[i] = broadcastIndex(shapes[i], out);
        }
        boolean integral = true;
        for (Tensor t : in) {
            integral &= t.isIntegral();
        }
        if (op.equals("Where")) {
            integral = in[1].isIntegral() && in[2].isIntegral();
        }
        long[] lr = new long[n];
        double[] dr = new double[n];
        for (int i = 0; i < n; i++) {
            if (integral) {
                long a = in[0].getLong(map[0].applyAsInt(i));
                long b = in.length > 1 ? in[1].getLong(map[1].applyAsInt(i)) : 0;
                Long v = longOp(op, a, b, in, map, i);
                if (v == null) {
                    return null;
                }
                lr[i] = v;
            } else {
                double a = in[0].getDouble(map[0].applyAsInt(i));
                double b = in.length > 1 ? in[1].getDouble(map[1].applyAsInt(i)) : 0;
                Double v = doubleOp(op, a, b, in, map, i);
                if (v == null) {
                    return null;
                }
                dr[i] = v;
            }
        }
        return integral ? make(outType, out, lr, null) : make(outType, out, null, dr);
    }

    private static Long longOp(String op, long a, long b, Tensor[] in, IntUnaryOperator[] map, int i) {
        return switch (op) {
            case "Add" -> a + b;
            case "Sub" -> a - b;
            case "Mul" -> a * b;
            case "Div" -> b == 0 ? null : a / b;
            case "Mod" -> b == 0 ? null : Math.floorMod(a, b);
            case "Max" -> Math.max(a, b);
            case "Min" -> Math.min(a, b);
            case "Equal" -> a == b ? 1L : 0L;
            case "Less" -> a < b ? 1L : 0L;
            case "LessOrEqual" -> a <= b ? 1L : 0L;
            case "Greater" -> a > b ? 1L : 0L;
            case "GreaterOrEqual" -> a >= b ? 1L : 0L;
            case "And" -> (a != 0 && b != 0) ? 1L : 0L;
            case "Or" -> (a != 0 || b != 0) ? 1L : 0L;
            case "Xor" -> ((a != 0) ^ (b != 0)) ? 1L : 0L;
            case "Not" -> a == 0 ? 1L : 0L;
            case "Neg" -> -a;
            case "Abs" -> Math.abs(a);
            case "Sign" -> (long) Long.signum(a);
            case "Identity", "Cast", "Floor", "Ceil", "Round" -> a;
            case "Relu" -> Math.max(a, 0);
            case "Pow" -> (long) Math.pow(a, b);
            case "Where" -> a != 0 ? in[1].getLong(map[1].applyAsInt(i)) : in[2].getLong(map[2].applyAsInt(i));
            case "BitShift" -> null;
            default -> null;
        };
    }

    private static Double doubleOp(String op, double a, double b, Tensor[] in, IntUnaryOperator[] map, int i) {
        return switch (op) {
            case "Add" -> a + b;
            case "Sub" -> a - b;
            case "Mul" -> a * b;
            case "Div" -> a / b;
            case "Mod" -> a % b;
            case "Pow" -> Math.pow(a, b);
            case "Max" -> Math.max(a, b);
            case "Min" -> Math.min(a, b);
            case "Equal" -> a == b ? 1.0 : 0.0;
            case "Less" -> a < b ? 1.0 : 0.0;
            case "LessOrEqual" -> a <= b ? 1.0 : 0.0;
            case "Greater" -> a > b ? 1.0 : 0.0;
            case "GreaterOrEqual" -> a >= b ? 1.0 : 0.0;
            case "Neg" -> -a;
            case "Abs" -> Math.abs(a);
            case "Sign" -> Math.signum(a);
            case "Floor" -> Math.floor(a);
            case "Ceil" -> Math.ceil(a);
            case "Round" -> Math.rint(a);
            case "Sqrt" -> Math.sqrt(a);
            case "Reciprocal" -> 1 / a;
            case "Exp" -> Math.exp(a);
            case "Log" -> Math.log(a);
            case "Relu" -> Math.max(a, 0);
            case "Identity", "Cast" -> a;
            case "Not" -> a == 0 ? 1.0 : 0.0;
            case "Where" -> a != 0 ? in[1].getDouble(map[1].applyAsInt(i)) : in[2].getDouble(map[2].applyAsInt(i));
            default -> null;
        };
    }

    /** Copies elements of {@code in} to a tensor of shape {@code outDims}: output i takes input src(i). */
    static Tensor remap(Tensor in, DType outType, long[] outDims, IntUnaryOperator src) {
        if (!numeric(in) || numel(outDims) > MAX_ELEMENTS) {
            return null;
        }
        int n = (int) numel(outDims);
        if (in.isIntegral()) {
            long[] r = new long[n];
            for (int i = 0; i < n; i++) {
                r[i] = in.getLong(src.applyAsInt(i));
            }
            return make(outType, outDims, r, null);
        }
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = in.getDouble(src.applyAsInt(i));
        }
        return make(outType, outDims, null, r);
    }

    static Tensor reshape(Tensor in, long[] dims) {
        return remap(in, in.dtype(), dims, i -> i);
    }

    static Tensor cast(Tensor in, DType to) {
        if (!numeric(in) || to == DType.STRING || to.bits() == 0) {
            return null;
        }
        if (in.isIntegral() || !to.isFloatingPoint()) {
            long[] l = in.longs().orElseThrow();
            if (!in.isIntegral() && to == DType.BOOL) {
                double[] d = in.doubles().orElseThrow();
                for (int i = 0; i < l.length; i++) {
                    l[i] = d[i] != 0 ? 1 : 0;
                }
            }
            return make(to, in.dims(), l, null);
        }
        return make(to, in.dims(), null, in.doubles().orElseThrow());
    }

    static Tensor expand(Tensor in, long[] target) {
        long[] out = broadcast(in.dims(), target);
        if (out == null) {
            return null;
        }
        return remap(in, in.dtype(), out, broadcastIndex(in.dims(), out));
    }

    static Tensor gather(Tensor data, Tensor indices, int axis) {
        long[] d = data.dims();
        long[] idx = indices.longs().orElse(null);
        if (idx == null || !numeric(data)) {
            return null;
        }
        long[] id = indices.dims();
        long[] out = new long[d.length - 1 + id.length];
        int k = 0;
        for (int i = 0; i < axis; i++) {
            out[k++] = d[i];
        }
        for (long x : id) {
            out[k++] = x;
        }
        for (int i = axis + 1; i < d.length; i++) {
            out[k++] = d[i];
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= d[i];
        }
        long inner = 1;
        for (int i = axis + 1; i < d.length; i++) {
            inner *= d[i];
        }
        long axisLen = d[axis];
        long nIdx = idx.length;
        for (long x : idx) {
            if (x < -axisLen || x >= axisLen) {
                return null;
            }
        }
        final long in2 = inner;
        return remap(data, data.dtype(), out, i -> {
            long o = i / (nIdx * in2);
            long rem = i % (nIdx * in2);
            long j = rem / in2;
            long r = rem % in2;
            long a = idx[(int) j];
            if (a < 0) {
                a += axisLen;
            }
            return (int) ((o * axisLen + a) * in2 + r);
        });
    }

    static Tensor concat(Tensor[] parts, int axis, DType outType) {
        long[] first = parts[0].dims();
        long total = 0;
        for (Tensor p : parts) {
            if (!numeric(p)) {
                return null;
            }
            total += p.dims()[axis];
        }
        long[] out = first.clone();
        out[axis] = total;
        if (numel(out) > MAX_ELEMENTS) {
            return null;
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= out[i];
        }
        long inner = 1;
        for (int i = axis + 1; i < out.length; i++) {
            inner *= out[i];
        }
        boolean integral = true;
        for (Tensor p : parts) {
            integral &= p.isIntegral();
        }
        int n = (int) numel(out);
        long[] lr = new long[n];
        double[] dr = new double[n];
        int w = 0;
        for (long o = 0; o < outer; o++) {
            for (Tensor p : parts) {
                long chunk = p.dims()[axis] * inner;
                for (long j = 0; j < chunk; j++) {
                    int src = (int) (o * chunk + j);
                    if (integral) {
                        lr[w++] = p.getLong(src);
                    } else {
                        dr[w++] = p.getDouble(src);
                    }
                }
            }
        }
        return integral ? make(outType, out, lr, null) : make(outType, out, null, dr);
    }

    /** Slice with already normalised per-axis start, step and output length. */
    static Tensor slice(Tensor in, long[] start, long[] step, long[] outDims) {
        long[] inStrides = strides(in.dims());
        long[] outStrides = strides(outDims);
        return remap(in, in.dtype(), outDims, i -> {
            long rem = i;
            long src = 0;
            for (int k = 0; k < outDims.length; k++) {
                long c = rem / outStrides[k];
                rem %= outStrides[k];
                src += (start[k] + c * step[k]) * inStrides[k];
            }
            return (int) src;
        });
    }

    static Tensor transpose(Tensor in, int[] perm) {
        long[] d = in.dims();
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = d[perm[i]];
        }
        long[] inStrides = strides(d);
        return remapByIndex(in, out, (k, c) -> c * inStrides[perm[k]]);
    }

    static Tensor tile(Tensor in, long[] repeats) {
        long[] d = in.dims();
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = d[i] * repeats[i];
        }
        long[] inStrides = strides(d);
        return remapByIndex(in, out, (k, c) -> (c % d[k]) * inStrides[k]);
    }

    /** What output coordinate {@code c} on axis {@code k} adds to the flat source index. */
    private interface AxisSource {
        long offset(int k, long c);
    }

    /**
     * A tensor of shape {@code out} whose element at each multi-index takes the input element at the
     * sum of {@code source} over its coordinates.
     */
    private static Tensor remapByIndex(Tensor in, long[] out, AxisSource source) {
        long[] outStrides = strides(out);
        return remap(in, in.dtype(), out, i -> {
            long rem = i;
            long src = 0;
            for (int k = 0; k < out.length; k++) {
                long c = rem / outStrides[k];
                rem %= outStrides[k];
                src += source.offset(k, c);
            }
            return (int) src;
        });
    }

    /** Reduction over the given axes (sorted, non-negative). */
    static Tensor reduce(String op, Tensor in, boolean[] reduced, boolean keepDims) {
        if (!numeric(in)) {
            return null;
        }
        long[] d = in.dims();
        int kept = 0;
        for (int i = 0; i < d.length; i++) {
            if (!reduced[i] || keepDims) {
                kept++;
            }
        }
        long[] out = new long[kept];
        long[] full = new long[d.length];
        int k = 0;
        for (int i = 0; i < d.length; i++) {
            full[i] = reduced[i] ? 1 : d[i];
            if (!reduced[i] || keepDims) {
                out[k++] = full[i];
            }
        }
        int n = (int) numel(full);
        double[] acc = new double[n];
        boolean[] init = new boolean[n];
        long[] fullStrides = strides(full);
        long[] inStrides = strides(d);
        int total = (int) in.numElements();
        for (int i = 0; i < total; i++) {
            long rem = i;
            long dst = 0;
            for (int a = 0; a < d.length; a++) {
                long c = rem / inStrides[a];
                rem %= inStrides[a];
                if (!reduced[a]) {
                    dst += c * fullStrides[a];
                }
            }
            double x = in.getDouble(i);
            int j = (int) dst;
            if (!init[j]) {
                acc[j] = switch (op) {
                    case "ReduceSum", "ReduceMean" -> x;
                    case "ReduceProd" -> x;
                    default -> x;
                };
                init[j] = true;
                continue;
            }
            acc[j] = switch (op) {
                case "ReduceSum", "ReduceMean" -> acc[j] + x;
                case "ReduceProd" -> acc[j] * x;
                case "ReduceMax" -> Math.max(acc[j], x);
                case "ReduceMin" -> Math.min(acc[j], x);
                default -> Double.NaN;
            };
        }
        if (!op.equals("ReduceSum") && !op.equals("ReduceMean") && !op.equals("ReduceProd")
                && !op.equals("ReduceMax") && !op.equals("ReduceMin")) {
            return null;
        }
        if (op.equals("ReduceMean")) {
            long cnt = total / Math.max(1, n);
            for (int j = 0; j < n; j++) {
                acc[j] /= cnt;
            }
        }
        if (in.isIntegral()) {
            long[] l = new long[n];
            for (int j = 0; j < n; j++) {
                l[j] = (long) acc[j];
            }
            return make(in.dtype(), out, l, null);
        }
        return make(in.dtype(), out, null, acc);
    }
}
