package org.shardplan.graph.space;

/**
 * How an input axis is read through a sliding window of an output spatial loop dimension.
 *
 * <p>For a convolution or pooling ({@code transposed = false}) output position {@code o} reads input
 * positions {@code o·stride − pad … o·stride − pad + span − 1}, where {@code span = dilation·(k−1)+1};
 * a device computing {@code lo} consecutive outputs reads {@code (lo−1)·stride + span} inputs. For a
 * transposed convolution or an upsampling ({@code transposed = true}) input position {@code i} writes
 * outputs {@code i·stride − pad …}; {@code lo} consecutive outputs read
 * {@code ceil((lo + span − 1) / stride)} inputs. Clipping at padded borders is ignored, so local input
 * sizes are upper bounds by at most the padding.
 *
 * @param stride the step between windows, at least 1
 * @param span the extent of one window in input (or, transposed, output) positions, at least 1
 * @param transposed whether the window maps inputs to outputs (ConvTranspose, upsampling)
 */
public record Window(long stride, long span, boolean transposed) {
    public Window {
        if (stride < 1 || span < 1) {
            throw new IllegalArgumentException("window stride and span must be >= 1, found stride=" + stride
                    + " span=" + span);
        }
    }

    /** Input positions needed for {@code localOut} consecutive outputs, at most {@code inputSize}. */
    public long inputExtent(long localOut, long inputSize) {
        if (localOut <= 0) {
            return 0;
        }
        long need = transposed ? ceilDiv(localOut + span - 1, stride) : (localOut - 1) * stride + span;
        return Math.min(inputSize, need);
    }

    static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }
}
