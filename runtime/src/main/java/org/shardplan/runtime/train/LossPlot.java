package org.shardplan.runtime.train;

import java.util.List;
import java.util.Locale;

/**
 * An SVG chart of training runs: on the left the training loss against examples seen (each run's
 * instance losses averaged over windows of {@code window} instances), on the right test accuracy after
 * each epoch. Plain SVG 1.1, no scripts. Running time: linear in the losses.
 */
public final class LossPlot {

    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

    private LossPlot() {}

    /** The chart of {@code runs}, labelled by {@code names} (same order). */
    public static String svg(String title, List<String> names, List<TrainResult> runs, int window) {
        if (names.size() != runs.size()) {
            throw new IllegalArgumentException("names must be as many as runs: " + names.size() + " vs " + runs.size());
        }
        int w = 960;
        int h = 400;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", w, h, w, h));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">%s</text>%n",
                w / 2, escape(title)));
        // left panel: loss
        double maxExamples = 0;
        double maxLoss = 0;
        for (TrainResult r : runs) {
            maxExamples = Math.max(maxExamples, (double) r.losses().length * r.options().microBatchSize());
            for (double v : smooth(r.losses(), window)) {
                maxLoss = Math.max(maxLoss, v);
            }
        }
        Panel loss = new Panel(60, 40, 400, 300, 0, maxExamples, 0, niceCeil(maxLoss));
        loss.axes(s, "examples seen", "training loss (window of " + window + " instances)");
        for (int i = 0; i < runs.size(); i++) {
            TrainResult r = runs.get(i);
            double[] sm = smooth(r.losses(), window);
            StringBuilder pts = new StringBuilder();
            for (int k = 0; k < sm.length; k++) {
                double ex = (k + 1.0) * window * r.options().microBatchSize();
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", loss.x(Math.min(ex, maxExamples)), loss.y(sm[k])));
            }
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    COLOURS[i % COLOURS.length], pts.toString().trim()));
        }
        // right panel: accuracy per epoch
        int epochs = runs.stream().mapToInt(r -> r.epochs().size()).max().orElse(1);
        double minAcc = 1;
        for (TrainResult r : runs) {
            for (TrainResult.Epoch e : r.epochs()) {
                minAcc = Math.min(minAcc, e.testAccuracy());
            }
        }
        double lo = Math.max(0, Math.floor(minAcc * 20 - 1) / 20);
        Panel acc = new Panel(540, 40, 400, 300, 0, epochs, lo, 1);
        acc.axes(s, "epoch", "test accuracy");
        for (int i = 0; i < runs.size(); i++) {
            StringBuilder pts = new StringBuilder(String.format(Locale.ROOT, "%.1f,%.1f ", acc.x(0), acc.y(lo)));
            pts.setLength(0);
            for (TrainResult.Epoch e : runs.get(i).epochs()) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", acc.x(e.epoch()), acc.y(e.testAccuracy())));
                s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n",
                        acc.x(e.epoch()), acc.y(e.testAccuracy()), COLOURS[i % COLOURS.length]));
            }
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    COLOURS[i % COLOURS.length], pts.toString().trim()));
        }
        // legend
        for (int i = 0; i < names.size(); i++) {
            int y = 370 + 0 * i;
            int x = 60 + 300 * i;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", x, y + 12, x + 20, y + 12, COLOURS[i % COLOURS.length],
                    x + 26, y + 16, escape(names.get(i))));
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** Means of consecutive windows of {@code window} values (the last may be shorter). */
    static double[] smooth(float[] v, int window) {
        int n = (v.length + window - 1) / window;
        double[] out = new double[n];
        for (int k = 0; k < n; k++) {
            double sum = 0;
            int c = 0;
            for (int i = k * window; i < Math.min(v.length, (k + 1) * window); i++) {
                sum += v[i];
                c++;
            }
            out[k] = sum / c;
        }
        return out;
    }

    private static double niceCeil(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        return Math.ceil(v / p * 2) / 2 * p;
    }

    private static String escape(String t) {
        return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private record Panel(int left, int top, int width, int height, double x0, double x1, double y0, double y1) {
        double x(double v) {
            return left + (v - x0) / (x1 - x0) * width;
        }

        double y(double v) {
            return top + height - (v - y0) / (y1 - y0) * height;
        }

        void axes(StringBuilder s, String xLabel, String yLabel) {
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n",
                    left, top, width, height));
            for (int k = 0; k <= 4; k++) {
                double xv = x0 + (x1 - x0) * k / 4;
                double yv = y0 + (y1 - y0) * k / 4;
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                        x(xv), top + height + 15, label(xv)));
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                        left - 4, y(yv) + 4, label(yv)));
                s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>%n",
                        left, y(yv), left + width, y(yv)));
            }
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    left + width / 2, top + height + 32, escape(xLabel)));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">%s</text>%n",
                    left, top - 6, escape(yLabel)));
        }

        private static String label(double v) {
            if (Math.abs(v) >= 1000) {
                return String.format(Locale.ROOT, "%.0f", v);
            }
            return String.format(Locale.ROOT, "%.2f", v).replaceAll("\\.?0+$", "");
        }
    }
}
