package org.shardplan.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.shardplan.graph.Tensor;

/**
 * Output sizes of operators whose output shape depends on input values ({@code Unique},
 * {@code NonMaxSuppression}), computed when those values are known (constants, or inputs the caller
 * bound with {@link ImportOptions#inputValues()}). Each method returns null when it cannot tell.
 */
final class DataDependent {
    private DataDependent() {
    }

    /** Number of distinct elements (no axis) or distinct slices along {@code axis}. */
    static Long uniqueCount(Tensor x, Integer axis) {
        double[] v = x.doubles().orElse(null);
        if (v == null) {
            return null;
        }
        if (axis == null) {
            return Arrays.stream(v).distinct().count();
        }
        long[] d = x.dims();
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= d[i];
        }
        long inner = 1;
        for (int i = axis + 1; i < d.length; i++) {
            inner *= d[i];
        }
        int n = (int) d[axis];
        Map<List<Double>, Boolean> seen = new LinkedHashMap<>();
        for (int k = 0; k < n; k++) {
            List<Double> slice = new ArrayList<>();
            for (long o = 0; o < outer; o++) {
                for (long i = 0; i < inner; i++) {
                    slice.add(v[(int) ((o * n + k) * inner + i)]);
                }
            }
            seen.put(slice, true);
        }
        return (long) seen.size();
    }

    /**
     * Number of boxes ONNX NonMaxSuppression selects: per batch and class, boxes with a score above
     * the threshold in descending score order, each kept unless its intersection over union with a
     * kept box exceeds the IoU threshold, at most {@code maxPerClass} of them.
     */
    static Long nmsCount(Tensor boxes, Tensor scores, long maxPerClass, double iouThreshold, double scoreThreshold,
                         boolean centerPoint) {
        double[] b = boxes.doubles().orElse(null);
        double[] s = scores.doubles().orElse(null);
        if (b == null || s == null || boxes.rank() != 3 || scores.rank() != 3) {
            return null;
        }
        long[] bd = boxes.dims();
        long[] sd = scores.dims();
        int batches = (int) bd[0];
        int n = (int) bd[1];
        int classes = (int) sd[1];
        long selected = 0;
        for (int bi = 0; bi < batches; bi++) {
            for (int c = 0; c < classes; c++) {
                List<Integer> cand = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (s[(bi * classes + c) * n + i] > scoreThreshold) {
                        cand.add(i);
                    }
                }
                final int base = (bi * classes + c) * n;
                cand.sort((x, y) -> Double.compare(s[base + y], s[base + x]));
                List<Integer> kept = new ArrayList<>();
                for (int i : cand) {
                    if (kept.size() >= maxPerClass) {
                        break;
                    }
                    boolean keep = true;
                    for (int k : kept) {
                        if (iou(b, bi * n + i, bi * n + k, centerPoint) > iouThreshold) {
                            keep = false;
                            break;
                        }
                    }
                    if (keep) {
                        kept.add(i);
                    }
                }
                selected += kept.size();
            }
        }
        return selected;
    }

    private static double iou(double[] b, int i, int j, boolean center) {
        double[] p = corners(b, i, center);
        double[] q = corners(b, j, center);
        double ih = Math.max(0, Math.min(p[2], q[2]) - Math.max(p[0], q[0]));
        double iw = Math.max(0, Math.min(p[3], q[3]) - Math.max(p[1], q[1]));
        double inter = ih * iw;
        double union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /** [y1, x1, y2, x2] with y1 <= y2 and x1 <= x2. */
    private static double[] corners(double[] b, int i, boolean center) {
        double a0 = b[4 * i];
        double a1 = b[4 * i + 1];
        double a2 = b[4 * i + 2];
        double a3 = b[4 * i + 3];
        if (center) {
            // [x_center, y_center, width, height]
            return new double[] {a1 - a3 / 2, a0 - a2 / 2, a1 + a3 / 2, a0 + a2 / 2};
        }
        return new double[] {Math.min(a0, a2), Math.min(a1, a3), Math.max(a0, a2), Math.max(a1, a3)};
    }
}
