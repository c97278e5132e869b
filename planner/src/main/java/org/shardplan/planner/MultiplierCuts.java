package org.shardplan.planner;

/**
 * Kelley's cutting planes over a Lagrange multiplier {@code t >= 0} of a concave function (a least of lines, one per
 * minimiser), known at {@code t = 0} with a rising slope: each solve at {@code t} gives a line through its value with
 * its minimiser's slope; the last line rising and the last one falling are kept, the multiplier grows fourfold until a
 * line falls, and then the next is where the two meet. Serves the bound's parts by bucket count ({@link OverlapBound})
 * and a pipeline chunk's plans of more than one bucket ({@link PipelineBound}). O(1) per step.
 */
final class MultiplierCuts {
    private double tLo;
    private double vLo;
    private double sLo;
    private double tHi = Double.NaN;
    private double vHi = Double.NaN;
    private double sHi = Double.NaN;

    /** The function at 0: its value and slope (positive). */
    MultiplierCuts(double value, double slope) {
        vLo = value;
        sLo = slope;
    }

    /**
     * The multiplier to solve at next after the solve at {@code t} found {@code value} with slope {@code slope}; NaN where
     * no further solve can beat {@code best} (the largest value found so far) or the maximum is between two solves met.
     */
    double next(double t, double value, double slope, double best) {
        if (slope > 0) {
            tLo = t;
            vLo = value;
            sLo = slope;
        } else {
            tHi = t;
            vHi = value;
            sHi = slope;
        }
        if (Double.isNaN(tHi)) {
            return t * 4; // not yet past the minimisers on the far side
        }
        return meet(tLo, vLo, sLo, tHi, vHi, sHi, best);
    }

    /**
     * Where the line through {@code (lo, vLo)} of slope {@code sLo} meets the one through {@code (hi, vHi)} of slope
     * {@code sHi}: the next point of Kelley's cutting planes between two cuts; NaN where it does not lie strictly between
     * them or the model's value there (the lines' least) cannot beat {@code best}. Serves this and {@link
     * OverlapBound.Cuts}. O(1).
     */
    static double meet(double lo, double vLo, double sLo, double hi, double vHi, double sHi, double best) {
        double meet = (vHi - vLo + lo * sLo - hi * sHi) / (sLo - sHi);
        double model = vLo + (meet - lo) * sLo;
        return !(meet > lo && meet < hi) || model <= best * (1 + 1e-12) ? Double.NaN : meet;
    }
}
