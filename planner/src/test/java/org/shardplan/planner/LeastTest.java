package org.shardplan.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Least}'s minimum and maximum give exactly {@link Math}'s, bit for bit: on the values where a plain comparison
 * would differ from them (NaN, signed zeros, equal arguments, infinities) and on random ones.
 */
class LeastTest {

    private static List<Double> specials() {
        List<Double> v = new ArrayList<>(List.of(Double.NaN, 0.0, -0.0, 1.0, -1.0, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY, Double.MIN_VALUE, -Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 1e-300,
                Double.longBitsToDouble(0x7ff8000000000001L)));
        return v;
    }

    @Test
    void specialValuesAsTheLibrary() {
        for (double a : specials()) {
            for (double b : specials()) {
                String what = a + ", " + b;
                assertEquals(Double.doubleToRawLongBits(Math.min(a, b)), Double.doubleToRawLongBits(Least.min(a, b)),
                        "min " + what);
                assertEquals(Double.doubleToRawLongBits(Math.max(a, b)), Double.doubleToRawLongBits(Least.max(a, b)),
                        "max " + what);
            }
        }
    }

    @Test
    void randomValuesAndRunningMinimaAsTheLibrary() {
        Random r = new Random(17);
        double least = Double.POSITIVE_INFINITY;
        double libraryLeast = Double.POSITIVE_INFINITY;
        double most = Double.NEGATIVE_INFINITY;
        double libraryMost = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 100_000; i++) {
            // few distinct values, so that equal arguments are common
            double a = r.nextInt(5) == 0 ? r.nextInt(7) - 3 : r.nextGaussian();
            double b = r.nextInt(5) == 0 ? r.nextInt(7) - 3 : r.nextGaussian();
            assertEquals(Double.doubleToRawLongBits(Math.min(a, b)), Double.doubleToRawLongBits(Least.min(a, b)));
            assertEquals(Double.doubleToRawLongBits(Math.max(a, b)), Double.doubleToRawLongBits(Least.max(a, b)));
            least = Least.min(least, a * b);
            libraryLeast = Math.min(libraryLeast, a * b);
            most = Least.max(most, a - b);
            libraryMost = Math.max(libraryMost, a - b);
        }
        assertEquals(Double.doubleToRawLongBits(libraryLeast), Double.doubleToRawLongBits(least));
        assertEquals(Double.doubleToRawLongBits(libraryMost), Double.doubleToRawLongBits(most));
    }
}
